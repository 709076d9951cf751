#!/usr/bin/env bash
# `mldeploy run JOB` on the swarm target (Docker only): the job runs as a
# replicated-job service on the stack's overlay network; it reaches a model
# service by its own name; its output is streamed; its exit status is
# mldeploy's; past its timeout the service is removed (124); a new run removes
# the last finished one; `down` leaves no job service. Makes the engine a swarm
# manager when it is not one, and leaves the swarm at the end only then.
source "$(dirname "$0")/lib.sh"
require_engine
[[ $API == */libpod ]] && { echo "FAIL: the swarm test runs on Docker (ENGINE_API=/v1.41)" >&2; exit 1; }

NAME=swj$$
PORT=$((21100 + $$ % 90))
MADE_SWARM=0
swarm_state() { engine_get /info | jq -r '.Swarm.LocalNodeState'; }
leave_swarm() {
  if [ "$MADE_SWARM" = 1 ]; then
    curl -fsS -X POST --unix-socket "$SOCK" "http://d$API/swarm/leave?force=true" >/dev/null || true
  fi
}
trap 'cleanup_stack $NAME; leave_swarm; rm -rf "$WORK"' EXIT

if [ "$(swarm_state)" != active ]; then
  curl -fsS -X POST --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d '{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1"}' "http://d$API/swarm/init" >/dev/null
  MADE_SWARM=1
fi
check "the engine is a swarm manager" eq "$(engine_get /info | jq -r '.Swarm.ControlAvailable')" true
count_services() { engine_get "/services?filters=$(label_filter "$@")" | jq length; }

mkdir -p "$WORK/check"
cat >"$WORK/check/Containerfile" <<'EOF2'
FROM localhost/mldeploy/python:3.11
COPY check.py /check.py
CMD ["python3", "/check.py"]
EOF2
# Asks the echo service by its name on the stack's overlay network.
cat >"$WORK/check/check.py" <<'EOF2'
import os, sys, urllib.request
print("epochs " + os.environ["EPOCHS"], flush=True)
print("to stderr", file=sys.stderr, flush=True)
body = urllib.request.urlopen("http://echo:8000/healthz", timeout=10).read().decode()
print("echo says " + body, flush=True)
EOF2
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
target = "swarm"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
[services.echo.health]
path = "/healthz"
interval = "1s"
[balancer]
port = $PORT
[jobs.check]
build = "./check"
image = "localhost/$NAME/check:1"
env = { EPOCHS = "3" }
[jobs.sleepy]
image = "localhost/mldeploy/python:3.11"
command = ["python3", "-c", "import time; time.sleep(300)"]
timeout = "3s"
TOML
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

rc=0; "$MLDEPLOY" run check -q >out.txt 2>err.txt || rc=$?
check "run check exits 0" eq "$rc" 0
check "its stdout is streamed to stdout" contains "$(cat out.txt)" "epochs 3"
check "its stderr to stderr" contains "$(cat err.txt)" "to stderr"
check "the job reached the model service by its name on the overlay network" contains "$(cat out.txt)" "echo says ok"
check "the job's service is labelled role=job, and kept after its run" \
  eq "$(count_services "io.mldeploy.stack=$NAME" io.mldeploy.role=job io.mldeploy.job=check)" 1
check "it is a replicated job" eq "$(engine_get "/services/$NAME-job-check-1" | jq -r '.Spec.Mode | keys[0]')" ReplicatedJob

rc=0; "$MLDEPLOY" run check -q -- sh -c 'echo failing; exit 3' >out.txt 2>&1 || rc=$?
check "ARGS replace the command, and its exit status 3 is mldeploy's" eq "$rc" 3
check "the replaced command ran" contains "$(cat out.txt)" "failing"
check "the new run removed the last finished one" eq "$(count_services "io.mldeploy.stack=$NAME" io.mldeploy.job=check)" 1
check "and is run 2" eq "$(engine_get "/services/$NAME-job-check-2" | jq -r '.Spec.Labels["io.mldeploy.run"]')" 2

rc=0; "$MLDEPLOY" run sleepy -q >out.txt 2>&1 || rc=$?
check "past its timeout the job ends with 124" eq "$rc" 124
check "it says it timed out" contains "$(cat out.txt)" "timed out after 3s"
check "its service is gone" eq "$(count_services "io.mldeploy.stack=$NAME" io.mldeploy.job=sleepy)" 0
check "and its task's container does not run on (dockerd leaves a removed job's task running)" \
  eq "$(engine_get "/containers/json?filters=$(label_filter "com.docker.swarm.service.name=$NAME-job-sleepy-1")" | jq length)" 0

out=$("$MLDEPLOY" ps 2>&1) || true
check "ps lists the model service" contains "$out" "$NAME-echo.1"
check "ps shows the job's last run, complete" contains "$(grep "$NAME-job-check-2" <<<"$out")" "failed"

"$MLDEPLOY" down -q >/dev/null 2>&1 || fail "down"
check "down leaves no service of the stack, jobs included" eq "$(count_services "io.mldeploy.stack=$NAME")" 0
finish
