#!/usr/bin/env bash
# Long, streamed requests (a generation) survive what changes the stack under
# them: a rolling update, a scale-in and `down` each wait until the requests in
# flight on a leaving replica have ended (the drain, bounded by the service's
# `drain`, else the balancer's timeout) before the replica is stopped. The model
# here exits at once on SIGTERM (SHUTDOWN_TIMEOUT=0), as many servers do: any
# request still on it when it is stopped would be cut.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2elong$$
PORT=$((20000 + ($$ + 7) % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

write_stack() {  # write_stack VERSION REPLICAS
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.gen]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = $2
env = { SHUTDOWN_TIMEOUT = "0", VERSION = "$1" }
[services.gen.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $PORT
timeout = "120s"
TOML
}
cd "$WORK"
# Requests of TOKENS tokens, one a second: each is one streamed answer.
TOKENS=12
start_generations() {  # start_generations COUNT TAG
  local i
  for i in $(seq 1 "$1"); do
    curl -sS -N --max-time 100 -o "$WORK/gen-$2-$i.out" -w '%{http_code}\n' \
      "http://127.0.0.1:$PORT/stream?n=$TOKENS&delay_ms=1000" >"$WORK/gen-$2-$i.code" 2>&1 &
  done
}
# Every generation answered 200 with all its tokens.
generations_complete() {  # generations_complete COUNT TAG
  local i ok=0
  wait
  for i in $(seq 1 "$1"); do
    if [ "$(cat "$WORK/gen-$2-$i.code")" = 200 ] && [ "$(grep -c '^data: token-' "$WORK/gen-$2-$i.out")" = "$TOKENS" ]; then
      ok=$((ok + 1))
    else
      echo "  generation $i: status $(cat "$WORK/gen-$2-$i.code"), $(grep -c '^data: token-' "$WORK/gen-$2-$i.out" || true) tokens" >&2
    fi
  done
  eq "$ok" "$1"
}

write_stack 1 2
"$MLDEPLOY" up -q >/dev/null || { fail "first up"; finish; exit 1; }

# 1. A rolling update (a changed env value) while six generations run.
start_generations 6 roll
sleep 1.5
write_stack 2 2
out=$("$MLDEPLOY" up 2>&1) || fail "rolling up: $out"
check "up says it drains the leaving replica" contains "$out" "draining"
check "6 generations through a rolling update: all complete" generations_complete 6 roll

# 2. Scale 2 -> 1 while four generations run.
start_generations 4 scale
sleep 1.5
"$MLDEPLOY" scale --replicas 1 -q >/dev/null || fail "scale in"
check "4 generations through a scale-in: all complete" generations_complete 4 scale
check "one replica left" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 1

# 3. `down` while two generations run: the balancer stops accepting, finishes them, then everything goes.
start_generations 2 down
sleep 1.5
"$MLDEPLOY" down -q >/dev/null || fail "down"
check "2 generations through down: all complete" generations_complete 2 down
check "down left nothing" eq "$(count_containers io.mldeploy.stack=$NAME)" 0

# 4. The drain budget is a stack key: a 2 s `drain` cuts a 12 s generation, and says so.
write_stack 3 2
sed -i 's/^replicas = 2$/replicas = 2\ndrain = "2s"/' "$WORK/stack.toml"
"$MLDEPLOY" up -q >/dev/null || fail "up with drain = 2s"
start_generations 2 budget
sleep 1.5
write_stack 4 2
sed -i 's/^replicas = 2$/replicas = 2\ndrain = "2s"/' "$WORK/stack.toml"
out=$("$MLDEPLOY" up 2>&1) || fail "rolling up with drain = 2s: $out"
wait
check "the spent budget is reported" contains "$out" "drain budget of 2s spent"
finish
