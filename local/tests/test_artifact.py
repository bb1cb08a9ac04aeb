"""What a built artifact must show beyond test_e2e.py and test_faults.py, which scripts/test-artifact
runs with it (the arm64 `bootstrap` `sam build` makes, under qemu-aarch64): that the process
answering is that binary and no other, and the answers the browser-only portal tests would
otherwise be the only ones to see (CORS preflight and headers), the method refusal and the
refusal of a malformed name. The preflight and the method refusal go through the REST API stack,
which passes them to the function (the HTTP API answers both itself). Cheap enough to run in the
native suite too."""

from __future__ import annotations

import json
import platform
import urllib.error
import urllib.request
from pathlib import Path

from local.emulation import elf_machine
from local.tests.conftest import BINARY


def test_the_function_process_is_the_binary_under_test(stack):
    """NOTEBOOK_GATE_BINARY names the binary; one built for another CPU runs under qemu-user. A
    stale native build in its place would make the arm64 run prove nothing."""
    pid = stack.state["function"]["pid"]
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    executable = Path(f"/proc/{pid}/exe").resolve()
    binary = Path(BINARY).resolve()
    assert Path(argv[-1].decode()).resolve() == binary
    machine = elf_machine(binary)
    if machine == platform.machine():
        assert executable == binary
    else:
        assert executable.name == f"qemu-{machine}", executable
    assert stack.get("/targets", stack.token("alice"))[0] == 200
    assert stack.process.poll() is None


def _preflight(stack, path: str, origin: str):
    request = urllib.request.Request(stack.state["gateway"] + path, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers


def test_the_portal_origin_gets_cors_answers_and_another_origin_does_not(stack, rest_stack):
    # The function's own preflight answer: the REST API stack passes OPTIONS to it (on the HTTP API,
    # API Gateway answers it from CorsConfiguration: test_gateway_routes.py).
    portal = rest_stack.state["portal"]
    for path in ("/targets", "/studio", "/notebook-instances/alice-analysis"):
        status, headers = _preflight(rest_stack, path, portal)
        assert status == 204, path
        assert headers["Access-Control-Allow-Origin"] == portal
        assert headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
        assert "authorization" in headers["Access-Control-Allow-Headers"]
    status, headers = _preflight(rest_stack, "/targets", "https://elsewhere.example")
    assert status == 204 and "Access-Control-Allow-Origin" not in headers

    portal = stack.state["portal"]
    alice = stack.token("alice")
    status, headers, body = stack.get("/targets", alice, headers={"Origin": portal})
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == portal
    assert headers["Vary"] == "Origin"
    status, headers, _ = stack.get("/targets", alice, headers={"Origin": "https://elsewhere.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_a_state_change_is_refused_and_a_malformed_name_is_a_clear_400(stack, rest_stack):
    # The REST API stack passes every method to the function (the HTTP API has no POST route here:
    # API Gateway's 404).
    request = urllib.request.Request(rest_stack.state["gateway"] + "/notebook-instances/alice-analysis",
                                     method="POST", data=b"{}",
                                     headers={"Authorization": f"Bearer {rest_stack.token('alice')}"})
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("a POST was answered 2xx")
    except urllib.error.HTTPError as error:
        assert error.code == 405
        assert error.headers["Allow"] == "GET, OPTIONS"
        assert json.loads(error.read())["error"]["code"] == "method_not_allowed"

    alice = stack.token("alice")
    stack.control("DELETE", "/_calls")
    status, _, body = stack.get("/notebook-instances/-bad-name-", alice)
    assert status == 400, body
    assert json.loads(body)["error"]["code"] == "invalid_request"
    assert stack.control("GET", "/_calls") == [], "a malformed name reached SageMaker"
