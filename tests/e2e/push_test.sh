#!/usr/bin/env bash
# `mldeploy push` against a real registry (Debian's docker-registry, distribution
# 2.8) on loopback with htpasswd auth: the stack's image is built if needed and
# pushed from this engine with the credentials of $REGISTRY_AUTH_FILE, then
# pulled by the other engine; a wrong password and missing credentials are
# refused in the registry's words (exit 1); an image that names no registry is a
# usage error (exit 2) that says how to name it.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2epush$$
RPORT=$((30000 + ($$ + 29) % 2000))
REG=127.0.0.1:$RPORT
IMAGE=$REG/$NAME/echo:1
if [[ $API == */libpod ]]; then
  OTHER_SOCK=/var/run/docker.sock
  other_pull() { curl -sS -X POST --unix-socket "$OTHER_SOCK" -H "X-Registry-Auth: $1" \
    "http://d/v1.41/images/create?fromImage=$REG/$NAME/echo&tag=1"; }
  other_remove() { curl -sS -X DELETE --unix-socket "$OTHER_SOCK" "http://d/v1.41/images/$IMAGE?force=1" >/dev/null 2>&1 || true; }
  other_has() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$OTHER_SOCK" "http://d/v1.41/images/$IMAGE/json"; }
else
  OTHER_SOCK=/run/podman/podman.sock
  other_pull() { curl -sS -X POST --unix-socket "$OTHER_SOCK" -H "X-Registry-Auth: $1" \
    "http://d/v4.0.0/libpod/images/pull?reference=$IMAGE&tlsVerify=false"; }
  other_remove() { curl -sS -X DELETE --unix-socket "$OTHER_SOCK" "http://d/v4.0.0/libpod/images/$IMAGE?force=true" >/dev/null 2>&1 || true; }
  other_has() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$OTHER_SOCK" "http://d/v4.0.0/libpod/images/$IMAGE/json"; }
fi
remove_pushed() { curl -sS -X DELETE --unix-socket "$SOCK" "http://d$API/images/$IMAGE?force=true" >/dev/null 2>&1 || true; }
trap 'kill ${REG_PID:-} 2>/dev/null || true; remove_pushed; other_remove; cleanup_stack $NAME; rm -rf "$WORK"' EXIT

# The registry: htpasswd auth, storage in the test's folder.
htpasswd -Bbc "$WORK/htpasswd" alice s3cret >/dev/null 2>&1
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $WORK/registry } }
http: { addr: "$REG" }
auth: { htpasswd: { realm: e2e, path: $WORK/htpasswd } }
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/") == 401 ]] && break; sleep 0.1; done
check "the registry asks for credentials" eq "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/")" 401

auth_file() {  # auth_file USER PASSWORD: a Podman auth.json for the registry
  jq -n --arg r "$REG" --arg a "$(printf '%s:%s' "$1" "$2" | base64 -w0)" '{auths: {($r): {auth: $a}}}' >"$WORK/auth.json"
}
cp -r "$REPO/examples/echo" "$WORK/echo"
cd "$WORK"
cat >stack.toml <<TOML
name = "$NAME"
[services.api]
build = "echo"
image = "$IMAGE"
port = 8000
[balancer]
port = $((RPORT + 2000))
TOML
# No credentials anywhere: HOME and XDG_RUNTIME_DIR point where there are none.
export HOME=$WORK XDG_RUNTIME_DIR=$WORK/run REGISTRY_AUTH_FILE=$WORK/auth.json
unset DOCKER_CONFIG

rc=0; out=$("$MLDEPLOY" push 2>&1) || rc=$?
check "push without credentials exits 1" eq "$rc" 1
check "push without credentials gives the registry's words" contains "$out" "authentication required\|unauthorized\|no basic auth"
auth_file alice wrong
rc=0; out=$("$MLDEPLOY" push 2>&1) || rc=$?
check "push with a wrong password exits 1" eq "$rc" 1
check "push with a wrong password gives the registry's words" contains "$out" "authentication required\|unauthorized"
check "it names the step" contains "$out" "push $IMAGE"

auth_file alice s3cret
rc=0; out=$("$MLDEPLOY" push 2>&1) || rc=$?
echo "$out" | tail -5
check "push with the right password exits 0" eq "$rc" 0
check "push says as whom" contains "$out" "pushing $IMAGE to $REG as alice"
check "push says it pushed" contains "$out" "pushed $IMAGE"
check "the registry has the image's tag" contains "$(curl -s -u alice:s3cret "http://$REG/v2/$NAME/echo/tags/list")" '"1"'

pulled=$(other_pull "$(jq -cn --arg r "$REG" '{username: "alice", password: "s3cret", serveraddress: $r}' | base64 -w0 | tr '+/' '-_')")
check "the other engine pulls it" eq "$(other_has)" 200
check "the other engine's pull had no error" eq "$(grep -c '"error' <<<"$pulled" || true)" 0

# A second push of the same image: nothing to build, layers already there.
rc=0; out=$("$MLDEPLOY" push api 2>&1) || rc=$?
check "a second push exits 0" eq "$rc" 0
check "a second push builds nothing" eq "$(grep -c 'building' <<<"$out" || true)" 0

# An image that names no registry: nowhere to push, exit 2 and how to name it.
sed -i "s|^image = .*|image = \"localhost/$NAME/echo:1\"|" stack.toml
rc=0; out=$("$MLDEPLOY" push 2>&1) || rc=$?
check "an image without a registry: exit 2" eq "$rc" 2
check "it says how to name the image" contains "$out" "registry.example:5000/$NAME/echo:1"
rc=0; out=$("$MLDEPLOY" push nope 2>&1) || rc=$?
check "an unknown service: exit 2" eq "$rc" 2
finish
