#!/usr/bin/env bash
# The engine's socket goes away in the middle of `up`: a clear error naming the
# step; once the engine is back, the next `up` converges to the full stack with
# no duplicate replicas and no orphaned containers.
source "$(dirname "$0")/../e2e/lib.sh"
require_engine
[ "$SOCK" = /run/podman/podman.sock ] || { echo "FAIL: this test restarts the rootful Podman service only" >&2; exit 1; }

NAME=loadfault$$
PORT=$((21000 + ($$ + 19) % 9000))
trap '"$REPO/packaging/start-podman-service.sh" >/dev/null; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
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
pkill -f 'podman system service --time=0 unix:///run/podman/podman.sock' || true
wait $pu || rc=$?
cat up.txt | tail -5
check "up exits 1 when the engine goes away" eq "$rc" 1
check "the error names the step" grep -qE 'error: (create|start|inspect|list|remove|connect|build|wait|get|put)' up.txt
check "the error says the engine is unreachable" grep -qiE 'podman|engine|socket' up.txt

"$REPO/packaging/start-podman-service.sh" >/dev/null
"$MLDEPLOY" up -q >/dev/null || fail "up after the engine is back exits 0"
names=$(engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME)" | jq -r '[.[].Names[0]] | sort | join(",")')
check "exactly the full stack, no duplicates or orphans" eq "$names" "$NAME-balancer,$NAME-echo-1,$NAME-echo-2,$NAME-echo-3,$NAME-echo-4"
check "the stack answers" eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/predict?msg=x")" 200
finish
