"""Lambda's Invoke API for one local function, so a service that calls Lambda (the Cognito stand-in
running a pool's triggers) reaches the real binary as AWS would reach the deployed one:

    host = TriggerHost("target/release/sign-in-trigger", env={...}, log_path=Path("trigger.log"))
    host.invoke_url     # POST the event here: http://127.0.0.1:<port>/2015-03-31/functions/<name>/invocations
    host.stop()

The answers are Invoke's (RequestResponse): 200 and the function's JSON result; a function that
reports an error, or runs past its timeout, is still a 200, with `X-Amz-Function-Error: Unhandled`
and the error as the body; an unknown function or path is a 404 (ResourceNotFoundException). The
function runs over the Lambda Runtime API in a `local.gateway.FunctionHost`, one event at a time,
as in one sandbox.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import unquote

from local import gateway
from local.emulation import function_command
from local.gateway import FunctionHost
from local.serve import Server

INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def invoke_api(host: FunctionHost, name: str):
    """The Invoke API for `host`'s function, known as `name` (its name or ARN in the path, as the
    SDK sends either)."""
    lock = threading.Lock()  # the function takes one event at a time; its `last` is read under it

    def reply(start_response, status: str, value, headers: tuple = ()):
        body = json.dumps(value).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                *headers])
        return [body]

    def not_found(start_response, what: str):
        return reply(start_response, "404 Not Found", {"Type": "User", "Message": f"Function not found: {what}"},
                     (("x-amzn-ErrorType", "ResourceNotFoundException"),))

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if not (path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX)):
            return not_found(start_response, path)
        wanted = unquote(path[len(INVOKE_PREFIX):-len(INVOKE_SUFFIX)])
        if environ["REQUEST_METHOD"] != "POST" or wanted not in (name, function_arn(name)):
            return not_found(start_response, function_arn(wanted) if ":" not in wanted else wanted)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            event = json.loads(raw or b"{}")
        except ValueError:
            return reply(start_response, "400 Bad Request",
                         {"Type": "User", "Message": "Could not parse request body into json"},
                         (("x-amzn-ErrorType", "InvalidRequestContentException"),))
        unhandled = (("X-Amz-Function-Error", "Unhandled"),)
        with lock:
            before = host.function.last
            try:
                result = host.function.invoke(event)
            except TimeoutError:
                seconds = gateway.INVOKE_TIMEOUT_SECONDS
                message = f"{host.function.last.request_id} Task timed out after {seconds:.2f} seconds"
                return reply(start_response, "200 OK", {"errorMessage": message}, unhandled)
            except RuntimeError as error:
                invocation = host.function.last
                if invocation is before or invocation is None or invocation.error is None:
                    # The process was gone (or answered nothing): Lambda's error for a runtime that exited.
                    return reply(start_response, "200 OK", {"errorType": "Runtime.ExitError",
                                                            "errorMessage": str(error)}, unhandled)
                return reply(start_response, "200 OK", invocation.error, unhandled)
        return reply(start_response, "200 OK", result)

    return app


class TriggerHost:
    """A function binary (or any command speaking the Runtime API) behind its own Invoke API, both on
    free ports: `url` is the server, `invoke_url` the function's invocation URL, `arn` its ARN, and
    `host` the FunctionHost (its `function.log_path` holds what the function logged)."""

    def __init__(self, binary: str | Path | list[str], env: dict, log_path: Path, name: str = "sign-in-trigger"):
        command = list(binary) if isinstance(binary, (list, tuple)) else function_command(binary)
        self.name = name
        self.arn = function_arn(name)
        self.host = FunctionHost(command, {"AWS_LAMBDA_FUNCTION_NAME": name, **env}, log_path)
        self.server = Server(invoke_api(self.host, name))
        self.url = self.server.url
        self.invoke_url = f"{self.url}{INVOKE_PREFIX}{name}{INVOKE_SUFFIX}"
        self.host.start()
        self.server.start()

    def stop(self):
        self.server.stop()
        self.host.stop()
