"""The stand-in's Cognito with a pre token generation trigger and federated users, over HTTP with
boto3: the real sign-in trigger's groups in both tokens, a password user's pool groups left alone,
a trigger that fails, hangs, answers garbage or overrides what Cognito refuses failing the sign-in
with no token, refresh invoking it again, `/_federated_sign_in` making a user once and refusing
what Cognito refuses, `/_lambdas`, and the Invoke API in front of a function (local/lambda_invoke.py).

Failures are played by a small Python function over the Lambda Runtime API (`FAKE_RUNTIME`); every
token a happy path issues goes through the real `sign-in-trigger` binary."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import botocore.exceptions
import jwt
import pytest

from local import gateway
from local.lambda_invoke import TriggerHost, function_arn
from local.serve import Server
from local.stack import ROOT, client

TRIGGER_BINARY = os.environ.get("SIGN_IN_TRIGGER_BINARY", str(ROOT / "target/release/sign-in-trigger"))
PROVIDER = "Company"
PASSWORD = "Alice-demo-pass-1"
GROUPS_ATTRIBUTE = "custom:provider_groups"

# A function over the Runtime API that answers each user as `argv[1]` (JSON) says: "error" reports
# an error, "sleep" answers after 7 s (past Cognito's 5), an object is the claimsOverrideDetails.
FAKE_RUNTIME = r"""
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
script = json.loads(sys.argv[1])
while True:
    with urllib.request.urlopen(api + "next") as answer:
        request_id, event = answer.headers["Lambda-Runtime-Aws-Request-Id"], json.loads(answer.read())
    action = script.get(event["userName"], None)
    kind, body = "response", event
    if action == "error":
        kind, body = "error", {"errorType": "Boom", "errorMessage": "the fake trigger failed"}
    elif action == "sleep":
        time.sleep(7)
    else:
        event["response"] = {"claimsOverrideDetails": action}
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/" + kind, data=json.dumps(body).encode(),
                                                  method="POST")).read()
"""
SCRIPT = {
    "erring": "error",
    "sub-override": {"claimsToAddOrOverride": {"sub": "someone-else"}},
    "groups-claim": {"claimsToAddOrOverride": {"cognito:groups": "admins"}},
    "number-claim": {"claimsToAddOrOverride": {"level": 3}},
    "suppress-aud": {"claimsToSuppress": ["aud"]},
    "claims": {"claimsToAddOrOverride": {"team": "blue", "email": "other@example.com"},
               "claimsToSuppress": ["email"]},
    "no-groups": {"groupOverrideDetails": {"groupsToOverride": []}},
}


def control(page: str, method: str, path: str, body=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(page + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def error_of(call, *args, **kwargs) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["Error"]


def invocations(page: str) -> list[dict]:
    return control(page, "GET", "/_lambdas")[1]["invocations"]


@pytest.fixture(scope="module")
def idp(standin):
    return client("cognito-idp", standin[0])


@pytest.fixture(scope="module")
def trigger(standin, tmp_path_factory):
    """The real sign-in trigger behind the Invoke API, registered with the stand-in."""
    if not Path(TRIGGER_BINARY).exists():
        pytest.fail(f"{TRIGGER_BINARY} is missing: cargo build --release --bin sign-in-trigger")
    host = TriggerHost(TRIGGER_BINARY, {"IDENTITY_PROVIDER_TYPE": "OIDC"},
                       tmp_path_factory.mktemp("trigger") / "trigger.log")
    assert control(standin[1], "POST", "/_lambdas", {"arn": host.arn, "url": host.invoke_url}) == (200, {"ok": True})
    yield host
    host.stop()


@pytest.fixture(scope="module")
def scripted(standin, tmp_path_factory):
    """The fake function answering as SCRIPT says, registered (by its server's base URL) as `fake`."""
    host = TriggerHost([sys.executable, "-c", FAKE_RUNTIME, json.dumps(SCRIPT)], {},
                       tmp_path_factory.mktemp("fake") / "fake.log", name="fake")
    assert control(standin[1], "POST", "/_lambdas", {"arn": host.arn, "url": host.url})[0] == 200
    yield host
    host.stop()


def make_pool(idp, arn: str | None, name: str = "pool") -> tuple[str, str]:
    """A pool as the template makes one for company sign-in (the provider's groups in a custom
    attribute, the trigger on V1_0), its provider `Company`, and an app client for both."""
    lambda_config = {"PreTokenGenerationConfig": {"LambdaArn": arn, "LambdaVersion": "V1_0"}} if arn else {}
    pool_id = idp.create_user_pool(
        PoolName=name, LambdaConfig=lambda_config,
        Schema=[{"Name": "provider_groups", "AttributeDataType": "String", "Mutable": True,
                 "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}],
    )["UserPool"]["Id"]
    idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName=PROVIDER, ProviderType="OIDC",
        ProviderDetails={"client_id": "notebook-gate", "client_secret": "s", "attributes_request_method": "GET",
                         "oidc_issuer": "http://127.0.0.1:1", "authorize_scopes": "openid email"},
        AttributeMapping={"email": "email", "name": "name", GROUPS_ATTRIBUTE: "groups"})
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="portal",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        SupportedIdentityProviders=["COGNITO", PROVIDER], ReadAttributes=["email", "name"],
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def password_user(idp, pool_id: str, name: str, group: str | None = None, **attributes):
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                          *({"Name": k.replace("__", ":"), "Value": v} for k, v in attributes.items())])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=True)
    if group:
        if all(g["GroupName"] != group for g in idp.list_groups(UserPoolId=pool_id)["Groups"]):
            idp.create_group(UserPoolId=pool_id, GroupName=group)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=group)


def sign_in(idp, client_id: str, name: str) -> dict:
    return idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})["AuthenticationResult"]


def federated(page: str, pool_id: str, client_id: str, subject: str, provider: str = PROVIDER,
              **attributes) -> tuple[int, dict]:
    return control(page, "POST", "/_federated_sign_in", {
        "userPoolId": pool_id, "clientId": client_id, "providerName": provider, "providerType": "OIDC",
        "subject": subject, "attributes": {k.replace("__", ":"): v for k, v in attributes.items()}})


@pytest.fixture(scope="module")
def company(idp, trigger):
    return make_pool(idp, trigger.arn, "company")


@pytest.fixture(scope="module")
def faulty(idp, scripted):
    return make_pool(idp, scripted.arn, "faulty")


# --- the real trigger ----------------------------------------------------------------------------


def test_federated_person_gets_provider_groups_in_both_tokens(standin, company, trigger):
    pool_id, client_id = company
    status, body = federated(standin[1], pool_id, client_id, "dave-0001", email="dave@corp.example",
                             custom__provider_groups=json.dumps(["analysts", "bad group", "x" * 200]))
    assert status == 200, body
    assert body["userName"] == "Company_dave-0001"
    result = body["AuthenticationResult"]
    assert result["TokenType"] == "Bearer" and result["ExpiresIn"] > 0 and result["RefreshToken"]
    access, identity = claims(result["AccessToken"]), claims(result["IdToken"])
    assert access["cognito:groups"] == ["analysts"]
    assert identity["cognito:groups"] == ["analysts"]
    assert access["username"] == "Company_dave-0001"
    # The trigger suppresses the raw attribute; Cognito names the provider link in the ID token.
    assert GROUPS_ATTRIBUTE not in identity
    assert identity["identities"][0]["providerName"] == PROVIDER
    assert identity["identities"][0]["userId"] == "dave-0001"
    # The real binary said what it dropped, naming the person by sub only.
    log = trigger.host.function.log_path.read_text()
    assert "bad group" in log and "dave@corp.example" not in log


def test_password_user_keeps_pool_groups_and_an_attribute_they_set_gives_none(standin, idp, company):
    pool_id, client_id = company
    password_user(idp, pool_id, "alice", "ml-team", custom__provider_groups='["admins"]')
    before = len(invocations(standin[1]))
    tokens = sign_in(idp, client_id, "alice")
    assert claims(tokens["AccessToken"])["cognito:groups"] == ["ml-team"]
    assert claims(tokens["IdToken"])["cognito:groups"] == ["ml-team"]
    # The trigger answered "nothing changed": the ID token keeps what moto put there.
    assert claims(tokens["IdToken"])[GROUPS_ATTRIBUTE] == '["admins"]'
    made = invocations(standin[1])[before:]
    assert [(i["triggerSource"], i["userName"], i["ok"]) for i in made] == [
        ("TokenGeneration_Authentication", "alice", True)]  # one invocation for both tokens


def test_pool_groups_come_before_the_providers(standin, idp, company):
    pool_id, client_id = company
    assert federated(standin[1], pool_id, client_id, "carol-0001", custom__provider_groups='["ml-team"]')[0] == 200
    idp.create_group(UserPoolId=pool_id, GroupName="gate-admins", Precedence=1)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="Company_carol-0001", GroupName="gate-admins")
    status, body = federated(standin[1], pool_id, client_id, "carol-0001", custom__provider_groups='["ml-team"]')
    assert status == 200
    assert claims(body["AuthenticationResult"]["AccessToken"])["cognito:groups"] == ["gate-admins", "ml-team"]


def test_refresh_runs_the_trigger_again_with_the_attributes_stored(standin, idp, company):
    pool_id, client_id = company
    first = federated(standin[1], pool_id, client_id, "erin-0001", custom__provider_groups='["ml-team"]')[1]
    refresh_token = first["AuthenticationResult"]["RefreshToken"]
    # The provider moved erin; the pool learns it at her next federated sign-in, and a refresh of
    # her older session then carries what the pool now stores.
    second = federated(standin[1], pool_id, client_id, "erin-0001", custom__provider_groups='["analysts"]')[1]
    assert claims(second["AuthenticationResult"]["IdToken"])["cognito:groups"] == ["analysts"]
    before = len(invocations(standin[1]))
    refreshed = idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                  AuthParameters={"REFRESH_TOKEN": refresh_token})["AuthenticationResult"]
    assert claims(refreshed["AccessToken"])["cognito:groups"] == ["analysts"]
    assert claims(refreshed["IdToken"])["cognito:groups"] == ["analysts"]
    assert [(i["triggerSource"], i["userName"]) for i in invocations(standin[1])[before:]] == [
        ("TokenGeneration_RefreshTokens", "Company_erin-0001")]


def test_federated_user_is_made_once_and_its_attributes_follow_the_provider(standin, idp, company):
    pool_id, client_id = company
    first = federated(standin[1], pool_id, client_id, "frank-0001", email="frank@corp.example", name="Frank")[1]
    user = idp.admin_get_user(UserPoolId=pool_id, Username="Company_frank-0001")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert user["UserStatus"] == "EXTERNAL_PROVIDER"
    identities = json.loads(attributes["identities"])
    assert identities == [{"userId": "frank-0001", "providerName": PROVIDER, "providerType": "OIDC", "issuer": None,
                           "primary": "true", "dateCreated": identities[0]["dateCreated"]}]
    second = federated(standin[1], pool_id, client_id, "frank-0001", email="frank@corp.example", name="Frank Jones")[1]
    assert claims(first["AuthenticationResult"]["AccessToken"])["sub"] == \
        claims(second["AuthenticationResult"]["AccessToken"])["sub"] == attributes["sub"]
    again = {a["Name"]: a["Value"]
             for a in idp.admin_get_user(UserPoolId=pool_id, Username="Company_frank-0001")["UserAttributes"]}
    assert again["name"] == "Frank Jones" and again["identities"] == attributes["identities"]
    assert len([u for u in idp.list_users(UserPoolId=pool_id)["Users"] if u["Username"] == "Company_frank-0001"]) == 1
    assert claims(second["AuthenticationResult"]["IdToken"])["name"] == "Frank Jones"
    assert [i["triggerSource"] for i in invocations(standin[1])[-2:]] == ["TokenGeneration_HostedAuth"] * 2


def test_later_sign_ins_overwrite_only_what_the_app_client_may_write(standin, idp, company):
    pool_id, client_id = company
    writer = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="writer", SupportedIdentityProviders=[PROVIDER],
                                         WriteAttributes=["email", GROUPS_ATTRIBUTE])["UserPoolClient"]["ClientId"]
    assert federated(standin[1], pool_id, writer, "jane-0001", name="Jane", email="jane@corp.example")[0] == 200
    assert federated(standin[1], pool_id, writer, "jane-0001", name="Janet", email="janet@corp.example")[0] == 200
    user = idp.admin_get_user(UserPoolId=pool_id, Username="Company_jane-0001")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert (attributes["name"], attributes["email"]) == ("Jane", "janet@corp.example")


def test_federated_sign_in_refuses_what_cognito_refuses(standin, idp, company):
    pool_id, client_id = company
    page = standin[1]
    status, body = federated(page, pool_id, client_id, "gina-0001", provider="Partner")
    assert (status, body["__type"]) == (400, "ResourceNotFoundException")
    status, body = federated(page, pool_id, client_id, "gina-0001", custom__department="sales")
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert "custom:department" in body["message"]
    status, body = federated(page, pool_id, client_id, "gina-0001", custom__provider_groups="x" * 2049)
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    status, body = federated(page, pool_id, "no-such-client", "gina-0001")
    assert (status, body["__type"]) == (400, "ResourceNotFoundException")
    password_only = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="password-only",
                                                SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]
    status, body = federated(page, pool_id, password_only, "gina-0001")
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert control(page, "POST", "/_federated_sign_in", {"userPoolId": pool_id})[0] == 400
    # None of them made the user.
    missing = error_of(idp.admin_get_user, UserPoolId=pool_id, Username="Company_gina-0001")
    assert missing["Code"] == "UserNotFoundException"


def test_federated_user_cannot_sign_in_with_a_password(standin, idp, company):
    pool_id, client_id = company
    assert federated(standin[1], pool_id, client_id, "hank-0001")[0] == 200
    for password in (PASSWORD, None):
        parameters = {"USERNAME": "Company_hank-0001", **({"PASSWORD": password} if password else {})}
        refused = error_of(client("cognito-idp", standin[0], validate=False).initiate_auth,
                           ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=parameters)
        assert refused["Code"] == "NotAuthorizedException"
    refused = error_of(idp.admin_initiate_auth, UserPoolId=pool_id, ClientId=client_id,
                       AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                       AuthParameters={"USERNAME": "Company_hank-0001", "PASSWORD": PASSWORD})
    assert refused["Code"] == "NotAuthorizedException"


def test_lambdas_lists_functions_and_invocations_without_tokens(standin, company, trigger):
    assert federated(standin[1], *company, "ivan-0001", custom__provider_groups='["ml-team"]')[0] == 200
    status, listing = control(standin[1], "GET", "/_lambdas")
    assert status == 200
    assert {"arn": trigger.arn, "url": trigger.invoke_url} in listing["functions"]
    entry = listing["invocations"][-1]
    assert entry == {"arn": trigger.arn, "triggerSource": "TokenGeneration_HostedAuth", "userPoolId": company[0],
                     "userName": "Company_ivan-0001", "ok": True, "error": None, "seconds": entry["seconds"]}
    assert control(standin[1], "DELETE", "/_lambdas") == (200, {"ok": True})
    assert invocations(standin[1]) == []
    assert "eyJ" not in json.dumps(listing)  # no JWT, not even a header
    assert control(standin[1], "POST", "/_lambdas", {"arn": "not-an-arn", "url": "http://x"})[0] == 400
    assert control(standin[1], "POST", "/_lambdas", {"arn": trigger.arn, "url": "ftp://x"})[0] == 400


# --- a trigger that fails, and what the trigger may not change --------------------------------------


@pytest.mark.parametrize("user, code, message", [
    ("erring", "UserLambdaValidationException", "PreTokenGeneration failed with error the fake trigger failed."),
    ("sub-override", "UserLambdaValidationException", "sub"),
    ("groups-claim", "UserLambdaValidationException", "cognito:groups"),
    ("number-claim", "UserLambdaValidationException", "level"),
    ("suppress-aud", "UserLambdaValidationException", "aud"),
])
def test_failing_or_refused_trigger_fails_the_sign_in_with_no_tokens(standin, idp, faulty, user, code, message):
    pool_id, client_id = faulty
    password_user(idp, pool_id, user)
    refused = error_of(sign_in, idp, client_id, user)
    assert refused["Code"] == code
    assert message in refused["Message"]
    last = invocations(standin[1])[-1]
    assert (last["userName"], last["ok"], last["error"]) == (user, False, code)


def test_trigger_may_add_and_suppress_id_token_claims_only(idp, faulty):
    pool_id, client_id = faulty
    password_user(idp, pool_id, "claims")
    tokens = sign_in(idp, client_id, "claims")
    identity, access = claims(tokens["IdToken"]), claims(tokens["AccessToken"])
    assert identity["team"] == "blue" and "email" not in identity  # suppression wins over an override
    assert "team" not in access


def test_empty_group_override_leaves_no_groups_claim(idp, faulty):
    pool_id, client_id = faulty
    password_user(idp, pool_id, "no-groups", "ml-team")
    tokens = sign_in(idp, client_id, "no-groups")
    assert "cognito:groups" not in claims(tokens["AccessToken"])
    assert "cognito:groups" not in claims(tokens["IdToken"])


def test_failed_refresh_issues_nothing_and_the_refresh_token_still_works_after(standin, idp, faulty, scripted):
    pool_id, client_id = faulty
    password_user(idp, pool_id, "flaky")
    refresh_token = sign_in(idp, client_id, "flaky")["RefreshToken"]
    # The pool's trigger becomes a function nothing serves: Cognito cannot invoke it.
    idp.update_user_pool(UserPoolId=pool_id, LambdaConfig={"PreTokenGeneration": function_arn("missing")})
    refused = error_of(idp.initiate_auth, ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                       AuthParameters={"REFRESH_TOKEN": refresh_token})
    assert refused["Code"] == "UnexpectedLambdaException"  # nothing registered for that ARN
    assert invocations(standin[1])[-1]["triggerSource"] == "TokenGeneration_RefreshTokens"
    idp.update_user_pool(UserPoolId=pool_id, LambdaConfig={"PreTokenGeneration": scripted.arn})
    assert idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                             AuthParameters={"REFRESH_TOKEN": refresh_token})["AuthenticationResult"]["AccessToken"]


def test_trigger_that_answers_after_five_seconds_fails_the_sign_in(standin, idp, tmp_path):
    host = TriggerHost([sys.executable, "-c", FAKE_RUNTIME, json.dumps({"slow": "sleep"})], {}, tmp_path / "slow.log",
                       name="slow")
    try:
        control(standin[1], "POST", "/_lambdas", {"arn": host.arn, "url": host.invoke_url})
        pool_id, client_id = make_pool(idp, host.arn, "slow")
        password_user(idp, pool_id, "slow")
        started = time.monotonic()
        refused = error_of(sign_in, idp, client_id, "slow")
        waited = time.monotonic() - started
    finally:
        host.stop()
    assert refused["Code"] == "UnexpectedLambdaException"
    assert "Socket timeout" in refused["Message"]
    assert 4.5 < waited < 7  # Cognito's five seconds, not the function's seven


def test_answer_that_is_not_json_fails_the_sign_in(standin, idp):
    def garbage(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"<html>not json</html>"]

    server = Server(garbage).start()
    try:
        arn = function_arn("garbage")
        control(standin[1], "POST", "/_lambdas", {"arn": arn, "url": server.url})
        pool_id, client_id = make_pool(idp, arn, "garbage")
        password_user(idp, pool_id, "gary")
        refused = error_of(sign_in, idp, client_id, "gary")
    finally:
        server.stop()
    assert refused["Code"] == "InvalidLambdaResponseException"


def test_pool_without_trigger_is_moto_as_before(standin, idp):
    pool_id, client_id = make_pool(idp, None, "plain")
    password_user(idp, pool_id, "paul", "analysts")
    before = len(invocations(standin[1]))
    tokens = sign_in(idp, client_id, "paul")
    assert claims(tokens["AccessToken"])["cognito:groups"] == ["analysts"]
    assert len(invocations(standin[1])) == before


# --- the Invoke API in front of a function ---------------------------------------------------------


def invoke(url: str, event) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_invoke_api_answers_as_lambda_does(scripted):
    status, headers, body = invoke(scripted.invoke_url, {"userName": "claims"})
    assert status == 200 and "X-Amz-Function-Error" not in headers
    assert body["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]["team"] == "blue"
    by_arn = f"{scripted.url}/2015-03-31/functions/{scripted.arn}/invocations"
    status, headers, body = invoke(by_arn, {"userName": "erring"})
    assert (status, headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert body == {"errorType": "Boom", "errorMessage": "the fake trigger failed"}
    status, headers, body = invoke(f"{scripted.url}/2015-03-31/functions/other/invocations", {})
    assert status == 404 and headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert invoke(f"{scripted.url}/elsewhere", {})[0] == 404


def test_invoke_api_answers_a_function_past_its_timeout_as_lambda_does(tmp_path, monkeypatch):
    monkeypatch.setattr(gateway, "INVOKE_TIMEOUT_SECONDS", 1)
    host = TriggerHost([sys.executable, "-c", FAKE_RUNTIME, json.dumps({"slow": "sleep"})], {}, tmp_path / "slow.log",
                       name="slow")
    try:
        status, headers, body = invoke(host.invoke_url, {"userName": "slow"})
    finally:
        host.stop()
    assert (status, headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
