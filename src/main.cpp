#include "cmd/cli.hpp"

int main(int argc, char** argv) { return mldeploy::cmd::run_cli(argc, argv); }
