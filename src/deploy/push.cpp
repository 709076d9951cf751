#include "deploy/push.hpp"

#include "deploy/images.hpp"
#include "util/image_ref.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace mldeploy::deploy {
namespace {

const stack::Service* find_service(const stack::Stack& stack, const std::string& name) {
    for (const auto& s : stack.services)
        if (s.name == name) return &s;
    return nullptr;
}

// "abc123: Pushing" -> {"abc123", "Pushing"}; a line without a layer id: {"", line}.
std::pair<std::string, std::string> layer_status(std::string_view line) {
    const auto colon = line.find(": ");
    if (colon == std::string_view::npos || colon > 64 || line.substr(0, colon).find(' ') != std::string_view::npos)
        return {"", std::string(line)};
    return {std::string(line.substr(0, colon)), std::string(line.substr(colon + 2))};
}

}  // namespace

std::vector<PushItem> plan_push(const stack::Stack& stack, const std::vector<std::string>& names) {
    std::vector<const stack::Service*> chosen;
    if (names.empty()) {
        for (const auto& s : stack.services)
            if (s.build) chosen.push_back(&s);
        if (chosen.empty())
            throw PushRefused("no service has a build: name the services whose images to push (mldeploy push SERVICE)");
    } else {
        for (const auto& name : names) {
            const auto* s = find_service(stack, name);
            if (!s) throw PushRefused(fmt::format("no service '{}' in stack '{}'", name, stack.name));
            if (std::find(chosen.begin(), chosen.end(), s) == chosen.end()) chosen.push_back(s);
        }
    }
    std::vector<PushItem> items;
    for (const auto* s : chosen) {
        const auto registry = util::registry_of(s->image);
        if (!registry)
            throw PushRefused(fmt::format(
                "service '{}': image '{}' names no registry, so there is nowhere to push it; put the registry in "
                "front of the name, e.g. image = \"registry.example:5000/{}\"",
                s->name, s->image, s->image.starts_with("localhost/") ? s->image.substr(10) : s->image));
        auto same = std::find_if(items.begin(), items.end(), [&](const PushItem& i) { return i.image == s->image; });
        if (same != items.end()) {
            same->services.push_back(s->name);
            continue;
        }
        items.push_back({s->image, *registry, {s->name}, s->build ? s : nullptr});
    }
    return items;
}

void push_images(engine::Engine& engine, const std::vector<PushItem>& items, const AuthLookup& auth,
                 util::Output& out) {
    for (const auto& item : items) {
        if (item.build) {
            ensure_built_image(engine, *item.build, BuildPolicy::when_changed, out);
        } else if (!engine.image_id(item.image)) {
            throw engine::EngineError("push " + item.image, engine::ErrorKind::not_found, 404,
                                      fmt::format("the engine has no image {}; pull or build it first", item.image));
        }
        const auto credentials = auth(item.registry);
        out.step(fmt::format("pushing {} to {}{}", item.image, item.registry,
                             credentials ? fmt::format(" as {}", credentials->username) : std::string()));
        std::map<std::string, std::string> layers;  // the last status shown of each layer
        const auto started = std::chrono::steady_clock::now();
        engine.push_image(item.image, credentials, [&](std::string_view line) {
            auto [layer, status] = layer_status(line);
            if (layer.empty()) {
                if (!status.empty()) out.note(status);
                return;
            }
            // Docker repeats "Pushing" with a progress bar: one line per change.
            auto& shown = layers[layer];
            if (shown == status) return;
            shown = status;
            out.note(fmt::format("{}: {}", layer, status));
        });
        const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        out.done(fmt::format("pushed {} ({:.1f}s)", item.image, seconds));
    }
}

}  // namespace mldeploy::deploy
