"""The static portal as CloudFront serves it: the files of `portal/` with the response headers of
the template's `PortalHeaders` policy, and a `config.json` made from the running stack instead of
the one `scripts/portal-config` writes after a deploy (the file on disk is never touched)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
    ".png": "image/png", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
}


def content_security_policy(connect: list[str], form_action: list[str]) -> str:
    """The portal's policy. The template's has the same directives with AWS hostnames where this
    has local origins (tests/template checks that they agree)."""
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "connect-src " + " ".join(["'self'", *connect]),
        "form-action " + " ".join(["'self'", *form_action]),
        "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
    ])


def portal_handler(root: Path, config: dict, csp: str):
    root = root.resolve()
    config_body = json.dumps(config, indent=2).encode()

    class Portal(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            # The sign-in callback's query string holds the authorization code: log the path only.
            print(f"portal {self.command} {urlsplit(self.path).path}", flush=True)

        def _send(self, status: int, body: bytes, content_type: str):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Security-Policy", csp)
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            path = urlsplit(self.path).path
            if path == "/config.json":
                return self._send(200, config_body, CONTENT_TYPES[".json"])
            target = (root / (path.lstrip("/") or "index.html")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if root not in target.parents or not target.is_file():
                return self._send(404, b"Not Found", CONTENT_TYPES[".txt"])
            self._send(200, target.read_bytes(), CONTENT_TYPES.get(target.suffix, "application/octet-stream"))

        do_HEAD = do_GET

    return Portal


class PortalSite:
    """The portal on its port (0: a free one), served from a thread. The port is bound at once, so
    its origin is known before the API's CORS and the sign-in's redirect URI are set up with it."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.serving = False

    def start(self, config: dict, csp: str) -> "PortalSite":
        self.server.RequestHandlerClass = portal_handler(self.root, config, csp)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.serving = True
        return self

    def stop(self):
        if self.serving:
            self.server.shutdown()
        self.server.server_close()
