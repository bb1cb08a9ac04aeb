use serde_json::json;

use crate::helpers::*;
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
    assert_eq!(
        sorted(t.stub.operations()),
        sorted([
            "DescribeDomain",
            "ListTags",
            "DescribeSpace",
            "CreatePresignedDomainUrl"
        ])
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
    assert_eq!(
        sorted(t.stub.operations()),
        sorted(["ListTags", "DescribeSpace", "CreatePresignedDomainUrl"]),
        "an open costs at most three calls once the domain is known"
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
        ("jupyterserver", "app:JupyterServer:"),
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
    let reply = t
        .send(with_query(event("http-studio"), &[("space", "bob-space")]))
        .await;
    assert_not_found(&reply);
    assert!(!t.stub.called("CreatePresignedDomainUrl"));
    let missing = t
        .send(with_query(
            event("http-studio"),
            &[("space", "no-such-space")],
        ))
        .await;
    assert_eq!(missing.body, reply.body);
}

#[tokio::test]
async fn a_shared_space_opens_for_any_owned_profile() {
    let t = TestGate::new().await;
    let reply = t
        .send(with_query(event("http-studio"), &[("space", "team-space")]))
        .await;
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

/// Issue 19 #1 and #2 for Studio: the profile's tags and the space are read together, so a space
/// that does not exist and someone else's cost the same calls, and while SageMaker fails they get
/// the same error.
#[tokio::test]
async fn a_missing_and_a_foreign_space_cost_the_same_and_fail_alike() {
    let t = TestGate::new().await;
    assert_eq!(t.send(event("http-studio")).await.status, 200); // the domain is now known
    for space in ["bob-space", "no-such-space"] {
        t.stub.forget_calls();
        let reply = t
            .send(with_query(event("http-studio"), &[("space", space)]))
            .await;
        assert_not_found(&reply);
        assert_eq!(
            sorted(t.stub.operations()),
            sorted(["DescribeSpace", "ListTags"]),
            "{space}"
        );
    }
    for (operation, fault, status) in [
        ("DescribeSpace", Fault::Throttle, 429),
        ("DescribeSpace", Fault::ServerError, 502),
        ("ListTags", Fault::Throttle, 429),
        ("ListTags", Fault::Denied, 502),
    ] {
        t.stub.clear_faults();
        t.stub.fault(operation, fault);
        let mut answers = Vec::new();
        for space in ["bob-space", "no-such-space", "alice-space"] {
            let reply = t
                .send(with_query(event("http-studio"), &[("space", space)]))
                .await;
            answers.push((reply.status, reply.error_code()));
        }
        assert!(
            answers.iter().all(|a| a == &answers[0]),
            "{operation} {fault:?}: {answers:?}"
        );
        assert_eq!(answers[0].0, status, "{operation} {fault:?}");
    }
}
