// mldeploy agent -s STACK: what the stack's controller container runs (hidden:
// `up` starts it; deploy/controller.hpp, deploy/agent.hpp).
#include "deploy/agent.hpp"
#include "cmd/commands.hpp"

namespace mldeploy::cmd {

Command agent_command() {
    Command command{"agent", "Run the stack's controller (inside its container; started by `up`)",
                    [](CLI::App& app) -> Runner {
                        auto o = std::make_shared<deploy::AgentOptions>();
                        app.add_option("--port", o->port, "Port to serve /metrics on")->check(CLI::Range(1, 65535));
                        app.add_option("--listen", o->listen_host, "IPv4 address to serve on");
                        app.add_flag("--autoscale", o->autoscale,
                                     "Scale the services that have [services.X.autoscale]");
                        return [o](const GlobalOptions& g) -> int {
                            if (g.stack_name.empty()) throw UsageError("agent needs -s STACK");
                            auto options = *o;
                            options.stack = g.stack_name;
                            auto engine = connect_engine(g);
                            deploy::run_agent(*engine, options);
                        };
                    },
                    "mldeploy agent -s movies -H unix:///run/mldeploy/engine.sock", uses::stack | uses::host};
    command.hidden = true;
    return command;
}

}  // namespace mldeploy::cmd
