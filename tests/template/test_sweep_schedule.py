"""The running-time policy in template.yaml: the schedule that invokes the sweep (its payload, its
rate, when it runs), the parameters' bounds, the function's environment, and the schedule's own
role. The role's rights for stopping and keeping are evaluated in local/tests/test_iam.py and
test_iam_operations.py; the alarm in test_monitoring.py."""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from local.iam import render as iam_render  # noqa: E402
from local.iam.render import Rendered, TemplateError, load_template  # noqa: E402

SAM_TEMPLATE = load_template()
PARAMETERS = SAM_TEMPLATE["Parameters"]
DOMAIN = "d-abc123"
LIMITS = ["NotebookMaxRunHours", "SpaceMaxRunHours", "TrackingServerMaxRunHours"]
NO_LIMITS = {name: "0" for name in LIMITS}
# The environment variable each running-time parameter sets (docs/configuration.md).
VARIABLES = {"NotebookMaxRunHours": "MAX_RUN_HOURS_NOTEBOOK", "SpaceMaxRunHours": "MAX_RUN_HOURS_SPACE",
             "TrackingServerMaxRunHours": "MAX_RUN_HOURS_MLFLOW", "MaxKeepHours": "MAX_KEEP_HOURS",
             "ShowPrices": "PRICES"}


@functools.lru_cache(maxsize=None)
def _render(frozen: tuple) -> Rendered:
    return iam_render.render(dict(frozen))


def render(params: dict) -> Rendered:
    return _render(tuple(sorted(params.items())))


def sweep(params: dict) -> dict:
    """The one schedule that invokes the gate, for `params`."""
    schedules = render(params).function_schedules()
    assert len(schedules) == 1, schedules
    return next(iter(schedules.values()))


def variables(params: dict) -> dict:
    return render(params).properties("GateFunction")["Environment"]["Variables"]


def test_the_sweep_invokes_the_gate_with_exactly_the_payload_it_tells_apart():
    """Top-level key `notebook-gate`, no `requestContext`: the function's test of a sweep."""
    schedule = sweep({})
    target = schedule["Target"]
    assert target["Input"] == '{"notebook-gate":"sweep"}'
    assert json.loads(target["Input"]) == {"notebook-gate": "sweep"}
    assert target["Arn"] == "<GateFunction.Arn>"
    # A failed sweep is repeated by the next one, minutes later; no retry piles onto it.
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    # No fixed name: schedule names are unique per account and region, and a second stack would clash.
    assert "Name" not in schedule


def test_the_schedules_role_may_only_invoke_the_gate():
    rendered = render({})
    role_arn = sweep({})["Target"]["RoleArn"]
    roles = [k for k, r in rendered.resources.items() if r["Type"] == "AWS::IAM::Role"
             and rendered.evaluate({"Fn::GetAtt": [k, "Arn"]}) == role_arn]
    assert len(roles) == 1 and roles[0] != rendered.function_role().logical_id
    role = rendered.properties(roles[0])
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": ["scheduler.amazonaws.com"]}]
    granted = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in granted] == \
        [("Allow", "lambda:InvokeFunction", "<GateFunction.Arn>")]
    assert "ManagedPolicyArns" not in role


@pytest.mark.parametrize("params, state", [
    ({}, "ENABLED"),  # the defaults: 12 hours for each kind
    (NO_LIMITS, "DISABLED"),
    ({**NO_LIMITS, "NotebookMaxRunHours": "4"}, "ENABLED"),
    # A space limit without a domain, a tracking server limit without MLflow: nothing to sweep.
    ({**NO_LIMITS, "SpaceMaxRunHours": "12"}, "DISABLED"),
    ({**NO_LIMITS, "SpaceMaxRunHours": "12", "StudioDomainId": DOMAIN}, "ENABLED"),
    ({**NO_LIMITS, "TrackingServerMaxRunHours": "24", "Mlflow": "false"}, "DISABLED"),
    ({**NO_LIMITS, "TrackingServerMaxRunHours": "24"}, "ENABLED"),
    ({"Mlflow": "false", "NotebookMaxRunHours": "0", "SpaceMaxRunHours": "8760"}, "DISABLED"),
], ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()) or "defaults")
def test_the_schedule_runs_only_while_a_limit_applies_to_something_deployed(params, state):
    assert sweep(params)["State"] == state


@pytest.mark.parametrize("minutes, expression", [("1", "rate(1 minute)"), ("2", "rate(2 minutes)"),
                                                 ("5", "rate(5 minutes)"), ("60", "rate(60 minutes)")])
def test_the_rate_is_spelled_as_scheduler_takes_it(minutes, expression):
    """Scheduler's rate expressions take the singular unit for 1 (rate(1 minute)), the plural else."""
    assert sweep({"SweepEveryMinutes": minutes})["ScheduleExpression"] == expression


def test_the_default_rate_is_the_parameters_default():
    default = PARAMETERS["SweepEveryMinutes"]["Default"]
    assert sweep({})["ScheduleExpression"] == f"rate({default} minutes)"


@pytest.mark.parametrize("name, low, high", [(name, "0", "8760") for name in LIMITS] +
                         [("MaxKeepHours", "0", "8760"), ("SweepEveryMinutes", "1", "60")])
def test_the_numbers_are_bounded_and_their_bounds_deploy(name, low, high):
    for value in (low, high):
        render({name: value})
    for value in (str(int(low) - 1), str(int(high) + 1)):
        with pytest.raises(TemplateError, match=name):
            iam_render.render({name: value})


def test_show_prices_takes_true_or_false_only():
    for value in ("yes", "1", ""):
        with pytest.raises(TemplateError, match="ShowPrices"):
            iam_render.render({"ShowPrices": value})


def test_the_defaults_are_the_documented_ones():
    """12 hours for each kind, 72 hours of keeping, a sweep every 5 minutes, prices on."""
    documented = {name: default.strip("` ") for name, default in
                  re.findall(r"^\| `(\w+)` \| ([^|]+) \|", (ROOT / "docs/configuration.md").read_text(), re.MULTILINE)}
    for name in [*LIMITS, "MaxKeepHours", "SweepEveryMinutes", "ShowPrices"]:
        assert documented[name] == str(PARAMETERS[name]["Default"]), name


@pytest.mark.parametrize("params", [
    {"NotebookMaxRunHours": "4", "SpaceMaxRunHours": "0", "TrackingServerMaxRunHours": "24", "MaxKeepHours": "0",
     "ShowPrices": "false"},
    {"NotebookMaxRunHours": "8760", "SpaceMaxRunHours": "7", "TrackingServerMaxRunHours": "0", "MaxKeepHours": "168",
     "ShowPrices": "true", "StudioDomainId": DOMAIN},
], ids=["teaching", "studio"])
def test_the_functions_environment_follows_the_parameters(params):
    environment = variables(params)
    for parameter, variable in VARIABLES.items():
        assert environment[variable] == params[parameter], variable


def test_the_function_asks_the_price_list_where_it_answers():
    assert variables({})["PRICING_REGION"] == "us-east-1"


def test_the_parameters_are_in_the_console_groups():
    groups = SAM_TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    for name in [*LIMITS, "MaxKeepHours", "SweepEveryMinutes", "ShowPrices"]:
        assert grouped.count(name) == 1, name
    assert sorted(grouped) == sorted(PARAMETERS)

