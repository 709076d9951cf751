#!/usr/bin/env bash
# Builds mldeploy's base images locally, without any container registry, from
# Debian packages: one debootstrap'ed Debian 12 (bookworm) root filesystem with
# python3 and nginx-light, imported as
#
#   localhost/mldeploy/python:3.11     CMD ["python3"]
#   docker.io/library/nginx:stable     CMD ["nginx","-g","daemon off;"], EXPOSE 80
#
# The second name is the default balancer image of a stack file; with it present
# locally, nothing is ever pulled. Its nginx is Debian's nginx-light: it runs as
# root with a custom configuration (`nginx -c FILE`), workers as `nobody`, and its
# logs go to the container's stdout/stderr.
#
# Idempotent: an image that already exists is skipped, and the root filesystem
# tarball is cached (MLDEPLOY_ROOTFS_CACHE, default /var/cache/mldeploy/rootfs),
# so a second run takes a second. Run as root.
#
# Usage: build-base-images.sh [--docker] [--docker-only] [--rebuild] [-h|--help]
#   --docker       also import the images into Docker (needs a running dockerd)
#   --docker-only  import into Docker only, not into Podman
#   --rebuild      build the root filesystem again and replace existing images
#
# Environment: MLDEPLOY_ROOTFS_CACHE (cache folder), MLDEPLOY_DEBIAN_MIRROR
# (mirror URL; default: the one apt on this machine uses).
set -euo pipefail

log() { printf '==> %s\n' "$*"; }
die() { printf 'build-base-images.sh: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

SUITE=bookworm
PACKAGES=(python3 nginx-light)
PYTHON_IMAGE=localhost/mldeploy/python:3.11
NGINX_IMAGE=docker.io/library/nginx:stable
CACHE_DIR=${MLDEPLOY_ROOTFS_CACHE:-/var/cache/mldeploy/rootfs}
ROOTFS_TAR="$CACHE_DIR/debian-$SUITE-minbase-$(IFS=-; echo "${PACKAGES[*]}").tar"

use_podman=1
use_docker=0
rebuild=0
while [ $# -gt 0 ]; do
  case "$1" in
    --docker) use_docker=1 ;;
    --docker-only) use_docker=1; use_podman=0 ;;
    --rebuild) rebuild=1 ;;
    -h|--help) usage; exit 0 ;;
    *) printf 'build-base-images.sh: unknown argument: %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap needs it)"

start=$SECONDS
finish() { log "done in $((SECONDS - start))s"; }

# ---- engines ---------------------------------------------------------------
engines=()
if [ "$use_podman" -eq 1 ]; then
  command -v podman >/dev/null || die "podman is not installed (run packaging/install-deps.sh)"
  engines+=(podman)
fi
if [ "$use_docker" -eq 1 ]; then
  command -v docker >/dev/null || die "--docker: the docker command is not installed"
  docker info >/dev/null 2>&1 || die "--docker: no Docker daemon answers (start dockerd first)"
  engines+=(docker)
fi

image_exists() { # ENGINE IMAGE
  case "$1" in
    podman) podman image exists "$2" ;;
    docker) docker image inspect "$2" >/dev/null 2>&1 ;;
  esac
}

# Each image: its tag, then its `--change` instructions (one per line).
declare -A CHANGES=(
  ["$PYTHON_IMAGE"]='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV LANG=C.UTF-8
ENV PYTHONUNBUFFERED=1
CMD ["python3"]'
  ["$NGINX_IMAGE"]='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx","-g","daemon off;"]'
)
IMAGES=("$PYTHON_IMAGE" "$NGINX_IMAGE")

todo=()   # "engine image" pairs still to import
for engine in "${engines[@]}"; do
  for image in "${IMAGES[@]}"; do
    if [ "$rebuild" -eq 0 ] && image_exists "$engine" "$image"; then
      log "$engine: $image exists, skipping"
    else
      todo+=("$engine $image")
    fi
  done
done
if [ ${#todo[@]} -eq 0 ]; then
  finish
  exit 0
fi

# ---- root filesystem ---------------------------------------------------------
debian_mirror() {
  if [ -n "${MLDEPLOY_DEBIAN_MIRROR:-}" ]; then
    echo "$MLDEPLOY_DEBIAN_MIRROR"; return
  fi
  local uri=
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -r "$f" ]; then
    # First URIs: value that is not the security archive.
    uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    # deb [options] URI SUITE COMPONENTS...
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) { if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; continue }
                 if ($i !~ /security/) print $i; exit } }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

workdir=
child=
cleanup() {
  if [ -n "$child" ]; then
    log "stopping debootstrap"
    # debootstrap runs in its own session; stop it and everything it started (it
    # defers TERM while dpkg runs, so KILL follows; the mounts are undone below).
    kill -TERM -- "-$child" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    child=
  fi
  rm -f "$ROOTFS_TAR.tmp.$$"
  [ -n "$workdir" ] && [ -d "$workdir" ] || return 0
  log "removing the unfinished root filesystem $workdir"
  remove_workdir
}
remove_workdir() {
  # debootstrap mounts proc/sys (and sometimes dev) in the target; never delete
  # through a mount, so unmount whatever is left below the folder first.
  local m
  awk -v d="$workdir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
    while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$workdir"
  workdir=
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_rootfs() {
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  local mirror; mirror=$(debian_mirror)
  mkdir -p "$CACHE_DIR"
  workdir=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
  local root="$workdir/rootfs"
  local include; include=$(IFS=,; echo "${PACKAGES[*]}")
  log "debootstrap --variant=minbase --include=$include $SUITE from $mirror"
  local dlog="$workdir/debootstrap.log"
  # In its own session (so an interrupt of this script can stop all of it), waited for in
  # the background (so the INT/TERM trap runs at once rather than after debootstrap).
  setsid debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$mirror" \
    >"$dlog" 2>&1 </dev/null &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$dlog" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (mirror $mirror)"
  fi

  log "trimming the root filesystem"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
         "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man \
         "$root"/usr/share/locale "$root"/usr/share/info "$root"/var/log/*.log \
         "$root"/var/log/apt/* "$root"/debootstrap
  mkdir -p "$root"/var/lib/apt/lists/partial
  # Later `apt-get install` in a derived image keeps it small, too.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-excludes" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-no-recommends" <<'EOF'
APT::Install-Recommends "false";
EOF
  # nginx: logs to the container's output (as the official image does), and the
  # folders it needs when run with a custom `-c` configuration as root.
  mkdir -p "$root"/var/log/nginx "$root"/var/lib/nginx "$root"/etc/nginx/conf.d
  ln -sf /dev/stdout "$root"/var/log/nginx/access.log
  ln -sf /dev/stderr "$root"/var/log/nginx/error.log
  # The image's hostname/hosts/resolv.conf are the engine's to provide.
  : >"$root"/etc/hostname
  rm -f "$root"/etc/resolv.conf "$root"/etc/hosts

  log "packing $ROOTFS_TAR"
  local tmp; tmp="$ROOTFS_TAR.tmp.$$"
  tar -C "$root" --one-file-system --numeric-owner --xattrs \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
      --exclude='./run/*' --exclude='./tmp/*' -cf "$tmp" .
  mv -f "$tmp" "$ROOTFS_TAR"
  remove_workdir
}

if [ "$rebuild" -eq 1 ] || [ ! -s "$ROOTFS_TAR" ]; then
  build_rootfs
else
  log "reusing cached root filesystem $ROOTFS_TAR"
fi
log "root filesystem: $(du -h "$ROOTFS_TAR" | cut -f1)"

# ---- imports ----------------------------------------------------------------
for item in "${todo[@]}"; do
  engine=${item%% *}
  image=${item#* }
  args=()
  later=()   # Docker 20.10's import refuses STOPSIGNAL: added by a one-line build
  while IFS= read -r change; do
    [ -n "$change" ] || continue
    if [ "$engine" = docker ] && [[ $change == STOPSIGNAL* ]]; then later+=("$change"); continue; fi
    args+=(--change "$change")
  done <<<"${CHANGES[$image]}"
  log "$engine import $image"
  "$engine" import "${args[@]}" \
    --message "mldeploy base image: Debian $SUITE minbase + ${PACKAGES[*]}" \
    "$ROOTFS_TAR" "$image" >/dev/null
  if [ ${#later[@]} -gt 0 ]; then
    printf 'FROM %s\n%s\n' "$image" "$(printf '%s\n' "${later[@]}")" |
      DOCKER_BUILDKIT=0 "$engine" build -q -t "$image" - >/dev/null
  fi
done

for engine in "${engines[@]}"; do
  log "$engine: checking $NGINX_IMAGE and $PYTHON_IMAGE"
  # No network needed for this check (and none is made).
  "$engine" run --rm --network none "$NGINX_IMAGE" nginx -v
  "$engine" run --rm --network none "$PYTHON_IMAGE" python3 --version
done

finish
