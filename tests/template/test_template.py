"""What matters in template.yaml, checked offline: the function's configuration matches the code,
IAM grants only the gate's actions on narrow resources for every combination of options, the query
token authorizer guards only the browser routes, and access logs hold no token."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode_str((ROOT / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]
FUNCTION = RESOURCES["GateFunction"]["Properties"]
NO_VALUE = object()

ALLOWED_ACTIONS = {
    "sagemaker:CreatePresignedNotebookInstanceUrl", "sagemaker:DescribeNotebookInstance",
    "sagemaker:StartNotebookInstance", "sagemaker:ListTags", "sagemaker:ListNotebookInstances",
    "sagemaker:CreatePresignedDomainUrl", "sagemaker:DescribeDomain", "sagemaker:ListSpaces",
    "sagemaker:DescribeSpace",
    # Only when the function is placed in a VPC: Lambda's own network interfaces.
    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
}
PRESIGN = {"sagemaker:CreatePresignedNotebookInstanceUrl", "sagemaker:CreatePresignedDomainUrl",
           "sagemaker:StartNotebookInstance"}


def render(node, params: dict, conditions: dict):
    """Evaluates the intrinsic functions the template uses, for one set of parameters."""
    if isinstance(node, dict):
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                if value == "AWS::NoValue":
                    return NO_VALUE
                return params.get(value, f"<{value}>")
            if key == "Fn::If":
                name, yes, no = value
                return render(yes if conditions[name] else no, params, conditions)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(render(items, params, conditions))
            if key == "Fn::Split":
                separator, text = value
                return render(text, params, conditions).split(separator)
            if key == "Fn::GetAtt":
                return "<{}>".format(".".join(value) if isinstance(value, list) else value)
            if key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                values = {**params, **{k: render(v, params, conditions) for k, v in variables.items()}}
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(values.get(m.group(1), f"<{m.group(1)}>")), text)
        rendered = {k: render(v, params, conditions) for k, v in node.items()}
        return {k: v for k, v in rendered.items() if v is not NO_VALUE}
    if isinstance(node, list):
        return [v for v in (render(i, params, conditions) for i in node) if v is not NO_VALUE]
    return node


def conditions_for(params: dict) -> dict:
    def evaluate(node):
        (key, value), = node.items()
        if key == "Fn::Equals":
            left, right = (render(v, params, {}) for v in value)
            left = "".join(left) if isinstance(left, list) else left
            return left == right
        if key == "Fn::Not":
            return not evaluate(value[0])
        if key == "Fn::And":
            return all(evaluate(v) for v in value)
        if key == "Condition":
            return evaluate(TEMPLATE["Conditions"][value])
        raise AssertionError(key)
    return {name: evaluate(node) for name, node in TEMPLATE["Conditions"].items()}


def parameters(**overrides) -> dict:
    params = {name: str(p.get("Default", "")) for name, p in TEMPLATE["Parameters"].items()}
    params.update({"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
                   "AWS::StackName": "gate", "AWS::URLSuffix": "amazonaws.com"})
    for name in ("SubnetIds", "SecurityGroupIds"):
        params[name] = [s for s in params[name].split(",") if s] if isinstance(params[name], str) else params[name]
    params.update(overrides)
    return params


def statements(params: dict) -> list[dict]:
    """Every IAM statement the function's role gets, rendered."""
    conditions = conditions_for(params)
    found = []
    for policy in render(FUNCTION["Policies"], params, conditions):
        found.extend(policy["Statement"])
    document = render(RESOURCES["OpenTaggedTargetsPolicy"]["Properties"]["PolicyDocument"], params, conditions)
    found.extend(json.loads(document)["Statement"])  # also proves the JSON string is valid
    return found


def as_list(value):
    return value if isinstance(value, list) else [value]


OPTIONS = list(itertools.product(["", "d-abc123"], ["false", "true"], ["", "203.0.113.0/24,198.51.100.7/32"],
                                 ["", "vpce-0123456789abcdef0"]))


def test_the_function_sets_exactly_the_variables_the_code_reads():
    source = (ROOT / "src/config.rs").read_text().split("#[cfg(test)]")[0]
    read_by_code = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', source))
    set_by_template = set(FUNCTION["Environment"]["Variables"])
    assert read_by_code == set_by_template


def test_parameter_defaults_match_the_documented_defaults():
    reference = (ROOT / "docs/configuration.md").read_text()
    documented = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", reference, re.MULTILINE))
    params = parameters()
    for variable, value in FUNCTION["Environment"]["Variables"].items():
        default = documented[variable].strip().strip("`")
        if variable == "CORS_ALLOWED_ORIGINS":
            assert "PortalDistribution.DomainName" in json.dumps(value)  # the portal, not a default
            continue
        expected = "" if default == "unset" else default
        assert render(value, params, conditions_for(params)) == expected, variable


@pytest.mark.parametrize("domain, auto_start, cidrs, vpce", OPTIONS)
def test_iam_grants_only_the_gates_actions_on_narrow_resources(domain, auto_start, cidrs, vpce):
    params = parameters(StudioDomainId=domain, AutoStart=auto_start, AllowedSourceCidrs=cidrs,
                        SageMakerApiVpcEndpointId=vpce)
    granted = statements(params)
    actions = {a for s in granted for a in as_list(s["Action"])}
    assert actions <= ALLOWED_ACTIONS
    assert ("sagemaker:StartNotebookInstance" in actions) == (auto_start == "true")
    assert ("sagemaker:CreatePresignedDomainUrl" in actions) == bool(domain)
    for statement in granted:
        assert statement["Effect"] == "Allow"
        resources = as_list(statement["Resource"])
        if set(as_list(statement["Action"])) & PRESIGN:
            assert "*" not in resources
            condition = statement["Condition"]
            tag_keys = list(condition["Null"])
            assert tag_keys in (["aws:ResourceTag/notebook-gate:owner"], ["aws:ResourceTag/notebook-gate:group"])
            assert ("IpAddress" in condition) == bool(cidrs)
            if cidrs:
                assert condition["IpAddress"]["aws:SourceIp"] == cidrs.split(",")
            assert ("StringEquals" in condition) == bool(vpce)
            if vpce:
                assert condition["StringEquals"]["aws:SourceVpce"] == vpce
        if "*" in resources:
            assert set(as_list(statement["Action"])) <= {"sagemaker:ListNotebookInstances"} | {
                a for a in ALLOWED_ACTIONS if a.startswith("ec2:")}
        for resource in resources:
            if domain and (":space/" in resource or ":user-profile/" in resource or ":domain/" in resource):
                assert f"/{domain}" in resource, resource


def test_tag_conditions_follow_the_tag_key_parameters():
    params = parameters(OwnerTagKey="team:owner", GroupTagKey="team:group", StudioDomainId="d-abc123")
    keys = {k for s in statements(params) for k in s.get("Condition", {}).get("Null", {})}
    assert keys == {"aws:ResourceTag/team:owner", "aws:ResourceTag/team:group"}


def test_the_query_token_authorizer_guards_only_the_launch_routes():
    auth = RESOURCES["GateApi"]["Properties"]["Auth"]["Authorizers"]
    assert auth["QueryToken"]["IdentitySource"] == "$request.querystring.access_token"
    assert auth["HeaderToken"]["IdentitySource"] == "$request.header.Authorization"
    events = FUNCTION["Events"].values()
    assert len(events) == 5
    for event in events:
        path = event["Properties"]["Path"]
        expected = "QueryToken" if path.startswith("/launch/") else "HeaderToken"
        assert event["Properties"]["Auth"]["Authorizer"] == expected, path
        assert event["Properties"]["Method"] == "GET"


def test_access_logs_record_no_token():
    log_format = RESOURCES["GateApi"]["Properties"]["AccessLogSettings"]["Format"]
    fields = json.loads(log_format)
    assert "$context.requestId" in fields.values()
    lowered = log_format.lower()
    for leak in ("querystring", "authorization", "$input", "requestoverride", "header", "$request."):
        assert leak not in lowered, leak


def test_cors_allows_only_the_portal():
    cors = RESOURCES["GateApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Fn::Sub": "https://${PortalDistribution.DomainName}"}]
    assert cors["AllowMethods"] == ["GET", "OPTIONS"]


def test_cfn_lint_reports_nothing():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(ROOT / "template.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
