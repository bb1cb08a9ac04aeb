"""The private deployment, checked offline on template.yaml as AWS's SAM translator
turns it into CloudFormation: with ApiVisibility=Private the API is a REST API of the PRIVATE
endpoint type bound to the named execute-api endpoints, its resource policy lets requests in only
through them (evaluated with the same IAM evaluator as the function role), its Cognito user pool
authorizer takes access tokens only, it has every route of the public API but /launch/..., the
public HTTP API's endpoint is off, and the Rules refuse a private mode without its network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from local.iam import render as iam_render  # noqa: E402
from local.iam.evaluator import ANONYMOUS, Evaluator  # noqa: E402
from test_routes import gate_routes  # noqa: E402  (the route table in src/routes.rs)

DOMAIN = "d-abc123"
EXECUTE_API_VPCES = ["vpce-0e1e2e3e", "vpce-0f1f2f3f"]
NETWORK = {"SubnetIds": "subnet-0123abcd,subnet-0456ef01", "SecurityGroupIds": "sg-0123abcd",
           "SageMakerApiVpcEndpointId": "vpce-0a1b2c3d", "SageMakerUrlVpcEndpointIds": "vpce-0b2c3d4e,vpce-0c3d4e5f"}
PRIVATE = {"ApiVisibility": "Private", "ExecuteApiVpcEndpointIds": ",".join(EXECUTE_API_VPCES), **NETWORK,
           "StudioDomainId": DOMAIN}
SCOPES = ["openid", "aws.cognito.signin.user.admin"]


def render(params: dict):
    return iam_render.render(params)


def public_routes(params: dict) -> set[tuple[str, str]]:
    """(METHOD, path) of the public HTTP API's routes (SAM's OpenAPI body of GateApi)."""
    body = render(params).resources["GateApi"]["Properties"]["Body"]
    return {("ANY" if m == "x-amazon-apigateway-any-method" else m.upper(), path)
            for path, methods in body["paths"].items() for m in methods if m != "options"}


def execute_api_endpoint_disabled(rendered) -> bool:
    """The HTTP API's DisableExecuteApiEndpoint, which SAM writes into its OpenAPI `servers`."""
    servers = rendered.properties("GateApi")["Body"]["servers"]
    return servers[0]["x-amazon-apigateway-endpoint-configuration"]["disableExecuteApiEndpoint"]


def test_private_mode_is_a_rest_api_of_the_private_endpoint_type_bound_to_the_endpoints():
    api = render(PRIVATE).private_api()
    assert api.endpoint_configuration == {"Types": ["PRIVATE"], "VpcEndpointIds": EXECUTE_API_VPCES}
    assert api.stage == "api"


def test_exactly_one_api_answers_in_each_mode():
    """The HTTP API resource stays in private mode (SAM's event permissions need it), but its only
    endpoint is off; the REST API exists only in private mode."""
    public = render({"StudioDomainId": DOMAIN})
    assert execute_api_endpoint_disabled(public) is False
    assert not [k for k, r in public.resources.items() if r["Type"].startswith("AWS::ApiGateway::") and public.exists(k)]
    with pytest.raises(iam_render.TemplateError):
        public.private_api()
    private = render(PRIVATE)
    assert execute_api_endpoint_disabled(private) is True
    assert not [k for k, r in private.resources.items() if r["Type"] == "AWS::ApiGatewayV2::DomainName"]
    assert private.private_api().logical_id == "PrivateGateApi"


def test_the_function_neither_serves_nor_lists_launch_routes_in_private_mode():
    variables = lambda params: render(params).properties("GateFunction")["Environment"]["Variables"]
    assert variables(PRIVATE)["LAUNCH_ROUTES"] == "false"
    assert variables({"StudioDomainId": DOMAIN})["LAUNCH_ROUTES"] == "true"


def test_the_private_api_has_every_public_route_but_launch():
    """Compared with the HTTP API's own routes, so a route added there (MLflow, say) and not here fails."""
    api = render(PRIVATE).private_api()
    routes = api.routes()
    # A state change is POST on the HTTP API and ANY here (beside its `options`): the gate answers
    # another method with 405 where the HTTP API answers its own 404.
    wanted = {("ANY" if method == "POST" else method, path) for method, path in public_routes(PRIVATE)
              if not path.startswith("/launch/")}
    assert {route for route in routes if route[0] != "OPTIONS"} == wanted
    assert not [path for _, path in routes if path.startswith("/launch")]
    # Each path answers the preflight (the gate does, without the authorizer: it carries no token).
    assert {path for method, path in routes if method == "OPTIONS"} == {path for _, path in wanted}


# The private API's paths as SAM hands them to CloudFormation, written out in full. The template
# declares the integration and the security once (YAML anchors) and names them on each method;
# this is what that must still translate to, method for method.
GATE_INTEGRATION = {"type": "aws_proxy", "httpMethod": "POST", "uri": {"Fn::Sub": (
    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${GateFunction.Arn}/invocations")}}
WITH_ACCESS_TOKEN = {"security": [{"CognitoAccessToken": SCOPES}], "x-amazon-apigateway-integration": GATE_INTEGRATION}
PREFLIGHT = {"x-amazon-apigateway-integration": GATE_INTEGRATION}
TRANSLATED_PATHS = {
    path: {("get" if method == "GET" else "x-amazon-apigateway-any-method"): WITH_ACCESS_TOKEN, "options": PREFLIGHT}
    for method, path, token in gate_routes() if token == "Header"}


def test_the_private_apis_paths_translate_to_each_method_with_the_gate_integration_in_full():
    translated = render(PRIVATE).template["Resources"]["PrivateGateApi"]["Properties"]["Body"]["paths"]
    assert translated == TRANSLATED_PATHS


@pytest.mark.skipif(not (ROOT / ".venv-sam/bin/python").exists(),
                    reason="the SAM CLI is not installed: scripts/sam-env installs it into .venv-sam")
def test_the_sam_cli_writes_the_templates_yaml_aliases_out_in_full():
    """CloudFormation refuses a template holding YAML aliases; `sam build` (its built template) and
    `sam package` / `sam deploy` (the template they upload) write the template with the SAM CLI's
    own YAML parser and dumper, which expand them. The same is done here and compared."""
    script = ("import json, sys; from samcli.yamlhelper import yaml_dump, yaml_parse; "
              "dumped = yaml_dump(yaml_parse(open(sys.argv[1]).read())); "
              "print(json.dumps({'dumped': dumped, 'reparsed': yaml_parse(dumped)}))")
    result = subprocess.run([str(ROOT / ".venv-sam/bin/python"), "-c", script, str(ROOT / "template.yaml")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    source = (ROOT / "template.yaml").read_text()
    assert yaml_anchors(source), "the template uses no YAML anchor: this checks nothing"
    assert yaml_anchors(out["dumped"]) == []
    assert out["reparsed"] == iam_render.load_template()


def yaml_anchors(text: str) -> list[str]:
    """The anchors (&name) and aliases (*name) in a YAML text, read from its parse events."""
    return [f"*{event.anchor}" if isinstance(event, yaml.AliasEvent) else f"&{event.anchor}"
            for event in yaml.parse(text, Loader=yaml.SafeLoader)
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None)]


def test_every_private_route_takes_the_header_token_through_the_cognito_authorizer_with_scopes():
    """Scopes on a method make a REST API's Cognito authorizer take an access token (and refuse an
    ID token); without them it would take ID tokens."""
    rendered = render(PRIVATE)
    api = rendered.private_api()
    scheme = api.body["securityDefinitions"]["CognitoAccessToken"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header" and scheme["name"] == "Authorization"
    assert scheme["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    assert scheme["x-amazon-apigateway-authorizer"] == {"type": "cognito_user_pools", "providerARNs": ["<UserPool.Arn>"]}
    function = rendered.function()
    for (method, path), operation in api.routes().items():
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy" and integration["httpMethod"] == "POST"
        assert f"<{function}.Arn>" in integration["uri"]
        if method == "OPTIONS":
            assert "security" not in operation, path
        else:
            assert operation["security"] == [{"CognitoAccessToken": SCOPES}], path
    existing = render({**PRIVATE, "ExistingUserPoolId": "eu-west-1_AbCdEf", "ExistingUserPoolClientId": "client0123",
                       "ExistingUserPoolDomain": "login.example.com"}).private_api()
    assert existing.body["securityDefinitions"]["CognitoAccessToken"]["x-amazon-apigateway-authorizer"]["providerARNs"] \
        == ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/eu-west-1_AbCdEf"]


@pytest.fixture(scope="module")
def iam():
    with Evaluator() as evaluator:
        yield evaluator


@pytest.mark.parametrize("source, allowed", [
    ({"aws:SourceVpce": EXECUTE_API_VPCES[0]}, True),
    ({"aws:SourceVpce": EXECUTE_API_VPCES[1]}, True),
    ({"aws:SourceVpce": "vpce-0999999a"}, False),  # another VPC's endpoint, another account's say
    ({"aws:SourceIp": "203.0.113.9"}, False),  # the internet
    ({}, False),
])
def test_the_resource_policy_lets_requests_in_only_through_the_named_endpoints(iam, source, allowed):
    api = render(PRIVATE).private_api()
    for method, path in [("GET", "/targets"), ("POST", "/notebook-instances/alice/start"), ("OPTIONS", "/studio")]:
        decision = iam.evaluate("execute-api:Invoke", api.method_arn(method, path), ANONYMOUS, [], source,
                                resource_policy=api.policy)
        assert decision.allowed is allowed, (method, path, source, decision)
        if not allowed:
            assert decision.result == "ExplicitlyDenied"  # the Deny, not only a missing Allow


def test_the_resource_policy_is_an_allow_for_the_endpoints_and_a_deny_for_everything_else():
    api = render(PRIVATE).private_api()
    allow, deny = api.policy["Statement"]
    assert allow["Effect"] == "Allow" and allow["Condition"] == {"StringEquals": {"aws:SourceVpce": EXECUTE_API_VPCES}}
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": EXECUTE_API_VPCES}}
    for statement in (allow, deny):
        assert statement["Principal"] == "*" and statement["Action"] == "execute-api:Invoke"
        assert statement["Resource"] == [api.arn + "/*"]


def test_the_private_api_may_invoke_the_function_on_its_stage_only():
    rendered = render(PRIVATE)
    permission = rendered.properties("PrivateGateApiInvokesFunction")
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"] == "arn:aws:execute-api:us-east-1:123456789012:PrivateGateApi-LOCAL/api/*"
    assert not render({}).exists("PrivateGateApiInvokesFunction")


def test_the_private_stage_logs_access_without_tokens_and_throttles():
    stage = next(render(PRIVATE).properties(k) for k, r in render(PRIVATE).resources.items()
                 if r["Type"] == "AWS::ApiGateway::Stage")
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert fields["requestId"] == "$context.requestId" and fields["vpce"] == "$context.identity.vpceId"
    lowered = stage["AccessLogSetting"]["Format"].lower()
    for leak in ("querystring", "authorization", "$input", "header", "$request."):
        assert leak not in lowered, leak
    assert stage["AccessLogSetting"]["DestinationArn"] == "<ApiAccessLogGroup.Arn>"
    assert stage["MethodSettings"] == [{"HttpMethod": "*", "ResourcePath": "/*",
                                        "ThrottlingRateLimit": "20", "ThrottlingBurstLimit": "40"}]


def test_api_gateways_own_errors_carry_the_portals_origin():
    responses = render(PRIVATE).private_api().body["x-amazon-apigateway-gateway-responses"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        origin = responses[kind]["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        assert origin == "'https://<PortalDistribution.DomainName>'"


def test_the_function_runs_in_the_subnets_and_presigns_only_through_the_endpoints():
    rendered = render(PRIVATE)
    assert rendered.properties("GateFunction")["VpcConfig"]["SubnetIds"] == NETWORK["SubnetIds"].split(",")
    deny = [s for p in rendered.function_role().policies for s in p.document["Statement"] if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in deny] == [{"StringNotEqualsIfExists": {"aws:SourceVpce": [
        NETWORK["SageMakerApiVpcEndpointId"], *NETWORK["SageMakerUrlVpcEndpointIds"].split(",")]}}]


def test_outputs_name_the_private_api_in_both_forms():
    outputs = render(PRIVATE).template["Outputs"]
    assert outputs["ApiUrl"]["Value"]["Fn::If"][0] == "IsPrivateApi"
    assert outputs["ApiUrl"]["Value"]["Fn::If"][1] == {
        "Fn::Sub": "https://${PrivateGateApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
    through = outputs["ApiUrlThroughEndpoint"]
    assert through["Condition"] == "IsPrivateApi"
    assert render(PRIVATE).evaluate(through["Value"]) == \
        f"https://PrivateGateApi-LOCAL-{EXECUTE_API_VPCES[0]}.execute-api.us-east-1.amazonaws.com/api"


def rule_failures(params: dict) -> list[str]:
    return iam_render.render(params, check_rules=False).broken_rules()


def test_a_complete_private_parameter_set_passes_the_rules():
    assert rule_failures(PRIVATE) == []


@pytest.mark.parametrize("missing, words", [
    ("ExecuteApiVpcEndpointIds", "needs ExecuteApiVpcEndpointIds"),
    ("SageMakerApiVpcEndpointId", "needs SageMakerApiVpcEndpointId"),
    ("SageMakerUrlVpcEndpointIds", "needs SageMakerUrlVpcEndpointIds"),
])
def test_private_mode_without_an_endpoint_is_refused(missing, words):
    failures = rule_failures({**PRIVATE, missing: ""})
    assert any("PrivateApiNeedsItsNetwork" in f and words in f for f in failures), failures


def test_private_mode_without_subnets_or_security_groups_is_refused():
    failures = rule_failures({**PRIVATE, "SubnetIds": "", "SecurityGroupIds": ""})
    private = [f for f in failures if f.startswith("PrivateApiNeedsItsNetwork")]
    assert len(private) == 2 and "needs SubnetIds" in private[0] and "needs SecurityGroupIds" in private[1]
    only_subnets = rule_failures({**PRIVATE, "SecurityGroupIds": ""})
    assert any("PrivateApiNeedsItsNetwork" in f and "needs SecurityGroupIds" in f for f in only_subnets)


def test_execute_api_endpoints_without_private_mode_are_refused():
    failures = rule_failures({"ExecuteApiVpcEndpointIds": EXECUTE_API_VPCES[0]})
    assert failures == ["ExecuteApiEndpointsOnlyWhenPrivate: ExecuteApiVpcEndpointIds only applies with "
                        "ApiVisibility=Private; the public HTTP API cannot be bound to an endpoint."]


def test_visibility_takes_only_public_or_private():
    with pytest.raises(iam_render.TemplateError, match="ApiVisibility"):
        render({"ApiVisibility": "Internal"})
    with pytest.raises(iam_render.TemplateError, match="ExecuteApiVpcEndpointIds"):
        render({**PRIVATE, "ExecuteApiVpcEndpointIds": "vpce-1,"})


def test_cfn_lint_reports_nothing_for_the_private_deployment(tmp_path):
    translated = tmp_path / "translated-private.json"
    translated.write_text(json.dumps(render({**PRIVATE, "AutoStart": "true"}).template))
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(translated)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


# --- the portal's config for a private API (scripts/portal-config) ---------------------------------

def test_portal_config_names_the_private_api_by_private_dns_or_through_the_endpoint(tmp_path):
    from tests.template.test_portal_hosting import OUTPUTS, fake_aws, portal_config  # noqa: PLC0415
    private_dns = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api"
    through = f"https://a1b2c3d4e5-{EXECUTE_API_VPCES[0]}.execute-api.eu-west-1.amazonaws.com/api"
    env = fake_aws(tmp_path, {**OUTPUTS, "ApiUrl": private_dns, "ApiUrlThroughEndpoint": through})
    for args, url in [((), private_dns), (("--through-endpoint",), through)]:
        result, out = portal_config(tmp_path, env, *args)
        assert result.returncode == 0, result.stderr
        assert json.loads(out.read_text())["apiUrl"] == url  # the stage path stays: the portal joins routes to it
        index = (out.parent / "index.html").read_text()
        origin = url.removesuffix("/api")
        assert f"connect-src &#x27;self&#x27; {origin} " in index or f"connect-src 'self' {origin} " in index


def test_through_endpoint_is_refused_for_a_public_stack(tmp_path):
    from tests.template.test_portal_hosting import OUTPUTS, fake_aws, portal_config  # noqa: PLC0415
    result, out = portal_config(tmp_path, fake_aws(tmp_path, OUTPUTS), "--through-endpoint")
    assert result.returncode == 1 and "ApiVisibility=Private" in result.stderr and not out.exists()
