#!/usr/bin/env bash
# A route with `strip_prefix = true` sends its path to the model without the prefix:
# /v1/predict arrives as /predict, /v1 as /. A route without it passes the path whole.
# The echo model answers 404 "not found: <path>" for a path it does not serve, so
# the path it received can be read from its answer.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=e2estrip$$
PORT=$((20000 + ($$ + 13) % 10000))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.echo]
build = "$REPO/examples/echo"
image = "localhost/$NAME/echo:1"
port = 8000
[services.echo.health]
path = "/healthz"
[balancer]
port = $PORT
[[balancer.routes]]
path = "/v1"
service = "echo"
strip_prefix = true
[[balancer.routes]]
path = "/api.v2/"
service = "echo"
strip_prefix = true
[[balancer.routes]]
path = "/whole"
service = "echo"
TOML
cd "$WORK"
out=$("$MLDEPLOY" up 2>&1) || { fail "up: $out"; finish; exit 1; }

get() { curl -sS --max-time 10 "http://127.0.0.1:$PORT$1"; }
check "/v1/predict reaches the model as /predict" contains "$(get '/v1/predict?msg=stripped')" '"response": "stripped"'
check "/v1 reaches the model as /" contains "$(get /v1)" 'not found: /"'
check "/v1/a/b keeps what follows the prefix" contains "$(get /v1/a/b)" 'not found: /a/b"'
check "a POST is stripped too" contains \
  "$(curl -sS --max-time 10 -H 'Content-Type: application/json' -d '{"msg": "posted"}' "http://127.0.0.1:$PORT/v1/predict")" \
  '"response": "posted"'
check "/api.v2/predict (a path ending in /) reaches the model as /predict" contains \
  "$(get '/api.v2/predict?msg=two')" '"response": "two"'
check "/api-v2/predict is no route ('.' is no wildcard)" contains "$(get /api-v2/predict)" 'no route for this path'
check "without strip_prefix the path arrives whole" contains "$(get /whole/predict)" 'not found: /whole/predict"'
check "a query string survives the strip" contains "$(get '/v1/predict?msg=q&x=1')" '"response": "q"'
finish
