"""Reading the SageMaker stand-in's call log (`GET /_calls`) for concurrency: each call there
(SageMaker's, and the Tagging API's GetResources, `service` "sagemaker" or "tagging") carries
`started` and `ended`, the stand-in's own clock when the request's first byte arrived and when its
answer was written (local/sagemaker_standin.py, InjectedLatency). The e2e tests and the benchmark
both judge a route's AWS round trips with these."""

from __future__ import annotations


def overlap(a: dict, b: dict) -> bool:
    """Both were in flight at one moment: each arrived before the other's answer was ready."""
    return a["started"] < b["ended"] and b["started"] < a["ended"]


def max_in_flight(calls: list[dict]) -> int:
    """The most calls in flight at one moment (an answer ready at the instant another arrives
    counts as gone)."""
    events = sorted([(c["started"], 1) for c in calls] + [(c["ended"], -1) for c in calls])
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def round_trips(calls: list[dict]) -> int:
    """The longest chain of calls in which each arrived only after the one before it had
    answered: how many SageMaker round trips a request waited for one after the other, whatever
    their latency. Calls made together count once; calls made in turn count each."""
    depth: list[int] = []
    ordered = sorted(calls, key=lambda c: c["started"])
    for i, call in enumerate(ordered):
        before = [depth[j] for j in range(i) if ordered[j]["ended"] <= call["started"]]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


def critical_path(calls: list[dict]) -> float:
    """Seconds a request spent waiting on SageMaker calls made one after the other: over every
    chain of calls in which each arrived only after the one before it had answered, the largest
    sum of their times (first byte in to answer written). A request's latency minus this is the
    caller's own share: its work before, between and after the calls, and the way to and from
    the stand-in."""
    ordered = sorted(calls, key=lambda c: c["started"])
    longest: list[float] = []
    for i, call in enumerate(ordered):
        before = [longest[j] for j in range(i) if ordered[j]["ended"] <= call["started"]]
        longest.append(call["ended"] - call["started"] + max(before, default=0.0))
    return max(longest, default=0.0)
