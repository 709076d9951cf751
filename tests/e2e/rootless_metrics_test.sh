#!/usr/bin/env bash
# [metrics] on rootless Podman: the controller container runs as the unprivileged
# user made by packaging/setup-rootless.sh, with that user's engine socket mounted.
# Exact counts after a known number of requests, `top --once --format json` reads
# them, the counts are still exact after the controller was killed (restart
# `always` brings it back; it reads the balancer's log again from its start), and
# `down` removes the controller.
#
# Runs as root (it switches to the user with runuser). Never skips.
source "$(dirname "$0")/lib.sh"
NAME=e2erlmetrics$$
source "$(dirname "$0")/rootless_lib.sh"

MPORT=
for p in $(shuf -i 20000-29999 -n 100); do
  [ "$p" = "$PORT" ] && continue
  ss -Htln "sport = :$p" | grep -q . || { MPORT=$p; break; }
done
[ -n "$MPORT" ] || { echo "FAIL: no free port for the metrics endpoint" >&2; exit 1; }

cat >"$UDIR/stack/stack.toml" <<TOML
name = "$NAME"

[services.echo]
build = "echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2

[services.echo.health]
path = "/healthz"
interval = "1s"
retries = 5
start_period = "20s"

[balancer]
port = $PORT
host_ip = "127.0.0.1"

[metrics]
port = $MPORT
TOML
chown -R "$RUSER:" "$UDIR"
URL="http://127.0.0.1:$PORT"
METRICS="http://127.0.0.1:$MPORT/metrics"
echo "user $RUSER, stack $NAME, balancer on 127.0.0.1:$PORT, metrics on 127.0.0.1:$MPORT"

out=$(M up 2>&1) || { echo "$out"; fail "up with [metrics] as $RUSER exits 0"; finish; exit 1; }
pass "up with [metrics] as $RUSER exits 0"
check "a controller runs on the user's engine" \
  eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=controller)" 1

# total_200: the sum of the 200 counters over both replicas (0 when the endpoint is not up yet)
total_200() {
  curl -fsS --max-time 5 "$METRICS" 2>/dev/null |
    awk '/^mldeploy_requests_total\{/ && /code="200"/ {s += $2} END {print s + 0}'
}
# wait_total N: until the counters say N (the balancer flushes its log every second)
wait_total() {
  local want=$1 got
  for _ in $(seq 1 60); do
    got=$(total_200)
    [ "$got" = "$want" ] && { echo "$got"; return 0; }
    sleep 1
  done
  echo "$got"
}

hey -n 300 -c 5 "$URL/predict?msg=hi" >"$WORK/hey.txt" 2>&1
check "hey got 300 answers 200" contains "$(cat "$WORK/hey.txt")" "\[200\]	300 responses"
check "300 requests sent, 300 counted" eq "$(wait_total 300)" 300

json=$(M top --once --format json 2>&1)
check "top --once --format json lists both replicas" eq "$(jq '.replicas | length' <<<"$json" 2>&1)" 2

# The controller crashes (kill -9 of its process from the host: a kill through the
# engine's API counts as stopped by the user, which no restart policy undoes):
# restart `always` brings it back, and it counts from the log's start.
cid=$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=controller)
pid=$(engine_get "/containers/$cid/json" | jq -r '.State.Pid')
check "the controller has a process" test "${pid:-0}" -gt 0
kill -9 "$pid" || fail "kill -9 the controller's process $pid"
hey -n 100 -c 5 "$URL/predict?msg=hi" >"$WORK/hey2.txt" 2>&1
check "after the controller was killed: 400 sent, 400 counted" eq "$(wait_total 400)" 400

M down -q || fail "down exits 0"
check "no container of the stack remains (controller included)" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
finish
