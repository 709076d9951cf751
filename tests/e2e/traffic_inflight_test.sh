#!/usr/bin/env bash
# max_inflight (issue 13): past it on every replica the balancer answers 503 with
# Retry-After at once, and no replica ever holds more than max_inflight requests;
# a replica that fails is still retried on another one, never turned into that 503.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=trinfl$$
PORT=$((22050 + $$ % 50))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.slow]
build = "$REPO/tests/e2e/models/versioned"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = 2
max_inflight = 2
env = { VERSION = "1" }
[services.slow.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $PORT
TOML
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

# 1. 12 clients at once on 2 replicas x 2: 4 are served, 8 refused with 503 + Retry-After.
for i in $(seq 1 12); do
  curl -s -D "$WORK/h$i" -o "$WORK/b$i" -w '%{http_code}\n' --max-time 30 \
    "http://127.0.0.1:$PORT/predict?ms=3000" >"$WORK/c$i" &
done
wait
ok=$(cat "$WORK"/c* | grep -c '^200$' || true)
busy=$(cat "$WORK"/c* | grep -c '^503$' || true)
echo "  12 concurrent: $ok served, $busy refused"
check "4 served (2 replicas x max_inflight 2)" eq "$ok" 4
check "8 refused with 503" eq "$busy" 8
check "every 503 says Retry-After" eq "$(grep -il '^retry-after: 1' "$WORK"/h* | wc -l)" 8
check "the 503 names max_inflight" contains "$(cat "$WORK"/b*)" "max_inflight"
most=$(cat "$WORK"/b* | jq -r 'select(.inflight != null) | .inflight' | sort -n | tail -1)
check "no replica held more than 2 requests" test "${most:-9}" -le 2

# 2. A replica that fails: requests are retried on the other one (200), never the busy 503.
id=$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.replica=2)" | jq -r '.[0].Id')
curl -fsS -X POST --unix-socket "$SOCK" "http://d$API/containers/$id/kill?signal=KILL" >/dev/null || fail "kill replica 2"
codes=$(for i in $(seq 1 20); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "http://127.0.0.1:$PORT/predict"; done | sort | uniq -c | tr -s ' ')
echo "  after a replica died: $codes"
check "20 requests after a replica died: all 200" eq "$(echo $codes)" "20 200"
finish
