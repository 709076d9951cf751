#!/usr/bin/env bash
# The README's set-up command: on a new Debian 12 machine, as root, install
# what mldeploy and its tests need (Podman, rootless Podman for the user
# mldeploy-rootless, Docker, the tools the tests call), build and install
# mldeploy, and deploy the demo stack. After it, tests/run.sh runs as it is.
#   packaging/install.sh            # everything, ending with the demo running
#   packaging/install.sh --no-demo  # everything but the demo
set -euo pipefail
cd "$(dirname "$0")/.."
demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

bash packaging/install-deps.sh
bash packaging/build-base-images.sh
bash packaging/setup-rootless.sh   # the user mldeploy-rootless, on rootless Podman
bash packaging/install-docker.sh   # the tests run on Docker too (tests/run.sh)

echo "==> building mldeploy"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target mldeploy
install -m 0755 build/src/mldeploy /usr/local/bin/mldeploy
echo "==> installed /usr/local/bin/mldeploy ($(mldeploy version | head -1))"

if [ "$demo" = 1 ]; then
  echo "==> deploying the demo stack stacks/movies.toml"
  mldeploy up stacks/movies.toml
fi
