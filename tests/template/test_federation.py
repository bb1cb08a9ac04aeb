"""Company sign-in in template.yaml, checked offline on the template as AWS's SAM translator turns
it into CloudFormation (`local/iam/render.py`), for every provider type (none, SAML, OIDC), pool
(new or existing) and KeepPoolPasswords: which resources exist, the provider's settings and
attribute mapping (the OIDC client secret only ever as a Secrets Manager dynamic reference), the
sign-in trigger (event version V1_0, its own binary, a role that may only write its own log, invoked
by the pool alone), which sign-ins the portal's app client offers, what the gate and the portal are
told, the Rules that refuse incomplete settings, and the commands docs/deploy.md gives the admin of
an existing pool."""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import itertools
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from local.iam import render as iam_render  # noqa: E402
from local.iam.evaluator import Evaluator  # noqa: E402
from local.iam.render import Rendered, TemplateError, load_template  # noqa: E402
from local.iam.sagemaker import session_arn  # noqa: E402

REGION = iam_render.PSEUDO["AWS::Region"]
ACCOUNT = iam_render.PSEUDO["AWS::AccountId"]
SAM_TEMPLATE = load_template()

METADATA_URL = "https://login.microsoftonline.com/0f1e2d3c/federationmetadata/2007-06/federationmetadata.xml?appid=4b5a6978"
ISSUER, CLIENT_ID, SECRET_ID = "https://corp.okta.com", "0oa1b2c3d4E5f6G7h8", "notebook-gate/oidc-client-secret"
PROVIDERS = {
    "None": {},
    "SAML": {"IdentityProviderType": "SAML", "SamlMetadataUrl": METADATA_URL},
    "OIDC": {"IdentityProviderType": "OIDC", "OidcIssuer": ISSUER, "OidcClientId": CLIENT_ID,
             "OidcClientSecretId": SECRET_ID},
}
EXISTING_POOL_ID = f"{REGION}_AbCdEf"
POOLS = {
    "new": {},
    "existing": {"ExistingUserPoolId": EXISTING_POOL_ID, "ExistingUserPoolClientId": "client0123",
                 "ExistingUserPoolDomain": "login.example.com"},
}
# KeepPoolPasswords=true without a provider is refused by a Rule (below): not a deployment.
CASES = [(provider, pool, keep) for provider, pool, keep in itertools.product(PROVIDERS, POOLS, ["false", "true"])
         if provider != "None" or keep == "false"]
CASE_IDS = [f"{provider}-{pool}-pool-keep={keep}" for provider, pool, keep in CASES]

FEDERATION_RESOURCES = {"CompanyIdentityProvider", "SignInTriggerFunction", "SignInTriggerRole",
                        "SignInTriggerLogGroup", "PoolInvokesSignInTrigger"}
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
GROUPS_ATTRIBUTE = "custom:provider_groups"


def params_of(provider: str, pool: str, keep: str) -> dict:
    return {**PROVIDERS[provider], **POOLS[pool], **({"KeepPoolPasswords": keep} if keep != "false" else {})}


@functools.lru_cache(maxsize=None)
def _render(frozen: tuple) -> Rendered:
    return iam_render.render(dict(frozen))


def render(params: dict) -> Rendered:
    """template.yaml as SAM translates it for `params`; one translation per parameter set."""
    return _render(tuple(sorted(params.items())))


def outputs(rendered: Rendered) -> dict[str, str]:
    """The stack's outputs as describe-stacks would list them for this deployment."""
    return {key: rendered.evaluate(output["Value"]) for key, output in rendered.template["Outputs"].items()
            if "Condition" not in output or rendered.condition(output["Condition"])}


def rule_failures(params: dict) -> list[str]:
    return iam_render.render(params, check_rules=False).broken_rules()


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --- what exists -----------------------------------------------------------------------------------

@pytest.mark.parametrize("provider, pool, keep", CASES, ids=CASE_IDS)
def test_the_provider_the_trigger_and_its_permission_exist_only_with_a_provider(provider, pool, keep):
    rendered = render(params_of(provider, pool, keep))
    federated = provider != "None"
    for logical_id in FEDERATION_RESOURCES:
        assert rendered.exists(logical_id) == federated, logical_id
    # The pool and its client are the template's only when it creates the pool.
    for logical_id in ("UserPool", "PortalClient", "HostedUiDomain"):
        assert rendered.exists(logical_id) == (pool == "new"), logical_id
    # The gate stays the one function the API calls; the trigger is Cognito's.
    assert rendered.function() == "GateFunction"
    assert rendered.cognito_triggers() == (["SignInTriggerFunction"] if federated else [])


@pytest.mark.parametrize("provider, pool, keep", CASES, ids=CASE_IDS)
def test_the_outputs_name_the_provider_for_the_portal_and_the_trigger_for_an_existing_pool(provider, pool, keep):
    found = outputs(render(params_of(provider, pool, keep)))
    provider_only = provider != "None" and keep == "false"
    assert found.get("PortalIdentityProvider") == ("Company" if provider_only else None)
    assert ("SignInTriggerArn" in found) == (provider != "None")
    if provider != "None":
        assert found["SignInTriggerArn"] == "<SignInTriggerFunction.Arn>"


# --- the provider ------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", POOLS)
def test_a_saml_provider_reads_its_metadata_url_and_leaves_the_company_session_alone(pool):
    provider = render(params_of("SAML", pool, "false")).properties("CompanyIdentityProvider")
    assert provider["ProviderType"] == "SAML" and provider["ProviderName"] == "Company"
    assert provider["ProviderDetails"] == {"MetadataURL": METADATA_URL, "IDPSignout": "false"}
    assert provider["UserPoolId"] == ("UserPool-LOCAL" if pool == "new" else EXISTING_POOL_ID)


@pytest.mark.parametrize("pool", POOLS)
def test_an_oidc_provider_gets_its_client_secret_from_secrets_manager(pool):
    provider = render(params_of("OIDC", pool, "false")).properties("CompanyIdentityProvider")
    assert provider["ProviderType"] == "OIDC"
    assert provider["ProviderDetails"] == {
        "client_id": CLIENT_ID,
        "client_secret": f"{{{{resolve:secretsmanager:{SECRET_ID}}}}}",
        "authorize_scopes": "openid email profile",
        "oidc_issuer": ISSUER,
        "attributes_request_method": "GET",
    }
    assert provider["UserPoolId"] == ("UserPool-LOCAL" if pool == "new" else EXISTING_POOL_ID)


def test_the_client_secret_is_never_a_parameter_or_a_literal():
    """The only secret-shaped parameter names a Secrets Manager secret; the one place it is used is
    inside a dynamic reference, which CloudFormation resolves when it creates the provider."""
    secretish = [name for name in SAM_TEMPLATE["Parameters"] if re.search("secret", name, re.IGNORECASE)]
    assert secretish == ["OidcClientSecretId"]
    # In the template as written: one use, as the whole of a Sub that is a dynamic reference.
    text = json.dumps(SAM_TEMPLATE["Resources"])
    assert text.count("${OidcClientSecretId}") == 1
    details = SAM_TEMPLATE["Resources"]["CompanyIdentityProvider"]["Properties"]["ProviderDetails"]["Fn::If"][1]
    assert details["client_secret"] == {"Fn::Sub": "{{resolve:secretsmanager:${OidcClientSecretId}}}"}
    assert "OidcClientSecretId" not in json.dumps({**SAM_TEMPLATE["Resources"], "Outputs": SAM_TEMPLATE["Outputs"]}) \
        .replace("${OidcClientSecretId}", "")
    # As deployed, with an ARN too: the reference and nothing else carries the id.
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:notebook-gate/oidc-AbCdEf"
    for secret_id in (SECRET_ID, arn):
        rendered = render({**PROVIDERS["OIDC"], "OidcClientSecretId": secret_id})
        deployed = json.dumps(rendered.properties("CompanyIdentityProvider"))
        assert deployed.count(secret_id) == 1 and f"{{{{resolve:secretsmanager:{secret_id}}}}}" in deployed
        assert secret_id not in json.dumps(outputs(rendered))
        assert secret_id not in json.dumps(rendered.properties("GateFunction"))
    # A secret's value pasted where its name belongs is refused, as is anything that would change
    # what the reference means (a colon adds a segment, braces end it).
    for pasted in ("s3cr3t value with spaces", "abc}}", "name:SecretString:password", "x" * 513):
        with pytest.raises(TemplateError, match="OidcClientSecretId"):
            render({**PROVIDERS["OIDC"], "OidcClientSecretId": pasted})


@pytest.mark.parametrize("provider", ["SAML", "OIDC"])
def test_the_provider_maps_email_name_and_groups(provider):
    mapping = render(PROVIDERS[provider]).properties("CompanyIdentityProvider")["AttributeMapping"]
    assert mapping == {"email": "email", "name": "name", GROUPS_ATTRIBUTE: "groups"}
    entra = {"ProviderEmailAttribute": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
             "ProviderDisplayNameAttribute": "http://schemas.microsoft.com/identity/claims/displayname",
             "ProviderGroupsAttribute": "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"}
    mapping = render({**PROVIDERS[provider], **entra}).properties("CompanyIdentityProvider")["AttributeMapping"]
    assert mapping == {"email": entra["ProviderEmailAttribute"], "name": entra["ProviderDisplayNameAttribute"],
                       GROUPS_ATTRIBUTE: entra["ProviderGroupsAttribute"]}


def test_the_mapped_groups_attribute_is_the_one_the_trigger_reads():
    """The attribute the provider fills, the trigger's PROVIDER_GROUPS_ATTRIBUTE, the trigger's own
    default and the pool's schema entry are one name."""
    rendered = render(PROVIDERS["SAML"])
    variables = rendered.properties("SignInTriggerFunction")["Environment"]["Variables"]
    assert variables == {"PROVIDER_GROUPS_ATTRIBUTE": GROUPS_ATTRIBUTE, "IDENTITY_PROVIDER_TYPE": "SAML"}
    assert GROUPS_ATTRIBUTE in rendered.properties("CompanyIdentityProvider")["AttributeMapping"]
    assert [f"custom:{a['Name']}" for a in rendered.properties("UserPool")["Schema"]] == [GROUPS_ATTRIBUTE]
    pre_token = (ROOT / "src/pre_token.rs").read_text()
    assert f'pub const DEFAULT_GROUPS_ATTRIBUTE: &str = "{GROUPS_ATTRIBUTE}";' in pre_token
    assert '"PROVIDER_GROUPS_ATTRIBUTE"' in (ROOT / "src/bin/sign_in_trigger.rs").read_text()


@pytest.mark.parametrize("provider", ["SAML", "OIDC"])
def test_the_trigger_reads_the_groups_as_its_kind_of_provider_writes_them(provider):
    """IDENTITY_PROVIDER_TYPE tells the trigger how Cognito flattened the groups (an OIDC claim's
    JSON text, or SAML's [a, b]); the trigger refuses to start without a kind it knows."""
    variables = render(PROVIDERS[provider]).properties("SignInTriggerFunction")["Environment"]["Variables"]
    assert variables["IDENTITY_PROVIDER_TYPE"] == provider
    source = (ROOT / "src/bin/sign_in_trigger.rs").read_text() + (ROOT / "src/provider_groups.rs").read_text()
    assert '"IDENTITY_PROVIDER_TYPE"' in source and f'"{provider}" =>' in source


# --- the new pool --------------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_new_federated_pool_has_the_groups_attribute_and_the_v1_trigger(provider):
    pool = render(PROVIDERS[provider]).properties("UserPool")
    if provider == "None":
        assert "Schema" not in pool and "LambdaConfig" not in pool
        return
    assert pool["Schema"] == [{"Name": "provider_groups", "AttributeDataType": "String", "Mutable": True,
                               "Required": False, "DeveloperOnlyAttribute": False,
                               "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}]
    # V1_0 on every feature plan; PreTokenGenerationConfig alone, as AWS asks of a new trigger.
    assert pool["LambdaConfig"] == {"PreTokenGenerationConfig": {"LambdaArn": "<SignInTriggerFunction.Arn>",
                                                                 "LambdaVersion": "V1_0"}}


# --- the trigger -----------------------------------------------------------------------------------

@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_the_trigger_is_a_small_function_with_cognitos_deadline(architecture):
    rendered = render({**PROVIDERS["OIDC"], "Architecture": architecture})
    function = rendered.properties("SignInTriggerFunction")
    assert function["Architectures"] == [architecture]
    assert function["MemorySize"] == 128 and function["Timeout"] == 5  # Cognito waits 5 seconds
    assert (function["Runtime"], function["Handler"]) == ("provided.al2023", "bootstrap")
    assert function["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN",
                                         "LogGroup": "SignInTriggerLogGroup-LOCAL"}
    assert function["Role"] == f"arn:aws:iam::{ACCOUNT}:role/notebook-gate-SignInTriggerRole-LOCAL"
    assert "VpcConfig" not in function  # it calls nothing, so it needs no network of ours
    log_group = rendered.resources["SignInTriggerLogGroup"]
    assert rendered.properties("SignInTriggerLogGroup") == {"RetentionInDays": "90"}
    assert log_group["DeletionPolicy"] == "Retain" and log_group["UpdateReplacePolicy"] == "Retain"


def test_each_function_builds_its_own_binary_of_the_crate():
    """SAM's cargo-lambda build takes target/lambda/<Binary>/bootstrap; with two binaries in the
    crate, a function without Binary would not build. Each Binary is a [[bin]] of Cargo.toml."""
    binaries = {b["name"]: b["path"] for b in tomllib.loads((ROOT / "Cargo.toml").read_text()).get("bin", [])}
    resources = SAM_TEMPLATE["Resources"]
    built = {}
    for logical_id in ("GateFunction", "SignInTriggerFunction"):
        metadata = resources[logical_id]["Metadata"]
        assert metadata["BuildMethod"] == "rust-cargolambda", logical_id
        built[logical_id] = metadata["BuildProperties"]["Binary"]
        assert resources[logical_id]["Properties"]["CodeUri"] == "./"
    assert built == {"GateFunction": "notebook-gate", "SignInTriggerFunction": "sign-in-trigger"}
    for binary in built.values():
        assert binary in binaries and (ROOT / binaries[binary]).is_file(), binary


@pytest.mark.parametrize("pool", POOLS)
def test_the_trigger_role_may_only_write_its_own_log_group(pool):
    rendered = render(params_of("SAML", pool, "false"))
    role = rendered.properties("SignInTriggerRole")
    assert "ManagedPolicyArns" not in role and "PermissionsBoundary" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [p["PolicyName"] for p in role["Policies"]] == ["write-own-logs"]
    assert statements == [{"Sid": "WriteOwnLogGroup", "Effect": "Allow", "Action": sorted(LOGS),
                           "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:SignInTriggerLogGroup-LOCAL:*"}]
    # Nothing else attaches a policy to it, and the gate's role gains nothing from federation.
    role_name = rendered._physical_id("SignInTriggerRole")
    for logical_id, resource in rendered.resources.items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy") \
                and rendered.exists(logical_id):
            attached = rendered.properties(logical_id)
            assert role_name not in as_list(attached.get("Roles", [])) + [attached.get("RoleName")], logical_id
    gate = [p.document for p in rendered.function_role().policies]
    assert gate == [p.document for p in render(POOLS[pool]).function_role().policies]


@pytest.mark.parametrize("pool", POOLS)
def test_only_this_accounts_pool_may_invoke_the_trigger(pool):
    rendered = render(params_of("OIDC", pool, "false"))
    permission = rendered.properties("PoolInvokesSignInTrigger")
    pool_arn = "<UserPool.Arn>" if pool == "new" else f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{EXISTING_POOL_ID}"
    assert permission == {"Action": "lambda:InvokeFunction", "FunctionName": "<SignInTriggerFunction.Arn>",
                          "Principal": "cognito-idp.amazonaws.com", "SourceAccount": ACCOUNT, "SourceArn": pool_arn}
    # No other permission lets anyone invoke it (SAM makes none for a function without events).
    others = [k for k, r in rendered.resources.items() if r["Type"] == "AWS::Lambda::Permission" and rendered.exists(k)
              and "SignInTriggerFunction" in json.dumps(r["Properties"]["FunctionName"])]
    assert others == ["PoolInvokesSignInTrigger"]


# --- the portal's app client, the gate and the portal ----------------------------------------------------

@pytest.mark.parametrize("provider, keep", [("None", "false"), ("SAML", "false"), ("SAML", "true"),
                                            ("OIDC", "false"), ("OIDC", "true")])
def test_the_app_client_offers_the_pool_the_provider_or_both(provider, keep):
    client = render(params_of(provider, "new", keep)).properties("PortalClient")
    expected = {("None", "false"): ["COGNITO"], ("SAML", "false"): ["Company"], ("SAML", "true"): ["COGNITO", "Company"],
                ("OIDC", "false"): ["Company"], ("OIDC", "true"): ["COGNITO", "Company"]}[(provider, keep)]
    assert client["SupportedIdentityProviders"] == expected
    # The provider alone: no password sign-in through this client at all.
    assert client["ExplicitAuthFlows"] == (["ALLOW_REFRESH_TOKEN_AUTH"] if expected == ["Company"]
                                           else ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    # Cognito rewrites the mapped attributes only where the client may write them.
    assert client.get("WriteAttributes") == (None if provider == "None" else ["email", "name", GROUPS_ATTRIBUTE])
    # No aws.cognito.signin.user.admin: a federated person's token cannot rewrite their groups.
    assert client["AllowedOAuthScopes"] == ["openid", "email", "profile"]


def test_the_client_names_the_provider_by_ref_so_it_waits_for_it():
    supported = json.dumps(SAM_TEMPLATE["Resources"]["PortalClient"]["Properties"]["SupportedIdentityProviders"])
    assert supported.count('{"Ref": "CompanyIdentityProvider"}') == 2 and "IdentityProviderName" not in supported


@pytest.mark.parametrize("provider, pool, keep", CASES, ids=CASE_IDS)
def test_the_gate_is_told_the_providers_name(provider, pool, keep):
    variables = render(params_of(provider, pool, keep)).properties("GateFunction")["Environment"]["Variables"]
    assert variables["FEDERATED_PROVIDER_NAME"] == ("" if provider == "None" else "Company")


def test_a_provider_of_another_name_is_that_name_everywhere():
    rendered = render({**PROVIDERS["SAML"], "IdentityProviderName": "Entra-ID"})
    assert rendered.properties("CompanyIdentityProvider")["ProviderName"] == "Entra-ID"
    assert rendered.properties("PortalClient")["SupportedIdentityProviders"] == ["Entra-ID"]
    assert rendered.properties("GateFunction")["Environment"]["Variables"]["FEDERATED_PROVIDER_NAME"] == "Entra-ID"
    assert outputs(rendered)["PortalIdentityProvider"] == "Entra-ID"


def load_portal_config():
    loader = importlib.machinery.SourceFileLoader("portal_config", str(ROOT / "scripts/portal-config"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.mark.parametrize("provider, keep", [("None", "false"), ("SAML", "false"), ("OIDC", "true")])
def test_portal_config_sends_the_portal_straight_to_a_provider_that_is_the_only_way_in(provider, keep):
    portal_config = load_portal_config()
    stack = {"StackId": iam_render.PSEUDO["AWS::StackId"],
             "Outputs": [{"OutputKey": k, "OutputValue": v}
                         for k, v in outputs(render(params_of(provider, "new", keep))).items()]}
    config = portal_config.portal_config(stack)
    if provider != "None" and keep == "false":
        assert config["identityProvider"] == "Company"
    else:
        assert "identityProvider" not in config
    # An output that is no provider name never reaches the portal.
    for bad in ("Company_x", "Company x", "x" * 33):
        stack["Outputs"].append({"OutputKey": "PortalIdentityProvider", "OutputValue": bad})
        with pytest.raises(ValueError, match="PortalIdentityProvider"):
            portal_config.portal_config(stack)
        stack["Outputs"].pop()


# --- parameter sets that cannot work are refused --------------------------------------------------------

@pytest.mark.parametrize("params", [params_of(*case) for case in CASES] + [
    {**PROVIDERS["OIDC"], "OidcScopes": "openid email profile groups"},
    {**PROVIDERS["OIDC"], "OidcClientSecretId": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:oidc-AbCdEf"},
    {**PROVIDERS["SAML"], "IdentityProviderName": "okta.corp"},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in sorted(p.items()) if k in ("IdentityProviderType", "KeepPoolPasswords",
                                                                             "ExistingUserPoolId", "OidcScopes",
                                                                             "IdentityProviderName"))
                         or "defaults")
def test_provider_settings_that_work_pass_the_rules(params):
    assert rule_failures(params) == []


@pytest.mark.parametrize("params, names", [
    ({"IdentityProviderType": "SAML"}, ["needs SamlMetadataUrl"]),
    ({"IdentityProviderType": "OIDC"}, ["needs OidcIssuer", "needs OidcClientId", "needs OidcClientSecretId"]),
    ({**PROVIDERS["OIDC"], "OidcIssuer": ""}, ["needs OidcIssuer"]),
    ({**PROVIDERS["OIDC"], "OidcClientId": ""}, ["needs OidcClientId"]),
    ({**PROVIDERS["OIDC"], "OidcClientSecretId": ""}, ["needs OidcClientSecretId"]),
    ({**PROVIDERS["OIDC"], "SamlMetadataUrl": METADATA_URL}, ["SamlMetadataUrl only applies with IdentityProviderType=SAML"]),
    ({**PROVIDERS["SAML"], "OidcIssuer": ISSUER}, ["only apply with IdentityProviderType=OIDC"]),
    ({"SamlMetadataUrl": METADATA_URL}, ["only apply with IdentityProviderType SAML or OIDC"]),
    ({"OidcClientSecretId": SECRET_ID}, ["only apply with IdentityProviderType SAML or OIDC"]),
    ({"KeepPoolPasswords": "true"}, ["KeepPoolPasswords=true only applies"]),
    ({**PROVIDERS["SAML"], "IdentityProviderName": "COGNITO"}, ["may not be COGNITO"]),
    ({**PROVIDERS["OIDC"], "IdentityProviderName": "Google"}, ["may not be COGNITO"]),
])
def test_incomplete_or_mixed_provider_settings_are_refused_with_a_clear_message(params, names):
    """Each broken rule names what is missing or misplaced; `names` holds one text per failure."""
    failures = rule_failures(params)
    assert len(failures) == len(names), failures
    for name, failure in zip(names, failures):
        assert name in failure, failures
    with pytest.raises(TemplateError, match="CloudFormation would refuse"):
        iam_render.render(params)


@pytest.mark.parametrize("name, value", [
    ("IdentityProviderName", "Entra_ID"), ("IdentityProviderName", "Entra ID"), ("IdentityProviderName", "ok"),
    ("IdentityProviderName", "x" * 33), ("IdentityProviderName", "-Company"), ("IdentityProviderName", ""),
    ("IdentityProviderType", "Okta"), ("KeepPoolPasswords", "yes"),
    ("SamlMetadataUrl", "http://idp.example.com/metadata"), ("SamlMetadataUrl", "https://idp.example.com/a b"),
    ("OidcIssuer", "https://corp.okta.com/?x=1"), ("OidcIssuer", "corp.okta.com"),
    ("OidcClientId", "client id"), ("OidcScopes", "email profile"), ("OidcScopes", "openid  email"),
    ("ProviderGroupsAttribute", ""), ("ProviderGroupsAttribute", "groups claim"), ("ProviderEmailAttribute", 'e"mail'),
])
def test_provider_parameters_refuse_what_cognito_or_the_gate_could_not_take(name, value):
    with pytest.raises(TemplateError, match=name):
        render({name: value})


def test_every_provider_parameter_is_in_the_company_sign_in_group():
    groups = {g["Label"]["default"]: g["Parameters"]
              for g in SAM_TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]}
    assert groups["Company sign-in"] == [
        "IdentityProviderType", "IdentityProviderName", "SamlMetadataUrl", "OidcIssuer", "OidcClientId",
        "OidcClientSecretId", "OidcScopes", "ProviderEmailAttribute", "ProviderDisplayNameAttribute",
        "ProviderGroupsAttribute", "KeepPoolPasswords"]
    grouped = [name for names in groups.values() for name in names]
    assert sorted(grouped) == sorted(SAM_TEMPLATE["Parameters"]) and len(grouped) == len(set(grouped))


# --- the docs ------------------------------------------------------------------------------------------------

DEPLOY = (ROOT / "docs/deploy.md").read_text()
SECTION = DEPLOY[DEPLOY.index("## Company sign-in (SAML or OIDC)"):DEPLOY.index("## Tear down")]


def test_the_docs_name_what_company_sign_in_deploys_and_grants():
    rendered = render(PROVIDERS["SAML"])
    for logical_id in sorted(FEDERATION_RESOURCES) + ["PortalIdentityProvider", "SignInTriggerArn",
                                                      "FEDERATED_PROVIDER_NAME", "V1_0", GROUPS_ATTRIBUTE]:
        assert f"`{logical_id}`" in SECTION, logical_id
    role = rendered.properties("SignInTriggerRole")
    for policy in role["Policies"]:
        assert f"`{policy['PolicyName']}`" in SECTION
        for statement in policy["PolicyDocument"]["Statement"]:
            for action in as_list(statement["Action"]):
                assert f"`{action}`" in SECTION, action
    for url in ("urn:amazon:cognito:sp:<UserPoolId>", "<HostedUiDomain>/saml2/idpresponse",
                "<HostedUiDomain>/oauth2/idpresponse"):
        assert f"`{url}`" in SECTION, url
    configuration = (ROOT / "docs/configuration.md").read_text()
    for variable in ("FEDERATED_PROVIDER_NAME", "PROVIDER_GROUPS_ATTRIBUTE", "IDENTITY_PROVIDER_TYPE"):
        assert f"| `{variable}` |" in configuration, variable


def test_the_existing_pools_attribute_is_the_one_the_template_gives_a_new_pool():
    command = re.search(r"add-custom-attributes --user-pool-id \"\$POOL_ID\" --custom-attributes \\\n\s+'([^']+)'",
                        SECTION)
    assert command, "docs/deploy.md lost its add-custom-attributes command"
    documented = json.loads(command[1])
    schema = render(PROVIDERS["SAML"]).properties("UserPool")["Schema"]
    assert [{k: v for k, v in a.items() if k not in ("Required", "DeveloperOnlyAttribute")} for a in schema] == documented


JQ = shutil.which("jq")


@pytest.mark.skipif(JQ is None, reason="jq is not installed")
def test_the_existing_pools_trigger_command_keeps_every_setting_and_sets_only_the_trigger():
    """The docs' describe | jq | update-user-pool, on a pool as Cognito describes one: the result is
    a valid UpdateUserPool request (botocore's own validation of the request shape) that carries the
    pool's settings and triggers back, with the sign-in trigger at V1_0."""
    from moto import mock_aws  # noqa: PLC0415  (the local stack's AWS stand-in)
    import boto3  # noqa: PLC0415

    program = re.search(r"jq --arg arn \"\$TRIGGER_ARN\" '(.+?)' \\\n\s+> pool-update.json", SECTION, re.DOTALL)
    assert program, "docs/deploy.md lost its update-user-pool recipe"
    trigger_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:notebook-gate-SignInTriggerFunction-AbC"
    post_confirmation = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:post-confirmation"
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = idp.create_user_pool(
            PoolName="company", AliasAttributes=["email"], AutoVerifiedAttributes=["email"], MfaConfiguration="OFF",
            Policies={"PasswordPolicy": {"MinimumLength": 14, "TemporaryPasswordValidityDays": 3}},
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            LambdaConfig={"PostConfirmation": post_confirmation, "PreTokenGeneration": post_confirmation},
            VerificationMessageTemplate={"DefaultEmailOption": "CONFIRM_WITH_CODE"},
        )["UserPool"]["Id"]
        described = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        # What a real pool's description holds beside moto's: a deprecated setting Cognito refuses
        # beside TemporaryPasswordValidityDays, the legacy verification texts beside their template,
        # the feature plan, and fields update-user-pool does not take.
        described["AdminCreateUserConfig"]["UnusedAccountValidityDays"] = 7
        described.update(EmailVerificationMessage="Your code is {####}", EmailVerificationSubject="Your code",
                         UserPoolTier="ESSENTIALS", DeletionProtection="ACTIVE", Arn="arn:...", Domain="company",
                         EstimatedNumberOfUsers=3, UsernameConfiguration={"CaseSensitive": False})
        result = subprocess.run([JQ, "--arg", "arn", trigger_arn, program[1]], input=json.dumps(described, default=str),
                                capture_output=True, text=True, check=True)
        request = json.loads(result.stdout)
        assert request["LambdaConfig"] == {"PostConfirmation": post_confirmation,
                                           "PreTokenGenerationConfig": {"LambdaArn": trigger_arn, "LambdaVersion": "V1_0"}}
        assert request["Policies"] == described["Policies"] and request["UserPoolTier"] == "ESSENTIALS"
        assert request["DeletionProtection"] == "ACTIVE" and request["AutoVerifiedAttributes"] == ["email"]
        assert "UnusedAccountValidityDays" not in request["AdminCreateUserConfig"]
        assert "EmailVerificationMessage" not in request
        # botocore validates the request's shape before sending it (an unknown key fails here).
        idp.update_user_pool(UserPoolId=pool_id, **request)
        after = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        assert after["LambdaConfig"]["PreTokenGenerationConfig"] == {"LambdaArn": trigger_arn, "LambdaVersion": "V1_0"}
        assert after["Policies"]["PasswordPolicy"]["MinimumLength"] == 14


# --- linters -------------------------------------------------------------------------------------------------

def test_cfn_lint_reports_nothing_for_each_federated_deployment(tmp_path):
    """cfn-lint on the CloudFormation SAM makes for every provider, pool and KeepPoolPasswords
    (template.yaml itself, every branch, is linted in test_template.py)."""
    files = []
    for (provider, pool, keep), case_id in zip(CASES, CASE_IDS):
        if provider == "None":
            continue
        translated = tmp_path / f"translated-{case_id}.json"
        translated.write_text(json.dumps(render(params_of(provider, pool, keep)).template))
        files.append(str(translated))
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), *files], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


# --- the trigger's role, evaluated ---------------------------------------------------------------------

def test_the_trigger_role_may_write_its_own_log_and_nothing_else():
    """AWS's own evaluation (@cloud-copilot/iam-simulate, local/iam/evaluator.py) of the rendered
    SignInTriggerRole: its log group's streams, and no other log group, no Cognito, SageMaker,
    Secrets Manager or Lambda action, whatever the resource."""
    rendered = render(PROVIDERS["OIDC"])
    role = rendered.properties("SignInTriggerRole")
    policies = [{"name": p["PolicyName"], "policy": rendered.evaluate(p["PolicyDocument"])} for p in role["Policies"]]
    account, region = iam_render.PSEUDO["AWS::AccountId"], iam_render.PSEUDO["AWS::Region"]
    logs = f"arn:aws:logs:{region}:{account}:log-group:"
    own = rendered.evaluate({"Ref": "SignInTriggerLogGroup"})
    gate = rendered.evaluate({"Ref": "FunctionLogGroup"})
    principal = session_arn(f"arn:aws:iam::{account}:role/trigger", "sign-in-trigger")
    pool = f"arn:aws:cognito-idp:{region}:{account}:userpool/{region}_Abc"
    with Evaluator() as iam:
        def may(action: str, resource: str) -> bool:
            return iam.evaluate(action, resource, principal, policies).allowed

        assert may("logs:PutLogEvents", f"{logs}{own}:log-stream:2026/12/05/[$LATEST]abc")
        assert may("logs:CreateLogStream", f"{logs}{own}:log-stream:2026/12/05/[$LATEST]abc")
        for action, resource in [
            ("logs:PutLogEvents", f"{logs}{gate}:log-stream:s"),
            ("logs:CreateLogGroup", f"{logs}{own}"),
            ("logs:DeleteLogGroup", f"{logs}{own}"),
            ("cognito-idp:AdminUpdateUserAttributes", pool),
            ("cognito-idp:AdminAddUserToGroup", pool),
            ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{region}:{account}:secret:notebook-gate/x"),
            ("sagemaker:AddTags", f"arn:aws:sagemaker:{region}:{account}:notebook-instance/nb"),
            ("sagemaker:CreatePresignedNotebookInstanceUrl", f"arn:aws:sagemaker:{region}:{account}:notebook-instance/nb"),
            ("lambda:InvokeFunction", f"arn:aws:lambda:{region}:{account}:function:notebook-gate"),
        ]:
            assert not may(action, resource), (action, resource)
