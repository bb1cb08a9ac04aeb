"""The moto extension over HTTP with boto3: each added operation, SageMaker's validation, tags on
profiles, spaces and untagged domains, the stand-in page's once-only tokens, the faults, and IAM:
the function's calls refused as SageMaker refuses them, and each use of a URL it made."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from local.stack import client
from local.tests.conftest import open_page

ROLE = "arn:aws:iam::123456789012:role/test"


@pytest.fixture(scope="module")
def sm(standin):
    sm = client("sagemaker", standin[0], validate=False)
    sm.create_notebook_instance(NotebookInstanceName="nb-1", InstanceType="ml.t3.medium", RoleArn=ROLE,
                                Tags=[{"Key": "owner", "Value": "a"}])
    sm.create_domain(DomainName="unit", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
                     SubnetIds=["subnet-1"], VpcId="vpc-1")
    sm.create_user_profile(DomainId="d-unit", UserProfileName="jane", Tags=[{"Key": "owner", "Value": "j"}])
    sm.create_space(DomainId="d-unit", SpaceName="jane-space", OwnershipSettings={"OwnerUserProfileName": "jane"},
                    SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": "JupyterLab"})
    return sm


def control(page: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(page + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def error_of(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def test_notebook_url_opens_once_and_expires(sm, standin):
    url = sm.create_presigned_notebook_instance_url(NotebookInstanceName="nb-1",
                                                    SessionExpirationDurationInSeconds=1800)["AuthorizedUrl"]
    assert url.startswith(standin[1] + "/notebook/nb-1?authToken=")
    status, body = open_page(url)
    assert status == 200 and body["opened"] == {"kind": "notebook-instance", "name": "nb-1", "domain": "",
                                                "profile": "", "space": "", "app": "", "session": 1800}
    assert open_page(url) == (403, {"refused": "replayed"})
    assert open_page(url.replace("/nb-1?", "/nb-2?"))[1] == {"refused": "unknown"}

    later = sm.create_presigned_notebook_instance_url(NotebookInstanceName="nb-1")["AuthorizedUrl"]
    control(standin[1], "POST", "/_clock", {"advance": 301})
    assert open_page(later) == (403, {"refused": "expired"})


def test_notebook_presign_validates_like_sagemaker(sm):
    assert "RecordNotFound" in error_of(sm.create_presigned_notebook_instance_url, NotebookInstanceName="nope")["Message"]
    assert error_of(sm.create_presigned_notebook_instance_url, NotebookInstanceName="bad_name")["Code"] == "ValidationException"
    for seconds in (1799, 43201):
        error = error_of(sm.create_presigned_notebook_instance_url, NotebookInstanceName="nb-1",
                         SessionExpirationDurationInSeconds=seconds)
        assert error["Code"] == "ValidationException"


def test_domain_url_carries_profile_space_and_landing_uri(sm, standin):
    url = sm.create_presigned_domain_url(DomainId="d-unit", UserProfileName="jane", SpaceName="jane-space",
                                         LandingUri="app:JupyterLab:", ExpiresInSeconds=5)["AuthorizedUrl"]
    status, body = open_page(url)
    assert status == 200
    assert body["opened"]["profile"] == "jane" and body["opened"]["space"] == "jane-space"
    assert body["opened"]["app"] == "app:JupyterLab:" and body["opened"]["domain"] == "d-unit"


def test_domain_url_validates_like_sagemaker(sm):
    base = {"DomainId": "d-unit", "UserProfileName": "jane"}
    for expires in (4, 301):
        assert error_of(sm.create_presigned_domain_url, **base, ExpiresInSeconds=expires)["Code"] == "ValidationException"
    assert error_of(sm.create_presigned_domain_url, **base, SessionExpirationDurationInSeconds=1799)["Code"] == "ValidationException"
    assert error_of(sm.create_presigned_domain_url, DomainId="d-unit", UserProfileName="ghost")["Code"] == "ResourceNotFound"
    assert error_of(sm.create_presigned_domain_url, **base, SpaceName="ghost")["Code"] == "ResourceNotFound"
    assert error_of(sm.create_presigned_domain_url, DomainId="d-none", UserProfileName="jane")["Code"] == "ResourceNotFound"


def test_spaces_describe_and_list(sm):
    space = sm.describe_space(DomainId="d-unit", SpaceName="jane-space")
    assert space["OwnershipSettings"]["OwnerUserProfileName"] == "jane"
    assert space["SpaceSharingSettings"]["SharingType"] == "Private"
    listed = sm.list_spaces(DomainIdEquals="d-unit")["Spaces"]
    assert listed[0]["OwnershipSettingsSummary"]["OwnerUserProfileName"] == "jane"
    assert listed[0]["SpaceSettingsSummary"]["AppType"] == "JupyterLab"
    assert error_of(sm.describe_space, DomainId="d-unit", SpaceName="ghost")["Code"] == "ResourceNotFound"
    assert error_of(sm.create_user_profile, DomainId="d-unit", UserProfileName="jane")["Code"] == "ResourceInUse"


def test_tags_work_on_profiles_spaces_untagged_domains_and_notebooks(sm):
    profile = "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-unit/jane"
    assert sm.list_tags(ResourceArn=profile)["Tags"] == [{"Key": "owner", "Value": "j"}]
    space = sm.create_space(DomainId="d-unit", SpaceName="tagged-space", Tags=[{"Key": "team", "Value": "x"}])["SpaceArn"]
    assert sm.list_tags(ResourceArn=space)["Tags"] == [{"Key": "team", "Value": "x"}]
    domain = sm.describe_domain(DomainId="d-unit")["DomainArn"]
    assert sm.list_tags(ResourceArn=domain)["Tags"] == []
    notebook = sm.describe_notebook_instance(NotebookInstanceName="nb-1")["NotebookInstanceArn"]
    assert sm.list_tags(ResourceArn=notebook)["Tags"] == [{"Key": "owner", "Value": "a"}]
    ghost = profile.replace("/jane", "/ghost")
    assert error_of(sm.list_tags, ResourceArn=ghost)["Code"] == "ResourceNotFound"


def test_add_tags_overwrites_a_key_and_delete_tags_removes_it_on_every_kind(sm):
    """SageMaker's AddTags adds or overwrites (moto alone would keep both values of a key), and
    DeleteTags works on the resources the stand-in keeps as on moto's."""
    sm.create_notebook_instance(NotebookInstanceName="nb-retag", InstanceType="ml.t3.medium", RoleArn=ROLE,
                                Tags=[{"Key": "owner", "Value": "a"}, {"Key": "team", "Value": "t"}])
    space = sm.create_space(DomainId="d-unit", SpaceName="retag-space", Tags=[{"Key": "owner", "Value": "a"}])["SpaceArn"]
    for arn in ("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-retag", space):
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "b"}])
        assert [t for t in sm.list_tags(ResourceArn=arn)["Tags"] if t["Key"] == "owner"] == \
            [{"Key": "owner", "Value": "b"}]
        sm.delete_tags(ResourceArn=arn, TagKeys=["owner"])
        assert [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]] in (["team"], [])


def test_faults_apply_to_the_next_calls_then_stop(sm, standin):
    page = standin[1]
    control(page, "POST", "/_faults", {"operation": "DescribeNotebookInstance", "fault": "throttle", "count": 2})
    for _ in range(2):
        assert error_of(sm.describe_notebook_instance, NotebookInstanceName="nb-1")["Code"] == "ThrottlingException"
    assert sm.describe_notebook_instance(NotebookInstanceName="nb-1")["NotebookInstanceStatus"] == "InService"

    control(page, "POST", "/_faults", {"operation": "ListTags", "fault": "error"})
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sm.list_tags(ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-1")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

    control(page, "POST", "/_faults", {"operation": "ListSpaces", "fault": "slow", "seconds": 1.5})
    started = time.monotonic()
    sm.list_spaces(DomainIdEquals="d-unit")
    assert time.monotonic() - started >= 1.5

    control(page, "POST", "/_faults", {"operation": "DescribeSpace", "fault": "drop"})
    with pytest.raises((botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        sm.describe_space(DomainId="d-unit", SpaceName="jane-space")
    control(page, "DELETE", "/_faults")


def test_a_fault_with_match_hits_only_calls_whose_input_contains_it(sm, standin):
    page = standin[1]
    sm.create_notebook_instance(NotebookInstanceName="nb-other", InstanceType="ml.t3.medium", RoleArn=ROLE)
    control(page, "POST", "/_faults", {"operation": "DescribeNotebookInstance", "fault": "error", "count": 2,
                                       "match": "nb-other"})
    assert sm.describe_notebook_instance(NotebookInstanceName="nb-1")["NotebookInstanceName"] == "nb-1"
    for _ in range(2):
        assert error_of(sm.describe_notebook_instance, NotebookInstanceName="nb-other")["Code"] == "InternalFailure"
    assert sm.describe_notebook_instance(NotebookInstanceName="nb-other")["NotebookInstanceName"] == "nb-other"
    with pytest.raises(urllib.error.HTTPError) as refused:
        control(page, "POST", "/_faults", {"operation": "ListTags", "fault": "error", "match": 7})
    assert refused.value.code == 400
    control(page, "DELETE", "/_faults")


def test_the_call_log_records_operations_and_inputs(sm, standin):
    control(standin[1], "DELETE", "/_calls")
    sm.describe_notebook_instance(NotebookInstanceName="nb-1")
    calls = control(standin[1], "GET", "/_calls")
    assert [(c["operation"], c["input"]) for c in calls] == [("DescribeNotebookInstance", {"NotebookInstanceName": "nb-1"})]
    assert 0 < calls[0]["seconds"] < 5


# --- IAM: the function's calls and each use of a URL it made --------------------------------

FUNCTION_KEY = "ASIAFUNCTIONUNITTEST"
ROLE_ARN = "arn:aws:iam::123456789012:role/gate-role"
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/gate-role/notebook-gate"
NOTEBOOKS = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/*"


def function_client(endpoint: str):
    """A SageMaker client signing with the function's key, as the function's SDK does."""
    return boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=FUNCTION_KEY,
                        aws_secret_access_key="x", aws_session_token="y",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def policy(*statements) -> list[dict]:
    return [{"name": "gate", "policy": {"Version": "2012-10-17", "Statement": list(statements)}}]


PRESIGN_OWNED = {"Sid": "Presign", "Effect": "Allow", "Action": "sagemaker:CreatePresignedNotebookInstanceUrl",
                 "Resource": NOTEBOOKS, "Condition": {"Null": {"aws:ResourceTag/owner": "false"}}}


@pytest.fixture
def iam(standin, sm):
    """Sets the function's IAM on the stand-in for one test, and turns it off after."""
    def configure(policies, source=None):
        return control(standin[1], "POST", "/_iam", {"accessKeyId": FUNCTION_KEY, "roleArn": ROLE_ARN,
                                                       "policies": policies, "source": source or {"ip": "10.1.1.1"}})
    yield configure
    control(standin[1], "DELETE", "/_iam")


def denied(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response


def test_iam_refuses_the_functions_calls_as_sagemaker_does(standin, sm, iam):
    sm.create_notebook_instance(NotebookInstanceName="nb-untagged", InstanceType="ml.t3.medium", RoleArn=ROLE)
    assert iam(policy(PRESIGN_OWNED, {"Effect": "Allow", "Action": "sagemaker:ListNotebookInstances", "Resource": "*"},
                      {"Effect": "Allow", "Action": "sagemaker:ListSpaces",
                       "Resource": "arn:aws:sagemaker:us-east-1:123456789012:domain/d-unit"}))["principal"] == PRINCIPAL
    fn = function_client(standin[0])
    assert fn.list_notebook_instances()["NotebookInstances"]
    assert fn.create_presigned_notebook_instance_url(NotebookInstanceName="nb-1")["AuthorizedUrl"]

    # A list operation takes only "*": granted on the domain's ARN it is denied.
    response = denied(fn.list_spaces, DomainIdEquals="d-unit")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "AccessDeniedException"
    assert response["Error"] == {"Code": "AccessDeniedException", "Message": (
        f"User: {PRINCIPAL} is not authorized to perform: sagemaker:ListSpaces on resource: * "
        "because no identity-based policy allows the sagemaker:ListSpaces action")}
    # The tag condition: an untagged notebook, or one that does not exist, cannot be presigned.
    for name in ("nb-untagged", "nb-nowhere"):
        message = denied(fn.create_presigned_notebook_instance_url, NotebookInstanceName=name)["Error"]["Message"]
        assert f"on resource: arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/{name} because" in message
    # Not granted at all.
    assert denied(fn.describe_notebook_instance, NotebookInstanceName="nb-1")["Error"]["Code"] == "AccessDeniedException"
    # The admin's own key is never evaluated.
    assert sm.list_spaces(DomainIdEquals="d-unit")["Spaces"]
    calls = [c for c in control(standin[1], "GET", "/_calls") if c["operation"] == "ListSpaces"]
    assert [c.get("iam") for c in calls[-2:]] == ["denied", None]


def test_an_operation_the_stand_in_cannot_authorize_fails_loudly(standin, iam):
    iam(policy({"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}))
    response = denied(function_client(standin[0]).list_domains)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "no IAM resource for ListDomains" in response["Error"]["Message"]


def test_turning_iam_off_lets_every_call_through(standin, iam):
    iam(policy(PRESIGN_OWNED))
    fn = function_client(standin[0])
    assert denied(fn.list_notebook_instances)["Error"]["Code"] == "AccessDeniedException"
    control(standin[1], "DELETE", "/_iam")
    assert control(standin[1], "GET", "/_iam") == {"enabled": False}
    assert fn.list_notebook_instances()["NotebookInstances"]


def test_a_url_is_authorized_on_each_use_from_where_the_browser_is(standin, iam):
    office = {**PRESIGN_OWNED, "Condition": {**PRESIGN_OWNED["Condition"],
                                               "IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}}
    iam(policy(office), source={"ip": "10.9.9.9"})
    url = function_client(standin[0]).create_presigned_notebook_instance_url(NotebookInstanceName="nb-1")["AuthorizedUrl"]
    refused = open_page(url, **{"X-Local-Source-Ip": "192.0.2.7"})
    assert refused == (403, {"refused": "insufficient-permissions",
                             "message": "Auth token containing insufficient permissions"})
    assert open_page(url)[0] == 403  # no header: the connection's own address, 127.0.0.1, is outside too
    # A refused use does not spend the URL: from inside the range it still opens, once.
    assert open_page(url, **{"X-Local-Source-Ip": "10.2.3.4"})[0] == 200
    assert open_page(url, **{"X-Local-Source-Ip": "10.2.3.4"}) == (403, {"refused": "replayed"})

    # The function itself calling from outside the range is refused before any URL exists.
    iam(policy(office), source={"ip": "198.51.100.1"})
    fn = function_client(standin[0])
    assert denied(fn.create_presigned_notebook_instance_url, NotebookInstanceName="nb-1")["Error"]["Code"] \
        == "AccessDeniedException"


def test_a_url_made_through_an_endpoint_opens_only_through_the_endpoints(standin, iam):
    endpoints = {**PRESIGN_OWNED, "Condition": {**PRESIGN_OWNED["Condition"], "ForAnyValue:StringEquals": {
        "aws:SourceVpce": ["vpce-0api", "vpce-0notebook"]}}}
    iam(policy(endpoints), source={"vpce": "vpce-0api"})
    fn = function_client(standin[0])
    url = fn.create_presigned_notebook_instance_url(NotebookInstanceName="nb-1")["AuthorizedUrl"]
    assert open_page(url, **{"X-Local-Source-Ip": "203.0.113.5"})[0] == 403  # from the internet
    assert open_page(url, **{"X-Local-Source-Vpce": "vpce-0other"})[0] == 403
    assert open_page(url, **{"X-Local-Source-Vpce": "vpce-0notebook", "X-Local-Source-Ip": "10.0.0.5"})[0] == 200

    # Through no endpoint the function's own call has only aws:SourceIp, and is refused.
    iam(policy(endpoints), source={"ip": "10.0.0.1"})
    assert denied(fn.create_presigned_notebook_instance_url, NotebookInstanceName="nb-1")["Error"]["Code"] \
        == "AccessDeniedException"


def test_a_url_made_with_admin_credentials_is_not_evaluated(standin, sm, iam):
    iam(policy(PRESIGN_OWNED))
    url = sm.create_presigned_notebook_instance_url(NotebookInstanceName="nb-1")["AuthorizedUrl"]
    assert open_page(url, **{"X-Local-Source-Ip": "192.0.2.7"})[0] == 200


def test_iam_settings_are_checked(standin):
    with pytest.raises(urllib.error.HTTPError) as refused:
        control(standin[1], "POST", "/_iam", {"accessKeyId": FUNCTION_KEY, "roleArn": ROLE_ARN})
    assert refused.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as refused:
        control(standin[1], "POST", "/_iam", {"accessKeyId": FUNCTION_KEY, "roleArn": ROLE_ARN,
                                               "policies": policy(PRESIGN_OWNED), "source": {"address": "x"}})
    assert refused.value.code == 400


# --- lifecycle: state changes that take time, Studio apps ------------------------------------


@pytest.fixture
def timing(standin):
    """Sets the stand-in's delays for one test, and puts them back to 0 (at once) after."""
    def configure(**seconds):
        return control(standin[1], "POST", "/_timing", seconds)
    yield configure
    control(standin[1], "POST", "/_timing", {"notebookStartSeconds": 0, "notebookStopSeconds": 0,
                                             "appStartSeconds": 0, "appDeleteSeconds": 0})


def status_of(sm, name: str) -> str:
    return sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]


def test_a_notebook_stops_and_starts_through_stopping_and_pending_on_the_clock(sm, standin, timing):
    sm.create_notebook_instance(NotebookInstanceName="nb-cycle", InstanceType="ml.t3.medium", RoleArn=ROLE)
    assert status_of(sm, "nb-cycle") == "InService"
    timing(notebookStopSeconds=60, notebookStartSeconds=120)
    before = sm.describe_notebook_instance(NotebookInstanceName="nb-cycle")["LastModifiedTime"]
    sm.stop_notebook_instance(NotebookInstanceName="nb-cycle")
    described = sm.describe_notebook_instance(NotebookInstanceName="nb-cycle")
    assert described["NotebookInstanceStatus"] == "Stopping" and described["LastModifiedTime"] >= before
    listed = {i["NotebookInstanceName"]: i for i in sm.list_notebook_instances()["NotebookInstances"]}
    assert listed["nb-cycle"]["NotebookInstanceStatus"] == "Stopping"
    control(standin[1], "POST", "/_clock", {"advance": 59})
    assert status_of(sm, "nb-cycle") == "Stopping"
    control(standin[1], "POST", "/_clock", {"advance": 2})
    stopped = sm.describe_notebook_instance(NotebookInstanceName="nb-cycle")
    assert stopped["NotebookInstanceStatus"] == "Stopped"
    # Since when it is stopped: the moment the change was due, on the stand-in's clock.
    assert (stopped["LastModifiedTime"] - described["LastModifiedTime"]).total_seconds() == pytest.approx(60, abs=1)

    sm.start_notebook_instance(NotebookInstanceName="nb-cycle")
    assert status_of(sm, "nb-cycle") == "Pending"
    control(standin[1], "POST", "/_clock", {"advance": 121})
    assert status_of(sm, "nb-cycle") == "InService"


def test_a_notebook_refuses_the_transitions_sagemaker_refuses(sm, timing):
    sm.create_notebook_instance(NotebookInstanceName="nb-refuse", InstanceType="ml.t3.medium", RoleArn=ROLE)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-refuse"
    error = error_of(sm.start_notebook_instance, NotebookInstanceName="nb-refuse")
    assert error == {"Code": "ValidationException", "Message": (
        f"Status (InService) not in ([Stopped, Failed]). Unable to transition to (Pending) for Notebook Instance ({arn}).")}
    timing(notebookStopSeconds=600)
    sm.stop_notebook_instance(NotebookInstanceName="nb-refuse")
    for call, allowed, target in ((sm.stop_notebook_instance, "InService", "Stopping"),
                                  (sm.start_notebook_instance, "Stopped, Failed", "Pending")):
        error = error_of(call, NotebookInstanceName="nb-refuse")
        assert error["Message"] == (f"Status (Stopping) not in ([{allowed}]). Unable to transition to ({target}) "
                                    f"for Notebook Instance ({arn}).")
    assert status_of(sm, "nb-refuse") == "Stopping"
    assert "RecordNotFound" in error_of(sm.stop_notebook_instance, NotebookInstanceName="nb-none")["Message"]


def test_with_no_delay_state_changes_are_at_once_as_motos(sm):
    sm.create_notebook_instance(NotebookInstanceName="nb-quick", InstanceType="ml.t3.medium", RoleArn=ROLE)
    sm.stop_notebook_instance(NotebookInstanceName="nb-quick")
    assert status_of(sm, "nb-quick") == "Stopped"
    sm.start_notebook_instance(NotebookInstanceName="nb-quick")
    assert status_of(sm, "nb-quick") == "InService"


def test_timing_settings_are_checked(standin):
    for body in ({"notebookStartSeconds": -1}, {"notebookStartSeconds": "3"}, {"startSeconds": 3},
                 {"appDeleteSeconds": True}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            control(standin[1], "POST", "/_timing", body)
        assert refused.value.code == 400
    assert control(standin[1], "GET", "/_timing")["notebookStartSeconds"] == 0


def test_apps_are_created_listed_described_and_stopped_by_deleting(sm, standin, timing):
    sm.create_space(DomainId="d-unit", SpaceName="app-space", OwnershipSettings={"OwnerUserProfileName": "jane"},
                    SpaceSharingSettings={"SharingType": "Shared"}, SpaceSettings={"AppType": "JupyterLab"})
    arn = sm.create_app(DomainId="d-unit", SpaceName="app-space", AppType="JupyterLab", AppName="default",
                        ResourceSpec={"InstanceType": "ml.g5.xlarge"})["AppArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:app/d-unit/app-space/JupyterLab/default"
    sm.create_app(DomainId="d-unit", UserProfileName="jane", AppType="JupyterServer", AppName="default")
    app = sm.describe_app(DomainId="d-unit", SpaceName="app-space", AppType="JupyterLab", AppName="default")
    assert app["AppArn"] == arn and app["Status"] == "InService" and app["SpaceName"] == "app-space"
    assert app["ResourceSpec"] == {"InstanceType": "ml.g5.xlarge"} and "UserProfileName" not in app
    listed = sm.list_apps(DomainIdEquals="d-unit", SpaceNameEquals="app-space")["Apps"]
    assert [(a["AppType"], a["AppName"], a["Status"], a["ResourceSpec"]["InstanceType"]) for a in listed] == \
        [("JupyterLab", "default", "InService", "ml.g5.xlarge")]
    assert listed[0]["CreationTime"].tzinfo is not None
    assert [a["AppType"] for a in sm.list_apps(DomainIdEquals="d-unit", UserProfileNameEquals="jane")["Apps"]] == \
        ["JupyterServer"]
    assert sm.list_apps(DomainIdEquals="d-other")["Apps"] == []

    timing(appDeleteSeconds=30)
    sm.delete_app(DomainId="d-unit", SpaceName="app-space", AppType="JupyterLab", AppName="default")
    key = dict(DomainId="d-unit", SpaceName="app-space", AppType="JupyterLab", AppName="default")
    assert sm.describe_app(**key)["Status"] == "Deleting"
    assert error_of(sm.delete_app, **key)["Code"] == "ResourceInUse"
    control(standin[1], "POST", "/_clock", {"advance": 31})
    # Deleted, and still listed (the space and its storage stay; SageMaker lists deleted apps a while).
    assert [a["Status"] for a in sm.list_apps(DomainIdEquals="d-unit", SpaceNameEquals="app-space")["Apps"]] == ["Deleted"]
    # A deleted app can be created again.
    sm.create_app(**key)
    assert sm.describe_app(**key)["Status"] == "InService"


def test_apps_validate_and_refuse_like_sagemaker(sm):
    key = dict(DomainId="d-unit", AppType="JupyterLab", AppName="default")
    assert error_of(sm.describe_app, SpaceName="no-space", **key)["Code"] == "ResourceNotFound"
    assert error_of(sm.delete_app, SpaceName="no-space", **key)["Code"] == "ResourceNotFound"
    assert error_of(sm.create_app, SpaceName="no-space", **key)["Code"] == "ResourceNotFound"
    assert error_of(sm.describe_app, SpaceName="jane-space", UserProfileName="jane", **key)["Code"] == "ValidationException"
    assert error_of(sm.describe_app, **key)["Code"] == "ValidationException"
    assert error_of(sm.describe_app, DomainId="d-unit", SpaceName="jane-space", AppType="Notebook",
                    AppName="default")["Code"] == "ValidationException"
    assert error_of(sm.list_apps, SpaceNameEquals="a", UserProfileNameEquals="b")["Code"] == "ValidationException"
    for size in (0, 101):
        assert error_of(sm.list_apps, MaxResults=size)["Code"] == "ValidationException"
    sm.create_app(DomainId="d-unit", SpaceName="jane-space", AppType="CodeEditor", AppName="default")
    assert error_of(sm.create_app, DomainId="d-unit", SpaceName="jane-space", AppType="CodeEditor",
                    AppName="default")["Code"] == "ResourceInUse"


def test_list_apps_pages_ten_at_a_time_by_default(sm):
    sm.create_space(DomainId="d-unit", SpaceName="many-apps", OwnershipSettings={"OwnerUserProfileName": "jane"},
                    SpaceSharingSettings={"SharingType": "Private"})
    for i in range(13):
        sm.create_app(DomainId="d-unit", SpaceName="many-apps", AppType="KernelGateway", AppName=f"kg-{i}")
    first = sm.list_apps(DomainIdEquals="d-unit", SpaceNameEquals="many-apps")
    assert len(first["Apps"]) == 10 and first["NextToken"]
    second = sm.list_apps(DomainIdEquals="d-unit", SpaceNameEquals="many-apps", NextToken=first["NextToken"])
    assert len(second["Apps"]) == 3 and "NextToken" not in second
    names = [a["AppName"] for a in first["Apps"] + second["Apps"]]
    assert sorted(names) == sorted(f"kg-{i}" for i in range(13))
    paginated = sm.get_paginator("list_apps").paginate(DomainIdEquals="d-unit", SpaceNameEquals="many-apps",
                                                        PaginationConfig={"PageSize": 4})
    assert [len(page["Apps"]) for page in paginated] == [4, 4, 4, 1]


def test_age_sets_since_that_long_before_now(sm, standin):
    sm.create_notebook_instance(NotebookInstanceName="nb-old", InstanceType="ml.t3.medium", RoleArn=ROLE)
    time.sleep(1.5)  # a notebook that already existed a while still ends up exactly N seconds old
    control(standin[1], "POST", "/_age", {"notebookInstance": "nb-old", "seconds": 36000})
    after = sm.describe_notebook_instance(NotebookInstanceName="nb-old")["LastModifiedTime"]
    assert (datetime.now(timezone.utc) - after).total_seconds() == pytest.approx(36000, abs=1)
    sm.create_app(DomainId="d-unit", SpaceName="jane-space", AppType="JupyterLab", AppName="aged")
    time.sleep(1.5)
    control(standin[1], "POST", "/_age", {"domainId": "d-unit", "space": "jane-space", "seconds": 3600})
    aged = sm.describe_app(DomainId="d-unit", SpaceName="jane-space", AppType="JupyterLab", AppName="aged")
    assert (datetime.now(timezone.utc) - aged["CreationTime"]).total_seconds() == pytest.approx(3600, abs=1)


def test_delete_app_is_authorized_with_the_spaces_owner_and_sharing_type(standin, sm, iam):
    """DeleteApp carries sagemaker:OwnerUserProfileArn and sagemaker:SpaceSharingType (the Service
    Authorization Reference): a policy on them decides, as in SageMaker."""
    sm.create_user_profile(DomainId="d-unit", UserProfileName="kim", Tags=[{"Key": "owner", "Value": "k"}])
    for space, owner, sharing in (("kim-private", "kim", "Private"), ("kim-shared", "kim", "Shared"),
                                  ("jane-private2", "jane", "Private")):
        sm.create_space(DomainId="d-unit", SpaceName=space, OwnershipSettings={"OwnerUserProfileName": owner},
                        SpaceSharingSettings={"SharingType": sharing})
        sm.create_app(DomainId="d-unit", SpaceName=space, AppType="JupyterLab", AppName="default")
    sm.create_app(DomainId="d-unit", UserProfileName="kim", AppType="JupyterServer", AppName="default")
    iam(policy({"Effect": "Allow", "Action": "sagemaker:DeleteApp",
                "Resource": "arn:aws:sagemaker:us-east-1:123456789012:app/d-unit/*",
                "Condition": {"ArnEquals": {"sagemaker:OwnerUserProfileArn":
                                            "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-unit/kim"},
                              "StringEquals": {"sagemaker:SpaceSharingType": "Private"}}},
               {"Effect": "Allow", "Action": "sagemaker:ListApps", "Resource": "*"}))
    fn = function_client(standin[0])
    assert [a["Status"] for a in fn.list_apps(DomainIdEquals="d-unit", SpaceNameEquals="kim-private")["Apps"]] == \
        ["InService"]
    fn.delete_app(DomainId="d-unit", SpaceName="kim-private", AppType="JupyterLab", AppName="default")
    for what in (dict(SpaceName="kim-shared"), dict(SpaceName="jane-private2"), dict(UserProfileName="kim")):
        app_type = "JupyterServer" if "UserProfileName" in what else "JupyterLab"
        message = denied(fn.delete_app, DomainId="d-unit", AppType=app_type, AppName="default", **what)["Error"]["Message"]
        owner = what.get("SpaceName") or what["UserProfileName"]
        assert f"sagemaker:DeleteApp on resource: arn:aws:sagemaker:us-east-1:123456789012:app/d-unit/{owner}/" in message
    assert sm.describe_app(DomainId="d-unit", SpaceName="kim-shared", AppType="JupyterLab",
                           AppName="default")["Status"] == "InService"


# --- MLflow: tracking servers and MLflow apps --------------------------------------------------

MLFLOW_ROLE = "arn:aws:iam::123456789012:role/mlflow"
SERVERS = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/"
APPS = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/"


def tracking_server(sm, name: str, **tags) -> str:
    return sm.create_mlflow_tracking_server(TrackingServerName=name, ArtifactStoreUri="s3://bucket/mlflow",
                                            RoleArn=MLFLOW_ROLE, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
                                            )["TrackingServerArn"]


def mlflow_app(sm, name: str, **tags) -> str:
    return sm.create_mlflow_app(Name=name, ArtifactStoreUri="s3://bucket/apps", RoleArn=MLFLOW_ROLE,
                                Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["Arn"]


def test_tracking_servers_are_described_listed_in_pages_and_tagged(sm):
    arn = tracking_server(sm, "ts-one", owner="a")
    assert arn == SERVERS + "ts-one"
    described = sm.describe_mlflow_tracking_server(TrackingServerName="ts-one")
    assert described["TrackingServerStatus"] == "Created" and described["IsActive"] == "Active"
    assert described["TrackingServerArn"] == arn and described["MlflowVersion"]
    for i in range(5):
        tracking_server(sm, f"ts-page-{i}")
    pages = sm.get_paginator("list_mlflow_tracking_servers").paginate(PaginationConfig={"PageSize": 2})
    names = [s["TrackingServerName"] for page in pages for s in page["TrackingServerSummaries"]]
    assert len(names) == len(set(names)) and {"ts-one", *(f"ts-page-{i}" for i in range(5))} <= set(names)
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "a"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "b"}, {"Key": "team", "Value": "t"}])
    assert sorted(t["Key"] + "=" + t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]) == ["owner=b", "team=t"]
    assert error_of(sm.describe_mlflow_tracking_server, TrackingServerName="ghost")["Code"] == "ResourceNotFound"
    assert error_of(sm.list_tags, ResourceArn=SERVERS + "ghost")["Code"] == "ResourceNotFound"
    assert error_of(sm.describe_mlflow_tracking_server, TrackingServerName="bad_name")["Code"] == "ValidationException"
    assert error_of(sm.list_mlflow_tracking_servers, MaxResults=101)["Code"] == "ValidationException"


def test_a_tracking_server_stops_and_starts_on_the_clock_and_refuses_what_sagemaker_refuses(sm, standin, timing):
    tracking_server(sm, "ts-cycle")
    timing(mlflowStopSeconds=60, mlflowStartSeconds=600)

    def status():
        return sm.describe_mlflow_tracking_server(TrackingServerName="ts-cycle")["TrackingServerStatus"]

    assert error_of(sm.start_mlflow_tracking_server, TrackingServerName="ts-cycle")["Code"] == "ConflictException"
    sm.stop_mlflow_tracking_server(TrackingServerName="ts-cycle")
    assert status() == "Stopping"
    assert error_of(sm.stop_mlflow_tracking_server, TrackingServerName="ts-cycle")["Code"] == "ConflictException"
    control(standin[1], "POST", "/_clock", {"advance": 61})
    assert status() == "Stopped"
    assert sm.start_mlflow_tracking_server(TrackingServerName="ts-cycle")["TrackingServerArn"] == SERVERS + "ts-cycle"
    assert status() == "Starting"
    listed = sm.list_mlflow_tracking_servers(TrackingServerStatus="Starting")["TrackingServerSummaries"]
    assert [s["IsActive"] for s in listed if s["TrackingServerName"] == "ts-cycle"] == ["Inactive"]
    control(standin[1], "POST", "/_clock", {"advance": 601})
    assert status() == "Started"
    assert error_of(sm.start_mlflow_tracking_server, TrackingServerName="ghost")["Code"] == "ResourceNotFound"


def test_mlflow_urls_validate_like_sagemaker_and_open_once(sm, standin):
    tracking_server(sm, "ts-url")
    for bad in (dict(ExpiresInSeconds=4), dict(ExpiresInSeconds=301), dict(SessionExpirationDurationInSeconds=1799),
                dict(SessionExpirationDurationInSeconds=43201)):
        assert error_of(sm.create_presigned_mlflow_tracking_server_url, TrackingServerName="ts-url",
                        **bad)["Code"] == "ValidationException"
    assert error_of(sm.create_presigned_mlflow_tracking_server_url, TrackingServerName="ghost")["Code"] == \
        "ResourceNotFound"
    url = sm.create_presigned_mlflow_tracking_server_url(TrackingServerName="ts-url", ExpiresInSeconds=5,
                                                         SessionExpirationDurationInSeconds=1800)["AuthorizedUrl"]
    assert url.startswith(standin[1] + "/mlflow/tracking-servers/ts-url?authToken=")
    assert open_page(url) == (200, {"opened": {"kind": "mlflow-tracking-server", "name": "ts-url",
                                               "arn": SERVERS + "ts-url", "session": 1800}})
    assert open_page(url) == (403, {"refused": "replayed"})
    later = sm.create_presigned_mlflow_tracking_server_url(TrackingServerName="ts-url", ExpiresInSeconds=5)["AuthorizedUrl"]
    control(standin[1], "POST", "/_clock", {"advance": 6})
    assert open_page(later) == (403, {"refused": "expired"})

    arn = mlflow_app(sm, "app-url", owner="a")
    app_id = arn.rsplit("/", 1)[1]
    assert arn.startswith(APPS + "app-")
    url = sm.create_presigned_mlflow_app_url(Arn=arn)["AuthorizedUrl"]
    assert url.startswith(f"{standin[1]}/mlflow/apps/{app_id}?authToken=")
    assert open_page(url.replace(f"/apps/{app_id}?", "/tracking-servers/ts-url?"))[1] == {"refused": "unknown"}
    status, body = open_page(url)
    assert status == 200 and body["opened"] == {"kind": "mlflow-app", "name": "app-url", "arn": arn, "id": app_id,
                                                "session": 43200}
    assert open_page(url) == (403, {"refused": "replayed"})
    for bad in (dict(ExpiresInSeconds=301), dict(SessionExpirationDurationInSeconds=100)):
        assert error_of(sm.create_presigned_mlflow_app_url, Arn=arn, **bad)["Code"] == "ValidationException"
    assert error_of(sm.create_presigned_mlflow_app_url, Arn=APPS + "app-ghost")["Code"] == "ResourceNotFound"
    assert error_of(sm.create_presigned_mlflow_app_url, Arn="arn:aws:sagemaker:us-east-1:123456789012:app/x")["Code"] \
        == "ValidationException"


def test_mlflow_apps_are_described_listed_and_tagged(sm, standin):
    arns = [mlflow_app(sm, f"listed-{i}", owner=str(i)) for i in range(3)]
    described = sm.describe_mlflow_app(Arn=arns[0])
    assert described["Name"] == "listed-0" and described["Status"] == "Created" and described["Arn"] == arns[0]
    pages = list(sm.get_paginator("list_mlflow_apps").paginate(PaginationConfig={"PageSize": 1}))
    listed = {s["Arn"]: s for page in pages for s in page["Summaries"]}
    assert set(arns) <= set(listed) and len(pages) >= 3
    assert set(listed[arns[1]]) == {"Arn", "Name", "CreationTime", "LastModifiedTime", "Status", "MlflowVersion"}
    assert sm.list_tags(ResourceArn=arns[2])["Tags"] == [{"Key": "owner", "Value": "2"}]
    sm.add_tags(ResourceArn=arns[2], Tags=[{"Key": "group", "Value": "g"}])
    assert len(sm.list_tags(ResourceArn=arns[2])["Tags"]) == 2
    assert error_of(sm.describe_mlflow_app, Arn=APPS + "app-none")["Code"] == "ResourceNotFound"
    # A state no call reaches, set for a test: the app is then listed and described in it.
    assert control(standin[1], "POST", "/_mlflow", {"app": arns[0].rsplit("/", 1)[1], "status": "Updating"}) == \
        {"status": "Updating"}
    assert sm.describe_mlflow_app(Arn=arns[0])["Status"] == "Updating"
    with pytest.raises(urllib.error.HTTPError) as refused:
        control(standin[1], "POST", "/_mlflow", {"app": arns[0].rsplit("/", 1)[1], "status": "Started"})
    assert refused.value.code == 400


def test_mlflow_calls_and_url_uses_are_authorized_with_the_resources_tags(standin, sm, iam):
    """A use of an MLflow URL is the MLflow UI's requests as the creating role: the tracking
    server's sagemaker-mlflow actions (AccessUI on "*"), the app's CallMlflowAppApi."""
    owned_server, other_server = tracking_server(sm, "ts-iam-owned", owner="x"), tracking_server(sm, "ts-iam-other")
    owned_app, other_app = mlflow_app(sm, "app-iam-owned", owner="x"), mlflow_app(sm, "app-iam-other")
    tagged = {"Null": {"aws:ResourceTag/owner": "false"}}
    office = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    presign = [{"Effect": "Allow", "Action": ["sagemaker:CreatePresignedMlflowTrackingServerUrl",
                                              "sagemaker:StartMlflowTrackingServer"],
                "Resource": SERVERS + "*", "Condition": {**tagged, **office}},
               {"Effect": "Allow", "Action": "sagemaker:CreatePresignedMlflowAppUrl", "Resource": APPS + "*",
                "Condition": {**tagged, **office}},
               {"Effect": "Allow", "Action": ["sagemaker:ListMlflowTrackingServers", "sagemaker:ListMlflowApps"],
                "Resource": "*"}]
    ui = [{"Effect": "Allow", "Action": "sagemaker-mlflow:*", "Resource": SERVERS + "*", "Condition": {**tagged, **office}},
          {"Effect": "Allow", "Action": "sagemaker-mlflow:AccessUI", "Resource": "*", "Condition": office},
          {"Effect": "Allow", "Action": "sagemaker:CallMlflowAppApi", "Resource": APPS + "*",
           "Condition": {**tagged, **office}}]
    # Presigning alone: the URLs are made, and their MLflow UI refuses every use, even from the office.
    iam(policy(*presign), source={"ip": "10.1.1.1"})
    fn = function_client(standin[0])
    for url in (fn.create_presigned_mlflow_tracking_server_url(TrackingServerName="ts-iam-owned")["AuthorizedUrl"],
                fn.create_presigned_mlflow_app_url(Arn=owned_app)["AuthorizedUrl"]):
        assert open_page(url, **{"X-Local-Source-Ip": "10.2.3.4"}) == \
            (403, {"refused": "insufficient-permissions", "message": "Auth token containing insufficient permissions"})
    # A read-only UI (AccessUI and the Get / Search / List actions) is not the whole session either.
    reads = [{**ui[0], "Action": ["sagemaker-mlflow:Get*", "sagemaker-mlflow:Search*", "sagemaker-mlflow:List*"]},
             ui[1]]
    iam(policy(*presign, *reads), source={"ip": "10.1.1.1"})
    url = fn.create_presigned_mlflow_tracking_server_url(TrackingServerName="ts-iam-owned")["AuthorizedUrl"]
    assert open_page(url, **{"X-Local-Source-Ip": "10.2.3.4"})[0] == 403
    iam(policy(*presign, *ui), source={"ip": "10.1.1.1"})
    assert fn.list_mlflow_tracking_servers()["TrackingServerSummaries"] and fn.list_mlflow_apps()["Summaries"]
    assert denied(fn.describe_mlflow_tracking_server, TrackingServerName="ts-iam-owned")["Error"]["Code"] == \
        "AccessDeniedException"
    message = denied(fn.create_presigned_mlflow_tracking_server_url, TrackingServerName="ts-iam-other")["Error"]["Message"]
    assert f"sagemaker:CreatePresignedMlflowTrackingServerUrl on resource: {other_server} because" in message
    message = denied(fn.create_presigned_mlflow_app_url, Arn=other_app)["Error"]["Message"]
    assert f"sagemaker:CreatePresignedMlflowAppUrl on resource: {other_app} because" in message
    for url in (fn.create_presigned_mlflow_tracking_server_url(TrackingServerName="ts-iam-owned")["AuthorizedUrl"],
                fn.create_presigned_mlflow_app_url(Arn=owned_app)["AuthorizedUrl"]):
        assert open_page(url, **{"X-Local-Source-Ip": "192.0.2.7"}) == \
            (403, {"refused": "insufficient-permissions", "message": "Auth token containing insufficient permissions"})
        assert open_page(url, **{"X-Local-Source-Ip": "10.2.3.4"})[0] == 200
        assert open_page(url, **{"X-Local-Source-Ip": "10.2.3.4"}) == (403, {"refused": "replayed"})
    assert owned_server == SERVERS + "ts-iam-owned"


def test_several_domains_keep_their_own_profiles_spaces_and_apps(sm):
    """DescribeDomain gives each domain's name and ARN; the same profile and space names
    live in two domains apart; a domain that does not exist is ResourceNotFound."""
    sm.create_domain(DomainName="second", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
                     SubnetIds=["subnet-1"], VpcId="vpc-1")
    second = next(d["DomainId"] for d in sm.list_domains()["Domains"] if d["DomainName"] == "second")
    described = sm.describe_domain(DomainId=second)
    assert described["DomainName"] == "second"
    assert described["DomainArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:domain/{second}"
    assert sm.describe_domain(DomainId="d-unit")["DomainName"] == "unit"
    assert error_of(sm.describe_domain, DomainId="d-nowhere")["Code"] == "ResourceNotFound"
    sm.create_user_profile(DomainId=second, UserProfileName="jane", Tags=[{"Key": "owner", "Value": "j2"}])
    sm.create_space(DomainId=second, SpaceName="jane-space", OwnershipSettings={"OwnerUserProfileName": "jane"})
    assert sm.list_tags(ResourceArn=f"arn:aws:sagemaker:us-east-1:123456789012:user-profile/{second}/jane")["Tags"] \
        == [{"Key": "owner", "Value": "j2"}]
    assert [s["DomainId"] for s in sm.list_spaces(DomainIdEquals=second)["Spaces"]] == [second]
    sm.create_app(DomainId=second, SpaceName="jane-space", AppType="JupyterLab", AppName="default")
    assert [a["DomainId"] for a in sm.list_apps(DomainIdEquals=second)["Apps"]] == [second]
    url = sm.create_presigned_domain_url(DomainId=second, UserProfileName="jane")["AuthorizedUrl"]
    assert open_page(url)[1]["opened"]["domain"] == second
