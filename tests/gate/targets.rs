use serde_json::Value;

use crate::helpers::*;
use crate::stub::Fault;

fn names(list: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn lists_exactly_what_the_caller_may_open() {
    let t = TestGate::new().await;
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(
        names(&body["notebookInstances"]),
        [
            "alice-failed",
            "alice-nb",
            "alice-pending",
            "alice-stopped",
            "team-nb"
        ]
    );
    let nb = body["notebookInstances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "alice-nb")
        .unwrap();
    assert_eq!(nb["status"], "InService");
    assert_eq!(nb["instanceType"], "ml.t3.medium");
    assert_eq!(nb["open"], "/notebook-instances/alice-nb");
    assert_eq!(nb["launch"], "/launch/notebook-instances/alice-nb");
    let studio = &body["studio"];
    assert_eq!(studio["userProfile"], "alice");
    assert_eq!(studio["launch"], "/launch/studio");
    assert_eq!(names(&studio["spaces"]), ["alice-space", "team-space"]);
    assert!(!reply.body.contains("bob-nb") && !reply.body.contains("bob-space"));
    assert_eq!(body["uncheckedNotebookInstances"], 0);
}

/// Issue 19 #5: one notebook whose tags cannot be read no longer fails everyone's list.
#[tokio::test]
async fn a_notebook_whose_tags_cannot_be_read_is_left_out_and_counted() {
    let t = TestGate::new().await;
    for fault in [Fault::Throttle, Fault::ServerError, Fault::Denied] {
        t.stub.clear_faults();
        t.stub
            .fault_matching("ListTags", "notebook-instance/alice-pending", fault);
        t.stub
            .fault_matching("ListTags", "notebook-instance/bob-nb", fault);
        let reply = t.send(event("http-targets")).await;
        assert_eq!(reply.status, 200, "{fault:?}: {}", reply.body);
        let body = reply.json();
        assert_eq!(
            names(&body["notebookInstances"]),
            ["alice-failed", "alice-nb", "alice-stopped", "team-nb"],
            "{fault:?}: never listed unchecked"
        );
        assert_eq!(body["uncheckedNotebookInstances"], 2, "{fault:?}");
        assert_eq!(body["studio"]["userProfile"], "alice");
    }
}

#[tokio::test]
async fn a_failing_list_call_still_fails_targets() {
    let t = TestGate::new().await;
    t.stub.fault("ListNotebookInstances", Fault::Throttle);
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert_eq!(reply.error_code(), "throttled");
    t.stub.clear_faults();
    t.stub.fault("ListNotebookInstances", Fault::ServerError);
    assert_eq!(t.send(event("http-targets")).await.status, 502);
}

#[tokio::test]
async fn bob_sees_his_own_and_not_alices() {
    let t = TestGate::new().await;
    let reply = t.send(as_bob(event("http-targets"))).await;
    let body = reply.json();
    assert_eq!(names(&body["notebookInstances"]), ["bob-nb"]);
    assert_eq!(body["studio"]["userProfile"], "bob");
    assert_eq!(
        names(&body["studio"]["spaces"]),
        ["bob-space", "team-space"]
    );
}

#[tokio::test]
async fn rest_api_targets_use_comma_separated_groups() {
    let t = TestGate::new().await;
    let reply = t.send(event("rest-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(names(&reply.json()["notebookInstances"]).contains(&"team-nb"));
}

#[tokio::test]
async fn callers_without_an_owned_profile_get_no_studio() {
    let t = TestGate::new().await;
    let mut mallory = event("http-targets");
    claims(&mut mallory).insert("username".into(), "mallory".into());
    let body = t.send(mallory).await.json();
    assert_eq!(body["studio"], Value::Null);
    assert!(!t.stub.operations().contains(&"ListSpaces".to_string()));
}

#[tokio::test]
async fn without_a_domain_only_notebooks_are_listed() {
    let t = TestGate::with_env(&[("STUDIO_DOMAIN_ID", "<unset>")]).await;
    let body = t.send(event("http-targets")).await.json();
    assert_eq!(body["studio"], Value::Null);
    let ops = t.stub.operations();
    assert_eq!(
        ops.iter().filter(|o| *o == "ListNotebookInstances").count(),
        1
    );
    assert_eq!(
        ops.iter().filter(|o| *o == "ListTags").count(),
        7,
        "one per notebook instance"
    );
    assert!(
        !ops.iter()
            .any(|o| o.contains("Domain") || o.contains("Space"))
    );
}

#[tokio::test]
async fn targets_say_whether_a_stopped_notebook_will_be_started() {
    let off = TestGate::new().await;
    assert_eq!(
        off.send(event("http-targets")).await.json()["autoStart"],
        false
    );
    let on = TestGate::with_env(&[("AUTO_START", "true")]).await;
    assert_eq!(
        on.send(event("http-targets")).await.json()["autoStart"],
        true
    );
}
