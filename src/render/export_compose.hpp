// `mldeploy export compose`: the stack as a compose.yaml that Docker Compose
// (Debian 12's docker-compose 1.29 too) runs as it is. Pure: a stack in, text
// and warnings out.
#pragma once

#include "render/yaml.hpp"
#include "stack/model.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace mldeploy::render {

struct ComposeOptions {
    // The folder the compose file will be in: build contexts and bind mounts
    // are written relative to it, as Compose reads them.
    std::filesystem::path output_dir;
};

struct ComposeExport {
    Doc document;
    std::vector<std::string> warnings;
    std::string text() const { return to_yaml(document); }
};

ComposeExport export_compose(const stack::Stack& stack, const ComposeOptions& options);

// The compose service that runs nginx: "balancer", unless a model service has that name.
std::string compose_balancer_name(const stack::Stack& stack);

// A healthcheck command for images that have any of curl, wget, bash or python3
// (mldeploy's python base image has only the last two): exit 0 when GET `path`
// on 127.0.0.1:`port` answers 2xx. Plain sh; '$' not yet escaped for Compose.
std::string health_command(int port, const std::string& path);

}  // namespace mldeploy::render
