#include "deploy/images.hpp"

#include "util/tar.hpp"

#include <fmt/format.h>

namespace mldeploy::deploy {

std::string build_service_image(engine::Engine& engine, const stack::Service& service, util::Output& out) {
    const auto& build = *service.build;
    out.step(fmt::format("building {} from {}", service.image, build.context.string()));
    engine::BuildRequest request;
    request.tag = service.image;
    request.dockerfile = build.dockerfile;
    request.args = build.args;
    request.context_tar =
        util::tar_directory(build.context, util::read_dockerignore(build.context), {build.dockerfile});
    // The build's steps are progress; the rest of its output only with -v.
    const auto id = engine.build_image(request, [&](std::string_view line) {
        if (line.rfind("STEP ", 0) == 0 || line.rfind("Step ", 0) == 0)
            out.note(fmt::format("[{}] {}", service.name, line));
        else
            out.detail(fmt::format("[{}] {}", service.name, line));
    });
    out.done(fmt::format("built {} ({:.1f}s)", service.image, out.elapsed_s()));
    return id;
}

std::string ensure_image(engine::Engine& engine, const std::string& reference, util::Output& out) {
    if (auto id = engine.image_id(reference)) return *id;
    out.step(fmt::format("pulling {}", reference));
    engine.pull_image(reference, [&](std::string_view line) { out.detail(line); });
    if (auto id = engine.image_id(reference)) return *id;
    throw engine::EngineError("pull " + reference, 0, "the engine reported success but has no such image");
}

std::map<std::string, std::string> prepare_service_images(engine::Engine& engine, const stack::Stack& stack,
                                                          util::Output& out) {
    std::map<std::string, std::string> ids;
    for (const auto& service : stack.services)
        ids[service.name] = service.build ? build_service_image(engine, service, out)
                                          : ensure_image(engine, service.image, out);
    return ids;
}

std::map<std::string, std::string> current_service_images(engine::Engine& engine, const stack::Stack& stack) {
    std::map<std::string, std::string> ids;
    for (const auto& service : stack.services) ids[service.name] = engine.image_id(service.image).value_or("");
    return ids;
}

}  // namespace mldeploy::deploy
