#!/usr/bin/env bash
# One GPU per replica (issue 14), on Podman's CDI: a spec of this test's own
# under /etc/cdi whose four nvidia.com/gpu devices only set GPU_ID=0..3 (no GPU
# on this machine). Four replicas with gpus = 1 each see a different one, and
# `ps` names it; a fifth (scale, or a new stack) is refused at plan time with
# the count: exit 2, nothing created. share_gpus = true lets a fifth reuse
# device 0. Registered on Podman only (Docker has no CDI: its request bodies are
# unit-tested in gpus_test.cpp).
source "$(dirname "$0")/lib.sh"
require_engine

NAME=${E2E_STACK_PREFIX:-gp}gpu$$
PORT=$((23000 + $$ % 50))
SPEC=/etc/cdi/mldeploy-e2e-$NAME.yaml
trap 'cleanup_stack $NAME; cleanup_stack ${NAME}x; rm -f "$SPEC"; rm -rf "$WORK"' EXIT

mkdir -p /etc/cdi
{
  echo 'cdiVersion: "0.5.0"'
  echo 'kind: nvidia.com/gpu'
  echo 'devices:'
  for i in 0 1 2 3; do
    printf -- '- name: "%s"\n  containerEdits:\n    env:\n    - GPU_ID=%s\n' "$i" "$i"
  done
  echo '- name: all'
  echo '  containerEdits:'
  echo '    env:'
  echo '    - GPU_ID=all'
} >"$SPEC"

stack_file() {  # stack_file NAME REPLICAS [extra resources line]
  cat <<TOML
name = "$1"
[services.llm]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = $2
[services.llm.health]
path = "/healthz"
start_period = "20s"
[services.llm.resources]
gpus = 1
${3:-}
[balancer]
port = $PORT
TOML
}

# The model's own environment (PID 1's): Podman gives a CDI device's env to the
# container's process, not to later execs.
gpu_of() {  # gpu_of STACK_FILE REPLICA
  "$MLDEPLOY" exec -f "$1" -r "$2" -- sh -c 'tr "\0" "\n" </proc/1/environ | sed -n "s/^GPU_ID=//p"'
}

stack_file "$NAME" 4 >"$WORK/stack.toml"
"$MLDEPLOY" up -q -f "$WORK/stack.toml" >/dev/null || { fail "up with 4 replicas on 4 GPUs"; finish; exit 1; }

seen=""
for r in 1 2 3 4; do
  gpu=$(gpu_of "$WORK/stack.toml" "$r")
  check "replica $r sees GPU $((r - 1))" eq "$gpu" "$((r - 1))"
  seen="$seen $gpu"
done
check "four replicas, four different GPUs" eq "$(tr ' ' '\n' <<<"$seen" | sed '/^$/d' | sort -u | wc -l)" 4

ps_json=$("$MLDEPLOY" ps -f "$WORK/stack.toml" --format json --no-probe)
check "ps --format json: each replica's GPU" eq \
  "$(jq -c '[.[] | select(.role == "model") | {(.name): .gpus}] | add' <<<"$ps_json")" \
  "{\"$NAME-llm-1\":[\"0\"],\"$NAME-llm-2\":[\"1\"],\"$NAME-llm-3\":[\"2\"],\"$NAME-llm-4\":[\"3\"]}"
ps_text=$("$MLDEPLOY" ps -f "$WORK/stack.toml" --no-probe)
check "ps: a GPUS column" contains "$ps_text" "GPUS"
check "ps: replica 3 on GPU 2" grep -qE "^$NAME-llm-3 .* 2 " <<<"$ps_text"

# A fifth replica: refused before anything changes.
ids_before=$(container_ids io.mldeploy.stack=$NAME)
rc=0; out=$("$MLDEPLOY" scale -f "$WORK/stack.toml" --replicas 5 2>&1) || rc=$?
echo "$out" | tail -1
check "scale to 5: exit 2" eq "$rc" 2
check "scale to 5: says how many GPUs there are" contains "$out" "need 5 GPUs; this host has 4"
check "scale to 5: at the gpus key" contains "$out" "stack.toml:11:"
check "scale to 5: nothing changed" eq "$(container_ids io.mldeploy.stack=$NAME)" "$ids_before"

stack_file "${NAME}x" 5 >"$WORK/five.toml"
rc=0; out=$("$MLDEPLOY" up -f "$WORK/five.toml" 2>&1) || rc=$?
echo "$out" | tail -1
check "a new stack of 5: exit 2" eq "$rc" 2
check "a new stack of 5: says how many" contains "$out" "this host has 4"
check "a new stack of 5: no container" eq "$(count_containers io.mldeploy.stack=${NAME}x)" 0
check "a new stack of 5: no network" eq "$(count_networks io.mldeploy.stack=${NAME}x)" 0

# Sharing asked for: the fifth replica reuses device 0, the others keep theirs.
stack_file "$NAME" 5 "share_gpus = true" >"$WORK/stack.toml"
"$MLDEPLOY" up -q -f "$WORK/stack.toml" >/dev/null || fail "up with 5 replicas sharing 4 GPUs"
check "shared: replica 5 sees GPU 0" eq "$(gpu_of "$WORK/stack.toml" 5)" 0
check "shared: replica 2 still sees GPU 1" eq "$(gpu_of "$WORK/stack.toml" 2)" 1
check "shared: the first four were not replaced" eq \
  "$(container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model | grep -c -F -f <(echo "$ids_before"))" 4
finish
