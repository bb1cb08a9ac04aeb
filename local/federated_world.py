"""Company sign-in on the local stack (`scripts/dev up --federated`): the pool federated to the
stand-in company OpenID Connect provider (`local/company_idp.py`) as template.yaml federates it
with `IdentityProviderType=OIDC`, the sign-in trigger (the real `sign-in-trigger` binary) attached
as the pool's pre-token-generation Lambda, and a few company people with resources of their own.

The pool is set up before anyone signs in: its `custom:provider_groups` attribute and LambdaConfig
(`pool_settings`, given to `seed`), then the provider and the app client's providers (`federate`).
The trigger runs behind Lambda's Invoke API (`local/lambda_invoke.py`); the stand-in invokes it
once per token issuance (`local/cognito_triggers.py`)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import jwt

from local.company_idp import DEMO_USERS as COMPANY_USERS
from local.company_idp import CompanyIdpServer, subject_for
from local.control import post
from local.lambda_invoke import TriggerHost, function_arn
from local.oidc import Federation

PROVIDER = "Company"  # template.yaml's IdentityProviderName default
CLIENT_ID = "notebook-gate"  # the app registration at the company provider
TRIGGER = "sign-in-trigger"
GROUPS_ATTRIBUTE = "custom:provider_groups"
# The template's attribute mapping with its defaults: pool attribute -> provider claim.
ATTRIBUTE_MAPPING = {"email": "email", "name": "name", GROUPS_ATTRIBUTE: "groups"}
# What template.yaml is rendered with for this stack: the issuer is a placeholder (the template
# wants https), the real one is the stand-in's URL; no secret is ever a parameter.
TEMPLATE_PARAMETERS = {
    "IdentityProviderType": "OIDC", "IdentityProviderName": PROVIDER,
    "OidcIssuer": "https://company.example", "OidcClientId": CLIENT_ID,
    "OidcClientSecretId": "notebook-gate/company-oidc-client-secret",
}


def pool_settings() -> dict:
    """What template.yaml adds to the pool it creates when federated: the attribute the provider's
    groups are mapped to, and the trigger (event version V1_0)."""
    arn = function_arn(TRIGGER)
    return {
        "Schema": [{"Name": "provider_groups", "AttributeDataType": "String", "Mutable": True,
                    "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}],
        "LambdaConfig": {"PreTokenGeneration": arn,
                         "PreTokenGenerationConfig": {"LambdaArn": arn, "LambdaVersion": "V1_0"}},
    }


def client_settings(provider_only: bool) -> dict:
    """The portal client's providers as the template sets them (KeepPoolPasswords=false: the
    provider alone). moto's ID tokens carry only the attributes a client lists as readable, so
    the e-mail and display name the portal shows are listed (Cognito's default reads them all)."""
    providers = [PROVIDER] if provider_only else ["COGNITO", PROVIDER]
    return {"SupportedIdentityProviders": providers, "ReadAttributes": ["email", "name", "email_verified"]}


class CompanySignIn:
    """The company provider, the trigger and the federation the managed-login stand-in is given."""

    def __init__(self, *, trigger_binary: str, trigger_env: dict, trigger_log: Path, page: str, aws_env: dict):
        self.page = page
        self.secret = secrets.token_urlsafe(32)
        self.company = CompanyIdpServer(users=COMPANY_USERS, port=0)
        # An aarch64 binary runs under qemu-aarch64, as the gate's does (TriggerHost, local/emulation.py).
        self.trigger = TriggerHost(trigger_binary, {**aws_env, **trigger_env}, trigger_log, name=TRIGGER)
        self.federation = Federation(issuer=self.company.url, client_id=CLIENT_ID, client_secret=self.secret,
                                     page=page, name=PROVIDER, type="OIDC", attribute_mapping=ATTRIBUTE_MAPPING,
                                     provider_only=True)

    def start(self, idp, pool_id: str, login_url: str, portal_url: str) -> "CompanySignIn":
        """Registers the trigger with the stand-in, creates the pool's provider, and the managed
        login's app registration at the company provider."""
        self.company.start()
        post(f"{self.page}/_lambdas", {"arn": self.trigger.arn, "url": self.trigger.url})
        idp.create_identity_provider(
            UserPoolId=pool_id, ProviderName=PROVIDER, ProviderType="OIDC",
            ProviderDetails={"client_id": CLIENT_ID, "client_secret": self.secret,
                             "authorize_scopes": "openid email profile", "oidc_issuer": self.company.url,
                             "attributes_request_method": "GET"},
            AttributeMapping=ATTRIBUTE_MAPPING,
        )
        self.company.idp.add_client(CLIENT_ID, self.secret, [login_url + "/oauth2/idpresponse"],
                                    onward_origins=[portal_url])
        return self

    def sign_in_before(self, pool_id: str, client_id: str, user: str) -> dict:
        """`user` as if they had signed in through the provider once (Cognito creates a federated
        user then): their Cognito user name and sub, so the world can tag things for them."""
        person = COMPANY_USERS[user]
        answer = post(f"{self.page}/_federated_sign_in", {
            "userPoolId": pool_id, "clientId": client_id, "providerName": PROVIDER, "providerType": "OIDC",
            "subject": subject_for(user),
            "attributes": {"email": person["email"], "name": person["name"],
                           GROUPS_ATTRIBUTE: json.dumps(person["groups"], separators=(",", ":"))},
        })
        claims = jwt.decode(answer["AuthenticationResult"]["AccessToken"], options={"verify_signature": False})
        return {"userName": answer["userName"], "sub": claims["sub"], "subject": subject_for(user)}

    def stop(self):
        self.trigger.stop()
        self.company.stop()

    def describe(self) -> dict:
        return {"provider": PROVIDER, "company": self.company.url, "triggerLog": str(self.trigger.host.function.log_path),
                "users": {u: {"password": p["password"], "groups": p["groups"], "subject": subject_for(u)}
                          for u, p in COMPANY_USERS.items()}}


def seed_company_people(sm, people: dict, domain_id: str, role: str) -> dict:
    """Resources for the company people who have signed in before: carol's own notebook and her
    Studio profile (named after her subject at the provider, as the gate looks for it), and a
    notebook shared with the provider's `analysts` group (dave's). ml-team-shared, from the demo
    world, is the provider's `ml-team` group's (carol's) too."""
    owner = "notebook-gate:owner"
    carol = people["carol"]
    sm.create_notebook_instance(NotebookInstanceName="carol-notebook", InstanceType="ml.t3.medium", RoleArn=role,
                                Tags=[{"Key": owner, "Value": carol["sub"]}])
    sm.create_notebook_instance(NotebookInstanceName="analysts-shared", InstanceType="ml.t3.medium", RoleArn=role,
                                Tags=[{"Key": "notebook-gate:group", "Value": "analysts"}])
    profile = carol["subject"]  # an Okta-like id: already a valid profile name
    sm.create_user_profile(DomainId=domain_id, UserProfileName=profile, Tags=[{"Key": owner, "Value": carol["sub"]}])
    return {"carolProfile": profile}
