#!/usr/bin/env bash
# The daemonless default: with no engine socket answering but Podman installed,
# mldeploy starts a private `podman system service`, says so, and uses it; the
# deployed containers keep running after that service has gone.
# Runs in its own mount namespace, where the usual sockets are hidden.
source "$(dirname "$0")/lib.sh"
require_engine

if [ -z "${MLDEPLOY_IN_NS:-}" ]; then
  exec unshare -m env MLDEPLOY_IN_NS=1 bash "$0" "$@"
fi
mount -t tmpfs none /run/podman
[ -e /var/run/docker.sock ] && mount --bind /dev/null /var/run/docker.sock
unset MLDEPLOY_HOST CONTAINER_HOST DOCKER_HOST XDG_RUNTIME_DIR
PRIVATE=/run/mldeploy/podman.sock
pkill -f "system service --time=[0-9]* unix://$PRIVATE" || true
SOCK=$PRIVATE

NAME=e2edaemonless$$
PORT=$((20000 + ($$ + 3) % 10000))
trap 'cleanup_stack $NAME; pkill -f "system service --time=[0-9]* unix://$PRIVATE" || true; rm -rf "$WORK"' EXIT
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
[services.echo.health]
path = "/healthz"
[balancer]
port = $PORT
TOML
cd "$WORK"
out=$("$MLDEPLOY" up 2>&1) || { echo "$out"; fail "up without a running engine exits 0"; finish; exit 1; }
check "says it started a private podman service" contains "$out" "started a private \`podman system service\`"
check "the stack answers" eq "$(curl -s "http://127.0.0.1:$PORT/predict?msg=hi")" '{"response": "hi", "success": true}'
out=$("$MLDEPLOY" version)
check "version names the private socket" contains "$out" "unix://$PRIVATE"

pkill -f "system service --time=[0-9]* unix://$PRIVATE"
sleep 1
check "containers keep running after the service is gone" eq "$(curl -s "http://127.0.0.1:$PORT/predict?msg=hi")" '{"response": "hi", "success": true}'
out=$("$MLDEPLOY" down 2>&1) || fail "down (starting the service again) exits 0"
check "down removed everything" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
finish
