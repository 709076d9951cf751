#!/usr/bin/env bash
# What a read-only command costs: wall time and peak RSS of
#   mldeploy -s NAME ps        (one stack of 2 replicas + balancer deployed: bench/stacks/tool.toml;
#                               it lists, then inspects and probes each replica's health path)
#   mldeploy -s NAME ps --no-probe   (the list alone: the same work as the floor)
#   mldeploy -f FILE config    (reads the file only)
#   podman-compose ps          (the same stack made by podman-compose: bench/compose/compose.yml)
#   docker-compose ps          (the same stack made by docker-compose 1.29, on the same Podman
#                               engine through its Docker-compatible API: DOCKER_HOST=unix://SOCK)
#   mldeploy -s NAME top --once [--format json]   (the stack has [metrics]: the controller's
#                               /top.json, read through the published metrics port)
#   the floors: curl --unix-socket of the same list request mldeploy ps makes, and
#               curl of the controller's /top.json (what top reads)
#     GET /v4.0.0/libpod/containers/json?all=true&filters={"label":["io.mldeploy.stack=NAME"]}
# each run under /usr/bin/time -v, interleaved, REPEATS rounds (default 30).
#
#   bench/tool_overhead.sh
#
# Wall time is taken around the /usr/bin/time call with bash's $EPOCHREALTIME (time -v
# reports only hundredths of a second); the wrapper's own cost is the same for every command.
# A new machine: apt-get install -y apache2-utils hey wrk podman-compose docker-compose time
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPEATS=${REPEATS:-30}
need_tools curl:curl podman-compose:podman-compose docker-compose:docker-compose /usr/bin/time:time
ensure_engine
ensure_mldeploy

OUT=$(results_dir tool_overhead)
DATA=$OUT/data.tsv
: >"$DATA"
log "raw data: $OUT"

STACK=mldbench-tool
STACK_FILE=$BENCH_DIR/stacks/tool.toml
PC_PROJECT=mldbench-toolc
PC_FILE=$BENCH_DIR/compose/compose.yml
DC_PROJECT=mldbench-toold
DC_ENV="env DOCKER_HOST=unix://$SOCK"
export MLDBENCH_PORT=19303 LATENCY_MS=0

cleanup() {
    log "cleaning up"
    "$MLDEPLOY" -q down -s "$STACK" >/dev/null 2>&1 || true
    podman-compose -p "$PC_PROJECT" -f "$PC_FILE" down >/dev/null 2>&1 || true
    podman network rm -f "${PC_PROJECT}_default" >/dev/null 2>&1 || true
    $DC_ENV docker-compose -p "$DC_PROJECT" -f "$PC_FILE" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
ensure_images
versions_line >"$OUT/versions.txt"

log "deploying $STACK (mldeploy), $PC_PROJECT (podman-compose) and $DC_PROJECT (docker-compose)"
"$MLDEPLOY" -q up "$STACK_FILE" >"$OUT/up.log" 2>&1 || { cat "$OUT/up.log" >&2; exit 1; }
podman-compose -p "$PC_PROJECT" -f "$PC_FILE" up -d >"$OUT/compose-up.log" 2>&1 || { cat "$OUT/compose-up.log" >&2; exit 1; }
MLDBENCH_PORT=19304 $DC_ENV docker-compose -p "$DC_PROJECT" -f "$PC_FILE" up -d >"$OUT/docker-compose-up.log" 2>&1 ||
    { cat "$OUT/docker-compose-up.log" >&2; exit 1; }

FILTER=$(printf '{"label":["io.mldeploy.stack=%s"]}' "$STACK")
FILTER_ENC=$(printf '%s' "$FILTER" | sed 's/{/%7B/g; s/}/%7D/g; s/"/%22/g; s/\[/%5B/g; s/\]/%5D/g; s/:/%3A/g; s/=/%3D/g')
LIST_URL="$LIBPOD/containers/json?all=true&filters=$FILTER_ENC"

declare -A CMD=(
    [ps]="$MLDEPLOY -s $STACK ps"
    [ps_noprobe]="$MLDEPLOY -s $STACK ps --no-probe"
    [config]="$MLDEPLOY -f $STACK_FILE config"
    [compose_ps]="podman-compose -p $PC_PROJECT -f $PC_FILE ps"
    [dcompose_ps]="$DC_ENV docker-compose -p $DC_PROJECT -f $PC_FILE ps"
    [curl]="curl -s --unix-socket $SOCK $LIST_URL"
    [top]="$MLDEPLOY -s $STACK top --once"
    [top_json]="$MLDEPLOY -s $STACK top --once --format json"
    [curl_top]="curl -s http://127.0.0.1:19305/top.json"
)
ORDER=(ps ps_noprobe config compose_ps dcompose_ps curl top top_json curl_top)

# Sanity: ps lists the 4 containers (the 2 replicas healthy, the balancer, the controller),
# curl's answer names them too, and docker-compose ps its 3.
$MLDEPLOY -s $STACK ps >"$OUT/ps-output.txt"
n_ps=$(grep -c "^$STACK-" "$OUT/ps-output.txt" || true)
n_healthy=$(grep -c " healthy " "$OUT/ps-output.txt" || true)
n_curl=$(curl -s --unix-socket "$SOCK" "$LIST_URL" | grep -o '"Names":\["[^"]*"' | wc -l)
n_dc=$($DC_ENV docker-compose -p "$DC_PROJECT" -f "$PC_FILE" ps | grep -c "^$DC_PROJECT" || true)
[[ $n_ps == 4 && $n_healthy == 2 && $n_curl == 4 && $n_dc == 3 ]] ||
    die "expected 4 containers from ps (2 healthy) and curl, 3 from docker-compose, got $n_ps ($n_healthy), $n_curl and $n_dc"
wait_200 http://127.0.0.1:19305/top.json 30 || die "the controller's /top.json does not answer"

run_one() { # run_one KEY REPEAT
    local k=$1 r=$2 t tf="$OUT/time-$1-$2.txt"
    t=$(now)
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$tf" ${CMD[$k]} >/dev/null 2>&1 || log "$k exited $?"
    printf '%s\t%s\twall_ms\t%s\n' "$k" "$r" "$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", (b-a)*1000}')" >>"$DATA"
    awk -v k="$k" -v r="$r" -F': ' 'BEGIN{OFS="\t"}
        /Maximum resident set size/ { print k, r, "rss_kb", $2 }
        /User time/ { u = $2 } /System time/ { s = $2 }
        END { print k, r, "cpu_ms", (u + s) * 1000 }' "$tf" >>"$DATA"
}

log "warm-up"
for k in "${ORDER[@]}"; do run_one "$k" 0; done
: >"$DATA"
log "$REPEATS interleaved rounds of ${ORDER[*]}"
for ((r = 1; r <= REPEATS; r++)); do
    for k in "${ORDER[@]}"; do run_one "$k" "$r"; done
done

{
echo "### Tool overhead: read-only commands (one stack of 2 replicas, balancer and controller deployed)"
echo
echo "$(cat "$OUT/versions.txt"); $REPEATS interleaved rounds; each cell: median (min–max); ratio = median / curl's median."
echo
echo "| command | wall time (ms) | ratio | peak RSS (KiB) | ratio | user+sys CPU (ms) |"
echo "|---|---|---|---|---|---|"
cw=$(median "$DATA" curl wall_ms); cr=$(median "$DATA" curl rss_kb)
tw=$(median "$DATA" curl_top wall_ms); tr=$(median "$DATA" curl_top rss_kb)
for k in "${ORDER[@]}"; do
    case $k in ps) name="\`mldeploy -s NAME ps\` (probes health)" ;; ps_noprobe) name="\`mldeploy -s NAME ps --no-probe\`" ;; config) name="\`mldeploy -f FILE config\`" ;;
        compose_ps) name="\`podman-compose ps\`" ;; dcompose_ps) name="\`docker-compose ps\` (same engine)" ;; curl) name="floor: \`curl --unix-socket … containers/json?all=true&filters=…\`" ;;
        top) name="\`mldeploy -s NAME top --once\` (ratio to curl of /top.json)" ;; top_json) name="\`mldeploy -s NAME top --once --format json\` (ratio to curl of /top.json)" ;;
        curl_top) name="floor: \`curl http://127.0.0.1:PORT/top.json\`" ;; esac
    bw=$cw; br=$cr
    [[ $k == top* || $k == curl_top ]] && { bw=$tw; br=$tr; }
    echo "| $name | $(cell "$DATA" $k wall_ms %.1f) | $(ratio "$(median "$DATA" $k wall_ms)" "$bw")x | $(cell "$DATA" $k rss_kb) | $(ratio "$(median "$DATA" $k rss_kb)" "$br")x | $(cell "$DATA" $k cpu_ms) |"
done
echo
echo "| target | measured | verdict |"
echo "|---|---|---|"
for k in ps ps_noprobe; do
    pw=$(median "$DATA" $k wall_ms); pr=$(median "$DATA" $k rss_kb)
    label=$([[ $k == ps ]] && echo "ps" || echo "ps --no-probe")
    echo "| $label wall time <= 1.2 x curl | $pw vs $cw ms = $(ratio "$pw" "$cw")x | $(verdict "$pw <= 1.2 * $cw") |"
    echo "| $label peak RSS <= 1.2 x curl | $pr vs $cr KiB = $(ratio "$pr" "$cr")x | $(verdict "$pr <= 1.2 * $cr") |"
done
} | tee "$OUT/table.md"
