//! Starting and stopping: `POST /notebook-instances/{name}/start|stop` and
//! `POST /studio/spaces/{space}/stop`, every answer of the contract, and the calls behind each.

use crate::helpers::*;
use crate::notebook::{OWNERSHIP_READS, not_theirs};
use crate::shapes::*;
use crate::stub::{DOMAIN_ID, Fault};

const STATE_CHANGES: [&str; 3] = ["StartNotebookInstance", "StopNotebookInstance", "DeleteApp"];

fn state_changes(t: &TestGate) -> Vec<String> {
    t.stub
        .operations()
        .into_iter()
        .filter(|o| STATE_CHANGES.contains(&o.as_str()))
        .collect()
}

#[tokio::test]
async fn the_owner_starts_a_stopped_notebook() {
    let t = TestGate::new().await;
    let reply = t.send(event("http-start-notebook")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("15"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://portal.example.com")
    );
    assert_eq!(
        reply.json(),
        serde_json::json!({
            "result": "started",
            "status": "Pending",
            "retryAfter": 15,
            "target": {"type": "notebook-instance", "name": "alice-stopped"},
        })
    );
    expect_calls(
        &t,
        [
            "DescribeNotebookInstance",
            "ListTags",
            "StartNotebookInstance",
        ],
    );
    let calls = t.stub.calls();
    assert_eq!(
        call(&calls, "StartNotebookInstance").input["NotebookInstanceName"],
        "alice-stopped"
    );
    assert_eq!(t.stub.status_of("alice-stopped"), "Pending");
}

#[tokio::test]
async fn the_owner_stops_a_running_notebook_through_either_api() {
    for base in ["http-start-notebook", "rest-stop-space"] {
        let t = TestGate::new().await;
        let reply = t
            .send(with_path(event(base), "/notebook-instances/alice-nb/stop"))
            .await;
        assert_eq!(reply.status, 202, "{base}: {}", reply.body);
        assert_eq!(reply.header("retry-after"), Some("15"));
        let body = reply.json();
        assert_eq!(body["result"], "stopping");
        assert_eq!(body["status"], "Stopping");
        assert_eq!(body["target"]["name"], "alice-nb");
        assert_eq!(state_changes(&t), ["StopNotebookInstance"]);
        let calls = t.stub.calls();
        assert_eq!(
            call(&calls, "StopNotebookInstance").input["NotebookInstanceName"],
            "alice-nb"
        );
        assert_eq!(t.stub.status_of("alice-nb"), "Stopping");
    }
}

#[tokio::test]
async fn a_group_member_may_stop_and_start_a_shared_notebook() {
    let t = TestGate::new().await;
    let reply = t.send(stop_notebook("team-nb")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(t.stub.status_of("team-nb"), "Stopping");
    // Bob is not in ml-team.
    let t = TestGate::new().await;
    assert_not_found(&t.send(as_bob(stop_notebook("team-nb"))).await);
    assert!(state_changes(&t).is_empty());
}

#[tokio::test]
async fn nothing_to_do_sends_no_state_change_and_says_so() {
    let t = TestGate::new().await;
    t.stub
        .notebook("alice-stopping", "Stopping", &[(OWNER, ALICE)]);
    for (request, status, result, state, underway) in [
        (
            start_notebook("alice-nb"),
            200,
            "already running",
            "InService",
            false,
        ),
        (
            start_notebook("alice-pending"),
            202,
            "already starting",
            "Pending",
            true,
        ),
        (
            stop_notebook("alice-stopped"),
            200,
            "already stopped",
            "Stopped",
            false,
        ),
        (
            stop_notebook("alice-stopping"),
            202,
            "already stopping",
            "Stopping",
            true,
        ),
    ] {
        t.stub.forget_calls();
        let reply = t.send(request).await;
        assert_eq!(reply.status, status, "{result}: {}", reply.body);
        let body = reply.json();
        assert_eq!(body["result"], result);
        assert_eq!(body["status"], state);
        if underway {
            assert_eq!(reply.header("retry-after"), Some("15"), "{result}");
            assert_eq!(body["retryAfter"], 15);
        } else {
            assert_eq!(reply.header("retry-after"), None, "{result}");
            assert!(body.get("retryAfter").is_none(), "{result}");
        }
        expect_calls_for(&t, result, OWNERSHIP_READS);
    }
}

#[tokio::test]
async fn a_state_that_allows_no_change_is_409_naming_it() {
    let t = TestGate::new().await;
    t.stub
        .notebook("alice-stopping", "Stopping", &[(OWNER, ALICE)])
        .notebook("alice-updating", "Updating", &[(OWNER, ALICE)])
        .notebook("alice-deleting", "Deleting", &[(OWNER, ALICE)]);
    for (request, state) in [
        (start_notebook("alice-failed"), "Failed"),
        (stop_notebook("alice-failed"), "Failed"),
        (start_notebook("alice-stopping"), "Stopping"),
        (stop_notebook("alice-pending"), "Pending"),
        (start_notebook("alice-updating"), "Updating"),
        (stop_notebook("alice-updating"), "Updating"),
        (start_notebook("alice-deleting"), "Deleting"),
        (stop_notebook("alice-deleting"), "Deleting"),
    ] {
        let reply = t.send(request).await;
        assert_eq!(reply.status, 409, "{state}: {}", reply.body);
        assert_eq!(reply.error_code(), "state_conflict");
        let message = reply.error_message();
        assert!(message.contains(state), "{message}");
    }
    assert!(state_changes(&t).is_empty(), "{:?}", t.stub.operations());
}

#[tokio::test]
async fn someone_elses_and_missing_notebooks_are_404_alike_and_unchanged() {
    let t = TestGate::new().await;
    for route in [start_notebook, stop_notebook] {
        let mut requests = not_theirs(route);
        requests.push(("BOB-NB", route("BOB-NB")));
        not_found_alike(&t, requests, &OWNERSHIP_READS, calls_made).await;
    }
    assert_eq!(t.stub.status_of("bob-nb"), "InService");
    assert_eq!(t.stub.status_of("untagged-nb"), "InService");
}

#[tokio::test]
async fn a_disabled_action_is_403_before_any_call() {
    let t = TestGate::with_env(&[("LIFECYCLE", "stop")]).await;
    let reply = t.send(start_notebook("alice-stopped")).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.error_code(), "action_disabled");
    assert!(t.stub.calls().is_empty());
    assert_eq!(t.send(stop_notebook("alice-nb")).await.status, 202);

    let t = TestGate::with_env(&[("LIFECYCLE", "")]).await;
    for request in [
        start_notebook("alice-stopped"),
        stop_notebook("alice-nb"),
        stop_space("alice-space"),
        start_notebook("bob-nb"),
    ] {
        let reply = t.send(request).await;
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert_eq!(reply.error_code(), "action_disabled");
    }
    assert!(t.stub.calls().is_empty());
    // Opening is not a lifecycle action.
    assert_eq!(t.send(event("http-notebook")).await.status, 200);
}

#[tokio::test]
async fn a_state_change_is_only_ever_a_post() {
    let t = TestGate::new().await;
    for request in [
        start_notebook("alice-stopped"),
        stop_notebook("alice-nb"),
        stop_space("alice-space"),
    ] {
        assert_only_method(&t, &request, "POST").await;
    }
    assert!(t.stub.calls().is_empty());
    // And an open is never a POST.
    assert_only_method(&t, &event("http-notebook"), "GET").await;
}

#[tokio::test]
async fn a_preflight_for_a_lifecycle_route_allows_post() {
    let t = TestGate::new().await;
    let reply = preflight(
        &t,
        with_path(
            event("http-preflight"),
            "/notebook-instances/alice-stopped/start",
        ),
    )
    .await;
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
}

#[tokio::test]
async fn bad_names_and_unknown_actions_call_nothing() {
    let t = TestGate::new().await;
    for path in [
        "/notebook-instances/-bad/start",
        "/notebook-instances/a_b/stop",
        "/notebook-instances//start",
        "/studio/spaces/a.b/stop",
        "/studio/spaces//stop",
    ] {
        let reply = t.send(with_path(event("http-start-notebook"), path)).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.error_code(), "invalid_request");
    }
    for path in [
        "/notebook-instances/alice-nb/restart",
        "/notebook-instances/alice-nb/start/now",
        "/studio/spaces/alice-space/start",
        "/launch/notebook-instances/alice-stopped/start",
    ] {
        assert_not_found(&t.send(with_path(event("http-start-notebook"), path)).await);
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn the_owner_stops_their_spaces_running_app() {
    let t = TestGate::new().await;
    let reply = t.send(event("rest-stop-space")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("15"));
    assert_eq!(
        reply.json(),
        serde_json::json!({
            "result": "stopping",
            "status": "Deleting",
            "retryAfter": 15,
            "apps": [{"appType": "JupyterLab", "appName": "default"}],
            "target": {
                "type": "studio",
                "domainId": DOMAIN_ID,
                "userProfile": "alice",
                "space": "alice-space",
            },
        })
    );
    assert_eq!(
        calls_besides_domain(&t),
        sorted(["ListTags", "DescribeSpace", "ListApps", "DeleteApp"])
    );
    let calls = t.stub.calls();
    let list = &call(&calls, "ListApps").input;
    assert_eq!(list["DomainIdEquals"], DOMAIN_ID);
    assert_eq!(list["SpaceNameEquals"], "alice-space");
    let delete = &call(&calls, "DeleteApp").input;
    assert_eq!(delete["DomainId"], DOMAIN_ID);
    assert_eq!(delete["SpaceName"], "alice-space");
    assert_eq!(delete["AppType"], "JupyterLab");
    assert_eq!(delete["AppName"], "default");
    // The old, deleted app is left alone; the running one is on its way out.
    assert_eq!(t.stub.app_statuses("alice-space"), ["Deleted", "Deleting"]);

    // Asked again while it is being deleted: nothing more is sent.
    t.stub.forget_calls();
    let reply = t.send(event("rest-stop-space")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["result"], "already stopping");
    assert_eq!(reply.json()["apps"], serde_json::json!([]));
    assert!(state_changes(&t).is_empty());
}

#[tokio::test]
async fn a_space_without_a_running_app_is_already_stopped() {
    let t = TestGate::new().await;
    let reply = t.send(as_bob(stop_space("bob-space"))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["result"], "already stopped");
    assert_eq!(body["status"], serde_json::Value::Null);
    assert_eq!(body["apps"], serde_json::json!([]));
    assert_eq!(reply.header("retry-after"), None);
    assert!(state_changes(&t).is_empty());
}

#[tokio::test]
async fn a_shared_spaces_app_is_stopped_by_its_owner_only() {
    let t = TestGate::new().await;
    // Alice may open team-space (shared), but Bob owns it.
    let reply = t.send(stop_space("team-space")).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.error_code(), "not_space_owner");
    assert_eq!(
        calls_besides_domain(&t),
        sorted(["ListTags", "DescribeSpace"])
    );
    assert_eq!(t.stub.app_statuses("team-space"), ["InService"]);

    let reply = t.send(as_bob(stop_space("team-space"))).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(t.stub.app_statuses("team-space"), ["Deleting"]);
}

#[tokio::test]
async fn someone_elses_private_and_missing_spaces_are_404_alike() {
    let t = TestGate::new().await;
    let requests = ["bob-space", "no-such-space"].map(|space| (space, stop_space(space)));
    not_found_alike(
        &t,
        requests.to_vec(),
        &["ListTags", "DescribeSpace"],
        calls_besides_domain,
    )
    .await;
    // A caller whose profile is not theirs stops nothing, not even their "own" space.
    t.stub.forget_calls();
    let mut mallory = stop_space("alice-space");
    claims(&mut mallory).insert("username".into(), serde_json::json!("mallory"));
    assert_not_found(&t.send(mallory).await);
    assert!(state_changes(&t).is_empty());
    assert_eq!(t.stub.app_statuses("alice-space"), ["Deleted", "InService"]);
}

#[tokio::test]
async fn sagemaker_failures_answer_as_for_opens() {
    for (operation, fault, status, request) in [
        (
            "DescribeNotebookInstance",
            Fault::Throttle,
            429,
            start_notebook("alice-stopped"),
        ),
        (
            "StartNotebookInstance",
            Fault::Throttle,
            429,
            start_notebook("alice-stopped"),
        ),
        (
            "StopNotebookInstance",
            Fault::ServerError,
            502,
            stop_notebook("alice-nb"),
        ),
        (
            "StopNotebookInstance",
            Fault::Denied,
            502,
            stop_notebook("alice-nb"),
        ),
        ("ListApps", Fault::Throttle, 429, stop_space("alice-space")),
        ("DeleteApp", Fault::Denied, 502, stop_space("alice-space")),
        (
            "DescribeSpace",
            Fault::ServerError,
            502,
            stop_space("alice-space"),
        ),
    ] {
        let t = TestGate::new().await;
        t.stub.fault(operation, fault);
        let reply = t.send(request).await;
        assert_eq!(
            reply.status, status,
            "{operation} {fault:?}: {}",
            reply.body
        );
        assert!(!reply.body.contains("boom") && !reply.body.contains("arn:"));
    }
    // A read that fails sends no state change.
    let t = TestGate::new().await;
    t.stub.fault("ListTags", Fault::Throttle);
    assert_eq!(t.send(start_notebook("alice-stopped")).await.status, 429);
    assert!(state_changes(&t).is_empty());
}

#[tokio::test]
async fn while_sagemaker_fails_missing_and_foreign_notebooks_get_the_same_error() {
    let t = TestGate::new().await;
    let requests = ["bob-nb", "no-such-nb"].map(|name| (name, stop_notebook(name)));
    failures_look_alike(&t, &requests, &[("ListTags", Fault::ServerError, 502)]).await;
    assert!(state_changes(&t).is_empty());
}
