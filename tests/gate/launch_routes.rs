//! `LAUNCH_ROUTES=false`, as the private mode deploys the gate: no `/launch/...` route is served
//! or listed, and everything still opens through the JSON routes.

use serde_json::Value;

use crate::helpers::*;

/// The demo world with MLflow on, so every kind of item `/targets` lists is there.
async fn gate(launch_routes: &str) -> TestGate {
    let t = TestGate::with_env(&[("MLFLOW", "true"), ("LAUNCH_ROUTES", launch_routes)]).await;
    t.stub
        .tracking_server("alice-mlflow", "Started", &[(OWNER, ALICE)], None)
        .mlflow_app("app-alice", "alice-app", "Created", &[(OWNER, ALICE)]);
    t
}

/// Every listed item, wherever it sits in the answer: notebooks, Studio domains and their
/// spaces, tracking servers and MLflow apps.
fn items(body: &Value) -> Vec<(&'static str, &Value)> {
    let mut all = each("notebookInstances", &body["notebookInstances"]);
    all.extend(each("studioDomains", &body["studioDomains"]));
    for domain in body["studioDomains"].as_array().unwrap() {
        all.extend(each("spaces", &domain["spaces"]));
    }
    all.extend(each(
        "mlflowTrackingServers",
        &body["mlflowTrackingServers"],
    ));
    all.extend(each("mlflowApps", &body["mlflowApps"]));
    all
}

fn each<'a>(key: &'static str, list: &'a Value) -> Vec<(&'static str, &'a Value)> {
    list.as_array()
        .unwrap_or_else(|| panic!("{key} is a list"))
        .iter()
        .map(|item| (key, item))
        .collect()
}

fn kinds(items: &[(&'static str, &Value)]) -> Vec<&'static str> {
    let mut kinds: Vec<&str> = items.iter().map(|(k, _)| *k).collect();
    kinds.dedup();
    kinds
}

const ALL_KINDS: [&str; 5] = [
    "notebookInstances",
    "studioDomains",
    "spaces",
    "mlflowTrackingServers",
    "mlflowApps",
];

#[tokio::test]
async fn targets_list_launch_routes_by_default() {
    let t = gate("<unset>").await;
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let items = items(&body);
    assert_eq!(kinds(&items), ALL_KINDS);
    for (kind, item) in items {
        let launch = item["launch"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind}: {item}"));
        assert!(launch.starts_with("/launch/"), "{kind}: {launch}");
    }
}

#[tokio::test]
async fn without_launch_routes_targets_list_none_and_keep_every_open_route() {
    let t = gate("false").await;
    for shape in ["http-targets", "rest-targets"] {
        let reply = t.send(event(shape)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(
            !reply.body.contains("\"launch\""),
            "{shape}: {}",
            reply.body
        );
        assert!(!reply.body.contains("/launch/"), "{shape}: {}", reply.body);
        let body = reply.json();
        let items = items(&body);
        assert_eq!(kinds(&items), ALL_KINDS, "{shape}");
        for (kind, item) in items {
            let open = item["open"]
                .as_str()
                .unwrap_or_else(|| panic!("{kind}: {item}"));
            assert!(
                open.starts_with('/') && !open.starts_with("/launch"),
                "{kind}: {open}"
            );
        }
    }
}

#[tokio::test]
async fn without_launch_routes_each_launch_route_is_not_found_with_no_call() {
    let t = gate("false").await;
    let launches = [
        event("http-launch-notebook"),
        event("http-launch-studio"),
        with_path(
            event("http-notebook"),
            "/launch/mlflow/tracking-servers/alice-mlflow",
        ),
        with_path(event("http-notebook"), "/launch/mlflow/apps/app-alice"),
        with_path(
            event("rest-notebook"),
            "/launch/notebook-instances/alice-nb",
        ),
    ];
    for launch in launches {
        let path = launch["rawPath"]
            .as_str()
            .or(launch["path"].as_str())
            .unwrap()
            .to_owned();
        let reply = t.send(launch).await;
        // An unknown route's answer: JSON, not the launch error page.
        assert_not_found(&reply);
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{path}"
        );
    }
    assert!(t.stub.calls().is_empty(), "{:?}", t.stub.operations());

    // The JSON routes the private portal opens through still open.
    let reply = t
        .send(with_header(
            event("http-notebook"),
            "accept",
            "application/json",
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.json()["url"].is_string());
}
