"""local/private_api.py without a stack: API Gateway's check of the private REST API as the local
gateway runs it (the resource policy rendered from template.yaml and evaluated by the IAM
evaluator, then the routes), and where a request comes from."""

from __future__ import annotations

import json

import pytest

from local.iam.evaluator import Evaluator
from local.iam.render import render
from local.private_api import LOCAL_NETWORK, ResourcePolicy, private_parameters, request_source, without_source_headers

ENDPOINT = LOCAL_NETWORK["ExecuteApiVpcEndpointIds"]
INSIDE = {"aws:SourceVpce": ENDPOINT}


@pytest.fixture(scope="module")
def guard():
    with Evaluator() as evaluator:
        yield ResourcePolicy(render(private_parameters({"StudioDomainId": "d-abc123"})).private_api(), evaluator)


@pytest.mark.parametrize("method, path", [
    ("GET", "/targets"), ("GET", "/notebook-instances/alice-analysis"), ("GET", "/studio"),
    ("POST", "/notebook-instances/alice-gpu/start"), ("GET", "/notebook-instances/alice-gpu/stop"),
    ("DELETE", "/studio/spaces/alice-private/stop"), ("OPTIONS", "/targets"),
    ("GET", "/mlflow/tracking-servers/alice-mlflow"), ("GET", "/mlflow/apps/app-0123"),
])
def test_a_route_of_the_api_through_the_endpoint_goes_on(guard, method, path):
    assert guard.refusal(method, path, INSIDE) is None


@pytest.mark.parametrize("method, path", [
    ("GET", "/launch/notebook-instances/alice-analysis"), ("GET", "/launch/studio"),
    ("POST", "/targets"),  # GET only, as on the HTTP API
    ("GET", "/notebook-instances/alice/extra"),  # {name} is one path segment
    ("GET", "/notebook-instances/"), ("GET", "/"), ("GET", "/mlflow/apps"),
])
def test_a_method_or_path_the_api_lacks_is_missing_authentication_token(guard, method, path):
    assert guard.refusal(method, path, INSIDE) == (403, b'{"message":"Missing Authentication Token"}')


@pytest.mark.parametrize("path", ["/targets", "/notebook-instances/alice-gpu/start", "/studio/spaces/alice-private/stop"])
def test_a_preflight_skips_the_authorizer_and_every_other_method_runs_it(guard, path):
    """Each resource declares `options` without security; a state change's `ANY` (with the
    authorizer) takes only the methods the resource does not declare, so not the preflight."""
    assert guard.authorized("OPTIONS", path) is False
    methods = ("GET",) if path == "/targets" else ("POST", "GET", "DELETE")
    for method in methods:
        assert guard.authorized(method, path) is True, method


@pytest.mark.parametrize("source", [{"aws:SourceIp": "203.0.113.9"}, {"aws:SourceVpce": "vpce-0999999999999999a"}, {}])
def test_from_elsewhere_the_policy_refuses_before_the_routes(guard, source):
    for path in ("/targets", "/launch/studio"):
        status, body = guard.refusal("GET", path, source)
        message = json.loads(body)["Message"]
        assert status == 403
        assert message == ("User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
                           f"arn:aws:execute-api:us-east-1:********9012:local/api/GET{path} with an explicit deny")


def test_where_a_request_comes_from():
    assert request_source({}, ENDPOINT) == {"aws:SourceVpce": ENDPOINT}
    assert request_source({"X-Local-Source-Ip": "203.0.113.9"}, ENDPOINT) == {"aws:SourceIp": "203.0.113.9"}
    assert request_source({"X-Local-Source-Vpce": "vpce-1", "X-Local-Source-Ip": "10.0.0.5"}, ENDPOINT) \
        == {"aws:SourceVpce": "vpce-1"}
    # The function never sees the local stack's own markers.
    assert without_source_headers({"x-local-source-ip": "1", "X-Local-Source-Vpce": "v", "Accept": "a"}) == {"Accept": "a"}


def test_the_local_network_overrides_nothing_given():
    assert private_parameters({"SubnetIds": "subnet-0123abcd"})["SubnetIds"] == "subnet-0123abcd"
    assert private_parameters({})["ApiVisibility"] == "Private"
    assert render(private_parameters({})).broken_rules() == []
