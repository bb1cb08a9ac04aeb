"""scripts/verify-deployment against the local stack: a sound deployment passes every check, and a
broken one (the Tagging API refusing or failing, a notebook that cannot be described, a target not
the person's, a portal served without its headers on an origin the API's CORS does not name, a
preflight refused on an ANY route) fails the right check, with what to do, and exits 1. Nothing it
prints holds a token or a presigned URL."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from local import verify
from local.stack import ROOT
from local.tests.conftest import module_stack

SCRIPT = ROOT / "scripts" / "verify-deployment"
# URLs open only from people's range (and the function's NAT): so the script shows them refused
# from outside and opened from inside. 127.0.0.0/8 is where the script calls the gate from.
verify_stack = module_stack("verify_stack", "--param", "AllowedSourceCidrs=10.0.0.0/8,127.0.0.0/8",
                            "--param", "FunctionEgressCidrs=198.51.100.10/32",
                            "--param", "SubnetIds=subnet-0abc1234", "--param", "SecurityGroupIds=sg-0abc1234")
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.")


def run(tmp_path, state: dict, *args: str) -> tuple[int, str]:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(state))
    done = subprocess.run([str(SCRIPT), "--local", str(path), *args], capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert not JWT.search(output), "a token in the output"
    assert "authToken" not in output and "token=" not in output, "a presigned URL in the output"
    return done.returncode, output


def lines(output: str, outcome: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(outcome + "  ")]


def targets(stack) -> tuple[str, ...]:
    return ("--notebook-instance", "alice-analysis", "--studio-profile", "alice",
            "--mlflow-tracking-server", "alice-mlflow", "--mlflow-app", stack.state["mlflow_apps"]["alice-app"])


def test_a_sound_deployment_passes_every_check(verify_stack, tmp_path):
    status, output = run(tmp_path, verify_stack.state, *targets(verify_stack))
    assert status == 0, output
    assert not lines(output, "FAIL"), output
    passed = "\n".join(lines(output, "PASS"))
    for check in ("portal headers", "portal Content-Security-Policy", "portal deploy-time policy",
                  "portal config.json", "CORS refuses another origin", "no token refused", "ID token refused",
                  "access token accepted", "/targets"):
        assert f"PASS  {check}:" in passed, check
    routes = verify.template_routes()
    assert len(routes) >= 12
    for method, path in routes:
        assert f"PASS  CORS preflight {method} {path}:" in passed
    for target in ("notebook instance alice-analysis", "Studio profile alice", "MLflow tracking server alice-mlflow",
                   f"MLflow app {verify_stack.state['mlflow_apps']['alice-app']}"):
        assert f"PASS  open {target}: presigned for 127.0.0.1" in passed, target
        assert f"PASS  use {target}'s URL from outside: from 203.0.113.77: refused (403)" in passed, target
        assert f"PASS  use {target}'s URL from inside: from 10.0.0.1: opened (200)" in passed, target
    assert "opened alice-analysis" in passed and "opened alice-mlflow" in passed
    assert output.rstrip().endswith("0 failed, 0 skipped"), output


def test_the_role_refusing_tag_get_resources_fails_the_targets_check(verify_stack, tmp_path):
    """GET /targets starts from the Tagging API's GetResources: a role without the template's
    FindTaggedTargets statement fails the check, and the function's log names the refused action."""
    settings = verify_stack.control("GET", "/_iam")
    kept = {k: settings[k] for k in ("accessKeyId", "roleArn", "policies", "source")}
    without = [{**p, "policy": {**p["policy"], "Statement": [s for s in p["policy"]["Statement"]
                                                             if s.get("Sid") != "FindTaggedTargets"]}}
               for p in settings["policies"]]
    assert without != settings["policies"]  # the template's statement is the one taken away
    verify_stack.control("POST", "/_iam", {**kept, "policies": without})
    try:
        status, output = run(tmp_path, verify_stack.state)
    finally:
        verify_stack.control("POST", "/_iam", kept)
    assert status == 1
    failed = lines(output, "FAIL")
    assert failed == ["FAIL  access token accepted: GET /targets: 502 upstream_error"], output
    assert ("what to do: SageMaker (or, for GET /targets, the Tagging API's GetResources) refused or failed the "
            "function: its log (FunctionName output) names the refused action") in output
    assert "SKIP  open: no target named" in output
    assert "denied tag:GetResources" in verify_stack.log.read_text()


def test_the_tagging_api_failing_fails_the_targets_check(verify_stack, tmp_path):
    verify_stack.control("POST", "/_faults", {"operation": "GetResources", "fault": "error", "count": 100})
    try:
        status, output = run(tmp_path, verify_stack.state)
    finally:
        verify_stack.control("DELETE", "/_faults")
    assert status == 1
    assert lines(output, "FAIL") == ["FAIL  access token accepted: GET /targets: 502 upstream_error"], output


def test_a_notebook_that_cannot_be_described_fails_the_targets_check_with_what_to_do(verify_stack, tmp_path):
    verify_stack.control("POST", "/_faults", {"operation": "DescribeNotebookInstance", "fault": "error",
                                              "count": 100, "match": "alice-gpu"})
    try:
        status, output = run(tmp_path, verify_stack.state)
    finally:
        verify_stack.control("DELETE", "/_faults")
    assert status == 1
    (failed,) = lines(output, "FAIL")
    assert failed.startswith("FAIL  /targets: ") and failed.endswith("; some could not be checked"), output
    assert "PASS  access token accepted: GET /targets: 200" in output
    assert "the role's read-notebooks-and-studio policy must allow those Describe calls" in output


def test_a_target_not_tagged_for_the_person_fails_its_open(verify_stack, tmp_path):
    status, output = run(tmp_path, verify_stack.state, "--notebook-instance", "bob-reports",
                         "--mlflow-tracking-server", "untagged-mlflow")
    assert status == 1
    assert lines(output, "FAIL") == [
        "FAIL  open notebook instance bob-reports: GET /notebook-instances/bob-reports: 404 not_found",
        "FAIL  open MLflow tracking server untagged-mlflow: GET /mlflow/tracking-servers/untagged-mlflow: 404 not_found",
    ], output
    sub = verify_stack.state["subs"]["alice"]
    assert f"what to do: its owner tag must be the test person's sub ({sub})" in output


class _StrippingProxy(http.server.BaseHTTPRequestHandler):
    """The portal behind a CDN that drops X-Frame-Options and lets it be framed: a broken PortalHeaders."""

    upstream = ""

    def do_GET(self):
        try:
            with urllib.request.urlopen(self.upstream + self.path, timeout=10) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() == "content-security-policy":
                value = value.replace("frame-ancestors 'none'", "frame-ancestors *")
            if key.lower() not in ("x-frame-options", "content-length", "connection", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stripping_proxy(verify_stack):
    handler = type("Proxy", (_StrippingProxy,), {"upstream": verify_stack.state["portal"]})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_portal_without_its_headers_on_an_origin_cors_does_not_name_is_caught(verify_stack, stripping_proxy,
                                                                                tmp_path):
    status, output = run(tmp_path, {**verify_stack.state, "portal": stripping_proxy})
    assert status == 1
    failed = lines(output, "FAIL")
    assert "FAIL  portal headers: x-frame-options: (missing)" in failed, output
    assert "FAIL  portal Content-Security-Policy: frame-ancestors is not 'none'" in failed, output
    preflights = [line for line in failed if line.startswith("FAIL  CORS preflight ")]
    assert len(preflights) == len(verify.template_routes()), output
    assert "FAIL  CORS preflight GET /targets: 204, Access-Control-Allow-Origin (none)" in failed
    assert f"must allow exactly the portal's origin {stripping_proxy}" in output
    # What does not depend on the portal's origin still passes.
    assert "PASS  access token accepted: GET /targets: 200" in output
    assert "PASS  CORS refuses another origin" in output


def serve(handler) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def deployment(api: str = "http://127.0.0.1:9", **parameters) -> verify.Deployment:
    """A deployed stack as DescribeStacks would describe it (no local state: no X-Local-* headers)."""
    return verify.Deployment(name="stub", api=api, portal="https://portal.example", login="", pool_id="",
                             client_id="", region="us-east-1", private=False, parameters=parameters)


class _RefusingPreflights(http.server.BaseHTTPRequestHandler):
    """An HTTP API whose ANY route takes the preflight to its authorizer: 401, no CORS headers."""

    def do_OPTIONS(self):
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"message":"Unauthorized"}')

    def log_message(self, *args):
        pass


def test_a_preflight_refused_on_an_any_route_says_to_declare_its_method(capsys):
    server = serve(_RefusingPreflights)
    try:
        report = verify.Report()
        verify.check_preflights(deployment(f"http://127.0.0.1:{server.server_address[1]}"), report,
                                [("ANY", "/notebook-instances/{name}/start")])
    finally:
        server.shutdown()
        server.server_close()
    output = capsys.readouterr().out
    assert report.counts["FAIL"] == 1
    assert "FAIL  CORS preflight ANY /notebook-instances/{name}/start: 401, Access-Control-Allow-Origin (none)" in output
    assert "declare the route's method (POST) in template.yaml instead of ANY" in output


class _SageMakerPage(http.server.BaseHTTPRequestHandler):
    """A presigned URL's host: it redirects into Jupyter, wherever the request comes from."""

    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", "/tree")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("network, outcome", [("inside", "PASS"), ("outside", "FAIL")])
def test_deployed_a_url_is_used_from_where_the_script_runs_and_judged_by_network(capsys, network, outcome):
    server = serve(_SageMakerPage)
    try:
        report = verify.Report()
        target = verify.Target("notebook instance jane-nb", "/notebook-instances/jane-nb", "jane-nb")
        url = f"http://127.0.0.1:{server.server_address[1]}/notebook?authToken=secret"
        verify.check_url_use(deployment(AllowedSourceCidrs="198.51.100.0/24"), report, target, url, network)
    finally:
        server.shutdown()
        server.server_close()
    output = capsys.readouterr().out
    assert f"{outcome}  use notebook instance jane-nb's URL from {network}: 127.0.0.1 from this machine: " \
           "opened (302)" in output
    assert ("a URL opened outside the allowed networks" in output) == (network == "outside")
    assert "secret" not in output
