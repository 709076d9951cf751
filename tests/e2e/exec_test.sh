#!/usr/bin/env bash
# `mldeploy exec [SERVICE] [-r N] -- CMD`: output passed on as it is written,
# the command's own exit status, -r reaching another replica, the engine's
# 126/127 for a command that cannot run, and exit 2 (nothing run) for a
# service, replica or stack that is not there.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=${E2E_STACK_PREFIX:-e2e}exec$$
PORT=$((19100 + $$ % 50))
trap 'stop_hey; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cp -r "$REPO/examples/echo" "$WORK/echo"
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "./echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
env = { GREETING = "hello from echo" }
[services.echo.health]
path = "/healthz"
start_period = "20s"
[balancer]
port = $PORT
TOML
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

hostname_of() { engine_get "/containers/$1/json" | jq -r .Config.Hostname; }

# Every exec below runs while a client keeps the stack busy: none of its requests may fail.
start_hey "$WORK/load.txt" -c 4 -q 20 "http://127.0.0.1:$PORT/predict?msg=during-exec"

# Output and exit status; SERVICE left out (the stack's one service), then named.
check "stdout of the command" eq "$("$MLDEPLOY" exec -- printenv GREETING)" "hello from echo"
check "SERVICE named" eq "$("$MLDEPLOY" exec echo -- printenv GREETING)" "hello from echo"
rc=0; "$MLDEPLOY" exec -- sh -c 'exit 3' || rc=$?
check "exit status of the command: 3" eq "$rc" 3
out=$("$MLDEPLOY" exec -- sh -c 'echo to-out; echo to-err >&2' 2>"$WORK/err")
check "stdout stays stdout" eq "$out" to-out
check "stderr stays stderr" eq "$(cat "$WORK/err")" to-err
check "the words after -- are the command's, options included" eq "$("$MLDEPLOY" exec -- echo -r 2 --help -s x)" "-r 2 --help -s x"
check "bytes pass unchanged (no newline added)" eq "$("$MLDEPLOY" exec -- printf 'a\tb' | od -An -c | tr -s ' ')" " a \t b"

# -r picks the replica: each answers with its own container's hostname.
check "default replica is 1" eq "$("$MLDEPLOY" exec -- cat /etc/hostname)" "$(hostname_of "$NAME-echo-1")"
check "-r 2 reaches the second replica" eq "$("$MLDEPLOY" exec -r 2 -- cat /etc/hostname)" "$(hostname_of "$NAME-echo-2")"
check "-s NAME from another folder" eq "$(cd / && "$MLDEPLOY" -s "$NAME" exec echo --replica 2 -- cat /etc/hostname)" \
  "$(hostname_of "$NAME-echo-2")"

# Streamed: the first lines (and a line without its newline) arrive while the command still runs.
"$MLDEPLOY" exec -- sh -c 'echo first; echo err-first >&2; printf partial; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo; echo last' \
  >"$WORK/stream.out" 2>"$WORK/stream.err" &
pid=$!
for _ in $(seq 1 300); do
  grep -q partial "$WORK/stream.out" && grep -q err-first "$WORK/stream.err" && break
  sleep 0.1
done
check "stdout arrives while the command runs (also a partial line)" eq "$(cat "$WORK/stream.out")" $'first\npartial'
check "stderr arrives while the command runs" eq "$(cat "$WORK/stream.err")" err-first
check "the command was still running then" kill -0 "$pid"
"$MLDEPLOY" exec -- touch /tmp/go
rc=0; wait "$pid" || rc=$?
check "the streamed command ends with status 0" eq "$rc" 0
check "the rest follows" eq "$(cat "$WORK/stream.out")" $'first\npartial\nlast'

# A command that cannot run: the engine's words, and 126 or 127 as docker/podman exec give.
rc=0; out=$("$MLDEPLOY" exec -- no-such-command-here 2>&1) || rc=$?
check "a missing command: 126 or 127" grep -qE '^12[67]$' <<<"$rc"
check "a missing command: the engine's words" contains "$out" "no-such-command-here"

# Wrong names: exit 2, nothing run.
rc=0; out=$("$MLDEPLOY" exec ecoh -- true 2>&1) || rc=$?
check "unknown service: exit 2" eq "$rc" 2
check "unknown service: did you mean" contains "$out" "has no service 'ecoh'; did you mean 'echo'?"
rc=0; out=$("$MLDEPLOY" exec -r 5 -- true 2>&1) || rc=$?
check "replica out of range: exit 2" eq "$rc" 2
check "replica out of range: says which exist" contains "$out" "has no replica 5; its replicas are 1, 2"
rc=0; out=$("$MLDEPLOY" exec echo 2>&1) || rc=$?
check "no command: exit 2" eq "$rc" 2
check "no command: says where it goes" contains "$out" "after \`--\`"
rc=0; out=$(cd / && "$MLDEPLOY" -s "${NAME}x" exec -- true 2>&1) || rc=$?
check "a stack not deployed: exit 2" eq "$rc" 2
check "a stack not deployed: as ps -s says it" contains "$out" "stack '${NAME}x' is not deployed on"

stop_hey
read -r total bad < <(hey_counts "$WORK/load.txt")
echo "requests during the execs: $total, failed or non-2xx: $bad"
check "requests were sent while exec ran" test "$total" -gt 0
check "zero failed requests while exec ran" eq "$bad" 0
[ "$bad" -eq 0 ] || hey_failures "$WORK/load.txt"
finish
