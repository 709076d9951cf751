#!/usr/bin/env bash
# `mldeploy bench` (issue 14): a bounded load through the balancer with counts
# that add up (every request answered, the answers per replica summing to the
# requests sent), ab's percentiles, --compare against one replica directly,
# --format json that parses, and load refused for hosts that are not the
# stack's. Never asserts times.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=${E2E_STACK_PREFIX:-gp}bench$$
PORT=$((23050 + $$ % 50))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT
cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
replicas = 2
[services.echo.health]
path = "/healthz"
start_period = "20s"
[balancer]
port = $PORT
host_ip = "127.0.0.1"
TOML
"$MLDEPLOY" up -q -f "$WORK/stack.toml" >/dev/null || { fail "up"; finish; exit 1; }
B=(-f "$WORK/stack.toml")

rc=0; json=$("$MLDEPLOY" bench "${B[@]}" -n 300 -c 8 --path '/predict?msg=hi' --compare --format json) || rc=$?
check "bench --format json: exit 0" eq "$rc" 0
check "json parses" jq -e . <<<"$json" >/dev/null
check "the balancer's endpoint" eq "$(jq -r .url <<<"$json")" "http://127.0.0.1:$PORT/predict?msg=hi"
check "300 requests, 300 answered" eq "$(jq -c '.balancer | [.requests, .complete]' <<<"$json")" "[300,300]"
check "none failed, none non-2xx" eq "$(jq -c '.balancer | [.failed, .non_2xx]' <<<"$json")" "[0,0]"
check "ab's nine percentiles" eq "$(jq -c '.balancer.percentiles_ms | keys | map(tonumber) | sort' <<<"$json")" \
  "[50,66,75,80,90,95,98,99,100]"
check "percentiles never decrease" jq -e >/dev/null \
  '.balancer.percentiles_ms | [.["50"], .["66"], .["75"], .["80"], .["90"], .["95"], .["98"], .["99"], .["100"]] | . == sort' \
  <<<"$json"
check "answers per replica: both replicas, by name" eq "$(jq -c '.balancer.replicas | keys' <<<"$json")" \
  "[\"$NAME-echo-1\",\"$NAME-echo-2\"]"
check "answers per replica add up to 300" eq "$(jq '[.balancer.replicas[]] | add' <<<"$json")" 300
check "each replica answered" jq -e >/dev/null '[.balancer.replicas[]] | all(. > 0)' <<<"$json"
check "--compare: replica 1 directly" eq "$(jq -r .compare.replica <<<"$json")" "$NAME-echo-1"
check "--compare: 300 answered, none failed" eq \
  "$(jq -c '.compare.summary | [.complete, .failed, .non_2xx]' <<<"$json")" "[300,0,0]"
check "--compare: no balancer in between, no replica counted" eq "$(jq '.compare.summary.replicas | length' <<<"$json")" 0

text=$("$MLDEPLOY" bench "${B[@]}" -n 100 -c 4 --path /healthz)
echo "$text" | sed -n '1,12p'
check "text: ab's complete requests" contains "$text" "Complete requests:      100"
check "text: failed requests 0" contains "$text" "Failed requests:        0"
check "text: the percentile table" contains "$text" "Percentage of the requests served within a certain time (ms)"
check "text: the longest request" grep -qE '^ 100% +[0-9.]+ \(longest request\)$' <<<"$text"
check "text: answers per replica" contains "$text" "Answers per replica"
check "text: replica 2's answers" grep -qE "^  $NAME-echo-2 +[0-9]+ +[0-9.]+%$" <<<"$text"

# POST bodies reach the model.
post=$("$MLDEPLOY" bench "${B[@]}" -n 20 -c 2 --path /predict -d '{"msg": "x"}' --format json)
check "--data: 20 answered 2xx" eq "$(jq -c '.balancer | [.complete, .non_2xx]' <<<"$post")" "[20,0]"

# Other clients never see the replica's address.
check "no X-Mldeploy-Upstream without asking" eq \
  "$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/healthz" | grep -ci '^x-mldeploy-upstream' || true)" 0
check "X-Mldeploy-Upstream when asked" eq \
  "$(curl -s -D - -o /dev/null -H 'X-Mldeploy-Bench: 1' "http://127.0.0.1:$PORT/healthz" | grep -ci '^x-mldeploy-upstream:' || true)" 1

for url in http://192.0.2.1/ http://example.com:$PORT/ ftp://127.0.0.1/; do
  rc=0; out=$("$MLDEPLOY" bench "${B[@]}" -n 5 --url "$url" 2>&1) || rc=$?
  check "--url $url refused: exit 2" eq "$rc" 2
done
check "the refusal says why" contains "$out" "give an http:// URL"
rc=0; out=$("$MLDEPLOY" bench "${B[@]}" -n 5 --url "http://192.0.2.1:80/" 2>&1) || rc=$?
check "the refusal names loopback and the stack" contains "$out" "only to this host's loopback or to the stack's own addresses"
rc=0; "$MLDEPLOY" bench "${B[@]}" -n 10 --url "http://localhost:$PORT/healthz" --format json >"$WORK/local.json" || rc=$?
check "--url on loopback: allowed" eq "$rc:$(jq .balancer.complete "$WORK/local.json")" "0:10"
finish
