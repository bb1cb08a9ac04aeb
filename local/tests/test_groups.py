"""Group claims, end to end through the local API Gateway's authorizer shapes: a
Cognito group whose name holds a separator, quote or bracket never opens what is shared with
another group. Bob's tokens are minted as a pool would issue them had an admin put him in such
groups (`Stack.mint`, moto's signing key); `ml-team-shared` is shared with `ml-team` only.
"""

from __future__ import annotations

import json

import pytest

SHARED = "ml-team-shared"


def listed(stack, token: str) -> set[str]:
    status, _, body = stack.get("/targets", token)
    assert status == 200, body
    return {n["name"] for n in json.loads(body)["notebookInstances"]}


@pytest.mark.parametrize("groups", [
    ["analysts", "ops,ml-team"],
    ["\"ml-team\""],
    ["[ml-team]", "analysts"],
    ["ml-team]", "[ml-team"],
])
def test_http_api_group_names_with_separators_open_nothing_of_another_group(stack, groups):
    token = stack.mint("bob", **{"cognito:groups": groups})
    assert SHARED not in listed(stack, token)
    status, _, body = stack.get(f"/notebook-instances/{SHARED}", token)
    assert status == 404, body


def test_a_real_member_still_opens_the_shared_notebook(stack):
    token = stack.mint("bob", **{"cognito:groups": ["analysts", "ml-team"]})
    assert SHARED in listed(stack, token)
    assert stack.get(f"/notebook-instances/{SHARED}", token)[0] == 200


@pytest.mark.parametrize("groups", [["\"ml-team\""], ["[ml-team]", "analysts"]])
def test_rest_api_quoted_or_bracketed_group_names_open_nothing(rest_stack, groups):
    # REST API joins groups with commas: a name with a comma cannot be told from two there (the
    # documented limit), but quotes and brackets are never stripped.
    token = rest_stack.mint("bob", **{"cognito:groups": groups})
    assert SHARED not in listed(rest_stack, token)


def test_a_caller_in_many_groups_is_looked_up_twenty_groups_a_query(stack):
    """GET /targets asks the Tagging API once for the owner tag and once per 20 groups (a tag
    filter holds at most 20 values), and a group past the first 20 still shares its notebook."""
    groups = [f"team-{i:02}" for i in range(24)] + ["ml-team"]
    token = stack.mint("bob", **{"cognito:groups": groups})
    stack.control("DELETE", "/_calls")
    assert listed(stack, token) == {"bob-archive", "bob-reports", SHARED}
    finds = [c["input"]["TagFilters"] for c in stack.control("GET", "/_calls") if c["operation"] == "GetResources"]
    (owner,) = [f for f in finds if f[0]["Key"] == "notebook-gate:owner"]
    assert owner == [{"Key": "notebook-gate:owner", "Values": [stack.state["subs"]["bob"]]}]
    by_group = [f for f in finds if f[0]["Key"] == "notebook-gate:group"]
    assert len(finds) == 3 and len(by_group) == 2
    assert all(len(f) == 1 and len(f[0]["Values"]) <= 20 for f in by_group)
    assert sorted(v for f in by_group for v in f[0]["Values"]) == sorted(groups)
