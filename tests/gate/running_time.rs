//! The running-time policy: the scheduled sweep and the keep routes, on the stub's clock (its
//! answers' `Date`), through the real SDK client.

use serde_json::{Value, json};

use crate::helpers::{
    ALICE, FUNCTION_ARN, OWNER, TestGate, as_bob, event, with_header, with_path, with_query,
};
use crate::stub::{DOMAIN_ID, Fault, SINCE_EPOCH};

const HOUR: i64 = 3600;
const KEEP: &str = "notebook-gate:keep-until";

async fn policy_gate(extra: &[(&str, &str)]) -> TestGate {
    // The first value of a name wins: `extra` overrides the defaults below.
    let mut vars = extra.to_vec();
    vars.extend_from_slice(&[
        ("MAX_RUN_HOURS_NOTEBOOK", "12"),
        ("MAX_RUN_HOURS_SPACE", "12"),
        ("MAX_RUN_HOURS_MLFLOW", "12"),
        ("MAX_KEEP_HOURS", "72"),
        ("MLFLOW", "true"),
    ]);
    let t = TestGate::with_env(&vars).await;
    t.stub
        .tracking_server("alice-ts", "Started", &[(OWNER, ALICE)], None)
        .tracking_server("untagged-ts", "Started", &[], None);
    t
}

fn at(seconds: i64) -> String {
    aws_smithy_types::DateTime::from_secs(SINCE_EPOCH + seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

fn stopped_names(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["sweep"]["stopped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn keep(path: &str, body: Value) -> Value {
    let mut e = with_path(event("http-start-notebook"), path);
    e["body"] = json!(body.to_string());
    with_header(e, "content-type", "application/json")
}

#[tokio::test]
async fn nothing_is_stopped_a_minute_short_of_the_limit_and_everything_tagged_at_it() {
    let t = policy_gate(&[]).await;
    t.stub.clock_at(SINCE_EPOCH + 12 * HOUR - 60);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    assert_eq!(stopped_names(&report), Vec::<String>::new(), "{report}");
    assert!(!t.stub.called("StopNotebookInstance"));
    assert!(!t.stub.called("DeleteApp"));

    t.stub.clock_at(SINCE_EPOCH + 12 * HOUR);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    // Every running tagged notebook (owner or group), the tagged tracking server, and the running
    // space app of a space whose owner's profile is tagged; team-space's app started a minute
    // later than the rest, so its turn is a minute later.
    assert_eq!(
        stopped_names(&report),
        ["alice-nb", "alice-space", "alice-ts", "bob-nb", "team-nb"],
        "{report}"
    );
    t.stub.clock_at(SINCE_EPOCH + 12 * HOUR + 60);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    assert_eq!(stopped_names(&report), ["team-space"], "{report}");
    assert_eq!(t.stub.status_of("untagged-nb"), "InService");
    assert_eq!(t.stub.tracking_server_status("untagged-ts"), "Started");
    assert_eq!(t.stub.tracking_server_status("alice-ts"), "Stopping");
    assert_eq!(report["sweep"]["failed"], 0);
}

#[tokio::test]
async fn a_kept_target_runs_until_its_keep_ends() {
    let t = policy_gate(&[]).await;
    t.stub.clock_at(SINCE_EPOCH + HOUR);
    let reply = t
        .send(keep(
            "/notebook-instances/alice-nb/keep",
            json!({"until": at(20 * HOUR)}),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["keptUntil"], at(20 * HOUR));
    assert_eq!(reply.json()["stopsAt"], at(20 * HOUR));

    t.stub.clock_at(SINCE_EPOCH + 13 * HOUR);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    assert!(
        !stopped_names(&report).contains(&"alice-nb".to_owned()),
        "{report}"
    );
    assert!(report["sweep"]["kept"].as_u64().unwrap() >= 1);
    assert_eq!(t.stub.status_of("alice-nb"), "InService");

    t.stub.clock_at(SINCE_EPOCH + 20 * HOUR);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    assert!(
        stopped_names(&report).contains(&"alice-nb".to_owned()),
        "{report}"
    );
}

#[tokio::test]
async fn a_failure_to_stop_one_does_not_stop_the_sweep() {
    let t = policy_gate(&[]).await;
    t.stub.clock_at(SINCE_EPOCH + 24 * HOUR);
    t.stub
        .fault_matching("StopNotebookInstance", "alice-nb", Fault::ServerError);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    assert_eq!(report["sweep"]["failed"], 1, "{report}");
    assert_eq!(t.stub.status_of("alice-nb"), "InService");
    assert_eq!(t.stub.status_of("bob-nb"), "Stopping");
    assert_eq!(t.stub.status_of("team-nb"), "Stopping");
}

#[tokio::test]
async fn with_no_limit_the_sweep_calls_nothing() {
    let t = TestGate::new().await;
    t.stub.clock_at(SINCE_EPOCH + 1000 * HOUR);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    assert_eq!(report["sweep"]["checked"], 0);
    assert!(t.stub.calls().is_empty(), "{:?}", t.stub.operations());
}

#[tokio::test]
async fn a_keep_is_checked_before_it_is_written() {
    let t = policy_gate(&[]).await;
    t.stub.clock_at(SINCE_EPOCH + HOUR);
    let path = "/notebook-instances/alice-nb/keep";
    let cases = [
        (
            json!({"until": at(HOUR + 72 * HOUR + 1)}),
            400,
            "keep_too_long",
        ),
        (json!({"until": at(0)}), 400, "invalid_request"),
        (json!({"until": "tomorrow"}), 400, "invalid_request"),
        (json!({}), 400, "invalid_request"),
    ];
    for (body, status, code) in cases {
        let reply = t.send(keep(path, body.clone())).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (status, code.into()),
            "{body}"
        );
    }
    // Someone else's, a stopped one.
    let reply = t
        .send(as_bob(keep(path, json!({"until": at(2 * HOUR)}))))
        .await;
    assert_eq!(reply.status, 404);
    let reply = t
        .send(keep(
            "/notebook-instances/alice-stopped/keep",
            json!({"until": at(2 * HOUR)}),
        ))
        .await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (409, "not_running".into())
    );
    assert!(!t.stub.called("AddTags"), "{:?}", t.stub.operations());
}

#[tokio::test]
async fn a_keep_writes_the_keep_tag_alone_in_utc() {
    let t = policy_gate(&[]).await;
    t.stub.clock_at(SINCE_EPOCH + HOUR);
    let until = aws_smithy_types::DateTime::from_secs(SINCE_EPOCH + 5 * HOUR);
    // The same moment, written with a +09:00 offset.
    let tokyo = chrono_free_offset(until.secs(), 9);
    let reply = t
        .send(keep(
            "/notebook-instances/alice-nb/keep",
            json!({"until": tokyo}),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let calls = t.stub.calls();
    let add = crate::helpers::call(&calls, "AddTags");
    assert_eq!(
        add.input["Tags"],
        json!([{"Key": KEEP, "Value": at(5 * HOUR)}])
    );
}

#[tokio::test]
async fn keeping_is_forbidden_where_no_limit_applies() {
    let t = policy_gate(&[("MAX_RUN_HOURS_NOTEBOOK", "0")]).await;
    t.stub.clock_at(SINCE_EPOCH + HOUR);
    let reply = t
        .send(keep(
            "/notebook-instances/alice-nb/keep",
            json!({"until": at(2 * HOUR)}),
        ))
        .await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (403, "action_disabled".into())
    );
    assert!(!t.stub.called("AddTags"));
}

#[tokio::test]
async fn a_space_keep_goes_on_the_space_and_the_sweep_honours_it() {
    let t = policy_gate(&[]).await;
    t.stub.clock_at(SINCE_EPOCH + HOUR);
    let reply = t
        .send(with_query(
            keep(
                "/studio/spaces/alice-space/keep",
                json!({"until": at(30 * HOUR)}),
            ),
            &[("domain", DOMAIN_ID)],
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let space_arn =
        format!("arn:aws:sagemaker:us-east-1:123456789012:space/{DOMAIN_ID}/alice-space");
    assert!(
        t.stub
            .tags_of(&space_arn)
            .contains(&(KEEP.to_owned(), at(30 * HOUR)))
    );
    t.stub.clock_at(SINCE_EPOCH + 24 * HOUR);
    let report = t.gate.sweep(FUNCTION_ARN).await;
    assert!(
        !stopped_names(&report).contains(&"alice-space".to_owned()),
        "{report}"
    );
    assert!(
        stopped_names(&report).contains(&"team-space".to_owned()),
        "{report}"
    );
}

#[tokio::test]
async fn targets_carry_the_policy_and_each_running_targets_stop_time() {
    let t = policy_gate(&[]).await;
    t.stub.clock_at(SINCE_EPOCH + HOUR);
    let reply = t.send(event("http-targets")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["runningTimePolicy"]["notebookInstanceHours"], 12);
    assert_eq!(body["runningTimePolicy"]["maxKeepHours"], 72);
    let running = crate::helpers::item(&body["notebookInstances"], "name", "alice-nb");
    assert_eq!(running["stopsAt"], at(12 * HOUR));
    assert_eq!(running["keep"], "/notebook-instances/alice-nb/keep");
    assert_eq!(running["keepUntilMax"], at(HOUR + 72 * HOUR));
    // No Price List in this gate: no price at all, rather than a wrong one.
    assert!(running.get("pricePerHour").is_none());
    let stopped = crate::helpers::item(&body["notebookInstances"], "name", "alice-stopped");
    assert!(stopped.get("stopsAt").is_none() && stopped.get("keep").is_none());
    let server = crate::helpers::item(&body["mlflowTrackingServers"], "name", "alice-ts");
    assert_eq!(server["stopsAt"], at(12 * HOUR));
    assert_eq!(server["size"], "Small");
}

/// `epoch` written as RFC 3339 with a `+hh:00` offset.
fn chrono_free_offset(epoch: i64, hours: i64) -> String {
    let local = aws_smithy_types::DateTime::from_secs(epoch + hours * HOUR)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    format!("{}+{hours:02}:00", local.trim_end_matches('Z'))
}
