#pragma once

namespace mldeploy::cmd {

// Parses the command line, runs the command, and returns the exit status:
// 0 success, 2 the command line or stack file is wrong, 1 anything else.
int run_cli(int argc, char** argv);

}  // namespace mldeploy::cmd
