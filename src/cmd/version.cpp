// mldeploy version: ours, and the engine's when one answers.
#include "cmd/commands.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mldeploy::cmd {

Command version_command() {
    return {"version", "Print mldeploy's version and the engine in use",
            [](CLI::App&) -> Runner {
                return [](const GlobalOptions& g) {
                    std::optional<engine::EngineInfo> info;
                    std::string problem;
                    try {
                        info = connect_engine(g)->info();
                    } catch (const std::exception& e) {
                        problem = e.what();
                    }
                    if (g.format == "json") {
                        nlohmann::json j{{"mldeploy", MLDEPLOY_VERSION}};
                        if (info)
                            j["engine"] = {{"flavour", info->flavour},
                                           {"version", info->version},
                                           {"api_version", info->api_version},
                                           {"socket", info->socket}};
                        output().result(j.dump(2));
                        return 0;
                    }
                    output().result(fmt::format("mldeploy {}", MLDEPLOY_VERSION));
                    if (info)
                        output().result(fmt::format("engine   {} {} (API {}) at unix://{}", info->flavour,
                                                    info->version, info->api_version, info->socket));
                    else
                        output().result("engine   none answered: " + problem);
                    return 0;
                };
            },
            "mldeploy version --format json", uses::host | uses::format};
}

}  // namespace mldeploy::cmd
