"""SageMaker and Cognito for the local stack: moto's server, extended with what moto 5.2.5 lacks
(presigned URLs, Studio user profiles and spaces, tags on them, a fault switch), and a stand-in
notebook page that every presigned URL points at.

    python -m local.sagemaker_standin --port 5000 --page-port 5001

moto's server dispatches `X-Amz-Target: SageMaker.<Operation>` to methods of `SageMakerResponse`,
so new operations are methods there plus a little state on the backend, in moto's own style.

The page accepts a URL's token once and only before it expires, and shows what it opened, so a
test can prove which notebook a URL really opens. Control endpoints on the page's port:
`POST|DELETE /_faults` (a fault may carry `"match"`: it then hits only calls whose JSON input
contains that text), `GET|DELETE /_calls`, `POST /_clock`.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import logging
import re
import secrets
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.responses import SageMakerResponse
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
NOTEBOOK_URL_SECONDS = 300  # SageMaker fixes a notebook instance URL's life at five minutes


class Registry:
    """Shared by the SageMaker side and the page: issued tokens, the clock, calls and faults."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens: dict[str, dict] = {}
        self.clock_offset = 0.0
        self.calls: list[dict] = []
        self.faults: dict[tuple[str, str], dict] = {}  # (operation, match) -> fault
        self.page_base = ""

    def now(self) -> float:
        return time.time() + self.clock_offset

    def issue(self, facts: dict, seconds: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = {**facts, "expires": self.now() + seconds, "used": False}
        return token

    def redeem(self, token: str, kind: str, key: str) -> tuple[dict | None, str]:
        with self.lock:
            entry = self.tokens.get(token)
            if entry is None or entry["kind"] != kind or entry["key"] != key:
                return None, "unknown"
            if entry["used"]:
                return None, "replayed"
            if self.now() > entry["expires"]:
                return None, "expired"
            entry["used"] = True
            return entry, ""

    def record(self, operation: str, payload: dict) -> dict:
        call = {"operation": operation, "input": payload}
        with self.lock:
            self.calls.append(call)
        return call

    def take_fault(self, operation: str, body: str) -> dict | None:
        """The fault set for this operation whose `match` (if any) the call's JSON input contains;
        each application counts down, and at zero the fault is gone."""
        with self.lock:
            keys = [key for key in self.faults if key[0] == operation and key[1] in body]
            if not keys:
                return None
            key = max(keys, key=lambda k: len(k[1]))  # a fault aimed at this resource wins
            fault = self.faults[key]
            fault["count"] -= 1
            if fault["count"] <= 0:
                del self.faults[key]
            return dict(fault)


REGISTRY = Registry()


# --- SageMaker operations moto lacks ----------------------------------------------------------


def _studio(backend) -> dict:
    """Profiles, spaces and their tags, kept on the moto backend of one account and region."""
    if not hasattr(backend, "standin_studio"):
        backend.standin_studio = {"profiles": {}, "spaces": {}}
    return backend.standin_studio


def _arn(backend, kind: str, domain_id: str, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{domain_id}/{name}"


def _check_name(what: str, name) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )
    return name


def _check_range(what: str, value, low: int, high: int) -> int:
    if not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{what}' failed to satisfy constraint: "
            f"Member must have value between {low} and {high}"
        )
    return value


def _domain(backend, domain_id):
    if domain_id not in backend.domains:
        raise ResourceNotFound(f"Domain {domain_id} does not exist")
    return backend.domains[domain_id]


def _profile(backend, domain_id, name) -> dict:
    profile = _studio(backend)["profiles"].get((domain_id, name))
    if profile is None:
        raise ResourceNotFound(f"User profile {name} does not exist in domain {domain_id}")
    return profile


def _space(backend, domain_id, name) -> dict:
    space = _studio(backend)["spaces"].get((domain_id, name))
    if space is None:
        raise ResourceNotFound(f"Space {name} does not exist in domain {domain_id}")
    return space


def create_presigned_notebook_instance_url(self):
    name = _check_name("notebookInstanceName", self._get_param("NotebookInstanceName"))
    session = _check_range(
        "sessionExpirationDurationInSeconds", self._get_param("SessionExpirationDurationInSeconds", 43200), 1800, 43200
    )
    self.sagemaker_backend.get_notebook_instance(name)  # ValidationException RecordNotFound
    token = REGISTRY.issue({"kind": "notebook", "key": name, "name": name, "session": session}, NOTEBOOK_URL_SECONDS)
    return json.dumps({"AuthorizedUrl": f"{REGISTRY.page_base}/notebook/{name}?authToken={token}"})


def create_presigned_domain_url(self):
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    profile = _check_name("userProfileName", self._get_param("UserProfileName"))
    space = self._get_param("SpaceName")
    expires = _check_range("expiresInSeconds", self._get_param("ExpiresInSeconds", 300), 5, 300)
    session = _check_range(
        "sessionExpirationDurationInSeconds", self._get_param("SessionExpirationDurationInSeconds", 43200), 1800, 43200
    )
    _domain(backend, domain_id)
    _profile(backend, domain_id, profile)
    if space is not None:
        _space(backend, domain_id, _check_name("spaceName", space))
    facts = {"kind": "studio", "key": domain_id, "domain": domain_id, "profile": profile, "space": space or "",
             "app": self._get_param("LandingUri") or "", "session": session}
    token = REGISTRY.issue(facts, expires)
    return json.dumps({"AuthorizedUrl": f"{REGISTRY.page_base}/studio/{domain_id}?authToken={token}"})


def create_user_profile(self):
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    name = _check_name("userProfileName", self._get_param("UserProfileName"))
    _domain(backend, domain_id)
    profiles = _studio(backend)["profiles"]
    if (domain_id, name) in profiles:
        raise ResourceInUseException(f"User profile {name} already exists")
    arn = _arn(backend, "user-profile", domain_id, name)
    profiles[(domain_id, name)] = {"DomainId": domain_id, "UserProfileName": name, "UserProfileArn": arn,
                                   "Status": "InService", "Tags": list(self._get_param("Tags") or [])}
    return json.dumps({"UserProfileArn": arn})


def describe_user_profile(self):
    profile = _profile(self.sagemaker_backend, self._get_param("DomainId"), self._get_param("UserProfileName"))
    return json.dumps({k: v for k, v in profile.items() if k != "Tags"})


def list_user_profiles(self):
    domain_id = self._get_param("DomainIdEquals")
    profiles = [
        {k: p[k] for k in ("DomainId", "UserProfileName", "Status")}
        for p in _studio(self.sagemaker_backend)["profiles"].values()
        if domain_id in (None, p["DomainId"])
    ]
    return json.dumps({"UserProfiles": profiles})


def delete_user_profile(self):
    backend = self.sagemaker_backend
    key = (self._get_param("DomainId"), self._get_param("UserProfileName"))
    _profile(backend, *key)
    del _studio(backend)["profiles"][key]
    return "{}"


def create_space(self):
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    name = _check_name("spaceName", self._get_param("SpaceName"))
    _domain(backend, domain_id)
    owner = (self._get_param("OwnershipSettings") or {}).get("OwnerUserProfileName")
    if owner is not None:
        _profile(backend, domain_id, owner)
    spaces = _studio(backend)["spaces"]
    if (domain_id, name) in spaces:
        raise ResourceInUseException(f"Space {name} already exists")
    arn = _arn(backend, "space", domain_id, name)
    spaces[(domain_id, name)] = {
        "DomainId": domain_id, "SpaceName": name, "SpaceArn": arn, "Status": "InService",
        "OwnershipSettings": {"OwnerUserProfileName": owner} if owner else None,
        "SpaceSharingSettings": self._get_param("SpaceSharingSettings") or {"SharingType": "Private"},
        "SpaceSettings": self._get_param("SpaceSettings") or {},
        "Tags": list(self._get_param("Tags") or []),
    }
    return json.dumps({"SpaceArn": arn})


def describe_space(self):
    space = _space(self.sagemaker_backend, self._get_param("DomainId"), self._get_param("SpaceName"))
    return json.dumps({k: v for k, v in space.items() if k != "Tags" and v is not None})


def list_spaces(self):
    domain_id = self._get_param("DomainIdEquals")
    spaces = []
    for s in _studio(self.sagemaker_backend)["spaces"].values():
        if domain_id not in (None, s["DomainId"]):
            continue
        summary = {"DomainId": s["DomainId"], "SpaceName": s["SpaceName"], "Status": s["Status"],
                   "SpaceSharingSettingsSummary": s["SpaceSharingSettings"]}
        if s["OwnershipSettings"]:
            summary["OwnershipSettingsSummary"] = s["OwnershipSettings"]
        if s["SpaceSettings"].get("AppType"):
            summary["SpaceSettingsSummary"] = {"AppType": s["SpaceSettings"]["AppType"]}
        spaces.append(summary)
    return json.dumps({"Spaces": spaces})


def delete_space(self):
    backend = self.sagemaker_backend
    key = (self._get_param("DomainId"), self._get_param("SpaceName"))
    _space(backend, *key)
    del _studio(backend)["spaces"][key]
    return "{}"


def _tag_holder(self, arn: str) -> dict | None:
    """Profiles, spaces and domains keep their tags here; other resources are moto's."""
    backend = self.sagemaker_backend
    resource = (arn or "").split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    if kind in ("user-profile", "space"):
        domain_id, _, name = rest.partition("/")
        holder = _studio(backend)["profiles" if kind == "user-profile" else "spaces"].get((domain_id, name))
        if holder is None:
            raise ResourceNotFound(f"Resource {arn} not found")
        return holder
    if kind == "domain":
        domain = _domain(backend, rest)
        if not isinstance(getattr(domain, "tags", None), list):
            domain.tags = []  # moto leaves an untagged domain's tags as None and ListTags breaks
        return {"Tags": domain.tags}
    return None


_moto_list_tags = SageMakerResponse.list_tags
_moto_add_tags = SageMakerResponse.add_tags
_moto_delete_tags = SageMakerResponse.delete_tags


def list_tags(self):
    holder = _tag_holder(self, self._get_param("ResourceArn"))
    if holder is None:
        return _moto_list_tags(self)
    return json.dumps({"Tags": holder["Tags"]})


def add_tags(self):
    holder = _tag_holder(self, self._get_param("ResourceArn"))
    if holder is None:
        return _moto_add_tags(self)
    new = self._get_param("Tags") or []
    keys = {t["Key"] for t in new}
    holder["Tags"][:] = [t for t in holder["Tags"] if t["Key"] not in keys] + new
    return json.dumps({"Tags": holder["Tags"]})


def delete_tags(self):
    holder = _tag_holder(self, self._get_param("ResourceArn"))
    if holder is None:
        return _moto_delete_tags(self)
    keys = set(self._get_param("TagKeys") or [])
    holder["Tags"][:] = [t for t in holder["Tags"] if t["Key"] not in keys]
    return "{}"


for _operation in (
    create_presigned_notebook_instance_url, create_presigned_domain_url,
    create_user_profile, describe_user_profile, list_user_profiles, delete_user_profile,
    create_space, describe_space, list_spaces, delete_space,
    list_tags, add_tags, delete_tags,
):
    setattr(SageMakerResponse, _operation.__name__, _operation)


# --- the fault switch and call log, in front of moto's WSGI app -------------------------------


class FaultsAndCalls:
    """Records each SageMaker call and applies a configured fault to it before moto sees it."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("SageMaker."):
            return self.app(environ, start_response)
        operation = target.split(".", 1)[1]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        call = REGISTRY.record(operation, payload)
        fault = REGISTRY.take_fault(operation, body.decode(errors="replace"))
        if fault is None:
            # How long moto itself took, so the benchmark can separate SageMaker's share.
            started = time.perf_counter()
            body = b"".join(self.app(environ, start_response))
            call["seconds"] = time.perf_counter() - started
            return [body]
        kind = fault["fault"]
        if kind == "slow":
            time.sleep(float(fault.get("seconds", 5)))
            return self.app(environ, start_response)
        if kind == "drop":
            connection = environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
            return []
        status, code = ("400 Bad Request", "ThrottlingException") if kind == "throttle" else (
            "500 Internal Server Error", "InternalFailure")
        data = json.dumps({"__type": code, "message": f"injected {kind}"}).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data))),
                                ("x-amzn-ErrorType", code)])
        return [data]


# --- the stand-in notebook page and the control endpoints -------------------------------------


class Page(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stalls

    def log_message(self, fmt, *args):  # the query string holds the URL's token: never log it
        pass

    def _send(self, status: int, body: bytes, content_type: str):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value):
        self._send(status, json.dumps(value).encode(), "application/json")

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def do_GET(self):
        split = urlsplit(self.path)
        if split.path == "/_calls":
            with REGISTRY.lock:
                return self._json(200, list(REGISTRY.calls))
        match = re.fullmatch(r"/(notebook|studio)/([^/]+)", split.path)
        if not match:
            return self._json(404, {"message": "not found"})
        kind, key = match.groups()
        token = (parse_qs(split.query).get("authToken") or [""])[0]
        entry, reason = REGISTRY.redeem(token, kind, key)
        wants_json = "application/json" in (self.headers.get("Accept") or "")
        if entry is None:
            if wants_json:
                return self._json(403, {"refused": reason})
            page = f'<!doctype html><title>Refused</title><main id="refused" data-reason="{reason}">' \
                   f"<h1>This link cannot be used</h1><p>{reason}</p></main>"
            return self._send(403, page.encode(), "text/html; charset=utf-8")
        opened = {
            "kind": "notebook-instance" if kind == "notebook" else "studio",
            "name": entry.get("name", ""), "domain": entry.get("domain", ""), "profile": entry.get("profile", ""),
            "space": entry.get("space", ""), "app": entry.get("app", ""), "session": entry["session"],
        }
        if wants_json:
            return self._json(200, {"opened": opened})
        attributes = " ".join(f'data-{k}="{html.escape(str(v))}"' for k, v in opened.items())
        title = html.escape(opened["name"] or f"{opened['profile']} {opened['space']}".strip())
        page = f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>' \
               f'<body><main id="opened" {attributes}><h1>Stand-in notebook: {title}</h1>' \
               f"<p>A real deployment would now be in Jupyter or Studio.</p></main></body></html>"
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def do_POST(self):
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/_faults":
            if body.get("fault") not in ("throttle", "error", "slow", "drop") or not body.get("operation"):
                return self._json(400, {"message": "operation and fault (throttle|error|slow|drop) required"})
            match = body.get("match", "")
            if not isinstance(match, str):
                return self._json(400, {"message": "match must be a string"})
            with REGISTRY.lock:
                REGISTRY.faults[(body["operation"], match)] = {
                    "fault": body["fault"], "count": int(body.get("count", 1)), "seconds": float(body.get("seconds", 5))}
            return self._json(200, {"ok": True})
        if path == "/_clock":
            with REGISTRY.lock:
                REGISTRY.clock_offset += float(body.get("advance", 0))
            return self._json(200, {"offset": REGISTRY.clock_offset})
        self._json(404, {"message": "not found"})

    def do_DELETE(self):
        path = urlsplit(self.path).path
        with REGISTRY.lock:
            if path == "/_faults":
                REGISTRY.faults.clear()
            elif path == "/_calls":
                REGISTRY.calls.clear()
            else:
                return self._json(404, {"message": "not found"})
        self._json(200, {"ok": True})


class NoDelayHandler(WSGIRequestHandler):
    """Werkzeug writes headers and body apart: without TCP_NODELAY a kept-alive client can wait
    40 ms for the body (Nagle's algorithm against its delayed ACK)."""

    disable_nagle_algorithm = True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--page-port", type=int, default=5001)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    REGISTRY.page_base = f"http://127.0.0.1:{args.page_port}"
    moto = make_server("127.0.0.1", args.port, FaultsAndCalls(DomainDispatcherApplication(create_backend_app)),
                       threaded=True, request_handler=NoDelayHandler)
    page = ThreadingHTTPServer(("127.0.0.1", args.page_port), Page)
    page.daemon_threads = True
    for server in (moto, page):
        threading.Thread(target=server.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"ready moto=http://127.0.0.1:{args.port} page={REGISTRY.page_base}", flush=True)
    stop.wait()
    moto.shutdown()
    page.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
