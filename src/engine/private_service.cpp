#include "engine/private_service.hpp"

#include "engine/http.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace mldeploy::engine {
namespace {

bool answers(const std::string& socket) {
    std::error_code ec;
    if (!std::filesystem::exists(socket, ec)) return false;
    UnixHttpClient client(socket);
    const auto response = client.request("GET", "/_ping", "", "");
    return !response.transport_error && response.status == 200;
}

// posix_spawn attributes and file actions, freed on every path.
class SpawnSetup {
public:
    SpawnSetup() {
        posix_spawnattr_init(&attr_);
        posix_spawn_file_actions_init(&actions_);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions_);
        posix_spawnattr_destroy(&attr_);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    posix_spawnattr_t* attr() { return &attr_; }
    posix_spawn_file_actions_t* actions() { return &actions_; }

private:
    posix_spawnattr_t attr_;
    posix_spawn_file_actions_t actions_;
};

}  // namespace

std::filesystem::path private_runtime_dir() {
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0')
        return std::filesystem::path(xdg) / "mldeploy";
    if (geteuid() == 0) return "/run/mldeploy";
    return fmt::format("/tmp/mldeploy-{}", geteuid());
}

std::optional<std::filesystem::path> find_podman() {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const auto end = std::min(dirs.find(':', start), dirs.size());
        const auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / "podman";
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return std::nullopt;
}

std::optional<PrivateService> ensure_private_podman_service(std::chrono::seconds idle_timeout) {
    const auto podman = find_podman();
    if (!podman) return std::nullopt;
    const auto dir = private_runtime_dir();
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
    const auto socket = (dir / "podman.sock").string();
    if (answers(socket)) return PrivateService{socket, false};
    std::filesystem::remove(socket);

    const auto log = (dir / "podman-service.log").string();
    const std::string timeout = fmt::format("--time={}", idle_timeout.count());
    const std::string url = "unix://" + socket;
    std::vector<char*> argv{const_cast<char*>(podman->c_str()), const_cast<char*>("system"),
                            const_cast<char*>("service"),       const_cast<char*>(timeout.c_str()),
                            const_cast<char*>(url.c_str()),     nullptr};
    SpawnSetup setup;
    // Its own session, so it outlives this process and ignores the terminal's signals.
    posix_spawnattr_setflags(setup.attr(), POSIX_SPAWN_SETSID);
    // Not in the caller's folder: conmon inherits it, and fails once it is deleted.
    posix_spawn_file_actions_addchdir_np(setup.actions(), "/");
    posix_spawn_file_actions_addopen(setup.actions(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(setup.actions(), STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(setup.actions(), STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, podman->c_str(), setup.actions(), setup.attr(), argv.data(),
                               environ);  // podman system service
    if (rc != 0)
        throw std::runtime_error(
            fmt::format("could not start {} system service: {}", podman->string(), std::strerror(rc)));

    for (int i = 0; i < 200; ++i) {
        if (answers(socket)) return PrivateService{socket, true};
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error(
        fmt::format("started `podman system service` on {}, but it did not answer within 10 s; see {}", socket, log));
}

}  // namespace mldeploy::engine
