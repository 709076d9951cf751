#!/usr/bin/env bash
# Checks that this machine has what `tests/run.sh` needs (tools the tests call,
# both engines, the packaging tools), and names the set-up command when not.
# tests/run.sh runs it first, so that a machine that was not set up stops with
# one clear message instead of at the first test that calls a missing tool.
# Keep the list in step with packaging/install-deps.sh and install-docker.sh.
set -euo pipefail

need=(
  cmake ninja c++ pkg-config   # the build
  curl jq ab hey python3 ss timeout unshare runuser setsid tar awk htpasswd docker-registry socat nsenter ip  # the tests
  /usr/sbin/nginx                              # render_test: every config through `nginx -t`
  docker-compose catatonit                     # export_test: compose up, podman kube play
  podman runc debootstrap dockerd              # both engines, base images
  help2man cpack dpkg-deb dpkg-shlibdeps file lintian man zsh fish  # man page, completions, .deb, their tests
)
missing=()
for t in "${need[@]}"; do
  if [[ "$t" == /* ]]; then [ -x "$t" ] || missing+=("$t"); else command -v "$t" >/dev/null || missing+=("$t"); fi
done
# export_test validates Kubernetes YAML with Debian's python3 and its modules.
/usr/bin/python3 -c 'import kubernetes, yaml' 2>/dev/null || missing+=("python3-kubernetes")
if [ ${#missing[@]} -gt 0 ]; then
  echo "tests/run.sh: this machine is not set up for the tests; missing: ${missing[*]}" >&2
  echo "  run the README's set-up command first, as root: packaging/install.sh (--no-demo to skip the demo stack)" >&2
  exit 1
fi
