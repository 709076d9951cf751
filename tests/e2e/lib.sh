# Shared helpers for the end-to-end tests: they drive the real mldeploy binary
# against the real engine and ask the engine directly what exists.
set -euo pipefail

MLDEPLOY=${MLDEPLOY:?set MLDEPLOY to the mldeploy binary}
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SOCK=${ENGINE_SOCK:-/run/podman/podman.sock}
API=${ENGINE_API:-/v4.0.0/libpod}
WORK=$(mktemp -d /tmp/mldeploy-e2e.XXXXXX)
CHECKS=0
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; CHECKS=$((CHECKS + 1)); }
check() {  # check "what" command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  echo "$CHECKS passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}

# The engine must answer: in CI a missing engine is a failure, never a skip.
require_engine() {
  if ! curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null; then
    echo "FAIL: no engine answers on $SOCK (run packaging/install-deps.sh)" >&2
    exit 1
  fi
}

engine_get() { curl -fsS --unix-socket "$SOCK" "http://d$API$1"; }

# Containers (all states) and networks carrying every label given as KEY=VALUE.
label_filter() { jq -rn '{label: $ARGS.positional} | tojson | @uri' --args "$@"; }
count_containers() { engine_get "/containers/json?all=true&filters=$(label_filter "$@")" | jq length; }
# Podman's libpod API lists networks at /networks/json, Docker's at /networks.
count_networks() { local p=/networks/json; [[ $API == */libpod ]] || p=/networks; engine_get "$p?filters=$(label_filter "$@")" | jq length; }
container_ids() { engine_get "/containers/json?all=true&filters=$(label_filter "$@")" | jq -r '.[].Id' | sort; }

# Removes whatever a test left, even when it failed half-way: the stack, and the
# images it built, which the tests tag localhost/<stack>/... (by tag, so that an
# image another test tagged too stays for that one).
cleanup_stack() {
  local name=$1 ref
  "$MLDEPLOY" down -s "$name" -q >/dev/null 2>&1 || true
  for ref in $(engine_get /images/json 2>/dev/null | jq -r --arg p "localhost/$name/" \
      '.[].RepoTags[]? | select(startswith($p))' 2>/dev/null); do
    curl -fsS -X DELETE --unix-socket "$SOCK" "http://d$API/images/$ref" >/dev/null 2>&1 || true
  done
}

eq() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'" >&2; return 1; }; }
contains() { grep -q -- "$2" <<<"$1" || { echo "  '$2' not in: $1" >&2; return 1; }; }

# Sends requests in a loop until $WORK/stop-load exists; writes one status code a line.
start_load() {  # start_load URL OUTFILE
  rm -f "$WORK/stop-load"
  (
    while [ ! -e "$WORK/stop-load" ]; do
      curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "$1" || echo "000"
    done >"$2"
  ) &
  LOAD_PID=$!
}
stop_load() {
  touch "$WORK/stop-load"
  wait "$LOAD_PID" || true
}

# A bounded load generator (hey) in the background: stops itself after
# $LOAD_SECONDS (default 300) or at stop_hey, whichever is first.
start_hey() {  # start_hey OUTFILE hey-args... URL
  local outfile=$1; shift
  hey -z "${LOAD_SECONDS:-300}s" -t 60 "$@" >"$outfile" 2>&1 &
  HEY_PIDS="${HEY_PIDS:-} $!"
}
stop_hey() {
  local pid
  for pid in ${HEY_PIDS:-}; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in ${HEY_PIDS:-}; do wait "$pid" 2>/dev/null || true; done
  HEY_PIDS=""
}
# "TOTAL BAD" from a hey report: every response and error; BAD = not 2xx, or an error.
# hey's status and error distributions, for a report when requests failed.
hey_failures() {
  awk '/^Status code distribution:/ {p=1} /^Error distribution:/ {p=1} p && NF {print "  hey: " $0}' "$1"
}
hey_counts() {
  awk '
    /^Status code distribution:/ {mode="status"; next}
    /^Error distribution:/ {mode="error"; next}
    mode=="status" && /\[[0-9]+\]/ {gsub(/[\[\]]/,"",$1); total+=$2; if ($1 < 200 || $1 > 299) bad+=$2}
    mode=="error" && /\[[0-9]+\]/ {gsub(/[\[\]]/,"",$1); total+=$1; bad+=$1}
    END {print total+0, bad+0}' "$1"
}
