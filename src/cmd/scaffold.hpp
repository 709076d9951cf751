// What `mldeploy init` writes for a model server folder: pure functions from what
// the folder holds and the flags to the text of stack.toml, Containerfile and
// .dockerignore (cmd/init.cpp reads the folder and writes the files).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::cmd {

inline constexpr const char* default_base_image = "localhost/mldeploy/python:3.11";

struct ScaffoldInput {
    std::string name;  // the stack's name
    std::string base_image = default_base_image;
    int port = 8000;     // the model's port in its container
    int publish = 8080;  // the balancer's host port
    std::string health_path = "/healthz";
    std::optional<std::string> server;        // "server.py" or "app.py" when found
    std::optional<std::string> requirements;  // requirements.txt's text when present
};

struct ScaffoldFile {
    std::string name;  // relative to the folder
    std::string text;
};

// A stack name from a folder's name: lowercase, other characters as '-', at most
// 40 characters, starting with a letter or digit; "model" when nothing is left.
std::string stack_name_for(std::string_view folder_name);

// The Python packages requirements.txt names, without versions, extras, markers,
// comments and options (-r, --index-url, ...).
std::vector<std::string> requirement_names(std::string_view requirements);

// Debian's package for a PyPI name: a few well-known renames, else python3-<name>.
std::string debian_package_for(std::string_view pypi_name);

// The health path a server's source names ("/healthz", "/health", "/ping"), if any.
std::optional<std::string> health_path_in(std::string_view source);

// stack.toml, Containerfile and .dockerignore, in that order.
std::vector<ScaffoldFile> scaffold(const ScaffoldInput& input);

}  // namespace mldeploy::cmd
