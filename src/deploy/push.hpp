// `mldeploy push`: the stack's images to the registries their names point at.
#pragma once

#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mldeploy::deploy {

// A push the stack file makes impossible (an image that names no registry, a
// service without a build named by default): nothing was pushed.
class PushRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct PushItem {
    std::string image;                      // the reference pushed
    std::string registry;                   // host[:port] it names
    std::vector<std::string> services;      // that run it (an image pushed once)
    const stack::Service* build = nullptr;  // the service whose build makes it, if any
};

// What `push SERVICE...` pushes (every service with a build when `names` is
// empty, in stack order). Throws PushRefused before anything is pushed.
std::vector<PushItem> plan_push(const stack::Stack& stack, const std::vector<std::string>& names);

using AuthLookup = std::function<std::optional<engine::RegistryAuth>(const std::string& registry)>;

// Builds what is out of date (as `up` would), then pushes each image with the
// registry's credentials, printing each layer's status as it changes.
void push_images(engine::Engine& engine, const std::vector<PushItem>& items, const AuthLookup& auth, util::Output& out);

}  // namespace mldeploy::deploy
