#!/usr/bin/env bash
# `mldeploy restart` under steady load through the balancer (GET and POST):
# every replica is replaced by a fresh container, one at a time, with zero
# failed requests; the balancer stays; the configuration stays the one that
# was deployed (not the edited file). `--dry-run` prints the plan and changes
# nothing; an unknown service exits 2.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=${E2E_STACK_PREFIX:-e2e}restart$$
PORT=$((19150 + $$ % 50))
trap 'stop_hey; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cp -r "$REPO/examples/echo" "$WORK/echo"
write_stack() {  # write_stack VERSION
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "./echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 3
env = { VERSION = "$1" }
[services.echo.health]
path = "/healthz"
interval = "500ms"
retries = 3
start_period = "20s"
[balancer]
port = $PORT
TOML
}
cd "$WORK"
write_stack 1
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }
models() { container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model; }
balancer() { container_ids io.mldeploy.stack=$NAME io.mldeploy.role=balancer; }

before=$(models)
balancer_before=$(balancer)
out=$("$MLDEPLOY" restart --dry-run 2>&1)
check "--dry-run plans every replica" eq "$(grep -c "replace replica $NAME-echo-[123] (restart; the old one drains up to" <<<"$out")" 3
check "--dry-run changes nothing" eq "$(models)" "$before"

rc=0; out=$("$MLDEPLOY" restart ecoh 2>&1) || rc=$?
check "an unknown service: exit 2" eq "$rc" 2
check "an unknown service: did you mean" contains "$out" "did you mean 'echo'?"

# An edited file is not what restart runs: the deployed configuration is.
write_stack 2

URL="http://127.0.0.1:$PORT/predict"
start_hey "$WORK/get.txt" -c 8 -q 25 "$URL?msg=get"
start_hey "$WORK/post.txt" -c 4 -q 25 -m POST -T application/json -d '{"msg": "post"}' "$URL"
sleep 2
rc=0; "$MLDEPLOY" restart -q >"$WORK/restart.out" 2>&1 || rc=$?
check "restart exits 0" eq "$rc" 0
sleep 1
stop_hey

after=$(models)
check "three replicas afterwards" eq "$(wc -l <<<"$after")" 3
check "every replica's container id changed" eq "$(comm -12 <(echo "$before") <(echo "$after") | wc -l)" 0
check "the balancer is the same container" eq "$(balancer)" "$balancer_before"
check "the deployed configuration, not the edited file" eq "$("$MLDEPLOY" exec -r 3 -- printenv VERSION)" 1
check "the replicas carry their plain names" eq \
  "$(engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" |
    jq -r '.[].Names[0]' | sed 's:^/::' | sort | tr '\n' ' ')" "$NAME-echo-1 $NAME-echo-2 $NAME-echo-3 "

read -r total bad < <(hey_counts "$WORK/get.txt")
echo "GET requests: $total, failed or non-2xx: $bad"
check "GET requests were sent" test "$total" -gt 50
check "zero failed GET requests" eq "$bad" 0
read -r total bad < <(hey_counts "$WORK/post.txt")
echo "POST requests: $total, failed or non-2xx: $bad"
check "POST requests were sent" test "$total" -gt 25
check "zero failed POST requests" eq "$bad" 0
[ "$FAILS" -eq 0 ] || { hey_failures "$WORK/get.txt"; hey_failures "$WORK/post.txt"; cat "$WORK/restart.out"; }
finish
