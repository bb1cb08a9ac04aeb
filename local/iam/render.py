"""template.yaml as CloudFormation would deploy it for one parameter set, and the IAM policies of
the gate function's role in that deployment.

    from local.iam.render import render, role_policies
    role_policies({"StudioDomainId": "d-abc123", "AutoStart": "true"})   # [policy document, ...]
    render({...}).function_role().managed_policy_arns                      # a finding if not empty

The SAM transform is AWS's own (`aws-sam-translator`, what `sam build`/`sam deploy` run), so what
SAM adds (the role, its managed policies) is what a deployment gets. The intrinsic functions left in
the CloudFormation output are then evaluated here for the parameters: samtranslator's resolver only
handles Ref/Sub/GetAtt of parameters, and cfn-lint's enumerates every possible value rather than
the one a parameter set gives. CloudFormation's rules for them:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html

    python -m local.iam.render [Key=Value ...]     prints the role's policies as JSON
"""

from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# The account the local stack pretends to be (moto's default) and where it pretends to run.
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "notebook-gate",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/notebook-gate/00000000-0000-0000-0000-000000000000",
    "AWS::NotificationARNs": [],
}
# What `sam package` puts in place of a local CodeUri; the translator accepts only S3 locations.
PACKAGED_CODE = "s3://notebook-gate-local/notebook-gate.zip"
NO_VALUE = object()  # Ref AWS::NoValue: the property or list item is dropped


class TemplateError(ValueError):
    """The parameters or the template are not something CloudFormation would deploy."""


@dataclass
class Policy:
    name: str  # the inline policy's name, or a managed policy's logical id
    source: str  # "role" (inline in the role), or the resource type that attaches it
    document: dict


@dataclass
class FunctionRole:
    logical_id: str
    name: str
    arn: str
    policies: list[Policy] = field(default_factory=list)
    # Managed policies attached by ARN (SAM adds AWSLambdaBasicExecutionRole, and the VPC one when
    # VpcConfig is set). Their documents live in AWS, not in the template: callers report them.
    managed_policy_arns: list[str] = field(default_factory=list)


def load_template(path: Path = TEMPLATE) -> dict:
    """The SAM template, with the YAML short forms (!Ref, !Sub, ...) in their long form."""
    text = Path(path).read_text()
    if text not in _PARSED:  # parsing is most of a render's time, and the text rarely changes
        _PARSED.clear()
        _PARSED[text] = yaml_parse(text)
    return copy.deepcopy(_PARSED[text])


_PARSED: dict[str, dict] = {}


def sam_translate(sam_template: dict, parameters: dict) -> dict:
    """The CloudFormation template SAM's transform makes of `sam_template`."""
    template = copy.deepcopy(sam_template)
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str) \
                and not properties["CodeUri"].startswith("s3://"):
            properties["CodeUri"] = PACKAGED_CODE
    values = {**copy.deepcopy(parameters), **{k: v for k, v in PSEUDO.items() if k != "AWS::NotificationARNs"}}
    to_py27_compatible_template(template, values)
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=PSEUDO["AWS::Region"]),
                            metrics=metrics)
    # No managed policy is looked up by name: the template names none, and this never calls AWS.
    translated = translator.translate(template, parameter_values=values, get_managed_policy_map=lambda: {})
    metrics.publish()  # to nowhere; unpublished metrics make the translator warn on exit
    return undo_mark_unicode_str_in_template(translated)


class Rendered:
    """One deployment: the CloudFormation template and the values its intrinsics take."""

    def __init__(self, template: dict, parameters: dict):
        self.template = template
        self.parameters = parameters
        self.resources: dict = template.get("Resources", {})
        self._conditions: dict[str, bool] = {}

    # --- conditions and resources ---------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions", {})
            if name not in definitions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = self._truth(definitions[name])
        return self._conditions[name]

    def _truth(self, node) -> bool:
        (function, args), = node.items()
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::Equals":
            left, right = (self.evaluate(a) for a in args)
            return _scalar(left) == _scalar(right)
        if function == "Fn::Not":
            return not self._truth(args[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in args)
        if function == "Fn::Or":
            return any(self._truth(a) for a in args)
        # Rule functions: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html
        if function == "Fn::Contains":
            members, value = (self.evaluate(a) for a in args)
            return _scalar(value) in [_scalar(m) for m in members]
        if function == "Fn::EachMemberEquals":
            members, value = (self.evaluate(a) for a in args)
            return all(_scalar(m) == _scalar(value) for m in members)
        if function == "Fn::EachMemberIn":
            members, allowed = (self.evaluate(a) for a in args)
            return all(_scalar(m) in [_scalar(v) for v in allowed] for m in members)
        raise TemplateError(f"unsupported condition function {function}")

    def broken_rules(self) -> list[str]:
        """The AssertDescription of each Rules assertion these parameters fail: CloudFormation
        refuses to create or update the stack with any of them."""
        failures = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not self._truth(assertion["Assert"]):
                    failures.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
        return failures

    def exists(self, logical_id: str) -> bool:
        resource = self.resources.get(logical_id)
        return resource is not None and ("Condition" not in resource or self.condition(resource["Condition"]))

    def properties(self, logical_id: str) -> dict:
        """A resource's properties with every intrinsic evaluated."""
        if not self.exists(logical_id):
            raise TemplateError(f"{logical_id} is not deployed with these parameters")
        return self.evaluate(self.resources[logical_id].get("Properties") or {})

    # --- intrinsic functions ------------------------------------------------------------------

    def evaluate(self, node):
        if isinstance(node, list):
            return [v for v in (self.evaluate(i) for i in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._function(key, args)
        evaluated = {k: self.evaluate(v) for k, v in node.items()}
        return {k: v for k, v in evaluated.items() if v is not NO_VALUE}

    def _function(self, key: str, args):
        if key == "Ref":
            return self._ref(args)
        if key == "Fn::If":
            name, when_true, when_false = args
            return self.evaluate(when_true if self.condition(name) else when_false)
        if key == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else args
            local = {k: self.evaluate(v) for k, v in variables.items()}
            return _SUB_VARIABLE.sub(lambda m: self._sub_variable(m.group(1), local), text)
        if key == "Fn::Join":
            separator, items = args
            values = self.evaluate(items)
            if not isinstance(values, list):
                raise TemplateError(f"Fn::Join needs a list, got {values!r}")
            return separator.join(_scalar(v) for v in values)
        if key == "Fn::Split":
            separator, text = args
            return self.evaluate(text).split(separator)
        if key == "Fn::Select":
            index, items = args
            values = self.evaluate(items)
            return values[int(self.evaluate(index))]
        if key == "Fn::GetAtt":
            logical_id, attribute = args.split(".", 1) if isinstance(args, str) else args
            return self._get_att(logical_id, self.evaluate(attribute))
        if key == "Fn::FindInMap":
            mapping, top, second = (self.evaluate(a) for a in args)
            return self.template["Mappings"][mapping][top][second]
        raise TemplateError(f"unsupported intrinsic function {key}")

    def _sub_variable(self, name: str, local: dict) -> str:
        if name.startswith("!"):
            return "${" + name[1:] + "}"  # ${!Literal} stays literal
        if name in local:
            return _scalar(local[name])
        if "." in name and name.split(".", 1)[0] in self.resources:
            return _scalar(self._get_att(*name.split(".", 1)))
        return _scalar(self._ref(name))

    def _ref(self, name: str):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self._physical_id(name)
        raise TemplateError(f"Ref to unknown name {name}")

    def _physical_id(self, logical_id: str) -> str:
        """What Ref gives for a resource: its name if the template names it, else a generated one
        shaped as CloudFormation's (<stack>-<logical id>-<suffix>)."""
        resource = self.resources[logical_id]
        if resource.get("Type") == "AWS::IAM::Role":
            name = (resource.get("Properties") or {}).get("RoleName")
            return self.evaluate(name) if name is not None else f"{PSEUDO['AWS::StackName']}-{logical_id}-LOCAL"
        if resource.get("Type") == "AWS::Cognito::UserPoolDomain":
            return self.properties(logical_id)["Domain"]  # Ref gives the domain prefix
        if resource.get("Type") == "AWS::Cognito::UserPoolIdentityProvider":
            return self.properties(logical_id)["ProviderName"]  # Ref gives the provider's name
        return f"{logical_id}-LOCAL"

    def _get_att(self, logical_id: str, attribute: str):
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"Fn::GetAtt of unknown resource {logical_id}")
        if resource.get("Type") == "AWS::IAM::Role" and attribute == "Arn":
            properties = resource.get("Properties") or {}
            path = self.evaluate(properties.get("Path", "/"))
            return f"arn:{PSEUDO['AWS::Partition']}:iam::{PSEUDO['AWS::AccountId']}:role{path}{self._physical_id(logical_id)}"
        # Attributes of other resources (a distribution's domain name, say) never reach an IAM
        # policy here; a recognisable placeholder keeps them visible if one ever does.
        return f"<{logical_id}.{attribute}>"

    # --- the function's role ------------------------------------------------------------------

    def function(self) -> str:
        """The logical id of the gate's Lambda function (SAM keeps the SAM resource's id): the one
        function deployed that is not a Cognito trigger."""
        triggers = set(self.cognito_triggers())
        functions = [k for k, r in self.resources.items()
                     if r.get("Type") == "AWS::Lambda::Function" and self.exists(k) and k not in triggers]
        if len(functions) != 1:
            raise TemplateError(f"expected one Lambda function besides Cognito triggers, found {functions}")
        return functions[0]

    def function_schedules(self) -> dict[str, dict]:
        """The deployed EventBridge Scheduler schedules that invoke the gate function (SAM makes
        one of each ScheduleV2 event, with a role of its own), by logical id: their properties,
        intrinsics evaluated."""
        function = self.function()
        found = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Scheduler::Schedule" or not self.exists(logical_id):
                continue
            target = (resource.get("Properties") or {}).get("Target", {})
            if _logical_id(target.get("Arn")) == function:
                found[logical_id] = self.properties(logical_id)
        return found

    def cognito_triggers(self) -> list[str]:
        """The logical ids of the deployed functions Cognito may invoke (a Lambda permission for
        cognito-idp.amazonaws.com names them): user pool triggers, never the gate."""
        found = []
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Lambda::Permission" or not self.exists(logical_id):
                continue
            properties = resource.get("Properties") or {}
            if self.evaluate(properties.get("Principal")) == "cognito-idp.amazonaws.com":
                found.append(_logical_id(properties["FunctionName"]))
        return found

    def function_role(self) -> FunctionRole:
        """The role the function runs as, whatever the template calls it, with every policy that
        reaches it for these parameters."""
        role_ref = self.resources[self.function()]["Properties"]["Role"]
        if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
            raise TemplateError(f"the function's Role is not a role of this template: {role_ref!r}")
        args = role_ref["Fn::GetAtt"]
        logical_id = args.split(".", 1)[0] if isinstance(args, str) else args[0]
        if self.resources.get(logical_id, {}).get("Type") != "AWS::IAM::Role":
            raise TemplateError(f"the function's Role points at {logical_id}, not an AWS::IAM::Role")
        properties = self.properties(logical_id)
        role = FunctionRole(logical_id, self._physical_id(logical_id), self._get_att(logical_id, "Arn"))
        for policy in properties.get("Policies", []):
            role.policies.append(Policy(policy["PolicyName"], "role", _document(policy["PolicyDocument"])))
        role.managed_policy_arns.extend(properties.get("ManagedPolicyArns", []))
        for other_id, resource in self.resources.items():
            kind = resource.get("Type")
            if kind not in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") \
                    or not self.exists(other_id):
                continue
            attached = self.properties(other_id)
            roles = [attached.get("RoleName")] if kind == "AWS::IAM::RolePolicy" else attached.get("Roles", [])
            if role.name in roles:
                name = attached.get("PolicyName") or attached.get("ManagedPolicyName") or other_id
                role.policies.append(Policy(name, kind, _document(attached["PolicyDocument"])))
        return role


    # --- the private REST API (ApiVisibility=Private) ----------------------------------------

    def private_api(self, api_id: str = "local") -> "PrivateApi":
        """The private REST API as API Gateway would hold it: its routes and its resource policy,
        with the policy's `execute-api:/...` shorthand expanded to the API's ARN (API Gateway does
        that when it stores the policy). `api_id` stands for the id API Gateway would give it."""
        logical_id = next((k for k, r in self.resources.items()
                           if r.get("Type") == "AWS::ApiGateway::RestApi" and self.exists(k)), None)
        if logical_id is None:
            raise TemplateError("no REST API is deployed with these parameters")
        properties = self.properties(logical_id)
        body = properties["Body"]
        arn = f"arn:{PSEUDO['AWS::Partition']}:execute-api:{PSEUDO['AWS::Region']}:{PSEUDO['AWS::AccountId']}:{api_id}"
        policy = copy.deepcopy(body.get("x-amazon-apigateway-policy") or properties.get("Policy"))
        for statement in (policy or {}).get("Statement", []):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            statement["Resource"] = [arn + r[len("execute-api:"):] if r.startswith("execute-api:/") else r
                                     for r in resources]
        stage = next(self.properties(k) for k, r in self.resources.items()
                     if r.get("Type") == "AWS::ApiGateway::Stage" and self.exists(k))
        return PrivateApi(logical_id, arn, stage["StageName"], properties.get("EndpointConfiguration", {}),
                          body, policy)


@dataclass
class PrivateApi:
    logical_id: str
    arn: str  # arn:aws:execute-api:<region>:<account>:<api id>
    stage: str
    endpoint_configuration: dict
    body: dict  # the OpenAPI (swagger 2.0) definition, intrinsics evaluated
    policy: dict | None  # the resource policy, `execute-api:/` expanded

    def routes(self) -> dict[tuple[str, str], dict]:
        """(METHOD, path) -> the method's definition; `ANY` for x-amazon-apigateway-any-method."""
        return {("ANY" if method == "x-amazon-apigateway-any-method" else method.upper(), path): operation
                for path, methods in self.body.get("paths", {}).items() for method, operation in methods.items()}

    def method_arn(self, method: str, path: str) -> str:
        """The ARN execute-api:Invoke is checked on for a request (`path` as requested)."""
        return f"{self.arn}/{self.stage}/{method}{path}"


_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _logical_id(node) -> str:
    """The logical id a Ref or Fn::GetAtt names."""
    if isinstance(node, dict) and "Ref" in node:
        return node["Ref"]
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        args = node["Fn::GetAtt"]
        return args.split(".", 1)[0] if isinstance(args, str) else args[0]
    raise TemplateError(f"not a reference to a resource: {node!r}")


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):  # Fn::Equals against a CommaDelimitedList compares its joined text
        return ",".join(_scalar(v) for v in value)
    if not isinstance(value, str):
        raise TemplateError(f"expected a string, got {value!r}")
    return value


def _document(document) -> dict:
    """A policy document; the template writes some as JSON text (tag keys are parameters)."""
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError as error:
            raise TemplateError(f"a policy document is not valid JSON: {error}") from error
    return document


def parameter_values(sam_template: dict, overrides: dict) -> dict:
    """Every parameter's value as CloudFormation would see it: the defaults, then `overrides`
    (checked against AllowedValues / AllowedPattern / MinValue / MaxValue, as CloudFormation
    refuses a stack otherwise). A CommaDelimitedList becomes a list."""
    declared = sam_template.get("Parameters", {})
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"template.yaml has no parameters {sorted(unknown)}")
    values = {}
    for name, spec in declared.items():
        if name not in overrides and "Default" not in spec:
            raise TemplateError(f"parameter {name} has no default and no value")
        raw = overrides.get(name, spec.get("Default"))
        text = ",".join(raw) if isinstance(raw, list) else str(raw)
        if "AllowedValues" in spec and text not in [str(v) for v in spec["AllowedValues"]]:
            raise TemplateError(f"{name}={text!r} is not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], text):
            raise TemplateError(f"{name}={text!r} does not match {spec['AllowedPattern']}")
        if spec.get("Type") == "Number":
            number = float(text)
            if ("MinValue" in spec and number < spec["MinValue"]) or ("MaxValue" in spec and number > spec["MaxValue"]):
                raise TemplateError(f"{name}={text} is out of range")
        values[name] = text.split(",") if spec.get("Type", "").startswith("CommaDelimitedList") \
            or spec.get("Type", "").startswith("List<") else text
    return values


def render(parameters: dict | None = None, template_path: Path = TEMPLATE, check_rules: bool = True) -> Rendered:
    """template.yaml deployed with `parameters` (name -> value; the rest keep their defaults).
    Parameters that break the template's Rules raise TemplateError, as CloudFormation refuses them."""
    sam_template = load_template(template_path)
    values = parameter_values(sam_template, parameters or {})
    rendered = Rendered(sam_translate(sam_template, values), values)
    if check_rules:
        broken = rendered.broken_rules()
        if broken:
            raise TemplateError("CloudFormation would refuse these parameters: " + "; ".join(broken))
    return rendered


def role_policies(parameters: dict | None = None, template_path: Path = TEMPLATE) -> list[dict]:
    """The identity-based policy documents of the function's role for `parameters`."""
    return [p.document for p in render(parameters, template_path).function_role().policies]


def main(argv=None) -> int:
    pairs = argv if argv is not None else sys.argv[1:]
    parameters = dict(pair.split("=", 1) for pair in pairs)
    role = render(parameters).function_role()
    print(json.dumps({"role": role.arn, "policies": [p.__dict__ for p in role.policies],
                      "managedPolicyArns": role.managed_policy_arns}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
