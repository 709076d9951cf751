#!/usr/bin/env bash
# The build step of `up` on a real engine: the built image carries the build
# hash label; a second `up` with nothing changed sends no build (the image is up
# to date, its id unchanged); a changed file builds again and rolls the
# replicas; a touched file (only its time) does not; `up --build` and
# `mldeploy build` always build.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2ebcache$$
PORT=$((20000 + ($$ + 2) % 10000))
IMAGE=localhost/$NAME/echo:1
IMAGE_PATH=/images/$(jq -rn --arg i "$IMAGE" '$i|@uri')
remove_image() { curl -fsS --unix-socket "$SOCK" -X DELETE "http://d$API$IMAGE_PATH?force=true" >/dev/null 2>&1 || true; }
trap 'cleanup_stack $NAME; remove_image; rm -rf "$WORK"' EXIT

cp -r "$REPO/examples/echo" "$WORK/ctx"
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "./ctx"
image = "$IMAGE"
port = 8000
replicas = 2
[services.echo.health]
path = "/healthz"
interval = "500ms"
retries = 5
start_period = "20s"
[balancer]
port = $PORT
TOML
cd "$WORK"

image_json() { engine_get "$IMAGE_PATH/json"; }
image_id() { image_json | jq -r .Id; }
image_label() { image_json | jq -r '.Config.Labels["io.mldeploy.build-hash"] // ""'; }
replica_ids() { container_ids io.mldeploy.stack=$NAME io.mldeploy.role=model; }
# No build request reached the engine: mldeploy prints no build line, and no
# build step line of the engine's stream (Podman "STEP", Docker "Step").
no_build_lines() { ! grep -qE "building $IMAGE|built $IMAGE|STEP |Step " <<<"$1" || { echo "  a build in: $1" >&2; return 1; }; }
lacks() { ! grep -qF -- "$2" <<<"$1" || { echo "  '$2' in: $1" >&2; return 1; }; }

out=$("$MLDEPLOY" up 2>&1) || { echo "$out"; fail "first up exits 0"; finish; exit 1; }
pass "first up exits 0"
check "first up builds" contains "$out" "built $IMAGE"
label=$(image_label)
check "the built image carries io.mldeploy.build-hash" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$label"
id1=$(image_id)
replicas1=$(replica_ids)

t0=$(date +%s)
out=$("$MLDEPLOY" up 2>&1)
t1=$(($(date +%s) + 1))
echo "$out"
check "second up: the image is up to date" contains "$out" "image $IMAGE is up to date (context unchanged)"
# Docker logs an image "tag" event for every build, also one answered from its
# cache; Podman 4.3 logs none for such a build, so there the output is the proof.
if [[ $API != */libpod ]]; then
  tags=$(engine_get "/events?since=$t0&until=$t1&filters=$(jq -rn '{type: ["image"]} | tojson | @uri')" |
    jq -r 'select(.Action == "tag") | .Actor.Attributes.name' | grep -cF "$IMAGE" || true)
  check "second up: the engine saw no build (no tag event)" eq "$tags" 0
fi
check "second up: no build" no_build_lines "$out"
check "second up: no changes" contains "$out" "no changes"
check "second up: image id unchanged" eq "$(image_id)" "$id1"
check "second up: replicas unchanged" eq "$(replica_ids)" "$replicas1"

out=$("$MLDEPLOY" up --dry-run 2>&1)
check "dry run of an unchanged context lists no build" lacks "$out" "build image"
check "dry run of an unchanged context: no changes" contains "$out" "no changes"

sleep 1.1
touch "$WORK/ctx/server.py"
out=$("$MLDEPLOY" up 2>&1)
check "a touched file (time only) builds nothing" contains "$out" "image $IMAGE is up to date"
check "a touched file: no build" no_build_lines "$out"

echo "# changed $(date +%s%N)" >>"$WORK/ctx/server.py"
out=$("$MLDEPLOY" up --dry-run 2>&1)
check "dry run of a changed context lists the build" contains "$out" "build image $IMAGE"
out=$("$MLDEPLOY" up 2>&1) || { echo "$out"; fail "up after a change exits 0"; }
echo "$out" | tail -6
check "a changed file builds again" contains "$out" "built $IMAGE"
id2=$(image_id)
check "a changed file gives a new image id" test "$id2" != "$id1"
check "the new image carries the new hash" test "$(image_label)" != "$label"
replicas2=$(replica_ids)
check "the replicas rolled" test -z "$(comm -12 <(echo "$replicas1") <(echo "$replicas2"))"
check "two replicas after the roll" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 2
check "the new replicas answer" eq "$(curl -s "http://127.0.0.1:$PORT/predict?msg=hi")" '{"response": "hi", "success": true}'

out=$("$MLDEPLOY" up 2>&1)
check "then up to date again" contains "$out" "image $IMAGE is up to date (context unchanged)"

out=$("$MLDEPLOY" up --build 2>&1)
check "up --build builds" contains "$out" "built $IMAGE"
check "up --build of an unchanged context: same image id (engine cache)" eq "$(image_id)" "$id2"
check "up --build of an unchanged context: no changes" contains "$out" "no changes"

out=$("$MLDEPLOY" build 2>&1)
check "mldeploy build always builds" contains "$out" "built $IMAGE"
check "mldeploy build of an unchanged context: same image id" eq "$(image_id)" "$id2"
finish
