"""Concurrency, end to end: with every SageMaker call taking 100 ms, as in a region, the
real binary behind the local API Gateway makes an open's two ownership reads together and the
presign only after both have answered, and lists a caller's 24 notebook instances, in an account
of 67, in about 1 + ⌈24/8⌉ waves: the Tagging API's GetResources queries together, then
DescribeNotebookInstance for the caller's notebooks only, 8 at a time, with Studio read beside.

Everything here is read from the stand-in's call log, where each call carries when it arrived and
when its answer was ready (`started`, `ended`, on the stand-in's own clock): the tests assert the
order and overlap of those intervals, not wall-clock figures, so that a loaded 2-core machine
cannot fail them. The one wall-clock assertion is loose, and fails only if the calls ran in turn.
"""

from __future__ import annotations

import json
import math
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from local.call_log import critical_path, max_in_flight, overlap, round_trips
from local.iam.stack import FUNCTION_ACCESS_KEY_ID
from local.stack import client
from local.tests.conftest import module_stack

LATENCY_MS = 100
LATENCY = LATENCY_MS / 1000
DESCRIBES_IN_FLIGHT = 8  # src/calls.rs TAG_LOOKUPS_IN_FLIGHT: describes /targets keeps in flight at once
# For the /targets tests: alice's notebook instances (the seed gives her 3: two by her owner tag,
# one by her group's) and everyone else's, which /targets must never read.
ALICE_NOTEBOOKS = 24
OTHER_NOTEBOOKS = 40
OWNER, GROUP = "notebook-gate:owner", "notebook-gate:group"

stack = module_stack("stack", "--sagemaker-latency-ms", str(LATENCY_MS))

NOTEBOOK_READS = ("DescribeNotebookInstance", "ListTags")
NOTEBOOK_PRESIGN = "CreatePresignedNotebookInstanceUrl"
STUDIO_READS = ("ListTags", "DescribeSpace")
STUDIO_PRESIGN = "CreatePresignedDomainUrl"


# --- reading the call log -----------------------------------------------------------------------


def calls(stack) -> list[dict]:
    """The SageMaker calls since the log was last cleared, each with its `started` / `ended`."""
    return stack.control("GET", "/_calls")


def clear(stack):
    stack.control("DELETE", "/_calls")


def named(log: list[dict], operation: str) -> list[dict]:
    return [c for c in log if c["operation"] == operation]


def get(stack, path: str, token: str) -> tuple[int, float]:
    """The status of a GET as a browser sends it (an open answers 302) and how long it took, seen
    from the client."""
    started = time.monotonic()
    status, _headers, _body = stack.get(path, token, accept="text/html")
    return status, time.monotonic() - started


@pytest.fixture(autouse=True)
def no_faults(stack):
    yield
    stack.control("DELETE", "/_faults")


# --- the measures themselves, on made-up intervals --------------------------------------------------


def interval(started: float, ended: float) -> dict:
    return {"operation": "X", "started": started, "ended": ended}


def test_round_trips_count_calls_made_in_turn_and_calls_made_together_once():
    together = [interval(0, 1), interval(0.1, 1.1)]
    assert round_trips(together) == 1 and max_in_flight(together) == 2 and overlap(*together)
    in_turn = [interval(0, 1), interval(1, 2), interval(2.5, 3)]
    assert round_trips(in_turn) == 3 and max_in_flight(in_turn) == 1 and not overlap(in_turn[0], in_turn[1])
    # An open: two reads together, then the presign once both answered.
    assert round_trips([interval(0, 1), interval(0.2, 1.3), interval(1.4, 2)]) == 2
    # A presign that started while a read was still in flight is not after it.
    assert round_trips([interval(0, 1), interval(0.2, 1.3), interval(1.1, 2)]) == 2
    assert round_trips([]) == 0


def test_the_critical_path_is_the_longest_time_spent_in_calls_made_in_turn():
    # An open: the slower read (1.3), then the presign (0.6); the gap between them is the caller's.
    assert critical_path([interval(0, 1), interval(0.2, 1.5), interval(1.6, 2.2)]) == pytest.approx(1.9)
    # Calls made together count once, by the longest of them.
    assert critical_path([interval(0, 1), interval(0.1, 0.4)]) == pytest.approx(1.0)
    # A longer chain of short calls beats one long call beside it.
    assert critical_path([interval(0, 2.5), interval(0, 1), interval(1.1, 2.1), interval(2.2, 3)]) == pytest.approx(2.8)
    assert critical_path([]) == 0


# --- the stand-in's latency itself ----------------------------------------------------------------


def test_the_stack_option_sets_the_latency_and_only_the_functions_calls_wait(stack):
    assert stack.control("GET", "/_latency")["ms"] == LATENCY_MS
    clear(stack)
    client("sagemaker", stack.state["moto"]).list_notebook_instances()  # an admin's key
    (admin_call,) = calls(stack)
    assert admin_call["ended"] - admin_call["started"] < LATENCY, "seeding and admin calls are never slowed"

    clear(stack)
    status, _ = get(stack, "/notebook-instances/alice-analysis", stack.token("alice"))
    assert status == 302
    log = calls(stack)
    assert len(log) == 3
    assert all(c["ended"] - c["started"] >= LATENCY for c in log), "each of the function's calls waits"


def read_answer(connection: socket.socket) -> bytes:
    """One HTTP/1.1 answer with a Content-Length, whole."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += connection.recv(65536)
    return answer


def test_a_calls_latency_runs_from_its_first_byte_to_its_answer_written(stack):
    """The server's own HTTP work is inside the injected latency, not added to it: a request whose
    headers take 40 ms to arrive is still answered LATENCY after its first byte, and the call log
    says when that byte came and when the answer went, on the clock this process shares."""
    host, port = urllib.parse.urlsplit(stack.state["moto"]).netloc.split(":")
    body = b"{}"
    # ListSpaces: a call the function's role grants (on "*"), so the stand-in's IAM lets it through.
    head = (f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nX-Amz-Target: SageMaker.ListSpaces\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {len(body)}\r\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential={FUNCTION_ACCESS_KEY_ID}/20260101/us-east-1/sagemaker/"
            f"aws4_request, SignedHeaders=host;x-amz-target, Signature=00\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A connection kept open, as the SDK keeps it: its server thread waits for the next byte.
        connection.sendall(head + body)
        read_answer(connection)
        clear(stack)
        sent = time.monotonic()
        connection.sendall(head[:20])
        time.sleep(0.04)
        connection.sendall(head[20:] + body)
        answer = read_answer(connection)
        answered = time.monotonic()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    (call,) = calls(stack)
    assert (call["operation"], call.get("iam")) == ("ListSpaces", "allowed")
    assert 0 <= call["started"] - sent < 0.02, "the clock starts at the first byte, before the headers"
    assert LATENCY <= call["ended"] - call["started"] < LATENCY + 0.01
    # `ended` is stamped again right after the write returns, which may be a scheduling slice
    # after the client already has the answer: the write itself came before.
    assert call["ended"] <= answered + 0.005
    assert LATENCY <= answered - sent < LATENCY + 0.02, f"{(answered - sent) * 1000:.1f} ms seen by the client"


@pytest.mark.parametrize("body", [{"ms": -1}, {"ms": "20"}, {"ms": True}, {"ms": 10001}, {}])
def test_a_bad_latency_is_refused_and_the_old_one_stays(stack, body):
    request = urllib.request.Request(stack.state["page"] + "/_latency", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert stack.control("GET", "/_latency")["ms"] == LATENCY_MS


# --- opens: two reads together, then the presign ------------------------------------------------


def test_a_notebook_opens_reads_run_together_and_the_presign_waits_for_both(stack):
    alice = stack.token("alice")
    clear(stack)
    status, _ = get(stack, "/notebook-instances/alice-analysis", alice)
    assert status == 302

    log = calls(stack)
    assert sorted(c["operation"] for c in log) == sorted([*NOTEBOOK_READS, NOTEBOOK_PRESIGN])
    describe, tags = (named(log, op)[0] for op in NOTEBOOK_READS)
    (presign,) = named(log, NOTEBOOK_PRESIGN)
    assert overlap(describe, tags), "the two reads were made in turn"
    assert presign["started"] >= max(describe["ended"], tags["ended"]), "presigned before both reads answered"
    assert round_trips(log) == 2


@pytest.mark.parametrize("operation,fault,status", [
    ("ListTags", "error", 502),
    ("DescribeNotebookInstance", "throttle", 429),
])
def test_a_notebook_open_with_a_failed_read_presigns_nothing(stack, operation, fault, status):
    alice = stack.token("alice")
    # Enough failures to outlast the SDK's retries.
    stack.control("POST", "/_faults", {"operation": operation, "fault": fault, "count": 10})
    clear(stack)
    answer, _ = get(stack, "/notebook-instances/alice-analysis", alice)
    assert answer == status

    log = calls(stack)
    assert not named(log, NOTEBOOK_PRESIGN), "presigned although a read failed"
    assert {c["operation"] for c in log} == set(NOTEBOOK_READS)
    first_describe, first_tags = (min(named(log, op), key=lambda c: c["started"]) for op in NOTEBOOK_READS)
    assert overlap(first_describe, first_tags), "the two reads were made in turn"


def test_studio_opens_reads_run_together_and_the_presign_waits_for_both(stack):
    alice = stack.token("alice")
    # A process's first Studio request also reads the domain once (kept for its life): not here.
    assert get(stack, "/studio?space=alice-private", alice)[0] == 302
    clear(stack)
    status, _ = get(stack, "/studio?space=alice-private", alice)
    assert status == 302

    log = calls(stack)
    assert sorted(c["operation"] for c in log) == sorted([*STUDIO_READS, STUDIO_PRESIGN])
    tags, space = (named(log, op)[0] for op in STUDIO_READS)
    (presign,) = named(log, STUDIO_PRESIGN)
    assert overlap(tags, space), "the profile's tags and the space were read in turn"
    assert presign["started"] >= max(tags["ended"], space["ended"]), "presigned before both reads answered"
    assert round_trips(log) == 2


def test_a_studio_open_with_a_failed_read_presigns_nothing(stack):
    alice = stack.token("alice")
    assert get(stack, "/studio?space=alice-private", alice)[0] == 302  # the domain, read once
    stack.control("POST", "/_faults", {"operation": "DescribeSpace", "fault": "error", "count": 10})
    clear(stack)
    status, _ = get(stack, "/studio?space=alice-private", alice)
    assert status == 502

    log = calls(stack)
    assert not named(log, STUDIO_PRESIGN), "presigned although a read failed"
    tags = named(log, "ListTags")
    assert len(tags) == 1 and overlap(tags[0], min(named(log, "DescribeSpace"), key=lambda c: c["started"]))


# --- /targets: the index, then waves of describes of the caller's notebooks ------------------------


def alices_world(stack) -> set[str]:
    """Makes the account hold ALICE_NOTEBOOKS notebook instances of alice's (by her owner tag or
    her group's) and, besides the seed's, OTHER_NOTEBOOKS of others' (bob's, another group's,
    untagged), whichever test comes first; returns the names of alice's."""
    admin = client("sagemaker", stack.state["moto"])
    existing = {n["NotebookInstanceName"] for page in admin.get_paginator("list_notebook_instances").paginate()
                for n in page["NotebookInstances"]}
    seeded = {"alice-analysis", "alice-gpu", "ml-team-shared"}
    subs = stack.state["subs"]
    mine = [(f"wave-alice-{i:02}", [(OWNER, subs["alice"])] if i % 4 else [(GROUP, "ml-team")])
            for i in range(ALICE_NOTEBOOKS - len(seeded))]
    others = [(f"wave-other-{i:02}", [[(OWNER, subs["bob"])], [(GROUP, "analysts")], []][i % 3])
              for i in range(OTHER_NOTEBOOKS)]
    for name, tags in mine + others:
        if name not in existing:
            admin.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium",
                                           RoleArn="arn:aws:iam::123456789012:role/notebook-demo",
                                           Tags=[{"Key": k, "Value": v} for k, v in tags])
    return seeded | {name for name, _ in mine}


def test_targets_finds_alices_notebooks_through_the_index_and_describes_only_those_eight_at_a_time(stack):
    mine = alices_world(stack)
    assert len(mine) == ALICE_NOTEBOOKS
    alice = stack.token("alice")
    assert get(stack, "/targets", alice)[0] == 200  # the process's first Studio reads, not measured
    clear(stack)
    status, elapsed = get(stack, "/targets", alice)
    assert status == 200

    log = calls(stack)
    # Nothing is listed whole any more, and no notebook's tags are read one by one.
    assert not [c for c in log if c["operation"] in ("ListNotebookInstances", "ListMlflowTrackingServers",
                                                     "ListMlflowApps")]
    assert not [c for c in named(log, "ListTags") if ":notebook-instance/" in c["input"]["ResourceArn"]]
    # The index: one query for alice's owner tag and one for her one group, made together.
    finds = named(log, "GetResources")
    assert {c["service"] for c in finds} == {"tagging"}
    assert sorted(json.dumps(c["input"]["TagFilters"]) for c in finds) == sorted(json.dumps(f) for f in [
        [{"Key": OWNER, "Values": [stack.state["subs"]["alice"]]}], [{"Key": GROUP, "Values": ["ml-team"]}]])
    assert all("sagemaker:notebook-instance" in c["input"]["ResourceTypeFilters"] for c in finds)
    assert overlap(*finds), "the owner and group queries were made in turn"
    # Then alice's notebooks, each described once, and nobody else's.
    describes = named(log, "DescribeNotebookInstance")
    assert sorted(c["input"]["NotebookInstanceName"] for c in describes) == sorted(mine)
    assert all(c["started"] >= max(f["ended"] for f in finds) for c in describes), \
        "a describe before the index answered"
    in_flight = max_in_flight(describes)
    assert 1 < in_flight <= DESCRIBES_IN_FLIGHT, f"{in_flight} describes in flight at once"
    assert sorted(n["name"] for n in json.loads(stack.get("/targets", alice)[2])["notebookInstances"]) == sorted(mine)

    waves = 1 + math.ceil(ALICE_NOTEBOOKS / DESCRIBES_IN_FLIGHT)
    assert round_trips([*finds, *describes]) <= waves
    # In turn, 25+ calls would take over 2.5 s; in waves about 0.4 s. Loose: a loaded machine passes.
    assert elapsed < (waves + 3) * LATENCY + 1.5, f"/targets took {elapsed:.2f} s"


def test_targets_reads_studio_beside_the_index_and_the_describes_not_after_them(stack):
    alices_world(stack)
    alice = stack.token("alice")
    assert get(stack, "/targets", alice)[0] == 200  # the process's first Studio reads, not measured
    clear(stack)
    assert get(stack, "/targets", alice)[0] == 200

    log = calls(stack)
    studio = [c for c in log if c["operation"] in ("ListSpaces", "ListApps")
              or ":user-profile/" in c["input"].get("ResourceArn", "")]
    assert studio, "no Studio reads: is Studio configured in this stack?"
    finds = named(log, "GetResources")
    assert finds and all(any(overlap(f, c) for c in studio) for f in finds), \
        "Studio was read after the index"
    # The index, then the waves of describes (alice's notebooks; her MLflow resources beside
    # them); Studio's reads, two round trips of their own, ride beside and hold nothing up.
    waves = 1 + math.ceil(ALICE_NOTEBOOKS / DESCRIBES_IN_FLIGHT)
    assert round_trips(log) <= waves, \
        f"{round_trips(log)} round trips in turn for {len(log)} calls: did the describes wait for Studio?"
