"""JSON in and out for the stand-in's control endpoints (`/_faults`, `/_lambdas`, ...), which
tests call on 127.0.0.1: a body that is not a JSON object is a ValueError, which the page server
answers 400."""

from __future__ import annotations

import json

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
