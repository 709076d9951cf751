#!/usr/bin/env bash
# The balancer's edges: a port change to a port that is taken keeps the stack
# serving on its old port; mldeploy's own pages are not on the published port;
# a route "/v1" is /v1 and /v1/..., never /v1x, and a path no route names is a
# 404; secrets stay in the model containers (not in the balancer, not in
# `config`'s output); a stack file inside its build context is not part of it.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2eedge$$
PORT=$((20000 + ($$ + 17) % 10000))
TAKEN=$((PORT + 1))
trap 'kill ${SQUAT_PID:-} 2>/dev/null || true; cleanup_stack $NAME; rm -rf "$WORK"' EXIT

# The build context holds the stack file (build = "."), the natural layout.
cp -r "$REPO/examples/echo/." "$WORK/"
write_stack() {  # write_stack PORT [extra line in the service]
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.api]
build = "."
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
env = { HF_TOKEN = "hf-sekrit-1", DB_PASS = "pw-sekrit-2", DATABASE_URL = "postgres://app:pw-sekrit-3@db/app", BEARER = "sekrit-4" }
${2:-}
[services.api.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $1
[[balancer.routes]]
path = "/v1"
service = "api"
TOML
}
cd "$WORK"
write_stack "$PORT"
"$MLDEPLOY" up -q >/dev/null || { fail "first up"; finish; exit 1; }
code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2"; }

# Routes and internal pages.
check "/v1 reaches the model (its 404 for an unknown path, answered by the replica)" \
  contains "$(curl -sI "http://127.0.0.1:$PORT/v1" | tr -d '\r')" "X-Replica"
check "/v1/predict reaches the model" contains "$(curl -si "http://127.0.0.1:$PORT/v1/predict?msg=x" | tr -d '\r')" "X-Replica"
check "/v1x is no route: 404 from the balancer" eq "$(code $PORT /v1x)" 404
check "/ is no route: 404, not nginx's welcome page" eq "$(code $PORT /)" 404
check "/_mldeploy/status is not on the published port" eq "$(code $PORT /_mldeploy/status)" 404
check "/_mldeploy/config is not on the published port" eq "$(code $PORT /_mldeploy/config)" 404

# Secrets: in no container but the replicas, and never printed by config.
for id in $(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=balancer); do
  check "no secret in the balancer's inspect" eq "$(engine_get "/containers/$id/json" | grep -c 'sekrit' || true)" 0
done
out=$("$MLDEPLOY" config 2>&1)
check "config prints no secret value" eq "$(grep -c 'sekrit' <<<"$out" || true)" 0
"$MLDEPLOY" scale -s "$NAME" --replicas 3 -q >/dev/null || fail "scale -s without the file"
new=$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.replica=3)" | jq -r '.[0].Id')
check "a replica added by scale -s has the env values" contains "$(engine_get "/containers/$new/json" | jq -r '.Config.Env[]')" "HF_TOKEN=hf-sekrit-1"
"$MLDEPLOY" scale -s "$NAME" --replicas 2 -q >/dev/null || fail "scale back"

# The stack file is not part of the build context: editing it builds nothing.
echo "# a comment" >>"$WORK/stack.toml"
out=$("$MLDEPLOY" up --dry-run 2>&1)
check "dry run after editing the stack file: no changes" contains "$out" "no changes"
out=$("$MLDEPLOY" up 2>&1)
check "up after editing the stack file: no build, no changes" contains "$out" "no changes"

# A port change to a port that is taken: the stack keeps serving on its old port.
python3 -m http.server "$TAKEN" --bind 0.0.0.0 >/dev/null 2>&1 &
SQUAT_PID=$!
# Python may take seconds to start on a busy machine: wait until it listens.
for _ in $(seq 100); do [[ $(code "$TAKEN" /) == 000 ]] || break; sleep 0.1; done
check "the squatter holds port $TAKEN" eq "$(code "$TAKEN" /)" 200
write_stack "$TAKEN"
rc=0; out=$("$MLDEPLOY" up 2>&1) || rc=$?
echo "$out" | tail -4
check "up to a taken port exits 1" eq "$rc" 1
check "it says the old port still serves" contains "$out" "keeps serving on port $PORT"
check "the old port still serves" contains "$(curl -si "http://127.0.0.1:$PORT/v1/predict?msg=x" | tr -d "\r")" "X-Replica"
kill $SQUAT_PID; wait $SQUAT_PID 2>/dev/null || true
sleep 1
out=$("$MLDEPLOY" up 2>&1) || fail "up once the port is free: $out"
check "the new port serves" contains "$(curl -si "http://127.0.0.1:$TAKEN/v1/predict?msg=x" | tr -d "\r")" "X-Replica"
check "the old port is closed" eq "$(code $PORT /v1)" 000
check "one balancer, named as before" eq "$(engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=balancer)" |
  jq -r '.[].Names[0]' | sed 's|^/||')" "$NAME-balancer"
finish
