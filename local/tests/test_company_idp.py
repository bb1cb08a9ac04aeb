"""The company OpenID Connect provider (`local/company_idp.py`) alone, and managed login
(`local/oidc.py`) federating to it, with a fake of the stand-in's `/_federated_sign_in` that records
what it is sent (and once with the real stand-in). The browser is plain HTTP here, its own cookie
jar and redirects followed by hand, but for one Chromium run through every page's policy."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws
from werkzeug.wrappers import Request, Response

from local import company_idp
from local.company_idp import DEMO_USERS, CompanyIdpServer, subject_for
from local.oidc import Federation, FederationRefused, ManagedLoginServer, Provider, attribute_value, pkce_challenge
from local.serve import Server
from local.tests.conftest import Browser
from local.stack import client, start_standin

CLIENT_ID = "notebook-gate"
SECRET = "company-client-secret-1"
APP = "http://127.0.0.1:9/"  # the portal's redirect URI: never served, the tests read the redirects to it
VERIFIER = "v" * 43


def call(url: str, form: dict | None = None, headers: dict | None = None, method: str | None = None,
         body=None) -> tuple[int, object]:
    data = urllib.parse.urlencode(form).encode() if form is not None else body
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or "null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or "null")


def query_of(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def hidden_fields(page: str) -> dict:
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]+)"', page))


# --- the provider alone -----------------------------------------------------------------------

CALLBACK = "http://127.0.0.1:9/oauth2/idpresponse"


@pytest.fixture
def idp():
    server = CompanyIdpServer(users=DEMO_USERS).start()
    server.idp.add_client(CLIENT_ID, SECRET, [CALLBACK])
    yield server
    server.stop()


def authorize_url(idp, **changes) -> str:
    query = {"client_id": CLIENT_ID, "redirect_uri": CALLBACK, "response_type": "code",
             "scope": "openid email profile", "state": "st-1", "nonce": "n-1", **changes}
    return f"{idp.url}/authorize?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})


def idp_sign_in(idp, browser: Browser, user: str = "carol", password: str | None = None, **changes) -> str:
    """Signs `user` in at the provider (by password, or through its session): the callback URL."""
    status, headers, page = browser.open(authorize_url(idp, **changes))
    if status == 200:
        form = {**hidden_fields(page), "username": user, "password": password or DEMO_USERS[user]["password"]}
        status, headers, page = browser.open(f"{idp.url}/authorize", form)
    assert status == 302, page
    return headers["Location"]


def redeem(idp, code: str, *, basic: bool = False, secret: str = SECRET, redirect_uri: str = CALLBACK,
           client_id: str = CLIENT_ID) -> tuple[int, dict]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    headers = {}
    if basic:
        pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form.update(client_id=client_id, client_secret=secret)
    return call(f"{idp.url}/token", form, headers)


def verified(idp, id_token: str, nonce: str = "n-1") -> dict:
    key = jwt.PyJWKClient(f"{idp.url}/jwks").get_signing_key_from_jwt(id_token)
    claims = jwt.decode(id_token, key.key, algorithms=["RS256"], audience=CLIENT_ID, issuer=idp.url)
    assert claims["nonce"] == nonce
    return claims


def test_discovery_names_the_provider_as_issuer_and_its_endpoints(idp):
    status, metadata = call(f"{idp.url}/.well-known/openid-configuration")
    assert status == 200
    assert metadata["issuer"] == idp.url
    assert metadata["authorization_endpoint"] == f"{idp.url}/authorize"
    assert metadata["token_endpoint"] == f"{idp.url}/token"
    assert metadata["jwks_uri"] == f"{idp.url}/jwks"
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {"client_secret_post", "client_secret_basic"}
    status, keys = call(metadata["jwks_uri"])
    assert status == 200 and [k["kty"] for k in keys["keys"]] == ["RSA"] and "d" not in keys["keys"][0]


@pytest.mark.parametrize("changes", [
    {"redirect_uri": CALLBACK + "/extra"}, {"redirect_uri": "http://127.0.0.1:9/"}, {"redirect_uri": None},
    {"client_id": "someone-else"},
])
def test_an_unregistered_client_or_redirect_uri_gets_an_error_page_not_a_redirect(idp, changes):
    status, headers, page = Browser().open(authorize_url(idp, **changes))
    assert status == 400 and "Location" not in headers
    assert "Unknown client or redirect URI" in page


@pytest.mark.parametrize("changes, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "email profile"}, "invalid_scope"),
    ({"state": None}, "invalid_request"),
])
def test_a_bad_request_from_a_known_client_goes_back_with_an_error(idp, changes, error):
    status, headers, _ = Browser().open(authorize_url(idp, **changes))
    assert status == 302
    assert headers["Location"].startswith(CALLBACK + "?")
    assert query_of(headers["Location"])["error"] == error


def test_the_sign_in_form_needs_its_own_csrf_pair_and_the_right_password(idp):
    attacker, victim = Browser(), Browser()
    forged = hidden_fields(attacker.open(authorize_url(idp))[2])
    status, headers, _ = victim.open(f"{idp.url}/authorize", {**forged, "username": "carol",
                                                              "password": DEMO_USERS["carol"]["password"]})
    assert status == 403 and "Location" not in headers and victim.cookie(company_idp.SESSION_COOKIE) is None
    own = hidden_fields(victim.open(authorize_url(idp))[2])
    status, headers, page = victim.open(f"{idp.url}/authorize", {**own, "username": "carol", "password": "wrong"})
    assert status == 400 and "Incorrect username or password" in page and "Location" not in headers
    status, headers, _ = victim.open(f"{idp.url}/authorize", {**own, "username": "carol",
                                                              "password": DEMO_USERS["carol"]["password"]})
    assert status == 302 and query_of(headers["Location"])["state"] == "st-1"


def test_a_code_is_good_once_only_for_its_client_and_redirect_uri_and_for_five_minutes(idp, monkeypatch):
    idp.idp.add_client("other-client", "other-secret", [CALLBACK])
    code = query_of(idp_sign_in(idp, Browser()))["code"]
    assert redeem(idp, code, client_id="other-client", secret="other-secret") == (400, {"error": "invalid_grant"})
    assert redeem(idp, code)[0] == 400  # a code tried by the wrong client is gone

    code = query_of(idp_sign_in(idp, Browser()))["code"]
    assert redeem(idp, code, redirect_uri=CALLBACK + "x") == (400, {"error": "invalid_grant"})

    code = query_of(idp_sign_in(idp, Browser()))["code"]
    assert redeem(idp, code)[0] == 200
    assert redeem(idp, code) == (400, {"error": "invalid_grant"})

    monkeypatch.setattr(company_idp, "CODE_LIFETIME_SECONDS", -1)
    code = query_of(idp_sign_in(idp, Browser()))["code"]
    assert redeem(idp, code) == (400, {"error": "invalid_grant"})


def test_the_token_endpoint_takes_the_secret_in_the_form_or_basic_and_nothing_less(idp):
    browser = Browser()
    code = query_of(idp_sign_in(idp, browser))["code"]
    for basic in (False, True):
        assert redeem(idp, code, basic=basic, secret="wrong") == (401, {"error": "invalid_client"})
    status, _ = call(f"{idp.url}/token", {"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": CALLBACK, "client_id": CLIENT_ID})
    assert status == 401
    # Both methods at once is a malformed request (one method per request).
    both = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": CLIENT_ID,
            "client_secret": SECRET}
    pair = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert call(f"{idp.url}/token", both, {"Authorization": f"Basic {pair}"}) == (400, {"error": "invalid_request"})
    # A client that failed to authenticate did not use the code up: the real client still can.
    status, tokens = redeem(idp, code, basic=True)
    assert status == 200 and verified(idp, tokens["id_token"])["sub"] == subject_for("carol")
    status, tokens = redeem(idp, query_of(idp_sign_in(idp, browser))["code"])
    assert status == 200 and tokens["token_type"] == "Bearer"


def test_the_id_token_verifies_with_the_jwks_and_carries_nonce_groups_and_an_opaque_subject(idp):
    status, tokens = redeem(idp, query_of(idp_sign_in(idp, Browser(), "dave", nonce="n-dave"))["code"])
    assert status == 200
    claims = verified(idp, tokens["id_token"], nonce="n-dave")
    assert claims["aud"] == CLIENT_ID and claims["exp"] > claims["iat"] >= int(time.time()) - 5
    assert claims["groups"] == ["analysts", "bad group", "x" * 200]
    assert claims["email"] == "dave@corp.example" and claims["email_verified"] is True
    assert claims["name"] == "Dave Company" and claims["preferred_username"] == "dave"
    assert claims["sub"] != "dave" and re.fullmatch(r"00u[a-z2-7]{17}", claims["sub"])
    assert claims["sub"] == subject_for("dave") != subject_for("carol")
    # Someone with no groups still gets the claim, an empty list.
    status, tokens = redeem(idp, query_of(idp_sign_in(idp, Browser(), "erin", nonce="n-erin"))["code"])
    assert verified(idp, tokens["id_token"], nonce="n-erin")["groups"] == []


def test_userinfo_answers_the_same_claims_for_the_access_token_only(idp):
    status, tokens = redeem(idp, query_of(idp_sign_in(idp, Browser()))["code"])
    claims = verified(idp, tokens["id_token"])
    status, info = call(f"{idp.url}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert status == 200
    assert info == {k: claims[k] for k in ("sub", "email", "email_verified", "name", "preferred_username", "groups")}
    assert call(f"{idp.url}/userinfo")[0] == 401
    assert call(f"{idp.url}/userinfo", headers={"Authorization": f"Bearer {tokens['id_token']}"})[0] == 401


def test_a_second_sign_in_uses_the_session_and_sees_the_groups_as_they_are_now(idp):
    browser = Browser()
    first = redeem(idp, query_of(idp_sign_in(idp, browser))["code"])[1]
    assert verified(idp, first["id_token"])["groups"] == ["ml-team"]
    assert call(f"{idp.url}/_users/carol/groups", body=json.dumps(["analysts", "ml-ops"]).encode(),
                headers={"Content-Type": "application/json"}, method="PUT")[0] == 200
    # The same browser: straight back with a code, no form.
    status, headers, _ = browser.open(authorize_url(idp, state="st-2", nonce="n-2"))
    assert status == 302 and query_of(headers["Location"])["state"] == "st-2"
    second = redeem(idp, query_of(headers["Location"])["code"])[1]
    assert verified(idp, second["id_token"], nonce="n-2")["groups"] == ["analysts", "ml-ops"]
    sign_ins = call(f"{idp.url}/_sign_ins")[1]
    assert [(s["username"], s["by_session"]) for s in sign_ins] == [("carol", False), ("carol", True)]
    # After logout the form is back.
    assert browser.open(f"{idp.url}/logout")[0] == 200
    assert browser.open(authorize_url(idp))[0] == 200
    assert call(f"{idp.url}/_users/nobody/groups", body=b"[]", method="PUT")[0] == 404
    assert call(f"{idp.url}/_users/carol/groups", body=b'{"a": 1}', method="PUT")[0] == 400


def test_no_password_code_or_token_reaches_the_log_or_the_sign_in_list(idp, capsys):
    browser = Browser()
    callback = idp_sign_in(idp, browser)
    code = query_of(callback)["code"]
    tokens = redeem(idp, code, basic=True)[1]
    call(f"{idp.url}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    output = capsys.readouterr().out
    assert "company-idp POST /token -> 200" in output and "company-idp GET /userinfo -> 200" in output
    for secret in (DEMO_USERS["carol"]["password"], code, tokens["access_token"], tokens["id_token"], SECRET,
                   browser.cookie(company_idp.SESSION_COOKIE)):
        assert secret not in output
    sign_ins = call(f"{idp.url}/_sign_ins")[1]
    assert [set(s) for s in sign_ins] == [{"username", "client_id", "time", "by_session"}]
    assert sign_ins[0]["client_id"] == CLIENT_ID


# --- managed login federating to it ---------------------------------------------------------

class FakeStandin:
    """The stand-in's `/_federated_sign_in`: records each body and answers tokens of its own (or
    the refusal in `refuse`)."""

    def __init__(self):
        self.received: list[dict] = []
        self.refuse: tuple[int, dict] | None = None
        self.server = Server(self, 0).start()
        self.url = self.server.url

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path != "/_federated_sign_in" or request.method != "POST":
            return Response("", 404)(environ, start_response)
        self.received.append(request.get_json())
        if self.refuse:
            status, body = self.refuse
        else:
            n = len(self.received)
            status, body = 200, {"userName": f"Company_{self.received[-1]['subject']}", "AuthenticationResult": {
                "IdToken": f"fake-id-{n}", "AccessToken": f"fake-access-{n}", "RefreshToken": f"fake-refresh-{n}",
                "ExpiresIn": 3600, "TokenType": "Bearer"}}
        return Response(json.dumps(body), status, content_type="application/json")(environ, start_response)


def company_pool(cognito) -> tuple[str, str]:
    """A pool set up for company sign-in (the provider's groups in a custom attribute, the provider
    `Company`, an app client for it and for passwords) with one password user, `alice`: its id and
    the app client's. moto's ID tokens carry only the client's ReadAttributes."""
    pool_id = cognito.create_user_pool(
        PoolName="company", Schema=[{"Name": "provider_groups", "AttributeDataType": "String", "Mutable": True,
                                     "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}],
    )["UserPool"]["Id"]
    cognito.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Company", ProviderType="OIDC",
        ProviderDetails={"client_id": CLIENT_ID, "client_secret": SECRET, "attributes_request_method": "GET",
                         "oidc_issuer": "http://127.0.0.1:1", "authorize_scopes": "openid email profile"},
        AttributeMapping={"email": "email", "name": "name", "custom:provider_groups": "groups"})
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="portal", SupportedIdentityProviders=["COGNITO", "Company"],
        ReadAttributes=["email", "name", "custom:provider_groups"],
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password="Alice-pass-1!", Permanent=True)
    return pool_id, client_id


class Federated:
    """The company provider and managed login federating to it, for `company_pool` in `cognito`,
    with the stand-in's `/_federated_sign_in` at `page` (the fake's, or the real one's)."""

    def __init__(self, cognito, page: str, provider_only: bool = False, app: str = APP):
        self.app = app
        self.idp = CompanyIdpServer(users=DEMO_USERS).start()
        self.pool_id, self.client_id = company_pool(cognito)
        self.federation = Federation(issuer=self.idp.url, client_id=CLIENT_ID, client_secret=SECRET,
                                     page=page, provider_only=provider_only)
        self.login = ManagedLoginServer(
            Provider(cognito=cognito, region="us-east-1", pool_id=self.pool_id, client_id=self.client_id,
                     redirect_uris=[app], federation=self.federation),
            0, allowed_origins=[app.rstrip("/")]).start()
        self.idp.idp.add_client(CLIENT_ID, SECRET, [self.login.url + "/oauth2/idpresponse"], [app.rstrip("/")])
        self.servers = [self.login, self.idp]

    def stop(self):
        # Together: each stop waits out its server's half-second poll.
        stopping = [threading.Thread(target=s.stop) for s in self.servers]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()

    def authorize_url(self, **changes) -> str:
        query = {"client_id": self.client_id, "redirect_uri": self.app, "response_type": "code", "state": "s1",
                 "code_challenge_method": "S256", "code_challenge": pkce_challenge(VERIFIER),
                 "scope": "openid email profile", **changes}
        return f"{self.login.url}/oauth2/authorize?" + urllib.parse.urlencode(query)

    def to_provider(self, browser: Browser, **changes) -> str:
        """Starts a federated sign-in: the provider's authorize URL managed login sent the browser to."""
        status, headers, page = browser.open(self.authorize_url(identity_provider="Company", **changes))
        assert status == 302, page
        assert headers["Location"].startswith(self.idp.url + "/authorize?")
        return headers["Location"]

    def at_provider(self, browser: Browser, url: str, user: str = "carol") -> str:
        """Signs `user` in at the provider from its authorize `url`: the URL back to managed login."""
        status, headers, page = browser.open(url)
        if status == 200:
            form = {**hidden_fields(page), "username": user, "password": DEMO_USERS[user]["password"]}
            status, headers, page = browser.open(f"{self.idp.url}/authorize", form)
        assert status == 302, page
        assert headers["Location"].startswith(self.login.url + "/oauth2/idpresponse?")
        return headers["Location"]

    def back_at_app(self, browser: Browser, idp_response: str) -> dict:
        status, headers, page = browser.open(idp_response)
        assert status == 302 and headers["Location"].startswith(self.app + "?"), page
        return query_of(headers["Location"])

    def app_tokens(self, code: str) -> tuple[int, dict]:
        return call(f"{self.login.url}/oauth2/token", {
            "grant_type": "authorization_code", "client_id": self.client_id, "code": code,
            "redirect_uri": self.app, "code_verifier": VERIFIER})


@pytest.fixture
def federated():
    started: list[Federated] = []

    def start(provider_only: bool = False, app: str = APP) -> Federated:
        standin = FakeStandin()
        started.append(Federated(boto3.client("cognito-idp", region_name="us-east-1"), standin.url,
                                 provider_only, app))
        started[-1].standin = standin
        started[-1].servers.append(standin.server)
        return started[-1]

    with mock_aws():
        yield start
        for f in started:
            f.stop()


def test_a_federated_sign_in_maps_the_providers_claims_and_ends_with_the_stand_ins_tokens(federated):
    f = federated()
    browser = Browser()
    to_provider = f.to_provider(browser)
    asked = query_of(to_provider)
    assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"] == f.login.url + "/oauth2/idpresponse"
    assert asked["response_type"] == "code" and "openid" in asked["scope"].split()
    assert asked["state"] != "s1" and asked["nonce"]  # managed login's own, not the app's
    back = f.back_at_app(browser, f.at_provider(browser, to_provider))
    assert back["state"] == "s1"
    assert f.standin.received == [{
        "userPoolId": f.pool_id, "clientId": f.client_id, "providerName": "Company", "providerType": "OIDC",
        "subject": subject_for("carol"),
        "attributes": {"email": "carol@corp.example", "name": "Carol Company", "custom:provider_groups": '["ml-team"]'},
    }]
    # The app finishes as after a password sign-in: its code, bound to its verifier, once.
    assert call(f"{f.login.url}/oauth2/token", {"grant_type": "authorization_code", "client_id": f.client_id,
                                                 "code": back["code"], "redirect_uri": APP,
                                                 "code_verifier": "w" * 43})[0] == 400
    back = f.back_at_app(browser, f.at_provider(browser, f.to_provider(browser)))
    status, tokens = f.app_tokens(back["code"])
    assert status == 200
    assert (tokens["id_token"], tokens["access_token"], tokens["refresh_token"]) == \
        ("fake-id-2", "fake-access-2", "fake-refresh-2")
    assert f.app_tokens(back["code"])[0] == 400
    # Managed login set no session of its own: every federated sign-in goes to the provider.
    assert browser.cookie("local-managed-login") is None


@pytest.mark.parametrize("user, flattened", [
    ("dave", '["analysts","bad group","' + "x" * 200 + '"]'),
    ("erin", "[]"),
])
def test_an_oidc_groups_claim_is_stored_as_its_json_text(federated, user, flattened):
    f = federated()
    browser = Browser()
    f.back_at_app(browser, f.at_provider(browser, f.to_provider(browser), user))
    assert f.standin.received[-1]["attributes"]["custom:provider_groups"] == flattened
    assert f.standin.received[-1]["subject"] == subject_for(user)


def test_each_sign_in_reads_the_groups_afresh_through_the_providers_session(federated):
    f = federated()
    browser = Browser()
    f.back_at_app(browser, f.at_provider(browser, f.to_provider(browser)))
    call(f"{f.idp.url}/_users/carol/groups", body=b'["analysts"]', method="PUT",
         headers={"Content-Type": "application/json"})
    # No password this time (the provider's session), yet the new groups arrive.
    status, headers, _ = browser.open(f.to_provider(browser, state="s2"))
    assert status == 302 and headers["Location"].startswith(f.login.url + "/oauth2/idpresponse?")
    assert f.back_at_app(browser, headers["Location"])["state"] == "s2"
    assert [r["attributes"]["custom:provider_groups"] for r in f.standin.received] == ['["ml-team"]', '["analysts"]']


def test_a_state_is_good_once_and_one_managed_login_did_not_issue_is_refused(federated):
    f = federated()
    browser = Browser()
    idp_response = f.at_provider(browser, f.to_provider(browser))
    f.back_at_app(browser, idp_response)
    for url in (idp_response, f"{f.login.url}/oauth2/idpresponse?code=x&state=made-up",
                f"{f.login.url}/oauth2/idpresponse?code=x"):
        status, headers, page = browser.open(url)
        assert status == 400 and "Location" not in headers and 'id="error"' in page
    assert len(f.standin.received) == 1


def test_an_id_token_with_another_nonce_is_refused(federated):
    f = federated()
    browser = Browser()
    to_provider = f.to_provider(browser)
    # The browser reaches the provider with the nonce changed: the token then carries that one.
    tampered = to_provider.replace("nonce=" + urllib.parse.quote(query_of(to_provider)["nonce"]), "nonce=forged")
    assert tampered != to_provider
    back = f.back_at_app(browser, f.at_provider(browser, tampered))
    assert back == {"error": "invalid_request", "error_description": "Bad id_token nonce", "state": "s1"}
    assert f.standin.received == []


def test_an_error_from_the_provider_sends_the_app_access_denied(federated):
    f = federated()
    browser = Browser()
    state = query_of(f.to_provider(browser))["state"]
    back = f.back_at_app(browser, f"{f.login.url}/oauth2/idpresponse?" + urllib.parse.urlencode(
        {"error": "access_denied", "error_description": "User cancelled", "state": state}))
    assert back["error"] == "access_denied" and back["state"] == "s1" and "code" not in back
    assert f.standin.received == []


def test_a_refusal_from_the_pool_reaches_the_app_with_its_message(federated):
    f = federated()
    f.standin.refuse = (400, {"__type": "UserLambdaValidationException",
                              "message": "PreTokenGeneration failed with error boom."})
    browser = Browser()
    back = f.back_at_app(browser, f.at_provider(browser, f.to_provider(browser)))
    assert back == {"error": "invalid_request", "error_description": "PreTokenGeneration failed with error boom.",
                    "state": "s1"}


def test_a_forged_expired_or_misaddressed_id_token_is_refused(federated):
    f = federated()
    federated_sign_in = f.login.provider.federated
    federated_sign_in.metadata()
    now = int(time.time())
    good = {"iss": f.idp.url, "aud": CLIENT_ID, "sub": "00usomeone", "iat": now, "exp": now + 300, "nonce": "n"}
    own_key, other_key = f.idp.idp.key, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = {"kid": f.idp.idp.kid}

    def check(claims, key=own_key):
        return federated_sign_in.verify({}, jwt.encode(claims, key, algorithm="RS256", headers=header), "n")

    assert check(good)["sub"] == "00usomeone"  # the checks below fail for their one change only
    for claims, key in [(good, other_key), ({**good, "aud": "other"}, own_key), ({**good, "iss": "http://x"}, own_key),
                        ({**good, "exp": now - 10}, own_key), ({**good, "nonce": "m"}, own_key)]:
        with pytest.raises(FederationRefused):
            check(claims, key)


def test_the_password_form_offers_the_provider_and_still_signs_in(federated):
    f = federated()
    browser = Browser()
    status, _, page = browser.open(f.authorize_url())
    assert status == 200 and 'name="password"' in page
    link = re.search(r'<a id="federated" href="([^"]+)">Sign in with Company</a>', page)
    href = link.group(1).replace("&amp;", "&")
    assert query_of(href) == {**query_of(f.authorize_url()), "identity_provider": "Company"}
    status, headers, _ = browser.open(f.login.url + href)
    assert status == 302 and headers["Location"].startswith(f.idp.url + "/authorize?")
    # The password path is unchanged.
    status, headers, _ = browser.open(f"{f.login.url}/oauth2/authorize",
                                      {**hidden_fields(page), "username": "alice", "password": "Alice-pass-1!"})
    assert status == 302 and "code" in query_of(headers["Location"])
    # identity_provider=COGNITO is the password form; a provider the pool does not have goes back as an error.
    assert Browser().open(f.authorize_url(identity_provider="COGNITO"))[0] == 200
    status, headers, _ = Browser().open(f.authorize_url(identity_provider="Elsewhere"))
    assert status == 302 and query_of(headers["Location"])["error"] == "invalid_request"


def test_with_the_provider_only_there_is_no_password_form_and_a_password_post_is_refused(federated):
    f = federated(provider_only=True)
    browser = Browser()
    status, headers, _ = browser.open(f.authorize_url())
    assert status == 302 and headers["Location"].startswith(f.idp.url + "/authorize?")
    password_form = {"request": "x", "_csrf": "y", "username": "alice", "password": "Alice-pass-1!"}
    status, headers, page = browser.open(f"{f.login.url}/oauth2/authorize", password_form)
    assert status == 403 and "Location" not in headers and browser.cookie("local-managed-login") is None
    status, headers, _ = browser.open(f.authorize_url(identity_provider="COGNITO"))
    assert status == 302 and query_of(headers["Location"])["error"] == "invalid_request"
    back = f.back_at_app(browser, f.at_provider(browser, f.to_provider(browser)))
    assert f.app_tokens(back["code"])[0] == 200


def test_logout_still_works_and_the_log_holds_no_code_token_or_secret(federated, capsys):
    f = federated()
    browser = Browser()
    idp_response = f.at_provider(browser, f.to_provider(browser))
    back = f.back_at_app(browser, idp_response)
    tokens = f.app_tokens(back["code"])[1]
    status, headers, _ = browser.open(f"{f.login.url}/logout?" + urllib.parse.urlencode(
        {"client_id": f.client_id, "logout_uri": APP}))
    assert status == 302 and headers["Location"] == APP
    output = capsys.readouterr().out
    assert "managed-login GET /oauth2/idpresponse -> 302" in output
    for secret in (query_of(idp_response)["code"], query_of(idp_response)["state"], back["code"], SECRET,
                   tokens["access_token"], DEMO_USERS["carol"]["password"]):
        assert secret not in output


def test_a_real_browser_goes_from_the_link_through_the_company_form_to_the_app(federated, browser):
    """Each page's policy holds in Chromium, which checks form-action on every redirect after the
    provider's form is posted: provider, then managed login, then the app."""
    app = Server(lambda environ, start: Response("<h1>app</h1>", content_type="text/html")(environ, start)).start()
    try:
        f = federated(app=app.url + "/")
        context = browser.new_context()
        page = context.new_page()
        complaints = []
        page.on("console", lambda message: complaints.append(message.text))
        page.goto(f.authorize_url())
        page.click("#federated")
        page.fill("#username", "carol")
        page.fill("#password", DEMO_USERS["carol"]["password"])
        page.click("button[type=submit]")
        page.wait_for_url(app.url + "/?*", timeout=10_000)
        assert query_of(page.url)["state"] == "s1" and complaints == []
        assert f.app_tokens(query_of(page.url)["code"])[0] == 200
        context.close()
    finally:
        app.stop()


def test_with_the_real_stand_in_the_federated_user_is_made_signed_in_and_renewed():
    """End to end with local/sagemaker_standin.py's `/_federated_sign_in` and its moto Cognito."""
    standin, moto, page = start_standin()
    f = None
    try:
        f = Federated(client("cognito-idp", moto), page)
        browser = Browser()
        back = f.back_at_app(browser, f.at_provider(browser, f.to_provider(browser)))
        status, tokens = f.app_tokens(back["code"])
        assert status == 200, tokens
        claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        assert claims["cognito:username"] == f"Company_{subject_for('carol')}"
        assert claims["custom:provider_groups"] == '["ml-team"]' and claims["email"] == "carol@corp.example"
        assert claims["identities"][0]["userId"] == subject_for("carol")
        # The groups change at the company: the next sign-in (the provider's session) carries them.
        call(f"{f.idp.url}/_users/carol/groups", body=b'["analysts"]', method="PUT")
        back = f.back_at_app(browser, f.at_provider(browser, f.to_provider(browser)))
        second = jwt.decode(f.app_tokens(back["code"])[1]["id_token"], options={"verify_signature": False})
        assert second["custom:provider_groups"] == '["analysts"]' and second["sub"] == claims["sub"]
        status, renewed = call(f"{f.login.url}/oauth2/token", {"grant_type": "refresh_token", "client_id": f.client_id,
                                                               "refresh_token": tokens["refresh_token"]})
        assert status == 200 and renewed["access_token"]
    finally:
        if f is not None:
            f.stop()
        standin.stop(10)


def test_each_provider_kind_stores_a_list_as_its_trigger_reads_it():
    # OIDC keeps the claim's JSON text; SAML's multi-valued attribute is flattened to [a, b].
    assert attribute_value(["ml-team", "a b"], "OIDC") == '["ml-team","a b"]'
    assert attribute_value(["ml-team", "a b"], "SAML") == "[ml-team, a b]"
    assert attribute_value([], "OIDC") == "[]" and attribute_value([], "SAML") == "[]"
    assert attribute_value(True) == "true" and attribute_value("x") == "x"
