# Shared set-up of the end-to-end tests that run mldeploy as the unprivileged
# user made by packaging/setup-rootless.sh, on that user's rootless Podman.
# Source it after lib.sh, with NAME set. It runs as root (it switches to the
# user with runuser), points lib.sh's helpers (count_containers, ...) at the
# USER's engine, and gives:
#   as_user CMD...  runs CMD as the user in $UDIR/stack, with only the user's
#                   own environment (no MLDEPLOY_HOST or CONTAINER_HOST of the
#                   caller); leading VAR=value arguments go to its environment
#   M ARGS...       runs the user's copy of mldeploy ($UBIN)
#   $UDIR/stack     the user's folder for the stack, with examples/echo in it
#   $PORT           a free loopback port for the balancer
# On exit it removes the stack, its image and the folders. Never skips: no
# user, or no rootless engine answering, is a failure.
RUSER=${MLDEPLOY_ROOTLESS_USER:-mldeploy-rootless}
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: run as root (the test runs mldeploy as $RUSER through runuser)" >&2
  exit 1
fi
if ! id -u "$RUSER" >/dev/null 2>&1; then
  echo "FAIL: no user $RUSER (run packaging/setup-rootless.sh)" >&2
  exit 1
fi
RUID=$(id -u "$RUSER")
RHOME=$(getent passwd "$RUSER" | cut -d: -f6)
XDG=/run/user/$RUID
SOCK=$XDG/podman/podman.sock
API=/v4.0.0/libpod
if ! curl -fsS --max-time 5 --unix-socket "$SOCK" http://d/_ping >/dev/null; then
  echo "FAIL: $RUSER's rootless Podman does not answer on $SOCK" \
       "(run packaging/setup-rootless.sh, then packaging/start-rootless-podman-service.sh)" >&2
  exit 1
fi

# A folder of the user's own for the stack, its build context and the binary
# (lib.sh's $WORK is root's, mode 700).
UDIR=$(mktemp -d /tmp/mldeploy-rootless-e2e.XXXXXX)
UBIN=$UDIR/bin/mldeploy
as_user() {
  (cd "$UDIR/stack" && runuser -u "$RUSER" -- env -i HOME="$RHOME" USER="$RUSER" LOGNAME="$RUSER" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$XDG" NO_COLOR=1 "$@")
}
M() { as_user "$UBIN" "$@"; }
cleanup() {
  as_user "$UBIN" down -s "$NAME" -q >/dev/null 2>&1 || true
  curl -fsS -X DELETE --unix-socket "$SOCK" \
    "http://d$API/images/localhost%2F$NAME%2Fecho:1?force=true" >/dev/null 2>&1 || true
  rm -rf "$UDIR" "$WORK"
}
trap cleanup EXIT
mkdir -p "$UDIR/bin" "$UDIR/stack"
install -m 0755 "$MLDEPLOY" "$UBIN"
cp -r "$REPO/examples/echo" "$UDIR/stack/echo"

# A free port on loopback for the balancer.
PORT=
for p in $(shuf -i 20000-29999 -n 100); do
  ss -Htln "sport = :$p" | grep -q . || { PORT=$p; break; }
done
[ -n "$PORT" ] || { echo "FAIL: no free port for the balancer" >&2; exit 1; }
