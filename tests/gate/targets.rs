use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::stub::{Call, DOMAIN_ID, DOMAIN_NAME, Fault, SINCE};
use crate::studio::{OTHER_DOMAIN, two_domains};

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
    let nb = item(&body["notebookInstances"], "name", "alice-nb");
    assert_eq!(nb["status"], "InService");
    assert_eq!(nb["instanceType"], "ml.t3.medium");
    assert_eq!(nb["open"], "/notebook-instances/alice-nb");
    assert_eq!(nb["launch"], "/launch/notebook-instances/alice-nb");
    let studio = &body["studioDomains"][0];
    assert_eq!(studio["userProfile"], "alice");
    assert_eq!(
        studio["launch"],
        format!("/launch/studio?domain={DOMAIN_ID}")
    );
    assert_eq!(names(&studio["spaces"]), ["alice-space", "team-space"]);
    assert!(!reply.body.contains("bob-nb") && !reply.body.contains("bob-space"));
    assert_eq!(body["someNotebookInstancesUnchecked"], false);
}

/// One notebook whose tags cannot be read no longer fails everyone's list.
#[tokio::test]
async fn a_notebook_whose_tags_cannot_be_read_is_left_out_and_flagged_without_a_count() {
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
        // Said, never counted: a count would tell anyone how many notebooks the account holds.
        assert_eq!(body["someNotebookInstancesUnchecked"], true, "{fault:?}");
        assert!(
            body.get("uncheckedNotebookInstances").is_none(),
            "{fault:?}"
        );
        assert_eq!(body["studioDomains"][0]["userProfile"], "alice");
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
    assert_eq!(body["studioDomains"][0]["userProfile"], "bob");
    assert_eq!(
        names(&body["studioDomains"][0]["spaces"]),
        ["bob-space", "team-space"]
    );
}

#[tokio::test]
async fn rest_api_targets_use_comma_separated_groups() {
    let t = TestGate::new().await;
    let reply = t.send(event("rest-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(names(&reply.json()["notebookInstances"]).contains(&"team-nb".to_owned()));
}

#[tokio::test]
async fn callers_without_an_owned_profile_get_no_studio() {
    let t = TestGate::new().await;
    let mut mallory = event("http-targets");
    claims(&mut mallory).insert("username".into(), "mallory".into());
    let body = t.send(mallory).await.json();
    assert_eq!(body["studioDomains"], serde_json::json!([]));
    assert!(!t.stub.called("ListSpaces"));
}

#[tokio::test]
async fn without_a_domain_only_notebooks_are_listed() {
    let t = TestGate::with_env(&[("STUDIO_DOMAIN_ID", "<unset>")]).await;
    let body = t.send(event("http-targets")).await.json();
    assert_eq!(body["studioDomains"], serde_json::json!([]));
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
    let nb = item(&body["notebookInstances"], "name", "alice-stopped");
    assert_eq!(nb["since"], SINCE);
    assert_eq!(nb["start"], "/notebook-instances/alice-stopped/start");
    assert_eq!(nb["stop"], "/notebook-instances/alice-stopped/stop");

    let spaces = body["studioDomains"][0]["spaces"].as_array().unwrap();
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
        format!("/studio/spaces/alice-space/stop?domain={DOMAIN_ID}")
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
    let spaces = body["studioDomains"][0]["spaces"].as_array().unwrap();
    let bob_space = spaces.iter().find(|s| s["name"] == "bob-space").unwrap();
    assert_eq!(bob_space["app"], serde_json::Value::Null);
    assert_eq!(
        bob_space["stop"],
        format!("/studio/spaces/bob-space/stop?domain={DOMAIN_ID}")
    );
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
    let spaces = body["studioDomains"][0]["spaces"].as_array().unwrap();
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
    for space in body["studioDomains"][0]["spaces"].as_array().unwrap() {
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

/// Several domains: one entry per configured domain where the caller owns a profile, in the configured
/// order, named by `DescribeDomain`, every route carrying its `domain`.
#[tokio::test]
async fn each_domain_where_the_caller_owns_a_profile_is_listed_in_order() {
    let t = two_domains().await;
    let body = t.send(as_bob(event("http-targets"))).await.json();
    assert!(body.get("studio").is_none(), "the old key is gone");
    let domains = body["studioDomains"].as_array().unwrap();
    assert_eq!(domains.len(), 2, "{body}");
    assert_eq!(domains[0]["domainId"], DOMAIN_ID);
    assert_eq!(domains[0]["domainName"], DOMAIN_NAME);
    assert_eq!(domains[0]["userProfile"], "bob");
    assert_eq!(names(&domains[0]["spaces"]), ["bob-space", "team-space"]);
    let platform = &domains[1];
    assert_eq!(
        *platform,
        json!({
            "domainId": OTHER_DOMAIN,
            "domainName": "platform",
            "userProfile": "bob",
            "open": format!("/studio?domain={OTHER_DOMAIN}"),
            "launch": format!("/launch/studio?domain={OTHER_DOMAIN}"),
            "spaces": [{
                "name": "bob-platform",
                "ownerProfile": "bob",
                "shared": false,
                "status": "InService",
                "appType": "JupyterLab",
                "app": {"appType": "CodeEditor", "appName": "default", "status": "InService",
                        "instanceType": "ml.t3.large", "since": SINCE},
                "open": format!("/studio?domain={OTHER_DOMAIN}&space=bob-platform"),
                "launch": format!("/launch/studio?domain={OTHER_DOMAIN}&space=bob-platform"),
                "stop": format!("/studio/spaces/bob-platform/stop?domain={OTHER_DOMAIN}"),
            }],
        })
    );
    // Each domain's spaces and apps are read in that domain only.
    let calls = t.stub.calls();
    for operation in ["ListSpaces", "ListApps"] {
        let mut domains: Vec<&str> = calls
            .iter()
            .filter(|c| c.operation == operation)
            .map(|c| c.input["DomainIdEquals"].as_str().unwrap())
            .collect();
        domains.sort();
        assert_eq!(domains, [DOMAIN_ID, OTHER_DOMAIN], "{operation}");
    }
    // MLflow is off by default: its keys are there, empty, and nothing MLflow was called.
    assert_eq!(body["mlflowTrackingServers"], json!([]));
    assert_eq!(body["mlflowApps"], json!([]));
    assert_eq!(body["someMlflowUnchecked"], false);
    assert!(!t.stub.operations().iter().any(|o| o.contains("Mlflow")));

    // Alice owns a profile in the first domain only (the second's `alice` carries Bob's tag).
    t.stub.forget_calls();
    let body = t.send(event("http-targets")).await.json();
    let domains = body["studioDomains"].as_array().unwrap();
    assert_eq!(domains.len(), 1, "{body}");
    assert_eq!(domains[0]["domainId"], DOMAIN_ID);
    assert!(
        !t.stub
            .calls()
            .iter()
            .any(|c| c.input["DomainIdEquals"] == OTHER_DOMAIN)
    );
}

/// A failing domain fails the answer, as the one domain's failure always did: a list that
/// silently lacked a domain would look like a profile taken away.
#[tokio::test]
async fn a_failing_domain_fails_targets() {
    let t = two_domains().await;
    t.stub
        .fault_matching("ListSpaces", OTHER_DOMAIN, Fault::Throttle);
    let reply = t.send(as_bob(event("http-targets"))).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    t.stub.clear_faults();
    assert_eq!(t.send(as_bob(event("http-targets"))).await.status, 200);

    // A new process, whose first look at the second domain fails: Alice owns nothing there, but
    // whether she does cannot be known without it.
    let t = two_domains().await;
    t.stub
        .fault_matching("DescribeDomain", OTHER_DOMAIN, Fault::ServerError);
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    t.stub.clear_faults();
    assert_eq!(t.send(event("http-targets")).await.status, 200);
}

/// The most calls of `operation` whose ARN holds `arn_part` that were in flight at once.
fn most_at_once(calls: &[Call], operation: &str, arn_part: &str) -> usize {
    let spans: Vec<(Instant, Instant)> = calls
        .iter()
        .filter(|c| c.operation == operation)
        .filter(|c| c.input.to_string().contains(arn_part))
        .map(|c| (c.started, c.ended.expect("every call answered")))
        .collect();
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Reads side by side: the notebook side, each domain and the MLflow side are read at once, so `/targets`
/// takes about as long as its slowest side, 1 + ⌈N/8⌉ round trips for N notebook instances, not
/// the sum of the sides; tag lookups stay at most 8 at a time.
#[tokio::test]
async fn targets_read_notebooks_studio_domains_and_mlflow_at_once() {
    let t = TestGate::with_env(&[
        ("STUDIO_DOMAIN_IDS", &format!("{DOMAIN_ID},{OTHER_DOMAIN}")),
        ("MLFLOW", "true"),
    ])
    .await;
    t.stub
        .domain(OTHER_DOMAIN, "platform")
        .profile_in(OTHER_DOMAIN, "alice", &[(OWNER, ALICE)]);
    t.stub
        .tracking_server("alice-mlflow", "Started", &[(OWNER, ALICE)], None);
    // 16 notebook instances: the list, then two waves of 8 tag lookups.
    for i in 0..9 {
        t.stub
            .notebook(&format!("alice-more-{i}"), "InService", &[(OWNER, ALICE)]);
    }
    let wave = Duration::from_millis(80);
    t.stub.latency(wave);
    let started = Instant::now();
    let reply = t.send(event("http-targets")).await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["notebookInstances"].as_array().unwrap().len(), 14);
    assert_eq!(body["studioDomains"].as_array().unwrap().len(), 2);
    assert_eq!(names(&body["mlflowTrackingServers"]), ["alice-mlflow"]);

    // Every side's first calls were under way before the notebook list answered.
    let calls = t.stub.calls();
    let listed = call(&calls, "ListNotebookInstances").ended.unwrap();
    let first_wave: Vec<&Call> = calls.iter().filter(|c| c.started < listed).collect();
    let mut first: Vec<String> = first_wave
        .iter()
        .map(|c| match c.input["ResourceArn"].as_str() {
            Some(arn) => format!("ListTags {}", &arn[arn.rfind(':').unwrap() + 1..]),
            None => format!(
                "{} {}",
                c.operation,
                c.input["DomainId"].as_str().unwrap_or("")
            ),
        })
        .collect();
    first.sort();
    assert_eq!(
        first,
        sorted([
            format!("DescribeDomain {DOMAIN_ID}"),
            format!("DescribeDomain {OTHER_DOMAIN}"),
            "ListMlflowApps ".to_owned(),
            "ListMlflowTrackingServers ".to_owned(),
            "ListNotebookInstances ".to_owned(),
            format!("ListTags user-profile/{DOMAIN_ID}/alice"),
            format!("ListTags user-profile/{OTHER_DOMAIN}/alice"),
        ])
    );
    assert!(t.stub.max_in_flight() > 8, "{}", t.stub.max_in_flight());
    assert_eq!(most_at_once(&calls, "ListTags", ":notebook-instance/"), 8);

    // About four round trips (the notebook side's: list, 8 tags, 8 tags, then the platform of
    // alice's one stopped instance); one after another the sides would take ten.
    assert!(elapsed >= wave * 4, "{elapsed:?}");
    assert!(elapsed < wave * 6, "{elapsed:?}");
}
