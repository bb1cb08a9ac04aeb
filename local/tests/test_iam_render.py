"""local/iam/render.py: the function role's policies as a deployment of template.yaml gets them,
through AWS's SAM translator, for one parameter set."""

from __future__ import annotations

import textwrap

import pytest

from local.iam.render import TemplateError, render, role_policies


def actions(statement) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_the_project_template_gives_the_function_a_role_with_sagemaker_grants():
    role = render({"StudioDomainId": "d-abc123"}).function_role()
    granted = {a for p in role.policies for s in p.document["Statement"] for a in actions(s)}
    assert "sagemaker:CreatePresignedNotebookInstanceUrl" in granted
    assert "sagemaker:CreatePresignedDomainUrl" in granted
    assert role.arn.startswith("arn:aws:iam::123456789012:role/")
    # Every resource ARN is fully evaluated: no intrinsic or ${...} is left in a policy.
    text = repr([p.document for p in role.policies])
    assert "Fn::" not in text and "${" not in text and "'Ref'" not in text


def test_parameters_the_template_does_not_declare_or_allow_are_refused():
    with pytest.raises(TemplateError, match="no parameters"):
        render({"NoSuchParameter": "x"})
    with pytest.raises(TemplateError, match="not one of"):
        render({"AutoStart": "yes"})


EXPLICIT_ROLE = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      Domain: { Type: String, Default: "" }
      Cidrs: { Type: CommaDelimitedList, Default: "" }
      TagKey: { Type: String, Default: "owner" }
    Rules:
      CidrsNeedDomain:
        RuleCondition: !Not [!EachMemberEquals [!Ref Cidrs, ""]]
        Assertions:
          - Assert: !Not [!Equals [!Ref Domain, ""]]
            AssertDescription: Cidrs needs Domain.
    Conditions:
      HasDomain: !Not [!Equals [!Ref Domain, ""]]
      HasCidrs: !Not [!Equals [!Join ["", !Ref Cidrs], ""]]
      Both: !And [!Condition HasDomain, !Condition HasCidrs]
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: ./
          Runtime: provided.al2023
          Handler: bootstrap
          Role: !GetAtt Explicit.Arn
      Explicit:
        Type: AWS::IAM::Role
        Properties:
          RoleName: !Sub "${AWS::StackName}-gate"
          AssumeRolePolicyDocument: {}
          ManagedPolicyArns: !If [HasCidrs, ["arn:aws:iam::aws:policy/Example"], !Ref AWS::NoValue]
          Policies:
            - PolicyName: inline
              PolicyDocument:
                Statement:
                  - Effect: Allow
                    Action: sagemaker:ListSpaces
                    Resource: !If [HasDomain, !Sub "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:domain/${Domain}", "*"]
                  - !If [HasCidrs, {Effect: Allow, Action: "x:First", Resource: !Select [0, !Ref Cidrs]}, !Ref AWS::NoValue]
      AsJson:
        Type: AWS::IAM::RolePolicy
        Properties:
          RoleName: !Ref Explicit
          PolicyName: as-json
          PolicyDocument: !Sub '{"Statement": [{"Effect": "Allow", "Action": "x:Tagged", "Resource": "*", "Condition": {"Null": {"aws:ResourceTag/${TagKey}": "false"}}}]}'
      OnlyWithBoth:
        Type: AWS::IAM::Policy
        Condition: Both
        Properties:
          PolicyName: both
          Roles: [!Ref Explicit]
          PolicyDocument: { Statement: [{ Effect: Allow, Action: "x:Both", Resource: !Join [",", !Split [";", "a;b"]] }] }
      SomeoneElses:
        Type: AWS::IAM::RolePolicy
        Properties:
          RoleName: other-role
          PolicyName: not-ours
          PolicyDocument: { Statement: [{ Effect: Allow, Action: "x:NotOurs", Resource: "*" }] }
    """)


@pytest.fixture
def explicit_template(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(EXPLICIT_ROLE)
    return path


def test_an_explicit_role_is_followed_with_every_policy_attached_to_it(explicit_template):
    role = render({"Domain": "d-1", "Cidrs": "10.0.0.0/8,10.1.0.0/16", "TagKey": "team"}, explicit_template) \
        .function_role()
    assert role.logical_id == "Explicit"
    assert role.arn == "arn:aws:iam::123456789012:role/notebook-gate-gate"
    assert [(p.name, p.source) for p in role.policies] == [
        ("inline", "role"), ("as-json", "AWS::IAM::RolePolicy"), ("both", "AWS::IAM::Policy")]
    inline, as_json, both = (p.document["Statement"] for p in role.policies)
    assert inline == [
        {"Effect": "Allow", "Action": "sagemaker:ListSpaces", "Resource": "arn:aws:sagemaker:us-east-1:123456789012:domain/d-1"},
        {"Effect": "Allow", "Action": "x:First", "Resource": "10.0.0.0/8"},
    ]
    assert as_json[0]["Condition"] == {"Null": {"aws:ResourceTag/team": "false"}}
    assert both[0]["Resource"] == "a,b"
    assert role.managed_policy_arns == ["arn:aws:iam::aws:policy/Example"]


def test_conditions_drop_statements_and_policies_for_other_parameters(explicit_template):
    role = render({}, explicit_template).function_role()
    assert [p.name for p in role.policies] == ["inline", "as-json"]
    assert role.policies[0].document["Statement"] == [{"Effect": "Allow", "Action": "sagemaker:ListSpaces", "Resource": "*"}]
    assert role.managed_policy_arns == []
    assert role_policies({}, explicit_template)[1]["Statement"][0]["Condition"] == {"Null": {"aws:ResourceTag/owner": "false"}}


def test_parameters_that_break_the_templates_rules_are_refused_as_cloudformation_would(explicit_template):
    with pytest.raises(TemplateError, match="CidrsNeedDomain: Cidrs needs Domain."):
        render({"Cidrs": "10.0.0.0/8"}, explicit_template)
    assert render({"Cidrs": "10.0.0.0/8"}, explicit_template, check_rules=False).broken_rules() == [
        "CidrsNeedDomain: Cidrs needs Domain."]


SCHEDULED = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      Minutes: { Type: Number, Default: 5 }
      Paused: { Type: String, Default: "false" }
    Conditions:
      IsPaused: !Equals [!Ref Paused, "true"]
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: ./
          Runtime: provided.al2023
          Handler: bootstrap
          Role: !GetAtt Explicit.Arn
          Environment:
            Variables:
              EVERY: !Ref Minutes
          Events:
            Tick:
              Type: ScheduleV2
              Properties:
                ScheduleExpression: !Sub "rate(${Minutes} minutes)"
                Input: '{"tick":true}'
                State: !If [IsPaused, DISABLED, ENABLED]
      Explicit:
        Type: AWS::IAM::Role
        Properties:
          AssumeRolePolicyDocument: {}
          Policies:
            - PolicyName: inline
              PolicyDocument: { Statement: [{ Effect: Allow, Action: "x:Mine", Resource: "*" }] }
    """)


def test_a_schedule_event_leaves_the_function_and_its_role_as_they_are_and_is_found(tmp_path):
    """SAM makes a ScheduleV2 event an AWS::Scheduler::Schedule with a role of its own: neither is
    taken for the function or the function's role."""
    path = tmp_path / "template.yaml"
    path.write_text(SCHEDULED)
    rendered = render({"Minutes": "7"}, path)
    assert rendered.function() == "Fn"
    role = rendered.function_role()
    assert role.logical_id == "Explicit"
    assert [s["Action"] for p in role.policies for s in p.document["Statement"]] == ["x:Mine"]
    assert rendered.properties("Fn")["Environment"]["Variables"] == {"EVERY": "7"}
    schedules = rendered.function_schedules()
    assert list(schedules) == ["FnTick"]
    assert schedules["FnTick"]["ScheduleExpression"] == "rate(7 minutes)"
    assert schedules["FnTick"]["Target"]["Input"] == '{"tick":true}'
    assert schedules["FnTick"]["State"] == "ENABLED"
    assert render({"Paused": "true"}, path).function_schedules()["FnTick"]["State"] == "DISABLED"


def test_the_project_templates_sweep_is_the_one_schedule_of_the_gate():
    rendered = render({})
    assert list(rendered.function_schedules()) == [f"{rendered.function()}Sweep"]
