#!/usr/bin/env bash
# Starts Podman's REST service on /run/podman/podman.sock unless it already answers.
set -euo pipefail
# The service (and conmon, which inherits its folder) must not run in a folder
# that may be deleted, such as a test's temporary folder.
cd /
sock=/run/podman/podman.sock
if curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
  exit 0
fi
mkdir -p /run/podman
rm -f "$sock"
echo "==> starting podman system service on unix://$sock"
setsid podman system service --time=0 "unix://$sock" >/var/log/podman-service.log 2>&1 < /dev/null &
for _ in $(seq 1 100); do
  curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "podman service did not answer on $sock; see /var/log/podman-service.log" >&2
exit 1
