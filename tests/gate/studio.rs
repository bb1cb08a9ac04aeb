use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::shapes::*;
use crate::stub::DOMAIN_ID;
use crate::stub::Fault;

#[tokio::test]
async fn owner_opens_their_space_in_the_chosen_app() {
    let t = TestGate::new().await;
    let reply = t.send(event("http-studio")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert!(body["url"].as_str().unwrap().contains(".studio."));
    assert_eq!(
        body["target"],
        json!({"type": "studio", "domainId": DOMAIN_ID, "userProfile": "alice", "space": "alice-space", "app": "jupyterlab"})
    );
    expect_calls(
        &t,
        [
            "DescribeDomain",
            "ListTags",
            "DescribeSpace",
            "CreatePresignedDomainUrl",
        ],
    );
    let calls = t.stub.calls();
    assert_eq!(
        call(&calls, "ListTags").input["ResourceArn"],
        format!("arn:aws:sagemaker:us-east-1:123456789012:user-profile/{DOMAIN_ID}/alice")
    );
    let presign = &call(&calls, "CreatePresignedDomainUrl").input;
    assert_eq!(presign["DomainId"], DOMAIN_ID);
    assert_eq!(presign["UserProfileName"], "alice");
    assert_eq!(presign["SpaceName"], "alice-space");
    assert_eq!(presign["LandingUri"], "app:JupyterLab:");
    assert_eq!(presign["ExpiresInSeconds"], 60);
    assert_eq!(presign["SessionExpirationDurationInSeconds"], 43200);
}

#[tokio::test]
async fn the_domain_is_described_once_per_process() {
    let t = TestGate::new().await;
    assert_eq!(t.send(event("http-studio")).await.status, 200);
    t.stub.forget_calls();
    assert_eq!(t.send(event("http-studio")).await.status, 200);
    expect_calls_for(
        &t,
        "an open costs at most three calls once the domain is known",
        ["ListTags", "DescribeSpace", "CreatePresignedDomainUrl"],
    );
}

#[tokio::test]
async fn rest_api_opens_studio_too() {
    let t = TestGate::new().await;
    let reply = t.send(event("rest-studio")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["target"]["userProfile"], "alice");
}

#[tokio::test]
async fn launch_redirects_into_the_profile_without_space() {
    let t = TestGate::with_env(&[("URL_EXPIRES_SECONDS", "30"), ("SESSION_SECONDS", "3600")]).await;
    let reply = t.send(event("http-launch-studio")).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert!(reply.header("location").unwrap().contains(".studio."));
    let presign = t.stub.calls().last().unwrap().input.clone();
    assert_eq!(presign["LandingUri"], "app:CodeEditor:");
    assert_eq!(presign.get("SpaceName"), None);
    assert_eq!(presign["ExpiresInSeconds"], 30);
    assert_eq!(presign["SessionExpirationDurationInSeconds"], 3600);
    assert!(!t.stub.called("DescribeSpace"));
}

#[tokio::test]
async fn every_app_maps_to_its_landing_uri() {
    let t = TestGate::new().await;
    for (app, uri) in [
        ("jupyterlab", "app:JupyterLab:"),
        ("codeeditor", "app:CodeEditor:"),
        ("canvas", "app:Canvas:"),
        ("rstudio", "app:RStudioServerPro:"),
        ("studio", "studio::"),
    ] {
        let reply = t
            .send(with_query(event("http-studio"), &[("app", app)]))
            .await;
        assert_eq!(reply.status, 200, "{app}");
        assert_eq!(t.stub.calls().last().unwrap().input["LandingUri"], uri);
    }
}

#[tokio::test]
async fn someone_elses_private_space_is_not_found() {
    let t = TestGate::new().await;
    let requests = ["bob-space", "no-such-space"].map(|space| (space, open_space(space)));
    not_found_alike(
        &t,
        requests.to_vec(),
        &["DescribeSpace", "ListTags"],
        calls_besides_domain,
    )
    .await;
    assert!(!t.stub.called("CreatePresignedDomainUrl"));
}

#[tokio::test]
async fn a_shared_space_opens_for_any_owned_profile() {
    let t = TestGate::new().await;
    let reply = t.send(open_space("team-space")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["target"]["space"], "team-space");
}

#[tokio::test]
async fn a_profile_without_the_callers_owner_tag_is_not_found() {
    let t = TestGate::new().await;
    // Bob's token but Alice's profile name: the owner tag says no.
    let mut as_bob_named_alice = as_bob(event("http-studio"));
    claims(&mut as_bob_named_alice).insert("cognito:username".into(), json!("alice"));
    assert_not_found(&t.send(as_bob_named_alice).await);
    // A profile nobody tagged.
    let mut mallory = event("http-studio");
    claims(&mut mallory).insert("cognito:username".into(), json!("mallory"));
    assert_not_found(&t.send(mallory).await);
    // A profile that does not exist.
    let mut nobody = event("http-studio");
    claims(&mut nobody).insert("cognito:username".into(), json!("nobody"));
    assert_not_found(&t.send(nobody).await);
    assert!(!t.stub.called("CreatePresignedDomainUrl"));
}

#[tokio::test]
async fn profile_name_is_made_valid_from_an_email_username() {
    let t = TestGate::new().await;
    t.stub.profile("jane-doe-example-com", &[(OWNER, ALICE)]);
    let mut jane = with_query(event("http-studio"), &[]);
    claims(&mut jane).insert("cognito:username".into(), json!("jane.doe@example.com"));
    let reply = t.send(jane).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        t.stub.calls().last().unwrap().input["UserProfileName"],
        "jane-doe-example-com"
    );
}

#[tokio::test]
async fn a_federated_persons_profile_is_named_after_their_subject_at_the_provider() {
    let t = TestGate::with_env(&[("FEDERATED_PROVIDER_NAME", "Company")]).await;
    t.stub.profile("jane-doe-corp-example", &[(OWNER, ALICE)]);
    t.stub
        .profile("Company-jane-doe-corp-example", &[(OWNER, ALICE)]);
    let mut jane = with_query(event("http-studio"), &[]);
    claims(&mut jane).insert(
        "cognito:username".into(),
        json!("Company_jane.doe@corp.example"),
    );
    let reply = t.send(jane).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        t.stub.calls().last().unwrap().input["UserProfileName"],
        "jane-doe-corp-example"
    );
}

#[tokio::test]
async fn without_a_configured_domain_studio_is_not_found_and_costs_nothing() {
    let t = TestGate::with_env(&[("STUDIO_DOMAIN_ID", "<unset>")]).await;
    assert_not_found(&t.send(event("http-studio")).await);
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn unknown_app_or_bad_space_name_is_400_without_any_call() {
    let t = TestGate::new().await;
    for query in [
        [("app", "vscode")],
        [("app", "JupyterLab")],
        [("space", "bad_space")],
        [("space", "x%2Fy")],
    ] {
        let reply = t.send(with_query(event("http-studio"), &query)).await;
        assert_eq!(reply.status, 400, "{query:?}");
        assert_eq!(reply.error_code(), "invalid_request");
    }
    assert!(t.stub.calls().is_empty());
}

/// No existence oracle for Studio: the profile's tags and the space are read together, so a space
/// that does not exist and someone else's cost the same calls, and while SageMaker fails they get
/// the same error.
#[tokio::test]
async fn a_missing_and_a_foreign_space_cost_the_same_and_fail_alike() {
    let t = TestGate::new().await;
    assert_eq!(t.send(event("http-studio")).await.status, 200); // the domain is now known
    let requests = ["bob-space", "no-such-space"].map(|space| (space, open_space(space)));
    not_found_alike(
        &t,
        requests.to_vec(),
        &["DescribeSpace", "ListTags"],
        calls_made,
    )
    .await;
    let mut requests = requests.to_vec();
    requests.push(("alice-space", open_space("alice-space")));
    failures_look_alike(
        &t,
        &requests,
        &[
            ("DescribeSpace", Fault::Throttle, 429),
            ("DescribeSpace", Fault::ServerError, 502),
            ("ListTags", Fault::Throttle, 429),
            ("ListTags", Fault::Denied, 502),
        ],
    )
    .await;
}

/// A second configured domain ("platform"), where Bob has a profile and a space, and where a
/// profile named `alice` exists but is not Alice's.
pub(crate) const OTHER_DOMAIN: &str = "d-other000002";

pub(crate) async fn two_domains() -> TestGate {
    let t =
        TestGate::with_env(&[("STUDIO_DOMAIN_IDS", &format!("{DOMAIN_ID},{OTHER_DOMAIN}"))]).await;
    t.stub
        .domain(OTHER_DOMAIN, "platform")
        .profile_in(OTHER_DOMAIN, "alice", &[(OWNER, BOB)])
        .profile_in(OTHER_DOMAIN, "bob", &[(OWNER, BOB)])
        .space_in(OTHER_DOMAIN, "bob-platform", Some("bob"), false)
        .app_in(
            OTHER_DOMAIN,
            "bob-platform",
            "CodeEditor",
            "default",
            "InService",
            "ml.t3.large",
        );
    t
}

fn studio_in(domain: &str, pairs: &[(&str, &str)]) -> serde_json::Value {
    let mut query = vec![("domain", domain)];
    query.extend_from_slice(pairs);
    with_query(event("http-studio"), &query)
}

#[tokio::test]
async fn with_several_domains_each_open_goes_to_the_chosen_one() {
    let t = two_domains().await;
    let reply = t
        .send(as_bob(studio_in(
            OTHER_DOMAIN,
            &[("space", "bob-platform")],
        )))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["target"],
        json!({"type": "studio", "domainId": OTHER_DOMAIN, "userProfile": "bob", "space": "bob-platform"})
    );
    let calls = t.stub.calls();
    assert_eq!(
        call(&calls, "DescribeDomain").input["DomainId"],
        OTHER_DOMAIN
    );
    assert_eq!(
        call(&calls, "ListTags").input["ResourceArn"],
        format!("arn:aws:sagemaker:us-east-1:123456789012:user-profile/{OTHER_DOMAIN}/bob")
    );
    assert_eq!(
        call(&calls, "DescribeSpace").input["DomainId"],
        OTHER_DOMAIN
    );
    assert_eq!(
        call(&calls, "CreatePresignedDomainUrl").input["DomainId"],
        OTHER_DOMAIN
    );
    // The same caller in the first domain: its own profile there.
    let reply = t
        .send(as_bob(studio_in(DOMAIN_ID, &[("space", "bob-space")])))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["target"]["domainId"], DOMAIN_ID);
    // A space is looked for in the chosen domain only.
    assert_not_found(
        &t.send(as_bob(studio_in(OTHER_DOMAIN, &[("space", "bob-space")])))
            .await,
    );
}

#[tokio::test]
async fn a_profile_owned_in_one_domain_opens_nothing_in_another() {
    let t = two_domains().await;
    // Alice owns `alice` in the first domain; the `alice` profile of the second carries Bob's tag.
    assert_eq!(
        t.send(studio_in(DOMAIN_ID, &[])).await.status,
        200,
        "her own domain"
    );
    t.stub.forget_calls();
    let reply = t.send(studio_in(OTHER_DOMAIN, &[])).await;
    assert_not_found(&reply);
    assert!(!t.stub.called("CreatePresignedDomainUrl"));
    // Not even a shared space or a space stop gets past the profile's owner tag.
    assert_not_found(
        &t.send(studio_in(OTHER_DOMAIN, &[("space", "bob-platform")]))
            .await,
    );
    let stop = with_query(
        with_path(event("rest-stop-space"), "/studio/spaces/bob-platform/stop"),
        &[("domain", OTHER_DOMAIN)],
    );
    assert_not_found(&t.send(stop).await);
    assert!(!t.stub.called("CreatePresignedDomainUrl") && !t.stub.called("DeleteApp"));
}

#[tokio::test]
async fn several_domains_and_no_choice_is_400_naming_domain_without_any_call() {
    let t = two_domains().await;
    let launch = with_header(event("http-launch-studio"), "accept", "application/json");
    let stop = with_path(event("rest-stop-space"), "/studio/spaces/bob-platform/stop");
    for request in [with_query(event("http-studio"), &[]), launch, as_bob(stop)] {
        let reply = t.send(request).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.error_code(), "invalid_request");
        let message = reply.error_message();
        assert!(message.starts_with("domain "), "{message}");
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn a_malformed_domain_is_400_and_an_unconfigured_one_404_without_any_call() {
    for t in [TestGate::new().await, two_domains().await] {
        for bad in [
            "",
            "D-DEMO0000001",
            "demo",
            "d-demo0000001,d-other000002",
            "d-x_y",
        ] {
            let reply = t.send(studio_in(bad, &[])).await;
            assert_eq!(reply.status, 400, "{bad:?}: {}", reply.body);
            assert_eq!(reply.error_code(), "invalid_request");
        }
        // Well-formed, not configured: what a missing profile gets, on every Studio route.
        let missing_profile = {
            let mut nobody = studio_in(DOMAIN_ID, &[]);
            claims(&mut nobody).insert("cognito:username".into(), json!("nobody"));
            t.send(nobody).await
        };
        assert_not_found(&missing_profile);
        t.stub.forget_calls();
        let unconfigured = t.send(studio_in("d-nowhere00009", &[])).await;
        assert_eq!(unconfigured.body, missing_profile.body);
        let launch = with_query(event("http-launch-studio"), &[("domain", "d-nowhere00009")]);
        assert_eq!(t.send(launch).await.status, 404);
        let stop = with_query(event("rest-stop-space"), &[("domain", "d-nowhere00009")]);
        assert_not_found(&t.send(stop).await);
        assert!(t.stub.calls().is_empty(), "{:?}", t.stub.operations());
    }
}

#[tokio::test]
async fn with_one_domain_the_parameter_may_name_it_or_be_left_out() {
    let t = TestGate::new().await;
    let named = t
        .send(studio_in(DOMAIN_ID, &[("space", "alice-space")]))
        .await;
    assert_eq!(named.status, 200, "{}", named.body);
    let left_out = t.send(open_space("alice-space")).await;
    assert_eq!(left_out.status, 200, "{}", left_out.body);
    assert_eq!(named.json()["target"], left_out.json()["target"]);
    let stop = with_query(event("rest-stop-space"), &[("domain", DOMAIN_ID)]);
    assert_eq!(t.send(stop).await.status, 202);
}

#[tokio::test]
async fn each_domain_is_described_once_per_process() {
    let t = two_domains().await;
    for _ in 0..3 {
        assert_eq!(t.send(studio_in(DOMAIN_ID, &[])).await.status, 200);
        assert_eq!(
            t.send(as_bob(studio_in(OTHER_DOMAIN, &[]))).await.status,
            200
        );
        assert_eq!(t.send(event("http-targets")).await.status, 200);
        assert_eq!(t.send(as_bob(event("http-targets"))).await.status, 200);
    }
    let described: Vec<String> = t
        .stub
        .calls()
        .iter()
        .filter(|c| c.operation == "DescribeDomain")
        .map(|c| c.input["DomainId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sorted(described), sorted([DOMAIN_ID, OTHER_DOMAIN]));
}

/// Reads side by side: the profile's tags, the space and (on a domain's first request) the domain are read
/// at once, and the presign waits for all of them: two round trips, never a presign before both
/// ownership reads have answered.
#[tokio::test]
async fn a_studio_open_is_two_round_trips_and_presigns_only_after_its_reads() {
    let t = TestGate::new().await;
    t.stub.latency(Duration::from_millis(100));
    // The space read is slower than the others: the presign must still wait for it.
    t.stub
        .fault("DescribeSpace", Fault::Delay(Duration::from_millis(50)));
    let started = Instant::now();
    let reply = t.send(event("http-studio")).await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let calls = t.stub.calls();
    let presign = call(&calls, "CreatePresignedDomainUrl");
    for read in ["DescribeDomain", "ListTags", "DescribeSpace"] {
        let read = call(&calls, read);
        assert!(
            read.ended.unwrap() <= presign.started,
            "{} ended after the presign began",
            read.operation
        );
        // The reads overlap: each began before the slowest one ended.
        assert!(read.started < call(&calls, "DescribeSpace").ended.unwrap());
    }
    assert_eq!(
        t.stub.max_in_flight(),
        3,
        "DescribeDomain, ListTags and DescribeSpace at once"
    );
    // Two waves: the reads (100 + 50 ms) and the presign (100 ms); reading the domain first, as
    // as it once did, would take 350 ms.
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(330), "{elapsed:?}");
}
