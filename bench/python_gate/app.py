"""The usual alternative, for the benchmark: notebook-gate's notebook route as a straightforward
Python + boto3 Lambda function (claims -> describe -> tags -> presign -> 302), written the way a
careful team would: the client is created once at import, nothing is slowed on purpose."""

import json
import os
import re

import boto3

OWNER_TAG_KEY = os.environ.get("OWNER_TAG_KEY", "notebook-gate:owner")
GROUP_TAG_KEY = os.environ.get("GROUP_TAG_KEY", "notebook-gate:group")
SESSION_SECONDS = int(os.environ.get("SESSION_SECONDS", "43200"))
NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

sagemaker = boto3.client("sagemaker")


def error(status, code):
    body = json.dumps({"error": {"code": code}})
    return {"statusCode": status, "headers": {**HEADERS, "Content-Type": "application/json"}, "body": body}


def handler(event, context):
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    owner = claims.get("sub")
    if not owner:
        return error(401, "unauthenticated")
    groups = claims.get("cognito:groups", "").strip("[]").replace(",", " ").split()
    name = event.get("rawPath", "").rsplit("/", 1)[-1]
    if not NAME.match(name):
        return error(400, "invalid_request")
    try:
        instance = sagemaker.describe_notebook_instance(NotebookInstanceName=name)
    except sagemaker.exceptions.ClientError as e:
        if "RecordNotFound" in str(e):
            return error(404, "not_found")
        return error(502, "upstream_error")
    tags = sagemaker.list_tags(ResourceArn=instance["NotebookInstanceArn"])["Tags"]
    mine = any(
        (t["Key"] == OWNER_TAG_KEY and t["Value"] == owner) or (t["Key"] == GROUP_TAG_KEY and t["Value"] in groups)
        for t in tags
    )
    if not mine:
        return error(404, "not_found")
    if instance["NotebookInstanceStatus"] != "InService":
        return error(409, "not_running")
    url = sagemaker.create_presigned_notebook_instance_url(
        NotebookInstanceName=name, SessionExpirationDurationInSeconds=SESSION_SECONDS
    )["AuthorizedUrl"]
    return {"statusCode": 302, "headers": {**HEADERS, "Location": url}, "body": ""}
