"""A one-shot HTTP listener on the loopback interface that catches a login's redirect (RFC 8252
section 7.3), for the browser login of a notebook whose browser runs on the same machine."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..._events import register_secret

__all__ = ["LOOPBACK_HOSTS", "Loopback"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_DONE_PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>integkit</title></head>"
              b"<body style='font-family:sans-serif'><h2>Login complete</h2>"
              b"<p>You can close this tab and return to your notebook.</p></body></html>")
_FAILED_PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>integkit</title>"
                b"</head><body style='font-family:sans-serif'><h2>Login failed</h2>"
                b"<p>Return to your notebook for the details.</p></body></html>")


class Loopback:
    """Listens on ``host:port`` (0: a free port) for one redirect to ``path`` carrying a
    ``code`` or an ``error``; ``redirect_uri`` is the URL to send the login back to.

    >>> with Loopback("127.0.0.1", 0, "/callback") as listener:    # doctest: +SKIP
    ...     url = listener.wait(300)                            # the redirected URL, or None
    """

    def __init__(self, host: str, port: int, path: str) -> None:
        self.path = path
        self.url: str | None = None
        self.event = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                if parts.path != listener.path or not ("code" in params or "error" in params):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                for code in params.get("code", []):
                    register_secret(code)
                body = _FAILED_PAGE if "error" in params else _DONE_PAGE
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if listener.url is None:
                    listener.url = f"{listener.redirect_uri}?{parts.query}"
                    listener.event.set()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the URL carries the authorization code: never log it

        self.server = HTTPServer((host, port), Handler)
        self.redirect_uri = f"http://{host}:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       name="integkit-oauth-loopback", daemon=True)

    def wait(self, timeout: float) -> str | None:
        """The redirected URL, or None after ``timeout`` seconds (Ctrl-C interrupts)."""
        deadline = time.monotonic() + timeout
        while not self.event.wait(0.1):
            if time.monotonic() > deadline:
                return None
        return self.url

    def __enter__(self) -> Loopback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
