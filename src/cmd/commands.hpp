// The command table: one function per command file, registered in cli.cpp.
#pragma once

#include "cmd/context.hpp"

namespace mldeploy::cmd {

Command up_command();
Command scale_command();
Command restart_command();
Command exec_command();
Command down_command();
Command ps_command();
Command logs_command();
Command build_command();
Command config_command();
Command version_command();
Command completion_command();
Command schema_command();
Command init_command();
Command push_command();
Command run_command();
Command export_command();
Command bench_command();
Command top_command();
Command traffic_command();
Command agent_command();

}  // namespace mldeploy::cmd
