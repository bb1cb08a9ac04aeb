//! MLflow tracking servers and apps: opened as notebook instances are, by their owner
//! or group tag, through one presign made only after both reads agreed.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::logs::{audit_lines, logs_of};
use crate::shapes::*;
use crate::stub::{Call, Fault, URL_SECRET};
use notebook_gate::mlflow::states::{MLFLOW_APP_STATES, TRACKING_SERVER_STATES};

const TS_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/";
const APP_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/";
const TS_PRESIGN: &str = "CreatePresignedMlflowTrackingServerUrl";
const APP_PRESIGN: &str = "CreatePresignedMlflowAppUrl";
const START: &str = "StartMlflowTrackingServer";

/// The demo world plus MLflow: Alice's own, one shared with `ml-team`, Bob's.
async fn mlflow_gate(extra_env: &[(&str, &str)]) -> TestGate {
    let mut env = vec![("MLFLOW", "true")];
    env.extend_from_slice(extra_env);
    let t = TestGate::with_env(&env).await;
    t.stub
        .tracking_server("alice-mlflow", "Started", &[(OWNER, ALICE)], None)
        .tracking_server("team-mlflow", "Created", &[(GROUP, "ml-team")], None)
        .tracking_server("bob-mlflow", "Started", &[(OWNER, BOB)], None)
        .mlflow_app("app-alice", "alice-app", "Created", &[(OWNER, ALICE)])
        .mlflow_app("app-team", "team-app", "Updated", &[(GROUP, "ml-team")])
        .mlflow_app("app-bob", "bob-app", "Created", &[(OWNER, BOB)]);
    t
}

fn tracking_server(name: &str) -> Value {
    with_path(
        event("http-notebook"),
        &format!("/mlflow/tracking-servers/{name}"),
    )
}

fn app(id: &str) -> Value {
    with_path(event("http-notebook"), &format!("/mlflow/apps/{id}"))
}

fn launch(event: Value) -> Value {
    let path = event["rawPath"].as_str().unwrap().to_owned();
    with_path(event, &format!("/launch{path}"))
}

#[tokio::test]
async fn owner_opens_a_tracking_server_as_json_with_one_presign() {
    let t = mlflow_gate(&[]).await;
    let reply = t.send(tracking_server("alice-mlflow")).await;
    let body = assert_presigned(&reply, "alice-mlflow");
    assert_eq!(
        body["target"],
        json!({"type": "mlflow-tracking-server", "name": "alice-mlflow"})
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    expect_calls(&t, ["DescribeMlflowTrackingServer", "ListTags", TS_PRESIGN]);
    let calls = t.stub.calls();
    assert_eq!(
        call(&calls, "ListTags").input["ResourceArn"],
        format!("{TS_ARN}alice-mlflow")
    );
    let presign = &call(&calls, TS_PRESIGN).input;
    assert_eq!(presign["TrackingServerName"], "alice-mlflow");
    // URL_EXPIRES_SECONDS (default 60) and the session (default SESSION_SECONDS).
    assert_eq!(presign["ExpiresInSeconds"], 60);
    assert_eq!(presign["SessionExpirationDurationInSeconds"], 43200);
}

#[tokio::test]
async fn presign_lifetimes_follow_url_expires_seconds_and_the_session_parameter() {
    let t = mlflow_gate(&[("URL_EXPIRES_SECONDS", "300")]).await;
    let reply = t
        .send(with_query(
            tracking_server("alice-mlflow"),
            &[("session", "3600")],
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = t
        .send(with_query(app("app-alice"), &[("session", "1800")]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let calls = t.stub.calls();
    let server = &call(&calls, TS_PRESIGN).input;
    assert_eq!(server["ExpiresInSeconds"], 300);
    assert_eq!(server["SessionExpirationDurationInSeconds"], 3600);
    let app = &call(&calls, APP_PRESIGN).input;
    assert_eq!(app["ExpiresInSeconds"], 300);
    assert_eq!(app["SessionExpirationDurationInSeconds"], 1800);
}

#[tokio::test]
async fn owner_opens_an_app_by_its_arn_as_json() {
    let t = mlflow_gate(&[]).await;
    let reply = t.send(app("app-alice")).await;
    let body = assert_presigned(&reply, "app-alice");
    assert_eq!(
        body["target"],
        json!({"type": "mlflow-app", "id": "app-alice", "name": "alice-app"})
    );
    expect_calls(&t, ["DescribeMlflowApp", "ListTags", APP_PRESIGN]);
    let calls = t.stub.calls();
    let arn = format!("{APP_ARN}app-alice");
    assert_eq!(call(&calls, "DescribeMlflowApp").input["Arn"], arn);
    assert_eq!(call(&calls, "ListTags").input["ResourceArn"], arn);
    let presign = &call(&calls, APP_PRESIGN).input;
    assert_eq!(presign["Arn"], arn);
    assert_eq!(presign["ExpiresInSeconds"], 60);
    assert_eq!(presign["SessionExpirationDurationInSeconds"], 43200);
}

#[tokio::test]
async fn browsers_are_redirected_from_rest_and_launch_routes() {
    let t = mlflow_gate(&[]).await;
    for (event, expected) in [
        (
            with_path(
                event("rest-notebook"),
                "/mlflow/tracking-servers/alice-mlflow",
            ),
            "https://t-alice-mlflow.",
        ),
        (
            with_path(event("rest-notebook"), "/mlflow/apps/app-alice"),
            "https://app-app-alice.",
        ),
        (
            launch(tracking_server("alice-mlflow")),
            "https://t-alice-mlflow.",
        ),
        (launch(app("app-alice")), "https://app-app-alice."),
    ] {
        let reply = t.send(event).await;
        assert_eq!(reply.status, 302, "{}", reply.body);
        let location = reply.header("location").unwrap();
        assert!(location.starts_with(expected), "{location}");
        assert!(reply.body.is_empty());
    }
    // Each open presigned its own URL: four opens, four presigns, nothing reused.
    let presigns = t
        .stub
        .operations()
        .iter()
        .filter(|o| o.starts_with("CreatePresignedMlflow"))
        .count();
    assert_eq!(presigns, 4);
}

#[tokio::test]
async fn a_second_open_presigns_again() {
    let t = mlflow_gate(&[]).await;
    for _ in 0..2 {
        assert_eq!(t.send(tracking_server("alice-mlflow")).await.status, 200);
        assert_eq!(t.send(app("app-alice")).await.status, 200);
    }
    let ops = t.stub.operations();
    assert_eq!(ops.iter().filter(|o| *o == TS_PRESIGN).count(), 2);
    assert_eq!(ops.iter().filter(|o| *o == APP_PRESIGN).count(), 2);
}

#[tokio::test]
async fn group_tags_open_for_members_only() {
    let t = mlflow_gate(&[]).await;
    assert_eq!(t.send(tracking_server("team-mlflow")).await.status, 200);
    let reply = t.send(app("app-team")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["target"]["name"], "team-app");
    // Bob is in `analysts`, not `ml-team`.
    assert_not_found(&t.send(as_bob(tracking_server("team-mlflow"))).await);
    assert_not_found(&t.send(as_bob(app("app-team"))).await);
}

#[tokio::test]
async fn someone_elses_and_missing_look_the_same() {
    let t = mlflow_gate(&[]).await;
    let server_reads = ["DescribeMlflowTrackingServer", "ListTags"];
    let cases = [
        (
            tracking_server("bob-mlflow"),
            tracking_server("no-such-server"),
            server_reads,
        ),
        (
            app("app-bob"),
            app("no-such-app"),
            ["DescribeMlflowApp", "ListTags"],
        ),
        (
            as_bob(tracking_server("alice-mlflow")),
            tracking_server("nobody"),
            server_reads,
        ),
    ];
    for (foreign, missing, reads) in cases {
        let requests = vec![("foreign", foreign), ("missing", missing)];
        not_found_alike(&t, requests, &reads, calls_made).await;
        assert!(!t.stub.called(TS_PRESIGN) && !t.stub.called(APP_PRESIGN));
    }
}

#[tokio::test]
async fn a_described_arn_other_than_the_built_one_opens_nothing() {
    let t = mlflow_gate(&[]).await;
    t.stub.tracking_server(
        "moved-mlflow",
        "Started",
        &[(OWNER, ALICE)],
        Some("arn:aws:sagemaker:us-east-1:999999999999:mlflow-tracking-server/moved-mlflow"),
    );
    assert_not_found(&t.send(tracking_server("moved-mlflow")).await);
    assert!(!t.stub.called(TS_PRESIGN));
}

#[tokio::test]
async fn every_tracking_server_state_has_its_answer() {
    for auto_start in ["false", "true"] {
        let t = mlflow_gate(&[("AUTO_START", auto_start)]).await;
        for state in TRACKING_SERVER_STATES {
            let name = format!("ts-{}", state.to_ascii_lowercase());
            t.stub
                .tracking_server(&name, state, &[(OWNER, ALICE)], None);
            t.stub.forget_calls();
            let reply = t.send(tracking_server(&name)).await;
            let case = format!("{state} with AUTO_START={auto_start}: {}", reply.body);
            match state {
                "Created" | "Updated" | "Started" | "MaintenanceComplete" => {
                    assert_eq!(reply.status, 200, "{case}");
                    assert!(t.stub.called(TS_PRESIGN), "{case}");
                }
                "Creating" | "Updating" | "Starting" | "MaintenanceInProgress" => {
                    assert_eq!(reply.status, 202, "{case}");
                    assert_eq!(reply.json()["status"], "starting", "{case}");
                    assert_eq!(reply.header("retry-after"), Some("15"));
                    assert_eq!(reply.json()["target"]["type"], "mlflow-tracking-server");
                }
                "Stopped" if auto_start == "true" => {
                    assert_eq!(reply.status, 202, "{case}");
                    assert!(t.stub.called(START), "{case}");
                    assert_eq!(t.stub.tracking_server_status(&name), "Starting");
                }
                _ => {
                    assert_eq!(reply.status, 409, "{case}");
                    assert_eq!(reply.error_code(), "not_running", "{case}");
                    let message = reply.error_message();
                    assert!(message.contains(state), "{case}");
                }
            }
            let presigned = t.stub.called(TS_PRESIGN);
            let started = t.stub.called(START);
            assert!(!(presigned && started), "{case}");
            assert_eq!(
                started,
                state == "Stopped" && auto_start == "true",
                "{case}"
            );
            assert!(t.stub.operations().len() <= 3, "{case}");
        }
    }
}

#[tokio::test]
async fn every_app_state_has_its_answer() {
    let t = mlflow_gate(&[("AUTO_START", "true")]).await;
    for state in MLFLOW_APP_STATES {
        let id = format!("app-{}", state.to_ascii_lowercase());
        t.stub.mlflow_app(&id, "x", state, &[(OWNER, ALICE)]);
        t.stub.forget_calls();
        let reply = t.send(app(&id)).await;
        let case = format!("{state}: {}", reply.body);
        match state {
            "Created" | "Updated" => assert_eq!(reply.status, 200, "{case}"),
            "Creating" | "Updating" => {
                assert_eq!(reply.status, 202, "{case}");
                assert_eq!(reply.json()["target"]["id"], id.as_str());
            }
            _ => {
                assert_eq!(reply.status, 409, "{case}");
                assert!(reply.body.contains(state), "{case}");
            }
        }
        assert_eq!(
            t.stub.called(APP_PRESIGN),
            matches!(state, "Created" | "Updated"),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_browser_waits_on_a_page_that_names_the_tracking_server() {
    let t = mlflow_gate(&[("AUTO_START", "true")]).await;
    t.stub
        .tracking_server("sleepy", "Stopped", &[(OWNER, ALICE)], None);
    // A link never starts it, auto-start or not: its token is in the URL.
    let reply = t.send(launch(tracking_server("sleepy"))).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(!t.stub.called(START));
    // The portal's open (token in the header) starts it; the link then waits on a page.
    assert_eq!(t.send(tracking_server("sleepy")).await.status, 202);
    let reply = t.send(launch(tracking_server("sleepy"))).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(reply.body.contains("Starting sleepy"), "{}", reply.body);
    assert!(
        reply.body.contains("MLflow tracking server"),
        "{}",
        reply.body
    );
    assert!(t.stub.called(START));
}

#[tokio::test]
async fn nothing_is_presigned_or_started_when_either_read_fails() {
    let faults = [
        Fault::Throttle,
        Fault::ServerError,
        Fault::Denied,
        Fault::Drop,
    ];
    for (route, read) in [
        ("alice-mlflow", "DescribeMlflowTrackingServer"),
        ("alice-mlflow", "ListTags"),
        ("stopped-mlflow", "DescribeMlflowTrackingServer"),
        ("stopped-mlflow", "ListTags"),
        ("app-alice", "DescribeMlflowApp"),
        ("app-alice", "ListTags"),
    ] {
        for fault in faults {
            let t = mlflow_gate(&[("AUTO_START", "true")]).await;
            t.stub
                .tracking_server("stopped-mlflow", "Stopped", &[(OWNER, ALICE)], None);
            t.stub.fault(read, fault);
            let event = if route.starts_with("app-") {
                app(route)
            } else {
                tracking_server(route)
            };
            let reply = t.send(event).await;
            let case = format!("{route} with {read} {fault:?}: {}", reply.body);
            assert!(reply.status >= 429, "{case}");
            assert!(!t.stub.called(TS_PRESIGN), "{case}");
            assert!(!t.stub.called(APP_PRESIGN), "{case}");
            assert!(!t.stub.called(START), "{case}");
            assert!(!reply.body.contains(URL_SECRET), "{case}");
        }
    }
}

#[tokio::test]
async fn while_tags_fail_a_missing_name_and_someone_elses_get_the_same_error() {
    let t = mlflow_gate(&[]).await;
    let requests = [
        ("foreign", tracking_server("bob-mlflow")),
        ("missing", tracking_server("no-such-server")),
    ];
    failures_look_alike(&t, &requests, &[("ListTags", Fault::Throttle, 429)]).await;
}

#[tokio::test]
async fn with_mlflow_off_the_routes_do_not_exist_and_nothing_is_called() {
    let t = TestGate::new().await;
    t.stub
        .tracking_server("alice-mlflow", "Started", &[(OWNER, ALICE)], None)
        .mlflow_app("app-alice", "alice-app", "Created", &[(OWNER, ALICE)]);
    for event in [
        tracking_server("alice-mlflow"),
        app("app-alice"),
        with_header(
            launch(tracking_server("alice-mlflow")),
            "accept",
            "application/json",
        ),
        with_header(launch(app("app-alice")), "accept", "application/json"),
        tracking_server("not_a-valid-name"),
    ] {
        assert_not_found(&t.send(event).await);
    }
    assert!(t.stub.calls().is_empty(), "{:?}", t.stub.operations());
}

#[tokio::test]
async fn bad_names_are_400_before_any_call() {
    let t = mlflow_gate(&[]).await;
    let long = "x".repeat(257);
    let long_id = "x".repeat(65);
    for (event, what) in [
        (tracking_server("-alice"), "tracking server name"),
        (tracking_server("a_b"), "tracking server name"),
        (tracking_server("a.b"), "tracking server name"),
        (tracking_server(&long), "tracking server name"),
        (tracking_server(""), "tracking server name"),
        (app("a_b"), "MLflow app id"),
        (app("a%2Fb"), "MLflow app id"),
        (app(&long_id), "MLflow app id"),
        (app(""), "MLflow app id"),
    ] {
        let reply = t.send(event).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.error_code(), "invalid_request");
        let message = reply.error_message();
        assert!(message.starts_with(what), "{message}");
    }
    // A path segment more is no route at all.
    assert_not_found(&t.send(tracking_server("a/b")).await);
    assert!(t.stub.calls().is_empty(), "{:?}", t.stub.operations());
}

#[tokio::test]
async fn the_audit_line_has_the_route_template_and_no_url() {
    let t = mlflow_gate(&[]).await;
    let (log, statuses) = logs_of(
        &t,
        vec![
            tracking_server("alice-mlflow"),
            launch(app("app-alice")),
            tracking_server("bob-mlflow"),
        ],
    )
    .await;
    assert_eq!(statuses, [200, 302, 404]);
    assert!(!log.contains(URL_SECRET), "a presigned URL reached the log");
    assert!(
        !log.contains("experiments.sagemaker.aws"),
        "a URL reached the log"
    );
    let audit = audit_lines(&log);
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0]["route"], "/mlflow/tracking-servers/{name}");
    assert_eq!(audit[0]["resource"], "mlflow-tracking-server/alice-mlflow");
    assert_eq!(audit[0]["sagemaker_calls"], 3);
    assert_eq!(audit[1]["route"], "/launch/mlflow/apps/{id}");
    assert_eq!(audit[1]["resource"], "mlflow-app/app-alice");
    assert_eq!(audit[2]["route"], "/mlflow/tracking-servers/{name}");
    assert_eq!(audit[2]["resource"], "-");
    assert_eq!(audit[2]["sagemaker_calls"], 2);
    for line in &audit {
        assert!(!line["route"].as_str().unwrap().contains("alice"), "{line}");
    }
}

#[tokio::test]
async fn targets_list_the_callers_own_and_group_tracking_servers_and_apps() {
    let t = mlflow_gate(&[]).await;
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(
        names(&body["mlflowTrackingServers"]),
        ["alice-mlflow", "team-mlflow"]
    );
    assert_eq!(names(&body["mlflowApps"]), ["alice-app", "team-app"]);
    assert_eq!(body["someMlflowUnchecked"], false);
    let server = item(&body["mlflowTrackingServers"], "name", "alice-mlflow");
    assert_eq!(
        *server,
        json!({
            "name": "alice-mlflow", "status": "Started", "mlflowVersion": "2.16.2",
            "since": crate::stub::SINCE, "size": "Small",
            "open": "/mlflow/tracking-servers/alice-mlflow",
            "launch": "/launch/mlflow/tracking-servers/alice-mlflow",
        })
    );
    let app = item(&body["mlflowApps"], "id", "app-alice");
    assert_eq!(
        *app,
        json!({
            "id": "app-alice", "name": "alice-app", "status": "Created", "mlflowVersion": "2.16.2",
            "since": crate::stub::SINCE,
            "open": "/mlflow/apps/app-alice", "launch": "/launch/mlflow/apps/app-alice",
        })
    );
    // The Tagging API found them (one query for the owner tag, one for the groups, both typed
    // to MLflow besides notebooks); only the caller's are described, Bob's never read.
    let calls = t.stub.calls();
    let queries: Vec<&Call> = calls
        .iter()
        .filter(|c| c.operation == "GetResources")
        .collect();
    assert_eq!(queries.len(), 2);
    for query in &queries {
        assert_eq!(
            query.input["ResourceTypeFilters"],
            json!([
                "sagemaker:notebook-instance",
                "sagemaker:mlflow-tracking-server",
                "sagemaker:mlflow-app"
            ])
        );
    }
    let described: Vec<String> = calls
        .iter()
        .filter_map(|c| match c.operation.as_str() {
            "DescribeMlflowTrackingServer" => {
                c.input["TrackingServerName"].as_str().map(str::to_owned)
            }
            "DescribeMlflowApp" => c.input["Arn"].as_str().map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(
        sorted(described),
        sorted([
            "alice-mlflow".to_owned(),
            "team-mlflow".to_owned(),
            format!("{APP_ARN}app-alice"),
            format!("{APP_ARN}app-team"),
        ])
    );
    // No list of every MLflow resource, no tag read of one (the profile's ListTags is Studio's).
    assert!(!calls.iter().any(|c| c.operation.starts_with("ListMlflow")
        || (c.operation == "ListTags" && c.input.to_string().contains(":mlflow-"))));
    assert!(
        !t.stub
            .operations()
            .iter()
            .any(|o| o.starts_with("CreatePresigned"))
    );
}

#[tokio::test]
async fn targets_leave_out_and_flag_unreadable_mlflow_states_and_fail_on_a_failing_index() {
    let t = mlflow_gate(&[]).await;
    t.stub.fault_matching(
        "DescribeMlflowTrackingServer",
        "\"alice-mlflow\"",
        Fault::Throttle,
    );
    t.stub.fault_matching(
        "DescribeMlflowApp",
        &format!("{APP_ARN}app-team\""),
        Fault::Denied,
    );
    let body = t.send(event("http-targets")).await.json();
    assert_eq!(names(&body["mlflowTrackingServers"]), ["team-mlflow"]);
    assert_eq!(names(&body["mlflowApps"]), ["alice-app"]);
    assert_eq!(body["someMlflowUnchecked"], true);
    assert!(body.get("uncheckedMlflow").is_none());

    t.stub.clear_faults();
    t.stub.fault("GetResources", Fault::ServerError);
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.error_code(), "upstream_error");
}

#[tokio::test]
async fn targets_follow_the_index_through_every_page() {
    let t = mlflow_gate(&[]).await;
    for i in 0..120 {
        t.stub
            .tracking_server(&format!("many-{i:03}"), "Stopped", &[(OWNER, ALICE)], None);
    }
    let body = t.send(event("http-targets")).await.json();
    let listed = body["mlflowTrackingServers"].as_array().unwrap().len();
    assert_eq!(listed, 122, "120 more plus alice-mlflow and team-mlflow");
    // The owner query's 121 matches (and alice's app) take two pages of 100; the group query one.
    let owner_pages: Vec<String> = t
        .stub
        .calls()
        .iter()
        .filter(|c| c.operation == "GetResources")
        .filter(|c| c.input["TagFilters"][0]["Key"] == OWNER)
        .map(|c| c.input["PaginationToken"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(owner_pages, ["", "100"], "pages of 100");
}
