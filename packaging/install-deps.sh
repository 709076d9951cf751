#!/usr/bin/env bash
# Installs everything mldeploy needs on a new Debian 12 machine, as root:
# build dependencies, Podman (with runc and this machine's ulimit limits),
# and the engine's REST socket. Idempotent: safe to run again.
set -euo pipefail

log() { printf '==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get and the Podman service need it)" >&2
  exit 1
fi

BUILD_PKGS=(build-essential cmake pkg-config ninja-build
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libcli11-dev doctest-dev libkainjow-mustache-dev libyaml-cpp-dev libarchive-dev)
# What the installed binary needs at run time (the -dev packages above bring them
# too, but a machine that only runs mldeploy needs these): libcurl4 and libssl3
# are linked; libarchive13 is loaded when mldeploy first makes or reads a tar
# (src/util/archive_lazy.cpp), so the linker does not record it.
RUNTIME_PKGS=(libcurl4 libssl3 libarchive13)
ENGINE_PKGS=(podman runc netavark aardvark-dns iptables debootstrap)
# What the tests call on the host (tests/run.sh checks for each with
# packaging/check-host.sh): nginx-light, since the unit tests check every rendered
# config with `nginx -t`; python3 (bad_corpus_test: free ports, a local HTTP
# server); iproute2 (ss). help2man makes the man page at build time; file,
# dpkg-dev and lintian build and check the .deb (`cpack -G DEB`, its test);
# ccache keeps the package test's second build short; zsh and fish (and
# man-db) let tests/tools check the completion scripts (and man page) in them.
TOOL_PKGS=(curl apache2-utils jq hey nginx-light python3 iproute2 util-linux
  help2man file dpkg-dev lintian ccache zsh fish man-db)
# clang-format: tests/format_check.sh (ctest label unit). socat:
# tests/load/engine_fault_test.sh puts a socket of its own before the engine.
# docker-registry (distribution 2.8) and htpasswd (apache2-utils): a registry on
# loopback with basic auth for tests/e2e/push_test.sh; with socat (and iproute2,
# util-linux) the second swarm node of tests/e2e/swarm_multinode_test.sh.
TOOL_PKGS+=(clang-format socat docker-registry)
# tests/e2e/export_test.sh: python3-kubernetes (with python3-yaml) checks
# `export kube` against the API's models (tests/tools/kube_validate.py);
# docker-compose runs `export compose`; catatonit is the pause process Podman's
# `kube play` needs for its pods.
TOOL_PKGS+=(python3-kubernetes python3-yaml docker-compose catatonit)

missing=()
for p in "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${ENGINE_PKGS[@]}" "${TOOL_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages must not start services (nginx on port 80, dockerd): the project
  # starts what it needs itself. policy-rc.d says so to invoke-rc.d.
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ $had_policy = 1 ] || printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
fi

# Taplo checks stack files against `mldeploy schema` (tests/e2e/cli_test.sh): npm's
# @taplo/cli, pinned. Node and npm from Debian, unless a node with npm is already
# installed (Debian's npm package conflicts with NodeSource's nodejs, which has npm).
TAPLO_VERSION=0.7.0
if ! command -v npm >/dev/null 2>&1; then
  log "installing nodejs and npm (for Taplo)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if ! npm ls -g --depth=0 "@taplo/cli@$TAPLO_VERSION" >/dev/null 2>&1; then
  log "installing @taplo/cli@$TAPLO_VERSION with npm"
  npm install -g --no-audit --no-fund "@taplo/cli@$TAPLO_VERSION" >/dev/null
fi

# crun 1.8 fails on this kernel's hybrid cgroups; runc works. The hard limits
# for open files and processes cannot be raised here, so pin them.
conf=/etc/containers/containers.conf
if ! grep -q 'mldeploy-managed' "$conf" 2>/dev/null; then
  log "configuring Podman ($conf): runtime runc, ulimits within this machine's limits"
  mkdir -p /etc/containers
  cat >> "$conf" <<'CONF'
# mldeploy-managed: settings this machine needs (see packaging/install-deps.sh)
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]

[engine]
runtime = "runc"
CONF
fi

"$(dirname "$0")/start-podman-service.sh"
