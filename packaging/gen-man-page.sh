#!/usr/bin/env bash
# Writes mldeploy.1 (and mldeploy.1.gz, as Debian installs it) from the built
# binary's own help: help2man on `mldeploy --help`, plus a COMMANDS section
# with each command's `--help`. Run by CMake at build time (cmake/Packaging.cmake).
#   gen-man-page.sh MLDEPLOY OUT.1 VERSION
set -euo pipefail
# A sanitizer build (the dev preset) runs here too: its leak report is no reason to fail.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
bin=$1 out=$2 version=$3
inc=$(mktemp)
trap 'rm -f "$inc"' EXIT

# The commands, as `mldeploy --help` lists them under "SUBCOMMANDS:".
commands=$("$bin" --help | awk '/^[A-Za-z]+:$/ { in_sub = ($0 ~ /^SUBCOMMANDS:$|^Subcommands:$/); next } in_sub && /^  [a-z]/ { print $1 }')
[ -n "$commands" ] || { echo "gen-man-page.sh: no commands in '$bin --help'" >&2; exit 1; }

# roff: a leading dot or quote would be a request, a backslash an escape.
roff() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }
{
  echo '[COMMANDS]'
  for c in $commands; do
    printf '.SS "%s"\n.nf\n' "$c"
    "$bin" "$c" --help | roff
    printf '.fi\n'
  done
  cat <<'TXT'
[ENVIRONMENT]
.TP
.B MLDEPLOY_HOST
The engine's socket (as \-H); then CONTAINER_HOST, then DOCKER_HOST, then the usual
sockets of rootful and rootless Podman and of Docker.
.TP
.B NO_COLOR
No colour (as \-\-no\-color).
[EXIT STATUS]
0 success; 2 the command line or the stack file is wrong (nothing was changed on the
engine); 1 anything else that failed. \fBexec\fR exits with the status of the command it ran.
[SEE ALSO]
The README and docs/ of mldeploy's sources: docs/commands.md (every command) and
docs/stack\-file.md (every key of the stack file).
TXT
} >"$inc"

help2man --no-info --no-discard-stderr --section=1 --version-string="$version" \
  --name='deploy machine-learning model services on Podman or Docker' \
  --include="$inc" --output="$out" "$bin"
gzip -9n <"$out" >"$out.gz"
