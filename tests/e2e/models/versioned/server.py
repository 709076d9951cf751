#!/usr/bin/env python3
"""A model that says which version it is, for the traffic tests (standard library only).

Every answer carries `X-Model-Version: $VERSION` and `X-Replica: <hostname>`.
GET|POST /any/path?ms=N  -> 200 {"version", "replica", "inflight"} after N ms (default 0);
                            inflight counts the requests in progress here, this one included
POST /drop               -> counts the POST, then closes the connection without an answer
GET  /hang?ms=N          -> waits N ms; if the client's connection closes meanwhile, counts
                            it as cancelled and stops at once (a generation the client left)
GET  /stats              -> {"posts_dropped", "cancelled", "max_inflight"} of this replica
GET  /healthz            -> 200 ok
Env DELAY_MS=N adds N ms to every model answer, and STATUS=C answers them with C:
a slow or failing version (the candidate of a mirror, a bad canary).
Env ERROR_PERCENT=P answers about P% of the model answers with 500 instead (a
version with an error rate).
"""
import json
import os
import random
import select
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

VERSION = os.environ.get("VERSION", "unknown")
DELAY_MS = int(os.environ.get("DELAY_MS", "0"))
STATUS = int(os.environ.get("STATUS", "200"))
ERROR_PERCENT = float(os.environ.get("ERROR_PERCENT", "0"))
HOSTNAME = socket.gethostname()
LOCK = threading.Lock()
STATS = {"posts_dropped": 0, "cancelled": 0, "max_inflight": 0}
INFLIGHT = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "versioned/1"
    sys_version = ""

    def log_message(self, *args):
        pass

    def answer(self, code, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("X-Model-Version", VERSION)
        self.send_header("X-Replica", HOSTNAME)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def client_gone(self):
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def handle_any(self):
        global INFLIGHT
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        ms = int(query.get("ms", ["0"])[0]) + DELAY_MS
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if url.path == "/healthz":
            return self.answer(200, {"ok": True})
        if url.path == "/stats":
            with LOCK:
                return self.answer(200, dict(STATS))
        if url.path == "/drop" and self.command == "POST":
            with LOCK:
                STATS["posts_dropped"] += 1
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        with LOCK:
            INFLIGHT += 1
            now = INFLIGHT
            STATS["max_inflight"] = max(STATS["max_inflight"], now)
        try:
            if url.path == "/hang":
                deadline = time.monotonic() + ms / 1000
                while time.monotonic() < deadline:
                    if self.client_gone():
                        with LOCK:
                            STATS["cancelled"] += 1
                        self.close_connection = True
                        return
                    time.sleep(0.05)
            elif ms:
                time.sleep(ms / 1000)
            failed = ERROR_PERCENT and random.random() * 100 < ERROR_PERCENT
            self.answer(500 if failed else STATUS, {"version": VERSION, "replica": HOSTNAME, "inflight": now})
        finally:
            with LOCK:
                INFLIGHT -= 1

    do_GET = handle_any
    do_POST = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def serve():
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while not stopping.wait(0.5):
        pass
    server.shutdown()
    server.socket.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with LOCK:
            if INFLIGHT == 0:
                break
        time.sleep(0.05)


if __name__ == "__main__":
    serve()
