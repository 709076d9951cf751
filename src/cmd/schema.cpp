// mldeploy schema: the stack file's JSON Schema, for editors (Taplo, Even Better
// TOML). Reads nothing and never opens the engine's socket.
#include "stack/schema.hpp"
#include "cmd/commands.hpp"

namespace mldeploy::cmd {

Command schema_command() {
    return {"schema", "Print the stack file's JSON Schema (for editors)",
            [](CLI::App&) -> Runner {
                return [](const GlobalOptions&) {
                    output().result(stack::stack_schema().dump(2));
                    return 0;
                };
            },
            "mldeploy schema > stack.schema.json", 0};
}

}  // namespace mldeploy::cmd
