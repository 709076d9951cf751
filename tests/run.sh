#!/usr/bin/env bash
# The whole test suite: configure, build with warnings as errors, run the unit
# tests and the end-to-end tests against the real engines: rootful Podman,
# Docker, and the rootless Podman of the user that packaging/setup-rootless.sh
# made. The README's test command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
# A machine that was not set up stops here, naming the set-up command.
packaging/check-host.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLDEPLOY_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
packaging/start-podman-service.sh
packaging/start-docker-service.sh
# Without it only the rootless test fails (it never skips); the rest still runs.
packaging/start-rootless-podman-service.sh ||
  echo "==> rootless Podman did not start (packaging/setup-rootless.sh not run?): the rootless tests (label rootless) will fail" >&2
ctest --test-dir "$build" --output-on-failure "$@"
