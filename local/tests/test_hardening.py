"""What a real account does to the gate, end to end through the binary, the local API Gateway and
the stand-in under IAM: two tabs racing to stop one notebook, a /launch link that must not start
anything, a notebook on a platform SageMaker retired, and a token of another app client."""

from __future__ import annotations

import json
import time

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from local.stack import OWNER
from local.tests.conftest import module_stack
from local.tests.test_lifecycle import calls, clear, post

stack = module_stack("stack", "--auto-start", "--notebook-stop-seconds", "5", "--notebook-start-seconds", "5")
private_stack = module_stack("private_stack", "--private")


def admin(stack):
    return boto3.client("sagemaker", endpoint_url=stack.state["moto"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1}))


def emf_outcomes(stack) -> list[str]:
    lines = [json.loads(line) for line in stack.log.read_text().splitlines() if '"_aws"' in line]
    return [line["Outcome"] for line in lines]


def test_a_stop_that_another_tab_won_is_already_stopping_and_nobody_is_paged(stack):
    """Lambda runs two tabs' requests in two instances at once; here the stand-in plays the other
    tab: it stops the notebook itself just before the gate's stop arrives, which SageMaker then
    refuses (`Status (Stopping) not in ([InService])`)."""
    token = stack.token("alice")
    admin(stack).create_notebook_instance(NotebookInstanceName="alice-race", InstanceType="ml.t3.medium",
                                          RoleArn="arn:aws:iam::123456789012:role/notebook-demo",
                                          Tags=[{"Key": OWNER, "Value": stack.state["subs"]["alice"]}])
    clear(stack)
    stack.control("POST", "/_race", {"operation": "StopNotebookInstance", "name": "alice-race"})
    status, _, body = post(stack, "/notebook-instances/alice-race/stop", token)
    assert status == 202, body
    assert json.loads(body)["result"] == "already stopping"
    # The refused stop reached SageMaker; a fresh read said where it stands.
    assert len(calls(stack, "StopNotebookInstance")) == 1
    assert len(calls(stack, "DescribeNotebookInstance")) == 2
    assert emf_outcomes(stack)[-1] == "changed"
    assert "upstream_error" not in emf_outcomes(stack)


def test_a_space_stop_that_another_tab_won_is_already_stopping(stack):
    token = stack.token("alice")
    stack.control("POST", "/_race", {"operation": "DeleteApp", "name": "alice-private"})
    status, _, body = post(stack, "/studio/spaces/alice-private/stop", token)
    assert status == 202, body
    assert json.loads(body)["result"] == "already stopping"
    assert "upstream_error" not in emf_outcomes(stack)


def test_a_launch_link_never_starts_a_stopped_notebook_even_with_auto_start(stack):
    token = stack.token("alice")
    clear(stack)
    status, _, body = stack.get(f"/launch/notebook-instances/alice-gpu?access_token={token}", accept="text/html")
    assert status == 409, body
    assert "It is not running" in body
    assert calls(stack, "StartNotebookInstance") == []
    # The portal's way, the token in the header, starts it.
    status, _, body = stack.get("/notebook-instances/alice-gpu", token)
    assert status == 202, body
    assert len(calls(stack, "StartNotebookInstance")) == 1


def test_a_notebook_on_a_retired_platform_is_shown_as_such_and_never_started(stack):
    sagemaker = admin(stack)
    alice = stack.state["subs"]["alice"]
    # SageMaker refuses to create one on Amazon Linux 2 now; the stand-in says so too.
    with pytest.raises(botocore.exceptions.ClientError, match="no longer supported"):
        sagemaker.create_notebook_instance(NotebookInstanceName="alice-al2-new", InstanceType="ml.t3.medium",
                                           RoleArn="arn:aws:iam::123456789012:role/notebook-demo",
                                           PlatformIdentifier="notebook-al2-v2")
    sagemaker.create_notebook_instance(NotebookInstanceName="alice-legacy", InstanceType="ml.t3.medium",
                                       RoleArn="arn:aws:iam::123456789012:role/notebook-demo",
                                       Tags=[{"Key": OWNER, "Value": alice}])
    sagemaker.stop_notebook_instance(NotebookInstanceName="alice-legacy")
    stack.control("POST", "/_platform", {"notebookInstance": "alice-legacy", "platform": "notebook-al2-v2"})
    with pytest.raises(botocore.exceptions.ClientError, match="can no longer be started"):
        sagemaker.start_notebook_instance(NotebookInstanceName="alice-legacy")
    # The stop needs a moment to settle in the stand-in.
    token = stack.token("alice")
    for _ in range(100):
        listed = {n["name"]: n for n in json.loads(stack.get("/targets", token)[2])["notebookInstances"]}
        if listed["alice-legacy"]["status"] == "Stopped":
            break
        time.sleep(0.1)
    legacy = listed["alice-legacy"]
    assert (legacy["platform"], legacy["platformRetired"]) == ("notebook-al2-v2", True), legacy
    assert "start" not in legacy
    clear(stack)
    for status, _, body in [post(stack, "/notebook-instances/alice-legacy/start", token),
                            stack.get("/notebook-instances/alice-legacy", token)]:
        assert status == 409, body
        assert json.loads(body)["error"]["code"] == "platform_retired"
        assert "notebook-al2023-v1" in json.loads(body)["error"]["message"]
    assert calls(stack, "StartNotebookInstance") == []


def test_a_token_another_app_client_was_issued_is_refused_by_the_gate_on_the_private_api(private_stack):
    """The private REST API's Cognito authorizer checks no audience; the function does."""
    good = private_stack.token("alice")
    foreign = private_stack.mint("alice", client_id="another-apps-client")
    status, _, body = private_stack.get("/targets", good)
    assert status == 200, body
    status, _, body = private_stack.get("/targets", foreign)
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "wrong_client"


def test_a_script_can_wait_for_a_start_without_minting_a_url(stack):
    """`GET .../status` through the HTTP API: where the notebook stands, and no presign."""
    token = stack.token("alice")
    clear(stack)
    status, _, body = stack.get("/notebook-instances/alice-analysis/status", token)
    assert status == 200, body
    assert json.loads(body)["status"] == "InService"
    assert sorted(c["operation"] for c in calls(stack)) == ["DescribeNotebookInstance", "ListTags"]
    assert stack.get("/notebook-instances/bob-reports/status", token)[0] == 404
