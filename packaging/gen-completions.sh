#!/usr/bin/env bash
# Writes the three completion scripts from the built binary's own command table.
# Run by CMake at build time (cmake/Packaging.cmake).
#   gen-completions.sh MLDEPLOY OUTDIR
set -euo pipefail
bin=$1 out=$2
mkdir -p "$out"
"$bin" completion bash >"$out/mldeploy.bash"
"$bin" completion zsh >"$out/_mldeploy"
"$bin" completion fish >"$out/mldeploy.fish"
