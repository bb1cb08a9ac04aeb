//! CloudWatch metrics from the log: one Embedded Metric Format (EMF) line per request, which
//! CloudWatch Logs turns into metrics, so they cost no API call and no wait.
//!
//! Dimensions are the function's name, the route's template and the outcome's class: never a name
//! from the path, a caller, a token or a URL. The template's alarms and dashboard name the metrics
//! and dimensions below; `tests/template/test_monitoring.py` reads them from this file.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::error::GateError;

/// The CloudWatch namespace of the gate's metrics.
pub const NAMESPACE: &str = "NotebookGate";

/// Metric names. `Requests` is 1 per request: summed, it counts requests of a class.
pub const REQUESTS: &str = "Requests";
pub const LATENCY: &str = "Latency";
pub const SAGEMAKER_TIME: &str = "SageMakerTime";
pub const SAGEMAKER_CALLS: &str = "SageMakerCalls";

/// Dimension names. `FunctionName` keeps two stacks in one account apart, as in `AWS/Lambda`.
pub const FUNCTION_NAME: &str = "FunctionName";
pub const ROUTE: &str = "Route";
pub const OUTCOME: &str = "Outcome";

/// The tracing target of the EMF lines: `logging` writes them as they are, not as log records.
pub const TARGET: &str = "emf";

/// What a request came to, in few enough classes to be a metric dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A presigned URL handed out (302 or 200 with the URL).
    Opened,
    /// The notebook instance is starting; the caller comes back (202).
    Starting,
    /// A start or stop answered (202 under way, 200 already there): not an open, so counted apart.
    Changed,
    /// `GET /targets` answered.
    Listed,
    /// A CORS preflight answered by the function (API Gateway answers them when deployed).
    Preflight,
    /// 404: an unknown route, or a name the caller may not open (the two look alike).
    NotFound,
    /// Any other 4xx but 429: the caller's to fix (bad name, no identity, wrong network or method,
    /// a state that does not allow it, an action turned off).
    ClientError,
    /// 429: SageMaker throttled the gate.
    Throttled,
    /// 502: SageMaker failed, or IAM refused the function a call.
    UpstreamError,
    /// 504: SageMaker did not answer within the request's deadline.
    Timeout,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Self::Opened,
        Self::Starting,
        Self::Changed,
        Self::Listed,
        Self::Preflight,
        Self::NotFound,
        Self::ClientError,
        Self::Throttled,
        Self::UpstreamError,
        Self::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Starting => "starting",
            Self::Changed => "changed",
            Self::Listed => "listed",
            Self::Preflight => "preflight",
            Self::NotFound => "not_found",
            Self::ClientError => "client_error",
            Self::Throttled => "throttled",
            Self::UpstreamError => "upstream_error",
            Self::Timeout => "timeout",
        }
    }

    /// The class of an error answer, by its status: `GateError::status` is the one mapping of
    /// errors, so a new variant is classed the way its status says without a change here.
    pub fn of_error(error: &GateError) -> Self {
        match error.status() {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::TOO_MANY_REQUESTS => Self::Throttled,
            StatusCode::GATEWAY_TIMEOUT => Self::Timeout,
            status if status.is_client_error() => Self::ClientError,
            _ => Self::UpstreamError,
        }
    }
}

/// One request's figures, as its audit line has them.
#[derive(Clone, Copy, Debug)]
pub struct RequestMetrics<'a> {
    /// The route's template (`/notebook-instances/{name}`) or `unknown`: `'static`, so it cannot
    /// be text from the request.
    pub route: &'static str,
    pub outcome: Outcome,
    pub latency: Duration,
    /// Wall-clock time with at least one SageMaker call in flight (`Calls::waited`).
    pub sagemaker_time: Duration,
    pub sagemaker_calls: u32,
    /// A property, not a dimension: finds the request's audit line from a metric in Logs Insights.
    pub request_id: &'a str,
}

impl RequestMetrics<'_> {
    /// The EMF document, one line: the `_aws` metadata with one directive, published by
    /// (function, route, outcome) and by (function, outcome), whose sums the alarms read.
    pub fn to_emf(&self, function_name: &str, timestamp_ms: u64) -> String {
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [[FUNCTION_NAME, ROUTE, OUTCOME], [FUNCTION_NAME, OUTCOME]],
                    "Metrics": [
                        {"Name": REQUESTS, "Unit": "Count"},
                        {"Name": LATENCY, "Unit": "Milliseconds"},
                        {"Name": SAGEMAKER_TIME, "Unit": "Milliseconds"},
                        {"Name": SAGEMAKER_CALLS, "Unit": "Count"},
                    ],
                }],
            },
            FUNCTION_NAME: function_name,
            ROUTE: self.route,
            OUTCOME: self.outcome.as_str(),
            REQUESTS: 1,
            LATENCY: milliseconds(self.latency),
            SAGEMAKER_TIME: milliseconds(self.sagemaker_time),
            SAGEMAKER_CALLS: self.sagemaker_calls,
            "requestId": self.request_id,
        })
        .to_string()
    }

    /// Writes the line through the log (see `logging`), on stdout with the audit line.
    pub fn emit(&self) {
        let line = self.to_emf(function_name(), now_ms());
        tracing::info!(target: TARGET, emf = %line);
    }
}

/// The running-time policy's metrics: `PolicyStops` (or `PolicyStopFailures`) 1 per target, by
/// function and by function and kind. The template's `PolicyStoppedSomething` alarm reads it.
pub const POLICY_STOPS: &str = "PolicyStops";
pub const POLICY_STOP_FAILURES: &str = "PolicyStopFailures";
pub const KIND: &str = "Kind";

pub fn policy_stop_emf(
    kind: &str,
    stopped: bool,
    function_name: &str,
    timestamp_ms: u64,
) -> String {
    let metric = if stopped {
        POLICY_STOPS
    } else {
        POLICY_STOP_FAILURES
    };
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[FUNCTION_NAME], [FUNCTION_NAME, KIND]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        FUNCTION_NAME: function_name,
        KIND: kind,
        metric: 1,
    })
    .to_string()
}

/// Writes one policy stop's line (see `policy_stop_emf`).
pub fn emit_policy_stop(kind: &str, stopped: bool) {
    let line = policy_stop_emf(kind, stopped, function_name(), now_ms());
    tracing::info!(target: TARGET, emf = %line);
}

/// Lambda's own `AWS_LAMBDA_FUNCTION_NAME`, read once; outside Lambda, `notebook-gate`.
fn function_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "notebook-gate".into())
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Milliseconds to the microsecond: enough for a p99, and a short line.
fn milliseconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LifecycleAction;
    use serde_json::Value;

    #[test]
    fn errors_are_classed_by_their_status() {
        let cases = [
            (GateError::NotFound, Outcome::NotFound),
            (GateError::Throttled, Outcome::Throttled),
            (GateError::UpstreamTimeout, Outcome::Timeout),
            (GateError::Upstream("boom".into()), Outcome::UpstreamError),
            (GateError::InvalidRequest("x".into()), Outcome::ClientError),
            (GateError::Unauthenticated, Outcome::ClientError),
            (GateError::SourceNotAllowed, Outcome::ClientError),
            (GateError::MethodNotAllowed("POST"), Outcome::ClientError),
            (
                GateError::NotRunning("Stopped".into()),
                Outcome::ClientError,
            ),
            (
                GateError::ActionDisabled(LifecycleAction::Start),
                Outcome::ClientError,
            ),
            (GateError::NotSpaceOwner, Outcome::ClientError),
        ];
        for (error, outcome) in cases {
            assert_eq!(Outcome::of_error(&error), outcome, "{error:?}");
        }
    }

    #[test]
    fn a_line_holds_the_figures_under_the_names_it_declares() {
        let metrics = RequestMetrics {
            route: "/notebook-instances/{name}",
            outcome: Outcome::Opened,
            latency: Duration::from_micros(12_345),
            sagemaker_time: Duration::from_micros(10_001),
            sagemaker_calls: 3,
            request_id: "req-1",
        };
        let line = metrics.to_emf("gate-fn", 1_700_000_000_123);
        assert!(!line.contains('\n'));
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_123_u64);
        assert_eq!(doc["Latency"], 12.345);
        assert_eq!(doc["SageMakerTime"], 10.001);
        assert_eq!(doc["SageMakerCalls"], 3);
        assert_eq!(doc["Requests"], 1);
        assert_eq!(doc["Outcome"], "opened");
        assert_eq!(doc["FunctionName"], "gate-fn");
        assert_eq!(doc["Route"], "/notebook-instances/{name}");
    }

    #[test]
    fn a_policy_stop_line_counts_one_by_kind() {
        let doc: Value =
            serde_json::from_str(&policy_stop_emf("space", true, "gate-fn", 5)).unwrap();
        assert_eq!(doc["PolicyStops"], 1);
        assert_eq!(doc["Kind"], "space");
        assert_eq!(doc["FunctionName"], "gate-fn");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "PolicyStops"
        );
        let failed: Value =
            serde_json::from_str(&policy_stop_emf("space", false, "gate-fn", 5)).unwrap();
        assert_eq!(failed["PolicyStopFailures"], 1);
        assert!(failed.get("PolicyStops").is_none());
    }

    #[test]
    fn class_names_are_distinct() {
        let mut names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Outcome::ALL.len());
    }
}
