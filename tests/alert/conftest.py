"""Real HTTP receivers on 127.0.0.1 for webhook tests: a well-behaved one, one that never
answers, and one that trickles its response a byte at a time."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    def __init__(self):
        self.bodies = []
        self.requests = 0
        self.statuses = []  # scripted statuses, one per request; then ``status``
        self.status = 200
        self.retry_after = None
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                receiver.requests += 1
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
                if status == 200:
                    receiver.bodies.append(body)
                self.send_response(status)
                if receiver.retry_after is not None and status != 200:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Stalling:
    """Accepts connections and then either says nothing (``trickle=False``) or sends a valid
    response's first bytes one at a time every 0.2 s, never finishing it. ``accepted`` is set
    once a request has arrived."""

    def __init__(self, trickle):
        self.trickle = trickle
        self.accepted = threading.Event()
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _serve(self):
        conns = []
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conns.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()
        for conn in conns:
            conn.close()

    def _talk(self, conn):
        conn.recv(65536)
        self.accepted.set()
        if not self.trickle:
            self.stop.wait()
            return
        prefix = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 100_000
        for byte in prefix:
            if self.stop.wait(0.2):
                return
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def silent():
    s = Stalling(trickle=False)
    yield s
    s.close()


@pytest.fixture
def trickler():
    s = Stalling(trickle=True)
    yield s
    s.close()
