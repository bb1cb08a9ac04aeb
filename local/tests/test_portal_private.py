"""The private deployment in a real browser and over HTTP: the local stack as
ApiVisibility=Private deploys it (`local.stack --private`): a REST API (v1 events) whose resource
policy lets requests in only through the execute-api endpoint (evaluated by the IAM evaluator that
enforces the function's role), a Cognito user pool authorizer that reads only the Authorization
header and takes access tokens only, no /launch routes, the function presigning through the
SageMaker API endpoint and URLs usable only through the Studio / notebook endpoint.

A request the local stack is not told otherwise about comes through the endpoints (a browser on
the company network); `X-Local-Source-Ip` / `X-Local-Source-Vpce` say it comes from elsewhere."""

from __future__ import annotations

import json
import urllib.parse

import jwt
import pytest
from playwright.sync_api import expect

from local.tests.conftest import Stack, Visit, eventually, history, module_stack, open_page, shot, visits

# Auto-start, and a start that takes 3 s, so that Open on a stopped notebook waits in its tab.
private_stack = module_stack("private_stack", "--private", "--auto-start", "--notebook-start-seconds", "3")
OUTSIDE = {"X-Local-Source-Ip": "203.0.113.9"}  # the internet: no VPC endpoint


@pytest.fixture
def visit(browser, private_stack):
    yield from visits(browser, private_stack)


def tokens_of(v: Visit) -> list[str]:
    user = v.stored_user()
    return [user[k] for k in ("access_token", "id_token", "refresh_token") if user.get(k)]


def assert_no_token_in(urls: list[str], tokens: list[str]):
    assert urls
    for url in urls:
        assert "access_token" not in url and "id_token" not in url, url
        for token in tokens:
            assert token not in urllib.parse.unquote(url), url


def function_invocations(stack: Stack) -> int:
    """Requests the function has answered: one audit line each (the log is JSON lines)."""
    return sum(1 for line in stack.log.read_text().splitlines() if '"Route"' in line)


# --- the browser -----------------------------------------------------------------------------------

def test_sign_in_list_and_open_a_notebook_with_no_token_in_any_url(visit, private_stack):
    v = visit()
    v.sign_in("alice")
    expect(v.page.locator("#notebook-list .row")).to_have_count(3)
    assert v.names("#notebook-list") == ["alice-analysis", "alice-gpu", "ml-team-shared"]
    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open alice-analysis").click()
    tab = opened.value
    expect(tab.locator("#opened")).to_have_attribute("data-name", "alice-analysis")
    assert tab.evaluate("window.opener") is None
    # Through the JSON route, with the token in the header; the tab went straight to the URL.
    gateway = private_stack.state["gateway"]
    assert f"{gateway}/notebook-instances/alice-analysis" in v.requests
    assert not [u for u in v.requests if "/launch/" in u]
    # The blank page was replaced: the tab's history holds the notebook's URL only.
    assert [u.split("?")[0] for u in history(tab)] == [private_stack.state["page"] + "/notebook/alice-analysis"]
    tokens = tokens_of(v)
    assert_no_token_in(v.requests + history(tab) + history(v.page), tokens)
    assert v.problems == [], v.problems


def test_studio_and_a_space_open_through_the_studio_endpoint(visit):
    v = visit()
    v.sign_in("alice")
    v.page.get_by_label("Open Studio in").first.select_option(label="JupyterLab")
    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open Studio").first.click()
    home = opened.value.locator("#opened")
    expect(home).to_have_attribute("data-profile", "alice")
    expect(home).to_have_attribute("data-app", "app:JupyterLab:")
    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open alice-private").click()
    space = opened.value
    expect(space.locator("#opened")).to_have_attribute("data-space", "alice-private")
    assert_no_token_in(v.requests + history(space), tokens_of(v))


def test_only_access_tokens_go_to_the_gate_and_only_in_the_header(visit, private_stack):
    v = visit()
    sent = []

    def record(request):
        if request.url.startswith(private_stack.state["gateway"]) and request.method != "OPTIONS":
            header = request.headers.get("authorization", "")
            assert header.startswith("Bearer "), request.url
            sent.append(header.removeprefix("Bearer "))

    v.context.on("request", record)
    v.sign_in("alice")
    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open ml-team-shared").click()
    expect(opened.value.locator("#opened")).to_have_attribute("data-name", "ml-team-shared")
    assert len(sent) >= 2  # the list, then the open
    assert {jwt.decode(t, options={"verify_signature": False})["token_use"] for t in sent} == {"access"}


def test_a_stopped_notebook_is_started_and_its_tab_waits_then_lands(visit, private_stack):
    v = visit()
    v.sign_in("bob")
    row = v.page.locator('#notebook-list [data-target="bob-archive"]')
    with v.context.expect_page() as opened:
        row.get_by_role("button", name="Start and open bob-archive").click()
    tab = opened.value
    # The gate started it and answered 202: the tab (a blank page of the portal's origin) says so.
    expect(tab.locator("#opening h1")).to_have_text("bob-archive is starting…")
    shot(tab, "private-opening.png")
    expect(row.locator(".badge")).to_have_text("Starting…")
    # It asks again after Retry-After (15 s); the stand-in's start takes 3 s.
    expect(tab.locator("#opened")).to_have_attribute("data-name", "bob-archive", timeout=30_000)
    assert_no_token_in(v.requests + history(tab), tokens_of(v))


def test_a_refused_open_closes_its_tab_and_says_why(visit, private_stack):
    v = visit()
    v.sign_in("alice")
    expect(v.page.get_by_role("button", name="Open alice-analysis")).to_be_enabled()
    # SageMaker fails to presign after the list: the gate answers 502 upstream_error.
    private_stack.control("POST", "/_faults", {"operation": "CreatePresignedNotebookInstanceUrl", "fault": "error",
                                               "count": 10})  # the SDK retries a 500
    try:
        with v.context.expect_page() as opened:
            v.page.get_by_role("button", name="Open alice-analysis").click()
        tab = opened.value
        eventually(v.page, tab.is_closed)
        expect(v.page.locator("#problem-words")).to_contain_text("SageMaker could not answer")
        expect(v.page.locator("#problem-reference")).to_contain_text("Reference: ")
    finally:
        private_stack.control("DELETE", "/_faults")


def test_a_url_used_from_outside_the_endpoint_is_refused_by_the_page(browser, private_stack):
    status, _, body = private_stack.get("/notebook-instances/alice-analysis", private_stack.token("alice"))
    assert status == 200
    url = json.loads(body)["url"]
    outside = browser.new_context(extra_http_headers=OUTSIDE)
    try:
        page = outside.new_page()
        response = page.goto(url)
        assert response.status == 403
        expect(page.locator("#refused")).to_have_attribute("data-reason", "insufficient-permissions")
        expect(page.locator("body")).to_contain_text("Auth token containing insufficient permissions")
    finally:
        outside.close()
    # Refused for where it came from, so not spent: through the endpoint it still opens, once.
    status, answer = open_page(url)
    assert (status, answer["opened"]["name"]) == (200, "alice-analysis")
    assert open_page(url)[0] == 403


# --- the API over HTTP ------------------------------------------------------------------------------

def test_the_authorizer_takes_access_tokens_and_refuses_id_tokens(private_stack):
    assert private_stack.get("/targets", private_stack.token("alice"))[0] == 200
    status, headers, body = private_stack.get("/targets", private_stack.token("alice", "IdToken"))
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    # The template's DEFAULT_4XX gateway response gives API Gateway's own 401 the portal's origin.
    assert headers["Access-Control-Allow-Origin"] == private_stack.state["portal"]
    # An access token without the routes' scopes is refused too (the method's OAuth scopes).
    assert private_stack.get("/targets", private_stack.mint(scope="email"))[0] == 401


def test_the_authorizer_reads_only_the_header(private_stack):
    token = private_stack.token("alice")
    assert private_stack.get(f"/targets?access_token={token}")[0] == 401


@pytest.mark.parametrize("where", [OUTSIDE, {"X-Local-Source-Vpce": "vpce-0999999999999999a"}], ids=["internet", "another-endpoint"])
def test_a_request_from_elsewhere_gets_api_gateways_403_and_the_function_never_runs(private_stack, where):
    before = function_invocations(private_stack)
    calls = len(private_stack.control("GET", "/_calls"))
    for method_path in ["/targets", "/notebook-instances/alice-analysis", "/studio"]:
        status, _, body = private_stack.get(method_path, private_stack.token("alice"), headers=where)
        assert status == 403
        message = json.loads(body)["Message"]
        assert message.startswith("User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
                                  "arn:aws:execute-api:us-east-1:********9012:")
        assert message.endswith(f"/api/GET{method_path} with an explicit deny")
    assert function_invocations(private_stack) == before
    assert len(private_stack.control("GET", "/_calls")) == calls


def test_through_the_endpoint_the_function_runs_and_sees_it(private_stack):
    before = function_invocations(private_stack)
    vpce = private_stack.state["private"]["executeApiVpce"]
    status, _, _ = private_stack.get("/targets", private_stack.token("alice"), headers={"X-Local-Source-Vpce": vpce})
    assert status == 200 and function_invocations(private_stack) == before + 1


@pytest.mark.parametrize("path", ["/launch/notebook-instances/alice-analysis", "/launch/studio"])
def test_there_are_no_launch_routes(private_stack, path):
    token = private_stack.token("alice")
    status, _, body = private_stack.get(f"{path}?access_token={token}", token, accept="text/html")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})


def test_targets_list_no_launch_link_and_every_item_an_open_route(private_stack):
    """The template's LAUNCH_ROUTES=false, as the local stack renders it for the private mode."""
    status, _, body = private_stack.get("/targets", private_stack.token("alice"))
    assert status == 200, body
    targets = json.loads(body)
    assert "/launch/" not in body

    def items(node, where=""):
        if isinstance(node, dict):
            if "open" in node:
                yield where, node
            for key, value in node.items():
                yield from items(value, key)
        elif isinstance(node, list):
            for value in node:
                yield from items(value, where)

    listed = list(items(targets))
    kinds = {where for where, _ in listed}
    assert {"notebookInstances", "studioDomains", "spaces"} <= kinds, kinds
    if targets["mlflowTrackingServers"] or targets["mlflowApps"]:
        assert kinds & {"mlflowTrackingServers", "mlflowApps"}
    for where, item in listed:
        assert "launch" not in item, (where, item)
        assert item["open"].startswith("/") and not item["open"].startswith("/launch"), (where, item)


def test_the_function_presigns_through_the_sagemaker_api_endpoint(private_stack):
    network = private_stack.state["private"]
    assert private_stack.state["iam"]["functionSource"] == {"vpce": network["sageMakerApiVpce"]}
    assert private_stack.state["payload"] == "v1"
