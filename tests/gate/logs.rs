use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing_subscriber::filter::LevelFilter;

use crate::helpers::*;
use crate::shapes::*;
use crate::stub::{Fault, URL_SECRET};

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Runs requests under the production subscriber at its most verbose level, returning the log.
pub async fn logs_of(t: &TestGate, events: Vec<Value>) -> (String, Vec<u16>) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        notebook_gate::logging::subscriber(true, LevelFilter::TRACE, move || writer.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut statuses = Vec::new();
    for event in events {
        statuses.push(t.send(event).await.status);
    }
    (captured.text(), statuses)
}

/// The log's audit lines, one a request.
pub fn audit_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["target"] == "audit")
        .collect()
}

pub fn token_values(event: &Value) -> Vec<String> {
    let mut secrets = Vec::new();
    for header in ["authorization", "Authorization"] {
        if let Some(v) = event["headers"][header].as_str() {
            secrets.push(v.trim_start_matches("Bearer ").to_owned());
        }
    }
    if let Some(v) = event["queryStringParameters"]["access_token"].as_str() {
        secrets.push(v.to_owned());
    }
    secrets
}

#[tokio::test]
async fn a_successful_open_logs_an_audit_line_and_no_url_or_token() {
    let t = TestGate::new().await;
    let events = vec![
        event("http-notebook"),
        event("rest-notebook"),
        event("http-launch-notebook"),
        event("http-studio"),
        event("http-launch-studio"),
    ];
    let secrets: Vec<String> = events.iter().flat_map(token_values).collect();
    assert_eq!(secrets.len(), 5);
    let (log, statuses) = logs_of(&t, events).await;
    assert_eq!(statuses, [200, 302, 302, 200, 302]);

    assert!(!log.contains(URL_SECRET), "a presigned URL reached the log");
    assert!(
        !log.contains("sagemaker.aws"),
        "a presigned URL reached the log"
    );
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a token reached the log");
    }
    assert!(!log.contains("access_token"));
    assert!(!log.to_ascii_lowercase().contains("bearer"));

    let audit = audit_lines(&log);
    assert_eq!(audit.len(), 5, "one audit line per request");
    let first = &audit[0];
    // Who opened which notebook when, from where, and nothing more.
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let expected = [
        "action",
        "caller",
        "latency_ms",
        "level",
        "message",
        "method",
        "outcome",
        "request_id",
        "resource",
        "route",
        "sagemaker_calls",
        "sagemaker_ms",
        "source_ip",
        "status",
        "target",
        "timestamp",
    ];
    assert_eq!(keys, expected, "the audit line's fields");
    assert_eq!(first["caller"], ALICE);
    assert_eq!(first["route"], "/notebook-instances/{name}");
    assert_eq!(first["resource"], "notebook-instance/alice-nb");
    assert_eq!(first["status"], 200);
    assert_eq!(first["sagemaker_calls"], 3);
    assert_eq!(first["source_ip"], "203.0.113.10");
    assert_eq!(first["request_id"], "Cx7bJgVSIAMEVxw=");
    let latency = first["latency_ms"].as_f64().unwrap();
    let waited = first["sagemaker_ms"].as_f64().unwrap();
    assert!(
        0.0 < waited && waited < latency,
        "SageMaker's share {waited} ms is part of the latency {latency} ms"
    );
    assert_eq!(
        audit[3]["resource"],
        "studio/d-demo0000001/alice/alice-space"
    );
}

#[tokio::test]
async fn refusals_are_audited_with_the_caller_and_no_calls() {
    let t = TestGate::new().await;
    let (log, statuses) = logs_of(
        &t,
        vec![
            open_notebook("bob-nb"),
            open_notebook("bad_name"),
            without_authorizer(event("http-notebook")),
        ],
    )
    .await;
    assert_eq!(statuses, [404, 400, 401]);
    let audit = audit_lines(&log);
    assert_eq!(audit[0]["caller"], ALICE);
    assert_eq!(audit[0]["resource"], "-", "nothing was opened");
    assert_eq!(audit[0]["sagemaker_calls"], 2);
    assert_eq!(audit[1]["sagemaker_calls"], 0);
    assert_eq!(audit[2]["caller"], "-");
    assert_eq!(audit[2]["status"], 401);
}

/// When IAM says no, the caller gets the usual 502 and the log names the denied action
/// plainly, at ERROR, with no URL or token.
#[tokio::test]
async fn an_access_denied_call_is_502_and_logged_by_its_action() {
    let t = TestGate::new().await;
    // (operation, the request that meets it, the action named, how many of its calls were refused:
    // `/targets` asks the Tagging API once for the owner tag and once for the groups).
    for (operation, request, action, refused) in [
        (
            "DescribeNotebookInstance",
            "http-notebook",
            "sagemaker:DescribeNotebookInstance",
            1,
        ),
        ("ListTags", "http-notebook", "sagemaker:ListTags", 1),
        (
            "CreatePresignedNotebookInstanceUrl",
            "http-notebook",
            "sagemaker:CreatePresignedNotebookInstanceUrl",
            1,
        ),
        ("GetResources", "http-targets", "tag:GetResources", 2),
    ] {
        t.stub.clear_faults();
        t.stub.fault(operation, Fault::Denied);
        let event = event(request);
        let tokens = token_values(&event);
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            notebook_gate::logging::subscriber(true, LevelFilter::INFO, move || writer.clone());
        let reply = {
            let _guard = tracing::subscriber::set_default(subscriber);
            t.send(event).await
        };
        assert_eq!(reply.status, 502, "{operation}: {}", reply.body);
        assert_eq!(reply.error_code(), "upstream_error");
        assert!(!reply.body.contains("AccessDenied") && !reply.body.contains("authorized"));
        let log = captured.text();
        let denied: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["level"] == "ERROR")
            .collect();
        assert_eq!(denied.len(), refused, "{operation}: {log}");
        for line in &denied {
            assert_eq!(line["denied_action"], action);
            assert!(
                line["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("denied {action}")),
                "{log}"
            );
        }
        assert!(
            !log.contains(URL_SECRET) && !log.contains("https://"),
            "{log}"
        );
        for token in tokens {
            assert!(!log.contains(&token));
        }
    }
}

#[tokio::test]
async fn a_start_or_stop_is_audited_with_its_action_and_outcome() {
    let t = TestGate::new().await;
    let events = vec![event("http-start-notebook"), stop_notebook("alice-nb")];
    let secrets = token_values(&events[0]);
    let (log, statuses) = logs_of(&t, events).await;
    assert_eq!(statuses, [202, 202]);
    for secret in secrets {
        assert!(!log.contains(&secret), "a token reached the log");
    }
    let audit = audit_lines(&log);
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["action"], "start");
    assert_eq!(audit[0]["outcome"], "started");
    assert_eq!(audit[0]["route"], "/notebook-instances/{name}/start");
    assert_eq!(audit[0]["resource"], "notebook-instance/alice-stopped");
    assert_eq!(audit[0]["method"], "POST");
    assert_eq!(audit[0]["sagemaker_calls"], 3);
    assert_eq!(audit[1]["action"], "stop");
    assert_eq!(audit[1]["outcome"], "stopping");
    assert_eq!(audit[1]["route"], "/notebook-instances/{name}/stop");
    assert_eq!(audit[1]["resource"], "notebook-instance/alice-nb");
}
