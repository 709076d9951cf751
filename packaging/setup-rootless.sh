#!/usr/bin/env bash
# Sets this machine up so that an unprivileged user runs mldeploy on rootless
# Podman, as root, after install-deps.sh and build-base-images.sh:
#
#   - installs what rootless Podman needs from Debian: uidmap (newuidmap and
#     newgidmap; without them Podman refuses: `command required for rootless mode
#     with multiple IDs`) and slirp4netns (the rootless network namespace; without it:
#     `could not find slirp4netns, the network namespace can't be configured`);
#   - creates the user (default mldeploy-rootless, `useradd -m`) with subordinate
#     uid/gid ranges in /etc/subuid and /etc/subgid;
#   - makes /dev/net/tun usable by users (mode 0666, as Debian's udev rule does on
#     machines with udev; slirp4netns opens it as the user);
#   - creates XDG_RUNTIME_DIR=/run/user/UID (mode 700, owned by the user);
#   - writes the user's ~/.config/containers/containers.conf (runc, this machine's
#     ulimits, cgroupfs, events to a file) and storage.conf (a storage driver chosen
#     by trying them: native overlay, then fuse-overlayfs, then vfs; see below);
#   - copies the base images (localhost/mldeploy/python:3.11 and
#     docker.io/library/nginx:stable) from root's Podman storage into the user's;
#   - checks that the user can run a container on a network of its own with a
#     published port, and starts the user's REST service
#     (start-rootless-podman-service.sh).
#
# Idempotent: a second run changes nothing (it only runs the check again). Images
# that root rebuilt since (another image id) are copied again.
#
# Took 58 s on a new machine here (2 cores shared with other jobs, load ~9), 17 s
# when run again (most of it the check's containers).
#
# Usage: setup-rootless.sh [--user NAME] [--storage auto|overlay|fuse-overlayfs|vfs] [--no-service]
#   --user NAME     the unprivileged user (default: $MLDEPLOY_ROOTLESS_USER or mldeploy-rootless)
#   --storage X     force a storage driver instead of trying them (auto: try them).
#                   Changing the driver of a user that has one resets that user's
#                   Podman storage (its containers and images are deleted).
#   --no-service    do not start the user's REST service at the end
#
# Afterwards, as that user (XDG_RUNTIME_DIR=/run/user/UID set), `mldeploy` finds
# the socket $XDG_RUNTIME_DIR/podman/podman.sock by itself.
set -euo pipefail

log() { printf '==> %s\n' "$*"; }
die() { printf 'setup-rootless.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

here=$(cd "$(dirname "$0")" && pwd)
RUSER=${MLDEPLOY_ROOTLESS_USER:-mldeploy-rootless}
STORAGE=${MLDEPLOY_ROOTLESS_STORAGE:-auto}
service=1
while [ $# -gt 0 ]; do
  case "$1" in
    --user) [ $# -ge 2 ] || die "--user needs a name"; RUSER=$2; shift ;;
    --storage) [ $# -ge 2 ] || die "--storage needs a value"; STORAGE=$2; shift ;;
    --no-service) service=0 ;;
    -h|--help) usage; exit 0 ;;
    *) printf 'setup-rootless.sh: unknown argument: %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
case "$STORAGE" in
  auto|overlay|fuse-overlayfs|vfs) ;;
  *) printf 'setup-rootless.sh: --storage: %s is not auto, overlay, fuse-overlayfs or vfs\n' "$STORAGE" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and creates a user)"
command -v podman >/dev/null || die "podman is not installed (run packaging/install-deps.sh)"

# Nothing below may run in a folder that is deleted later, nor in one the user
# cannot enter (podman as the user starts there).
cd /
start=$SECONDS

PYTHON_IMAGE=localhost/mldeploy/python:3.11
NGINX_IMAGE=docker.io/library/nginx:stable
IMAGES=("$PYTHON_IMAGE" "$NGINX_IMAGE")
MARK=mldeploy-managed

# ---- packages ----------------------------------------------------------------
install_packages() {  # PACKAGE... (only the missing ones are installed)
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
# Not needed here: dbus-user-session and systemd --user (there is no systemd on
# these machines; Podman uses cgroupfs and a file for events, set below),
# fuse-overlayfs (installed only if native overlay does not work, see below),
# catatonit (no --init), passt (Podman 4.3 uses slirp4netns).
install_packages uidmap slirp4netns

# ---- the user ------------------------------------------------------------------
if ! id -u "$RUSER" >/dev/null 2>&1; then
  log "creating user $RUSER"
  useradd -m -s /bin/bash -c "mldeploy on rootless Podman" "$RUSER"
fi
RUID=$(id -u "$RUSER")
RGID=$(id -g "$RUSER")
RHOME=$(getent passwd "$RUSER" | cut -d: -f6)
XDG=/run/user/$RUID
[ -d "$RHOME" ] || die "$RUSER's home $RHOME does not exist"

# useradd fills /etc/subuid and /etc/subgid only when the files exist and the user
# is new; a user made otherwise may have no range: give it the next free one.
ensure_subids() {  # FILE usermod-option
  local file=$1 opt=$2
  [ -e "$file" ] || { touch "$file"; chmod 644 "$file"; }
  if awk -F: -v u="$RUSER" -v i="$RUID" '$1 == u || $1 == i { found = 1 } END { exit !found }' "$file"; then
    return 0
  fi
  local first
  first=$(awk -F: 'BEGIN { n = 100000 } NF >= 3 && $2 + $3 > n { n = $2 + $3 } END { print n }' "$file")
  log "giving $RUSER the subordinate ids $first-$((first + 65535)) in $file"
  usermod "$opt" "$first-$((first + 65535))" "$RUSER"
}
ensure_subids /etc/subuid --add-subuids
ensure_subids /etc/subgid --add-subgids

# ---- devices and the runtime folder (both are gone after a reboot: /dev is a
# devtmpfs; start-rootless-podman-service.sh checks them again) --------------------
# /dev/net/tun is crw------- root-only on a new machine (no udev here). slirp4netns
# opens it as the user, and fails with: open("/dev/net/tun"): Permission denied.
# Trap: that failure leaves a stale $XDG_RUNTIME_DIR/netns/rootless-netns-* file,
# and every later network then fails with `failed to mount runtime directory for
# rootless netns: no such file or directory` until the file is removed
# (clear_stale_netns below; start-rootless-podman-service.sh does the same).
if [ ! -e /dev/net/tun ]; then
  mkdir -p /dev/net
  mknod -m 0666 /dev/net/tun c 10 200
fi
[ "$(stat -c %a /dev/net/tun)" = 666 ] || { log "making /dev/net/tun usable by users (0666)"; chmod 0666 /dev/net/tun; }
install -d -m 0755 /run/user
install -d -m 0700 -o "$RUID" -g "$RGID" "$XDG"

# Runs a command as the user, in /, with a clean environment (root's
# XDG_RUNTIME_DIR, CONTAINER_HOST and the like must not leak in).
as_user() {
  (cd / && runuser -u "$RUSER" -- env -i HOME="$RHOME" USER="$RUSER" LOGNAME="$RUSER" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$XDG" "$@")
}
# Podman warns on every command that "/" is not a shared mount (no systemd here
# makes it shared). Harmless for mldeploy (no mount propagation is used); we leave
# the host's mounts alone, and drop that line from what we show.
# aardvark-dns (the network's name server) says "failed to connect to syslog" (there
# is no syslog here) when a network starts; harmless too.
quiet() { grep -v -e 'is not a shared mount' -e 'failed to connect to syslog' >&2 || true; }

sock_answers() { curl -fsS --max-time 2 --unix-socket "$XDG/podman/podman.sock" http://d/_ping >/dev/null 2>&1; }

clear_stale_netns() {
  # With none of the user's containers running, no rootless network namespace is
  # in use: a file left there is stale (see the trap above).
  local running
  running=$(as_user podman ps -q 2> >(quiet)) || return 0
  [ -z "$running" ] || return 0
  rm -f "$XDG"/netns/rootless-netns-*
}

# ---- containers.conf -------------------------------------------------------------
confdir=$RHOME/.config/containers
install -d -m 0755 -o "$RUID" -g "$RGID" "$RHOME/.config" "$confdir"
write_user_file() {  # PATH (content on stdin): written only when absent or ours
  local path=$1 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -e "$path" ] && ! grep -q "$MARK" "$path"; then
    log "$path exists and is not mldeploy's: using it as it is"
    rm -f "$tmp"; return 0
  fi
  if cmp -s "$tmp" "$path"; then rm -f "$tmp"; return 0; fi
  log "writing $path"
  install -m 0644 -o "$RUID" -g "$RGID" "$tmp" "$path"
  rm -f "$tmp"
}
# The same settings root's Podman needs (install-deps.sh writes them to
# /etc/containers/containers.conf, which rootless Podman reads too; repeated here
# so that the user's set-up does not depend on it), plus the rootless ones.
write_user_file "$confdir/containers.conf" <<CONF
# $MARK: written by packaging/setup-rootless.sh (edit that script, not this file)
[containers]
# The hard limits here are 20000 open files and 96365 processes and cannot be
# raised; Podman's default (raise both to the maximum) fails with
# "setrlimit RLIMIT_NOFILE: Operation not permitted".
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]

[engine]
# crun 1.8 fails on this kernel's hybrid cgroups; runc works.
runtime = "runc"
# No systemd (so no user session either): cgroupfs, and events to a file rather
# than the journal. On cgroup v1, rootless containers get no cgroup at all: CPU
# and memory limits are ignored ("Resource limits are not supported and ignored
# on cgroups V1 rootless systems").
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

# ---- storage ---------------------------------------------------------------------
# Measured on this machine (Debian 12, kernel 6.18, ext4, Podman 4.3.1), as the
# user, for: loading both base images; building examples/echo; one `podman run`;
# creating 4 containers:
#   overlay (native, no FUSE)   4.3 s   3.7 s   1.4 s    1.5 s   131 MB on disk
#   fuse-overlayfs              5.3 s  14.1 s   2.1-2.5 s 1.8 s  131 MB
#   vfs                         6.1 s  16.6 s   5.4-7.5 s 16.2 s 261 MB (+132 MB a container)
# Kernels from 5.13 on let an unprivileged user mount overlayfs in its user
# namespace, and 6.18 does: native overlay is the fastest, needs no /dev/fuse and
# no extra package. But Podman 4.3 does not pick it by itself (with no driver
# configured it chose vfs here), so it is written down. fuse-overlayfs (needs
# /dev/fuse usable by the user, 0600 root-only on a new machine) and vfs (always
# works; every container is a full copy of its image) are the fallbacks, tried in
# that order when a driver fails its check (a real container run).
storage_conf=$confdir/storage.conf
graphroot=$RHOME/.local/share/containers/storage
driver_of() { case "$1" in vfs) echo vfs ;; *) echo overlay ;; esac; }
current_choice() { [ -f "$storage_conf" ] && sed -n "s/^# $MARK storage choice: //p" "$storage_conf" | head -n1; }

write_storage_conf() {  # CHOICE
  {
    echo "# $MARK: written by packaging/setup-rootless.sh (edit that script, not this file)"
    echo "# $MARK storage choice: $1"
    echo "[storage]"
    case "$1" in
      overlay) echo 'driver = "overlay"' ;;
      fuse-overlayfs) echo 'driver = "overlay"'; echo '[storage.options.overlay]'
                      echo 'mount_program = "/usr/bin/fuse-overlayfs"' ;;
      vfs) echo 'driver = "vfs"' ;;
    esac
  } | write_user_file "$storage_conf"
}

reset_user_storage() {
  # Trap: a `podman` run as the user before this script (even `podman info`) fixes
  # the driver in its database (vfs, by default here); with another driver in
  # storage.conf afterwards, Podman logs `User-selected graph driver "overlay"
  # overwritten by graph driver "vfs" from database` and goes on with vfs, and
  # `--storage-driver overlay` fails ("database configuration mismatch"). So a
  # change of driver starts from empty storage.
  if sock_answers; then
    die "$RUSER's Podman service runs on $XDG/podman/podman.sock: stop it before the storage driver changes"
  fi
  as_user podman system reset -f >/dev/null 2> >(quiet) || true
  # What reset could not remove (it fails when the old configuration is broken);
  # root can, since the files of the user's containers belong to its subordinate ids.
  rm -rf --one-file-system "$graphroot" "$XDG/containers" "$XDG/libpod"
}

prepare_choice() {  # CHOICE
  case "$1" in
    fuse-overlayfs)
      install_packages fuse-overlayfs
      [ -e /dev/fuse ] || return 1
      [ "$(stat -c %a /dev/fuse)" = 666 ] || { log "making /dev/fuse usable by users (0666)"; chmod 0666 /dev/fuse; }
      ;;
  esac
}

image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null; }
user_image_id() { as_user podman image inspect --format '{{.Id}}' "$1" 2>/dev/null; }

sync_images() {
  local todo=() image rid
  for image in "${IMAGES[@]}"; do
    rid=$(image_id "$image") || die "root's Podman has no $image (run packaging/build-base-images.sh)"
    [ "$(user_image_id "$image" || true)" = "$rid" ] || todo+=("$image")
  done
  [ ${#todo[@]} -gt 0 ] || { log "$RUSER has the base images"; return 0; }
  log "copying ${todo[*]} into $RUSER's storage"
  # docker-archive with both images: their one layer (the same root filesystem)
  # travels once. Image ids are kept.
  podman save -q -m "${todo[@]}" | as_user podman load -q >/dev/null 2> >(quiet)
  for image in "${todo[@]}"; do
    [ "$(user_image_id "$image" || true)" = "$(image_id "$image")" ] || die "copying $image into $RUSER's storage failed"
  done
}

storage_works() {
  as_user podman run --rm --network none "$PYTHON_IMAGE" python3 -c 'pass' >/dev/null 2> >(quiet)
}

try_choice() {  # CHOICE
  log "trying storage driver $1 for $RUSER"
  prepare_choice "$1" || { log "$1: not usable here"; return 1; }
  reset_user_storage
  write_storage_conf "$1"
  [ "$(as_user podman info --format '{{.Store.GraphDriverName}}' 2> >(quiet))" = "$(driver_of "$1")" ] ||
    { log "$1: podman info fails or names another driver"; return 1; }
  sync_images
  storage_works || { log "$1: a container does not run"; return 1; }
}

choice=$(current_choice || true)
if [ -e "$storage_conf" ] && ! grep -q "$MARK" "$storage_conf"; then
  log "$storage_conf is not mldeploy's: keeping its driver"
  sync_images
elif [ -n "$choice" ] && { [ "$STORAGE" = auto ] || [ "$STORAGE" = "$choice" ]; } &&
     [ "$(as_user podman info --format '{{.Store.GraphDriverName}}' 2> >(quiet))" = "$(driver_of "$choice")" ]; then
  log "$RUSER's storage driver: $choice (kept)"
  sync_images  # the check below runs containers with it
else
  if [ "$STORAGE" = auto ]; then candidates=(overlay fuse-overlayfs vfs); else candidates=("$STORAGE"); fi
  choice=
  for c in "${candidates[@]}"; do
    if try_choice "$c"; then choice=$c; break; fi
  done
  [ -n "$choice" ] || die "no storage driver works for $RUSER (tried: ${candidates[*]})"
  log "$RUSER's storage driver: $choice"
fi

# ---- check: a network of the user's own, a published port, name resolution ----------
clear_stale_netns
free_port() {
  local p
  for p in $(shuf -i 30000-39999 -n 50); do
    ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
  done
  return 1
}
check_net=mldeploy-rootless-check
port=$(free_port) || die "no free port for the check"
log "checking $RUSER's containers: network, name resolution, published port 127.0.0.1:$port"
as_user podman rm -f -t 0 "$check_net-a" "$check_net-b" >/dev/null 2>&1 || true
as_user podman network rm -f "$check_net" >/dev/null 2>&1 || true
check_ok=0
if as_user podman network create "$check_net" >/dev/null 2> >(quiet) &&
   as_user podman run -d --name "$check_net-a" --network "$check_net" -p "127.0.0.1:$port:8000" \
     -w /etc "$PYTHON_IMAGE" python3 -m http.server 8000 >/dev/null 2> >(quiet); then
  for _ in $(seq 1 50); do
    if curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/hostname" 2>/dev/null; then check_ok=1; break; fi
    sleep 0.2
  done
  # A second container reaches the first by its name, on the network.
  if [ "$check_ok" = 1 ] && ! as_user podman run --rm --name "$check_net-b" --network "$check_net" "$PYTHON_IMAGE" \
       python3 -c "import urllib.request; urllib.request.urlopen('http://$check_net-a:8000/hostname', timeout=5)" \
       2> >(quiet); then
    check_ok=0
    echo "a container did not reach another one by its name on $check_net" >&2
  fi
fi
as_user podman rm -f -t 0 "$check_net-a" >/dev/null 2>&1 || true
as_user podman network rm -f "$check_net" >/dev/null 2>&1 || true
[ "$check_ok" = 1 ] || die "$RUSER's containers do not work on a network with a published port (see above)"

if [ "$service" = 1 ]; then
  MLDEPLOY_ROOTLESS_USER=$RUSER "$here/start-rootless-podman-service.sh"
fi
log "rootless Podman for $RUSER is set up in $((SECONDS - start))s (storage: $choice; socket: unix://$XDG/podman/podman.sock)"
