"""The private deployment (template parameter ApiVisibility=Private) on this machine: the network
parameters the local stack deploys it with, where a request "comes from", and API Gateway's
resource policy check of the private REST API, evaluated by the same IAM evaluator that enforces
the function's role (local/iam/evaluator.py).

    guard = ResourcePolicy(rendered.private_api(), evaluator)
    refusal = guard.refusal("GET", "/targets", {"aws:SourceVpce": "vpce-..."})   # None: invoke

Where a request comes from is what API Gateway learns from the network. Locally a request says it
with `X-Local-Source-Vpce` (through that endpoint) or `X-Local-Source-Ip` (from that address, not
through any endpoint); a request that says nothing comes through the first execute-api endpoint,
as a browser on the company network does. Only this local gateway trusts those headers (it listens
on 127.0.0.1), and it removes them before the function sees the request.
"""

from __future__ import annotations

import json
import re

from local.iam.evaluator import ANONYMOUS, InvalidRequest
from local.iam.render import PrivateApi

# The private network as the local stack deploys it: made-up ids in the template's patterns.
LOCAL_NETWORK = {
    "ExecuteApiVpcEndpointIds": "vpce-0e0e0e0e0e0e0e0e0",  # people's browsers reach the API through it
    "SubnetIds": "subnet-0a0a0a0a0a0a0a0a0",
    "SecurityGroupIds": "sg-0a0a0a0a0a0a0a0a0",
    "SageMakerApiVpcEndpointId": "vpce-0a1a1a1a1a1a1a1a1",  # the function presigns through it
    "SageMakerUrlVpcEndpointIds": "vpce-0b5b5b5b5b5b5b5b5",  # people open Studio / notebooks through it
}
SOURCE_VPCE_HEADER = "X-Local-Source-Vpce"
SOURCE_IP_HEADER = "X-Local-Source-Ip"


def private_parameters(given: dict) -> dict:
    """template.yaml parameters for a private deployment: ApiVisibility=Private and LOCAL_NETWORK,
    where `given` (the stack's --param values) does not say otherwise."""
    return {"ApiVisibility": "Private", **LOCAL_NETWORK, **given}


def first(ids: str) -> str:
    return ids.split(",")[0].strip()


def request_source(headers, default_vpce: str) -> dict:
    """The condition keys of where a request comes from (see the module's doc)."""
    vpce = headers.get(SOURCE_VPCE_HEADER, "")
    ip = headers.get(SOURCE_IP_HEADER, "")
    if vpce:
        return {"aws:SourceVpce": vpce}
    if ip:
        return {"aws:SourceIp": ip}
    return {"aws:SourceVpce": default_vpce}


def without_source_headers(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k.lower() not in (SOURCE_VPCE_HEADER.lower(), SOURCE_IP_HEADER.lower())}


def path_pattern(template: str) -> re.Pattern:
    # /notebook-instances/{name} -> one path segment per parameter, as API Gateway matches resources
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


class ResourcePolicy:
    """API Gateway in front of the private REST API: the resource policy, then the routes."""

    def __init__(self, api: PrivateApi, evaluator):
        self.api = api
        self.evaluator = evaluator
        self.routes = [(method, path_pattern(path), operation) for (method, path), operation in api.routes().items()]

    def operation(self, method: str, path: str) -> dict | None:
        """The method that answers `method` on `path`, or None. A method the resource declares comes
        before its `ANY`, which "will catch any HTTP method that wasn't explicitly declared"
        (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-any-method.html):
        so an `options` without security answers a preflight beside an `ANY` with the authorizer."""
        matches = [(route_method, operation) for route_method, pattern, operation in self.routes
                   if route_method in (method, "ANY") and pattern.match(path)]
        return min(matches, key=lambda m: m[0] == "ANY", default=(None, None))[1]

    def authorized(self, method: str, path: str) -> bool:
        """Whether the method that answers runs the Cognito authorizer (it lists `security`)."""
        operation = self.operation(method, path)
        return bool(operation and operation.get("security"))

    def refusal(self, method: str, path: str, source: dict) -> tuple[int, bytes] | None:
        """API Gateway's answer when it refuses the request before any authorizer or function, or None.

        The resource policy first: a request it does not allow gets 403 with the message API Gateway
        gives (the account masked, as API Gateway masks it). Then the routes: a REST API answers a
        method or path it does not have (the `/launch/...` routes, say) with 403 "Missing
        Authentication Token"."""
        resource = self.api.method_arn(method, path)
        try:
            decision = self.evaluator.evaluate("execute-api:Invoke", resource, ANONYMOUS, [], source,
                                               resource_policy=self.api.policy)
        except InvalidRequest:
            # The root path (`.../GET/`): AWS's authorization data has no ARN with an empty resource
            # path. The policy names the whole API (`<api>/*`), so the decision is the same for any
            # path under the stage: take one that has a segment.
            decision = self.evaluator.evaluate("execute-api:Invoke", self.api.method_arn(method, "/-"), ANONYMOUS,
                                               [], source, resource_policy=self.api.policy)
        if not decision.allowed:
            masked = re.sub(r":(\d{8})(\d{4}):", r":********\2:", resource)
            how = " with an explicit deny" if decision.result == "ExplicitlyDenied" else ""
            message = f"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {masked}{how}"
            return 403, json.dumps({"Message": message}).encode()
        if self.operation(method, path) is None:
            return 403, b'{"message":"Missing Authentication Token"}'
        return None


def local_gate(parameters: dict, rendered, evaluator, portal_origin: str) -> dict:
    """LocalGateway's options for a private deployment rendered with `parameters`: the resource
    policy, the endpoint a request that says nothing comes through, and the origin API Gateway's
    own 4xx carry (the template's gateway responses name the portal's)."""
    return {"private": ResourcePolicy(rendered.private_api(), evaluator),
            "default_vpce": first(",".join(parameters["ExecuteApiVpcEndpointIds"])),
            "error_origin": portal_origin}


def describe(parameters: dict) -> dict:
    """The private network of a deployment, for the local stack's state and output."""
    join = lambda v: ",".join(v) if isinstance(v, list) else v  # noqa: E731 (CommaDelimitedList values are lists)
    return {"executeApiVpce": first(join(parameters["ExecuteApiVpcEndpointIds"])),
            "sageMakerApiVpce": parameters["SageMakerApiVpcEndpointId"],
            "urlVpce": first(join(parameters["SageMakerUrlVpcEndpointIds"]))}
