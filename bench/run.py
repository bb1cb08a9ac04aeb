"""notebook-gate against the usual alternative, a Python + boto3 Lambda function, on this machine.

Both functions run as Lambda runs them: a child process polling a Lambda Runtime API (the local
stack's), calling the same SageMaker stand-in over HTTP, with the same API Gateway v2 events, in
the same run, interleaved, after a discarded warm-up. First cold starts, warm overhead, memory and
size; then (bench/latency.py) opens and /targets with SageMaker's round trip injected; then
(bench/scale.py) /targets in accounts of 1,000 and 10,000 notebook instances and 100 people's at
once; then (bench/sweep.py) the scheduled sweep over 100 and 1,000 running notebook instances, with
nothing due and then with all of them due. Prints the tables with the speed and size targets marked
met or missed and writes a JSON file. About six minutes in all (357 s on 5 December 2026); the
sweep part alone about 25 s.

    python -m bench.run --binary target/release/notebook-gate [--spawns 30] [--invocations 2000]
                        [--latencies 0,20,50] [--notebook-counts 1,10,40] [--scale-counts 1000,10000]
                        [--sweep-counts 100,1000]

An empty list skips its part; `--spawns 0` skips the first (cold starts, warm invocations, calls
per request), so that one part runs alone, e.g. the sweep's:
`--spawns 0 --latencies "" --scale-counts "" --sweep-counts 100,1000`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
import urllib.request
import zipfile
from importlib import metadata
from pathlib import Path

import jwt

from bench import latency, scale, sweep
from local.gateway import FunctionHost, Invocation, http_api_event
from local.stack import DEMO_USERS, ROOT, aws_env, client, seed, start_standin, token

PYTHON_GATE = ROOT / "bench/python_gate"
FLOOR_PROBE = ROOT / "target/release/examples/panic_probe"
# What `sam build` deploys (scripts/sam-build): the arm64 bootstrap, when it has been built here.
ARM64_BOOTSTRAP = ROOT / "target/sam/GateFunction/bootstrap"
NOTEBOOK = "alice-analysis"
# maxday/lambda-perf, August 2026, hello-world init duration (the published context, not ours).
PUBLISHED_INIT_MS = {"rust": 14, "python": 73}
TARGETS = {
    "cold_speedup": 50,  # Python cold start / Rust cold start, at least
    "warm_overhead_p99_ms": 1.0,
    "peak_rss_mb": 12,  # MiB
    "binary_mb": 7,  # MiB, the deployed arm64 bootstrap
}


def invoke(host: FunctionHost, event: dict) -> tuple[dict, Invocation]:
    """The function's answer, and the invocation with its Runtime API timings."""
    return host.function.invoke(event), host.function.last


class Standin:
    """The SageMaker stand-in's call log, which says how many calls an open made and how long
    SageMaker (moto) itself took to answer them."""

    def __init__(self, page: str):
        self.page = page

    def _request(self, method: str, path: str):
        request = urllib.request.Request(self.page + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def clear(self):
        self._request("DELETE", "/_calls")

    def calls(self) -> list[dict]:
        return self._request("GET", "/_calls")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "min": min(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def distribution_closure(name: str) -> list[metadata.Distribution]:
    """A distribution and everything it requires (unconditional requirements only)."""
    seen: dict[str, metadata.Distribution] = {}
    pending = [name]
    while pending:
        key = pending.pop().lower().replace("_", "-")
        if key in seen:
            continue
        dist = metadata.distribution(key)
        seen[key] = dist
        for requirement in dist.requires or []:
            if ";" in requirement and "extra" in requirement.split(";", 1)[1]:
                continue
            pending.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    return list(seen.values())


def zipped_size(files: list[tuple[Path, str]]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "function.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for source, name in files:
                zf.write(source, name)
        return archive.stat().st_size


def sizes(binary: Path) -> dict:
    rust_zip = zipped_size([(binary, "bootstrap")])
    python_code = [(PYTHON_GATE / "app.py", "app.py")]
    bundled = list(python_code)
    unpacked = (PYTHON_GATE / "app.py").stat().st_size
    for dist in distribution_closure("boto3"):
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file() and "__pycache__" not in file.parts and not str(file).startswith(".."):
                bundled.append((path, str(file)))
                unpacked += path.stat().st_size
    return {
        "arm64_bootstrap_bytes": ARM64_BOOTSTRAP.stat().st_size if ARM64_BOOTSTRAP.is_file() else None,
        "rust_binary_bytes": binary.stat().st_size,
        "rust_zip_bytes": rust_zip,
        "python_app_zip_bytes": zipped_size(python_code),
        "python_with_boto3_zip_bytes": zipped_size(bundled),
        "python_with_boto3_unpacked_bytes": unpacked,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "target/release/notebook-gate"))
    parser.add_argument("--spawns", type=int, default=30,
                        help="cold starts per function (0: skip the first part: cold starts, warm invocations "
                             "and calls per request)")
    parser.add_argument("--invocations", type=int, default=2000, help="warm invocations per function")
    parser.add_argument("--warmup", type=int, default=100, help="warm invocations discarded first")
    parser.add_argument("--latencies", type=_numbers, default=[0, 20, 50],
                        help="injected ms per SageMaker call, comma-separated (empty: skip that part)")
    parser.add_argument("--latency-opens", type=int, default=100, help="notebook opens per latency per function")
    parser.add_argument("--studio-opens", type=int, default=40, help="Studio opens per latency per function")
    parser.add_argument("--targets-samples", type=int, default=12,
                        help="/targets requests per notebook count, latency and function")
    parser.add_argument("--notebook-counts", type=_numbers, default=[1, 10, 40],
                        help="notebook instances in the account for /targets, ascending")
    parser.add_argument("--scale-counts", type=_numbers, default=[1000, 10000],
                        help="notebook instances in the account for /targets at account scale, ascending "
                             "(empty: skip that part)")
    parser.add_argument("--scale-samples", type=int, default=12, help="the gate's /targets per account size")
    parser.add_argument("--scale-peer-samples", type=int, default=1,
                        help="the Python peer's /targets per account size (each is 1,000s of calls in turn)")
    parser.add_argument("--peer-scale-counts", type=_numbers, default=[1000],
                        help="the account sizes at which the Python peer lists too (at 10,000: about 4 minutes each)")
    parser.add_argument("--burst-people", type=int, default=100,
                        help="people asking for /targets at once, one execution each (0: skip)")
    parser.add_argument("--burst-account", type=int, default=1000,
                        help="the account size (one of --scale-counts) at which they ask")
    parser.add_argument("--burst-window", type=float, default=10.0,
                        help="seconds the burst is watched at most (the Python peer's takes minutes)")
    parser.add_argument("--sweep-counts", type=_numbers, default=[100, 1000],
                        help="running tagged notebook instances in the account for the scheduled sweep, ascending "
                             "(empty: skip that part)")
    parser.add_argument("--sweep-idle-samples", type=int, default=3,
                        help="sweeps with nothing due per account size (the sweep that stops them all is one)")
    parser.add_argument("--out", default=str(ROOT / "target/bench/results.json"))
    args = parser.parse_args(argv)
    run_started = time.monotonic()
    binary = Path(args.binary)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    logs = out.parent
    for log in ("rust.log", "python.log", "sweep.log"):
        (logs / log).unlink(missing_ok=True)

    standin_process, moto, page = start_standin()
    runtimes: list[FunctionHost] = []
    try:
        world = seed(moto)
        standin = Standin(page)
        claims = jwt.decode(token(moto, world["client_id"], "alice"), options={"verify_signature": False})
        headers = {"Host": "127.0.0.1", "User-Agent": "notebook-gate-bench"}

        def event(path: str, query=()):
            return http_api_event("GET", path, list(query), headers, "127.0.0.1", claims)

        def numbered(base: dict, request_id: str) -> dict:
            # The request id ties an invocation to the function's own timing line in its log.
            return {**base, "requestContext": {**base["requestContext"], "requestId": request_id}}

        def rust():
            return FunctionHost([str(binary.resolve())], {**aws_env(moto), "STUDIO_DOMAIN_ID": world["domain_id"]},
                                logs / "rust.log").start()

        def python(handler: str = "python_probe.handler"):
            # The probe wraps app.handler, unchanged, to time it and its SageMaker calls.
            path = f"{PYTHON_GATE}:{PYTHON_GATE.parent}"
            return FunctionHost([sys.executable, "-m", "awslambdaric", handler],
                                {**aws_env(moto), "LAMBDA_TASK_ROOT": str(PYTHON_GATE), "PYTHONPATH": path,
                                 "STUDIO_DOMAIN_ID": world["domain_id"]},
                                logs / "python.log", cwd=str(PYTHON_GATE)).start()

        functions = {"rust": rust, "python": python}
        open_notebook = event(f"/notebook-instances/{NOTEBOOK}")
        location = f"{page}/"

        def check(name: str, result: dict):
            if result.get("statusCode") != 302 or not _header(result, "location").startswith(location):
                raise SystemExit(f"{name} answered {result.get('statusCode')} instead of a 302 to the notebook")

        # The first part (cold starts, warm invocations, calls per request) runs unless --spawns 0.
        comparing = args.spawns > 0
        # Cold starts: spawn -> first complete 302 posted to the Runtime API, interleaved.
        cold = {name: {"total": {}, "init": []} for name in functions}
        for k in range(args.spawns):
            for name, start in functions.items():
                runtime = start()
                request_id = f"cold-{name}-{k}"
                result, invocation = invoke(runtime, numbered(open_notebook, request_id))
                check(name, result)
                spawned = runtime.function.spawned_at
                cold[name]["total"][request_id] = (invocation.answered_at - spawned) * 1000
                cold[name]["init"].append((runtime.function.first_next_at - spawned) * 1000)
                runtime.stop()
        if comparing:
            print(f"cold starts done ({args.spawns} per function)", file=sys.stderr, flush=True)

        # Warm: one process each, a discarded warm-up, then interleaved invocations. The handler
        # time runs from the event leaving /next to the answer arriving; SageMaker's share is what
        # the function itself spent inside SDK calls (Rust: its audit line; Python: botocore events).
        # The latency and scale parts use the same warm processes.
        warm_runtimes = {}
        if comparing or args.latencies or args.scale_counts:
            warm_runtimes = {name: start() for name, start in functions.items()}
            runtimes.extend(warm_runtimes.values())
            for runtime in warm_runtimes.values():
                for _ in range(args.warmup):
                    invoke(runtime, open_notebook)
        floor_ms, warm, rss_after, calls = [], {}, {}, {}
        if comparing:
            # The floor: a lambda_http function that answers at once, through the same harness. What the
            # Runtime API view adds beyond it is the function's own work.
            floor = FunctionHost([str(FLOOR_PROBE)], {}, logs / "floor.log").start()
            runtimes.append(floor)
            for _ in range(args.warmup):
                invoke(floor, open_notebook)
            warm = {name: {"handler": {}, "wall": 0.0} for name in functions}
            for i in range(args.invocations):
                for name, runtime in warm_runtimes.items():
                    request_id = f"warm-{name}-{i}"
                    started = time.perf_counter()
                    result, invocation = invoke(runtime, numbered(open_notebook, request_id))
                    warm[name]["wall"] += time.perf_counter() - started
                    check(name, result)
                    warm[name]["handler"][request_id] = (invocation.answered_at - invocation.handed_at) * 1000
                    if i + 1 == 1000 - args.warmup:
                        rss_after[name] = runtime.memory_kb()["VmHWM"]
                _result, invocation = invoke(floor, open_notebook)
                floor_ms.append((invocation.answered_at - invocation.handed_at) * 1000)
            for name, runtime in warm_runtimes.items():
                rss_after.setdefault(name, runtime.memory_kb()["VmHWM"])
            timings = function_timings(logs)
            for name, figures in warm.items():
                missing = [r for r in figures["handler"] if r not in timings]
                if missing:
                    raise SystemExit(f"{name}: no timing logged for {len(missing)} invocations")
                handler = figures["handler"]
                figures["sagemaker"] = [timings[r]["sagemaker_ms"] for r in handler]
                figures["overhead"] = [ms - timings[r]["sagemaker_ms"] for r, ms in handler.items()]
                figures["own"] = [timings[r]["latency_ms"] - timings[r]["sagemaker_ms"] for r in handler]
                figures["handler"] = list(handler.values())
            for name, figures in cold.items():
                figures["without_sagemaker"] = [ms - timings[r]["sagemaker_ms"] for r, ms in figures["total"].items()]
                figures["total"] = list(figures["total"].values())
            print(f"warm invocations done ({args.invocations} per function)", file=sys.stderr, flush=True)

            # Calls per open, per route, from the stand-in's log: a fresh process, then the same again.
            routes = {
                "notebook": event(f"/notebook-instances/{NOTEBOOK}"),
                "studio": event("/studio"),
                "studio_space": event("/studio", [("space", "alice-private")]),
                "targets": event("/targets"),
            }
            for name, start in functions.items():
                runtime = start()
                runtimes.append(runtime)
                for route, route_event in routes.items():
                    counts = []
                    for _ in range(2):
                        standin.clear()
                        result, _invocation = invoke(runtime, route_event)
                        if int(result.get("statusCode", 0)) >= 400:
                            raise SystemExit(f"{name} {route} answered {result.get('statusCode')}")
                        counts.append([c["operation"] for c in standin.calls()])
                    calls.setdefault(name, {})[route] = {"first": counts[0], "warm": counts[1]}

        # Under SageMaker's latency: the warm processes again, opens and /targets (bench/latency.py).
        under_latency = None
        if args.latencies:
            control = latency.Control(page)
            latency_events = {"notebook": open_notebook, "studio": event("/studio", [("space", "alice-private")]),
                              "targets": event("/targets")}
            under_latency = latency.run(args, warm_runtimes, latency_events, control, client("sagemaker", moto),
                                        world["subs"], invoke)
        rss_peak = {name: runtime.memory_kb()["VmHWM"] for name, runtime in warm_runtimes.items()}

        # At account scale: /targets in big accounts, and many people's at once (bench/scale.py).
        at_scale = None
        if args.scale_counts:
            def person_event(k: int, path: str) -> dict:
                person = {**claims, "sub": scale.person_sub(k), "username": f"person{k}",
                          "cognito:groups": [f"team-{k % scale.BURST_TEAMS}"]}
                return http_api_event("GET", path, [], headers, "127.0.0.1", person)

            caller = {"sub": world["subs"]["alice"], "group": DEMO_USERS["alice"][1], "targets": event("/targets"),
                      "warm": event("/studio")}
            at_scale = scale.run(args, warm_runtimes, functions, latency.Control(page),
                                 lambda: client("sagemaker", moto), caller, person_event, invoke)

        # The scheduled sweep at account scale (bench/sweep.py): an execution of its own, configured
        # with a running-time limit for notebook instances, over accounts it seeds itself (what the
        # scale part left removed first). Last, as it moves the stand-in's clock on.
        at_sweep = None
        if args.sweep_counts:
            def sweeper():
                return FunctionHost([str(binary.resolve())], {**aws_env(moto), **sweep.FUNCTION_ENV},
                                    logs / "sweep.log").start()

            at_sweep = sweep.run(args, sweeper, latency.Control(page), lambda: client("sagemaker", moto),
                                 logs / "sweep.log")

        if comparing:
            results = report(args, binary, cold, warm, rss_after, calls, floor_ms, under_latency, rss_peak, at_scale,
                             at_sweep)
        else:
            results = parts_report(args, under_latency, at_scale, at_sweep)
        results["seconds"] = time.monotonic() - run_started
        print(f"the whole run took {results['seconds']:.0f} s")
        out.write_text(json.dumps(results, indent=2))
        print(f"\nJSON: {out}")
        return 0
    finally:
        for runtime in runtimes:
            runtime.stop()
        standin_process.stop(10)


def function_timings(logs: Path) -> dict[str, dict]:
    """Request id -> the function's own clock: its handler time and the part spent in SageMaker
    calls (Rust: the audit line; Python: the probe's line)."""
    timings = {}
    for log in ("rust.log", "python.log"):
        for line in (logs / log).read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            request_id = entry.get("request_id") if entry.get("target") == "audit" else entry.get("bench")
            if request_id:
                timings[request_id] = {"sagemaker_ms": entry["sagemaker_ms"], "latency_ms": entry["latency_ms"]}
    return timings


def _header(result: dict, name: str) -> str:
    for key, value in (result.get("headers") or {}).items():
        if key.lower() == name:
            return value
    for key, values in (result.get("multiValueHeaders") or {}).items():
        if key.lower() == name and values:
            return values[0]
    return ""


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _numbers(text: str) -> list[float]:
    return [float(x) if "." in x else int(x) for x in text.split(",") if x.strip()]


def report(args, binary: Path, cold, warm, rss_after, calls, floor_ms, under_latency, rss_peak, at_scale,
           at_sweep) -> dict:
    size = sizes(binary)
    figures = {
        "cold_total_ms": {n: summary(v["total"]) for n, v in cold.items()},
        "cold_init_ms": {n: summary(v["init"]) for n, v in cold.items()},
        "cold_without_sagemaker_ms": {n: summary(v["without_sagemaker"]) for n, v in cold.items()},
        "warm_own_clock_without_sagemaker_ms": {n: summary(v["own"]) for n, v in warm.items()},
        "warm_handler_ms": {n: summary(v["handler"]) for n, v in warm.items()},
        "warm_sagemaker_ms": {n: summary(v["sagemaker"]) for n, v in warm.items()},
        "warm_overhead_ms": {n: summary(v["overhead"]) for n, v in warm.items()},
        "invocations_per_second": {n: len(v["handler"]) / v["wall"] for n, v in warm.items()},
        "runtime_api_floor_ms": summary(floor_ms),
        "peak_rss_kb_after_1000": rss_after,
        "peak_rss_kb_whole_run": rss_peak,
    }
    rows = [
        ("cold start, spawn -> 302 (median)", figures["cold_total_ms"], "p50", "ms"),
        ("cold start, spawn -> 302 (min)", figures["cold_total_ms"], "min", "ms"),
        ("cold start, spawn -> 302 (p95)", figures["cold_total_ms"], "p95", "ms"),
        ("  without SageMaker calls (median)", figures["cold_without_sagemaker_ms"], "p50", "ms"),
        ("init only, spawn -> first /next (median)", figures["cold_init_ms"], "p50", "ms"),
        ("warm handler time p50", figures["warm_handler_ms"], "p50", "ms"),
        ("warm handler time p99", figures["warm_handler_ms"], "p99", "ms"),
        ("  of which inside SageMaker calls p50", figures["warm_sagemaker_ms"], "p50", "ms"),
        ("warm overhead without SageMaker p50", figures["warm_overhead_ms"], "p50", "ms"),
        ("warm overhead without SageMaker p99", figures["warm_overhead_ms"], "p99", "ms"),
        ("  handler's own clock p50", figures["warm_own_clock_without_sagemaker_ms"], "p50", "ms"),
        ("  handler's own clock p99", figures["warm_own_clock_without_sagemaker_ms"], "p99", "ms"),
    ]
    lines = [f"{'figure':<44}{'Rust':>12}{'Python':>12}{'Py/Rust':>9}"]
    for label, table, key, unit in rows:
        r, p = table["rust"][key], table["python"][key]
        lines.append(f"{label:<44}{r:>9.2f} {unit}{p:>9.2f} {unit}{p / r:>8.1f}x")
    floor = figures["runtime_api_floor_ms"]
    lines.append(f"{'  floor: a do-nothing lambda_http function':<44}{floor['p50']:>9.2f} ms (p50), "
                 f"{floor['p99']:.2f} ms (p99): the harness's Runtime API round trip")
    ips = figures["invocations_per_second"]
    lines.append(f"{'invocations/s, one process (sequential)':<44}{ips['rust']:>12.0f}{ips['python']:>12.0f}"
                 f"{ips['rust'] / ips['python']:>8.1f}x")
    rss = {n: v / 1024 for n, v in rss_after.items()}
    lines.append(f"{'peak RSS after 1,000 invocations':<44}{rss['rust']:>8.1f} MiB{rss['python']:>8.1f} MiB"
                 f"{rss['python'] / rss['rust']:>8.1f}x")
    peak = {n: v / 1024 for n, v in rss_peak.items()}
    lines.append(f"{'  peak over the whole run (/targets with 40)':<44}{peak['rust']:>8.1f} MiB"
                 f"{peak['python']:>8.1f} MiB{peak['python'] / peak['rust']:>8.1f}x")
    mb = 1024 * 1024
    lines.append(f"{'stripped x86_64 binary / app.py':<44}{size['rust_binary_bytes'] / mb:>8.2f} MiB"
                 f"{os.path.getsize(PYTHON_GATE / 'app.py') / 1024:>9.1f} KB")
    arm64 = size["arm64_bootstrap_bytes"]
    lines.append(f"{'deployed arm64 bootstrap (scripts/sam-build)':<44}"
                 + (f"{arm64 / mb:>8.2f} MiB" if arm64 else "     not built here"))
    lines.append(f"{'deployment zip (Python: with boto3 bundled)':<44}{size['rust_zip_bytes'] / mb:>8.2f} MiB"
                 f"{size['python_with_boto3_zip_bytes'] / mb:>8.2f} MiB"
                 f"{size['python_with_boto3_zip_bytes'] / size['rust_zip_bytes']:>8.1f}x")
    lines.append(f"{'  unpacked':<44}{size['rust_binary_bytes'] / mb:>8.2f} MiB"
                 f"{size['python_with_boto3_unpacked_bytes'] / mb:>8.2f} MiB"
                 f"{size['python_with_boto3_unpacked_bytes'] / size['rust_binary_bytes']:>8.1f}x")
    lines.append("")
    lines.append("SageMaker calls per request (an open's physical minimum: 1 presign), a process's first / warm:")
    for name, routes in calls.items():
        for route, seen in routes.items():
            lines.append(f"  {name:<7}{route:<14}{len(seen['first']):>2} / {len(seen['warm'])}   "
                         f"{', '.join(seen['warm'])}")
    lines.append("")
    part_lines, part_checks = parts(args, under_latency, at_scale, at_sweep)
    lines.extend(part_lines)
    lines.append(f"published context (maxday/lambda-perf, Aug 2026, hello-world init): "
                 f"Rust ~{PUBLISHED_INIT_MS['rust']} ms, Python 3.12 ~{PUBLISHED_INIT_MS['python']} ms")
    # The stand-in answers both functions' SageMaker calls equally slowly (moto is Python): the
    # speed-up Rust buys is the cold start without them.
    cold_ms = figures["cold_without_sagemaker_ms"]
    speedup = cold_ms["python"]["p50"] / cold_ms["rust"]["p50"]
    checks = [
        (f"cold start without SageMaker calls >= {TARGETS['cold_speedup']}x faster than Python",
         speedup >= TARGETS["cold_speedup"], f"{speedup:.0f}x"),
        # The handler's own clock: the Runtime API view adds the harness's round trip (the floor).
        (f"warm handler overhead without SageMaker p99 < {TARGETS['warm_overhead_p99_ms']} ms",
         figures["warm_own_clock_without_sagemaker_ms"]["rust"]["p99"] < TARGETS["warm_overhead_p99_ms"],
         f"{figures['warm_own_clock_without_sagemaker_ms']['rust']['p99']:.3f} ms on its own clock, "
         f"{figures['warm_overhead_ms']['rust']['p99']:.3f} ms seen from the Runtime API "
         f"(floor {floor['p99']:.3f} ms)"),
        (f"peak RSS < {TARGETS['peak_rss_mb']} MiB", rss["rust"] < TARGETS["peak_rss_mb"], f"{rss['rust']:.1f} MiB"),
        (f"peak RSS over the whole run < {TARGETS['peak_rss_mb']} MiB", peak["rust"] < TARGETS["peak_rss_mb"],
         f"{peak['rust']:.1f} MiB"),
    ]
    if arm64:
        checks.append((f"deployed arm64 bootstrap < {TARGETS['binary_mb']} MiB", arm64 < TARGETS["binary_mb"] * mb,
                       f"{arm64:,} bytes = {arm64 / mb:.2f} MiB (x86_64 here: {size['rust_binary_bytes'] / mb:.2f} MiB)"))
    checks.extend(part_checks)
    lines.extend(targets(checks))
    lines.append(f"machine: {machine()}; {args.spawns} spawns, {args.invocations} warm invocations per function")
    lines.append(f"cold start ratio with SageMaker calls: "
                 f"{figures['cold_total_ms']['python']['p50'] / figures['cold_total_ms']['rust']['p50']:.0f}x "
                 f"(the stand-in, moto, answers both functions' calls equally slowly)")
    print("\n".join(lines))
    return {
        "machine": machine(),
        "spawns": args.spawns,
        "invocations": args.invocations,
        "figures": figures,
        "sizes": size,
        "calls": calls,
        "targets": {label: {"met": met, "value": value} for label, met, value in checks},
        "published_init_ms": PUBLISHED_INIT_MS,
        **parts_json(under_latency, at_scale, at_sweep),
    }


def parts(args, under_latency, at_scale, at_sweep) -> tuple[list[str], list[tuple[str, bool, str]]]:
    """The tables and targets of the parts that ran after the first: under latency, at account
    scale, the sweep."""
    lines, checks = [], []
    if under_latency:
        lines.append("")
        lines.append("Under SageMaker latency: handler time in ms, warm, p50 / p99; round trips = p50 / injected "
                     "latency [calls made in turn, from the stand-in's log]; own = handler time minus the stand-in's "
                     "critical path (its calls made in turn, first byte in to answer written), p50")
        lines.extend(latency.table(under_latency))
        lines.append(f"  ({args.latency_opens} notebook and {args.studio_opens} Studio opens, {args.targets_samples} "
                     f"/targets per row and function; {under_latency['seconds']:.0f} s)")
        lines.append("")
        checks.extend(latency.checks(under_latency))
    if at_scale:
        lines.append("")
        lines.extend(scale.table(at_scale, args))
        lines.append("")
        checks.extend(scale.checks(at_scale))
    if at_sweep:
        lines.append("")
        lines.extend(sweep.table(at_sweep))
        lines.append("")
        checks.extend(sweep.checks(at_sweep))
    return lines, checks


def parts_json(under_latency, at_scale, at_sweep) -> dict:
    return {
        "under_latency": latency.as_json(under_latency) if under_latency else None,
        "at_scale": scale.as_json(at_scale) if at_scale else None,
        "sweep": sweep.as_json(at_sweep) if at_sweep else None,
    }


def parts_report(args, under_latency, at_scale, at_sweep) -> dict:
    """What `report` prints and returns when the first part was skipped (`--spawns 0`)."""
    lines, checks = parts(args, under_latency, at_scale, at_sweep)
    lines.extend(targets(checks))
    lines.append(f"machine: {machine()}; the first part skipped (--spawns 0)")
    print("\n".join(lines))
    return {"machine": machine(), "spawns": 0, "targets": {label: {"met": met, "value": value}
                                                            for label, met, value in checks},
            **parts_json(under_latency, at_scale, at_sweep)}


def targets(checks: list[tuple[str, bool, str]]) -> list[str]:
    return ["targets:"] + [f"  {'met ' if met else 'MISS'}  {label}: {value}" for label, met, value in checks]


def machine() -> str:
    return f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, " \
           f"Python {platform.python_version()}"


if __name__ == "__main__":
    sys.exit(main())
