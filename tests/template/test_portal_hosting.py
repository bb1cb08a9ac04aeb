"""The portal's side of the deployment, checked offline: `scripts/portal-config` turns the stack's
outputs into the config.json the portal reads, the template's Cognito client and headers fit what the
portal does, and the local portal is served under the same policy as CloudFront serves it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from local.iam.render import render  # noqa: E402
from local.portal_site import content_security_policy  # noqa: E402

TEMPLATE, _ = decode_str((ROOT / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]
STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/notebook-gate/0f1e2d3c"
OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com",
    "PortalUrl": "https://d111111abcdef8.cloudfront.net",
    "PortalBucketName": "notebook-gate-portalbucket-1a2b3c",
    "UserPoolId": "eu-west-1_AbCdEf",
    "UserPoolClientId": "client0123456789",
    "HostedUiDomain": "https://notebook-gate-123456789012.auth.eu-west-1.amazoncognito.com",
}


def fake_aws(tmp_path: Path, outputs: dict) -> dict:
    """An `aws` on PATH that answers describe-stacks as the CLI does, and records its arguments."""
    described = {"Stacks": [{"StackId": STACK_ID, "StackName": "notebook-gate",
                             "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}
    (tmp_path / "described.json").write_text(json.dumps(described))
    script = tmp_path / "bin" / "aws"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\ncat {tmp_path}/described.json\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{script.parent}:{os.environ['PATH']}"}


def portal_config(tmp_path: Path, env: dict, *args: str):
    out = tmp_path / "portal" / "config.json"  # in the portal folder the script builds for upload
    result = subprocess.run([sys.executable, str(ROOT / "scripts/portal-config"), "--build-dir", str(out.parent), *args],
                            env=env, capture_output=True, text=True)
    return result, out


def test_portal_config_is_written_from_the_stack_outputs(tmp_path):
    env = fake_aws(tmp_path, OUTPUTS)
    result, out = portal_config(tmp_path, env, "--stack-name", "gate-prod", "--region", "eu-west-1")
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == {
        "apiUrl": OUTPUTS["ApiUrl"], "region": "eu-west-1", "userPoolId": OUTPUTS["UserPoolId"],
        "clientId": OUTPUTS["UserPoolClientId"], "cognitoDomain": OUTPUTS["HostedUiDomain"],
    }
    assert (tmp_path / "args").read_text().split() == [
        "cloudformation", "describe-stacks", "--stack-name", "gate-prod", "--output", "json", "--region", "eu-west-1"]
    assert f"s3://{OUTPUTS['PortalBucketName']}/" in result.stdout


def test_an_existing_pool_needs_its_managed_login_domain(tmp_path):
    env = fake_aws(tmp_path, {k: v for k, v in OUTPUTS.items() if k != "HostedUiDomain"})
    result, out = portal_config(tmp_path, env)
    assert result.returncode == 1 and "--cognito-domain" in result.stderr and not out.exists()
    result, out = portal_config(tmp_path, env, "--cognito-domain", "https://login.example.com/")
    assert result.returncode == 0
    assert json.loads(out.read_text())["cognitoDomain"] == "https://login.example.com"


def test_a_stack_without_the_gates_outputs_is_refused(tmp_path):
    env = fake_aws(tmp_path, {"Something": "else"})
    result, out = portal_config(tmp_path, env)
    assert result.returncode == 1 and "ApiUrl" in result.stderr and not out.exists()


def test_the_outputs_portal_config_reads_are_the_templates():
    assert set(OUTPUTS) <= set(TEMPLATE["Outputs"])


def test_the_portal_client_signs_in_as_the_portal_does():
    client = RESOURCES["PortalClient"]["Properties"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["GenerateSecret"] is False
    # The portal asks for these scopes and comes back to its own root, with and after sign-out.
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    portal_root = {"Fn::Sub": "https://${PortalDistribution.DomainName}/"}
    assert client["CallbackURLs"] == [portal_root] and client["LogoutURLs"] == [portal_root]
    # Renewal uses the refresh token, with the pool's passwords and with a company provider alone.
    provider_only = {"IdentityProviderType": "SAML", "SamlMetadataUrl": "https://idp.example.com/metadata"}
    for params in ({}, provider_only):
        assert "ALLOW_REFRESH_TOKEN_AUTH" in render(params).properties("PortalClient")["ExplicitAuthFlows"]
    session = (ROOT / "portal/js/session.js").read_text()
    assert 'scope: "openid email profile"' in session
    assert "this.redirectUri = `${location.origin}/`" in session


def directives(policy: str) -> dict[str, set[str]]:
    """A policy's directives with their keyword sources ('self', 'none', data:), hosts left out."""
    result = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        result[name] = {s for s in sources if s.startswith("'") or s.endswith(":")}
    return result


def test_the_local_portal_is_served_under_the_templates_policy():
    headers = render({}).properties("PortalHeaders")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    deployed = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    local = content_security_policy(connect=["http://127.0.0.1:8080"], form_action=["http://127.0.0.1:9"])
    assert directives(deployed) == directives(local)
    assert "unsafe-inline" not in deployed and "script-src 'self'" in deployed
    # The hosts the portal talks to: the API, the pool's discovery document, its managed login
    # (token and revocation endpoints), which the template names exactly.
    connect = next(p for p in deployed.split(";") if p.strip().startswith("connect-src")).split()
    login = "https://notebook-gate-00000000-0000-0000-0000-000000000000.auth.us-east-1.amazoncognito.com"
    assert {"https://*.execute-api.us-east-1.amazonaws.com", "https://cognito-idp.us-east-1.amazonaws.com",
            login} <= set(connect)
