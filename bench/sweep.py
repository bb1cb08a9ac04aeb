"""The benchmark's fourth part: the scheduled sweep (`{"notebook-gate": "sweep"}`) at account scale.
An account holds 100 and then 1,000 running notebook instances tagged for their owners (one owner
per 10) and a tenth as many running untagged ones, which no sweep may touch; the function runs with
MAX_RUN_HOURS_NOTEBOOK=12 and nothing else on (no Studio domain, no MLflow), at 20 ms per call.
Per size, first sweeps with nothing due (the instances were just made), then the stand-in's clock
moves 13 h on (`/_clock`) and one sweep stops every tagged one, then one more finds them all
stopped; then every untagged one must still be InService.

The sweep (src/sweep.rs) finds the tagged ones with `GetResources` (the owner key and the group
key, any value, pages of 100, the two sent together), describes each, 8 at a time, and for each one
past its limit reads its tags (`ListTags`) and stops it, in the same one of the 8 slots. Its cost
is described by `formula`; the measured figures come from the stand-in's call log and the
function's "sweep done" audit line (its own clock and its count of SageMaker calls).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import latency, scale
from local import gateway
from local.call_log import critical_path, round_trips
from local.iam.render import load_template
from local.stack import SWEEP_EVENT

LATENCY_MS = scale.LATENCY_MS  # as the account-scale rows: 20 ms per call
LIMIT_HOURS = 12  # the template's NotebookMaxRunHours default
# The sweeping function's configuration beyond the stand-in's endpoints: notebook instances only.
FUNCTION_ENV = {"MAX_RUN_HOURS_NOTEBOOK": str(LIMIT_HOURS)}
ADVANCE_SECONDS = 13 * 3600  # past the 12 h limit
NOTEBOOKS_PER_OWNER = 10
TAGGED_PER_UNTAGGED = 10
OWNER_TAG = scale.OWNER_TAG
# The gate's cost (src/sweep.rs, src/tagging.rs): GetResources pages of 100; describes, and each
# due one's ListTags and stop after its describe, 8 at a time.
RESOURCES_PER_PAGE = scale.RESOURCES_PER_PAGE
IN_FLIGHT = scale.DESCRIBES_IN_FLIGHT
# The harness's invocation timeout here: long enough for any sweep to run to its end, as its time
# is the figure; each is then judged against the Timeout the template gives the function.
HARNESS_TIMEOUT_SECONDS = 900
OPERATIONS = ["GetResources", "DescribeNotebookInstance", "ListTags", "StopNotebookInstance"]


def template_timeout_seconds() -> int:
    """GateFunction's Timeout in template.yaml (its own, else the template's Globals')."""
    template = load_template()
    own = template["Resources"]["GateFunction"]["Properties"].get("Timeout")
    return int(own if own is not None else template.get("Globals", {}).get("Function", {}).get("Timeout", 3))


def owner_sub(k: int) -> str:
    return f"00000000-0000-4000-c000-{k:012d}"


def specs(count: int) -> tuple[list, list]:
    """`count` owner-tagged notebook instances (10 per owner) and a tenth as many untagged ones,
    as (name, tags) each."""
    tagged = [(f"sweep-{i:05}", [(OWNER_TAG, owner_sub(i // NOTEBOOKS_PER_OWNER))]) for i in range(count)]
    untagged = [(f"sweep-untagged-{i:04}", []) for i in range(max(1, count // TAGGED_PER_UNTAGGED))]
    return tagged, untagged


def formula(count: int, due: int) -> dict:
    """The sweep's calls and round trips for `count` tagged running notebook instances of which
    `due` are past their limit, when nothing is slower than the injected latency."""
    pages = max(1, math.ceil(count / RESOURCES_PER_PAGE))
    # The group key's query finds none here: one call, beside the owner key's first page. A full
    # last page is followed by one more (empty) only if the service hands out a token for it.
    tagging = pages + 1
    calls = count + 2 * due
    return {"tagging": tagging, "calls": tagging + calls,
            "round_trips": pages + math.ceil(calls / IN_FLIGHT)}


FORMULA_TEXT = ("calls = GetResources (ceil(N/100) pages + 1 for the group key) + N describes + 2 per due one "
                "(ListTags, stop); round trips ~ ceil(N/100) + ceil((N + 2 x due)/8)")


@dataclass
class Sweep:
    """One sweep: its answer, its time and its calls."""

    ms: float  # handler time as the Runtime API sees it: event handed over -> answer posted
    own_ms: float  # the function's own clock (its audit line's latency_ms)
    counted_calls: int  # SageMaker calls the function counted (its audit line's sagemaker_calls)
    operations: Counter
    in_turn: int  # the longest chain of calls made one after the other (local/call_log.py)
    critical_ms: float
    checked: int
    stopped: list[str]
    kept: int
    failed: int

    @property
    def calls(self) -> int:
        return sum(self.operations.values())

    @property
    def round_trips(self) -> float:
        return self.ms / LATENCY_MS


@dataclass
class Size:
    """One account size's figures."""

    count: int
    untagged: int
    seeding_s: float
    idle: list[Sweep] = field(default_factory=list)
    due: Sweep | None = None
    after: Sweep | None = None  # the next sweep: every tagged one stopped, still found and described
    untagged_in_service: int = 0


def audit_line(log_path: Path, offset: int) -> dict:
    """The function's latest "sweep done" audit line written after `offset` in its log."""
    found = {}
    with open(log_path, "rb") as log:
        log.seek(offset)
        for line in log.read().decode(errors="replace").splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("target") == "audit" and entry.get("message") == "sweep done":
                    found = entry
    if not found:
        raise SystemExit(f"the sweep wrote no 'sweep done' audit line in {log_path}")
    return found


def sweep_once(host, control: latency.Control, log_path: Path) -> Sweep:
    control.clear()
    offset = log_path.stat().st_size
    result = host.function.invoke(SWEEP_EVENT)
    invocation = host.function.last
    log = control.calls()
    report = (result or {}).get("sweep")
    if report is None:
        raise SystemExit(f"the sweep answered {json.dumps(result)[:300]}")
    audit = audit_line(log_path, offset)
    return Sweep(ms=(invocation.answered_at - invocation.handed_at) * 1000, own_ms=audit["latency_ms"],
                 counted_calls=audit["sagemaker_calls"], operations=Counter(c["operation"] for c in log),
                 in_turn=round_trips(log), critical_ms=critical_path(log) * 1000, checked=report["checked"],
                 stopped=[t["name"] for t in report["stopped"]], kept=report["kept"], failed=report["failed"])


def in_service(admin, names: list[str]) -> int:
    """How many of `names` are InService, as an admin lists them."""
    wanted = set(names)
    pages = admin.get_paginator("list_notebook_instances").paginate()
    return sum(1 for page in pages for i in page["NotebookInstances"]
               if i["NotebookInstanceName"] in wanted and i["NotebookInstanceStatus"] == "InService")


def run(args, start_function, control: latency.Control, admin_factory, log_path: Path) -> dict:
    """{"sizes": [Size...], "timeout_s": the template's, "seconds": ...}. `start_function()` starts
    an execution of the gate configured with FUNCTION_ENV, logging to `log_path`."""
    started = time.monotonic()
    host = None
    sizes = []
    saved_timeout = gateway.INVOKE_TIMEOUT_SECONDS
    gateway.INVOKE_TIMEOUT_SECONDS = HARNESS_TIMEOUT_SECONDS
    try:
        control.latency(0)
        host = start_function()
        for count in args.sweep_counts:
            control.latency(0)
            scale.remove_notebook_instances(admin_factory)
            sweep_once(host, control, log_path)  # warm: the first sweep of an execution sets up its clients
            tagged, untagged = specs(count)
            seeding = time.monotonic()
            scale.create_notebook_instances(admin_factory, tagged + untagged)
            size = Size(count, len(untagged), time.monotonic() - seeding)
            print(f"sweep: account of {count:,} tagged + {len(untagged):,} untagged notebook instances seeded in "
                  f"{size.seeding_s:.1f} s", file=sys.stderr, flush=True)
            control.latency(LATENCY_MS)
            for _ in range(args.sweep_idle_samples):
                idle = sweep_once(host, control, log_path)
                if idle.stopped:
                    raise SystemExit(f"a sweep with nothing due stopped {idle.stopped[:10]}")
                size.idle.append(idle)
            control.request("POST", "/_clock", {"advance": ADVANCE_SECONDS})
            size.due = sweep_once(host, control, log_path)
            size.after = sweep_once(host, control, log_path)
            control.latency(0)
            if size.after.stopped:
                raise SystemExit(f"the sweep after the stops stopped {size.after.stopped[:10]}")
            strangers = set(size.due.stopped) - {name for name, _ in tagged}
            if strangers:
                raise SystemExit(f"the sweep stopped notebook instances that are not tagged: {sorted(strangers)[:10]}")
            size.untagged_in_service = in_service(admin_factory(), [name for name, _ in untagged])
            if size.untagged_in_service != len(untagged):
                raise SystemExit(f"{len(untagged) - size.untagged_in_service} untagged notebook instances are no "
                                 "longer InService after the sweep")
            sizes.append(size)
            print(f"sweep: account of {count:,} done at {time.monotonic() - started:.0f} s", file=sys.stderr,
                  flush=True)
    finally:
        control.latency(0)
        gateway.INVOKE_TIMEOUT_SECONDS = saved_timeout
        if host:
            host.stop()
    return {"sizes": sizes, "timeout_s": template_timeout_seconds(), "seconds": time.monotonic() - started}


def _median(values: list) -> float:
    return latency._median(values)


def _rows(size: Size):
    """(label, the sweeps of that row, due) for the idle sweeps and the sweep with every tagged one due."""
    if size.idle:
        yield "nothing due", size.idle, 0
    if size.due:
        yield f"{ADVANCE_SECONDS // 3600} h later, all due", [size.due], size.count
    if size.after:
        yield "next, all stopped", [size.after], 0


def table(results: dict) -> list[str]:
    lines = [f"The scheduled sweep at account scale, {LATENCY_MS} ms per call, MAX_RUN_HOURS_NOTEBOOK={LIMIT_HOURS}: "
             f"N owner-tagged running notebook instances ({NOTEBOOKS_PER_OWNER} per owner) and N/{TAGGED_PER_UNTAGGED} "
             f"untagged running ones. Handler time (p50 of n, and max); round trips = it / {LATENCY_MS} ms [calls in "
             "turn] (expected); calls by operation from the stand-in's log",
             f"{'N':>6}  {'sweep':<19}{'n':>3}{'ms p50 / max':>20}{'own ms':>9}{'round trips':>19}"
             f"{'calls':>7}{'GetRes':>7}{'Describe':>9}{'ListTags':>9}{'Stop':>6}{'other':>6}"
             f"{'checked':>8}{'stopped':>8}{'failed':>7}{'untagged InService':>20}"]
    timeout = results["timeout_s"]
    for size in results["sizes"]:
        for label, sweeps, due in _rows(size):
            last = sweeps[-1]
            ops = last.operations
            other = last.calls - sum(ops[o] for o in OPERATIONS)
            ms = [s.ms for s in sweeps]
            expected = formula(size.count, due)
            trips = f"{_median(ms) / LATENCY_MS:,.0f} [{last.in_turn:,}] ({expected['round_trips']:,})"
            untagged = f"{size.untagged_in_service} / {size.untagged}" if sweeps[-1] is size.after else ""
            lines.append(f"{size.count:>6,}  {label:<19}{len(sweeps):>3}{_median(ms):>11,.0f} / {max(ms):>6,.0f}"
                         f"{_median([s.own_ms for s in sweeps]):>9,.0f}{trips:>19}{last.calls:>7,}"
                         f"{ops['GetResources']:>7,}{ops['DescribeNotebookInstance']:>9,}{ops['ListTags']:>9,}"
                         f"{ops['StopNotebookInstance']:>6,}{other:>6,}{last.checked:>8,}{len(last.stopped):>8,}"
                         f"{last.failed:>7,}{untagged:>20}".rstrip())
            if max(ms) / 1000 > timeout:
                lines.append(f"{'':>8}(longer than the {timeout} s Timeout the template gives the function: a "
                             "deployed sweep would have been cut off)")
            if last.counted_calls != last.calls:
                lines.append(f"{'':>8}(the function counted {last.counted_calls:,} SageMaker calls, the stand-in "
                             f"logged {last.calls:,})")
    lines.append(f"  cost: {FORMULA_TEXT}. own ms: the function's own clock (its audit line). Harness timeout "
                 f"{HARNESS_TIMEOUT_SECONDS} s for these invocations; the template's Timeout is {timeout} s")
    seeded = ", ".join(f"{s.count + s.untagged:,} in {s.seeding_s:.0f} s" for s in results["sizes"])
    lines.append(f"  (accounts seeded through the stand-in's API with {scale.SEED_THREADS} threads: {seeded}; "
                 f"{results['seconds']:.0f} s in all)")
    return lines


def checks(results: dict) -> list[tuple[str, bool, str]]:
    """Each size's sweep with everything due: every tagged one stopped, within the template's
    Timeout."""
    found = []
    timeout = results["timeout_s"]
    for size in results["sizes"]:
        if not size.due:
            continue
        due = size.due
        found.append((f"sweep of {size.count:,} running notebook instances all due at {LATENCY_MS} ms per call: "
                      f"all stopped within the template's {timeout} s Timeout",
                      len(due.stopped) == size.count and due.ms / 1000 <= timeout,
                      f"{len(due.stopped):,} stopped, {due.failed} failed, in {due.ms / 1000:.1f} s "
                      f"({due.round_trips:,.0f} round trips)"))
    return found


def as_json(results: dict) -> dict:
    def figures(sweeps: list[Sweep], count: int, due: int) -> dict:
        last = sweeps[-1]
        return {"n": len(sweeps), "ms": [s.ms for s in sweeps], "p50_ms": _median([s.ms for s in sweeps]),
                "own_ms": [s.own_ms for s in sweeps], "round_trips_p50": _median([s.round_trips for s in sweeps]),
                "calls_in_turn": last.in_turn, "standin_critical_path_ms": last.critical_ms,
                "calls": last.calls, "function_counted_calls": last.counted_calls,
                "operations": dict(last.operations), "checked": last.checked, "stopped": len(last.stopped),
                "kept": last.kept, "failed": last.failed, "expected": formula(count, due)}

    sizes = {}
    for size in results["sizes"]:
        sizes[str(size.count)] = {"untagged": size.untagged, "seeding_s": size.seeding_s,
                                  "untagged_in_service_after": size.untagged_in_service}
        if size.idle:
            sizes[str(size.count)]["nothing_due"] = figures(size.idle, size.count, 0)
        if size.due:
            sizes[str(size.count)]["all_due"] = figures([size.due], size.count, size.count)
        if size.after:
            sizes[str(size.count)]["next_all_stopped"] = figures([size.after], size.count, 0)
    return {"latency_ms": LATENCY_MS, "limit_hours": LIMIT_HOURS, "advance_seconds": ADVANCE_SECONDS,
            "template_timeout_s": results["timeout_s"], "harness_timeout_s": HARNESS_TIMEOUT_SECONDS,
            "sizes": sizes, "seconds": results["seconds"]}
