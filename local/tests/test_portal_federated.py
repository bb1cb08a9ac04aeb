"""Company sign-in through the portal in Chromium, against the local stack with `--federated`: the
pool federated to the stand-in company OpenID Connect provider (local/company_idp.py), the real
sign-in trigger putting the provider's groups in the tokens. The portal's Sign in goes straight to
the company's sign-in page (no managed-login form), and what each person then sees follows their
groups at the provider as they are at that sign-in. Screenshots go to test-output/portal/."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from playwright.sync_api import expect

from local.stack import client
from local.tests.conftest import LOW_CONTRAST, Stack, Visit, eventually, module_stack, shot, visits

federated_stack = module_stack("federated_stack", "--federated")

# The seeded notebooks that are nobody's in the company, or another person's or group's.
NOT_THE_COMPANYS = ["alice-analysis", "alice-gpu", "bob-reports", "bob-archive", "untagged-scratch"]


@pytest.fixture
def visit(browser, federated_stack):
    yield from visits(browser, federated_stack)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def company(stack: Stack) -> str:
    return stack.state["federated"]["company"]


def company_call(stack: Stack, method: str, path: str, body=None):
    """The company provider's test controls (`PUT /_users/<name>/groups`, `GET /_sign_ins`)."""
    return stack.control(method, path, body, base=company(stack))


def fill_company_form(v: Visit, user: str):
    page = v.page
    expect(page.get_by_role("heading", name="Company sign-in")).to_be_visible()
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(v.stack.state["federated"]["users"][user]["password"])
    page.get_by_role("button", name="Sign in").click()


def sign_in_at_company(v: Visit, user: str):
    """The portal's Sign in, the company's form, and back in the portal signed in."""
    v.open_portal()
    v.page.get_by_role("button", name="Sign in").click()
    fill_company_form(v, user)
    expect(v.page.locator("#signed-in")).to_be_visible()


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def signed_in_sub(v: Visit) -> str:
    """The Cognito sub of whoever is signed in on this page (from the access token it holds)."""
    return claims(v.stored_user()["access_token"])["sub"]


def test_carol_signs_in_at_the_company_and_sees_her_own_and_her_groups(visit, federated_stack):
    state = federated_stack.state
    v = visit()
    documents: list[tuple[str, int]] = []  # every page the browser asked for, and its status
    v.context.on("response", lambda r: documents.append((r.url, r.status))
                 if r.request.resource_type == "document" else None)
    shown: list[str] = []  # every page the tab committed to, i.e. rendered
    v.page.on("framenavigated", lambda f: shown.append(f.url) if f == v.page.main_frame else None)
    sign_ins_before = len(company_call(federated_stack, "GET", "/_sign_ins"))

    v.open_portal()
    v.page.get_by_role("button", name="Sign in").click()
    expect(v.page.get_by_role("heading", name="Company sign-in")).to_be_visible()
    assert origin(v.page.url) == company(federated_stack)
    # Managed login only passed the browser on: it answered redirects, and no page of its was shown.
    assert [status for url, status in documents if origin(url) == state["login"]] == [302]
    assert [url for url in shown if origin(url) == state["login"]] == []
    authorize = next(u for u in v.requests if u.startswith(state["login"] + "/oauth2/authorize"))
    assert dict(parse_qsl(urlsplit(authorize).query)).get("identity_provider") == "Company"

    fill_company_form(v, "carol")
    expect(v.page.locator("#signed-in")).to_be_visible()
    assert origin(v.page.url) == state["portal"]
    # Back through managed login's /oauth2/idpresponse, again a redirect only.
    assert [(urlsplit(u).path, s) for u, s in documents if origin(u) == state["login"]] == [
        ("/oauth2/authorize", 302), ("/oauth2/idpresponse", 302)]
    assert [url for url in shown if origin(url) == state["login"]] == []
    sign_ins = company_call(federated_stack, "GET", "/_sign_ins")[sign_ins_before:]
    assert [(s["username"], s["by_session"]) for s in sign_ins] == [("carol", False)]

    expect(v.page.locator("#notebook-list .row")).to_have_count(2)
    assert v.names("#notebook-list") == ["carol-notebook", "ml-team-shared"]
    expect(v.page.locator("#who-name")).to_have_text("carol@corp.example")
    expect(v.page.locator(".studio-profile")).to_have_text(state["federated"]["users"]["carol"]["subject"])
    assert state["federated"]["carolProfile"] == state["federated"]["users"]["carol"]["subject"]
    # The Cognito user seeded as having signed in before is the one signed in now.
    assert signed_in_sub(v) == state["federated"]["signedInBefore"]["carol"]["sub"]
    page_text = v.page.locator("body").inner_text()
    for name in [*NOT_THE_COMPANYS, "analysts-shared"]:
        assert name not in page_text
    assert v.page.evaluate(LOW_CONTRAST) == []
    shot(v.page, "federated-list-carol.png")

    with v.context.expect_page() as opened:
        v.page.get_by_role("button", name="Open carol-notebook").click()
    expect(opened.value.locator("#opened")).to_have_attribute("data-name", "carol-notebook")
    assert v.problems == [], v.problems


def test_dave_signing_in_the_first_time_sees_what_his_provider_group_is_given(visit, federated_stack):
    state = federated_stack.state
    idp = client("cognito-idp", state["moto"])
    user_name = f"Company_{state['federated']['users']['dave']['subject']}"
    with pytest.raises(idp.exceptions.UserNotFoundException):  # Cognito makes him at this sign-in
        idp.admin_get_user(UserPoolId=state["pool_id"], Username=user_name)

    v = visit()
    sign_in_at_company(v, "dave")
    expect(v.page.locator("#notebook-list .row")).to_have_count(1)
    assert v.names("#notebook-list") == ["analysts-shared"]
    expect(v.page.locator("#studio")).to_be_hidden()  # no Studio profile of his
    page_text = v.page.locator("body").inner_text()
    for name in [*NOT_THE_COMPANYS, "carol-notebook", "ml-team-shared"]:
        assert name not in page_text
    assert v.problems == [], v.problems

    sub = signed_in_sub(v)
    made = idp.admin_get_user(UserPoolId=state["pool_id"], Username=user_name)
    assert made["UserStatus"] == "EXTERNAL_PROVIDER"
    assert {a["Name"]: a["Value"] for a in made["UserAttributes"]}["sub"] == sub
    assert claims(v.stored_user()["access_token"])["cognito:groups"] == ["analysts"]

    # The trigger said which of his provider groups it dropped, naming him by his sub only.
    log = Path(state["federated"]["triggerLog"])

    def warnings() -> list[dict]:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("level") == "WARN" and line.get("sub") == sub]

    eventually(v.page, lambda: warnings() != [])
    dropped = warnings()[0]
    assert "dropped" in dropped["message"]
    assert "bad group" in dropped["dropped"] and "x" * 200 in dropped["dropped"]
    assert '"analysts"' not in dropped["dropped"]
    assert "dave@corp.example" not in log.read_text() and "Dave Company" not in log.read_text()


def test_erin_in_no_group_is_told_what_to_ask_for(visit, federated_stack):
    v = visit()
    sign_in_at_company(v, "erin")
    expect(v.page.get_by_role("heading", name="Nothing to open yet")).to_be_visible()
    expect(v.page.locator("#empty-user-id")).to_have_text(signed_in_sub(v))
    expect(v.page.locator("#notebooks")).to_be_hidden()
    expect(v.page.locator("#studio")).to_be_hidden()
    expect(v.page.locator("#mlflow")).to_be_hidden()
    assert v.problems == [], v.problems


def test_a_group_removed_at_the_provider_is_gone_at_the_next_sign_in(visit, federated_stack):
    v = visit()
    sign_in_at_company(v, "carol")
    expect(v.page.locator("#notebook-list .row")).to_have_count(2)
    assert v.names("#notebook-list") == ["carol-notebook", "ml-team-shared"]
    try:
        company_call(federated_stack, "PUT", "/_users/carol/groups", [])
        sign_ins_before = len(company_call(federated_stack, "GET", "/_sign_ins"))
        v.page.get_by_role("button", name="Sign out").click()
        expect(v.page.locator("#signed-out")).to_be_visible()
        v.page.get_by_role("button", name="Sign in").click()
        # The provider's own session may sign her in without her password, as real ones do.
        form = v.page.get_by_role("heading", name="Company sign-in")
        expect(v.page.locator("#signed-in").or_(form)).to_be_visible()
        if form.is_visible():
            fill_company_form(v, "carol")
        expect(v.page.locator("#signed-in")).to_be_visible()
        # Either way the provider signed her in again, and said what her groups are now.
        sign_ins = company_call(federated_stack, "GET", "/_sign_ins")[sign_ins_before:]
        assert [s["username"] for s in sign_ins] == ["carol"]
        expect(v.page.locator("#notebook-list .row")).to_have_count(1)
        assert v.names("#notebook-list") == ["carol-notebook"]
        token = v.stored_user()["access_token"]
        assert not claims(token).get("cognito:groups")
        # Her new token no longer opens the group's notebook either.
        assert federated_stack.get("/notebook-instances/ml-team-shared", token)[0] == 404
        assert federated_stack.get("/notebook-instances/carol-notebook", token)[0] == 200
    finally:
        company_call(federated_stack, "PUT", "/_users/carol/groups", ["ml-team"])
    assert v.problems == [], v.problems


def test_the_api_refuses_carol_what_her_list_does_not_show(visit, federated_stack):
    v = visit()
    sign_in_at_company(v, "carol")
    expect(v.page.locator("#notebook-list .row")).to_have_count(2)
    user = v.stored_user()
    access = claims(user["access_token"])
    assert access["username"] == f"Company_{federated_stack.state['federated']['users']['carol']['subject']}"
    assert access["cognito:groups"] == ["ml-team"]
    assert "custom:provider_groups" not in claims(user["id_token"])  # the trigger suppresses it
    status, _, body = federated_stack.get("/notebook-instances/analysts-shared", user["access_token"])
    assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")
    assert federated_stack.get("/notebook-instances/ml-team-shared", user["access_token"])[0] == 200
    assert federated_stack.get("/notebook-instances/carol-notebook", user["access_token"])[0] == 200
