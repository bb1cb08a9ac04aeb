"""The running-time policy end to end: the schedule's event (`Stack.sweep()`, through Lambda's Invoke
API and the Runtime API) to the real binary, the stand-in's clock (`/_clock`) as the time that
passes, the keep route through the local API Gateway, and `/targets`' stop times and prices from
the stand-in's Price List.

The world is the demo's (`--cost-demo`): alice's forgotten notebook (ml.t3.medium) and MLflow
tracking server (Medium, Started), her notebook kept for 48 h (ml.m5.xlarge), the untagged running
notebook, Studio apps in the research domain (no idle shutdown) and in the platform domain (idle
shutdown after 60 min). Everything runs from the stand-in's now at seed; the limits are the
template's defaults (12 h, keeping up to 72 h)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import boto3
import botocore.exceptions
import pytest

from local import price_list
from local.stack import KEEP_UNTIL, client
from local.tests.conftest import Stack, module_stack

LIMIT_HOURS, MAX_KEEP_HOURS = 12, 72
WORLD = ("--cost-demo", "--studio-domains", "2")
# The seeded targets the policy stops once past 12 h: every running one with the owner or group
# tag, but the kept one; in Studio, the apps of the domain without idle shutdown.
PAST_LIMIT_NOTEBOOKS = {"alice-analysis", "alice-forgotten", "bob-reports", "ml-team-shared"}
PAST_LIMIT_SPACES = {("research", "alice-private"), ("research", "team-shared")}
NEVER_STOPPED_NOTEBOOKS = {"alice-kept", "untagged-scratch"}

world = module_stack("world", *WORLD)


def standin_now(stack) -> datetime:
    """The stand-in's now, as the function reads it: the Date header of a SageMaker answer."""
    answer = client("sagemaker", stack.state["moto"]).list_notebook_instances(MaxResults=1)
    return parsedate_to_datetime(answer["ResponseMetadata"]["HTTPHeaders"]["date"])


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def about(a: datetime, b: datetime) -> bool:
    """The same second: the gate gives times to the second, SageMaker's carry milliseconds."""
    return abs(a - b) < timedelta(seconds=1)


def advance(stack, **delta):
    stack.control("POST", "/_clock", {"advance": timedelta(**delta).total_seconds()})


def notebook_status(stack, name: str) -> str:
    return client("sagemaker", stack.state["moto"]).describe_notebook_instance(
        NotebookInstanceName=name)["NotebookInstanceStatus"]


def stopped_names(result: dict, kind: str) -> set:
    return {t["name"] for t in result["sweep"]["stopped"] if t["kind"] == kind}


def stopped_spaces(stack, result: dict) -> set:
    domains = stack.state["domains"]
    return {(domains[t["domainId"]], t["name"]) for t in result["sweep"]["stopped"] if t["kind"] == "space"}


def app_status(stack, domain: str, space: str, app_type: str) -> str:
    domain_id = next(d for d, name in stack.state["domains"].items() if name == domain)
    return client("sagemaker", stack.state["moto"]).describe_app(
        DomainId=domain_id, SpaceName=space, AppType=app_type, AppName="default")["Status"]


def post(stack, path: str, body, user: str = "alice"):
    """POST `body` (JSON, or raw bytes) through the local API Gateway with `user`'s token."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(stack.state["gateway"] + path, data=data, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json",
        **({"Authorization": f"Bearer {stack.token(user)}"} if user else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def error_code(body) -> str | None:
    """The gate's error code: `{"error": {"code", "message", "requestId"}}`."""
    return ((body or {}).get("error") or {}).get("code")


def targets(stack, user: str = "alice") -> dict:
    status, _, body = stack.get("/targets", stack.token(user))
    assert status == 200, body
    return json.loads(body)


def by_name(items: list) -> dict:
    return {item["name"]: item for item in items}


def keep_tag(stack, name: str) -> str | None:
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/{name}"
    tags = client("sagemaker", stack.state["moto"]).list_tags(ResourceArn=arn)["Tags"]
    return next((t["Value"] for t in tags if t["Key"] == KEEP_UNTIL), None)


# --- one sweep past the limit, and one a minute before it ------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A stack of its own, swept at 11 h 59 min and at 12 h 1 min on the stand-in's clock: its
    results, and the calls each made."""
    stack = Stack(tmp_path_factory.mktemp("swept"), *WORLD)
    try:
        stack.control("DELETE", "/_calls")
        advance(stack, hours=11, minutes=59)
        early = stack.sweep()
        early_calls = stack.control("GET", "/_calls")
        stack.control("DELETE", "/_calls")
        advance(stack, minutes=2)
        late = stack.sweep()
        late_calls = stack.control("GET", "/_calls")
        again = stack.sweep()
        yield {"stack": stack, "early": early, "early_calls": early_calls, "late": late, "late_calls": late_calls,
               "again": again}
    finally:
        stack.stop()


def test_a_sweep_a_minute_before_the_limit_stops_nothing(swept):
    early = swept["early"]["sweep"]
    assert early["stopped"] == [] and early["failed"] == 0
    assert early["checked"] >= len(PAST_LIMIT_NOTEBOOKS) + 1
    assert not [c for c in swept["early_calls"] if c["operation"].startswith(("Stop", "DeleteApp"))]


def test_notebooks_and_tracking_servers_past_the_limit_are_stopped(swept):
    stack, late = swept["stack"], swept["late"]
    assert late["sweep"]["failed"] == 0
    assert stopped_names(late, "notebook-instance") == PAST_LIMIT_NOTEBOOKS
    assert "alice-experiments" in stopped_names(late, "mlflow-tracking-server")
    for name in PAST_LIMIT_NOTEBOOKS:
        assert notebook_status(stack, name) in ("Stopping", "Stopped"), name
    server = client("sagemaker", stack.state["moto"]).describe_mlflow_tracking_server(
        TrackingServerName="alice-experiments")
    assert server["TrackingServerStatus"] in ("Stopping", "Stopped")
    stops = sorted(c["input"]["NotebookInstanceName"] for c in swept["late_calls"]
                   if c["operation"] == "StopNotebookInstance")
    assert stops == sorted(PAST_LIMIT_NOTEBOOKS), "one stop each, nothing else"
    # What it stopped is no longer running: the next sweep has nothing to do.
    assert swept["again"]["sweep"]["stopped"] == []


def test_the_kept_and_the_untagged_notebooks_keep_running(swept):
    stack, late = swept["stack"], swept["late"]
    for name in NEVER_STOPPED_NOTEBOOKS:
        assert notebook_status(stack, name) == "InService", name
    assert late["sweep"]["kept"] >= 1
    untagged = [c for c in swept["late_calls"] if "untagged-scratch" in json.dumps(c["input"])
                or "untagged-mlflow" in json.dumps(c["input"])]
    assert untagged == [], "what the gate does not hand out is never read, let alone stopped"
    assert "untagged-mlflow" not in stopped_names(late, "mlflow-tracking-server")


def test_studio_apps_are_deleted_only_in_a_domain_without_idle_shutdown(swept):
    stack, late = swept["stack"], swept["late"]
    assert stopped_spaces(stack, late) == PAST_LIMIT_SPACES
    for domain, space in PAST_LIMIT_SPACES:
        assert app_status(stack, domain, space, "JupyterLab") in ("Deleting", "Deleted")
    assert app_status(stack, "platform", "alice-platform", "CodeEditor") == "InService"


def test_each_stop_writes_one_audit_line_and_one_metric(swept):
    stack, late = swept["stack"], swept["late"]
    records = [json.loads(line) for line in stack.log.read_text().splitlines() if line.startswith("{")]
    metrics = [r for r in records if "PolicyStops" in r]
    assert len(metrics) == len(late["sweep"]["stopped"])
    assert sorted(m.get("Kind") for m in metrics) == sorted(t["kind"] for t in late["sweep"]["stopped"])
    audits = [r for r in records if r.get("target") == "audit" and "schedule" in json.dumps(r)
              and "stop" in json.dumps(r)]
    assert len(audits) >= len(late["sweep"]["stopped"])


# --- a failure to stop one ------------------------------------------------------------------


def test_a_failure_to_stop_one_does_not_stop_the_sweep(start_stack):
    stack = start_stack(*WORLD)
    advance(stack, hours=13)
    # Enough failures to outlast the SDK's retries: this notebook cannot be stopped this sweep.
    stack.control("POST", "/_faults", {"operation": "StopNotebookInstance", "fault": "error", "count": 50,
                                       "match": "alice-forgotten"})
    result = stack.sweep()
    stack.control("DELETE", "/_faults")
    assert result["sweep"]["failed"] == 1
    assert stopped_names(result, "notebook-instance") == PAST_LIMIT_NOTEBOOKS - {"alice-forgotten"}
    assert notebook_status(stack, "alice-forgotten") == "InService"
    assert "alice-experiments" in stopped_names(result, "mlflow-tracking-server")
    # The next sweep tries again.
    assert stopped_names(stack.sweep(), "notebook-instance") == {"alice-forgotten"}


# --- keeping one running --------------------------------------------------------------------


def test_a_kept_notebook_runs_past_its_limit_until_its_keep_ends(start_stack):
    stack = start_stack(*WORLD)
    until = standin_now(stack) + timedelta(hours=24)
    status, body = post(stack, "/notebook-instances/alice-forgotten/keep", {"until": rfc3339(until)})
    assert status == 200, body
    assert body["result"] == "kept" and body["keptUntil"] == rfc3339(until) == body["stopsAt"]
    assert body["target"]["name"] == "alice-forgotten"
    assert keep_tag(stack, "alice-forgotten") == rfc3339(until)

    advance(stack, hours=13)
    first = stack.sweep()
    assert "alice-forgotten" not in stopped_names(first, "notebook-instance")
    assert "alice-analysis" in stopped_names(first, "notebook-instance")
    assert notebook_status(stack, "alice-forgotten") == "InService"
    advance(stack, hours=11, minutes=2)  # past the keep
    assert "alice-forgotten" in stopped_names(stack.sweep(), "notebook-instance")


def test_a_kept_space_and_tracking_server_outlive_their_limit(start_stack):
    stack = start_stack(*WORLD)
    research = next(d for d, name in stack.state["domains"].items() if name == "research")
    until = rfc3339(standin_now(stack) + timedelta(hours=24))
    for path in (f"/studio/spaces/alice-private/keep?domain={research}",
                 "/mlflow/tracking-servers/alice-experiments/keep"):
        status, body = post(stack, path, {"until": until})
        assert status == 200 and body["keptUntil"] == until, (path, body)
    advance(stack, hours=13)
    result = stack.sweep()
    assert stopped_spaces(stack, result) == PAST_LIMIT_SPACES - {("research", "alice-private")}
    assert "alice-experiments" not in stopped_names(result, "mlflow-tracking-server")
    assert app_status(stack, "research", "alice-private", "JupyterLab") == "InService"
    assert result["sweep"]["kept"] >= 3  # those two and alice-kept


def test_a_keep_time_with_an_offset_is_kept_in_utc(world):
    until = standin_now(world) + timedelta(hours=20)
    tokyo = until.astimezone(timezone(timedelta(hours=9))).isoformat()  # 2026-12-06T11:00:00+09:00
    status, body = post(world, "/notebook-instances/alice-analysis/keep", {"until": tokyo})
    assert status == 200, body
    assert body["keptUntil"] == rfc3339(until) == body["stopsAt"]
    assert keep_tag(world, "alice-analysis") == rfc3339(until)


def test_a_keep_is_refused_past_the_maximum_on_anothers_or_a_stopped_target_and_for_bad_input(world):
    now = standin_now(world)
    world.control("DELETE", "/_calls")
    too_long = now + timedelta(hours=MAX_KEEP_HOURS, minutes=10)
    status, body = post(world, "/notebook-instances/alice-forgotten/keep", {"until": rfc3339(too_long)})
    assert (status, error_code(body)) == (400, "keep_too_long"), body
    status, body = post(world, "/notebook-instances/bob-reports/keep", {"until": rfc3339(now + timedelta(hours=2))})
    assert (status, error_code(body)) == (404, "not_found"), body
    status, body = post(world, "/notebook-instances/alice-gpu/keep", {"until": rfc3339(now + timedelta(hours=2))})
    assert (status, error_code(body)) == (409, "not_running"), body
    for bad in [{"until": rfc3339(now - timedelta(hours=1))}, {"until": "tomorrow"}, {}, b"not json"]:
        status, body = post(world, "/notebook-instances/alice-forgotten/keep", bad)
        assert (status, error_code(body)) == (400, "invalid_request"), (bad, body)
    assert post(world, "/notebook-instances/alice-forgotten/keep", {"until": rfc3339(now)}, user=None)[0] == 401
    assert keep_tag(world, "alice-forgotten") is None and keep_tag(world, "bob-reports") is None
    assert not [c for c in world.control("GET", "/_calls") if c["operation"] == "AddTags"]


# --- what /targets shows --------------------------------------------------------------------


def test_targets_show_the_policy_stop_times_keeps_and_the_price_lists_prices(world):
    advance(world, hours=3)  # three hours into their running time: some cost so far
    world.control("DELETE", "/_calls")
    answer = targets(world)
    now = standin_now(world)
    assert answer["runningTimePolicy"] == {"notebookInstanceHours": LIMIT_HOURS, "spaceHours": LIMIT_HOURS,
                                           "trackingServerHours": LIMIT_HOURS, "maxKeepHours": MAX_KEEP_HOURS}
    assert answer["currency"] == "USD"
    notebooks = by_name(answer["notebookInstances"])

    forgotten = notebooks["alice-forgotten"]
    since = parse(forgotten["since"])
    assert about(parse(forgotten["stopsAt"]), since + timedelta(hours=LIMIT_HOURS))
    assert "keptUntil" not in forgotten
    assert forgotten["keep"] == "/notebook-instances/alice-forgotten/keep"
    assert abs(parse(forgotten["keepUntilMax"]) - (now + timedelta(hours=MAX_KEEP_HOURS))) <= timedelta(minutes=1)
    price = price_list.price_per_hour("us-east-1", "-Notebk:ml.t3.medium")
    assert forgotten.get("pricePerHour") == price, forgotten
    hours = (now - since).total_seconds() / 3600
    assert abs(hours - 3) < 0.05  # the clock was moved 3 h after seeding
    assert abs(forgotten["costSoFar"] - round(price * hours, 2)) <= 0.011

    kept = notebooks["alice-kept"]
    assert kept["keptUntil"] == world.state["runningTime"]["keptUntil"] == kept["stopsAt"]
    assert kept.get("pricePerHour") == price_list.price_per_hour("us-east-1", "-Notebk:ml.m5.xlarge"), kept

    stopped = notebooks["alice-gpu"]
    assert not {"stopsAt", "keep", "keepUntilMax", "costSoFar"} & set(stopped)

    server = by_name(answer["mlflowTrackingServers"])["alice-experiments"]
    assert server["size"] == "Medium"
    assert server.get("pricePerHour") == price_list.price_per_hour("us-east-1", "-MLflow:TrackingServer-Medium"), server
    assert about(parse(server["stopsAt"]), parse(server["since"]) + timedelta(hours=LIMIT_HOURS))
    assert server["keep"] == "/mlflow/tracking-servers/alice-experiments/keep"

    domains = {world.state["domains"][d["domainId"]]: d for d in answer["studioDomains"]}
    assert "idleShutdownMinutes" not in domains["research"]
    assert domains["platform"]["idleShutdownMinutes"] == 60
    private = by_name(domains["research"]["spaces"])["alice-private"]
    jupyter_lab = price_list.price_per_hour("us-east-1", "-Studio:JupyterLab-ml.t3.medium")
    assert private.get("pricePerHour") == jupyter_lab, private
    assert about(parse(private["stopsAt"]), parse(private["app"]["since"]) + timedelta(hours=LIMIT_HOURS))
    platform = by_name(domains["platform"]["spaces"])["alice-platform"]
    code_editor = price_list.price_per_hour("us-east-1", "-Studio:CodeEditor-ml.t3.medium")
    assert platform.get("pricePerHour") == code_editor, platform
    assert "stopsAt" not in platform and "keep" not in platform, "Studio shuts that domain's apps down itself"

    # Asked of the Price List by region and instance type, once per process.
    asked = [c["input"] for c in world.control("GET", "/_calls") if c["service"] == "pricing"]
    assert asked and all(q["ServiceCode"] == "AmazonSageMaker" for q in asked)
    for query in asked:
        fields = {f["Field"]: f["Value"] for f in query["Filters"]}
        assert fields["regionCode"] == "us-east-1" and fields["instanceName"]
        assert {f["Type"] for f in query["Filters"]} == {"TERM_MATCH"}
    world.control("DELETE", "/_calls")
    assert targets(world)["notebookInstances"]
    assert not [c for c in world.control("GET", "/_calls") if c["service"] == "pricing"], "cached"


def test_without_the_price_list_targets_show_no_price_at_all(start_stack):
    stack = start_stack(*WORLD)
    stack.control("POST", "/_faults", {"operation": "GetProducts", "fault": "error", "count": 10_000})
    try:
        answer = targets(stack)
    finally:
        stack.control("DELETE", "/_faults")
    items = answer["notebookInstances"] + answer["mlflowTrackingServers"] + \
        [s for d in answer["studioDomains"] for s in d["spaces"]]
    assert items and not [i["name"] for i in items if "pricePerHour" in i or "costSoFar" in i]
    # The policy's stop times do not depend on prices.
    assert "stopsAt" in by_name(answer["notebookInstances"])["alice-forgotten"]


# --- the dev stack's schedule, and the stand-in's times --------------------------------------


def test_the_dev_stacks_schedule_sweeps_on_its_own_and_says_what_it_stopped(start_stack):
    stack = start_stack(*WORLD, "--sweep-every", "0.5")
    advance(stack, hours=13)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "sweep: stopped" not in stack.output:
        time.sleep(0.2)
    said = [line for line in stack.output.splitlines() if line.startswith("sweep: stopped")]
    assert said, stack.output[-2000:]
    line = said[0]
    assert "notebook-instance alice-forgotten" in line and "mlflow-tracking-server alice-experiments" in line
    assert "alice-kept" not in line and "untagged" not in line
    time.sleep(1.5)  # later sweeps find nothing more to stop, and say nothing
    assert sum(line.startswith("sweep: stopped") for line in stack.output.splitlines()) == 1


def test_the_stand_ins_notebook_times_follow_its_clock_and_change_only_with_the_state(standin):
    moto, page = standin
    sm = client("sagemaker", moto)

    def advance_standin(seconds: int):
        urllib.request.urlopen(urllib.request.Request(page + "/_clock", data=json.dumps({"advance": seconds}).encode(),
                                                      method="POST"), timeout=10).close()

    advance_standin(5 * 3600)
    sm.create_notebook_instance(NotebookInstanceName="nb-clock", InstanceType="ml.t3.medium",
                                RoleArn="arn:aws:iam::123456789012:role/test")
    created = sm.describe_notebook_instance(NotebookInstanceName="nb-clock")
    answered = parsedate_to_datetime(created["ResponseMetadata"]["HTTPHeaders"]["date"])
    # Created on the stand-in's clock (five hours ahead of this machine's), as its Date says.
    assert abs(created["CreationTime"] - answered) < timedelta(seconds=5)
    assert created["LastModifiedTime"] - datetime.now(timezone.utc) > timedelta(hours=4)
    arn = created["NotebookInstanceArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": KEEP_UNTIL, "Value": "2030-01-01T00:00:00Z"}])
    tagged = sm.describe_notebook_instance(NotebookInstanceName="nb-clock")
    assert tagged["LastModifiedTime"] == created["LastModifiedTime"], "a tag is no state change"
    advance_standin(3600)
    sm.stop_notebook_instance(NotebookInstanceName="nb-clock")
    stopped = sm.describe_notebook_instance(NotebookInstanceName="nb-clock")
    assert stopped["NotebookInstanceStatus"] == "Stopped"
    changed = stopped["LastModifiedTime"] - created["LastModifiedTime"]
    assert timedelta(hours=1) <= changed < timedelta(hours=1, seconds=30)


def test_the_stand_in_lets_the_role_write_the_keep_tag_and_no_other(standin):
    """IAM sees AddTags' keys (aws:TagKeys) as SageMaker's authorization does: a role allowed only
    the keep tag's key, on tagged notebooks, can keep one and can do nothing else with AddTags."""
    moto, page = standin
    admin = client("sagemaker", moto)
    admin.create_notebook_instance(NotebookInstanceName="nb-owned", InstanceType="ml.t3.medium",
                                   RoleArn="arn:aws:iam::123456789012:role/test",
                                   Tags=[{"Key": "notebook-gate:owner", "Value": "sub-1"}])
    arn = admin.describe_notebook_instance(NotebookInstanceName="nb-owned")["NotebookInstanceArn"]
    only_the_keep = {"Effect": "Allow", "Action": "sagemaker:AddTags",
                     "Resource": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/*",
                     "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": [KEEP_UNTIL]},
                                   "Null": {"aws:TagKeys": "false", "aws:ResourceTag/notebook-gate:owner": "false"}}}
    body = {"accessKeyId": "ASIAKEEPTAGTEST", "roleArn": "arn:aws:iam::123456789012:role/gate-role",
            "source": {"ip": "10.1.1.1"},
            "policies": [{"name": "gate", "policy": {"Version": "2012-10-17", "Statement": [only_the_keep]}}]}
    urllib.request.urlopen(urllib.request.Request(page + "/_iam", data=json.dumps(body).encode(), method="POST"),
                           timeout=30).close()
    try:
        fn = boto3.client("sagemaker", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="ASIAKEEPTAGTEST",
                          aws_secret_access_key="x", aws_session_token="y")
        fn.add_tags(ResourceArn=arn, Tags=[{"Key": KEEP_UNTIL, "Value": "2030-01-01T00:00:00Z"}])
        for tags in ([{"Key": "notebook-gate:owner", "Value": "sub-2"}],
                     [{"Key": KEEP_UNTIL, "Value": "2030-01-02T00:00:00Z"}, {"Key": "other", "Value": "x"}]):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                fn.add_tags(ResourceArn=arn, Tags=tags)
            assert refused.value.response["Error"]["Code"] == "AccessDeniedException", tags
    finally:
        urllib.request.urlopen(urllib.request.Request(page + "/_iam", method="DELETE"), timeout=10).close()
    tags = {t["Key"]: t["Value"] for t in admin.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"notebook-gate:owner": "sub-1", KEEP_UNTIL: "2030-01-01T00:00:00Z"}
