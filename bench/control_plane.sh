#!/usr/bin/env bash
# Control-plane speed: the same stack (2 movie-recommender replicas, LATENCY_MS=0, + an
# nginx balancer on a new network) deployed, scaled and removed by different tools,
# interleaved round by round, images already built.
#
#   bench/control_plane.sh                 # REPEATS=5 (about 10 minutes)
#   REPEATS=2 bench/control_plane.sh       # a quick look
#
# Set-ups (all publish on 127.0.0.1):
#   M   mldeploy, image-only stack (bench/stacks/cp.toml, port 19201)
#   MB  mldeploy, stack with `build =` (bench/stacks/cp-build.toml, port 19202): `up` also
#       sends the build context and the engine answers from its cache
#   P   podman-compose 1.0.x (bench/compose/compose.yml: deploy.replicas=2 + nginx, port 19203)
#   F   the floor: raw libpod REST calls with curl --unix-socket: network; 2 replicas
#       created+started in parallel; then the balancer (port 19204)
#   docker-compose: only when a Docker daemon answers on /var/run/docker.sock
# Measured:
#   up     command start -> first 200 of /recommend/1 through the balancer
#   down   command start -> no container and no network of the stack left
#   scale  2 -> 8 (M and F): command start -> all 8 replicas answer through the balancer
#          (F: create+start 6 in parallel, rewrite nginx.conf, SIGHUP)
#   engine: create+start 6 containers, one after another vs all at once (REST), to see
#          how much of the work the engine serialises
# Env: REPEATS (5).
# A new machine: apt-get install -y apache2-utils hey wrk podman-compose docker-compose time
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPEATS=${REPEATS:-5}
need_tools curl:curl podman-compose:podman-compose
ensure_engine
ensure_mldeploy

OUT=$(results_dir control_plane)
DATA=$OUT/data.tsv
: >"$DATA"
log "raw data: $OUT"

PC_PROJECT=mldbench-pc
PC_FILE=$BENCH_DIR/compose/compose.yml
export MLDBENCH_PORT=19203
FLOOR_NET=mldbench-floor_net
FLOOR_LABEL=mldbench.floor
FLOOR_CONF_DIR=$OUT/floor-nginx
mkdir -p "$FLOOR_CONF_DIR"
export LATENCY_MS=0
declare -A URL=([M]=http://127.0.0.1:19201/recommend/1 [MB]=http://127.0.0.1:19202/recommend/1
    [P]=http://127.0.0.1:19203/recommend/1 [F]=http://127.0.0.1:19204/recommend/1)

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$DATA"; }

# ---- the floor: raw REST ------------------------------------------------------
floor_conf() { # floor_conf N: an article-style nginx.conf listing replicas 1..N by name
    local i servers=""
    for ((i = 1; i <= $1; i++)); do servers+="server mldbench-floor-r$i:5000; "; done
    # Written in place (same inode), as nginx reads it on SIGHUP.
    printf 'events {}\nhttp { upstream server { %s} server { listen 5000; location / { proxy_pass http://server; } } }\n' \
        "$servers" >"$FLOOR_CONF_DIR/nginx.conf"
}
floor_replica() { # floor_replica I: create + start one replica
    api POST /containers/create "{\"name\":\"mldbench-floor-r$1\",\"image\":\"$IMAGE\",
        \"env\":{\"LATENCY_MS\":\"0\"},\"labels\":{\"$FLOOR_LABEL\":\"1\"},
        \"netns\":{\"nsmode\":\"bridge\"},\"Networks\":{\"$FLOOR_NET\":{}}}" >/dev/null &&
        api POST "/containers/mldbench-floor-r$1/start" >/dev/null
}
floor_up() { # phases go to data.tsv as F_<phase>
    local r=$1 t
    floor_conf 2
    t=$(now)
    api POST /networks/create "{\"name\":\"$FLOOR_NET\",\"driver\":\"bridge\",\"dns_enabled\":true,
        \"labels\":{\"$FLOOR_LABEL\":\"1\"}}" >/dev/null
    record F_phase "$r" network "$(since "$t")"; t=$(now)
    floor_replica 1 & floor_replica 2 & wait
    record F_phase "$r" replicas "$(since "$t")"; t=$(now)
    api POST /containers/create "{\"name\":\"mldbench-floor-lb\",\"image\":\"$NGINX_IMAGE\",
        \"command\":[\"nginx\",\"-c\",\"/etc/nginx/bench/nginx.conf\",\"-g\",\"daemon off;\"],
        \"labels\":{\"$FLOOR_LABEL\":\"1\"},\"netns\":{\"nsmode\":\"bridge\"},\"Networks\":{\"$FLOOR_NET\":{}},
        \"portmappings\":[{\"host_ip\":\"127.0.0.1\",\"host_port\":19204,\"container_port\":5000,\"protocol\":\"tcp\"}],
        \"mounts\":[{\"type\":\"bind\",\"source\":\"$FLOOR_CONF_DIR\",\"destination\":\"/etc/nginx/bench\",\"options\":[\"ro\"]}]}" >/dev/null
    api POST /containers/mldbench-floor-lb/start >/dev/null
    record F_phase "$r" balancer "$(since "$t")"; t=$(now)
}
floor_scale() { # 2 -> 8
    local i
    for i in 3 4 5 6 7 8; do floor_replica "$i" & done
    wait
    floor_conf 8
    api POST "/containers/mldbench-floor-lb/kill?signal=SIGHUP" >/dev/null
}
floor_down() {
    local ids id
    ids=$(api GET "/containers/json?all=true&filters=$(jq_label "$FLOOR_LABEL=1")" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
    for id in $ids; do api DELETE "/containers/$id?force=true" >/dev/null & done
    wait
    api DELETE "/networks/$FLOOR_NET" >/dev/null
}
jq_label() { printf '%%7B%%22label%%22%%3A%%5B%%22%s%%22%%5D%%7D' "$1"; } # {"label":["K=V"]}, URL-encoded

# left LABEL NETWORK: how many containers (by label) and networks (by name) remain
left() {
    local n c
    c=$(api GET "/containers/json?all=true&filters=$(jq_label "$1")" | grep -o '"Id"' | wc -l)
    n=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "$LIBPOD/networks/$2/exists")
    [[ $n == 204 ]] && c=$((c + 1))
    echo "$c"
}
wait_gone() { # wait_gone LABEL NETWORK
    local start=$EPOCHREALTIME
    until [[ $(left "$1" "$2") == 0 ]]; do
        awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{exit !(b-a>60)}' && { log "$1 not gone after 60s"; return 1; }
        sleep 0.02
    done
}

# ---- timed operations: <setup> up|down|scale -----------------------------------
label_of() { case $1 in M) echo io.mldeploy.stack=mldbench-cp ;; MB) echo io.mldeploy.stack=mldbench-cpb ;;
    P) echo io.podman.compose.project=$PC_PROJECT ;; F) echo "$FLOOR_LABEL=1" ;; esac; }
net_of() { case $1 in M) echo mldbench-cp_net ;; MB) echo mldbench-cpb_net ;; P) echo ${PC_PROJECT}_default ;; F) echo $FLOOR_NET ;; esac; }
stack_file() { case $1 in M) echo "$BENCH_DIR/stacks/cp.toml" ;; MB) echo "$BENCH_DIR/stacks/cp-build.toml" ;; esac; }

do_up() {
    local s=$1 r=$2 log="$OUT/$1-up-$2.log"
    case $s in
        M | MB) "$MLDEPLOY" -v up "$(stack_file "$s")" 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$log" ;;
        P) podman-compose -p "$PC_PROJECT" -f "$PC_FILE" up -d >"$log" 2>&1 ;;
        F) floor_up "$r" >"$log" 2>&1 ;;
    esac
}
do_down() {
    local s=$1 log="$OUT/$1-down-$2.log"
    case $s in
        M | MB) "$MLDEPLOY" down -f "$(stack_file "$s")" >"$log" 2>&1 ;;
        P) podman-compose -p "$PC_PROJECT" -f "$PC_FILE" down >"$log" 2>&1 ;;
        F) floor_down >"$log" 2>&1 ;;
    esac
}
do_scale() {
    local s=$1 log="$OUT/$1-scale-$2.log"
    case $s in
        M) "$MLDEPLOY" -v scale -f "$(stack_file M)" --replicas 8 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$log" ;;
        F) floor_scale >"$log" 2>&1 ;;
    esac
}

cleanup_all() {
    "$MLDEPLOY" -q down -s mldbench-cp >/dev/null 2>&1 || true
    "$MLDEPLOY" -q down -s mldbench-cpb >/dev/null 2>&1 || true
    podman-compose -p "$PC_PROJECT" -f "$PC_FILE" down >/dev/null 2>&1 || true
    podman network rm -f "${PC_PROJECT}_default" >/dev/null 2>&1 || true
    podman rm -f -t 2 mldbench-floor-lb mldbench-floor-r{1..8} mldbench-eng-{1..6} >/dev/null 2>&1 || true
    podman network rm -f "$FLOOR_NET" mldbench-eng_net >/dev/null 2>&1 || true
}
trap 'log "cleaning up"; cleanup_all' EXIT
cleanup_all

ensure_images
versions_line >"$OUT/versions.txt"
SETUPS=(M MB P F)
if curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; then
    DOCKER_NOTE="a Docker daemon answers, but docker-compose is not part of this run (it would deploy onto Docker, not Podman)."
else
    DOCKER_NOTE="docker-compose skipped: no Docker daemon answers on /var/run/docker.sock."
fi
log "$DOCKER_NOTE"

# Warm-up round (untimed): page cache, image layers, netavark/aardvark.
log "warm-up round"
for s in "${SETUPS[@]}"; do do_up "$s" 0 && wait_200 "${URL[$s]}" 60 && do_down "$s" 0 || true
    podman network rm -f "${PC_PROJECT}_default" >/dev/null 2>&1 || true; done

log "up/down: $REPEATS interleaved rounds of ${SETUPS[*]}"
for ((r = 1; r <= REPEATS; r++)); do
    for s in "${SETUPS[@]}"; do
        t=$(now)
        do_up "$s" "$r" || log "$s up failed (see $OUT/$s-up-$r.log)"
        record "$s" "$r" up_cmd "$(since "$t")"
        wait_200 "${URL[$s]}" 60 || true
        record "$s" "$r" up "$(since "$t")"
        sleep 1 # let the replicas settle before tearing down
        t=$(now)
        do_down "$s" "$r" || log "$s down failed"
        record "$s" "$r" down_cmd "$(since "$t")"
        if [[ $s == P ]]; then
            # podman-compose 1.0.3 `down` leaves the network: time until the containers are gone
            until [[ $(api GET "/containers/json?all=true&filters=$(jq_label "$(label_of P)")" | grep -c '"Id"') == 0 ]]; do sleep 0.02; done
            record "$s" "$r" down "$(since "$t")"
            [[ $(left "$(label_of P)" "$(net_of P)") != 0 ]] && record P "$r" network_left 1
            podman network rm -f "$(net_of P)" >/dev/null 2>&1 || true
        else
            wait_gone "$(label_of "$s")" "$(net_of "$s")" || true
            record "$s" "$r" down "$(since "$t")"
        fi
        log "  $s #$r: up $(values "$DATA" "$s" up | tail -1)s, down $(values "$DATA" "$s" down | tail -1)s"
    done
done

log "scale 2 -> 8: $REPEATS interleaved rounds of M F"
for ((r = 1; r <= REPEATS; r++)); do
    for s in M F; do
        do_up "$s" "s$r" && wait_200 "${URL[$s]}" 60 && wait_replicas "${URL[$s]}" 2 30 || log "$s up before scale failed"
        sleep 1
        t=$(now)
        do_scale "$s" "$r" || log "$s scale failed"
        record "$s" "$r" scale_cmd "$(since "$t")"
        wait_replicas "${URL[$s]}" 8 120 || true
        record "$s" "$r" scale "$(since "$t")"
        log "  $s #$r: scale $(values "$DATA" "$s" scale | tail -1)s"
        t=$(now)
        do_down "$s" "s$r" || true
        wait_gone "$(label_of "$s")" "$(net_of "$s")" || true
        record "$s" "$r" down8 "$(since "$t")"
    done
done

# ---- does the engine serialise? create+start 6, one after another vs all at once ----
eng_one() {
    api POST /containers/create "{\"name\":\"mldbench-eng-$1\",\"image\":\"$IMAGE\",\"env\":{\"LATENCY_MS\":\"0\"},
        \"labels\":{\"mldbench.eng\":\"1\"},\"netns\":{\"nsmode\":\"bridge\"},\"Networks\":{\"mldbench-eng_net\":{}}}" >/dev/null &&
        api POST "/containers/mldbench-eng-$1/start" >/dev/null
}
eng_create_only() {
    api POST /containers/create "{\"name\":\"mldbench-eng-$1\",\"image\":\"$IMAGE\",\"env\":{\"LATENCY_MS\":\"0\"},
        \"labels\":{\"mldbench.eng\":\"1\"},\"netns\":{\"nsmode\":\"bridge\"},\"Networks\":{\"mldbench-eng_net\":{}}}" >/dev/null
}
eng_clean() {
    local id
    for id in $(api GET "/containers/json?all=true&filters=$(jq_label mldbench.eng=1)" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
        api DELETE "/containers/$id?force=true&timeout=0" >/dev/null & done
    wait
}
log "engine: create+start 6 containers, sequential vs parallel, $REPEATS rounds"
api POST /networks/create '{"name":"mldbench-eng_net","driver":"bridge","dns_enabled":true,"labels":{"mldbench.eng":"1"}}' >/dev/null
for ((r = 1; r <= REPEATS; r++)); do
    t=$(now); for i in 1 2 3 4 5 6; do eng_one "$i"; done; record ENG_seq "$r" create_start "$(since "$t")"; eng_clean
    t=$(now); for i in 1 2 3 4 5 6; do eng_one "$i" & done; wait; record ENG_par "$r" create_start "$(since "$t")"; eng_clean
    t=$(now); for i in 1 2 3 4 5 6; do eng_create_only "$i"; done; record ENG_seq "$r" create "$(since "$t")"
    t=$(now); for i in 1 2 3 4 5 6; do api POST "/containers/mldbench-eng-$i/start" >/dev/null; done; record ENG_seq "$r" start "$(since "$t")"
    t=$(now); for i in 1 2 3 4 5 6; do api DELETE "/containers/mldbench-eng-$i?force=true&timeout=0" >/dev/null; done; record ENG_seq "$r" remove "$(since "$t")"
    t=$(now); for i in 1 2 3 4 5 6; do eng_create_only "$i" & done; wait; record ENG_par "$r" create "$(since "$t")"
    t=$(now); for i in 1 2 3 4 5 6; do api POST "/containers/mldbench-eng-$i/start" >/dev/null & done; wait; record ENG_par "$r" start "$(since "$t")"
    t=$(now); for i in 1 2 3 4 5 6; do api DELETE "/containers/mldbench-eng-$i?force=true&timeout=0" >/dev/null & done; wait; record ENG_par "$r" remove "$(since "$t")"
    t=$(now); api GET "/containers/json?all=true" >/dev/null; record ENG_seq "$r" list "$(since "$t")"
done
api DELETE /networks/mldbench-eng_net >/dev/null || true

# ---- mldeploy's phases, from its timestamped -v output -------------------------
# Each M/MB up log line is "<epoch> <text>"; phases are the gaps between markers.
phases() { # phases SETUP -> data rows <SETUP>_phase r phase seconds
    local f r
    for f in "$OUT/$1"-up-[0-9]*.log; do
        r=${f##*-up-}; r=${r%.log}
        awk -v s="$1_phase" -v r="$r" 'BEGIN{OFS="\t"}
            NR==1 { t0 = $1 }
            / ==> building|==> deploying/ && !b { b = $1 }
            /built |==> creating network/ && !n { n = $1 }
            /==> creating network/ { net = $1 }
            /==> starting [0-9]+ replica/ { rep = $1 }
            /  ok .*healthy/ { h = $1 }
            /==> starting balancer/ { lb = $1 }
            /  ok balancer answers/ { lbok = $1 }
            END {
                print s, r, "image_check", (net ? net : rep) - t0
                print s, r, "network", (net ? rep - net : 0)
                print s, r, "replicas_healthy", lb - rep
                print s, r, "balancer", lbok - lb
                print s, r, "total_cmd", $1 - t0 }' "$f" >>"$DATA"
    done
}
phases M; phases MB

# ---- tables ----------------------------------------------------------------------
secs() { cell "$DATA" "$1" "$2" %.2f; }
{
echo "### Control plane: 2 replicas + nginx on a new network (seconds)"
echo
echo "$(cat "$OUT/versions.txt"); $REPEATS interleaved rounds; each cell: median (min–max); ratio = median / floor's median."
echo
echo "| set-up | up → first 200 | ratio | down → nothing left | ratio | scale 2→8 → all 8 answer | ratio |"
echo "|---|---|---|---|---|---|---|"
fu=$(median "$DATA" F up); fd=$(median "$DATA" F down); fs=$(median "$DATA" F scale)
for s in M MB P F; do
    case $s in M) name="mldeploy (image only)" ;; MB) name="mldeploy (stack with build)" ;;
        P) name="podman-compose $(podman-compose version 2>/dev/null | awk '/podman-compose version/{print $3; exit}')" ;; F) name="floor: raw REST (curl)" ;; esac
    sc="-"; sr="-"
    if [[ $s == M || $s == F ]]; then sc=$(secs "$s" scale); sr="$(ratio "$(median "$DATA" "$s" scale)" "$fs")x"; fi
    dn=$(secs "$s" down); [[ $s == P ]] && dn="$dn ¹"
    echo "| $name | $(secs "$s" up) | $(ratio "$(median "$DATA" "$s" up)" "$fu")x | $dn | $(ratio "$(median "$DATA" "$s" down)" "$fd")x | $sc | $sr |"
done
echo
echo "¹ podman-compose 1.0.3 \`down\` removes the containers but leaves its network (left in $(values "$DATA" P network_left | wc -l) of $REPEATS rounds); its column is the time until the containers are gone. $DOCKER_NOTE"
echo
echo "Where mldeploy's \`up\` spends its time (from its \`-v\` output; seconds, median (min–max)):"
echo
echo "| phase | mldeploy (image only) | mldeploy (with build) | floor |"
echo "|---|---|---|---|"
echo "| image / build cache check | $(secs M_phase image_check) | $(secs MB_phase image_check) | 0 (none) |"
echo "| network create | $(secs M_phase network) | $(secs MB_phase network) | $(secs F_phase network) |"
echo "| 2 replicas create+start (+ health wait for mldeploy) | $(secs M_phase replicas_healthy) | $(secs MB_phase replicas_healthy) | $(secs F_phase replicas) |"
echo "| balancer create+config+start (+ probe for mldeploy) | $(secs M_phase balancer) | $(secs MB_phase balancer) | $(secs F_phase balancer) |"
echo "| whole command | $(secs M_phase total_cmd) | $(secs MB_phase total_cmd) | $(secs F up_cmd) |"
echo "| scale command alone (mldeploy scale / floor calls) | $(secs M scale_cmd) | | $(secs F scale_cmd) |"
echo
echo "Does the engine serialise? create+start 6 containers on one network through the REST socket (seconds):"
echo
echo "| operation on 6 containers | one after another | all 6 at once | parallel / sequential |"
echo "|---|---|---|---|"
for m in create_start create start remove; do
    echo "| $m | $(secs ENG_seq $m) | $(secs ENG_par $m) | $(ratio "$(median "$DATA" ENG_par $m)" "$(median "$DATA" ENG_seq $m)")x |"
done
echo "| (one list request, for scale) | $(secs ENG_seq list) | | |"
} | tee "$OUT/table.md"
