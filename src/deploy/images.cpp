#include "deploy/images.hpp"

#include "deploy/build_hash.hpp"
#include "deploy/errors.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mldeploy::deploy {
namespace {

// The image, when the engine has it and it was built from exactly `hash`.
std::optional<std::string> image_built_from(engine::Engine& engine, const std::string& reference,
                                            const std::string& hash) {
    const auto image = engine.inspect_image(reference);
    if (!image) return std::nullopt;
    const auto it = image->labels.find(plan::label::build_hash);
    if (it == image->labels.end() || it->second != hash) return std::nullopt;
    return image->id;
}

// The Containerfile as the user names it (relative to the current folder, where the
// stack file usually is) and its text, for a failed build's "FILE:LINE:" (empty text
// when it cannot be read: the message then has no line).
void describe_dockerfile(const stack::Build& build, engine::BuildRequest& request) {
    namespace fs = std::filesystem;
    fs::path file = build.context / (build.dockerfile.empty() ? "Containerfile" : build.dockerfile);
    std::error_code error;
    if (build.dockerfile.empty() && !fs::exists(file, error)) file = build.context / "Dockerfile";
    const fs::path relative = file.lexically_proximate(fs::current_path(error));
    const bool inside = !relative.empty() && *relative.begin() != "..";
    request.dockerfile_label = (inside ? relative : file).string();
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    request.dockerfile_text = text.str();
}

}  // namespace

std::string build_key(const stack::Build& build) {
    std::string key = build.context.string() + '\0' + build.dockerfile;
    for (const auto& [name, value] : build.args) key += '\0' + name + '=' + value;
    return key;
}

std::string build_service_image(engine::Engine& engine, const stack::Service& service, util::Output& out) {
    const auto& build = *service.build;
    out.step(fmt::format("building {} from {}", service.image, build.context.string()));
    auto packed = pack_build_context(build);
    engine::BuildRequest request;
    request.tag = service.image;
    request.dockerfile = build.dockerfile;
    request.args = build.args;
    request.context_tar = std::move(packed.tar);
    describe_dockerfile(build, request);
    // The hash of exactly the tar sent: a file changed while it was packed
    // gives a label that no longer matches, so the next `up` builds again.
    request.labels[plan::label::build_hash] = packed.hash;
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

std::string ensure_built_image(engine::Engine& engine, const stack::Service& service, BuildPolicy policy,
                               util::Output& out) {
    if (policy == BuildPolicy::when_changed) {
        // Hashing reads the context once (no tar, nothing sent): for an
        // unchanged context that is all `up` does, where a build costs a
        // second or more even when the engine's cache answers every step.
        if (auto id = image_built_from(engine, service.image, build_hash(*service.build))) {
            out.step(fmt::format("image {} is up to date (context unchanged)", service.image));
            return *id;
        }
    }
    return build_service_image(engine, service, out);
}

std::string ensure_image(engine::Engine& engine, const std::string& reference, util::Output& out) {
    if (auto id = engine.image_id(reference)) return *id;
    out.step(fmt::format("pulling {}", reference));
    try {
        engine.pull_image(reference, [&](std::string_view line) { out.detail(line); });
    } catch (const engine::EngineError& e) {
        // The registry's own complaint means little to someone who meant a local
        // image: say what is missing and the two ways out, then the engine's words.
        throw DeployError(fmt::format(
            "image {} is not on the engine, and pulling it failed ({}: {})\n"
            "  to build it, give its service `build = \"path/to/context\"` (the image is then tagged with this name);\n"
            "  or name an image the engine has (`podman images` or `docker images` lists them)",
            reference, e.step(), e.engine_message()));
    }
    if (auto id = engine.image_id(reference)) return *id;
    throw engine::EngineError("pull " + reference, 0, "the engine reported success but has no such image");
}

std::map<std::string, std::string> prepare_service_images(engine::Engine& engine, const stack::Stack& stack,
                                                          BuildPolicy policy, util::Output& out) {
    std::map<std::string, std::string> ids;
    for (const auto& service : stack.services)
        ids[service.name] =
            service.build ? ensure_built_image(engine, service, policy, out) : ensure_image(engine, service.image, out);
    return ids;
}

std::map<std::string, std::string> current_service_images(engine::Engine& engine, const stack::Stack& stack) {
    std::map<std::string, std::string> ids;
    for (const auto& service : stack.services) ids[service.name] = engine.image_id(service.image).value_or("");
    return ids;
}

bool built_image_up_to_date(engine::Engine& engine, const stack::Service& service) {
    return image_built_from(engine, service.image, build_hash(*service.build)).has_value();
}

}  // namespace mldeploy::deploy
