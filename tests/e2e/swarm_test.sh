#!/usr/bin/env bash
# The swarm target on a real single-node Docker Swarm (Docker only): up, then
# under load through the balancer scale 4 -> 1 -> 3, a rolling update (a
# changed env value), and a kill -9 of one task's process, with 0 failed
# requests; a broken update that Swarm rolls back (up exits 1 saying so); ps,
# logs, down (no service, config or network left). Makes the engine a swarm
# manager when it is not one, and leaves the swarm at the end only then.
source "$(dirname "$0")/lib.sh"
require_engine
[[ $API == */libpod ]] && { echo "FAIL: the swarm test runs on Docker (ENGINE_API=/v1.41)" >&2; exit 1; }

NAME=sw$$
PORT=$((21000 + $$ % 90))
MADE_SWARM=0
swarm_state() { engine_get /info | jq -r '.Swarm.LocalNodeState'; }
leave_swarm() {
  if [ "$MADE_SWARM" = 1 ]; then
    curl -fsS -X POST --unix-socket "$SOCK" "http://d$API/swarm/leave?force=true" >/dev/null || true
  fi
}
trap 'stop_hey; cleanup_stack $NAME; leave_swarm; rm -rf "$WORK"' EXIT

if [ "$(swarm_state)" != active ]; then
  curl -fsS -X POST --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d '{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1"}' "http://d$API/swarm/init" >/dev/null
  MADE_SWARM=1
fi
check "the engine is a swarm manager" eq "$(engine_get /info | jq -r '.Swarm.ControlAvailable')" true

services_of() { engine_get "/services?filters=$(label_filter "$@")"; }
count_services() { services_of "$@" | jq length; }
count_configs() { engine_get "/configs?filters=$(label_filter "$@")" | jq length; }
# Running tasks of the stack's model service.
running_tasks() {
  local id
  id=$(services_of io.mldeploy.stack=$NAME io.mldeploy.role=model | jq -r '.[0].ID')
  engine_get "/tasks?filters=$(jq -rn --arg s "$id" '{service: [$s], "desired-state": ["running"]} | tojson | @uri')" |
    jq '[.[] | select(.Status.State == "running")] | length'
}
wait_running() {  # wait_running N: until N tasks run (Swarm replaces a killed one)
  local i
  for i in $(seq 1 120); do [ "$(running_tasks)" = "$1" ] && return 0; sleep 0.5; done
  return 1
}

mkdir -p "$WORK/stack"
write_stack() {  # write_stack VERSION [COMMAND-LINE]
  cat >"$WORK/stack/stack.toml" <<TOML
name = "$NAME"
target = "swarm"

[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
restart = "always"
env = { VERSION = "$1" }
${2:-}

[services.echo.health]
path = "/healthz"
interval = "1s"
retries = 3
start_period = "10s"

[balancer]
port = $PORT
TOML
}
write_stack v1
cd "$WORK/stack"
URL="http://127.0.0.1:$PORT"

out=$("$MLDEPLOY" up --dry-run 2>&1) || { echo "$out"; fail "up --dry-run exits 0"; }
check "dry run plans the overlay network" contains "$out" "create overlay network ${NAME}_net"
check "dry run plans the model service" contains "$out" "create service $NAME-echo (2 replica(s))"
check "dry run plans the balancer" contains "$out" "create service $NAME-balancer (global"
check "dry run makes nothing" eq "$(count_services io.mldeploy.stack=$NAME)" 0

out=$("$MLDEPLOY" up 2>&1) || { echo "$out"; fail "up exits 0"; finish; exit 1; }
pass "up exits 0"
check "up prints the endpoint" contains "$out" "http://localhost:$PORT"
check "a model service and a balancer service" eq "$(count_services io.mldeploy.stack=$NAME)" 2
check "model service labelled" eq "$(count_services io.mldeploy.stack=$NAME io.mldeploy.role=model io.mldeploy.service=echo)" 1
check "model service is dnsrr" eq "$(services_of io.mldeploy.stack=$NAME io.mldeploy.role=model | jq -r '.[0].Spec.EndpointSpec.Mode')" dnsrr
check "tasks get the image by its local id" contains "$(services_of io.mldeploy.stack=$NAME io.mldeploy.role=model | jq -r '.[0].Spec.TaskTemplate.ContainerSpec.Image')" "sha256:"
check "balancer published in host mode" eq "$(services_of io.mldeploy.stack=$NAME io.mldeploy.role=balancer | jq -r '.[0].Endpoint.Spec.Ports[0].PublishMode')" host
check "overlay network labelled" eq "$(engine_get "/networks?filters=$(label_filter io.mldeploy.stack=$NAME)" | jq -r '.[0].Driver')" overlay
check "nginx.conf in a labelled config" eq "$(count_configs io.mldeploy.stack=$NAME)" 1
check "two tasks run" eq "$(running_tasks)" 2
check "a request through the balancer" contains "$(curl -fsS "$URL/predict?msg=hi")" '"response": "hi"'

out=$("$MLDEPLOY" up 2>&1)
check "re-run of up says no changes" contains "$out" "no changes"

start_hey "$WORK/hey" -c 4 -q 25 "$URL/predict?msg=load"
"$MLDEPLOY" scale --replicas 4 -q || fail "scale 4 exits 0"
check "four tasks after scale 4" eq "$(running_tasks)" 4
seen=$(for _ in $(seq 1 40); do curl -fsS -D - -o /dev/null "$URL/healthz" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-replica"{print $2}'; done | sort -u | wc -l)
check "all four tasks take traffic" eq "$seen" 4
"$MLDEPLOY" scale --replicas 1 -q || fail "scale 1 exits 0"
check "one task after scale 1" eq "$(running_tasks)" 1
"$MLDEPLOY" scale --replicas 3 -q || fail "scale 3 exits 0"
check "three tasks after scale 3" eq "$(running_tasks)" 3

# A rolling update: a changed env value; Swarm rolls the tasks start-first.
write_stack v2
sed -i 's/^replicas = 2/replicas = 3/' stack.toml
out=$("$MLDEPLOY" up 2>&1) || { echo "$out"; fail "rolling up exits 0"; }
check "the update converged" contains "$out" "update converged (3 task(s) on the new version)"
check "every task has the new env" eq "$(services_of io.mldeploy.stack=$NAME io.mldeploy.role=model | jq -r '.[0].Spec.TaskTemplate.ContainerSpec.Env[]' | grep -c VERSION=v2)" 1
check "three tasks after the update" eq "$(running_tasks)" 3

# kill -9 of one task's process: Swarm replaces it, nginx skips it meanwhile.
victim=$(engine_get "/containers/json?filters=$(label_filter com.docker.swarm.service.name=$NAME-echo)" | jq -r '.[0].Id')
pid=$(engine_get "/containers/$victim/json" | jq -r '.State.Pid')
kill -9 "$pid"
sleep 2
check "Swarm replaces the killed task" wait_running 3
stop_hey
read -r total bad < <(hey_counts "$WORK/hey")
echo "requests during scale 4/1/3, the update and the kill: $total, failed: $bad"
[ "$bad" = 0 ] || hey_failures "$WORK/hey"
check "requests were sent" test "$total" -gt 100
check "no failed request through scale, update and kill -9" eq "$bad" 0

# A broken version (exits at once): Swarm rolls it back, up exits 1 saying so.
write_stack v3 'command = ["python3", "-c", "import sys; sys.exit(3)"]'
sed -i 's/^replicas = 2/replicas = 3/' stack.toml
status=0; out=$("$MLDEPLOY" up 2>&1) || status=$?
check "a rolled-back update exits 1" eq "$status" 1
check "up says Swarm rolled it back" contains "$out" "Swarm rolled the update back"
check "the old version serves again" eq "$(services_of io.mldeploy.stack=$NAME io.mldeploy.role=model | jq -r '.[0].Spec.TaskTemplate.ContainerSpec.Env[]' | grep -c VERSION=v2)" 1
check "a request after the rollback" contains "$(curl -fsS "$URL/predict?msg=back")" '"response": "back"'

ps_json=$("$MLDEPLOY" ps --format json -s "$NAME")
check "ps lists 3 model tasks" eq "$(jq '[.[]|select(.role=="model" and .state=="running")]|length' <<<"$ps_json")" 3
check "ps lists the balancer" eq "$(jq '[.[]|select(.role=="balancer")]|length' <<<"$ps_json")" 1
check "ps table names the tasks" contains "$("$MLDEPLOY" ps -s "$NAME")" "$NAME-echo.1"
logs=$("$MLDEPLOY" logs -s "$NAME" --tail 50 2>&1)
check "logs show the model's lines by task" contains "$logs" "$NAME-echo."
check "logs show the server started" contains "$logs" "listening"

out=$("$MLDEPLOY" down 2>&1) || { echo "$out"; fail "down exits 0"; }
check "no service left" eq "$(count_services io.mldeploy.stack=$NAME)" 0
check "no config left" eq "$(count_configs io.mldeploy.stack=$NAME)" 0
check "no network left" eq "$(engine_get "/networks?filters=$(label_filter io.mldeploy.stack=$NAME)" | jq length)" 0
out=$("$MLDEPLOY" down -s "$NAME" 2>&1)
check "a second down is a no-op" contains "$out" "nothing to remove"

finish
