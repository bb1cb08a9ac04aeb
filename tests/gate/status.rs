//! `GET /notebook-instances/{name}/status`: the open's two reads, a JSON answer, no presign.

use crate::helpers::*;
use crate::notebook::{OWNERSHIP_READS, not_theirs};
use crate::shapes::*;
use crate::stub::Fault;

fn status(name: &str) -> serde_json::Value {
    with_path(
        event("http-notebook"),
        &format!("/notebook-instances/{name}/status"),
    )
}

#[tokio::test]
async fn the_owner_reads_where_their_notebook_stands_and_nothing_is_presigned() {
    let t = TestGate::new().await;
    let reply = t.send(status("alice-stopped")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["name"], "alice-stopped");
    assert_eq!(body["status"], "Stopped");
    assert_eq!(body["platformRetired"], false);
    expect_calls(&t, OWNERSHIP_READS);
}

#[tokio::test]
async fn someone_elses_untagged_and_missing_notebooks_look_alike() {
    let t = TestGate::new().await;
    not_found_alike(&t, not_theirs(status), &OWNERSHIP_READS, calls_made).await;
    let requests = [("own", status("alice-nb")), ("foreign", status("bob-nb"))];
    failures_look_alike(&t, &requests, &[("ListTags", Fault::Throttle, 429)]).await;
}

#[tokio::test]
async fn only_get_is_answered() {
    let t = TestGate::new().await;
    assert_only_method(&t, &status("alice-nb"), "GET").await;
}
