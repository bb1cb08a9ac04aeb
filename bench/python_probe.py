"""Wraps the benchmark's Python function without changing it: times its SageMaker calls through
botocore's own events and prints one line per invocation, as notebook-gate's audit line does."""

import json
import time

import app

_waited = {"seconds": 0.0}


def _before_call(context, **_):
    context["bench_started"] = time.perf_counter()


def _after_call(context, **_):
    _waited["seconds"] += time.perf_counter() - context.get("bench_started", time.perf_counter())


app.sagemaker.meta.events.register("before-call.sagemaker", _before_call)
app.sagemaker.meta.events.register("after-call.sagemaker", _after_call)


def handler(event, context):
    _waited["seconds"] = 0.0
    started = time.perf_counter()
    result = app.handler(event, context)
    handler_ms = (time.perf_counter() - started) * 1000
    request_id = event["requestContext"]["requestId"]
    print(json.dumps({"bench": request_id, "sagemaker_ms": _waited["seconds"] * 1000, "latency_ms": handler_ms}),
          flush=True)
    return result
