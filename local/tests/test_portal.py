"""The portal in a real browser: Debian's headless Chromium, driven by Playwright, against the local
stack (portal site, managed-login stand-in, local API Gateway, the real release binary, moto).
Screenshots of the list go to test-output/portal/ for a reviewer to look at."""

from __future__ import annotations

import html
import http.cookiejar
import importlib.machinery
import importlib.util
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import expect

from local.iam.render import PSEUDO, render
from local.oidc import pkce_challenge
from local.portal_site import PortalSite
from local.stack import DEMO_USERS, ROOT, client
from local.tests.conftest import LOW_CONTRAST, NoRedirect, Stack, Visit, eventually, history, module_stack, shot, visits

# HTTP API (v2): /launch takes its token from the query string only there; a REST API (v1)
# authorizer reads only the Authorization header, which a new tab cannot send.
auto_start_stack = module_stack("auto_start_stack", "--auto-start")


def grants(stack: Stack) -> list[dict]:
    with urllib.request.urlopen(stack.state["login"] + "/_grants", timeout=10) as response:
        return json.loads(response.read())


# What the seeded world (local/stack.py) gives each person, and what is only the other's. The
# stack's function has one Studio domain, "research" (test_portal_mlflow.py has both).
SEEDED = {
    "alice": {"notebooks": ["alice-analysis", "alice-gpu", "ml-team-shared"], "spaces": ["alice-private", "team-shared"]},
    "bob": {"notebooks": ["bob-archive", "bob-reports"], "spaces": ["bob-private", "team-shared"]},
}


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_each_person_sees_exactly_their_targets(visit, user):
    v = visit()
    v.sign_in(user)
    expect(v.page.locator("#notebook-list .row")).to_have_count(len(SEEDED[user]["notebooks"]))
    assert v.names("#notebook-list") == SEEDED[user]["notebooks"]
    assert v.names(".space-list") == SEEDED[user]["spaces"]
    expect(v.page.locator("#who-name")).to_have_text(user)
    expect(v.page.locator(".studio-profile")).to_have_text(user)
    other = "bob" if user == "alice" else "alice"
    page_text = v.page.locator("body").inner_text()
    for name in set(SEEDED[other]["notebooks"] + SEEDED[other]["spaces"]) - set(SEEDED[user]["spaces"]):
        assert name not in page_text
    assert "untagged-scratch" not in page_text
    shot(v.page, f"list-{user}.png")
    assert v.problems == []


def test_badges_and_buttons_follow_the_notebook_state(visit):
    v = visit()
    v.sign_in("alice")
    running = v.page.locator('#notebook-list [data-target="alice-analysis"]')
    expect(running.locator(".badge")).to_have_text("Running")
    expect(running.get_by_role("button", name="Open alice-analysis")).to_be_enabled()
    stopped = v.page.locator('#notebook-list [data-target="alice-gpu"]')
    expect(stopped.locator(".badge")).to_have_text("Stopped")
    button = stopped.get_by_role("button", name="Open alice-gpu")
    expect(button).to_be_disabled()
    # The reason is said in words and tied to the button for screen readers; the deployment lets
    # people start their own (LIFECYCLE's default), so the row has a Start of its own.
    expect(button).to_have_accessible_description("It is stopped. Start it, then open it once it is running.")
    expect(stopped.get_by_role("button", name="Start alice-gpu")).to_be_enabled()
    expect(running.get_by_role("button", name="Stop alice-analysis")).to_be_enabled()
    assert v.page.evaluate(LOW_CONTRAST) == []


def test_open_lands_on_the_notebook_through_the_gate(visit):
    v = visit()
    v.sign_in("alice")
    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open alice-analysis").click()
    tab = opened.value
    expect(tab.locator("#opened")).to_have_attribute("data-name", "alice-analysis")
    assert tab.evaluate("window.opener") is None  # the notebook's page has no handle on the portal
    # The portal asked the JSON route (token in the header) and sent the tab to the URL: no token in
    # any URL the browser asked for, and none in the tab's history (test_portal_private.py
    # checks the history entries themselves).
    assert f"{v.stack.state['gateway']}/notebook-instances/alice-analysis" in v.requests
    assert not [u for u in v.requests if "/launch/" in u or "access_token" in u]
    user = v.stored_user()
    visited = v.requests + history(tab) + history(v.page)
    assert not [u for u in visited if user["access_token"] in u or user["id_token"] in u or "access_token" in u]
    assert [u.split("?")[0] for u in history(tab)] == [v.stack.state["page"] + "/notebook/alice-analysis"]


def test_studio_opens_the_chosen_app_and_a_space_in_its_own(visit):
    v = visit()
    v.sign_in("alice")
    research = v.page.get_by_role("region", name="research")  # the domain's card
    # The apps the gate opens; Studio Classic (JupyterServer) is retired and the gate refuses it.
    expect(research.get_by_label("Open Studio in").locator("option")).to_have_text(
        ["Studio home", "JupyterLab", "Code Editor", "Canvas", "RStudio"])
    research.get_by_label("Open Studio in").select_option(label="Canvas")
    with v.context.expect_page() as opened:
        research.get_by_role("button", name="Open Studio").click()
    home = opened.value.locator("#opened")
    expect(home).to_have_attribute("data-profile", "alice")
    expect(home).to_have_attribute("data-app", "app:Canvas:")
    expect(home).to_have_attribute("data-space", "")

    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open alice-private").click()
    space = opened.value.locator("#opened")
    expect(space).to_have_attribute("data-space", "alice-private")
    expect(space).to_have_attribute("data-app", "app:JupyterLab:")


def test_only_access_tokens_go_to_the_gate(visit, stack):
    v = visit()
    sent = []

    def record(request):
        if request.url.startswith(stack.state["gateway"]):
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
            assert "access_token" not in query, request.url  # the portal never puts a token in a URL
            header = request.headers.get("authorization", "")
            sent.extend(t for t in (header.removeprefix("Bearer "),) if t)

    v.context.on("request", record)
    v.sign_in("alice")
    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open alice-analysis").click()
    expect(opened.value.locator("#opened")).to_have_attribute("data-name", "alice-analysis")
    assert len(sent) >= 2  # the list's and the open's Authorization headers
    # ID tokens are refused everywhere (only access tokens carry the routes' scopes).
    assert {jwt.decode(t, options={"verify_signature": False})["token_use"] for t in sent} == {"access"}


def test_another_persons_launch_urls_get_the_gates_404(visit, stack):
    v = visit()
    v.sign_in("alice")
    token = v.stored_user()["access_token"]
    for path in ["/launch/notebook-instances/bob-reports", "/launch/studio?space=bob-private"]:
        sep = "&" if "?" in path else "?"
        response = v.page.goto(f"{stack.state['gateway']}{path}{sep}access_token={token}")
        assert response.status == 404, path
        # The gate's answer to a browser: a page in words, with the request id to quote.
        expect(v.page.get_by_role("heading")).to_have_text("Nothing to open here")
        expect(v.page.locator("code")).to_have_text(re.compile(r"\S+"))
        assert "bob" not in v.page.locator("body").inner_text()


def test_a_wrong_password_is_refused_on_the_sign_in_page(visit, stack):
    v = visit()
    v.open_portal()
    v.page.get_by_role("button", name="Sign in").click()
    v.fill_sign_in("alice", "not-her-password")
    expect(v.page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    shot(v.page, "sign-in-refused.png")
    assert v.page.url.startswith(stack.state["login"])  # no code went back to the portal
    v.fill_sign_in("alice")
    expect(v.page.locator("#signed-in")).to_be_visible()


def test_a_forged_or_stale_sign_in_return_is_refused(visit, stack):
    v = visit()
    v.open_portal("/?code=stolen-code&state=not-ours")
    expect(v.page.locator("#signed-out")).to_be_visible()
    expect(v.page.locator("#progress")).to_contain_text("Sign-in did not complete")
    assert v.page.url == stack.state["portal"] + "/"  # the code is not left in the address bar
    assert v.stored_user() is None
    assert not any(u.endswith("/oauth2/token") for u in v.requests)  # nothing was exchanged


@pytest.mark.parametrize("fragment", ["%", "%E0%A4%A"])
def test_a_fragment_that_does_not_decode_is_ignored(visit, stack, fragment):
    v = visit()
    v.sign_in("alice")
    v.open_portal("/#" + fragment)
    # The list is drawn before the fragment is read, so a failure to read it would show by now.
    expect(v.page.locator("#notebook-list .row")).to_have_count(3)
    expect(v.page.locator("#problem")).to_be_hidden()
    expect(v.page.locator("#signed-in")).to_be_visible()
    assert v.problems == []


def test_tokens_stay_in_session_storage(visit):
    v = visit()
    v.sign_in("alice")
    assert v.page.evaluate("localStorage.length") == 0
    stored = v.stored_user()
    assert stored["access_token"] and stored["refresh_token"]
    assert v.page.evaluate("document.cookie") == ""


def test_sign_out_clears_the_session_and_ends_managed_login(visit, stack):
    v = visit()
    v.sign_in("bob")
    v.page.get_by_role("button", name="Sign out").click()
    expect(v.page.locator("#signed-out")).to_be_visible()
    shot(v.page, "signed-out.png")
    assert v.page.url == stack.state["portal"] + "/"
    assert v.stored_user() is None
    assert v.page.evaluate("localStorage.length") == 0
    # Managed login forgot the person too: signing in asks for the password again.
    v.page.get_by_role("button", name="Sign in").click()
    expect(v.page.get_by_label("Password")).to_be_visible()


def test_after_sign_out_the_old_refresh_token_no_longer_renews(visit, stack):
    v = visit()
    v.sign_in("bob")
    refresh_token = v.stored_user()["refresh_token"]
    assert token_endpoint(stack, grant_type="refresh_token", refresh_token=refresh_token)[0] == 200
    with v.page.expect_request(lambda r: r.url == stack.state["login"] + "/oauth2/revoke") as revoke:
        v.page.get_by_role("button", name="Sign out").click()
    expect(v.page.locator("#signed-out")).to_be_visible()
    assert revoke.value.method == "POST"
    assert dict(urllib.parse.parse_qsl(revoke.value.post_data)) == {
        "token": refresh_token, "client_id": stack.state["client_id"]}
    # Someone who copied the refresh token out of the tab can no longer renew the session.
    assert token_endpoint(stack, grant_type="refresh_token", refresh_token=refresh_token) == (400, {"error": "invalid_grant"})


def test_managed_login_remembers_a_signed_in_person_until_sign_out(visit):
    v = visit()
    v.sign_in("alice")
    v.page.evaluate("sessionStorage.clear()")  # a new tab: no tokens, but managed login's cookie
    v.open_portal()
    v.page.get_by_role("button", name="Sign in").click()
    expect(v.page.locator("#signed-in")).to_be_visible()  # no password asked, as Cognito does


def test_an_expired_session_returns_to_sign_in_and_back_to_the_same_place(visit, stack):
    v = visit()
    v.sign_in("alice", path="/")
    v.page.goto(stack.state["portal"] + "/#studio")
    v.page.get_by_role("region", name="research").get_by_label("Open Studio in").select_option("codeeditor")
    # The session runs out: the access token has expired, the refresh token is no longer good,
    # and managed login's own session is over.
    v.rewrite_stored_user(expires_at=1, refresh_token="revoked")
    v.context.clear_cookies()
    v.page.reload()
    v.fill_sign_in("alice")
    expect(v.page.locator("#signed-in")).to_be_visible()
    assert v.page.url == stack.state["portal"] + "/#studio"
    expect(v.page.get_by_role("region", name="research").get_by_label("Open Studio in")).to_have_value("codeeditor")
    eventually(v.page, lambda: v.page.evaluate("() => document.activeElement.id") == "studio")


def test_a_rejected_token_is_renewed_and_the_list_reloads(visit, stack):
    v = visit()
    v.sign_in("bob")
    before = len([g for g in grants(stack) if g == {"grant_type": "refresh_token", "ok": True}])
    v.rewrite_stored_user(access_token="not.a.token")  # API Gateway answers 401 to this
    v.page.get_by_role("button", name="Refresh").click()
    eventually(v.page, lambda: (v.stored_user() or {}).get("access_token") not in (None, "not.a.token"))
    # 2 notebooks, 2 spaces, an MLflow tracking server and an MLflow app
    expect(v.page.locator("#updated")).to_have_text(re.compile(r"^6 items · updated"))
    expect(v.page.locator("#problem")).to_be_hidden()
    after = len([g for g in grants(stack) if g == {"grant_type": "refresh_token", "ok": True}])
    assert after == before + 1


def test_tokens_are_renewed_before_they_expire(visit, stack):
    # Managed login says tokens last 65 s: renewal is due 60 s before, so about 5 s after sign-in.
    urllib.request.urlopen(urllib.request.Request(stack.state["login"] + "/_expires_in", data=b"seconds=65"), timeout=10)
    try:
        v = visit()
        v.sign_in("alice")
        before = len(grants(stack))
        first = v.stored_user()
        eventually(v.page, lambda: v.stored_user()["access_token"] != first["access_token"], seconds=20)
        second = v.stored_user()
        # A refresh answers without a new refresh token (as Cognito does): the first one is kept,
        # so the next renewal works too.
        assert second["refresh_token"] == first["refresh_token"]
        eventually(v.page, lambda: v.stored_user()["access_token"] != second["access_token"], seconds=20)
        assert grants(stack)[before:] == [{"grant_type": "refresh_token", "ok": True}] * 2
        expect(v.page.locator("#who-name")).to_have_text("alice")
    finally:
        urllib.request.urlopen(urllib.request.Request(stack.state["login"] + "/_expires_in", data=b"seconds="), timeout=10)


def test_gate_errors_are_said_in_words_with_a_reference(visit, stack):
    v = visit()
    v.sign_in("alice")
    # The Tagging API's GetResources, where the list starts, fails: the whole list fails (502).
    stack.control("POST", "/_faults", {"operation": "GetResources", "fault": "error", "count": 20})
    try:
        v.page.get_by_role("button", name="Refresh").click()
        alert = v.page.locator("#problem")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text("SageMaker could not answer.")
        expect(v.page.locator("#problem-reference")).to_have_text(re.compile(r"^Reference: \S+"))
        assert "upstream_error" not in alert.inner_text()
        assert v.page.evaluate(LOW_CONTRAST) == []
    finally:
        stack.control("DELETE", "/_faults")
    v.page.get_by_role("button", name="Try again").click()
    expect(alert).to_be_hidden()
    expect(v.page.locator("#notebook-list .row")).to_have_count(3)


def test_a_list_the_gate_could_not_finish_says_so_and_a_refresh_shows_the_rest(visit, stack):
    v = visit()
    v.sign_in("bob")
    expect(v.page.locator("#notebook-list .row")).to_have_count(2)
    notice = v.page.locator("#notebooks-unchecked")
    expect(notice).to_be_hidden()
    # The index finds bob-reports, but SageMaker will not describe it for a while: the gate cannot
    # say where it stands, so it leaves it out and says that some could not be checked.
    stack.control("POST", "/_faults", {"operation": "DescribeNotebookInstance", "fault": "error", "count": 1000,
                                       "match": "bob-reports"})
    try:
        v.page.get_by_role("button", name="Refresh").click()
        expect(notice).to_have_text(re.compile(r"could not be checked just now, so this list may be incomplete.*Refresh in a minute"))
        expect(notice).not_to_have_text(re.compile(r"\d"))  # the gate says "some", never how many
        assert v.names("#notebook-list") == ["bob-archive"]
        expect(v.page.locator("#notebooks-none")).to_be_hidden()
        expect(v.page.locator("#problem")).to_be_hidden()
        assert v.page.evaluate(LOW_CONTRAST) == []
        shot(v.page, "list-unchecked.png")
    finally:
        stack.control("DELETE", "/_faults")
    v.page.get_by_role("button", name="Refresh").click()
    expect(notice).to_be_hidden()
    expect(v.page.locator("#notebook-list .row")).to_have_count(2)
    assert v.names("#notebook-list") == SEEDED["bob"]["notebooks"]


def test_an_unreachable_gate_is_said_so_after_one_renewal(visit, stack):
    v = visit()
    v.sign_in("alice")
    before = len(grants(stack))
    v.page.route(stack.state["gateway"] + "/targets", lambda route: route.abort("connectionrefused"))
    v.page.get_by_role("button", name="Refresh").click()
    expect(v.page.locator("#problem")).to_contain_text("The portal cannot reach the gate.")
    # A 401 without CORS headers looks the same to a browser, so the token was renewed once first.
    assert grants(stack)[before:] == [{"grant_type": "refresh_token", "ok": True}]
    v.page.unroute(stack.state["gateway"] + "/targets")
    v.page.get_by_role("button", name="Try again").click()
    expect(v.page.locator("#problem")).to_be_hidden()
    expect(v.page.locator("#notebook-list .row")).to_have_count(3)


def test_someone_with_nothing_is_told_what_to_ask_for(visit, stack):
    idp = client("cognito-idp", stack.state["moto"])
    password = "Carol-demo-pass-1"
    idp.admin_create_user(UserPoolId=stack.state["pool_id"], Username="carol", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=stack.state["pool_id"], Username="carol", Password=password, Permanent=True)
    sub = next(a["Value"] for a in idp.admin_get_user(UserPoolId=stack.state["pool_id"], Username="carol")["UserAttributes"]
               if a["Name"] == "sub")
    v = visit()
    v.sign_in("carol", password)
    expect(v.page.get_by_role("heading", name="Nothing to open yet")).to_be_visible()
    expect(v.page.locator("#empty-user-id")).to_have_text(sub)
    # The list comes from the Tagging API's index, which may lag a hand-out (docs/routes.md).
    expect(v.page.locator("#empty-lag")).to_be_visible()
    expect(v.page.locator("#empty-lag")).to_contain_text("may not show here yet")
    expect(v.page.locator("#notebooks")).to_be_hidden()
    expect(v.page.locator("#studio")).to_be_hidden()
    expect(v.page.locator("#mlflow")).to_be_hidden()
    shot(v.page, "empty.png")


def test_phone_width_fits_without_sideways_scrolling(visit):
    v = visit(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    v.sign_in("alice")
    expect(v.page.locator("#notebook-list .row")).to_have_count(3)
    assert v.page.evaluate("document.documentElement.scrollWidth") <= 360
    box = v.page.get_by_role("button", name="Open alice-analysis").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 44  # a thumb-sized target
    shot(v.page, "list-phone.png")


def test_keyboard_alone_signs_in_and_reaches_open(visit):
    v = visit()
    page = v.open_portal()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "sign-in":
            break
    page.keyboard.press("Enter")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(DEMO_USERS["alice"][0])
    page.keyboard.press("Enter")
    expect(page.locator("#notebook-list .row")).to_have_count(3)
    names = []
    for _ in range(12):
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.getAttribute('aria-label') || document.activeElement.textContent.trim()"))
    assert "Open alice-analysis" in names and "Refresh" in names


def test_only_the_stacks_own_origins_are_asked_and_the_policy_holds(visit, stack):
    v = visit()
    response = v.open_portal()
    v.sign_in("alice")
    own = {urllib.parse.urlsplit(stack.state[k]).netloc for k in ("portal", "gateway", "login")}
    assert {urllib.parse.urlsplit(u).netloc for u in v.requests if u.startswith("http")} <= own
    csp = v.page.request.get(stack.state["portal"] + "/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert not v.page.locator("script:not([src])").count()  # no inline script to allow
    assert v.problems == [], v.problems


def test_with_auto_start_a_stopped_notebook_starts_and_its_tab_waits(browser, auto_start_stack):
    v = Visit(browser, auto_start_stack)
    try:
        v.sign_in("bob")
        row = v.page.locator('#notebook-list [data-target="bob-archive"]')
        button = row.get_by_role("button", name="Start and open bob-archive")
        expect(button).to_have_accessible_description(re.compile("Starting takes a few minutes"))
        with v.context.expect_page() as opened:
            button.click()
        # The gate started it and answered 202: the tab (a blank page of the portal's origin) says so
        # and asks again after Retry-After (test_portal_private.py follows it until it lands).
        expect(opened.value.locator("#opening h1")).to_have_text("bob-archive is starting…")
        expect(row.locator(".badge")).to_have_text("Starting…")
        # The gate started it (moto's notebooks are InService at once): the next list says so.
        v.page.get_by_role("button", name="Refresh").click()
        expect(row.locator(".badge")).to_have_text("Running")
    finally:
        v.close()


def test_a_retired_platform_offers_no_start_and_says_why(browser, auto_start_stack):
    # alice-gpu was made before SageMaker retired Amazon Linux 2 (no call can make one now). This
    # stack starts what it opens (AUTO_START) and lets people start their own, so only the retired
    # platform keeps "Start" and "Start and open" away.
    auto_start_stack.control("POST", "/_platform", {"notebookInstance": "alice-gpu", "platform": "notebook-al2-v2"})
    v = Visit(browser, auto_start_stack)
    try:
        v.sign_in("alice")
        row = v.page.locator('#notebook-list [data-target="alice-gpu"]')
        expect(row.locator(".badge")).to_have_text("Stopped")
        open_button = row.get_by_role("button", name="Open alice-gpu")
        expect(open_button).to_be_disabled()
        words = ("It cannot be started: its platform, notebook-al2-v2, is retired. "
                 "An administrator must update it to notebook-al2023-v1.")
        expect(row.locator(".note")).to_have_text(words)
        expect(open_button).to_have_accessible_description(words)
        expect(row.locator(".lifecycle")).to_be_hidden()
        assert row.get_by_role("button", name=re.compile("Start")).count() == 0
        assert v.page.evaluate(LOW_CONTRAST) == []
        shot(v.page, "retired-platform.png")
        # Asked directly, the gate refuses a start and an open that would start it, before SageMaker does.
        auto_start_stack.control("DELETE", "/_calls")
        token = v.stored_user()["access_token"]
        gate = auto_start_stack.state["gateway"]
        started = v.page.request.post(gate + "/notebook-instances/alice-gpu/start", headers={"Authorization": f"Bearer {token}"})
        assert (started.status, started.json()["error"]["code"]) == (409, "platform_retired")
        opened = v.page.request.get(gate + "/notebook-instances/alice-gpu",
                                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        assert (opened.status, opened.json()["error"]["code"]) == (409, "platform_retired")
        assert sagemaker_calls(auto_start_stack, "StartNotebookInstance") == []
        # Updated to the current platform, the same row offers both again: the platform was why.
        auto_start_stack.control("POST", "/_platform", {"notebookInstance": "alice-gpu", "platform": "notebook-al2023-v1"})
        v.page.get_by_role("button", name="Refresh").click()
        expect(row.get_by_role("button", name="Start and open alice-gpu")).to_be_enabled()
        expect(row.get_by_role("button", name="Start alice-gpu")).to_be_visible()
        expect(row.locator(".note")).not_to_contain_text("retired")
    finally:
        v.close()
        auto_start_stack.control("POST", "/_platform", {"notebookInstance": "alice-gpu", "platform": "notebook-al2023-v1"})


def test_stopping_a_groups_notebook_says_the_whole_group_loses_its_work(visit, stack):
    v = visit()
    v.sign_in("alice")  # alice is in ml-team, which ml-team-shared's group tag names
    shared = v.page.locator('#notebook-list [data-target="ml-team-shared"]')
    expect(shared.locator(".row-detail")).to_have_text(re.compile(r"^Shared with ml-team · "))
    # Her own says nothing of a group.
    expect(v.page.locator('#notebook-list [data-target="alice-analysis"] .row-detail')).not_to_contain_text("Shared")
    stack.control("DELETE", "/_calls")
    stop = shared.get_by_role("button", name="Stop ml-team-shared")
    stop.click()
    dialog = v.page.get_by_role("dialog", name="Stop ml-team-shared?")
    expect(dialog).to_contain_text("It is shared with ml-team: everyone in ml-team using it loses their running work")
    expect(dialog).to_have_accessible_description(re.compile(r"everyone in ml-team using it loses their running work"))
    assert v.page.evaluate("document.activeElement.textContent") == "Cancel"
    shot(v.page, "stop-confirm-shared.png", full_page=False)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    # A person's own notebook keeps the words it had: no group named.
    v.page.get_by_role("button", name="Stop alice-analysis").click()
    own = v.page.get_by_role("dialog", name="Stop alice-analysis?")
    expect(own).to_contain_text("its running kernels and anything not saved are lost")
    expect(own).not_to_contain_text("ml-team")
    v.page.keyboard.press("Escape")
    expect(own).to_be_hidden()
    expect(shared.locator(".badge")).to_have_text("Running")
    assert [c for c in stack.control("GET", "/_calls") if c["operation"] == "StopNotebookInstance"] == []
    assert v.problems == [], v.problems


# Starting and stopping, on a stack of their own whose state changes take time as in
# SageMaker: each test acts on targets no other test in this module changes, so any order works.
STATE_CHANGE = ("--notebook-start-seconds", "3", "--notebook-stop-seconds", "3", "--app-delete-seconds", "3")
lifecycle_stack = module_stack("lifecycle_stack", *STATE_CHANGE)
# A deployment that lets people stop but not start (template parameter Lifecycle).
stop_only_stack = module_stack("stop_only_stack", "--param", "Lifecycle=stop")
# The row refreshes itself at 5, 10, 20, 30 s (portal/js/lifecycle.js): a 3 s change shows by the first.
SETTLES = 15_000


@pytest.fixture
def lifecycle_visit(browser, lifecycle_stack):
    yield from visits(browser, lifecycle_stack)


def sagemaker_calls(stack: Stack, *operations: str) -> list[dict]:
    return [c for c in stack.control("GET", "/_calls") if c["operation"] in operations]


def test_start_a_stopped_notebook_see_it_run_then_stop_it(lifecycle_visit, lifecycle_stack):
    v = lifecycle_visit()
    v.sign_in("alice")
    row = v.page.locator('#notebook-list [data-target="alice-gpu"]')
    expect(row.locator(".badge")).to_have_text("Stopped")
    expect(row.get_by_role("button", name="Open alice-gpu")).to_have_accessible_description(re.compile("Start it"))
    sent = []
    v.context.on("request", lambda r: sent.append(r) if r.method == "POST" and "/alice-gpu/" in r.url else None)
    lifecycle_stack.control("DELETE", "/_calls")
    # SageMaker takes 2 s to answer the start: long enough to see the row busy.
    lifecycle_stack.control("POST", "/_faults", {"operation": "StartNotebookInstance", "fault": "slow", "seconds": 2, "count": 1})
    start = row.get_by_role("button", name="Start alice-gpu")
    start.click()
    expect(start).to_have_text("Starting alice-gpu…")
    expect(start).to_have_attribute("aria-disabled", "true")
    expect(row).to_have_attribute("aria-busy", "true")
    # Focus stays on it (it is not `disabled`), and a second press meanwhile sends nothing more.
    assert v.page.evaluate("document.activeElement.getAttribute('aria-label')") == "Start alice-gpu"
    v.page.keyboard.press("Enter")
    # The gate answered: the row says it is starting and has no button to press twice.
    expect(row.locator(".badge")).to_have_text("Starting…")
    expect(v.page.locator("#activity")).to_have_text("alice-gpu is starting. This page will show when it is running.")
    expect(row.locator(".lifecycle")).to_be_hidden()
    expect(row.locator(".note")).to_be_hidden()  # "It is stopped…" is no longer true
    shot(v.page, "starting.png")
    # No Refresh pressed: the row looks again by itself and settles.
    expect(row.locator(".badge")).to_have_text("Running", timeout=SETTLES)
    expect(v.page.locator("#activity")).to_have_text("alice-gpu is running now.")
    expect(row.locator(".row-detail")).to_have_text(re.compile(r"^Running for (less than a minute|1 min) · ml\.t3\.medium$"))
    assert [c["input"] for c in sagemaker_calls(lifecycle_stack, "StartNotebookInstance")] == [{"NotebookInstanceName": "alice-gpu"}]

    # This time by keyboard alone: Enter on Stop, Tab from Cancel to the dialog's Stop, Enter.
    row.get_by_role("button", name="Stop alice-gpu").focus()
    v.page.keyboard.press("Enter")
    dialog = v.page.get_by_role("dialog", name="Stop alice-gpu?")
    expect(dialog).to_contain_text("The notebook instance alice-gpu (ml.t3.medium) stops")
    v.page.keyboard.press("Tab")
    assert v.page.evaluate("document.activeElement.textContent") == "Stop alice-gpu"
    v.page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(row.locator(".badge")).to_have_text("Stopping…")
    expect(row.locator(".badge")).to_have_text("Stopped", timeout=SETTLES)
    expect(v.page.locator("#activity")).to_have_text("alice-gpu is stopped now.")
    expect(row.get_by_role("button", name="Start alice-gpu")).to_be_visible()
    # Through the redraws the keyboard's place stayed on this row, never dropped to the page.
    assert v.page.evaluate("document.activeElement.closest('li')?.dataset.target") == "alice-gpu"
    # Each was a POST with the token in the Authorization header, none in the URL.
    assert [(urllib.parse.urlsplit(r.url).path, r.method) for r in sent] == [
        ("/notebook-instances/alice-gpu/start", "POST"), ("/notebook-instances/alice-gpu/stop", "POST")]
    for request in sent:
        assert request.headers["authorization"].startswith("Bearer ") and "access_token" not in request.url
    assert v.problems == [], v.problems


def test_stop_a_spaces_app_and_the_space_stays(lifecycle_visit, lifecycle_stack):
    v = lifecycle_visit()
    v.sign_in("alice")
    row = v.page.locator('.space-list [data-target="alice-private"]')
    expect(row.locator(".badge")).to_have_text("Running")
    expect(row.locator(".row-detail")).to_have_text(re.compile(r"^Private space · JupyterLab · Running for .* · ml\.t3\.medium$"))
    lifecycle_stack.control("DELETE", "/_calls")
    row.get_by_role("button", name="Stop alice-private").click()
    dialog = v.page.get_by_role("dialog", name="Stop the JupyterLab app in alice-private?")
    expect(dialog).to_contain_text("The space and its files stay")
    shot(v.page, "stop-confirm.png", full_page=False)
    dialog.get_by_role("button", name="Stop the app in alice-private").click()
    expect(row.locator(".badge")).to_have_text("Stopping…")
    expect(row.locator(".badge")).to_have_text("Ready", timeout=SETTLES)
    expect(v.page.locator("#activity")).to_have_text("The app in alice-private has stopped.")
    expect(row.locator(".row-detail")).to_have_text("Private space · JupyterLab")  # nothing running, nothing timed
    expect(row.get_by_role("button", name="Open alice-private")).to_be_enabled()  # the space is still there
    expect(row.locator(".lifecycle")).to_be_hidden()
    deleted = sagemaker_calls(lifecycle_stack, "DeleteApp")
    assert [(c["input"]["SpaceName"], c["input"]["AppType"], c["input"]["AppName"]) for c in deleted] == [
        ("alice-private", "JupyterLab", "default")]
    assert not sagemaker_calls(lifecycle_stack, "DeleteSpace")


def test_a_stop_can_be_cancelled_with_nothing_changed(lifecycle_visit, lifecycle_stack):
    v = lifecycle_visit()
    v.sign_in("alice")
    row = v.page.locator('#notebook-list [data-target="alice-analysis"]')
    stop = row.get_by_role("button", name="Stop alice-analysis")
    lifecycle_stack.control("DELETE", "/_calls")
    for close in ("button", "Escape"):
        stop.focus()
        v.page.keyboard.press("Enter")
        dialog = v.page.get_by_role("dialog", name="Stop alice-analysis?")
        expect(dialog).to_be_visible()
        # Focus starts on the safe choice; the page behind cannot be reached while it is open.
        assert v.page.evaluate("document.activeElement.textContent") == "Cancel"
        if close == "button":
            dialog.get_by_role("button", name="Cancel").click()
        else:
            v.page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        assert v.page.evaluate("document.activeElement.getAttribute('aria-label')") == "Stop alice-analysis", close
    expect(row.locator(".badge")).to_have_text("Running")
    assert sagemaker_calls(lifecycle_stack, "StopNotebookInstance", "DeleteApp") == []
    assert not any("/stop" in u for u in v.requests)  # nothing was even sent to the gate


def test_another_persons_targets_cannot_be_started_or_stopped(lifecycle_visit, lifecycle_stack):
    v = lifecycle_visit()
    v.sign_in("bob")
    # team-shared is alice's: bob may open it but not stop its app, so he gets no button, and why.
    shared = v.page.locator('.space-list [data-target="team-shared"]')
    expect(shared.locator(".badge")).to_have_text("Running")
    expect(shared.locator(".lifecycle")).to_be_hidden()
    expect(shared.locator(".note")).to_have_text("Only its owner, alice, can stop its app.")
    token = v.stored_user()["access_token"]
    lifecycle_stack.control("DELETE", "/_calls")
    gate = lifecycle_stack.state["gateway"]

    def post(path):
        response = v.page.request.post(gate + path, headers={"Authorization": f"Bearer {token}"})
        return response.status, (response.json().get("error") or {}).get("code")

    # Asked directly, past the portal: alice's notebooks are not found for bob, and the shared
    # space's app is its owner's to stop.
    assert post("/notebook-instances/alice-analysis/stop") == (404, "not_found")
    assert post("/notebook-instances/alice-gpu/start") == (404, "not_found")
    assert post("/studio/spaces/alice-private/stop") == (404, "not_found")
    assert post("/studio/spaces/team-shared/stop") == (403, "not_space_owner")
    assert sagemaker_calls(lifecycle_stack, "StartNotebookInstance", "StopNotebookInstance", "DeleteApp") == []
    v.page.get_by_role("button", name="Refresh").click()
    expect(shared.locator(".badge")).to_have_text("Running")


def test_a_refused_stop_is_said_in_words_and_leaves_the_row_as_it_was(lifecycle_visit, lifecycle_stack):
    v = lifecycle_visit()
    v.sign_in("alice")
    row = v.page.locator('#notebook-list [data-target="alice-analysis"]')
    lifecycle_stack.control("POST", "/_faults", {"operation": "StopNotebookInstance", "fault": "throttle", "count": 50})
    try:
        row.get_by_role("button", name="Stop alice-analysis").click()
        v.page.get_by_role("dialog").get_by_role("button", name="Stop alice-analysis").click()
        alert = v.page.get_by_role("alert")
        expect(alert).to_contain_text(re.compile(r"SageMaker is busy right now\. Try again in (\d+ seconds|a few seconds)\."))
        expect(v.page.locator("#problem-reference")).to_have_text(re.compile(r"^Reference: \S+"))
    finally:
        lifecycle_stack.control("DELETE", "/_faults")
    expect(row.locator(".badge")).to_have_text("Running")
    expect(row.get_by_role("button", name="Stop alice-analysis")).to_be_enabled()
    expect(row).not_to_have_attribute("aria-busy", "true")


def test_a_row_that_stays_pending_is_looked_at_four_times_then_left_to_refresh(lifecycle_visit, lifecycle_stack):
    # bob-archive (no other test here touches it) will take an hour to start. The page's clock is
    # Playwright's, so its 5, 10, 20, 30 s waits pass at once; the stand-in's clock is moved on after.
    lifecycle_stack.control("POST", "/_timing", {"notebookStartSeconds": 3600})
    try:
        v = lifecycle_visit()
        v.page.clock.install()
        v.sign_in("bob")
        # From here the page's time moves only when the test says (nothing is due before then).
        v.page.clock.pause_at(time.time() + 60)
        looks = []
        v.page.on("request", lambda r: looks.append(r.url) if r.method == "GET" and r.url.endswith("/targets") else None)
        row = v.page.locator('#notebook-list [data-target="bob-archive"]')
        row.get_by_role("button", name="Start bob-archive").click()
        expect(row.locator(".badge")).to_have_text("Starting…")
        assert looks == []  # the answer said Pending: no list asked for yet
        for count, seconds in enumerate([5, 10, 20, 30], start=1):
            v.page.clock.run_for(seconds * 1000 - 100)
            v.page.wait_for_timeout(200)
            assert len(looks) == count - 1, f"looked before the {seconds} s wait was over"
            v.page.clock.run_for(200)
            eventually(v.page, lambda: len(looks) == count)
            # The list is drawn (and the next wait set) before the page's time moves on.
            expect(v.page.locator("#updated")).to_have_text(re.compile(r"items · updated"))
            expect(row.locator(".badge")).to_have_text("Starting…")
        expect(v.page.locator("#activity")).to_have_text("bob-archive is still starting. Press Refresh to see whether it is done.")
        v.page.clock.run_for(10 * 60 * 1000)  # ten minutes more: no more looks
        v.page.wait_for_timeout(500)
        assert len(looks) == 4
        lifecycle_stack.control("POST", "/_clock", {"advance": 3600})
        v.page.get_by_role("button", name="Refresh").click()
        expect(row.locator(".badge")).to_have_text("Running")
        expect(v.page.locator("#activity")).to_have_text("bob-archive is running now.")
    finally:
        lifecycle_stack.control("POST", "/_timing", {"notebookStartSeconds": 3})


def test_something_left_running_is_marked(lifecycle_visit, lifecycle_stack):
    lifecycle_stack.control("POST", "/_age", {"seconds": 9 * 3600 + 5 * 60, "notebookInstance": "ml-team-shared"})
    v = lifecycle_visit()
    v.sign_in("alice")
    row = v.page.locator('#notebook-list [data-target="ml-team-shared"]')
    expect(row.locator(".row-detail")).to_have_text("Shared with ml-team · Running for 9 h 5 min · ml.t3.medium")
    flag = row.locator(".flag")
    expect(flag).to_have_text("On for more than 8 h: stop it if you are done with it.")
    expect(row.get_by_role("button", name="Stop ml-team-shared")).to_have_accessible_description(flag.inner_text())
    expect(v.page.locator('#notebook-list [data-target="alice-analysis"] .flag')).to_be_hidden()
    assert v.page.evaluate(LOW_CONTRAST) == []
    shot(v.page, "long-running.png")


def test_lifecycle_controls_fit_a_phone(lifecycle_visit):
    v = lifecycle_visit(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    v.sign_in("alice")
    stop = v.page.get_by_role("button", name="Stop alice-analysis")
    box = stop.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 44
    stop.click()
    dialog = v.page.get_by_role("dialog", name="Stop alice-analysis?")
    expect(dialog).to_be_visible()
    assert v.page.evaluate("document.documentElement.scrollWidth") <= 360
    dialog_box = dialog.bounding_box()
    assert dialog_box["x"] >= 0 and dialog_box["x"] + dialog_box["width"] <= 360
    shot(v.page, "stop-confirm-phone.png", full_page=False)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_a_disabled_action_offers_no_button(browser, stop_only_stack):
    v = Visit(browser, stop_only_stack)
    try:
        v.sign_in("alice")
        stopped = v.page.locator('#notebook-list [data-target="alice-gpu"]')
        expect(stopped.locator(".badge")).to_have_text("Stopped")
        expect(stopped.locator(".lifecycle")).to_be_hidden()
        expect(stopped.get_by_role("button", name="Open alice-gpu")).to_have_accessible_description(
            "It is stopped. Ask your admin to start it.")
        expect(v.page.get_by_role("button", name="Stop alice-analysis")).to_be_visible()
        assert v.page.get_by_role("button", name=re.compile("^Start ")).count() == 0
        # And the gate refuses it when asked directly, before any SageMaker call.
        stop_only_stack.control("DELETE", "/_calls")
        token = v.stored_user()["access_token"]
        response = v.page.request.post(stop_only_stack.state["gateway"] + "/notebook-instances/alice-gpu/start",
                                       headers={"Authorization": f"Bearer {token}"})
        assert (response.status, response.json()["error"]["code"]) == (403, "action_disabled")
        assert stop_only_stack.control("GET", "/_calls") == []
    finally:
        v.close()


# The managed-login stand-in keeps Cognito's rules, so the portal is tested against them.

def authorize_query(stack: Stack, **overrides) -> str:
    query = {"client_id": stack.state["client_id"], "redirect_uri": stack.state["portal"] + "/",
             "response_type": "code", "state": "s1", "code_challenge_method": "S256",
             "code_challenge": pkce_challenge("v" * 43), "scope": "openid"}
    query.update(overrides)
    return stack.state["login"] + "/oauth2/authorize?" + urllib.parse.urlencode(query)


def authorize(stack: Stack, **overrides) -> tuple[int, dict, str]:
    return stack.get("", base=authorize_query(stack, **overrides))


def sign_in_code(stack: Stack, user: str = "alice", verifier: str = "v" * 43) -> str:
    """Signs in on the managed-login form as a browser does: its hidden fields and cookies go back with it."""
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(authorize_query(stack, code_challenge=pkce_challenge(verifier)), timeout=10) as response:
        page = response.read().decode()
    hidden = {name: html.unescape(value) for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page)}
    form = urllib.parse.urlencode({**hidden, "username": user, "password": DEMO_USERS[user][0]}).encode()
    try:
        opener.open(urllib.request.Request(stack.state["login"] + "/oauth2/authorize", data=form), timeout=10)
    except urllib.error.HTTPError as redirect:
        location = redirect.headers["Location"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert location.startswith(stack.state["portal"] + "/?") and query["state"] == "s1"
    return query["code"]


def token_endpoint(stack: Stack, **form) -> tuple[int, dict]:
    """Managed login's token endpoint, asked directly as the app client."""
    data = urllib.parse.urlencode({"client_id": stack.state["client_id"], **form}).encode()
    request = urllib.request.Request(stack.state["login"] + "/oauth2/token", data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def exchange(stack: Stack, code: str, verifier: str = "v" * 43, redirect_uri: str | None = None):
    return token_endpoint(stack, grant_type="authorization_code", code=code, code_verifier=verifier,
                          redirect_uri=redirect_uri or stack.state["portal"] + "/")


def test_a_code_is_good_once_and_only_with_its_verifier(stack):
    code = sign_in_code(stack)
    assert exchange(stack, code, verifier="w" * 43) == (400, {"error": "invalid_grant"})
    assert exchange(stack, code)[0] == 400  # a failed attempt spent it
    code = sign_in_code(stack)
    assert exchange(stack, code, redirect_uri="http://127.0.0.1:1/")[0] == 400
    code = sign_in_code(stack)
    status, tokens = exchange(stack, code)
    assert status == 200 and {"access_token", "id_token", "refresh_token"} <= set(tokens)
    assert exchange(stack, code) == (400, {"error": "invalid_grant"})
    # The tokens are the pool's: the API accepts the access token.
    assert stack.get("/targets", tokens["access_token"])[0] == 200


def test_an_unknown_redirect_uri_or_a_missing_challenge_is_refused(stack):
    status, headers, _ = authorize(stack, redirect_uri="https://evil.example/")
    assert status == 400 and "Location" not in headers
    status, headers, _ = authorize(stack, code_challenge="")
    assert status == 302 and "error=invalid_request" in headers["Location"]
    status, headers, _ = authorize(stack, code_challenge_method="plain")
    assert status == 302 and "error=invalid_request" in headers["Location"]


def test_discovery_names_the_tokens_issuer(stack):
    status, _, body = stack.get(f"/{stack.state['pool_id']}/.well-known/openid-configuration", base=stack.state["login"])
    metadata = json.loads(body)
    issuer = jwt.decode(stack.token("alice", "IdToken"), options={"verify_signature": False})["iss"]
    assert status == 200 and metadata["issuer"] == issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]


# The deployed portal's policy: CloudFront's header (template.yaml, PortalHeaders) and the <meta>
# that scripts/portal-config writes into the uploaded index.html. A browser enforces both.

def load_portal_config():
    loader = importlib.machinery.SourceFileLoader("portal_config", str(ROOT / "scripts/portal-config"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


portal_config = load_portal_config()
DEPLOYED = {  # a deployment in eu-west-1 with the template's own pool, as portal-config writes it
    "apiUrl": "https://abc123defg.execute-api.eu-west-1.amazonaws.com", "region": "eu-west-1",
    "userPoolId": "eu-west-1_AbCdEf", "clientId": "client0123456789",
    "cognitoDomain": "https://notebook-gate-123456789012.auth.eu-west-1.amazoncognito.com",
}


def deployed() -> tuple[dict, str]:
    """The portal's config.json as portal-config writes it from the stack's outputs, and CloudFront's
    Content-Security-Policy header, for one deployment of template.yaml."""
    deployment = render()
    outputs = [{"OutputKey": key, "OutputValue": deployment.evaluate(output["Value"])}
               for key, output in deployment.template["Outputs"].items()
               if "Condition" not in output or deployment.condition(output["Condition"])]
    config = portal_config.portal_config({"StackId": PSEUDO["AWS::StackId"], "Outputs": outputs})
    headers = deployment.properties("PortalHeaders")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    return config, headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]


def test_the_build_is_the_portal_with_config_and_the_policy_meta(tmp_path):
    built = portal_config.build_portal(DEPLOYED, tmp_path / "portal")
    files = lambda root: {str(f.relative_to(root)) for f in root.rglob("*") if f.is_file()}  # noqa: E731
    assert files(built) == (files(ROOT / "portal") - {"config.json", "config.example.json"}) | {"config.json"}
    assert json.loads((built / "config.json").read_text()) == DEPLOYED
    index = (built / "index.html").read_text()
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', index)
    assert html.unescape(meta[1]) == (
        "connect-src 'self' https://abc123defg.execute-api.eu-west-1.amazonaws.com "
        "https://cognito-idp.eu-west-1.amazonaws.com https://notebook-gate-123456789012.auth.eu-west-1.amazoncognito.com; "
        "form-action 'self' https://notebook-gate-123456789012.auth.eu-west-1.amazoncognito.com")
    assert index.index(meta[0]) < index.index("<script")  # a <meta> policy covers only what follows it
    # A rebuild replaces the old one; a folder that is not a build is never emptied.
    portal_config.build_portal(DEPLOYED, built)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a portal this script built"):
        portal_config.build_portal(DEPLOYED, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("bad", ["http://abc.execute-api.eu-west-1.amazonaws.com", "https://*.execute-api.eu-west-1.amazonaws.com",
                                 "https://a.example; script-src *", "javascript:alert(1)"])
def test_the_meta_names_only_exact_https_origins(tmp_path, bad):
    with pytest.raises(ValueError):
        portal_config.build_portal({**DEPLOYED, "apiUrl": bad}, tmp_path / "portal")


CSP_PROBE = """async ({ fetches, form }) => {
  const violations = [];
  document.addEventListener("securitypolicyviolation", (e) => violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
  const fetched = {};
  for (const url of fetches) {
    try {
      await fetch(url, { method: "POST", body: "x", credentials: "omit" });
      fetched[url] = "allowed";
    } catch {
      fetched[url] = "blocked";
    }
  }
  if (form) {
    const element = Object.assign(document.createElement("form"), { method: "post", action: form });
    document.body.append(element);
    element.submit();
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // violation events are queued as tasks
  return { fetched, violations };
}"""


def probe_policy(browser, root: Path, config: dict, header: str, urls: list[str], form: str | None = None) -> dict:
    """Serves `root` under `header`, as CloudFront does, and asks for each of `urls` from the page.
    Nothing leaves the machine: a request the policy lets out is answered here (route), a refused one
    never becomes a request."""
    site = PortalSite(root, 0).start(config, header)
    context = browser.new_context()
    answered = []

    def answer(route):
        answered.append(route.request.url)
        route.fulfill(status=200, body="{}", headers={"Access-Control-Allow-Origin": "*"})

    try:
        context.route(lambda url: url.startswith("https://"), answer)
        page = context.new_page()
        page.goto(site.url + "/")
        expect(page.locator("#signed-out")).to_be_visible()  # the portal ran under its policy
        result = page.evaluate(CSP_PROBE, {"fetches": urls, "form": form})
        result["answered"] = answered
        return result
    finally:
        context.close()
        site.stop()


def test_the_deployed_policy_lets_the_portal_reach_only_its_own_api_and_login(browser, tmp_path):
    config, header = deployed()
    region = config["region"]
    own = [config["apiUrl"] + "/targets", config["cognitoDomain"] + "/oauth2/token",
           config["cognitoDomain"] + "/oauth2/revoke",
           f"https://cognito-idp.{region}.amazonaws.com/{config['userPoolId']}/.well-known/openid-configuration"]
    other_api = f"https://attacker1.execute-api.{region}.amazonaws.com/collect"
    other_login = f"https://attacker.auth.{region}.amazoncognito.com/collect"
    wider = "https://wider.example/"
    urls = [*own, other_api, other_login, wider]
    assert f"https://*.execute-api.{region}.amazonaws.com" in header  # what the template cannot narrow

    # CloudFront's header alone lets the page reach any API in the region.
    alone = probe_policy(browser, ROOT / "portal", config, header, urls)
    assert alone["fetched"][other_api] == "allowed"
    assert {url: alone["fetched"][url] for url in own} == {url: "allowed" for url in own}

    # With the meta portal-config writes, only the deployment's own origins are.
    built = portal_config.build_portal(config, tmp_path / "portal")
    form = f"https://attacker.auth.{region}.amazoncognito.com/login"
    both = probe_policy(browser, built, config, header, urls, form=form)
    assert {url: both["fetched"][url] for url in own} == {url: "allowed" for url in own}
    for other in (other_api, other_login, wider):
        assert both["fetched"][other] == "blocked", other
        assert f"connect-src {other}" in both["violations"], both["violations"]
    assert f"form-action {form}" in both["violations"]
    # Each policy reports what it refuses: the header and the meta both refused this one.
    assert both["violations"].count(f"connect-src {wider}") == 2
    # (A browser writes host names in lower case; the template's placeholders are not.)
    assert not [v for v in both["violations"] if any(v.endswith(url.lower()) for url in own)]
    assert sorted(u.lower() for u in both["answered"]) == sorted(u.lower() for u in own)  # nothing else was asked

    # The two are enforced together: a meta that allows more than the header gains nothing.
    index = built / "index.html"
    index.write_text(index.read_text().replace("connect-src 'self'", f"connect-src 'self' {wider}"))
    widened = probe_policy(browser, built, config, header, urls)
    assert widened["fetched"][wider] == "blocked"
    assert widened["fetched"][other_api] == "blocked"
