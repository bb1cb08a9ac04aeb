"""Cognito's pre token generation trigger, for the stand-in's moto Cognito (moto keeps a pool's
LambdaConfig but never invokes a trigger).

Pre token generation (`V1_0`): when a pool's LambdaConfig names the trigger (`PreTokenGeneration`,
or `PreTokenGenerationConfig.LambdaArn`), every token issuance invokes it once, through Lambda's
Invoke API at the URL registered for its ARN (`POST /_lambdas`; local/lambda_invoke.py serves one),
with the event Cognito sends: `triggerSource` TokenGeneration_Authentication (a sign-in),
TokenGeneration_NewPasswordChallenge, TokenGeneration_RefreshTokens or TokenGeneration_HostedAuth
(a federated sign-in), the user's attributes with `sub` and `cognito:user_status`, and their pool
groups. Its answer is applied as Cognito applies a V1 answer: `groupOverrideDetails` replaces
`cognito:groups` in both tokens (and `cognito:roles` / `cognito:preferred_role` in the ID token);
`claimsToAddOrOverride` and `claimsToSuppress` change the ID token only. A failed trigger fails the
issuance, as Cognito does, and no token is handed out:

- the function reported an error: UserLambdaValidationException "PreTokenGeneration failed with
  error <its errorMessage>."
- no answer within Cognito's 5 seconds, or the function could not be invoked (no URL registered
  for its ARN, or the Invoke API refused): UnexpectedLambdaException "PreTokenGeneration invocation
  failed due to error ..."
- an answer that is not JSON, or not the event's shape: InvalidLambdaResponseException
- an override Cognito refuses (a reserved claim such as `sub` or `aud`, a `cognito:` claim added, a
  value that is not a string): UserLambdaValidationException.

Federated users and their sign-ins are local/cognito_federation.py.

Control endpoints (on the stand-in's page port): `POST /_lambdas {"arn", "url"}` registers a
function's invocation URL, `GET /_lambdas` lists the functions and the invocations made (never an
event or a token), `DELETE /_lambdas` forgets the invocations.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from joserfc import jwt as jose_jwt
from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUser, CognitoIdpUserPool
from moto.core.exceptions import JsonRESTError
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from local.control import json_body, json_response
from local.lambda_invoke import INVOKE_PREFIX, INVOKE_SUFFIX

TRIGGER = "PreTokenGeneration"
COGNITO_WAIT_SECONDS = 5  # Cognito gives a trigger five seconds, and no way to change it
FEDERATED_STATUS = "EXTERNAL_PROVIDER"
AUTHENTICATION = "TokenGeneration_Authentication"
NEW_PASSWORD = "TokenGeneration_NewPasswordChallenge"
REFRESH = "TokenGeneration_RefreshTokens"
HOSTED = "TokenGeneration_HostedAuth"
SDK_VERSION = "aws-sdk-unknown-unknown"  # what Cognito's events say when no SDK made the call
LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]{1,64})(:[A-Za-z0-9$_-]+)?$")
# Claims a trigger may neither add, override nor suppress (Cognito's list for V1_0), and prefixes.
RESERVED_CLAIMS = frozenset({
    "acr", "amr", "aud", "at_hash", "auth_time", "azp", "cognito:username", "exp", "iat", "identities",
    "iss", "jti", "nbf", "nonce", "origin_jti", "sub", "token_use",
})

# Which flow is issuing tokens in this thread (moto issues them inside InitiateAuth and the like).
ISSUING_FLOW: contextvars.ContextVar[str | None] = contextvars.ContextVar("trigger_source", default=None)
# The trigger's outcome between the access token and the ID token of one issuance (moto makes the
# access token first, then the ID token with the same origin_jti): one invocation for both.
_PENDING: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("pending_outcome", default=None)
# The change create_jwt applies to the token it is making.
_EDIT: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("token_edit", default=None)


class CognitoError(JsonRESTError):
    """One of Cognito's errors, `CognitoError(code, message)`: a 400, as Cognito answers them all."""


def _validation(message: str) -> CognitoError:
    return CognitoError("UserLambdaValidationException", f"{TRIGGER} failed with error {message}.")


def _unexpected(message: str) -> CognitoError:
    return CognitoError("UnexpectedLambdaException", f"{TRIGGER} invocation failed due to error {message}.")


def _unrecognizable() -> CognitoError:
    return CognitoError("InvalidLambdaResponseException", "Unrecognizable lambda output")


class Triggers:
    """The functions the stand-in can invoke (ARN -> invocation URL) and the invocations made."""

    def __init__(self):
        self.lock = threading.Lock()
        self.functions: dict[str, str] = {}
        self.invocations: list[dict] = []

    def register(self, arn: str, url: str):
        name = LAMBDA_ARN.match(arn or "")
        if name is None:
            raise ValueError("arn must be a Lambda function ARN")
        split = urlsplit(url or "")
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ValueError("url must be an http(s) URL")
        if split.path in ("", "/"):  # the Invoke API's endpoint: the function's path is Lambda's
            url = f"{url.rstrip('/')}{INVOKE_PREFIX}{name.group(1)}{INVOKE_SUFFIX}"
        with self.lock:
            self.functions[arn] = url

    def url(self, arn: str) -> str | None:
        with self.lock:
            return self.functions.get(arn)

    def record(self, entry: dict):
        with self.lock:
            self.invocations.append(entry)


TRIGGERS = Triggers()


# --- the event, the invocation and the answer --------------------------------------------------


def trigger_arn(pool: CognitoIdpUserPool) -> str | None:
    """The pool's pre token generation function, if it has one. Only V1_0 events are sent."""
    config = pool.extended_config.get("LambdaConfig") or {}
    versioned = config.get("PreTokenGenerationConfig") or {}
    arn = versioned.get("LambdaArn") or config.get(TRIGGER)
    if arn and versioned.get("LambdaVersion", "V1_0") != "V1_0":
        raise _unexpected(f"the stand-in sends V1_0 events only, and the pool asks for {versioned['LambdaVersion']}")
    return arn or None


def status_of(user: CognitoIdpUser) -> str:
    return getattr(user.status, "value", user.status)


def _groups(user: CognitoIdpUser) -> list:
    # Cognito lists a user's groups by precedence (lowest first), groups without one last.
    return sorted(user.groups, key=lambda g: (g.precedence is None, g.precedence or 0, g.group_name))


def trigger_event(pool: CognitoIdpUserPool, client_id: str, user: CognitoIdpUser, source: str) -> dict:
    """The V1_0 event Cognito sends for `user` (AWS's shape: every attribute a string)."""
    attributes = {a["Name"]: str(a["Value"]) for a in user.attributes}
    attributes["sub"] = user.id
    attributes["cognito:user_status"] = status_of(user)
    groups = _groups(user)
    roles = [g.role_arn for g in groups if g.role_arn]
    preferred = next((g.role_arn for g in groups if g.role_arn), None)
    return {
        "version": "1",
        "triggerSource": source,
        "region": pool.region,
        "userPoolId": pool.id,
        "userName": user.username,
        "callerContext": {"awsSdkVersion": SDK_VERSION, "clientId": client_id},
        "request": {
            "userAttributes": attributes,
            "groupConfiguration": {"groupsToOverride": [g.group_name for g in groups],
                                   "iamRolesToOverride": roles, "preferredRole": preferred},
            "clientMetadata": {},
        },
        "response": {"claimsOverrideDetails": None},
    }


def invoke(url: str, event: dict) -> dict:
    """The function's answer to `event`, or the error Cognito answers the API call with."""
    request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=COGNITO_WAIT_SECONDS) as response:
            function_error = response.headers.get("X-Amz-Function-Error")
            body = response.read()
    except urllib.error.HTTPError as error:
        raise _unexpected(error.headers.get("x-amzn-ErrorType") or f"HTTP {error.code}") from None
    except (TimeoutError, socket.timeout):
        raise _unexpected("Socket timeout while invoking Lambda function") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, (TimeoutError, socket.timeout)):
            raise _unexpected("Socket timeout while invoking Lambda function") from None
        raise _unexpected(f"Unable to reach the Lambda function ({error.reason})") from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise CognitoError("InvalidLambdaResponseException", "Invalid lambda function output : Invalid JSON") from None
    if function_error:
        message = answer.get("errorMessage") if isinstance(answer, dict) else None
        raise _validation(message if isinstance(message, str) else "Unhandled")
    return answer


KEEP = object()  # a part of the tokens the answer leaves as Cognito made it


@dataclass
class Outcome:
    """What a V1 answer does to the two tokens."""

    groups: object = KEEP  # list[str]: cognito:groups in both tokens (none when empty)
    roles: object = KEEP  # list[str]: cognito:roles in the ID token
    preferred_role: object = KEEP  # str | None: cognito:preferred_role in the ID token
    add: dict = field(default_factory=dict)  # ID token claims added or overridden
    suppress: list = field(default_factory=list)  # ID token claims removed (after `add`: suppression wins)

    def apply(self, token_use: str, claims: dict) -> dict:
        claims = dict(claims)
        changes = [("cognito:groups", self.groups)]
        if token_use == "id":
            changes += [("cognito:roles", self.roles), ("cognito:preferred_role", self.preferred_role)]
        for name, value in changes:
            if value is KEEP:
                continue
            if value:
                claims[name] = value
            else:
                claims.pop(name, None)
        if token_use == "id":
            claims.update(self.add)
            for name in self.suppress:
                claims.pop(name, None)
        return claims


def _strings(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _unrecognizable()
    return value


def outcome_of(answer) -> Outcome:
    """The answer read as Cognito reads a V1 answer; what it may not do fails the issuance."""
    if not isinstance(answer, dict):
        raise _unrecognizable()
    response = answer.get("response")
    if response is None:
        return Outcome()
    if not isinstance(response, dict):
        raise _unrecognizable()
    details = response.get("claimsOverrideDetails")
    if details is None:
        return Outcome()  # nothing changed
    if not isinstance(details, dict):
        raise _unrecognizable()
    outcome = Outcome()
    group = details.get("groupOverrideDetails")
    if group is not None:  # given, it replaces the group configuration whole: an empty one drops the groups
        if not isinstance(group, dict):
            raise _unrecognizable()
        outcome.groups = _strings(group.get("groupsToOverride"))
        outcome.roles = _strings(group.get("iamRolesToOverride"))
        preferred = group.get("preferredRole")
        if preferred is not None and not isinstance(preferred, str):
            raise _unrecognizable()
        outcome.preferred_role = preferred
    add = details.get("claimsToAddOrOverride") or {}
    if not isinstance(add, dict):
        raise _unrecognizable()
    for name, value in add.items():
        if name in RESERVED_CLAIMS or name.startswith(("cognito:", "dev:")):
            raise _validation(f"the claim {name} cannot be added or overridden")
        if not isinstance(value, str):
            raise _validation(f"the claim {name} must be a string in a V1_0 answer")
    outcome.add = dict(add)
    outcome.suppress = _strings(details.get("claimsToSuppress"))
    for name in outcome.suppress:
        if name in RESERVED_CLAIMS or name.startswith("dev:"):
            raise _validation(f"the claim {name} cannot be suppressed")
    return outcome


def run_trigger(pool: CognitoIdpUserPool, client_id: str, username: str) -> Outcome | None:
    """Invokes the pool's trigger for one issuance (None: the pool has none)."""
    arn = trigger_arn(pool)
    if arn is None:
        return None
    user = pool._get_user(username)
    source = ISSUING_FLOW.get() or AUTHENTICATION
    entry = {"arn": arn, "triggerSource": source, "userPoolId": pool.id, "userName": user.username,
             "ok": False, "error": None}
    started = time.monotonic()
    try:
        url = TRIGGERS.url(arn)
        if url is None:
            print(f"cognito: no invocation URL registered for {arn} (POST /_lambdas)", flush=True)
            raise _unexpected("ResourceNotFoundException")
        outcome = outcome_of(invoke(url, trigger_event(pool, client_id, user, source)))
        entry["ok"] = True
        return outcome
    except JsonRESTError as error:
        entry["error"] = error.error_type
        raise
    finally:
        entry["seconds"] = round(time.monotonic() - started, 3)
        TRIGGERS.record(entry)


# --- moto's token issuance, with the trigger -----------------------------------------------------


@contextlib.contextmanager
def in_context(var: contextvars.ContextVar, value):
    """`var` set to `value` for the block (which flow is issuing tokens, say)."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def _segment(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _claims(token: str) -> tuple[dict, dict]:
    """A token's header and claims, as moto just signed them (no need to verify its own)."""
    header, payload, _ = token.split(".")
    return _segment(header), _segment(payload)


_moto_create_jwt = CognitoIdpUserPool.create_jwt
_moto_create_access_token = CognitoIdpUserPool.create_access_token
_moto_create_id_token = CognitoIdpUserPool.create_id_token
_moto_create_tokens_from_refresh_token = CognitoIdpUserPool.create_tokens_from_refresh_token
_moto_log_user_in = CognitoIdpBackend._log_user_in
_moto_respond_to_auth_challenge = CognitoIdpBackend.respond_to_auth_challenge


def create_jwt(self, client_id, username, token_use, expires_in=60 * 60, extra_data=None):
    token, expires = _moto_create_jwt(self, client_id, username, token_use, expires_in, extra_data)
    edit = _EDIT.get()
    if edit is None or edit[0] is not self:
        return token, expires
    header, claims = _claims(token)
    claims = edit[1].apply(token_use, claims)
    return jose_jwt.encode(header, claims, self.json_web_key), expires


def create_access_token(self, client_id, username, origin_jti):
    try:
        outcome = run_trigger(self, client_id, username)
    except JsonRESTError:
        if ISSUING_FLOW.get() != REFRESH:
            # The sign-in failed: the refresh token moto made for it first is never handed out.
            for key, value in list(self.refresh_tokens.items()):
                if value == (client_id, username, origin_jti):
                    del self.refresh_tokens[key]
        raise
    _PENDING.set((self, client_id, username, origin_jti, outcome))
    with in_context(_EDIT, (self, outcome) if outcome else None):
        return _moto_create_access_token(self, client_id, username, origin_jti)


def create_id_token(self, client_id, username, origin_jti):
    pending = _PENDING.get()
    _PENDING.set(None)
    if pending is not None and pending[:4] == (self, client_id, username, origin_jti):
        outcome = pending[4]
    else:
        outcome = run_trigger(self, client_id, username)
    user = self._get_user(username)
    if status_of(user) == FEDERATED_STATUS:
        # Cognito's ID token names the user's provider link, as a list (the attribute is its JSON).
        identities = json.loads(user.attribute_lookup.get("identities") or "[]")
        outcome = outcome or Outcome()
        outcome = Outcome(outcome.groups, outcome.roles, outcome.preferred_role,
                          {"identities": identities, **outcome.add}, outcome.suppress)
    with in_context(_EDIT, (self, outcome) if outcome else None):
        return _moto_create_id_token(self, client_id, username, origin_jti)


def create_tokens_from_refresh_token(self, refresh_token):
    # Called alone it is a refresh; inside a sign-in (_log_user_in) the sign-in's source stands.
    with in_context(ISSUING_FLOW, ISSUING_FLOW.get() or REFRESH):
        return _moto_create_tokens_from_refresh_token(self, refresh_token)


def _log_user_in(self, user_pool, client, username):
    with in_context(ISSUING_FLOW, ISSUING_FLOW.get() or AUTHENTICATION):
        return _moto_log_user_in(self, user_pool, client, username)


def respond_to_auth_challenge(self, session, client_id, challenge_name, challenge_responses):
    source = NEW_PASSWORD if challenge_name == "NEW_PASSWORD_REQUIRED" else ISSUING_FLOW.get()
    with in_context(ISSUING_FLOW, source):
        return _moto_respond_to_auth_challenge(self, session, client_id, challenge_name, challenge_responses)


def install():
    """Patches moto's Cognito in this process (the stand-in calls it once, at import)."""
    CognitoIdpUserPool.create_jwt = create_jwt
    CognitoIdpUserPool.create_access_token = create_access_token
    CognitoIdpUserPool.create_id_token = create_id_token
    CognitoIdpUserPool.create_tokens_from_refresh_token = create_tokens_from_refresh_token
    CognitoIdpBackend._log_user_in = _log_user_in
    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge


# --- control endpoints (the stand-in's page port) ------------------------------------------------


def register_lambda(request: Request) -> Response:
    body = json_body(request)
    TRIGGERS.register(body.get("arn"), body.get("url"))
    return json_response(200, {"ok": True})


def show_lambdas(request: Request) -> Response:
    with TRIGGERS.lock:
        return json_response(200, {"functions": [{"arn": a, "url": u} for a, u in TRIGGERS.functions.items()],
                           "invocations": list(TRIGGERS.invocations)})


def clear_invocations(request: Request) -> Response:
    with TRIGGERS.lock:
        TRIGGERS.invocations.clear()
    return json_response(200, {"ok": True})


def control_rules() -> list[Rule]:
    return [
        Rule("/_lambdas", endpoint=show_lambdas, methods=["GET"]),
        Rule("/_lambdas", endpoint=register_lambda, methods=["POST"]),
        Rule("/_lambdas", endpoint=clear_invocations, methods=["DELETE"]),
    ]
