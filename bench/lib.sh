# Shared helpers for bench/*.sh (sourced, not run).
#
# Conventions: progress goes to stderr, the markdown table to stdout, raw data to
# bench/results/<script>-<timestamp>/. Everything a script makes carries the
# "mldbench" prefix and ports 19xxx, and is removed on exit.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}
LIBPOD=http://d/v4.0.0/libpod
MLDEPLOY_GIVEN=${MLDEPLOY:-}
MLDEPLOY=${MLDEPLOY:-$REPO_DIR/build-bench/src/mldeploy}
IMAGE=localhost/mldbench/recommender:1
NGINX_IMAGE=docker.io/library/nginx:stable
PYTHON_IMAGE=localhost/mldeploy/python:3.11
export NO_COLOR=1

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A monotonic-enough wall clock in seconds with microseconds (bash 5 builtin: no fork).
now() { printf '%s' "$EPOCHREALTIME"; }
# elapsed START -> seconds since START, 3 decimals
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.3f", b-a}'; }

# need_tools CMD:PACKAGE ... : installs the Debian packages of missing commands.
# (The full line for a new machine:
#  apt-get install -y apache2-utils hey wrk podman-compose docker-compose time)
need_tools() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    apt-get install -y "${missing[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${missing[@]}" >&2; }
}

ensure_engine() {
    curl -sf --max-time 5 --unix-socket "$SOCK" http://d/_ping >/dev/null ||
        die "Podman's REST socket $SOCK does not answer (packaging/install.sh starts it)"
}

# Builds (incrementally) the checkout's mldeploy, Release, into build-bench/, so that a
# run measures the tree as it is; MLDEPLOY=/path/to/mldeploy measures that binary instead.
ensure_mldeploy() {
    if [[ -n ${MLDEPLOY_GIVEN:-} ]]; then
        [[ -x $MLDEPLOY ]] || die "MLDEPLOY=$MLDEPLOY is not an executable"
        return
    fi
    need_tools cmake:cmake ninja:ninja-build
    if [[ ! -f $REPO_DIR/build-bench/build.ninja ]]; then
        log "configuring mldeploy (Release) in $REPO_DIR/build-bench"
        cmake -S "$REPO_DIR" -B "$REPO_DIR/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
    fi
    log "building mldeploy (incremental)"
    BUILT_REV=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$REPO_DIR" diff --quiet HEAD -- src templates CMakeLists.txt cmake 2>/dev/null || BUILT_REV="$BUILT_REV+local changes"
    cmake --build "$REPO_DIR/build-bench" --target mldeploy >&2
}

# The base images (no registry) and the benchmark's own tag of the recommender,
# built by mldeploy from examples/movie-recommender (a cached build when unchanged).
ensure_images() {
    if ! podman image exists "$PYTHON_IMAGE" || ! podman image exists "$NGINX_IMAGE"; then
        log "building the base images (packaging/build-base-images.sh)"
        "$REPO_DIR/packaging/build-base-images.sh" >&2
    fi
    "$MLDEPLOY" -q build -f "$BENCH_DIR/stacks/cp-build.toml" >&2
}

# results_dir NAME -> makes and prints bench/results/NAME-<timestamp>
results_dir() {
    local d="$BENCH_DIR/results/$1-$(date +%Y%m%d-%H%M%S)"
    mkdir -p "$d"
    printf '%s' "$d"
}

# api METHOD PATH [JSON] : one libpod REST call; prints the body; fails on >= 400.
api() {
    local method=$1 path=$2 body=${3-}
    if [[ -n $body ]]; then
        curl -sS --fail-with-body --unix-socket "$SOCK" -X "$method" -H 'Content-Type: application/json' \
            --data-binary "$body" "$LIBPOD$path"
    else
        curl -sS --fail-with-body --unix-socket "$SOCK" -X "$method" "$LIBPOD$path"
    fi
}

# wait_200 URL [SECONDS]: polls every 20 ms until URL answers 200.
wait_200() {
    local url=$1 limit=${2:-60} start=$EPOCHREALTIME code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
        [[ $code == 200 ]] && return 0
        if awk -v a="$start" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN{exit !(b-a>l)}'; then
            log "no 200 from $url within ${limit}s (last: $code)"
            return 1
        fi
        sleep 0.02
    done
}

# replicas_seen URL COUNT: true when COUNT distinct X-Replica values answer through URL
# (3*COUNT requests on one keep-alive connection: round robin reaches every replica).
replicas_seen() {
    local url=$1 want=$2 urls=() i n
    for ((i = 0; i < 3 * want; i++)); do urls+=("$url"); done
    n=$(curl -s --max-time 5 -D - -o /dev/null "${urls[@]}" 2>/dev/null |
        tr -d '\r' | awk -F': ' 'tolower($1)=="x-replica"{print $2}' | sort -u | wc -l)
    [[ $n -ge $want ]]
}

# wait_replicas URL COUNT [SECONDS]
wait_replicas() {
    local url=$1 want=$2 limit=${3:-120} start=$EPOCHREALTIME
    until replicas_seen "$url" "$want"; do
        if awk -v a="$start" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN{exit !(b-a>l)}'; then
            log "fewer than $want replicas answer through $url after ${limit}s"
            return 1
        fi
        sleep 0.02
    done
}

# summary: numbers on stdin -> "median min max" (median of an even count: mean of the middle two)
summary() {
    sort -g | awk '{a[NR]=$1} END {
        if (NR == 0) { print "- - -"; exit }
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%s %s %s\n", m, a[1], a[NR] }'
}

# values FILE SETUP METRIC: the values of one metric of one set-up in a data.tsv
# (columns: setup repeat metric value)
values() { awk -F'\t' -v s="$2" -v m="$3" '$1==s && $3==m {print $4}' "$1"; }

# median FILE SETUP METRIC
median() { values "$@" | summary | cut -d' ' -f1; }

# cell FILE SETUP METRIC [FORMAT]: "median (min-max)" for a table
cell() {
    local fmt=${4:-%.0f}
    values "$1" "$2" "$3" | summary | awk -v f="$fmt" '$1=="-"{print "-"; next}
        {printf f " (" f "–" f ")\n", $1, $2, $3}'
}

# ratio A B [DIGITS] -> A/B
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN{ if (b == 0) print "-"; else printf "%.*f", d, a / b }'; }

# verdict COND_TEXT: PASS when awk condition (using no input) is true
verdict() { if awk "BEGIN{exit !($1)}"; then printf PASS; else printf MISS; fi; }

# The versions a table was measured with.
versions_line() {
    local pv nv
    pv=$(podman version --format '{{.Server.Version}}' 2>/dev/null || podman --version)
    nv=$(podman run --rm "$NGINX_IMAGE" nginx -v 2>&1 | tr -d '\r' | sed 's/^nginx version: //')
    printf 'mldeploy %s (built from %s); ' "$("$MLDEPLOY" version 2>/dev/null | awk '/^mldeploy/{print $2; exit}')" \
        "${BUILT_REV:-$MLDEPLOY as given}"
    printf 'date %s; podman %s (%s); balancer image %s = %s; ab %s; %s cores (load average %s); kernel %s' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$pv" "$(podman info --format '{{.Host.OCIRuntime.Version}}' 2>/dev/null | head -1)" \
        "$NGINX_IMAGE" "$nv" "$(ab -V 2>/dev/null | awk '/Version/{print $5; exit}')" "$(nproc)" "$(cut -d" " -f1-3 /proc/loadavg)" "$(uname -r)"
}

# stamp: prefixes each stdin line with the epoch time it was read (a real-time reader
# where allowed, so that a loaded machine does not batch lines under one time).
stamp() {
    local p='BEGIN { $| = 1 } printf "%.6f %s", Time::HiRes::time(), $_'
    if chrt -f 50 true 2>/dev/null; then chrt -f 50 perl -MTime::HiRes -ne "$p"; else perl -MTime::HiRes -ne "$p"; fi
}

# ns: the epoch time in nanoseconds (for podman events)
ns() { local t=$EPOCHREALTIME; printf '%s%s000' "${t%.*}" "${t#*.}"; }
