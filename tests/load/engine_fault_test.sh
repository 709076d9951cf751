#!/usr/bin/env bash
# The engine's socket goes away in the middle of `up`: a clear error naming the
# step; once the engine is back, the next `up` converges to the full stack with
# no duplicate replicas and no orphaned containers.
# mldeploy talks to the engine through a socket of this test's own (socat in
# front of the engine's): closing it, and every connection on it, is the engine
# going away for mldeploy, on either engine, without stopping the engine that
# other tests share.
source "$(dirname "$0")/../e2e/lib.sh"
require_engine
command -v socat >/dev/null || { echo "FAIL: socat is not installed (run packaging/install-deps.sh)" >&2; exit 1; }

NAME=loadfault$$
PORT=$((21000 + ($$ + 19) % 9000))
PROXY_SOCK=$WORK/engine.sock
PROXY_PID=""
start_proxy() {
  # In a session of its own, so that stop_proxy also ends the connections it forked.
  setsid socat UNIX-LISTEN:"$PROXY_SOCK",fork,unlink-early UNIX-CONNECT:"$SOCK" </dev/null >/dev/null 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 1 100); do [ -S "$PROXY_SOCK" ] && return 0; sleep 0.05; done
  echo "FAIL: socat did not make $PROXY_SOCK" >&2; exit 1
}
stop_proxy() {
  [ -n "$PROXY_PID" ] || return 0
  kill -9 -- "-$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true
  PROXY_PID=""; rm -f "$PROXY_SOCK"
}
trap 'stop_proxy; export MLDEPLOY_HOST=unix://$SOCK; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
start_proxy
export MLDEPLOY_HOST=unix://$PROXY_SOCK
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 4
[services.echo.health]
path = "/healthz"
start_period = "20s"
[balancer]
port = $PORT
TOML
cd "$WORK"
"$MLDEPLOY" build -q >/dev/null

rc=0
"$MLDEPLOY" up >up.txt 2>&1 & pu=$!
for _ in $(seq 1 200); do [ "$(count_containers io.mldeploy.stack=$NAME)" -gt 0 ] && break; sleep 0.05; done
stop_proxy
wait $pu || rc=$?
cat up.txt | tail -5
check "up exits 1 when the engine goes away" eq "$rc" 1
check "the error names the step" grep -qE 'error: (create|start|inspect|list|remove|connect|build|wait|get|put)' up.txt
check "the error says the engine is unreachable" grep -qiE 'podman|engine|socket' up.txt

start_proxy
"$MLDEPLOY" up -q >/dev/null || fail "up after the engine is back exits 0"
names=$(engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME)" | jq -r '[.[].Names[0] | ltrimstr("/")] | sort | join(",")')
check "exactly the full stack, no duplicates or orphans" eq "$names" "$NAME-balancer,$NAME-echo-1,$NAME-echo-2,$NAME-echo-3,$NAME-echo-4"
check "the stack answers" eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/predict?msg=x")" 200
finish
