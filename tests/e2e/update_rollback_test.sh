#!/usr/bin/env bash
# A rolling update that fails on a later replica puts every replica back on the
# version that ran before (the first new replica was healthy and already took
# traffic), with no failed request; `up` exits 1 saying it rolled back. And a
# replica without a [health] table that crashes soon after it starts fails
# `up` instead of being reported up.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2erb$$
PORT=$((20000 + ($$ + 11) % 10000))
trap 'cleanup_stack $NAME; cleanup_stack ${NAME}c; rm -rf "$WORK"' EXIT

write_stack() {  # write_stack [command-line]
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 3
volumes = ["./shared:/shared"]
$1
[services.echo.health]
path = "/healthz"
interval = "500ms"
retries = 2
start_period = "6s"
[balancer]
port = $PORT
TOML
}
cd "$WORK"
mkdir -p shared
URL="http://127.0.0.1:$PORT/predict?msg=v"

write_stack ""
"$MLDEPLOY" up -q >/dev/null || { fail "first up"; finish; exit 1; }
ids_before=$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model)
hashes_before=$(engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" |
  jq -r '.[].Labels["io.mldeploy.config-hash"]' | sort -u)

# The new version: its first replica starts and serves; every later one hangs
# while "loading" (a marker in the shared folder tells them apart).
write_stack 'command = ["sh", "-c", "if mkdir /shared/first 2>/dev/null; then exec python3 server.py; else echo loading forever; sleep 600; fi"]'
start_load "$URL" "$WORK/codes"
rc=0; out=$("$MLDEPLOY" up 2>&1) || rc=$?
stop_load
echo "$out" | tail -12
check "the failed update exits 1" eq "$rc" 1
check "it says it rolled back" contains "$out" "rolled back"
check "it names the replica that failed" contains "$out" "$NAME-echo-2"
check "the same three containers run again" eq "$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model)" "$ids_before"
check "all on the version that ran before" eq "$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" |
  jq -r '.[].Labels["io.mldeploy.config-hash"]' | sort -u)" "$hashes_before"
check "three replicas running" eq "$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" | jq length)" 3
check "canonical names back" eq "$(engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" |
  jq -r '.[].Names[0]' | sed 's|^/||' | sort | tr '\n' ' ')" "$NAME-echo-1 $NAME-echo-2 $NAME-echo-3 "
bad=$(grep -vc '^200$' "$WORK/codes" || true)
echo "requests during the failed update and its rollback: $(wc -l <"$WORK/codes"), failed: $bad"
check "no failed request during the update and the rollback" eq "$bad" 0
write_stack ""
out=$("$MLDEPLOY" up 2>&1)
check "the stack file as before: no changes" contains "$out" "no changes"
"$MLDEPLOY" down -q >/dev/null

# A replica without [health] that crashes 2 s after it starts: not "up".
cat >"$WORK/crash.toml" <<TOML
name = "${NAME}c"
[services.crash]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
command = ["python3", "-c", "import time; time.sleep(2); raise SystemExit(3)"]
[balancer]
port = $PORT
TOML
rc=0; out=$("$MLDEPLOY" up -f "$WORK/crash.toml" 2>&1) || rc=$?
echo "$out" | tail -5
check "a replica that crashes without [health] fails up" eq "$rc" 1
check "the message says it exited" contains "$out" "exited with code 3"
check "a failed first up leaves nothing" eq "$(count_containers io.mldeploy.stack=${NAME}c)" 0
finish
