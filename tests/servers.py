"""Real local servers for notification tests: an SMTP server (aiosmtpd) and an HTTP server
that records what Slack webhooks and the PagerDuty Events API would receive. Both listen
on 127.0.0.1 in a thread of the test process; engines in other processes reach them too."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def smtp_server():
    """Yields (host:port, messages): each received message as an email.message.Message."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    messages: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            msg = message_from_bytes(envelope.original_content or envelope.content)
            msg["X-Rcpt-To"] = ", ".join(envelope.rcpt_tos)
            messages.append(msg)
            return "250 OK"

    with socket.socket() as probe:  # a free port (the controller's start-up check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"127.0.0.1:{port}", messages
    finally:
        controller.stop()


@contextmanager
def http_server():
    """Yields (base URL, requests): each POST as {"path", "headers", "json"}."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                payload = body.decode("utf-8", "replace")
            requests.append({"path": self.path, "headers": dict(self.headers), "json": payload})
            answer = b'{"status": "success", "message": "Event processed", "dedup_key": "x"}'
            self.send_response(202 if self.path.startswith("/v2/enqueue") else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def wait_for(items: list, count: int, seconds: float = 10.0) -> list:
    """``items`` once it has ``count`` entries (servers receive in their own threads)."""
    deadline = time.monotonic() + seconds
    while len(items) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return items
