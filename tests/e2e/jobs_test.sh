#!/usr/bin/env bash
# `mldeploy run JOB`: a job built like a service writes into a bind-mounted
# artifacts folder and reaches a service of the stack by name; its output is
# streamed; its exit status is mldeploy's; past its timeout it is stopped (124);
# `ps` shows the last finished run of each job; `down` leaves no job container.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=tsjobs$$
PORT=19301
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/check" "$WORK/artifacts"
cat >"$WORK/check/Containerfile" <<'EOF2'
FROM localhost/mldeploy/python:3.11
COPY check.py /check.py
CMD ["python3", "/check.py"]
EOF2
# Writes an artifact, then asks the echo service by its name on the stack's network.
cat >"$WORK/check/check.py" <<'EOF2'
import os, sys, urllib.request
with open("/out/model.txt", "w") as f:
    f.write("trained " + os.environ["EPOCHS"] + "\n")
print("wrote /out/model.txt", flush=True)
print("to stderr", file=sys.stderr, flush=True)
body = urllib.request.urlopen("http://echo:8000/healthz", timeout=10).read().decode()
print("echo says " + body, flush=True)
EOF2
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
[balancer]
port = $PORT
[jobs.check]
build = "./check"
env = { EPOCHS = "3" }
volumes = ["./artifacts:/out"]
[jobs.sleepy]
image = "localhost/mldeploy/python:3.11"
command = ["python3", "-c", "import time; time.sleep(300)"]
timeout = "2s"
TOML
cd "$WORK"
chmod 777 artifacts  # the job may run as another user than this one
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

rc=0; "$MLDEPLOY" run check -q >out.txt 2>err.txt || rc=$?
check "run check exits 0" eq "$rc" 0
check "the job wrote its artifact into the bind-mounted folder" eq "$(cat artifacts/model.txt 2>/dev/null)" "trained 3"
check "its stdout is streamed to stdout" contains "$(cat out.txt)" "wrote /out/model.txt"
check "its stderr to stderr" contains "$(cat err.txt)" "to stderr"
check "the job reached the service by name on the stack's network" contains "$(cat out.txt)" "echo says ok"
check "the job's container is labelled role=job" \
  eq "$(count_containers "io.mldeploy.stack=$NAME" io.mldeploy.role=job io.mldeploy.job=check)" 1

rc=0; "$MLDEPLOY" run check >out.txt 2>err.txt || rc=$?
check "without -q, stdout still holds only the job's output" eq "$rc $(grep -c -e '==>' -e ' ok ' out.txt)" "0 0"
check "and mldeploy's progress goes to stderr" contains "$(cat err.txt)" "job check finished"

rc=0; "$MLDEPLOY" run check -q -- sh -c 'echo failing; exit 3' >out.txt 2>&1 || rc=$?
check "ARGS replace the command, and its exit status 3 is mldeploy's" eq "$rc" 3
check "the replaced command ran" contains "$(cat out.txt)" "failing"
check "a new run of a job removes its last finished one" \
  eq "$(count_containers "io.mldeploy.stack=$NAME" io.mldeploy.role=job io.mldeploy.job=check)" 1

rc=0; "$MLDEPLOY" run sleepy >out.txt 2>&1 || rc=$?
check "a job past its timeout exits 124" eq "$rc" 124
check "the message says it timed out" contains "$(cat out.txt)" "timed out after 2s"
running=$(engine_get "/containers/json?filters=$(label_filter "io.mldeploy.stack=$NAME" io.mldeploy.job=sleepy)" | jq length)
check "the timed-out job's container is stopped" eq "$running" 0

# SIGTERM (as Ctrl-C's SIGINT) stops the job's container and exits 130.
"$MLDEPLOY" run sleepy -q >sig.txt 2>&1 & RUN_PID=$!
for _ in $(seq 1 300); do
  [ "$(engine_get "/containers/json?filters=$(label_filter "io.mldeploy.stack=$NAME" io.mldeploy.job=sleepy)" | jq length)" = 1 ] && break
  sleep 0.1
done
kill -TERM "$RUN_PID"
rc=0; wait "$RUN_PID" || rc=$?
check "SIGTERM: run exits 130" eq "$rc" 130
check "SIGTERM: the message says it was interrupted" contains "$(cat sig.txt)" "interrupted: stopped job sleepy"
running=$(engine_get "/containers/json?filters=$(label_filter "io.mldeploy.stack=$NAME" io.mldeploy.job=sleepy)" | jq length)
check "SIGTERM: the job's container is stopped" eq "$running" 0

ps_json=$("$MLDEPLOY" ps --format json --no-probe)
check "ps shows the finished job with its exit code" \
  eq "$(jq -r '.[] | select(.job == "check") | "\(.role) \(.state) \(.exit_code)"' <<<"$ps_json")" "job exited 3"
check "ps shows the timed-out job as finished" \
  eq "$(jq -r '.[] | select(.job == "sleepy") | .state' <<<"$ps_json")" "exited"
check "ps text shows the job's name and exit code" contains "$("$MLDEPLOY" ps --no-probe)" "$NAME-job-check-[0-9]* *job *check .*exited(3)"

rc=0; out=$("$MLDEPLOY" run nosuch 2>&1) || rc=$?
check "an unknown job exits 2" eq "$rc" 2
check "an unknown job names the stack's jobs" contains "$out" "its jobs: check, sleepy"

"$MLDEPLOY" up -q >/dev/null || fail "up again"
check "up leaves the job containers alone" eq "$(count_containers "io.mldeploy.stack=$NAME" io.mldeploy.role=job)" 2
"$MLDEPLOY" down -q >/dev/null || fail "down"
check "down leaves no job container" eq "$(count_containers "io.mldeploy.stack=$NAME" io.mldeploy.role=job)" 0
finish
