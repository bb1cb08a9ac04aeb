"""Faults, end to end: SageMaker throttling, 5xx, slow answers and dropped connections injected in
the stand-in (and the Tagging API's GetResources, which /targets starts from, throttled or failing),
through the local API Gateway and the real release binary. The gate answers 429 / 502 / 504 within
its documented bound (the SDK's 8 s operation timeout, under the 10 s request deadline, under the
15 s Lambda timeout), never echoes SageMaker's text, and serves the next request from the same
process. Also: what a panic in one request does to the next."""

from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path

import pytest

from local.emulation import function_command
from local.gateway import FunctionHost, http_api_event
from local.stack import ROOT


# The SDK's operation timeout is 8 s and the request deadline 10 s; allow the harness a little.
ANSWER_BOUND_SECONDS = 10.5
# scripts/test-artifact names the probe built as the artifact is (aarch64, cargo lambda + zig).
PANIC_PROBE = Path(os.environ.get("NOTEBOOK_GATE_PANIC_PROBE", ROOT / "target/release/examples/panic_probe"))


# (operation, fault, route, status, error code, Retry-After)
FAULTS = [
    ("DescribeNotebookInstance", "throttle", "/notebook-instances/alice-analysis", 429, "throttled", "2"),
    ("ListTags", "error", "/notebook-instances/alice-analysis", 502, "upstream_error", None),
    ("CreatePresignedNotebookInstanceUrl", "slow", "/notebook-instances/alice-analysis", 504, "upstream_timeout", None),
    ("DescribeNotebookInstance", "drop", "/notebook-instances/alice-analysis", 502, "upstream_error", None),
    ("GetResources", "throttle", "/targets", 429, "throttled", "2"),  # the Tagging API, as SageMaker
    ("GetResources", "error", "/targets", 502, "upstream_error", None),
    ("CreatePresignedDomainUrl", "error", "/studio", 502, "upstream_error", None),
    ("ListSpaces", "drop", "/targets", 502, "upstream_error", None),
]


@pytest.mark.parametrize("operation,fault,route,status,code,retry_after", FAULTS,
                         ids=[f"{f[1]}-{f[0]}" for f in FAULTS])
def test_a_sagemaker_fault_gets_a_bounded_clear_answer_and_the_next_request_works(
        stack, operation, fault, route, status, code, retry_after):
    alice = stack.token("alice")
    # Enough faulty answers to outlast the SDK's retries; slow answers outlast the attempt timeout.
    stack.control("POST", "/_faults", {"operation": operation, "fault": fault, "count": 10, "seconds": 6})
    started = time.monotonic()
    answer, headers, body = stack.get(route, alice)
    elapsed = time.monotonic() - started
    stack.control("DELETE", "/_faults")

    assert answer == status, body
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert "injected" not in body and "Exception" not in body, "SageMaker's own text reached the caller"
    assert headers.get("Retry-After") == retry_after
    assert elapsed < ANSWER_BOUND_SECONDS, f"{fault} on {operation} took {elapsed:.1f} s"

    # The same process serves the next request (the stack stops if the function process exits).
    answer, _, body = stack.get(route, alice)
    assert answer == 200, body


def test_the_function_neither_panicked_nor_restarted_nor_leaked_under_faults(stack):
    # Takes the three error paths itself (429, 502, 504), so it holds in any order and alone.
    alice = stack.token("alice")
    for operation, fault, status in [("DescribeNotebookInstance", "throttle", 429), ("ListTags", "error", 502),
                                     ("CreatePresignedNotebookInstanceUrl", "slow", 504)]:
        stack.control("POST", "/_faults", {"operation": operation, "fault": fault, "count": 10, "seconds": 6})
        try:
            assert stack.get("/notebook-instances/alice-analysis", alice)[0] == status, (operation, fault)
        finally:
            stack.control("DELETE", "/_faults")
    assert stack.get("/targets", stack.token("bob"))[0] == 200
    assert stack.get("/launch/notebook-instances/alice-analysis?access_token=" + alice)[0] == 302
    log = stack.log.read_text()
    assert "panicked" not in log
    assert stack.process.poll() is None
    assert '"status":429' in log and '"status":502' in log and '"status":504' in log
    for secret in (alice, "authToken", "access_token", "Bearer", "eyJ"):
        assert secret not in log, "a token or presigned URL reached the function's output"


def test_a_raw_query_a_uri_may_not_hold_is_answered_by_the_real_binary(stack):
    """Clients send `"`, `<`, `{`, `|` unencoded and API Gateway passes them on in rawQueryString;
    lambda_http alone panics on them (a 502), src/event.rs repairs them first."""
    host, port = stack.state["gateway"].removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {stack.token('alice')}", "Accept": "application/json"}
    for target, status in [('/targets?note="<x>{y}|^`', 200), ('/studio?space="alice-private"', 400)]:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
        assert response.status == status, body
    assert "panicked" not in stack.log.read_text()


def _get(host: FunctionHost, path: str) -> dict:
    return host.function.invoke(http_api_event("GET", path, [], {"Host": "local"}, "127.0.0.1", None))


def test_a_panic_fails_one_request_and_the_process_serves_the_next(tmp_path):
    """Cargo.toml keeps `panic = "unwind"`: lambda_runtime reports the panicking invocation as an
    error and the warm process goes on. With `panic = "abort"` this test fails: the process dies."""
    assert PANIC_PROBE.exists(), "scripts/test builds the examples in the release profile"
    host = FunctionHost(function_command(PANIC_PROBE), {}, tmp_path / "probe.log").start()
    try:
        pid = host.function.process.pid
        assert _get(host, "/ok")["body"] == str(pid)
        with pytest.raises(RuntimeError):
            _get(host, "/panic")
        assert "a bug in one request" in (tmp_path / "probe.log").read_text()
        after = _get(host, "/ok")
        assert after["statusCode"] == 200
        assert after["body"] == str(pid), "the same process answered"
        assert host.function.process.poll() is None
    finally:
        host.stop()
