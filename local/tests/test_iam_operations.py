"""Every AWS call the gate makes (SageMaker's, and the Resource Groups Tagging API's GetResources)
is granted by the deployed role, and the tag-conditioned ones only on tagged resources, under every
parameter combination the template accepts.

The operations come from the gate's code, not from a list kept here: the `self.<operation>()` SDK
calls inside each `impl <Trait> for aws_sdk_<service>::Client` under src/, as IAM actions
(`sagemaker:ListSpaces`, `tag:GetResources`).
The policy comes from template.yaml through AWS's SAM translator (local/iam/render.py), and the
decision from @cloud-copilot/iam-simulate with AWS's authorization data (local/iam/evaluator.py).
Adding a call to the gate without its grant fails here; so does a grant the gate never uses.

A person's use of each URL the gate presigns is checked the same way: what IAM authorizes then
comes from `url_use` in local/iam/sagemaker.py (a notebook's or Studio's presign action again; an
MLflow tracking server's UI session, every sagemaker-mlflow action in AWS's authorization data; an
MLflow app's sagemaker:CallMlflowAppApi), allowed on a tagged target from the networks the
parameters name, denied on an untagged one and from anywhere else.

    IAM_TEMPLATE=/path/to/other/template.yaml pytest local/tests/test_iam_operations.py
checks another version of the template (an old one, say) the same way.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
from pathlib import Path

import pytest

from local.iam import sagemaker as iam_sagemaker
from local.iam.evaluator import Evaluator
from local.iam.render import ROOT, TemplateError, load_template, render
from local.iam.stack import function_source

TEMPLATE = Path(os.environ.get("IAM_TEMPLATE", ROOT / "template.yaml"))
DECLARED = set(load_template(TEMPLATE).get("Parameters", {}))
DOMAIN, OTHER_DOMAIN = "d-abc123", "d-def456"
OWNER_TAG, GROUP_TAG = "notebook-gate:owner", "notebook-gate:group"
APP_ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-abc123"
# What a keep tags, by kind: alice's target (a space in `domain`).
KEEP_TARGETS = {
    "notebook-instance": lambda domain: iam_sagemaker.arn("notebook-instance", "alice-analysis"),
    "space": lambda domain: iam_sagemaker.arn("space", domain, "alice-private"),
    "mlflow-tracking-server": lambda domain: iam_sagemaker.arn("mlflow-tracking-server", "alice-mlflow"),
}


def domains(params: dict) -> list[str]:
    """The Studio domains a parameter set configures: StudioDomainIds, else StudioDomainId."""
    listed = params.get("StudioDomainIds", "")
    return [d for d in (listed or params.get("StudioDomainId", "")).split(",") if d]


def studio(params: dict) -> bool:
    return bool(domains(params))


def mlflow(params: dict) -> bool:
    return params.get("Mlflow", "true") == "true"


gate_actions, gate_source = iam_sagemaker.gate_actions, iam_sagemaker.gate_source

OPERATIONS = gate_actions(gate_source())  # IAM actions: "sagemaker:ListSpaces", "tag:GetResources"


def name_of(action: str) -> str:
    """The API operation of an IAM action: ListSpaces for sagemaker:ListSpaces."""
    return iam_sagemaker.split_action(action)[1]


def _lifecycle(params: dict) -> set[str]:
    value = params.get("Lifecycle", "start,stop")
    return set() if value == "none" else set(value.split(","))


def _limit(params: dict, parameter: str) -> bool:
    """A running-time limit (or MaxKeepHours) above 0, the template's default when not given."""
    return str(params.get(parameter, load_template(TEMPLATE)["Parameters"][parameter]["Default"])) != "0"


# The kinds the running-time policy stops and keeps: whether the kind has a limit with `params`.
LIMITED = {
    "notebook-instance": lambda p: _limit(p, "NotebookMaxRunHours"),
    "space": lambda p: studio(p) and _limit(p, "SpaceMaxRunHours"),
    "mlflow-tracking-server": lambda p: mlflow(p) and _limit(p, "TrackingServerMaxRunHours"),
}


def keeps(params: dict, kind: str) -> bool:
    """Whether a person may keep a running target of `kind`: it has a limit, and keeping is on."""
    return _limit(params, "MaxKeepHours") and LIMITED[kind](params)


# When the gate needs an operation: Studio ones only with a domain; starting with AutoStart or the
# start route (Lifecycle), stopping with the stop route, a space's app only with Studio too.
# An operation not named here is needed in every deployment.
NEEDED_ONLY_WITH = {
    "sagemaker:DescribeDomain": studio,
    "sagemaker:DescribeSpace": studio,
    "sagemaker:ListSpaces": studio,
    "sagemaker:ListApps": studio,
    "sagemaker:CreatePresignedDomainUrl": studio,
    "sagemaker:StartNotebookInstance": lambda p: p["AutoStart"] == "true" or "start" in _lifecycle(p),
    # Stopping: the stop routes (Lifecycle), and the running-time policy's sweep (a limit).
    "sagemaker:StopNotebookInstance": lambda p: "stop" in _lifecycle(p) or LIMITED["notebook-instance"](p),
    "sagemaker:DeleteApp": lambda p: studio(p) and ("stop" in _lifecycle(p) or LIMITED["space"](p)),
    "sagemaker:StopMlflowTrackingServer": LIMITED["mlflow-tracking-server"],
    # A keep, of any kind that may be kept; prices, when shown.
    "sagemaker:AddTags": lambda p: any(keeps(p, kind) for kind in LIMITED),
    "pricing:GetProducts": lambda p: p.get("ShowPrices", "true") == "true",
    # MLflow: with Mlflow on; a stopped tracking server is started by auto-start only.
    "sagemaker:DescribeMlflowTrackingServer": mlflow,
    "sagemaker:CreatePresignedMlflowTrackingServerUrl": mlflow,
    "sagemaker:StartMlflowTrackingServer": lambda p: mlflow(p) and p["AutoStart"] == "true",
    "sagemaker:DescribeMlflowApp": mlflow,
    "sagemaker:CreatePresignedMlflowAppUrl": mlflow,
}
# Operations SageMaker authorizes with the resource's tags in the role's conditions: denied on a
# resource without the gate's tags, whatever the gate's code does.
TAG_CONDITIONED = {f"sagemaker:{o}" for o in (
    "CreatePresignedNotebookInstanceUrl", "CreatePresignedDomainUrl", "StartNotebookInstance", "StopNotebookInstance",
    "CreatePresignedMlflowTrackingServerUrl", "StartMlflowTrackingServer", "CreatePresignedMlflowAppUrl",
    "StopMlflowTrackingServer")}
# Operations on a space's app, authorized with the space's owner and sharing type
# (sagemaker:OwnerUserProfileArn, sagemaker:SpaceSharingType): allowed on the apps of the domain's
# owned spaces, private or shared; denied on a user profile's own app (no owner) and in another domain.
SPACE_APP = {"sagemaker:DeleteApp"}
# Operations on one domain's resources: allowed in the configured domains only.
DOMAIN_SCOPED = {"sagemaker:DescribeDomain", "sagemaker:DescribeSpace", "sagemaker:CreatePresignedDomainUrl"}

# The supported combinations: Studio on/off, auto-start, where URLs may be used (people's CIDRs with
# the function's egress, VPC endpoints, both, neither), the function in a VPC or not. Those the
# template's Rules refuse are not deployable and are left out.
NETWORKS = {
    "open": {},
    "cidrs": {"AllowedSourceCidrs": "10.0.0.0/8,192.168.1.0/24", "FunctionEgressCidrs": "203.0.113.10/32"},
    "endpoints": {"SageMakerApiVpcEndpointId": "vpce-0a1a1a1a1a1a1a1a1",
                  "SageMakerUrlVpcEndpointIds": "vpce-0b2b2b2b2b2b2b2b2,vpce-0c3c3c3c3c3c3c3c3"},
}
NETWORKS["both"] = {**NETWORKS["cidrs"], **NETWORKS["endpoints"]}
# What the first template offered: people's CIDRs alone, or the API endpoint alone. The current
# template's Rules refuse both (they cannot work); an older template is checked with them.
NETWORKS["cidrs-alone"] = {"AllowedSourceCidrs": NETWORKS["cidrs"]["AllowedSourceCidrs"]}
NETWORKS["api-endpoint-alone"] = {"SageMakerApiVpcEndpointId": NETWORKS["endpoints"]["SageMakerApiVpcEndpointId"]}
NETWORK_KEYS = {k for network in NETWORKS.values() for k in network}
# The Studio / notebook endpoint a person's browser uses, when the template cannot name it.
PEOPLES_ENDPOINT = "vpce-0d4d4d4d4d4d4d4d4"
VPC = {"SubnetIds": "subnet-0abc1234", "SecurityGroupIds": "sg-0abc1234"}


# What people may do besides opening (start, stop); an older template without the parameter has None.
LIFECYCLES = ["start,stop", "start", "stop", "none"] if "Lifecycle" in DECLARED else [None]
# Studio domains configured (several through StudioDomainIds) and MLflow on / off; an
# older template has neither parameter.
DOMAIN_COUNTS = [0, 1, 2] if "StudioDomainIds" in DECLARED else [0, 1]
MLFLOW = ["true", "false"] if "Mlflow" in DECLARED else [None]


def combinations() -> list[tuple[str, dict]]:
    found = []
    for count, ml, auto_start, lifecycle, network, in_vpc in itertools.product(
            DOMAIN_COUNTS, MLFLOW, [False, True], LIFECYCLES, NETWORKS, [False, True]):
        if (count == 2 or ml == "false") and (network not in ("open", "both") or lifecycle not in (None, "start,stop")):
            continue  # several domains and MLflow off with the main networks and lifecycles: enough
        named = ([DOMAIN, OTHER_DOMAIN][:count])
        params = {**({"StudioDomainIds": ",".join(named)} if count == 2 else {"StudioDomainId": ",".join(named)}),
                  **({"Mlflow": ml} if ml else {}), "AutoStart": "true" if auto_start else "false",
                  **({"Lifecycle": lifecycle} if lifecycle else {}), **NETWORKS[network], **(VPC if in_vpc else {})}
        if not set(params) <= DECLARED:
            continue  # an older template without these options
        try:
            render(params, TEMPLATE)
        except TemplateError as error:
            if "would refuse" in str(error):
                continue
            raise
        found.append((f"domains={count}-mlflow={ml}-autostart={auto_start}-lifecycle={lifecycle}-{network}-"
                      f"{'vpc' if in_vpc else 'novpc'}", params))
    return found


COMBINATIONS = combinations()
_ROLES: dict = {}


def deployed_role(params: dict):
    """The function role for `params`, rendered once per module (the SAM transform takes ~0.3 s)."""
    key = tuple(sorted(params.items()))
    if key not in _ROLES:
        _ROLES[key] = render(params, TEMPLATE).function_role()
    return _ROLES[key]


@pytest.fixture(scope="module")
def iam():
    with Evaluator() as evaluator:
        yield evaluator


class Role:
    """The deployed role for one parameter set, asked about the gate's calls."""

    def __init__(self, params: dict, evaluator: Evaluator):
        role = deployed_role(params)
        self.params = params
        self.arn = role.arn
        self.principal = iam_sagemaker.session_arn(role.arn, "notebook-gate")
        self.policies = [{"name": p.name, "policy": p.document} for p in role.policies]
        self.managed = role.managed_policy_arns
        self.source = iam_sagemaker.Source.parse(function_source(params))
        self.evaluator = evaluator

    def allows(self, action: str, resource: str, tags: dict | None, source=None, space: dict | None = None,
               writes: dict | None = None) -> bool:
        """`writes`: the tags the call writes (AddTags), which IAM sees as aws:TagKeys."""
        context = iam_sagemaker.request_context(self.arn, source or self.source, tags)
        if space is not None:  # the space a call on an app is about, as the stand-in keeps it
            context.update(iam_sagemaker.space_context(name_of(action), space["payload"], lambda d, n: space["space"]))
        if writes is not None:
            tags_written = [{"Key": k, "Value": v} for k, v in writes.items()]
            context.update(iam_sagemaker.request_tag_context(name_of(action), {"Tags": tags_written}))
        return self.evaluator.evaluate(action, resource, self.principal, self.policies, context).allowed

    def refuses_in_use(self, operation: str, resource: str, tags: dict, source) -> list[str]:
        """The actions IAM refuses when a person's browser at `source` uses a URL this role made
        with `operation` on `resource` holding `tags` ([]: the use works)."""
        use = iam_sagemaker.url_use(operation, resource)
        # Only statements that can match one of the use's actions decide it, and many parameter
        # sets share them: decided once per set of such statements (an MLflow session is 61 actions).
        key = (_statements_matching(self.policies, [a for a, _ in use]), operation, resource,
               tuple(sorted(tags.items())), source)
        if key not in _USES:
            _USES[key] = [action for action, target in use if not self.evaluator.evaluate(
                action, target, self.principal, self.policies,
                iam_sagemaker.request_context(self.arn, source, tags if target != "*" else None)).allowed]
        return _USES[key]


_USES: dict = {}


def _statements_matching(policies: list[dict], actions: list[str]) -> str:
    """The statements whose Action can match one of `actions` (any with NotAction too), as text."""
    found = []
    for policy in policies:
        for statement in policy["policy"]["Statement"]:
            patterns = statement.get("Action", [])
            patterns = [patterns] if isinstance(patterns, str) else patterns
            if "NotAction" in statement or any(fnmatch.fnmatchcase(a.lower(), p.lower()) for p in patterns
                                               for a in actions):
                found.append(statement)
    return json.dumps(found, sort_keys=True)


def needed(action: str, params: dict) -> bool:
    condition = NEEDED_ONLY_WITH.get(action)
    return condition(params) if condition else True


def space(domain: str, name: str, owner: str | None, sharing: str = "Private") -> dict:
    """A call's payload on `name`'s JupyterLab app and the space as the stand-in keeps it."""
    return {"payload": {"DomainId": domain, "SpaceName": name, "AppType": "JupyterLab", "AppName": "default"},
            "space": {"SpaceSharingSettings": {"SharingType": sharing},
                      "OwnershipSettings": {"OwnerUserProfileName": owner} if owner else None}}


def requests(action: str, params: dict) -> list[tuple[str, str, str]]:
    """(what, resource, tag holder) for the calls the gate makes with `action` under `params`."""
    names = {"NotebookInstanceName": "alice-analysis", "SpaceName": "alice-private", "UserProfileName": "alice",
             "AppType": "JupyterLab", "AppName": "default", "TrackingServerName": "alice-mlflow", "Arn": APP_ARN}
    if action == "sagemaker:ListTags":
        # On notebook instances; on each configured domain's user profiles and spaces (a space's
        # keep) with Studio; on MLflow tracking servers and apps with MLflow.
        arns = [iam_sagemaker.arn("notebook-instance", "alice-analysis")]
        arns += [iam_sagemaker.arn(kind, d, name) for d in domains(params)
                 for kind, name in (("user-profile", "alice"), ("space", "alice-private"))]
        if mlflow(params):
            arns += [iam_sagemaker.arn("mlflow-tracking-server", "alice-mlflow"), APP_ARN]
        return [(f"sagemaker:ListTags on {a.split(':')[-1]}", a, a) for a in arns]
    if action == "sagemaker:AddTags":
        # A keep, on each kind that may be kept (grant_keep_problems checks the tag keys).
        arns = [KEEP_TARGETS[kind](domain) for kind in LIMITED if keeps(params, kind)
                for domain in (domains(params) if kind == "space" else [DOMAIN])]
        return [(f"sagemaker:AddTags on {a.split(':')[-1]}", a, a) for a in arns]
    found = []
    service, operation = iam_sagemaker.split_action(action)
    for domain in domains(params) or [DOMAIN]:  # each configured domain (a call in none is denied)
        resource = iam_sagemaker.resource_of(operation, {**names, "DomainId": domain}, service)
        assert resource, f"local/iam/sagemaker.py cannot name the resource of {action}"
        if (action, resource, resource) not in found:
            found.append((action, resource, resource))
    return found


def test_the_gates_operations_are_read_from_its_code():
    # If the pattern stopped matching, every check below would pass on nothing.
    assert {"tag:GetResources", "sagemaker:CreatePresignedNotebookInstanceUrl", "sagemaker:ListTags"} <= set(OPERATIONS)
    sample = "impl SageMaker for aws_sdk_sagemaker::Client {\n  fn a(&self) { self\n  .describe_thing()\n }\n}\n" \
             "impl Tagging for aws_sdk_resourcegroupstagging::Client {\n  fn f(&self) { self\n .get_resources()\n" \
             "  .into_paginator() }\n}\n" \
             "fn elsewhere(c: &Client) { self.not_this() }"
    assert gate_actions(sample) == ["sagemaker:DescribeThing", "tag:GetResources"]
    assert iam_sagemaker.gate_operations(sample) == ["DescribeThing"]
    assert iam_sagemaker.gate_operations(sample, "tag") == ["GetResources"]
    # A client of an SDK the checks do not know would go unchecked: it is an error instead.
    with pytest.raises(ValueError, match="aws_sdk_s3"):
        gate_actions(sample + "impl Files for aws_sdk_s3::Client {\n  fn g(&self) { self.get_object() }\n}\n")


def test_every_supported_combination_was_rendered():
    assert COMBINATIONS, "no parameter combination renders"
    assert any(studio(p) for _, p in COMBINATIONS) and any(not studio(p) for _, p in COMBINATIONS)
    if "StudioDomainIds" in DECLARED:
        assert any(len(domains(p)) == 2 for _, p in COMBINATIONS)
        assert any(not mlflow(p) for _, p in COMBINATIONS) and any(mlflow(p) for _, p in COMBINATIONS)


def grant_problems(operations: list[str], params: dict, evaluator: Evaluator, role: "Role | None" = None) -> list[str]:
    """What is wrong with the role for `params` (or `role`) against the gate calling `operations`."""
    role = role or Role(params, evaluator)
    problems = []
    for operation in operations:
        try:
            calls = requests(operation, params)
        except iam_sagemaker.UnknownOperation:
            problems.append(f"{operation}: the stand-in has no IAM resource for it (local/iam/sagemaker.py)")
            continue
        for what, resource, _ in calls:
            domain = resource.split("/")[1] if operation in SPACE_APP else DOMAIN
            owned = [space(domain, "alice-private", "alice"), space(domain, "team-shared", "alice", "Shared")] \
                if operation in SPACE_APP else [None]
            for tags, in_space in itertools.product(
                    ({OWNER_TAG: "sub-of-alice"}, {GROUP_TAG: "ml-team"}) if operation in TAG_CONDITIONED else
                    ({OWNER_TAG: "sub-of-alice"},), owned):
                if operation == "sagemaker:CreatePresignedDomainUrl" and GROUP_TAG in tags:
                    continue  # profiles belong to one person: only the owner tag opens them
                allowed = role.allows(operation, resource, tags if resource != "*" else None, space=in_space)
                if needed(operation, params) and not allowed:
                    problems.append(f"{what} is denied on {resource} tagged {tags}, and the gate calls it")
                if not needed(operation, params) and allowed:
                    problems.append(f"{what} is granted though the gate never calls it with these parameters")
            if operation in TAG_CONDITIONED and role.allows(operation, resource, {}):
                problems.append(f"{what} is allowed on an untagged {resource}")
            if operation in DOMAIN_SCOPED and studio(params):
                # IAM per configured domain only: the same call in a domain not configured.
                other = resource.replace(f"/{resource.split('/')[1]}", "/d-other99", 1)
                if role.allows(operation, other, {OWNER_TAG: "sub-of-alice"}):
                    problems.append(f"{what} is allowed in a domain not configured ({other})")
            if operation in SPACE_APP:
                # A user profile's own app (no owner key), a space without an owner, another domain.
                profile_app = iam_sagemaker.arn("app", domain, "alice", "JupyterServer", "default")
                if role.allows(operation, profile_app, {}, space=None):
                    problems.append(f"{what} is allowed on a user profile's app {profile_app}")
                if role.allows(operation, resource, {}, space=space(domain, "alice-private", None)):
                    problems.append(f"{what} is allowed on the app of a space without an owner")
                other = space("d-other99", "alice-private", "alice")
                other_app = iam_sagemaker.arn("app", "d-other99", "alice-private", "JupyterLab", "default")
                if role.allows(operation, other_app, {}, space={**other, "payload": {**other["payload"]}}):
                    problems.append(f"{what} is allowed in another domain ({other_app})")
    return problems


@pytest.mark.parametrize("name,params", COMBINATIONS, ids=[n for n, _ in COMBINATIONS])
def test_each_call_the_gate_makes_is_allowed_on_owned_resources_and_presign_only_on_tagged_ones(name, params, iam):
    problems = grant_problems(OPERATIONS, params, iam)
    assert not problems, "\n".join(problems)


def test_a_call_added_to_the_gate_without_its_grant_is_caught(iam):
    source = gate_source().replace(
        "impl NotebookApi for aws_sdk_sagemaker::Client {",
        "impl NotebookApi for aws_sdk_sagemaker::Client {\n    fn added(&self) { self.describe_space(); self.list_domains() }\n"
        "    fn also(&self) { self\n        .describe_training_job() }", 1)
    source = source.replace(
        "impl Tagging for aws_sdk_resourcegroupstagging::Client {",
        "impl Tagging for aws_sdk_resourcegroupstagging::Client {\n    fn keys(&self) { self.get_tag_keys() }", 1)
    operations = gate_actions(source)
    assert {"sagemaker:ListDomains", "sagemaker:DescribeTrainingJob", "tag:GetTagKeys"} <= set(operations)
    problems = grant_problems(operations, COMBINATIONS[0][1], iam)
    assert any(p.startswith("sagemaker:ListDomains: the stand-in has no IAM resource") for p in problems), problems
    assert any(p.startswith("tag:GetTagKeys: the stand-in has no IAM resource") for p in problems), problems
    # Given a resource, a call with no grant is reported as denied.
    iam_sagemaker.RESOURCES["DescribeTrainingJob"] = lambda p: iam_sagemaker.arn("training-job", "job-1")
    iam_sagemaker.TAGGING_RESOURCES["GetTagKeys"] = lambda p: "*"
    try:
        problems = grant_problems(operations, COMBINATIONS[0][1], iam)
    finally:
        del iam_sagemaker.RESOURCES["DescribeTrainingJob"], iam_sagemaker.TAGGING_RESOURCES["GetTagKeys"]
    assert any(p.startswith("sagemaker:DescribeTrainingJob is denied on arn:aws:sagemaker:") for p in problems), \
        problems
    assert any(p.startswith("tag:GetTagKeys is denied on *") for p in problems), problems


def test_a_role_that_cannot_find_tagged_targets_is_caught(iam):
    """GET /targets starts from tag:GetResources: a role without it, or with it on anything but
    "*" (it has no resource type), fails the checks above."""
    import copy
    params = COMBINATIONS[0][1]
    role = Role(params, iam)
    assert grant_problems(OPERATIONS, params, iam, role) == []
    role.policies = copy.deepcopy(role.policies)
    statements = [s for p in role.policies for s in p["policy"]["Statement"] if s.get("Sid") == "FindTaggedTargets"]
    assert len(statements) == 1 and statements[0]["Action"] == "tag:GetResources" and statements[0]["Resource"] == "*"
    statements[0]["Resource"] = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/*"
    problems = grant_problems(OPERATIONS, params, iam, role)
    assert problems == [f"tag:GetResources is denied on * tagged {{'{OWNER_TAG}': 'sub-of-alice'}}, and the gate "
                        "calls it"], problems


@pytest.mark.skipif("Lifecycle" not in DECLARED, reason="a template without the lifecycle routes")
def test_stopping_a_space_app_unconditioned_or_a_notebook_untagged_is_caught(iam):
    """The checks above fail for a role that lets DeleteApp reach any app of the domain, or stops
    notebook instances without the gate's tags."""
    import copy
    params = next(p for _, p in COMBINATIONS if studio(p) and p.get("Lifecycle") == "start,stop")
    operations = sorted(set(OPERATIONS) | {"sagemaker:DeleteApp", "sagemaker:StopNotebookInstance", "sagemaker:ListApps"})
    role = Role(params, iam)
    assert grant_problems(operations, params, iam, role) == []
    role.policies = copy.deepcopy(role.policies)
    for policy in role.policies:
        for statement in policy["policy"]["Statement"]:
            if statement.get("Sid") == "StopAppsOfOwnedSpaces":
                del statement["Condition"]
    problems = grant_problems(operations, params, iam, role)
    assert any("user profile's app" in p for p in problems), problems
    assert any("space without an owner" in p for p in problems), problems
    role.policies.append({"name": "too-wide", "policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:StopNotebookInstance", "Resource": "*"}]}})
    assert any(p.startswith("sagemaker:StopNotebookInstance is allowed on an untagged") for p in
               grant_problems(operations, params, iam, role))


@pytest.mark.parametrize("name,params", COMBINATIONS, ids=[n for n, _ in COMBINATIONS])
def test_the_role_grants_no_action_the_gate_does_not_call(name, params, iam):
    """Nothing but the gate's calls and what using its URLs takes; a wildcard only where every
    action it matches in AWS's data is part of a URL's use."""
    role = Role(params, iam)
    granted = set()
    for policy in role.policies:
        for statement in policy["policy"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement.get("Action", [])
            granted.update([actions] if isinstance(actions, str) else actions)
    in_use = {action for opener in set(OPERATIONS) & set(URL_OPENERS) if needed(opener, params)
              for action, _ in iam_sagemaker.url_use(name_of(opener), url_resource(opener, params))}
    expected = set(OPERATIONS) | in_use
    gates = [a for a in granted if a.startswith(("sagemaker:", "tag:", "pricing:"))]
    extra = set(gates) - expected
    assert not extra, f"granted but never called: {sorted(extra)}"
    assert not any("*" in a.split(":", 1)[1] for a in gates), granted
    mlflow_data = [f"sagemaker-mlflow:{a}" for a in iam_sagemaker.service_actions("sagemaker-mlflow")]
    for pattern in (a for a in granted if a.startswith("sagemaker-mlflow:")):
        matched = {a for a in mlflow_data if fnmatch.fnmatchcase(a.lower(), pattern.lower())}
        assert matched and matched <= in_use, f"{pattern} grants {sorted(matched - in_use)}, which no URL's use takes"
    assert not {a.split(":")[0] for a in granted} - {"sagemaker", "sagemaker-mlflow", "tag", "pricing", "logs", "ec2"}, \
        granted


def test_the_role_has_no_managed_policies_as_the_readme_promises(iam):
    for name, params in COMBINATIONS:
        assert Role(params, iam).managed == [], name


URL_OPENERS = {"sagemaker:CreatePresignedNotebookInstanceUrl": "notebook-instance",
               "sagemaker:CreatePresignedDomainUrl": "user-profile",
               "sagemaker:CreatePresignedMlflowTrackingServerUrl": "mlflow-tracking-server",
               "sagemaker:CreatePresignedMlflowAppUrl": "mlflow-app"}


def url_resource(action: str, params: dict) -> str:
    """What the gate presigns with `action` on in these tests: alice's target (in the last domain)."""
    kind = URL_OPENERS[action]
    return {"notebook-instance": iam_sagemaker.arn(kind, "alice-analysis"),
            "user-profile": iam_sagemaker.arn(kind, (domains(params) or [DOMAIN])[-1], "alice"),
            "mlflow-tracking-server": iam_sagemaker.arn(kind, "alice-mlflow"), "mlflow-app": APP_ARN}[kind]


def browsers(params: dict) -> tuple[list, list]:
    """(inside, outside): where a person's browser may use a URL under `params`, and where not."""
    inside = [iam_sagemaker.Source(ip="10.20.30.40")] if params.get("AllowedSourceCidrs") else []
    if params.get("SageMakerApiVpcEndpointId") or params.get("SageMakerUrlVpcEndpointIds"):
        endpoints = [v for v in params.get("SageMakerUrlVpcEndpointIds", "").split(",") if v] or [PEOPLES_ENDPOINT]
        inside += [iam_sagemaker.Source(vpce=v, ip="10.0.0.9") for v in endpoints]
    outside = [iam_sagemaker.Source(ip="198.51.100.77"), iam_sagemaker.Source(vpce="vpce-0ffffffffffffffff")]
    if not NETWORK_KEYS & set(params):
        return [iam_sagemaker.Source(ip="198.51.100.77")], []  # unrestricted: from anywhere
    return inside, outside


def use_problems(operations: list[str], params: dict, evaluator: Evaluator, role: "Role | None" = None) -> list[str]:
    """What is wrong with the role for a person using the URLs the gate makes with `operations`:
    each use allowed whole on a tagged target from where the parameters allow, every tag-conditioned
    request of it refused on an untagged target, every request refused from anywhere else, and no
    request of a use granted where the gate makes no such URL."""
    role = role or Role(params, evaluator)
    inside, outside = browsers(params)
    problems = []
    for opener in sorted(set(operations) & set(URL_OPENERS)):
        operation = name_of(opener)
        resource = url_resource(opener, params)
        use = iam_sagemaker.url_use(operation, resource)
        tagged = [{OWNER_TAG: "sub-of-alice"}] + ([] if operation == "CreatePresignedDomainUrl" else [{GROUP_TAG: "ml-team"}])
        if not needed(opener, params):
            granted = {a for a, _ in use} - set(role.refuses_in_use(operation, resource, tagged[0], inside[0]))
            if granted:
                problems.append(f"using a {operation} URL: {sorted(granted)} granted though the gate makes none")
            continue
        for tags, source in itertools.product(tagged, inside):
            refused = role.refuses_in_use(operation, resource, tags, source)
            if refused:
                problems.append(f"using a {operation} URL on {resource} tagged {tags} from {source}: "
                                f"{len(refused)} of {len(use)} requests refused, e.g. {refused[:3]}")
        conditioned = {a for a, target in use if target != "*"}
        opened = conditioned - set(role.refuses_in_use(operation, resource, {}, inside[0]))
        if opened:
            problems.append(f"using a {operation} URL: {sorted(opened)[:3]}... allowed on an untagged {resource}")
        for source in outside:
            through = {a for a, _ in use} - set(role.refuses_in_use(operation, resource, tagged[0], source))
            if through:
                problems.append(f"using a {operation} URL from {source}: {sorted(through)[:3]}... allowed")
    return problems


@pytest.mark.parametrize("name,params", COMBINATIONS, ids=[n for n, _ in COMBINATIONS])
def test_each_url_the_gate_makes_works_on_tagged_targets_from_the_allowed_networks_only(name, params, iam):
    problems = use_problems(OPERATIONS, params, iam)
    assert not problems, "\n".join(problems)


def test_the_url_uses_are_derived_from_the_gate_and_from_awss_data():
    """The MLflow UI session is every sagemaker-mlflow action of AWS's authorization data (AccessUI
    on "*", the MLflow REST API on the tracking server); the others are what AWS documents."""
    server, app = url_resource("sagemaker:CreatePresignedMlflowTrackingServerUrl", {}), APP_ARN
    session = dict(iam_sagemaker.url_use("CreatePresignedMlflowTrackingServerUrl", server))
    data = iam_sagemaker.service_actions("sagemaker-mlflow")
    assert len(session) == len(data) > 50
    assert session["sagemaker-mlflow:AccessUI"] == "*" and not data["AccessUI"]["resourceTypes"]
    assert {session[f"sagemaker-mlflow:{a}"] for a in ("SearchExperiments", "GetRun", "CreateRegisteredModel",
                                                       "LogMetric")} == {server}
    assert {data[a]["accessLevel"] for a in data} >= {"Read", "List", "Write"}  # reads and writes
    assert iam_sagemaker.url_use("CreatePresignedMlflowAppUrl", app) == [("sagemaker:CallMlflowAppApi", app)]
    notebook = url_resource("sagemaker:CreatePresignedNotebookInstanceUrl", {})
    assert iam_sagemaker.url_use("CreatePresignedNotebookInstanceUrl", notebook) == \
        [("sagemaker:CreatePresignedNotebookInstanceUrl", notebook)]
    assert {"sagemaker:CreatePresignedMlflowTrackingServerUrl", "sagemaker:CreatePresignedMlflowAppUrl"} <= set(OPERATIONS)


@pytest.mark.skipif("Mlflow" not in DECLARED, reason="a template without MLflow")
def test_a_role_without_the_mlflow_ui_grants_or_with_them_untagged_or_unrestricted_is_caught(iam):
    """The template before the MLflow UI was granted: every use of an MLflow URL refused. Then a
    grant without its tag condition, and a network Deny that leaves the UI out."""
    import copy
    params = next(p for n, p in COMBINATIONS if mlflow(p) and n.endswith("-both-vpc"))
    role = Role(params, iam)
    assert use_problems(OPERATIONS, params, iam, role) == []
    ui = ("sagemaker-mlflow:", "sagemaker:CallMlflowAppApi")

    def changed(change) -> list[str]:
        altered = copy.copy(role)
        altered.policies = copy.deepcopy(role.policies)
        for policy in altered.policies:
            for statement in policy["policy"]["Statement"]:
                change(statement)
            policy["policy"]["Statement"] = [s for s in policy["policy"]["Statement"] if s.get("Action")]
        return use_problems(OPERATIONS, params, iam, altered)

    def without_ui(statement):
        actions = statement["Action"]
        statement["Action"] = [a for a in ([actions] if isinstance(actions, str) else actions) if not a.startswith(ui)]

    problems = changed(lambda s: s["Effect"] == "Allow" and without_ui(s))
    for operation in ("CreatePresignedMlflowTrackingServerUrl", "CreatePresignedMlflowAppUrl"):
        assert any(p.startswith(f"using a {operation} URL on") and "refused" in p for p in problems), problems
    assert any("61 of 61 requests refused" in p for p in problems), problems

    def untagged(statement):
        if statement.get("Sid") in ("OpenGroupMlflowTrackingServers", "OpenGroupMlflowApps"):
            del statement["Condition"]
    problems = changed(untagged)
    assert any("allowed on an untagged " + APP_ARN in p for p in problems), problems
    assert any("allowed on an untagged arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/" in p
               for p in problems), problems

    problems = changed(lambda s: s["Effect"] == "Deny" and without_ui(s))
    assert any("CreatePresignedMlflowTrackingServerUrl URL from" in p and "allowed" in p for p in problems), problems
    assert any("CreatePresignedMlflowAppUrl URL from" in p and "allowed" in p for p in problems), problems


@pytest.mark.skipif("StudioDomainIds" not in DECLARED, reason="a template without several domains")
def test_a_studio_grant_widened_beyond_the_configured_domains_is_caught(iam):
    """IAM per configured domain only: the checks above fail for a role whose Studio
    statements reach a domain that is not configured."""
    import copy
    params = next(p for _, p in COMBINATIONS if len(domains(p)) == 2)
    role = Role(params, iam)
    assert grant_problems(OPERATIONS, params, iam, role) == []
    role.policies = copy.deepcopy(role.policies)
    for policy in role.policies:
        for statement in policy["policy"]["Statement"]:
            if statement.get("Sid") in ("ReadAndKeepTheDomainsSpaces", "OpenOwnedStudioProfiles"):
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                statement["Resource"] = [r.replace(DOMAIN, "*") for r in resources]
    problems = grant_problems(OPERATIONS, params, iam, role)
    assert any(p.startswith("sagemaker:DescribeSpace is allowed in a domain not configured") for p in problems), problems
    assert any(p.startswith("sagemaker:CreatePresignedDomainUrl is allowed in a domain not configured")
               for p in problems), problems


# --- the running-time policy: stop and keep; prices ---------------------------------------------
# Each right the policy adds, asked of the evaluator on the rendered role for the parameter sets
# that turn it on and off (the defaults: every limit 12 hours, keeping 72, prices on).

KEEP_TAG = "notebook-gate:keep-until"
KEEP = {KEEP_TAG: "2026-12-05T18:00:00Z"}
TRAINING_JOB = iam_sagemaker.arn("training-job", "alice-training")
STUDIO_ON = {"StudioDomainIds": f"{DOMAIN},{OTHER_DOMAIN}"}
NO_LIMITS = {"NotebookMaxRunHours": "0", "SpaceMaxRunHours": "0", "TrackingServerMaxRunHours": "0"}


def test_a_keep_writes_only_the_keep_tag_and_only_on_tagged_targets_and_the_domains_spaces(iam):
    role = Role(STUDIO_ON, iam)
    notebook, server = KEEP_TARGETS["notebook-instance"](DOMAIN), KEEP_TARGETS["mlflow-tracking-server"](DOMAIN)
    for target in (notebook, server):
        for tags in ({OWNER_TAG: "sub-of-alice"}, {GROUP_TAG: "ml-team"}):
            assert role.allows("sagemaker:AddTags", target, tags, writes=KEEP), (target, tags)
            # Never the tags that decide who opens what, alone or beside the keep.
            for other in ({OWNER_TAG: "sub-of-mallory"}, {GROUP_TAG: "everyone"}, {**KEEP, OWNER_TAG: "sub-of-mallory"},
                          {**KEEP, GROUP_TAG: "everyone"}, {**KEEP, "cost-center": "x"}):
                assert not role.allows("sagemaker:AddTags", target, tags, writes=other), (target, other)
        assert not role.allows("sagemaker:AddTags", target, {}, writes=KEEP), f"untagged {target}"
        assert not role.allows("sagemaker:AddTags", target, {"team": "x"}, writes=KEEP), f"foreign-tagged {target}"
    # Spaces carry no gate tag: any space of a configured domain (the gate checks its owner), no other.
    for domain in (DOMAIN, OTHER_DOMAIN):
        space_arn = KEEP_TARGETS["space"](domain)
        assert role.allows("sagemaker:AddTags", space_arn, {}, writes=KEEP), space_arn
        assert not role.allows("sagemaker:AddTags", space_arn, {}, writes={**KEEP, OWNER_TAG: "sub-of-mallory"})
    assert not role.allows("sagemaker:AddTags", KEEP_TARGETS["space"]("d-other99"), {}, writes=KEEP)
    # Not on what the gate does not hand out, even tagged: a training job, a user profile, an app.
    for other in (TRAINING_JOB, iam_sagemaker.arn("user-profile", DOMAIN, "alice"),
                  iam_sagemaker.arn("app", DOMAIN, "alice-private", "JupyterLab", "default")):
        assert not role.allows("sagemaker:AddTags", other, {OWNER_TAG: "sub-of-alice"}, writes=KEEP), other


@pytest.mark.parametrize("params, kept", [
    ({**STUDIO_ON, "MaxKeepHours": "0"}, set()),
    ({**STUDIO_ON, "NotebookMaxRunHours": "0"}, {"space", "mlflow-tracking-server"}),
    ({**STUDIO_ON, "SpaceMaxRunHours": "0", "TrackingServerMaxRunHours": "0"}, {"notebook-instance"}),
    ({**STUDIO_ON, "Mlflow": "false"}, {"notebook-instance", "space"}),
    ({"TrackingServerMaxRunHours": "0"}, {"notebook-instance"}),
], ids=["keeping-off", "notebooks-unlimited", "only-notebooks-limited", "mlflow-off", "no-studio"])
def test_only_the_kinds_with_a_limit_may_be_kept_and_only_with_keeping_on(params, kept, iam):
    role = Role(params, iam)
    tags = {OWNER_TAG: "sub-of-alice"}
    allowed = {kind for kind, target in KEEP_TARGETS.items()
               if role.allows("sagemaker:AddTags", target(DOMAIN), tags if kind != "space" else {}, writes=KEEP)}
    assert allowed == kept


@pytest.mark.parametrize("params, stops", [
    ({}, True),
    ({"TrackingServerMaxRunHours": "0"}, False),
    ({"Mlflow": "false"}, False),
    ({"Lifecycle": "none", **NO_LIMITS, "TrackingServerMaxRunHours": "24"}, True),
], ids=["defaults", "unlimited", "mlflow-off", "lifecycle-none"])
def test_the_policy_stops_tracking_servers_only_tagged_and_only_with_a_limit(params, stops, iam):
    role = Role(params, iam)
    server = KEEP_TARGETS["mlflow-tracking-server"](DOMAIN)
    for tags in ({OWNER_TAG: "sub-of-alice"}, {GROUP_TAG: "ml-team"}):
        assert role.allows("sagemaker:StopMlflowTrackingServer", server, tags) is stops, tags
    assert not role.allows("sagemaker:StopMlflowTrackingServer", server, {})
    assert not role.allows("sagemaker:StopMlflowTrackingServer", server, {"team": "x"})


@pytest.mark.parametrize("lifecycle, hours, stops", [
    ("none", "12", True), ("none", "0", False), ("start", "1", True), ("start", "0", False), ("stop", "0", True)])
def test_notebook_instances_stop_with_a_limit_whatever_lifecycle_says(lifecycle, hours, stops, iam):
    role = Role({"Lifecycle": lifecycle, "NotebookMaxRunHours": hours}, iam)
    notebook = KEEP_TARGETS["notebook-instance"](DOMAIN)
    for tags in ({OWNER_TAG: "sub-of-alice"}, {GROUP_TAG: "ml-team"}):
        assert role.allows("sagemaker:StopNotebookInstance", notebook, tags) is stops, tags
    assert not role.allows("sagemaker:StopNotebookInstance", notebook, {})


@pytest.mark.parametrize("lifecycle, hours, stops", [("none", "12", True), ("none", "0", False), ("stop", "0", True)])
def test_space_apps_stop_with_a_limit_whatever_lifecycle_says_and_only_owned_ones(lifecycle, hours, stops, iam):
    role = Role({"StudioDomainId": DOMAIN, "Lifecycle": lifecycle, "SpaceMaxRunHours": hours}, iam)
    owned = space(DOMAIN, "alice-private", "alice")
    app = iam_sagemaker.arn("app", DOMAIN, "alice-private", "JupyterLab", "default")
    assert role.allows("sagemaker:DeleteApp", app, {}, space=owned) is stops
    assert not role.allows("sagemaker:DeleteApp", app, {}, space=space(DOMAIN, "alice-private", None))
    other = space("d-other99", "alice-private", "alice")
    assert not role.allows("sagemaker:DeleteApp", iam_sagemaker.arn("app", "d-other99", "alice-private", "JupyterLab",
                                                                    "default"), {}, space=other)


@pytest.mark.parametrize("shown", ["true", "false"])
def test_prices_are_read_only_when_shown(shown, iam):
    assert Role({"ShowPrices": shown}, iam).allows("pricing:GetProducts", "*", None) is (shown == "true")


def test_the_role_never_publishes_to_sns(iam):
    """The PolicyStoppedSomething alarm notifies; the function has no SNS right in any set."""
    topic = "arn:aws:sns:us-east-1:123456789012:notebook-gate-oncall"
    for params in ({}, {**STUDIO_ON, "AlarmTopicArn": topic}):
        assert not Role(params, iam).allows("sns:Publish", topic, None), params


def test_a_keep_widened_to_any_tag_key_is_caught(iam):
    """The checks above fail for a role whose keep lets any tag key be written."""
    import copy
    role = Role(STUDIO_ON, iam)
    notebook = KEEP_TARGETS["notebook-instance"](DOMAIN)
    assert not role.allows("sagemaker:AddTags", notebook, {OWNER_TAG: "sub-of-alice"}, writes={OWNER_TAG: "x"})
    role.policies = copy.deepcopy(role.policies)
    for policy in role.policies:
        for statement in policy["policy"]["Statement"]:
            statement.get("Condition", {}).pop("ForAllValues:StringEquals", None)
    assert role.allows("sagemaker:AddTags", notebook, {OWNER_TAG: "sub-of-alice"}, writes={OWNER_TAG: "x"})
