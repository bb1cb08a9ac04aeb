use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::shapes::*;
use crate::stub::Fault;

#[tokio::test]
async fn no_authorizer_context_is_401_even_with_claims_in_headers_query_or_body() {
    let t = TestGate::new().await;
    let mut forged = without_authorizer(event("http-notebook"));
    forged = with_header(forged, "x-amzn-oidc-identity", ALICE);
    forged = with_header(forged, "sub", ALICE);
    forged = with_query(forged, &[("sub", ALICE), ("cognito:username", "alice")]);
    forged["body"] = json!(format!("{{\"sub\":\"{ALICE}\"}}"));
    for event in [forged, without_authorizer(event("rest-targets"))] {
        let reply = t.send(event).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(reply.error_code(), "unauthenticated");
        assert!(
            !reply.json()["error"]["requestId"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn missing_owner_claim_is_401() {
    let t = TestGate::new().await;
    let mut event = event("http-notebook");
    claims(&mut event).remove("sub");
    let reply = t.send(event).await;
    assert_eq!(reply.status, 401);
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn a_configured_owner_claim_is_used() {
    let t = TestGate::with_env(&[("OWNER_CLAIM", "username")]).await;
    t.stub
        .notebook("named-nb", "InService", &[(OWNER, "alice")]);
    let mut request = open_notebook("named-nb");
    claims(&mut request).insert("username".into(), serde_json::json!("alice"));
    let reply = t.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Alice's sub no longer opens what is tagged with it.
    let mut request = event("http-notebook");
    claims(&mut request).insert("username".into(), serde_json::json!("alice"));
    assert_not_found(&t.send(request).await);
}

#[tokio::test]
async fn callers_outside_the_allowed_networks_get_403_before_any_call() {
    let t = TestGate::with_env(&[("ALLOWED_SOURCE_CIDRS", "198.51.100.0/24,2001:db8::/32")]).await;
    let reply = t.send(event("http-notebook")).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_code(), "source_not_allowed");
    assert!(t.stub.calls().is_empty());

    let mut inside = event("http-notebook");
    inside["requestContext"]["http"]["sourceIp"] = json!("198.51.100.25");
    assert_eq!(t.send(inside).await.status, 200);
    let mut rest_inside = event("rest-notebook");
    rest_inside["requestContext"]["identity"]["sourceIp"] = json!("2001:db8::1");
    assert_eq!(t.send(rest_inside).await.status, 302);
}

#[tokio::test]
async fn other_methods_are_405_and_unknown_routes_404() {
    let t = TestGate::new().await;
    assert_only_method(&t, &event("http-notebook"), "GET").await;
    for path in [
        "/",
        "/admin",
        "/notebook-instances/a/b",
        "/launch/targets",
        "/notebook-instances/../targets",
    ] {
        let reply = t.send(with_path(event("http-targets"), path)).await;
        assert_not_found(&reply);
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn preflight_echoes_only_an_exactly_allowed_origin() {
    let t = TestGate::new().await;
    let reply = preflight(&t, event("http-preflight")).await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://portal.example.com")
    );
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert!(
        reply
            .header("access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );
    assert_eq!(reply.header("vary"), Some("Origin"));

    for origin in [
        "https://portal.example.com.evil.test",
        "https://portal.example.co",
        "http://portal.example.com",
        "https://evil-portal.example.com",
        "null",
    ] {
        let reply = preflight(&t, with_header(event("http-preflight"), "origin", origin)).await;
        assert_eq!(
            reply.header("access-control-allow-origin"),
            None,
            "{origin}"
        );
        let reply = t
            .send(with_header(event("http-targets"), "origin", origin))
            .await;
        assert_eq!(
            reply.header("access-control-allow-origin"),
            None,
            "{origin}"
        );
    }
    // `/targets` lists; it never presigns, whatever the origin.
    assert!(
        !t.stub
            .operations()
            .contains(&"CreatePresignedNotebookInstanceUrl".into())
    );
}

#[tokio::test]
async fn an_allowed_origin_can_read_answers_and_errors() {
    let t = TestGate::new().await;
    let reply = t.send(event("http-targets")).await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://portal.example.com")
    );
    let error = t.send(with_path(event("http-targets"), "/nope")).await;
    assert_eq!(
        error.header("access-control-allow-origin"),
        Some("https://portal.example.com")
    );
}

#[tokio::test]
async fn a_named_http_api_stage_in_the_path_is_routed() {
    let t = TestGate::new().await;
    let mut staged = with_path(event("http-targets"), "/prod/targets");
    staged["requestContext"]["stage"] = json!("prod");
    assert_eq!(t.send(staged).await.status, 200);
}

#[tokio::test]
async fn long_paths_and_query_strings_are_answered_not_crashed() {
    let t = TestGate::new().await;
    let long_name = "a".repeat(10_000);
    let reply = t.send(open_notebook(&long_name)).await;
    assert_eq!(reply.status, 400);
    let junk = "x".repeat(10_000);
    let reply = t
        .send(with_query(
            event("http-notebook"),
            &[("junk", &junk), ("access_token", "abc")],
        ))
        .await;
    assert_eq!(reply.status, 200, "unknown parameters are ignored");
    assert!(!reply.body.contains(&junk));
}

#[tokio::test]
async fn a_raw_query_a_uri_may_not_hold_is_answered_not_crashed() {
    // HTTP API passes the query as the client sent it; lambda_http alone panics on these bytes.
    let t = TestGate::new().await;
    let mut hostile = event("http-studio");
    hostile["rawQueryString"] = json!("space=\"alice-space\"&app=<script>{x}|`^ é");
    let reply = t.send(hostile).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error_code(), "invalid_request");
    assert!(!reply.body.contains("<script>"), "input is never echoed");

    let mut spaced = event("http-studio");
    spaced["rawQueryString"] = json!("space=alice-space&note=a b\"c");
    let reply = t.send(spaced).await;
    assert_eq!(
        reply.status, 200,
        "the known parameters still count: {}",
        reply.body
    );
    assert_eq!(reply.json()["target"]["space"], "alice-space");
}

#[tokio::test]
async fn throttling_is_429_with_retry_after() {
    let t = TestGate::new().await;
    t.stub.fault("DescribeNotebookInstance", Fault::Throttle);
    let reply = t.send(event("http-notebook")).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.error_code(), "throttled");
    assert_eq!(reply.header("retry-after"), Some("2"));
    assert!(!t.stub.called("CreatePresignedNotebookInstanceUrl"));
}

#[tokio::test]
async fn sagemaker_failures_are_502_without_their_text() {
    let t = TestGate::new().await;
    t.stub
        .fault("CreatePresignedNotebookInstanceUrl", Fault::ServerError);
    let reply = t.send(event("http-notebook")).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.error_code(), "upstream_error");
    assert!(!reply.body.contains("boom") && !reply.body.contains("InternalFailure"));

    t.stub.clear_faults();
    t.stub.fault("ListTags", Fault::Drop);
    assert_eq!(t.send(event("http-notebook")).await.status, 502);
    t.stub.clear_faults();
    assert_eq!(
        t.send(event("http-notebook")).await.status,
        200,
        "the next request is served"
    );
}

#[tokio::test]
async fn a_slow_sagemaker_is_504_within_the_operation_timeout() {
    let t = TestGate::new().await;
    t.stub.fault(
        "DescribeNotebookInstance",
        Fault::Delay(Duration::from_secs(30)),
    );
    let started = Instant::now();
    let reply = t.send(event("http-notebook")).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert_eq!(reply.error_code(), "upstream_timeout");
    assert!(
        took <= notebook_gate::sagemaker::OPERATION_TIMEOUT + Duration::from_secs(1),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_request_slowed_at_every_call_still_ends_by_the_deadline() {
    let t = TestGate::new().await;
    // Each call alone stays under the SDK's attempt timeout; `/targets` reads its sides at once,
    // but with 22 notebook instances of alice's the notebook side alone makes four waves one
    // after another (the index, then three of 8 describes), which passes the deadline.
    for i in 0..17 {
        t.stub
            .notebook(&format!("more-{i}"), "InService", &[(OWNER, ALICE)]);
    }
    for operation in [
        "GetResources",
        "DescribeNotebookInstance",
        "DescribeDomain",
        "ListSpaces",
    ] {
        t.stub
            .fault(operation, Fault::Delay(Duration::from_millis(2900)));
    }
    let started = Instant::now();
    let reply = t.send(event("http-targets")).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert_eq!(reply.error_code(), "upstream_timeout");
    assert!(took >= notebook_gate::REQUEST_DEADLINE, "{took:?}");
    assert!(
        took <= notebook_gate::REQUEST_DEADLINE + Duration::from_secs(1),
        "{took:?}"
    );
}
