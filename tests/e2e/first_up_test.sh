#!/usr/bin/env bash
# A client that polls a fresh stack while `up` runs, with replicas that take 2 s
# before they listen. Before `up` returns it may be refused or get 503; from the
# moment `up` returns every request answers 200. By default the balancer starts
# once the replicas are healthy; with MLDEPLOY_PROBE=balancer (ctest's
# *_probe_via_balancer, the rootless route) it starts first, answers 503, and a
# reload adds the replicas: its old workers must have stopped accepting before
# `up` returns. (A replica listed before it listens would be marked failed by a
# refused request and skipped for nginx's fail_timeout, past the end of `up`.)
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2efirst$$
PORT=$((20000 + ($$ + 11) % 10000))
POLLER=
trap '[ -n "$POLLER" ] && kill "$POLLER" 2>/dev/null; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
command = ["sh", "-c", "sleep 2; exec python3 server.py"]
[services.echo.health]
path = "/healthz"
start_period = "30s"
[balancer]
host_ip = "127.0.0.1"
port = $PORT
TOML
# Build first, so that the poller runs while replicas start rather than during a build.
"$MLDEPLOY" -q build -f "$WORK/stack.toml" >/dev/null

# One request every 20 ms, each on a new connection: "<time> <status>" a line.
(while [ ! -f "$WORK/stop" ]; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/predict?msg=hi" || true)
  echo "$EPOCHREALTIME $code"
  sleep 0.02
done >"$WORK/codes") &
POLLER=$!
rc=0; "$MLDEPLOY" -q up -f "$WORK/stack.toml" >/dev/null || rc=$?
up_returned=$EPOCHREALTIME
# And a burst on new connections right away: a worker of the balancer's first
# configuration that still accepts would answer 503.
burst=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "http://127.0.0.1:$PORT/predict?msg=hi"; done)
sleep 2
touch "$WORK/stop"; wait "$POLLER" || true; POLLER=

check "up exits 0" eq "$rc" 0
# A request that began after up returned.
after=$(awk -v t="$up_returned" '$1 > t' "$WORK/codes")
before=$(awk -v t="$up_returned" '$1 <= t' "$WORK/codes")
echo "  before up returned: $(awk '{print $2}' <<<"$before" | sort | uniq -c | tr -s ' \n' ' ')"
echo "  after up returned:  $(awk '{print $2}' <<<"$after" | sort | uniq -c | tr -s ' \n' ' ')"
check "requests were sent after up returned" test "$(wc -l <<<"$after")" -ge 20
check "every request after up returned answered 200" eq "$(awk '$2 != 200' <<<"$after" | wc -l)" 0
check "a burst of 20 right after up returned: all 200" eq "$(grep -c '^200$' <<<"$burst")" 20
check "the poller reached the stack before it was ready" test "$(awk '$2 != 200' <<<"$before" | wc -l)" -ge 1

"$MLDEPLOY" -q down -f "$WORK/stack.toml" >/dev/null
check "down leaves no container" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
finish
