#!/usr/bin/env bash
# Two versions of a model as two services behind one route (issue 13): the
# weighted split holds over thousands of requests whatever each version's
# replica count, a weight-0 version gets nothing, and sticky users (by header)
# always reach the same version while the users spread by the weights.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=trsplit$$
PORT=$((22000 + $$ % 50))
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT
MODEL="$REPO/tests/e2e/models/versioned"

cat >"$WORK/stack.toml" <<TOML
name = "$NAME"
[services.v1]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = 2
env = { VERSION = "1" }
[services.v1.health]
path = "/healthz"
interval = "500ms"
[services.v2]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = 1
env = { VERSION = "2" }
[services.v2.health]
path = "/healthz"
interval = "500ms"
[services.v3]
build = "$MODEL"
image = "localhost/$NAME/versioned:1"
port = 8000
replicas = 1
env = { VERSION = "3" }
[balancer]
port = $PORT
[[balancer.routes]]
path = "/"
backends = [{ service = "v1", weight = 70 }, { service = "v2", weight = 30 }, { service = "v3", weight = 0 }]
[[balancer.routes]]
path = "/sticky/"
backends = [{ service = "v1", weight = 50 }, { service = "v2", weight = 50 }]
sticky = "header:X-User-Id"
TOML
cd "$WORK"
"$MLDEPLOY" up -q >/dev/null || { fail "up"; finish; exit 1; }

# count.py URL N [USERS]: N requests over keep-alive connections (8 threads);
# prints "version count" lines, or with USERS, each user (X-User-Id) sends N/USERS
# requests and it prints "users-that-switched v1-users v2-users".
cat >"$WORK/count.py" <<'PY'
import collections, http.client, sys, threading, urllib.parse
url, n = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
users = int(sys.argv[3]) if len(sys.argv) > 3 else 0
seen, lock = collections.defaultdict(set), threading.Lock()
counts = collections.Counter()
def work(part):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for i in part:
        headers = {"X-User-Id": "user-%d" % (i % users)} if users else {}
        c.request("GET", url.path, headers=headers)
        r = c.getresponse(); r.read()
        v = r.getheader("X-Model-Version") if r.status == 200 else "status-%d" % r.status
        with lock:
            counts[v] += 1
            if users: seen["user-%d" % (i % users)].add(v)
threads = [threading.Thread(target=work, args=(range(t, n, 8),)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if users:
    switched = sum(1 for s in seen.values() if len(s) > 1)
    first = collections.Counter(next(iter(s)) for s in seen.values())
    print(switched, first["1"], first["2"])
else:
    for v, c in sorted(counts.items()): print(v, c)
PY

# 1. 4000 requests, 70/30 by each request's id, whatever the replica counts (2 and 1).
/usr/bin/python3 "$WORK/count.py" "http://127.0.0.1:$PORT/predict" 4000 >"$WORK/split" || fail "split requests"
cat "$WORK/split"
v1=$(awk '$1=="1"{print $2}' "$WORK/split"); v2=$(awk '$1=="2"{print $2}' "$WORK/split")
check "every request answered by v1 or v2" eq "$(awk '{s+=$2} END{print s}' "$WORK/split")" "$((${v1:-0} + ${v2:-0}))"
check "the weight-0 version got nothing" eq "$(awk '$1=="3"{print $2}' "$WORK/split")" ""
share=$(( ${v2:-0} * 1000 / 4000 ))   # per mille
echo "  v2 share: $share per mille of 4000 (weight 30%)"
check "v2's share is 30% within 3 points" test "$share" -ge 270 -a "$share" -le 330

# 2. 200 users by header, 10 requests each: nobody switches, users spread 50/50.
/usr/bin/python3 "$WORK/count.py" "http://127.0.0.1:$PORT/sticky/predict" 2000 200 >"$WORK/sticky" || fail "sticky requests"
read -r switched u1 u2 <"$WORK/sticky"
echo "  sticky: $switched switched, $u1 users on v1, $u2 on v2"
check "no sticky user switched versions" eq "$switched" 0
check "sticky users spread by the weights (50/50 within 12 points)" test "$u2" -ge 76 -a "$u2" -le 124
finish
