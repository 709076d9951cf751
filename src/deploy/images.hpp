// Making sure every image a stack runs is on the engine: build what has a build
// context (unless the image is already what that build would give), pull what
// is missing.
#pragma once

#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <map>
#include <string>

namespace mldeploy::deploy {

// When `up` builds a service's image.
enum class BuildPolicy {
    when_changed,  // only when the image is missing or its build hash differs (default)
    always,        // every time (`up --build`): the engine's layer cache still applies
};

// Two services built from the same context, dockerfile and args get one build:
// this key is equal for them.
std::string build_key(const stack::Build& build);

// Builds one service's image, whatever the engine holds; labels it with its
// build hash (plan::label::build_hash). Returns its id.
std::string build_service_image(engine::Engine& engine, const stack::Service& service, util::Output& out);

// One service's image id: the image the engine holds when it carries the build
// hash of the service's build as it is now, else a new build.
std::string ensure_built_image(engine::Engine& engine, const stack::Service& service, BuildPolicy policy,
                               util::Output& out);

// The id of `reference` on the engine, pulling it first when it is missing.
std::string ensure_image(engine::Engine& engine, const std::string& reference, util::Output& out);

// Service name -> image id. Builds the services that have a build (see
// ensure_built_image), pulls images that are missing.
std::map<std::string, std::string> prepare_service_images(engine::Engine& engine, const stack::Stack& stack,
                                                          BuildPolicy policy, util::Output& out);

// Service name -> image id as the engine has it now, without building or pulling
// (empty when missing). For scale and dry runs.
std::map<std::string, std::string> current_service_images(engine::Engine& engine, const stack::Stack& stack);

// Whether the engine's image for `service` (which has a build) carries the
// build hash of its context as it is now: a build would then change nothing
// that mldeploy can see. For dry runs.
bool built_image_up_to_date(engine::Engine& engine, const stack::Service& service);

}  // namespace mldeploy::deploy
