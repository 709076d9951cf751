#!/usr/bin/env bash
# Builds the stack-loader fuzzer (fuzz/, libFuzzer + ASan + UBSan, with clang) and
# runs it for a bounded time, then reports executions and any crash, leak or hang.
#
# Usage: bench/fuzz.sh [SECONDS]        (default 120; also FUZZ_SECONDS)
# Environment:
#   FUZZ_BUILD   build folder (default: <repo>/build-fuzz)
#   FUZZ_JOBS    parallel fuzzing processes (default 1)
#   FUZZ_ARGS    extra libFuzzer flags
# Findings go to $FUZZ_BUILD/findings/ (crash-*, leak-*, timeout-*, oom-*); new
# interesting inputs to $FUZZ_BUILD/corpus/ (fuzz/corpus/ stays as checked in).
# Exit status: 0 nothing found, 1 something found, 2 could not build or run.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TO_RUN=${1:-${FUZZ_SECONDS:-120}}
BUILD=${FUZZ_BUILD:-$REPO/build-fuzz}
JOBS=${FUZZ_JOBS:-1}
log() { printf '==> %s\n' "$*"; }
die() { printf 'fuzz.sh: %s\n' "$*" >&2; exit 2; }

[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || die "SECONDS must be a number, not '$SECONDS_TO_RUN'"

# clang and its fuzzer runtime (Debian: clang, libclang-rt-14-dev).
have_fuzzer_runtime() {
  command -v clang++ >/dev/null && compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null
}
if ! have_fuzzer_runtime; then
  log "installing clang and libclang-rt-14-dev"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq clang libclang-rt-14-dev >/dev/null ||
    die "could not install clang and libclang-rt-14-dev"
  have_fuzzer_runtime || die "clang's libFuzzer runtime is still missing"
fi

log "building fuzz_stack_loader in $BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$REPO/fuzz" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    die "cmake configure failed"
fi
cmake --build "$BUILD" --target fuzz_stack_loader >/dev/null || die "build failed (run: cmake --build $BUILD)"

# The target loads its input as /tmp/fuzz/stack.toml: give the valid seeds the
# build context and host folder they name, so that the fuzzer reaches past them.
mkdir -p /tmp/fuzz/ctx /tmp/fuzz/models
[ -e /tmp/fuzz/ctx/Containerfile ] || printf 'FROM scratch\n' >/tmp/fuzz/ctx/Containerfile
[ -e /tmp/fuzz/ctx/Gpu.Containerfile ] || printf 'FROM scratch\n' >/tmp/fuzz/ctx/Gpu.Containerfile

CORPUS=$BUILD/corpus
FINDINGS=$BUILD/findings
mkdir -p "$CORPUS" "$FINDINGS"
LOG=$BUILD/fuzz.log
log "fuzzing for ${SECONDS_TO_RUN}s with $JOBS job(s); log: $LOG"
touch "$BUILD/.fuzz-start"
rc=0
# -timeout: one input may take 5 s at most (a hang is a finding); -rss_limit_mb: 2 GB.
# shellcheck disable=SC2086
(cd "$FINDINGS" && "$BUILD/fuzz_stack_loader" "$CORPUS" "$REPO/fuzz/corpus" \
  -dict="$REPO/fuzz/stack.dict" -max_total_time="$SECONDS_TO_RUN" -timeout=5 -rss_limit_mb=2048 \
  -max_len=8192 -print_final_stats=1 -artifact_prefix="$FINDINGS/" \
  $( [ "$JOBS" -gt 1 ] && echo "-fork=$JOBS -ignore_crashes=1 -ignore_timeouts=1" ) \
  ${FUZZ_ARGS:-}) >"$LOG" 2>&1 || rc=$?

execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$LOG" | grep -oE '[0-9]+$' | tail -1 || true)
[ -n "$execs" ] || execs=$(grep -oE '#[0-9]+' "$LOG" | tail -1 | tr -d '#' || true)
speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$LOG" | grep -oE '[0-9]+$' | tail -1 || true)
cov=$(grep -oE 'cov: [0-9]+' "$LOG" | tail -1 || true)
mapfile -t found < <(find "$FINDINGS" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) -newer "$BUILD/.fuzz-start" 2>/dev/null || true)
log "executions: ${execs:-?} (${speed:-?}/s), ${cov:-cov: ?}, corpus: $(find "$CORPUS" -type f | wc -l) inputs"
if grep -qE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$LOG" || [ "${#found[@]}" -gt 0 ]; then
  log "FOUND a problem (fuzzer exit $rc):"
  grep -E 'ERROR:|runtime error:|SUMMARY:|breaks a promise|Test unit written' "$LOG" | head -20 | sed 's/^/    /'
  for f in "${found[@]}"; do echo "    input: $f"; done
  echo "    reproduce: $BUILD/fuzz_stack_loader FILE"
  exit 1
fi
[ "$rc" -eq 0 ] || { tail -20 "$LOG" >&2; die "the fuzzer exited $rc without a finding"; }
log "no crash, leak or hang"
