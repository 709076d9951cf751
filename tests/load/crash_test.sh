#!/usr/bin/env bash
# Crashes under load. kill -9 of a replica's main process from the host: no
# failed request (the balancer retries on the other replica), and with
# restart = "on-failure" the replica comes back and serves again. kill -9 of the
# balancer's nginx master: the balancer comes back, and `up` re-run repairs it.
source "$(dirname "$0")/../e2e/lib.sh"
require_engine

NAME=loadcrash$$
PORT=$((21000 + ($$ + 7) % 9000))
trap 'stop_hey; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
restart = "on-failure"
[services.echo.health]
path = "/healthz"
interval = "500ms"
start_period = "10s"
[balancer]
port = $PORT
TOML
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }
URL="http://127.0.0.1:$PORT/predict?msg=crash"

inspect() { engine_get "/containers/$1/json"; }
replicas_answering() {
  for _ in $(seq 1 40); do curl -fsS -D - -o /dev/null "$URL" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-replica"{print $2}'; done | sort -u | wc -l
}
wait_running_again() {  # wait_running_again CONTAINER: restarted by the engine and running
  for _ in $(seq 1 100); do
    if [ "$(inspect "$1" | jq -r '.State.Running and (.RestartCount > 0)')" = true ]; then return 0; fi
    sleep 0.2
  done
  return 1
}

start_hey "$WORK/get.txt" -c 8 -q 25 "$URL"
sleep 2
pid=$(inspect "$NAME-echo-1" | jq .State.Pid)
kill -9 "$pid"
check "killed replica is restarted by the engine" wait_running_again "$NAME-echo-1"
sleep 3
check "both replicas serve again" eq "$(replicas_answering)" 2
stop_hey
read -r total bad < <(hey_counts "$WORK/get.txt")
echo "requests while a replica crashed: $total, failed or non-2xx: $bad"
[ "$bad" -eq 0 ] || hey_failures "$WORK/get.txt"
check "requests were sent" test "$total" -gt 100
check "zero failed requests while a replica crashed" eq "$bad" 0

pid=$(inspect "$NAME-balancer" | jq .State.Pid)
kill -9 "$pid"
check "killed balancer is restarted by the engine" wait_running_again "$NAME-balancer"
ok=0
for _ in $(seq 1 50); do curl -fsS -o /dev/null "$URL" && { ok=1; break; }; sleep 0.2; done
check "balancer answers again" eq "$ok" 1
out=$("$MLDEPLOY" up 2>&1) || fail "up after the crashes exits 0"
check "up after the crashes converges" contains "$out" "is up"
check "two replicas and one balancer" eq "$(count_containers io.mldeploy.stack=$NAME)" 3
check "both replicas serve after up" eq "$(replicas_answering)" 2
finish
