#!/usr/bin/env bash
# Writes the three completion scripts from the built binary's own command table.
# Run by CMake at build time (cmake/Packaging.cmake).
#   gen-completions.sh MLDEPLOY OUTDIR
set -euo pipefail
# A sanitizer build (the dev preset) runs here too: its leak report is no reason to fail.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
bin=$1 out=$2
mkdir -p "$out"
"$bin" completion bash >"$out/mldeploy.bash"
"$bin" completion zsh >"$out/_mldeploy"
"$bin" completion fish >"$out/mldeploy.fish"
