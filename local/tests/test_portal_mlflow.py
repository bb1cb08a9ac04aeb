"""The portal's Studio cards (one per domain) and its MLflow section in Chromium, against
the local stack as local.stack seeds it: two Studio domains, "research" (everyone's profile) and
"platform" (alice's only), and MLflow tracking servers and apps tagged as notebooks are.
Screenshots go to test-output/portal/ with test_portal.py's."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from local.stack import STUDIO_DOMAINS
from local.tests.conftest import LOW_CONTRAST, Stack, Visit, module_stack, shot

# The function configured with both seeded Studio domains (test stacks have one unless told).
stack = module_stack("stack", "--studio-domains", "2")
# Opening a stopped tracking server starts it (AUTO_START), and starting takes 3 s, as SageMaker's
# takes minutes: long enough to see the row starting.
auto_start_stack = module_stack("auto_start_stack", "--studio-domains", "2", "--auto-start", "--mlflow-start-seconds", "3")
# A deployment with MLflow off (template parameter Mlflow=false) and one Studio domain.
no_mlflow_stack = module_stack("no_mlflow_stack", "--param", "Mlflow=false")
# The row looks again by itself at 5 s (portal/js/lifecycle.js): a 3 s start shows by then.
SETTLES = 15_000

# What the seed gives each person (local/stack.py), and what is someone else's.
MLFLOW = {
    "alice": {"servers": ["alice-mlflow", "alice-mlflow-stopped", "ml-team-mlflow"], "apps": ["alice-app", "ml-team-app"]},
    "bob": {"servers": ["bob-mlflow"], "apps": ["bob-app"]},
}
SPACES = {"alice": {"research": ["alice-private", "team-shared"], "platform": ["alice-platform"]},
          "bob": {"research": ["bob-private", "team-shared"]}}


def card(page: Page, domain_name: str):
    """A Studio card: a region named by its heading, the domain's name."""
    return page.get_by_role("region", name=domain_name, exact=True)


def row(page: Page, name: str):
    return page.locator(f'#mlflow [data-target="{name}"]')


def domain_id(stack: Stack, domain_name: str) -> str:
    return next(d for d, name in stack.state["domains"].items() if name == domain_name)


def sagemaker_calls(stack: Stack, operation: str) -> list[dict]:
    return [c for c in stack.control("GET", "/_calls") if c["operation"] == operation]


def gate_asks(v: Visit, stack: Stack) -> list[urllib.parse.SplitResult]:
    """What the page asked the gate for (GET and POST; a CORS preflight is not an ask), from now on."""
    asked: list[urllib.parse.SplitResult] = []
    v.context.on("request", lambda r: asked.append(urllib.parse.urlsplit(r.url))
                 if r.url.startswith(stack.state["gateway"]) and r.method != "OPTIONS" else None)
    return asked


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_each_studio_domain_is_a_card_named_after_it(visit, user):
    v = visit()
    v.sign_in(user)
    titles = v.page.locator(".studio-domain .studio-title")
    # In the deployment's order, each with the person's profile and that domain's spaces only.
    expect(titles).to_have_text([d for d in STUDIO_DOMAINS if d in SPACES[user]])
    for name, spaces in SPACES[user].items():
        expect(card(v.page, name).locator(".studio-profile")).to_have_text(user)
        assert sorted(card(v.page, name).locator(".row-name").all_inner_texts()) == spaces
        # Each card's Open Studio says which domain it opens.
        expect(card(v.page, name).get_by_role("button", name=f"Open Studio {name}", exact=True)).to_be_visible()
    if user == "bob":
        assert "platform" not in v.page.locator("#studio").inner_text()  # no profile of his there
    assert v.problems == [], v.problems


def test_each_card_opens_studio_in_its_own_domain_with_its_own_app(visit, stack):
    v = visit()
    v.sign_in("alice")
    asked = gate_asks(v, stack)
    research, platform = card(v.page, "research"), card(v.page, "platform")
    platform.get_by_label("Open Studio in").select_option(label="Code Editor")
    expect(research.get_by_label("Open Studio in")).to_have_value("studio")  # each card its own choice
    with v.context.expect_page() as opened:
        platform.get_by_role("button", name="Open Studio platform").click()
    home = opened.value.locator("#opened")
    expect(home).to_have_attribute("data-domain", domain_id(stack, "platform"))
    expect(home).to_have_attribute("data-profile", "alice")
    expect(home).to_have_attribute("data-app", "app:CodeEditor:")
    expect(home).to_have_attribute("data-space", "")

    with v.context.expect_page() as opened:
        research.get_by_role("button", name="Open Studio research").click()
    expect(opened.value.locator("#opened")).to_have_attribute("data-domain", domain_id(stack, "research"))

    with v.context.expect_page() as opened:
        platform.get_by_role("button", name="Open alice-platform").click()
    space = opened.value.locator("#opened")
    expect(space).to_have_attribute("data-domain", domain_id(stack, "platform"))
    expect(space).to_have_attribute("data-space", "alice-platform")
    expect(space).to_have_attribute("data-app", "app:CodeEditor:")
    # Every Studio open named its domain to the gate.
    studio_asks = [u for u in asked if u.path.endswith("/studio")]
    assert [dict(urllib.parse.parse_qsl(u.query))["domain"] for u in studio_asks] == [
        domain_id(stack, "platform"), domain_id(stack, "research"), domain_id(stack, "platform")]
    # The choice is the tab's: a reload keeps it for that card only.
    v.page.reload()
    chooser = card(v.page, "platform").get_by_label("Open Studio in")
    expect(chooser).to_have_value("codeeditor")
    expect(card(v.page, "research").get_by_label("Open Studio in")).to_have_value("studio")
    # A redraw (as the list's own looks at changing rows do; here a Refresh pressed from script,
    # which leaves the focus where it is) keeps the card: its chooser keeps the focus.
    chooser.focus()
    with v.page.expect_response(lambda r: r.url.endswith("/targets")):
        v.page.evaluate("() => document.getElementById('refresh').click()")
    expect(v.page.locator("#updated")).to_have_text(re.compile(r"items · updated"))
    assert v.page.evaluate("() => document.activeElement.id") == f"studio-app-{domain_id(stack, 'platform')}"
    assert v.problems == [], v.problems


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_mlflow_lists_the_persons_tracking_servers_and_apps(visit, user):
    v = visit()
    v.sign_in(user)
    expect(v.page.get_by_role("heading", name="MLflow")).to_be_visible()
    expect(v.page.locator("#mlflow-server-list .row")).to_have_count(len(MLFLOW[user]["servers"]))
    assert v.names("#mlflow-server-list") == MLFLOW[user]["servers"]
    assert v.names("#mlflow-app-list") == MLFLOW[user]["apps"]
    expect(v.page.locator("#mlflow-unchecked")).to_be_hidden()
    expect(v.page.locator("#sections").get_by_role("link", name="MLflow")).to_be_visible()
    other = "bob" if user == "alice" else "alice"
    text = v.page.locator("body").inner_text()
    for name in set(MLFLOW[other]["servers"] + MLFLOW[other]["apps"] + ["untagged-mlflow"]) - set(MLFLOW[user]["servers"]):
        assert name not in text, name
    shot(v.page, f"mlflow-{user}.png")
    assert v.problems == [], v.problems


def test_mlflow_rows_show_version_state_and_what_open_does(visit):
    v = visit()
    v.sign_in("alice")
    running = row(v.page, "alice-mlflow")
    # A running server's size follows its version: what the Price List prices it by.
    expect(running.locator(".row-detail")).to_have_text("MLflow 2.16.2 · Small")
    expect(running.locator(".badge")).to_have_text("Running")
    expect(running.get_by_role("button", name="Open alice-mlflow")).to_be_enabled()
    # Without auto-start a stopped tracking server says so; the portal has no Start for it.
    stopped = row(v.page, "alice-mlflow-stopped")
    expect(stopped.locator(".badge")).to_have_text("Stopped")
    button = stopped.get_by_role("button", name="Open alice-mlflow-stopped")
    expect(button).to_be_disabled()
    expect(button).to_have_accessible_description("It is stopped. Ask your admin to start it.")
    expect(stopped.locator(".lifecycle")).to_be_hidden()
    app = row(v.page, "alice-app")
    expect(app.locator(".row-detail")).to_have_text("MLflow 3.0.0")
    expect(app.locator(".badge")).to_have_text("Ready")
    expect(app.get_by_role("button", name="Open alice-app")).to_be_enabled()
    assert v.page.evaluate(LOW_CONTRAST) == []


@pytest.mark.parametrize("name, kind", [("alice-mlflow", "mlflow-tracking-server"), ("alice-app", "mlflow-app")])
def test_open_lands_on_the_stand_in_mlflow_page_with_a_new_url_each_time(visit, stack, name, kind):
    v = visit()
    v.sign_in("alice")
    asked = gate_asks(v, stack)
    operation = {"mlflow-tracking-server": "CreatePresignedMlflowTrackingServerUrl",
                 "mlflow-app": "CreatePresignedMlflowAppUrl"}[kind]
    before = len(sagemaker_calls(stack, operation))
    tabs = []
    # A presigned MLflow URL works once: a second Open must land too, on a URL of its own.
    for _ in range(2):
        with v.context.expect_page() as opened:
            row(v.page, name).get_by_role("button", name=f"Open {name}").click()
        tabs.append(opened.value)
        page = tabs[-1].locator("#opened")
        expect(page).to_have_attribute("data-kind", kind)
        expect(page).to_have_attribute("data-name", name)
        assert tabs[-1].evaluate("window.opener") is None  # MLflow's page has no handle on the portal
    if kind == "mlflow-app":
        expect(tabs[0].locator("#opened")).to_have_attribute("data-id", stack.state["mlflow_apps"][name])
    assert len(sagemaker_calls(stack, operation)) - before == 2
    assert tabs[0].url != tabs[1].url
    # The gate was asked for this target by its route; no token reached the MLflow page.
    route = {"mlflow-tracking-server": f"/mlflow/tracking-servers/{name}",
             "mlflow-app": f"/mlflow/apps/{stack.state['mlflow_apps'].get(name, '')}"}[kind]
    assert len([u for u in asked if u.path.endswith(route)]) == 2
    assert not any("access_token" in u for u in v.requests if u.startswith(stack.state["page"]))
    if kind == "mlflow-tracking-server":
        shot(tabs[0], "mlflow-opened.png")
    assert v.problems == [], v.problems


def test_mlflow_the_gate_could_not_check_is_said_so_and_a_refresh_shows_it(visit, stack):
    v = visit()
    v.sign_in("alice")
    notice = v.page.locator("#mlflow-unchecked")
    expect(v.page.locator("#mlflow-server-list .row")).to_have_count(3)
    # The index finds ml-team-mlflow, but SageMaker will not describe it for a while: the gate
    # cannot say where it stands, so it leaves it out and says that some could not be checked.
    stack.control("POST", "/_faults", {"operation": "DescribeMlflowTrackingServer", "fault": "error", "count": 1000,
                                       "match": "ml-team-mlflow"})
    try:
        v.page.get_by_role("button", name="Refresh").click()
        expect(notice).to_have_text(re.compile(r"MLflow .* could not be checked just now, so this list may be incomplete.*Refresh in a minute"))
        expect(notice).not_to_have_text(re.compile(r"\d"))  # the gate says "some", never how many
        assert v.names("#mlflow-server-list") == ["alice-mlflow", "alice-mlflow-stopped"]
        expect(v.page.locator("#notebooks-unchecked")).to_be_hidden()  # the notebooks were all checked
        expect(v.page.locator("#problem")).to_be_hidden()
        assert v.page.evaluate(LOW_CONTRAST) == []
    finally:
        stack.control("DELETE", "/_faults")
    v.page.get_by_role("button", name="Refresh").click()
    expect(notice).to_be_hidden()
    expect(v.page.locator("#mlflow-server-list .row")).to_have_count(3)


def test_with_auto_start_open_starts_a_stopped_tracking_server(browser, auto_start_stack):
    v = Visit(browser, auto_start_stack)
    try:
        v.sign_in("alice")
        stopped = row(v.page, "alice-mlflow-stopped")
        expect(stopped.locator(".badge")).to_have_text("Stopped")
        button = stopped.get_by_role("button", name="Open alice-mlflow-stopped")
        expect(button).to_have_accessible_description(re.compile(r"^Open starts it\."))
        auto_start_stack.control("DELETE", "/_calls")
        with v.context.expect_page() as opened:
            button.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert "alice-mlflow-stopped" in tab.locator("body").inner_text()  # it says what it waits for
        expect(stopped.locator(".badge")).to_have_text("Starting…")
        # No Refresh pressed: the row looks again by itself and sees it running.
        expect(stopped.locator(".badge")).to_have_text("Running", timeout=SETTLES)
        expect(stopped.get_by_role("button", name="Open alice-mlflow-stopped")).to_be_enabled()
        # The tab waited for it (the gate's Retry-After is 15 s) and then went into MLflow.
        expect(tab.locator("#opened")).to_have_attribute("data-name", "alice-mlflow-stopped", timeout=45_000)
        expect(tab.locator("#opened")).to_have_attribute("data-kind", "mlflow-tracking-server")
        # Started once: asking again while it started, or once it ran, started nothing more.
        assert [c["input"] for c in sagemaker_calls(auto_start_stack, "StartMlflowTrackingServer")] == [
            {"TrackingServerName": "alice-mlflow-stopped"}]
        assert v.problems == [], v.problems
    finally:
        v.close()


def test_without_mlflow_the_section_and_its_link_are_not_shown(browser, no_mlflow_stack):
    v = Visit(browser, no_mlflow_stack)
    try:
        no_mlflow_stack.control("DELETE", "/_calls")
        v.sign_in("bob")
        expect(v.page.locator("#notebook-list .row")).to_have_count(2)
        expect(v.page.locator("#mlflow")).to_be_hidden()
        # The links name the two sections there are; one card, for the one domain configured.
        expect(v.page.locator("#sections a:visible")).to_have_text(["Notebook instances", "Studio"])
        expect(v.page.locator(".studio-domain .studio-title")).to_have_text(["research"])
        expect(v.page.locator("#updated")).to_have_text(re.compile(r"^4 items · updated"))  # 2 notebooks, 2 spaces
        # No MLflow call, and the Tagging API is not asked for MLflow resources either.
        asked = no_mlflow_stack.control("GET", "/_calls")
        assert [c for c in asked if c["operation"] == "GetResources"]
        assert not [c for c in asked if "Mlflow" in c["operation"] or "mlflow" in json.dumps(c["input"])]
        assert v.problems == [], v.problems
    finally:
        v.close()


def test_cards_and_mlflow_fit_a_phone(visit):
    v = visit(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    v.sign_in("alice")
    expect(v.page.locator(".studio-domain")).to_have_count(2)
    expect(v.page.locator("#mlflow-server-list .row")).to_have_count(3)
    assert v.page.evaluate("document.documentElement.scrollWidth") <= 360
    for name in ["Open Studio platform", "Open alice-mlflow"]:
        box = v.page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 44, name
    shot(v.page, "studio-mlflow-phone.png")
