#!/usr/bin/env bash
# Shadow traffic (issue 13): a route's `mirror` copies its requests to a
# candidate whose answers are discarded. A slow candidate (2 s an answer) and a
# failing one (500s) never fail the client nor slow it: the mirrored route's
# p99 stays within noise of a plain route's, measured at the same time against
# the same primary over keep-alive connections (nginx's mirror alone would hold
# each connection's next request for the candidate's 2 s). The copies are
# counted at the candidates by the balancer's own log ([metrics]): every one for
# mirror_percent 100, about half for 50, each with the candidate's own answer.
source "$(dirname "$0")/lib.sh"
require_engine

if [[ $API == */libpod ]]; then ENGINE=podman; PORT=19800; MPORT=19801; else ENGINE=docker; PORT=19810; MPORT=19811; fi
NAME=mi-$ENGINE-mirror
trap 'stop_hey; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cleanup_stack "$NAME"
MODEL="$REPO/tests/e2e/models/versioned"
N=1000  # requests per route

cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.a]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = 2
env = { VERSION = "a" }
[services.a.health]
path = "/healthz"
interval = "500ms"
[services.slow]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
env = { VERSION = "slow", DELAY_MS = "2000" }
[services.slow.health]
path = "/healthz"
interval = "500ms"
[services.failing]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
env = { VERSION = "failing", STATUS = "500" }
[services.failing.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $PORT
[[balancer.routes]]
path = "/plain"
service = "a"
strip_prefix = true
[[balancer.routes]]
path = "/mirror"
service = "a"
strip_prefix = true
mirror = "slow"
[[balancer.routes]]
path = "/half"
service = "a"
strip_prefix = true
mirror = "failing"
mirror_percent = 50
[metrics]
port = $MPORT
TOML
cd "$WORK"
"$MLDEPLOY" up -q >up.out 2>&1 || { cat up.out >&2; fail "up"; finish; exit 1; }
BASE=http://127.0.0.1:$PORT

METRICS=http://127.0.0.1:$MPORT/metrics
total() {  # total SERVICE [CODE]: requests the balancer logged for SERVICE's replicas
  curl -fsS "$METRICS" | awk -v s="$1" -v code="${2:-}" '
    /^mldeploy_requests_total\{/ && index($0, "service=\"" s "\"") && (code == "" || index($0, "code=\"" code "\"")) {n += $2}
    END {print n + 0}'
}
settled() {  # settled SERVICE: bounded wait until SERVICE's count stops moving; prints it
  local last=-1 now
  for _ in $(seq 1 60); do
    now=$(total "$1"); [ "$now" = "$last" ] && [ "$now" != 0 ] && break
    last=$now; sleep 1
  done
  echo "$now"
}
p99() { awk '/ 99% in / {print $3}' "$1"; }
p50() { awk '/ 50% in / {print $3}' "$1"; }
slow_before=$(total slow)
failing_before=$(total failing)

# 1. The plain and the mirrored route at the same time, at the same rate, over
# keep-alive connections: the same noise for both. Bounded: 5 connections x 40/s.
hey -n $N -c 5 -q 40 -t 30 "$BASE/plain/predict" >plain.out 2>&1 &
P1=$!
hey -n $N -c 5 -q 40 -t 30 "$BASE/mirror/predict" >mirror.out 2>&1 &
P2=$!
wait $P1 $P2 || true
read -r total_plain bad_plain < <(hey_counts plain.out)
read -r total_mirror bad_mirror < <(hey_counts mirror.out)
check "plain route: $N answered, none failed" eq "$total_plain $bad_plain" "$N 0" || hey_failures plain.out
check "mirrored route (slow candidate): $N answered, none failed" eq "$total_mirror $bad_mirror" "$N 0" ||
  hey_failures mirror.out
plain_p99=$(p99 plain.out); mirror_p99=$(p99 mirror.out)
echo "  client p50/p99: plain route $(p50 plain.out)s/${plain_p99}s," \
  "route mirrored to a 2 s candidate $(p50 mirror.out)s/${mirror_p99}s"
# Within noise: at most twice the plain route's, plus 20 ms; a copy that held the
# connection would add the candidate's 2 s to most of the next requests.
check "the mirrored route's p99 is within noise of the plain route's" \
  awk -v m="$mirror_p99" -v p="$plain_p99" 'BEGIN {exit !(m != "" && p != "" && m <= 2 * p + 0.020)}'

slow_copies=$(( $(settled slow) - slow_before ))
echo "  copies logged at the slow candidate: $slow_copies of $N"
check "every request's copy reached the slow candidate (98% at least)" test "$slow_copies" -ge $((N * 98 / 100)) -a "$slow_copies" -le "$N"
check "the slow candidate's copies got its answers (200), not cut short" eq "$(( $(total slow 200) - slow_before ))" "$slow_copies"
top=$("$MLDEPLOY" top --once --format json 2>&1)
slow_p50=$(jq '[.replicas[] | select(.service == "slow") | .p50_seconds] | max' <<<"$top" 2>/dev/null)
a_p50=$(jq '[.replicas[] | select(.service == "a") | .p50_seconds] | max' <<<"$top" 2>/dev/null)
echo "  top: p50 of the candidate ${slow_p50}s, of the primary ${a_p50}s"
check "top shows the candidate's own latency (its 2 s), beside the primary's" \
  awk -v s="$slow_p50" -v a="$a_p50" 'BEGIN {exit !(s >= 1.5 && s > 10 * a)}'

tr=$("$MLDEPLOY" traffic --route /mirror --window 60 --format json 2>&1)
tr_svc=$(jq -r '.routes[0].mirror.service' <<<"$tr" 2>/dev/null)
tr_req=$(jq -r '.routes[0].mirror.requests' <<<"$tr" 2>/dev/null)
tr_p95=$(jq -r '.routes[0].mirror.p95_seconds' <<<"$tr" 2>/dev/null)
tr_a95=$(jq -r '.routes[0].backends[0].p95_seconds' <<<"$tr" 2>/dev/null)
echo "  traffic: the candidate $tr_svc answered $tr_req copies, p95 ${tr_p95}s; the primary's p95 ${tr_a95}s"
check "traffic shows the mirror's candidate with its own latency beside the primary's" \
  awk -v s="$tr_svc" -v n="$tr_req" -v p="$tr_p95" -v a="$tr_a95" 'BEGIN {exit !(s == "slow" && n > 0 && p >= 1.5 && p > 10 * a)}'
check "traffic's table has the candidate's row" contains "$("$MLDEPLOY" traffic --route /mirror 2>&1)" "slow .*mirror 100%.*copies; its answers are discarded"

# 2. A failing candidate at mirror_percent 50: the client never sees its 500s.
hey -n $N -c 5 -q 40 -t 30 "$BASE/half/predict" >half.out 2>&1 || true
read -r total_half bad_half < <(hey_counts half.out)
check "mirrored route (failing candidate): $N answered, none failed" eq "$total_half $bad_half" "$N 0" ||
  hey_failures half.out
failing_copies=$(( $(settled failing) - failing_before ))
echo "  copies logged at the failing candidate: $failing_copies of $N (mirror_percent 50)"
check "about half the requests were copied (50% within 8 points)" test "$failing_copies" -ge $((N * 42 / 100)) -a "$failing_copies" -le $((N * 58 / 100))
check "the failing candidate's copies are counted as its errors (500)" eq "$(( $(total failing 500) - failing_before ))" "$failing_copies"

# 3. The candidates are never answered from: the primary answered everything.
check "no client answer came from a candidate" eq "$(curl -fsS "$BASE/half/predict" "$BASE/mirror/predict" | jq -r .version | sort -u)" a
finish
