#!/usr/bin/env bash
# The core scenario as an unprivileged user on rootless Podman: the user made by
# packaging/setup-rootless.sh (mldeploy-rootless) runs mldeploy, which finds the
# user's socket $XDG_RUNTIME_DIR/podman/podman.sock by itself. up, requests
# through the balancer (on a loopback port), scale 2 -> 4 (all four take
# traffic) -> 1 under load without a failed request, a re-run of up is a no-op,
# a changed env value rolls the replicas without a failed request, ps shows the
# replicas healthy, down leaves nothing on the user's engine.
#
# Runs as root (it switches to the user with runuser) and asks the user's engine
# directly, through its socket, what exists. Never skips: no user, or no rootless
# engine answering, is a failure.
#
# MLDEPLOY_ROOTLESS_NO_HEALTH=1 leaves the health table out of the stack (a
# diagnostic, not what CI runs): then mldeploy waits for "running" only and never
# probes a replica's address.
#
# Two traps seen here before mldeploy probed rootless replicas from inside the
# balancer (a probe from the host cannot reach a rootless network's addresses):
#   - on these machines a connection to an unrouted address is answered by the
#     sandbox's outbound HTTP proxy (`server: keryx`), not by the replica;
#   - rootless Podman picks its network's subnet (10.89.N.0/24) knowing only the
#     host's routes at that moment; when rootful Podman later makes a network with
#     the same subnet, a probe from the host reaches ROOT's container at that
#     address, and can even answer 200 (a false "healthy").
source "$(dirname "$0")/lib.sh"
NAME=e2erootless$$
source "$(dirname "$0")/rootless_lib.sh"
ROOT_SOCK=/run/podman/podman.sock
health=1
[ "${MLDEPLOY_ROOTLESS_NO_HEALTH:-0}" = 1 ] && health=0

{
  cat <<TOML
name = "$NAME"

[services.echo]
build = "echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
env = { ROLL_MARK = "\${ROLL_MARK:-1}" }
TOML
  if [ "$health" = 1 ]; then
    cat <<TOML

[services.echo.health]
path = "/healthz"
interval = "1s"
retries = 5
start_period = "20s"
TOML
  fi
  cat <<TOML

[balancer]
port = $PORT
host_ip = "127.0.0.1"
TOML
} >"$UDIR/stack/stack.toml"
chown -R "$RUSER:" "$UDIR"

URL="http://127.0.0.1:$PORT"
ANSWER='{"response": "hi", "success": true}'
echo "user $RUSER (uid $RUID), stack $NAME, balancer on 127.0.0.1:$PORT, health table: $health"

out=$(M version 2>&1)
check "mldeploy as $RUSER finds the rootless socket by itself" contains "$out" "unix://$SOCK"
check "it is Podman" contains "$out" "podman"

# A privileged balancer port cannot be published by a rootless engine: refused
# before anything is made, with what to do instead.
sed "s/^port = $PORT\$/port = 80/" "$UDIR/stack/stack.toml" >"$UDIR/stack/low-port.toml"
chown "$RUSER:" "$UDIR/stack/low-port.toml"
if out=$(M up low-port.toml 2>&1); then fail "up with balancer port 80 exits non-zero"; else pass "up with balancer port 80 exits non-zero"; fi
check "it says the rootless engine cannot publish port 80" contains "$out" "rootless and cannot publish the balancer's port 80"
check "nothing of the stack was created" eq "$(count_containers io.mldeploy.stack=$NAME)/$(count_networks io.mldeploy.stack=$NAME)" "0/0"

started=$SECONDS
out=$(M up 2>&1) || { echo "$out"; fail "up as $RUSER exits 0"; finish; exit 1; }
pass "up as $RUSER exits 0 ($((SECONDS - started))s)"
check "up prints the endpoint" contains "$out" ":$PORT"
check "two replicas and one balancer on the user's engine" eq "$(count_containers io.mldeploy.stack=$NAME)" 3
check "two model containers" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 2
check "one balancer" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=balancer)" 1
check "network labelled" eq "$(count_networks io.mldeploy.stack=$NAME)" 1
if curl -fsS --max-time 2 --unix-socket "$ROOT_SOCK" http://d/_ping >/dev/null 2>&1; then
  check "nothing of the stack on root's engine" \
    eq "$(SOCK=$ROOT_SOCK count_containers io.mldeploy.stack=$NAME)" 0
fi

check "a request through the balancer answers" eq "$(curl -sS --max-time 10 "$URL/predict?msg=hi")" "$ANSWER"
codes=$(for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$URL/predict?msg=hi"; done | sort | uniq -c | xargs)
check "20 requests through the balancer answer 200" eq "$codes" "20 200"

ids_before=$(container_ids io.mldeploy.stack=$NAME)
out=$(M up 2>&1) || { echo "$out"; fail "re-run of up exits 0"; }
check "re-run of up says no changes" contains "$out" "no changes"
check "re-run of up keeps the same containers" eq "$(container_ids io.mldeploy.stack=$NAME)" "$ids_before"

# "healthy" with a health table (probed now), "running" without one.
want_health=healthy; [ "$health" = 1 ] || want_health=running
ps_json=$(M ps --format json)
check "ps lists 3 containers" eq "$(jq length <<<"$ps_json")" 3
check "ps shows roles" eq "$(jq -r '[.[].role]|sort|join(",")' <<<"$ps_json")" "balancer,model,model"
check "ps shows both replicas $want_health" eq "$(jq -r '[.[]|select(.role=="model")|.health]|join(",")' <<<"$ps_json")" "$want_health,$want_health"

start_load "$URL/predict?msg=hi" "$WORK/codes-scale"
M scale --replicas 4 -q || fail "scale 4 exits 0"
check "four replicas after scale 4" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 4
seen=$(for _ in $(seq 1 60); do curl -fsS -D - -o /dev/null "$URL/predict?msg=hi" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-replica"{print $2}'; done | sort -u | wc -l)
check "all four replicas take traffic" eq "$seen" 4
M scale --replicas 1 -q || fail "scale 1 exits 0"
stop_load
check "one replica after scale 1" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 1
total=$(wc -l <"$WORK/codes-scale")
bad=$(grep -vc '^200$' "$WORK/codes-scale" || true)
echo "requests during scale: $total, failed: $bad"
check "requests were sent during scale" test "$total" -gt 10
check "no failed request during scale 2->4->1" eq "$bad" 0

M scale --replicas 2 -q || fail "scale 2 exits 0"
ids_before=$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model)
start_load "$URL/predict?msg=hi" "$WORK/codes-roll"
out=$(as_user ROLL_MARK=2 "$UBIN" up 2>&1) || { echo "$out"; fail "rolling up exits 0"; }
stop_load
check "rolling update replaced both replicas" eq "$(comm -12 <(echo "$ids_before") <(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model) | wc -l)" 0
check "still two replicas after the roll" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 2
total=$(wc -l <"$WORK/codes-roll")
bad=$(grep -vc '^200$' "$WORK/codes-roll" || true)
echo "requests during roll: $total, failed: $bad"
check "requests were sent during the roll" test "$total" -gt 10
check "no failed request during the rolling update" eq "$bad" 0
ps_json=$(M ps --format json)
check "names stay deterministic" eq "$(jq -r '[.[].name]|sort|join(",")' <<<"$ps_json")" "$NAME-balancer,$NAME-echo-1,$NAME-echo-2"
check "ps shows the new replicas $want_health" eq "$(jq -r '[.[]|select(.role=="model")|.health]|join(",")' <<<"$ps_json")" "$want_health,$want_health"

M down -q || fail "down exits 0"
check "no container of the stack remains on the user's engine" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
check "no network of the stack remains on the user's engine" eq "$(count_networks io.mldeploy.stack=$NAME)" 0
if M down -q; then pass "second down exits 0"; else fail "second down exits 0"; fi

finish
