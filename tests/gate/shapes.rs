//! The shapes a route's tests take, each written once: the requests for a route, the calls a
//! request made, "not theirs looks like nothing there", "failures look alike", and the method and
//! preflight checks. A new route's tests are these over its request builder.

use std::fmt::Display;

use serde_json::Value;

use crate::helpers::*;
use crate::stub::{Fault, URL_SECRET};

/// `GET /notebook-instances/{name}` as the portal sends it.
pub fn open_notebook(name: &str) -> Value {
    with_path(
        event("http-notebook"),
        &format!("/notebook-instances/{name}"),
    )
}

/// `GET /launch/notebook-instances/{name}`, the link a browser follows.
pub fn launch_notebook(name: &str) -> Value {
    with_path(
        event("http-launch-notebook"),
        &format!("/launch/notebook-instances/{name}"),
    )
}

/// `POST /notebook-instances/{name}/{action}` (`start` or `stop`).
pub fn notebook_action(name: &str, action: &str) -> Value {
    with_path(
        event("http-start-notebook"),
        &format!("/notebook-instances/{name}/{action}"),
    )
}

pub fn start_notebook(name: &str) -> Value {
    notebook_action(name, "start")
}

pub fn stop_notebook(name: &str) -> Value {
    notebook_action(name, "stop")
}

/// `POST /studio/spaces/{space}/stop` from the REST API.
pub fn stop_space(space: &str) -> Value {
    with_path(
        event("rest-stop-space"),
        &format!("/studio/spaces/{space}/stop"),
    )
}

/// `GET /studio?space={space}`.
pub fn open_space(space: &str) -> Value {
    with_query(event("http-studio"), &[("space", space)])
}

/// An open's JSON answer: 200, a URL the stub presigned for `name`, and when it expires. Its body.
#[track_caller]
pub fn assert_presigned(reply: &Reply, name: &str) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let url = body["url"].as_str().unwrap_or_default();
    assert!(url.contains(&format!("{URL_SECRET}-{name}")), "{url}");
    let expires = body["expiresAt"].as_str().unwrap_or_default();
    assert!(expires.ends_with('Z'), "{body}");
    body
}

/// The operations the stub received, in name order.
pub fn calls_made(t: &TestGate) -> Vec<String> {
    sorted(t.stub.operations())
}

/// The operations the stub received besides `DescribeDomain`, which a process makes once, on a
/// domain's first request, in name order.
pub fn calls_besides_domain(t: &TestGate) -> Vec<String> {
    sorted(
        t.stub
            .operations()
            .into_iter()
            .filter(|o| o != "DescribeDomain"),
    )
}

/// The request made exactly these calls, in any order.
#[track_caller]
pub fn expect_calls<S: AsRef<str>>(t: &TestGate, expected: impl IntoIterator<Item = S>) {
    expect_calls_for(t, "", expected);
}

/// `expect_calls`, naming the case in a loop.
#[track_caller]
pub fn expect_calls_for<S: AsRef<str>>(
    t: &TestGate,
    case: impl Display,
    expected: impl IntoIterator<Item = S>,
) {
    assert_eq!(calls_made(t), sorted(expected), "{case}");
}

/// Two answers alike: the same status, and the same body but for the request id.
#[track_caller]
pub fn assert_alike(reply: &Reply, other: &Reply, case: impl Display) {
    assert_eq!(reply.status, other.status, "{case}: {}", reply.body);
    let (mut body, other_body) = (reply.json(), other.json());
    if body.get("error").is_some() {
        body["error"]["requestId"] = other_body["error"]["requestId"].clone();
    }
    assert_eq!(body, other_body, "{case}");
}

/// No existence oracle: each request, for something the caller may not open (someone else's,
/// untagged, shared with another group, or not there at all), is the usual 404, makes exactly
/// `reads` (as `counted` counts them: `calls_made` or `calls_besides_domain`), and gets the same
/// answer as the others.
pub async fn not_found_alike(
    t: &TestGate,
    requests: Vec<(&str, Value)>,
    reads: &[&str],
    counted: fn(&TestGate) -> Vec<String>,
) {
    let mut first: Option<Reply> = None;
    for (case, request) in requests {
        t.stub.forget_calls();
        let reply = t.send(request).await;
        assert_not_found(&reply);
        assert_eq!(counted(t), sorted(reads), "{case}");
        match &first {
            Some(first) => assert_alike(&reply, first, case),
            None => first = Some(reply),
        }
    }
}

/// No existence oracle under faults: while each `(operation, fault)` holds, every request (for
/// what the caller may open and what they may not) gets the same answer (status, `Retry-After`
/// and body but for the request id), and that status is the one given.
pub async fn failures_look_alike(
    t: &TestGate,
    requests: &[(&str, Value)],
    faults: &[(&str, Fault, u16)],
) {
    for &(operation, fault, status) in faults {
        t.stub.clear_faults();
        t.stub.fault(operation, fault);
        let mut first: Option<Reply> = None;
        for (case, request) in requests {
            let reply = t.send(request.clone()).await;
            let case = format!("{operation} {fault:?}, {case}");
            match &first {
                Some(first) => {
                    assert_alike(&reply, first, &case);
                    assert_eq!(reply.header("retry-after"), first.header("retry-after"));
                }
                None => {
                    assert_eq!(reply.status, status, "{case}: {}", reply.body);
                    first = Some(reply);
                }
            }
        }
    }
    t.stub.clear_faults();
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];

/// A route answers `allowed` (and `OPTIONS`) only: every other method is a 405 naming them,
/// with no call made.
pub async fn assert_only_method(t: &TestGate, request: &Value, allowed: &str) {
    let before = t.stub.calls().len();
    for method in METHODS.into_iter().filter(|m| *m != allowed) {
        let reply = t.send(with_method(request.clone(), method)).await;
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(
            reply.header("allow"),
            Some(format!("{allowed}, OPTIONS").as_str())
        );
        assert_eq!(reply.error_code(), "method_not_allowed");
    }
    assert_eq!(t.stub.calls().len(), before, "a 405 calls nothing");
}

/// A CORS preflight: 204, and not one call to SageMaker.
pub async fn preflight(t: &TestGate, request: Value) -> Reply {
    t.stub.forget_calls();
    let reply = t.send(request).await;
    assert_eq!(reply.status, 204);
    assert!(t.stub.calls().is_empty(), "a preflight calls nothing");
    reply
}
