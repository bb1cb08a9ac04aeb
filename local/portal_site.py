"""The static portal as CloudFront serves it: the files of `portal/` with the response headers of
the template's `PortalHeaders` policy, and a `config.json` made from the running stack instead of
the one `scripts/portal-config` writes after a deploy (the file on disk is never touched)."""

from __future__ import annotations

import json
from pathlib import Path

from werkzeug.wrappers import Request, Response

from local.serve import Server

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


def portal_app(root: Path, config: dict, csp: str):
    root = root.resolve()
    config_body = json.dumps(config, indent=2).encode()
    headers = {
        "Cache-Control": "no-cache", "Content-Security-Policy": csp, "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
    }

    def answer(status: int, body: bytes, content_type: str) -> Response:
        return Response(body, status, headers={**headers, "Content-Type": content_type})

    @Request.application
    def app(request: Request) -> Response:
        # The sign-in callback's query string holds the authorization code: log the path only.
        print(f"portal {request.method} {request.path}", flush=True)
        if request.method not in ("GET", "HEAD"):
            return answer(405, b"Method Not Allowed", CONTENT_TYPES[".txt"])
        if request.path == "/config.json":
            return answer(200, config_body, CONTENT_TYPES[".json"])
        target = (root / (request.path.lstrip("/") or "index.html")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if root not in target.parents or not target.is_file():
            return answer(404, b"Not Found", CONTENT_TYPES[".txt"])
        return answer(200, target.read_bytes(), CONTENT_TYPES.get(target.suffix, "application/octet-stream"))

    return app


class PortalSite(Server):
    """The portal on its port (0: a free one). The port is bound at once, so its origin is known
    before the API's CORS and the sign-in's redirect URI are set up with it; `start` then serves
    the files with the stack's configuration."""

    def __init__(self, root: Path, port: int):
        super().__init__(None, port)  # nothing is served before start() sets the app
        self.root = root

    def start(self, config: dict, csp: str) -> "PortalSite":
        self.app = portal_app(self.root, config, csp)
        return super().start()
