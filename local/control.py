"""JSON in and out for the stand-in's control endpoints (`/_faults`, `/_lambdas`, ...) on
127.0.0.1: the server's side (a body that is not a JSON object is a ValueError, which the page
server answers 400) and the local stack's side (`post`)."""

from __future__ import annotations

import json
import urllib.request

from werkzeug.wrappers import Request, Response


def json_response(status: int, value) -> Response:
    return Response(json.dumps(value), status, {"Cache-Control": "no-store"}, content_type="application/json")


def json_body(request: Request) -> dict:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def post(url: str, body: dict, timeout: float = 10):
    """POSTs `body` as JSON to a control endpoint; its JSON answer (None when empty). An error
    status raises urllib's HTTPError."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read()
    return json.loads(text) if text else None
