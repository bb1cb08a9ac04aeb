"""End to end for several Studio domains: the local API Gateway, the real release binary
and the stand-in under the deployed IAM policy. local/stack.py seeds two domains, "research"
(everyone's profile, the spaces alice-private, bob-private and team-shared) and "platform" (only
alice's profile, with her space alice-platform); `--studio-domains 2` configures the function
with both (StudioDomainIds), the default test stack with research only (StudioDomainId)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from local.tests.conftest import module_stack, open_page

two_domains = module_stack("two_domains", "--studio-domains", "2")


def ids(stack) -> tuple[str, str]:
    research, platform = stack.state["domain_ids"]
    return research, platform


def calls(stack, *operations: str) -> list[dict]:
    return [c for c in stack.control("GET", "/_calls") if not operations or c["operation"] in operations]


def error_of(body: str) -> dict:
    return {k: v for k, v in json.loads(body)["error"].items() if k != "requestId"}


def post(stack, path: str, user: str):
    request = urllib.request.Request(stack.state["gateway"] + path, data=b"", method="POST",
                                     headers={"Accept": "application/json",
                                              "Authorization": f"Bearer {stack.token(user)}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_function_is_configured_with_both_domains(two_domains):
    research, platform = ids(two_domains)
    assert two_domains.state["iam"]["parameters"]["StudioDomainIds"] == f"{research},{platform}"
    assert two_domains.state["domains"] == {research: "research", platform: "platform"}


def test_targets_list_a_card_per_domain_with_its_name_and_spaces(two_domains):
    research, platform = ids(two_domains)
    status, _, body = two_domains.get("/targets", two_domains.token("alice"))
    assert status == 200, body
    cards = json.loads(body)["studioDomains"]
    assert [(c["domainId"], c["domainName"], c["userProfile"]) for c in cards] == \
        [(research, "research", "alice"), (platform, "platform", "alice")]
    assert cards[1]["open"] == f"/studio?domain={platform}"
    assert cards[1]["launch"] == f"/launch/studio?domain={platform}"
    assert sorted(s["name"] for s in cards[0]["spaces"]) == ["alice-private", "team-shared"]
    [space] = cards[1]["spaces"]
    assert space["name"] == "alice-platform"
    assert space["open"] == f"/studio?domain={platform}&space=alice-platform"
    assert space["launch"] == f"/launch/studio?domain={platform}&space=alice-platform"
    assert space["stop"] == f"/studio/spaces/alice-platform/stop?domain={platform}"

    # bob has no profile in platform: that domain is simply absent from his list.
    bob = json.loads(two_domains.get("/targets", two_domains.token("bob"))[2])["studioDomains"]
    assert [c["domainId"] for c in bob] == [research]


def test_describe_domain_is_called_once_per_domain_for_the_process(two_domains):
    two_domains.get("/targets", two_domains.token("alice"))  # the names are known from here on
    two_domains.control("DELETE", "/_calls")
    for user in ("alice", "bob", "alice"):
        assert two_domains.get("/targets", two_domains.token(user))[0] == 200
    assert calls(two_domains, "DescribeDomain") == []


def test_studio_opens_in_the_chosen_domain(two_domains):
    research, platform = ids(two_domains)
    token = two_domains.token("alice")
    status, _, body = two_domains.get(f"/studio?domain={platform}&space=alice-platform", token)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["target"]["domainId"] == platform and answer["target"]["space"] == "alice-platform"
    status, page = open_page(answer["url"])
    assert status == 200
    assert page["opened"] == {**page["opened"], "kind": "studio", "domain": platform, "profile": "alice",
                              "space": "alice-platform"}
    status, headers, _ = two_domains.get(f"/launch/studio?domain={research}&access_token={token}", accept="text/html")
    assert status == 302
    assert open_page(headers["Location"])[1]["opened"]["domain"] == research


def test_with_several_domains_the_domain_is_required_and_checked_before_any_call(two_domains):
    research, platform = ids(two_domains)
    token = two_domains.token("alice")
    two_domains.control("DELETE", "/_calls")
    status, _, body = two_domains.get("/studio", token)
    assert status == 400 and error_of(body)["code"] == "invalid_request" and "domain" in error_of(body)["message"]
    for malformed in ("xyz", "d-", "D-ABC", f"{research},{platform}"):
        status, _, body = two_domains.get(f"/studio?domain={malformed}", token)
        assert status == 400, (malformed, body)
    # Well formed but not configured: the body of a missing profile, and no call at all.
    missing_profile = two_domains.get(f"/studio?domain={platform}", two_domains.token("bob"))
    assert missing_profile[0] == 404
    two_domains.control("DELETE", "/_calls")
    status, _, body = two_domains.get("/studio?domain=d-notconfigured1", token)
    assert status == 404 and error_of(body) == error_of(missing_profile[2])
    assert calls(two_domains) == []


def test_a_space_is_stopped_in_its_own_domain_only(two_domains):
    research, platform = ids(two_domains)
    # alice-platform has no app running: nothing to stop, and nothing is called to stop it.
    status, body = post(two_domains, f"/studio/spaces/alice-platform/stop?domain={platform}", "alice")
    assert status == 200 and json.loads(body)["result"] == "already stopped", body
    # alice-private lives in research: in platform it is not hers (not there at all).
    status, body = post(two_domains, f"/studio/spaces/alice-private/stop?domain={platform}", "alice")
    assert status == 404, body
    status, body = post(two_domains, "/studio/spaces/alice-private/stop", "alice")
    assert status == 400 and "domain" in error_of(body)["message"], body
    assert calls(two_domains, "DeleteApp") == []


def test_with_one_domain_the_parameter_is_optional_and_another_domain_is_404(stack):
    research, platform = ids(stack)
    token = stack.token("alice")
    assert stack.state["iam"]["parameters"]["StudioDomainId"] == research
    assert stack.get("/studio", token)[0] == 200
    status, _, body = stack.get(f"/studio?domain={research}", token)
    assert status == 200 and json.loads(body)["target"]["domainId"] == research
    # platform exists in SageMaker and alice has a profile there, but it is not configured.
    stack.control("DELETE", "/_calls")
    status, _, body = stack.get(f"/studio?domain={platform}", token)
    assert status == 404, body
    assert calls(stack) == []
    cards = json.loads(stack.get("/targets", token)[2])["studioDomains"]
    assert [(c["domainId"], c["domainName"]) for c in cards] == [(research, "research")]
