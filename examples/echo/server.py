#!/usr/bin/env python3
"""An echo "model" service (Python standard library only).

GET  /predict?msg=hello                      -> 200 {"response": "hello", "success": true}
POST /predict  {"msg": "hello"}  (JSON)      -> the same
POST /predict  msg=hello         (form)      -> the same
     missing msg, bad JSON                   -> 400 {"response": null, "success": false, "error": "..."}
GET  /stream?n=5&delay_ms=200                -> 200 text/event-stream, chunked: n events
                                                "data: token-<i>\\n\\n" (i = 1..n), each written and
                                                flushed after delay_ms (tests that a balancer streams)
GET  /healthz                                -> 200 "ok"

Every response carries `X-Replica: <hostname>`. HTTP/1.1 with keep-alive.
SIGTERM (or SIGINT): stop accepting, finish the requests in flight, exit 0.

Environment: PORT (8000), HOST (0.0.0.0), ACCESS_LOG (0; 1 logs each request),
SHUTDOWN_TIMEOUT (8 seconds to wait for requests in flight),
KEEPALIVE_TIMEOUT (75 seconds before an idle connection is closed).
"""
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOSTNAME = socket.gethostname()
MAX_BODY = 16 * 1024 * 1024
MAX_EVENTS = 100_000
MAX_DELAY_MS = 60_000


def log(msg):
    print(f"echo[{HOSTNAME}]: {msg}", file=sys.stderr, flush=True)


def env_number(name, default, kind=float):
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        sys.exit(f"echo: {name} must be a number, got {raw!r}")
    if value < 0:
        sys.exit(f"echo: {name} must not be negative, got {raw!r}")
    return value


class BadRequest(Exception):
    pass


class InFlight:
    """Counts requests being handled, so shutdown can wait for them."""

    def __init__(self):
        self._cond = threading.Condition()
        self._count = 0

    def __enter__(self):
        with self._cond:
            self._count += 1

    def __exit__(self, *exc):
        with self._cond:
            self._count -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout):
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout)

    @property
    def count(self):
        with self._cond:
            return self._count


ACCESS_LOG = os.environ.get("ACCESS_LOG", "0").lower() in ("1", "true", "yes", "on")
IN_FLIGHT = InFlight()
STOPPING = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second
    # waits for the balancer's delayed ACK (~40 ms) on a keep-alive connection.
    disable_nagle_algorithm = True
    server_version = "echo/1"
    sys_version = ""
    timeout = env_number("KEEPALIVE_TIMEOUT", 75.0) or None

    # ---- responses ---------------------------------------------------------
    def version_string(self):
        return self.server_version

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self.send_header("X-Replica", HOSTNAME)

    def send_connection_header(self):
        if STOPPING.is_set() or self.close_connection:
            self.send_header("Connection", "close")  # shutting down, or asked/needed to close
        elif self.request_version == "HTTP/1.0":
            # An HTTP/1.0 client (ab -k) asked for keep-alive: confirm it, or it waits for a close.
            self.send_header("Connection", "keep-alive")

    def reply(self, code, data, content_type):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_connection_header()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def reply_json(self, code, obj):
        self.reply(code, json.dumps(obj) + "\n", "application/json")

    def fail(self, code, error):
        self.reply_json(code, {"response": None, "success": False, "error": error})

    # ---- routing -----------------------------------------------------------
    def do_GET(self):
        with IN_FLIGHT:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            try:
                if url.path == "/healthz":
                    self.reply(200, "ok\n", "text/plain; charset=utf-8")
                elif url.path == "/predict":
                    self.predict(query.get("msg", [None])[0])
                elif url.path == "/stream":
                    self.stream(query)
                else:
                    self.fail(404, f"not found: {url.path}")
            except BadRequest as e:
                self.fail(400, str(e))

    do_HEAD = do_GET

    def do_POST(self):
        with IN_FLIGHT:
            url = urlsplit(self.path)
            try:
                body = self.read_body()  # always read it, to keep the connection usable
                if url.path != "/predict":
                    self.fail(404, f"not found: {url.path}")
                    return
                msg = self.msg_from_body(body)
                if msg is None:  # POST /predict?msg=... with no body works, too
                    msg = parse_qs(url.query, keep_blank_values=True).get("msg", [None])[0]
                self.predict(msg)
            except BadRequest as e:
                self.fail(400, str(e))

    # ---- /predict ----------------------------------------------------------
    def predict(self, msg):
        if msg is None:
            raise BadRequest('missing "msg" (query ?msg=..., JSON {"msg": ...} or form msg=...)')
        self.reply_json(200, {"response": msg, "success": True})

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise BadRequest("malformed chunked request body")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise BadRequest("request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise BadRequest("bad Content-Length")
        if length > MAX_BODY:
            self.close_connection = True
            raise BadRequest("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def msg_from_body(self, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        text = body.decode("utf-8", errors="replace")
        if ctype == "application/x-www-form-urlencoded":
            return parse_qs(text, keep_blank_values=True).get("msg", [None])[0]
        if ctype in ("application/json", "") or ctype.endswith("+json"):
            if not text.strip():
                return None
            try:
                data = json.loads(text)
            except ValueError as e:
                raise BadRequest(f"body is not valid JSON: {e}")
            if not isinstance(data, dict):
                raise BadRequest('body must be a JSON object like {"msg": "hello"}')
            return data.get("msg")  # echoed as it came (a string, usually)
        raise BadRequest(f"unsupported Content-Type {ctype!r}; "
                         "use application/json or application/x-www-form-urlencoded")

    # ---- /stream -----------------------------------------------------------
    def stream(self, query):
        def number(name, default, top):
            raw = query.get(name, [str(default)])[0]
            if not raw.isdigit() or int(raw) > top:
                raise BadRequest(f"{name} must be an integer from 0 to {top}")
            return int(raw)

        n = number("n", 5, MAX_EVENTS)
        delay = number("delay_ms", 200, MAX_DELAY_MS) / 1000.0
        chunked = self.request_version == "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        # HTTP/1.0 has no chunked encoding: there the body ends when the connection does.
        if not chunked or STOPPING.is_set():
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        if self.command == "HEAD":
            return
        for i in range(1, n + 1):
            time.sleep(delay)
            event = f"data: token-{i}\n\n".encode()
            if chunked:
                event = b"%x\r\n%s\r\n" % (len(event), event)
            self.wfile.write(event)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def log_request(self, code="-", size="-"):
        if ACCESS_LOG:
            super().log_request(code, size)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the client went away or idled out
        super().handle_error(request, client_address)


def main():
    port = int(env_number("PORT", 8000, int))
    host = os.environ.get("HOST", "0.0.0.0")
    grace = env_number("SHUTDOWN_TIMEOUT", 8.0)

    server = Server((host, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: STOPPING.set())
    signal.signal(signal.SIGINT, lambda *_: STOPPING.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     name="accept", daemon=True).start()
    log(f"listening on http://{host}:{port}")

    while not STOPPING.wait(0.5):
        pass
    log("signal received: no new connections, finishing requests in flight")
    server.shutdown()      # the accept loop ends
    server.socket.close()  # and no new connection is queued
    if IN_FLIGHT.wait_idle(grace):
        log("stopped")
    else:
        log(f"stopped with {IN_FLIGHT.count} request(s) still in flight after {grace:g}s")
    sys.stdout.flush()
    os._exit(0)  # daemon threads idling on keep-alive connections end with the process


if __name__ == "__main__":
    main()
