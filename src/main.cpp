#include "cmd/cli.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char** argv) {
    // MLDEPLOY_DEBUG=1 prints every engine call with its status and duration,
    // time-stamped: where a command spends its time.
    if (const char* debug = std::getenv("MLDEPLOY_DEBUG"); debug != nullptr && *debug != '\0' && *debug != '0') {
        spdlog::set_level(spdlog::level::debug);
        spdlog::set_pattern("%H:%M:%S.%e %v");
    }
    return mldeploy::cmd::run_cli(argc, argv);
}
