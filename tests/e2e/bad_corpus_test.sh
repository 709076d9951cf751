#!/usr/bin/env bash
# The corpus of broken stack files (tests/bad-stacks), broken command lines, and
# failures only the engine can see.
#
# Each tests/bad-stacks/*.toml starts with comment lines:
#   # expect: TEXT      the message must contain TEXT (one or more lines)
#   # at: LINE:COL      the message must contain FILE:LINE:COL: (zero or more lines)
# `up -f FILE` and `config -f FILE` must exit 2 with those, and nothing labelled
# with the file's stack name may exist on the engine afterwards.
#
# The engine cases (missing image, failing build, balancer port taken) must exit 1
# with the engine's message and leave no container and no network of the stack.
source "$(dirname "$0")/lib.sh"
require_engine

CORPUS=$REPO/tests/bad-stacks
STACK_LABEL=io.mldeploy.stack
BAD_IMAGE_TAG=localhost/bad-corpus/echo:1
ENGINE_STACKS=(bad-engine-no-image bad-engine-build-fails bad-engine-port-taken)
HTTP_PID=

cleanup() {
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
  for s in "${ENGINE_STACKS[@]}"; do cleanup_stack "$s"; done
  curl -s -o /dev/null --unix-socket "$SOCK" -X DELETE "http://d$API/images/$BAD_IMAGE_TAG" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

# The corpus refers to these to be sure they are unset.
unset MLDEPLOY_BAD_CORPUS_UNSET MLDEPLOY_BAD_CORPUS_TAG

# A fixed-string "contains" (expected texts hold [, ], $, ., ?), without a process.
has() { [[ "$1" == *"$2"* ]] || { echo "  '$2' not in: $1" >&2; return 1; }; }
no_crash() { ! [[ "$1" =~ terminate\ called|[Ss]anitizer|[Ss]egmentation|core\ dumped|[Aa]borted ]]; }
nothing_of() {  # nothing_of STACK-NAME: no container, no network labelled with it
  local got
  got="$(count_containers "$STACK_LABEL=$1") containers, $(count_networks "$STACK_LABEL=$1") networks"
  eq "$got" "0 containers, 0 networks"
}
# Each file's stack name: the string of its first `name = "..."` line, TOML escapes
# decoded (enough for the corpus: \n \" \\ \uXXXX); empty when there is none.
# Printed as FILE NUL NAME NUL pairs.
stack_names() {
  python3 - "$@" <<'PY'
import json, re, sys
for path in sys.argv[1:]:
    name = ""
    for line in open(path, "rb").read().decode("utf-8", "replace").splitlines():
        m = re.fullmatch(r'name *= *"(.*)" *', line)
        if m:
            try:
                name = json.loads('"' + m.group(1) + '"')
            except ValueError:
                name = m.group(1)
            break
    sys.stdout.write(path + "\0" + name.replace("\0", "") + "\0")
PY
}
# Every io.mldeploy.stack value on the engine (containers of any state, networks).
# Podman's libpod API lists networks at /networks/json with .labels, Docker's at
# /networks with .Labels.
engine_stack_labels() {
  local networks=/networks/json
  [[ $API == */libpod ]] || networks=/networks
  engine_get "/containers/json?all=true&filters=$(label_filter "$STACK_LABEL")" |
    jq -r '.[] | .Labels["io.mldeploy.stack"] | @json'
  engine_get "$networks?filters=$(label_filter "$STACK_LABEL")" |
    jq -r '.[] | (.labels // .Labels)["io.mldeploy.stack"] | @json'
}
run() {  # run ARGS...: sets OUT (stdout+stderr) and RC
  RC=0
  OUT=$(timeout 120 "$MLDEPLOY" "$@" 2>&1) || RC=$?
}

# ---- the corpus ------------------------------------------------------------------------------
files=("$CORPUS"/*.toml)
check "corpus has at least 45 files (${#files[@]})" test "${#files[@]}" -ge 45
declare -A name_of=() seen_names=()
while IFS= read -r -d '' f && IFS= read -r -d '' n; do name_of[$f]=$n; done < <(stack_names "${files[@]}")

for file in "${files[@]}"; do
  base=$(basename "$file")
  mapfile -t expects < <(LC_ALL=C sed -n 's/^# expect: //p' "$file")
  mapfile -t ats < <(LC_ALL=C sed -n 's/^# at: //p' "$file")
  first=$(LC_ALL=C head -c 10 "$file")
  check "$base: starts with an '# expect:' line" eq "$first" "# expect: "
  check "$base: has a non-empty '# expect:'" test -n "${expects[0]:-}"
  name=${name_of[$file]}
  shown=${name@Q}  # newlines and control characters escaped, for the check's title
  if [ -n "$name" ]; then
    check "$base: stack name $shown is unique in the corpus" test -z "${seen_names[$name]:-}"
    seen_names[$name]=$base
  fi
  for cmd in up config; do
    run "$cmd" -f "$file"
    check "$base: $cmd exits 2" eq "$RC" 2
    for e in "${expects[@]}"; do check "$base: $cmd says '$e'" has "$OUT" "$e"; done
    for a in "${ats[@]}"; do check "$base: $cmd points at $a" has "$OUT" "$file:$a:"; done
    check "$base: $cmd does not crash" no_crash "$OUT"
  done
done

# Ask the engine once for every stack label, then check each file's name (and the
# empty name) against that.
declare -A on_engine=()
empty_label=no
while IFS= read -r l; do
  value=$(jq -r . <<<"$l")
  if [ -z "$value" ]; then empty_label=yes; else on_engine[$value]=1; fi
done < <(engine_stack_labels | sort -u)
check "nothing on the engine with an empty stack name" eq "$empty_label" no
for file in "${files[@]}"; do
  name=${name_of[$file]}
  [ -n "$name" ] || continue
  check "$(basename "$file"): nothing on the engine for ${name@Q}" test -z "${on_engine[$name]:-}"
done
# And once by label filter for a few of the names the engine might mangle.
for n in "bad-name;rm -rf" "bad name space" $'bad-name\nnewline' "bad-näme-non-ascii" "bad-port-zero"; do
  check "engine filter for ${n@Q}: nothing" nothing_of "$n"
done

# ---- bad command lines: exit 2, nothing done ------------------------------------------------
GOOD=$WORK/good.toml
cat >"$GOOD" <<TOML
name = "bad-cli-good-file"
[services.m]
image = "localhost/bad/m:1"
port = 5000
[balancer]
port = 18901
TOML
run config -f "$GOOD"
check "the valid file used below is valid" eq "$RC" 0

run upp -f "$GOOD"
check "unknown command: exit 2" eq "$RC" 2
check "unknown command: says something" test -n "$OUT"
echo "  (unknown command 'upp' says: $(head -1 <<<"$OUT"))"
run conifg -f "$GOOD"
check "unknown command (config typo): exit 2" eq "$RC" 2
run up --no-such-flag -f "$GOOD"
check "unknown flag: exit 2" eq "$RC" 2
check "unknown flag: names it" has "$OUT" "--no-such-flag"
run scale m --replicas -1 -s bad-cli-none
check "--replicas -1: exit 2" eq "$RC" 2
check "--replicas -1: names the option" has "$OUT" "--replicas"
run scale m --replicas abc -s bad-cli-none
check "--replicas abc: exit 2" eq "$RC" 2
check "--replicas abc: names the value" has "$OUT" "abc"
run ps --format xml -s bad-cli-none
check "--format xml: exit 2" eq "$RC" 2
check "--format xml: names the value" has "$OUT" "xml"
run ps -H tcp://1.2.3.4:2375 -s bad-cli-none
check "-H tcp://: exit 2" eq "$RC" 2
check "-H tcp://: says unix sockets only" has "$OUT" "unix"
run ps --engine lxc -s bad-cli-none
check "--engine lxc: exit 2" eq "$RC" 2
check "--engine lxc: names the value" has "$OUT" "lxc"
run up -H tcp://1.2.3.4:2375 -f "$GOOD"
check "up -H tcp://: exit 2" eq "$RC" 2
run up "$GOOD" -f "$CORPUS/port-zero.toml"
check "two stack files (argument and -f): exit 2" eq "$RC" 2
check "two stack files: says so" has "$OUT" "two stack files"
run up -f "$GOOD" -f "$CORPUS/port-zero.toml"
check "two stack files (-f twice): exit 2" eq "$RC" 2
run config -f "$WORK/no-such-stack.toml"
check "missing stack file: exit 2" eq "$RC" 2
check "missing stack file: names it" has "$OUT" "no-such-stack.toml"
run config -f "$CORPUS"
check "a folder as stack file: exit 2" eq "$RC" 2
check "nothing of the valid file's stack was made" nothing_of bad-cli-good-file

# ---- what only the engine can tell: exit 1, the engine's message, nothing left -----------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
nothing_left() {  # nothing_left WHAT STACK
  check "$1: no container left" eq "$(count_containers "$STACK_LABEL=$2")" 0
  check "$1: no network left" eq "$(count_networks "$STACK_LABEL=$2")" 0
}

# An image that does not exist and cannot be pulled (no registry answers here).
cat >"$WORK/no-image.toml" <<TOML
name = "bad-engine-no-image"
[services.m]
image = "localhost/bad-corpus/no-such-image:404"
port = 5000
[balancer]
port = $(free_port)
TOML
run up -f "$WORK/no-image.toml"
echo "$OUT" | tail -4 | sed 's/^/  | /'
check "image cannot be pulled: exit 1" eq "$RC" 1
check "image cannot be pulled: names the image" has "$OUT" "localhost/bad-corpus/no-such-image:404"
check "image cannot be pulled: gives the engine's reason" bash -c 'grep -qiE "pull|manifest|connect|refused|not found|unknown|no such" <<<"$1"' _ "$OUT"
nothing_left "image cannot be pulled" bad-engine-no-image

# A build that fails.
mkdir -p "$WORK/failing-build"
cat >"$WORK/failing-build/Containerfile" <<'EOF'
FROM localhost/mldeploy/python:3.11
RUN echo "bad-corpus: this build step fails on purpose" && false
EOF
cat >"$WORK/build-fails.toml" <<TOML
name = "bad-engine-build-fails"
[services.m]
build = "./failing-build"
image = "localhost/bad-corpus/failing:1"
port = 5000
[balancer]
port = $(free_port)
TOML
run up -f "$WORK/build-fails.toml"
echo "$OUT" | tail -4 | sed 's/^/  | /'
check "failing build: exit 1" eq "$RC" 1
check "failing build: shows the build's output" has "$OUT" "this build step fails on purpose"
check "failing build: says the step failed" bash -c 'grep -qiE "exit status|non-zero|returned|error" <<<"$1"' _ "$OUT"
nothing_left "failing build" bad-engine-build-fails

# The balancer's host port is already taken by another program.
PORT=$(free_port)
python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
check "port $PORT is taken by the stand-in server" curl -s -o /dev/null "http://127.0.0.1:$PORT/"
cat >"$WORK/port-taken.toml" <<TOML
name = "bad-engine-port-taken"
[services.m]
build = "$REPO/examples/echo"
image = "$BAD_IMAGE_TAG"
port = 8000
[services.m.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $PORT
TOML
run up -f "$WORK/port-taken.toml"
echo "$OUT" | tail -4 | sed 's/^/  | /'
check "balancer port taken: exit 1" eq "$RC" 1
check "balancer port taken: names the port" has "$OUT" "$PORT"
check "balancer port taken: gives the engine's reason" bash -c 'grep -qiE "address already in use|bind|port" <<<"$1"' _ "$OUT"
nothing_left "balancer port taken" bad-engine-port-taken
check "the stand-in server still has its port" curl -s -o /dev/null "http://127.0.0.1:$PORT/"
kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null || true; HTTP_PID=

finish
