#!/usr/bin/env python3
"""A movie recommender service (Python standard library only).

GET /recommend/<user_id>  -> 200 text/plain "m1,m2,...,m10" for users 1..610,
                             404 for an unknown or non-numeric user.
                             Every such request sleeps LATENCY_MS to simulate the model.
GET /healthz              -> 200 "ok", at once.

Every response carries `X-Replica: <hostname>`. HTTP/1.1 with keep-alive.
SIGTERM (or SIGINT): stop accepting, finish the requests in flight, exit 0.

Environment: PORT (5000), HOST (0.0.0.0), LATENCY_MS (100), DATA_FILE
(data/recommendations.csv next to this file), ACCESS_LOG (0; 1 logs each request),
SHUTDOWN_TIMEOUT (8 seconds to wait for requests in flight),
KEEPALIVE_TIMEOUT (75 seconds before an idle connection is closed).
"""
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTNAME = socket.gethostname()


def log(msg):
    print(f"movie-recommender[{HOSTNAME}]: {msg}", file=sys.stderr, flush=True)


def env_number(name, default, kind=float):
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        sys.exit(f"movie-recommender: {name} must be a number, got {raw!r}")
    if value < 0:
        sys.exit(f"movie-recommender: {name} must not be negative, got {raw!r}")
    return value


def load_recommendations(path):
    table = {}
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                user, _, movies = line.strip().partition(",")
                if user:
                    table[int(user)] = movies
    except FileNotFoundError:
        sys.exit(f"movie-recommender: {path} not found; run `python3 generate_data.py` first")
    return table


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


LATENCY_S = env_number("LATENCY_MS", 100.0) / 1000.0
ACCESS_LOG = os.environ.get("ACCESS_LOG", "0").lower() in ("1", "true", "yes", "on")
RECOMMENDATIONS = {}
IN_FLIGHT = InFlight()
STOPPING = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second
    # waits for the balancer's delayed ACK (~40 ms) on a keep-alive connection.
    disable_nagle_algorithm = True
    server_version = "movie-recommender/1"
    sys_version = ""
    timeout = env_number("KEEPALIVE_TIMEOUT", 75.0) or None

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

    def reply(self, code, text, content_type="text/plain; charset=utf-8"):
        data = text.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_connection_header()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        with IN_FLIGHT:
            path = urlsplit(self.path).path
            if path == "/healthz":
                self.reply(200, "ok\n")
            elif path.startswith("/recommend/"):
                self.recommend(path[len("/recommend/"):])
            else:
                self.reply(404, f"not found: {path}\n")

    do_HEAD = do_GET

    def recommend(self, user):
        time.sleep(LATENCY_S)  # the "model"
        if not (user.isascii() and user.isdigit()):
            self.reply(404, f"unknown user: user id must be a number, got {user!r}\n")
            return
        movies = RECOMMENDATIONS.get(int(user))
        if movies is None:
            self.reply(404, f"unknown user: {int(user)}\n")
        else:
            self.reply(200, movies)

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
    global RECOMMENDATIONS
    port = int(env_number("PORT", 5000, int))
    host = os.environ.get("HOST", "0.0.0.0")
    data_file = os.environ.get("DATA_FILE") or os.path.join(HERE, "data", "recommendations.csv")
    grace = env_number("SHUTDOWN_TIMEOUT", 8.0)
    RECOMMENDATIONS = load_recommendations(data_file)

    server = Server((host, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: STOPPING.set())
    signal.signal(signal.SIGINT, lambda *_: STOPPING.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     name="accept", daemon=True).start()
    log(f"listening on http://{host}:{port} ({len(RECOMMENDATIONS)} users, "
        f"latency {LATENCY_S * 1000:g} ms)")

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
