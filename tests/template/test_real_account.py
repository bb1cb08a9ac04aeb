"""What only a real account showed about template.yaml, checked offline on the template as AWS's SAM
translator turns it into CloudFormation (`local/iam/render.py`): one stage per API, API Gateway's
account-level CloudWatch role for the private API's access log, the office CIDRs where they mean
something, account-wide CloudFront names that neither collide across regions nor outgrow 64
characters, the Cognito settings fixed at a pool's creation, a build that compiles for the
architecture the deploy names, and the role's inline policies within IAM's size limit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from local.iam import render as iam_render  # noqa: E402
from local.iam.render import TemplateError  # noqa: E402

REGION = iam_render.PSEUDO["AWS::Region"]
ACCOUNT = iam_render.PSEUDO["AWS::AccountId"]
OFFICE = "203.0.113.0/24"
PRIVATE = {"ApiVisibility": "Private", "ExecuteApiVpcEndpointIds": "vpce-0e1e2e3e",
           "SubnetIds": "subnet-0123abcd", "SecurityGroupIds": "sg-0123abcd",
           "SageMakerApiVpcEndpointId": "vpce-0a1b2c3d", "SageMakerUrlVpcEndpointIds": "vpce-0b2c3d4e",
           "StudioDomainId": "d-abc123"}
VISIBILITIES = {"Public": {"StudioDomainId": "d-abc123"}, "Private": PRIVATE}


def render(params: dict, check_rules: bool = True):
    return iam_render.render(params, check_rules=check_rules)


def rule_failures(params: dict) -> list[str]:
    return render(params, check_rules=False).broken_rules()


def ref_of(node) -> str:
    """The logical id a Ref / GetAtt names (SAM writes a stage's API as either)."""
    if isinstance(node, dict) and "Ref" in node:
        return node["Ref"]
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        return node["Fn::GetAtt"][0]
    raise AssertionError(f"not a reference: {node!r}")


# --- one stage per API ------------------------------------------------------------------------------

def stages_by_api(rendered) -> dict[str, list[str]]:
    """Every stage each API gets: a Stage resource, or a Deployment's StageName (which creates one:
    how SAM makes its extra `Stage` stage when an Api has no OpenApiVersion)."""
    found: dict[str, list[str]] = {}
    for logical_id, resource in rendered.resources.items():
        if not rendered.exists(logical_id):
            continue
        properties = resource.get("Properties", {})
        if resource["Type"] in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
            api = ref_of(properties.get("RestApiId") or properties.get("ApiId"))
            found.setdefault(api, []).append(properties["StageName"])
        elif resource["Type"] in ("AWS::ApiGateway::Deployment", "AWS::ApiGatewayV2::Deployment") \
                and "StageName" in properties:
            api = ref_of(properties.get("RestApiId") or properties.get("ApiId"))
            found.setdefault(api, []).append(properties["StageName"])
    return found


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_each_api_has_exactly_one_stage(visibility):
    """A second stage would have no access log and no throttling."""
    rendered = render(VISIBILITIES[visibility])
    stages = stages_by_api(rendered)
    apis = [k for k, r in rendered.resources.items() if rendered.exists(k)
            and r["Type"] in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")]
    assert sorted(stages) == sorted(apis)
    assert all(len(names) == 1 for names in stages.values()), stages
    if visibility == "Private":
        assert stages["PrivateGateApi"] == ["api"]


# --- API Gateway's CloudWatch role for the private API's access log ---------------------------------

def test_the_account_cloudwatch_role_is_left_alone_unless_asked():
    for params in (VISIBILITIES["Public"], PRIVATE):
        rendered = render(params)
        assert not rendered.exists("ApiGatewayAccount") and not rendered.exists("ApiGatewayLogsRole")


def test_a_private_stack_can_set_the_accounts_cloudwatch_role_and_its_stage_waits_for_it():
    rendered = render({**PRIVATE, "ApiGatewayCloudWatchRole": "Create"})
    account = rendered.properties("ApiGatewayAccount")
    assert account["CloudWatchRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/notebook-gate-ApiGatewayLogsRole-LOCAL"
    role = rendered.properties("ApiGatewayLogsRole")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]
    # The account setting keeps naming the role after the stack is gone: the role stays too.
    for logical_id in ("ApiGatewayLogsRole", "ApiGatewayAccount"):
        assert rendered.resources[logical_id]["DeletionPolicy"] == "Retain"
        assert rendered.resources[logical_id]["UpdateReplacePolicy"] == "Retain"
    # A stage created before the setting fails: the stage's log destination refers to it.
    stage_id = next(k for k, r in rendered.resources.items() if r["Type"] == "AWS::ApiGateway::Stage")
    destination = rendered.resources[stage_id]["Properties"]["AccessLogSetting"]["DestinationArn"]
    assert '{"Ref": "ApiGatewayAccount"}' in json.dumps(destination)
    assert rendered.properties(stage_id)["AccessLogSetting"]["DestinationArn"] == "<ApiAccessLogGroup.Arn>"


def test_the_public_api_never_changes_the_account_setting():
    assert rule_failures({"ApiGatewayCloudWatchRole": "Create"}) == [
        "CloudWatchRoleOnlyWhenPrivate: ApiGatewayCloudWatchRole=Create only applies with ApiVisibility=Private; "
        "the public HTTP API's access log needs no account-wide role."]
    assert rule_failures({**PRIVATE, "ApiGatewayCloudWatchRole": "Create"}) == []


# --- the office's CIDRs on a private API ------------------------------------------------------------

def test_a_private_api_keeps_the_office_cidrs_in_the_role_only():
    """Through the execute-api endpoint the request's sourceIp is the person's private address: the
    gate's own check would refuse everyone. The role's Deny still names the CIDRs (where URLs open)."""
    private = {**PRIVATE, "AllowedSourceCidrs": OFFICE}
    assert rule_failures(private) == []
    rendered = render(private)
    assert rendered.properties("GateFunction")["Environment"]["Variables"]["ALLOWED_SOURCE_CIDRS"] == ""
    deny = [s for p in rendered.function_role().policies for s in p.document["Statement"] if s["Effect"] == "Deny"]
    assert deny[0]["Condition"]["NotIpAddressIfExists"] == {"aws:SourceIp": [OFFICE]}
    public = {"AllowedSourceCidrs": OFFICE, "FunctionEgressCidrs": "198.51.100.7/32",
              "SubnetIds": "subnet-0123abcd", "SecurityGroupIds": "sg-0123abcd"}
    assert render(public).properties("GateFunction")["Environment"]["Variables"]["ALLOWED_SOURCE_CIDRS"] == OFFICE


# --- CloudFront's account-wide names ------------------------------------------------------------------

CLOUDFRONT_NAMES = {"PortalOriginAccessControl": "OriginAccessControlConfig", "PortalHeaders": "ResponseHeadersPolicyConfig"}


def cloudfront_names(monkeypatch, stack_name: str, region: str, uuid: str) -> dict[str, str]:
    monkeypatch.setitem(iam_render.PSEUDO, "AWS::StackName", stack_name)
    monkeypatch.setitem(iam_render.PSEUDO, "AWS::StackId",
                        f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{stack_name}/{uuid}")
    rendered = iam_render.render({})
    return {k: rendered.properties(k)[config]["Name"] for k, config in CLOUDFRONT_NAMES.items()}


def test_cloudfront_names_are_unique_per_stack_and_short_enough_for_any_stack_name(monkeypatch):
    """Both names are account-wide: the same stack name in a second region must not collide, and a
    stack name may be 128 characters while these allow 64."""
    longest = "n" * 128
    first = cloudfront_names(monkeypatch, longest, "us-east-1", "0f1e2d3c-aaaa-4bbb-8ccc-111111111111")
    second = cloudfront_names(monkeypatch, longest, "eu-west-1", "9a8b7c6d-dddd-4eee-8fff-222222222222")
    for names in (first, second):
        for name in names.values():
            assert len(name) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", name), name
    for logical_id in CLOUDFRONT_NAMES:
        assert first[logical_id] != second[logical_id]
    assert len(set(first.values())) == 2  # the two resources' names differ too


# --- Cognito settings chosen once, at creation -------------------------------------------------------

def test_the_new_pools_user_names_are_case_insensitive_unless_kept_as_they_were():
    assert render({}).properties("UserPool")["UsernameConfiguration"] == {"CaseSensitive": False}
    # Cognito refuses to change it on an existing pool: a pool created without it keeps it out.
    assert "UsernameConfiguration" not in render({"UsernameCaseSensitive": "true"}).properties("UserPool")


def test_managed_login_is_the_classic_hosted_ui_chosen_explicitly():
    """Version 2 without a ManagedLoginBranding style shows people an error page."""
    rendered = render({})
    assert rendered.properties("HostedUiDomain")["ManagedLoginVersion"] == 1
    assert not [r for r in rendered.resources.values() if r["Type"] == "AWS::Cognito::ManagedLoginBranding"]


# --- sam build compiles for the architecture sam deploy names ----------------------------------------

def effective_overrides(config: dict, command: str) -> dict[str, str]:
    """The parameter overrides `sam <command>` reads: its own section over the global one (SAM
    CLI's SamConfig.get_all)."""
    sections = config.get("default", {})
    merged = {**sections.get("global", {}).get("parameters", {}), **sections.get(command, {}).get("parameters", {})}
    return dict(re.findall(r'(\w+)="?([^" ]*)"?', merged.get("parameter_overrides", "")))


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_build_and_deploy_read_the_same_architecture(architecture):
    """Whatever Architecture samconfig.toml holds, the binary `sam build` makes is for the one
    `sam deploy` deploys (an arm64 bootstrap on an x86_64 function cannot start)."""
    text = (ROOT / "samconfig.toml").read_text()
    assert len(re.findall(r'Architecture=\\"(arm64|x86_64)\\"', text)) == 1
    chosen = tomllib.loads(re.sub(r'Architecture=\\"(arm64|x86_64)\\"', f'Architecture=\\\\"{architecture}\\\\"', text))
    default = iam_render.load_template()["Parameters"]["Architecture"]["Default"]
    build = effective_overrides(chosen, "build").get("Architecture", default)
    deploy = effective_overrides(chosen, "deploy").get("Architecture", default)
    assert build == deploy == architecture


# --- IAM's limit on a role's inline policies ------------------------------------------------------

IAM_ROLE_INLINE_LIMIT = 10_240
V6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff{:02x}/128"  # 43 characters, the longest CIDR


def largest(**more) -> dict:
    """The parameter set whose role policies are longest: every list at its bound, every name at
    its longest, every feature that adds a statement on."""
    params = {
        "StudioDomainIds": ",".join(f"d-{i:012x}" for i in range(10)),
        "Mlflow": "true", "AutoStart": "true", "Lifecycle": "start,stop",
        "OwnerTagKey": "o" * 128, "GroupTagKey": "g" * 128,
        "AllowedSourceCidrs": ",".join(V6.format(i) for i in range(10)),
        "FunctionEgressCidrs": ",".join(V6.format(100 + i) for i in range(6)),
        "SageMakerApiVpcEndpointId": "vpce-" + "a" * 17,
        "SageMakerUrlVpcEndpointIds": ",".join(f"vpce-{i:017x}" for i in range(5)),
        "SubnetIds": "subnet-0123456789abcdef0", "SecurityGroupIds": "sg-0123456789abcdef0",
        "ApiVisibility": "Private", "ExecuteApiVpcEndpointIds": "vpce-0123456789abcdef0",
    }
    return {**params, **more}


def inline_policy_characters(params: dict) -> int:
    """What IAM counts against the limit: every inline policy document, whitespace excluded."""
    role = render(params).function_role()
    return sum(len(re.sub(r"\s", "", json.dumps(p.document))) for p in role.policies)


def test_the_largest_allowed_parameter_set_fits_iams_inline_policy_limit():
    size = inline_policy_characters(largest())
    print(f"inline policies at the largest parameter set: {size} of {IAM_ROLE_INLINE_LIMIT} characters")
    assert size < IAM_ROLE_INLINE_LIMIT


@pytest.mark.parametrize("name, value", [
    ("StudioDomainIds", ",".join(f"d-{i:012x}" for i in range(11))),
    ("StudioDomainIds", "d-" + "a" * 13),
    ("StudioDomainId", "d-" + "a" * 13),
    ("AllowedSourceCidrs", ",".join(V6.format(i) for i in range(11))),
    ("AllowedSourceCidrs", "1" * 44),
    ("FunctionEgressCidrs", ",".join(V6.format(i) for i in range(7))),
    ("SageMakerUrlVpcEndpointIds", ",".join(f"vpce-{i:017x}" for i in range(6))),
    ("SageMakerApiVpcEndpointId", "vpce-" + "a" * 18),
])
def test_a_parameter_beyond_its_bound_is_refused(name, value):
    """The bounds are what keeps the size test's parameter set the largest one."""
    with pytest.raises(TemplateError, match=name):
        render(largest(**{name: value}) if name != "StudioDomainId" else {name: value})


# --- linters on the new variants ------------------------------------------------------------------------

def test_cfn_lint_reports_nothing_for_the_cloudwatch_role_and_the_largest_set(tmp_path):
    files = []
    for name, params in {"cloudwatch-role": {**PRIVATE, "ApiGatewayCloudWatchRole": "Create"},
                         "largest": largest(), "case-sensitive": {"UsernameCaseSensitive": "true"}}.items():
        translated = tmp_path / f"translated-{name}.json"
        translated.write_text(json.dumps(render(params).template))
        files.append(str(translated))
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), *files], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


# --- what the metrics cost ---------------------------------------------------------------------------

def test_the_cost_note_names_every_metric_and_outcome_the_gate_publishes():
    """The count in docs/deploy.md is per metric name and per outcome: a metric or an outcome added
    to src/metrics.rs changes it."""
    source = (ROOT / "src/metrics.rs").read_text()
    metrics = re.findall(r'pub const (?:REQUESTS|LATENCY|SAGEMAKER_TIME|SAGEMAKER_CALLS): &str = "(\w+)"', source)
    outcomes = re.findall(r'Self::\w+ => "(\w+)",', source)
    deploy = (ROOT / "docs/deploy.md").read_text()
    note = deploy[deploy.index("## Cost at rest"):]
    note = note[:note.index("\n## ", 1)]
    assert len(metrics) == 4 and f"× {len(metrics)} metrics" in note
    for name in metrics + outcomes:
        assert f"`{name}`" in note, name
    assert "$0.30 a month" in note
