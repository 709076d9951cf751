#!/usr/bin/env bash
# The command line itself, through the real binary, with no engine needed:
# unknown commands, each command's --help, `mldeploy schema` checked by Taplo
# against stacks/ and the bad-stack corpus, and .env next to a stack file.
source "$(dirname "$0")/lib.sh"

trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

run() {  # run ARGS...: sets OUT (stdout+stderr) and RC
  RC=0
  OUT=$(timeout 60 "$MLDEPLOY" "$@" 2>&1) || RC=$?
}
has() { [[ "$1" == *"$2"* ]] || { echo "  '$2' not in: $1" >&2; return 1; }; }

# ---- unknown commands ---------------------------------------------------------------------
run scal --replicas 2
check "scal: exit 2" eq "$RC" 2
check "scal: did you mean scale" has "$OUT" "unknown command 'scal'; did you mean 'scale'?"
run -f stack.toml frobnicate m
check "an unknown command: exit 2" eq "$RC" 2
check "an unknown command: lists the commands" has "$OUT" "unknown command 'frobnicate'; the commands are: up, scale, restart, down"
run -q conifg
check "conifg after a flag: did you mean config" has "$OUT" "did you mean 'config'?"
run schema
check "schema is a command" eq "$RC" 0

# ---- --help of every command: the global options it reads, and an example ------------------
for cmd in up scale down ps logs build config version init schema; do
  run "$cmd" --help
  check "$cmd --help: exit 0" eq "$RC" 0
  check "$cmd --help: global options" has "$OUT" "Global options (before or after the command):"
  check "$cmd --help: -q" has "$OUT" "-q, --quiet"
  check "$cmd --help: an example" has "$OUT" "Example:"$'\n'"  mldeploy $cmd"
done
run scale --help
check "scale --help: -f, -s, -H" bash -c '[[ $1 == *"-f, --file PATH"* && $1 == *"-s, --stack NAME"* && $1 == *"-H, --host URL"* ]]' _ "$OUT"
run logs --help
check "logs --help: --file without -f (logs -f follows)" bash -c '[[ $1 == *"    --file PATH"* && $1 != *"-f, --file"* ]]' _ "$OUT"
run config --help
check "config --help: no -H (it never opens the engine)" bash -c '[[ $1 != *"--host"* ]]' _ "$OUT"

# ---- mldeploy schema, checked by Taplo ---------------------------------------------------
"$MLDEPLOY" schema >"$WORK/schema.json"
check "schema: valid JSON, draft-07" eq "$(jq -r '."$schema"' "$WORK/schema.json")" "http://json-schema.org/draft-07/schema#"
check "taplo is installed (packaging/install-deps.sh)" command -v taplo
SCHEMA_URL="file://$WORK/schema.json"
taplo_check() { taplo check --no-auto-config --colors never --schema "$SCHEMA_URL" "$@" >"$WORK/taplo.out" 2>&1; }

# Every stack of stacks/, and the stack.toml that `mldeploy init` writes, pass.
mkdir -p "$WORK/scaffold" && echo 'print("hi")' >"$WORK/scaffold/server.py"
"$MLDEPLOY" init "$WORK/scaffold" -q >/dev/null
good=("$REPO"/stacks/*.toml "$WORK/scaffold/stack.toml")
taplo_check "${good[@]}" && rc=0 || { rc=$?; cat "$WORK/taplo.out"; }
check "taplo: stacks/*.toml and init's stack.toml pass the schema (${#good[@]} files)" eq "$rc" 0
check "taplo: read them all" contains "$(cat "$WORK/taplo.out")" "found files total=${#good[@]} "

# What a schema cannot know: the files on disk, the other tables (routes to
# services), the environment (${VAR}), and a few rules past its patterns. These
# pass Taplo and only `mldeploy config` catches them; every other bad stack must
# fail Taplo. A file that moves from one side to the other fails here, so that
# this list stays true.
declare -A loader_only=(
  [balancer-timeout-short.toml]="a minimum duration (1s)"
  [build-context-dotdot-missing.toml]="the folder must exist"
  [build-context-is-file.toml]="the folder must exist"
  [build-context-missing.toml]="the folder must exist"
  [build-no-containerfile.toml]="a file in the context"
  [dockerfile-absolute-path.toml]="a file in the context"
  [dockerfile-dotdot-etc-passwd.toml]="a file in the context"
  [dockerfile-link-out.toml]="a file in the context"
  [dockerfile-missing.toml]="a file in the context"
  [dockerfile-outside-context.toml]="a file in the context"
  [duration-overflow.toml]="a number too large for milliseconds"
  [env-bad-reference.toml]="\${VAR} syntax"
  [env-lone-dollar.toml]="\${VAR} syntax"
  [env-unset-variable.toml]="the environment"
  [env-unterminated.toml]="\${VAR} syntax"
  [health-interval-zero.toml]="a minimum duration (1ms)"
  [job-name-is-service.toml]="the services of the stack"
  [interpolation-in-image-unset.toml]="the environment"
  [memory-too-small.toml]="a minimum size (6m)"
  [route-duplicate-path.toml]="paths across routes"
  [syntax-integer-overflow.toml]="an integer past 64 bits (Taplo's parser takes it)"
  [route-unknown-service-far.toml]="the services of the stack"
  [route-unknown-service-transposed.toml]="the services of the stack"
  [route-unknown-service.toml]="the services of the stack"
  [two-services-no-routes.toml]="the number of services"
  [volume-dotdot-missing.toml]="the host path must exist"
  [volume-missing-host-path.toml]="the host path must exist"
  [volume-source-nul.toml]="a NUL character"
  [volume-target-twice.toml]="targets across volumes"
  [port-variable-not-integer.toml]="the environment (\${VAR} in an integer)"
  [rollout-canary-autoscale.toml]="a canary with autoscale (across tables)"
  [rollout-canary-key-rolling.toml]="keys that depend on the strategy's value"
  [rollout-canary-no-route.toml]="the routes of the stack"
  [rollout-steps-falling.toml]="the order of the steps"
  [rollout-steps-not-100.toml]="the last step's value"
)
# One Taplo run for the whole corpus (Node's start-up is slow on a busy machine);
# it names each file it finds invalid: `invalid file error=... path="FILE"`.
bad=("$REPO"/tests/bad-stacks/*.toml)
taplo_check "${bad[@]}" || true
check "taplo read the whole corpus" contains "$(cat "$WORK/taplo.out")" "found files total=${#bad[@]} "
declare -A invalid=()
while IFS= read -r f; do invalid[$f]=1; done < <(sed -n 's/.*invalid file .* path="\(.*\)"$/\1/p' "$WORK/taplo.out")
for f in "${bad[@]}"; do
  base=$(basename "$f")
  if [ -n "${loader_only[$base]:-}" ]; then
    check "taplo: $base passes (only the loader knows: ${loader_only[$base]})" test -z "${invalid[$f]:-}"
  else
    check "taplo: $base fails the schema" test -n "${invalid[$f]:-}"
  fi
done

# ---- .env next to the stack file ---------------------------------------------------------
mkdir -p "$WORK/dotenv"
cat >"$WORK/dotenv/stack.toml" <<'TOML'
name = "cl-dotenv"
[services.m]
image = "localhost/cl-dotenv/m:${TAG}"
port = 5000
env = { GREETING = "${GREETING:-none}" }
[balancer]
port = 18201
TOML
cat >"$WORK/dotenv/.env" <<'ENV'
# tags for the demo
export TAG=from-dotenv
GREETING="hello from .env"
ENV
unset TAG GREETING
run config -f "$WORK/dotenv/stack.toml" --format json
check ".env: config exits 0" eq "$RC" 0
check ".env: TAG from .env" eq "$(jq -r '.services[0].image // .services.m.image' <<<"$OUT" 2>/dev/null)" "localhost/cl-dotenv/m:from-dotenv"
OUT=$(TAG=from-env "$MLDEPLOY" config -f "$WORK/dotenv/stack.toml" 2>&1)
check ".env: the environment wins" has "$OUT" "localhost/cl-dotenv/m:from-env"
check ".env: the rest still from .env" has "$OUT" "hello from .env"
printf 'TAG=1\nnot a line\n' >"$WORK/dotenv/.env"
run config -f "$WORK/dotenv/stack.toml"
check ".env broken: exit 2" eq "$RC" 2
check ".env broken: file:line:col" has "$OUT" "$WORK/dotenv/.env:2:1: expected NAME=VALUE"


# ---- a target from the flag is judged as the file's: a canary cannot go to a swarm ------------
mkdir -p "$WORK/flagtarget"
cat >"$WORK/flagtarget/stack.toml" <<'TOML'
name = "cl-flagtarget"
[services.m]
image = "localhost/cl-flagtarget/m:1"
port = 5000
[services.m.rollout]
strategy = "canary"
[balancer]
port = 18202
TOML
run up -f "$WORK/flagtarget/stack.toml" --target swarm
check "up --target swarm of a canary: exit 2" eq "$RC" 2
check "up --target swarm of a canary: file:line:col, and the flag named" has "$OUT" \
  "$WORK/flagtarget/stack.toml:5:1: [services.m.rollout] strategy = \"canary\" needs target = \"engine\": Swarm rolls a service's update itself; use strategy = \"rolling\" (this \`up\` has --target swarm)"

finish
