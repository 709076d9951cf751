#!/usr/bin/env bash
# `mldeploy traffic` (issue 13): two versions of a model behind one route. It
# shows the live split with what the balancer measured (no [metrics] table),
# moves it 100/0 -> 50/50 -> 0/100 under a hey load with no failed request and
# the measured split within a few points; an `up` of the unchanged file keeps
# the live split, an `up` that changes the route applies the file and says so.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=tr-shift$$
PORT=$((19750 + $$ % 50))
trap 'stop_hey; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
MODEL="$REPO/tests/e2e/models/versioned"

stack_file() {  # stack_file V1_WEIGHT V2_WEIGHT
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.v1]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = 2
env = { VERSION = "1" }
[services.v1.health]
path = "/healthz"
interval = "500ms"
[services.v2]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
env = { VERSION = "2" }
[services.v2.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $PORT
[[balancer.routes]]
path = "/"
backends = [{ service = "v1", weight = $1 }, { service = "v2", weight = $2 }]
[[balancer.routes]]
path = "/admin"
service = "v1"
TOML
}
stack_file 100 0
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

# count.py URL N: N requests over keep-alive connections (4 threads); "version count" lines.
cat >"$WORK/count.py" <<'PY'
import collections, http.client, sys, threading, urllib.parse
url, n = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
counts, lock = collections.Counter(), threading.Lock()
def work(part):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for i in part:
        c.request("GET", url.path); r = c.getresponse(); r.read()
        v = r.getheader("X-Model-Version") if r.status == 200 else "status-%d" % r.status
        with lock: counts[v] += 1
threads = [threading.Thread(target=work, args=(range(t, n, 4),)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
for v, c in sorted(counts.items()): print(v, c)
PY
count() { /usr/bin/python3 "$WORK/count.py" "http://127.0.0.1:$PORT/predict" "$1"; }
weights() { jq -r '.routes[] | select(.path=="/") | [.backends[].weight] | map(tostring) | join("/")' <<<"$1"; }

# 1. The file's split, 100/0; the route to one service shows 100.
shown=$("$MLDEPLOY" traffic --format json) || fail "traffic (show)"
check "traffic shows the file's split 100/0" eq "$(weights "$shown")" "100/0"
check "the split is the file's, not a live one" eq "$(jq -r '.routes[0].live' <<<"$shown")" "false"
check "the /admin route is shown" eq "$(jq -r '.routes[1].backends[0].weight' <<<"$shown")" "100"
"$MLDEPLOY" traffic || fail "traffic (table)"

# 2. Wrong splits: exit 2, what would be right, nothing changed.
bad() {  # bad "what" expected-text args...
  local what=$1 want=$2; shift 2
  local said status=0
  said=$("$MLDEPLOY" traffic "$@" 2>&1) || status=$?
  check "$what: exit 2" eq "$status" 2
  check "$what: says what would be right" contains "$said" "$want"
}
bad "percents that do not sum to 100" "sum to 110, not 100" v1=60 v2=50
bad "a service behind no route" "its routes: / (v1, v2), /admin (v1)" v1=50 v3=50
bad "a service not behind the route given" "its backends: v1, v2" --route / v1=50 v3=50
bad "a route that does not exist" "its routes: / (v1, v2), /admin (v1)" --route /nope v1=100
bad "a route with one service" "sends every request to v1" --route /admin v1=100
check "nothing changed" eq "$(weights "$("$MLDEPLOY" traffic --format json)")" "100/0"

# 3. Under load: 100/0 -> 50/50 -> 0/100, no failed request.
LOAD_SECONDS=300 start_hey "$WORK/hey" -c 4 "http://127.0.0.1:$PORT/predict"
sleep 2
said=$("$MLDEPLOY" traffic v1=50 v2=50) || fail "traffic v1=50 v2=50"
echo "$said"
check "traffic says the old and new split" contains "$said" "route /: v1 100, v2 0 -> v1 50, v2 50"
count 2000 >"$WORK/half"; cat "$WORK/half"
v2=$(awk '$1=="2"{print $2}' "$WORK/half")
check "every counted request answered 200" eq "$(awk '$1 ~ /^status/' "$WORK/half")" ""
check "v2 answers 50% of 2000 within 4 points" test "${v2:-0}" -ge 920 -a "${v2:-0}" -le 1080
sleep 4  # the window below holds only requests after the shift
shown=$("$MLDEPLOY" traffic --window 3 --format json) || fail "traffic (show, under load)"
jq -c '.routes[0]' <<<"$shown"
check "traffic shows the live split 50/50" eq "$(weights "$shown")" "50/50"
check "the split is live" eq "$(jq -r '.routes[0].live' <<<"$shown")" "true"
share=$(jq -r '.routes[0].backends[1].share * 1000 | floor' <<<"$shown")
requests=$(jq -r '[.routes[0].backends[].requests] | add' <<<"$shown")
echo "  measured by traffic: v2 $share per mille of $requests requests"
check "traffic measured requests" test "${requests:-0}" -ge 200
check "traffic's measured v2 share is 50% within 6 points" test "${share:-0}" -ge 440 -a "${share:-0}" -le 560
check "no 5xx measured" eq "$(jq -r '[.routes[0].backends[].errors] | add' <<<"$shown")" "0"
check "a p95 measured" test "$(jq -r '.routes[0].backends[0].p95_seconds > 0' <<<"$shown")" = true
"$MLDEPLOY" traffic --route / | tee "$WORK/table"
check "the table shows the file's weight beside the live one" contains "$(cat "$WORK/table")" "50% (file 100%)"

said=$("$MLDEPLOY" traffic v2=100) || fail "traffic v2=100"
check "traffic v2=100 moves to 0/100" contains "$said" "v1 50, v2 50 -> v1 0, v2 100"
count 1000 >"$WORK/all2"; cat "$WORK/all2"
check "v2 answers every request" eq "$(cat "$WORK/all2")" "2 1000"
sleep 1
stop_hey
read -r total bad_count < <(hey_counts "$WORK/hey")
echo "  hey: $total requests, $bad_count failed"
[ "${bad_count:-1}" = 0 ] || hey_failures "$WORK/hey"
check "hey sent requests throughout" test "${total:-0}" -ge 500
check "no request failed while the split moved" eq "$bad_count" 0

# 4. `scale` from the file, then `up` with the unchanged file, keep the live split.
"$MLDEPLOY" scale v1 --replicas 1 -q >/dev/null || fail "scale v1 --replicas 1"
check "the live split survived scale" eq "$(weights "$("$MLDEPLOY" traffic --format json)")" "0/100"
said=$("$MLDEPLOY" up 2>&1) || fail "up (unchanged file)"
check "up says the live split stays" contains "$said" "route /: the live split 0/100 set by \`mldeploy traffic\` stays"
check "the live split survived up" eq "$(weights "$("$MLDEPLOY" traffic --format json)")" "0/100"
count 300 >"$WORK/kept"
check "v2 still answers every request" eq "$(cat "$WORK/kept")" "2 300"

# 5. `up` with the route changed in the file: the file's split applies, and up says so.
stack_file 50 50
said=$("$MLDEPLOY" up 2>&1) || fail "up (changed route)"
check "up says the file's split replaces the live one" contains "$said" \
  "route /: the file's split 50/50 replaces the live split 0/100"
shown=$("$MLDEPLOY" traffic --format json)
check "the file's split applies" eq "$(weights "$shown")" "50/50"
check "no live split is left" eq "$(jq -r '.routes[0].live' <<<"$shown")" "false"
count 1000 >"$WORK/file"; cat "$WORK/file"
v2=$(awk '$1=="2"{print $2}' "$WORK/file")
check "v2 answers 50% of 1000 within 6 points" test "${v2:-0}" -ge 440 -a "${v2:-0}" -le 560
finish
