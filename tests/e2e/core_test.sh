#!/usr/bin/env bash
# The core scenario on a real engine: up, requests through the balancer, re-run
# is a no-op, scale 2 -> 4 (all four take traffic) -> 1 under load without a
# failed request, a changed env value rolls the replicas, down twice.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2ecore$$
PORT=$((20000 + $$ % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/stack"
cat >"$WORK/stack/stack.toml" <<TOML
name = "$NAME"

[services.recommender]
build = "$REPO/examples/movie-recommender"
image = "localhost/$NAME/recommender:1"
port = 5000
replicas = 2
env = { LATENCY_MS = "\${LATENCY_MS:-5}" }

[services.recommender.health]
path = "/healthz"
interval = "1s"
retries = 5
start_period = "20s"

[balancer]
port = $PORT
TOML
cd "$WORK/stack"
URL="http://127.0.0.1:$PORT"

out=$("$MLDEPLOY" up 2>&1) || { echo "$out"; fail "up exits 0"; finish; exit 1; }
pass "up exits 0"
check "up prints the endpoint" contains "$out" "http://localhost:$PORT"
check "two replicas and one balancer" eq "$(count_containers io.mldeploy.stack=$NAME)" 3
check "two model containers" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 2
check "one balancer" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=balancer)" 1
check "network labelled" eq "$(count_networks io.mldeploy.stack=$NAME)" 1

body=$(curl -fsS "$URL/recommend/1")
check "recommendation has 10 ids" eq "$(tr ',' '\n' <<<"$body" | grep -c '^[0-9][0-9]*$')" 10
check "unknown user is 404" eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/recommend/99999")" 404

ids_before=$(container_ids io.mldeploy.stack=$NAME)
out=$("$MLDEPLOY" up 2>&1)
check "re-run of up says no changes" contains "$out" "no changes"
check "re-run of up keeps the same containers" eq "$(container_ids io.mldeploy.stack=$NAME)" "$ids_before"

ps_json=$("$MLDEPLOY" ps --format json)
check "ps lists 3 containers" eq "$(jq length <<<"$ps_json")" 3
check "ps shows roles" eq "$(jq -r '[.[].role]|sort|join(",")' <<<"$ps_json")" "balancer,model,model"
check "ps shows both replicas healthy" eq "$(jq -r '[.[]|select(.role=="model")|.health]|join(",")' <<<"$ps_json")" "healthy,healthy"
check "ps table shows both replicas healthy" eq "$("$MLDEPLOY" ps | grep -c ' healthy ')" 2

start_load "$URL/recommend/7" "$WORK/codes-scale"
"$MLDEPLOY" scale --replicas 4 -q || fail "scale 4 exits 0"
check "four replicas after scale 4" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 4
seen=$(for _ in $(seq 1 60); do curl -fsS -D - -o /dev/null "$URL/recommend/3" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-replica"{print $2}'; done | sort -u | wc -l)
check "all four replicas take traffic" eq "$seen" 4
"$MLDEPLOY" scale --replicas 1 -q || fail "scale 1 exits 0"
stop_load
check "one replica after scale 1" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 1
total=$(wc -l <"$WORK/codes-scale")
bad=$(grep -vc '^200$' "$WORK/codes-scale" || true)
echo "requests during scale: $total, failed: $bad"
check "requests were sent during scale" test "$total" -gt 10
check "no failed request during scale 2->4->1" eq "$bad" 0

"$MLDEPLOY" scale --replicas 2 -q
ids_before=$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model)
start_load "$URL/recommend/9" "$WORK/codes-roll"
out=$(LATENCY_MS=1 "$MLDEPLOY" up 2>&1) || { echo "$out"; fail "rolling up exits 0"; }
stop_load
check "rolling update replaced both replicas" eq "$(comm -12 <(echo "$ids_before") <(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model) | wc -l)" 0
check "still two replicas after the roll" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 2
bad=$(grep -vc '^200$' "$WORK/codes-roll" || true)
echo "requests during roll: $(wc -l <"$WORK/codes-roll"), failed: $bad"
check "no failed request during the rolling update" eq "$bad" 0
check "names stay deterministic" eq "$("$MLDEPLOY" ps --format json | jq -r '[.[].name]|sort|join(",")')" "$NAME-balancer,$NAME-recommender-1,$NAME-recommender-2"

"$MLDEPLOY" down -q || fail "down exits 0"
check "no container of the stack remains" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
check "no network of the stack remains" eq "$(count_networks io.mldeploy.stack=$NAME)" 0
# Under set -e a bare command followed by `test $?` can never report a failure: run it inside check.
check "second down exits 0" "$MLDEPLOY" down -q

finish
