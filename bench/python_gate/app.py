"""The usual alternative, for the benchmark: notebook-gate's open and list routes as a straightforward
Python + boto3 Lambda function, written the way a careful Python developer would: the client is
created once at import, nothing is slowed on purpose, and each SageMaker call is made when the one
before it has answered (no threads, no asyncio): that is the peer the gate's concurrent reads are
measured against (docs/performance.md).

For the opens it makes the same SageMaker calls as the gate, so only the order differs; /targets
is the design the gate had before it asked the Resource Groups Tagging API, and the one most
people write first (bench/scale.py measures it against the gate's at account scale):
- /notebook-instances/{name}: DescribeNotebookInstance, ListTags, then the presign (302).
- /studio[?space=]: ListTags on the profile, DescribeSpace, then the presign (302); the profile's
  ARN is built from the domain's, read once per process (DescribeDomain), as the gate does.
- /targets: ListNotebookInstances (pages of 100), one ListTags per instance in the account, then
  the profile's ListTags, ListSpaces and ListApps (JSON).
"""

import json
import os
import re

import boto3

OWNER_TAG_KEY = os.environ.get("OWNER_TAG_KEY", "notebook-gate:owner")
GROUP_TAG_KEY = os.environ.get("GROUP_TAG_KEY", "notebook-gate:group")
SESSION_SECONDS = int(os.environ.get("SESSION_SECONDS", "43200"))
DOMAIN_ID = os.environ.get("STUDIO_DOMAIN_ID", "")
NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

sagemaker = boto3.client("sagemaker")
_domain_arn = {}


def error(status, code):
    body = json.dumps({"error": {"code": code}})
    return {"statusCode": status, "headers": {**HEADERS, "Content-Type": "application/json"}, "body": body}


def redirect(url):
    return {"statusCode": 302, "headers": {**HEADERS, "Location": url}, "body": ""}


def owns(tags, owner):
    return any(t["Key"] == OWNER_TAG_KEY and t["Value"] == owner for t in tags)


def may_open(tags, owner, groups):
    return owns(tags, owner) or any(t["Key"] == GROUP_TAG_KEY and t["Value"] in groups for t in tags)


def profile_arn(profile):
    if DOMAIN_ID not in _domain_arn:
        _domain_arn[DOMAIN_ID] = sagemaker.describe_domain(DomainId=DOMAIN_ID)["DomainArn"]
    prefix = _domain_arn[DOMAIN_ID].rsplit(":domain/", 1)[0]
    return f"{prefix}:user-profile/{DOMAIN_ID}/{profile}"


def handler(event, context):
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    owner = claims.get("sub")
    if not owner:
        return error(401, "unauthenticated")
    groups = claims.get("cognito:groups", "").strip("[]").replace(",", " ").split()
    path = event.get("rawPath", "")
    try:
        if path.startswith("/notebook-instances/"):
            return open_notebook(path.rsplit("/", 1)[-1], owner, groups)
        if path == "/studio":
            space = (event.get("queryStringParameters") or {}).get("space")
            return open_studio(claims.get("username", ""), space, owner)
        if path == "/targets":
            return list_targets(claims.get("username", ""), owner, groups)
        return error(404, "not_found")
    except sagemaker.exceptions.ClientError as e:
        if "RecordNotFound" in str(e) or "ResourceNotFound" in str(e):
            return error(404, "not_found")
        return error(502, "upstream_error")


def open_notebook(name, owner, groups):
    if not NAME.match(name):
        return error(400, "invalid_request")
    instance = sagemaker.describe_notebook_instance(NotebookInstanceName=name)
    tags = sagemaker.list_tags(ResourceArn=instance["NotebookInstanceArn"])["Tags"]
    if not may_open(tags, owner, groups):
        return error(404, "not_found")
    if instance["NotebookInstanceStatus"] != "InService":
        return error(409, "not_running")
    url = sagemaker.create_presigned_notebook_instance_url(
        NotebookInstanceName=name, SessionExpirationDurationInSeconds=SESSION_SECONDS
    )["AuthorizedUrl"]
    return redirect(url)


def open_studio(profile, space, owner):
    if not DOMAIN_ID or not NAME.match(profile) or (space is not None and not NAME.match(space)):
        return error(404, "not_found")
    if not owns(sagemaker.list_tags(ResourceArn=profile_arn(profile))["Tags"], owner):
        return error(404, "not_found")
    request = {"DomainId": DOMAIN_ID, "UserProfileName": profile, "SessionExpirationDurationInSeconds": SESSION_SECONDS}
    if space is not None:
        described = sagemaker.describe_space(DomainId=DOMAIN_ID, SpaceName=space)
        shared = (described.get("SpaceSharingSettings") or {}).get("SharingType") == "Shared"
        if not shared and (described.get("OwnershipSettings") or {}).get("OwnerUserProfileName") != profile:
            return error(404, "not_found")
        request["SpaceName"] = space
    return redirect(sagemaker.create_presigned_domain_url(**request)["AuthorizedUrl"])


def list_targets(profile, owner, groups):
    notebooks = []
    for page in sagemaker.get_paginator("list_notebook_instances").paginate(PaginationConfig={"PageSize": 100}):
        for instance in page["NotebookInstances"]:
            tags = sagemaker.list_tags(ResourceArn=instance["NotebookInstanceArn"])["Tags"]
            if may_open(tags, owner, groups):
                notebooks.append({"name": instance["NotebookInstanceName"],
                                  "status": instance["NotebookInstanceStatus"]})
    studio = None
    if DOMAIN_ID and NAME.match(profile) and owns(sagemaker.list_tags(ResourceArn=profile_arn(profile))["Tags"], owner):
        spaces = sagemaker.list_spaces(DomainIdEquals=DOMAIN_ID)["Spaces"]
        apps = sagemaker.list_apps(DomainIdEquals=DOMAIN_ID)["Apps"]
        running = {a.get("SpaceName") for a in apps if a.get("Status") in ("InService", "Pending")}
        studio = {"domainId": DOMAIN_ID, "userProfile": profile, "spaces": [
            {"name": s["SpaceName"], "running": s["SpaceName"] in running}
            for s in spaces
            if (s.get("SpaceSharingSettingsSummary") or {}).get("SharingType") == "Shared"
            or (s.get("OwnershipSettingsSummary") or {}).get("OwnerUserProfileName") == profile
        ]}
    body = json.dumps({"notebookInstances": notebooks, "studio": studio})
    return {"statusCode": 200, "headers": {**HEADERS, "Content-Type": "application/json"}, "body": body}
