"""End to end under the deployed IAM policy: a whole local stack whose stand-in evaluates every
SageMaker call of the function, and every use of a URL it made, against the function role that
template.yaml gives these parameters (local/iam/). Where a URL may be used from is told to the
stand-in's page by the local-only X-Local-Source-Ip / X-Local-Source-Vpce headers."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from local.iam.stack import FUNCTION_ACCESS_KEY_ID
from local.tests.conftest import module_stack, open_page

PEOPLE = "10.0.0.0/8"
EGRESS = "203.0.113.10/32"
VPC = ("--param", "SubnetIds=subnet-0abc1234", "--param", "SecurityGroupIds=sg-0abc1234")
API_ENDPOINT = "vpce-0a1a1a1a1a1a1a1a1"
NOTEBOOK_ENDPOINT, STUDIO_ENDPOINT = "vpce-0b2b2b2b2b2b2b2b2", "vpce-0c3c3c3c3c3c3c3c3"

# People's CIDRs (127.0.0.0/8 too: the local API Gateway's caller is this machine, and the gate
# checks the caller's address itself) and the function's NAT egress, the function in a VPC.
cidr_stack = module_stack("cidr_stack", "--param", f"AllowedSourceCidrs=127.0.0.0/8,{PEOPLE}",
                          "--param", f"FunctionEgressCidrs={EGRESS}", *VPC)
# The function calls through the SageMaker API endpoint; people use URLs through theirs.
# People may only stop (Lifecycle=stop), and nothing auto-starts: the role cannot start.
endpoint_stack = module_stack("endpoint_stack", "--param", f"SageMakerApiVpcEndpointId={API_ENDPOINT}",
                              "--param", f"SageMakerUrlVpcEndpointIds={NOTEBOOK_ENDPOINT},{STUDIO_ENDPOINT}", *VPC,
                              "--param", "Lifecycle=stop")


def fresh_url(stack, path="/notebook-instances/alice-analysis", user="alice") -> str:
    status, _, body = stack.get(path, stack.token(user))
    assert status == 200, body
    return json.loads(body)["url"]


def as_function(stack):
    """SageMaker as the function reaches it: its own credentials, so IAM evaluates each call."""
    return boto3.client("sagemaker", endpoint_url=stack.state["moto"], region_name="us-east-1",
                        aws_access_key_id=FUNCTION_ACCESS_KEY_ID, aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def access_denied(call, **kwargs) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    return caught.value.response["Error"]["Message"]


INSUFFICIENT = (403, {"refused": "insufficient-permissions", "message": "Auth token containing insufficient permissions"})


def test_the_stacks_run_under_the_rendered_policy(cidr_stack):
    assert cidr_stack.state["iam"]["enforced"] is True
    assert cidr_stack.state["iam"]["functionSource"] == {"ip": "203.0.113.10"}
    settings = cidr_stack.control("GET", "/_iam")
    assert settings["enabled"] and settings["accessKeyId"] == FUNCTION_ACCESS_KEY_ID
    granted = {a for p in settings["policies"] for s in p["policy"]["Statement"]
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "sagemaker:CreatePresignedNotebookInstanceUrl" in granted


def test_with_source_cidrs_a_url_opens_inside_the_range_and_not_outside(cidr_stack):
    cidr_stack.control("DELETE", "/_calls")
    url = fresh_url(cidr_stack)
    # The function's own presign passed IAM from its egress address.
    calls = cidr_stack.control("GET", "/_calls")
    assert [c["iam"] for c in calls if c["operation"] == "CreatePresignedNotebookInstanceUrl"] == ["allowed"]
    assert open_page(url, **{"X-Local-Source-Ip": "192.0.2.44"}) == INSUFFICIENT
    assert open_page(url, **{"X-Local-Source-Vpce": NOTEBOOK_ENDPOINT}) == INSUFFICIENT
    status, page = open_page(url, **{"X-Local-Source-Ip": "10.20.30.40"})
    assert status == 200 and page["opened"]["name"] == "alice-analysis"

    studio = fresh_url(cidr_stack, "/studio")
    assert open_page(studio, **{"X-Local-Source-Ip": "198.51.100.9"}) == INSUFFICIENT
    assert open_page(studio, **{"X-Local-Source-Ip": "10.1.1.1"})[1]["opened"]["profile"] == "alice"


def test_with_vpc_endpoints_a_url_opens_through_them_and_not_from_the_internet(endpoint_stack):
    assert endpoint_stack.state["iam"]["functionSource"] == {"vpce": API_ENDPOINT}
    url = fresh_url(endpoint_stack)
    assert open_page(url, **{"X-Local-Source-Ip": "198.51.100.9"}) == INSUFFICIENT
    assert open_page(url) == INSUFFICIENT  # this machine, no endpoint: the internet
    assert open_page(url, **{"X-Local-Source-Vpce": "vpce-0ffffffffffffffff"}) == INSUFFICIENT
    status, page = open_page(url, **{"X-Local-Source-Vpce": NOTEBOOK_ENDPOINT, "X-Local-Source-Ip": "10.0.1.5"})
    assert status == 200 and page["opened"]["name"] == "alice-analysis"

    studio = fresh_url(endpoint_stack, "/studio", user="bob")
    assert open_page(studio, **{"X-Local-Source-Ip": "198.51.100.9"}) == INSUFFICIENT
    assert open_page(studio, **{"X-Local-Source-Vpce": STUDIO_ENDPOINT})[1]["opened"]["profile"] == "bob"


def test_untagged_and_foreign_resources_cannot_be_presigned_whatever_the_gate_does(endpoint_stack):
    """The gate never asks for these; IAM refuses them anyway, called as the function would."""
    sm = as_function(endpoint_stack)
    message = access_denied(sm.create_presigned_notebook_instance_url, NotebookInstanceName="untagged-scratch")
    assert message.startswith("User: arn:aws:sts::123456789012:assumed-role/")
    assert message.endswith("/notebook-gate is not authorized to perform: sagemaker:CreatePresignedNotebookInstanceUrl"
                            " on resource: arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/untagged-scratch"
                            " because no identity-based policy allows the sagemaker:CreatePresignedNotebookInstanceUrl"
                            " action")
    # A profile of another domain, tagged for alice: the role opens profiles of its own domain only.
    admin = boto3.client("sagemaker", endpoint_url=endpoint_stack.state["moto"], region_name="us-east-1",
                         aws_access_key_id="testing", aws_secret_access_key="testing")
    other = admin.create_domain(DomainName="other", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": "arn:aws:iam::123456789012:role/x"},
                                SubnetIds=["subnet-1"], VpcId="vpc-1")["DomainArn"].rsplit("/", 1)[1]
    admin.create_user_profile(DomainId=other, UserProfileName="alice",
                              Tags=[{"Key": "notebook-gate:owner", "Value": endpoint_stack.state["subs"]["alice"]}])
    access_denied(sm.create_presigned_domain_url, DomainId=other, UserProfileName="alice")
    # Starting needs AutoStart or Lifecycle with start, which this stack has neither of.
    access_denied(sm.start_notebook_instance, NotebookInstanceName="alice-gpu")
    # Stopping is granted, on tagged notebook instances only.
    access_denied(sm.stop_notebook_instance, NotebookInstanceName="untagged-scratch")
    # And the same calls on what the gate may open pass (through the endpoint the function uses).
    assert sm.create_presigned_notebook_instance_url(NotebookInstanceName="alice-analysis")["AuthorizedUrl"]


def test_when_iam_refuses_the_function_the_caller_gets_502_and_the_log_names_the_call(cidr_stack):
    settings = cidr_stack.control("GET", "/_iam")
    moved = {k: settings[k] for k in ("accessKeyId", "roleArn", "policies")}
    try:
        # The NAT gateway's address changed and nobody told the template: SageMaker refuses.
        cidr_stack.control("POST", "/_iam", {**moved, "source": {"ip": "198.51.100.99"}})
        status, _, body = cidr_stack.get("/notebook-instances/alice-analysis", cidr_stack.token("alice"))
        assert status == 502, body
        assert json.loads(body)["error"]["code"] == "upstream_error"
        assert "AccessDenied" not in body and "arn:" not in body
    finally:
        cidr_stack.control("POST", "/_iam", {**moved, "source": settings["source"]})
    log = cidr_stack.log.read_text()
    denied = [line for line in log.splitlines() if "AccessDeniedException" in line]
    assert denied and "CreatePresignedNotebookInstanceUrl" in denied[-1]
    assert fresh_url(cidr_stack)  # and with the right address it works again


def test_egress_cidrs_alone_refuse_a_function_that_calls_through_a_private_dns_endpoint(start_stack):
    """A VPC with a sagemaker.api interface endpoint whose private DNS is on sends the function's
    calls through it, with no aws:SourceIp: FunctionEgressCidrs alone then denies its presign,
    as the parameter's description warns. The open is a 502 and the log names the denied action."""
    stack = start_stack("--param", f"AllowedSourceCidrs=127.0.0.0/8,{PEOPLE}", "--param", f"FunctionEgressCidrs={EGRESS}",
                        *VPC, "--function-vpce", API_ENDPOINT)
    assert stack.state["iam"]["functionSource"] == {"vpce": API_ENDPOINT}
    status, _, body = stack.get("/notebook-instances/alice-analysis", stack.token("alice"))
    assert status == 502, body
    assert json.loads(body)["error"]["code"] == "upstream_error"
    assert "denied sagemaker:CreatePresignedNotebookInstanceUrl" in stack.log.read_text()


def test_targets_finds_the_callers_resources_through_the_tagging_api_under_the_role(cidr_stack):
    """GET /targets starts from tag:GetResources, which the role grants on "*" (it takes no
    resource), and no longer lists every notebook instance or MLflow resource."""
    cidr_stack.control("DELETE", "/_calls")
    status, _, body = cidr_stack.get("/targets", cidr_stack.token("alice"))
    assert status == 200, body
    calls = cidr_stack.control("GET", "/_calls")
    finds = [c for c in calls if c["operation"] == "GetResources"]
    assert finds and {(c["service"], c["iam"]) for c in finds} == {("tagging", "allowed")}
    assert not [c for c in calls if c["operation"] in ("ListNotebookInstances", "ListMlflowTrackingServers",
                                                       "ListMlflowApps")]
    assert "alice-analysis" in body


def test_a_role_without_tag_get_resources_fails_targets_and_the_log_names_it(cidr_stack):
    settings = cidr_stack.control("GET", "/_iam")
    kept = {k: settings[k] for k in ("accessKeyId", "roleArn", "policies", "source")}
    without = [{**p, "policy": {**p["policy"], "Statement": [s for s in p["policy"]["Statement"]
                                                             if s.get("Sid") != "FindTaggedTargets"]}}
               for p in settings["policies"]]
    assert without != settings["policies"]  # the template's statement is the one taken away
    try:
        cidr_stack.control("POST", "/_iam", {**kept, "policies": without})
        status, _, body = cidr_stack.get("/targets", cidr_stack.token("alice"))
        assert status == 502, body
        assert json.loads(body)["error"]["code"] == "upstream_error"
        # Opening still works: it never asks the Tagging API.
        assert fresh_url(cidr_stack)
    finally:
        cidr_stack.control("POST", "/_iam", kept)
    assert "denied tag:GetResources" in cidr_stack.log.read_text()
    assert cidr_stack.get("/targets", cidr_stack.token("alice"))[0] == 200


def test_the_role_writes_the_keep_tag_on_tagged_notebooks_only_and_no_other_tag(endpoint_stack):
    """A keep's AddTags under the rendered role, evaluated by the stand-in with the request's tag
    keys: the keep tag on a tagged notebook instance passes; the owner tag, or the keep tag on an
    untagged one, is refused whatever the gate does."""
    sm = as_function(endpoint_stack)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/{}"
    keep = [{"Key": "notebook-gate:keep-until", "Value": "2030-01-01T00:00:00Z"}]
    sm.add_tags(ResourceArn=arn.format("alice-analysis"), Tags=keep)
    tags = sm.list_tags(ResourceArn=arn.format("alice-analysis"))["Tags"]
    assert {"Key": "notebook-gate:keep-until", "Value": "2030-01-01T00:00:00Z"} in tags
    message = access_denied(sm.add_tags, ResourceArn=arn.format("alice-analysis"),
                            Tags=[{"Key": "notebook-gate:owner", "Value": "sub-of-mallory"}])
    assert "sagemaker:AddTags" in message
    access_denied(sm.add_tags, ResourceArn=arn.format("alice-analysis"),
                  Tags=[*keep, {"Key": "notebook-gate:group", "Value": "everyone"}])
    access_denied(sm.add_tags, ResourceArn=arn.format("untagged-scratch"), Tags=keep)
    # And the policy's stop: granted on tagged notebook instances (Lifecycle=stop here), not untagged.
    access_denied(sm.stop_notebook_instance, NotebookInstanceName="untagged-scratch")
