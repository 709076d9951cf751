#!/usr/bin/env bash
# Starts the rootless Podman REST service of the unprivileged user made by
# setup-rootless.sh (default mldeploy-rootless; MLDEPLOY_ROOTLESS_USER to change),
# as that user, on unix://$XDG_RUNTIME_DIR/podman/podman.sock
# (XDG_RUNTIME_DIR=/run/user/UID), unless it already answers; then waits until it
# answers GET /_ping. Detached in its own session; log:
# /var/log/podman-rootless-service.log when run as root, else
# $XDG_RUNTIME_DIR/podman/service.log.
#
# Run as root (as tests/run.sh does), or as the user itself. As root it also
# restores what a reboot takes away: /dev/net/tun usable by users and the
# runtime folder /run/user/UID.
set -euo pipefail
# The service (and conmon, which inherits its folder) must not run in a folder
# that may be deleted, such as a test's temporary folder; the user may not even
# be able to enter the caller's folder.
cd /

RUSER=${MLDEPLOY_ROOTLESS_USER:-mldeploy-rootless}
die() { printf 'start-rootless-podman-service.sh: %s\n' "$*" >&2; exit 1; }

id -u "$RUSER" >/dev/null 2>&1 || die "no user $RUSER (run packaging/setup-rootless.sh as root)"
RUID=$(id -u "$RUSER")
RHOME=$(getent passwd "$RUSER" | cut -d: -f6)
XDG=/run/user/$RUID
sock=$XDG/podman/podman.sock

ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }
if ping; then
  exit 0
fi

me=$(id -u)
if [ "$me" -eq 0 ]; then
  [ -e /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ] && chmod 0666 /dev/net/tun
  install -d -m 0755 /run/user
  install -d -m 0700 -o "$RUID" -g "$(id -g "$RUSER")" "$XDG"
  logfile=${MLDEPLOY_ROOTLESS_LOG:-/var/log/podman-rootless-service.log}
  # setpriv execs the command directly as the user (no PAM session, no process in
  # between), with a clean environment: root's XDG_RUNTIME_DIR must not leak in.
  as_user=(setpriv --reuid="$RUID" --regid="$(id -g "$RUSER")" --init-groups
    env -i HOME="$RHOME" USER="$RUSER" LOGNAME="$RUSER"
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$XDG")
elif [ "$me" -eq "$RUID" ]; then
  [ -d "$XDG" ] || die "$XDG does not exist (run packaging/setup-rootless.sh as root)"
  logfile=${MLDEPLOY_ROOTLESS_LOG:-$XDG/podman/service.log}
  as_user=(env XDG_RUNTIME_DIR="$XDG")
else
  die "run as root or as $RUSER"
fi
[ -w /dev/net/tun ] || [ "$me" -eq 0 ] || die "/dev/net/tun is not usable by $RUSER (run packaging/setup-rootless.sh as root)"

"${as_user[@]}" mkdir -p "$XDG/podman"
rm -f "$sock"

# A failed rootless network set-up (such as /dev/net/tun not being usable) leaves
# $XDG_RUNTIME_DIR/netns/rootless-netns-*, and every later network then fails with
# "failed to mount runtime directory for rootless netns". With none of the user's
# containers running, no such namespace is in use: remove what is left.
if running=$("${as_user[@]}" podman ps -q 2>/dev/null) && [ -z "$running" ]; then
  rm -f "$XDG"/netns/rootless-netns-*
fi

echo "==> starting $RUSER's podman system service on unix://$sock (log: $logfile)"
setsid "${as_user[@]}" podman system service --time=0 "unix://$sock" >>"$logfile" 2>&1 </dev/null &
for _ in $(seq 1 100); do
  ping && exit 0
  sleep 0.1
done
echo "$RUSER's podman service did not answer on $sock within 10s; last lines of $logfile:" >&2
tail -n 20 "$logfile" >&2 || true
exit 1
