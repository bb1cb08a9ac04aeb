use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;
use crate::stub::{Call, DOMAIN_ID, DOMAIN_NAME, Fault, SINCE};
use crate::studio::{OTHER_DOMAIN, two_domains};

/// What Alice may open in the stub's world: her four notebook instances and her group's one.
const ALICES_LIST: [&str; 5] = [
    "alice-failed",
    "alice-nb",
    "alice-pending",
    "alice-stopped",
    "team-nb",
];

#[tokio::test]
async fn lists_exactly_what_the_caller_may_open() {
    let t = TestGate::new().await;
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(names(&body["notebookInstances"]), ALICES_LIST);
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

/// One notebook whose state cannot be read does not fail everyone's list.
#[tokio::test]
async fn a_notebook_whose_state_cannot_be_read_is_left_out_and_flagged_without_a_count() {
    let t = TestGate::new().await;
    for fault in [Fault::Throttle, Fault::ServerError, Fault::Denied] {
        t.stub.clear_faults();
        t.stub
            .fault_matching("DescribeNotebookInstance", "\"alice-pending\"", fault);
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

/// The Tagging API failing fails the answer, as the notebook list failing always did: a list
/// that silently lacked every notebook would look like everything taken away.
#[tokio::test]
async fn a_failing_index_still_fails_targets() {
    let t = TestGate::new().await;
    t.stub.fault("GetResources", Fault::Throttle);
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert_eq!(reply.error_code(), "throttled");
    t.stub.clear_faults();
    t.stub.fault("GetResources", Fault::ServerError);
    assert_eq!(t.send(event("http-targets")).await.status, 502);
    // Refused by IAM: a 502, and the log names the action the role lacks (logs.rs checks it).
    t.stub.clear_faults();
    t.stub.fault("GetResources", Fault::Denied);
    assert_eq!(t.send(event("http-targets")).await.status, 502);
}

/// The list costs what the caller owns, not what the account holds: one query for the owner tag,
/// one per 20 groups, then one `DescribeNotebookInstance` per notebook found; nobody else's
/// notebook, and no untagged one, is ever read.
#[tokio::test]
async fn targets_read_only_what_the_callers_tags_mark_whatever_the_account_holds() {
    let t = TestGate::with_env(&[("STUDIO_DOMAIN_ID", "<unset>")]).await;
    for i in 0..300 {
        let name = format!("other-{i}");
        match i % 3 {
            0 => t.stub.notebook(&name, "InService", &[(OWNER, BOB)]),
            1 => t
                .stub
                .notebook(&name, "InService", &[(GROUP, "other-team")]),
            _ => t.stub.notebook(&name, "InService", &[]),
        };
    }
    let body = t.send(event("http-targets")).await.json();
    assert_eq!(names(&body["notebookInstances"]), ALICES_LIST);
    let calls = t.stub.calls();
    let queries: Vec<&Value> = calls
        .iter()
        .filter(|c| c.operation == "GetResources")
        .map(|c| &c.input)
        .collect();
    assert_eq!(queries.len(), 2, "{queries:?}");
    let filters: Vec<&Value> = queries.iter().map(|q| &q["TagFilters"]).collect();
    assert!(
        filters.contains(&&json!([{"Key": OWNER, "Values": [ALICE]}])),
        "{filters:?}"
    );
    assert!(
        filters.contains(&&json!([{"Key": GROUP, "Values": ["analysts", "ml-team"]}])),
        "{filters:?}"
    );
    for query in &queries {
        assert_eq!(
            query["ResourceTypeFilters"],
            json!(["sagemaker:notebook-instance"])
        );
        assert_eq!(query["ResourcesPerPage"], 100);
    }
    let described: Vec<String> = calls
        .iter()
        .filter(|c| c.operation == "DescribeNotebookInstance")
        .map(|c| c.input["NotebookInstanceName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sorted(described), ALICES_LIST);
    let operations = t.stub.operations();
    assert!(
        !operations
            .iter()
            .any(|o| o == "ListNotebookInstances" || o == "ListTags"),
        "{operations:?}"
    );
}

/// More groups than one tag filter holds (20) take one query per 20, all at once; a caller with
/// none makes only the owner query.
#[tokio::test]
async fn groups_are_asked_for_twenty_at_a_time() {
    let t = TestGate::with_env(&[("STUDIO_DOMAIN_ID", "<unset>")]).await;
    t.stub
        .notebook("group-41-nb", "InService", &[(GROUP, "g-41")]);
    let mut many = event("http-targets");
    let mut groups: Vec<String> = (0..45).map(|i| format!("g-{i}")).collect();
    // A group no tag value could hold (over 256 characters) is not asked about: the Tagging API
    // would refuse the whole query for it.
    groups.push("x".repeat(257));
    claims(&mut many).insert(
        "cognito:groups".into(),
        format!("[{}]", groups.join(" ")).into(),
    );
    let body = t.send(many).await.json();
    assert_eq!(
        names(&body["notebookInstances"]),
        [
            "alice-failed",
            "alice-nb",
            "alice-pending",
            "alice-stopped",
            "group-41-nb"
        ]
    );
    let calls = t.stub.calls();
    let mut group_values: Vec<usize> = calls
        .iter()
        .filter(|c| c.operation == "GetResources" && c.input["TagFilters"][0]["Key"] == GROUP)
        .map(|c| c.input["TagFilters"][0]["Values"].as_array().unwrap().len())
        .collect();
    group_values.sort_unstable();
    assert_eq!(group_values, [5, 20, 20]);
    assert!(
        !calls
            .iter()
            .any(|c| c.input.to_string().contains(&"x".repeat(257)))
    );

    t.stub.forget_calls();
    let mut none = event("http-targets");
    claims(&mut none).remove("cognito:groups");
    let body = t.send(none).await.json();
    assert!(!names(&body["notebookInstances"]).contains(&"team-nb".to_owned()));
    assert_eq!(
        t.stub
            .operations()
            .iter()
            .filter(|o| *o == "GetResources")
            .count(),
        1
    );
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
    assert_eq!(ops.iter().filter(|o| *o == "GetResources").count(), 2);
    assert_eq!(
        ops.iter()
            .filter(|o| *o == "DescribeNotebookInstance")
            .count(),
        5,
        "one per notebook of the caller's"
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
    // More apps than one page of ListApps holds (100), the space's own on the last page.
    for i in 0..105 {
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

/// Reads side by side: the Tagging API's queries and each domain's first reads at once, then the
/// notebooks and MLflow resources found, described 8 at a time, so `/targets` takes about as long
/// as its slowest side, 1 + ⌈M/8⌉ round trips for M notebook instances of the caller's, not the
/// sum of the sides.
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
    // 14 notebook instances of alice's: after the index, two waves of 8 describes.
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

    // Every side's first calls were under way before the index answered.
    let calls = t.stub.calls();
    let indexed = calls
        .iter()
        .filter(|c| c.operation == "GetResources")
        .map(|c| c.ended.unwrap())
        .min()
        .unwrap();
    let mut first: Vec<String> = calls
        .iter()
        .filter(|c| c.started < indexed)
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
            "GetResources ".to_owned(),
            "GetResources ".to_owned(),
            format!("ListTags user-profile/{DOMAIN_ID}/alice"),
            format!("ListTags user-profile/{OTHER_DOMAIN}/alice"),
        ])
    );
    assert!(t.stub.max_in_flight() > 8, "{}", t.stub.max_in_flight());
    assert_eq!(most_at_once(&calls, "DescribeNotebookInstance", "alice"), 8);
    // The describes follow the index, never Studio's second round trip.
    let first_describe = calls
        .iter()
        .filter(|c| c.operation == "DescribeNotebookInstance")
        .map(|c| c.started)
        .min()
        .unwrap();
    let spaces_listed = calls
        .iter()
        .filter(|c| c.operation == "ListSpaces")
        .map(|c| c.ended.unwrap())
        .min()
        .unwrap();
    assert!(
        first_describe < spaces_listed,
        "describes waited for Studio"
    );

    // Three round trips on the notebook side (the index, then two waves of describes) beside the
    // Studio side's; one after another the sides would take seven.
    assert!(elapsed >= wave * 3, "{elapsed:?}");
    assert!(elapsed < wave * 5, "{elapsed:?}");
}
