"""SageMaker, the Resource Groups Tagging API's GetResources and Cognito for the local stack: moto's
server, extended with what moto 5.2.5 lacks (presigned URLs, Studio user profiles and spaces, tags
on them, GetResources over all of them), IAM as SageMaker and the Tagging API apply it, a fault
switch, and a stand-in notebook page that every presigned URL points at.

    python -m local.sagemaker_standin --port 5000 --page-port 5001

moto's server dispatches `X-Amz-Target: SageMaker.<Operation>` to methods of `SageMakerResponse`,
so new operations are methods there plus a little state on the backend, in moto's own style. Only
what the gate or the local stack calls is added.

The Price List Query API's GetProducts (`X-Amz-Target: AWSPriceListService.GetProducts`, the same
port) answers from a table of SageMaker prices (local/price_list.py); its calls are logged,
faulted and authorized as SageMaker's are (service `pricing` in `/_calls`, action
`pricing:GetProducts` on "*"). Every answer of the three services carries the stand-in's clock
(`/_clock`) in its Date header, as AWS's carry AWS's: the function takes the time from it.

GetResources (`X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources`, the same port) is
answered over every resource the stand-in keeps, with AWS's paging and filters, and, once `POST
/_tagging {"delaySeconds": N}` says so, from an index N seconds behind on the stand-in's clock
(the Tagging API is eventually consistent). Its calls are logged, faulted, slowed and authorized as
SageMaker's are (operation `GetResources`, service `tagging` in `/_calls`).

IAM (off until `POST /_iam` sets it): every SageMaker and Tagging API call signed with the
function's access key is evaluated against the function role's policies (local/iam/) with the
context the service would have: the action (`sagemaker:...`, `tag:GetResources`), the resource
(list operations and GetResources: "*"), the resource's tags as `aws:ResourceTag/<key>`, and where
the function calls from (`aws:SourceIp`, or `aws:SourceVpce` through an endpoint). A refusal is
the service's AccessDeniedException. Calls signed with any other key stand for an admin's own
unrestricted credentials (seeding, tests) and are not evaluated.

The page accepts a URL's token once and only before it expires, and shows what it opened, so a
test can prove which notebook a URL really opens. When the URL was made by the function under IAM,
each use is evaluated as SageMaker does: the creating role's policy for the presign action on that
resource (notebook instances, Studio) or for the MLflow UI session's actions (MLflow), with the
resource's tags and the browser's source (`X-Local-Source-Ip` / `X-Local-Source-Vpce` headers, which only
this local stand-in trusts; without them the connection's address); refused: 403 "Auth token
containing insufficient permissions".

State changes take time as in SageMaker, once `POST /_timing` (or `--notebook-start-seconds` and
the like) says how long: a started notebook instance is `Pending`, then `InService`; a stopped one
`Stopping`, then `Stopped`; a deleted Studio app `Deleting`, then `Deleted` (it stays listed, as
SageMaker lists deleted apps for a while). With 0 seconds (the default, and while seeding) the
change is immediate, as moto's own. Times follow the stand-in's clock (`POST /_clock`), so a test
can move past a delay without waiting. SageMaker's refusals come with them: starting a notebook
instance that is not `Stopped`/`Failed`, or stopping one that is not `InService`, is a
ValidationException.

Control endpoints on the page's port: `POST|DELETE /_faults` (a fault may carry `"match"`: it then
hits only calls whose JSON input contains that text), `GET|DELETE /_calls`, `POST /_clock`,
`GET|POST|DELETE /_iam`, `GET|POST /_timing`, `POST /_age`,
`GET|POST|DELETE /_latency` (see InjectedLatency), `POST /_mlflow` (puts an MLflow resource in a state),
`GET|POST|DELETE /_tagging` (how far GetResources' index lags behind: `{"delaySeconds": N}`),
`GET|POST|DELETE /_lambdas` (Cognito's pre token generation trigger: local/cognito_triggers.py) and
`POST /_federated_sign_in` (federated users: local/cognito_federation.py).

MLflow: tracking servers (created `Created`; started `Starting` then `Started`, stopped
`Stopping` then `Stopped`, on `mlflowStartSeconds` / `mlflowStopSeconds`) and MLflow apps, with
their tags, lists, and presigned URLs that open a stand-in MLflow page once, each use authorized as
the MLflow UI's requests are: a tracking server's `sagemaker-mlflow:` actions (AccessUI and the MLflow
REST API's, from AWS's authorization data), an MLflow app's `sagemaker:CallMlflowAppApi`.
"""

from __future__ import annotations

import argparse
import functools
import heapq
import html
import io
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from email.utils import formatdate

from moto import backends as _moto_backends
from moto.backends import list_of_moto_modules as _list_of_moto_modules
from moto.sagemaker.exceptions import ConflictException, ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.core.resource_tagging import iter_taggable_backends, match_resource_type
from moto.core.responses import ActionResult
from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.iam import sagemaker as iam_sagemaker
from local.iam.evaluator import Evaluator
from local.iam.sagemaker import ACCOUNT, REGION, Source
from local.iam.stack import FUNCTION_ACCESS_KEY_ID
from local import cognito_federation, cognito_triggers, price_list, serve
from local.control import json_body as _body
from local.control import json_response as _json
from local.serve import Server
from local.tagging_index import TagIndex, Tags, invalid, pairs, parse_query, token

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
NOTEBOOK_URL_SECONDS = 300  # SageMaker fixes a notebook instance URL's life at five minutes
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
# What the page answers when IAM refuses a URL's use (seed article 001: SageMaker's own 403 text).
INSUFFICIENT = "Auth token containing insufficient permissions"


@dataclass
class IamSettings:
    """IAM for the function: whose calls are evaluated, as whom, under which policies, from where."""

    access_key_id: str  # the function's credentials; calls signed with it are evaluated
    role_arn: str
    principal: str  # the role's session ARN, as AccessDenied names it
    policies: list  # [{"name": ..., "policy": {...}}], the role's identity-based policies
    source: Source  # where the function's calls come from
    # Where a browser that says nothing (no X-Local-Source-* header) uses URLs from: by default its
    # own address; a private deployment's local stack says "through the Studio / notebook endpoint".
    browser_source: Source | None = None

    @classmethod
    def parse(cls, body: dict) -> "IamSettings":
        for key in ("accessKeyId", "roleArn", "policies"):
            if not body.get(key):
                raise ValueError(f"{key} is required")
        policies = body["policies"]
        if not isinstance(policies, list) or not all(isinstance(p, dict) and "policy" in p for p in policies):
            raise ValueError("policies must be a list of {name, policy}")
        role_arn = str(body["roleArn"])
        session = str(body.get("sessionName") or "notebook-gate")
        return cls(str(body["accessKeyId"]), role_arn, iam_sagemaker.session_arn(role_arn, session),
                   [{"name": str(p.get("name") or f"policy{i}"), "policy": p["policy"]} for i, p in enumerate(policies)],
                   Source.parse(body.get("source")),
                   Source.parse(body["browserSource"]) if body.get("browserSource") else None)


@dataclass
class Timing:
    """How long SageMaker's state changes take here, in seconds (0: at once, as moto does)."""

    notebookStartSeconds: float = 0.0  # Pending -> InService
    notebookStopSeconds: float = 0.0  # Stopping -> Stopped
    appStartSeconds: float = 0.0  # a created app: Pending -> InService
    appDeleteSeconds: float = 0.0  # Deleting -> Deleted
    mlflowStartSeconds: float = 0.0  # an MLflow tracking server: Starting -> Started
    mlflowStopSeconds: float = 0.0  # Stopping -> Stopped

    @classmethod
    def parse(cls, body: dict, base: "Timing | None" = None) -> "Timing":
        known = {f.name for f in fields(cls)}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown timing fields {sorted(unknown)} (known: {sorted(known)})")
        values = dict((base or cls()).__dict__)
        for key, value in body.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
                raise ValueError(f"{key} must be a number of seconds between 0 and 3600")
            values[key] = float(value)
        return cls(**values)


class Registry:
    """Shared by the SageMaker side and the page: issued tokens, the clock, calls, faults, IAM."""

    def __init__(self):
        self.lock = threading.RLock()  # redeem() checks under the lock it holds
        self.tokens: dict[str, dict] = {}
        self.clock_offset = 0.0
        self.calls: list[dict] = []
        self.faults: dict[tuple[str, str], dict] = {}  # (operation, match) -> fault
        self.page_base = ""
        self.timing = Timing()
        # (operation, name): the next such call meets a target another caller has just changed
        # the same way (`POST /_race`), as a second tab or a teammate would have.
        self.races: set[tuple[str, str]] = set()
        self.iam: IamSettings | None = None
        # How far the Tagging API's index lags behind (`POST /_tagging`), and while it does, the
        # history it answers from (TagIndex).
        self.tagging_delay = 0.0
        self.tag_index = None
        self._evaluator = None
        self._evaluator_lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self.clock_offset

    def evaluator(self):
        """The IAM evaluator, started on first use (a stack without IAM never needs Node)."""
        with self._evaluator_lock:
            if self._evaluator is None:
                self._evaluator = Evaluator()
            return self._evaluator

    def issue(self, facts: dict, seconds: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = {**facts, "expires": self.now() + seconds, "used": False}
        return token

    def check(self, token: str, kind: str, key: str) -> tuple[dict | None, str]:
        with self.lock:
            entry = self.tokens.get(token)
            if entry is None or entry["kind"] != kind or entry["key"] != key:
                return None, "unknown"
            if entry["used"]:
                return None, "replayed"
            if self.now() > entry["expires"]:
                return None, "expired"
            return entry, ""

    def redeem(self, token: str, kind: str, key: str) -> tuple[dict | None, str]:
        with self.lock:
            entry, reason = self.check(token, kind, key)
            if entry is not None:
                entry["used"] = True
            return entry, reason

    def record(self, operation: str, payload: dict, service: str = "sagemaker") -> dict:
        call = {"operation": operation, "input": payload, "service": service}
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


def _backend():
    return sagemaker_backends[ACCOUNT][REGION]


def _studio(backend) -> dict:
    """Profiles, spaces, apps and their tags, kept on the moto backend of one account and region."""
    if not hasattr(backend, "standin_studio"):
        backend.standin_studio = {"profiles": {}, "spaces": {}, "apps": {}}
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


def _governed(response: SageMakerResponse) -> bool:
    """Whether this call was made with the function's credentials while IAM is on."""
    settings = REGISTRY.iam
    return settings is not None and access_key_of(response.headers.get("Authorization", "")) == settings.access_key_id


def create_presigned_notebook_instance_url(self):
    name = _check_name("notebookInstanceName", self._get_param("NotebookInstanceName"))
    session = _check_range(
        "sessionExpirationDurationInSeconds", self._get_param("SessionExpirationDurationInSeconds", 43200), 1800, 43200
    )
    instance = self.sagemaker_backend.get_notebook_instance(name)  # ValidationException RecordNotFound
    facts = {"kind": "notebook", "key": name, "name": name, "session": session}
    if _governed(self):  # each use of the URL is authorized as the creating role
        facts["iam"] = {"action": "sagemaker:CreatePresignedNotebookInstanceUrl", "resource": instance.arn}
    token = REGISTRY.issue(facts, NOTEBOOK_URL_SECONDS)
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
    profile_arn = _profile(backend, domain_id, profile)["UserProfileArn"]
    if space is not None:
        _space(backend, domain_id, _check_name("spaceName", space))
    facts = {"kind": "studio", "key": domain_id, "domain": domain_id, "profile": profile, "space": space or "",
             "app": self._get_param("LandingUri") or "", "session": session}
    if _governed(self):
        facts["iam"] = {"action": "sagemaker:CreatePresignedDomainUrl", "resource": profile_arn}
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


# --- state changes that take time: notebook instances started and stopped, Studio apps ---------

APP_TYPES = ("JupyterServer", "KernelGateway", "DetailedProfiler", "TensorBoard", "CodeEditor", "JupyterLab",
             "RStudioServerPro", "RSessionGateway", "Canvas")  # API_DeleteApp's valid AppType values
LIST_APPS_DEFAULT, LIST_APPS_MAX = 10, 100  # API_ListApps: MaxResults defaults to 10, at most 100


def _moment(seconds: float) -> datetime:
    """A stand-in clock time as moto keeps its times (naive UTC)."""
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


def _change(record, status_attr: str, now_status: str, then_status: str, delay: float, on_change=None):
    """Sets `now_status`, and `then_status` once `delay` seconds have passed (at once for 0)."""
    now = REGISTRY.now()
    if delay <= 0:
        _set(record, status_attr, then_status, now, on_change)
        return
    _set(record, status_attr, now_status, now, on_change)
    _next(record, (then_status, now + delay))


def _get(record, attr):
    return record[attr] if isinstance(record, dict) else getattr(record, attr)


def _set(record, attr: str, status: str, at: float, on_change=None):
    if isinstance(record, dict):
        record[attr] = status
    else:
        setattr(record, attr, status)
    _next(record, None)
    if on_change:
        on_change(record, at)


def _next(record, value):
    if isinstance(record, dict):
        record["_next"] = value
    else:
        record.standin_next = value


def _pending(record):
    return record.get("_next") if isinstance(record, dict) else getattr(record, "standin_next", None)


def _notebook_changed(instance, at: float):
    instance.last_modified_time = _moment(at)


def settle(backend=None):
    """Applies every state change whose time has come (before each call, so a describe sees it)."""
    backend = backend or _backend()
    now = REGISTRY.now()
    with REGISTRY.lock:
        for instance in list(backend.notebook_instances.values()):
            due = _pending(instance)
            if due and due[1] <= now:
                _set(instance, "status", due[0], due[1], _notebook_changed)
        for app in _studio(backend)["apps"].values():
            due = _pending(app)
            if due and due[1] <= now:
                _set(app, "Status", due[0], due[1])
        for server in _mlflow(backend)["servers"].values():
            due = _pending(server)
            if due and due[1] <= now:
                _set(server, "TrackingServerStatus", due[0], due[1], _mlflow_changed)


def _refuse_transition(instance, allowed: list[str], target: str):
    # SageMaker's words (aws/amazon-sagemaker-examples#1094, hashicorp/terraform-provider-aws#16767).
    raise ValidationError(message=f"Status ({instance.status}) not in ([{', '.join(allowed)}]). Unable to "
                                  f"transition to ({target}) for Notebook Instance ({instance.arn}).")


# Notebook instance platforms (moto keeps none). Amazon Linux 2 instances can no longer be created
# or started since 1 July 2026; one made before then is put on it with `POST /_platform`.
CURRENT_PLATFORM = "notebook-al2023-v1"
PLATFORMS = ("notebook-al2023-v1", "notebook-al2-v1", "notebook-al2-v2", "notebook-al2-v3")
_platforms: dict[str, str] = {}  # lower-cased name -> platform


def _retired(platform: str) -> bool:
    return platform.startswith(("notebook-al1-", "notebook-al2-"))


def platform_of(name: str) -> str:
    return _platforms.get(name.lower(), CURRENT_PLATFORM)


_moto_create_notebook_instance = SageMakerResponse.create_notebook_instance
_moto_describe_notebook_instance = SageMakerResponse.describe_notebook_instance


def create_notebook_instance(self):
    platform = self._get_param("PlatformIdentifier") or CURRENT_PLATFORM
    if platform not in PLATFORMS:
        raise ValidationError(message=f"Invalid PlatformIdentifier: {platform}")
    if _retired(platform):
        # The text is the stand-in's; the refusal is SageMaker's since the retirement.
        raise ValidationError(message=f"Platform {platform} is no longer supported for new notebook instances.")
    answer = _moto_create_notebook_instance(self)
    _platforms[self._get_param("NotebookInstanceName").lower()] = platform
    # moto stamps the wall clock; SageMaker's is the one `/_clock` moves.
    instance = self.sagemaker_backend.get_notebook_instance(self._get_param("NotebookInstanceName"))
    instance.creation_time = instance.last_modified_time = _moment(REGISTRY.now())
    return answer


def describe_notebook_instance(self):
    instance = self.sagemaker_backend.get_notebook_instance(self._get_param("NotebookInstanceName"))
    return ActionResult({**instance.to_dict(), "PlatformIdentifier": platform_of(instance.notebook_instance_name)})


def _lost_race(operation: str, name: str) -> bool:
    with REGISTRY.lock:
        if (operation, name) in REGISTRY.races:
            REGISTRY.races.discard((operation, name))
            return True
    return False


def start_notebook_instance(self):
    instance = self.sagemaker_backend.get_notebook_instance(self._get_param("NotebookInstanceName"))
    if _lost_race("StartNotebookInstance", instance.notebook_instance_name) and instance.status in ("Stopped", "Failed"):
        _change(instance, "status", "Pending", "InService", REGISTRY.timing.notebookStartSeconds, _notebook_changed)
    if _retired(platform_of(instance.notebook_instance_name)):
        raise ValidationError(message=f"Notebook instances on {platform_of(instance.notebook_instance_name)} "
                                      "can no longer be started; update the instance's platform.")
    if instance.status not in ("Stopped", "Failed"):
        _refuse_transition(instance, ["Stopped", "Failed"], "Pending")
    _change(instance, "status", "Pending", "InService", REGISTRY.timing.notebookStartSeconds, _notebook_changed)
    return "{}"


def stop_notebook_instance(self):
    instance = self.sagemaker_backend.get_notebook_instance(self._get_param("NotebookInstanceName"))
    if _lost_race("StopNotebookInstance", instance.notebook_instance_name) and instance.status == "InService":
        _change(instance, "status", "Stopping", "Stopped", REGISTRY.timing.notebookStopSeconds, _notebook_changed)
    if instance.status != "InService":
        _refuse_transition(instance, ["InService"], "Stopping")
    _change(instance, "status", "Stopping", "Stopped", REGISTRY.timing.notebookStopSeconds, _notebook_changed)
    return "{}"


def _app_owner(self) -> tuple[str, str]:
    """("space", name) or ("user-profile", name): an app belongs to exactly one of them."""
    space, profile = self._get_param("SpaceName"), self._get_param("UserProfileName")
    if (space is None) == (profile is None):
        raise ValidationError(message="Exactly one of SpaceName or UserProfileName must be specified.")
    return ("space", _check_name("spaceName", space)) if space is not None else \
        ("user-profile", _check_name("userProfileName", profile))


def _app_key(self) -> tuple:
    domain_id = self._get_param("DomainId")
    kind, owner = _app_owner(self)
    app_type = self._get_param("AppType")
    if app_type not in APP_TYPES:
        raise ValidationError(message=f"1 validation error detected: Value '{app_type}' at 'appType' failed to "
                                      f"satisfy constraint: Member must satisfy enum value set: [{', '.join(APP_TYPES)}]")
    return (domain_id, kind, owner, app_type, _check_name("appName", self._get_param("AppName")))


def _app_details(app: dict) -> dict:
    """AppDetails as ListApps gives them (API_AppDetails)."""
    details = {k: app[k] for k in ("DomainId", "AppType", "AppName", "Status", "CreationTime") if k in app}
    details[app["OwnerKey"]] = app["Owner"]
    if app.get("ResourceSpec"):
        details["ResourceSpec"] = app["ResourceSpec"]
    return details


def create_app(self):
    backend = self.sagemaker_backend
    key = _app_key(self)
    domain_id, kind, owner = key[:3]
    _domain(backend, domain_id)
    (_space if kind == "space" else _profile)(backend, domain_id, owner)
    apps = _studio(backend)["apps"]
    if key in apps and apps[key]["Status"] != "Deleted":
        raise ResourceInUseException(f"App {key[3]}/{key[4]} already exists in {kind} {owner}")
    arn = iam_sagemaker.arn("app", domain_id, owner, key[3], key[4], region=backend.region_name,
                            account=backend.account_id)
    app = {"DomainId": domain_id, "OwnerKey": "SpaceName" if kind == "space" else "UserProfileName",
           "Owner": owner, "AppType": key[3], "AppName": key[4], "AppArn": arn, "Status": "Pending",
           "CreationTime": REGISTRY.now(), "ResourceSpec": self._get_param("ResourceSpec") or {},
           "Tags": list(self._get_param("Tags") or []), "_next": None}
    apps[key] = app
    _change(app, "Status", "Pending", "InService", REGISTRY.timing.appStartSeconds)
    return json.dumps({"AppArn": arn})


def _app(self) -> dict:
    key = _app_key(self)
    app = _studio(self.sagemaker_backend)["apps"].get(key)
    if app is None:
        raise ResourceNotFound(f"App {key[3]}/{key[4]} does not exist in {key[1]} {key[2]} of domain {key[0]}")
    return app


def describe_app(self):
    app = _app(self)
    return json.dumps({**_app_details(app), "AppArn": app["AppArn"]})


def delete_app(self):
    app = _app(self)
    if _lost_race("DeleteApp", app["Owner"]) and app["Status"] in ("InService", "Pending"):
        _change(app, "Status", "Deleting", "Deleted", REGISTRY.timing.appDeleteSeconds)
    # SageMaker stops an app by deleting it; one already going or gone cannot be deleted again
    # (ResourceInUse is DeleteApp's documented error for that; the exact text is unverified).
    if app["Status"] in ("Deleting", "Deleted"):
        raise ResourceInUseException(f"App {app['AppArn']} is {app['Status']}")
    _change(app, "Status", "Deleting", "Deleted", REGISTRY.timing.appDeleteSeconds)
    return "{}"


def list_apps(self):
    space, profile = self._get_param("SpaceNameEquals"), self._get_param("UserProfileNameEquals")
    if space is not None and profile is not None:
        raise ValidationError(message="Only one of SpaceNameEquals or UserProfileNameEquals may be specified.")
    limit = _check_range("maxResults", self._get_param("MaxResults", LIST_APPS_DEFAULT), 1, LIST_APPS_MAX)
    token = self._get_param("NextToken") or "0"
    if not token.isdigit():
        raise ValidationError(message=f"Invalid pagination token {token}")
    domain_id = self._get_param("DomainIdEquals")
    apps = [a for a in _studio(self.sagemaker_backend)["apps"].values()
            if domain_id in (None, a["DomainId"])
            and (space is None or (a["OwnerKey"], a["Owner"]) == ("SpaceName", space))
            and (profile is None or (a["OwnerKey"], a["Owner"]) == ("UserProfileName", profile))]
    apps.sort(key=lambda a: a["CreationTime"], reverse=self._get_param("SortOrder") == "Descending")
    start = int(token)
    page = apps[start:start + limit]
    answer = {"Apps": [_app_details(a) for a in page]}
    if start + limit < len(apps):
        answer["NextToken"] = str(start + limit)
    return json.dumps(answer)


def _tag_holder(backend, arn: str) -> dict | None:
    """Profiles, spaces, apps and domains keep their tags here; other resources are moto's."""
    resource = (arn or "").split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    if kind in ("user-profile", "space"):
        domain_id, _, name = rest.partition("/")
        holder = _studio(backend)["profiles" if kind == "user-profile" else "spaces"].get((domain_id, name))
        if holder is None:
            raise ResourceNotFound(f"Resource {arn} not found")
        return holder
    if kind == "app":
        app = next((a for a in _studio(backend)["apps"].values() if a["AppArn"] == arn), None)
        if app is None:
            raise ResourceNotFound(f"Resource {arn} not found")
        return app
    if kind == "domain":
        domain = _domain(backend, rest)
        if not isinstance(getattr(domain, "tags", None), list):
            domain.tags = []  # moto leaves an untagged domain's tags as None and ListTags breaks
        return {"Tags": domain.tags}
    if kind in ("mlflow-tracking-server", "mlflow-app"):
        store = _mlflow(backend)["servers" if kind == "mlflow-tracking-server" else "apps"]
        if rest not in store:
            raise ResourceNotFound(f"Resource {arn} not found")
        return store[rest]
    if kind == "notebook-instance" and rest not in backend.notebook_instances:
        # moto fails with an AttributeError (a 500) on an unknown notebook instance; SageMaker
        # answers ListTags on a resource that is not there with a ValidationException
        # (aws/amazon-sagemaker-feedback#108), which the gate reads as "not found".
        raise ValidationError(message=f"Resource {arn} does not exist")
    return None


_moto_list_tags = SageMakerResponse.list_tags


def list_tags(self):
    holder = _tag_holder(self.sagemaker_backend, self._get_param("ResourceArn"))
    if holder is None:
        return _moto_list_tags(self)
    return json.dumps({"Tags": holder["Tags"]})


def tags_of(arn: str) -> dict[str, str] | None:
    """The tags of the resource `arn` names, as IAM sees them; None if there is no such resource."""
    backend = _backend()
    try:
        holder = _tag_holder(backend, arn)
        tags = holder["Tags"] if holder is not None else backend._get_resource_from_arn(arn).tags
    except Exception:  # moto raises several kinds for an unknown ARN: to IAM it just has no tags
        return None
    return {t["Key"]: t.get("Value", "") for t in tags or []}


# --- managed MLflow: tracking servers and serverless MLflow apps ------------------------------
# moto 5.2.5 has none of it. Shapes from the SageMaker API reference: DescribeMlflowTrackingServer,
# ListMlflowTrackingServers (TrackingServerSummaries), StartMlflowTrackingServer,
# CreatePresignedMlflowTrackingServerUrl, DescribeMlflowApp, ListMlflowApps (Summaries of
# MlflowAppSummary), CreatePresignedMlflowAppUrl. Both presign operations make a URL that "can be
# used only once" (ExpiresInSeconds 5-300, SessionExpirationDurationInSeconds 1800-43200).

MLFLOW_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")  # TrackingServerName, MlflowApp Name
MLFLOW_APP_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-app/.*$")
TRACKING_SERVER_STATUSES = (
    "Creating", "Created", "CreateFailed", "Updating", "Updated", "UpdateFailed", "Deleting", "DeleteFailed",
    "Stopping", "Stopped", "StopFailed", "Starting", "Started", "StartFailed", "MaintenanceInProgress",
    "MaintenanceComplete", "MaintenanceFailed")
MLFLOW_APP_STATUSES = ("Creating", "Created", "CreateFailed", "Updating", "Updated", "UpdateFailed", "Deleting",
                       "DeleteFailed", "Deleted")
# A tracking server whose UI answers (IsActive "Active"): what StopMlflowTrackingServer accepts.
TRACKING_SERVER_RUNNING = ("Created", "Updated", "Started", "MaintenanceComplete")
LIST_MLFLOW_MAX = 100  # both list operations: MaxResults 1-100


def _mlflow(backend) -> dict:
    """Tracking servers by name and MLflow apps by id, kept on the moto backend."""
    if not hasattr(backend, "standin_mlflow"):
        backend.standin_mlflow = {"servers": {}, "apps": {}}
    return backend.standin_mlflow


def _mlflow_changed(server: dict, at: float):
    server["LastModifiedTime"] = at
    server["IsActive"] = "Active" if server["TrackingServerStatus"] in TRACKING_SERVER_RUNNING else "Inactive"


def _check_mlflow_name(what: str, name) -> str:
    if not isinstance(name, str) or not MLFLOW_NAME.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
    return name


def _check_app_arn(arn) -> str:
    if not isinstance(arn, str) or not 1 <= len(arn) <= 128 or not MLFLOW_APP_ARN.match(arn):
        raise ValidationError(
            f"1 validation error detected: Value '{arn}' at 'arn' failed to satisfy constraint: Member must "
            r"satisfy regular expression pattern: arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-app/.*")
    return arn


def _tracking_server(backend, name) -> dict:
    server = _mlflow(backend)["servers"].get(_check_mlflow_name("trackingServerName", name))
    if server is None:
        raise ResourceNotFound(f"Tracking server {name} does not exist")
    return server


def _mlflow_app(backend, arn) -> dict:
    app_id = _check_app_arn(arn).rsplit("/", 1)[1]
    app = _mlflow(backend)["apps"].get(app_id)
    if app is None or app["Arn"] != arn:
        raise ResourceNotFound(f"MLflow App {arn} does not exist")
    return app


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("Tags", "_next") and v is not None}


def _page(items: list, self, what: str) -> tuple[list, str | None]:
    """One page of `items` for a list operation's MaxResults / NextToken (an offset here)."""
    limit = _check_range("maxResults", self._get_param("MaxResults", LIST_MLFLOW_MAX), 1, LIST_MLFLOW_MAX)
    token = self._get_param("NextToken") or "0"
    if not token.isdigit():
        raise ValidationError(message=f"Invalid pagination token {token} for {what}")
    start = int(token)
    return items[start:start + limit], (str(start + limit) if start + limit < len(items) else None)


def _sorted(items: list, self, name_key: str, status_key: str) -> list:
    key = {"Name": lambda r: r[name_key], "Status": lambda r: r[status_key]}.get(
        self._get_param("SortBy") or "CreationTime", lambda r: r["CreationTime"])
    return sorted(items, key=key, reverse=self._get_param("SortOrder", "Descending") == "Descending")


def create_mlflow_tracking_server(self):
    backend = self.sagemaker_backend
    name = _check_mlflow_name("trackingServerName", self._get_param("TrackingServerName"))
    for required in ("ArtifactStoreUri", "RoleArn"):
        if not self._get_param(required):
            raise ValidationError(message=f"{required} is required")
    servers = _mlflow(backend)["servers"]
    if name in servers:
        raise ResourceInUseException(f"Tracking server {name} already exists")
    arn = iam_sagemaker.arn("mlflow-tracking-server", name, region=backend.region_name, account=backend.account_id)
    now = REGISTRY.now()
    servers[name] = {
        "TrackingServerArn": arn, "TrackingServerName": name,
        "ArtifactStoreUri": self._get_param("ArtifactStoreUri"), "RoleArn": self._get_param("RoleArn"),
        "TrackingServerSize": self._get_param("TrackingServerSize") or "Small",
        "MlflowVersion": self._get_param("MlflowVersion") or "2.16.2",
        "TrackingServerStatus": "Created", "IsActive": "Active",
        "TrackingServerUrl": f"https://t-{secrets.token_hex(6)}.{backend.region_name}.experiments.sagemaker.aws",
        "WeeklyMaintenanceWindowStart": self._get_param("WeeklyMaintenanceWindowStart") or "Tue:03:30",
        "AutomaticModelRegistration": bool(self._get_param("AutomaticModelRegistration")),
        "CreationTime": now, "LastModifiedTime": now, "Tags": list(self._get_param("Tags") or []), "_next": None,
    }
    return json.dumps({"TrackingServerArn": arn})


def describe_mlflow_tracking_server(self):
    return json.dumps(_public(_tracking_server(self.sagemaker_backend, self._get_param("TrackingServerName"))))


def list_mlflow_tracking_servers(self):
    status, version = self._get_param("TrackingServerStatus"), self._get_param("MlflowVersion")
    servers = [s for s in _mlflow(self.sagemaker_backend)["servers"].values()
               if status in (None, s["TrackingServerStatus"]) and version in (None, s["MlflowVersion"])]
    page, token = _page(_sorted(servers, self, "TrackingServerName", "TrackingServerStatus"), self,
                        "ListMlflowTrackingServers")
    summary = ("TrackingServerArn", "TrackingServerName", "CreationTime", "LastModifiedTime", "TrackingServerStatus",
               "IsActive", "MlflowVersion")
    answer = {"TrackingServerSummaries": [{k: s[k] for k in summary} for s in page]}
    if token:
        answer["NextToken"] = token
    return json.dumps(answer)


def _conflict(server: dict, action: str):
    # ConflictException is what both operations document for a server in the wrong state; the
    # exact text is the stand-in's.
    raise ConflictException(f"Cannot {action} tracking server {server['TrackingServerName']} in status "
                            f"{server['TrackingServerStatus']}")


def start_mlflow_tracking_server(self):
    server = _tracking_server(self.sagemaker_backend, self._get_param("TrackingServerName"))
    if server["TrackingServerStatus"] not in ("Stopped", "StartFailed"):
        _conflict(server, "start")
    _change(server, "TrackingServerStatus", "Starting", "Started", REGISTRY.timing.mlflowStartSeconds,
            _mlflow_changed)
    return json.dumps({"TrackingServerArn": server["TrackingServerArn"]})


def stop_mlflow_tracking_server(self):
    server = _tracking_server(self.sagemaker_backend, self._get_param("TrackingServerName"))
    if server["TrackingServerStatus"] not in TRACKING_SERVER_RUNNING + ("StopFailed",):
        _conflict(server, "stop")
    _change(server, "TrackingServerStatus", "Stopping", "Stopped", REGISTRY.timing.mlflowStopSeconds,
            _mlflow_changed)
    return json.dumps({"TrackingServerArn": server["TrackingServerArn"]})


def _presign_mlflow(self, kind: str, key: str, name: str, arn: str, action: str, path: str, extra: dict) -> str:
    expires = _check_range("expiresInSeconds", self._get_param("ExpiresInSeconds", 300), 5, 300)
    session = _check_range(
        "sessionExpirationDurationInSeconds", self._get_param("SessionExpirationDurationInSeconds", 43200), 1800, 43200
    )
    facts = {"kind": kind, "key": key, "name": name, "arn": arn, "session": session, **extra}
    if _governed(self):  # each use of the URL: the MLflow UI's requests, as the creating role
        facts["iam"] = {"action": action, "resource": arn}
    token = REGISTRY.issue(facts, expires)
    return json.dumps({"AuthorizedUrl": f"{REGISTRY.page_base}/{path}/{key}?authToken={token}"})


def create_presigned_mlflow_tracking_server_url(self):
    server = _tracking_server(self.sagemaker_backend, self._get_param("TrackingServerName"))
    return _presign_mlflow(self, "mlflow-tracking-server", server["TrackingServerName"], server["TrackingServerName"],
                           server["TrackingServerArn"], "sagemaker:CreatePresignedMlflowTrackingServerUrl",
                           "mlflow/tracking-servers", {})


def create_mlflow_app(self):
    backend = self.sagemaker_backend
    name = _check_mlflow_name("name", self._get_param("Name"))
    for required in ("ArtifactStoreUri", "RoleArn"):
        if not self._get_param(required):
            raise ValidationError(message=f"{required} is required")
    app_id = "app-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    arn = iam_sagemaker.arn("mlflow-app", app_id, region=backend.region_name, account=backend.account_id)
    now = REGISTRY.now()
    _mlflow(backend)["apps"][app_id] = {
        "Arn": arn, "Name": name, "ArtifactStoreUri": self._get_param("ArtifactStoreUri"),
        "MlflowVersion": self._get_param("MlflowVersion") or "3.0.0", "RoleArn": self._get_param("RoleArn"),
        "Status": "Created", "ModelRegistrationMode": self._get_param("ModelRegistrationMode")
        or "AutoModelRegistrationDisabled", "AccountDefaultStatus": self._get_param("AccountDefaultStatus") or "DISABLED",
        "DefaultDomainIdList": list(self._get_param("DefaultDomainIdList") or []),
        "CreationTime": now, "LastModifiedTime": now, "Tags": list(self._get_param("Tags") or []),
    }
    return json.dumps({"Arn": arn})


def describe_mlflow_app(self):
    return json.dumps(_public(_mlflow_app(self.sagemaker_backend, self._get_param("Arn"))))


def list_mlflow_apps(self):
    status, version = self._get_param("Status"), self._get_param("MlflowVersion")
    apps = [a for a in _mlflow(self.sagemaker_backend)["apps"].values()
            if status in (None, a["Status"]) and version in (None, a["MlflowVersion"])]
    page, token = _page(_sorted(apps, self, "Name", "Status"), self, "ListMlflowApps")
    summary = ("Arn", "Name", "CreationTime", "LastModifiedTime", "Status", "MlflowVersion")
    answer = {"Summaries": [{k: a[k] for k in summary} for a in page]}
    if token:
        answer["NextToken"] = token
    return json.dumps(answer)


def create_presigned_mlflow_app_url(self):
    app = _mlflow_app(self.sagemaker_backend, self._get_param("Arn"))
    app_id = app["Arn"].rsplit("/", 1)[1]
    return _presign_mlflow(self, "mlflow-app", app_id, app["Name"], app["Arn"],
                           "sagemaker:CreatePresignedMlflowAppUrl", "mlflow/apps", {"id": app_id})


_moto_describe_domain = SageMakerResponse.describe_domain


def describe_domain(self):
    """moto's, but a domain that does not exist is SageMaker's ResourceNotFound (DescribeDomain's
    documented error), not moto's ValidationException."""
    _domain(self.sagemaker_backend, self._get_param("DomainId"))
    return _moto_describe_domain(self)


_moto_add_tags = SageMakerResponse.add_tags


def add_tags(self):
    """AddTags on the resources the stand-in keeps (moto knows none of them); a key given again
    takes the new value, as SageMaker's "add or overwrite"."""
    holder = _tag_holder(self.sagemaker_backend, self._get_param("ResourceArn"))
    given = list(self._get_param("Tags") or [])
    keys = {t["Key"] for t in given}
    if holder is None:
        # moto appends a key given again beside its old value; SageMaker overwrites it.
        self.sagemaker_backend.delete_tags(self._get_param("ResourceArn"), list(keys))
        return _moto_add_tags(self)
    holder["Tags"][:] = [t for t in holder["Tags"] if t["Key"] not in keys] + given
    return json.dumps({"Tags": holder["Tags"]})


_moto_delete_tags = SageMakerResponse.delete_tags


def delete_tags(self):
    """DeleteTags on the resources the stand-in keeps, as moto's on its own."""
    holder = _tag_holder(self.sagemaker_backend, self._get_param("ResourceArn"))
    if holder is None:
        return _moto_delete_tags(self)
    keys = set(self._get_param("TagKeys") or [])
    holder["Tags"][:] = [t for t in holder["Tags"] if t["Key"] not in keys]
    return "{}"


for _operation in (
    create_presigned_notebook_instance_url, create_presigned_domain_url,
    create_user_profile, create_space, describe_space, list_spaces, list_tags,
    create_notebook_instance, describe_notebook_instance,
    start_notebook_instance, stop_notebook_instance, create_app, describe_app, delete_app, list_apps,
    create_mlflow_tracking_server, describe_mlflow_tracking_server, list_mlflow_tracking_servers,
    start_mlflow_tracking_server, stop_mlflow_tracking_server, create_presigned_mlflow_tracking_server_url,
    create_mlflow_app, describe_mlflow_app, list_mlflow_apps, create_presigned_mlflow_app_url, add_tags,
    delete_tags, describe_domain,
):
    setattr(SageMakerResponse, _operation.__name__, _operation)


# --- the Resource Groups Tagging API: GetResources over what the stand-in keeps ----------------
# The gate's GET /targets finds the caller's resources with GetResources (JSON 1.1, X-Amz-Target
# ResourceGroupsTaggingAPI_20170126.GetResources, SigV4 name `tagging`), sent to this port as its
# SageMaker calls are. moto's own GetResources knows moto's resources (notebook instances, domains)
# but none of those the stand-in keeps, its page store holds a live generator per token (an account
# that changes between two pages breaks it), and it ends a page at 100 tags when TagsPerPage is not
# given (ResourcesPerPage=100 over resources with two tags each: 49 a page). So GetResources is
# answered here, over moto's SageMaker backend, the stand-in's Studio and MLflow records and moto's
# other services' tagged resources; the Tagging API's other operations stay moto's.
#
# As AWS answers (API_GetResources): ResourceTagMappingList of {ResourceARN, Tags}, PaginationToken
# "" on the last page; ResourcesPerPage 1-100 (default 50) and TagsPerPage 100-500 when given (a page
# never splits a resource's tags); TagFilters AND across filters, OR across one filter's values, a
# filter without values matching any value of its key, at most 50 filters of at most 20 values;
# ResourceTypeFilters `service[:type]`, the type as the resource's ARN spells it; ResourceARNList
# only without filters and paging; untagged resources left out (AWS also lists, without filters, a
# resource whose tags were all removed, with no tags: not here); a token good for 15 minutes. Bad
# input is InvalidParameterException (the texts are the stand-in's). Pages go in ARN order and a
# token carries the last ARN given, so a resource added or removed between two pages never makes
# another appear twice or not at all; every page reads the account as it is then.
#
# AWS's index is eventually consistent: `POST /_tagging {"delaySeconds": N}` makes GetResources
# answer each resource's tags as they were N seconds before now on the stand-in's clock (`/_clock`
# moves it): a tag removed less than N seconds ago still matches, a resource created less than N
# seconds ago is not in the index yet, one deleted less than N seconds ago still is. What existed
# when the delay was set counts as indexed long ago.

TAGGING_TARGET = "ResourceGroupsTaggingAPI_20170126."
PRICING_TARGET = "AWSPriceListService."  # the Price List Query API (local/price_list.py)
# The SageMaker resource types the stand-in keeps itself (moto's SageMaker has no Studio profiles,
# spaces, apps or MLflow), and notebook instances, read here without moto's per-resource objects:
# the benchmark's account has 10,000 of them.
OWN_TYPES = ("sagemaker:notebook-instance", "sagemaker:user-profile", "sagemaker:space", "sagemaker:app",
             "sagemaker:mlflow-tracking-server", "sagemaker:mlflow-app")

def indexed(backend, types: tuple = (), keep=None) -> dict[str, tuple[str, Tags]]:
    """ARN -> (resource type, tags) of every resource of `types` (all: ()) in the account now,
    tagged or not; with `keep`, only those for which `keep(arn, tags)` holds (tags as
    [{"Key", "Value"}]), whose tags are then given as they are kept, not copied: an account of
    10,000 notebook instances is read in a few milliseconds. Lists are copied before they are
    read: other threads change them meanwhile."""
    def wanted(resource_type: str) -> bool:
        return match_resource_type(resource_type, list(types))

    found: dict[str, tuple[str, Tags]] = {}

    def add(resource_type: str, arn: str, tags: list):
        if keep is None:
            found[arn] = (resource_type, pairs(tags))
        elif keep(arn, tags):
            found[arn] = (resource_type, tags)

    if wanted("sagemaker:notebook-instance"):
        for instance in list(backend.notebook_instances.values()):
            add("sagemaker:notebook-instance", instance.arn, instance.tags)
    studio, mlflow = _studio(backend), _mlflow(backend)
    own = (("sagemaker:user-profile", studio["profiles"], "UserProfileArn"),
           ("sagemaker:space", studio["spaces"], "SpaceArn"), ("sagemaker:app", studio["apps"], "AppArn"),
           ("sagemaker:mlflow-tracking-server", mlflow["servers"], "TrackingServerArn"),
           ("sagemaker:mlflow-app", mlflow["apps"], "Arn"))
    for resource_type, records, arn_key in own:
        if wanted(resource_type):
            for record in list(records.values()):
                if record.get("Status") != "Deleted":  # a deleted app stays listed a while, not indexed
                    add(resource_type, record[arn_key], record["Tags"])
    # moto's other SageMaker resources (domains, models, ...) and other services' resources.
    if not types or any(t == "sagemaker" or t.startswith("sagemaker:") and t not in OWN_TYPES for t in types):
        for resource in backend.iter_tagged_resources():
            if resource.resource_type not in OWN_TYPES and wanted(resource.resource_type):
                add(resource.resource_type, resource.arn, [{"Key": k, "Value": v} for k, v in resource.tags.items()])
    if not types or any(t.split(":", 1)[0] != "sagemaker" for t in types):
        for service in iter_taggable_backends(ACCOUNT, REGION):
            if service is backend:
                continue
            for resource in service.iter_tagged_resources():
                if wanted(resource.resource_type):
                    add(resource.resource_type, resource.arn,
                        [{"Key": k, "Value": v} for k, v in resource.tags.items()])
    return found


def observe_tags():
    """Notes in the lagging index what changed since it last looked (nothing without a delay)."""
    with REGISTRY.lock:
        if REGISTRY.tag_index is not None:
            REGISTRY.tag_index.observe(indexed(_backend()), REGISTRY.now())


# Operations that change no tags and create or delete nothing: the index need not look after them.
_READS = ("Describe", "List", "Get", "Search", "CreatePresigned", "BatchDescribe", "BatchGet")


def changes_tags(operation: str) -> bool:
    return not operation.startswith(_READS)


def get_resources(payload: dict) -> dict:
    """GetResources' answer to `payload` (AWS's output shape)."""
    query = parse_query(payload, REGISTRY.now())
    backend = _backend()
    with REGISTRY.lock:
        delay, index = REGISTRY.tagging_delay, REGISTRY.tag_index
        if index is not None:
            index.observe(indexed(backend), REGISTRY.now())
            seen = {}
            for arn, (resource_type, pairs) in index.as_of(REGISTRY.now() - delay).items():
                tags = [{"Key": k, "Value": v} for k, v in pairs]
                if match_resource_type(resource_type, list(query.types)) and query.keeps(arn, tags):
                    seen[arn] = (resource_type, tags)
    if index is None:
        seen = indexed(backend, query.types, query.keeps)
    matched = heapq.nsmallest(query.per_page + 1, seen)  # this page, and whether another follows
    page, tags_on_page = [], 0
    for arn in matched:
        count = max(1, len(seen[arn][1]))  # "A resource with no tags is counted as having one tag"
        if len(page) == query.per_page or (query.tags_per_page and page and
                                            tags_on_page + count > query.tags_per_page):
            break
        page.append(arn)
        tags_on_page += count
    more = len(page) < len(matched)
    return {"ResourceTagMappingList": [{"ResourceARN": arn, "Tags": [{"Key": t["Key"], "Value": t.get("Value", "")}
                                                                     for t in seen[arn][1]]} for arn in page],
            "PaginationToken": token(query, page[-1], REGISTRY.now()) if more else ""}


def _get_resources_response(self):
    try:
        payload = json.loads(self.body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        invalid("The request body must be a JSON object")
    return json.dumps(get_resources(payload))


ResourceGroupsTaggingAPIResponse.get_resources = _get_resources_response


# --- in front of moto: the call log, faults and IAM --------------------------------------------


def access_key_of(authorization: str) -> str:
    match = CREDENTIAL.search(authorization or "")
    return match.group(1) if match else ""


def _space_of(domain_id: str, name: str) -> dict | None:
    return _studio(_backend())["spaces"].get((domain_id, name))


def authorize(operation: str, payload: dict, service: str = "sagemaker") -> tuple[str, list, bytes] | None:
    """None if IAM lets the function make this call; else the service's AccessDenied answer.
    `service` is the IAM prefix: "sagemaker", "tag" for the Tagging API, "pricing" for the Price List."""
    settings = REGISTRY.iam
    resource = iam_sagemaker.resource_of(operation, payload, service)
    if resource is None:
        return None  # SageMaker's validation refuses the call before IAM is asked; moto does too
    action = f"{service}:{operation}"
    tags = tags_of(resource) if resource != "*" else None
    context = iam_sagemaker.request_context(settings.role_arn, settings.source, tags)
    if service == "sagemaker":
        context.update(iam_sagemaker.space_context(operation, payload, _space_of))
        # A keep's AddTags: the request's tag keys, which the role limits to the keep tag.
        context.update(iam_sagemaker.request_tag_context(operation, payload))
    decision = REGISTRY.evaluator().evaluate(action, resource, settings.principal, settings.policies, context)
    if decision.allowed:
        return None
    # The Tagging API's refusal names no resource (GetResources takes none).
    return iam_sagemaker.access_denied(settings.principal, action, resource if service == "sagemaker" else None,
                                       decision.result == "ExplicitlyDenied")


def _error(start_response, status: str, code: str, message: str):
    data = json.dumps({"__type": code, "message": message}).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data))),
                            ("x-amzn-ErrorType", code)])
    return [data]


# The X-Amz-Target prefixes the front takes, each with its service: (the call log's name for it,
# its IAM prefix, its error codes for a throttled and a failed call). The Tagging API's
# throttling error is ThrottledException, its server error InternalServiceException (its model).
FRONTED = {
    "SageMaker.": ("sagemaker", "sagemaker", "ThrottlingException", "InternalFailure"),
    TAGGING_TARGET: ("tagging", "tag", "ThrottledException", "InternalServiceException"),
    PRICING_TARGET: ("pricing", "pricing", "ThrottlingException", "InternalErrorException"),
}


def _dated(start_response):
    """`start_response` with the stand-in's clock in the answer's Date header, as AWS stamps its
    answers with its own: the function reads the time from it (`/_clock` moves it)."""

    def start(status, headers, exc_info=None):
        headers = [(k, v) for k, v in headers if k.lower() != "date"]
        return start_response(status, headers + [("Date", formatdate(REGISTRY.now(), usegmt=True))], exc_info)

    return start


def _price_list(operation: str, payload: dict, start_response):
    """The Price List API's answer (local/price_list.py); it has no other operation here."""
    if operation != "GetProducts":
        return _error(start_response, "400 Bad Request", "UnknownOperationException",
                      f"the stand-in's Price List API has no operation {operation}")
    status, data = price_list.answer(payload)
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))]
    if not status.startswith("200"):
        headers.append(("x-amzn-ErrorType", json.loads(data)["__type"]))
    start_response(status, headers)
    return [data]


class SageMakerFront:
    """Records each SageMaker, Tagging API and Price List API call, applies a configured fault,
    then IAM, before moto (or the stand-in's GetResources, or its Price List) sees it; each answer
    carries the stand-in's clock in its Date header."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        prefix = next((p for p in FRONTED if target.startswith(p)), None)
        if prefix is None:
            return self.app(environ, start_response)
        start_response = _dated(start_response)
        service, iam_service, throttled, failed = FRONTED[prefix]
        operation = target[len(prefix):]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        call = REGISTRY.record(operation, payload, service)
        environ[CALL_KEY] = call  # for InjectedLatency, which times it
        settle()
        fault = REGISTRY.take_fault(operation, body.decode(errors="replace"))
        if fault is not None:
            return self._fault(fault, environ, start_response, throttled, failed)
        settings = REGISTRY.iam
        if settings is not None and access_key_of(environ.get("HTTP_AUTHORIZATION", "")) == settings.access_key_id:
            started = time.perf_counter()
            try:
                denied = authorize(operation, payload, iam_service)
            except iam_sagemaker.UnknownOperation:
                # The function called something the stand-in cannot authorize: say so loudly.
                return _error(start_response, "500 Internal Server Error", failed,
                              f"the stand-in has no IAM resource for {operation}: add it to local/iam/sagemaker.py")
            call["iamSeconds"] = time.perf_counter() - started
            call["iam"] = "denied" if denied else "allowed"
            if denied:
                status, headers, data = denied
                start_response(status, headers)
                return [data]
        # How long moto itself took, so the benchmark can separate SageMaker's share.
        started = time.perf_counter()
        if service == "pricing":
            answer = b"".join(_price_list(operation, payload, start_response))
            call["seconds"] = time.perf_counter() - started
            return [answer]
        answer = b"".join(self.app(environ, start_response))
        call["seconds"] = time.perf_counter() - started
        if changes_tags(operation):
            observe_tags()  # the lagging index learns when it changed, on the stand-in's clock
        return [answer]

    def _fault(self, fault: dict, environ, start_response, throttled: str, failed: str):
        kind = fault["fault"]
        if kind == "slow":
            time.sleep(float(fault.get("seconds", 5)))
            return self.app(environ, start_response)
        if kind == "drop":
            connection = environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
            return []
        if kind == "throttle":
            return _error(start_response, "400 Bad Request", throttled, f"injected {kind}")
        return _error(start_response, "500 Internal Server Error", failed, f"injected {kind}")


# --- SageMaker's distance: injected latency, and when each call ran ------------------------------

CALL_KEY = "standin.call"  # the WSGI environ key under which SageMakerFront leaves a call's log entry


class InjectedLatency:
    """Stands in for SageMaker's answer time in a region (tens of ms; moto answers in one to a few):
    every SageMaker or Tagging API call signed with the function's access key (the gate's, and the benchmark's
    Python peer's: both run with `local.stack.aws_env`) takes `ms` from the moment its request's
    first byte reached the server to the moment its answer is written back, or longer when moto
    takes longer. The wait pads moto's own time rather than adding to it: moto answers calls one
    at a time under the GIL, slower the more arrive together, while SageMaker answers each in
    about the same time however many arrive; padding keeps the figure a call's whole time, as a
    client in a region measures it. Calls signed with any other key (seeding, tests' admin calls)
    are not slowed. The server runs each request in its own thread, so calls a client makes
    together overlap here as they would against SageMaker.

    The clock is the server's (`local.serve.KeepAliveHandler`, which the stand-in runs on): it
    starts before the request is parsed and the wait ends just before the answer's one write, so
    the server's own HTTP work (about 1.2 ms a call here: parsing 0.25, building the environ and
    the answer 0.2, the write and waking up 0.2 to 0.7) is inside `ms`, not added to it. Under
    another server the clock starts and the wait ends at this app, as before.

    Every logged call's entry (`GET /_calls`) gets `started` and `ended`: seconds on this
    process's monotonic clock when the request arrived and when its answer was written, so a test
    can see which calls overlapped and that one began only after others had ended."""

    def __init__(self, app, access_key_id: str):
        self.app = app
        self.access_key_id = access_key_id
        self.ms = 0.0

    def __call__(self, environ, start_response):
        arrived = environ.get(serve.ARRIVED)
        started = arrived if arrived is not None else time.monotonic()
        answer = b"".join(self.app(environ, start_response))
        padded = self.ms and access_key_of(environ.get("HTTP_AUTHORIZATION", "")) == self.access_key_id
        call = environ.get(CALL_KEY)
        if arrived is None:
            if padded:
                time.sleep(max(0.0, started + self.ms / 1000 - time.monotonic()))
            if call is not None:
                call["started"], call["ended"] = started, time.monotonic()
            return [answer]
        if padded:
            environ[serve.ANSWER_AT] = started + self.ms / 1000
        if call is not None:
            call["started"] = started
            environ[serve.ON_WRITTEN] = lambda at: call.__setitem__("ended", at)
        return [answer]


LATENCY: InjectedLatency | None = None  # set by main()

# moto's server lists its own package directory (about 180 stat calls) on every request to find
# the service; the listing never changes while it runs. Read once, moto's own time per call drops
# from about 1.7 to 1.0 ms (ListTags, in process), which matters because this process answers
# calls one at a time under the GIL: /targets with 40 notebooks is 40 calls the gate makes at once.
_moto_backends.list_of_moto_modules = functools.cache(lambda: tuple(_list_of_moto_modules()))
cognito_triggers.install()  # moto's Cognito runs a pool's pre token generation trigger
cognito_federation.install()  # and refuses a password to a federated user


def show_latency(request: Request) -> Response:
    return _json(200, {"ms": LATENCY.ms, "accessKeyId": LATENCY.access_key_id})


def set_latency(request: Request) -> Response:
    """{"ms": 20}: each of the function's SageMaker calls from now on takes 20 ms (at least)."""
    ms = _body(request).get("ms")
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= 10000:
        return _json(400, {"message": "ms must be a number of milliseconds between 0 and 10000"})
    LATENCY.ms = float(ms)
    return show_latency(request)


def clear_latency(request: Request) -> Response:
    LATENCY.ms = 0.0
    return show_latency(request)


# --- the stand-in notebook page and the control endpoints -------------------------------------


def _html(status: int, page: str) -> Response:
    return Response(page, status, {"Cache-Control": "no-store"}, content_type="text/html; charset=utf-8")


def browser_source(request: Request) -> Source:
    """Where the browser uses the URL from. The headers stand in for what SageMaker learns from the
    network (the address, or the VPC endpoint the request came through); only this local stand-in
    trusts them, and it listens on 127.0.0.1 alone."""
    vpce = request.headers.get("X-Local-Source-Vpce", "")
    if vpce:
        return Source(ip=request.headers.get("X-Local-Source-Ip", ""), vpce=vpce)
    settings = REGISTRY.iam
    if not request.headers.get("X-Local-Source-Ip") and settings is not None and settings.browser_source:
        return settings.browser_source
    return Source(ip=request.headers.get("X-Local-Source-Ip") or request.remote_addr or "")


def use_is_authorized(entry: dict, request: Request) -> bool:
    """SageMaker authorizes each use of a URL as the role that created it, from where the browser
    is (seed articles 000 and 001): a notebook's or Studio's for the presign action again, an MLflow
    UI session for the MLflow actions its requests make (local/iam/sagemaker.py, `url_use`). The
    session is refused if any of them is: a real UI would load and then fail on it."""
    grant = entry.get("iam")
    settings = REGISTRY.iam
    if grant is None or settings is None:
        return True
    source = browser_source(request)
    for action, resource in iam_sagemaker.url_use(grant["action"].split(":", 1)[1], grant["resource"]):
        tags = tags_of(resource) if resource != "*" else None
        context = iam_sagemaker.request_context(settings.role_arn, source, tags)
        if not REGISTRY.evaluator().evaluate(action, resource, settings.principal, settings.policies, context).allowed:
            return False
    return True


def open_url(request: Request, kind: str, key: str) -> Response:
    token = request.args.get("authToken", "")
    wants_json = "application/json" in (request.headers.get("Accept") or "")
    entry, reason = REGISTRY.check(token, kind, key)
    # IAM before the token is spent: a use refused for where it comes from does not burn the URL.
    if entry is not None and not use_is_authorized(entry, request):
        if wants_json:
            return _json(403, {"refused": "insufficient-permissions", "message": INSUFFICIENT})
        return _html(403, f'<!doctype html><title>403</title><main id="refused" data-reason="insufficient-permissions">'
                          f"<h1>403</h1><p>{INSUFFICIENT}</p></main>")
    if entry is not None:
        entry, reason = REGISTRY.redeem(token, kind, key)
    if entry is None:
        if wants_json:
            return _json(403, {"refused": reason})
        return _html(403, f'<!doctype html><title>Refused</title><main id="refused" data-reason="{reason}">'
                          f"<h1>This link cannot be used</h1><p>{reason}</p></main>")
    if kind.startswith("mlflow-"):
        opened = {"kind": kind, "name": entry["name"], "arn": entry["arn"], "session": entry["session"]}
        if "id" in entry:
            opened["id"] = entry["id"]
        what, where = "MLflow", "the MLflow UI"
    else:
        opened = {
            "kind": "notebook-instance" if kind == "notebook" else "studio",
            "name": entry.get("name", ""), "domain": entry.get("domain", ""), "profile": entry.get("profile", ""),
            "space": entry.get("space", ""), "app": entry.get("app", ""), "session": entry["session"],
        }
        what, where = "notebook", "Jupyter or Studio"
    if wants_json:
        return _json(200, {"opened": opened})
    attributes = " ".join(f'data-{k}="{html.escape(str(v))}"' for k, v in opened.items())
    title = html.escape(opened["name"] or f"{opened.get('profile', '')} {opened.get('space', '')}".strip())
    return _html(200, f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
                      f'<body><main id="opened" {attributes}><h1>Stand-in {what}: {title}</h1>'
                      f"<p>A real deployment would now be in {where}.</p></main></body></html>")


def set_fault(request: Request) -> Response:
    body = _body(request)
    if body.get("fault") not in ("throttle", "error", "slow", "drop") or not body.get("operation"):
        return _json(400, {"message": "operation and fault (throttle|error|slow|drop) required"})
    match = body.get("match", "")
    if not isinstance(match, str):
        return _json(400, {"message": "match must be a string"})
    with REGISTRY.lock:
        REGISTRY.faults[(body["operation"], match)] = {
            "fault": body["fault"], "count": int(body.get("count", 1)), "seconds": float(body.get("seconds", 5))}
    return _json(200, {"ok": True})


def clear_faults(request: Request) -> Response:
    with REGISTRY.lock:
        REGISTRY.faults.clear()
    return _json(200, {"ok": True})


def list_calls(request: Request) -> Response:
    with REGISTRY.lock:
        return _json(200, list(REGISTRY.calls))


def clear_calls(request: Request) -> Response:
    with REGISTRY.lock:
        REGISTRY.calls.clear()
    return _json(200, {"ok": True})


def advance_clock(request: Request) -> Response:
    advance = float(_body(request).get("advance", 0))
    with REGISTRY.lock:
        observe_tags()  # what changed before the jump changed before it
        REGISTRY.clock_offset += advance
        return _json(200, {"offset": REGISTRY.clock_offset})


def show_tagging(request: Request) -> Response:
    return _json(200, {"delaySeconds": REGISTRY.tagging_delay})


def set_tagging(request: Request) -> Response:
    """{"delaySeconds": N} (0 to 3600): GetResources answers from the Tagging API's index as it
    stood N seconds ago on the stand-in's clock; 0 (the default): as things are now."""
    body = _body(request)
    unknown = set(body) - {"delaySeconds"}
    delay = body.get("delaySeconds")
    if unknown or isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 3600:
        return _json(400, {"message": "the body is {\"delaySeconds\": N}, N seconds between 0 and 3600"})
    with REGISTRY.lock:
        if delay and REGISTRY.tag_index is None:
            REGISTRY.tag_index = TagIndex(indexed(_backend()))  # what exists now was indexed long ago
        elif not delay:
            REGISTRY.tag_index = None
        REGISTRY.tagging_delay = float(delay)
    return show_tagging(request)


def clear_tagging(request: Request) -> Response:
    with REGISTRY.lock:
        REGISTRY.tag_index = None
        REGISTRY.tagging_delay = 0.0
    return show_tagging(request)


def show_timing(request: Request) -> Response:
    return _json(200, REGISTRY.timing.__dict__)


def set_timing(request: Request) -> Response:
    """{"notebookStartSeconds": 3, ...}: the fields given change, the others stay."""
    settle()  # changes already under way finish on the delays they started with
    with REGISTRY.lock:
        REGISTRY.timing = Timing.parse(_body(request), REGISTRY.timing)
        return _json(200, REGISTRY.timing.__dict__)


def age(request: Request) -> Response:
    """{"seconds": N, "notebookInstance": name} or {"seconds": N, "domainId": id, "space": name}:
    the notebook instance has been in its state, or the space's apps have existed, for N seconds
    (LastModifiedTime / CreationTime set N seconds before now on the wall clock, which is what a
    browser reads: not the stand-in's shifted clock, and not counting how long the stack has run),
    so a test can show what was left running."""
    body = _body(request)
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return _json(400, {"message": "seconds must be a non-negative number"})
    backend = _backend()
    settle(backend)
    with REGISTRY.lock:
        if "notebookInstance" in body:
            instance = backend.notebook_instances.get(body["notebookInstance"])
            if instance is None:
                return _json(404, {"message": "no such notebook instance"})
            wall_now = datetime.now(timezone.utc).replace(tzinfo=instance.last_modified_time.tzinfo)
            instance.last_modified_time = wall_now - timedelta(seconds=seconds)
            return _json(200, {"lastModifiedTime": instance.last_modified_time.isoformat() + "Z"})
        apps = [a for a in _studio(backend)["apps"].values()
                if (a["DomainId"], a["OwnerKey"], a["Owner"]) == (body.get("domainId"), "SpaceName", body.get("space"))]
        if not apps:
            return _json(404, {"message": "no apps in that space (domainId and space are required)"})
        for app in apps:
            app["CreationTime"] = time.time() - seconds
        return _json(200, {"apps": len(apps)})


def set_race(request: Request) -> Response:
    """{"operation": "StopNotebookInstance" | "StartNotebookInstance" | "DeleteApp", "name": ...}
    (a notebook instance's name, or a space's for DeleteApp): the next such call finds that
    another caller made the same change a moment before, and SageMaker refuses it as it would."""
    body = _body(request)
    if body.get("operation") not in ("StopNotebookInstance", "StartNotebookInstance", "DeleteApp") \
            or not isinstance(body.get("name"), str):
        return _json(400, {"message": "operation (StopNotebookInstance|StartNotebookInstance|DeleteApp) and name"})
    with REGISTRY.lock:
        REGISTRY.races.add((body["operation"], body["name"]))
    return _json(200, {"ok": True})


def set_platform(request: Request) -> Response:
    """{"notebookInstance": name, "platform": "notebook-al2-v2"}: an instance made on a platform
    before SageMaker retired it, which no call can create any more."""
    body = _body(request)
    try:
        _backend().get_notebook_instance(body.get("notebookInstance"))
    except Exception:
        return _json(404, {"message": "no such notebook instance (notebookInstance is required)"})
    if body.get("platform") not in PLATFORMS:
        return _json(400, {"message": f"platform must be one of {list(PLATFORMS)}"})
    _platforms[body["notebookInstance"].lower()] = body["platform"]
    return _json(200, {"platform": body["platform"]})


def set_mlflow_status(request: Request) -> Response:
    """{"trackingServer": name, "status": ...} or {"app": id, "status": ...}: puts an MLflow
    resource in any of SageMaker's states at once (Updating, CreateFailed, ...), which no call the
    stand-in offers would reach, so a test can see how the gate answers each."""
    body = _body(request)
    backend = _backend()
    settle(backend)
    with REGISTRY.lock:
        if "trackingServer" in body:
            record, allowed, attr = _mlflow(backend)["servers"].get(body["trackingServer"]), \
                TRACKING_SERVER_STATUSES, "TrackingServerStatus"
        else:
            record, allowed, attr = _mlflow(backend)["apps"].get(body.get("app")), MLFLOW_APP_STATUSES, "Status"
        if record is None:
            return _json(404, {"message": "no such tracking server or app (trackingServer or app is required)"})
        if body.get("status") not in allowed:
            return _json(400, {"message": f"status must be one of {list(allowed)}"})
        _set(record, attr, body["status"], REGISTRY.now(), _mlflow_changed if attr == "TrackingServerStatus" else
             lambda r, at: r.__setitem__("LastModifiedTime", at))
        return _json(200, {"status": record[attr]})


def set_iam(request: Request) -> Response:
    """{accessKeyId, roleArn, policies: [{name, policy}], source: {ip | vpce [, vpc]}, sessionName}"""
    try:
        settings = IamSettings.parse(_body(request))
    except ValueError as error:
        return _json(400, {"message": str(error)})
    REGISTRY.evaluator()  # start Node now, so the first call is not the slow one
    REGISTRY.iam = settings
    return _json(200, {"ok": True, "principal": settings.principal})


def show_iam(request: Request) -> Response:
    settings = REGISTRY.iam
    if settings is None:
        return _json(200, {"enabled": False})
    return _json(200, {"enabled": True, "accessKeyId": settings.access_key_id, "roleArn": settings.role_arn,
                       "principal": settings.principal, "policies": settings.policies,
                       "source": settings.source.__dict__})


def clear_iam(request: Request) -> Response:
    REGISTRY.iam = None
    return _json(200, {"ok": True})


ROUTES = Map([
    Rule("/notebook/<key>", endpoint=lambda r, key: open_url(r, "notebook", key), methods=["GET"]),
    Rule("/studio/<key>", endpoint=lambda r, key: open_url(r, "studio", key), methods=["GET"]),
    Rule("/mlflow/tracking-servers/<key>", endpoint=lambda r, key: open_url(r, "mlflow-tracking-server", key),
         methods=["GET"]),
    Rule("/mlflow/apps/<key>", endpoint=lambda r, key: open_url(r, "mlflow-app", key), methods=["GET"]),
    Rule("/_faults", endpoint=set_fault, methods=["POST"]),
    Rule("/_faults", endpoint=clear_faults, methods=["DELETE"]),
    Rule("/_calls", endpoint=list_calls, methods=["GET"]),
    Rule("/_calls", endpoint=clear_calls, methods=["DELETE"]),
    Rule("/_clock", endpoint=advance_clock, methods=["POST"]),
    Rule("/_iam", endpoint=show_iam, methods=["GET"]),
    Rule("/_iam", endpoint=set_iam, methods=["POST"]),
    Rule("/_iam", endpoint=clear_iam, methods=["DELETE"]),
    Rule("/_timing", endpoint=show_timing, methods=["GET"]),
    Rule("/_timing", endpoint=set_timing, methods=["POST"]),
    Rule("/_age", endpoint=age, methods=["POST"]),
    Rule("/_mlflow", endpoint=set_mlflow_status, methods=["POST"]),
    Rule("/_platform", endpoint=set_platform, methods=["POST"]),
    Rule("/_race", endpoint=set_race, methods=["POST"]),
    Rule("/_latency", endpoint=show_latency, methods=["GET"]),
    Rule("/_latency", endpoint=set_latency, methods=["POST"]),
    Rule("/_latency", endpoint=clear_latency, methods=["DELETE"]),
    Rule("/_tagging", endpoint=show_tagging, methods=["GET"]),
    Rule("/_tagging", endpoint=set_tagging, methods=["POST"]),
    Rule("/_tagging", endpoint=clear_tagging, methods=["DELETE"]),
    *cognito_triggers.control_rules(),
    *cognito_federation.control_rules(),
])


@Request.application
def page_app(request: Request) -> Response:
    try:
        endpoint, arguments = ROUTES.bind_to_environ(request.environ).match()
        return endpoint(request, **arguments)
    except HTTPException as error:
        return _json(error.code, {"message": error.name.lower()})
    except ValueError as error:
        return _json(400, {"message": str(error)})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--page-port", type=int, default=5001)
    args = parser.parse_args(argv)
    # SageMaker serves concurrent calls in parallel; here they are threads of one interpreter, and a
    # thread whose answer is due waits for the GIL up to the switch interval (5 ms by default) while
    # another runs moto. A shorter interval keeps that wait well under a millisecond.
    sys.setswitchinterval(0.0005)

    global LATENCY
    LATENCY = InjectedLatency(SageMakerFront(DomainDispatcherApplication(create_backend_app)),
                              FUNCTION_ACCESS_KEY_ID)
    # Persistent connections, as an SDK keeps them to SageMaker: without them every call pays a
    # new connection and a new server thread here, and /targets' 8 calls at once then queue for
    # this one process (with 40 notebooks at 0 ms: 70 ms instead of 100-150 ms).
    moto = Server(LATENCY, args.port, keep_alive=True)
    page = Server(page_app, args.page_port)
    REGISTRY.page_base = page.url
    moto.start()
    page.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"ready moto={moto.url} page={page.url}", flush=True)
    stop.wait()
    moto.stop()
    page.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
