"""End to end, over HTTP: the local API Gateway, the real release binary through the Lambda Runtime
API, and the SageMaker/Cognito stand-in. Each stack runs on free ports and is stopped after."""

from __future__ import annotations

import json
import time

import pytest

from local.stack import OWNER, client


def names(items):
    return sorted(i["name"] for i in items)


def test_each_person_sees_exactly_their_targets(stack):
    status, _, body = stack.get("/targets", stack.token("alice"))
    assert status == 200, body
    alice = json.loads(body)
    assert names(alice["notebookInstances"]) == ["alice-analysis", "alice-gpu", "ml-team-shared"]
    # One configured domain (the test stacks' default): one Studio card, as `studioDomains[0]`.
    [studio] = alice["studioDomains"]
    assert studio["userProfile"] == "alice" and studio["domainId"] == stack.state["domain_id"]
    assert names(studio["spaces"]) == ["alice-private", "team-shared"]

    status, _, body = stack.get("/targets", stack.token("bob"))
    assert status == 200, body
    bob = json.loads(body)
    assert names(bob["notebookInstances"]) == ["bob-archive", "bob-reports"]
    assert names(bob["studioDomains"][0]["spaces"]) == ["bob-private", "team-shared"]


def test_the_list_finds_the_callers_notebooks_through_the_tagging_api_and_reads_nobody_elses(stack):
    """GET /targets asks the Tagging API's index for alice's owner tag and her group's, then
    describes only what it found: no notebook instance of anyone else's, and none untagged, is
    ever read, and nothing is listed whole."""
    stack.control("DELETE", "/_calls")
    status, _, body = stack.get("/targets", stack.token("alice"))
    assert status == 200, body
    log = stack.control("GET", "/_calls")
    finds = [c for c in log if c["operation"] == "GetResources"]
    assert {c["service"] for c in finds} == {"tagging"}
    assert sorted(f["Key"] for c in finds for f in c["input"]["TagFilters"]) == ["notebook-gate:group",
                                                                                 "notebook-gate:owner"]
    described = [c["input"]["NotebookInstanceName"] for c in log if c["operation"] == "DescribeNotebookInstance"]
    assert sorted(described) == names(json.loads(body)["notebookInstances"]) == \
        ["alice-analysis", "alice-gpu", "ml-team-shared"]
    assert not [c for c in log if c["operation"] == "ListNotebookInstances"
                or ":notebook-instance/" in c["input"].get("ResourceArn", "")]


def test_a_notebook_just_handed_out_opens_at_once_before_the_list_shows_it(stack):
    """The Tagging API's index lags a tag change (docs/routes.md, "How fresh the list is"): a
    notebook instance tagged for alice a moment ago is not in her list yet, but it opens, since an
    open reads its tags itself."""
    admin = client("sagemaker", stack.state["moto"])
    stack.control("POST", "/_tagging", {"delaySeconds": 300})
    try:
        admin.create_notebook_instance(NotebookInstanceName="alice-handed-out", InstanceType="ml.t3.medium",
                                       RoleArn="arn:aws:iam::123456789012:role/notebook-demo",
                                       Tags=[{"Key": OWNER, "Value": stack.state["subs"]["alice"]}])
        alice = stack.token("alice")
        status, _, body = stack.get("/targets", alice)
        assert status == 200 and "alice-handed-out" not in names(json.loads(body)["notebookInstances"]), body
        status, _, body = stack.get("/notebook-instances/alice-handed-out", alice)
        assert status == 200, body
        assert stack.page(json.loads(body)["url"])[1]["opened"]["name"] == "alice-handed-out"
        # Once the index has caught up, the list shows it.
        assert stack.control("DELETE", "/_tagging") == {"delaySeconds": 0}
        assert "alice-handed-out" in names(json.loads(stack.get("/targets", alice)[2])["notebookInstances"])
    finally:
        stack.control("DELETE", "/_tagging")
        admin.stop_notebook_instance(NotebookInstanceName="alice-handed-out")
        admin.delete_notebook_instance(NotebookInstanceName="alice-handed-out")


@pytest.mark.parametrize("user, notebook", [("alice", "alice-analysis"), ("bob", "bob-reports")])
def test_each_person_opens_their_own_notebook_and_studio(stack, user, notebook):
    status, _, body = stack.get(f"/notebook-instances/{notebook}", stack.token(user))
    assert status == 200, body
    status, page = stack.page(json.loads(body)["url"])
    assert status == 200 and page["opened"]["name"] == notebook
    status, _, body = stack.get("/studio", stack.token(user))
    assert status == 200, body
    status, page = stack.page(json.loads(body)["url"])
    assert page["opened"] == {**page["opened"], "kind": "studio", "profile": user, "space": "", "app": ""}


def test_an_opened_url_opens_the_right_notebook_once(stack):
    status, headers, body = stack.get("/notebook-instances/alice-analysis", stack.token("alice"))
    assert status == 200, body
    url = json.loads(body)["url"]
    assert headers["Cache-Control"] == "no-store"
    status, page = stack.page(url)
    assert status == 200
    assert page["opened"]["kind"] == "notebook-instance"
    assert page["opened"]["name"] == "alice-analysis"
    status, page = stack.page(url)
    assert status == 403 and page["refused"] == "replayed"


def test_an_expired_url_is_refused(stack):
    _, _, body = stack.get("/notebook-instances/alice-analysis", stack.token("alice"))
    url = json.loads(body)["url"]
    stack.control("POST", "/_clock", {"advance": 301})
    status, page = stack.page(url)
    assert status == 403 and page["refused"] == "expired"


def test_nobody_gets_a_url_for_someone_elses_notebook_or_profile(stack):
    stack.control("DELETE", "/_calls")
    alice = stack.token("alice")
    for path in ["/notebook-instances/bob-reports", "/notebook-instances/untagged-scratch",
                 "/notebook-instances/no-such-notebook", "/studio?space=bob-private"]:
        status, _, body = stack.get(path, alice)
        assert status == 404, (path, body)
        assert json.loads(body)["error"]["code"] == "not_found"
    presigned = [c for c in stack.control("GET", "/_calls")
                 if c["operation"].startswith("CreatePresigned")]
    assert presigned == []


def test_a_group_notebook_opens_for_members_only(stack):
    status, _, body = stack.get("/notebook-instances/ml-team-shared", stack.token("alice"))
    assert status == 200, body
    status, _, _ = stack.get("/notebook-instances/ml-team-shared", stack.token("bob"))
    assert status == 404


def test_launch_routes_take_the_token_from_the_query_and_redirect(stack):
    alice = stack.token("alice")
    status, headers, _ = stack.get(f"/launch/notebook-instances/alice-analysis?access_token={alice}", accept="text/html")
    assert status == 302
    status, page = stack.page(headers["Location"])
    assert status == 200 and page["opened"]["name"] == "alice-analysis"

    status, headers, _ = stack.get(f"/launch/studio?space=team-shared&app=codeeditor&access_token={stack.token('bob')}",
                                   accept="text/html")
    assert status == 302
    status, page = stack.page(headers["Location"])
    assert status == 200
    assert page["opened"]["kind"] == "studio"
    assert page["opened"]["profile"] == "bob"
    assert page["opened"]["space"] == "team-shared"
    assert page["opened"]["app"] == "app:CodeEditor:"


def test_studio_opens_the_callers_own_profile(stack):
    status, _, body = stack.get("/studio?space=alice-private&app=jupyterlab", stack.token("alice"))
    assert status == 200, body
    status, page = stack.page(json.loads(body)["url"])
    assert page["opened"]["profile"] == "alice" and page["opened"]["space"] == "alice-private"
    assert page["opened"]["app"] == "app:JupyterLab:"


def test_stopped_notebook_is_not_running_without_auto_start(stack):
    status, _, body = stack.get("/notebook-instances/alice-gpu", stack.token("alice"))
    assert status == 409 and json.loads(body)["error"]["code"] == "not_running"


def test_rest_api_events_and_auto_start(rest_stack):
    alice = rest_stack.token("alice")
    status, _, body = rest_stack.get("/targets", alice)
    assert status == 200, body
    assert "ml-team-shared" in names(json.loads(body)["notebookInstances"])
    status, headers, body = rest_stack.get("/notebook-instances/alice-gpu", alice)
    assert status == 202, body
    assert headers["Retry-After"] == "15"
    deadline = time.time() + 30
    while time.time() < deadline:
        status, _, body = rest_stack.get("/notebook-instances/alice-gpu", alice)
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200, body
    status, page = rest_stack.page(json.loads(body)["url"])
    assert page["opened"]["name"] == "alice-gpu"


@pytest.mark.parametrize("payload, launch", [("v2", 302), ("v1", 401)])
def test_function_output_holds_no_token_and_no_presigned_url(start_stack, payload, launch):
    # A stack of its own: its log is read after it stops, and no other test's stack is stopped.
    s = start_stack("--payload", payload)
    alice = s.token("alice")
    for path in ("/targets", "/notebook-instances/alice-analysis", "/studio?space=alice-private"):
        assert s.get(path, alice)[0] == 200, path
    # A REST API reads only the Authorization header, so a query token opens nothing there.
    assert s.get(f"/launch/notebook-instances/alice-analysis?access_token={alice}", accept="text/html")[0] == launch
    s.stop()
    log = s.log.read_text()
    assert '"target":"audit"' in log
    assert "authToken" not in log
    assert "access_token" not in log
    assert "eyJ" not in log, "a JWT reached the function's output"
    assert "Bearer" not in log
