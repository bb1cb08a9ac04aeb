use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::shapes::*;
use crate::stub::Fault;

/// The two reads that decide whether the caller may open a notebook instance.
pub const OWNERSHIP_READS: [&str; 2] = ["DescribeNotebookInstance", "ListTags"];

/// Someone else's, an untagged and a missing notebook instance, each through `route`.
pub fn not_theirs(route: fn(&str) -> serde_json::Value) -> Vec<(&'static str, serde_json::Value)> {
    ["bob-nb", "untagged-nb", "no-such-nb"]
        .into_iter()
        .map(|name| (name, route(name)))
        .collect()
}

const SECURITY_HEADERS: [(&str, &str); 3] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
];

#[tokio::test]
async fn owner_gets_json_with_url_expiry_and_target() {
    let t = TestGate::new().await;
    let reply = t.send(event("http-notebook")).await;
    let body = assert_presigned(&reply, "alice-nb");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        body["target"],
        serde_json::json!({"type": "notebook-instance", "name": "alice-nb"})
    );
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(reply.header(name), Some(value), "{name}");
    }
    expect_calls(
        &t,
        [
            "DescribeNotebookInstance",
            "ListTags",
            "CreatePresignedNotebookInstanceUrl",
        ],
    );
    let calls = t.stub.calls();
    let presign = &call(&calls, "CreatePresignedNotebookInstanceUrl").input;
    assert_eq!(presign["NotebookInstanceName"], "alice-nb");
    assert_eq!(presign["SessionExpirationDurationInSeconds"], 43200);
}

#[tokio::test]
async fn browser_gets_a_redirect_from_rest_api() {
    let t = TestGate::new().await;
    let reply = t.send(event("rest-notebook")).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    let location = reply.header("location").unwrap();
    assert!(
        location.starts_with("https://alice-nb.notebook."),
        "{location}"
    );
    assert!(reply.body.is_empty());
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(reply.header(name), Some(value), "{name}");
    }
}

#[tokio::test]
async fn launch_route_redirects_even_when_json_is_accepted() {
    let t = TestGate::new().await;
    let launch = with_header(event("http-launch-notebook"), "accept", "application/json");
    let reply = t.send(launch).await;
    assert_eq!(reply.status, 302);
    assert!(reply.header("location").unwrap().contains("alice-nb"));
}

#[tokio::test]
async fn session_parameter_sets_session_seconds() {
    let t = TestGate::new().await;
    let reply = t
        .send(with_query(event("http-notebook"), &[("session", "3600")]))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        t.stub.calls()[2].input["SessionExpirationDurationInSeconds"],
        3600
    );
}

#[tokio::test]
async fn session_outside_the_allowed_range_is_rejected_before_any_call() {
    let t = TestGate::with_env(&[("SESSION_SECONDS", "7200")]).await;
    for bad in ["1799", "7201", "abc", "3600.5", "-1"] {
        let reply = t
            .send(with_query(event("http-notebook"), &[("session", bad)]))
            .await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.error_code(), "invalid_request");
        assert!(reply.error_message().contains("7200"));
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn group_member_opens_a_shared_notebook() {
    let t = TestGate::new().await;
    let reply = t.send(open_notebook("team-nb")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["target"]["name"], "team-nb");
}

#[tokio::test]
async fn rest_api_groups_open_a_shared_notebook() {
    let t = TestGate::new().await;
    let reply = t
        .send(with_path(
            event("rest-notebook"),
            "/notebook-instances/team-nb",
        ))
        .await;
    assert_eq!(reply.status, 302, "{}", reply.body);
}

/// Cognito group names may contain commas, quotes and brackets; none of them may make a person
/// a member of another group.
#[tokio::test]
async fn a_group_whose_name_holds_a_separator_or_quote_opens_nothing_shared_with_another() {
    let t = TestGate::new().await;
    t.stub
        .notebook("comma-nb", "InService", &[(GROUP, "ops,ml-team")])
        .notebook("quoted-nb", "InService", &[(GROUP, "\"ml-team\"")]);
    let cases = [
        // HTTP API flattens the array ["ops,ml-team", "\"ml-team\""] to this string.
        (
            "http-notebook",
            json!("[ops,ml-team \"ml-team\" [ml-team]]"),
        ),
        // REST API, quoted or bracketed names (commas there: see rest_api_groups).
        ("rest-notebook", json!("\"ml-team\",[ml-team], ml-team")),
    ];
    for (shape, groups) in cases {
        for name in ["team-nb", "comma-nb", "quoted-nb"] {
            let mut event = with_path(event(shape), &format!("/notebook-instances/{name}"));
            claims(&mut event).insert("cognito:groups".into(), groups.clone());
            assert_not_found(&t.send(event).await);
        }
        let mut list = with_path(event(shape), "/targets");
        claims(&mut list).insert("cognito:groups".into(), groups.clone());
        let body = t.send(list).await.json();
        let listed: Vec<&str> = body["notebookInstances"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["name"].as_str())
            .collect();
        assert!(
            !listed
                .iter()
                .any(|n| ["team-nb", "comma-nb", "quoted-nb"].contains(n)),
            "{shape}: {listed:?}"
        );
    }
    assert!(!t.stub.called("CreatePresignedNotebookInstanceUrl"));
}

#[tokio::test]
async fn other_users_notebook_is_not_found_and_never_presigned() {
    let t = TestGate::new().await;
    let reply = t.send(open_notebook("bob-nb")).await;
    assert_not_found(&reply);
    expect_calls(&t, OWNERSHIP_READS);
}

#[tokio::test]
async fn non_member_cannot_open_a_group_notebook() {
    let t = TestGate::new().await;
    let reply = t.send(as_bob(open_notebook("team-nb"))).await;
    assert_not_found(&reply);
    assert!(!t.stub.called("CreatePresignedNotebookInstanceUrl"));
}

#[tokio::test]
async fn unknown_and_untagged_notebooks_look_like_other_peoples() {
    let t = TestGate::new().await;
    not_found_alike(&t, not_theirs(open_notebook), &OWNERSHIP_READS, calls_made).await;
    assert!(!t.stub.called("CreatePresignedNotebookInstanceUrl"));
}

#[tokio::test]
async fn pending_notebook_answers_starting_with_retry_after() {
    let t = TestGate::new().await;
    let reply = t.send(open_notebook("alice-pending")).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.header("retry-after"), Some("15"));
    assert_eq!(reply.json()["status"], "starting");
    assert_eq!(reply.json()["target"]["name"], "alice-pending");
    expect_calls(&t, OWNERSHIP_READS);
}

#[tokio::test]
async fn browser_waiting_for_a_notebook_gets_a_page_that_reloads() {
    let t = TestGate::new().await;
    let launch = launch_notebook("alice-pending");
    let reply = t.send(launch).await;
    assert_eq!(reply.status, 202);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        reply
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"15\">")
    );
    assert!(reply.body.contains("alice-pending"));
    assert!(!reply.body.contains("<script"));
    assert!(
        !reply.body.contains("access_token"),
        "the query string is never echoed"
    );
}

#[tokio::test]
async fn stopped_notebook_is_not_running_without_auto_start() {
    let t = TestGate::new().await;
    let reply = t.send(open_notebook("alice-stopped")).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.error_code(), "not_running");
    assert!(reply.error_message().contains("Stopped"));
    assert!(!t.stub.called("StartNotebookInstance"));
}

#[tokio::test]
async fn failed_notebook_is_not_running_even_with_auto_start() {
    let t = TestGate::with_env(&[("AUTO_START", "true")]).await;
    let reply = t.send(open_notebook("alice-failed")).await;
    assert_eq!(reply.status, 409);
    assert!(reply.error_message().contains("Failed"));
}

#[tokio::test]
async fn auto_start_starts_a_stopped_notebook_and_asks_to_wait() {
    let t = TestGate::with_env(&[("AUTO_START", "true")]).await;
    let reply = t.send(open_notebook("alice-stopped")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("15"));
    expect_calls(
        &t,
        [
            "DescribeNotebookInstance",
            "ListTags",
            "StartNotebookInstance",
        ],
    );
    assert_eq!(t.stub.status_of("alice-stopped"), "Pending");
}

#[tokio::test]
async fn auto_start_never_starts_someone_elses_notebook() {
    let t = TestGate::with_env(&[("AUTO_START", "true")]).await;
    t.stub.notebook("bob-stopped", "Stopped", &[(OWNER, BOB)]);
    let reply = t.send(open_notebook("bob-stopped")).await;
    assert_not_found(&reply);
    assert_eq!(t.stub.status_of("bob-stopped"), "Stopped");
}

#[tokio::test]
async fn names_that_sagemaker_would_reject_are_400_without_any_call() {
    let t = TestGate::new().await;
    let long = format!("/notebook-instances/{}", "a".repeat(64));
    for path in [
        "/notebook-instances/",
        "/notebook-instances/bob-nb%2F..",
        "/notebook-instances/%2e%2e",
        "/notebook-instances/alice_nb",
        "/notebook-instances/-alice",
        "/notebook-instances/alice%252Fnb",
        long.as_str(),
    ] {
        let reply = t.send(with_path(event("http-notebook"), path)).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.error_code(), "invalid_request");
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn a_failed_launch_is_a_page_for_the_browser_that_navigated_there() {
    let t = TestGate::new().await;
    let others = launch_notebook("bob-nb");
    let reply = t.send(others).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.body.contains("<h1>Nothing to open here</h1>"));
    assert!(
        reply
            .body
            .contains("Reference: <code>Cx7bJgVSIAMEVxw=</code>")
    );
    assert!(!reply.body.contains("bob"), "{}", reply.body);
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(reply.header(name), Some(value), "{name}");
    }
}

#[tokio::test]
async fn a_failed_launch_stays_json_for_a_client_that_asks_for_json() {
    let t = TestGate::new().await;
    let others = with_path(
        with_header(event("http-launch-notebook"), "accept", "application/json"),
        "/launch/notebook-instances/bob-nb",
    );
    let reply = t.send(others).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code(), "not_found");
}

#[tokio::test]
async fn a_throttled_launch_page_says_when_to_retry() {
    let t = TestGate::new().await;
    t.stub.fault("DescribeNotebookInstance", Fault::Throttle);
    let reply = t.send(event("http-launch-notebook")).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("2"));
    assert!(reply.body.contains("Too many requests right now"));
}

/// No existence oracle: someone else's notebook, an untagged one and a name that does not exist make the
/// same two reads, on the ARN built from the function's own account, and get the same answer.
#[tokio::test]
async fn foreign_untagged_and_missing_names_make_the_same_calls() {
    let t = TestGate::new().await;
    for (name, request) in not_theirs(open_notebook) {
        not_found_alike(&t, vec![(name, request)], &OWNERSHIP_READS, calls_made).await;
        assert_eq!(
            call(&t.stub.calls(), "ListTags").input["ResourceArn"],
            format!("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/{name}")
        );
    }
}

/// No existence oracle under faults: while SageMaker fails, whether a name exists changes nothing the caller sees.
#[tokio::test]
async fn while_sagemaker_fails_missing_and_foreign_names_get_the_same_error() {
    let t = TestGate::new().await;
    let mut requests = not_theirs(open_notebook);
    requests.push(("alice-nb", open_notebook("alice-nb")));
    failures_look_alike(
        &t,
        &requests,
        &[
            ("ListTags", Fault::Throttle, 429),
            ("ListTags", Fault::ServerError, 502),
            ("ListTags", Fault::Denied, 502),
            ("DescribeNotebookInstance", Fault::Throttle, 429),
            ("DescribeNotebookInstance", Fault::ServerError, 502),
        ],
    )
    .await;
    assert!(!t.stub.called("CreatePresignedNotebookInstanceUrl"));
}

/// SageMaker finds notebook instances by name case-insensitively and writes ARNs lower-cased.
#[tokio::test]
async fn mixed_case_names_open_only_what_the_lower_cased_arn_allows() {
    let t = TestGate::new().await;
    let reply = t.send(open_notebook("ALICE-Nb")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["target"]["name"], "alice-nb");
    let calls = t.stub.calls();
    assert_eq!(
        call(&calls, "ListTags").input["ResourceArn"],
        "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/alice-nb"
    );
    assert_eq!(
        call(&calls, "CreatePresignedNotebookInstanceUrl").input["NotebookInstanceName"],
        "alice-nb"
    );
    let requests = ["BOB-NB", "Untagged-Nb", "No-Such-NB"].map(|name| (name, open_notebook(name)));
    not_found_alike(&t, requests.to_vec(), &OWNERSHIP_READS, calls_made).await;
}

#[tokio::test]
async fn a_described_arn_other_than_the_built_one_opens_nothing() {
    let t = TestGate::new().await;
    t.stub.notebook_described_as(
        "moved-nb",
        &[(OWNER, ALICE)],
        "arn:aws:sagemaker:us-east-1:999999999999:notebook-instance/moved-nb",
    );
    let reply = t.send(open_notebook("moved-nb")).await;
    assert_not_found(&reply);
    assert_eq!(t.stub.calls().len(), 2);
}

/// Reads side by side: an open's two reads run at once and the presign waits for both, even when one is
/// slow: two round trips, and nothing presigned before both ownership reads have answered.
#[tokio::test]
async fn an_open_is_two_round_trips_and_presigns_only_after_both_reads() {
    let t = TestGate::new().await;
    t.stub.latency(Duration::from_millis(100));
    for slow in ["ListTags", "DescribeNotebookInstance"] {
        t.stub.clear_faults();
        t.stub.forget_calls();
        t.stub.fault(slow, Fault::Delay(Duration::from_millis(50)));
        let started = Instant::now();
        let reply = t.send(event("http-notebook")).await;
        let elapsed = started.elapsed();
        assert_eq!(reply.status, 200, "{}", reply.body);
        let calls = t.stub.calls();
        let presign = call(&calls, "CreatePresignedNotebookInstanceUrl");
        let slow_read = call(&calls, slow);
        for read in ["ListTags", "DescribeNotebookInstance"] {
            let read = call(&calls, read);
            assert!(read.ended.unwrap() <= presign.started, "{slow}: {read:?}");
            assert!(
                read.started < slow_read.ended.unwrap(),
                "{slow}: the reads overlap"
            );
        }
        assert_eq!(t.stub.max_in_flight(), 2, "{slow}");
        // Reads (100 + 50 ms), then the presign (100 ms); one read after the other would be 350.
        assert!(elapsed >= Duration::from_millis(250), "{slow}: {elapsed:?}");
        assert!(elapsed < Duration::from_millis(330), "{slow}: {elapsed:?}");
    }
}
