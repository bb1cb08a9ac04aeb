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
