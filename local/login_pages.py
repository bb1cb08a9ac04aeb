"""The HTML pages and redirects of the two sign-in stand-ins, managed login (`local/oidc.py`) and the
company identity provider (`local/company_idp.py`): no script, nothing cached, no referrer, and each
server's own Content-Security-Policy (which origins its sign-in form may post to and go on to)."""

from __future__ import annotations

import html

from werkzeug.wrappers import Response


def page(status: int, title: str, body: str, policy: str) -> Response:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main>{body}</main></body></html>"
    )
    return Response(document, status, content_type="text/html; charset=utf-8", headers={
        "Cache-Control": "no-store", "Content-Security-Policy": policy, "Referrer-Policy": "no-referrer",
    })


def redirect(location: str) -> Response:
    return Response("", 302, content_type="text/plain", headers={"Location": location, "Cache-Control": "no-store"})
