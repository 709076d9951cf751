#!/usr/bin/env bash
# A replica that asks for GPUs on a machine without one. A count is checked
# against the host's GPUs at plan time (Podman: its CDI specs; Docker: the
# NVIDIA device nodes): exit 2 saying the host has none, nothing created.
# "all" leaves it to the engine, which refuses the device at start (Podman: no
# CDI spec; Docker: no nvidia runtime): `up` exits 1 with the engine's own
# message, and leaves nothing behind. An autoscaled service is checked at its
# max replicas.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2egpu$$
PORT=$((20000 + ($$ + 5) % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT
for gpus in '"all"' 1; do
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.llm]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
[services.llm.resources]
gpus = $gpus
[balancer]
port = $PORT
TOML
  rc=0; out=$("$MLDEPLOY" up -f "$WORK/stack.toml" 2>&1) || rc=$?
  echo "$out" | tail -2
  if [ "$gpus" = 1 ]; then
    check "gpus = 1: up exits 2 (plan time)" eq "$rc" 2
    check "gpus = 1: says the host has none, at the key" grep -q 'stack.toml:7:.*need 1 GPU; this host has none' <<<"$out"
  else
    check "gpus = $gpus: up exits 1" eq "$rc" 1
    check "gpus = $gpus: the engine's reason reaches the user" grep -qiE 'CDI|nvidia|device' <<<"$out"
  fi
  check "gpus = $gpus: no container left" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
  check "gpus = $gpus: no network left" eq "$(count_networks io.mldeploy.stack=$NAME)" 0
done

# An autoscaled service is judged at its max: every replica it may grow to needs its GPU.
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.llm]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
[services.llm.resources]
gpus = 1
[services.llm.autoscale]
min = 1
max = 3
[balancer]
port = $PORT
TOML
rc=0; out=$("$MLDEPLOY" up -f "$WORK/stack.toml" 2>&1) || rc=$?
echo "$out" | tail -2
check "autoscale max 3 x gpus = 1: up exits 2 (plan time)" eq "$rc" 2
check "autoscale: says max x gpus and that the host has none" \
  grep -q 'stack.toml:7:.*autoscale max = 3 replicas x gpus = 1 need 3 GPUs; this host has none' <<<"$out"
check "autoscale: no container left" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
finish
