"""Start and stop end to end: the real binary behind the local API Gateway, the stand-in
with SageMaker's state changes taking time, and IAM on (the role template.yaml gives the stack's
parameters). Each test reads the stand-in's call log (`/_calls`) to say what reached SageMaker.

The contract these check is /tmp/lifecycle.md as landed in docs/routes.md: POST only, the token
in the Authorization header only, 202 + Retry-After for a change under way, the same 404 for a
missing and a foreign target with nothing sent, API Gateway's 404 for another method and its
CORS answer for the preflight, 403 action_disabled
before any SageMaker call, a shared space's app stopped only by its owner."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from local.iam.stack import FUNCTION_ACCESS_KEY_ID
from local.tests.conftest import module_stack

# State changes take a few seconds here, as they take minutes in SageMaker: a test sees the
# in-between state (Pending, Stopping, Deleting) and then the settled one.
DELAYS = ("--notebook-start-seconds", "2", "--notebook-stop-seconds", "2", "--app-delete-seconds", "2")
stack = module_stack("stack", *DELAYS)
# The same, where people may only stop (template parameter Lifecycle=stop).
stop_only_stack = module_stack("stop_only_stack", "--param", "Lifecycle=stop")

STATE_CHANGES = ("StartNotebookInstance", "StopNotebookInstance", "DeleteApp")


def post(stack, path: str, token: str | None = None, query: str = "", method: str = "POST"):
    """A request as the portal sends a state change: the token in the Authorization header."""
    request = urllib.request.Request(stack.state["gateway"] + path + (f"?{query}" if query else ""), data=b"",
                                     method=method, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def calls(stack, *operations: str) -> list[dict]:
    """What reached SageMaker since the log was last cleared (only `operations`, if given)."""
    return [c for c in stack.control("GET", "/_calls") if not operations or c["operation"] in operations]


def clear(stack):
    stack.control("DELETE", "/_calls")


def admin(stack):
    """SageMaker as an admin reaches it (not evaluated by IAM): to see what really changed."""
    return boto3.client("sagemaker", endpoint_url=stack.state["moto"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def as_function(stack):
    """SageMaker as the function reaches it: its own credentials, so IAM evaluates each call."""
    return boto3.client("sagemaker", endpoint_url=stack.state["moto"], region_name="us-east-1",
                        aws_access_key_id=FUNCTION_ACCESS_KEY_ID, aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def notebook_status(stack, name: str) -> str:
    return admin(stack).describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]


def app_status(stack, space: str) -> str:
    return admin(stack).describe_app(DomainId=stack.state["domain_id"], SpaceName=space, AppType="JupyterLab",
                                     AppName="default")["Status"]


def settles(read, expected: str, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.25)
    return value


def target_of(stack, user: str, name: str) -> dict:
    status, _, body = stack.get("/targets", stack.token(user))
    assert status == 200, body
    return next(n for n in json.loads(body)["notebookInstances"] if n["name"] == name)


def test_starting_a_stopped_notebook_answers_202_and_it_comes_into_service(stack):
    alice = stack.token("alice")
    assert notebook_status(stack, "alice-gpu") == "Stopped"
    clear(stack)
    status, headers, body = post(stack, "/notebook-instances/alice-gpu/start", alice)
    assert status == 202, body
    answer = json.loads(body)
    assert answer["result"] == "started" and answer["status"] == "Pending" and answer["retryAfter"] == 15
    assert headers["Retry-After"] == "15" and headers["Cache-Control"] == "no-store"
    started = calls(stack, *STATE_CHANGES)
    assert [(c["operation"], c["input"]) for c in started] == [
        ("StartNotebookInstance", {"NotebookInstanceName": "alice-gpu"})]
    assert started[0]["iam"] == "allowed"  # the role the template gives this stack lets it
    # Meanwhile the list says so, and starting again sends nothing.
    assert target_of(stack, "alice", "alice-gpu")["status"] == "Pending"
    clear(stack)
    status, _, body = post(stack, "/notebook-instances/alice-gpu/start", alice)
    assert status == 202 and json.loads(body)["result"] == "already starting", body
    assert calls(stack, *STATE_CHANGES) == []
    assert settles(lambda: notebook_status(stack, "alice-gpu"), "InService") == "InService"
    status, _, body = post(stack, "/notebook-instances/alice-gpu/start", alice)
    assert status == 200 and json.loads(body)["result"] == "already running", body


def test_stopping_a_running_notebook_goes_through_stopping_to_stopped(stack):
    alice = stack.token("alice")
    assert notebook_status(stack, "alice-analysis") == "InService"
    clear(stack)
    status, headers, body = post(stack, "/notebook-instances/alice-analysis/stop", alice)
    assert status == 202, body
    assert json.loads(body)["result"] == "stopping" and json.loads(body)["status"] == "Stopping"
    assert headers["Retry-After"] == "15"
    assert [(c["operation"], c["input"]) for c in calls(stack, *STATE_CHANGES)] == [
        ("StopNotebookInstance", {"NotebookInstanceName": "alice-analysis"})]
    assert target_of(stack, "alice", "alice-analysis")["status"] == "Stopping"
    # Starting it while it stops: SageMaker would refuse (Status (Stopping) not in ([Stopped,
    # Failed])), so the gate answers 409 naming the state and sends nothing.
    clear(stack)
    status, _, body = post(stack, "/notebook-instances/alice-analysis/start", alice)
    assert status == 409, body
    assert "Stopping" in json.loads(body)["error"]["message"]
    assert calls(stack, *STATE_CHANGES) == []
    assert settles(lambda: notebook_status(stack, "alice-analysis"), "Stopped") == "Stopped"
    assert target_of(stack, "alice", "alice-analysis")["status"] == "Stopped"
    clear(stack)
    status, _, body = post(stack, "/notebook-instances/alice-analysis/stop", alice)
    assert status == 200 and json.loads(body)["result"] == "already stopped", body
    assert calls(stack, *STATE_CHANGES) == []


def test_stopping_a_space_deletes_its_running_app_and_keeps_the_space(stack):
    domain = stack.state["domain_id"]
    clear(stack)
    status, headers, body = post(stack, "/studio/spaces/alice-private/stop", stack.token("alice"))
    assert status == 202, body
    answer = json.loads(body)
    assert answer["result"] == "stopping" and answer["apps"] == [{"appType": "JupyterLab", "appName": "default"}]
    assert headers["Retry-After"] == "15"
    listed = calls(stack, "ListApps")
    assert listed and all(c["input"].get("DomainIdEquals") == domain for c in listed)
    assert any(c["input"].get("SpaceNameEquals") == "alice-private" for c in listed)
    deleted = calls(stack, *STATE_CHANGES)
    assert [(c["operation"], c["input"]) for c in deleted] == [("DeleteApp", {
        "DomainId": domain, "SpaceName": "alice-private", "AppType": "JupyterLab", "AppName": "default"})]
    assert deleted[0]["iam"] == "allowed"
    assert settles(lambda: app_status(stack, "alice-private"), "Deleted") == "Deleted"
    assert admin(stack).describe_space(DomainId=domain, SpaceName="alice-private")["Status"] == "InService"
    # Nothing runs there now: nothing to stop, nothing sent.
    clear(stack)
    status, _, body = post(stack, "/studio/spaces/alice-private/stop", stack.token("alice"))
    assert status == 200 and json.loads(body)["result"] == "already stopped", body
    assert calls(stack, *STATE_CHANGES) == []


def test_a_shared_spaces_app_is_stopped_only_by_its_owner(stack):
    # bob may open team-shared (a shared space), but alice owns it.
    clear(stack)
    status, _, body = post(stack, "/studio/spaces/team-shared/stop", stack.token("bob"))
    assert status == 403, body
    assert json.loads(body)["error"]["code"] == "not_space_owner"
    assert calls(stack, *STATE_CHANGES) == []
    assert app_status(stack, "team-shared") == "InService"
    status, _, body = post(stack, "/studio/spaces/team-shared/stop", stack.token("alice"))
    assert status == 202, body
    assert [c["input"]["SpaceName"] for c in calls(stack, "DeleteApp")] == ["team-shared"]


@pytest.mark.parametrize("user, path", [
    ("bob", "/notebook-instances/alice-gpu/start"),  # alice's
    ("bob", "/notebook-instances/alice-analysis/stop"),
    ("alice", "/notebook-instances/bob-reports/stop"),  # bob's
    ("alice", "/notebook-instances/untagged-scratch/stop"),  # nobody's
    ("alice", "/notebook-instances/no-such-notebook/start"),  # missing
    ("bob", "/notebook-instances/ml-team-shared/stop"),  # ml-team's, bob is not in it
    ("bob", "/studio/spaces/alice-private/stop"),  # alice's private space
    ("alice", "/studio/spaces/no-such-space/stop"),
])
def test_foreign_and_missing_targets_are_the_same_404_and_nothing_changes(stack, user, path):
    clear(stack)
    status, _, body = post(stack, path, stack.token(user))
    assert status == 404, body
    error = json.loads(body)["error"]
    assert error["code"] == "not_found" and "arn:" not in body
    assert calls(stack, *STATE_CHANGES) == []


def test_the_404_does_not_tell_foreign_from_missing(stack):
    bodies = []
    for path in ("/notebook-instances/bob-reports/stop", "/notebook-instances/no-such-notebook/stop"):
        status, _, body = post(stack, path, stack.token("alice"))
        error = json.loads(body)["error"]
        bodies.append((status, error["code"], error["message"].replace("bob-reports", "X").replace("no-such-notebook", "X")))
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_method_on_a_state_change_is_api_gateways_404_and_sends_nothing(stack, method):
    """The HTTP API's state-change routes are POST: another method matches no route and API
    Gateway answers it (the function's 405 is for a front door that passes every method)."""
    clear(stack)
    for path in ("/notebook-instances/alice-gpu/start", "/notebook-instances/alice-gpu/stop",
                 "/studio/spaces/alice-private/stop"):
        status, _, body = post(stack, path, stack.token("alice"), method=method)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), path
    assert calls(stack) == []


def test_a_browser_preflight_gets_the_cors_answer_and_then_the_post_starts_the_notebook(stack):
    """What the portal's fetch does: a preflight with no token (the browser sends none), which API
    Gateway answers from CorsConfiguration since no route takes OPTIONS; then the POST."""
    portal = stack.state["portal"]
    for path in ("/notebook-instances/bob-archive/start", "/notebook-instances/bob-reports/stop",
                 "/studio/spaces/bob-private/stop"):
        request = urllib.request.Request(stack.state["gateway"] + path, method="OPTIONS", headers={
            "Origin": portal, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert 200 <= response.status < 300, path
            assert response.headers["Access-Control-Allow-Origin"] == portal, path
            assert "POST" in [m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")]
            assert "authorization" in [h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")]
    clear(stack)
    request = urllib.request.Request(stack.state["gateway"] + "/notebook-instances/bob-archive/start", data=b"",
                                     method="POST", headers={"Origin": portal, "Accept": "application/json",
                                                             "Authorization": f"Bearer {stack.token('bob')}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        assert response.headers["Access-Control-Allow-Origin"] == portal
        assert json.loads(response.read())["result"] == "started"
    assert [c["input"] for c in calls(stack, *STATE_CHANGES)] == [{"NotebookInstanceName": "bob-archive"}]


def test_a_token_in_the_query_never_authorizes_a_state_change(stack):
    """Only /launch/ routes read the query's access_token; a POST with it and no header is 401
    from the gateway, and the function is never invoked (no SageMaker call at all)."""
    alice = stack.token("alice")
    clear(stack)
    for path in ("/notebook-instances/alice-gpu/start", "/studio/spaces/team-shared/stop"):
        status, _, body = post(stack, path, query=f"access_token={alice}")
        assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    # Through the launch prefix it is no state change either: no such route takes POST.
    status, _, _ = post(stack, "/launch/notebook-instances/alice-gpu/start", query=f"access_token={alice}")
    assert status in (401, 404, 405)
    assert calls(stack) == []


def test_an_id_token_does_not_change_anything(stack):
    clear(stack)
    status, _, _ = post(stack, "/notebook-instances/alice-gpu/stop", stack.token("alice", "IdToken"))
    assert status == 401
    assert calls(stack) == []


def test_a_disabled_action_is_403_before_any_sagemaker_call(stop_only_stack):
    s = stop_only_stack
    clear(s)
    status, _, body = post(s, "/notebook-instances/alice-gpu/start", s.token("alice"))
    assert status == 403, body
    assert json.loads(body)["error"]["code"] == "action_disabled"
    assert calls(s) == []
    # The list offers only what is allowed.
    status, _, body = s.get("/targets", s.token("alice"))
    targets = json.loads(body)
    assert targets["lifecycle"] == ["stop"]
    gpu = next(n for n in targets["notebookInstances"] if n["name"] == "alice-gpu")
    assert "start" not in gpu and gpu["stop"] == "/notebook-instances/alice-gpu/stop"
    # Stopping is allowed here.
    status, _, body = post(s, "/notebook-instances/alice-analysis/stop", s.token("alice"))
    assert status == 202, body


def test_iam_refuses_what_the_gate_never_asks_for(stop_only_stack):
    """Called directly with the function's credentials, as a bug or a stolen key would: IAM
    refuses to stop an untagged notebook instance, to start anything (Lifecycle=stop, no
    AutoStart), and to delete a user profile's own app; the app of a space owned in the domain it
    allows, whoever asked: that the owner is the caller is only the gate's check."""
    s = stop_only_stack
    fn = as_function(s)
    domain = s.state["domain_id"]

    def refused(call, **kwargs) -> str:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            call(**kwargs)
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
        return caught.value.response["Error"]["Message"]

    message = refused(fn.stop_notebook_instance, NotebookInstanceName="untagged-scratch")
    assert "sagemaker:StopNotebookInstance on resource: arn:aws:sagemaker:us-east-1:123456789012:" \
           "notebook-instance/untagged-scratch" in message
    refused(fn.start_notebook_instance, NotebookInstanceName="alice-gpu")
    admin(s).create_app(DomainId=domain, UserProfileName="alice", AppType="JupyterServer", AppName="default")
    refused(fn.delete_app, DomainId=domain, UserProfileName="alice", AppType="JupyterServer", AppName="default")
    assert notebook_status(s, "untagged-scratch") == "InService" and notebook_status(s, "alice-gpu") == "Stopped"
    # IAM cannot tell who asked: bob's space's app (owned in the domain) may be deleted by the role.
    admin(s).create_app(DomainId=domain, SpaceName="bob-private", AppType="JupyterLab", AppName="default")
    fn.delete_app(DomainId=domain, SpaceName="bob-private", AppType="JupyterLab", AppName="default")
