"""`GET /targets` at account scale, end to end through the local API Gateway, the real binary and
the stand-in: in accounts of 0, 1, 101 and 1,000 notebook instances each person's list is exactly
what their tags give them (their own, their group's; nobody else's, nothing untagged), and the
notebook-side calls a list makes depend on what the caller has, not on how many the account holds.
The list comes from the Tagging API's index, which lags behind a tag change: while it does, a
notebook instance it still shows opens nothing for someone it is no longer tagged for.

The module's stack is its own (conftest's `stack`, one per module), so the seeded notebook
instances are replaced here without touching any other module's world; the account grows once,
0 → 1 → 101 → 1,000, and each size's lists and call logs are kept for the tests to read. A test
that changes the stand-in (the index's delay, a tag) puts it back.
"""

from __future__ import annotations

import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from local.stack import GROUP, OWNER, client

SIZES = (0, 1, 101, 1000)
ROLE = "arn:aws:iam::123456789012:role/notebook-demo"
# People minted beside the seeded alice (group ml-team) and bob (group analysts): dana owns the
# account's first notebook instance and nothing else, her group nothing; erin (no groups) owns 120
# from 1,000 on, more than one page of the Tagging API's answer (100).
DANA = "00000000-0000-4000-8000-00000000da4a"
ERIN = "00000000-0000-4000-8000-00000000e414"
ERIN_OWNS = 120
INDEX_DELAY_SECONDS = 300
# The notebook side of /targets: the Tagging API's GetResources and SageMaker's notebook calls.
NOTEBOOK_OPERATIONS = {"ListNotebookInstances", "DescribeNotebookInstance"}


def specs(subs: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """The account's notebook instances in the order they are made: the account of size n holds
    the first n. The first is dana's; among the first 101 are alice's five and her group's two,
    bob's and his group's, and tags that only look like someone's (a sub under the group key, a
    group under the owner key, another key); after them, untagged ones and other people's, erin's
    120 among them."""
    alice, bob = subs["alice"], subs["bob"]
    first = [("dana-0", [(OWNER, DANA)])]
    mixed = [("alice-0", [(OWNER, alice)]), ("alice-1", [(OWNER, alice)]), ("alice-2", [(OWNER, alice), ("project", "x")]),
             ("alice-3", [(OWNER, alice)]), ("alice-4", [(OWNER, alice)]),
             ("ml-team-0", [(GROUP, "ml-team")]), ("ml-team-1", [(GROUP, "ml-team"), ("cost-centre", "42")]),
             ("bob-0", [(OWNER, bob)]), ("bob-1", [(OWNER, bob)]), ("analysts-0", [(GROUP, "analysts")]),
             ("looks-alice-group", [(GROUP, alice)]), ("looks-ml-team-owner", [(OWNER, "ml-team")]),
             ("other-key", [("owner", alice)]), ("other-group", [(GROUP, "ml-team-2")])]
    fill = [(f"fill-{i:04}", [] if i % 2 else [(OWNER, f"00000000-0000-4000-9000-{i:012}")])
            for i in range(1, 101 - len(mixed))]
    head = first + mixed + fill
    assert len(head) == 101
    rest, erins = [], 0
    for i in range(101, 1000):
        if i % 7 == 0 and erins < ERIN_OWNS:
            rest.append((f"erin-{i:04}", [(OWNER, ERIN)]))
            erins += 1
        else:
            rest.append((f"fill-{i:04}", [] if i % 2 else [(OWNER, f"00000000-0000-4000-9000-{i:012}")]))
    assert sum(1 for name, _ in rest if name.startswith("erin")) == ERIN_OWNS
    return head + rest


def theirs(account: list, sub: str, groups: list[str]) -> set[str]:
    """What the rule gives a person: an owner tag naming them or a group tag naming their group."""
    return {name for name, tags in account
            if (OWNER, sub) in tags or any(key == GROUP and value in groups for key, value in tags)}


@dataclass
class Seen:
    """One person's /targets in an account of one size."""

    listed: list[str]  # in the answer's order
    expected: set[str]  # what their tags give them
    own: int  # how many of those carry their owner tag
    groups: list[str]
    log: list[dict]  # the stand-in's calls during the request

    def index_calls(self) -> int:
        """GetResources calls the gate's design makes for this: pages of 100 for the owner tag,
        and one per 20 groups (each matching fewer than 100 here)."""
        return max(1, math.ceil(self.own / 100)) + math.ceil(len(self.groups) / 20)


class Account:
    """The module's account, seeded with an admin's calls (neither slowed nor judged by IAM)."""

    def __init__(self, stack):
        self.stack = stack
        self.admin = client("sagemaker", stack.state["moto"])
        self.names: list[str] = []

    def empty(self):
        pages = self.admin.get_paginator("list_notebook_instances").paginate()
        for instance in [i for page in pages for i in page["NotebookInstances"]]:
            if instance["NotebookInstanceStatus"] == "InService":
                self.admin.stop_notebook_instance(NotebookInstanceName=instance["NotebookInstanceName"])
            self.admin.delete_notebook_instance(NotebookInstanceName=instance["NotebookInstanceName"])

    def grow(self, specs: list):
        local = threading.local()

        def create(spec):
            if not hasattr(local, "admin"):
                local.admin = client("sagemaker", self.stack.state["moto"])
            name, tags = spec
            local.admin.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE,
                                                 Tags=[{"Key": k, "Value": v} for k, v in tags])

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create, specs))
        self.names.extend(name for name, _ in specs)

    def arn(self, name: str) -> str:
        return self.admin.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceArn"]


def listed(stack, token: str) -> list[str]:
    status, _, body = stack.get("/targets", token)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["someNotebookInstancesUnchecked"] is False
    return [n["name"] for n in answer["notebookInstances"]]


def notebook_side(log: list[dict]) -> list[dict]:
    return [c for c in log if c["operation"] == "GetResources" or c["operation"] in NOTEBOOK_OPERATIONS
            or (c["operation"] == "ListTags" and ":notebook-instance/" in c["input"].get("ResourceArn", ""))]


@pytest.fixture(scope="module")
def people(stack) -> dict:
    """Each caller's token, sub and groups: alice and bob as seeded, dana and erin minted."""
    subs = stack.state["subs"]
    return {
        "alice": (stack.token("alice"), subs["alice"], ["ml-team"]),
        "bob": (stack.token("bob"), subs["bob"], ["analysts"]),
        "dana": (stack.mint("bob", sub=DANA, username="dana", **{"cognito:groups": ["platform"]}), DANA, ["platform"]),
        "erin": (stack.mint("bob", sub=ERIN, username="erin", **{"cognito:groups": None}), ERIN, []),
    }


@pytest.fixture(scope="module")
def account(stack) -> Account:
    return Account(stack)


@pytest.fixture(scope="module")
def sizes(stack, people, account) -> dict:
    """The account at each size, smallest first: {size: {caller: Seen}}. Leaves it at 1,000."""
    account.empty()
    every = specs(stack.state["subs"])
    seen = {}
    for size in SIZES:
        account.grow(every[len(account.names):size])
        seen[size] = {}
        for caller, (token, sub, groups) in people.items():
            stack.control("DELETE", "/_calls")
            names = listed(stack, token)
            own = sum(1 for _, tags in every[:size] if (OWNER, sub) in tags)
            seen[size][caller] = Seen(names, theirs(every[:size], sub, groups), own, groups,
                                      stack.control("GET", "/_calls"))
    return seen


@pytest.mark.parametrize("size", SIZES)
def test_each_list_is_exactly_the_callers_own_and_their_groups_at_every_account_size(sizes, size):
    for caller, seen in sizes[size].items():
        assert len(seen.listed) == len(set(seen.listed)), f"{caller} at {size}: listed twice: {seen.listed}"
        assert set(seen.listed) == seen.expected, f"{caller} at {size}"
    if size >= 1:
        assert sizes[size]["dana"].listed == ["dana-0"]
    if size >= 101:
        assert set(sizes[size]["alice"].listed) == {"alice-0", "alice-1", "alice-2", "alice-3", "alice-4",
                                                    "ml-team-0", "ml-team-1"}
        assert set(sizes[size]["bob"].listed) == {"bob-0", "bob-1", "analysts-0"}
    assert not any(name.startswith(("fill-", "looks-", "other-")) for seen in sizes[size].values()
                   for name in seen.listed)


def test_a_list_longer_than_one_page_of_the_index_is_complete(sizes):
    erin = sizes[1000]["erin"]
    assert len(erin.expected) == ERIN_OWNS and set(erin.listed) == erin.expected
    assert [c["operation"] for c in erin.log].count("GetResources") == 2  # pages of 100, no groups


def test_notebook_side_calls_grow_with_the_callers_notebooks_not_with_the_account(sizes):
    # dana's one notebook instance, alone in the account and among 1,000: the same calls.
    alone, among = (notebook_side(sizes[size]["dana"].log) for size in (1, 1000))
    assert sorted(c["operation"] for c in alone) == sorted(c["operation"] for c in among) == \
        ["DescribeNotebookInstance", "GetResources", "GetResources"]
    for size in SIZES:
        for caller, seen in sizes[size].items():
            operations = [c["operation"] for c in notebook_side(seen.log)]
            # Nothing listed or read per notebook instance in the account: GetResources for the
            # owner tag and the groups, one describe per notebook instance listed.
            assert "ListNotebookInstances" not in operations and "ListTags" not in operations, (caller, size)
            assert operations.count("GetResources") == seen.index_calls(), (caller, size, operations)
            assert operations.count("DescribeNotebookInstance") == len(seen.listed), (caller, size)
    assert len(notebook_side(sizes[1000]["alice"].log)) == 2 + 7 <= 12


def test_a_notebook_the_lagging_index_still_shows_opens_nothing_once_its_owner_tag_is_gone(stack, sizes, people,
                                                                                            account):
    assert len(account.names) == 1000
    alice, sub, _groups = people["alice"]
    bob = people["bob"][0]
    arn = account.arn("alice-3")
    stack.control("POST", "/_tagging", {"delaySeconds": INDEX_DELAY_SECONDS})
    try:
        account.admin.delete_tags(ResourceArn=arn, TagKeys=[OWNER])
        assert "alice-3" in listed(stack, alice)  # the index has not seen the change yet

        stack.control("DELETE", "/_calls")
        status, _, body = stack.get("/notebook-instances/alice-3", alice)
        presigns = [c for c in stack.control("GET", "/_calls") if c["operation"].startswith("CreatePresigned")]
        other_status, _, other_body = stack.get("/notebook-instances/alice-3", bob)
        assert status == other_status == 404, body
        assert {**json.loads(body)["error"], "requestId": ""} == {**json.loads(other_body)["error"], "requestId": ""}
        assert presigns == []

        stack.control("POST", "/_clock", {"advance": INDEX_DELAY_SECONDS + 1})
        names = listed(stack, alice)
        assert "alice-3" not in names
        assert set(names) == {"alice-0", "alice-1", "alice-2", "alice-4", "ml-team-0", "ml-team-1"}
    finally:
        stack.control("DELETE", "/_tagging")
        account.admin.add_tags(ResourceArn=arn, Tags=[{"Key": OWNER, "Value": sub}])
    assert "alice-3" in listed(stack, alice)
    assert stack.get("/notebook-instances/alice-3", alice)[0] == 200
