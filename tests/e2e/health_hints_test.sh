#!/usr/bin/env bash
# A replica that never gets healthy: `up` shows the model's own last log lines
# (a line repeated by every probe collapsed into one) and a hint of what it looks
# like: a model bound to 127.0.0.1 inside its container (read from the replica's
# /proc/net/tcp through the engine's exec), or a health path that answers 404.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2ehint$$
PORT=$((20000 + ($$ + 19) % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

write_stack() {  # write_stack HOST HEALTH_PATH
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
env = { HOST = "$1", ACCESS_LOG = "1" }
[services.echo.health]
path = "$2"
interval = "200ms"
retries = 10
start_period = "3s"
[balancer]
port = $PORT
TOML
}
cd "$WORK"

# 1. The model listens on 127.0.0.1 only: nothing outside its container reaches it.
write_stack 127.0.0.1 /healthz
out=$("$MLDEPLOY" up 2>&1) && rc=0 || rc=$?
check "bound to 127.0.0.1: up exits 1" eq "$rc" 1
check "bound to 127.0.0.1: the hint says so" contains "$out" \
  "hint: the model listens only on 127.0.0.1:8000 inside its container"
check "bound to 127.0.0.1: the model's own log lines" contains "$out" "| echo\["
"$MLDEPLOY" down -q >/dev/null 2>&1 || true

# 2. A health path the model does not serve: every probe gets a 404 (and logs a line).
write_stack 0.0.0.0 /health
out=$("$MLDEPLOY" up 2>&1) && rc=0 || rc=$?
check "a wrong health path: up exits 1" eq "$rc" 1
check "a wrong health path: the hint names the status" contains "$out" \
  "hint: the model answers on port 8000, but GET /health returned 404, not 2xx"
check "a wrong health path: the probe's repeated log line is collapsed" contains "$out" "(repeated "
lines=$(grep -c '^    | ' <<<"$out" || true)
check "a wrong health path: at most 20 log lines shown" test "$lines" -le 20
finish
