#!/usr/bin/env bash
# How fast the autoscaler reacts, under a load ramp (docs/autoscaling.md):
#   up    from the load's start to the first added replica answering through the
#         balancer (health-gated: it is ready)
#   full  from the load's start to max replicas running (started; not yet healthy)
#   down  from the load's end to back at min (the last leaving replica drained and removed)
# and the requests that failed meanwhile (must be 0). One service of the e2e tests'
# model (tests/e2e/models/versioned) at `?ms=$MS`, [services.m.autoscale] min 1, max 4,
# target_inflight 2, scale_up_delay $UP_DELAY, scale_down_delay $DOWN_DELAY;
# `hey -z $LOAD -c $CONC` per round, REPEATS rounds, each from min again after $SETTLE s.
# The first added replica is seen by a probe of 5 requests/s through the balancer that
# reads each answer's X-Replica; the counts by the engine's list, every 0.2 s.
#
#   bench/autoscale_reaction.sh       # REPEATS=3 LOAD=40s CONC=10 MS=200 UP_DELAY=2s DOWN_DELAY=6s
#   MLDEPLOY=build/src/mldeploy bench/autoscale_reaction.sh   # a binary already built
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPEATS=${REPEATS:-3}
LOAD=${LOAD:-40s}
CONC=${CONC:-10}
MS=${MS:-200}
UP_DELAY=${UP_DELAY:-2s}
DOWN_DELAY=${DOWN_DELAY:-6s}
need_tools hey:hey curl:curl jq:jq
ensure_engine
ensure_mldeploy

OUT=$(results_dir autoscale_reaction)
DATA=$OUT/data.tsv
: >"$DATA"
log "raw data: $OUT"

STACK=mldbench-autoscale
PORT=19740
FILE=$OUT/stack.toml
cat >"$FILE" <<TOML
name = "$STACK"
[services.m]
build = "$REPO_DIR/tests/e2e/models/versioned"
image = "localhost/$STACK/versioned:1"
port = 8000
env = { VERSION = "1" }
drain = "10s"
[services.m.health]
path = "/healthz"
interval = "500ms"
[services.m.autoscale]
min = 1
max = 4
target_inflight = 2
scale_up_delay = "$UP_DELAY"
scale_down_delay = "$DOWN_DELAY"
[balancer]
port = $PORT
TOML
trap '"$MLDEPLOY" down -s $STACK -q >/dev/null 2>&1 || true' EXIT
"$MLDEPLOY" down -s "$STACK" -q >/dev/null 2>&1 || true
"$MLDEPLOY" -q up -f "$FILE" >&2
URL="http://127.0.0.1:$PORT/predict?ms=$MS"

running() {
    api GET "/containers/json?filters=$(jq -rn --arg s "$STACK" '{label: ["io.mldeploy.stack=" + $s, "io.mldeploy.role=model"]} | tojson | @uri')" | jq length
}
wait_count() {  # wait_count N LIMIT_S -> true once N replicas run
    local start=$EPOCHREALTIME
    until [[ $(running) == "$1" ]]; do
        awk -v a="$start" -v b="$EPOCHREALTIME" -v l="$2" 'BEGIN{exit !(b-a>l)}' && return 1
        sleep 0.2
    done
}
# The replica names answering through the balancer, 5 a second, until $OUT/stop-probe.
probe() {
    while [[ ! -e $OUT/stop-probe ]]; do
        printf '%s %s\n' "$EPOCHREALTIME" \
            "$(curl -s --max-time 5 -D - -o /dev/null "http://127.0.0.1:$PORT/predict" | tr -d '\r' |
                awk -F': ' 'tolower($1)=="x-replica"{print $2}')"
        sleep 0.2
    done
}

for round in $(seq 1 "$REPEATS"); do
    wait_count 1 300 || die "round $round: not back at 1 replica"
    # The controller decides nothing while it applies a change, and a scale-down's
    # apply ends only after the leaving replicas stopped (the Python model ignores
    # SIGTERM: 10 s each), and it waits a window after its own start: let it settle,
    # so that "up" measures the reaction of an idle autoscaler.
    sleep "${SETTLE:-20}"
    rm -f "$OUT/stop-probe"
    probe >"$OUT/probe-$round.txt" &
    PROBE=$!
    sleep 1
    first=$(awk 'NF > 1 {print $2; exit}' "$OUT/probe-$round.txt")
    start=$EPOCHREALTIME
    hey -z "$LOAD" -c "$CONC" -t 60 "$URL" >"$OUT/hey-$round.txt" 2>&1 &
    HEY=$!
    full=""
    while kill -0 "$HEY" 2>/dev/null; do
        [[ -z $full && $(running) == 4 ]] && full=$(since "$start")
        sleep 0.2
    done
    wait "$HEY" || true
    ended=$EPOCHREALTIME
    wait_count 1 300 || die "round $round: not back at min"
    down=$(since "$ended")
    touch "$OUT/stop-probe"
    wait "$PROBE" || true
    # The first answer from a replica other than the one that served alone.
    up=$(awk -v s="$start" -v f="$first" 'NF > 1 && $1 >= s && $2 != f {printf "%.3f", $1 - s; exit}' \
        "$OUT/probe-$round.txt")
    bad=$(awk '/^Status code distribution:/ {m=1; next} /^Error distribution:/ {m=2; next}
        m==1 && /\[[0-9]+\]/ {gsub(/[\[\]]/,"",$1); if ($1 < 200 || $1 > 299) b+=$2}
        m==2 && /\[[0-9]+\]/ {gsub(/[\[\]]/,"",$1); b+=$1} END {print b+0}' "$OUT/hey-$round.txt")
    total=$(awk '/Requests\/sec/ {r=$2} /^  Total:/ {t=$2} END {printf "%.0f", r*t}' "$OUT/hey-$round.txt")
    log "round $round: first added replica ready ${up:-?}s, max ${full:-never}s after the start; min ${down}s after the end; $bad of ~$total failed"
    printf 'autoscale\t%s\tup\t%s\n' "$round" "${up:-nan}" >>"$DATA"
    printf 'autoscale\t%s\tfull\t%s\n' "$round" "${full:-nan}" >>"$DATA"
    printf 'autoscale\t%s\tdown\t%s\n' "$round" "$down" >>"$DATA"
    printf 'autoscale\t%s\tfailed\t%s\n' "$round" "$bad" >>"$DATA"
done

echo "| load start -> first added replica ready, s | load start -> 4 replicas started, s | load end -> back at 1, s | failed requests |"
echo "|---|---|---|---|"
echo "| $(cell "$DATA" autoscale up %.1f) | $(cell "$DATA" autoscale full %.1f) | $(cell "$DATA" autoscale down %.1f) | $(values "$DATA" autoscale failed | paste -sd+ | bc) |"
echo
"$MLDEPLOY" -s "$STACK" ps --no-probe | sed -n '/^AUTOSCALE/,$p'
