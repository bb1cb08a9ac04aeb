use serde_json::Value;

use crate::helpers::*;
use crate::stub::{DOMAIN_ID, Fault, SINCE};

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
    assert!(!t.stub.called("ListSpaces"));
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

#[tokio::test]
async fn targets_say_what_runs_since_when_and_what_may_be_started_or_stopped() {
    let t = TestGate::new().await;
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["lifecycle"], serde_json::json!(["start", "stop"]));
    assert_eq!(body["longRunningSeconds"], 8 * 3600);
    let notebook = |name: &str| {
        body["notebookInstances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap()
            .clone()
    };
    let nb = notebook("alice-stopped");
    assert_eq!(nb["since"], SINCE);
    assert_eq!(nb["start"], "/notebook-instances/alice-stopped/start");
    assert_eq!(nb["stop"], "/notebook-instances/alice-stopped/stop");

    let spaces = body["studio"]["spaces"].as_array().unwrap();
    let space = |name: &str| spaces.iter().find(|s| s["name"] == name).unwrap().clone();
    // The running app, not the older deleted one.
    assert_eq!(
        space("alice-space")["app"],
        serde_json::json!({
            "appType": "JupyterLab",
            "appName": "default",
            "status": "InService",
            "instanceType": "ml.t3.medium",
            "since": SINCE,
        })
    );
    assert_eq!(
        space("alice-space")["stop"],
        "/studio/spaces/alice-space/stop"
    );
    // Alice may open the shared space but not stop it: Bob owns it.
    assert_eq!(space("team-space")["app"]["instanceType"], "ml.g5.xlarge");
    assert!(space("team-space").get("stop").is_none());

    // One ListApps for the whole domain, no call per space.
    let calls = t.stub.calls();
    let list = &call(&calls, "ListApps").input;
    assert_eq!(list["DomainIdEquals"], DOMAIN_ID);
    assert!(list.get("SpaceNameEquals").is_none());

    let reply = t.send(as_bob(event("http-targets"))).await;
    let body = reply.json();
    let spaces = body["studio"]["spaces"].as_array().unwrap();
    let bob_space = spaces.iter().find(|s| s["name"] == "bob-space").unwrap();
    assert_eq!(bob_space["app"], serde_json::Value::Null);
    assert_eq!(bob_space["stop"], "/studio/spaces/bob-space/stop");
}

#[tokio::test]
async fn a_space_shows_its_latest_app_when_none_runs_and_apps_are_read_across_pages() {
    let t = TestGate::new().await;
    t.stub.space("quiet-space", Some("alice"), false);
    t.stub
        .app(
            "quiet-space",
            "JupyterLab",
            "default",
            "Deleted",
            "ml.t3.medium",
            10,
        )
        .app(
            "quiet-space",
            "CodeEditor",
            "default",
            "Failed",
            "ml.t3.large",
            20,
        );
    // More apps than one page of ListApps holds (50), the space's own on the last page.
    for i in 0..55 {
        t.stub.app(
            &format!("other-{i}"),
            "JupyterLab",
            "default",
            "InService",
            "ml.t3.medium",
            0,
        );
    }
    t.stub.app(
        "late-space",
        "JupyterLab",
        "default",
        "Pending",
        "ml.m5.large",
        30,
    );
    t.stub.space("late-space", Some("alice"), false);
    let body = t.send(event("http-targets")).await.json();
    let spaces = body["studio"]["spaces"].as_array().unwrap();
    let space = |name: &str| spaces.iter().find(|s| s["name"] == name).unwrap().clone();
    assert_eq!(space("quiet-space")["app"]["appType"], "CodeEditor");
    assert_eq!(space("quiet-space")["app"]["status"], "Failed");
    assert_eq!(space("late-space")["app"]["status"], "Pending");
    assert_eq!(space("late-space")["app"]["instanceType"], "ml.m5.large");
    let pages = t
        .stub
        .operations()
        .iter()
        .filter(|o| *o == "ListApps")
        .count();
    assert_eq!(pages, 2);
}

#[tokio::test]
async fn targets_offer_only_the_allowed_actions() {
    let t = TestGate::with_env(&[("LIFECYCLE", "stop"), ("LONG_RUNNING_HOURS", "3")]).await;
    let body = t.send(event("http-targets")).await.json();
    assert_eq!(body["lifecycle"], serde_json::json!(["stop"]));
    assert_eq!(body["longRunningSeconds"], 3 * 3600);
    for nb in body["notebookInstances"].as_array().unwrap() {
        assert!(nb.get("start").is_none(), "{nb}");
        assert!(nb["stop"].as_str().unwrap().ends_with("/stop"));
    }

    let t = TestGate::with_env(&[("LIFECYCLE", "")]).await;
    let body = t.send(event("http-targets")).await.json();
    assert_eq!(body["lifecycle"], serde_json::json!([]));
    for nb in body["notebookInstances"].as_array().unwrap() {
        assert!(
            nb.get("start").is_none() && nb.get("stop").is_none(),
            "{nb}"
        );
    }
    for space in body["studio"]["spaces"].as_array().unwrap() {
        assert!(space.get("stop").is_none(), "{space}");
        assert!(
            space.get("app").is_some(),
            "what runs is shown whatever may be done"
        );
    }
}

#[tokio::test]
async fn a_failing_app_list_fails_targets_like_the_space_list() {
    let t = TestGate::new().await;
    t.stub.fault("ListApps", Fault::Throttle);
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert!(t.stub.called("ListSpaces"), "read together");
}
