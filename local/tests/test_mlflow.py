"""End to end for SageMaker managed MLflow: the local API Gateway, the real release
binary and the stand-in, under the IAM policy template.yaml gives each stack. Tracking servers and
MLflow apps are seeded by local/stack.py: alice-mlflow (running) and alice-mlflow-stopped for
alice, bob-mlflow, ml-team-mlflow (group tag), untagged-mlflow; apps alice-app, bob-app and
ml-team-app, whose ids SageMaker chooses (the stack's state gives them)."""

from __future__ import annotations

import json
import re

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from local.iam.stack import FUNCTION_ACCESS_KEY_ID
from local.tests.conftest import module_stack, open_page

# auto-start on, a tracking server takes 30 s (the stand-in's clock) to start.
auto_stack = module_stack("auto_stack", "--auto-start", "--mlflow-start-seconds", "30")
# The template's Mlflow parameter off: MLFLOW=false and no MLflow grant.
off_stack = module_stack("off_stack", "--param", "Mlflow=false")
# People's CIDRs (127.0.0.0/8: the gate checks the caller's own address) and the function's NAT.
cidr_stack = module_stack("cidr_stack", "--param", "AllowedSourceCidrs=127.0.0.0/8,10.0.0.0/8",
                          "--param", "FunctionEgressCidrs=203.0.113.10/32", "--param", "SubnetIds=subnet-0abc1234",
                          "--param", "SecurityGroupIds=sg-0abc1234")

INSUFFICIENT = (403, {"refused": "insufficient-permissions", "message": "Auth token containing insufficient permissions"})
SERVER_ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/"
APP_ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/"


def app_id(stack, name: str) -> str:
    return stack.state["mlflow_apps"][name]


def calls(stack, *operations: str) -> list[dict]:
    return [c for c in stack.control("GET", "/_calls") if not operations or c["operation"] in operations]


def without_request_id(body: str) -> dict:
    error = json.loads(body)["error"]
    return {k: v for k, v in error.items() if k != "requestId"}


def opened(stack, path: str, user: str = "alice") -> tuple[dict, dict]:
    """Opens `path` as JSON, then its URL on the stand-in page: (the gate's answer, the page's)."""
    status, headers, body = stack.get(path, stack.token(user))
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    answer = json.loads(body)
    status, page = open_page(answer["url"])
    assert status == 200, page
    return answer, page["opened"]


def test_targets_list_each_persons_tracking_servers_and_apps(stack):
    status, _, body = stack.get("/targets", stack.token("alice"))
    assert status == 200, body
    alice = json.loads(body)
    servers = {s["name"]: s for s in alice["mlflowTrackingServers"]}
    assert sorted(servers) == ["alice-mlflow", "alice-mlflow-stopped", "ml-team-mlflow"]
    assert servers["alice-mlflow"]["status"] == "Created" and servers["alice-mlflow-stopped"]["status"] == "Stopped"
    assert servers["alice-mlflow"]["mlflowVersion"] == "2.16.2"
    assert servers["alice-mlflow"]["open"] == "/mlflow/tracking-servers/alice-mlflow"
    assert servers["alice-mlflow"]["launch"] == "/launch/mlflow/tracking-servers/alice-mlflow"
    apps = {a["name"]: a for a in alice["mlflowApps"]}
    assert sorted(apps) == ["alice-app", "ml-team-app"]
    mine = app_id(stack, "alice-app")
    assert apps["alice-app"]["id"] == mine and apps["alice-app"]["status"] == "Created"
    assert apps["alice-app"]["open"] == f"/mlflow/apps/{mine}" and apps["alice-app"]["launch"] == f"/launch/mlflow/apps/{mine}"
    assert alice["someMlflowUnchecked"] is False

    bob = json.loads(stack.get("/targets", stack.token("bob"))[2])
    assert [s["name"] for s in bob["mlflowTrackingServers"]] == ["bob-mlflow"]
    assert [a["name"] for a in bob["mlflowApps"]] == ["bob-app"]


def test_the_list_describes_only_the_callers_tracking_servers_and_apps(stack):
    """The Tagging API's index finds alice's MLflow resources (her owner tag, her group's) beside
    her notebook instances; only those are described, nobody else's and nothing untagged, and
    neither kind is listed whole."""
    stack.control("DELETE", "/_calls")
    status, _, body = stack.get("/targets", stack.token("alice"))
    assert status == 200, body
    finds = calls(stack, "GetResources")
    assert finds and all(set(c["input"]["ResourceTypeFilters"]) >= {"sagemaker:mlflow-tracking-server",
                                                                    "sagemaker:mlflow-app"} for c in finds)
    servers = [c["input"]["TrackingServerName"] for c in calls(stack, "DescribeMlflowTrackingServer")]
    assert sorted(servers) == ["alice-mlflow", "alice-mlflow-stopped", "ml-team-mlflow"]
    apps = [c["input"]["Arn"] for c in calls(stack, "DescribeMlflowApp")]
    assert sorted(apps) == sorted(APP_ARN + app_id(stack, name) for name in ("alice-app", "ml-team-app"))
    assert calls(stack, "ListMlflowTrackingServers", "ListMlflowApps") == []
    assert not [c for c in calls(stack, "ListTags") if ":mlflow-" in c["input"]["ResourceArn"]]


def test_an_owned_tracking_server_and_app_open_as_json_and_as_a_redirect(stack):
    answer, page = opened(stack, "/mlflow/tracking-servers/alice-mlflow")
    assert answer["target"] == {"type": "mlflow-tracking-server", "name": "alice-mlflow"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", answer["expiresAt"])
    assert page == {**page, "kind": "mlflow-tracking-server", "name": "alice-mlflow", "arn": SERVER_ARN + "alice-mlflow"}

    mine = app_id(stack, "alice-app")
    answer, page = opened(stack, f"/mlflow/apps/{mine}")
    assert answer["target"] == {"type": "mlflow-app", "id": mine, "name": "alice-app"}
    assert page == {**page, "kind": "mlflow-app", "id": mine, "name": "alice-app", "arn": APP_ARN + mine}

    # The group's, through the group tag.
    assert opened(stack, "/mlflow/tracking-servers/ml-team-mlflow")[1]["name"] == "ml-team-mlflow"

    # A browser: 302 to the URL, from the header route and from the launch route's query token.
    for path, token in ((f"/mlflow/apps/{mine}", stack.token("alice")),
                        (f"/launch/mlflow/tracking-servers/alice-mlflow?access_token={stack.token('alice')}", None)):
        status, headers, _ = stack.get(path, token, accept="text/html")
        assert status == 302, path
        status, page = open_page(headers["Location"])
        assert status == 200 and page["opened"]["kind"] in ("mlflow-app", "mlflow-tracking-server")


def test_each_open_presigns_a_new_url_that_opens_once(stack):
    stack.control("DELETE", "/_calls")
    first = json.loads(stack.get("/mlflow/tracking-servers/alice-mlflow", stack.token("alice"))[2])["url"]
    second = json.loads(stack.get("/mlflow/tracking-servers/alice-mlflow", stack.token("alice"))[2])["url"]
    assert first != second
    assert len(calls(stack, "CreatePresignedMlflowTrackingServerUrl")) == 2
    for url in (first, second):
        assert open_page(url)[0] == 200
        assert open_page(url) == (403, {"refused": "replayed"})
    # The URL lives URL_EXPIRES_SECONDS (60 by default), within the API's 5-300.
    presign = calls(stack, "CreatePresignedMlflowTrackingServerUrl")[-1]["input"]
    assert presign["ExpiresInSeconds"] == 60 and presign["SessionExpirationDurationInSeconds"] == 43200

    mine = app_id(stack, "alice-app")
    url = json.loads(stack.get(f"/mlflow/apps/{mine}?session=1800", stack.token("alice"))[2])["url"]
    assert open_page(url)[1]["opened"]["session"] == 1800
    assert open_page(url) == (403, {"refused": "replayed"})


def test_someone_elses_a_missing_and_an_untagged_one_are_the_same_404_and_nothing_is_presigned(stack):
    stack.control("DELETE", "/_calls")
    token = stack.token("alice")
    bodies = []
    for path in ("/mlflow/tracking-servers/bob-mlflow", "/mlflow/tracking-servers/no-such-server",
                 "/mlflow/tracking-servers/untagged-mlflow", f"/mlflow/apps/{app_id(stack, 'bob-app')}",
                 "/mlflow/apps/app-nosuchapp123"):
        status, _, body = stack.get(path, token)
        assert status == 404, (path, body)
        bodies.append(without_request_id(body))
    assert all(b == bodies[0] for b in bodies) and bodies[0]["code"] == "not_found"
    assert calls(stack, "CreatePresignedMlflowTrackingServerUrl", "CreatePresignedMlflowAppUrl") == []
    # Names SageMaker would reject never reach it.
    for path in ("/mlflow/tracking-servers/bad_name", "/mlflow/apps/app%20x"):
        assert stack.get(path, token)[0] == 400, path


def test_a_stopped_tracking_server_is_409_without_auto_start_and_nothing_is_started(stack):
    stack.control("DELETE", "/_calls")
    status, _, body = stack.get("/mlflow/tracking-servers/alice-mlflow-stopped", stack.token("alice"))
    assert status == 409, body
    error = json.loads(body)["error"]
    assert error["code"] == "not_running" and "Stopped" in error["message"]
    assert calls(stack, "StartMlflowTrackingServer", "CreatePresignedMlflowTrackingServerUrl") == []


@pytest.mark.parametrize("kind, name, status, expected", [
    ("trackingServer", "alice-mlflow", "Updating", 202),
    ("trackingServer", "alice-mlflow", "MaintenanceInProgress", 202),
    ("trackingServer", "alice-mlflow", "MaintenanceComplete", 200),
    ("trackingServer", "alice-mlflow", "CreateFailed", 409),
    ("trackingServer", "alice-mlflow", "Stopping", 409),
    ("app", "alice-app", "Updating", 202),
    ("app", "alice-app", "Updated", 200),
    ("app", "alice-app", "Deleting", 409),
])
def test_each_state_answers_as_the_contract_says(stack, kind, name, status, expected):
    key = name if kind == "trackingServer" else app_id(stack, name)
    path = f"/mlflow/tracking-servers/{name}" if kind == "trackingServer" else f"/mlflow/apps/{key}"
    stack.control("POST", "/_mlflow", {kind: key, "status": status})
    try:
        answer_status, headers, body = stack.get(path, stack.token("alice"))
    finally:
        stack.control("POST", "/_mlflow", {kind: key, "status": "Created"})
    assert answer_status == expected, body
    if expected == 202:
        assert headers["Retry-After"] == "15"
    if expected == 409:
        assert status in json.loads(body)["error"]["message"]


def test_with_auto_start_a_stopped_tracking_server_is_started_then_opens(auto_stack):
    token = auto_stack.token("alice")
    auto_stack.control("DELETE", "/_calls")
    status, headers, body = auto_stack.get("/mlflow/tracking-servers/alice-mlflow-stopped", token)
    assert status == 202, body
    assert headers["Retry-After"] == "15"
    started = calls(auto_stack, "StartMlflowTrackingServer")
    assert [c["input"]["TrackingServerName"] for c in started] == ["alice-mlflow-stopped"]
    assert [c.get("iam") for c in started] == ["allowed"]  # the role grants it with AutoStart
    # Starting: the wait page for a browser, 202 again for JSON, and no second start.
    status, _, page = auto_stack.get("/launch/mlflow/tracking-servers/alice-mlflow-stopped?access_token=" + token,
                                     accept="text/html")
    assert status == 202 and "<meta http-equiv=\"refresh\"" in page.lower()
    assert auto_stack.get("/mlflow/tracking-servers/alice-mlflow-stopped", token)[0] == 202
    assert len(calls(auto_stack, "StartMlflowTrackingServer")) == 1
    auto_stack.control("POST", "/_clock", {"advance": 31})
    status, _, body = auto_stack.get("/mlflow/tracking-servers/alice-mlflow-stopped", token)
    assert status == 200, body
    assert open_page(json.loads(body)["url"])[1]["opened"]["name"] == "alice-mlflow-stopped"
    # Someone else's stopped server is never started: the same 404 as a missing one.
    auto_stack.control("DELETE", "/_calls")
    assert auto_stack.get("/mlflow/tracking-servers/alice-mlflow-stopped", auto_stack.token("bob"))[0] == 404
    assert calls(auto_stack, "StartMlflowTrackingServer") == []


def test_with_mlflow_off_the_routes_are_404_the_lists_empty_and_no_mlflow_call_is_made(off_stack):
    assert off_stack.state["iam"]["parameters"]["Mlflow"] == "false"
    off_stack.control("DELETE", "/_calls")
    token = off_stack.token("alice")
    missing = without_request_id(off_stack.get("/notebook-instances/no-such-notebook", token)[2])
    for path in ("/mlflow/tracking-servers/alice-mlflow", f"/mlflow/apps/{app_id(off_stack, 'alice-app')}"):
        status, _, body = off_stack.get(path, token)
        assert status == 404 and without_request_id(body) == missing, body
    targets = json.loads(off_stack.get("/targets", token)[2])
    assert targets["mlflowTrackingServers"] == [] and targets["mlflowApps"] == [] and targets["someMlflowUnchecked"] is False
    assert not [c for c in calls(off_stack) if "Mlflow" in c["operation"] or "mlflow" in json.dumps(c["input"])]


def test_an_mlflow_url_opens_only_from_the_allowed_networks(cidr_stack):
    cidr_stack.control("DELETE", "/_calls")
    for path in ("/mlflow/tracking-servers/alice-mlflow", f"/mlflow/apps/{app_id(cidr_stack, 'alice-app')}"):
        status, _, body = cidr_stack.get(path, cidr_stack.token("alice"))
        assert status == 200, body
        url = json.loads(body)["url"]
        assert open_page(url, **{"X-Local-Source-Ip": "192.0.2.44"}) == INSUFFICIENT
        assert open_page(url, **{"X-Local-Source-Vpce": "vpce-0ffffffffffffffff"}) == INSUFFICIENT
        # A refused use does not spend it: from the office it still opens, once.
        assert open_page(url, **{"X-Local-Source-Ip": "10.20.30.40"})[0] == 200
        assert open_page(url, **{"X-Local-Source-Ip": "10.20.30.40"}) == (403, {"refused": "replayed"})
    presigns = calls(cidr_stack, "CreatePresignedMlflowTrackingServerUrl", "CreatePresignedMlflowAppUrl")
    assert [c["iam"] for c in presigns] == ["allowed", "allowed"]  # from the function's NAT address


def test_each_use_is_authorized_as_the_mlflow_uis_requests_which_the_role_without_their_grants_refuses(stack):
    """The stand-in page authorizes a use as the MLflow UI's requests from the creating role (a
    tracking server's sagemaker-mlflow actions, an app's CallMlflowAppApi: local/iam/sagemaker.py).
    The role as the template had it before it granted them, presign only, makes URLs that open
    nothing: an MLflow page that refuses everything."""
    settings = stack.control("GET", "/_iam")
    ui = ("sagemaker-mlflow:", "sagemaker:CallMlflowAppApi")

    def actions(statement) -> list[str]:
        return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
    granted = {a for p in settings["policies"] for s in p["policy"]["Statement"] if s["Effect"] == "Allow"
               for a in actions(s)}
    assert {"sagemaker-mlflow:*", "sagemaker-mlflow:AccessUI", "sagemaker:CallMlflowAppApi"} <= granted
    presign_only = [{**p, "policy": {**p["policy"], "Statement": [
        {**s, "Action": [a for a in actions(s) if not a.startswith(ui)]} for s in p["policy"]["Statement"]
        if [a for a in actions(s) if not a.startswith(ui)]]}} for p in settings["policies"]]
    role = {k: settings[k] for k in ("accessKeyId", "roleArn", "source")}
    paths = ("/mlflow/tracking-servers/alice-mlflow", f"/mlflow/apps/{app_id(stack, 'alice-app')}",
             "/mlflow/tracking-servers/ml-team-mlflow")
    stack.control("POST", "/_iam", {**role, "policies": presign_only})
    try:
        for path in paths:
            status, _, body = stack.get(path, stack.token("alice"))
            assert status == 200, body  # presigning is still granted
            assert open_page(json.loads(body)["url"]) == INSUFFICIENT, path
    finally:
        stack.control("POST", "/_iam", {**role, "policies": settings["policies"]})
    for path in paths:
        assert opened(stack, path)[1]["arn"].endswith(path.rsplit("/", 1)[1])


def test_iam_refuses_untagged_mlflow_whatever_the_gate_does(stack):
    """The gate never asks for these; the role refuses them anyway, called as the function would."""
    sm = boto3.client("sagemaker", endpoint_url=stack.state["moto"], region_name="us-east-1",
                      aws_access_key_id=FUNCTION_ACCESS_KEY_ID, aws_secret_access_key="testing",
                      config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sm.create_presigned_mlflow_tracking_server_url(TrackingServerName="untagged-mlflow")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    # Without AutoStart the role cannot start even an owned tracking server.
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sm.start_mlflow_tracking_server(TrackingServerName="alice-mlflow-stopped")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
