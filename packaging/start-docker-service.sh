#!/usr/bin/env bash
# Starts dockerd in the background, in its own session, logging to
# /var/log/dockerd.log, unless /var/run/docker.sock already answers GET /_ping;
# then waits until it answers. Run as root.
#
# The settings this machine needs go to /etc/docker/daemon.json (written only
# when absent, or when it is ours: it carries no comments, so ours is recognised
# by its "mldeploy-managed" label):
#   - default ulimits nofile/nproc 20000:20000: the hard limits here are 20000
#     open files and 96365 processes and cannot be raised; mldeploy passes the
#     same limits with every container, this covers `docker run` too.
#   - cgroup driver cgroupfs (no systemd here), storage driver overlay2.
# Podman (netavark) keeps working alongside: dockerd only adds its own DOCKER*
# chains, and leaves the FORWARD policy alone since ip_forward is already on.
set -euo pipefail
# The service (and conmon, which inherits its folder) must not run in a folder
# that may be deleted, such as a test's temporary folder.
cd /

sock=/var/run/docker.sock
conf=/etc/docker/daemon.json
logfile=/var/log/dockerd.log

ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }

if ping; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "start-docker-service.sh: run as root (dockerd needs it)" >&2
  exit 1
fi
command -v dockerd >/dev/null || { echo "dockerd is not installed (run packaging/install-docker.sh)" >&2; exit 1; }

if [ ! -e "$conf" ] || grep -q 'mldeploy-managed' "$conf"; then
  mkdir -p /etc/docker
  cat >"$conf.tmp.$$" <<'JSON'
{
  "labels": ["mldeploy-managed=packaging/start-docker-service.sh"],
  "default-ulimits": {
    "nofile": {"Name": "nofile", "Hard": 20000, "Soft": 20000},
    "nproc": {"Name": "nproc", "Hard": 20000, "Soft": 20000}
  },
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "storage-driver": "overlay2",
  "iptables": true
}
JSON
  if ! cmp -s "$conf.tmp.$$" "$conf" 2>/dev/null; then
    echo "==> writing $conf"
    mv -f "$conf.tmp.$$" "$conf"
  else
    rm -f "$conf.tmp.$$"
  fi
else
  echo "==> $conf exists and is not mldeploy's: using it as it is"
fi

# A daemon that is running but not answering yet: wait for it rather than start another.
if ! [ -s /var/run/docker.pid ] || ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f "$sock"
  echo "==> starting dockerd on unix://$sock (log: $logfile)"
  # The shell's own limits are what dockerd (and containerd) inherit; keep nofile
  # at the hard limit so the daemon itself has room.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  setsid dockerd >>"$logfile" 2>&1 </dev/null &
fi
for _ in $(seq 1 300); do
  ping && exit 0
  sleep 0.1
done
echo "dockerd did not answer on $sock within 30s; last lines of $logfile:" >&2
tail -n 20 "$logfile" >&2 || true
exit 1
