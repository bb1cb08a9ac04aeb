"""The stand-in's Resource Groups Tagging API GetResources over HTTP with boto3, as the gate's
GET /targets calls it: AWS's answer shape, paging (every resource exactly once, the last token
""), tag and resource type filters over every kind of resource the stand-in keeps, the refusals
of bad input, the index's propagation delay on the stand-in's clock, faults, latency, the call
log, and IAM (tag:GetResources takes only "*")."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from local.iam.stack import FUNCTION_ACCESS_KEY_ID
from local.stack import client

ROLE = "arn:aws:iam::123456789012:role/test"
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:"
OWNER, GROUP = "notebook-gate:owner", "notebook-gate:group"
GATE_TYPES = ["sagemaker:notebook-instance", "sagemaker:mlflow-tracking-server", "sagemaker:mlflow-app"]


@pytest.fixture(scope="module")
def sm(standin):
    return client("sagemaker", standin[0], validate=False)


@pytest.fixture(scope="module")
def tagging(standin):
    return client("resourcegroupstaggingapi", standin[0], validate=False)


def control(page: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(page + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def tags(**pairs) -> list[dict]:
    return [{"Key": k.replace("__", ":"), "Value": v} for k, v in pairs.items()]


def notebook(sm, name: str, *tag_list) -> str:
    sm.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE,
                                Tags=list(tag_list))
    return f"{ACCOUNT_ARN}notebook-instance/{name}"


def tracking_server(sm, name: str, *tag_list) -> str:
    return sm.create_mlflow_tracking_server(TrackingServerName=name, ArtifactStoreUri="s3://bucket/mlflow",
                                            RoleArn=ROLE, Tags=list(tag_list))["TrackingServerArn"]


def mlflow_app(sm, name: str, *tag_list) -> str:
    return sm.create_mlflow_app(Name=name, ArtifactStoreUri="s3://bucket/apps", RoleArn=ROLE, Tags=list(tag_list))["Arn"]


def owned(owner: str) -> dict:
    return {"Key": OWNER, "Value": owner}


def group(name: str) -> dict:
    return {"Key": GROUP, "Value": name}


def found(tagging, **request) -> list[str]:
    """Every ARN GetResources gives for `request`, over all its pages."""
    arns, token = [], ""
    for _ in range(1000):
        page = tagging.get_resources(**request, **({"PaginationToken": token} if token else {}))
        arns += [m["ResourceARN"] for m in page["ResourceTagMappingList"]]
        token = page["PaginationToken"]
        if not token:
            return arns
    raise AssertionError("GetResources never stopped paging")


def error_of(call, **kwargs) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return {**response["Error"], "status": response["ResponseMetadata"]["HTTPStatusCode"],
            "type": response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype")}


def test_the_answer_has_awss_shape_and_an_empty_token_on_the_last_page(sm, tagging):
    arn = notebook(sm, "shape-nb", owned("sub-shape"), group("shape-team"))
    raw = {}
    def keep(response_dict, **_):
        raw.update(json.loads(response_dict["body"]))

    tagging.meta.events.register("before-parse.*.GetResources", keep)
    try:
        answer = tagging.get_resources(TagFilters=[{"Key": OWNER, "Values": ["sub-shape"]}], ResourcesPerPage=100)
    finally:
        tagging.meta.events.unregister("before-parse.*.GetResources", keep)
    assert raw == {"ResourceTagMappingList": [{"ResourceARN": arn, "Tags": [
        {"Key": OWNER, "Value": "sub-shape"}, {"Key": GROUP, "Value": "shape-team"}]}], "PaginationToken": ""}
    assert answer["PaginationToken"] == ""


def test_250_resources_page_at_100_each_exactly_once(sm, tagging, standin):
    """Notebook instances, tracking servers and MLflow apps of one owner, at 100 a page: three
    pages (100, 100, 50), every resource once; without ResourcesPerPage, AWS's 50 a page."""
    created = [notebook(sm, f"page-nb-{i:03d}", owned("sub-pager")) for i in range(200)]
    created += [tracking_server(sm, f"page-ts-{i:02d}", owned("sub-pager")) for i in range(25)]
    created += [mlflow_app(sm, f"page-app-{i:02d}", owned("sub-pager")) for i in range(25)]
    notebook(sm, "page-nb-someone-else", owned("sub-other"))
    query = {"ResourceTypeFilters": GATE_TYPES, "TagFilters": [{"Key": OWNER, "Values": ["sub-pager"]}]}
    control(standin[1], "DELETE", "/_calls")
    pages = list(tagging.get_paginator("get_resources").paginate(**query, ResourcesPerPage=100))
    assert [len(p["ResourceTagMappingList"]) for p in pages] == [100, 100, 50]
    arns = [m["ResourceARN"] for p in pages for m in p["ResourceTagMappingList"]]
    assert sorted(arns) == sorted(created) and len(set(arns)) == 250
    assert all(p["PaginationToken"] for p in pages[:-1]) and pages[-1]["PaginationToken"] == ""
    assert [c["operation"] for c in control(standin[1], "GET", "/_calls")] == ["GetResources"] * 3
    pages = list(tagging.get_paginator("get_resources").paginate(**query))
    assert [len(p["ResourceTagMappingList"]) for p in pages] == [50] * 5


def test_a_resource_added_between_two_pages_leaves_the_others_once_each(sm, tagging):
    created = [notebook(sm, f"moving-{i:02d}", owned("sub-moving")) for i in range(10)]
    query = {"TagFilters": [{"Key": OWNER, "Values": ["sub-moving"]}], "ResourcesPerPage": 4}
    first = tagging.get_resources(**query)
    notebook(sm, "moving-00a", owned("sub-moving"))  # sorts before the first page's end
    later = notebook(sm, "moving-99", owned("sub-moving"))
    arns = [m["ResourceARN"] for m in first["ResourceTagMappingList"]]
    token = first["PaginationToken"]
    while token:
        page = tagging.get_resources(**query, PaginationToken=token)
        arns += [m["ResourceARN"] for m in page["ResourceTagMappingList"]]
        token = page["PaginationToken"]
    assert sorted(arns) == sorted(created + [later])


def test_tag_filters_and_across_keys_or_across_values(sm, tagging):
    alice = notebook(sm, "filter-alice", owned("sub-alice"), group("ml-team"))
    bob = notebook(sm, "filter-bob", owned("sub-bob"), group("analysts"))
    shared = notebook(sm, "filter-shared", group("ml-team"))
    loose = notebook(sm, "filter-loose", {"Key": GROUP, "Value": "other"})
    notebook(sm, "filter-untagged")
    server = tracking_server(sm, "filter-ts", group("analysts"))
    app = mlflow_app(sm, "filter-app", owned("sub-alice"))
    mine = [alice, bob, shared, loose, server, app]

    def ours(**request) -> set[str]:
        return set(found(tagging, ResourceTypeFilters=GATE_TYPES, **request)) & set(mine)

    assert ours(TagFilters=[{"Key": OWNER, "Values": ["sub-alice"]}]) == {alice, app}
    assert ours(TagFilters=[{"Key": GROUP, "Values": ["ml-team", "analysts"]}]) == {alice, bob, shared, server}
    assert ours(TagFilters=[{"Key": OWNER, "Values": ["sub-alice"]}, {"Key": GROUP, "Values": ["ml-team"]}]) == {alice}
    assert ours(TagFilters=[{"Key": OWNER, "Values": ["sub-bob"]}, {"Key": GROUP, "Values": ["ml-team"]}]) == set()
    assert ours(TagFilters=[{"Key": GROUP}]) == {alice, bob, shared, loose, server}  # any value
    assert ours(TagFilters=[{"Key": OWNER, "Values": ["sub-alice", "sub-bob"]}]) == {alice, bob, app}
    # Untagged resources are never in the answer, with or without filters.
    assert f"{ACCOUNT_ARN}notebook-instance/filter-untagged" not in found(tagging)
    # A page's tags are every tag the resource has, not only the filter's.
    (mapping,) = tagging.get_resources(TagFilters=[{"Key": OWNER, "Values": ["sub-bob"]}])["ResourceTagMappingList"]
    assert mapping == {"ResourceARN": bob, "Tags": [owned("sub-bob"), group("analysts")]}


def test_resource_type_filters_name_a_service_or_a_type_as_the_arn_does(sm, tagging):
    sm.create_domain(DomainName="types", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
                     SubnetIds=["subnet-1"], VpcId="vpc-1")
    domain = next(d["DomainId"] for d in sm.list_domains()["Domains"] if d["DomainName"] == "types")
    kinds = {
        "notebook-instance": notebook(sm, "types-nb", owned("sub-types")),
        "mlflow-tracking-server": tracking_server(sm, "types-ts", owned("sub-types")),
        "mlflow-app": mlflow_app(sm, "types-app", owned("sub-types")),
        "user-profile": sm.create_user_profile(DomainId=domain, UserProfileName="types-user",
                                               Tags=[owned("sub-types")])["UserProfileArn"],
        "space": sm.create_space(DomainId=domain, SpaceName="types-space", Tags=[owned("sub-types")])["SpaceArn"],
    }
    sm.create_app(DomainId=domain, SpaceName="types-space", AppType="JupyterLab", AppName="default",
                  Tags=[owned("sub-types")])
    kinds["app"] = f"{ACCOUNT_ARN}app/{domain}/types-space/JupyterLab/default"
    by_owner = [{"Key": OWNER, "Values": ["sub-types"]}]
    for kind, arn in kinds.items():
        assert arn.split(":")[5].split("/")[0] == kind  # the type as the ARN spells it
        assert found(tagging, ResourceTypeFilters=[f"sagemaker:{kind}"], TagFilters=by_owner) == [arn], kind
    assert set(found(tagging, ResourceTypeFilters=["sagemaker"], TagFilters=by_owner)) == set(kinds.values())
    assert set(found(tagging, TagFilters=by_owner)) == set(kinds.values())
    assert set(found(tagging, ResourceTypeFilters=GATE_TYPES, TagFilters=by_owner)) == \
        {kinds["notebook-instance"], kinds["mlflow-tracking-server"], kinds["mlflow-app"]}
    assert found(tagging, ResourceTypeFilters=["ec2:instance", "sagemaker:endpoint"], TagFilters=by_owner) == []
    # A deleted Studio app is no longer indexed.
    sm.delete_app(DomainId=domain, SpaceName="types-space", AppType="JupyterLab", AppName="default")
    assert found(tagging, ResourceTypeFilters=["sagemaker:app"], TagFilters=by_owner) == []


def test_a_resource_list_alone_gives_those_resources(sm, tagging):
    arn = notebook(sm, "listed-nb", owned("sub-listed"))
    answer = tagging.get_resources(ResourceARNList=[arn, f"{ACCOUNT_ARN}notebook-instance/not-there"])
    assert [m["ResourceARN"] for m in answer["ResourceTagMappingList"]] == [arn]


@pytest.mark.parametrize("request_, names", [
    ({"ResourcesPerPage": 0}, "ResourcesPerPage"),
    ({"ResourcesPerPage": 101}, "ResourcesPerPage"),
    ({"ResourcesPerPage": "100"}, "ResourcesPerPage"),
    ({"TagsPerPage": 99}, "TagsPerPage"),
    ({"TagFilters": [{"Key": f"k{i}", "Values": ["v"]} for i in range(51)]}, "TagFilters"),
    ({"TagFilters": [{"Key": OWNER, "Values": [f"v{i}" for i in range(21)]}]}, "Values"),
    ({"TagFilters": [{"Values": ["v"]}]}, "Key"),
    ({"ResourceTypeFilters": [f"sagemaker:t{i}" for i in range(101)]}, "ResourceTypeFilters"),
    ({"ResourceARNList": [f"{ACCOUNT_ARN}notebook-instance/x"], "TagFilters": [{"Key": OWNER}]}, "ResourceARNList"),
    ({"ResourceARNList": [f"{ACCOUNT_ARN}notebook-instance/x"], "ResourcesPerPage": 10}, "ResourceARNList"),
    ({"PaginationToken": "not-a-token"}, "PaginationToken"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_is_an_invalid_parameter_exception(tagging, request_, names):
    error = error_of(tagging.get_resources, **request_)
    assert (error["Code"], error["status"], error["type"]) == ("InvalidParameterException", 400,
                                                               "InvalidParameterException")
    assert names in error["Message"]
    # At the bounds, the same input is accepted.
    tagging.get_resources(ResourcesPerPage=1, TagsPerPage=100,
                          TagFilters=[{"Key": f"k{i}", "Values": [f"v{j}" for j in range(20)]} for i in range(50)])


def test_a_token_holds_only_for_its_own_filters_and_for_15_minutes(sm, tagging, standin):
    for i in range(3):
        notebook(sm, f"token-{i}", owned("sub-token"))
    query = {"TagFilters": [{"Key": OWNER, "Values": ["sub-token"]}], "ResourcesPerPage": 1}
    token = tagging.get_resources(**query)["PaginationToken"]
    other = error_of(tagging.get_resources, TagFilters=[{"Key": OWNER, "Values": ["sub-other"]}], PaginationToken=token)
    assert other["Code"] == "InvalidParameterException"
    assert tagging.get_resources(**query, PaginationToken=token)["ResourceTagMappingList"]
    control(standin[1], "POST", "/_clock", {"advance": 15 * 60 + 1})
    expired = error_of(tagging.get_resources, **query, PaginationToken=token)
    assert (expired["Code"], expired["status"]) == ("PaginationTokenExpiredException", 400)


@pytest.fixture
def delay(standin):
    """Sets the index's propagation delay for one test, and puts it back to 0 (at once) after."""
    def configure(seconds):
        return control(standin[1], "POST", "/_tagging", {"delaySeconds": seconds})
    yield configure
    assert control(standin[1], "DELETE", "/_tagging") == {"delaySeconds": 0}


def test_with_a_delay_the_index_shows_tags_as_they_were_that_long_ago(sm, tagging, standin, delay):
    kept = notebook(sm, "late-kept", owned("sub-late"))
    untagged = tracking_server(sm, "late-ts", owned("sub-late"))
    leaving = notebook(sm, "late-deleted", owned("sub-late"))
    assert delay(30) == {"delaySeconds": 30}
    assert control(standin[1], "GET", "/_tagging") == {"delaySeconds": 30}
    by_owner = {"ResourceTypeFilters": GATE_TYPES, "TagFilters": [{"Key": OWNER, "Values": ["sub-late"]}]}
    assert set(found(tagging, **by_owner)) == {kept, untagged, leaving}  # what existed was indexed long ago

    sm.delete_tags(ResourceArn=untagged, TagKeys=[OWNER])
    assert sm.list_tags(ResourceArn=untagged)["Tags"] == []  # SageMaker itself knows at once
    sm.stop_notebook_instance(NotebookInstanceName="late-deleted")
    sm.delete_notebook_instance(NotebookInstanceName="late-deleted")
    added = notebook(sm, "late-added", owned("sub-late"))
    retagged = notebook(sm, "late-retagged", owned("sub-late"))
    sm.add_tags(ResourceArn=retagged, Tags=[owned("sub-someone")])
    assert set(found(tagging, **by_owner)) == {kept, untagged, leaving}

    control(standin[1], "POST", "/_clock", {"advance": 29})
    assert set(found(tagging, **by_owner)) == {kept, untagged, leaving}
    control(standin[1], "POST", "/_clock", {"advance": 2})
    assert set(found(tagging, **by_owner)) == {kept, added}
    assert found(tagging, TagFilters=[{"Key": OWNER, "Values": ["sub-someone"]}]) == [retagged]


def test_without_a_delay_changes_show_at_once(sm, tagging, standin, delay):
    delay(60)
    arn = notebook(sm, "prompt-nb", owned("sub-prompt"))
    assert found(tagging, TagFilters=[{"Key": OWNER, "Values": ["sub-prompt"]}]) == []
    assert control(standin[1], "DELETE", "/_tagging") == {"delaySeconds": 0}
    assert found(tagging, TagFilters=[{"Key": OWNER, "Values": ["sub-prompt"]}]) == [arn]
    sm.delete_tags(ResourceArn=arn, TagKeys=[OWNER])
    assert found(tagging, TagFilters=[{"Key": OWNER, "Values": ["sub-prompt"]}]) == []


def test_delay_settings_are_checked(standin):
    for body in ({"delaySeconds": -1}, {"delaySeconds": "30"}, {"delaySeconds": True}, {"delaySeconds": 3601},
                 {"delay": 30}, {}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            control(standin[1], "POST", "/_tagging", body)
        assert refused.value.code == 400, body
    assert control(standin[1], "GET", "/_tagging") == {"delaySeconds": 0}


def test_faults_hit_get_resources_with_the_tagging_apis_errors(sm, tagging, standin):
    arn = notebook(sm, "fault-nb", owned("sub-fault"))
    query = {"TagFilters": [{"Key": OWNER, "Values": ["sub-fault"]}]}
    control(standin[1], "POST", "/_faults", {"operation": "GetResources", "fault": "throttle"})
    error = error_of(tagging.get_resources, **query)
    assert (error["Code"], error["status"], error["type"]) == ("ThrottledException", 400, "ThrottledException")
    control(standin[1], "POST", "/_faults", {"operation": "GetResources", "fault": "error", "match": "sub-fault"})
    assert tagging.get_resources(TagFilters=[{"Key": OWNER, "Values": ["sub-nobody"]}])["ResourceTagMappingList"] == []
    error = error_of(tagging.get_resources, **query)
    assert (error["Code"], error["status"]) == ("InternalServiceException", 500)
    assert found(tagging, **query) == [arn]
    control(standin[1], "DELETE", "/_faults")


def test_the_call_log_records_get_resources_with_its_input(tagging, standin):
    control(standin[1], "DELETE", "/_calls")
    request = {"ResourceTypeFilters": GATE_TYPES, "TagFilters": [{"Key": GROUP, "Values": ["a", "b"]}],
               "ResourcesPerPage": 100}
    tagging.get_resources(**request)
    (call,) = control(standin[1], "GET", "/_calls")
    assert (call["operation"], call["service"], call["input"]) == ("GetResources", "tagging", request)
    assert 0 < call["seconds"] < 5 and call["started"] <= call["ended"]


# --- what the function's key meets: injected latency and IAM ---------------------------------------

FUNCTION_KEY = "ASIAFUNCTIONTAGGING1"
ROLE_ARN = "arn:aws:iam::123456789012:role/gate-role"
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/gate-role/notebook-gate"


def function_client(endpoint: str, key: str = FUNCTION_KEY):
    """A Tagging API client signing with the function's key, as the function's SDK does."""
    return boto3.client("resourcegroupstaggingapi", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key="x", aws_session_token="y",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def policy(*statements) -> list[dict]:
    return [{"name": "gate", "policy": {"Version": "2012-10-17", "Statement": list(statements)}}]


@pytest.fixture
def iam(standin):
    def configure(policies):
        return control(standin[1], "POST", "/_iam", {"accessKeyId": FUNCTION_KEY, "roleArn": ROLE_ARN,
                                                       "policies": policies, "source": {"ip": "10.1.1.1"}})
    yield configure
    control(standin[1], "DELETE", "/_iam")


def test_iam_grants_get_resources_only_as_tag_get_resources_on_star(sm, tagging, standin, iam):
    arn = notebook(sm, "iam-nb", owned("sub-iam"))
    query = {"TagFilters": [{"Key": OWNER, "Values": ["sub-iam"]}]}
    fn = function_client(standin[0])
    notebooks = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/*"
    iam(policy({"Effect": "Allow", "Action": ["sagemaker:ListTags", "sagemaker:DescribeNotebookInstance"],
                "Resource": notebooks}))
    error = error_of(fn.get_resources, **query)
    assert error == {"Code": "AccessDeniedException", "status": 400, "type": "AccessDeniedException", "Message": (
        f"User: {PRINCIPAL} is not authorized to perform: tag:GetResources "
        "because no identity-based policy allows the tag:GetResources action")}
    # It takes no resource type: granted on the notebooks' ARNs, it is still refused.
    iam(policy({"Effect": "Allow", "Action": "tag:GetResources", "Resource": notebooks}))
    assert error_of(fn.get_resources, **query)["Code"] == "AccessDeniedException"
    iam(policy({"Effect": "Allow", "Action": "tag:GetResources", "Resource": "*"},
               {"Effect": "Deny", "Action": "tag:*", "Resource": "*"}))
    assert "with an explicit deny" in error_of(fn.get_resources, **query)["Message"]
    iam(policy({"Effect": "Allow", "Action": "tag:GetResources", "Resource": "*"}))
    assert [m["ResourceARN"] for m in fn.get_resources(**query)["ResourceTagMappingList"]] == [arn]
    # The admin's own key is never evaluated.
    iam(policy({"Effect": "Allow", "Action": "sagemaker:ListTags", "Resource": notebooks}))
    assert [m["ResourceARN"] for m in tagging.get_resources(**query)["ResourceTagMappingList"]] == [arn]
    calls = [c for c in control(standin[1], "GET", "/_calls") if c["operation"] == "GetResources"]
    assert [c.get("iam") for c in calls[-5:]] == ["denied", "denied", "denied", "allowed", None]


def test_an_other_tagging_operation_of_the_function_fails_loudly(standin, iam):
    iam(policy({"Effect": "Allow", "Action": "tag:*", "Resource": "*"}))
    error = error_of(function_client(standin[0]).get_tag_keys)
    assert error["status"] == 500 and "no IAM resource for GetTagKeys" in error["Message"]


def test_injected_latency_slows_the_functions_get_resources(standin):
    fn = function_client(standin[0], FUNCTION_ACCESS_KEY_ID)  # the key the stack gives the function
    assert control(standin[1], "POST", "/_latency", {"ms": 300})["ms"] == 300
    try:
        control(standin[1], "DELETE", "/_calls")
        started = time.monotonic()
        fn.get_resources(ResourcesPerPage=1)
        assert time.monotonic() - started >= 0.3
        (call,) = control(standin[1], "GET", "/_calls")
        assert call["ended"] - call["started"] >= 0.3
    finally:
        control(standin[1], "DELETE", "/_latency")
