#!/usr/bin/env bash
# Builds tests/e2e/engine_probe.cpp from the engine's own sources and runs it
# against a live Podman service: every PodmanEngine call, then cleanup.
# Usage: tests/e2e/engine_smoke.sh [socket]   (PROBE_DEBUG=1 logs each request)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${TMPDIR:-/tmp}/mldeploy-engine-probe
g++ -std=c++20 -O1 -g -Wall -Wextra -Wpedantic -Wshadow -I"$root/src" \
  -DSPDLOG_FMT_EXTERNAL -DSPDLOG_COMPILED_LIB -DSPDLOG_SHARED_LIB -DFMT_SHARED \
  "$root/tests/e2e/engine_probe.cpp" \
  "$root"/src/engine/{engine,http,podman,docker,listing,reply,stream}.cpp "$root"/src/util/{curl,tar,context_walk}.cpp \
  -lcurl -larchive -lfmt -lspdlog -lpthread -o "$out"
exec "$out" "$@"
