"""The local API Gateway's HTTP API routes (local/gateway.py), without a stack: the route table read
from template.yaml's GateFunction events, matched as API Gateway matches them, and the answers API
Gateway gives itself before any function runs (a preflight from CorsConfiguration, 404 for a method
or path no route has, 401 from a route's authorizer).

    GATEWAY_TEMPLATE=/path/to/other/template.yaml pytest local/tests/test_gateway_routes.py

runs it on another template (an older one from git, say)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from werkzeug.test import Client

from local.gateway import Cors, HttpApi, Route, gateway
from local.iam.render import ROOT, Rendered, load_template, render

TEMPLATE = Path(os.environ.get("GATEWAY_TEMPLATE", ROOT / "template.yaml"))
PORTAL = "https://portal.example.test"
HEADER = "$request.header.Authorization"
QUERY = "$request.querystring.access_token"
STATE_CHANGES = ("/notebook-instances/{name}/start", "/notebook-instances/{name}/stop", "/studio/spaces/{space}/stop")


def concrete(template_path: str) -> str:
    """A request path for a route's path template."""
    return re.sub(r"\{[^/]+\}", "x-1", template_path)


@pytest.fixture(scope="module")
def api() -> HttpApi:
    return HttpApi.from_template(TEMPLATE, portal_origins=(PORTAL,))


class Recorder:
    """Where the gateway would invoke the function: records the events and answers 200."""

    def __init__(self):
        self.events: list[dict] = []

    def invoke(self, event: dict) -> dict:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


class Tokens:
    """The authorizer's decision only: "good" verifies, anything else does not (the checks
    themselves are test_local_stack.py's)."""

    @staticmethod
    def http_api(token: str) -> dict | None:
        return {"sub": "alice", "scope": "openid"} if token == "good" else None


def client(api: HttpApi) -> tuple[Client, Recorder]:
    function = Recorder()
    return Client(gateway(function, Tokens(), "v2", http_api=api)), function


def ask(client: Client, method: str, target: str, headers: dict | None = None):
    # The gateway reads the request target as sent (RAW_URI), as werkzeug's server gives it.
    response = client.open(target, method=method, headers=headers or {}, environ_overrides={"RAW_URI": target})
    return response.status_code, response.headers, response.get_data()


def test_the_routes_are_what_sam_makes_of_the_function_events(api):
    """The table read from the events is the HTTP API SAM deploys: the same (method, path) pairs,
    each behind the authorizer whose identity source the gateway reads."""
    rendered: Rendered = render({}, template_path=TEMPLATE)
    body = rendered.resources["GateApi"]["Properties"]["Body"]
    sources = {name: scheme["x-amazon-apigateway-authorizer"]["identitySource"]
               for name, scheme in body["components"]["securitySchemes"].items()}
    deployed = {}
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            key = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            (scheme,) = operation["security"][0]
            deployed[(key, path)] = sources[scheme]
    assert {(r.method, r.path): r.identity_source for r in api.routes} == deployed


def test_launch_routes_read_the_query_token_and_every_other_route_the_header(api):
    for route in api.routes:
        assert route.identity_source == (QUERY if route.path.startswith("/launch/") else HEADER), route.key


@pytest.mark.parametrize("path", STATE_CHANGES)
def test_a_state_change_is_a_post_route_and_no_route_takes_its_preflight(api, path):
    request_path = concrete(path)
    route = api.route("POST", request_path)
    assert route is not None and route.key == f"POST {path}" and route.identity_source == HEADER
    for method in ("OPTIONS", "GET", "PUT", "DELETE"):
        assert api.route(method, request_path) is None, method


def test_the_cors_configuration_is_the_templates_with_the_portal_origin(api):
    config = load_template(TEMPLATE)["Resources"]["GateApi"]["Properties"]["CorsConfiguration"]
    assert api.cors == Cors((PORTAL,), tuple(config["AllowMethods"]), tuple(config["AllowHeaders"]), config["MaxAge"])
    assert "POST" in api.cors.allow_methods and "authorization" in api.cors.allow_headers


def test_an_exact_method_comes_before_any_and_a_literal_path_before_a_variable():
    def route(method, path, source=HEADER):
        return Route(method, path, source, re.compile("^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(path)) + "$"))

    api = HttpApi([route("ANY", "/pets/{id}"), route("GET", "/pets/{id}"), route("GET", "/pets/dog", "")], None)
    assert api.route("GET", "/pets/7").key == "GET /pets/{id}"
    assert api.route("DELETE", "/pets/7").key == "ANY /pets/{id}"
    assert api.route("GET", "/pets/dog").key == "GET /pets/dog"
    assert api.route("GET", "/pets/7/toys") is None  # a path variable is one segment


def test_a_browser_preflight_for_every_route_gets_the_cors_answer_without_a_token(api):
    """What the portal's fetch sends before a POST with an Authorization header: API Gateway
    answers it from CorsConfiguration and the function never runs."""
    gate, function = client(api)
    for route in api.routes:
        status, headers, body = ask(gate, "OPTIONS", concrete(route.path), {
            "Origin": PORTAL, "Access-Control-Request-Method": route.method,
            "Access-Control-Request-Headers": "authorization"})
        assert status == 204, (route.key, status, body)
        assert headers["Access-Control-Allow-Origin"] == PORTAL, route.key
        assert route.method in [m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")], route.key
        assert "authorization" in headers["Access-Control-Allow-Headers"], route.key
        assert headers["Access-Control-Max-Age"] == "600"
    assert function.events == []


def test_a_preflight_from_another_origin_gets_no_cors_headers(api):
    gate, function = client(api)
    status, headers, _ = ask(gate, "OPTIONS", "/notebook-instances/x-1/start", {
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert status == 204 and "Access-Control-Allow-Origin" not in headers
    assert function.events == []


@pytest.mark.parametrize("method, target", [
    ("GET", "/notebook-instances/x-1/start"), ("PUT", "/notebook-instances/x-1/stop"),
    ("DELETE", "/studio/spaces/x-1/stop"), ("POST", "/targets"), ("DELETE", "/targets"),
    ("GET", "/nowhere"), ("GET", "/notebook-instances/x-1/extra"), ("GET", "/"),
])
def test_a_method_or_path_no_route_has_is_api_gateways_404_with_a_token_or_without(api, method, target):
    gate, function = client(api)
    for headers in ({}, {"Authorization": "Bearer good"}):
        status, response_headers, body = ask(gate, method, target, headers)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), (method, target)
        assert response_headers["Content-Type"] == "application/json"
    assert function.events == []


def test_an_options_an_authorized_any_route_matches_meets_its_authorizer():
    """The trap a state change fell into as `ANY`: the route takes the preflight, which carries no
    token, so its authorizer answers 401 and API Gateway never answers from CorsConfiguration."""
    api = HttpApi([Route("ANY", "/notebook-instances/{name}/start", HEADER,
                         re.compile(r"^/notebook\-instances/[^/]+/start$"))],
                  Cors((PORTAL,), ("GET", "POST", "OPTIONS"), ("authorization",), 600))
    gate, function = client(api)
    status, headers, body = ask(gate, "OPTIONS", "/notebook-instances/x-1/start", {
        "Origin": PORTAL, "Access-Control-Request-Method": "POST"})
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    assert "Access-Control-Allow-Origin" not in headers
    assert function.events == []


def test_a_post_with_a_token_reaches_the_function_as_its_route(api):
    gate, function = client(api)
    status, _, _ = ask(gate, "POST", "/notebook-instances/x-1/start", {"Authorization": "Bearer good"})
    assert status == 200
    (event,) = function.events
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "POST /notebook-instances/{name}/start"
    assert event["rawPath"] == "/notebook-instances/x-1/start"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "alice"


def test_each_route_reads_the_token_only_where_its_authorizer_does(api):
    gate, function = client(api)
    # A launch route: the query's access_token only.
    assert ask(gate, "GET", "/launch/studio", {"Authorization": "Bearer good"})[0] == 401
    assert ask(gate, "GET", "/launch/studio?access_token=good")[0] == 200
    # A state change: the header only.
    assert ask(gate, "POST", "/notebook-instances/x-1/stop?access_token=good")[0] == 401
    assert ask(gate, "POST", "/notebook-instances/x-1/stop", {"Authorization": "Bearer good"})[0] == 200
    assert [e["routeKey"] for e in function.events] == ["GET /launch/studio", "POST /notebook-instances/{name}/stop"]
