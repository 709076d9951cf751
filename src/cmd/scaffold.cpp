#include "cmd/scaffold.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <utility>

namespace mldeploy::cmd {
namespace {

constexpr std::size_t max_name = 40;

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    return out;
}

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    return std::string(text.substr(first, text.find_last_not_of(" \t\r") - first + 1));
}

std::string stack_toml(const ScaffoldInput& in) {
    const std::string command = in.server ? fmt::format("command = [\"python3\", \"{}\"]\n", *in.server)
                                          : "# No server.py or app.py was found: say what runs.\n"
                                            "# command = [\"python3\", \"server.py\"]\n";
    return fmt::format(R"(# Written by `mldeploy init`; every key: docs/stack-file.md (or `mldeploy schema`).
# Deploy with `mldeploy up`, then try: curl http://localhost:{publish}{health}
name = "{name}"

[services.model]
# This folder, built with its Containerfile.
build = "."
image = "localhost/{name}/model:latest"
# The port the server listens on inside its container; it must listen on
# 0.0.0.0 (HOST), not 127.0.0.1, or the balancer cannot reach it.
port = {port}
replicas = 1
{command}env = {{ PORT = "{port}", HOST = "0.0.0.0" }}

[services.model.health]
# Must answer 2xx once the model is loaded; a replica takes traffic only then.
path = "{health}"
# Time to load the model before failed probes count.
start_period = "60s"

[balancer]
# The host port requests come in on.
port = {publish}
)",
                       fmt::arg("name", in.name), fmt::arg("port", in.port), fmt::arg("publish", in.publish),
                       fmt::arg("health", in.health_path), fmt::arg("command", command));
}

std::string packages_step(const ScaffoldInput& in) {
    if (!in.requirements) return "";
    const auto names = requirement_names(*in.requirements);
    if (names.empty()) return "# requirements.txt names no package: nothing to install.\n\n";
    std::string debian;
    for (const auto& name : names) debian += " \\\n        " + debian_package_for(name);
    std::string listed;
    for (const auto& name : names) listed += (listed.empty() ? "" : ", ") + name;
    return fmt::format(R"(# requirements.txt names: {listed}.
# The base image has no pip, and PyPI cannot be reached from a machine without
# registry access; Debian's mirror can, so the packages come from Debian
# (python3-<name>; check a name at https://packages.debian.org when the build
# says "Unable to locate package"). Debian's versions are not requirements.txt's.
RUN apt-get update \
 && apt-get install -y --no-install-recommends{debian} \
 && rm -rf /var/lib/apt/lists/*
# Where PyPI can be reached, pip instead (add python3-pip and python3-venv above):
# RUN python3 -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt
# ENV PATH=/venv/bin:$PATH

)",
                       fmt::arg("listed", listed), fmt::arg("debian", debian));
}

std::string containerfile(const ScaffoldInput& in) {
    const std::string server = in.server.value_or("server.py");
    return fmt::format(R"(# Written by `mldeploy init`. The base image is Debian's python3, built locally
# by packaging/build-base-images.sh (no registry needed).
FROM {base}

WORKDIR /app
{packages}COPY . ./

ENV PORT={port} \
    HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
EXPOSE {port}
CMD ["python3", "{server}"]
)",
                       fmt::arg("base", in.base_image), fmt::arg("packages", packages_step(in)),
                       fmt::arg("port", in.port), fmt::arg("server", server));
}

// What the build need not see: it is hashed and sent to the engine on every build,
// and stack.toml and .env must not rebuild the image when they change.
std::string dockerignore() {
    return R"(# Written by `mldeploy init`: what the image build does not need.
.git
.env
stack.toml
.dockerignore
__pycache__/
*.pyc
.venv/
venv/
)";
}

}  // namespace

std::string stack_name_for(std::string_view folder_name) {
    std::string name;
    for (char c : lower(folder_name)) {
        if (is_name_char(c))
            name += c;
        else if (!name.empty() && name.back() != '-')
            name += '-';
    }
    while (!name.empty() && (name.front() == '-' || name.front() == '_')) name.erase(name.begin());
    if (name.size() > max_name) name.resize(max_name);
    while (!name.empty() && name.back() == '-') name.pop_back();
    return name.empty() ? "model" : name;
}

std::vector<std::string> requirement_names(std::string_view requirements) {
    std::vector<std::string> names;
    std::istringstream lines{std::string(requirements)};
    std::string line;
    while (std::getline(lines, line)) {
        std::string text = trim(line.substr(0, line.find('#')));
        if (text.empty() || text.starts_with('-')) continue;  // options: -r, -e, --index-url
        const auto end = text.find_first_of(" \t;[<>=!~@");
        std::string name = lower(text.substr(0, end));
        std::replace(name.begin(), name.end(), '_', '-');
        std::replace(name.begin(), name.end(), '.', '-');
        if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    return names;
}

std::string debian_package_for(std::string_view pypi_name) {
    static const std::array<std::pair<std::string_view, std::string_view>, 8> renamed{{
        {"scikit-learn", "python3-sklearn"},
        {"pillow", "python3-pil"},
        {"pyyaml", "python3-yaml"},
        {"opencv-python", "python3-opencv"},
        {"opencv-python-headless", "python3-opencv"},
        {"beautifulsoup4", "python3-bs4"},
        {"python-dateutil", "python3-dateutil"},
        {"protobuf", "python3-protobuf"},
    }};
    const std::string name = lower(pypi_name);
    for (const auto& [pypi, debian] : renamed)
        if (name == pypi) return std::string(debian);
    return "python3-" + name;
}

std::optional<std::string> health_path_in(std::string_view source) {
    for (std::string_view path : {"/healthz", "/health", "/ping", "/ready"}) {
        for (char quote : {'"', '\''}) {
            const std::string quoted = quote + std::string(path) + quote;
            if (source.find(quoted) != std::string_view::npos) return std::string(path);
        }
    }
    return std::nullopt;
}

std::vector<ScaffoldFile> scaffold(const ScaffoldInput& input) {
    return {
        {"stack.toml", stack_toml(input)}, {"Containerfile", containerfile(input)}, {".dockerignore", dockerignore()}};
}

}  // namespace mldeploy::cmd
