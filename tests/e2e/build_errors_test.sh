#!/usr/bin/env bash
# A build that fails says where and what, alike on Podman and Docker: the
# Containerfile (as named from the current folder), the failing instruction's line
# and text, the command's exit code, then the last lines of the build's output.
# Podman's Go struct dump of an unknown instruction never reaches the user.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2ebuilderr$$
PORT=$((20000 + ($$ + 17) % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/model"
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.model]
build = "model"
image = "localhost/$NAME/model:1"
port = 8000
[balancer]
port = $PORT
TOML
cd "$WORK"

# 1. A RUN that fails, written over two lines.
cat >model/Containerfile <<'EOF2'
FROM localhost/mldeploy/python:3.11
# the next step fails
RUN echo preparing && \
    ls /no-such-folder
CMD ["python3"]
EOF2
out=$("$MLDEPLOY" up 2>&1) && rc=0 || rc=$?
check "a failing RUN: up exits 1" eq "$rc" 1
check "a failing RUN: file, line, instruction and exit code" contains "$out" \
  "model/Containerfile:3: RUN echo preparing && ls /no-such-folder: the command returned a non-zero code: 2"
check "a failing RUN: the command's own output" contains "$out" "/no-such-folder"
check "a failing RUN: the last lines of output" contains "$out" "last lines of output:"
check "a failing RUN: no Go struct" test "$(grep -c 'imagebuilder' <<<"$out")" = 0

# 2. An unknown instruction (a syntax error in the Containerfile).
cat >model/Containerfile <<'EOF2'
FROM localhost/mldeploy/python:3.11
# a typo on the next line
RUNN echo hi
EOF2
out=$("$MLDEPLOY" up 2>&1) && rc=0 || rc=$?
check "an unknown instruction: up exits 1" eq "$rc" 1
check "an unknown instruction: file, line and the line as written" contains "$out" \
  "model/Containerfile:3: RUNN echo hi: unknown instruction: RUNN"
check "an unknown instruction: no Go struct" test "$(grep -c 'imagebuilder' <<<"$out")" = 0
check "nothing was created" eq "$(count_containers "io.mldeploy.stack=$NAME")" 0
finish
