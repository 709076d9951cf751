#!/usr/bin/env bash
# Two services built from the same context, dockerfile and args: `up` builds
# once and gives the second service's tag to the same image; `mldeploy build`
# does the same; both services then run that image.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2eshared$$
PORT=$((20000 + ($$ + 41) % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cp -r "$REPO/examples/echo" "$WORK/echo"
cd "$WORK"
cat >stack.toml <<TOML
name = "$NAME"
[services.embed]
build = "echo"
image = "localhost/$NAME/embed:1"
port = 8000
[services.rerank]
build = "echo"
image = "localhost/$NAME/rerank:1"
port = 8000
[balancer]
port = $PORT
[[balancer.routes]]
path = "/embed"
service = "embed"
strip_prefix = true
[[balancer.routes]]
path = "/rerank"
service = "rerank"
strip_prefix = true
TOML
image_id() { engine_get "/images/$1/json" | jq -r '.Id'; }

out=$("$MLDEPLOY" up --dry-run 2>&1)
check "dry run: one build, the second service uses its image" contains "$out" "use the image of service embed"
out=$("$MLDEPLOY" up 2>&1) || fail "up: $out"
check "up built once" eq "$(grep -c '  ok built' <<<"$out")" 1
check "both tags name one image" eq "$(image_id "localhost/$NAME/rerank:1")" "$(image_id "localhost/$NAME/embed:1")"
check "embed answers" eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/embed/healthz")" 200
check "rerank answers" eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/rerank/healthz")" 200

out=$("$MLDEPLOY" build 2>&1) || fail "build: $out"
check "build: one build" eq "$(grep -c '  ok built' <<<"$out")" 1
check "build: the second service gets the first one's build" contains "$out" "localhost/$NAME/rerank:1 .* (the build of service embed)"
check "build: both tags still name one image" eq "$(image_id "localhost/$NAME/rerank:1")" "$(image_id "localhost/$NAME/embed:1")"
finish
