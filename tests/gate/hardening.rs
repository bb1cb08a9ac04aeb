//! What a real account does that the first tests did not: races with another tab, starts that
//! must not happen (from a link, on a retired platform), domains and apps SageMaker no longer
//! opens, tokens of another app client, and what `/targets` tells about sharing and the account.

use serde_json::json;

use crate::helpers::*;
use crate::shapes::*;
use crate::stub::{DOMAIN_ID, Fault, RETIRED_PLATFORM};

fn targets_notebook<'b>(body: &'b serde_json::Value, name: &str) -> &'b serde_json::Value {
    item(&body["notebookInstances"], "name", name)
}

#[tokio::test]
async fn a_stop_that_loses_a_race_is_already_stopping_not_an_upstream_error() {
    let t = TestGate::new().await;
    t.stub.race("alice-nb", "Stopping");
    let reply = t.send(notebook_action("alice-nb", "stop")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["result"], "already stopping");
    assert_eq!(body["status"], "Stopping");
    // The refused stop, then one fresh read that says where it stands.
    expect_calls(
        &t,
        [
            "DescribeNotebookInstance",
            "DescribeNotebookInstance",
            "ListTags",
            "StopNotebookInstance",
        ],
    );
}

#[tokio::test]
async fn a_start_that_loses_a_race_answers_from_the_fresh_state() {
    // Started by a teammate meanwhile: already starting.
    let t = TestGate::new().await;
    t.stub.race("alice-stopped", "Pending");
    let reply = t.send(notebook_action("alice-stopped", "start")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["result"], "already starting");
    // Already running by the time it arrived: 200, nothing to do.
    let t = TestGate::new().await;
    t.stub.race("alice-stopped", "InService");
    let reply = t.send(notebook_action("alice-stopped", "start")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["result"], "already running");
    // Moved somewhere a start cannot come from: the conflict names where it is, as a 409.
    let t = TestGate::new().await;
    t.stub.race("alice-stopped", "Stopping");
    let reply = t.send(notebook_action("alice-stopped", "start")).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.error_code(), "state_conflict");
    assert!(reply.error_message().contains("Stopping"));
}

#[tokio::test]
async fn a_refused_state_change_is_a_client_error_in_the_metrics_not_an_upstream_one() {
    let t = TestGate::new().await;
    // The fresh read fails too: what is left is the refusal itself, a 409.
    t.stub.race("alice-nb", "Stopping");
    t.stub
        .fault_matching("DescribeNotebookInstance", "alice-nb", Fault::Throttle);
    let reply = t.send(notebook_action("alice-nb", "stop")).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    t.stub.clear_faults();
    let t = TestGate::new().await;
    t.stub.race("alice-space", "Deleting");
    let reply = t.send(stop_space("alice-space")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["result"], "already stopping");
    assert_eq!(body["apps"], json!([]));
}

#[tokio::test]
async fn auto_start_never_starts_from_a_launch_link() {
    let t = TestGate::with_env(&[("AUTO_START", "true")]).await;
    let reply = t.send(launch_notebook("alice-stopped")).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.contains("Stopped"), "{}", reply.body);
    assert!(!t.stub.called("StartNotebookInstance"));
    assert_eq!(t.stub.status_of("alice-stopped"), "Stopped");
    // The header route (what the portal uses) still starts it.
    let reply = t.send(open_notebook("alice-stopped")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(t.stub.status_of("alice-stopped"), "Pending");
}

#[tokio::test]
async fn a_notebook_on_a_retired_platform_is_never_started() {
    let t = TestGate::with_env(&[("AUTO_START", "true")]).await;
    t.stub
        .notebook_on("alice-al2", "Stopped", &[(OWNER, ALICE)], RETIRED_PLATFORM);
    for request in [
        notebook_action("alice-al2", "start"),
        open_notebook("alice-al2"),
    ] {
        let reply = t.send(request).await;
        assert_eq!(reply.status, 409, "{}", reply.body);
        assert_eq!(reply.error_code(), "platform_retired");
        let message = reply.error_message();
        assert!(
            message.contains(RETIRED_PLATFORM) && message.contains("notebook-al2023-v1"),
            "{message}"
        );
    }
    assert!(!t.stub.called("StartNotebookInstance"));
    // /targets describes each of the caller's instances (its state and platform) and offers no
    // start on a retired platform.
    t.stub.forget_calls();
    let body = t.send(event("http-targets")).await.json();
    let al2 = targets_notebook(&body, "alice-al2");
    assert_eq!(al2["platform"], RETIRED_PLATFORM);
    assert_eq!(al2["platformRetired"], true);
    assert!(al2.get("start").is_none(), "{al2}");
    assert!(al2["stop"].is_string());
    let current = targets_notebook(&body, "alice-stopped");
    assert_eq!(current["platform"], "notebook-al2023-v1");
    assert_eq!(current["platformRetired"], false);
    assert!(current["start"].is_string());
    let running = targets_notebook(&body, "alice-nb");
    assert_eq!(running["platform"], "notebook-al2023-v1");
    let described: Vec<_> = t
        .stub
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DescribeNotebookInstance")
        .map(|c| c.input["NotebookInstanceName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sorted(described),
        [
            "alice-al2",
            "alice-failed",
            "alice-nb",
            "alice-pending",
            "alice-stopped",
            "team-nb"
        ]
    );
}

#[tokio::test]
async fn studio_classic_is_a_clear_400_with_no_call() {
    let t = TestGate::new().await;
    let reply = t
        .send(with_query(
            event("http-studio"),
            &[("app", "jupyterserver")],
        ))
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("Studio Classic"), "{}", reply.body);
    assert!(t.stub.operations().is_empty());
}

#[tokio::test]
async fn a_domain_sagemaker_cannot_presign_is_refused_with_its_reason() {
    for (fields, words) in [
        (json!({"AuthMode": "SSO"}), "IAM Identity Center"),
        (
            json!({"DomainSettings": {"UnifiedStudioSettings": {"StudioWebPortalAccess": "DISABLED"}}}),
            "Unified Studio",
        ),
    ] {
        let t = TestGate::new().await;
        t.stub.domain_settings(DOMAIN_ID, fields.clone());
        let reply = t.send(event("http-studio")).await;
        assert_eq!(reply.status, 409, "{fields}: {}", reply.body);
        assert_eq!(reply.error_code(), "domain_unsupported");
        assert!(reply.body.contains(words), "{}", reply.body);
        assert!(!t.stub.called("CreatePresignedDomainUrl"));
        // Someone without a profile there learns nothing new: the usual 404.
        let mut stranger = event("http-studio");
        for name in ["cognito:username", "username"] {
            claims(&mut stranger).insert(name.into(), json!("carol"));
        }
        assert_not_found(&t.send(stranger).await);
        // /targets leaves the domain out rather than offering what cannot open.
        let body = t.send(event("http-targets")).await.json();
        assert_eq!(body["studioDomains"], json!([]), "{fields}");
    }
}

#[tokio::test]
async fn a_token_of_another_app_client_is_401_on_every_route() {
    let t = TestGate::with_env(&[("ALLOWED_CLIENT_IDS", "5r8exampleclientid0123456789")]).await;
    let requests = [
        event("http-targets"),
        event("http-start-notebook"),
        event("rest-stop-space"),
        event("http-launch-notebook"),
    ];
    for request in requests.clone() {
        assert_ne!(t.send(request).await.status, 401);
    }
    t.stub.forget_calls();
    for mut request in requests {
        claims(&mut request).insert("client_id".into(), json!("another-apps-client"));
        let reply = t.send(request).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert!(reply.body.contains("another application"), "{}", reply.body);
    }
    assert!(t.stub.operations().is_empty());
}

#[tokio::test]
async fn targets_say_which_notebooks_a_group_shares() {
    let t = TestGate::new().await;
    t.stub.notebook(
        "alice-and-team",
        "InService",
        &[(OWNER, ALICE), (GROUP, "ml-team")],
    );
    let body = t.send(event("http-targets")).await.json();
    assert_eq!(targets_notebook(&body, "team-nb")["sharedWith"], "ml-team");
    assert_eq!(
        targets_notebook(&body, "alice-and-team")["sharedWith"],
        "ml-team"
    );
    assert!(
        targets_notebook(&body, "alice-nb")
            .get("sharedWith")
            .is_none()
    );
}
