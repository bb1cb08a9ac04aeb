//! Shared set-up: a gate over the stub with a demo world, events from `events/`, and replies.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_sagemaker::config::{Credentials, Region};
use lambda_http::RequestExt;
use lambda_http::http::HeaderMap;
use notebook_gate::clock::AwsClock;
use notebook_gate::{Config, Gate, handle, sagemaker, tagging};
use serde_json::{Map, Value, json};

use crate::stub::{DOMAIN_ID, Stub};

pub const ALICE: &str = "3f6b2a1e-8c2d-4e5f-9a1b-0c1d2e3f4a01";
pub const BOB: &str = "7c9d0e1f-2a3b-4c5d-8e6f-0a1b2c3d4e02";
pub const OWNER: &str = "notebook-gate:owner";
pub const GROUP: &str = "notebook-gate:group";

pub struct TestGate {
    pub stub: Stub,
    pub gate: Gate<aws_sdk_sagemaker::Client>,
}

impl TestGate {
    /// The gate with default configuration plus the Studio domain, over the demo world.
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    pub async fn with_env(vars: &[(&str, &str)]) -> Self {
        let mut vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !vars
            .iter()
            .any(|(k, _)| k == "STUDIO_DOMAIN_ID" || k == "STUDIO_DOMAIN_IDS")
        {
            vars.push(("STUDIO_DOMAIN_ID".into(), DOMAIN_ID.into()));
        }
        if !vars.iter().any(|(k, _)| k == "CORS_ALLOWED_ORIGINS") {
            vars.push((
                "CORS_ALLOWED_ORIGINS".into(),
                "https://portal.example.com".into(),
            ));
        }
        let config = Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| v != "<unset>")
        })
        .expect("test configuration is valid");
        let stub = Stub::new();
        demo_world(&stub);
        let sdk_config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(stub.http_client())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIDTEST",
                "test-secret",
                None,
                None,
                "test",
            ))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .load()
            .await;
        // One clock for the clients and the gate, as main.rs builds them: the stub's `Date`.
        let clock = AwsClock::default();
        let tagging = tagging::client(&sdk_config, None, &clock);
        let gate =
            Gate::new(config, sagemaker::client(&sdk_config, &clock), tagging).with_clock(clock);
        Self { stub, gate }
    }

    pub async fn send(&self, event: Value) -> Reply {
        self.send_text(&event.to_string()).await
    }

    /// An event as raw JSON text, which may hold what a `Value` cannot (e.g. duplicated keys).
    pub async fn send_text(&self, event: &str) -> Reply {
        // As main.rs runs it: the event admitted (repaired or refused), then converted by
        // lambda_http.
        let event: Value = serde_json::from_str(event).expect("a JSON event");
        let response = match notebook_gate::event::admit(event) {
            Ok(payload) => {
                let request = lambda_http::Request::from(payload).with_lambda_context(context());
                handle(&self.gate, request)
                    .await
                    .expect("the handler always answers")
            }
            Err(refused) => refused.response(),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// Alice owns some notebooks in every state, shares one through `ml-team`; Bob owns his own.
/// Alice's space and the shared one (Bob's) run a JupyterLab app; Bob's own space runs none.
fn demo_world(stub: &Stub) {
    stub.notebook("alice-nb", "InService", &[(OWNER, ALICE)])
        .notebook("alice-pending", "Pending", &[(OWNER, ALICE)])
        .notebook("alice-stopped", "Stopped", &[(OWNER, ALICE)])
        .notebook("alice-failed", "Failed", &[(OWNER, ALICE)])
        .notebook("team-nb", "InService", &[(GROUP, "ml-team")])
        .notebook("bob-nb", "InService", &[(OWNER, BOB), ("project", "x")])
        .notebook("untagged-nb", "InService", &[])
        .profile("alice", &[(OWNER, ALICE)])
        .profile("bob", &[(OWNER, BOB)])
        .profile("mallory", &[])
        .space("alice-space", Some("alice"), false)
        .space("bob-space", Some("bob"), false)
        .space("team-space", Some("bob"), true)
        .app(
            "alice-space",
            "JupyterLab",
            "default",
            "Deleted",
            "ml.t3.medium",
            -7200,
        )
        .app(
            "alice-space",
            "JupyterLab",
            "default",
            "InService",
            "ml.t3.medium",
            0,
        )
        .app(
            "team-space",
            "JupyterLab",
            "default",
            "InService",
            "ml.g5.xlarge",
            60,
        );
}

/// The ARN Lambda invokes the function by, as the local gateway sends it.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:notebook-gate";

/// The Lambda context the runtime hands the handler.
pub fn context() -> lambda_http::Context {
    let mut context = lambda_http::Context::default();
    context.request_id = "lambda-request-1".into();
    context.invoked_function_arn = FUNCTION_ARN.into();
    context
}

/// Calls in name order: an open's two reads run together and reach the stub in either order.
pub fn sorted<S: AsRef<str>>(operations: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut operations: Vec<String> = operations
        .into_iter()
        .map(|o| o.as_ref().to_owned())
        .collect();
    operations.sort();
    operations
}

/// The one call of an operation among `calls`.
pub fn call<'c>(calls: &'c [crate::stub::Call], operation: &str) -> &'c crate::stub::Call {
    let mut matching = calls.iter().filter(|c| c.operation == operation);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("no {operation} call"));
    assert!(matching.next().is_none(), "more than one {operation} call");
    found
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The error's human message (`""` for an answer that is no JSON error).
    pub fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The `name`s of a listed kind (`body["notebookInstances"]`, a domain's `spaces`), sorted.
pub fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The item of a listed kind whose `key` is `value`.
pub fn item<'l>(list: &'l Value, key: &str, value: &str) -> &'l Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("{key} {value} not listed: {list}"))
}

pub fn event(name: &str) -> Value {
    let path = format!("{}/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn is_rest(event: &Value) -> bool {
    event.get("httpMethod").is_some()
}

/// The claims object of either event shape.
pub fn claims(event: &mut Value) -> &mut Map<String, Value> {
    let authorizer = &mut event["requestContext"]["authorizer"];
    let claims = if authorizer.get("jwt").is_some() {
        &mut authorizer["jwt"]["claims"]
    } else {
        &mut authorizer["claims"]
    };
    claims.as_object_mut().expect("event has claims")
}

/// The same request, made by Bob (group `analysts`, profile `bob`).
pub fn as_bob(mut event: Value) -> Value {
    let rest = is_rest(&event);
    let claims = claims(&mut event);
    claims.insert("sub".into(), json!(BOB));
    claims.insert(
        "cognito:groups".into(),
        json!(if rest { "analysts" } else { "[analysts]" }),
    );
    for name in ["cognito:username", "username"] {
        if claims.contains_key(name) {
            claims.insert(name.into(), json!("bob"));
        }
    }
    if claims.contains_key("email") {
        claims.insert("email".into(), json!("bob@example.com"));
    }
    event
}

pub fn with_path(mut event: Value, path: &str) -> Value {
    if is_rest(&event) {
        event["path"] = json!(path);
        event["requestContext"]["path"] = json!(format!("/prod{path}"));
    } else {
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
    }
    event
}

pub fn with_query(mut event: Value, pairs: &[(&str, &str)]) -> Value {
    let single: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    if is_rest(&event) {
        let multi: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!([v])))
            .collect();
        event["queryStringParameters"] = Value::Object(single);
        event["multiValueQueryStringParameters"] = Value::Object(multi);
    } else {
        let raw: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        event["rawQueryString"] = json!(raw.join("&"));
        event["queryStringParameters"] = Value::Object(single);
    }
    event
}

pub fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    event["headers"][name] = json!(value);
    if is_rest(&event) {
        event["multiValueHeaders"][name] = json!([value]);
    }
    event
}

pub fn with_method(mut event: Value, method: &str) -> Value {
    if is_rest(&event) {
        event["httpMethod"] = json!(method);
        event["requestContext"]["httpMethod"] = json!(method);
    } else {
        event["requestContext"]["http"]["method"] = json!(method);
    }
    event
}

pub fn without_authorizer(mut event: Value) -> Value {
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    event
}

/// The same body for everything the caller may not open, whether it exists or not.
pub fn assert_not_found(reply: &Reply) {
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.error_code(), "not_found");
    assert_eq!(
        reply.json()["error"]["message"],
        "Nothing here that you may open."
    );
}
