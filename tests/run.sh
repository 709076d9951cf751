#!/usr/bin/env bash
# The whole test suite: configure, build with warnings as errors, run the unit
# tests and the end-to-end tests against the real engine. The README's test
# command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLDEPLOY_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
packaging/start-podman-service.sh
packaging/start-docker-service.sh
ctest --test-dir "$build" --output-on-failure "$@"
