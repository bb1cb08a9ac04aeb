"""The alarms and the dashboard in template.yaml read the metrics the gate writes: namespace, metric
and dimension names and outcome classes are taken from src/metrics.rs (the one place the code names
them), so a rename on either side fails here. Notifications go to AlarmTopicArn only when it is set.
cfn-lint and `sam validate --lint` run over the whole template in test_template.py."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from local.iam import render as iam_render  # noqa: E402
from local.iam.render import TemplateError, load_template  # noqa: E402

SOURCE = (ROOT / "src/metrics.rs").read_text().split("#[cfg(test)]")[0]
CONSTANTS = dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]+)";', SOURCE))
NAMESPACE = CONSTANTS["NAMESPACE"]
METRICS = {CONSTANTS[c] for c in ("REQUESTS", "LATENCY", "SAGEMAKER_TIME", "SAGEMAKER_CALLS")}
OUTCOMES = set(re.findall(r'Self::[A-Za-z]+ => "([a-z_]+)"', SOURCE))
# The dimension sets each line declares, as written in `to_emf`.
DIMENSION_SETS = [
    {CONSTANTS[name.strip()] for name in group.split(",")}
    for group in re.findall(r"\[([A-Z_, ]+)\]", re.search(r'"Dimensions": \[(.*)\],', SOURCE).group(1))
]
FUNCTION = "GateFunction-LOCAL"  # what Ref GateFunction renders to offline
TOPIC = "arn:aws:sns:us-east-1:123456789012:notebook-gate-oncall"
ALARMS = ["UpstreamErrorsAlarm", "ThrottledAlarm", "FunctionErrorsAlarm"]
# News rather than a fault: the running-time policy stopped something (src/metrics.rs POLICY_STOPS).
POLICY_ALARM = "PolicyStoppedSomething"
POLICY_STOPS, POLICY_STOP_FAILURES = CONSTANTS["POLICY_STOPS"], CONSTANTS["POLICY_STOP_FAILURES"]


def test_the_names_were_read_from_the_code():
    assert NAMESPACE == "NotebookGate"
    assert METRICS == {"Requests", "Latency", "SageMakerTime", "SageMakerCalls"}
    assert {"opened", "starting", "not_found", "client_error", "throttled", "upstream_error", "timeout"} <= OUTCOMES
    assert DIMENSION_SETS == [{"FunctionName", "Route", "Outcome"}, {"FunctionName", "Outcome"}]


def gate_metric(metric: dict) -> str | None:
    """A metric the gate emits, checked: its outcome, or None for one of AWS's own."""
    dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    if metric["Namespace"] == "AWS/Lambda":
        assert dimensions == {"FunctionName": FUNCTION}
        return None
    assert metric["Namespace"] == NAMESPACE
    assert metric["MetricName"] in METRICS
    assert set(dimensions) in DIMENSION_SETS, dimensions
    assert dimensions["FunctionName"] == FUNCTION
    assert dimensions["Outcome"] in OUTCOMES
    return dimensions["Outcome"]


def alarm_metrics(properties: dict) -> list[tuple[dict, str]]:
    """(metric, statistic) pairs an alarm reads, single-metric or metric math."""
    if "MetricName" in properties:
        metric = {k: properties[k] for k in ("Namespace", "MetricName", "Dimensions")}
        return [(metric, properties["Statistic"])]
    return [(q["MetricStat"]["Metric"], q["MetricStat"]["Stat"]) for q in properties["Metrics"] if "MetricStat" in q]


def test_each_alarm_reads_the_outcomes_it_is_about():
    rendered = iam_render.render({})
    watched = {}
    for alarm in ALARMS:
        properties = rendered.properties(alarm)
        outcomes = set()
        for metric, stat in alarm_metrics(properties):
            outcome = gate_metric(metric)
            assert stat == "Sum", alarm
            if outcome:
                assert metric["MetricName"] == CONSTANTS["REQUESTS"]
                outcomes.add(outcome)
            else:
                outcomes.add(f"lambda:{metric['MetricName']}")
        watched[alarm] = outcomes
        assert properties["TreatMissingData"] == "notBreaching", "no line of an outcome is the quiet case"
        assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert watched == {
        "UpstreamErrorsAlarm": {"upstream_error", "timeout"},
        "ThrottledAlarm": {"throttled"},
        "FunctionErrorsAlarm": {"lambda:Errors"},
    }
    math = rendered.properties("UpstreamErrorsAlarm")["Metrics"]
    returned = [q for q in math if q.get("ReturnData", True)]
    assert len(returned) == 1 and returned[0]["Expression"] == "FILL(upstream, 0) + FILL(timeouts, 0)"


def test_alarms_notify_the_topic_only_when_one_is_given():
    quiet = iam_render.render({})
    paged = iam_render.render({"AlarmTopicArn": TOPIC})
    for alarm in ALARMS:
        assert "AlarmActions" not in quiet.properties(alarm) and "OKActions" not in quiet.properties(alarm)
        assert paged.properties(alarm)["AlarmActions"] == [TOPIC]
        assert paged.properties(alarm)["OKActions"] == [TOPIC]


def test_an_alarm_says_when_the_running_time_policy_stopped_something():
    """Sum of PolicyStops by FunctionName (one of the dimension sets each stop's line declares),
    1 or more in 5 minutes; quiet when no line came. It notifies the topic when it goes into alarm
    only: its return to OK tells nobody anything."""
    quiet, paged = iam_render.render({}), iam_render.render({"AlarmTopicArn": TOPIC})
    alarm = quiet.properties(POLICY_ALARM)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (NAMESPACE, POLICY_STOPS, "Sum")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": FUNCTION}]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (300, 1, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "AlarmActions" not in alarm and "OKActions" not in alarm
    assert paged.properties(POLICY_ALARM)["AlarmActions"] == [TOPIC]
    assert "OKActions" not in paged.properties(POLICY_ALARM)
    # The alarm's dimensions are one of the sets each stop's line declares.
    line = SOURCE[SOURCE.index("fn policy_stop_emf"):]
    declared = [{CONSTANTS[name.strip()] for name in group.split(",")}
                for group in re.findall(r"\[([A-Z_, ]+)\]", re.search(r'"Dimensions": \[(.*)\],', line).group(1))]
    assert {d["Name"] for d in alarm["Dimensions"]} in declared, declared
    assert f"### `{POLICY_ALARM}`" in (ROOT / "docs/operating.md").read_text()


@pytest.mark.parametrize("value", ["arn:aws:sns:us-east-1:123456789012", "https://sns.example.com/topic",
                                   "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:us-east-1:123456789012:a b"])
def test_the_topic_parameter_takes_only_an_sns_topic_arn(value):
    with pytest.raises(TemplateError):
        iam_render.render({"AlarmTopicArn": value})


def dashboard() -> dict:
    body = iam_render.render({}).properties("GateDashboard")["DashboardBody"]
    return json.loads(body)


def widget(title: str) -> dict:
    found = [w["properties"] for w in dashboard()["widgets"] if w["properties"].get("title") == title]
    assert len(found) == 1, title
    return found[0]


def rows(properties: dict) -> list[tuple[dict, dict]]:
    """Each metric row of a widget as (metric, options)."""
    result = []
    for row in properties["metrics"]:
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = [v for v in row if not isinstance(v, dict)]
        namespace, metric_name, *pairs = names
        dimensions = [{"Name": pairs[i], "Value": pairs[i + 1]} for i in range(0, len(pairs), 2)]
        result.append(({"Namespace": namespace, "MetricName": metric_name, "Dimensions": dimensions}, options))
    return result


def test_the_dashboard_shows_opens_per_minute_p99_latency_and_errors_by_class():
    opens = widget("Opens per minute")
    assert (opens["stat"], opens["period"]) == ("Sum", 60)
    assert {gate_metric(m) for m, _ in rows(opens)} == {"opened", "starting"}
    assert {m["MetricName"] for m, _ in rows(opens)} == {"Requests"}

    latency = widget("Latency p99 (ms)")
    assert (latency["stat"], latency["period"]) == ("p99", 60)
    assert {(m["MetricName"], gate_metric(m)) for m, _ in rows(latency)} == {
        ("Latency", "opened"), ("SageMakerTime", "opened"), ("Latency", "listed")}

    errors = widget("Errors by class per minute")
    assert (errors["stat"], errors["period"]) == ("Sum", 60)
    classes = {gate_metric(m) for m, _ in rows(errors)}
    assert classes == {"upstream_error", "timeout", "throttled", "client_error", "not_found", None}

    alarms = widget("Alarms")["alarms"]
    assert alarms == [f"<{a}.Arn>" for a in [*ALARMS, POLICY_ALARM]]

    stops = widget("Running-time policy: stops per hour")
    assert (stops["stat"], stops["period"]) == ("Sum", 3600)
    assert [(m["Namespace"], m["MetricName"], m["Dimensions"]) for m, _ in rows(stops)] == [
        (NAMESPACE, metric, [{"Name": "FunctionName", "Value": FUNCTION}]) for metric in (POLICY_STOPS, POLICY_STOP_FAILURES)]
    for w in dashboard()["widgets"]:
        if "region" in w["properties"]:
            assert w["properties"]["region"] == iam_render.PSEUDO["AWS::Region"]


def test_operating_docs_explain_every_alarm_and_the_readme_links_them():
    operating = (ROOT / "docs/operating.md").read_text()
    for alarm in ALARMS:
        assert f"`{alarm}`" in operating, alarm
    for outcome in OUTCOMES:
        assert f"`{outcome}`" in operating, outcome
    for name in (*METRICS, NAMESPACE, "`AlarmTopicArn`"):
        assert name in operating, name
    assert "docs/operating.md" in (ROOT / "README.md").read_text()


def test_with_company_sign_in_an_alarm_watches_the_trigger_and_the_docs_say_what_to_do():
    """The trigger stands between Cognito and every token: its errors are failed sign-ins."""
    assert not iam_render.render({}).exists("SignInTriggerErrorsAlarm")
    federated = {"IdentityProviderType": "SAML", "SamlMetadataUrl": "https://idp.example/metadata"}
    for params, actions in (({**federated}, False), ({**federated, "AlarmTopicArn": TOPIC}, True)):
        rendered = iam_render.render(params)
        alarm = rendered.properties("SignInTriggerErrorsAlarm")
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": rendered.evaluate({"Ref": "SignInTriggerFunction"})}]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert ("AlarmActions" in alarm) == actions
    assert "### `SignInTriggerErrorsAlarm`" in (ROOT / "docs/operating.md").read_text()


def test_the_parameter_is_in_the_console_groups():
    groups = load_template()["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert any("AlarmTopicArn" in g["Parameters"] for g in groups)
