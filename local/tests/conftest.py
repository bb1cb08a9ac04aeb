"""Fixtures shared by the local tests: a whole local stack (`local.stack`) on free ports, one per
test module that asks for it, stopped when the module is done. A module never stops a stack another
module uses, so each passes alone and in any order (scripts/test runs them shuffled).

- `stack`: the HTTP API (v2) stack; `rest_stack`: the REST API (v1) one with auto-start.
- `module_stack(name, *options)`: another module-scoped stack with `local.stack` options.
- `start_stack(*options)`: a stack of the test's own, stopped after the test (to read its log).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest
from moto.utilities.utils import load_resource

from local.serve import Child
from local.stack import ROOT, free_port, token

BINARY = os.environ.get("NOTEBOOK_GATE_BINARY", str(ROOT / "target/release/notebook-gate"))


class Stack:
    """A running `local.stack`: `state` is what it printed after `ready` (its URLs, ids, users)."""

    def __init__(self, tmp: Path, *args: str):
        self.log = tmp / "function.log"
        self.child = Child([sys.executable, "-m", "local.stack", "--binary", BINARY, "--port", str(free_port()),
                            "--portal-port", "0", "--state", str(tmp / "stack.json"), "--function-log",
                            str(self.log), *args])
        self.process = self.child.process
        self.state = json.loads(self.child.ready)

    @property
    def output(self) -> str:
        """What the stack printed so far (its last 2,000 lines)."""
        return self.child.text()

    def stop(self):
        self.child.stop()

    def token(self, user: str, kind: str = "AccessToken") -> str:
        return token(self.state["moto"], self.state["client_id"], user, kind)

    def mint(self, user: str = "alice", kind: str = "AccessToken", **claims) -> str:
        """`user`'s token with `claims` changed (None: removed), signed with the private key moto
        ships and signs every pool's tokens with: what anyone can do to the local stack."""
        original = self.token(user, kind)
        payload = {**jwt.decode(original, options={"verify_signature": False}), **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(original)["kid"]})

    def get(self, path: str, token: str | None = None, accept: str = "application/json", base: str | None = None,
            headers: dict | None = None):
        request = urllib.request.Request((base or self.state["gateway"]) + path, headers={"Accept": accept, **(headers or {})})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    @staticmethod
    def page(url: str):
        return open_page(url)

    def control(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.state["page"] + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return json.loads(text) if text else None


def open_page(url: str, **headers: str) -> tuple[int, dict]:
    """Opens a presigned URL on the stand-in notebook page, as the browser would: its status and
    what the page says it opened (or why it refused). `headers` may say where the browser is
    (`**{"X-Local-Source-Ip": "10.1.2.3"}` or `X-Local-Source-Vpce`), for the page's IAM check."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def module_stack(name: str, *args: str):
    """A fixture `name`: a module's own stack (`local.stack` options `args`), stopped after it."""

    @pytest.fixture(scope="module", name=name)
    def fixture(tmp_path_factory):
        s = Stack(tmp_path_factory.mktemp(name), *args)
        yield s
        s.stop()

    return fixture


# The HTTP API (v2) stack, and the REST API (v1) one with auto-start: each module gets its own.
stack = module_stack("stack")
rest_stack = module_stack("rest_stack", "--payload", "v1", "--auto-start")


@pytest.fixture
def start_stack(tmp_path):
    """Starts a stack of the test's own (`start_stack(*options)`); all are stopped after the test."""
    started: list[Stack] = []

    def start(*args: str) -> Stack:
        started.append(Stack(tmp_path / str(len(started)), *args))
        return started[-1]

    yield start
    for s in started:
        s.stop()
