"""The whole gate on one machine: the SageMaker/Cognito stand-in, a demo world, the local API
Gateway and the real release binary. `scripts/dev up` runs this; the e2e tests start it too.

    python -m local.stack --binary target/release/notebook-gate [--port 8080] [--payload v1]

Besides the API it serves the portal (`portal/`, as CloudFront would) and a stand-in for Cognito
managed login (`local/oidc.py`), each on its own origin as in a deployment.

The template's schedule is a thread that sends the function the schedule's event every
`--sweep-every` seconds of wall time (0: never), and Lambda's Invoke API for the function (the
state's `invoke` URL) sweeps on demand. The stand-in's clock (`POST <page>/_clock`) is the time
the function goes by, so advancing it past the running-time limit stops the demo's forgotten
targets (`--cost-demo`, on by default) at the next sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

from local.control import post
from local.gateway import MOTO_KEY_WARNING, Authorizer, LocalGateway
from local.iam.stack import FUNCTION_ACCESS_KEY_ID, Deployment
from local.iam.stack import add_arguments as add_iam_arguments
from local.federated_world import TEMPLATE_PARAMETERS as FEDERATED_PARAMETERS
from local.federated_world import CompanySignIn, client_settings, pool_settings, seed_company_people
from local.oidc import ManagedLoginServer, Provider
from local.iam.evaluator import Evaluator
from local.portal_site import PortalSite, content_security_policy
from local.private_api import describe, local_gate, private_parameters
from local.lambda_invoke import INVOKE_PREFIX, INVOKE_SUFFIX, invoke_api
from local.serve import Child, Server

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
FUNCTION_NAME = "notebook-gate"  # the local function's name, as the Runtime API tells it
OWNER = "notebook-gate:owner"
GROUP = "notebook-gate:group"
STUDIO_DOMAINS = ["research", "platform"]  # the seeded domains' names, in the portal's order
KEEP_UNTIL = "notebook-gate:keep-until"  # the tag a keep sets: an RFC 3339 UTC time
KEPT_HOURS = 48  # how long the demo's kept notebook is kept from the seed on (within MaxKeepHours' 72)
PLATFORM_IDLE_MINUTES = 60  # the demo's "platform" domain shuts idle apps down itself after this
# What the template's schedule (EventBridge Scheduler) sends the function.
SWEEP_EVENT = {"notebook-gate": "sweep"}
DEMO_USERS = {
    # user name -> (password, group)
    "alice": ("Alice-demo-pass-1", "ml-team"),
    "bob": ("Bob-demo-pass-1", "analysts"),
}



def client(service: str, endpoint: str, validate: bool = True):
    """A boto3 client for the stand-in; `validate=False` lets bad input reach it, as from the SDK."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=validate),
    )


def aws_env(moto: str) -> dict:
    """What a function process needs to reach the stand-in with the SDK's own settings. Its key is
    the function's own: the stand-in evaluates calls signed with it against the role's policy."""
    return {
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": FUNCTION_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto, "AWS_EC2_METADATA_DISABLED": "true",
    }


def start_standin(port: int = 0, page_port: int = 0) -> tuple[Child, str, str]:
    """The SageMaker/Cognito stand-in (`local.sagemaker_standin`) as a child process, once ready, with
    its SageMaker endpoint and its page server's URL. Port 0 (the default) lets it bind free ports
    itself: a port picked here and bound there later could be taken in between (another server, or
    a client's outgoing connection, which draws from the same range)."""
    child = Child([sys.executable, "-m", "local.sagemaker_standin", "--port", str(port), "--page-port", str(page_port)],
                  env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}, timeout=60)
    urls = dict(part.split("=", 1) for part in child.ready.split())  # "moto=<url> page=<url>"
    return child, urls["moto"], urls["page"]


def seed(moto: str, pool_settings: dict | None = None, client_settings: dict | None = None,
         platform_idle_minutes: int = 0) -> dict:
    """Two people in different groups; notebooks in different states and tags; a Studio domain with
    their profiles, a private space each and a shared one, and a running app in two of the spaces.

    The pool is made as template.yaml makes a new one, and the people as docs/deploy.md tells an
    admin to: a readable user name the admin chooses (which is also the Studio profile's name,
    and which access tokens carry as `username`), the verified e-mail an alias to sign in with.
    `pool_settings` and `client_settings` add to the pool and its app client what company sign-in
    adds (local/federated_world.py). With `platform_idle_minutes`, the "platform" domain shuts idle
    JupyterLab and Code Editor apps down after that long (its DefaultUserSettings' idle settings)."""
    idp = client("cognito-idp", moto)
    pool_id = idp.create_user_pool(
        PoolName="notebook-gate-demo",
        AliasAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True,
                                     "RequireNumbers": True, "RequireSymbols": True}},
        **(pool_settings or {}),
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="portal",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        **(client_settings or {}),
    )["UserPoolClient"]["ClientId"]
    subs = {}
    for user, (password, group) in DEMO_USERS.items():
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=user,
            UserAttributes=[{"Name": "email", "Value": f"{user}@example.com"},
                            {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(UserPoolId=pool_id, Username=user, Password=password, Permanent=True)
        try:
            idp.create_group(UserPoolId=pool_id, GroupName=group)
        except idp.exceptions.GroupExistsException:
            pass
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName=group)
        attributes = idp.admin_get_user(UserPoolId=pool_id, Username=user)["UserAttributes"]
        subs[user] = next(a["Value"] for a in attributes if a["Name"] == "sub")

    sm = client("sagemaker", moto)
    role = "arn:aws:iam::123456789012:role/notebook-demo"

    def notebook(name, tags, stopped=False):
        sm.create_notebook_instance(
            NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=role,
            Tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        if stopped:
            sm.stop_notebook_instance(NotebookInstanceName=name)

    notebook("alice-analysis", [(OWNER, subs["alice"])])
    notebook("alice-gpu", [(OWNER, subs["alice"])], stopped=True)
    notebook("bob-reports", [(OWNER, subs["bob"])])
    notebook("bob-archive", [(OWNER, subs["bob"])], stopped=True)
    notebook("ml-team-shared", [(GROUP, "ml-team")])
    notebook("untagged-scratch", [])

    # Two Studio domains: "research" with everyone's profile and the spaces below, and
    # "platform" where only alice has a profile (and a space). `--studio-domains` says how many of
    # them the function is configured with.
    idle = idle_shutdown(platform_idle_minutes) if platform_idle_minutes else {}
    domain_ids = [sm.create_domain(
        DomainName=domain_name, AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role, **(idle if domain_name == "platform" else {})},
        SubnetIds=["subnet-12345678"], VpcId="vpc-12345678",
    )["DomainArn"].rsplit("/", 1)[1] for domain_name in STUDIO_DOMAINS]
    domain_id, platform_id = domain_ids
    for user in DEMO_USERS:
        sm.create_user_profile(DomainId=domain_id, UserProfileName=user, Tags=[{"Key": OWNER, "Value": subs[user]}])
    sm.create_user_profile(DomainId=platform_id, UserProfileName="alice", Tags=[{"Key": OWNER, "Value": subs["alice"]}])
    sm.create_space(DomainId=platform_id, SpaceName="alice-platform", OwnershipSettings={"OwnerUserProfileName": "alice"},
                    SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": "CodeEditor"})
    for name, owner, sharing in [("alice-private", "alice", "Private"), ("bob-private", "bob", "Private"),
                                 ("team-shared", "alice", "Shared")]:
        sm.create_space(
            DomainId=domain_id, SpaceName=name,
            OwnershipSettings={"OwnerUserProfileName": owner},
            SpaceSharingSettings={"SharingType": sharing},
            SpaceSettings={"AppType": "JupyterLab"},
        )
    # What is running in Studio: alice's private space and the shared one (hers too)
    # each have a JupyterLab app; bob's space has none.
    for space, instance_type in [("alice-private", "ml.t3.medium"), ("team-shared", "ml.g5.xlarge")]:
        sm.create_app(DomainId=domain_id, SpaceName=space, AppType="JupyterLab", AppName="default",
                      ResourceSpec={"InstanceType": instance_type})
    return {"pool_id": pool_id, "client_id": client_id, "domain_id": domain_id, "domain_ids": domain_ids,
            "domains": dict(zip(domain_ids, STUDIO_DOMAINS)), "subs": subs,
            "mlflow_apps": seed_mlflow(sm, subs, role)}


def idle_shutdown(minutes: int) -> dict:
    """A domain's DefaultUserSettings for Studio's own idle shutdown of JupyterLab and Code Editor
    apps after `minutes` (CreateDomain's AppLifecycleManagement)."""
    lifecycle = {"AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "ENABLED",
                                                             "IdleTimeoutInMinutes": minutes}}}
    return {"JupyterLabAppSettings": lifecycle, "CodeEditorAppSettings": lifecycle}


def seed_running_time(moto: str, world: dict) -> dict:
    """What the running-time policy acts on, besides the world `seed` makes (all running from the
    stand-in's now, so advancing `/_clock` past the limit puts them past it): alice's forgotten
    notebook instance and MLflow tracking server, her notebook kept running for two days (the
    keep tag, set as the keep route sets it), and a Code Editor app in her space of the "platform"
    domain (seeded with idle shutdown: the policy leaves it to Studio). The untagged running
    notebook `seed` makes is never touched. Returns the keep's time."""
    sm = client("sagemaker", moto)
    role = "arn:aws:iam::123456789012:role/notebook-demo"
    # The stand-in's now, as the function reads it: the Date of SageMaker's answer.
    answered = sm.list_notebook_instances(MaxResults=1)["ResponseMetadata"]["HTTPHeaders"]["date"]
    kept_until = (parsedate_to_datetime(answered) + timedelta(hours=KEPT_HOURS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    alice = [{"Key": OWNER, "Value": world["subs"]["alice"]}]
    kept = alice + [{"Key": KEEP_UNTIL, "Value": kept_until}]
    for name, instance_type, tags in [("alice-forgotten", "ml.t3.medium", alice), ("alice-kept", "ml.m5.xlarge", kept)]:
        sm.create_notebook_instance(NotebookInstanceName=name, InstanceType=instance_type, RoleArn=role, Tags=tags)
    sm.create_mlflow_tracking_server(TrackingServerName="alice-experiments", ArtifactStoreUri="s3://demo-mlflow/exp",
                                     RoleArn=role, TrackingServerSize="Medium", Tags=alice)
    # Created, then stopped and started again: Started, as a server someone started and forgot.
    sm.stop_mlflow_tracking_server(TrackingServerName="alice-experiments")
    sm.start_mlflow_tracking_server(TrackingServerName="alice-experiments")
    platform_id = world["domain_ids"][STUDIO_DOMAINS.index("platform")]
    sm.create_app(DomainId=platform_id, SpaceName="alice-platform", AppType="CodeEditor", AppName="default",
                  ResourceSpec={"InstanceType": "ml.t3.medium"})
    return {"keptUntil": kept_until}


def seed_mlflow(sm, subs: dict, role: str) -> dict:
    """MLflow, tagged as notebooks are: tracking servers for alice (one running, one
    stopped), bob, the ml-team group and nobody; MLflow apps for alice, bob and the group. Returns
    each app's id (the last segment of its ARN, which SageMaker chooses) by name."""
    tags = {"alice": [(OWNER, subs["alice"])], "bob": [(OWNER, subs["bob"])], "ml-team": [(GROUP, "ml-team")],
            "nobody": []}
    for name, whose, stopped in [("alice-mlflow", "alice", False), ("alice-mlflow-stopped", "alice", True),
                                 ("bob-mlflow", "bob", False), ("ml-team-mlflow", "ml-team", False),
                                 ("untagged-mlflow", "nobody", False)]:
        sm.create_mlflow_tracking_server(TrackingServerName=name, ArtifactStoreUri=f"s3://demo-mlflow/{name}",
                                         RoleArn=role, MlflowVersion="2.16.2",
                                         Tags=[{"Key": k, "Value": v} for k, v in tags[whose]])
        if stopped:
            sm.stop_mlflow_tracking_server(TrackingServerName=name)
    apps = {}
    for name, whose in [("alice-app", "alice"), ("bob-app", "bob"), ("ml-team-app", "ml-team")]:
        arn = sm.create_mlflow_app(Name=name, ArtifactStoreUri=f"s3://demo-mlflow/{name}", RoleArn=role,
                                   Tags=[{"Key": k, "Value": v} for k, v in tags[whose]])["Arn"]
        apps[name] = arn.rsplit("/", 1)[1]
    return apps


def sweep(function) -> dict:
    """One scheduled sweep: the schedule's event to `function` (a local.gateway.Function) through
    the Runtime API, as Lambda delivers it; the function's result."""
    return function.invoke(SWEEP_EVENT)


def describe_sweep(result: dict) -> str:
    """One line for a sweep that stopped something ('' for one that did not)."""
    summary = (result or {}).get("sweep") or {}
    stopped = summary.get("stopped") or []
    if not stopped:
        return ""
    names = ", ".join(f"{t.get('kind')} {t.get('name')}" + (f" ({t['domainId']})" if t.get("domainId") else "")
                      for t in stopped)
    return (f"sweep: stopped {names} (checked {summary.get('checked')}, kept {summary.get('kept')}, "
            f"failed {summary.get('failed')})")


class Scheduler(threading.Thread):
    """The template's schedule, locally: a sweep every `seconds` of wall time (the stand-in's
    clock moves the function's now, not how often it sweeps), one line per sweep that stopped
    something, and a failing sweep said once until it changes."""

    def __init__(self, function, seconds: float, stopping: threading.Event):
        super().__init__(name="sweep-scheduler", daemon=True)
        self.function, self.seconds, self.stopping = function, seconds, stopping

    def run(self):
        last_error = ""
        while not self.stopping.wait(self.seconds):
            try:
                line = describe_sweep(sweep(self.function))
                last_error = ""
            except Exception as error:  # the function may be restarting, or fail: the next one tries again
                line = f"sweep failed: {error}" if str(error) != last_error else ""
                last_error = str(error)
            if line:
                print(line, flush=True)


def set_timing(page: str, args: argparse.Namespace):
    """The stand-in's delays for state changes, from now on (after seeding)."""
    body = {"notebookStartSeconds": args.notebook_start_seconds, "notebookStopSeconds": args.notebook_stop_seconds,
            "appDeleteSeconds": args.app_delete_seconds, "mlflowStartSeconds": args.mlflow_start_seconds,
            "mlflowStopSeconds": args.mlflow_stop_seconds}
    post(f"{page}/_timing", body)


def set_latency(page: str, ms: float):
    """How long each of the function's SageMaker calls takes in the stand-in (`POST /_latency`)."""
    post(f"{page}/_latency", {"ms": ms})


def pool_authorizer(moto: str, world: dict) -> Authorizer:
    """API Gateway's JWT authorizer for the seeded pool: its JWKS, issuer and app client."""
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{world['pool_id']}"
    return Authorizer(f"{moto}/{world['pool_id']}/.well-known/jwks.json", issuer, world["client_id"])


def token(moto: str, client_id: str, user: str, kind: str = "AccessToken") -> str:
    password = DEMO_USERS[user][0]
    result = client("cognito-idp", moto).initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )["AuthenticationResult"]
    return result[kind]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "target/release/notebook-gate"),
                        help="the function: any built bootstrap; an aarch64 one runs under qemu-aarch64")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATE_PORT", 8080)))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", 0)))
    parser.add_argument("--page-port", type=int, default=int(os.environ.get("PAGE_PORT", 0)))
    parser.add_argument("--runtime-port", type=int, default=int(os.environ.get("RUNTIME_PORT", 0)))
    parser.add_argument("--portal-port", type=int, default=int(os.environ.get("PORTAL_PORT", 8081)))
    parser.add_argument("--login-port", type=int, default=int(os.environ.get("LOGIN_PORT", 0)))
    parser.add_argument("--payload", choices=["v1", "v2"], default="v2", help="v2: HTTP API (default); v1: REST API")
    parser.add_argument("--private", action="store_true",
                        help="as ApiVisibility=Private deploys it: the private REST API (v1 events, no /launch), "
                             "its resource policy, the function and the URLs through VPC endpoints (local/private_api.py)")
    parser.add_argument("--auto-start", action="store_true")
    parser.add_argument("--federated", action="store_true",
                        help="company sign-in, as IdentityProviderType=OIDC deploys it: the pool federated to a "
                             "stand-in company OpenID Connect provider (local/company_idp.py), the provider only, "
                             "its groups put in the tokens by the sign-in trigger (local/federated_world.py)")
    parser.add_argument("--trigger-binary", default=str(ROOT / "target/release/sign-in-trigger"),
                        help="with --federated: the sign-in trigger's bootstrap (an aarch64 one runs under qemu-aarch64)")
    timing = parser.add_argument_group("timing", "how long SageMaker's state changes take in the stand-in "
                                                 "(0: at once; seeding is always at once)")
    timing.add_argument("--notebook-start-seconds", type=float, default=0.0, help="Pending -> InService")
    timing.add_argument("--notebook-stop-seconds", type=float, default=0.0, help="Stopping -> Stopped")
    timing.add_argument("--app-delete-seconds", type=float, default=0.0, help="a stopped Studio app: Deleting -> Deleted")
    timing.add_argument("--mlflow-start-seconds", type=float, default=0.0, help="a tracking server: Starting -> Started")
    timing.add_argument("--mlflow-stop-seconds", type=float, default=0.0, help="a tracking server: Stopping -> Stopped")
    parser.add_argument("--studio-domains", type=int, choices=[0, 1, 2], default=2,
                        help="how many of the two seeded Studio domains the function is configured with (research, "
                             "then platform; 0: no Studio)")
    parser.add_argument("--sagemaker-latency-ms", type=float, default=0.0,
                        help="each of the function's SageMaker calls takes this long (at least), as in a "
                             "region (the stand-in's /_latency; seeding is never slowed)")
    parser.add_argument("--sweep-every", type=float, default=10.0, metavar="SECONDS",
                        help="the schedule: sweep (the running-time policy) every SECONDS of wall time; 0: never "
                             "(the state's `invoke` URL sweeps on demand)")
    parser.add_argument("--cost-demo", action=argparse.BooleanOptionalAction, default=True,
                        help="seed what the running-time policy acts on: alice's forgotten notebook and MLflow "
                             "server, her kept notebook, and a platform domain with idle shutdown")
    parser.add_argument("--state", default=str(ROOT / ".local/stack.json"), help="where the stack's ports and ids go")
    parser.add_argument("--function-log", default=str(ROOT / ".local/function.log"))
    add_iam_arguments(parser)
    args = parser.parse_args(argv)
    if args.federated:  # company sign-in's parameters, unless --param says otherwise
        args.param = [f"{k}={v}" for k, v in FEDERATED_PARAMETERS.items()] + args.param
    if args.private:  # the private network's parameters, unless --param says otherwise
        args.payload = "v1"
        args.param = [f"{k}={v}" for k, v in private_parameters({}).items()] + args.param

    portal = PortalSite(ROOT / "portal", args.portal_port)  # first: a busy port fails before anything starts
    standin, moto, page = start_standin(args.moto_port, args.page_port)
    gateway = login = company = invoke = None
    stopping = threading.Event()
    # Explicit handlers: a shell that starts us in the background may have told us to ignore SIGINT.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stopping.set())
    try:
        idle = PLATFORM_IDLE_MINUTES if args.cost_demo else 0
        world = seed(moto, pool_settings(), client_settings(provider_only=True), platform_idle_minutes=idle) \
            if args.federated else seed(moto, platform_idle_minutes=idle)
        if args.cost_demo:
            world["runningTime"] = seed_running_time(moto, world)
        set_timing(page, args)
        set_latency(page, args.sagemaker_latency_ms)
        # template.yaml rendered for this stack; the stand-in enforces its function role from now on.
        deployment = Deployment.for_stack(args, world["domain_ids"][:args.studio_domains])
        iam_lines = deployment.enforce(page)
        authorizer = pool_authorizer(moto, world)
        private = local_gate(deployment.rendered.parameters, deployment.rendered, Evaluator(), portal.url) \
            if args.private else {}
        if args.federated:
            # The trigger runs with the environment template.yaml gives it.
            trigger = deployment.rendered.properties("SignInTriggerFunction")
            company = CompanySignIn(
                trigger_binary=args.trigger_binary, trigger_env=trigger["Environment"]["Variables"],
                trigger_log=Path(args.function_log).with_name("sign-in-trigger.log"), page=page,
                aws_env={"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION})
        login = ManagedLoginServer(
            Provider(cognito=client("cognito-idp", moto), region=REGION, pool_id=world["pool_id"],
                     client_id=world["client_id"], redirect_uris=[portal.url + "/"],
                     federation=company.federation if company else None),
            args.login_port, allowed_origins=[portal.url],
        ).start()
        if company:
            company.start(client("cognito-idp", moto), world["pool_id"], login.url, portal.url)
            people = {"carol": company.sign_in_before(world["pool_id"], world["client_id"], "carol")}
            world["federated"] = {**company.describe(), "signedInBefore": people,
                                  **seed_company_people(client("sagemaker", moto), people, world["domain_id"],
                                                        "arn:aws:iam::123456789012:role/notebook-demo")}
        Path(args.function_log).parent.mkdir(parents=True, exist_ok=True)
        gateway = LocalGateway(
            port=args.port, runtime_port=args.runtime_port, binary=args.binary, payload=args.payload,
            authorizer=authorizer, log_path=Path(args.function_log), **private,
            function_env={
                **deployment.function_environment(),
                **aws_env(moto),
                "AUTO_START": "true" if args.auto_start else "false",
                "CORS_ALLOWED_ORIGINS": portal.url,
                # The template's PortalClient, here the pool's one client.
                "ALLOWED_CLIENT_IDS": world["client_id"],
                # The Price List API is the stand-in's too: the SDK's own override for it (as
                # AWS_ENDPOINT_URL already says), and the region its endpoint answers in.
                "AWS_ENDPOINT_URL_PRICING": moto,
                "PRICING_REGION": REGION,
            },
        )
        gateway.start()
        api = gateway.url  # --port 0: the port it bound
        # Lambda's Invoke API for the function: what the schedule calls, for tests to sweep on demand.
        invoke = Server(invoke_api(gateway.host, FUNCTION_NAME)).start()
        if args.sweep_every > 0:
            Scheduler(gateway.function, args.sweep_every, stopping).start()
        # What scripts/portal-config writes from a deployed stack's outputs, for this stack.
        portal.start(
            {"apiUrl": api, "region": REGION, "userPoolId": world["pool_id"], "clientId": world["client_id"],
             "cognitoDomain": login.url, "authority": f"{login.url}/{world['pool_id']}",
             # What scripts/portal-config writes from the PortalIdentityProvider output.
             **({"identityProvider": world["federated"]["provider"]} if company else {})},
            content_security_policy(connect=[api, login.url], form_action=[login.url]),
        )
        state = {
            "gateway": api, "portal": portal.url, "login": login.url,
            "moto": moto, "page": page, "runtime": f"http://127.0.0.1:{gateway.function.runtime_port}",
            "invoke": f"{invoke.url}{INVOKE_PREFIX}{FUNCTION_NAME}{INVOKE_SUFFIX}",
            "payload": args.payload, "private": describe(deployment.rendered.parameters) if args.private else None,
            **world, "studio_domain_ids": world["domain_ids"][:args.studio_domains],
            # Which process answers: the binary, or qemu running it (local/emulation.py).
            "function": {"command": gateway.function.command, "pid": gateway.function.process.pid},
            "iam": {"enforced": deployment.enforced, "functionSource": deployment.source,
                    "parameters": deployment.parameters},
            "users": {u: {"password": p, "group": g} for u, (p, g) in DEMO_USERS.items()},
        }
        Path(args.state).parent.mkdir(parents=True, exist_ok=True)
        Path(args.state).write_text(json.dumps(state, indent=2))
        print(f"notebook-gate is up ({args.payload} events{', private API' if args.private else ''})", flush=True)
        if args.private:
            print(f"  private        requests come through {state['private']['executeApiVpce']} unless they say "
                  "otherwise (X-Local-Source-Vpce / X-Local-Source-Ip); no /launch routes", flush=True)
        print(f"  portal         {portal.url}/   (open it in a browser and sign in)", flush=True)
        print(f"  API            {state['gateway']}   (e.g. GET /targets)", flush=True)
        print(f"  sign-in        {login.url}   (stands in for Cognito managed login)", flush=True)
        print(f"  SageMaker+Cognito stand-in  {moto}", flush=True)
        print(f"  notebook page  {state['page']}", flush=True)
        configured = world["domain_ids"][:args.studio_domains]
        print("  Studio domains " + ", ".join(f"{world['domains'][d]} {d}" + ("" if d in configured else " (not configured)")
                                             for d in world["domain_ids"]), flush=True)
        mlflow = deployment.function_environment().get("MLFLOW", "false") == "true"
        print(f"  MLflow         {'on' if mlflow else 'off (Mlflow=false)'}: tracking servers alice-mlflow, "
              "alice-mlflow-stopped, bob-mlflow, ml-team-mlflow, untagged-mlflow; apps "
              + ", ".join(f"{name} {app_id}" for name, app_id in world["mlflow_apps"].items()), flush=True)
        print(f"  function       {' '.join(gateway.function.command)}", flush=True)
        print("  schedule       " + (f"a sweep every {args.sweep_every:g} s" if args.sweep_every > 0 else "off")
              + f"; one now: curl -d '{json.dumps(SWEEP_EVENT)}' {state['invoke']}", flush=True)
        if args.cost_demo:
            print(f"  running time   alice-forgotten, alice-experiments (MLflow) and the Studio apps of research run "
                  f"from now; alice-kept is kept until {world['runningTime']['keptUntil']}; platform has idle "
                  f"shutdown; advance the clock: curl -d '{{\"advance\": 46800}}' {page}/_clock", flush=True)
        if company:
            print(f"  company IdP    {company.company.url}   (stands in for Entra ID / Okta; the portal signs in "
                  "there only)", flush=True)
            for user, person in world["federated"]["users"].items():
                groups = ", ".join(person["groups"][:2]) + (", ..." if len(person["groups"]) > 2 else "")
                print(f"  company login  {user} / {person['password']}   (provider groups: {groups or 'none'})",
                      flush=True)
        for user, (password, group) in DEMO_USERS.items():
            print(f"  login          {user} / {password}   (group {group}"
                  + ("; scripts/dev token only: the portal signs in at the company IdP)" if company else ")"), flush=True)
        print("  token          scripts/dev token alice", flush=True)
        for line in iam_lines:
            print(line, flush=True)
        print(MOTO_KEY_WARNING, flush=True)
        print(f"ready {json.dumps(state)}", flush=True)
        while not stopping.wait(0.5):
            if gateway.function.process.poll() is not None:
                print("the function process exited; stopping", file=sys.stderr, flush=True)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()  # the scheduler too
        if invoke:
            invoke.stop()
        if gateway:
            gateway.stop()
        if login:
            login.stop()
        if company:
            company.stop()
        portal.stop()
        standin.stop(10)
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
