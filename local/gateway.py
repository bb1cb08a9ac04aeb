"""A local stand-in for API Gateway + Lambda: routes as the template's HTTP API does (its routes
and CORS read from template.yaml), authorizes as the deployed API's authorizers do, builds real
API Gateway events and hands them to the real `bootstrap` binary through the Lambda
Runtime API, as Lambda does.

It fails closed: a route that needs a token and lacks a valid one gets 401 and the function is
never invoked. Only what API Gateway itself would pass reaches the function.

Its one known hole: moto signs every pool's tokens with a private key it ships (public in the moto
package), so anyone on this machine can mint a token this gateway accepts. Local use only."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jwt
from werkzeug.wrappers import Request, Response

from local.emulation import function_command
from local.iam.render import TEMPLATE, load_template
from local.private_api import ResourcePolicy, path_pattern, request_source, without_source_headers
from local.serve import Server

RUNTIME_PREFIX = "/2018-06-01/runtime"
INVOKE_TIMEOUT_SECONDS = 15  # the Lambda timeout the template sets
# The REST API (v1) stand-in outside private mode has no definition in the template: it takes the
# HTTP API's paths, every method, and leaves OPTIONS to the function.
API_ROUTES = ("/targets", "/studio", "/notebook-instances/", "/mlflow/", "/launch/")
NOT_FOUND = b'{"message":"Not Found"}'
# The template's AuthorizationScopes on every route: a token must hold one of them. Access tokens
# from managed login carry `openid`, from the SRP / password API `aws.cognito.signin.user.admin`;
# ID tokens carry no `scope` at all, so they open nothing.
ROUTE_SCOPES = ("openid", "aws.cognito.signin.user.admin")
MOTO_KEY_WARNING = (
    "warning: the local API Gateway accepts any token signed with moto's bundled private key "
    "(moto/cognitoidp/resources/jwks-private.json, public in the moto package): anyone who can reach "
    "it can mint a token for any user. It listens on 127.0.0.1 only; never expose it."
)


@dataclass(frozen=True)
class Route:
    """One HTTP API route: `method` (or `ANY`), the path template, and where its authorizer reads
    the token (`$request.header.Authorization`, `$request.querystring.access_token`; '' for a route
    without an authorizer)."""

    method: str
    path: str
    identity_source: str
    pattern: re.Pattern

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Cors:
    """The HTTP API's CorsConfiguration, as API Gateway answers a preflight from it."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    max_age: int | None

    def preflight(self, origin: str | None) -> Response:
        # A preflight from another origin gets no CORS headers, so the browser sends nothing.
        headers = {}
        if origin and origin in self.allow_origins:
            headers = {"Access-Control-Allow-Origin": origin,
                       "Access-Control-Allow-Methods": ", ".join(self.allow_methods),
                       "Access-Control-Allow-Headers": ", ".join(self.allow_headers)}
            if self.max_age is not None:
                headers["Access-Control-Max-Age"] = str(self.max_age)
        return ApiResponse(b"", 204, headers)


class HttpApi:
    """template.yaml's HTTP API (GateApi and GateFunction's HttpApi events) as API Gateway routes a
    request (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html):
    a route's exact method before `ANY` ("ANY matches all methods that you haven't defined for a
    resource"), a literal path before a path variable; no route and no `$default` route: 404
    `{"message":"Not Found"}`. With CorsConfiguration, API Gateway answers an OPTIONS itself only
    when no route matches it (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
    an `ANY` route with an authorizer takes the preflight, which carries no token, and answers 401."""

    def __init__(self, routes: list[Route], cors: Cors | None):
        self.routes = routes
        self.cors = cors

    @classmethod
    def from_template(cls, template: Path = TEMPLATE, portal_origins: tuple[str, ...] = ()) -> "HttpApi":
        """`portal_origins` stand for the template's `https://${PortalDistribution.DomainName}`
        (CORS_ALLOWED_ORIGINS, which the template sets to the same value)."""
        resources = load_template(template)["Resources"]
        function = resources["GateFunction"]["Properties"]
        events = [e["Properties"] for e in function.get("Events", {}).values() if e.get("Type") == "HttpApi"]
        api_ids = {e["ApiId"]["Ref"] for e in events}
        if len(api_ids) != 1:
            raise ValueError(f"GateFunction's HttpApi events name {len(api_ids)} APIs; the local gateway serves one")
        api = resources[api_ids.pop()]["Properties"]
        authorizers = (api.get("Auth") or {}).get("Authorizers") or {}
        default = (api.get("Auth") or {}).get("DefaultAuthorizer")
        routes = []
        for event in events:
            name = (event.get("Auth") or {}).get("Authorizer", default)
            source = authorizers[name]["IdentitySource"] if name and name != "NONE" else ""
            method = event["Method"].upper()
            routes.append(Route("ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
                                event["Path"], source, path_pattern(event["Path"])))
        config = api.get("CorsConfiguration")
        cors = None
        if config:
            # A literal origin stays; an intrinsic (the portal's distribution) is the portal here.
            origins = [o for o in config.get("AllowOrigins", []) if isinstance(o, str)]
            if any(not isinstance(o, str) for o in config.get("AllowOrigins", [])):
                origins += list(portal_origins)
            cors = Cors(tuple(origins), tuple(config.get("AllowMethods", [])),
                        tuple(config.get("AllowHeaders", [])), config.get("MaxAge"))
        return cls(routes, cors)

    def route(self, method: str, path: str) -> Route | None:
        matches = [r for r in self.routes if r.method in (method, "ANY") and r.pattern.match(path)]
        # Fewer path variables is the more specific path; on one path, the method before ANY.
        return min(matches, key=lambda r: (r.path.count("{"), r.method == "ANY"), default=None)


def _token(request: Request, query: list[tuple[str, str]], source: str) -> str:
    """The token as an identity source yields it ('' when there is none): API Gateway joins a
    repeated query parameter or header with commas (so it never verifies). A header value may carry
    a `Bearer ` prefix, which the HTTP API JWT authorizer and the REST Cognito authorizer accept
    (for the REST one, AWS's own workshop tests it with `Bearer <token>`, and
    awslabs/nx-plugin-for-aws#828 deployed a client sending `Bearer <access token>` to one with
    scopes)."""
    kind, _, name = source.removeprefix("$request.").partition(".")
    if kind == "querystring":
        return ",".join(value for key, value in query if key == name)
    header = ",".join(request.headers.getlist(name))
    return header[7:] if header[:7].lower() == "bearer " else header


class Authorizer:
    """The deployed API's authorizers for one Cognito pool and app client.

    - `http_api` is an HTTP API JWT authorizer (payload v2) with the route scopes: signature against
      the pool's JWKS, issuer, expiry, the audience (`aud` when the token has one, else
      `client_id`) and at least one route scope in `scope`
      (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
    - `rest_api` is a REST API Cognito user pool authorizer (payload v1) with OAuth scopes on the
      methods: signature, issuer, expiry, and then only an access token holding a method scope
      ("if you configure additional scopes on the method, use a valid access token":
      https://repost.aws/knowledge-center/api-gateway-cognito-401-unauthorized). It is configured
      with user pools, not app clients, so it checks the issuer and not the client."""

    def __init__(self, jwks_url: str, issuer: str, client_id: str):
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True)
        self.issuer = issuer
        self.client_id = client_id

    def _verified(self, token: str) -> dict | None:
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            return jwt.decode(token, key.key, algorithms=["RS256"], issuer=self.issuer,
                              options={"require": ["exp", "iss"], "verify_aud": False})
        except (jwt.PyJWTError, jwt.PyJWKClientError):
            return None

    @staticmethod
    def _has_route_scope(claims: dict) -> bool:
        scope = claims.get("scope")
        return isinstance(scope, str) and any(s in ROUTE_SCOPES for s in scope.split())

    def http_api(self, token: str) -> dict | None:
        claims = self._verified(token)
        if claims is None:
            return None
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences or not self._has_route_scope(claims):
            return None
        return claims

    def rest_api(self, token: str) -> dict | None:
        claims = self._verified(token)
        if claims is None or claims.get("token_use") != "access" or not self._has_route_scope(claims):
            return None
        return claims


def identity(request: Request, query: list[tuple[str, str]], route: Route | None) -> str:
    """The token the route's authorizer reads: on the HTTP API (`route` given) from the template's
    identity source (`/launch/...` routes only the query's `access_token`, every other route only
    the `Authorization` header); on a REST API (no `route`) the `Authorization` header on every
    route."""
    return _token(request, query, route.identity_source if route else "$request.header.Authorization")


def _as_http_api_claim(value) -> str:
    # HTTP API flattens arrays into "[a b]" and every other value into its text.
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return value if isinstance(value, str) else json.dumps(value)


def _as_rest_api_claim(value) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


# Bodies an HTTP API passes as text; any other it base64-encodes (isBase64Encoded true).
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded")


def _is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith(TEXT_TYPES) or kind.endswith("+json") or kind.endswith("+xml")


def http_api_event(method, path, query, headers, source_ip, claims, raw_query: str | None = None,
                   route_key: str | None = None, body: bytes = b"") -> dict:
    now = datetime.now(timezone.utc)
    route = route_key or method + " " + path  # the matched route's key, as API Gateway gives it
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
    if body:  # as API Gateway passes it: text as is, anything else base64-encoded
        text = _is_text(headers.get("Content-Type", "") or "")
        event["body"] = body.decode("utf-8", errors="replace") if text else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not text
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            # With route scopes, API Gateway passes the token's scopes along with its claims.
            "jwt": {"claims": {k: _as_http_api_claim(v) for k, v in claims.items()},
                    "scopes": str(claims.get("scope", "")).split() or None}
        }
    return event


def rest_api_event(method, path, query, headers, source_ip, claims, vpce: str = "", body: bytes = b"") -> dict:
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
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", ""),
                         # A private API's request names the endpoint it came through.
                         **({"vpceId": vpce} if vpce else {})},
            "apiId": "local",
            "authorizer": {"claims": {k: _as_rest_api_claim(v) for k, v in claims.items()}}
            if claims is not None
            else None,
        },
        # A REST API without binary media types passes every body as text.
        "body": body.decode("utf-8", errors="replace") if body else None,
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




class ApiResponse(Response):
    """A response with exactly the headers it is given (werkzeug would add a text/plain type)."""

    default_mimetype = None


def runtime_api(function: Function):
    """The Lambda Runtime API for `function`: `/next` hands out an event, `/response` and `/error`
    take the answer (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). A plain WSGI
    app: the benchmark's floor runs through it, and werkzeug's Request/Response objects cost
    0.08 ms of its 0.23 ms per invocation."""

    def reply(start_response, status: str, body: bytes, headers: tuple = ()):
        start_response(status, [("Content-Length", str(len(body))), *headers])
        return [body]

    def app(environ, start_response):
        method = environ["REQUEST_METHOD"]
        parts = environ["PATH_INFO"][len(RUNTIME_PREFIX):].strip("/").split("/")
        if method == "GET" and parts == ["invocation", "next"]:
            if not function.first_next_at:
                function.first_next_at = time.perf_counter()
            # Blocks until there is an event: answering without a request id panics the runtime.
            invocation = function.pending.get()
            invocation.handed_at = time.perf_counter()
            deadline = int((time.time() + INVOKE_TIMEOUT_SECONDS) * 1000)
            return reply(start_response, "200 OK", json.dumps(invocation.event).encode(), (
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:notebook-gate"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ))
        if method == "POST" and parts[:1] == ["init"]:
            return reply(start_response, "202 Accepted", b"{}")
        if method == "POST" and len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            invocation = function.in_flight.get(parts[1])
            if invocation is None:
                return reply(start_response, "400 Bad Request", b'{"errorMessage":"unknown request id"}')
            try:
                answer = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"null")
            except ValueError:
                answer = None
            invocation.answered_at = time.perf_counter()
            if parts[2] == "response":
                invocation.result = answer
            else:
                invocation.error = answer or {}
            invocation.done.set()
            return reply(start_response, "202 Accepted", b'{"status":"OK"}')
        return reply(start_response, "404 Not Found", b"")

    return app


def _json(status: int, body: bytes) -> Response:
    return ApiResponse(body, status, {"Content-Type": "application/json"})


def gateway(function: Function, authorizer: Authorizer, payload: str, private: "ResourcePolicy | None" = None,
            default_vpce: str = "", error_origin: str = "", http_api: HttpApi | None = None):
    """The API: its routes, the authorizer of `payload`'s API type, then the event to the function.
    v2: `http_api`'s routes, CORS and authorizers (template.yaml's HTTP API). `private`: the private
    REST API's resource policy and routes (local/private_api.py), checked first, with a request
    that says nothing about where it comes from taken as through `default_vpce`; its own 4xx carry
    `error_origin` as the template's gateway responses (DEFAULT_4XX) give the portal's."""
    if payload == "v2" and http_api is None:
        http_api = HttpApi.from_template()

    def refused(status: int, body: bytes) -> Response:
        response = _json(status, body)
        if private is not None and error_origin:
            response.headers["Access-Control-Allow-Origin"] = error_origin
            response.headers["Vary"] = "Origin"
        return response

    def answer(request: Request) -> Response:
        # The request target as the client sent it (werkzeug's PATH_INFO is percent-decoded).
        split = urlsplit(request.environ["RAW_URI"].encode("latin-1").decode("utf-8"))
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        headers = dict(request.headers.items())
        vpce = ""
        route = None
        needs_token = request.method != "OPTIONS"
        if private is not None:
            source = request_source(request.headers, default_vpce)
            headers = without_source_headers(headers)
            refusal = private.refusal(request.method, path, source)
            if refusal is not None:
                return refused(*refusal)
            vpce = source.get("aws:SourceVpce", "")
            needs_token = private.authorized(request.method, path)
        elif payload == "v2":
            route = http_api.route(request.method, path)
            if route is None:
                if request.method == "OPTIONS" and http_api.cors is not None:
                    return http_api.cors.preflight(request.headers.get("Origin"))
                return _json(404, NOT_FOUND)
            needs_token = bool(route.identity_source)
        elif not path.startswith(API_ROUTES):
            return _json(404, NOT_FOUND)

        claims = None
        if needs_token:
            token = identity(request, query, route)
            check = authorizer.http_api if payload == "v2" else authorizer.rest_api
            claims = check(token) if token else None
            if claims is None:
                # No CORS headers (but in private mode, whose template has gateway responses): the
                # worst case of a real API Gateway (a REST API's authorizer 401 has none without
                # gateway responses, an HTTP API's may lack them), so the portal has to cope with that.
                return refused(401, b'{"message":"Unauthorized"}')

        source_ip = request.remote_addr
        body = request.get_data()
        if payload == "v1":
            event = rest_api_event(request.method, path, query, headers, source_ip, claims, vpce, body=body)
        else:
            event = http_api_event(request.method, path, query, headers, source_ip, claims, raw_query=split.query,
                                   route_key=route.key if route else None, body=body)
        try:
            result = function.invoke(event)
        except TimeoutError:
            return _json(504, b'{"message":"Endpoint request timed out"}')
        except RuntimeError:
            return _json(502, b'{"message":"Internal Server Error"}')
        response_headers: list[tuple[str, str]] = []
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response_headers.extend((key, v) for v in values)
        if not response_headers:
            response_headers = list((result.get("headers") or {}).items())
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        return ApiResponse(raw, int(result.get("statusCode", 200)), response_headers)

    @Request.application
    def app(request: Request) -> Response:
        response = answer(request)
        # The path only: the query string may hold a launch token.
        print(f"gateway {request.method} {request.path} -> {response.status_code}", flush=True)
        return response

    return app


class FunctionHost:
    """One Lambda sandbox: a function process and the Runtime API server it polls, on `port`
    (0: a free one)."""

    def __init__(self, command: list[str], env: dict, log_path: Path, port: int = 0, cwd: str | None = None):
        self.function = Function(command, env, log_path, cwd=cwd)
        self.server = Server(runtime_api(self.function), port, keep_alive=True)
        self.function.runtime_port = self.server.port

    def start(self) -> "FunctionHost":
        self.server.start()
        self.function.start()
        return self

    def stop(self):
        self.function.stop()
        self.server.stop()

    def memory_kb(self) -> dict[str, int]:
        """The process's resident set now (`VmRSS`) and at its peak (`VmHWM`), in KiB."""
        fields = {}
        for line in Path(f"/proc/{self.function.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
        return fields


class LocalGateway:
    """The gateway and the Runtime API on their ports, with the function process behind them."""

    def __init__(self, *, port, runtime_port, binary, function_env, authorizer, payload="v2",
                 log_path=Path("function.log"), private=None, default_vpce="", error_origin=""):
        # An arm64 bootstrap runs under qemu-aarch64 on an x86_64 machine (local/emulation.py).
        self.host = FunctionHost(function_command(binary), function_env, log_path, port=runtime_port)
        self.function = self.host.function
        # The template's HTTP API, its CORS origin being the portal's, as the function's is.
        http_api = HttpApi.from_template(portal_origins=tuple(
            o for o in function_env.get("CORS_ALLOWED_ORIGINS", "").split(",") if o)) if payload == "v2" else None
        self.server = Server(gateway(self.function, authorizer, payload, private, default_vpce, error_origin,
                                     http_api), port)
        self.url = self.server.url

    def start(self):
        self.server.start()
        self.host.start()

    def stop(self):
        self.host.stop()
        self.server.stop()
