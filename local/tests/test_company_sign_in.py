"""Company sign-in end to end (`local.stack --federated`): people sign in at the stand-in company
OpenID Connect provider through the managed-login stand-in, the real sign-in trigger puts their
provider groups into the tokens, and the real gate opens what their tags and groups give them.
The browser's side of it is test_portal_federated.py; this drives the same redirects over HTTP."""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse

import jwt
import pytest

from local.oidc import pkce_challenge
from local.tests.conftest import Browser, module_stack

federated_stack = module_stack("federated_stack", "--federated")


class Person(Browser):
    """One person signing in to the portal over HTTP."""

    def __init__(self, stack, user: str):
        super().__init__()
        self.stack, self.user = stack, user

    def sign_in(self) -> dict:
        """The portal's sign-in, redirect by redirect: managed login, the company provider (its form,
        unless its session remembers the person), managed login's idpresponse, the portal with a
        code, then the code for tokens. Returns the token answer, or the portal's error query."""
        state = self.stack.state
        verifier = secrets.token_urlsafe(48)
        portal = state["portal"] + "/"
        query = {"client_id": state["client_id"], "redirect_uri": portal, "response_type": "code",
                 "scope": "openid email profile", "state": "st", "code_challenge_method": "S256",
                 "code_challenge": pkce_challenge(verifier), "identity_provider": "Company"}
        status, headers, page = self.open(f"{state['login']}/oauth2/authorize?" + urllib.parse.urlencode(query))
        assert status == 302, page
        company = state["federated"]["company"]
        assert headers["Location"].startswith(company + "/authorize?")
        status, headers, page = self.open(headers["Location"])
        if status == 200:  # the provider's form; its session skips it on a later sign-in
            hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]+)"', page))
            password = state["federated"]["users"][self.user]["password"]
            status, headers, page = self.open(f"{company}/authorize",
                                              {**hidden, "username": self.user, "password": password})
        assert status == 302 and headers["Location"].startswith(state["login"] + "/oauth2/idpresponse?"), page
        status, headers, page = self.open(headers["Location"])
        assert status == 302 and headers["Location"].startswith(portal + "?"), page
        back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))
        if "code" not in back:
            return {"error": back}
        status, _, body = self.open(f"{state['login']}/oauth2/token", {
            "grant_type": "authorization_code", "client_id": state["client_id"], "code": back["code"],
            "redirect_uri": portal, "code_verifier": verifier})
        assert status == 200, body
        return json.loads(body)

    def refresh(self, refresh_token: str) -> dict:
        status, _, body = self.open(f"{self.stack.state['login']}/oauth2/token", {
            "grant_type": "refresh_token", "client_id": self.stack.state["client_id"],
            "refresh_token": refresh_token})
        assert status == 200, body
        return json.loads(body)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def set_groups(stack, user: str, groups: list[str]):
    """`user`'s groups at the company provider, from now on."""
    stack.control("PUT", f"/_users/{user}/groups", groups, base=stack.state["federated"]["company"])


def notebooks(stack, token: str) -> list[str]:
    status, _, body = stack.get("/targets", token)
    assert status == 200, body
    return sorted(n["name"] for n in json.loads(body)["notebookInstances"])


def test_a_company_person_opens_their_own_and_their_provider_groups_notebooks(federated_stack):
    tokens = Person(federated_stack, "carol").sign_in()
    access = claims(tokens["access_token"])
    carol = federated_stack.state["federated"]
    assert access["cognito:groups"] == ["ml-team"]
    assert access["username"] == f"Company_{carol['users']['carol']['subject']}"
    # The Cognito user her first sign-in made is the one she is again: the same sub.
    assert access["sub"] == carol["signedInBefore"]["carol"]["sub"]
    assert notebooks(federated_stack, tokens["access_token"]) == ["carol-notebook", "ml-team-shared"]
    for name in ("carol-notebook", "ml-team-shared"):
        status, _, body = federated_stack.get(f"/notebook-instances/{name}", tokens["access_token"])
        assert status == 200 and json.loads(body)["target"]["name"] == name, body
    for name in ("analysts-shared", "alice-analysis", "untagged-scratch"):
        status, _, body = federated_stack.get(f"/notebook-instances/{name}", tokens["access_token"])
        assert status == 404, (name, body)


def test_her_studio_profile_is_the_one_named_after_her_subject_at_the_provider(federated_stack):
    tokens = Person(federated_stack, "carol").sign_in()
    status, _, body = federated_stack.get("/studio", tokens["access_token"])
    assert status == 200, body
    assert json.loads(body)["target"]["userProfile"] == federated_stack.state["federated"]["carolProfile"]


def test_a_provider_group_the_gate_cannot_match_is_dropped_and_logged_by_sub_only(federated_stack):
    tokens = Person(federated_stack, "dave").sign_in()
    access = claims(tokens["access_token"])
    assert access["cognito:groups"] == ["analysts"]
    assert notebooks(federated_stack, tokens["access_token"]) == ["analysts-shared"]
    lines = [json.loads(line) for line in open(federated_stack.state["federated"]["triggerLog"])
             if line.startswith("{")]
    dropped = [line for line in lines if "dropped" in line.get("message", "") and line.get("sub") == access["sub"]]
    assert dropped and "bad group" in dropped[-1]["dropped"] and "x" * 200 in dropped[-1]["dropped"]
    text = open(federated_stack.state["federated"]["triggerLog"]).read()
    assert "dave@corp.example" not in text and tokens["access_token"] not in text


def test_a_group_taken_away_at_the_provider_goes_at_the_next_sign_in_not_at_a_refresh(federated_stack):
    erin = Person(federated_stack, "erin")
    try:
        set_groups(federated_stack, "erin", ["ml-team"])
        first = erin.sign_in()
        assert notebooks(federated_stack, first["access_token"]) == ["ml-team-shared"]
        set_groups(federated_stack, "erin", [])
        # A refresh does not ask the provider: the last sign-in's groups stay (SECURITY.md).
        renewed = erin.refresh(first["refresh_token"])
        assert claims(renewed["access_token"])["cognito:groups"] == ["ml-team"]
        again = erin.sign_in()  # through the provider's session: no password, today's groups
        assert "cognito:groups" not in claims(again["access_token"])
        assert notebooks(federated_stack, again["access_token"]) == []
        status, _, _ = federated_stack.get("/notebook-instances/ml-team-shared", again["access_token"])
        assert status == 404
    finally:
        set_groups(federated_stack, "erin", [])


def test_a_failing_trigger_fails_the_sign_in_and_hands_out_no_token(federated_stack):
    functions = federated_stack.control("GET", "/_lambdas")["functions"]
    trigger = next(f for f in functions if f["arn"].endswith(":function:sign-in-trigger"))
    try:
        # Cognito cannot reach the function: the sign-in ends at the portal with an error.
        federated_stack.control("POST", "/_lambdas", {"arn": trigger["arn"], "url": "http://127.0.0.1:9"})
        answer = Person(federated_stack, "carol").sign_in()
        assert "error" in answer and "code" not in answer["error"], answer
    finally:
        federated_stack.control("POST", "/_lambdas", trigger)
    assert "access_token" in Person(federated_stack, "carol").sign_in()


def test_the_gate_and_the_trigger_log_no_token(federated_stack):
    tokens = Person(federated_stack, "carol").sign_in()
    federated_stack.get("/targets", tokens["access_token"])
    for log in (federated_stack.log, federated_stack.state["federated"]["triggerLog"]):
        text = open(log).read()
        for token in (tokens["access_token"], tokens["id_token"], tokens["refresh_token"]):
            assert token not in text
