"""IAM for the local stack: the options, template.yaml rendered for the stack's parameters, the
function's environment as that deployment sets it, and the stand-in told to enforce the role.

    parser = argparse.ArgumentParser(); add_arguments(parser)
    deployment = Deployment.for_stack(args, domain_ids)    # after seeding: the domain ids are known
    env = deployment.function_environment()                # the template's variables for the function
    deployment.enforce(page_url)                           # POST /_iam on the stand-in (unless --no-iam)
"""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass

from local.control import post
from local.iam.render import Rendered, render

# The function's credentials in the local stack: the stand-in evaluates calls signed with this key
# as the function's role. An assumed role's keys start with ASIA.
FUNCTION_ACCESS_KEY_ID = "ASIANOTEBOOKGATEFUNC"
# Where the function's calls come from when nothing says otherwise: an AWS public address (a
# documentation address stands in for it), as for a function outside any VPC.
DEFAULT_FUNCTION_SOURCE_IP = "198.51.100.20"


def add_arguments(parser: argparse.ArgumentParser):
    group = parser.add_argument_group("IAM", "the deployed function role's policy, enforced by the stand-in")
    group.add_argument("--no-iam", action="store_true",
                       help="do not evaluate the function's SageMaker calls and URL uses against its IAM policy")
    group.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       help="a template.yaml parameter for this stack (repeatable), as `sam deploy "
                            "--parameter-overrides` takes it; StudioDomainId(s) and AutoStart come from the stack")
    group.add_argument("--function-source-ip", default="",
                       help="the function's egress address as SageMaker sees it (aws:SourceIp); default: the first "
                            f"address of FunctionEgressCidrs if set, else {DEFAULT_FUNCTION_SOURCE_IP}")
    group.add_argument("--function-vpce", default="",
                       help="the SageMaker API VPC endpoint the function calls through (aws:SourceVpce, and then "
                            "no aws:SourceIp); default: SageMakerApiVpcEndpointId if set")


def parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--param takes KEY=VALUE, not {pair!r}")
        params[key] = value
    return params


def _first_address(cidrs: str) -> str:
    first = cidrs.split(",")[0].strip()
    network = ipaddress.ip_network(first, strict=False)
    hosts = network.hosts()  # a list for a /32, an iterator otherwise
    return str(next(iter(hosts), network.network_address))


def function_source(parameters: dict, ip: str = "", vpce: str = "") -> dict:
    """Where the deployed function's SageMaker calls come from, as SageMaker's IAM sees it, unless
    `ip` / `vpce` say otherwise: through the SageMaker API endpoint when the template names one and
    the function is in a VPC (the endpoint's private DNS takes the call there), else from
    its NAT gateway's address when FunctionEgressCidrs is set, else from an AWS address."""
    if vpce:
        return {"vpce": vpce}
    if ip:
        return {"ip": ip}
    if parameters.get("SageMakerApiVpcEndpointId") and "".join(parameters.get("SubnetIds") or ""):
        return {"vpce": parameters["SageMakerApiVpcEndpointId"]}
    if parameters.get("FunctionEgressCidrs"):
        return {"ip": _first_address(parameters["FunctionEgressCidrs"])}
    return {"ip": DEFAULT_FUNCTION_SOURCE_IP}


@dataclass
class Deployment:
    parameters: dict
    rendered: Rendered
    source: dict  # {"ip": ...} or {"vpce": ...}: where the function's calls come from
    enforced: bool

    @classmethod
    def for_stack(cls, args: argparse.Namespace, domain_ids: list[str]) -> "Deployment":
        """One configured domain goes in StudioDomainId as an existing deployment has it; several
        in StudioDomainIds."""
        domains = {"StudioDomainIds": ",".join(domain_ids)} if len(domain_ids) > 1 else \
            {"StudioDomainId": domain_ids[0] if domain_ids else ""}
        parameters = {**domains, "AutoStart": "true" if args.auto_start else "false", **parse_params(args.param)}
        rendered = render(parameters)
        source = function_source(parameters, ip=args.function_source_ip, vpce=args.function_vpce)
        return cls(parameters, rendered, source, not args.no_iam)

    def function_environment(self) -> dict:
        """The function's environment variables as the template sets them for these parameters;
        a value the local stack must supply itself (the portal's origin, say) is left out."""
        function = self.rendered.function()
        variables = self.rendered.properties(function).get("Environment", {}).get("Variables", {})
        return {k: str(v) for k, v in variables.items() if "<" not in str(v)}

    def iam_settings(self) -> dict:
        role = self.rendered.function_role()
        settings = {"accessKeyId": FUNCTION_ACCESS_KEY_ID, "roleArn": role.arn,
                    "policies": [{"name": p.name, "policy": p.document} for p in role.policies],
                    "source": self.source}
        if self.parameters.get("ApiVisibility") == "Private":
            # People's browsers are on the company network: they open URLs through the first
            # Studio / notebook endpoint unless a request says otherwise.
            settings["browserSource"] = {"vpce": self.parameters["SageMakerUrlVpcEndpointIds"].split(",")[0]}
        return settings

    def enforce(self, page_url: str) -> list[str]:
        """Tells the stand-in to enforce the role; returns lines for the stack's output."""
        if not self.enforced:
            return ["  IAM            off (--no-iam): the function's calls are not evaluated"]
        settings = self.iam_settings()
        principal = post(f"{page_url}/_iam", settings, timeout=30)["principal"]
        where = f"VPC endpoint {self.source['vpce']}" if "vpce" in self.source else f"source IP {self.source['ip']}"
        lines = [f"  IAM            enforced as {principal}, calling from {where} (--no-iam turns it off)"]
        managed = self.rendered.function_role().managed_policy_arns
        if managed:
            lines.append("  IAM            the role also gets managed policies, not evaluated here: " + ", ".join(managed))
        return lines
