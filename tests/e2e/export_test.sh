#!/usr/bin/env bash
# export kube / export compose: what they write is read by the real consumers.
# Both engines: the Kubernetes YAML passes tests/tools/kube_validate.py (the API's
# own models: no unknown field, no wrong type) and docker-compose reads the
# compose file. Podman: `podman kube play` runs the model Deployment (with its
# Secret), and the model answers. Docker: `docker-compose up` runs the compose
# file as written, and requests through its balancer reach every replica.
source "$(dirname "$0")/lib.sh"
require_engine

if [ -z "${ENGINE:-}" ]; then
  if [[ $API == */libpod ]]; then ENGINE=podman; else ENGINE=docker; fi
fi
PY=/usr/bin/python3   # Debian's, with python3-kubernetes and python3-yaml
NAME=export12x
PORT=19410            # the balancer (compose)
MODEL_PORT=19411      # the model; kube play publishes it on the host
OUT=$WORK/out
cleanup() {
  if [ "$ENGINE" = podman ] && [ -f "$WORK/play.yaml" ]; then
    podman kube down "$WORK/play.yaml" >/dev/null 2>&1 || true
    podman secret rm "$NAME-env" >/dev/null 2>&1 || true
  fi
  if [ "$ENGINE" = docker ] && [ -f "$OUT/compose.yaml" ]; then
    DOCKER_HOST=unix://$SOCK docker-compose -f "$OUT/compose.yaml" -p "$NAME" down -v >/dev/null 2>&1 || true
  fi
  cleanup_stack "$NAME"
  rm -rf "$WORK"
}
trap cleanup EXIT

# Replicas publish their port on the host under kube play: one there.
REPLICAS=2
[ "$ENGINE" = podman ] && REPLICAS=1
mkdir -p "$WORK/models" "$OUT"
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = $MODEL_PORT
replicas = $REPLICAS
env = { PORT = "$MODEL_PORT", API_TOKEN = "t0ken-123", NOTE = "a \$\$b" }
volumes = ["./models:/models:ro", "$NAME-cache:/cache"]
[services.echo.health]
path = "/healthz"
interval = "1s"
start_period = "5s"
[services.echo.resources]
memory = "256m"
[balancer]
port = $PORT
TOML
cd "$WORK"

# ---- kube ------------------------------------------------------------------
check "export kube exits 0" "$MLDEPLOY" export kube -f stack.toml -o "$OUT/kube.yaml" 2>"$WORK/kube.err"
check "the bind mount's warning says what to do" grep -q "bind mount .*/models:/models does not travel" "$WORK/kube.err"
check "a local image is warned about" grep -q "image localhost/$NAME/echo:1 names no registry" "$WORK/kube.err"
check "every document fits the Kubernetes API's models" "$PY" "$REPO/tests/tools/kube_validate.py" "$OUT/kube.yaml"
check "the token is not in plain text" bash -c "! grep -q t0ken-123 '$OUT/kube.yaml'"
kinds=$("$PY" -c 'import sys, yaml; print(" ".join(d["kind"] for d in yaml.safe_load_all(open(sys.argv[1])) if d))' "$OUT/kube.yaml")
check "Secret, claim, Deployment and Service per service, the balancer's ConfigMap, Deployment, Service" \
  eq "$kinds" "Secret PersistentVolumeClaim Deployment Service ConfigMap Deployment Service"
"$MLDEPLOY" export kube -f stack.toml --node-port --namespace ml >"$WORK/np.yaml" 2>/dev/null
check "--node-port: a NodePort Service, valid" "$PY" "$REPO/tests/tools/kube_validate.py" "$WORK/np.yaml"
check "--node-port: the type" grep -q "type: NodePort" "$WORK/np.yaml"

# ---- compose -----------------------------------------------------------------
check "export compose exits 0" "$MLDEPLOY" export compose -f stack.toml -o "$OUT/compose.yaml" 2>"$WORK/compose.err"
check "docker-compose reads the file" docker-compose -f "$OUT/compose.yaml" -p "$NAME" config -q
check "the build context is relative to the compose file" \
  contains "$(docker-compose -f "$OUT/compose.yaml" -p "$NAME" config)" "context: $REPO/examples/echo"
check "the bind mount is relative to the compose file" grep -q -- "- ../models:/models:ro" "$OUT/compose.yaml"

# ---- usage errors --------------------------------------------------------------
status=0; "$MLDEPLOY" export yaml -f stack.toml >/dev/null 2>&1 || status=$?
check "an unknown kind: exit 2" eq "$status" 2
status=0; "$MLDEPLOY" export kube -f stack.toml -o /nonexistent/x.yaml >/dev/null 2>&1 || status=$?
check "-o into a missing folder: exit 2" eq "$status" 2

# ---- podman: kube play ------------------------------------------------------------
if [ "$ENGINE" = podman ]; then
  podman build -q -t "localhost/$NAME/echo:1" "$REPO/examples/echo" >/dev/null
  # Podman 4.3 stores a Secret document of kube play in a form its own
  # secretKeyRef cannot read back ("not valid JSON"); it reads a podman secret
  # that holds the data map as JSON. The rest of the file is played as it is:
  # the model Deployment, its claim and the ConfigMap (Services are ignored).
  "$PY" - "$OUT/kube.yaml" "$WORK" <<'PYEOF'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
secret = next(d for d in docs if d["kind"] == "Secret")
open(sys.argv[2] + "/secret.json", "w").write(json.dumps(secret["data"]))
play = [d for d in docs if d["kind"] in ("ConfigMap", "PersistentVolumeClaim")
        or (d["kind"] == "Deployment" and d["metadata"]["labels"]["io.mldeploy.role"] == "model")]
open(sys.argv[2] + "/play.yaml", "w").write(yaml.safe_dump_all(play))
PYEOF
  podman secret create "$NAME-env" "$WORK/secret.json" >/dev/null
  check "podman kube play runs the model Deployment" podman kube play "$WORK/play.yaml"
  code=000
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MODEL_PORT/healthz" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  check "the model pod answers" eq "$code" 200
  check "the model pod answers a prediction" \
    contains "$(curl -s "http://127.0.0.1:$MODEL_PORT/predict?msg=kube")" '"response": "kube"'
  pod_container=$(podman ps --filter "label=io.mldeploy.stack=$NAME" --format '{{.Names}}' | grep -v infra | head -1)
  check "the Secret reached the env" contains "$(podman exec "$pod_container" env)" "API_TOKEN=t0ken-123"
  check "a plain env value came through as written" contains "$(podman exec "$pod_container" env)" 'NOTE=a $b'
  check "podman kube down removes the pods" podman kube down "$WORK/play.yaml"
  check "no pod is left" eq "$(podman pod ps -q --filter "name=$NAME" | wc -l)" 0
  podman secret rm "$NAME-env" >/dev/null
  podman volume rm "$NAME-cache" >/dev/null 2>&1 || true
fi

# ---- docker: docker-compose up ----------------------------------------------------
if [ "$ENGINE" = docker ]; then
  export DOCKER_HOST=unix://$SOCK
  check "docker-compose up builds and starts the stack" \
    docker-compose -f "$OUT/compose.yaml" -p "$NAME" --no-ansi up -d --quiet-pull 2>"$WORK/up.log"
  check "two replicas run" eq "$(docker-compose -f "$OUT/compose.yaml" -p "$NAME" ps -q echo | wc -l)" 2
  code=000
  for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/predict?msg=up" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  check "the balancer answers with the model" eq "$code" 200
  for _ in $(seq 1 30); do
    curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/predict?msg=hi" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-replica" {print $2}'
  done | sort -u >"$WORK/replicas"
  check "requests reach both replicas (names resolved per request)" eq "$(wc -l <"$WORK/replicas")" 2
  check "a streamed answer comes through" \
    eq "$(curl -sN "http://127.0.0.1:$PORT/stream?n=3&delay_ms=50" | grep -c '^data: token-')" 3
  check "the balancer's own health page" \
    eq "$(curl -s "http://127.0.0.1:$PORT/_mldeploy/health" || true)" ok
  check "the healthcheck passes in the model image" \
    contains "$(docker inspect --format '{{.State.Health.Status}}' "${NAME}_echo_1")" healthy
  check "a plain env value came through as written" contains "$(docker exec "${NAME}_echo_1" env)" 'NOTE=a $b'
  check "docker-compose down removes it" docker-compose -f "$OUT/compose.yaml" -p "$NAME" down -v 2>/dev/null
  check "no container is left" eq "$(docker ps -aq --filter "label=com.docker.compose.project=$NAME" | wc -l)" 0
fi

finish
