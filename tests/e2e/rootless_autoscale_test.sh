#!/usr/bin/env bash
# Autoscaling on rootless Podman: the controller scales as the unprivileged user
# made by packaging/setup-rootless.sh (that user's engine socket mounted), up
# under a load ramp and back to min after it, with no failed request, after the
# session that ran `up` was killed; `ps` shows the last decision; `down` removes
# the controller. Runs as root (it switches to the user with runuser). Never skips.
source "$(dirname "$0")/lib.sh"
NAME=as-rootless-autoscale
source "$(dirname "$0")/rootless_lib.sh"
PORT=19720
trap 'curl -fsS -X DELETE --unix-socket "$SOCK" "http://d$API/images/localhost%2F$NAME%2Fversioned:1?force=true" >/dev/null 2>&1 || true; cleanup' EXIT
M down -s "$NAME" -q >/dev/null 2>&1 || true

cp -r "$REPO/tests/e2e/models/versioned" "$UDIR/stack/versioned"
cat >"$UDIR/stack/stack.toml" <<TOML
name = "$NAME"
[services.m]
build = "versioned"
image = "localhost/$NAME/versioned:1"
port = 8000
env = { VERSION = "1" }
drain = "10s"
[services.m.health]
path = "/healthz"
interval = "500ms"
start_period = "20s"
[services.m.autoscale]
min = 1
max = 3
target_inflight = 2
scale_up_delay = "2s"
scale_down_delay = "6s"
[balancer]
port = $PORT
host_ip = "127.0.0.1"
TOML
chown -R "$RUSER:" "$UDIR"

# `up` in a session of its own, killed whole once it returned.
# The session's id is written from inside it ($! here is the runuser wrapper's, in ours).
as_user setsid bash -c "ps -o sid= -p \$\$ >up.sid; '$UBIN' up -q >up.out 2>&1; echo \$? >up.rc" </dev/null &
for _ in $(seq 1 900); do [ -s "$UDIR/stack/up.rc" ] && break; sleep 0.2; done
SID=$(tr -d ' ' <"$UDIR/stack/up.sid" 2>/dev/null || true)
[ -z "$SID" ] || [ "$SID" = "$(ps -o sid= -p $$ | tr -d ' ')" ] || pkill -KILL -s "$SID" 2>/dev/null || true
check "up as $RUSER (in its own session) succeeded" eq "$(cat "$UDIR/stack/up.rc" 2>/dev/null)" 0
[ "$(cat "$UDIR/stack/up.rc" 2>/dev/null)" = 0 ] || { cat "$UDIR/stack/up.out" >&2; finish; exit 1; }

replicas() { engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" | jq length; }
check "one replica, and a controller" eq "$(replicas) $(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=controller)" "1 1"

URL="http://127.0.0.1:$PORT/predict?ms=200"
hey -z 40s -c 10 -t 60 "$URL" >"$WORK/hey-up.txt" 2>&1 &
HEY=$!
most=1
while kill -0 "$HEY" 2>/dev/null; do
  n=$(replicas); [ "$n" -gt "$most" ] && most=$n
  sleep 1
done
wait "$HEY" || true
check "under the ramp it grew to max (3)" eq "$most" 3
check "no request failed while it grew" eq "$(hey_counts "$WORK/hey-up.txt" | cut -d' ' -f2)" 0

back=no
for _ in $(seq 1 90); do [ "$(replicas)" = 1 ] && { back=yes; break; }; sleep 1; done
check "after the load it shrank back to min (1)" eq "$back" yes
for _ in $(seq 1 30); do
  ps_out=$(M ps --no-probe -s "$NAME" 2>&1)
  grep -q -- "-> 1$" <<<"$ps_out" && break
  sleep 1
done
echo "$ps_out" | sed -n '/^AUTOSCALE/,$p' | sed 's/^/  ps: /'
check "ps shows the last decision, the scale-down to 1" contains "$ps_out" "last: .*< target 2 for 6s: [0-9] -> 1$"

M down -q || fail "down exits 0"
check "no container of the stack remains (controller included)" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
finish
