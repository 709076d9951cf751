#!/usr/bin/env bash
# What the balancer's traffic features cost, against a plain route, in one run:
#   plain     /plain/recommend/1     -> service a
#   weighted  /weighted/recommend/1  -> backends a 50, b 50 (split_clients per request)
#   mirror    /mirror/recommend/1    -> service a, every request copied to c (an
#                                       mldeploy that refuses `mirror` leaves the row out)
#   metrics   /plain/recommend/1     with [metrics] on (the access-log line and the
#                                       controller following it)
# Two stack files, the same services and routes, without and with [metrics]; each round
# applies the first (`up`: a reload), runs plain, weighted and mirror, applies the second
# and runs plain again as "metrics". `hey -z DURATION -c CONC` per set-up and round, on
# the movie recommender with LATENCY_MS=0 (the balancer's own cost shows), REPEATS rounds.
#
#   bench/balancer_features.sh            # REPEATS=3 DURATION=8s CONC=20
#
# A new machine: apt-get install -y hey (packaging/install-deps.sh installs it).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-8s}
CONC=${CONC:-20}
need_tools hey:hey curl:curl
ensure_engine
ensure_mldeploy

OUT=$(results_dir balancer_features)
DATA=$OUT/data.tsv
: >"$DATA"
log "raw data: $OUT"

# Another name and ports (two benches on one host): STACK=... PORT=... METRICS_PORT=...
STACK=${STACK:-mldbench-feat}
PORT=${PORT:-19320}
METRICS_PORT=${METRICS_PORT:-19321}
BASE=http://127.0.0.1:$PORT
export LATENCY_MS=0

cleanup() {
    log "cleaning up"
    "$MLDEPLOY" -q down -s "$STACK" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
ensure_images
versions_line >"$OUT/versions.txt"

# write_stack FILE MIRROR(0|1) METRICS(0|1)
write_stack() {
    local file=$1 mirror=$2 metrics=$3 s
    {
        printf 'name = "%s"\n' "$STACK"
        for s in a b c; do
            printf '\n[services.%s]\nimage = "%s"\nport = 5000\nreplicas = 2\n' "$s" "$IMAGE"
            printf 'env = { LATENCY_MS = "0" }\n'
            printf '[services.%s.health]\npath = "/healthz"\ninterval = "2s"\ntimeout = "1s"\n' "$s"
        done
        printf '\n[balancer]\nhost_ip = "127.0.0.1"\nport = %s\n' "$PORT"
        printf '\n[[balancer.routes]]\npath = "/plain"\nservice = "a"\nstrip_prefix = true\n'
        printf '\n[[balancer.routes]]\npath = "/weighted"\nstrip_prefix = true\n'
        printf 'backends = [ { service = "a", weight = 50 }, { service = "b", weight = 50 } ]\n'
        printf '\n[[balancer.routes]]\npath = "/mirror"\nservice = "a"\nstrip_prefix = true\n'
        ((mirror)) && printf 'mirror = "c"\n'
        ((metrics)) && printf '\n[metrics]\nport = %s\n' "$METRICS_PORT"
        true
    } >"$file"
}

MIRROR=1
write_stack "$OUT/probe.toml" 1 0
if ! "$MLDEPLOY" -q -f "$OUT/probe.toml" config >/dev/null 2>"$OUT/probe.err"; then
    log "this mldeploy refuses mirror ($(head -1 "$OUT/probe.err")): the mirror row is left out"
    MIRROR=0
fi
write_stack "$OUT/off.toml" "$MIRROR" 0
write_stack "$OUT/on.toml" "$MIRROR" 1

deploy() {
    "$MLDEPLOY" -q up "$1" >>"$OUT/up.log" 2>&1 || { tail -20 "$OUT/up.log" >&2; die "up $1 failed"; }
    wait_200 "$BASE/plain/healthz" 60
}

# run SETUP ROUND URL: one hey run; records req/s, p50, p99 (ms) and failures
run() {
    local setup=$1 round=$2 url=$3 f="$OUT/$1-$2.txt"
    hey -z "$DURATION" -c "$CONC" "$url" >"$f" 2>&1 || log "hey for $setup exited $?"
    awk -v s="$setup" -v r="$round" '
        /Requests\/sec:/ {printf "%s\t%s\trps\t%s\n", s, r, $2}
        /  50% in/ {printf "%s\t%s\tp50\t%.1f\n", s, r, $3 * 1000}
        /  99% in/ {printf "%s\t%s\tp99\t%.1f\n", s, r, $3 * 1000}
        /^Status code distribution:/ {sec = "codes"; next}
        /^Error distribution:/ {sec = "errors"; next}
        /^  \[[0-9]+\]/ {
            n = $1; gsub(/[][]/, "", n)
            if (sec == "codes" && n != "200") bad += $2
            if (sec == "errors") errs += n
        }
        END {printf "%s\t%s\tfailed\t%d\n%s\t%s\terrors\t%d\n", s, r, bad, s, r, errs}' "$f" >>"$DATA"
}

log "deploying $STACK (3 services x 2 replicas; mirror row: $MIRROR)"
deploy "$OUT/off.toml"
for u in plain weighted mirror; do hey -n 500 -c 10 "$BASE/$u/recommend/1" >/dev/null 2>&1 || true; done

for ((r = 1; r <= REPEATS; r++)); do
    log "round $r/$REPEATS"
    deploy "$OUT/off.toml"
    run plain "$r" "$BASE/plain/recommend/1"
    run weighted "$r" "$BASE/weighted/recommend/1"
    ((MIRROR)) && run mirror "$r" "$BASE/mirror/recommend/1"
    deploy "$OUT/on.toml"
    run metrics "$r" "$BASE/plain/recommend/1"
done

row() {
    local s=$1 label=$2
    printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$(cell "$DATA" "$s" rps)" "$(cell "$DATA" "$s" p50 %.1f)" \
        "$(cell "$DATA" "$s" p99 %.1f)" "$(median "$DATA" "$s" failed)" "$(median "$DATA" "$s" errors)"
}

echo "### The balancer's features against a plain route: \`hey -z $DURATION -c $CONC\`, $REPEATS rounds"
echo
echo "$(cat "$OUT/versions.txt")"
echo
echo "| set-up | requests/s | p50 ms | p99 ms | non-200 (median) | transport errors (median) |"
echo "|---|---|---|---|---|---|"
row plain "plain route"
row weighted "weighted route (50/50)"
if ((MIRROR)); then row mirror "plain route + mirror 100%"; else echo "| plain route + mirror 100% | not supported by this build | | | | |"; fi
row metrics "plain route, [metrics] on"
echo
p=$(median "$DATA" plain p50)
echo "Median p50 against the plain route: weighted $(ratio "$(median "$DATA" weighted p50)" "$p")x," \
    "$( ((MIRROR)) && echo "mirror $(ratio "$(median "$DATA" mirror p50)" "$p")x," )" \
    "metrics $(ratio "$(median "$DATA" metrics p50)" "$p")x; requests/s: weighted" \
    "$(ratio "$(median "$DATA" weighted rps)" "$(median "$DATA" plain rps)")x," \
    "$( ((MIRROR)) && echo "mirror $(ratio "$(median "$DATA" mirror rps)" "$(median "$DATA" plain rps)")x," )" \
    "metrics $(ratio "$(median "$DATA" metrics rps)" "$(median "$DATA" plain rps)")x."
