#!/usr/bin/env bash
# Installs Docker Engine (Debian's docker.io, 20.10) next to Podman, as root,
# starts dockerd and imports mldeploy's base images into it. Idempotent: safe to
# run again (an installed package, a running daemon and existing images are kept).
#
# Usage: install-docker.sh [--no-images]
#   --no-images   install and start the daemon only; skip build-base-images.sh
set -euo pipefail

log() { printf '==> %s\n' "$*"; }
here=$(cd "$(dirname "$0")" && pwd)

images=1
for arg in "$@"; do
  case "$arg" in
    --no-images) images=0 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "install-docker.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install-docker.sh: run as root (apt-get and dockerd need it)" >&2
  exit 1
fi

# docker.io brings dockerd, containerd, runc and a docker client; iptables for
# its bridge networks, debootstrap for the base images.
PKGS=(docker.io iptables debootstrap curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The package must not start dockerd itself (its init script would run it
  # without our daemon.json): start-docker-service.sh does. policy-rc.d says so.
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ $had_policy = 1 ] || printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
else
  log "docker.io is installed"
fi

"$here/start-docker-service.sh"

if [ "$images" -eq 1 ]; then
  bash "$here/build-base-images.sh" --docker-only
fi
