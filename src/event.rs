//! Admits an API Gateway event only in a form `lambda_http` can turn into a `Request` without
//! panicking, repairing what can be repaired and refusing the rest with a 400.
//!
//! `lambda_http` 1.3 builds the request URI from the `Host` header (or `requestContext.domainName`),
//! `X-Forwarded-Proto`, the stage and the path, and `unwrap()`s `Url::parse` on it, then
//! `expect()`s `http::Request::builder()`: a host such as `a b`, `::1`, `127.0.0.1:65536` or
//! `a%20b`, or a scheme longer than 64 characters, panics (upstream: aws/aws-lambda-rust-runtime
//! #368, #445 and #488, "failed to build request: InvalidUri"). It appends an HTTP API's
//! `rawQueryString` as the client sent it, which panics on a space or a quote (#461, #489 and #515,
//! `InvalidUriChar`). A header name or value that is not valid HTTP (`\x00`, `\x01`) fails the
//! event's deserialization before any handler runs (the same `HeaderValue` refusal as
//! aws/aws-lambda-web-adapter#732). Each of those becomes a failed invocation: API Gateway answers
//! 502. When lambda_http builds its URI without panicking and deserializes headers leniently, this
//! module can go; `tests/gate/hostile.rs` and `tests/properties` show whether it still has work.
//!
//! So the runtime hands us the event as JSON: the query string is percent-encoded where a URI may
//! not hold it (every value stays as the client meant it, since the query is decoded again when
//! read), and an event whose headers, host, scheme, path or body cannot be read is answered here
//! with `invalid_request`.

use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine;
use lambda_http::http::uri::Authority;
use lambda_http::http::{HeaderMap, Uri, header};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceExt};
use lambda_http::{Body, LambdaEvent, Response};
use serde::Serialize;
use serde_json::Value;

use crate::error::GateError;
use crate::metrics::{Outcome, RequestMetrics};

/// What the runtime sends back for one event: `lambda_http`'s own response, or our refusal.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer<R> {
    Served(R),
    Refused(Value),
    /// The scheduler's sweep (`sweep.rs`): not an HTTP answer at all.
    Scheduled(Value),
}

/// Admits the event and hands it to `service` (lambda_http's adapter around the gate), or answers
/// the refusal itself.
pub async fn answer<S>(
    service: S,
    event: LambdaEvent<Value>,
) -> Result<Answer<S::Response>, S::Error>
where
    S: Service<LambdaEvent<LambdaRequest>>,
{
    let LambdaEvent { payload, context } = event;
    match admit(payload) {
        Ok(request) => service
            .oneshot(LambdaEvent::new(request, context))
            .await
            .map(Answer::Served),
        Err(refused) => Ok(Answer::Refused(refused.to_lambda_response())),
    }
}

/// An event the gate will not hand to `lambda_http`, and why (for the log, never the caller).
#[derive(Debug)]
pub struct Refused {
    pub request_id: String,
    pub reason: &'static str,
}

impl Refused {
    /// Writes the refusal's audit line and, like every answered request, its metrics line.
    fn new(request_id: &str, reason: &'static str, started: Instant) -> Self {
        tracing::info!(
            target: "audit",
            request_id = %request_id,
            route = "unknown",
            status = 400,
            reason,
            sagemaker_calls = 0,
            "request refused before routing"
        );
        RequestMetrics {
            route: "unknown",
            outcome: Outcome::ClientError,
            latency: started.elapsed(),
            sagemaker_time: Duration::ZERO,
            sagemaker_calls: 0,
            request_id,
        }
        .emit();
        Self {
            request_id: request_id.to_owned(),
            reason,
        }
    }

    /// The 400 the caller gets, with the same headers as every other answer of the gate.
    pub fn response(&self) -> Response<Body> {
        crate::http::error_response(
            GateError::InvalidRequest("The request's headers, host or path cannot be read.".into()),
            &self.request_id,
        )
    }

    /// The response as the proxy integration's JSON, which REST APIs and HTTP APIs (payload 2.0)
    /// both read: the event may be too broken to tell which of the two sent it.
    pub fn to_lambda_response(&self) -> Value {
        let response = self.response();
        let headers: serde_json::Map<String, Value> = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.into())))
            .collect();
        serde_json::json!({
            "statusCode": response.status().as_u16(),
            "headers": headers,
            "body": String::from_utf8_lossy(response.body()),
            "isBase64Encoded": false,
        })
    }
}

/// The event as `lambda_http` will read it, or why it cannot be.
pub fn admit(event: Value) -> Result<LambdaRequest, Refused> {
    let started = Instant::now();
    // API Gateway's own id, kept to what an id holds: it is echoed in the answer and the log.
    let request_id: String = event["requestContext"]["requestId"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(128)
        .collect();
    let mut request: LambdaRequest = match serde_json::from_value(event) {
        Ok(request) => request,
        // The error text may quote a header value, which may be a token: it is not logged.
        Err(_) => {
            return Err(Refused::new(
                &request_id,
                "headers or event shape not readable",
                started,
            ));
        }
    };
    repair_request(&mut request);
    if !uri_builds(&request) {
        return Err(Refused::new(
            &request_id,
            "host, scheme or path not valid in a URI",
            started,
        ));
    }
    if !body_decodes(&request) {
        return Err(Refused::new(
            &request_id,
            "body marked base64 does not decode",
            started,
        ));
    }
    Ok(request)
}

pub fn repair_request(request: &mut LambdaRequest) {
    if let LambdaRequest::ApiGatewayV2(http) = request
        && let Some(query) = http.raw_query_string.as_mut()
        && !query.bytes().all(is_query_byte)
    {
        *query = percent_encode_invalid(query);
    }
}

/// RFC 3986 `query`: unreserved, sub-delims, `:`, `@`, `/`, `?`, and `%` of a percent-encoding.
fn is_query_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte)
}

fn percent_encode_invalid(query: &str) -> String {
    let mut encoded = String::with_capacity(query.len() * 3);
    for byte in query.bytes() {
        if is_query_byte(byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Whether the URI lambda_http 1.3 builds (`build_request_uri`, `apigw_path_with_stage` and the
/// raw query of `into_api_gateway_v2_request` in its `request.rs`) passes both of its parsers.
fn uri_builds(request: &LambdaRequest) -> bool {
    let (headers, domain_name, stage, path, raw_query) = match request {
        LambdaRequest::ApiGatewayV2(http) => (
            &http.headers,
            http.request_context.domain_name.as_deref(),
            http.request_context.stage.as_deref(),
            http.raw_path.as_deref(),
            http.raw_query_string.as_deref(),
        ),
        LambdaRequest::ApiGatewayV1(rest) => (
            &rest.headers,
            rest.request_context.domain_name.as_deref(),
            rest.request_context.stage.as_deref(),
            rest.path.as_deref(),
            // A REST API's query is rebuilt form-urlencoded from its parameter maps: always valid.
            None,
        ),
        _ => return true,
    };
    let path = path_with_stage(stage, path.unwrap_or_default());
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(domain_name);
    // Stricter than lambda_http on one point: a host must be a host (`a/b` or `u@h` parses as a
    // URL, but is not what API Gateway puts in `Host`).
    if host.is_some_and(|h| h.contains('@') || Authority::from_str(h).is_err()) {
        return false;
    }
    let built = match host {
        None => url::Url::parse(&format!("http://localhost{path}")).map(|u| u.path().to_owned()),
        Some(host) => {
            let scheme = forwarded_proto(headers).unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{path}")).map(|u| u.to_string())
        }
    };
    let Ok(mut uri) = built else {
        return false;
    };
    if let Some(query) = raw_query.filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    Uri::from_str(&uri).is_ok()
}

fn forwarded_proto(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
}

fn path_with_stage(stage: Option<&str>, path: &str) -> String {
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() {
        return path.to_owned();
    }
    match stage {
        None | Some("$default") => path.to_owned(),
        Some(stage) if path.starts_with(&format!("/{stage}/")) => path.to_owned(),
        Some(stage) => format!("/{stage}{path}"),
    }
}

/// lambda_http `expect()`s the base64 decoding of a body marked as encoded.
fn body_decodes(request: &LambdaRequest) -> bool {
    let (encoded, body) = match request {
        LambdaRequest::ApiGatewayV2(http) => (http.is_base64_encoded, http.body.as_deref()),
        LambdaRequest::ApiGatewayV1(rest) => (rest.is_base64_encoded, rest.body.as_deref()),
        _ => return true,
    };
    !encoded || body.is_none_or(|b| base64::engine::general_purpose::STANDARD.decode(b).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    fn http_event_with_query(raw: &str) -> LambdaRequest {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../events/http-targets.json")).unwrap();
        event["rawQueryString"] = raw.into();
        serde_json::from_value(event).unwrap()
    }

    #[test]
    fn a_query_with_characters_a_uri_may_not_hold_still_becomes_a_request() {
        let mut event = http_event_with_query("app=\"jupyter lab\"&space=é<x>{y}|`^\\");
        repair_request(&mut event);
        let request = lambda_http::Request::from(event);
        let query = request.query_string_parameters();
        assert_eq!(query.first("app"), Some("\"jupyter lab\""));
        assert_eq!(query.first("space"), Some("é<x>{y}|`^\\"));
    }

    #[test]
    fn a_valid_query_is_left_exactly_as_sent() {
        let raw = "space=team-shared&app=jupyterlab&x=%20a%2Fb";
        let mut event = http_event_with_query(raw);
        repair_request(&mut event);
        let LambdaRequest::ApiGatewayV2(http) = &event else {
            panic!("an HTTP API event")
        };
        assert_eq!(http.raw_query_string.as_deref(), Some(raw));
    }

    #[test]
    fn the_stage_is_joined_to_the_path_as_lambda_http_joins_it() {
        assert_eq!(path_with_stage(Some("prod"), "/targets"), "/prod/targets");
        assert_eq!(
            path_with_stage(Some("prod"), "/prod/targets"),
            "/prod/targets"
        );
        assert_eq!(path_with_stage(Some("$default"), "/targets"), "/targets");
        assert_eq!(path_with_stage(None, "/targets"), "/targets");
    }
}
