"""Checks a deployed notebook-gate from outside, after `sam deploy`, creating nothing billable:

    scripts/verify-deployment --stack-name notebook-gate [--region R] [--profile P]
        [--access-token-file F] [--id-token-file F]          (a test person's tokens; or the env
                                                               NOTEBOOK_GATE_ACCESS_TOKEN / _ID_TOKEN)
        [--notebook-instance NAME] [--studio-profile NAME [--studio-domain d-...]]
        [--mlflow-tracking-server NAME] [--mlflow-app ID]    (targets tagged for that person)
        [--network inside|outside]                            (where this machine is)
    scripts/verify-deployment --local .local/stack.json [--user alice] [...]   (the local stack)

It reads the stack's outputs and parameters (CloudFormation DescribeStacks, with your AWS
credentials), then checks the portal's headers, its Content-Security-Policy and config.json, a CORS
preflight on every route of template.yaml, that no token and an ID token are refused and an access
token accepted, `GET /targets`, and each target named: an open, and the presigned URL used once
from this machine. Each check prints PASS, FAIL (with what to do) or SKIP; the exit status is 1
when any check failed. It never prints a token or a presigned URL (only the URL's host).

With `--local` it reads the local stack's state file instead and mints the person's tokens there;
the URL is then used from inside and from outside the allowed networks, which the local stand-in
lets a request claim with its X-Local-Source-Ip / X-Local-Source-Vpce headers (AWS trusts no
such header: deployed, the URL is used from where this runs, and `--network` says where that is).
"""

from __future__ import annotations

import argparse
import base64
import html
import ipaddress
import json
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# An origin that is not the portal's, for the preflight that must be refused (.invalid never resolves).
FOREIGN_ORIGIN = "https://verify-deployment.invalid"
# What a path parameter becomes in a preflight: API Gateway answers a preflight before any lookup.
PROBE_NAME = "verify-deployment-probe"
# Addresses outside any office range, for the local stand-in's "outside" use (RFC 5737 test nets).
OUTSIDE_ADDRESSES = ("203.0.113.77", "198.51.100.77", "192.0.2.77")
NETWORK_PARAMETERS = ("AllowedSourceCidrs", "SageMakerUrlVpcEndpointIds")


@dataclass
class Deployment:
    """What the checks need to know about a deployment, from a stack's outputs or the local state."""

    name: str
    api: str
    portal: str
    login: str  # managed login's URL; "" when the stack does not say (an existing pool)
    pool_id: str
    client_id: str
    region: str
    private: bool
    parameters: dict = field(default_factory=dict)
    # Every name the API answers to: a private API's ApiUrlThroughEndpoint too (a portal built with
    # scripts/portal-config --through-endpoint talks to that one).
    api_names: tuple = ()
    local: dict | None = None  # the local stack's state, in local mode

    @classmethod
    def from_stack(cls, name: str, region: str | None, profile: str | None) -> "Deployment":
        import boto3  # only here: the local mode needs no AWS credentials
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            session = boto3.Session(profile_name=profile, region_name=region)
            stack = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except (BotoCoreError, ClientError) as error:
            raise SystemExit(f"verify-deployment: cannot read the stack {name!r}: {error}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        missing = [k for k in ("ApiUrl", "PortalUrl", "UserPoolId", "UserPoolClientId") if not outputs.get(k)]
        if missing:
            raise SystemExit(f"verify-deployment: the stack {name!r} has no output {', '.join(missing)} "
                             f"(status {stack.get('StackStatus')}): is it a notebook-gate stack, fully deployed?")
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        return cls(name=name, api=outputs["ApiUrl"].rstrip("/"), portal=outputs["PortalUrl"].rstrip("/"),
                   login=outputs.get("HostedUiDomain", "").rstrip("/"), pool_id=outputs["UserPoolId"],
                   client_id=outputs["UserPoolClientId"], region=stack["StackId"].split(":")[3],
                   private=bool(outputs.get("ApiUrlThroughEndpoint")), parameters=parameters,
                   api_names=tuple(outputs[k].rstrip("/") for k in ("ApiUrl", "ApiUrlThroughEndpoint") if outputs.get(k)))

    @classmethod
    def from_local(cls, state_path: str) -> "Deployment":
        try:
            state = json.loads(Path(state_path).read_text())
        except FileNotFoundError:
            raise SystemExit(f"verify-deployment: no {state_path}: is the local stack running (scripts/dev up)?")
        return cls(name=f"local stack ({state_path})", api=state["gateway"].rstrip("/"), portal=state["portal"],
                   login=state["login"], pool_id=state["pool_id"], client_id=state["client_id"],
                   region="us-east-1", private=bool(state.get("private")),
                   parameters=state.get("iam", {}).get("parameters", {}), local=state,
                   api_names=(state["gateway"].rstrip("/"),))

    def network_restricted(self) -> bool:
        return any((self.parameters.get(k) or "").strip() for k in NETWORK_PARAMETERS)


class Report:
    """Prints each check as it is made; counts the outcomes."""

    def __init__(self):
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def _line(self, outcome: str, name: str, detail: str, todo: str = ""):
        self.counts[outcome] += 1
        print(f"{outcome}  {name}" + (f": {detail}" if detail else ""), flush=True)
        if todo:
            print(f"      what to do: {todo}", flush=True)

    def passed(self, name: str, detail: str = ""):
        self._line("PASS", name, detail)

    def failed(self, name: str, detail: str, todo: str):
        self._line("FAIL", name, detail, todo)

    def skipped(self, name: str, why: str):
        self._line("SKIP", name, why)

    def check(self, name: str, ok: bool, detail: str, todo: str):
        (self.passed(name, detail) if ok else self.failed(name, detail, todo))

    def summary(self) -> int:
        c = self.counts
        print(f"{c['PASS']} passed, {c['FAIL']} failed, {c['SKIP']} skipped", flush=True)
        return 1 if c["FAIL"] else 0


@dataclass
class Answer:
    status: int  # 0: no answer (the error says why)
    headers: dict  # lower-case names
    body: bytes
    error: str = ""

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def code(self) -> str:
        """The gate's error code, API Gateway's message, or the status alone."""
        body = self.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return f"{self.status} {body['error'].get('code', '')}".strip()
        if isinstance(body, dict) and body.get("message"):
            return f"{self.status} {body['message']}"
        return f"{self.status}" if self.status else f"no answer ({self.error})"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(method: str, url: str, headers: dict | None = None, timeout: float = 20) -> Answer:
    """One request, redirects not followed. An error message never holds the URL (it may be presigned)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
    except (urllib.error.URLError, OSError) as error:
        return Answer(0, {}, b"", str(getattr(error, "reason", error)))


def claims_of(token: str) -> dict:
    """A JWT's payload, unverified: only to tell an access token from an ID token and name its person."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def policy_directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    return directives


def source_allows(sources: list[str], url_origin: str, exact: bool = False) -> bool:
    """Whether a CSP source list lets `url_origin` in: exactly, or (unless `exact`) by a host wildcard."""
    if url_origin in sources:
        return True
    if exact:
        return False
    scheme, _, host = url_origin.partition("://")
    for source in sources:
        s_scheme, sep, s_host = source.partition("://")
        if sep and s_scheme == scheme and s_host.startswith("*.") and host.endswith(s_host[1:]):
            return True
    return False


# --- the checks ------------------------------------------------------------------------------

def check_portal(d: Deployment, report: Report):
    name = "portal"
    page = fetch("GET", d.portal + "/")
    if page.status != 200:
        report.failed(name, f"GET {d.portal}/ answered {page.code()}",
                      "upload the portal built by scripts/portal-config (docs/portal.md#deploying-it) and wait "
                      "for CloudFront to deploy")
        return
    expected = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}
    wrong = [f"{k}: {page.headers.get(k, '(missing)')}" for k, v in expected.items()
             if page.headers.get(k, "").lower() != v.lower()]
    if d.portal.startswith("https://"):
        hsts = page.headers.get("strict-transport-security", "")
        age = re.search(r"max-age=(\d+)", hsts)
        if not age or int(age.group(1)) < 31536000:
            wrong.append(f"strict-transport-security: {hsts or '(missing)'}")
    present = "nosniff, no-referrer, DENY" + (", HSTS" if d.portal.startswith("https://") else " (HSTS: https only)")
    report.check("portal headers", not wrong, ", ".join(wrong) if wrong else present,
                 "CloudFront must serve the portal with the template's PortalHeaders response headers "
                 "policy: redeploy the stack (sam deploy) and do not replace the distribution's policy")

    api_origin, login_origin = origin(d.api), origin(d.login) if d.login else ""
    header_policy = page.headers.get("content-security-policy", "")
    directives = policy_directives(header_policy)
    problems = []
    for directive, value in (("default-src", "'self'"), ("frame-ancestors", "'none'"),
                             ("object-src", "'none'"), ("base-uri", "'none'")):
        if directives.get(directive) != [value]:
            problems.append(f"{directive} is not {value}")
    script = directives.get("script-src", directives.get("default-src", []))
    if script != ["'self'"]:
        problems.append("script-src is not 'self' alone")
    connect = directives.get("connect-src", [])
    if not source_allows(connect, api_origin):
        problems.append(f"connect-src does not allow the API ({api_origin})")
    if login_origin and not source_allows(connect, login_origin):
        problems.append(f"connect-src does not allow managed login ({login_origin})")
    if login_origin and not source_allows(directives.get("form-action", []), login_origin):
        problems.append(f"form-action does not allow managed login ({login_origin})")
    report.check("portal Content-Security-Policy", bool(header_policy) and not problems,
                 ("; ".join(problems) or "frame-ancestors, object-src, base-uri 'none'; allows the API and sign-in")
                 if header_policy else "no Content-Security-Policy header",
                 "the header comes from the template's PortalHeaders policy: redeploy the stack (sam deploy)")
    # The meta policy scripts/portal-config writes narrows the header's region-wide wildcard to this API.
    meta = re.search(r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"', page.body.decode(errors="replace"))
    if meta:
        meta_connect = policy_directives(html.unescape(meta.group(1))).get("connect-src", [])
        ok = any(source_allows(meta_connect, origin(api), exact=True) for api in d.api_names)
        report.check("portal deploy-time policy", ok,
                     f"index.html's <meta> policy {'names' if ok else 'does not name'} the API's origin {api_origin}",
                     "rebuild the portal for this stack (scripts/portal-config --stack-name NAME) and upload build/portal")
    elif source_allows(connect, api_origin, exact=True):
        report.passed("portal deploy-time policy", "the header already names the API's exact origin")
    else:
        report.failed("portal deploy-time policy", "index.html carries no <meta> Content-Security-Policy",
                      "upload the portal scripts/portal-config built (build/portal), not portal/ itself")

    answer = fetch("GET", d.portal + "/config.json")
    config = answer.json() if answer.status == 200 else None
    if not isinstance(config, dict):
        report.failed("portal config.json", f"GET /config.json answered {answer.code()}",
                      "upload the portal scripts/portal-config built (it writes config.json)")
        return
    want = {"apiUrl": d.api_names, "userPoolId": (d.pool_id,), "clientId": (d.client_id,)}
    if d.login:
        want["cognitoDomain"] = (d.login,)
    wrong = [k for k, v in want.items() if str(config.get(k, "")).rstrip("/") not in v]
    named = "names this stack's API, pool, app client" + (" and managed login" if d.login else "")
    report.check("portal config.json", not wrong, f"{', '.join(wrong)} differ from the stack's outputs" if wrong else named,
                 "rebuild the portal for this stack (scripts/portal-config --stack-name NAME) and upload it")


def template_routes(template: Path = TEMPLATE) -> list[tuple[str, str]]:
    """(method, path) of each HttpApi event of GateFunction in template.yaml, as deployed."""
    from local.iam.render import load_template  # the YAML short forms (!Ref, !Sub) need SAM's parser

    events = load_template(template)["Resources"]["GateFunction"]["Properties"]["Events"]
    return [(e["Properties"]["Method"].upper(), e["Properties"]["Path"])
            for e in events.values() if e.get("Type") == "HttpApi"]


def check_preflights(d: Deployment, report: Report, routes: list[tuple[str, str]]):
    portal_origin = origin(d.portal)
    for method, path in routes:
        name = f"CORS preflight {method} {path}"
        if d.private and path.startswith("/launch/"):
            report.skipped(name, "a private API has no /launch routes")
            continue
        # A browser's preflight names the method it will send: a state change's is POST.
        asked = "POST" if method == "ANY" else method
        answer = fetch("OPTIONS", d.api + re.sub(r"\{[^}]+\}", PROBE_NAME, path), {
            "Origin": portal_origin, "Access-Control-Request-Method": asked,
            "Access-Control-Request-Headers": "authorization"})
        allowed_origin = answer.headers.get("access-control-allow-origin", "")
        methods = [m.strip().upper() for m in answer.headers.get("access-control-allow-methods", "").split(",")
                   if m.strip()]
        ok = 200 <= answer.status < 300 and allowed_origin == portal_origin \
            and (not methods or asked in methods or "*" in methods)
        detail = f"{answer.status or answer.error}, Access-Control-Allow-Origin {allowed_origin or '(none)'}" \
                 + (f", methods {', '.join(methods)}" if methods else "")
        if ok:
            todo = ""
        elif method == "ANY" and answer.status in (401, 403):
            todo = (f"API Gateway matches a preflight to an ANY route and its authorizer refuses it: declare the "
                    f"route's method ({asked}) in template.yaml instead of ANY, and redeploy")
        elif answer.status == 0:
            todo = "the API did not answer: check ApiUrl (a private API answers only inside its network)"
        else:
            todo = (f"the API's CorsConfiguration must allow exactly the portal's origin {portal_origin} and "
                    f"the method {asked}: redeploy the stack (sam deploy) so it names PortalUrl")
        report.check(name, ok, detail, todo)
    answer = fetch("OPTIONS", d.api + "/targets", {"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "GET",
                                                 "Access-Control-Request-Headers": "authorization"})
    allowed_origin = answer.headers.get("access-control-allow-origin", "")
    report.check("CORS refuses another origin", allowed_origin not in (FOREIGN_ORIGIN, "*"),
                 f"a preflight from {FOREIGN_ORIGIN} got Access-Control-Allow-Origin {allowed_origin or '(none)'}",
                 "CorsConfiguration AllowOrigins must list the portal's origin only, never * or another site")


def get(d: Deployment, path: str, token: str | None, **headers) -> Answer:
    headers = {"Accept": "application/json", **headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return fetch("GET", d.api + path, headers)


# What to do about a status from the gate (or API Gateway), for any authorized request.
TODO = {
    401: "the access token expired (AccessTokenMinutes) or is from another pool or app client: sign in again "
         "as the test person and take a fresh access token",
    403: "the gate sees this machine's address outside AllowedSourceCidrs: run from a network people use",
    429: "SageMaker (or, for GET /targets, the Tagging API) throttled the function: wait a minute and rerun",
    502: "SageMaker (or, for GET /targets, the Tagging API's GetResources) refused or failed the function: its "
         "log (FunctionName output) names the refused action; see docs/operating.md",
    504: "SageMaker did not answer in time: see docs/operating.md",
    None: "see the function's log (FunctionName output)",
}


def check_tokens(d: Deployment, report: Report, access: str | None, id_token: str | None) -> dict | None:
    """The authorizer and GET /targets; returns the targets when the access token was accepted."""
    answer = get(d, "/targets", None)
    report.check("no token refused", answer.status == 401, f"GET /targets without a token: {answer.code()}",
                 "every route must have the JWT (or Cognito) authorizer: redeploy from template.yaml")
    if id_token:
        answer = get(d, "/targets", id_token)
        report.check("ID token refused", answer.status == 401, f"GET /targets with an ID token: {answer.code()}",
                     "every route needs AuthorizationScopes [openid, aws.cognito.signin.user.admin] (an ID token "
                     "has no scope): redeploy from template.yaml")
    else:
        report.skipped("ID token refused", "no ID token given (--id-token-file or NOTEBOOK_GATE_ID_TOKEN)")
    if not access:
        report.skipped("access token accepted", "no access token given (--access-token-file or "
                                                 "NOTEBOOK_GATE_ACCESS_TOKEN): the checks that need one are skipped")
        return None
    answer = get(d, "/targets", access)
    body = answer.json()
    ok = answer.status == 200 and isinstance(body, dict) and isinstance(body.get("notebookInstances"), list)
    report.check("access token accepted", ok, f"GET /targets: {answer.code()}", TODO.get(answer.status, TODO[None]))
    if not ok:
        return None
    domains = body.get("studioDomains", [])
    listed = (f"{len(body['notebookInstances'])} notebook instance(s), {len(domains)} Studio domain(s), "
              f"{len(body.get('mlflowTrackingServers', []))} MLflow tracking server(s), "
              f"{len(body.get('mlflowApps', []))} MLflow app(s)")
    unchecked = bool(body.get("someNotebookInstancesUnchecked")) or bool(body.get("someMlflowUnchecked"))
    report.check("/targets", not unchecked, listed + ("; some could not be checked" if unchecked else ""),
                 "the function could not describe some of the person's notebook instances or MLflow resources "
                 "(DescribeNotebookInstance, DescribeMlflowTrackingServer or DescribeMlflowApp throttled or "
                 "refused): its log names each one and why; the role's read-notebooks-and-studio policy must allow "
                 "those Describe calls")
    return body


@dataclass
class Target:
    label: str  # "notebook instance alice-nb"
    path: str
    name: str  # what the stand-in page says it opened (local mode)


def named_targets(args) -> list[Target]:
    targets = []
    if args.notebook_instance:
        targets.append(Target(f"notebook instance {args.notebook_instance}",
                              f"/notebook-instances/{quote(args.notebook_instance, safe='')}", args.notebook_instance))
    if args.studio_profile:
        query = f"?{urlencode({'domain': args.studio_domain})}" if args.studio_domain else ""
        targets.append(Target(f"Studio profile {args.studio_profile}", f"/studio{query}", ""))
    if args.mlflow_tracking_server:
        targets.append(Target(f"MLflow tracking server {args.mlflow_tracking_server}",
                              f"/mlflow/tracking-servers/{quote(args.mlflow_tracking_server, safe='')}",
                              args.mlflow_tracking_server))
    if args.mlflow_app:
        targets.append(Target(f"MLflow app {args.mlflow_app}", f"/mlflow/apps/{quote(args.mlflow_app, safe='')}", ""))
    return targets


def check_opens(d: Deployment, report: Report, args, access: str | None):
    """Opens each target named, as the test person, and uses each URL it gets once."""
    targets = named_targets(args)
    if not targets:
        report.skipped("open", "no target named (--notebook-instance, --studio-profile, --mlflow-tracking-server, "
                               "--mlflow-app): nothing opened")
        return
    if not access:
        for target in targets:
            report.skipped(f"open {target.label}", "no access token")
        return
    claims = claims_of(access)
    for target in targets:
        name = f"open {target.label}"
        if target.label.startswith("Studio profile") and claims.get("username") != args.studio_profile:
            report.failed(name, f"the token is {claims.get('username')!r}'s",
                          "the gate opens the Studio profile named like the caller: give that person's token")
            continue
        answer = get(d, target.path, access)
        body = answer.json()
        if answer.status == 200 and isinstance(body, dict) and isinstance(body.get("url"), str):
            host = urlsplit(body["url"]).hostname or "?"
            report.passed(name, f"presigned for {host}, expires {body.get('expiresAt')}")
            check_url_use(d, report, target, body["url"], args.network)
            continue
        sub = claims.get("sub", "?")
        todos = {
            **TODO,
            202: "it is starting: rerun in a few minutes",
            404: f"its owner tag must be the test person's sub ({sub}), or its group tag one of their groups "
                 "(docs/access.md); a Studio profile must also be named like them; Mlflow=true for MLflow",
            409: "it is not running: start it (console or portal) and rerun",
            502: "SageMaker refused the function: its log names the action; with network parameters the "
                 "function must presign from FunctionEgressCidrs or through SageMakerApiVpcEndpointId",
        }
        report.failed(name, f"GET {target.path.split('?')[0]}: {answer.code()}",
                      todos.get(answer.status, TODO[None]))


def use_url(url: str, local_json: bool, **headers) -> tuple[str, Answer]:
    """Uses a presigned URL once, as a browser would, without following where it leads: 'opened',
    'refused' (SageMaker's 401 / 403) or 'error'."""
    accept = "application/json" if local_json else "text/html"
    answer = fetch("GET", url, {"Accept": accept, **headers})
    if 200 <= answer.status < 400:
        return "opened", answer
    if answer.status in (401, 403):
        return "refused", answer
    return "error", answer


def local_inside(d: Deployment) -> dict:
    """A source inside the allowed networks, as the local stand-in reads it."""
    cidrs = [c.strip() for c in (d.parameters.get("AllowedSourceCidrs") or "").split(",") if c.strip()]
    if cidrs:
        network = ipaddress.ip_network(cidrs[0], strict=False)
        return {"X-Local-Source-Ip": str(next(iter(network.hosts()), network.network_address))}
    endpoints = [e.strip() for e in (d.parameters.get("SageMakerUrlVpcEndpointIds") or "").split(",") if e.strip()]
    return {"X-Local-Source-Vpce": endpoints[0]}


def local_outside(d: Deployment) -> dict:
    """An address in none of the networks a URL opens from (people's and the function's NAT's)."""
    cidrs = [ipaddress.ip_network(c.strip(), strict=False) for k in ("AllowedSourceCidrs", "FunctionEgressCidrs")
             for c in (d.parameters.get(k) or "").split(",") if c.strip()]
    address = next(a for a in OUTSIDE_ADDRESSES if not any(ipaddress.ip_address(a) in n for n in cidrs))
    return {"X-Local-Source-Ip": address}


def check_url_use(d: Deployment, report: Report, target: Target, url: str, network: str):
    name = f"use {target.label}'s URL"
    restricted = d.network_restricted()
    if d.local is not None:
        # Outside first: the stand-in (as SageMaker) refuses before spending the single-use token.
        if restricted:
            outcome, answer = use_url(url, True, **local_outside(d))
            report.check(f"{name} from outside", outcome == "refused",
                         f"from {local_outside(d)['X-Local-Source-Ip']}: {outcome} ({answer.status or answer.error})",
                         "a URL must open only from AllowedSourceCidrs or SageMakerUrlVpcEndpointIds: check "
                         "PresignOnlyFromAllowedNetworks in the function's role")
        where = local_inside(d) if restricted else {}
        outcome, answer = use_url(url, True, **where)
        opened = (answer.json() or {}).get("opened", {}) if outcome == "opened" else {}
        right = not target.name or opened.get("name") == target.name
        place = f"from {next(iter(where.values()))}" if where else "from here (no network restriction)"
        report.check(f"{name} from inside" if restricted else name, outcome == "opened" and right,
                     f"{place}: {outcome} ({answer.status or answer.error})"
                     + (f", opened {opened.get('name') or opened.get('profile')}" if opened else ""),
                     "the URL must open from the allowed networks: AllowedSourceCidrs / SageMakerUrlVpcEndpointIds "
                     "name where people are")
        return
    outcome, answer = use_url(url, False)
    host = urlsplit(url).hostname or "?"
    detail = f"{host} from this machine: {outcome} ({answer.status or answer.error})"
    if not restricted:
        report.check(name, outcome == "opened", detail + "; no network parameter: a URL opens from anywhere",
                     "SageMaker refused a URL with no network restriction: see the function's log and the "
                     "role's open-tagged-targets policy")
    elif network == "outside":
        report.check(f"{name} from outside", outcome == "refused", detail,
                     "a URL opened outside the allowed networks: check AllowedSourceCidrs, "
                     "SageMakerUrlVpcEndpointIds and PresignOnlyFromAllowedNetworks in the role")
    else:
        report.check(f"{name} from inside", outcome == "opened", detail,
                     "SageMaker refused the URL from here: this machine's public address must be in "
                     "AllowedSourceCidrs, or its traffic reach SageMaker through one of "
                     "SageMakerUrlVpcEndpointIds (if this machine is outside them, rerun with --network outside)")


def read_token(path: str | None, variable: str) -> str | None:
    if path:
        return Path(path).read_text().strip() or None
    return os.environ.get(variable, "").strip() or None


def local_tokens(d: Deployment, user: str) -> tuple[str, str]:
    from local.stack import token  # the local pool allows USER_PASSWORD_AUTH; the template's does not

    return (token(d.local["moto"], d.client_id, user, "AccessToken"),
            token(d.local["moto"], d.client_id, user, "IdToken"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/verify-deployment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack-name", help="the deployed stack (CloudFormation)")
    where.add_argument("--local", metavar="STATE_JSON", help="the local stack's state file (.local/stack.json)")
    parser.add_argument("--region")
    parser.add_argument("--profile", help="an AWS CLI profile")
    parser.add_argument("--access-token-file", help="the test person's access token (else NOTEBOOK_GATE_ACCESS_TOKEN)")
    parser.add_argument("--id-token-file", help="their ID token (else NOTEBOOK_GATE_ID_TOKEN)")
    parser.add_argument("--user", default="alice", help="local mode: the demo person whose tokens are minted")
    parser.add_argument("--notebook-instance", help="a notebook instance tagged for the test person (InService)")
    parser.add_argument("--studio-profile", help="the test person's Studio user profile (named like them, tagged)")
    parser.add_argument("--studio-domain", help="its domain id, when the stack configures several")
    parser.add_argument("--mlflow-tracking-server", help="an MLflow tracking server tagged for the test person")
    parser.add_argument("--mlflow-app", help="an MLflow app's id, tagged for the test person")
    parser.add_argument("--network", choices=["inside", "outside"], default="inside",
                        help="whether this machine is inside the networks the stack allows URLs from (default inside)")
    parser.add_argument("--template", default=str(TEMPLATE), help="the template the routes are read from")
    args = parser.parse_args(argv)

    d = Deployment.from_local(args.local) if args.local else Deployment.from_stack(args.stack_name, args.region,
                                                                                   args.profile)
    if d.local is not None:
        access, id_token = local_tokens(d, args.user)
    else:
        access = read_token(args.access_token_file, "NOTEBOOK_GATE_ACCESS_TOKEN")
        id_token = read_token(args.id_token_file, "NOTEBOOK_GATE_ID_TOKEN")
    print(f"notebook-gate: checking {d.name}", flush=True)
    print(f"  API {d.api}  portal {d.portal}" + ("  (private API)" if d.private else ""), flush=True)
    report = Report()
    if access and claims_of(access).get("token_use") != "access":
        report.failed("access token", "the access token given is not an access token (token_use "
                                      f"{claims_of(access).get('token_use')!r})",
                      "give the person's access token, not their ID token")
        access = None
    check_portal(d, report)
    check_preflights(d, report, template_routes(Path(args.template)))
    check_tokens(d, report, access, id_token)
    check_opens(d, report, args, access)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
