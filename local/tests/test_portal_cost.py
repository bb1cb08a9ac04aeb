"""What running costs, in a real browser (Debian's headless Chromium through Playwright) against the
local stack: each running target's price from the Price List stand-in, when the running-time policy
stops it, and "Keep running until…" through the gate's keep route. The browser runs half an hour
off UTC (Asia/Kolkata), so a time shown or sent in UTC, or a whole hour off, shows up.
Screenshots go to test-output/portal/ for a reviewer."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from local.tests.conftest import LOW_CONTRAST, Stack, Visit, module_stack, shot, visits

ZONE = "Asia/Kolkata"
LOCAL = ZoneInfo(ZONE)
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PRICE = re.compile(r"^≈ \$(?P<hour>[\d,.]+)/h(?: · \$(?P<so_far>[\d,.]+) so far)?$")

# The keep tests change what they keep: a stack of their own, so the list tests see it as seeded.
keep_stack = module_stack("keep_stack")


@pytest.fixture
def visit(browser, stack):
    yield from visits(browser, stack)


@pytest.fixture
def keep_visit(browser, keep_stack):
    yield from visits(browser, keep_stack)


def targets(stack: Stack, user: str = "alice") -> dict:
    status, _, body = stack.get("/targets", stack.token(user))
    assert status == 200, body
    return json.loads(body)


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def clock(value: str | dt.datetime, now: dt.datetime) -> str:
    """A time as the portal says it in the browser's zone: "18:00", "18:00 tomorrow", "18:00 on Sat 6 Dec"."""
    when = (parse(value) if isinstance(value, str) else value).astimezone(LOCAL)
    today = now.astimezone(LOCAL).date()
    hours = when.strftime("%H:%M")
    if when.date() == today:
        return hours
    if when.date() == today + dt.timedelta(days=1):
        return f"{hours} tomorrow"
    year = "" if when.year == today.year else f" {when.year}"
    return f"{hours} on {when:%a} {when.day} {when:%b}{year}"


def utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def running_notebook(listed: dict) -> dict:
    """The first of the person's running notebook instances that the policy will stop and nobody kept."""
    running = [nb for nb in listed["notebookInstances"]
               if nb["status"] == "InService" and "stopsAt" in nb and "keptUntil" not in nb and "keep" in nb]
    assert running, f"no running, unkept notebook instance in {listed['notebookInstances']}"
    return running[0]


def row(page, name: str):
    return page.locator(f'#notebook-list [data-target="{name}"]')


def test_a_running_notebook_says_when_it_stops_and_what_it_costs(visit, stack):
    # Running for five hours: a cost so far of some cents, which the list must show as /targets does.
    name = running_notebook(targets(stack))["name"]
    stack.control("POST", "/_age", {"seconds": 5 * 3600 + 10 * 60, "notebookInstance": name})
    before = targets(stack)
    notebook = next(nb for nb in before["notebookInstances"] if nb["name"] == name)
    assert notebook["costSoFar"] > 0, notebook
    assert before["currency"] == "USD"
    assert notebook["pricePerHour"] > 0 and "costSoFar" in notebook, notebook

    v = visit(timezone_id=ZONE)
    v.sign_in("alice")
    shown = row(v.page, notebook["name"])
    now = dt.datetime.now(dt.timezone.utc)
    expect(shown.locator(".row-schedule")).to_have_text(f"Stops at {clock(notebook['stopsAt'], now)}")
    expect(shown.locator(".row-price")).to_be_visible()
    after = targets(stack)
    price = PRICE.match(shown.locator(".row-price").inner_text())
    assert price, shown.locator(".row-price").inner_text()
    # The price per hour is the Price List's, as /targets gives it; the cost so far grows with
    # time, so it lies between what /targets said before and after the page asked.
    assert Decimal(price["hour"]) == Decimal(str(notebook["pricePerHour"]))
    later = next(nb for nb in after["notebookInstances"] if nb["name"] == notebook["name"])
    assert Decimal(str(notebook["costSoFar"])) <= Decimal(price["so_far"]) <= Decimal(str(later["costSoFar"]))
    # The instance type is in the row with it.
    expect(shown.locator(".row-detail")).to_contain_text(notebook["instanceType"])
    # A stopped notebook instance costs nothing by the hour: no price, no stop time, no keep.
    for stopped in (nb for nb in before["notebookInstances"] if nb["status"] == "Stopped"):
        other = row(v.page, stopped["name"])
        expect(other.locator(".row-price")).to_be_hidden()
        expect(other.locator(".row-schedule")).to_be_hidden()
        expect(other.get_by_label("Keep running until")).to_have_count(0)
    assert v.page.evaluate(LOW_CONTRAST) == []
    shot(v.page, "cost-list.png")
    assert v.problems == []


def test_every_price_shown_is_the_one_targets_gives(visit, stack):
    listed = targets(stack)
    v = visit(timezone_id=ZONE)
    v.sign_in("alice")
    expect(v.page.locator("#notebook-list .row")).to_have_count(len(listed["notebookInstances"]))
    rows = [(f'#notebook-list [data-target="{nb["name"]}"]', nb) for nb in listed["notebookInstances"]]
    rows += [(f'.space-list [data-target="{space["name"]}"]', space)
             for domain in listed.get("studioDomains", []) for space in domain.get("spaces", [])]
    rows += [(f'#mlflow-server-list [data-target="{server["name"]}"]', server)
             for server in listed.get("mlflowTrackingServers", [])]
    priced = 0
    for selector, item in rows:
        text = v.page.locator(f"{selector} .row-price")
        # /targets gives a cost so far only for what runs; that is what the list prices.
        if "costSoFar" in item:
            priced += 1
            match = PRICE.match(text.inner_text())
            assert match and Decimal(match["hour"]) == Decimal(str(item["pricePerHour"])), (item["name"], text.inner_text())
        else:
            expect(text).to_be_hidden()
    assert priced >= 2, "the seeded world runs more than one priced target"


def test_keeping_a_notebook_running_shows_kept_until(keep_visit, keep_stack):
    notebook = running_notebook(targets(keep_stack))
    name = notebook["name"]
    v = keep_visit(timezone_id=ZONE)
    v.sign_in("alice")
    shown = row(v.page, name)
    field = shown.get_by_label("Keep running until")
    expect(field).to_have_attribute("type", "datetime-local")
    # Bounded by the gate's latest allowed time, in the browser's local time.
    latest = parse(notebook["keepUntilMax"]).astimezone(LOCAL)
    expect(field).to_have_attribute("max", latest.strftime("%Y-%m-%dT%H:%M"))
    now = dt.datetime.now(dt.timezone.utc)
    chosen = (now + dt.timedelta(hours=26)).astimezone(LOCAL).replace(second=0, microsecond=0)
    assert chosen < latest
    field.fill(chosen.strftime("%Y-%m-%dT%H:%M"))
    with v.page.expect_request(lambda r: r.url.endswith(f"/notebook-instances/{name}/keep")) as sent:
        with v.page.expect_response(lambda r: r.url.endswith("/targets")):  # the list drawn again after
            shown.get_by_role("button", name=f"Keep {name} running").click()
    request = sent.value
    assert request.method == "POST"
    assert json.loads(request.post_data) == {"until": utc(chosen)}
    assert request.headers["authorization"] == f"Bearer {v.stored_user()['access_token']}"
    assert "access_token" not in request.url
    expect(shown.locator(".row-schedule")).to_have_text(f"Kept until {clock(chosen, now)}")
    expect(v.page.locator("#activity")).to_have_text(f"{name} is kept running until {clock(chosen, now)}.")
    expect(v.page.locator("#problem")).to_be_hidden()
    # The gate stored it: /targets says so too.
    kept = next(nb for nb in targets(keep_stack)["notebookInstances"] if nb["name"] == name)
    assert kept["keptUntil"] == utc(chosen)
    # The field now offers the current keep.
    expect(shown.get_by_label("Keep running until")).to_have_value(chosen.strftime("%Y-%m-%dT%H:%M"))
    shot(v.page, "cost-kept.png")
    assert v.problems == []


def test_a_keep_past_the_latest_allowed_shows_the_gates_message(keep_visit, keep_stack):
    listed = targets(keep_stack)
    notebook = next(nb for nb in listed["notebookInstances"] if "keep" in nb)
    name = notebook["name"]
    v = keep_visit(timezone_id=ZONE)
    v.sign_in("alice")
    shown = row(v.page, name)
    schedule = shown.locator(".row-schedule").inner_text()
    too_late = (parse(notebook["keepUntilMax"]) + dt.timedelta(days=1)).astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M")
    field = shown.get_by_label("Keep running until")
    field.fill(too_late)
    with v.page.expect_response(lambda r: r.url.endswith(f"/notebook-instances/{name}/keep")) as answered:
        # From the keyboard: Enter in the field sends it.
        field.press("Enter")
    answer = answered.value
    assert answer.status == 400
    error = answer.json()["error"]
    assert error["code"] == "keep_too_long"
    words = v.page.locator("#problem-words")
    expect(words).to_contain_text(error["message"])
    expect(words).to_contain_text(f"{name} was not kept running.")
    expect(v.page.locator("#problem-reference")).to_have_text(f"Reference: {error['requestId']}")
    # Nothing changed: the row says what it said, and the chosen time is still there to correct.
    expect(shown.locator(".row-schedule")).to_have_text(schedule)
    expect(field).to_have_value(too_late)
    expect(shown.get_by_role("button", name=f"Keep {name} running")).to_have_text("Keep")
    shot(v.page, "cost-keep-too-long.png")


def test_the_keep_control_fits_a_phone_and_is_reached_by_keyboard(keep_visit, keep_stack):
    name = next(nb for nb in targets(keep_stack)["notebookInstances"] if "keep" in nb)["name"]
    v = keep_visit(timezone_id=ZONE, **PHONE)
    v.sign_in("alice")
    shown = row(v.page, name)
    field = shown.get_by_label("Keep running until")
    button = shown.get_by_role("button", name=f"Keep {name} running")
    expect(button).to_be_visible()
    assert v.page.evaluate("document.documentElement.scrollWidth") <= 360
    for box in (field.bounding_box(), button.bounding_box()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 44
    # Tab leaves the field (through its date and time parts) for its Keep button.
    field.focus()
    for _ in range(10):
        v.page.keyboard.press("Tab")
        if v.page.evaluate("document.activeElement.classList.contains('keep-button')"):
            break
    assert v.page.evaluate("document.activeElement.getAttribute('aria-label')") == f"Keep {name} running"
    shot(v.page, "cost-phone.png")


def test_with_no_price_list_no_price_is_shown(browser, start_stack):
    # A stack of its own: the gate keeps what it read of the Price List for the life of its process.
    own = start_stack()
    own.control("POST", "/_faults", {"operation": "GetProducts", "fault": "error", "count": 100_000})
    listed = targets(own)
    items = listed["notebookInstances"] + listed.get("mlflowTrackingServers", []) + [
        space for domain in listed.get("studioDomains", []) for space in domain.get("spaces", [])]
    assert [i["name"] for i in items if "pricePerHour" in i or "costSoFar" in i] == []
    assert [c for c in own.control("GET", "/_calls") if c["operation"] == "GetProducts"], "the gate never asked"
    v = Visit(browser, own, timezone_id=ZONE)
    try:
        v.sign_in("alice")
        notebook = running_notebook(listed)
        expect(row(v.page, notebook["name"]).locator(".row-schedule")).to_have_text(re.compile(r"^Stops at "))
        expect(v.page.locator(".row-price:visible")).to_have_count(0)
        assert "$" not in v.page.locator("main").inner_text()
        shot(v.page, "cost-no-prices.png")
    finally:
        v.close()


# The running-time demo world `scripts/dev up` shows: a notebook instance kept running at seed, a
# tracking server that runs, and a Studio domain with SageMaker's own idle shutdown.
demo_stack = module_stack("demo_stack", "--cost-demo", "--studio-domains", "2")


def test_the_demo_world_shows_keeps_and_a_domains_own_idle_shutdown(browser, demo_stack):
    listed = targets(demo_stack)
    kept = [nb for nb in listed["notebookInstances"] if "keptUntil" in nb]
    idle = [d for d in listed["studioDomains"] if "idleShutdownMinutes" in d]
    assert kept and idle, (kept, idle)
    v = Visit(browser, demo_stack, timezone_id=ZONE)
    try:
        v.sign_in("alice")
        now = dt.datetime.now(dt.timezone.utc)
        for notebook in kept:
            expect(row(v.page, notebook["name"]).locator(".row-schedule")).to_have_text(
                f"Kept until {clock(notebook['keptUntil'], now)}")
        for domain in idle:
            card = v.page.locator(f'.studio-domain[data-domain="{domain["domainId"]}"]')
            expect(card.locator(".studio-idle")).to_have_text(
                f"Idle apps stop after {domain['idleShutdownMinutes']} min (SageMaker)")
            # SageMaker stops these; the gate's policy leaves them alone and gives no stop time.
            assert all("stopsAt" not in space for space in domain.get("spaces", []))
            expect(card.locator(".row-schedule:visible")).to_have_count(0)
        assert v.page.evaluate(LOW_CONTRAST) == []
        shot(v.page, "cost-demo.png")
    finally:
        v.close()
