// The GPUs the engine can give a container, as this host holds them: the one
// host fact the planner needs for `resources.gpus` (plan/gpus.hpp spreads them
// over replicas). Podman: the devices of kind nvidia.com/gpu in the host's CDI
// specs (what `nvidia-ctk cdi generate` writes), without the `all` device.
// Docker has no CDI: the NVIDIA device nodes /dev/nvidia0, /dev/nvidia1, ...,
// named "nvidia.com/gpu=N" too, which the Docker flavour sends as a device
// request by id. Read from the file system of this host: engines are reached
// over a unix socket, so they run here.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::engine {

struct GpuInventory {
    std::vector<std::string> devices;  // CDI names ("nvidia.com/gpu=0"), in the order replicas get them
    std::string source;                // where they were looked for, for messages
};

inline constexpr std::string_view gpu_kind = "nvidia.com/gpu";

// The folders Podman reads CDI specs from, in its order.
std::vector<std::filesystem::path> cdi_spec_dirs();

// The device names of kind nvidia.com/gpu in one CDI spec ("0", "1", "GPU-<uuid>";
// not "all"). `json`: the text is JSON (a .json spec), else YAML. A spec of
// another kind gives none. Throws std::runtime_error for text that does not parse.
std::vector<std::string> cdi_gpu_names(std::string_view text, bool json);

// Every nvidia.com/gpu device of the *.yaml, *.yml and *.json specs in `dirs`,
// as CDI names, each once, in natural order (2 before 10). A spec that does not
// parse is skipped (Podman skips it too).
GpuInventory cdi_gpus(const std::vector<std::filesystem::path>& dirs);

// The NVIDIA GPUs whose device nodes are in `dev_dir` (nvidia0, nvidia1, ...;
// not nvidiactl, nvidia-uvm), as "nvidia.com/gpu=N" in index order.
GpuInventory nvidia_device_gpus(const std::filesystem::path& dev_dir = "/dev");

}  // namespace mldeploy::engine
