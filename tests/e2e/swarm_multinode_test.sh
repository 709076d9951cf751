#!/usr/bin/env bash
# The swarm target on two nodes (Docker only): a second dockerd runs in a
# network namespace of the test's own (a veth pair to the host; its own data
# and exec roots), and joins a swarm that the host's engine initialises on the
# veth's address. Images come from a loopback registry (Debian's
# docker-registry; socat makes it 127.0.0.1 inside the namespace too, so both
# engines take it as insecure by loopback). Checks: `up` of an image that names
# no registry is refused before anything is made (exit 1, says to push); after
# `push`, `up` spreads the model's tasks over both nodes and runs the balancer
# on each (global); each node's balancer answers and reaches replicas on both
# nodes over the overlay network; scale 4 -> 2 under load with 0 failed
# requests; `down` leaves nothing on either node. The host's engine must not be
# in a swarm already; the test leaves the swarm it made, on both nodes.
source "$(dirname "$0")/lib.sh"
require_engine
[[ $API == */libpod ]] && { echo "FAIL: the swarm test runs on Docker (ENGINE_API=/v1.41)" >&2; exit 1; }
for tool in socat docker-registry dockerd nsenter ip; do
  command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (packaging/install-docker.sh)" >&2; exit 1; }
done

NAME=swm$$
PORT=$((21200 + $$ % 90))
REGPORT=$((21300 + $$ % 90))
NS=mldn$$
HOST_IF=mlh$$
NODE_IF=mln$$
NET=10.$((200 + $$ % 50)).$(($$ % 250)).
HOST_IP=${NET}1
NODE_IP=${NET}2
NODE_SOCK=$WORK/node2/docker.sock
REG=127.0.0.1:$REGPORT
node_get() { curl -fsS --unix-socket "$NODE_SOCK" "http://d$API$1"; }
leave() { curl -fsS -X POST --unix-socket "$1" "http://d$API/swarm/leave?force=true" >/dev/null 2>&1 || true; }
cleanup() {
  stop_hey || true
  cleanup_stack $NAME
  leave "$NODE_SOCK"
  leave "$SOCK"
  [ -f "$WORK/node2/docker.pid" ] && kill "$(cat "$WORK/node2/docker.pid")" 2>/dev/null && sleep 3
  pkill -f "socat TCP-LISTEN:$REGPORT" 2>/dev/null || true
  [ -n "${REG_PID:-}" ] && kill "$REG_PID" 2>/dev/null || true
  ip link del "$HOST_IF" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  umount "$WORK"/node2/data/overlay2 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

if [ "$(engine_get /info | jq -r '.Swarm.LocalNodeState')" != inactive ]; then
  echo "FAIL: the engine on $SOCK is in a swarm already; this test makes its own (docker swarm leave --force)" >&2
  exit 1
fi

# The second node's network: a namespace with a veth pair to the host.
ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$NODE_IF"
ip link set "$NODE_IF" netns "$NS"
ip addr add "$HOST_IP/24" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip netns exec "$NS" ip addr add "$NODE_IP/24" dev "$NODE_IF"
ip netns exec "$NS" ip link set "$NODE_IF" up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip route add default via "$HOST_IP"

# The registry, on every address of the host; inside the namespace socat makes it 127.0.0.1 too.
mkdir -p "$WORK/registry" "$WORK/node2"
cat >"$WORK/registry.yml" <<YML
version: 0.1
storage: { filesystem: { rootdirectory: $WORK/registry } }
http: { addr: "0.0.0.0:$REGPORT" }
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
nsenter --net="/var/run/netns/$NS" setsid socat TCP-LISTEN:$REGPORT,bind=127.0.0.1,fork,reuseaddr \
  "TCP:$HOST_IP:$REGPORT" >/dev/null 2>&1 &

# The second dockerd: only the network namespace is its own (`ip netns exec`
# would also remount /sys, hiding the cgroups dockerd needs).
cat >"$WORK/node2/daemon.json" <<JSON
{"exec-opts": ["native.cgroupdriver=cgroupfs"], "storage-driver": "overlay2",
 "iptables": false, "ip-masq": false, "bridge": "none"}
JSON
nsenter --net="/var/run/netns/$NS" setsid dockerd --config-file "$WORK/node2/daemon.json" \
  --data-root "$WORK/node2/data" --exec-root "$WORK/node2/exec" --pidfile "$WORK/node2/docker.pid" \
  -H "unix://$NODE_SOCK" >"$WORK/node2/dockerd.log" 2>&1 </dev/null &
for i in $(seq 1 60); do curl -fsS --unix-socket "$NODE_SOCK" http://d/_ping >/dev/null 2>&1 && break; sleep 0.5; done
check "the second dockerd answers" eq "$(curl -fsS --unix-socket "$NODE_SOCK" http://d/_ping 2>/dev/null)" OK
for i in $(seq 1 40); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.25; done

# The swarm: the host's engine initialises it on the veth's address; node 2 joins.
curl -fsS -X POST --unix-socket "$SOCK" -H 'Content-Type: application/json' \
  -d "{\"ListenAddr\":\"$HOST_IP:2377\",\"AdvertiseAddr\":\"$HOST_IP\"}" "http://d$API/swarm/init" >/dev/null
TOKEN=$(engine_get /swarm | jq -r .JoinTokens.Worker)
curl -fsS -X POST --unix-socket "$NODE_SOCK" -H 'Content-Type: application/json' \
  -d "{\"ListenAddr\":\"$NODE_IP:2377\",\"AdvertiseAddr\":\"$NODE_IP\",\"RemoteAddrs\":[\"$HOST_IP:2377\"],\"JoinToken\":\"$TOKEN\"}" \
  "http://d$API/swarm/join" >/dev/null || fail "node 2 joins the swarm"
for i in $(seq 1 40); do [ "$(engine_get /nodes | jq '[.[] | select(.Status.State == "ready")] | length')" = 2 ] && break; sleep 0.5; done
check "the swarm has two ready nodes" eq "$(engine_get /nodes | jq '[.[] | select(.Status.State == "ready")] | length')" 2

# The balancer's image in the registry too (the stack names it there).
NGINX=$REG/nginx:stable
curl -fsS -X POST --unix-socket "$SOCK" "http://d$API/images/docker.io/library/nginx:stable/tag?repo=$REG/nginx&tag=stable" >/dev/null
curl -fsS -X POST --unix-socket "$SOCK" -H "X-Registry-Auth: $(printf '{}' | base64)" \
  "http://d$API/images/$REG/nginx/push?tag=stable" >"$WORK/nginx-push.log"
check "the balancer's image is in the registry" contains "$(curl -fsS "http://$REG/v2/nginx/tags/list")" stable

write_stack() {  # write_stack IMAGE
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
target = "swarm"
[services.echo]
build = "$REPO/examples/echo"
image = "$1"
port = 8000
replicas = 4
[services.echo.health]
path = "/healthz"
interval = "1s"
start_period = "20s"
[balancer]
image = "$NGINX"
port = $PORT
TOML
}
cd "$WORK"
write_stack "localhost/$NAME/echo:1"
rc=0; out=$("$MLDEPLOY" up 2>&1) || rc=$?
check "an image that names no registry is refused on two nodes (exit 1)" eq "$rc" 1
check "it says to push" contains "$out" "mldeploy push"
check "nothing was made" eq "$(engine_get "/services?filters=$(label_filter io.mldeploy.stack=$NAME)" | jq length)" 0

write_stack "$REG/$NAME/echo:1"
"$MLDEPLOY" build -q >/dev/null 2>&1 || fail "build"
"$MLDEPLOY" push -q >"$WORK/push.log" 2>&1 || { cat "$WORK/push.log"; fail "push"; }
out=$("$MLDEPLOY" up 2>&1) || { echo "$out"; fail "up on two nodes"; finish; exit 1; }
pass "up on two nodes"

tasks_on() {  # tasks_on SERVICE: running tasks' node ids, one a line
  local id
  id=$(engine_get "/services/$1" | jq -r .ID)
  engine_get "/tasks?filters=$(jq -rn --arg s "$id" '{service: [$s], "desired-state": ["running"]} | tojson | @uri')" |
    jq -r '.[] | select(.Status.State == "running") | .NodeID'
}
check "the model's 4 tasks run on both nodes" eq "$(tasks_on "$NAME-echo" | sort -u | wc -l)" 2
check "the balancer runs on each node (global)" eq "$(tasks_on "$NAME-balancer" | sort -u | wc -l)" 2

# Each node's balancer answers, and reaches replicas on both nodes.
node2_containers=$(node_get "/containers/json" | jq -r '.[].Id[:12]')
for ip in "$HOST_IP" "$NODE_IP"; do
  for i in $(seq 1 60); do curl -fsS -o /dev/null "http://$ip:$PORT/healthz" 2>/dev/null && break; sleep 0.5; done
  replicas=$(for i in $(seq 1 40); do curl -fsS -D - -o /dev/null "http://$ip:$PORT/predict?msg=x" | tr -d '\r' |
    awk -F': ' 'tolower($1) == "x-replica" {print $2}'; done | sort -u)
  check "the balancer on $ip answers from 4 replicas" eq "$(wc -l <<<"$replicas")" 4
  on_node2=$(grep -cxF -f <(echo "$node2_containers") <<<"$replicas" || true)
  check "the balancer on $ip reaches the replicas on node 2 too" eq "$on_node2" "$(tasks_on "$NAME-echo" | grep -c "$(node_get /info | jq -r .Swarm.NodeID)")"
done

start_hey "$WORK/hey.txt" -c 4 "http://$NODE_IP:$PORT/predict?msg=x"
sleep 2
"$MLDEPLOY" scale --replicas 2 -q >/dev/null 2>&1 || fail "scale to 2"
sleep 2
stop_hey
read -r total bad < <(hey_counts "$WORK/hey.txt")
check "requests went on through the scale ($total)" test "$total" -gt 50
check "0 failed requests through scale 4 -> 2 on two nodes" eq "$bad" 0 || hey_failures "$WORK/hey.txt"
check "2 tasks after the scale" eq "$(tasks_on "$NAME-echo" | wc -l)" 2

"$MLDEPLOY" down -q >/dev/null 2>&1 || fail "down"
check "down leaves no service" eq "$(engine_get "/services?filters=$(label_filter io.mldeploy.stack=$NAME)" | jq length)" 0
for i in $(seq 1 40); do [ "$(node_get "/containers/json?all=true" | jq length)" = 0 ] && break; sleep 0.5; done
check "and no container on node 2" eq "$(node_get "/containers/json?all=true" | jq length)" 0
finish
