"""The benchmark's second half: what a person waits for when SageMaker is tens of
milliseconds away. The stand-in adds an injected latency to each of the functions' SageMaker calls
(`/_latency`); for each latency the gate and the Python peer, warm, interleaved, open a notebook
instance and a Studio space and list `/targets` with 1, 10 and 40 notebook instances in the
account (about half of them the caller's). Each figure is the handler's time as the Runtime API sees it (event handed over -> answer
posted), and each request's SageMaker round trips one after the other are read from the stand-in's
call log (`local/call_log.py`).
"""

from __future__ import annotations

import base64
import json
import math
import sys
import time
import urllib.request
from dataclasses import dataclass, field

from local.call_log import critical_path, round_trips

NOTEBOOK_ROLE = "arn:aws:iam::123456789012:role/notebook-demo"
OWNER_TAG = "notebook-gate:owner"
KEEP = "alice-analysis"  # the notebook instance the opens use
DESCRIBES_IN_FLIGHT = 8  # src/calls.rs: the gate describes the caller's notebook instances 8 at a time

# The latency targets are judged at 20 ms per call.
TARGET_LATENCY_MS = 20
OPEN_BUDGET_MS = 2 * TARGET_LATENCY_MS + 3  # two round trips and 3 ms
OPEN_SPEEDUP = 1.4  # notebook open p50, Python / Rust
TARGETS_ROUND_TRIPS = 10  # /targets with 40 notebook instances
TARGETS_NOTEBOOKS = 40


@dataclass
class Samples:
    """One function's measurements of one route at one latency."""

    ms: list[float] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    # The stand-in's view: first call arrived -> last answer written. The handler time beyond it is
    # the function's own work and the way to and from the stand-in.
    span: list[float] = field(default_factory=list)
    # The stand-in's critical path (`call_log.critical_path`): the time spent in calls made one
    # after the other. Handler time minus it is the function's own share (`own`).
    critical: list[float] = field(default_factory=list)
    # Every call's own time in the stand-in, first byte in to answer written: the injected
    # latency plus whatever the stand-in could not fold into it.
    call_ms: list[float] = field(default_factory=list)
    # /targets: how many notebook instances the answer listed (the caller's, which the gate describes).
    listed: list[int] = field(default_factory=list)

    @property
    def own(self) -> list[float]:
        return [total - critical for total, critical in zip(self.ms, self.critical)]


class Control:
    """The stand-in's control endpoints the benchmark uses."""

    def __init__(self, page: str):
        self.page = page

    def request(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.page + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def latency(self, ms: float):
        self.request("POST", "/_latency", {"ms": ms})

    def clear(self):
        self.request("DELETE", "/_calls")

    def calls(self) -> list[dict]:
        return self.request("GET", "/_calls")


def set_notebook_count(admin, count: int, subs: dict):
    """Exactly `count` notebook instances in the account, `KEEP` among them: the seed's others
    stopped and deleted, then new ones tagged alternately for alice and bob: about half are the
    caller's, which the gate describes; the Python peer reads every instance's tags."""
    instances = [i for page in admin.get_paginator("list_notebook_instances").paginate()
                 for i in page["NotebookInstances"]]
    names = [i["NotebookInstanceName"] for i in instances]
    for instance in instances:
        if len(names) <= count:
            break
        name = instance["NotebookInstanceName"]
        if name == KEEP:
            continue
        if instance["NotebookInstanceStatus"] == "InService":
            admin.stop_notebook_instance(NotebookInstanceName=name)
        admin.delete_notebook_instance(NotebookInstanceName=name)
        names.remove(name)
    for i in range(count - len(names)):
        owner = subs["alice"] if i % 2 else subs["bob"]
        admin.create_notebook_instance(NotebookInstanceName=f"bench-{len(names) + i:03}", InstanceType="ml.t3.medium",
                                       RoleArn=NOTEBOOK_ROLE, Tags=[{"Key": OWNER_TAG, "Value": owner}])


def measure(runtimes: dict, event: dict, samples: int, control: Control, invoke, expect: int) -> dict[str, Samples]:
    """`samples` requests per function, interleaved; each one's handler time and round trips."""
    results = {name: Samples() for name in runtimes}
    for _ in range(samples):
        for name, runtime in runtimes.items():
            control.clear()
            result, invocation = invoke(runtime, event)
            if int(result.get("statusCode", 0)) != expect:
                raise SystemExit(f"{name} answered {result.get('statusCode')} instead of {expect}")
            record(results[name], invocation, control.calls())
            if expect == 200:
                results[name].listed.append(len(json_body(result).get("notebookInstances", [])))
    return results


def record(samples: Samples, invocation, log: list[dict]):
    """One request's figures: its handler time, and from the stand-in's log of its calls the round
    trips, the span, the critical path and each call's time."""
    samples.ms.append((invocation.answered_at - invocation.handed_at) * 1000)
    samples.round_trips.append(round_trips(log))
    samples.calls.append(len(log))
    samples.span.append((max(c["ended"] for c in log) - min(c["started"] for c in log)) * 1000)
    samples.critical.append(critical_path(log) * 1000)
    samples.call_ms.extend((c["ended"] - c["started"]) * 1000 for c in log)


def json_body(result: dict) -> dict:
    """A function's JSON answer's body, as a dict."""
    body = result.get("body") or "{}"
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return json.loads(body)


def run(args, runtimes: dict, events: dict, control: Control, admin, subs: dict, invoke) -> dict:
    """{"opens": {latency: {route: {function: Samples}}}, "targets": {count: {latency: {...}}}}."""
    started = time.monotonic()
    for runtime in runtimes.values():  # a process's first Studio request also reads the domain
        for route in ("studio", "targets"):
            invoke(runtime, events[route])
    opens: dict = {}
    for ms in args.latencies:
        control.latency(ms)
        opens[ms] = {
            "notebook": measure(runtimes, events["notebook"], args.latency_opens, control, invoke, 302),
            "studio": measure(runtimes, events["studio"], args.studio_opens, control, invoke, 302),
        }
        print(f"opens at {ms:g} ms done", file=sys.stderr, flush=True)
    targets: dict = {}
    for count in args.notebook_counts:
        control.latency(0)
        set_notebook_count(admin, count, subs)
        targets[count] = {}
        for ms in args.latencies:
            control.latency(ms)
            targets[count][ms] = measure(runtimes, events["targets"], args.targets_samples, control, invoke, 200)
        print(f"/targets with {count} notebook instances done", file=sys.stderr, flush=True)
    control.latency(0)
    return {"opens": opens, "targets": targets, "seconds": time.monotonic() - started}


def _p(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1]


def _median(values: list) -> float:
    return _p(values, 50)


def table(results: dict) -> list[str]:
    """The side-by-side table: per latency and route, p50 / p99 for each function, the ratio, and
    round trips (p50 / injected latency; in brackets, the longest chain of calls made in turn);
    then each function's own share at p50, the handler time minus the stand-in's critical path."""
    lines = [f"{'injected':>8}  {'route':<26}{'Rust p50 / p99':>18}{'Python p50 / p99':>20}{'Py/Rust':>9}"
             f"{'round trips Rust':>20}{'Python':>16}{'own p50 Rust':>15}{'Python':>9}"]

    def row(ms, label, samples):
        rust, python = samples["rust"], samples["python"]

        def trips(s: Samples) -> str:
            measured = f"{_median(s.ms) / ms:.1f}" if ms else "-"
            return f"{measured} [{_median(s.round_trips):g}]"

        lines.append(f"{ms:>5g} ms  {label:<26}{_median(rust.ms):>8.1f} / {_p(rust.ms, 99):>6.1f}"
                     f"{_median(python.ms):>10.1f} / {_p(python.ms, 99):>6.1f}"
                     f"{_median(python.ms) / _median(rust.ms):>8.1f}x{trips(rust):>20}{trips(python):>16}"
                     f"{_median(rust.own):>15.1f}{_median(python.own):>9.1f}")

    for ms, routes in results["opens"].items():
        row(ms, "notebook open", routes["notebook"])
        row(ms, "Studio open (a space)", routes["studio"])
        for count, by_latency in results["targets"].items():
            row(ms, f"/targets, {count} notebook{'' if count == 1 else 's'}", by_latency[ms])
    return lines


def checks(results: dict) -> list[tuple[str, bool, str]]:
    """The latency targets, each met or missed, with the figure it was judged on."""
    found = []
    opens = results["opens"].get(TARGET_LATENCY_MS)
    if opens:
        rust, python = (_median(opens["notebook"][n].ms) for n in ("rust", "python"))
        samples = opens["notebook"]["rust"]
        critical, own, call = _median(samples.critical), _median(samples.own), _median(samples.call_ms)
        found.append((f"notebook open at {TARGET_LATENCY_MS} ms per call: p50 < 2 x {TARGET_LATENCY_MS} + 3 = "
                      f"{OPEN_BUDGET_MS} ms", rust < OPEN_BUDGET_MS,
                      f"{rust:.1f} ms; of it the stand-in's critical path (reads, then presign; first byte in to "
                      f"answer written) {critical:.1f} ms, a call {call:.2f} ms p50 for {TARGET_LATENCY_MS} injected; "
                      f"the gate's own share (the rest: its work, loopback, the Runtime API) {own:.1f} ms"))
        found.append((f"notebook open at {TARGET_LATENCY_MS} ms: >= {OPEN_SPEEDUP}x faster than Python (p50)",
                      python / rust >= OPEN_SPEEDUP, f"{python / rust:.2f}x ({python:.1f} ms vs {rust:.1f} ms)"))
    for ms, samples in results["targets"].get(TARGETS_NOTEBOOKS, {}).items():
        if not ms:
            continue
        rust = samples["rust"]
        trips = _median(rust.ms) / ms
        listed = _median(rust.listed)
        found.append((f"/targets with {TARGETS_NOTEBOOKS} notebooks at {ms:g} ms per call: < {TARGETS_ROUND_TRIPS} "
                      f"round trips (p50 / {ms:g} ms)", trips < TARGETS_ROUND_TRIPS,
                      f"{trips:.1f} ({_median(rust.ms):.0f} ms; {_median(rust.round_trips):g} calls in turn; "
                      f"{listed} of them the caller's: ideal 1 + {listed}/{DESCRIBES_IN_FLIGHT} = "
                      f"{1 + math.ceil(listed / DESCRIBES_IN_FLIGHT)})"))
    return found


def as_json(results: dict) -> dict:
    def figures(samples: Samples) -> dict:
        return {"n": len(samples.ms), "p50_ms": _median(samples.ms), "p99_ms": _p(samples.ms, 99),
                "max_ms": max(samples.ms), "round_trips_in_turn_p50": _median(samples.round_trips),
                "calls_p50": _median(samples.calls), "standin_span_p50_ms": _median(samples.span),
                "standin_critical_path_p50_ms": _median(samples.critical), "own_p50_ms": _median(samples.own),
                "standin_call_p50_ms": _median(samples.call_ms)}

    return {
        "opens": {str(ms): {route: {n: figures(s) for n, s in by_function.items()} for route, by_function in routes.items()}
                  for ms, routes in results["opens"].items()},
        "targets": {str(count): {str(ms): {n: figures(s) for n, s in by_function.items()}
                                 for ms, by_function in by_latency.items()}
                    for count, by_latency in results["targets"].items()},
        "seconds": results["seconds"],
    }
