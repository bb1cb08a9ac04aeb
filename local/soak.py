"""A bounded soak run, local only: ≥ 10,000 requests through the local API Gateway to one warm
function process, mixed routes and users, every answer checked. Prints the function's RSS after
the warm-up and at the end, and the count of wrong answers (which must be zero).

    python -m local.soak [--requests 10000] [--binary target/release/notebook-gate]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from local.gateway import LocalGateway
from local.stack import ROOT, aws_env, pool_authorizer, seed, start_standin, token

# (user, path, expected status, what the answer must name)
MIX = [
    ("alice", "/targets", 200, "alice-analysis"),
    ("alice", "/notebook-instances/alice-analysis", 200, "alice-analysis"),
    ("alice", "/notebook-instances/ml-team-shared", 200, "ml-team-shared"),
    ("alice", "/notebook-instances/bob-reports", 404, "not_found"),
    ("alice", "/notebook-instances/alice-gpu", 409, "not_running"),
    ("alice", "/studio?space=team-shared&app=jupyterlab", 200, "team-shared"),
    ("alice", "/studio?space=bob-private", 404, "not_found"),
    ("bob", "/targets", 200, "bob-reports"),
    ("bob", "/notebook-instances/bob-reports", 200, "bob-reports"),
    ("bob", "/notebook-instances/ml-team-shared", 404, "not_found"),
    ("bob", "/notebook-instances/alice-analysis", 404, "not_found"),
    ("bob", "/studio", 200, "bob"),
    ("bob", "/notebook-instances/bad..name", 400, "invalid_request"),
    ("bob", "/studio?session=12", 400, "invalid_request"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "target/release/notebook-gate"))
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)

    standin, moto, page = start_standin()
    log = ROOT / "target/soak/function.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    gateway = None
    try:
        world = seed(moto)
        gateway = LocalGateway(
            port=0, runtime_port=0, binary=args.binary, log_path=log,
            authorizer=pool_authorizer(moto, world),
            function_env={**aws_env(moto), "STUDIO_DOMAIN_ID": world["domain_id"]},
        )
        gateway.start()
        tokens = {user: token(moto, world["client_id"], user) for user in ("alice", "bob")}
        base = gateway.url

        def one(i: int) -> str | None:
            user, path, status, expected = MIX[i % len(MIX)]
            request = urllib.request.Request(base + path, headers={
                "Authorization": f"Bearer {tokens[user]}", "Accept": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    got, body = response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                got, body = error.code, error.read().decode()
            if got != status or expected not in body:
                return f"{user} {path}: {got} {body[:200]}"
            answer = json.loads(body)
            if "url" in answer and not answer["url"].startswith(f"{page}/"):
                return f"{user} {path}: a URL that does not point at the stand-in's notebook page"
            return None

        # The gateway prints a line per request; ten thousand of them say nothing here.
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet), ThreadPoolExecutor(args.clients) as pool:
            warmup_wrong = [w for w in pool.map(one, range(len(MIX) * 10)) if w]
            start = gateway.host.memory_kb()
            started = time.monotonic()
            wrong = [w for w in pool.map(one, range(args.requests)) if w]
            seconds = time.monotonic() - started
        end = gateway.host.memory_kb()
        alive = gateway.function.process.poll() is None
        result = {
            "requests": args.requests, "wrong": len(wrong) + len(warmup_wrong), "seconds": round(seconds, 1),
            "requests_per_second": round(args.requests / seconds), "process_alive": alive,
            "rss_kb_after_warmup": start["VmRSS"], "rss_kb_at_end": end["VmRSS"], "peak_rss_kb": end["VmHWM"],
        }
        print(json.dumps(result, indent=2))
        for w in (warmup_wrong + wrong)[:10]:
            print("wrong:", w, file=sys.stderr)
        return 0 if not wrong and not warmup_wrong and alive else 1
    finally:
        if gateway:
            gateway.stop()
        standin.stop(10)


if __name__ == "__main__":
    sys.exit(main())
