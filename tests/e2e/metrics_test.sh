#!/usr/bin/env bash
# [metrics]: `up` starts the stack's controller, which counts every request the
# balancer passed, per replica and status code, exactly (CONTRACT.md's names on
# /metrics); it goes on after the session that ran `up` is killed and after the
# controller container restarts; `top --once --format json` parses; `ps` shows
# the controller and `down` removes it.
source "$(dirname "$0")/lib.sh"
require_engine

if [[ $API == */libpod ]]; then ENGINE=podman; PORT=24010; MPORT=24011; else ENGINE=docker; PORT=24020; MPORT=24021; fi
NAME=mt-$ENGINE-metrics
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cleanup_stack "$NAME"

# A model that counts what it answers, by status code: /fail answers 500.
mkdir -p "$WORK/model"
cat >"$WORK/model/server.py" <<'PY'
import json, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
counts, lock = {}, threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/healthz": return self.answer(200, b"ok")
        if self.path == "/counts":
            with lock: return self.answer(200, json.dumps(counts).encode())
        code = 500 if self.path.startswith("/fail") else 200
        with lock: counts[str(code)] = counts.get(str(code), 0) + 1
        self.answer(code, b"done")
    def answer(self, code, body):
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
ThreadingHTTPServer.request_queue_size = 128
ThreadingHTTPServer(("0.0.0.0", 8000), H).serve_forever()
PY
cat >"$WORK/model/Containerfile" <<'CF'
FROM localhost/mldeploy/python:3.11
COPY server.py /server.py
CMD ["python3", "/server.py"]
CF
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.m]
build = "model"
image = "localhost/$NAME/m:1"
port = 8000
replicas = 2
[services.m.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $PORT
[metrics]
port = $MPORT
TOML
cd "$WORK"

# `up` in a session of its own, which is then killed whole: what measures must not need it.
setsid bash -c "'$MLDEPLOY' up -q >up.out 2>&1; echo \$? >up.rc" </dev/null &
for _ in $(seq 1 600); do [ -s up.rc ] && break; sleep 0.2; done
SID=$(ps -o sid= -p $! 2>/dev/null | tr -d ' ' || true)
[ -z "$SID" ] || pkill -KILL -s "$SID" 2>/dev/null || true
check "up (in its own session) succeeded" eq "$(cat up.rc 2>/dev/null)" 0
[ "$(cat up.rc 2>/dev/null)" = 0 ] || { cat up.out >&2; finish; exit 1; }

ps_out=$("$MLDEPLOY" ps --no-probe 2>&1)
check "ps shows the controller" contains "$ps_out" "$NAME-controller *controller *.*running"
check "one controller, labelled with the stack and role" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=controller)" 1

METRICS=http://127.0.0.1:$MPORT/metrics
# sum of mldeploy_requests_total for a code (and a replica, if given)
total() {  # total CODE [REPLICA]
  curl -fsS "$METRICS" | awk -v code="$1" -v r="${2:-}" '
    /^mldeploy_requests_total\{/ && index($0, "code=\"" code "\"") && (r == "" || index($0, "replica=\"" r "\"")) {s += $2}
    END {print s + 0}'
}
wait_totals() {  # wait_totals OK500 OK200: bounded wait until the counts arrive (they lag by the engine's log stream)
  for _ in $(seq 1 150); do
    [ "$(total 200)" = "$2" ] && [ "$(total 500)" = "$1" ] && return 0; sleep 0.2
  done
  echo "  200: $(total 200) (want $2), 500: $(total 500) (want $1)" >&2; return 1
}
hey -n 1000 -c 10 "http://127.0.0.1:$PORT/predict" >hey1.txt 2>&1
hey -n 100 -c 5 "http://127.0.0.1:$PORT/fail" >hey2.txt 2>&1
check "hey sent 1000 requests that answered 200" eq "$(hey_counts hey1.txt)" "1000 0"
check "hey sent 100 requests that answered 500" eq "$(hey_counts hey2.txt)" "100 100"
check "/metrics counts exactly 1000 x 200 and 100 x 500" wait_totals 100 1000

# Per replica: what each replica says it answered.
replica_truth() {  # replica_truth N CODE
  local id ip
  id=$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.replica=$1)" | jq -r '.[0].Id')
  ip=$(engine_get "/containers/$id/json" | jq -r '[.NetworkSettings.Networks[].IPAddress][0]')
  curl -fsS "http://$ip:8000/counts" | jq -r --arg c "$2" '.[$c] // 0'
}
per_replica_exact() {
  local n code
  for n in 1 2; do for code in 200 500; do
    [ "$(total $code $n)" = "$(replica_truth $n $code)" ] || { echo "  replica $n code $code: $(total $code $n) counted, $(replica_truth $n $code) answered" >&2; return 1; }
  done; done
}
check "per replica and code, the counts are what each replica answered" per_replica_exact
metrics=$(curl -fsS "$METRICS")
check "histogram buckets" contains "$metrics" "mldeploy_request_duration_seconds_bucket{stack=\"$NAME\",service=\"m\",replica=\"1\",le=\"+Inf\"}"
check "histogram count" contains "$metrics" "mldeploy_request_duration_seconds_count{stack=\"$NAME\",service=\"m\",replica=\"2\"}"
check "requests in flight per replica" contains "$metrics" "mldeploy_inflight_requests{stack=\"$NAME\",service=\"m\",replica=\"1\"}"
check "replicas per service" contains "$metrics" "mldeploy_replicas{stack=\"$NAME\",service=\"m\"} 2"

top=$("$MLDEPLOY" top --once --format json 2>&1)
check "top --once --format json parses, with both replicas" eq "$(jq '.replicas | length' <<<"$top" 2>&1)" 2
check "top's totals are the counts" eq "$(jq '[.replicas[].requests_total] | add' <<<"$top" 2>&1)" 1100
check "top's errors are the 500s" eq "$(jq '[.replicas[].errors_total] | add' <<<"$top" 2>&1)" 100
check "top --once prints a table" contains "$("$MLDEPLOY" top --once 2>&1)" "REQ/S"

# The controller restarted: it reads the balancer's whole log again, so the counts stay exact.
CID=$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=controller)" | jq -r '.[0].Id')
curl -fsS -X POST --unix-socket "$SOCK" "http://d$API/containers/$CID/restart?t=1" >/dev/null
hey -n 200 -c 4 "http://127.0.0.1:$PORT/predict" >hey3.txt 2>&1
check "after the controller's restart the counts are still exact" wait_totals 100 1200

# A second up with nothing changed keeps it; a missing controller is made again.
"$MLDEPLOY" up >up2.out 2>&1 || fail "up again"
check "an unchanged up keeps the controller" eq "$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=controller)" | jq -r '.[0].Id')" "$CID"

CID=$(engine_get "/containers/json?filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=controller)" | jq -r '.[0].Id')
curl -fsS -X DELETE --unix-socket "$SOCK" "http://d$API/containers/$CID?force=true" >/dev/null
"$MLDEPLOY" up -q >/dev/null 2>&1 || fail "up after the controller was removed"
check "up repairs a missing controller" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=controller)" 1
check "and it counts everything again" wait_totals 100 1200

"$MLDEPLOY" down -q >/dev/null 2>&1 || fail "down"
check "down removes the controller" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
check "nothing answers on the metrics port after down" bash -c "! curl -fsS --max-time 2 $METRICS >/dev/null 2>&1"
finish
