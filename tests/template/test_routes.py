"""The gate's route table (`ROUTES` in src/routes.rs) is the one list of routes: the HTTP API's
events in template.yaml, the private REST API's paths and the route table of docs/routes.md must
say the same, so a route added in one place and not the others fails here."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local.iam import render as iam_render  # noqa: E402

PRIVATE = {"ApiVisibility": "Private", "ExecuteApiVpcEndpointIds": "vpce-0e1e1e1e1e1e1e1e1",
           "SubnetIds": "subnet-0abc1234", "SecurityGroupIds": "sg-0abc1234",
           "SageMakerApiVpcEndpointId": "vpce-0a1a1a1a1a1a1a1a1",
           "SageMakerUrlVpcEndpointIds": "vpce-0b2b2b2b2b2b2b2b2"}
TOKEN_AUTHORIZERS = {"Header": "HeaderToken", "Query": "QueryToken"}


def gate_routes() -> list[tuple[str, str, str]]:
    """(method, path, token) of every entry of `ROUTES`, in order."""
    source = (ROOT / "src/routes.rs").read_text()
    table = source[source.index("pub const ROUTES"):]
    table = table[:table.index("\n];")]
    routes = re.findall(r'route\(\s*"([^"]+)",\s*"(GET|POST)",\s*(Header|Query),', table)
    assert len(routes) == table.count("route("), "an entry of ROUTES this reader cannot parse"
    return [(method, path, token) for path, method, token in routes]


def test_the_reader_finds_every_route():
    routes = gate_routes()
    assert ("GET", "/targets", "Header") in routes
    assert ("POST", "/studio/spaces/{space}/stop", "Header") in routes
    assert ("GET", "/launch/studio", "Query") in routes
    assert len(routes) == len(set(routes))


def test_the_http_apis_events_are_the_route_table():
    events = iam_render.load_template()["Resources"]["GateFunction"]["Properties"]["Events"]
    declared = {(e["Properties"]["Method"].upper(), e["Properties"]["Path"], e["Properties"]["Auth"]["Authorizer"])
                for e in events.values() if e["Type"] == "HttpApi"}
    assert declared == {(method, path, TOKEN_AUTHORIZERS[token]) for method, path, token in gate_routes()}


def test_the_private_apis_paths_are_the_route_table_without_launch():
    routes = iam_render.render(PRIVATE).private_api().routes()
    paths = {path for method, path in routes if method != "OPTIONS"}
    wanted = {path for _, path, token in gate_routes() if token == "Header"}
    assert paths == wanted
    # Each answers its preflight, and a navigation route (token in the URL) is never private.
    assert {path for method, path in routes if method == "OPTIONS"} == wanted


def test_the_docs_route_table_lists_every_route():
    text = (ROOT / "docs/routes.md").read_text()
    table = text[text.index("| route | does |"):]
    table = table[:table.index("\n\n")]
    for method, path, _ in gate_routes():
        assert f"`{method} {path}`" in table, f"{method} {path} is missing from docs/routes.md's route table"
