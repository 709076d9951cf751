#!/usr/bin/env bash
# `-s NAME` of a stack that has nothing on the engine: ps, scale and logs exit 2
# and name the stacks that are deployed; down exits 0 with nothing to remove (a
# second down is a no-op). A stack with only its network counts as deployed.
source "$(dirname "$0")/lib.sh"
require_engine

NONE=tsnone$$
NET_STACK=tsnet$$
trap 'cleanup_stack $NET_STACK; rm -rf "$WORK"' EXIT
cd "$WORK"

# Only a network carrying the stack label, made through the engine's own API.
if [[ $API == */libpod ]]; then
  body=$(jq -n --arg n "${NET_STACK}_net" --arg s "$NET_STACK" '{name: $n, labels: {"io.mldeploy.stack": $s}}')
else
  body=$(jq -n --arg n "${NET_STACK}_net" --arg s "$NET_STACK" '{Name: $n, Labels: {"io.mldeploy.stack": $s}}')
fi
curl -fsS --unix-socket "$SOCK" -H 'Content-Type: application/json' -d "$body" "http://d$API/networks/create" >/dev/null

for cmd in "ps" "ps --format json" "scale --replicas 2" "logs" "logs -f"; do
  rc=0; out=$(timeout 60 "$MLDEPLOY" -s "$NONE" $cmd 2>&1) || rc=$?
  check "$cmd -s of a stack not deployed exits 2" eq "$rc" 2
  check "$cmd says the stack is not deployed, and where" \
    contains "$out" "error: stack '$NONE' is not deployed on \(podman\|docker\) (unix://.*); deployed stacks: "
  check "$cmd lists the deployed stacks" contains "$out" "deployed stacks: .*$NET_STACK"
done

rc=0; out=$("$MLDEPLOY" -s "$NONE" down 2>&1) || rc=$?
check "down -s of a stack not deployed exits 0" eq "$rc" 0
check "down -s of a stack not deployed says nothing to remove" contains "$out" "stack $NONE: nothing to remove"

rc=0; out=$("$MLDEPLOY" -s "$NET_STACK" ps 2>&1) || rc=$?
check "ps of a stack with only its network exits 0" eq "$rc" 0
check "down of a stack with only its network removes it" "$MLDEPLOY" -s "$NET_STACK" down -q
check "no network of the stack remains" eq "$(count_networks io.mldeploy.stack=$NET_STACK)" 0
finish
