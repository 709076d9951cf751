#!/usr/bin/env bash
# A new version whose health check never passes: `up` stops, removes the new
# replica it started, keeps the old replicas serving untouched, and exits 1 with
# the failing replica's last log lines. Also: `up --dry-run` changes nothing.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2eroll$$
PORT=$((20000 + ($$ + 1) % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

write_stack() {  # write_stack [command-line]
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
$1
[services.echo.health]
path = "/healthz"
interval = "500ms"
retries = 2
start_period = "8s"
[balancer]
port = $PORT
TOML
}
cd "$WORK"
URL="http://127.0.0.1:$PORT/predict?msg=still-here"

write_stack ""
"$MLDEPLOY" up -q >/dev/null || { fail "first up"; finish; exit 1; }
ids_before=$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model)

write_stack 'command = ["python3", "-c", "import time; print(\"loading weights that never finish\", flush=True); time.sleep(600)"]'
out=$("$MLDEPLOY" up --dry-run 2>&1)
check "dry run lists the replacement" contains "$out" "replace replica $NAME-echo-1"
check "dry run changes nothing" eq "$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model)" "$ids_before"

start_load "$URL" "$WORK/codes"
rc=0; out=$("$MLDEPLOY" up 2>&1) || rc=$?
stop_load
echo "$out" | tail -8
check "failed rollout exits 1" eq "$rc" 1
check "says the replica never got healthy" contains "$out" "did not become healthy"
# Podman 4.3 intermittently answers the log request of this running replica with
# nothing (mldeploy asks four times); then the message must say so. Open issue.
check "shows the replica's last log lines, or says there were none" grep -qE "loading weights that never finish|wrote no log lines" <<<"$out"
check "old replicas untouched" eq "$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model)" "$ids_before"
check "no new replica left behind" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 2
check "still answering" eq "$(curl -s "$URL")" '{"response": "still-here", "success": true}'
bad=$(grep -vc '^200$' "$WORK/codes" || true)
echo "requests during the failed rollout: $(wc -l <"$WORK/codes"), failed: $bad"
check "no failed request during the failed rollout" eq "$bad" 0

write_stack ""
out=$("$MLDEPLOY" up 2>&1)
check "back to the old config: no changes" contains "$out" "no changes"

out=$("$MLDEPLOY" logs --tail 5 2>&1)
check "logs prefix each line with its container" contains "$out" "$NAME-echo-1"
finish
