"""The benchmark's third part: `/targets` at account scale. The account holds 1,000 and then
10,000 notebook instances, of which the caller (alice) owns 5 and 2 are tagged for her group; the
rest are untagged or other people's. At 20 ms per call, the gate and (where it can finish) the
Python peer list her targets; then 100 people, each owning a few, ask for theirs at once, and the
stand-in's call log says how many calls the account saw and how many in its busiest second.

The gate finds the caller's resources with the Resource Groups Tagging API (`GetResources`, one
call per 100 of the caller's own and one per 20 group values and 100 matches), then describes only
those, 8 at a time; the peer keeps the design the gate had before it: `ListNotebookInstances` and
one `ListTags` per notebook instance in the account, one after the other (bench/python_gate/app.py).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench import latency
from local import gateway

OWNER_TAG = "notebook-gate:owner"
GROUP_TAG = "notebook-gate:group"
NOTEBOOK_ROLE = latency.NOTEBOOK_ROLE

LATENCY_MS = 20  # the account-scale rows and the burst are measured at 20 ms per call
CALLER_OWNS = 5  # the caller's own notebook instances, in every account size
CALLER_GROUP_TAGGED = 2  # tagged for the caller's group
TARGET_ROUND_TRIPS = 4  # p50 / 20 ms, at most
TARGET_NOTEBOOK_CALLS = 12  # notebook-side calls (Tagging + SageMaker notebook calls), at most
# The gate's cost (src/tagging.rs, src/targets.rs, src/calls.rs): GetResources pages of 100, at most
# 20 group values per call, describes 8 at a time.
RESOURCES_PER_PAGE = 100
GROUP_VALUES_PER_CALL = 20
DESCRIBES_IN_FLIGHT = 8
# The burst: people each owning a few notebook instances, in teams that have one each.
PERSON_OWNS = 3
BURST_TEAMS = 10
SEED_THREADS = 4  # the stand-in answers one call at a time; 4 clients keep it busy (about 1.3x one)
# The harness's invocation timeout is the 15 s Lambda timeout the template sets; the peer's /targets
# over 1,000 notebook instances at 20 ms is 1,000 calls in turn and takes longer. Here it may run
# to its end (and is reported as over the timeout), as its time is the figure.
LAMBDA_TIMEOUT_SECONDS = gateway.INVOKE_TIMEOUT_SECONDS
PEER_INVOKE_TIMEOUT_SECONDS = 900

NOTEBOOK_OPERATIONS = {"DescribeNotebookInstance", "ListNotebookInstances", "StartNotebookInstance",
                       "StopNotebookInstance", "CreatePresignedNotebookInstanceUrl"}
TAGGING_OPERATIONS = {"GetResources"}


def person_sub(k: int) -> str:
    """A burst person's `sub`: shaped like Cognito's, unique per person."""
    return f"00000000-0000-4000-a000-{k:012d}"


def other_sub(i: int) -> str:
    return f"00000000-0000-4000-b000-{i:012d}"


def side(call: dict) -> str:
    """Which part of the account a call reads: "tagging" (the Resource Groups Tagging API),
    "notebook" (SageMaker's notebook instance calls, and ListTags on one), or "other" (Studio,
    MLflow)."""
    operation = call["operation"]
    if operation in TAGGING_OPERATIONS:
        return "tagging"
    if operation in NOTEBOOK_OPERATIONS:
        return "notebook"
    if operation == "ListTags" and ":notebook-instance/" in str((call.get("input") or {}).get("ResourceArn", "")):
        return "notebook"
    return "other"


def by_side(log: list[dict]) -> Counter:
    return Counter(side(c) for c in log)


def peak_per_second(log: list[dict]) -> int:
    """The most calls that arrived within any one second (by their arrival in the stand-in)."""
    starts = sorted(c["started"] for c in log if "started" in c)
    most = low = 0
    for high, at in enumerate(starts):
        while starts[low] <= at - 1.0:
            low += 1
        most = max(most, high - low + 1)
    return most


def formula(own: int, groups: int, group_matches: int) -> dict:
    """The gate's cost for a caller with `own` resources of their own, `groups` groups matching
    `group_matches`: Tagging calls, describes and round trips when nothing else is slower."""
    own_calls = max(1, math.ceil(own / RESOURCES_PER_PAGE))
    group_calls = math.ceil(groups / GROUP_VALUES_PER_CALL) * max(1, math.ceil(group_matches / RESOURCES_PER_PAGE)) \
        if groups else 0
    matched = own + group_matches
    pages = max(own_calls, max(1, math.ceil(group_matches / RESOURCES_PER_PAGE)) if groups else 1)
    return {"tagging": own_calls + group_calls, "describes": matched,
            "round_trips": pages + math.ceil(matched / DESCRIBES_IN_FLIGHT)}


FORMULA_TEXT = ("Tagging calls = max(1, ceil(own/100)) + ceil(G/20) x max(1, ceil(group matches/100)); describes = M "
                "(the matched resources); round trips ~ 1 (+ further pages) + ceil(M/8), whatever the account holds")


class Account:
    """The benchmark's account: exactly `total` notebook instances, the same people's in each size.
    Seeded with an admin's calls (not slowed, not in the function's log) from a few threads."""

    def __init__(self, admin_factory, caller_sub: str, caller_group: str, people: int):
        self.admin_factory = admin_factory
        self.caller_sub = caller_sub
        self.caller_group = caller_group
        self.people = people
        self.names: list[str] = []

    def specs(self, start: int, stop: int):
        """The account's notebook instances in order, from `start` to `stop`: first the caller's
        own and her group's, then the burst's people's (3 each) and their teams' (1 each), then
        the rest, alternately untagged and someone else's."""
        head = ([(f"scale-own-{i}", [(OWNER_TAG, self.caller_sub)]) for i in range(CALLER_OWNS)]
                + [(f"scale-team-{i}", [(GROUP_TAG, self.caller_group)]) for i in range(CALLER_GROUP_TAGGED)]
                + [(f"person-{k}-{j}", [(OWNER_TAG, person_sub(k))]) for k in range(self.people)
                   for j in range(PERSON_OWNS)]
                + [(f"team-{t}-shared", [(GROUP_TAG, f"team-{t}")]) for t in range(BURST_TEAMS if self.people else 0)])
        for index in range(start, stop):
            if index < len(head):
                yield head[index]
            elif index % 2:
                yield f"fill-{index:05}", []
            else:
                yield f"fill-{index:05}", [(OWNER_TAG, other_sub(index))]

    def reset(self):
        """No notebook instance at all (the ones the benchmark's earlier parts left, stopped first)."""
        remove_notebook_instances(self.admin_factory)
        self.names = []

    def grow(self, total: int) -> float:
        """Adds notebook instances until there are `total`; returns the seconds it took."""
        started = time.monotonic()
        self.names.extend(create_notebook_instances(self.admin_factory, self.specs(len(self.names), total)))
        return time.monotonic() - started


def _per_thread(admin_factory):
    """A function giving each seeding thread its own admin client (boto3 clients are made per thread)."""
    local = threading.local()

    def admin():
        if not hasattr(local, "admin"):
            local.admin = admin_factory()
        return local.admin

    return admin


def create_notebook_instances(admin_factory, specs) -> list[str]:
    """Creates each (name, [(tag key, value), ...]) of `specs` as an admin (not slowed, not in the
    function's log), from SEED_THREADS threads; returns the names in order."""
    admin = _per_thread(admin_factory)

    def create(spec):
        name, tags = spec
        admin().create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium",
                                         RoleArn=NOTEBOOK_ROLE, Tags=[{"Key": k, "Value": v} for k, v in tags])
        return name

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        return list(pool.map(create, specs))


def remove_notebook_instances(admin_factory):
    """No notebook instance left in the account: each running one stopped, then each deleted, from
    SEED_THREADS threads."""
    admin = _per_thread(admin_factory)
    pages = admin_factory().get_paginator("list_notebook_instances").paginate()
    instances = [i for page in pages for i in page["NotebookInstances"]]

    def remove(instance):
        name = instance["NotebookInstanceName"]
        if instance["NotebookInstanceStatus"] == "InService":
            admin().stop_notebook_instance(NotebookInstanceName=name)
        admin().delete_notebook_instance(NotebookInstanceName=name)

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(remove, instances))


@dataclass
class Row:
    """One function's /targets at one account size."""

    samples: latency.Samples | None = None
    sides: list[Counter] = field(default_factory=list)
    operations: Counter = field(default_factory=Counter)
    exceeded_lambda_timeout: int = 0
    skipped: str = ""


def measure(runtime, event, samples: int, control: latency.Control, invoke, expected: set[str]) -> Row:
    """`samples` /targets, each with its handler time, round trips and calls by side; the answer
    must list exactly `expected` notebook instances."""
    row = Row(samples=latency.Samples())
    for _ in range(samples):
        control.clear()
        result, invocation = invoke(runtime, event)
        if int(result.get("statusCode", 0)) != 200:
            raise SystemExit(f"/targets at account scale answered {result.get('statusCode')}")
        listed = {n["name"] for n in latency.json_body(result).get("notebookInstances", [])}
        if listed != expected:
            raise SystemExit(f"/targets at account scale listed {sorted(listed)[:10]}..., not the caller's "
                             f"{sorted(expected)}")
        log = control.calls()
        latency.record(row.samples, invocation, log)
        row.sides.append(by_side(log))
        row.operations = Counter(c["operation"] for c in log)
        if invocation.answered_at - invocation.handed_at > LAMBDA_TIMEOUT_SECONDS:
            row.exceeded_lambda_timeout += 1
    return row


@dataclass
class Burst:
    """People's /targets sent at once, one warm execution each, as Lambda scales out."""

    people: int
    completed: int
    window_seconds: float  # how long the burst was watched
    calls: int  # calls the stand-in saw in that time
    sides: Counter
    peak_per_second: int
    span_seconds: float  # first call arrived -> last answer written
    request_ms: list[float]

    @property
    def finished(self) -> bool:
        return self.completed == self.people


def burst(start_function, events: list[dict], warm_event, control: latency.Control, invoke, window: float) -> Burst:
    """One execution per person, each warmed with `warm_event` (with no latency), then every
    person's /targets sent at once at 20 ms per call; watched until all are answered or `window`
    seconds have passed, whichever is first. The executions are stopped afterwards."""
    hosts = []
    try:
        control.latency(0)
        for _ in events:
            hosts.append(start_function())
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda host: invoke(host, warm_event), hosts))
        control.latency(LATENCY_MS)
        control.clear()
        done: list[float] = []
        lock = threading.Lock()
        go = threading.Event()

        def ask(host, event):
            go.wait()
            try:
                result, invocation = invoke(host, event)
            except (RuntimeError, TimeoutError):
                return  # stopped at the window's end
            if int(result.get("statusCode", 0)) == 200:
                with lock:
                    done.append((invocation.answered_at - invocation.handed_at) * 1000)

        threads = [threading.Thread(target=ask, args=(h, e), daemon=True) for h, e in zip(hosts, events)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        go.set()
        deadline = started + window
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        watched = time.monotonic() - started
        log = control.calls()
        with lock:
            answered = list(done)
        # A call still in flight when the log is read has no times yet.
        timed = [c for c in log if "started" in c and "ended" in c]
        span = (max(c["ended"] for c in timed) - min(c["started"] for c in timed)) if timed else 0.0
        return Burst(len(events), len(answered), watched, len(log), by_side(log), peak_per_second(log), span,
                     answered)
    finally:
        control.latency(0)
        with ThreadPoolExecutor(16) as pool:  # each server's stop waits out its poll, up to 0.5 s
            list(pool.map(lambda host: host.stop(), hosts))
        control.clear()


def run(args, runtimes: dict, functions: dict, control: latency.Control, admin_factory, caller: dict, person_event,
        invoke) -> dict:
    """{"rows": {count: {function: Row}}, "bursts": {function: Burst}, "seeding": {count: s}, ...}.
    `runtimes`: each function's warm execution; `functions`: name -> a callable starting a new
    one (for the burst); `caller`: alice's sub, group, /targets event and a warm-up event;
    `person_event(k, path)`: person k's event."""
    started = time.monotonic()
    gateway.INVOKE_TIMEOUT_SECONDS = PEER_INVOKE_TIMEOUT_SECONDS
    account = Account(admin_factory, caller["sub"], caller["group"], args.burst_people)
    expected = {name for name, _ in account.specs(0, CALLER_OWNS + CALLER_GROUP_TAGGED)}
    rows: dict = {}
    seeding: dict = {}
    bursts: dict = {}
    try:
        control.latency(0)
        account.reset()
        for runtime in runtimes.values():
            invoke(runtime, caller["warm"])
        for count in args.scale_counts:
            control.latency(0)
            seeding[count] = account.grow(count)
            print(f"account of {count:,} notebook instances seeded in {seeding[count]:.1f} s", file=sys.stderr,
                  flush=True)
            rows[count] = {}
            control.latency(LATENCY_MS)
            for name, runtime in runtimes.items():
                if name == "python" and count not in args.peer_scale_counts:
                    rows[count][name] = Row(skipped=f"not run at {count:,} (--peer-scale-counts)")
                    continue
                samples = args.scale_samples if name == "rust" else args.scale_peer_samples
                rows[count][name] = measure(runtime, caller["targets"], samples, control, invoke, expected)
            control.latency(0)
            print(f"/targets in an account of {count:,} done at {time.monotonic() - started:.0f} s", file=sys.stderr,
                  flush=True)
            if count == args.burst_account and args.burst_people:
                events = [person_event(k, "/targets") for k in range(args.burst_people)]
                warm = person_event(0, "/studio")
                for name, start in functions.items():
                    bursts[name] = burst(start, events, warm, control, invoke, args.burst_window)
                    print(f"burst of {args.burst_people} /targets ({name}) done at {time.monotonic() - started:.0f} s",
                          file=sys.stderr, flush=True)
    finally:
        control.latency(0)
        gateway.INVOKE_TIMEOUT_SECONDS = LAMBDA_TIMEOUT_SECONDS
    per_request = {name: _median([sum(s.values()) for s in row.sides])
                   for name, row in rows.get(args.burst_account, {}).items() if row.sides}
    rss = {name: runtime.memory_kb()["VmHWM"] for name, runtime in runtimes.items()}
    return {"rows": rows, "bursts": bursts, "seeding": seeding, "per_request_at_burst_account": per_request,
            "peak_rss_kb": rss, "seconds": time.monotonic() - started}


def _median(values: list) -> float:
    return latency._median(values)


def _count(n: int) -> str:
    return f"{n:,}"


def table(results: dict, args) -> list[str]:
    caller = formula(CALLER_OWNS, 1, CALLER_GROUP_TAGGED)
    lines = [f"/targets at account scale, {LATENCY_MS} ms per call: the caller owns {CALLER_OWNS} notebook instances "
             f"and {CALLER_GROUP_TAGGED} are tagged for her group; the rest untagged or other people's. Handler time "
             f"p50 / p99; round trips = p50 / {LATENCY_MS} ms [calls in turn]; calls per request by side, p50",
             f"{'account':>8}  {'function':<8}{'n':>4}{'p50 / p99 ms':>22}{'round trips':>15}"
             f"{'notebook-side':>15}{'of it Tagging':>15}{'SageMaker nb':>14}{'other':>7}"]
    for count, by_function in results["rows"].items():
        for name, row in by_function.items():
            if row.skipped:
                lines.append(f"{_count(count):>8}  {name:<8}  {row.skipped}")
                continue
            s = row.samples
            tagging = _median([x["tagging"] for x in row.sides])
            notebook = _median([x["notebook"] for x in row.sides])
            other = _median([x["other"] for x in row.sides])
            side_total = _median([x["tagging"] + x["notebook"] for x in row.sides])
            trips = f"{_median(s.ms) / LATENCY_MS:.1f} [{_median(s.round_trips):g}]"
            lines.append(f"{_count(count):>8}  {name:<8}{len(s.ms):>4}{_median(s.ms):>12,.1f} / {latency._p(s.ms, 99):>7,.1f}"
                         f"{trips:>15}{side_total:>15,g}{tagging:>15g}{notebook:>14,g}{other:>7g}")
            if row.exceeded_lambda_timeout:
                lines.append(f"{'':>10}{'':<8}    ({row.exceeded_lambda_timeout} of {len(s.ms)} took longer than the "
                             f"{LAMBDA_TIMEOUT_SECONDS} s Lambda timeout the template sets: a "
                             "deployed function would have timed out)")
    lines.append(f"  cost: {FORMULA_TEXT}; here own = {CALLER_OWNS}, G = 1, group matches = {CALLER_GROUP_TAGGED}: "
                 f"{caller['tagging']} Tagging calls, {caller['describes']} describes, about {caller['round_trips']} "
                 "round trips. The Python peer (the design before the Tagging API): ceil(N/100) list pages + N ListTags "
                 "for N notebook instances in the account, in turn")
    seeded = ", ".join(f"{_count(c)} in {s:.0f} s" for c, s in results["seeding"].items())
    rss = results["peak_rss_kb"]
    lines.append(f"  (account seeded through the stand-in's API with {SEED_THREADS} threads: {seeded}; "
                 f"{results['seconds']:.0f} s in all; peak RSS of the warm executions after it: "
                 + ", ".join(f"{name} {kb / 1024:.1f} MiB" for name, kb in rss.items()) + ")")
    bursts = results["bursts"]
    if bursts:
        lines.append("")
        lines.append(f"{args.burst_people} people's /targets at once (distinct owners, {PERSON_OWNS} notebook instances "
                     f"each and 1 for their team), one warm execution each, account of "
                     f"{_count(args.burst_account)} notebook instances, {LATENCY_MS} ms per call:")
        lines.append(f"  {'function':<8}{'answered':>10}{'watched':>10}{'calls seen':>12}{'Tagging':>9}{'SM notebook':>13}"
                     f"{'other':>7}{'busiest second':>16}{'span':>9}{'p50 / max ms':>18}")
        per_request = results["per_request_at_burst_account"]
        for name, b in bursts.items():
            times = f"{_median(b.request_ms):,.0f} / {max(b.request_ms):,.0f}" if b.request_ms else "-"
            lines.append(f"  {name:<8}{b.completed:>6} / {b.people:<3}{b.window_seconds:>8.1f} s{b.calls:>12,}"
                         f"{b.sides['tagging']:>9,}{b.sides['notebook']:>13,}{b.sides['other']:>7,}"
                         f"{b.peak_per_second:>12,} /s{b.span_seconds:>8.2f}s{times:>18}")
            if not b.finished:
                alone = per_request.get(name)
                total = f"{b.people} x {alone:,g} = {b.people * alone:,.0f} calls (each person's /targets makes " \
                        f"the same calls as the caller's above: one list and one ListTags per notebook instance)" \
                    if alone else "not measured"
                lines.append(f"    {name}: {b.completed} of {b.people} answered within the {b.window_seconds:.0f} s "
                             f"watched; all {b.people} would make {total}")
        lines.append("  busiest second: the most calls that reached the stand-in within one second of each other. "
                     "The stand-in (moto, one Python process) and this machine's CPUs cap it for both functions")
    return lines


def checks(results: dict) -> list[tuple[str, bool, str]]:
    found = []
    for count, by_function in results["rows"].items():
        row = by_function.get("rust")
        if row is None or row.skipped:
            continue
        s = row.samples
        trips = _median(s.ms) / LATENCY_MS
        side_total = _median([x["tagging"] + x["notebook"] for x in row.sides])
        found.append((f"/targets in an account of {_count(count)} notebook instances (caller's: {CALLER_OWNS} + "
                      f"{CALLER_GROUP_TAGGED} for her group) at {LATENCY_MS} ms per call: p50 <= {TARGET_ROUND_TRIPS} "
                      f"round trips", trips <= TARGET_ROUND_TRIPS,
                      f"{trips:.1f} ({_median(s.ms):.1f} ms; {_median(s.round_trips):g} calls in turn)"))
        found.append((f"/targets in an account of {_count(count)}: <= {TARGET_NOTEBOOK_CALLS} notebook-side calls",
                      side_total <= TARGET_NOTEBOOK_CALLS,
                      f"{side_total:g} ({_median([x['tagging'] for x in row.sides]):g} GetResources + "
                      f"{_median([x['notebook'] for x in row.sides]):g} SageMaker notebook calls)"))
    return found


def as_json(results: dict) -> dict:
    rows = {}
    for count, by_function in results["rows"].items():
        rows[str(count)] = {}
        for name, row in by_function.items():
            if row.skipped:
                rows[str(count)][name] = {"skipped": row.skipped}
                continue
            s = row.samples
            rows[str(count)][name] = {
                "n": len(s.ms), "p50_ms": _median(s.ms), "p99_ms": latency._p(s.ms, 99),
                "round_trips_p50": _median(s.ms) / LATENCY_MS, "round_trips_in_turn_p50": _median(s.round_trips),
                "tagging_calls_p50": _median([x["tagging"] for x in row.sides]),
                "notebook_sagemaker_calls_p50": _median([x["notebook"] for x in row.sides]),
                "other_calls_p50": _median([x["other"] for x in row.sides]),
                "operations_last": dict(row.operations), "exceeded_lambda_timeout": row.exceeded_lambda_timeout}
    bursts = {name: {"people": b.people, "answered": b.completed, "watched_s": b.window_seconds, "calls": b.calls,
                     "by_side": dict(b.sides), "peak_calls_per_second": b.peak_per_second, "span_s": b.span_seconds,
                     "request_p50_ms": _median(b.request_ms) if b.request_ms else None,
                     "request_max_ms": max(b.request_ms) if b.request_ms else None}
              for name, b in results["bursts"].items()}
    return {"latency_ms": LATENCY_MS, "rows": rows, "bursts": bursts,
            "seeding_s": {str(c): s for c, s in results["seeding"].items()},
            "per_request_at_burst_account": results["per_request_at_burst_account"],
            "peak_rss_kb": results["peak_rss_kb"], "seconds": results["seconds"]}
