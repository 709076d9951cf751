#!/usr/bin/env bash
# Two `up` of one stack at once: never two replicas with one number, never a
# half-made stack; both succeed or one says what to do. `down` while `up` is
# still starting replicas: afterwards nothing of the stack is left.
source "$(dirname "$0")/../e2e/lib.sh"
require_engine

NAME=loadconc$$
PORT=$((21000 + ($$ + 13) % 9000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 3
[services.echo.health]
path = "/healthz"
start_period = "20s"
[balancer]
port = $PORT
TOML
cd "$WORK"
"$MLDEPLOY" build -q >/dev/null

ra=0; rb=0
"$MLDEPLOY" up >a.txt 2>&1 & pa=$!
"$MLDEPLOY" up >b.txt 2>&1 & pb=$!
wait $pa || ra=$?
wait $pb || rb=$?
echo "concurrent ups exited $ra and $rb"; tail -n 3 a.txt b.txt
for f in a.txt b.txt; do
  if grep -q 'mldeploy: error' $f; then
    check "a failed concurrent up says what to do ($f)" grep -qiE 'again|another' $f
  fi
done
"$MLDEPLOY" up -q >/dev/null || fail "a third up converges"
numbers=$(engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" |
  jq -r '[.[].Labels["io.mldeploy.replica"]] | sort | join(",")')
check "replica numbers are unique and complete" eq "$numbers" "1,2,3"
check "one balancer" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=balancer)" 1
check "the stack answers" eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/predict?msg=x")" 200
"$MLDEPLOY" down -q

"$MLDEPLOY" up >c.txt 2>&1 & pc=$!
for _ in $(seq 1 100); do [ "$(count_containers io.mldeploy.stack=$NAME)" -gt 0 ] && break; sleep 0.1; done
"$MLDEPLOY" down -q || fail "down during up exits 0"
wait $pc || true
check "nothing left after down during up: containers" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
check "nothing left after down during up: networks" eq "$(count_networks io.mldeploy.stack=$NAME)" 0
finish
