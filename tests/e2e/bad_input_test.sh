#!/usr/bin/env bash
# Broken stack files and command lines: exit 2, a file:line:col message, and
# nothing created on the engine.
source "$(dirname "$0")/lib.sh"
require_engine
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir ctx

expect_2() {  # expect_2 "what" "expected message part" toml-text
  local what=$1 want=$2 name
  printf '%s\n' "$3" >bad.toml
  name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' bad.toml | head -1)
  local out rc=0
  out=$("$MLDEPLOY" up -f bad.toml 2>&1) || rc=$?
  check "$what: exit 2" eq "$rc" 2
  check "$what: message" contains "$out" "$want"
  if [ -n "$name" ]; then
    check "$what: nothing on the engine" eq "$(count_containers "io.mldeploy.stack=$name")$(count_networks "io.mldeploy.stack=$name")" 00
  fi
}

expect_2 "syntax error" "bad.toml:2:" 'name = "badsyn"
port = = 5'
expect_2 "misspelled key" "did you mean 'replicas'" 'name = "badkey"
[services.m]
image = "localhost/x:1"
port = 5000
replica = 2
[balancer]
port = 18999'
expect_2 "port out of range" "bad.toml:4:" 'name = "badport"
[services.m]
image = "localhost/x:1"
port = 70000
[balancer]
port = 18999'
expect_2 "name with a semicolon" "bad.toml:1:" 'name = "bad;name"
[services.m]
image = "localhost/x:1"
port = 5000
[balancer]
port = 18999'
expect_2 "missing build context" "bad.toml:3:" 'name = "badctx"
[services.m]
build = "./does-not-exist"
port = 5000
[balancer]
port = 18999'

rc=0; out=$("$MLDEPLOY" up --no-such-flag -f bad.toml 2>&1) || rc=$?
check "unknown flag: exit 2" eq "$rc" 2
rc=0; out=$("$MLDEPLOY" scale --replicas -3 -s nothing 2>&1) || rc=$?
check "negative replicas: exit 2" eq "$rc" 2
rc=0; out=$("$MLDEPLOY" up -f missing.toml 2>&1) || rc=$?
check "missing stack file: exit 2" eq "$rc" 2
check "missing stack file: names it" contains "$out" "missing.toml"

finish
