#!/usr/bin/env bash
# Warnings of `up` on rootless Podman, as the user made by
# packaging/setup-rootless.sh (mldeploy-rootless), against the real engine:
#   1. a balancer with algorithm = "ip_hash": `up` warns that a rootless engine
#      shows nginx every client with the same address (the warning of
#      src/deploy/preflight.cpp), deploys anyway, and the balancer answers (from
#      one replica only, as the warning says);
#   2. the engine's own "Warnings" in its answer to a container create are passed
#      on ("mldeploy: warning: the engine says: ..."), once per `up`, not once
#      per replica (three replicas here).
# Then ps shows the replicas healthy, and down leaves nothing.
#
# What the engines of these machines (cgroup v1, Podman 4.3.1, Docker 20.10)
# actually warn about, for what mldeploy sends (a CPU quota and a memory limit):
#   - rootless Podman: "Resource limits are not supported and ignored on cgroups
#     V1 rootless systems" (and the container gets no limit: HostConfig.Memory 0);
#   - rootful Podman and Docker: "Warnings": [] — they honour both limits (Docker
#     has swap accounting here, memory.memsw.*, so not even its "Memory limited
#     without swap" warning). No real warning can be produced there with what
#     mldeploy sends, so this test runs on rootless Podman only; the pass-through
#     of Docker's and Podman's create answers is otherwise the same code.
# On a machine whose rootless Podman does get cgroup limits (cgroup v2 with the
# cpu and memory controllers delegated), the engine honours them and says
# nothing: the test then checks that no engine warning is printed instead.
#
# Runs as root (it switches to the user with runuser) and asks the user's engine
# directly, through its socket, what exists. Never skips.
source "$(dirname "$0")/lib.sh"
NAME=e2ewarn$$
source "$(dirname "$0")/rootless_lib.sh"
REPLICAS=3
MEMORY=$((256 * 1024 * 1024))

cat >"$UDIR/stack/stack.toml" <<TOML
name = "$NAME"

[services.echo]
build = "echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = $REPLICAS

[services.echo.health]
path = "/healthz"
interval = "1s"
retries = 5
start_period = "20s"

[services.echo.resources]
cpus = 0.5
memory = "256m"

[balancer]
port = $PORT
host_ip = "127.0.0.1"
algorithm = "ip_hash"
TOML
chown -R "$RUSER:" "$UDIR"

URL="http://127.0.0.1:$PORT"
echo "user $RUSER (uid $RUID), stack $NAME ($REPLICAS replicas, ip_hash), balancer on 127.0.0.1:$PORT"

started=$SECONDS
out=$(M up 2>&1) || { echo "$out"; fail "up as $RUSER exits 0"; finish; exit 1; }
pass "up as $RUSER exits 0 ($((SECONDS - started))s)"
echo "$out" | sed 's/^/  | /'
warnings=$(grep '^mldeploy: warning: ' <<<"$out" || true)

# 1. ip_hash on a rootless engine: warned once, deployed anyway.
IPHASH_WARNING="mldeploy: warning: the engine is rootless: the balancer sees every client with the same address, so ip_hash sends all requests to one replica (use least_conn or round_robin)"
check "up warns once that ip_hash cannot tell clients apart" eq "$(grep -cxF "$IPHASH_WARNING" <<<"$warnings" || true)" 1
check "up prints the endpoint" contains "$out" ":$PORT"
check "$REPLICAS replicas and one balancer on the user's engine" \
  eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)/$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=balancer)" "$REPLICAS/1"
check "the balancer is configured with ip_hash" \
  contains "$(as_user podman exec "$NAME-balancer" cat /etc/mldeploy/nginx.conf 2>&1)" "ip_hash;"

codes=$(for _ in $(seq 1 10); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$URL/predict?msg=hi"; done | sort | uniq -c | xargs)
check "10 requests through the balancer answer 200" eq "$codes" "10 200"
replicas_seen=$(for _ in $(seq 1 10); do curl -fsS -D - -o /dev/null --max-time 10 "$URL/predict?msg=hi" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-replica"{print $2}'; done | sort -u | wc -l)
check "as warned, ip_hash sends every request to one replica" eq "$replicas_seen" 1

# 2. The engine's create warning, passed on once for the $REPLICAS creates.
engine_warnings=$(grep '^mldeploy: warning: the engine says: ' <<<"$warnings" || true)
memory=$(engine_get "/containers/$NAME-echo-1/json" | jq -r '.HostConfig.Memory')
if [ "$memory" = "$MEMORY" ]; then
  echo "note: this rootless engine applies the memory limit (cgroup v2 delegation?): it has nothing to warn about"
  check "no engine warning when the engine honours the limits" eq "$engine_warnings" ""
else
  echo "the engine ignored the memory limit (HostConfig.Memory = $memory): its create answer carries a warning"
  check "up passes the engine's warning on exactly once for $REPLICAS replicas" eq "$(grep -c . <<<"$engine_warnings" || true)" 1
  check "it is the engine's warning about resource limits" contains "$engine_warnings" "Resource limits are not supported"
  check "every warning line of up is printed once" eq "$(sort <<<"$warnings" | uniq -d)" ""
fi

ps_json=$(M ps --format json)
check "ps lists $((REPLICAS + 1)) containers" eq "$(jq length <<<"$ps_json")" $((REPLICAS + 1))
check "ps shows every replica healthy" eq "$(jq -r '[.[]|select(.role=="model")|.health]|join(",")' <<<"$ps_json")" "$(printf 'healthy%.0s\n' $(seq 1 $REPLICAS) | paste -sd,)"

M down -q || fail "down exits 0"
check "no container of the stack remains on the user's engine" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
check "no network of the stack remains on the user's engine" eq "$(count_networks io.mldeploy.stack=$NAME)" 0
echo "took $SECONDS s"

finish
