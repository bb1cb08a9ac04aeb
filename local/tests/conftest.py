"""Fixtures shared by the e2e, fault, portal and stand-in tests: a whole local stack (`local.stack`)
on free ports, one per test module that asks for it, stopped when the module is done. A module
never stops a stack another module uses, so each passes alone and in any order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local.stack import ROOT, free_port, token

BINARY = os.environ.get("NOTEBOOK_GATE_BINARY", str(ROOT / "target/release/notebook-gate"))


class Stack:
    def __init__(self, tmp: Path, *args: str):
        self.log = tmp / "function.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.stack", "--binary", BINARY, "--port", str(free_port()), "--portal-port", "0",
             "--state", str(tmp / "stack.json"), "--function-log", str(self.log), *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.output: list[str] = []
        deadline = time.time() + 90
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("ready "):
                self.state = json.loads(line[len("ready "):])
                return
        self.stop()
        raise RuntimeError("stack did not start:\n" + "".join(self.output))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def token(self, user: str, kind: str = "AccessToken") -> str:
        return token(self.state["moto"], self.state["client_id"], user, kind)

    def get(self, path: str, token: str | None = None, accept: str = "application/json", base: str | None = None):
        request = urllib.request.Request((base or self.state["gateway"]) + path, headers={"Accept": accept})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def page(self, url: str):
        """Opens a presigned URL on the stand-in notebook page, as the browser would."""
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def control(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.state["page"] + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return json.loads(text) if text else None


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
