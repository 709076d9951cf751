#!/usr/bin/env bash
# `logs -f` follows replicas that start after it did (here: a scale up), each
# line prefixed with its container's name, and ends by itself once the stack is
# gone. `logs --timestamps` starts each line with the engine's time of it;
# `logs --since` leaves out what came before.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=tslogs$$
PORT=18251
LOGS_PID=""
trap '[ -z "$LOGS_PID" ] || kill "$LOGS_PID" 2>/dev/null; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 1
[services.echo.health]
path = "/healthz"
interval = "500ms"
start_period = "10s"
[balancer]
port = $PORT
TOML
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

# Waits (bounded, not timed) until FILE has a line matching the pattern.
wait_for_line() {  # wait_for_line FILE PATTERN
  for _ in $(seq 1 300); do grep -qE -- "$2" "$1" && return 0; sleep 0.2; done
  echo "  no line matching '$2' in $1:" >&2; sed 's/^/    /' "$1" >&2; return 1
}

"$MLDEPLOY" logs -f >follow.txt 2>&1 & LOGS_PID=$!
check "logs -f shows the first replica" wait_for_line follow.txt "^$NAME-echo-1 \\| echo\\[.*\\]: listening on"
"$MLDEPLOY" scale --replicas 2 -q >/dev/null || fail "scale to 2"
check "logs -f shows the replica that scale started" \
  wait_for_line follow.txt "^$NAME-echo-2 \\| echo\\[.*\\]: listening on"
"$MLDEPLOY" down -q >/dev/null || fail "down"
ended=no
for _ in $(seq 1 300); do kill -0 "$LOGS_PID" 2>/dev/null || { ended=yes; break; }; sleep 0.2; done
check "logs -f ends by itself once the stack is gone" eq "$ended" yes
rc=0; [ "$ended" = no ] || wait "$LOGS_PID" || rc=$?
LOGS_PID=""
check "logs -f exits 0 when the stack goes" eq "$rc" 0
check "every line of logs -f has a container's name" eq "$(grep -cvE "^$NAME-(echo-[12]|balancer) +\\| " follow.txt)" 0

"$MLDEPLOY" up -q >/dev/null || { fail "up again"; finish; exit 1; }
out=$("$MLDEPLOY" logs --timestamps 2>&1)
check "--timestamps starts each line with a time" \
  contains "$out" "^$NAME-echo-1 | [0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:.]*\(Z\|[+-][0-9:]*\) echo\["
out=$("$MLDEPLOY" logs --since 1h 2>&1)
check "--since 1h shows the replica's start" contains "$out" "listening on"
out=$("$MLDEPLOY" logs --since "$(( $(date +%s) + 3600 ))" 2>&1)
check "--since a time to come shows nothing" eq "$out" ""
rc=0; out=$("$MLDEPLOY" logs --since yesterday 2>&1) || rc=$?
check "--since that is not a time exits 2" eq "$rc" 2
check "--since that is not a time says what is" contains "$out" "give a duration"
finish
