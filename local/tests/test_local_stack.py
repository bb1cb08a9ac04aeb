"""The local stack refuses what AWS refuses: the local API Gateway authorizes exactly as the
deployed authorizers (HTTP API JWT authorizers with route scopes; a REST API Cognito authorizer with
OAuth scopes), the managed-login stand-in has Cognito's CSRF protection and revocation endpoint,
and every server listens on 127.0.0.1 only and answers a malformed request with a 400."""

from __future__ import annotations

import http.cookiejar
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local.gateway import MOTO_KEY_WARNING
from local.oidc import pkce_challenge

UNAUTHORIZED = (401, {"message": "Unauthorized"})
LAUNCH = "/launch/notebook-instances/alice-analysis"


def status_and_body(answer) -> tuple[int, dict]:
    status, _, body = answer
    return status, json.loads(body) if body else {}


# --- HTTP API (v2): the template's JWT authorizers -------------------------------------------

def test_api_routes_take_only_an_access_token_from_the_authorization_header(stack):
    access = stack.token("alice")
    assert stack.get("/targets", access)[0] == 200
    # A header value without the Bearer prefix is the token too (the identity source allows both).
    assert stack.get("/targets", headers={"Authorization": access})[0] == 200
    # The route reads the header only: the launch routes' query parameter opens nothing here.
    assert status_and_body(stack.get(f"/targets?access_token={access}")) == UNAUTHORIZED
    assert status_and_body(stack.get("/targets")) == UNAUTHORIZED
    assert status_and_body(stack.get("/targets", "not-a-jwt")) == UNAUTHORIZED


def test_an_id_token_opens_nothing(stack):
    # Its audience is the app client, but it has no `scope` claim and every route needs one.
    id_token = stack.token("alice", "IdToken")
    assert status_and_body(stack.get("/targets", id_token)) == UNAUTHORIZED
    assert status_and_body(stack.get("/notebook-instances/alice-analysis", id_token)) == UNAUTHORIZED
    assert status_and_body(stack.get(f"{LAUNCH}?access_token={id_token}", accept="text/html")) == UNAUTHORIZED


def test_a_token_needs_one_of_the_route_scopes(stack):
    # What managed login issues (openid email profile) and what the password API issues both pass.
    assert stack.get("/targets", stack.mint(scope="openid email profile"))[0] == 200
    assert stack.get("/targets", stack.mint(scope="aws.cognito.signin.user.admin"))[0] == 200
    # The same token with neither scope, or with none at all, is refused.
    assert status_and_body(stack.get("/targets", stack.mint(scope="email profile"))) == UNAUTHORIZED
    assert status_and_body(stack.get("/targets", stack.mint(scope=None))) == UNAUTHORIZED


def test_launch_routes_take_only_the_access_token_query_parameter(stack):
    alice = stack.token("alice")
    assert stack.get(f"{LAUNCH}?access_token={alice}", accept="text/html")[0] == 302
    # A header token does not count on a launch route, with no query token or an empty one.
    assert status_and_body(stack.get(LAUNCH, alice, accept="text/html")) == UNAUTHORIZED
    assert status_and_body(stack.get(f"{LAUNCH}?access_token=", alice, accept="text/html")) == UNAUTHORIZED
    # API Gateway joins a repeated parameter with a comma: whatever the copies, it never verifies.
    for query in (f"access_token={alice}&access_token={alice}", f"access_token=forged&access_token={alice}",
                  f"access_token={alice}&access_token="):
        assert status_and_body(stack.get(f"{LAUNCH}?{query}", accept="text/html")) == UNAUTHORIZED, query


def test_forged_expired_and_foreign_tokens_are_refused(stack):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = stack.token("alice")
    forged = jwt.encode(jwt.decode(good, options={"verify_signature": False}), other_key, algorithm="RS256",
                        headers={"kid": jwt.get_unverified_header(good)["kid"]})
    assert status_and_body(stack.get("/targets", forged)) == UNAUTHORIZED
    assert status_and_body(stack.get("/targets", stack.mint(exp=int(time.time()) - 60))) == UNAUTHORIZED
    assert status_and_body(stack.get("/targets", stack.mint(client_id="someone-else"))) == UNAUTHORIZED
    assert status_and_body(stack.get("/targets", stack.mint(iss="https://cognito-idp.us-east-1.amazonaws.com/other"))) == UNAUTHORIZED
    # The same key and claims, signed by moto's key, pass: the refusals above are the checks working.
    assert stack.get("/targets", stack.mint())[0] == 200


# --- REST API (v1): a Cognito user pool authorizer with OAuth scopes ---------------------------

def test_rest_api_reads_only_the_authorization_header_and_only_access_tokens(rest_stack):
    alice = rest_stack.token("alice")
    assert rest_stack.get("/targets", alice)[0] == 200
    assert rest_stack.get("/targets", headers={"Authorization": alice})[0] == 200
    assert status_and_body(rest_stack.get("/targets", rest_stack.token("alice", "IdToken"))) == UNAUTHORIZED
    assert status_and_body(rest_stack.get("/targets", rest_stack.mint(scope="email"))) == UNAUTHORIZED
    # Every route, the launch routes too, reads the header: a query token opens nothing.
    assert status_and_body(rest_stack.get(f"{LAUNCH}?access_token={alice}", accept="text/html")) == UNAUTHORIZED
    assert rest_stack.get(LAUNCH, alice, accept="text/html")[0] == 302


# --- Managed login: CSRF on the sign-in form, the revocation endpoint --------------------------

class Browser:
    """A browser's view of managed login: its own cookie jar, redirects not followed."""

    def __init__(self, stack):
        self.stack = stack
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoFollow())

    def request(self, path: str, form: dict | None = None, headers: dict | None = None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.stack.state["login"] + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def sign_in_form(self, verifier: str = "v" * 43) -> dict:
        """Opens the sign-in page; the form's hidden fields."""
        query = {"client_id": self.stack.state["client_id"], "redirect_uri": self.stack.state["portal"] + "/",
                 "response_type": "code", "state": "s1", "code_challenge_method": "S256",
                 "code_challenge": pkce_challenge(verifier), "scope": "openid"}
        status, _, page = self.request("/oauth2/authorize?" + urllib.parse.urlencode(query))
        assert status == 200, page
        return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]+)"', page))

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)


class NoFollow(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(browser: Browser, fields: dict, user: str = "bob", origin: str | None = None):
    form = {**fields, "username": user, "password": browser.stack.state["users"][user]["password"]}
    return browser.request("/oauth2/authorize", form, {"Origin": origin} if origin else None)


def test_a_sign_in_form_posted_from_another_page_signs_nobody_in(stack):
    attacker, victim = Browser(stack), Browser(stack)
    forged = attacker.sign_in_form()  # a real, fresh form, fetched by the attacker's own client
    evil = "http://127.0.0.1:1"  # another local origin: same-site, so SameSite cookies do not help
    # The victim has never seen a sign-in page, then has one open in another tab: neither helps.
    for _ in range(2):
        status, headers, page = sign_in(victim, forged, origin=evil)
        assert status == 403, page
        assert "Location" not in headers and victim.cookie("local-managed-login") is None
        victim.sign_in_form()
    # Without the token field, or with the victim's own token but the attacker's pending sign-in.
    assert sign_in(victim, {"request": forged["request"]})[0] == 403
    own = victim.sign_in_form()
    assert sign_in(victim, {**forged, "_csrf": own["_csrf"]})[0] == 403
    # The victim's own form from the victim's own browser signs in: the refusals are the check.
    status, headers, _ = sign_in(victim, own)
    assert status == 302 and "code=" in headers["Location"]
    assert victim.cookie("local-managed-login")


def token_endpoint(stack, **form) -> tuple[int, dict]:
    data = urllib.parse.urlencode({"client_id": stack.state["client_id"], **form}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(stack.state["login"] + "/oauth2/token", data=data),
                                    timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_revoked_refresh_token_renews_nothing(stack):
    browser = Browser(stack)
    _, headers, _ = sign_in(browser, browser.sign_in_form(), "alice")
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))["code"]
    status, tokens = token_endpoint(stack, grant_type="authorization_code", code=code, code_verifier="v" * 43,
                                    redirect_uri=stack.state["portal"] + "/")
    assert status == 200, tokens
    refresh = tokens["refresh_token"]
    assert token_endpoint(stack, grant_type="refresh_token", refresh_token=refresh)[0] == 200

    portal = {"Origin": stack.state["portal"]}
    request = urllib.request.Request(stack.state["login"] + "/oauth2/revoke", method="OPTIONS",
                                     headers={**portal, "Access-Control-Request-Method": "POST"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Access-Control-Allow-Origin"] == stack.state["portal"]
    status, headers, body = browser.request("/oauth2/revoke", {"token": refresh, "client_id": stack.state["client_id"]},
                                            portal)
    assert (status, body) == (200, "")
    assert headers["Access-Control-Allow-Origin"] == stack.state["portal"]
    assert token_endpoint(stack, grant_type="refresh_token", refresh_token=refresh) == (400, {"error": "invalid_grant"})
    # The access token already issued still opens the API until it expires, as in AWS: API
    # Gateway's authorizers do not ask Cognito about revocations.
    assert stack.get("/targets", tokens["access_token"])[0] == 200


def test_the_revocation_endpoint_refuses_what_cognito_refuses(stack):
    def revoke(form, origin="http://127.0.0.1:1"):
        status, headers, body = Browser(stack).request("/oauth2/revoke", form, {"Origin": origin})
        return status, json.loads(body) if body else None, headers.get("Access-Control-Allow-Origin")

    client = stack.state["client_id"]
    assert revoke({"client_id": client})[:2] == (400, {"error": "invalid_request"})
    assert revoke({"token": "x", "client_id": "other"})[:2] == (400, {"error": "invalid_client"})
    assert revoke({"token": stack.token("alice"), "client_id": client})[:2] == (400, {"error": "unsupported_token_type"})
    # An origin other than the portal's gets no CORS header, so a browser there cannot read it.
    assert revoke({"token": "unknown", "client_id": client}) == (200, None, None)
    assert Browser(stack).request("/oauth2/revoke")[0] == 405  # POST only


# --- Loopback only, and an answer to a malformed request --------------------------------------

SERVERS = ["gateway", "runtime", "login", "portal", "moto", "page"]


def listening(port: int) -> list[str]:
    """The local addresses of the sockets listening on `port`, from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def test_every_server_listens_on_loopback_only(stack):
    for name in SERVERS:
        url = urllib.parse.urlsplit(stack.state[name])
        assert url.hostname == "127.0.0.1", name
        # 0100007F is 127.0.0.1 as /proc/net/tcp writes it; never 00000000 (every address) or IPv6.
        assert listening(url.port) == ["0100007F"], (name, listening(url.port))


@pytest.mark.parametrize("name", SERVERS)
@pytest.mark.parametrize("request_line", [b"GARBAGE", b"GET / HTTP/1.1 extra", b"GET / HTTP/9.x", b"\x16\x03\x01"])
def test_a_malformed_request_line_gets_a_400(stack, name, request_line):
    url = urllib.parse.urlsplit(stack.state[name])
    with socket.create_connection((url.hostname, url.port), timeout=5) as connection:
        connection.sendall(request_line + b"\r\n\r\n")
        answer = connection.recv(4096)
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", answer[:200]
    assert "Traceback" not in stack.output


def test_the_stack_says_anyone_can_mint_a_token_for_it(stack):
    assert MOTO_KEY_WARNING in stack.output
    assert "moto's bundled private key" in MOTO_KEY_WARNING and "127.0.0.1" in MOTO_KEY_WARNING
