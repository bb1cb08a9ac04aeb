"""Federated users in the stand-in's moto Cognito: what Cognito's managed login does once it has
verified an identity provider's answer (the local managed-login stand-in, local/oidc.py, calls
`POST /_federated_sign_in` on the stand-in's page port; moto has no managed login).

The user `<ProviderName>_<subject>`, status EXTERNAL_PROVIDER, is created at the first sign-in
with an `identities` attribute and a sub of its own, and its mapped attributes the app client may
write (WriteAttributes) are overwritten at each later one; then tokens are issued as managed login
issues them (the pool's trigger, local/cognito_triggers.py, runs with TokenGeneration_HostedAuth).
The provider must be one of the pool's (moto's CreateIdentityProvider) and the app client must
support it (SupportedIdentityProviders); a mapped attribute must be one the pool has, within its
length. Such a user has no password: a password sign-in is refused as Cognito refuses it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from moto.cognitoidp.exceptions import NotAuthorizedError, ResourceNotFoundError
from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPool,
    CognitoIdpUserPoolAttribute,
    cognitoidp_backends,
)
from moto.cognitoidp.utils import expand_attrs
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from local.cognito_triggers import FEDERATED_STATUS, HOSTED, ISSUING_FLOW, CognitoError, in_context, status_of
from local.control import json_body, json_response

PASSWORD_FLOWS = frozenset({"USER_PASSWORD_AUTH", "USER_SRP_AUTH", "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"})
PROVIDER_TYPES = ("OIDC", "SAML")

_moto_initiate_auth = CognitoIdpBackend.initiate_auth
_moto_admin_initiate_auth = CognitoIdpBackend.admin_initiate_auth


_FEDERATION_LOCK = threading.Lock()  # a user's first two sign-ins at once still create it once


@dataclass(frozen=True)
class FederatedSignIn:
    """A provider's verified answer, as managed login hands it to the pool."""

    pool_id: str
    client_id: str
    provider_name: str
    provider_type: str
    subject: str
    attributes: dict

    @classmethod
    def parse(cls, body: dict) -> "FederatedSignIn":
        for key in ("userPoolId", "clientId", "providerName", "subject"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise ValueError(f"{key} is required")
        if body.get("providerType") not in PROVIDER_TYPES:
            raise ValueError("providerType must be OIDC or SAML")
        attributes = body.get("attributes") or {}
        if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
            raise ValueError("attributes must map attribute names to strings")
        return cls(body["userPoolId"], body["clientId"], body["providerName"], body["providerType"],
                   body["subject"], attributes)

    @property
    def username(self) -> str:
        return f"{self.provider_name}_{self.subject}"


def _pool(pool_id: str) -> CognitoIdpUserPool:
    region = pool_id.split("_", 1)[0]
    return cognitoidp_backends[DEFAULT_ACCOUNT_ID][region].describe_user_pool(pool_id)


def _schema_error(name: str, why: str) -> CognitoError:
    return CognitoError("InvalidParameterException", f"Attributes did not conform to the schema: {name}: {why}")


def _checked_attributes(pool: CognitoIdpUserPool, attributes: dict, user: CognitoIdpUser | None) -> dict:
    """The mapped attributes, refused as Cognito refuses a sign-in that would write them: one the
    pool does not have, one Cognito keeps to itself, one too long, an immutable one changed."""
    for name, value in attributes.items():
        if name in ("sub", "identities") or name.startswith(("cognito:", "dev:")):
            raise _schema_error(name, "Cannot modify the attribute.")
        declared = pool.schema_attributes.get(name)
        if declared is None and name not in CognitoIdpUserPoolAttribute.STANDARD_SCHEMA:
            raise _schema_error(name, "Attribute does not exist in the schema.")
        if declared is not None:
            mutable, constraints = declared.mutable, declared.string_constraints or {}
        else:
            standard = CognitoIdpUserPoolAttribute.STANDARD_SCHEMA[name]
            mutable, constraints = standard["Mutable"], standard.get("StringAttributeConstraints") or {}
        maximum = int(constraints.get("MaxLength") or 2048)
        if len(value) > maximum:
            raise _schema_error(name, f"String must be no longer than {maximum} characters.")
        if user is not None and not mutable and user.attribute_lookup.get(name, value) != value:
            raise _schema_error(name, "Attribute cannot be updated. (changing an immutable attribute)")
    return attributes


def federated_user(sign_in: FederatedSignIn) -> tuple[CognitoIdpUserPool, CognitoIdpUser]:
    """The pool's user for this provider identity: made at the first sign-in, its mapped
    attributes overwritten at each later one."""
    pool = _pool(sign_in.pool_id)
    client = pool.clients.get(sign_in.client_id)
    if client is None:
        raise ResourceNotFoundError(sign_in.client_id)
    provider = pool.identity_providers.get(sign_in.provider_name)
    if provider is None:
        raise ResourceNotFoundError(f"Identity provider {sign_in.provider_name} does not exist in the user pool.")
    if provider.extended_config.get("ProviderType") != sign_in.provider_type:
        raise CognitoError("InvalidParameterException",
                           f"Identity provider {sign_in.provider_name} is not of type {sign_in.provider_type}.")
    if sign_in.provider_name not in (client.extended_config.get("SupportedIdentityProviders") or []):
        raise CognitoError("InvalidParameterException",
                           f"The app client does not support the identity provider {sign_in.provider_name}.")
    with _FEDERATION_LOCK:
        user = pool.users.get(sign_in.username)
        attributes = _checked_attributes(pool, sign_in.attributes, user)
        if user is None:
            identities = [{"userId": sign_in.subject, "providerName": sign_in.provider_name,
                           "providerType": sign_in.provider_type, "issuer": None, "primary": "true",
                           "dateCreated": int(time.time() * 1000)}]
            user = CognitoIdpUser(pool.id, sign_in.username, None, FEDERATED_STATUS, expand_attrs(
                {**attributes, "identities": json.dumps(identities, separators=(",", ":"))}))
            pool.users[user.username] = user
        else:
            # Cognito overwrites at sign-in only the mapped attributes the app client may write
            # (its WriteAttributes; a client that names none may write them all).
            writable = client.extended_config.get("WriteAttributes")
            changed = {k: v for k, v in attributes.items() if writable is None or k in writable}
            if changed:
                user.update_attributes(expand_attrs(changed))
    return pool, user


def federated_sign_in(sign_in: FederatedSignIn) -> dict:
    """Tokens for a federated sign-in, as managed login issues them (the trigger runs as
    TokenGeneration_HostedAuth); its refresh token works with InitiateAuth REFRESH_TOKEN_AUTH."""
    pool, user = federated_user(sign_in)
    with in_context(ISSUING_FLOW, HOSTED):
        refresh_token, origin_jti = pool.create_refresh_token(sign_in.client_id, user.username)
        access_token, expires_in = pool.create_access_token(sign_in.client_id, user.username, origin_jti)
        id_token, _ = pool.create_id_token(sign_in.client_id, user.username, origin_jti)
    return {"AuthenticationResult": {"IdToken": id_token, "AccessToken": access_token, "RefreshToken": refresh_token,
                                     "ExpiresIn": expires_in, "TokenType": "Bearer"},
            "userName": user.username}


# --- no password for a federated user ------------------------------------------------------------


def _refuse_federated(pool: CognitoIdpUserPool | None, auth_flow: str, parameters: dict | None):
    """A user who signs in through a provider has no password in the pool: Cognito refuses one."""
    if pool is None or auth_flow not in PASSWORD_FLOWS:
        return
    user = pool._get_user((parameters or {}).get("USERNAME") or "")
    if user is not None and status_of(user) == FEDERATED_STATUS:
        raise NotAuthorizedError("Incorrect username or password.")


def initiate_auth(self, client_id, auth_flow, auth_parameters):
    pool = next((p for p in self.user_pools.values() if client_id in p.clients), None)
    _refuse_federated(pool, auth_flow, auth_parameters)
    return _moto_initiate_auth(self, client_id, auth_flow, auth_parameters)


def admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters):
    _refuse_federated(self.user_pools.get(user_pool_id), auth_flow, auth_parameters)
    return _moto_admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters)


def install():
    """Patches moto's Cognito in this process (the stand-in calls it once, at import)."""
    CognitoIdpBackend.initiate_auth = initiate_auth
    CognitoIdpBackend.admin_initiate_auth = admin_initiate_auth


# --- the control endpoint (the stand-in's page port) ---------------------------------------------


def sign_in_federated(request: Request) -> Response:
    sign_in = FederatedSignIn.parse(json_body(request))
    try:
        return json_response(200, federated_sign_in(sign_in))
    except JsonRESTError as error:
        return json_response(error.code, {"__type": error.error_type, "message": error.message})


def control_rules() -> list[Rule]:
    return [Rule("/_federated_sign_in", endpoint=sign_in_federated, methods=["POST"])]
