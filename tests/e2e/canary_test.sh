#!/usr/bin/env bash
# Canary rollouts (issue 13): `[services.m.rollout] strategy = "canary"`. Under a
# bounded hey load through the balancer:
#  1. a bad version (30% of its answers 500, set by env) fails its first step by
#     the balancer's own figures: `up` exits 1 naming the error rate, and every
#     replica runs the version that ran before; the only failed requests are the
#     bad version's own 500s (no connection error, no other status);
#  2. a good version passes every step and takes over with 0 failed requests;
#  3. Ctrl-C (SIGINT) during a canary rolls it back and exits 130;
#  4. a slow version (400 ms an answer) fails by its p95 over max_p95;
#  5. `up` killed (SIGKILL) while it judges: the next `up` drains and removes the
#     unjudged new replicas and runs the canary again, with 0 failed requests;
#  6. a new version with one more replica: the added replica starts only once the
#     canary passed (never when it failed), with 0 failed requests.
source "$(dirname "$0")/lib.sh"
require_engine

if [[ $API == */libpod ]]; then ENGINE=podman; PORT=19820; else ENGINE=docker; PORT=19830; fi
NAME=ca-$ENGINE
trap 'stop_hey; cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cleanup_stack "$NAME"
MODEL="$REPO/tests/e2e/models/versioned"

stack_file() {  # stack_file VERSION [ERROR_PERCENT] [DELAY_MS] [REPLICAS]
  cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.m]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = ${4:-2}
env = { VERSION = "$1", ERROR_PERCENT = "${2:-0}", DELAY_MS = "${3:-0}" }
[services.m.health]
path = "/healthz"
interval = "500ms"
[services.m.rollout]
strategy = "canary"
steps = [20, 100]
pause = "4s"
max_error_rate = "5%"
max_p95 = "250ms"
min_requests = 20
[balancer]
port = $PORT
TOML
}
BASE=http://127.0.0.1:$PORT
cd "$WORK"
stack_file v1
"$MLDEPLOY" up -q >up1.out 2>&1 || { cat up1.out >&2; fail "up v1"; finish; exit 1; }

versions() {  # the versions of 40 answers, sorted and counted
  for _ in $(seq 1 40); do curl -s -D - -o /dev/null "$BASE/predict" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-model-version" {print $2}'; done | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' '
}
replica_names() { engine_get "/containers/json?all=true&filters=$(label_filter io.mldeploy.stack=$NAME io.mldeploy.role=model)" | jq -r '.[].Names[0] | ltrimstr("/")' | sort | paste -sd' '; }
status_count() {  # status_count HEY_OUT CODE
  awk -v c="[$2]" '/^Status code distribution:/ {m=1; next} /^Error distribution:/ {m=0} m && $1 == c {n += $2} END {print n + 0}' "$1"
}
hey_errors() { awk '/^Error distribution:/ {m=1; next} m && /\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); n += $1} END {print n + 0}' "$1"; }

check "v1 serves on both replicas" eq "$(versions)" "v1=40"

# 1. A bad version: 30% of its answers are 500s. hey at 100 requests/s.
stack_file v2 30
check "up --dry-run says the change goes as a canary" \
  contains "$("$MLDEPLOY" up --dry-run 2>&1)" "canary of m: the new version beside the old, steps 20/100% each watched 4s"
start_hey bad.hey -c 4 -q 25 "$BASE/predict"
sleep 1
rc=0; "$MLDEPLOY" up >up2.out 2>&1 || rc=$?
sleep 1
stop_hey
cat up2.out
check "the bad canary: up exits 1" eq "$rc" 1
check "it failed at its first step, by its error rate over max_error_rate" \
  contains "$(cat up2.out)" "the canary of service m failed at step 1 (20%), its error rate .* is over max_error_rate 5%"
check "it says it rolled back" contains "$(cat up2.out)" "rolled back: the version that ran before serves every request"
check "progress showed the step and its share" contains "$(cat up2.out)" "step 1 of 2, 20% of its traffic on the new version"
check "every answer is v1 again" eq "$(versions)" "v1=40"
check "the replicas are the two canonical ones, nothing of the new version left" eq "$(replica_names)" "$NAME-m-1 $NAME-m-2"
read -r total bad < <(hey_counts bad.hey)
fivehundreds=$(status_count bad.hey 500)
echo "  during the bad canary: $total requests, $bad not 200, of which $fivehundreds were the bad version's 500s"
check "no request failed but by the bad version's own 500s (no connection error, no other status)" \
  eq "$((bad - fivehundreds)) $(hey_errors bad.hey)" "0 0"
check "the load ran through the canary" test "$total" -ge 300

# 2. A good version passes both steps and takes over, 0 failed requests.
stack_file v2 0
start_hey good.hey -c 4 -q 25 "$BASE/predict"
sleep 1
rc=0; "$MLDEPLOY" up >up3.out 2>&1 || rc=$?
sleep 1
stop_hey
cat up3.out
check "the good canary: up exits 0" eq "$rc" 0
check "step 1 passed with its figures" contains "$(cat up3.out)" "step 1 (20%) passed: [0-9]* answers (min 20), 0 errors"
check "step 2 passed" contains "$(cat up3.out)" "step 2 (100%) passed"
check "every answer is v2" eq "$(versions)" "v2=40"
check "the replicas carry the canonical names" eq "$(replica_names)" "$NAME-m-1 $NAME-m-2"
read -r total bad < <(hey_counts good.hey)
echo "  during the good canary: $total requests, $bad failed"
check "0 failed requests through the good canary" eq "$bad" 0
check "the load ran through the canary" test "$total" -ge 300

# 3. Ctrl-C during a canary: rolled back, exit 130.
stack_file v3 0
start_hey int.hey -c 2 -q 25 "$BASE/predict"
"$MLDEPLOY" up >up4.out 2>&1 &
UP=$!
for _ in $(seq 1 300); do grep -q "step 1 of 2" up4.out && break; sleep 0.2; done
sleep 1
kill -INT "$UP"
rc=0; wait "$UP" || rc=$?
stop_hey
cat up4.out
check "Ctrl-C during the canary: up exits 130" eq "$rc" 130
check "it says it was interrupted and rolled back" contains "$(cat up4.out)" "interrupted and rolled back"
check "every answer is v2 still" eq "$(versions)" "v2=40"
check "nothing of v3 is left" eq "$(replica_names)" "$NAME-m-1 $NAME-m-2"
read -r total bad < <(hey_counts int.hey)
check "0 failed requests through the interrupted canary ($total sent)" eq "$bad" 0

# 4. A slow version: every answer 400 ms late, against max_p95 = 250ms.
stack_file v4 0 400
start_hey slow.hey -c 4 -q 25 "$BASE/predict"
rc=0; "$MLDEPLOY" up >up5.out 2>&1 || rc=$?
stop_hey
cat up5.out
check "the slow canary: up exits 1" eq "$rc" 1
check "it failed by its p95 over max_p95" contains "$(cat up5.out)" "its p95 latency 0\.4[0-9]*s (over [0-9]* answers) is over max_p95 250ms"
check "every answer is v2 still" eq "$(versions)" "v2=40"
read -r total bad < <(hey_counts slow.hey)
check "0 failed requests through the slow canary ($total sent)" eq "$bad" 0

# 5. up killed while it judges: nothing can roll back; the next up repairs.
stack_file v5 0
start_hey kill.hey -c 2 -q 25 "$BASE/predict"
"$MLDEPLOY" up >up6.out 2>&1 &
UP=$!
for _ in $(seq 1 300); do grep -q "step 1 of 2" up6.out && break; sleep 0.2; done
sleep 1
kill -KILL "$UP"
wait "$UP" 2>/dev/null || true
check "the killed run left the new version beside the old" eq "$(replica_names)" "$NAME-m-1 $NAME-m-1-next $NAME-m-2 $NAME-m-2-next"
plan=$("$MLDEPLOY" up --dry-run 2>&1)
echo "$plan"
check "the next plan removes the unjudged replicas" contains "$plan" "remove $NAME-m-1-next"
check "and runs the canary again" contains "$plan" "canary of m: the new version beside the old"
rc=0; "$MLDEPLOY" up >up7.out 2>&1 || rc=$?
stop_hey
cat up7.out
check "the repairing up judged every step again and exits 0" eq "$rc $(grep -c 'passed:' up7.out)" "0 2"
check "every answer is v5" eq "$(versions)" "v5=40"
check "the replicas carry the canonical names" eq "$(replica_names)" "$NAME-m-1 $NAME-m-2"
read -r total bad < <(hey_counts kill.hey)
check "0 failed requests through the killed canary and its repair ($total sent)" eq "$bad" 0

# 6. One more replica with a new version: it waits for the canary's verdict.
stack_file v6 30 0 3
plan=$("$MLDEPLOY" up --dry-run 2>&1)
check "the plan says the added replica waits for the canary" \
  contains "$plan" "start replica $NAME-m-3 (with the new version, once its canary passed)"
start_hey more.hey -c 2 -q 25 "$BASE/predict"
rc=0; "$MLDEPLOY" up >up8.out 2>&1 || rc=$?
cat up8.out
check "a bad version with one more replica: up exits 1" eq "$rc" 1
check "the added replica never started" eq "$(replica_names)" "$NAME-m-1 $NAME-m-2"
stop_hey
stack_file v6 0 0 3
start_hey more2.hey -c 2 -q 25 "$BASE/predict"
rc=0; "$MLDEPLOY" up >up9.out 2>&1 || rc=$?
stop_hey
cat up9.out
check "a good version with one more replica: up exits 0" eq "$rc" 0
check "the replica was added after the canary passed" \
  contains "$(tr '\n' ' ' <up9.out)" "passed every step.*starting 1 replica"
check "three replicas, every answer v6" eq "$(replica_names) $(versions)" "$NAME-m-1 $NAME-m-2 $NAME-m-3 v6=40"
read -r total bad < <(hey_counts more2.hey)
check "0 failed requests through the good canary with one more replica ($total sent)" eq "$bad" 0

"$MLDEPLOY" down -q >/dev/null 2>&1
check "down leaves nothing" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
finish
