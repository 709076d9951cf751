#!/usr/bin/env bash
# mldeploy init on a small Python model server folder, then `up` of what it
# wrote on the real engine, a request through the balancer, and `down`.
source "$(dirname "$0")/lib.sh"
require_engine

NAME=cl-init
# Ports of this test's range (18200-18249), one per engine.
if [[ $API == */libpod ]]; then PORT=18210; else PORT=18211; fi
trap 'cleanup_stack $NAME; rm -rf "$WORK"' EXIT

DIR="$WORK/My Model Server"
mkdir -p "$DIR"
cat >"$DIR/server.py" <<'PY'
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/healthz":
            body = b"ok"
        elif self.path.startswith("/predict"):
            body = json.dumps({"prediction": 42, "model": "cl-init"}).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "9000"))), Handler).serve_forever()
PY
printf '# the standard library is enough for this model\n' >"$DIR/requirements.txt"

run() {  # run ARGS...: sets OUT (stdout+stderr) and RC
  RC=0
  OUT=$(timeout 300 "$MLDEPLOY" "$@" 2>&1) || RC=$?
}

run init "$DIR" --name "$NAME" --publish "$PORT"
echo "$OUT" | sed 's/^/  | /'
check "init: exit 0" eq "$RC" 0
for f in stack.toml Containerfile .dockerignore; do
  check "init: wrote $f" test -f "$DIR/$f"
  check "init: says it wrote $f" contains "$OUT" "wrote $DIR/$f"
done
check "init: prints the next command (quoted: the path has spaces)" contains "$OUT" "next: mldeploy up '$DIR/stack.toml'"
check "init: found the health path in server.py" contains "$(cat "$DIR/stack.toml")" 'path = "/healthz"'
check "init: the server runs as written" contains "$(cat "$DIR/Containerfile")" 'CMD \["python3", "server.py"\]'

run init "$DIR" --name "$NAME" --publish "$PORT"
check "init again: exit 2" eq "$RC" 2
check "init again: refuses to overwrite" contains "$OUT" "already exist"
echo "# edited" >>"$DIR/stack.toml"
run init "$DIR" --name "$NAME" --publish "$PORT" --force
check "init --force: exit 0" eq "$RC" 0
check "init --force: overwrote stack.toml" bash -c '! grep -q "# edited" "$1"' _ "$DIR/stack.toml"

run up "$DIR/stack.toml"
echo "$OUT" | tail -6 | sed 's/^/  | /'
check "up of the scaffold: exit 0" eq "$RC" 0
check "up of the scaffold: one replica" eq "$(count_containers io.mldeploy.stack=$NAME io.mldeploy.role=model)" 1
BODY=$(curl -fsS --max-time 10 "http://127.0.0.1:$PORT/predict" || true)
check "a request through the balancer reaches the model" contains "$BODY" '"prediction": 42'

run down -s "$NAME"
check "down: exit 0" eq "$RC" 0
check "down: no container left" eq "$(count_containers io.mldeploy.stack=$NAME)" 0
check "down: no network left" eq "$(count_networks io.mldeploy.stack=$NAME)" 0

finish
