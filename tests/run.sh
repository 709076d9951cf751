#!/usr/bin/env bash
# The whole test suite: configure, build with warnings as errors, run the unit
# tests and the end-to-end tests against the real engines: rootful Podman,
# Docker, and the rootless Podman of the user that packaging/setup-rootless.sh
# made; then the unit tests once more under ASan and UBSan. The README's test
# command, and what .ci/run calls.
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

# The unit tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer
# (CMakePresets.json's `dev` preset, in its own folder); any report fails the run.
# Only the unit tests: the whole suite under ASan would be far slower. Skipped
# when the arguments select other tests only (-L e2e, -R ...without unit).
if [ $# -eq 0 ] || [[ " $* " == *unit* ]]; then
  started=$(date +%s)
  cmake --preset dev >/dev/null
  cmake --build --preset dev --target unit_tests -j "$(nproc)"
  echo "==> unit tests under ASan and UBSan"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
    build-dev/tests/unit/unit_tests
  echo "==> sanitizer build and unit tests took $(( $(date +%s) - started ))s"
fi
