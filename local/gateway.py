"""A local stand-in for API Gateway + Lambda: verifies Cognito JWTs, builds real API Gateway events
and hands them to the real `bootstrap` binary through the Lambda Runtime API, as Lambda does.

It fails closed: a route that needs a token and lacks a valid one gets 401 and the function is
never invoked. Only what API Gateway itself would pass reaches the function."""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jwt

RUNTIME_PREFIX = "/2018-06-01/runtime"
INVOKE_TIMEOUT_SECONDS = 15  # the Lambda timeout the template sets
API_ROUTES = ("/targets", "/studio", "/notebook-instances/", "/launch/")


class Authorizer:
    """Cognito JWT checks as API Gateway's JWT authorizer does them: RS256 signature against the
    pool's JWKS, issuer, expiry, and the audience (`aud` for ID tokens, `client_id` for access)."""

    def __init__(self, jwks_url: str, issuer: str, client_id: str):
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True)
        self.issuer = issuer
        self.client_id = client_id

    def claims(self, token: str) -> dict | None:
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss", "token_use"], "verify_aud": False},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError):
            return None
        use = claims.get("token_use")
        if use == "id" and claims.get("aud") == self.client_id:
            return claims
        if use == "access" and claims.get("client_id") == self.client_id:
            return claims
        return None


def _as_http_api_claim(value) -> str:
    # HTTP API flattens arrays into "[a b]" and every other value into its text.
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return value if isinstance(value, str) else json.dumps(value)


def _as_rest_api_claim(value) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def http_api_event(method, path, query, headers, source_ip, claims, raw_query: str | None = None) -> dict:
    now = datetime.now(timezone.utc)
    route = method + " " + path
    single_query: dict[str, str] = {}
    for key, value in query:
        single_query[key] = f"{single_query[key]},{value}" if key in single_query else value
    event = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        # As the client sent it (API Gateway does not re-encode it); built from the pairs otherwise.
        "rawQueryString": raw_query if raw_query is not None else "&".join(f"{k}={v}" for k, v in query),
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("Host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": base64.b64encode(os.urandom(12)).decode(),
            "routeKey": route,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if single_query:
        event["queryStringParameters"] = single_query
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": {k: _as_http_api_claim(v) for k, v in claims.items()}, "scopes": None}
        }
    return event


def rest_api_event(method, path, query, headers, source_ip, claims) -> dict:
    now = datetime.now(timezone.utc)
    multi_query: dict[str, list[str]] = {}
    for key, value in query:
        multi_query.setdefault(key, []).append(value)
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": "/local" + path,
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "local",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
            "apiId": "local",
            "authorizer": {"claims": {k: _as_rest_api_claim(v) for k, v in claims.items()}}
            if claims is not None
            else None,
        },
        "body": None,
        "isBase64Encoded": False,
    }
    return event


class Invocation:
    def __init__(self, event: dict):
        self.request_id = str(uuid.uuid4())
        self.event = event
        self.done = threading.Event()
        self.result: dict | None = None
        self.error: dict | None = None
        # When the function took the event from /next and when it posted its answer (for the bench).
        self.handed_at = 0.0
        self.answered_at = 0.0


class Function:
    """Runs the real `bootstrap` as a child process against our Runtime API, one event at a time."""

    def __init__(self, command: list[str], env: dict, log_path: Path, cwd: str | None = None):
        self.command = command
        self.cwd = cwd
        self.spawned_at = 0.0
        self.first_next_at = 0.0  # the runtime's first /next: its init is done
        self.env = env
        self.runtime_port = 0  # set by the FunctionHost that serves its Runtime API
        self.log_path = log_path
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.in_flight: dict[str, Invocation] = {}
        self.lock = threading.Lock()  # one invocation at a time, as in one Lambda sandbox
        self.process: subprocess.Popen | None = None
        self.log_file = None
        self.last: Invocation | None = None  # the latest invocation, with its timings

    def start(self):
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.runtime_port}",
            "AWS_LAMBDA_FUNCTION_NAME": "notebook-gate",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/notebook-gate",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            **self.env,
        }
        self.log_file = open(self.log_path, "ab", buffering=0)
        self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, env=env, cwd=self.cwd, stdout=self.log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log_file:
            self.log_file.close()

    def invoke(self, event: dict) -> dict:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("the function process is not running")
            invocation = Invocation(event)
            self.last = invocation
            self.in_flight[invocation.request_id] = invocation
            self.pending.put(invocation)
            if not invocation.done.wait(INVOKE_TIMEOUT_SECONDS):
                raise TimeoutError("the function did not answer in time")
            self.in_flight.pop(invocation.request_id, None)
            if invocation.error is not None or invocation.result is None:
                raise RuntimeError("the function reported an error")
            return invocation.result


def runtime_api_handler(function: Function):
    class RuntimeApi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
        # peer's delayed ACK can hold the body back for 40 ms on a kept-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # the runtime's traffic carries tokens: never log it
            pass

        def _reply(self, status: int, body: bytes = b"", headers: dict | None = None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != f"{RUNTIME_PREFIX}/invocation/next":
                return self._reply(404)
            if not function.first_next_at:
                function.first_next_at = time.perf_counter()
            # Blocks until there is an event: answering without a request id panics the runtime.
            invocation = function.pending.get()
            invocation.handed_at = time.perf_counter()
            deadline = int((time.time() + INVOKE_TIMEOUT_SECONDS) * 1000)
            self._reply(
                200,
                json.dumps(invocation.event).encode(),
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:notebook-gate",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                },
            )

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = self.path[len(RUNTIME_PREFIX):].strip("/").split("/")
            if parts[:1] == ["init"]:
                return self._reply(202, b"{}")
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                invocation = function.in_flight.get(parts[1])
                if invocation is None:
                    return self._reply(400, b'{"errorMessage":"unknown request id"}')
                try:
                    parsed = json.loads(body or b"null")
                except ValueError:
                    parsed = None
                invocation.answered_at = time.perf_counter()
                if parts[2] == "response":
                    invocation.result = parsed
                else:
                    invocation.error = parsed or {}
                invocation.done.set()
                return self._reply(202, b'{"status":"OK"}')
            return self._reply(404)

    return RuntimeApi


def gateway_handler(function: Function, authorizer: Authorizer, payload: str):
    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as for the Runtime API

        def log_message(self, fmt, *args):
            # The request line holds the query string (and so a launch token): log the path only.
            path = urlsplit(self.path).path
            print(f"gateway {self.command} {path} -> {getattr(self, '_status', '-')}", flush=True)

        def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]]):
            self._status = status
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _unauthorized(self):
            # No CORS headers: the worst case of a real API Gateway (a REST API's authorizer 401
            # has none without gateway responses), so a browser sees a network error and the
            # portal has to cope with that.
            self._reply(401, b'{"message":"Unauthorized"}', [("Content-Type", "application/json")])

        def _handle(self):
            split = urlsplit(self.path)
            path = split.path
            query = parse_qsl(split.query, keep_blank_values=True)
            if not path.startswith(API_ROUTES):
                return self._reply(404, b'{"message":"Not Found"}', [("Content-Type", "application/json")])

            claims = None
            if self.command != "OPTIONS":
                token = None
                header = self.headers.get("Authorization", "")
                if header:
                    token = header[7:] if header.lower().startswith("bearer ") else header
                if path.startswith("/launch/"):
                    token = dict(query).get("access_token") or token
                claims = authorizer.claims(token) if token else None
                if claims is None:
                    return self._unauthorized()

            headers = {k: v for k, v in self.headers.items()}
            if payload == "v1":
                event = rest_api_event(self.command, path, query, headers, self.client_address[0], claims)
            else:
                event = http_api_event(self.command, path, query, headers, self.client_address[0], claims,
                                       raw_query=split.query)
            try:
                result = function.invoke(event)
            except TimeoutError:
                return self._reply(504, b'{"message":"Endpoint request timed out"}', [("Content-Type", "application/json")])
            except RuntimeError:
                return self._reply(502, b'{"message":"Internal Server Error"}', [("Content-Type", "application/json")])
            status = int(result.get("statusCode", 200))
            response_headers: list[tuple[str, str]] = []
            for key, values in (result.get("multiValueHeaders") or {}).items():
                response_headers.extend((key, v) for v in values)
            if not response_headers:
                response_headers = list((result.get("headers") or {}).items())
            body = result.get("body") or ""
            raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
            self._reply(status, raw, response_headers)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

    return Gateway


class RuntimeServer(ThreadingHTTPServer):
    """The Runtime API's server. A function process that is stopped drops its connection (its
    blocked `/next`, or a reply being written): expected then, and not worth a traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FunctionHost:
    """One Lambda sandbox: a function process and the Runtime API server it polls, on `port`
    (0: a free one)."""

    def __init__(self, command: list[str], env: dict, log_path: Path, port: int = 0, cwd: str | None = None):
        self.function = Function(command, env, log_path, cwd=cwd)
        self.server = RuntimeServer(("127.0.0.1", port), runtime_api_handler(self.function))
        self.function.runtime_port = self.server.server_address[1]

    def start(self) -> "FunctionHost":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.function.start()
        return self

    def stop(self):
        self.function.stop()
        self.server.shutdown()
        self.server.server_close()

    def memory_kb(self) -> dict[str, int]:
        """The process's resident set now (`VmRSS`) and at its peak (`VmHWM`), in KiB."""
        fields = {}
        for line in Path(f"/proc/{self.function.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
        return fields


class LocalGateway:
    """The gateway and the runtime API on their ports, with the function process behind them."""

    def __init__(self, *, port, runtime_port, binary, function_env, authorizer, payload="v2",
                 log_path=Path("function.log")):
        self.host = FunctionHost([binary], function_env, log_path, port=runtime_port)
        self.function = self.host.function
        self.gateway = ThreadingHTTPServer(
            ("127.0.0.1", port), gateway_handler(self.function, authorizer, payload)
        )
        self.gateway.daemon_threads = True

    def start(self):
        threading.Thread(target=self.gateway.serve_forever, daemon=True).start()
        self.host.start()

    def stop(self):
        self.host.stop()
        self.gateway.shutdown()
        self.gateway.server_close()
