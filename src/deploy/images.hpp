// Making sure every image a stack runs is on the engine: build what has a build
// context, pull what is missing.
#pragma once

#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <map>
#include <string>

namespace mldeploy::deploy {

// Builds one service's image; returns its id.
std::string build_service_image(engine::Engine& engine, const stack::Service& service, util::Output& out);

// The id of `reference` on the engine, pulling it first when it is missing.
std::string ensure_image(engine::Engine& engine, const std::string& reference, util::Output& out);

// Service name -> image id. Builds every service that has a build (the engine's
// cache makes an unchanged build cheap), pulls images that are missing.
std::map<std::string, std::string> prepare_service_images(engine::Engine& engine, const stack::Stack& stack,
                                                          util::Output& out);

// Service name -> image id as the engine has it now, without building or pulling
// (empty when missing). For scale and dry runs.
std::map<std::string, std::string> current_service_images(engine::Engine& engine, const stack::Stack& stack);

}  // namespace mldeploy::deploy
