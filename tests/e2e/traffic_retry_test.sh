#!/usr/bin/env bash
# Safe retries and cancellation (issue 13): a POST whose replica drops the
# connection after reading it is never sent a second time (nginx retries a
# request on another replica only when none of it was sent, or when its method
# is idempotent: proxy_next_upstream without non_idempotent); and a client that
# disconnects closes the upstream request, so the model can stop generating
# (proxy_ignore_client_abort stays off).
source "$(dirname "$0")/lib.sh"
require_engine

NAME=trretry$$
PORT=$((22000 + ($$ + 25) % 50))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.m]
build = "$REPO/tests/e2e/models/versioned"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = 2
env = { VERSION = "1" }
[services.m.health]
path = "/healthz"
interval = "500ms"
[balancer]
port = $PORT
TOML
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

# A replica's counters, read inside it.
stat() {  # stat REPLICA KEY
  "$MLDEPLOY" exec -r "$1" -- python3 -c \
    "import json,urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:8000/stats'))['$2'])"
}

# 1. 5 POSTs that the replica drops after reading: each reached one replica, once.
# (Spaced past fail_timeout, 2 s, so both replicas are live for each: a retry
# would have sent it to the other one.)
codes=$(for i in $(seq 1 5); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST -d '{"x":1}' "http://127.0.0.1:$PORT/drop"
  sleep 2.2
done | sort | uniq -c | tr -s ' ')
echo "  5 dropped POSTs answered: $codes"
check "the client is told 502, not a second answer" eq "$(echo $codes)" "5 502"
posts=$(( $(stat 1 posts_dropped) + $(stat 2 posts_dropped) ))
check "the replicas received 5 POSTs, none twice" eq "$posts" 5

# 2. A long request whose client goes away after 2 s: the model sees its connection close.
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/hang?ms=20000" || true
sleep 1
cancelled=$(( $(stat 1 cancelled) + $(stat 2 cancelled) ))
check "the model saw the cancelled request's connection close" eq "$cancelled" 1
finish
