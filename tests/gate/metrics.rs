//! The metrics line (src/metrics.rs): one Embedded Metric Format document per request, in the log
//! the production subscriber writes, checked against the EMF specification and for what it must
//! never carry.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use notebook_gate::metrics::{self, Outcome};
use serde_json::{Map, Value, json};
use tracing_subscriber::filter::LevelFilter;

use crate::helpers::*;
use crate::logs::{Captured, audit_lines, logs_of, token_values};
use crate::shapes::*;
use crate::stub::{Fault, URL_SECRET};

/// Units a MetricDefinition may name: the specification's JSON schema (`MetricUnit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Every route template the gate knows, and `unknown`: the only values `Route` may take.
const ROUTES: [&str; 13] = [
    "unknown",
    "/targets",
    "/notebook-instances/{name}",
    "/launch/notebook-instances/{name}",
    "/studio",
    "/launch/studio",
    "/notebook-instances/{name}/start",
    "/notebook-instances/{name}/stop",
    "/studio/spaces/{space}/stop",
    "/mlflow/tracking-servers/{name}",
    "/launch/mlflow/tracking-servers/{name}",
    "/mlflow/apps/{id}",
    "/launch/mlflow/apps/{id}",
];

/// The log's EMF documents (the lines holding `_aws`), each checked to be exactly one JSON object.
fn emf_lines(log: &str) -> Vec<Map<String, Value>> {
    log.lines()
        .filter(|line| line.contains("\"_aws\""))
        .map(|line| match serde_json::from_str::<Value>(line) {
            // "The LogEvent message MUST be a valid JSON object with no additional data at the
            // beginning or end": a parse of the whole line is exactly that.
            Ok(Value::Object(doc)) => doc,
            other => panic!("not one JSON object: {other:?}: {line}"),
        })
        .collect()
}

/// An EMF document as the specification ("Specification: Embedded metric format", CloudWatch
/// User Guide) and its JSON schema define it, with CloudWatch's limits on names and values
/// (`PutMetricData`'s `Dimension` and `MetricDatum`).
fn assert_valid_emf(doc: &Map<String, Value>) {
    let text = Value::Object(doc.clone()).to_string();
    assert!(text.len() < 256 * 1024, "larger than a log event may be");
    let aws = doc["_aws"].as_object().expect("_aws is an object");
    let keys: BTreeSet<&str> = aws.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["CloudWatchMetrics", "Timestamp"]),
        "{text}"
    );

    // Timestamp: an integer, milliseconds since the epoch (not seconds: near now).
    let timestamp = aws["Timestamp"].as_u64().expect("Timestamp is an integer");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        now.abs_diff(timestamp) < 60_000,
        "Timestamp {timestamp} is not now in ms"
    );

    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics is an array");
    assert!(!directives.is_empty(), "no MetricDirective: {text}");
    for directive in directives {
        let directive = directive
            .as_object()
            .expect("a MetricDirective is an object");
        let keys: BTreeSet<&str> = directive.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["Dimensions", "Metrics", "Namespace"]));

        let namespace = directive["Namespace"]
            .as_str()
            .expect("Namespace is a string");
        assert!((1..=255).contains(&namespace.len()) && !namespace.starts_with(':'));
        assert!(
            !namespace.starts_with("AWS/"),
            "AWS/ namespaces are AWS's own"
        );

        let sets = directive["Dimensions"]
            .as_array()
            .expect("Dimensions is an array");
        assert!(
            !sets.is_empty(),
            "Dimensions needs at least one DimensionSet"
        );
        for set in sets {
            let set = set.as_array().expect("a DimensionSet is an array");
            assert!(set.len() <= 30, "more than 30 dimensions in a set");
            for key in set {
                let key = key.as_str().expect("a dimension reference is a string");
                assert!((1..=255).contains(&key.len()) && key.is_ascii() && !key.starts_with(':'));
                // The target member: a string on the root node, a valid dimension value.
                let value = doc
                    .get(key)
                    .unwrap_or_else(|| panic!("dimension {key} is not a member: {text}"))
                    .as_str()
                    .unwrap_or_else(|| panic!("dimension {key} is not a string"));
                assert!((1..=1024).contains(&value.len()), "{key}: {value:?}");
                assert!(value.is_ascii() && !value.chars().any(|c| c.is_ascii_control()));
                assert!(!value.trim().is_empty(), "{key} is blank");
            }
        }

        let definitions = directive["Metrics"]
            .as_array()
            .expect("Metrics is an array");
        assert!(!definitions.is_empty() && definitions.len() <= 100);
        let mut names = BTreeSet::new();
        for definition in definitions {
            let definition = definition
                .as_object()
                .expect("a MetricDefinition is an object");
            assert!(
                definition
                    .keys()
                    .all(|k| ["Name", "Unit", "StorageResolution"].contains(&k.as_str())),
                "{definition:?}"
            );
            let name = definition["Name"].as_str().expect("Name is a string");
            assert!((1..=255).contains(&name.len()));
            assert!(names.insert(name), "{name} defined twice");
            if let Some(unit) = definition.get("Unit") {
                let unit = unit.as_str().expect("Unit is a string");
                assert!(
                    UNITS.contains(&unit),
                    "unit {unit} is not a CloudWatch unit"
                );
            }
            // The target member: a number, or an array of at most 100 numbers.
            match doc.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values)) => {
                    assert!(values.len() <= 100 && values.iter().all(Value::is_number))
                }
                other => panic!("metric {name} is {other:?}, not a number: {text}"),
            }
        }
    }
}

/// The gate's own contract on top of the specification: the names the template reads, the route
/// and outcome taking only known values, and one request counted once.
fn assert_gate_line(doc: &Map<String, Value>) {
    assert_valid_emf(doc);
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], metrics::NAMESPACE);
    let sets: Vec<Vec<&str>> = directive["Dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        sets,
        [
            vec![metrics::FUNCTION_NAME, metrics::ROUTE, metrics::OUTCOME],
            vec![metrics::FUNCTION_NAME, metrics::OUTCOME],
        ]
    );
    let units: Vec<(&str, &str)> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["Name"].as_str().unwrap(), m["Unit"].as_str().unwrap()))
        .collect();
    assert_eq!(
        units,
        [
            (metrics::REQUESTS, "Count"),
            (metrics::LATENCY, "Milliseconds"),
            (metrics::SAGEMAKER_TIME, "Milliseconds"),
            (metrics::SAGEMAKER_CALLS, "Count"),
        ]
    );
    assert!(ROUTES.contains(&doc["Route"].as_str().unwrap()), "{doc:?}");
    let outcome = doc["Outcome"].as_str().unwrap();
    assert!(
        Outcome::ALL.iter().any(|o| o.as_str() == outcome),
        "{outcome}"
    );
    assert_eq!(doc["Requests"], 1);
    let latency = doc["Latency"].as_f64().unwrap();
    let waited = doc["SageMakerTime"].as_f64().unwrap();
    assert!(
        0.0 <= waited && waited <= latency,
        "{waited} ms of {latency} ms"
    );
}

#[tokio::test]
async fn every_request_writes_one_emf_line_that_the_specification_accepts() {
    let t = TestGate::new().await;
    let json = |e: Value| with_header(e, "accept", "application/json");
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            event("http-notebook"),
            200,
            "/notebook-instances/{name}",
            "opened",
        ),
        (
            event("rest-notebook"),
            302,
            "/notebook-instances/{name}",
            "opened",
        ),
        (
            event("http-launch-notebook"),
            302,
            "/launch/notebook-instances/{name}",
            "opened",
        ),
        (event("http-studio"), 200, "/studio", "opened"),
        (
            json(open_notebook("alice-pending")),
            202,
            "/notebook-instances/{name}",
            "starting",
        ),
        (
            event("http-start-notebook"),
            202,
            "/notebook-instances/{name}/start",
            "changed",
        ),
        (
            event("rest-stop-space"),
            202,
            "/studio/spaces/{space}/stop",
            "changed",
        ),
        (event("http-targets"), 200, "/targets", "listed"),
        (event("http-preflight"), 204, "/targets", "preflight"),
        (
            open_notebook("bob-nb"),
            404,
            "/notebook-instances/{name}",
            "not_found",
        ),
        (
            with_path(event("http-notebook"), "/no-such-route"),
            404,
            "unknown",
            "not_found",
        ),
        (
            open_notebook("bad_name"),
            400,
            "/notebook-instances/{name}",
            "client_error",
        ),
        (
            without_authorizer(event("http-notebook")),
            401,
            "/notebook-instances/{name}",
            "client_error",
        ),
        (
            with_method(event("http-start-notebook"), "GET"),
            405,
            "/notebook-instances/{name}/start",
            "client_error",
        ),
        // Refused before routing (src/event.rs): answered, so counted like any other answer.
        (
            with_header(event("http-notebook"), "host", "a b"),
            400,
            "unknown",
            "client_error",
        ),
    ];
    let events: Vec<Value> = cases.iter().map(|c| c.0.clone()).collect();
    let (log, statuses) = logs_of(&t, events).await;
    let expected: Vec<u16> = cases.iter().map(|c| c.1).collect();
    assert_eq!(statuses, expected);

    let lines = emf_lines(&log);
    let audit = audit_lines(&log);
    assert_eq!(lines.len(), cases.len(), "one metrics line per request");
    for ((doc, audit), (_, _, route, outcome)) in lines.iter().zip(&audit).zip(&cases) {
        assert_gate_line(doc);
        assert_eq!(
            (doc["Route"].as_str(), doc["Outcome"].as_str()),
            (Some(*route), Some(*outcome))
        );
        // The same request as its audit line says.
        assert_eq!(doc["Route"], audit["route"]);
        assert_eq!(doc["SageMakerCalls"], audit["sagemaker_calls"]);
        assert_eq!(doc["requestId"], audit["request_id"]);
        assert_eq!(doc["FunctionName"], "notebook-gate", "outside Lambda");
    }
    // An open's reads and presign, as the audit line counts them.
    assert_eq!(lines[0]["SageMakerCalls"], 3);
    assert!(lines[0]["SageMakerTime"].as_f64().unwrap() > 0.0);
    assert_eq!(
        lines[10]["SageMakerCalls"], 0,
        "an unknown route calls nothing"
    );
}

#[tokio::test]
async fn every_event_refused_before_routing_writes_one_client_error_line() {
    let t = TestGate::new().await;
    let mut bad_body = event("rest-notebook");
    bad_body["isBase64Encoded"] = json!(true);
    bad_body["body"] = json!("not base64!");
    // One per reason `admit` has: an unreadable header, a host no URI holds, a body that does
    // not decode; in both event shapes.
    let events = vec![
        with_header(event("http-notebook"), "user-agent", "Zq9\u{0}header"),
        with_header(event("rest-notebook"), "host", "Zq9 host"),
        with_header(event("http-notebook"), "x-forwarded-proto", "ht tp"),
        bad_body,
    ];
    let (log, statuses) = logs_of(&t, events.clone()).await;
    assert_eq!(statuses, [400, 400, 400, 400]);
    assert!(t.stub.calls().is_empty());
    let lines = emf_lines(&log);
    let audit = audit_lines(&log);
    assert_eq!(
        lines.len(),
        events.len(),
        "one metrics line per answer: {log}"
    );
    assert_eq!(audit.len(), events.len());
    for ((doc, audit), event) in lines.iter().zip(&audit).zip(&events) {
        assert_gate_line(doc);
        assert_eq!(doc["Route"], "unknown");
        assert_eq!(doc["Route"], audit["route"]);
        assert_eq!(doc["Outcome"], "client_error");
        assert_eq!(doc["SageMakerCalls"], 0);
        assert_eq!(doc["SageMakerTime"], 0.0);
        assert_eq!(doc["requestId"], event["requestContext"]["requestId"]);
        assert_eq!(doc["requestId"], audit["request_id"]);
        assert!(!Value::Object(doc.clone()).to_string().contains("Zq9"));
    }
}

#[tokio::test]
async fn sagemaker_failures_are_counted_by_class() {
    let t = TestGate::new().await;
    let mut log = String::new();
    for (fault, status, outcome) in [
        (Fault::Throttle, 429, "throttled"),
        (Fault::ServerError, 502, "upstream_error"),
        (Fault::Denied, 502, "upstream_error"),
        (Fault::Drop, 502, "upstream_error"),
    ] {
        t.stub.clear_faults();
        t.stub.fault("DescribeNotebookInstance", fault);
        let (one, statuses) = logs_of(&t, vec![event("http-notebook")]).await;
        assert_eq!(statuses, [status], "{fault:?}");
        let lines = emf_lines(&one);
        assert_eq!(lines.len(), 1);
        assert_gate_line(&lines[0]);
        assert_eq!(lines[0]["Outcome"], outcome, "{fault:?}");
        assert_eq!(lines[0]["Route"], "/notebook-instances/{name}");
        log.push_str(&one);
    }
    // A launch answers its error as a page; the class is the same.
    t.stub.fault("DescribeNotebookInstance", Fault::Throttle);
    let (page, statuses) = logs_of(&t, vec![event("http-launch-notebook")]).await;
    assert_eq!(statuses, [429]);
    assert_eq!(emf_lines(&page)[0]["Outcome"], "throttled");
}

#[tokio::test]
async fn a_sagemaker_that_does_not_answer_is_a_timeout() {
    let t = TestGate::new().await;
    t.stub.fault(
        "DescribeNotebookInstance",
        Fault::Delay(Duration::from_secs(30)),
    );
    let (log, statuses) = logs_of(&t, vec![event("http-notebook")]).await;
    assert_eq!(statuses, [504]);
    let lines = emf_lines(&log);
    assert_gate_line(&lines[0]);
    assert_eq!(lines[0]["Outcome"], "timeout");
    // The wait is SageMaker's, and the metrics say so.
    let waited = lines[0]["SageMakerTime"].as_f64().unwrap();
    assert!(waited >= 1000.0, "{waited} ms");
}

#[tokio::test]
async fn no_metric_line_carries_a_name_from_the_path_a_caller_a_token_or_a_url() {
    let t = TestGate::new().await;
    let events = vec![
        event("http-notebook"),
        event("rest-notebook"),
        event("http-launch-notebook"),
        event("http-launch-studio"),
        with_query(event("http-studio"), &[("space", "alice-space")]),
        event("http-start-notebook"),
        event("rest-stop-space"),
        event("http-targets"),
        open_notebook("bob-nb"),
        open_notebook("Zq9-unseen-name"),
        // Text that looks like a template, and a path no route has: neither becomes a value.
        open_notebook("%7Bname%7Dx"),
        with_path(event("http-notebook"), "/Zq9-unknown-route/deeper"),
    ];
    let mut secrets: Vec<String> = events.iter().flat_map(token_values).collect();
    assert!(secrets.len() >= 8);
    secrets.extend(
        [
            "alice-nb",
            "alice-stopped",
            "alice-space",
            "bob-nb",
            "Zq9",
            "7Bname",
            ALICE,
            "203.0.113.10",
            URL_SECRET,
            "sagemaker.aws",
            "https://",
            "http://",
            "access_token",
            "arn:",
        ]
        .map(String::from),
    );
    let (log, statuses) = logs_of(&t, events).await;
    assert_eq!(statuses.len(), 12);
    assert!(statuses.contains(&302) && statuses.contains(&404));
    let lines = emf_lines(&log);
    assert_eq!(lines.len(), 12);
    for doc in &lines {
        assert_gate_line(doc);
        let text = Value::Object(doc.clone()).to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret:?} in {text}");
        }
        // Nothing but the declared members and the request id.
        let keys: BTreeSet<&str> = doc.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "_aws",
                "FunctionName",
                "Route",
                "Outcome",
                "Requests",
                "Latency",
                "SageMakerTime",
                "SageMakerCalls",
                "requestId",
            ])
        );
    }
    assert_eq!(lines[9]["Outcome"], "not_found");
    assert_eq!(lines[11]["Route"], "unknown");
}

#[tokio::test]
async fn metrics_are_written_whatever_the_log_level_and_never_inside_a_log_record() {
    let t = TestGate::new().await;
    for (json, level) in [(true, LevelFilter::ERROR), (false, LevelFilter::TRACE)] {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = notebook_gate::logging::subscriber(json, level, move || writer.clone());
        {
            let _guard = tracing::subscriber::set_default(subscriber);
            assert_eq!(t.send(event("http-notebook")).await.status, 200);
        }
        let log = captured.text();
        let lines = emf_lines(&log);
        assert_eq!(lines.len(), 1, "json={json} level={level}: {log}");
        assert_gate_line(&lines[0]);
        // Only the line itself holds the document: no record wraps or repeats it.
        assert_eq!(log.matches("\"_aws\"").count(), 1, "{log}");
    }
}
