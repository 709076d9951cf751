#!/usr/bin/env bash
# Autoscaling (issue 14): a service with [services.X.autoscale] grows under a
# load ramp and shrinks back to min after it, with no failed request, after the
# session that ran `up` was killed (the controller container scales, not `up`);
# `ps` shows the autoscaler's state and its last decision with the reason, and
# `down` removes the controller. The replica count is polled, never timed.
source "$(dirname "$0")/lib.sh"
require_engine

if [[ $API == */libpod ]]; then ENGINE=podman; PORT=19700; else ENGINE=docker; PORT=19710; fi
NAME=as-$ENGINE-autoscale
trap 'stop_hey; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cleanup_stack "$NAME"

# No [metrics]: autoscaling alone makes the controller, which publishes no port.
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.m]
build = "$REPO/tests/e2e/models/versioned"
image = "localhost/$NAME/versioned:1"
port = 8000
env = { VERSION = "1" }
drain = "10s"
[services.m.health]
path = "/healthz"
interval = "500ms"
[services.m.autoscale]
min = 1
max = 4
target_inflight = 2
scale_up_delay = "2s"
scale_down_delay = "6s"
[balancer]
port = $PORT
TOML
cd "$WORK"

# `up` in a session of its own, which is then killed whole: scaling must not need it.
setsid bash -c "'$MLDEPLOY' up -q >up.out 2>&1; echo \$? >up.rc" </dev/null &
for _ in $(seq 1 900); do [ -s up.rc ] && break; sleep 0.2; done
SID=$(ps -o sid= -p $! 2>/dev/null | tr -d ' ' || true)
[ -z "$SID" ] || pkill -KILL -s "$SID" 2>/dev/null || true
check "up (in its own session) succeeded" eq "$(cat up.rc 2>/dev/null)" 0
[ "$(cat up.rc 2>/dev/null)" = 0 ] || { cat up.out >&2; finish; exit 1; }

replicas() { engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" | jq length; }
controller() { engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=controller)"; }
check "a first up starts min (1) replicas" eq "$(replicas)" 1
check "the controller runs without [metrics]" eq "$(controller | jq length)" 1
check "and publishes no port" eq "$(controller | jq '[.[0].Ports[]? | select((.PublicPort // .host_port // 0) > 0)] | length')" 0
rc=0; top_out=$("$MLDEPLOY" top --once 2>&1) || rc=$?
check "top says a [metrics] table publishes the figures (exit 1)" eq "$rc" 1
check "top names what to add" contains "$top_out" "autoscales, but its figures are published only with a \[metrics\] table"

# The ramp: 10 clients on requests of 200 ms, ~10 in flight = 5 replicas at a
# target of 2, so it grows to max (4). Poll the count while hey runs.
URL="http://127.0.0.1:$PORT/predict?ms=200"
hey -z 45s -c 10 -t 60 "$URL" >hey-up.txt 2>&1 &
HEY=$!
most=1; seen=""
while kill -0 "$HEY" 2>/dev/null; do
  n=$(replicas); [ "$n" -gt "$most" ] && most=$n
  [ "${seen##* }" = "$n" ] || seen="$seen $n"
  sleep 1
done
wait "$HEY" || true
echo "  replica counts seen under load:$seen"
check "under the ramp the service grew to max (4)" eq "$most" 4
check "no request failed while it grew" eq "$(hey_counts hey-up.txt | cut -d' ' -f2)" 0
[ "$(hey_counts hey-up.txt | cut -d' ' -f2)" = 0 ] || hey_failures hey-up.txt

ps_out=$("$MLDEPLOY" ps --no-probe -s "$NAME" 2>&1)
echo "$ps_out" | sed -n '/^AUTOSCALE/,$p' | sed 's/^/  ps: /'
check "ps shows the autoscaler" contains "$ps_out" "^AUTOSCALE"
check "with its bounds and target" contains "$ps_out" "^m: min 1, max 4, target 2/replica"
check "and the last decision's reason (a scale-up)" contains "$ps_out" "last: .*in flight .* > target 2 for 2s: [0-9] -> [0-9]"

# After the ramp, a light load (~2 in flight: 1 replica) runs on while the
# replicas drain away: none of its requests may fail.
hey -z 60s -c 2 -t 60 "$URL" >hey-down.txt 2>&1 &
HEY=$!
back=no
for _ in $(seq 1 90); do
  [ "$(replicas)" = 1 ] && { back=yes; break; }
  sleep 1
done
check "after the load it shrank back to min (1)" eq "$back" yes
kill -INT "$HEY" 2>/dev/null || true
wait "$HEY" || true
check "no request failed while it shrank" eq "$(hey_counts hey-down.txt | cut -d' ' -f2)" 0
[ "$(hey_counts hey-down.txt | cut -d' ' -f2)" = 0 ] || hey_failures hey-down.txt

# The decision is logged once the leaving replicas are gone: poll for it.
for _ in $(seq 1 30); do
  json=$("$MLDEPLOY" ps --no-probe -s "$NAME" --format json 2>&1)
  decision=$(jq -r '.[] | select(.role == "controller") | .autoscale.m.last_decision.reason' <<<"$json" 2>&1)
  [[ $decision == *"-> 1" ]] && break
  sleep 1
done
echo "  last decision: $decision"
check "ps --format json: the last decision is the scale-down to 1" contains "$decision" "< target 2 for 6s: [0-9] -> 1$"
check "and its state" contains "$(jq -r '.[] | select(.role == "controller") | .autoscale.m.state' <<<"$json")" "target\|steady"

"$MLDEPLOY" down -s "$NAME" -q >/dev/null 2>&1 || fail "down"
check "down removes everything, the controller too" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
finish
