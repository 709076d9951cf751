#!/usr/bin/env bash
# Control-plane speed: the same stack (2 movie-recommender replicas, LATENCY_MS=0, + an
# nginx balancer on a new network) deployed, scaled and removed by different tools,
# interleaved round by round, images already built.
#
#   bench/control_plane.sh                 # REPEATS=5 (about 15 minutes)
#   REPEATS=2 bench/control_plane.sh       # a quick look
#
# Set-ups (all publish on 127.0.0.1):
#   M   mldeploy, image-only stack (bench/stacks/cp.toml, port 19201)
#   MB  mldeploy, stack with `build =` (bench/stacks/cp-build.toml, port 19202): `up` also
#       sends the build context and the engine answers from its cache
#   P   podman-compose 1.0.x (bench/compose/compose.yml: deploy.replicas=2 + nginx, port 19203)
#   F   the floor: raw libpod REST calls with curl --unix-socket: network; 2 replicas
#       created+started in parallel; then the balancer (port 19204)
#   DC  docker-compose 1.29 with the same compose file, on Docker (port 19205), only when a
#       Docker daemon answers on /var/run/docker.sock (the images are copied into it first)
# Measured:
#   up     command start -> first 200 of /recommend/1 through the balancer
#   down   command start -> no container and no network of the stack left
#   scale  2 -> 8 (M and F): command start -> all 8 replicas answer through the balancer
#          (F: create+start 6 in parallel, rewrite nginx.conf, SIGHUP)
#   phases of each up/scale, from the engine's own event times (podman events)
#   engine: create/start/remove 6 containers, one after another vs all at once (REST)
# Env: REPEATS (5), NO_DOCKER=1 skips docker-compose.
# A new machine: apt-get install -y apache2-utils hey wrk podman-compose docker-compose time
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPEATS=${REPEATS:-5}
need_tools curl:curl podman-compose:podman-compose perl:perl
ensure_engine
ensure_mldeploy

OUT=$(results_dir control_plane)
DATA=$OUT/data.tsv
WINDOWS=$OUT/windows.tsv # setup round op t0_ns t_end_ns
: >"$DATA"
: >"$WINDOWS"
log "raw data: $OUT"
# The engine's own event times, streamed as they happen (reading the event log back
# afterwards is unreliable: Podman 4.3 rotates it at 1 MB, and other runs fill it fast).
# Started from a subshell, so that it is no job of this shell (the bare `wait`s below
# wait for this shell's jobs only).
EVENTS_PID=$( (podman events --filter type=container --format '{{.Time.UnixNano}} {{.Type}} {{.Status}} {{.Name}}' \
    >"$OUT/events.txt" 2>/dev/null </dev/null & echo $!) )

PC_PROJECT=mldbench-pc
DC_PROJECT=mldbench-dc
COMPOSE_FILE=$BENCH_DIR/compose/compose.yml
FLOOR_NET=mldbench-floor_net
FLOOR_LABEL=mldbench.floor
FLOOR_CONF_DIR=$OUT/floor-nginx
DOCKER_SOCK=/var/run/docker.sock
mkdir -p "$FLOOR_CONF_DIR"
export LATENCY_MS=0
declare -A URL=([M]=http://127.0.0.1:19201/recommend/1 [MB]=http://127.0.0.1:19202/recommend/1
    [P]=http://127.0.0.1:19203/recommend/1 [F]=http://127.0.0.1:19204/recommend/1
    [DC]=http://127.0.0.1:19205/recommend/1)

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$DATA"; }
jq_label() { printf '%%7B%%22label%%22%%3A%%5B%%22%s%%22%%5D%%7D' "${1/=/%3D}"; } # {"label":["K=V"]}, URL-encoded
dapi() { curl -sS --unix-socket "$DOCKER_SOCK" "http://d/v1.41$1"; }

# ---- the floor: raw REST ------------------------------------------------------
floor_conf() { # floor_conf N: the article's nginx.conf listing replicas 1..N by name.
    # max_fails=0: a replica not listening yet is skipped per request, not for 10 s.
    local i servers=""
    for ((i = 1; i <= $1; i++)); do servers+="server mldbench-floor-r$i:5000 max_fails=0; "; done
    # Written in place (same inode), as nginx reads it again on SIGHUP.
    printf 'events {}\nhttp { upstream server { %s} server { listen 5000; location / { proxy_pass http://server; } } }\n' \
        "$servers" >"$FLOOR_CONF_DIR/nginx.conf"
}
floor_replica() { # floor_replica I: create + start one replica
    api POST /containers/create "{\"name\":\"mldbench-floor-r$1\",\"image\":\"$IMAGE\",
        \"env\":{\"LATENCY_MS\":\"0\"},\"labels\":{\"$FLOOR_LABEL\":\"1\"},
        \"netns\":{\"nsmode\":\"bridge\"},\"Networks\":{\"$FLOOR_NET\":{}}}" >/dev/null &&
        api POST "/containers/mldbench-floor-r$1/start" >/dev/null
}
floor_up() {
    floor_conf 2
    api POST /networks/create "{\"name\":\"$FLOOR_NET\",\"driver\":\"bridge\",\"dns_enabled\":true,
        \"labels\":{\"$FLOOR_LABEL\":\"1\"}}" >/dev/null
    floor_replica 1 & floor_replica 2 & wait
    api POST /containers/create "{\"name\":\"mldbench-floor-lb\",\"image\":\"$NGINX_IMAGE\",
        \"command\":[\"nginx\",\"-c\",\"/etc/nginx/bench/nginx.conf\",\"-g\",\"daemon off;\"],
        \"labels\":{\"$FLOOR_LABEL\":\"1\"},\"netns\":{\"nsmode\":\"bridge\"},\"Networks\":{\"$FLOOR_NET\":{}},
        \"portmappings\":[{\"host_ip\":\"127.0.0.1\",\"host_port\":19204,\"container_port\":5000,\"protocol\":\"tcp\"}],
        \"mounts\":[{\"type\":\"bind\",\"source\":\"$FLOOR_CONF_DIR\",\"destination\":\"/etc/nginx/bench\",\"options\":[\"ro\"]}]}" >/dev/null
    api POST /containers/mldbench-floor-lb/start >/dev/null
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

# ---- what is left of a set-up: containers (by label) + its network ----------------
label_of() { case $1 in M) echo io.mldeploy.stack=mldbench-cp ;; MB) echo io.mldeploy.stack=mldbench-cpb ;;
    P) echo "io.podman.compose.project=$PC_PROJECT" ;; F) echo "$FLOOR_LABEL=1" ;;
    DC) echo "com.docker.compose.project=$DC_PROJECT" ;; esac; }
net_of() { case $1 in M) echo mldbench-cp_net ;; MB) echo mldbench-cpb_net ;; P) echo "${PC_PROJECT}_default" ;;
    F) echo "$FLOOR_NET" ;; DC) echo "${DC_PROJECT}_default" ;; esac; }
containers_left() {
    if [[ $1 == DC ]]; then dapi "/containers/json?all=1&filters=$(jq_label "$(label_of DC)")" | grep -o '"Id"' | wc -l
    else api GET "/containers/json?all=true&filters=$(jq_label "$(label_of "$1")")" | grep -o '"Id"' | wc -l; fi
}
network_left() {
    local code
    if [[ $1 == DC ]]; then code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$DOCKER_SOCK" "http://d/v1.41/networks/$(net_of DC)")
        [[ $code == 200 ]] && echo 1 || echo 0
    else code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "$LIBPOD/networks/$(net_of "$1")/exists")
        [[ $code == 204 ]] && echo 1 || echo 0; fi
}
# wait_gone SETUP [containers]: until nothing (or no container) of SETUP is left
wait_gone() {
    local start=$EPOCHREALTIME
    while :; do
        if [[ ${2-} == containers ]]; then [[ $(containers_left "$1") == 0 ]] && return 0
        else [[ $(containers_left "$1") == 0 && $(network_left "$1") == 0 ]] && return 0; fi
        awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{exit !(b-a>60)}' && { log "$1 not gone after 60s"; return 1; }
        sleep 0.02
    done
}

# ---- the operations ------------------------------------------------------------
stack_file() { case $1 in M) echo "$BENCH_DIR/stacks/cp.toml" ;; MB) echo "$BENCH_DIR/stacks/cp-build.toml" ;; esac; }
do_up() {
    local s=$1 log="$OUT/$1-up-$2.log"
    case $s in
        M | MB) "$MLDEPLOY" -v up "$(stack_file "$s")" 2>&1 | stamp >"$log" ;;
        P) MLDBENCH_PORT=19203 podman-compose -p "$PC_PROJECT" -f "$COMPOSE_FILE" up -d >"$log" 2>&1 ;;
        DC) MLDBENCH_PORT=19205 MLDBENCH_NGINX_IMAGE=localhost/mldbench/nginx:stable \
            docker-compose -p "$DC_PROJECT" -f "$COMPOSE_FILE" up -d >"$log" 2>&1 ;;
        F) floor_up >"$log" 2>&1 ;;
    esac
}
do_down() {
    local s=$1 log="$OUT/$1-down-$2.log"
    case $s in
        M | MB) "$MLDEPLOY" down -f "$(stack_file "$s")" >"$log" 2>&1 ;;
        P) MLDBENCH_PORT=19203 podman-compose -p "$PC_PROJECT" -f "$COMPOSE_FILE" down >"$log" 2>&1 ;;
        DC) MLDBENCH_PORT=19205 MLDBENCH_NGINX_IMAGE=localhost/mldbench/nginx:stable \
            docker-compose -p "$DC_PROJECT" -f "$COMPOSE_FILE" down >"$log" 2>&1 ;;
        F) floor_down >"$log" 2>&1 ;;
    esac
}
do_scale() {
    local s=$1 log="$OUT/$1-scale-$2.log"
    case $s in
        M) "$MLDEPLOY" -v scale -f "$(stack_file M)" --replicas 8 2>&1 | stamp >"$log" ;;
        F) floor_scale >"$log" 2>&1 ;;
    esac
}

HAVE_DOCKER=0
cleanup_all() {
    "$MLDEPLOY" -q down -s mldbench-cp >/dev/null 2>&1 || true
    "$MLDEPLOY" -q down -s mldbench-cpb >/dev/null 2>&1 || true
    podman-compose -p "$PC_PROJECT" -f "$COMPOSE_FILE" down >/dev/null 2>&1 || true
    podman network rm -f "${PC_PROJECT}_default" >/dev/null 2>&1 || true
    podman rm -f -t 2 mldbench-floor-lb mldbench-floor-r{1..8} mldbench-eng-{1..6} >/dev/null 2>&1 || true
    podman network rm -f "$FLOOR_NET" mldbench-eng_net >/dev/null 2>&1 || true
    if [[ $HAVE_DOCKER == 1 ]]; then
        MLDBENCH_NGINX_IMAGE=localhost/mldbench/nginx:stable docker-compose -p "$DC_PROJECT" -f "$COMPOSE_FILE" down >/dev/null 2>&1 || true
    fi
}
final_cleanup() {
    log "cleaning up"
    cleanup_all
    if [[ $HAVE_DOCKER == 1 ]]; then
        docker rmi localhost/mldbench/recommender:1 localhost/mldbench/nginx:stable >/dev/null 2>&1 || true
    fi
}
trap 'final_cleanup; kill "$EVENTS_PID" 2>/dev/null || true' EXIT
cleanup_all

ensure_images
versions_line >"$OUT/versions.txt"
SETUPS=(M MB P F)
if [[ ${NO_DOCKER:-0} != 1 ]] && curl -sf --max-time 2 --unix-socket "$DOCKER_SOCK" http://d/_ping >/dev/null 2>&1 &&
    command -v docker-compose >/dev/null && command -v docker >/dev/null; then
    HAVE_DOCKER=1
    DOCKER_VERSION=$(dapi /version | grep -o '"Version":"[^"]*"' | head -1 | cut -d'"' -f4)
    log "a Docker daemon ($DOCKER_VERSION) answers: copying the two images into it for docker-compose"
    # A second name for the balancer image, so that Docker gets it under our own name
    # (never `podman untag IMAGE` alone: that removes every name of the image).
    podman tag "$NGINX_IMAGE" localhost/mldbench/nginx:stable
    podman save "$IMAGE" localhost/mldbench/nginx:stable 2>/dev/null | docker load >&2
    podman untag localhost/mldbench/nginx:stable localhost/mldbench/nginx:stable
    podman image exists "$NGINX_IMAGE" || die "$NGINX_IMAGE lost its name"
    cleanup_all
    SETUPS+=(DC)
    DOCKER_NOTE="docker-compose $(docker-compose version --short 2>/dev/null) ran on Docker Engine $DOCKER_VERSION (a different engine: compare it with care)."
else
    DOCKER_NOTE="docker-compose skipped: no Docker daemon answers on $DOCKER_SOCK."
fi
log "$DOCKER_NOTE"

# Warm-up round (untimed): page cache, image layers, netavark/aardvark.
log "warm-up round"
for s in "${SETUPS[@]}"; do
    { do_up "$s" 0 && wait_200 "${URL[$s]}" 60 && do_down "$s" 0; } || log "warm-up of $s failed"
    [[ $s == P ]] && podman network rm -f "$(net_of P)" >/dev/null 2>&1 || true
done

log "up/down: $REPEATS interleaved rounds of ${SETUPS[*]}"
for ((r = 1; r <= REPEATS; r++)); do
    for s in "${SETUPS[@]}"; do
        t=$(now); t0=$(ns)
        do_up "$s" "$r" || log "$s up failed (see $OUT/$s-up-$r.log)"
        record "$s" "$r" up_cmd "$(since "$t")"
        wait_200 "${URL[$s]}" 60 || true
        record "$s" "$r" up "$(since "$t")"
        printf '%s\t%s\tup\t%s\t%s\n' "$s" "$r" "$t0" "$(ns)" >>"$WINDOWS"
        sleep 1 # let the replicas settle before tearing down
        t=$(now); t0=$(ns)
        do_down "$s" "$r" || log "$s down failed"
        record "$s" "$r" down_cmd "$(since "$t")"
        if [[ $s == P ]]; then
            # podman-compose 1.0.3 `down` leaves the network: time until the containers are gone
            wait_gone P containers || true
            record "$s" "$r" down "$(since "$t")"
            [[ $(network_left P) == 1 ]] && record P "$r" network_left 1
            podman network rm -f "$(net_of P)" >/dev/null 2>&1 || true
        else
            wait_gone "$s" || true
            record "$s" "$r" down "$(since "$t")"
        fi
        printf '%s\t%s\tdown\t%s\t%s\n' "$s" "$r" "$t0" "$(ns)" >>"$WINDOWS"
        log "  $s #$r: up $(values "$DATA" "$s" up | tail -1)s, down $(values "$DATA" "$s" down | tail -1)s"
    done
done

log "scale 2 -> 8: $REPEATS interleaved rounds of M F"
for ((r = 1; r <= REPEATS; r++)); do
    for s in M F; do
        { do_up "$s" "s$r" && wait_200 "${URL[$s]}" 60 && wait_replicas "${URL[$s]}" 2 30; } || log "$s up before scale failed"
        sleep 1
        t=$(now); t0=$(ns)
        do_scale "$s" "$r" || log "$s scale failed"
        record "$s" "$r" scale_cmd "$(since "$t")"
        wait_replicas "${URL[$s]}" 8 120 || true
        record "$s" "$r" scale "$(since "$t")"
        printf '%s\t%s\tscale\t%s\t%s\n' "$s" "$r" "$t0" "$(ns)" >>"$WINDOWS"
        log "  $s #$r: scale $(values "$DATA" "$s" scale | tail -1)s"
        t=$(now)
        do_down "$s" "s$r" || true
        wait_gone "$s" || true
        record "$s" "$r" down8 "$(since "$t")"
    done
done

# ---- does the engine serialise? 6 containers, one after another vs all at once ----
eng_create() {
    api POST /containers/create "{\"name\":\"mldbench-eng-$1\",\"image\":\"$IMAGE\",\"env\":{\"LATENCY_MS\":\"0\"},
        \"labels\":{\"mldbench.eng\":\"1\"},\"netns\":{\"nsmode\":\"bridge\"},\"Networks\":{\"mldbench-eng_net\":{}}}" >/dev/null
}
eng_start() { api POST "/containers/mldbench-eng-$1/start" >/dev/null; }
eng_rm() { api DELETE "/containers/mldbench-eng-$1?force=true&timeout=0" >/dev/null; }
eng_both() { eng_create "$1" && eng_start "$1"; }
log "engine: create/start/remove 6 containers, sequential vs parallel, $REPEATS rounds"
api POST /networks/create '{"name":"mldbench-eng_net","driver":"bridge","dns_enabled":true,"labels":{"mldbench.eng":"1"}}' >/dev/null
for ((r = 1; r <= REPEATS; r++)); do
    t=$(now); for i in {1..6}; do eng_both "$i"; done; record ENG_seq "$r" create_start "$(since "$t")"
    for i in {1..6}; do eng_rm "$i" & done; wait
    t=$(now); for i in {1..6}; do eng_both "$i" & done; wait; record ENG_par "$r" create_start "$(since "$t")"
    for i in {1..6}; do eng_rm "$i" & done; wait
    t=$(now); for i in {1..6}; do eng_create "$i"; done; record ENG_seq "$r" create "$(since "$t")"
    t=$(now); for i in {1..6}; do eng_start "$i"; done; record ENG_seq "$r" start "$(since "$t")"
    t=$(now); for i in {1..6}; do eng_rm "$i"; done; record ENG_seq "$r" remove "$(since "$t")"
    t=$(now); for i in {1..6}; do eng_create "$i" & done; wait; record ENG_par "$r" create "$(since "$t")"
    t=$(now); for i in {1..6}; do eng_start "$i" & done; wait; record ENG_par "$r" start "$(since "$t")"
    t=$(now); for i in {1..6}; do eng_rm "$i" & done; wait; record ENG_par "$r" remove "$(since "$t")"
done
api DELETE /networks/mldbench-eng_net >/dev/null || true

# ---- phases, from the engine's event times ------------------------------------------
# For each timed window: t0 (command start), the set-up's container create/start events,
# the balancer's, execs (nginx -t, reload) and kills (SIGHUP), t_end (first 200 / all 8).
sleep 1
kill "$EVENTS_PID" 2>/dev/null || true
awk -v OFS='\t' '
    function prefix(s) { return s == "M" ? "mldbench-cp-" : s == "MB" ? "mldbench-cpb-" : s == "P" ? "mldbench-pc_" : s == "F" ? "mldbench-floor-" : "-" }
    function d(a, b) { return (a > 0 && b > 0) ? (b - a) / 1e9 : "" }
    FNR == NR { n++; S[n] = $1; R[n] = $2; O[n] = $3; T0[n] = $4; T1[n] = $5; next }
    $2 == "container" {
        for (i = 1; i <= n; i++) {
            if ($1 < T0[i] || $1 > T1[i] || index($4, prefix(S[i])) != 1) continue
            lb = ($4 ~ /balancer|-lb$/)
            if ($3 == "create" && !fc[i]) fc[i] = $1
            if ($3 == "start" && !lb) ls[i] = $1
            if ($3 == "create" && lb) lc[i] = $1
            if ($3 == "start" && lb) lst[i] = $1
            if (($3 == "exec" || $3 == "kill") && !fx[i]) fx[i] = $1
            if ($3 == "exec_died" || $3 == "kill") lx[i] = $1
            if (($3 == "kill" || $3 == "stop" || $3 == "died") && !fd[i]) fd[i] = $1
            if ($3 == "remove") { lr[i] = $1; if (lb) lbr[i] = $1 }
        }
    }
    END {
        for (i = 1; i <= n; i++) {
            p = S[i] "_" O[i] "_phase"
            if (O[i] == "down") {
                print p, R[i], "before_first_stop", d(T0[i], fd[i])
                print p, R[i], "first_stop_to_balancer_removed", d(fd[i], lbr[i])
                print p, R[i], "first_stop_to_last_removed", d(fd[i], lr[i])
                print p, R[i], "last_removed_to_nothing_left", d(lr[i], T1[i])
                continue
            }
            print p, R[i], "before_first_create", d(T0[i], fc[i])
            print p, R[i], "replicas_created_started", d(fc[i], ls[i])
            if (O[i] == "up") {
                print p, R[i], "replicas_started_to_balancer_create", d(ls[i], lc[i])
                print p, R[i], "balancer_create_to_start", d(lc[i], lst[i])
                print p, R[i], "balancer_start_to_first_200", d(lst[i], T1[i])
            } else {
                print p, R[i], "replicas_started_to_reload", d(ls[i], fx[i])
                print p, R[i], "reload", d(fx[i], lx[i])
                print p, R[i], "reload_to_all_answer", d(lx[i], T1[i])
            }
        }
    }' "$WINDOWS" "$OUT/events.txt" | awk -F'\t' '$4 != ""' >>"$DATA"

# mldeploy's own view, from its -v output stamped line by line as it is written.
awk -v OFS='\t' '
    FNR == 1 { if (f) flush(); f = FILENAME; t0 = $1; net = rep = lb = lbok = sc = rl = end = 0; h = 0 }
    / ==> creating network/ { net = $1 }
    / ==> starting [0-9]+ replica/ { rep = $1 }
    /  ok .* healthy/ { h = $1 }
    / ==> starting balancer/ { lb = $1 }
    /  ok balancer answers/ { lbok = $1 }
    /balancer reloaded/ { rl = $1 }
    { end = $1 }
    function flush(   s, r, op) {
        n = split(f, parts, "/"); name = parts[n]           # M-up-3.log, M-scale-2.log
        split(name, q, "-"); s = q[1]; op = q[2]; r = q[3]; sub(/\.log$/, "", r)
        if (r !~ /^[0-9]+$/ || r == 0) return
        if (op == "up") {
            print s "_mlup", r, "before_network", (net ? net : rep) - t0
            print s "_mlup", r, "network", net ? rep - net : 0
            print s "_mlup", r, "replicas_healthy", h - rep
            print s "_mlup", r, "balancer", lbok - lb
            print s "_mlup", r, "ready_to_end", end - (h > lbok ? h : lbok)
            print s "_mlup", r, "command", end - t0
        } else if (op == "scale") {
            print s "_mlscale", r, "before_replicas", rep - t0
            print s "_mlscale", r, "replicas_healthy", h - rep
            print s "_mlscale", r, "balancer_update", rl - h
            print s "_mlscale", r, "command", end - t0
        }
    }
    END { if (f) flush() }' "$OUT"/M-up-*.log "$OUT"/MB-up-*.log "$OUT"/M-scale-*.log >>"$DATA"

# ---- tables ----------------------------------------------------------------------
secs() { cell "$DATA" "$1" "$2" %.2f; }
name_of() { case $1 in M) echo "mldeploy (image only)" ;; MB) echo "mldeploy (stack with build)" ;;
    P) echo "podman-compose $(dpkg-query -W -f='${Version}' podman-compose 2>/dev/null)" ;; F) echo "floor: raw REST (curl)" ;;
    DC) echo "docker-compose $(docker-compose version --short 2>/dev/null) (on Docker)" ;; esac; }
{
echo "### Control plane: 2 replicas + nginx on a new network (seconds)"
echo
echo "$(cat "$OUT/versions.txt"); $REPEATS interleaved rounds; each cell: median (min–max); ratio = median / floor's median."
echo
echo "| set-up | up → first 200 | ratio | down → nothing left | ratio | scale 2→8 → all 8 answer | ratio |"
echo "|---|---|---|---|---|---|---|"
fu=$(median "$DATA" F up); fd=$(median "$DATA" F down); fs=$(median "$DATA" F scale)
for s in "${SETUPS[@]}"; do
    sc="-"; sr="-"
    if [[ $s == M || $s == F ]]; then sc=$(secs "$s" scale); sr="$(ratio "$(median "$DATA" "$s" scale)" "$fs")x"; fi
    dn=$(secs "$s" down); [[ $s == P ]] && dn="$dn ¹"
    echo "| $(name_of "$s") | $(secs "$s" up) | $(ratio "$(median "$DATA" "$s" up)" "$fu")x | $dn | $(ratio "$(median "$DATA" "$s" down)" "$fd")x | $sc | $sr |"
done
echo
echo "¹ podman-compose 1.0.3 \`down\` removes the containers but leaves its network (left in $(values "$DATA" P network_left | wc -l) of $REPEATS rounds); its cell is the time until the containers are gone. $DOCKER_NOTE"
echo
echo "Where \`up\` spends its time, from the engine's event times (\`podman events\`; seconds, median (min–max)):"
echo
echo "| phase of up | $(for s in M MB P F; do printf '%s | ' "$(name_of $s)"; done)"
echo "|---|---|---|---|---|"
for ph in before_first_create replicas_created_started replicas_started_to_balancer_create balancer_create_to_start balancer_start_to_first_200; do
    case $ph in before_first_create) label="command start → first container create (tool start, image/build check, network create)" ;;
        replicas_created_started) label="first create → last replica started" ;;
        replicas_started_to_balancer_create) label="last replica started → balancer create" ;;
        balancer_create_to_start) label="balancer create → balancer start" ;;
        balancer_start_to_first_200) label="balancer start → first 200" ;; esac
    echo "| $label | $(for s in M MB P F; do printf '%s | ' "$(secs "${s}_up_phase" $ph)"; done)"
done
echo "| whole: command start → first 200 | $(for s in M MB P F; do printf '%s | ' "$(secs "$s" up)"; done)"
echo
echo "Where \`down\` spends its time, from the engine's event times (seconds):"
echo
echo "| phase of down | $(for s in M MB P F; do printf '%s | ' "$(name_of $s)"; done)"
echo "|---|---|---|---|---|"
for ph in before_first_stop first_stop_to_balancer_removed first_stop_to_last_removed last_removed_to_nothing_left; do
    case $ph in before_first_stop) label="command start → first container stops (tool start, list)" ;;
        first_stop_to_balancer_removed) label="first stop → balancer removed" ;;
        first_stop_to_last_removed) label="first stop → last container removed" ;;
        last_removed_to_nothing_left) label="last container removed → nothing left (network; P: containers gone)" ;; esac
    echo "| $label | $(for s in M MB P F; do printf '%s | ' "$(secs "${s}_down_phase" $ph)"; done)"
done
echo "| whole: command start → nothing left | $(for s in M MB P F; do printf '%s | ' "$(secs "$s" down)"; done)"
echo
echo "The same, as mldeploy sees it (its \`-v\` lines, time-stamped as written; seconds):"
echo
echo "| phase of mldeploy up | image only | with build |"
echo "|---|---|---|"
echo "| start → network create (engine ping, image inspect or build, list) | $(secs M_mlup before_network) | $(secs MB_mlup before_network) |"
echo "| network create | $(secs M_mlup network) | $(secs MB_mlup network) |"
echo "| 2 replicas created, started, healthy | $(secs M_mlup replicas_healthy) | $(secs MB_mlup replicas_healthy) |"
echo "| balancer: create, start, answers | $(secs M_mlup balancer) | $(secs MB_mlup balancer) |"
echo "| replicas healthy and balancer answering → command ends (a reload or copy, if any) | $(secs M_mlup ready_to_end) | $(secs MB_mlup ready_to_end) |"
echo "| whole command | $(secs M_mlup command) | $(secs MB_mlup command) |"
echo
echo "| phase of mldeploy scale 2→8 | seconds |"
echo "|---|---|"
echo "| start → creating replicas (stack, images, list, balancer files read back) | $(secs M_mlscale before_replicas) |"
echo "| 6 replicas created, started, healthy | $(secs M_mlscale replicas_healthy) |"
echo "| last healthy → balancer reloaded (one exec: nginx -t, reload; until new connections get it) | $(secs M_mlscale balancer_update) |"
echo "| whole command | $(secs M_mlscale command) |"
echo
echo "Where \`scale 2→8\` spends its time, from the engine's event times (seconds):"
echo
echo "| phase of scale | mldeploy | floor |"
echo "|---|---|---|"
echo "| command start → first create (mldeploy: read stack, images, list, balancer files) | $(secs M_scale_phase before_first_create) | $(secs F_scale_phase before_first_create) |"
echo "| first create → last of 6 replicas started | $(secs M_scale_phase replicas_created_started) | $(secs F_scale_phase replicas_created_started) |"
echo "| last replica started → reload begins (mldeploy: health wait, copy config in, first exec) | $(secs M_scale_phase replicas_started_to_reload) | $(secs F_scale_phase replicas_started_to_reload) |"
echo "| reload (mldeploy: exec nginx -t, exec nginx -s reload; floor: SIGHUP) | $(secs M_scale_phase reload) | $(secs F_scale_phase reload) |"
echo "| reload done → all 8 answer | $(secs M_scale_phase reload_to_all_answer) | $(secs F_scale_phase reload_to_all_answer) |"
echo "| whole: command start → all 8 answer | $(secs M scale) | $(secs F scale) |"
echo "| the command alone | $(secs M scale_cmd) | $(secs F scale_cmd) |"
echo
echo "Does the engine serialise? 6 containers on one network through the REST socket (seconds):"
echo
echo "| operation on 6 containers | one after another | all 6 at once | at once / one after another |"
echo "|---|---|---|---|"
for m in create_start create start remove; do
    echo "| ${m/_/+} | $(secs ENG_seq $m) | $(secs ENG_par $m) | $(ratio "$(median "$DATA" ENG_par $m)" "$(median "$DATA" ENG_seq $m)")x |"
done
} | tee "$OUT/table.md"
