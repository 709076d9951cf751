#!/usr/bin/env bash
# The seed article's experiment, on this machine, in one run.
#
#   bench/seed_article.sh            # N=10000 C=200 REPEATS=5 (about 10 minutes)
#   N=2000 C=100 REPEATS=2 bench/seed_article.sh   # a quick look
#
# Movie recommender with LATENCY_MS=100, load `ab -n N -c C` (plus -r: count a
# receive error instead of aborting the run), four set-ups measured interleaved:
#   A  one replica published directly: podman run -p 127.0.0.1:19101:5000 (by hand, as the article)
#   B  two replicas + the article's own nginx.conf (bench/article-nginx.conf), by hand with
#      the podman CLI: network mldbench-article, containers deployment1/deployment2, nginx on 19102
#   C  two replicas behind mldeploy's balancer (bench/stacks/seed-2.toml, port 19103)
#   D  four replicas behind mldeploy's balancer (bench/stacks/seed-4.toml, port 19104)
# and two diagnosis set-ups in the same rounds (why C is where it is):
#   Ck C's own two replicas behind a hand-made nginx running mldeploy's rendered config
#      without the upstream keepalive lines (port 19107)
#   Cg two replicas with Nagle's algorithm ON (bench/nagle-on: the example server as it
#      was before commit 5590d8b) behind mldeploy's balancer (bench/stacks/seed-2nagle.toml,
#      port 19108)
# Then LATENCY_MS=0, the cost of the balancer itself, interleaved:
#   E  one mldeploy replica reached directly at its container address (bench/stacks/seed-1.toml)
#   F  the same replica through mldeploy's balancer (port 19105)
#   G  a hand-made replica published with podman run -p 127.0.0.1:19106:5000 (reference)
# Env: N C REPEATS (main), N0 C0 (LATENCY_MS=0 part; default N and C), KEEP=1 leaves all up.
# A new machine: apt-get install -y apache2-utils hey wrk podman-compose docker-compose time
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-10000}
C=${C:-200}
REPEATS=${REPEATS:-5}
N0=${N0:-$N}
C0=${C0:-$C}
URL_PATH=/recommend/1
NET=mldbench-article

need_tools ab:apache2-utils curl:curl
ensure_engine
ensure_mldeploy
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

OUT=$(results_dir seed_article)
DATA=$OUT/data.tsv
: >"$DATA"
log "raw data: $OUT"

cleanup() {
    [[ ${KEEP:-0} == 1 ]] && { log "KEEP=1: leaving the set-ups up"; return; }
    log "cleaning up"
    podman rm -f -t 2 mldbench-a mldbench-g mldbench-ck deployment1 deployment2 mldbench-article-nginx >/dev/null 2>&1 || true
    podman network rm -f "$NET" >/dev/null 2>&1 || true
    local s
    for s in mldbench-seed1 mldbench-seed2 mldbench-seed4 mldbench-seed2nagle; do "$MLDEPLOY" -q down -s "$s" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup

ensure_images
versions_line >"$OUT/versions.txt"

# ---- set-ups -----------------------------------------------------------------
log "A: one replica, published directly"
podman run -d --name mldbench-a -e LATENCY_MS=100 -p 127.0.0.1:19101:5000 "$IMAGE" >/dev/null

log "B: two replicas + the article's nginx.conf, by hand"
podman network create "$NET" >/dev/null
podman run -d --name deployment1 --network "$NET" -e LATENCY_MS=100 "$IMAGE" >/dev/null
podman run -d --name deployment2 --network "$NET" -e LATENCY_MS=100 "$IMAGE" >/dev/null
podman run -d --name mldbench-article-nginx --network "$NET" -p 127.0.0.1:19102:5000 \
    -v "$BENCH_DIR/article-nginx.conf:/etc/nginx/nginx.conf:ro" "$NGINX_IMAGE" nginx -g 'daemon off;' >/dev/null

log "C, D: mldeploy up, 2 and 4 replicas"
LATENCY_MS=100 "$MLDEPLOY" up "$BENCH_DIR/stacks/seed-2.toml" >"$OUT/up-seed2.log" 2>&1 || { cat "$OUT/up-seed2.log" >&2; exit 1; }
LATENCY_MS=100 "$MLDEPLOY" up "$BENCH_DIR/stacks/seed-4.toml" >"$OUT/up-seed4.log" 2>&1 || { cat "$OUT/up-seed4.log" >&2; exit 1; }

log "Ck: mldeploy's config without upstream keepalive; Cg: replicas with Nagle on"
mkdir -p "$OUT/ck"
podman exec mldbench-seed2-balancer cat /etc/mldeploy/nginx.conf | sed '/^        keepalive/d' >"$OUT/ck/nginx.conf"
grep -q '^ *keepalive 128' "$OUT/ck/nginx.conf" && die "could not strip the upstream keepalive"
podman run -d --name mldbench-ck --network mldbench-seed2_net -p 127.0.0.1:19107:80 \
    -v "$OUT/ck:/etc/mldeploy-bench:ro" "$NGINX_IMAGE" nginx -c /etc/mldeploy-bench/nginx.conf -g 'daemon off;' >/dev/null
LATENCY_MS=100 "$MLDEPLOY" up "$BENCH_DIR/stacks/seed-2nagle.toml" >"$OUT/up-seed2nagle.log" 2>&1 || { cat "$OUT/up-seed2nagle.log" >&2; exit 1; }

log "E, F, G: LATENCY_MS=0 (one mldeploy replica; a hand-made published one)"
LATENCY_MS=0 "$MLDEPLOY" up "$BENCH_DIR/stacks/seed-1.toml" >"$OUT/up-seed1.log" 2>&1 || { cat "$OUT/up-seed1.log" >&2; exit 1; }
podman run -d --name mldbench-g -e LATENCY_MS=0 -p 127.0.0.1:19106:5000 "$IMAGE" >/dev/null
E_IP=$(podman inspect mldbench-seed1-recommender-1 --format '{{(index .NetworkSettings.Networks "mldbench-seed1_net").IPAddress}}')
[[ -n $E_IP ]] || die "no address for mldbench-seed1-recommender-1"

declare -A URL=(
    [A]=http://127.0.0.1:19101$URL_PATH [B]=http://127.0.0.1:19102$URL_PATH
    [C]=http://127.0.0.1:19103$URL_PATH [D]=http://127.0.0.1:19104$URL_PATH
    [Ck]=http://127.0.0.1:19107$URL_PATH [Cg]=http://127.0.0.1:19108$URL_PATH
    [E]=http://$E_IP:5000$URL_PATH [F]=http://127.0.0.1:19105$URL_PATH [G]=http://127.0.0.1:19106$URL_PATH
)
for s in A B C D Ck Cg E F G; do wait_200 "${URL[$s]}" 60 || die "set-up $s does not answer on ${URL[$s]}"; done
podman ps --filter name=mldbench --filter name=deployment --format '{{.Names}} {{.Status}} {{.Ports}}' >"$OUT/containers.txt"

# ---- one ab run -> data.tsv ----------------------------------------------------
# run_ab SETUP REPEAT N C
run_ab() {
    local s=$1 r=$2 n=$3 c=$4 f="$OUT/ab-$1-$2.txt"
    ab -r -s 60 -n "$n" -c "$c" "${URL[$s]}" >"$f" 2>&1 || log "ab for $s exited $? (see $f)"
    awk -v s="$s" -v r="$r" 'BEGIN { OFS = "\t"; non2xx = 0; failed = "" }
        /^Requests per second:/ { print s, r, "rps", $4 }
        /^Failed requests:/     { failed = $3 }
        /^Non-2xx responses:/   { non2xx = $3 }
        /^Complete requests:/   { print s, r, "complete", $3 }
        /^ +[0-9]+%/            { p = $1; sub("%", "", p); print s, r, "p" p, $2 }
        END { print s, r, "failed", (failed == "" ? -1 : failed); print s, r, "non2xx", non2xx }' "$f" >>"$DATA"
    log "  $s #$r: $(grep -h '^Requests per second' "$f" | awk '{print $4 " req/s"}'), p99 $(awk '/^ +99%/{print $2}' "$f") ms, failed $(awk '/^Failed requests/{print $3}' "$f")"
}

log "warm-up: 500 requests each"
for s in A B C D Ck Cg; do ab -r -n 500 -c 50 "${URL[$s]}" >/dev/null 2>&1 || true; done

log "main experiment: LATENCY_MS=100, ab -n $N -c $C, $REPEATS rounds of A B C D Ck Cg"
for ((r = 1; r <= REPEATS; r++)); do
    for s in A B C D Ck Cg; do run_ab "$s" "$r" "$N" "$C"; done
done

log "LATENCY_MS=0: ab -n $N0 -c $C0, $REPEATS rounds of E F G"
for s in E F G; do ab -r -n 500 -c 50 "${URL[$s]}" >/dev/null 2>&1 || true; done
for ((r = 1; r <= REPEATS; r++)); do
    for s in E F G; do run_ab "$s" "$r" "$N0" "$C0"; done
done

# ---- the tables ---------------------------------------------------------------
declare -A ART1=([p50]=309 [p98]=1325 [p99]=1349 [p100]=3360)
declare -A ART2=([p50]=218 [p98]=287 [p99]=305 [p100]=360)
{
echo "### Seed article experiment: movie recommender, LATENCY_MS=100, \`ab -r -n $N -c $C\`"
echo
echo "$(cat "$OUT/versions.txt"); $REPEATS interleaved rounds (A,B,C,D,Ck,Cg,A,...); each cell: median (min–max) over the rounds; latencies in ms."
echo
echo "| metric | A: 1 replica, podman -p | B: 2 + article nginx.conf | C: 2 + mldeploy | D: 4 + mldeploy | article: 1 container | article: 2 + nginx |"
echo "|---|---|---|---|---|---|---|"
for m in p50 p66 p75 p80 p90 p95 p98 p99 p100; do
    echo "| $m | $(cell "$DATA" A $m) | $(cell "$DATA" B $m) | $(cell "$DATA" C $m) | $(cell "$DATA" D $m) | ${ART1[$m]:-} | ${ART2[$m]:-} |"
done
echo "| requests/s | $(cell "$DATA" A rps) | $(cell "$DATA" B rps) | $(cell "$DATA" C rps) | $(cell "$DATA" D rps) | | |"
echo "| failed | $(cell "$DATA" A failed) | $(cell "$DATA" B failed) | $(cell "$DATA" C failed) | $(cell "$DATA" D failed) | | |"
echo "| non-2xx | $(cell "$DATA" A non2xx) | $(cell "$DATA" B non2xx) | $(cell "$DATA" C non2xx) | $(cell "$DATA" D non2xx) | | |"
echo

p99B=$(median "$DATA" B p99); p99C=$(median "$DATA" C p99)
rpsA=$(median "$DATA" A rps); rpsB=$(median "$DATA" B rps); rpsC=$(median "$DATA" C rps); rpsD=$(median "$DATA" D rps)
failC=$(values "$DATA" C failed | awk '{s+=$1} END{print s+0}')
non2C=$(values "$DATA" C non2xx | awk '{s+=$1} END{print s+0}')
failD=$(values "$DATA" D failed | awk '{s+=$1} END{print s+0}')
echo "Ratios of medians: C/B p99 $(ratio "$p99C" "$p99B"), C/B requests/s $(ratio "$rpsC" "$rpsB"), B/A requests/s $(ratio "$rpsB" "$rpsA"), D/C requests/s $(ratio "$rpsD" "$rpsC"), D/B requests/s $(ratio "$rpsD" "$rpsB")."
echo
echo "Diagnosis, measured in the same rounds (same load): where C's time goes."
echo
echo "| metric | C: 2 + mldeploy (as shipped) | Ck: C's replicas, mldeploy's config without upstream keepalive | Cg: 2 replicas with Nagle ON + mldeploy (as shipped) | B: 2 + article nginx.conf |"
echo "|---|---|---|---|---|"
for m in p50 p90 p99 p100 rps failed; do
    echo "| ${m/rps/requests\/s} | $(cell "$DATA" C $m) | $(cell "$DATA" Ck $m) | $(cell "$DATA" Cg $m) | $(cell "$DATA" B $m) |"
done
echo
p99Ck=$(median "$DATA" Ck p99); p99Cg=$(median "$DATA" Cg p99); rpsCk=$(median "$DATA" Ck rps); rpsCg=$(median "$DATA" Cg rps)
echo "Ratios of medians: Ck/B p99 $(ratio "$p99Ck" "$p99B"), Ck/B requests/s $(ratio "$rpsCk" "$rpsB"); Cg/B p99 $(ratio "$p99Cg" "$p99B"), Cg/B requests/s $(ratio "$rpsCg" "$rpsB"); p50 C $(median "$DATA" C p50) vs Ck $(median "$DATA" Ck p50) vs Cg $(median "$DATA" Cg p50) ms."
echo
echo "### The balancer's own cost: LATENCY_MS=0, \`ab -r -n $N0 -c $C0\`"
echo
echo "| metric | E: mldeploy replica, direct (container address) | F: same replica through mldeploy's balancer | G: hand-made replica, podman -p |"
echo "|---|---|---|---|"
for m in p50 p90 p99 p100; do
    echo "| $m | $(cell "$DATA" E $m) | $(cell "$DATA" F $m) | $(cell "$DATA" G $m) |"
done
echo "| requests/s | $(cell "$DATA" E rps) | $(cell "$DATA" F rps) | $(cell "$DATA" G rps) |"
echo "| failed | $(cell "$DATA" E failed) | $(cell "$DATA" F failed) | $(cell "$DATA" G failed) |"
echo "| non-2xx | $(cell "$DATA" E non2xx) | $(cell "$DATA" F non2xx) | $(cell "$DATA" G non2xx) |"
echo
rpsE=$(median "$DATA" E rps); rpsF=$(median "$DATA" F rps); rpsG=$(median "$DATA" G rps)
failF=$(values "$DATA" F failed | awk '{s+=$1} END{print s+0}')
# The same ratio round by round (each F against the E measured just before it).
perround=$(paste <(values "$DATA" F rps) <(values "$DATA" E rps) | awk '{printf "%s%.2f", (NR>1?", ":""), $1/$2}')
echo "F/E requests/s: $(ratio "$rpsF" "$rpsE") (median of rounds' medians; round by round: $perround); F/G: $(ratio "$rpsF" "$rpsG")."
echo
echo "### Targets"
echo
echo "| target | measured | verdict |"
echo "|---|---|---|"
echo "| C p99 <= 0.7 x B p99 | $p99C vs $p99B ms = $(ratio "$p99C" "$p99B")x | $(verdict "$p99C <= 0.7 * $p99B") |"
echo "| C requests/s >= 1.1 x B | $rpsC vs $rpsB = $(ratio "$rpsC" "$rpsB")x | $(verdict "$rpsC >= 1.1 * $rpsB") |"
echo "| zero failed (C, D, F; all rounds) | failed C $failC, D $failD, F $failF; non-2xx C $non2C | $(verdict "$failC + $failD + $failF + $non2C == 0") |"
echo "| LATENCY_MS=0: F >= 0.9 x E requests/s | $rpsF vs $rpsE = $(ratio "$rpsF" "$rpsE")x | $(verdict "$rpsF >= 0.9 * $rpsE") |"
} | tee "$OUT/table.md"
