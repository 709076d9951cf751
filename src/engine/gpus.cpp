#include "engine/gpus.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mldeploy::engine {
namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Indexes by value (2 before 10), then other names (UUIDs) as text.
bool natural_less(const std::string& a, const std::string& b) {
    const bool na = all_digits(a), nb = all_digits(b);
    if (na != nb) return na;
    if (na && a.size() != b.size()) return a.size() < b.size();
    return a < b;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string joined(const std::vector<std::filesystem::path>& dirs) {
    std::string text;
    for (const auto& dir : dirs) text += (text.empty() ? "" : ", ") + dir.string();
    return text;
}

}  // namespace

std::vector<std::filesystem::path> cdi_spec_dirs() { return {"/etc/cdi", "/var/run/cdi"}; }

std::vector<std::string> cdi_gpu_names(std::string_view text, bool json) {
    std::vector<std::string> names;
    auto keep = [&names](const std::string& name) {
        if (!name.empty() && name != "all") names.push_back(name);
    };
    if (json) {
        nlohmann::json spec;
        try {
            spec = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw std::runtime_error(e.what());
        }
        if (!spec.is_object() || spec.value("kind", "") != gpu_kind) return names;
        if (!spec.contains("devices") || !spec["devices"].is_array()) return names;
        for (const auto& device : spec["devices"])
            if (device.is_object() && device.contains("name") && device["name"].is_string())
                keep(device["name"].get<std::string>());
        return names;
    }
    YAML::Node spec;
    try {
        spec = YAML::Load(std::string(text));
        if (!spec.IsMap() || !spec["kind"] || spec["kind"].as<std::string>() != gpu_kind) return names;
        const YAML::Node devices = spec["devices"];
        if (!devices || !devices.IsSequence()) return names;
        for (const auto& device : devices)
            if (device.IsMap() && device["name"] && device["name"].IsScalar()) keep(device["name"].as<std::string>());
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(e.what());
    }
    return names;
}

GpuInventory cdi_gpus(const std::vector<std::filesystem::path>& dirs) {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& dir : dirs) {
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            const auto ext = entry.path().extension().string();
            if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
            try {
                for (auto& name : cdi_gpu_names(read_file(entry.path()), ext == ".json")) names.insert(name);
            } catch (const std::runtime_error&) {
                // Not a spec Podman could use either.
            }
        }
    }
    std::vector<std::string> sorted(names.begin(), names.end());
    std::sort(sorted.begin(), sorted.end(), natural_less);
    GpuInventory inventory;
    for (const auto& name : sorted) inventory.devices.push_back(fmt::format("{}={}", gpu_kind, name));
    inventory.source = fmt::format("the {} devices of the CDI specs in {}", gpu_kind, joined(dirs));
    return inventory;
}

GpuInventory nvidia_device_gpus(const std::filesystem::path& dev_dir) {
    std::vector<std::string> indexes;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dev_dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("nvidia") && all_digits(std::string_view(name).substr(6)))
            indexes.push_back(name.substr(6));
    }
    std::sort(indexes.begin(), indexes.end(), natural_less);
    GpuInventory inventory;
    for (const auto& index : indexes) inventory.devices.push_back(fmt::format("{}={}", gpu_kind, index));
    inventory.source = fmt::format("the NVIDIA devices {}/nvidia0, nvidia1, ...", dev_dir.string());
    return inventory;
}

}  // namespace mldeploy::engine
