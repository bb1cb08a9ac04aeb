//! An in-process SageMaker stand-in behind the SDK's own connector trait: the gate's real SDK
//! client serializes, signs, retries, times out and parses AWS JSON 1.1 answers as it does against
//! SageMaker, with no HTTP hand-parsed here. It records every call and can inject faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::config::SharedHttpClient;
use aws_sdk_sagemaker::config::http::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
pub const DOMAIN_ID: &str = "d-demo0000001";
/// `DescribeDomain`'s `DomainName` for `DOMAIN_ID`.
pub const DOMAIN_NAME: &str = "demo";
/// Marks the secret part of every URL the stub hands out, so tests can look for leaks.
pub const URL_SECRET: &str = "authToken=PRESIGNED-SECRET";

#[derive(Clone, Debug)]
pub struct Notebook {
    pub name: String,
    pub status: String,
    pub tags: Vec<(String, String)>,
    /// The ARN `DescribeNotebookInstance` answers, when not the one SageMaker would build.
    pub described_arn: Option<String>,
    /// `PlatformIdentifier`; SageMaker refuses to start one on Amazon Linux 2.
    pub platform: String,
}

/// A current notebook instance platform, and one SageMaker no longer starts.
pub const CURRENT_PLATFORM: &str = "notebook-al2023-v1";
pub const RETIRED_PLATFORM: &str = "notebook-al2-v2";

/// When every notebook instance in the stub last changed, and every app was created (epoch
/// seconds, as JSON 1.1 carries timestamps): 2023-11-14T22:13:20Z.
pub const SINCE_EPOCH: i64 = 1_700_000_000;
pub const SINCE: &str = "2023-11-14T22:13:20Z";

/// A Studio app in a space.
#[derive(Clone, Debug)]
pub struct StubApp {
    pub domain: String,
    pub space: String,
    pub app_type: String,
    pub app_name: String,
    pub status: String,
    pub instance_type: String,
    pub created: i64,
}

/// A Studio user profile in a domain.
#[derive(Clone, Debug)]
pub struct StubProfile {
    pub domain: String,
    pub name: String,
    pub tags: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct StubSpace {
    pub domain: String,
    pub name: String,
    pub owner: Option<String>,
    pub shared: bool,
}

/// An MLflow tracking server or app (the stub keeps both alike; an app's `name` is its id).
#[derive(Clone, Debug)]
pub struct StubMlflow {
    pub name: String,
    /// An app's display name; `None` for a tracking server.
    pub app_name: Option<String>,
    pub status: String,
    pub tags: Vec<(String, String)>,
    /// The ARN the Describe call answers, when not the resource's own.
    pub described_arn: Option<String>,
}

impl StubMlflow {
    pub fn arn(&self) -> String {
        match self.app_name {
            None => format!(
                "arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/{}",
                self.name
            ),
            Some(_) => format!(
                "arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/{}",
                self.name
            ),
        }
    }
}

/// A fault the next calls of one operation meet.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Throttle,
    ServerError,
    /// IAM said no: SageMaker's `AccessDeniedException`.
    Denied,
    Delay(Duration),
    Drop,
}

/// One call the stub received: the operation and its JSON input.
#[derive(Clone, Debug)]
pub struct Call {
    pub operation: String,
    pub input: Value,
    /// When the call reached the stub and when its answer left (`None` while in flight, or when
    /// the SDK gave up on it).
    pub started: Instant,
    pub ended: Option<Instant>,
}

#[derive(Default)]
struct State {
    notebooks: Vec<Notebook>,
    profiles: Vec<StubProfile>,
    /// Domains besides `DOMAIN_ID`: (id, name).
    domains: Vec<(String, String)>,
    /// A race: before the next start or stop of this notebook (or `DeleteApp` in this space),
    /// its state becomes this one, as if another tab had got there first. Name -> status.
    races: HashMap<String, String>,
    /// Fields `DescribeDomain` adds for a domain (`AuthMode`, `DomainSettings`), by id.
    domain_settings: HashMap<String, Value>,
    spaces: Vec<StubSpace>,
    apps: Vec<StubApp>,
    tracking_servers: Vec<StubMlflow>,
    mlflow_apps: Vec<StubMlflow>,
    faults: HashMap<String, Fault>,
    /// Faults met only by calls whose JSON input contains the text (the stand-in's `"match"`).
    matched_faults: Vec<(String, String, Fault)>,
    calls: Vec<Call>,
    /// Added to every call, as a region's SageMaker answers in tens of milliseconds.
    latency: Duration,
    in_flight: usize,
    max_in_flight: usize,
    /// AWS's clock, as each answer's `Date` header gives it (epoch seconds); no header when unset.
    clock: Option<i64>,
    /// A space's tags (a keep), by its ARN.
    space_tags: HashMap<String, Vec<(String, String)>>,
}

#[derive(Clone, Default)]
pub struct Stub {
    state: Arc<Mutex<State>>,
}

impl Stub {
    pub fn new() -> Self {
        Self::default()
    }

    /// The HTTP client to give the SDK: every request it sends is answered by this stub.
    pub fn http_client(&self) -> SharedHttpClient {
        let connector = SharedHttpConnector::new(StubConnector(self.state.clone()));
        http_client_fn(move |_settings, _components| connector.clone())
    }

    pub fn notebook(&self, name: &str, status: &str, tags: &[(&str, &str)]) -> &Self {
        self.notebook_on(name, status, tags, CURRENT_PLATFORM)
    }

    /// A notebook instance on the given platform (`RETIRED_PLATFORM`: one SageMaker never starts).
    pub fn notebook_on(
        &self,
        name: &str,
        status: &str,
        tags: &[(&str, &str)],
        platform: &str,
    ) -> &Self {
        self.state.lock().unwrap().notebooks.push(Notebook {
            name: name.into(),
            status: status.into(),
            tags: owned(tags),
            described_arn: None,
            platform: platform.into(),
        });
        self
    }

    /// Another tab or a teammate wins a race: the notebook (or the space's apps) moves to
    /// `status` just before the gate's next start, stop or `DeleteApp` for it arrives.
    pub fn race(&self, name: &str, status: &str) -> &Self {
        self.state
            .lock()
            .unwrap()
            .races
            .insert(name.into(), status.into());
        self
    }

    /// What `DescribeDomain` adds for a domain: `{"AuthMode": "SSO"}`, `{"DomainSettings": ...}`.
    pub fn domain_settings(&self, id: &str, fields: Value) -> &Self {
        self.state
            .lock()
            .unwrap()
            .domain_settings
            .insert(id.into(), fields);
        self
    }

    /// A notebook instance whose `DescribeNotebookInstance` names another ARN than its own.
    pub fn notebook_described_as(&self, name: &str, tags: &[(&str, &str)], arn: &str) -> &Self {
        self.state.lock().unwrap().notebooks.push(Notebook {
            name: name.into(),
            status: "InService".into(),
            tags: owned(tags),
            described_arn: Some(arn.into()),
            platform: CURRENT_PLATFORM.into(),
        });
        self
    }

    pub fn profile(&self, name: &str, tags: &[(&str, &str)]) -> &Self {
        self.profile_in(DOMAIN_ID, name, tags)
    }

    /// A Studio domain besides `DOMAIN_ID`, with its `DomainName`.
    pub fn domain(&self, id: &str, name: &str) -> &Self {
        self.state
            .lock()
            .unwrap()
            .domains
            .push((id.into(), name.into()));
        self
    }

    pub fn profile_in(&self, domain: &str, name: &str, tags: &[(&str, &str)]) -> &Self {
        self.state.lock().unwrap().profiles.push(StubProfile {
            domain: domain.into(),
            name: name.into(),
            tags: owned(tags),
        });
        self
    }

    pub fn space(&self, name: &str, owner: Option<&str>, shared: bool) -> &Self {
        self.space_in(DOMAIN_ID, name, owner, shared)
    }

    pub fn space_in(&self, domain: &str, name: &str, owner: Option<&str>, shared: bool) -> &Self {
        self.state.lock().unwrap().spaces.push(StubSpace {
            domain: domain.into(),
            name: name.into(),
            owner: owner.map(str::to_owned),
            shared,
        });
        self
    }

    /// An app in a space, created `SINCE` plus `age_offset` seconds.
    pub fn app(
        &self,
        space: &str,
        app_type: &str,
        app_name: &str,
        status: &str,
        instance_type: &str,
        age_offset: i64,
    ) -> &Self {
        self.app_in(DOMAIN_ID, space, app_type, app_name, status, instance_type)
            .age(age_offset)
    }

    /// A running app in a space of `domain`, created `SINCE`.
    pub fn app_in(
        &self,
        domain: &str,
        space: &str,
        app_type: &str,
        app_name: &str,
        status: &str,
        instance_type: &str,
    ) -> &Self {
        self.state.lock().unwrap().apps.push(StubApp {
            domain: domain.into(),
            space: space.into(),
            app_type: app_type.into(),
            app_name: app_name.into(),
            status: status.into(),
            instance_type: instance_type.into(),
            created: SINCE_EPOCH,
        });
        self
    }

    /// The last app added was created `SINCE` plus `offset` seconds.
    fn age(&self, offset: i64) -> &Self {
        if let Some(app) = self.state.lock().unwrap().apps.last_mut() {
            app.created = SINCE_EPOCH + offset;
        }
        self
    }

    /// An MLflow tracking server; `described_arn` set makes its Describe name another ARN.
    pub fn tracking_server(
        &self,
        name: &str,
        status: &str,
        tags: &[(&str, &str)],
        described_arn: Option<&str>,
    ) -> &Self {
        self.state
            .lock()
            .unwrap()
            .tracking_servers
            .push(StubMlflow {
                name: name.into(),
                app_name: None,
                status: status.into(),
                tags: owned(tags),
                described_arn: described_arn.map(str::to_owned),
            });
        self
    }

    /// An MLflow app: `id` is the last segment of its ARN.
    pub fn mlflow_app(&self, id: &str, name: &str, status: &str, tags: &[(&str, &str)]) -> &Self {
        self.state.lock().unwrap().mlflow_apps.push(StubMlflow {
            name: id.into(),
            app_name: Some(name.into()),
            status: status.into(),
            tags: owned(tags),
            described_arn: None,
        });
        self
    }

    /// Every answer from now on says it is `epoch` seconds (its `Date` header).
    pub fn clock_at(&self, epoch: i64) -> &Self {
        self.state.lock().unwrap().clock = Some(epoch);
        self
    }

    /// A resource's tags as the stub holds them (a notebook, a tracking server or a space).
    pub fn tags_of(&self, arn: &str) -> Vec<(String, String)> {
        let state = self.state.lock().unwrap();
        tags_by_arn(&state, arn).unwrap_or_default()
    }

    pub fn tracking_server_status(&self, name: &str) -> String {
        let state = self.state.lock().unwrap();
        let server = state.tracking_servers.iter().find(|s| s.name == name);
        server.unwrap().status.clone()
    }

    /// Forgets every app (the property tests build a new world per case).
    #[allow(dead_code)]
    pub fn forget_apps(&self) {
        self.state.lock().unwrap().apps.clear();
    }

    /// The statuses of a space's apps, in the order they were added.
    pub fn app_statuses(&self, space: &str) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .apps
            .iter()
            .filter(|a| a.space == space)
            .map(|a| a.status.clone())
            .collect()
    }

    pub fn fault(&self, operation: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(operation.into(), fault);
    }

    /// A fault for the calls of `operation` whose input contains `text` only.
    pub fn fault_matching(&self, operation: &str, text: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .matched_faults
            .push((operation.into(), text.into(), fault));
    }

    pub fn clear_faults(&self) {
        let mut state = self.state.lock().unwrap();
        state.faults.clear();
        state.matched_faults.clear();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// Whether any call of `operation` reached the stub (e.g. "was anything presigned?").
    pub fn called(&self, operation: &str) -> bool {
        self.calls().iter().any(|c| c.operation == operation)
    }

    pub fn forget_calls(&self) {
        let mut state = self.state.lock().unwrap();
        state.calls.clear();
        state.max_in_flight = state.in_flight;
    }

    /// Every call from now on takes this long to answer.
    pub fn latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// The most calls in flight at once since the stub was made or its calls forgotten.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// Forgets every notebook instance and call (the property tests build a new world per case).
    #[allow(dead_code)]
    pub fn forget_notebooks(&self) {
        let mut state = self.state.lock().unwrap();
        state.notebooks.clear();
        state.calls.clear();
    }

    pub fn status_of(&self, name: &str) -> String {
        let state = self.state.lock().unwrap();
        state
            .notebooks
            .iter()
            .find(|n| n.name == name)
            .unwrap()
            .status
            .clone()
    }
}

fn owned(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    tags.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn notebook_arn(name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{}",
        name.to_lowercase()
    )
}

fn profile_arn(domain: &str, name: &str) -> String {
    format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/{domain}/{name}")
}

/// Ends a call's time in flight when its answer leaves, or when the SDK drops it (a timeout).
struct InFlight {
    state: Arc<Mutex<State>>,
    index: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap();
        state.in_flight -= 1;
        if let Some(call) = state.calls.get_mut(self.index) {
            call.ended = Some(Instant::now());
        }
    }
}

fn tags_json(tags: &[(String, String)]) -> Value {
    tags.iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

impl std::fmt::Debug for StubConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StubConnector")
    }
}

/// The SDK's HTTP connector, answered in process: the request the SDK serialized (signed, with its
/// `X-Amz-Target` and JSON body) goes to the stub's world, and its JSON 1.1 answer goes back
/// through the SDK's own response parsing, retries and timeouts.
struct StubConnector(Arc<Mutex<State>>);

impl HttpConnector for StubConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let state = self.0.clone();
        let operation = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            // `SageMaker.ListTags`, `ResourceGroupsTaggingAPI_20170126.GetResources`
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let input: Value = request
            .body()
            .bytes()
            .and_then(|body| serde_json::from_slice(body).ok())
            .unwrap_or(Value::Null);
        HttpConnectorFuture::new(async move {
            let (fault, latency, _in_flight) = {
                let mut world = state.lock().unwrap();
                world.calls.push(Call {
                    operation: operation.clone(),
                    input: input.clone(),
                    started: Instant::now(),
                    ended: None,
                });
                world.in_flight += 1;
                world.max_in_flight = world.max_in_flight.max(world.in_flight);
                let in_flight = InFlight {
                    state: state.clone(),
                    index: world.calls.len() - 1,
                };
                let text = input.to_string();
                let fault = world
                    .matched_faults
                    .iter()
                    .find(|(op, needle, _)| *op == operation && text.contains(needle.as_str()))
                    .map(|(_, _, fault)| *fault)
                    .or_else(|| world.faults.get(&operation).copied());
                (fault, world.latency, in_flight)
            };
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            let (status, reply) = match fault {
                // What a connection closed before its answer looks like to the SDK: an I/O error
                // on dispatch, which its retry policy treats as transient.
                Some(Fault::Drop) => {
                    return Err(ConnectorError::io(
                        "connection closed before an answer".into(),
                    ));
                }
                // The SDK's attempt timeout races this future, as it races a real socket read.
                Some(Fault::Delay(pause)) => {
                    tokio::time::sleep(pause).await;
                    answer(&state, &operation, &input)
                }
                Some(Fault::Throttle) => error(400, "ThrottlingException", "Rate exceeded"),
                Some(Fault::ServerError) => error(500, "InternalFailure", "boom"),
                Some(Fault::Denied) => error(
                    400,
                    "AccessDeniedException",
                    &format!(
                        "User: arn:aws:sts::{ACCOUNT}:assumed-role/gate/fn is not authorized to perform: {}:{operation}",
                        if operation == "GetResources" {
                            "tag"
                        } else {
                            "sagemaker"
                        }
                    ),
                ),
                None => answer(&state, &operation, &input),
            };
            let mut response = HttpResponse::new(
                StatusCode::try_from(status).expect("a valid status"),
                SdkBody::from(reply.to_string()),
            );
            response
                .headers_mut()
                .insert("content-type", "application/x-amz-json-1.1");
            response.headers_mut().insert("x-amzn-requestid", "stub");
            if let Some(now) = state.lock().unwrap().clock {
                let date = aws_smithy_types::DateTime::from_secs(now)
                    .fmt(aws_smithy_types::date_time::Format::HttpDate)
                    .expect("an HTTP date");
                response.headers_mut().insert("date", date);
            }
            Ok(response)
        })
    }
}

/// The tags of the notebook instance, profile, tracking server, app or space an ARN names.
fn tags_by_arn(state: &State, arn: &str) -> Option<Vec<(String, String)>> {
    state
        .notebooks
        .iter()
        .find(|n| notebook_arn(&n.name) == arn)
        .map(|n| n.tags.clone())
        .or_else(|| {
            state
                .profiles
                .iter()
                .find(|p| profile_arn(&p.domain, &p.name) == arn)
                .map(|p| p.tags.clone())
        })
        .or_else(|| {
            let mut mlflow = state.tracking_servers.iter().chain(&state.mlflow_apps);
            mlflow.find(|m| m.arn() == arn).map(|m| m.tags.clone())
        })
        .or_else(|| {
            state
                .spaces
                .iter()
                .any(|s| space_arn(&s.domain, &s.name) == arn)
                .then(|| state.space_tags.get(arn).cloned().unwrap_or_default())
        })
}

fn tags_by_arn_mut<'s>(state: &'s mut State, arn: &str) -> Option<&'s mut Vec<(String, String)>> {
    if let Some(n) = state
        .notebooks
        .iter()
        .position(|n| notebook_arn(&n.name) == arn)
    {
        return Some(&mut state.notebooks[n].tags);
    }
    if let Some(m) = state.tracking_servers.iter().position(|m| m.arn() == arn) {
        return Some(&mut state.tracking_servers[m].tags);
    }
    if state
        .spaces
        .iter()
        .any(|s| space_arn(&s.domain, &s.name) == arn)
    {
        return Some(state.space_tags.entry(arn.to_owned()).or_default());
    }
    None
}

fn space_arn(domain: &str, name: &str) -> String {
    format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:space/{domain}/{name}")
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    (status, json!({"__type": code, "message": message}))
}

fn answer(state: &Mutex<State>, operation: &str, input: &Value) -> (u16, Value) {
    let mut state = state.lock().unwrap();
    let text = |name: &str| input[name].as_str().unwrap_or_default().to_owned();
    match operation {
        // SageMaker finds notebook instances by name case-insensitively.
        "DescribeNotebookInstance" => match state
            .notebooks
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(&text("NotebookInstanceName")))
        {
            Some(n) => (
                200,
                json!({
                    "NotebookInstanceName": n.name,
                    "NotebookInstanceArn": n.described_arn.clone().unwrap_or_else(|| notebook_arn(&n.name)),
                    "NotebookInstanceStatus": n.status,
                    "InstanceType": "ml.t3.medium",
                    "LastModifiedTime": SINCE_EPOCH,
                    "PlatformIdentifier": n.platform,
                }),
            ),
            None => error(400, "ValidationException", "RecordNotFound"),
        },
        // The Tagging API's index: every tagged notebook instance and MLflow resource, filtered
        // as AWS filters (types by their ARN's `service:type`; AND across tag filters, OR across
        // a filter's values), a page of `ResourcesPerPage` at a time.
        "GetResources" => {
            let types: Vec<String> = input["ResourceTypeFilters"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let filters = input["TagFilters"].as_array().cloned().unwrap_or_default();
            let matches = |arn: &str, tags: &[(String, String)]| {
                let kind = arn.split(':').nth(5).and_then(|r| r.split('/').next());
                let typed = types.is_empty()
                    || types
                        .iter()
                        .any(|t| Some(t.trim_start_matches("sagemaker:")) == kind);
                typed
                    && filters.iter().all(|f| {
                        let values: Vec<&str> = f["Values"]
                            .as_array()
                            .map(|v| v.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        tags.iter().any(|(k, v)| {
                            f["Key"] == k.as_str()
                                && (values.is_empty() || values.contains(&v.as_str()))
                        })
                    })
            };
            let resources: Vec<(String, Vec<(String, String)>)> = state
                .notebooks
                .iter()
                .map(|n| (notebook_arn(&n.name), n.tags.clone()))
                .chain(
                    state
                        .tracking_servers
                        .iter()
                        .chain(&state.mlflow_apps)
                        .map(|m| (m.arn(), m.tags.clone())),
                )
                .filter(|(arn, tags)| !tags.is_empty() && matches(arn, tags))
                .collect();
            let per_page = input["ResourcesPerPage"].as_u64().unwrap_or(50) as usize;
            let start: usize = text("PaginationToken").parse().unwrap_or(0);
            let end = (start + per_page).min(resources.len());
            (
                200,
                json!({
                    "ResourceTagMappingList": resources[start..end].iter().map(|(arn, tags)| json!({
                        "ResourceARN": arn,
                        "Tags": tags_json(tags),
                    })).collect::<Vec<_>>(),
                    "PaginationToken": if end < resources.len() { end.to_string() } else { String::new() },
                }),
            )
        }
        "ListTags" => {
            let arn = text("ResourceArn");
            match tags_by_arn(&state, &arn) {
                Some(tags) => (200, json!({"Tags": tags_json(&tags)})),
                // As SageMaker answers for a resource that is not there, message and all
                // (aws/amazon-sagemaker-feedback#108).
                None if arn.contains(":notebook-instance/") => {
                    error(400, "ValidationException", "")
                }
                None => error(400, "ResourceNotFound", "Resource not found"),
            }
        }
        // Adds or replaces each tag given, on a notebook instance, tracking server or space.
        "AddTags" => {
            let arn = text("ResourceArn");
            let given: Vec<(String, String)> = input["Tags"]
                .as_array()
                .map(|tags| {
                    tags.iter()
                        .map(|t| {
                            (
                                t["Key"].as_str().unwrap_or_default().to_owned(),
                                t["Value"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let Some(tags) = tags_by_arn_mut(&mut state, &arn) else {
                return error(400, "ResourceNotFound", "Resource not found");
            };
            for (key, value) in given {
                tags.retain(|(k, _)| *k != key);
                tags.push((key, value));
            }
            (200, json!({"Tags": []}))
        }
        // SageMaker refuses a transition from any other state, with this message.
        "StartNotebookInstance" | "StopNotebookInstance" => {
            let name = text("NotebookInstanceName");
            if let Some(status) = state.races.remove(&name)
                && let Some(n) = state.notebooks.iter_mut().find(|n| n.name == name)
            {
                n.status = status;
            }
            let (from, to): (&[&str], &str) = if operation == "StartNotebookInstance" {
                (&["Stopped", "Failed"], "Pending")
            } else {
                (&["InService"], "Stopping")
            };
            match state.notebooks.iter_mut().find(|n| n.name == name) {
                Some(n) if to == "Pending" && n.platform.starts_with("notebook-al2-") => error(
                    400,
                    "ValidationException",
                    &format!("Platform {} is no longer supported.", n.platform),
                ),
                Some(n) if from.contains(&n.status.as_str()) => {
                    n.status = to.into();
                    (200, json!({}))
                }
                Some(n) => error(
                    400,
                    "ValidationException",
                    &format!(
                        "Status ({}) not in ([{}]). Unable to transition to ({to}) for Notebook Instance ({})",
                        n.status,
                        from.join(", "),
                        notebook_arn(&n.name)
                    ),
                ),
                None => error(400, "ValidationException", "RecordNotFound"),
            }
        }
        // Pages of MaxResults, NextToken being the index of the next app.
        "ListApps" => {
            let space = input["SpaceNameEquals"].as_str();
            let domain = text("DomainIdEquals");
            let matching: Vec<&StubApp> = state
                .apps
                .iter()
                .filter(|a| a.domain == domain)
                .filter(|a| space.is_none_or(|s| a.space == s))
                .collect();
            let start: usize = text("NextToken").parse().unwrap_or(0);
            let size = input["MaxResults"].as_u64().unwrap_or(10) as usize;
            let end = (start + size).min(matching.len());
            let page: Vec<Value> = matching[start.min(end)..end]
                .iter()
                .map(|a| {
                    json!({
                        "DomainId": a.domain,
                        "SpaceName": a.space,
                        "AppType": a.app_type,
                        "AppName": a.app_name,
                        "Status": a.status,
                        "CreationTime": a.created,
                        "ResourceSpec": {"InstanceType": a.instance_type},
                    })
                })
                .collect();
            let mut reply = json!({"Apps": page});
            if end < matching.len() {
                reply["NextToken"] = json!(end.to_string());
            }
            (200, reply)
        }
        "DeleteApp" => {
            if let Some(status) = state.races.remove(&text("SpaceName")) {
                let space = text("SpaceName");
                for app in state.apps.iter_mut().filter(|a| a.space == space) {
                    app.status = status.clone();
                }
            }
            let found = state.apps.iter_mut().find(|a| {
                text("DomainId") == a.domain
                    && a.space == text("SpaceName")
                    && a.app_type == text("AppType")
                    && a.app_name == text("AppName")
                    && a.status != "Deleted"
            });
            match found {
                Some(a) if matches!(a.status.as_str(), "InService" | "Pending") => {
                    a.status = "Deleting".into();
                    (200, json!({}))
                }
                Some(a) => error(
                    400,
                    "ValidationException",
                    &format!("App is in {} state and cannot be deleted", a.status),
                ),
                None => error(400, "ResourceNotFound", "App does not exist"),
            }
        }
        "CreatePresignedNotebookInstanceUrl" => {
            let name = text("NotebookInstanceName");
            (
                200,
                json!({"AuthorizedUrl": format!("https://{name}.notebook.{REGION}.sagemaker.aws?{URL_SECRET}-{name}")}),
            )
        }
        "DescribeDomain" => {
            let id = text("DomainId");
            let name = if id == DOMAIN_ID {
                Some(DOMAIN_NAME.to_owned())
            } else {
                let known = state.domains.iter().find(|(d, _)| *d == id);
                known.map(|(_, name)| name.clone())
            };
            match name {
                Some(name) => {
                    let mut described = json!({
                        "DomainId": id,
                        "DomainName": name,
                        "DomainArn": format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{id}"),
                        "AuthMode": "IAM",
                    });
                    if let Some(Value::Object(fields)) = state.domain_settings.get(&id) {
                        for (key, value) in fields {
                            described[key] = value.clone();
                        }
                    }
                    (200, described)
                }
                None => error(400, "ResourceNotFound", "Domain not found"),
            }
        }
        "DescribeSpace" => match state
            .spaces
            .iter()
            .find(|s| s.domain == text("DomainId") && s.name == text("SpaceName"))
        {
            Some(s) => (
                200,
                json!({
                    "DomainId": s.domain,
                    "SpaceName": s.name,
                    "Status": "InService",
                    "OwnershipSettings": s.owner.as_ref().map(|o| json!({"OwnerUserProfileName": o})),
                    "SpaceSharingSettings": {"SharingType": if s.shared { "Shared" } else { "Private" }},
                    "SpaceSettings": {"AppType": "JupyterLab"},
                }),
            ),
            None => error(400, "ResourceNotFound", "Space not found"),
        },
        "ListSpaces" => (
            200,
            json!({
                "Spaces": state.spaces.iter().filter(|s| s.domain == text("DomainIdEquals")).map(|s| json!({
                    "DomainId": s.domain,
                    "SpaceName": s.name,
                    "Status": "InService",
                    "OwnershipSettingsSummary": s.owner.as_ref().map(|o| json!({"OwnerUserProfileName": o})),
                    "SpaceSharingSettingsSummary": {"SharingType": if s.shared { "Shared" } else { "Private" }},
                    "SpaceSettingsSummary": {"AppType": "JupyterLab"},
                })).collect::<Vec<_>>()
            }),
        ),
        "CreatePresignedDomainUrl" => (
            200,
            json!({
                "AuthorizedUrl": format!(
                    "https://{}.studio.{REGION}.sagemaker.aws/auth?{URL_SECRET}-{}",
                    text("DomainId"), text("UserProfileName")
                )
            }),
        ),
        other if other.contains("Mlflow") => mlflow_answer(&mut state, other, input),
        other => error(400, "UnknownOperationException", other),
    }
}

/// SageMaker's MLflow operations over the stub's tracking servers and apps, with the presign
/// calls' validation of their lifetimes as AWS documents it.
fn mlflow_answer(state: &mut State, operation: &str, input: &Value) -> (u16, Value) {
    let text = |name: &str| input[name].as_str().unwrap_or_default().to_owned();
    let summary = |m: &StubMlflow| {
        let mut summary = json!({
            "Status": m.status,
            "MlflowVersion": "2.16.2",
            "CreationTime": SINCE_EPOCH,
            "LastModifiedTime": SINCE_EPOCH,
        });
        match &m.app_name {
            Some(name) => {
                summary["Arn"] = json!(m.described_arn.clone().unwrap_or_else(|| m.arn()));
                summary["Name"] = json!(name);
            }
            None => {
                summary["TrackingServerArn"] =
                    json!(m.described_arn.clone().unwrap_or_else(|| m.arn()));
                summary["TrackingServerName"] = json!(m.name);
                summary["TrackingServerStatus"] = json!(m.status);
                summary["TrackingServerSize"] = json!("Small");
            }
        }
        summary
    };
    let lifetimes_valid = || {
        let expires = input["ExpiresInSeconds"].as_i64().unwrap_or(300);
        let session = input["SessionExpirationDurationInSeconds"]
            .as_i64()
            .unwrap_or(43200);
        (5..=300).contains(&expires) && (1800..=43200).contains(&session)
    };
    let server = |name: &str| state.tracking_servers.iter().position(|s| s.name == name);
    let app = |arn: &str| state.mlflow_apps.iter().position(|a| a.arn() == arn);
    let not_found = || error(400, "ResourceNotFound", "Resource not found");
    match operation {
        "DescribeMlflowTrackingServer" => match server(&text("TrackingServerName")) {
            Some(i) => (200, summary(&state.tracking_servers[i])),
            None => not_found(),
        },
        "StartMlflowTrackingServer" => match server(&text("TrackingServerName")) {
            Some(i) if state.tracking_servers[i].status == "Stopped" => {
                state.tracking_servers[i].status = "Starting".into();
                (
                    200,
                    json!({"TrackingServerArn": state.tracking_servers[i].arn()}),
                )
            }
            Some(i) => error(
                400,
                "ConflictException",
                &format!("Tracking server is {}", state.tracking_servers[i].status),
            ),
            None => not_found(),
        },
        "StopMlflowTrackingServer" => match server(&text("TrackingServerName")) {
            Some(i) if state.tracking_servers[i].status == "Started" => {
                state.tracking_servers[i].status = "Stopping".into();
                (
                    200,
                    json!({"TrackingServerArn": state.tracking_servers[i].arn()}),
                )
            }
            Some(i) => error(
                400,
                "ConflictException",
                &format!("Tracking server is {}", state.tracking_servers[i].status),
            ),
            None => not_found(),
        },
        "CreatePresignedMlflowTrackingServerUrl" => match server(&text("TrackingServerName")) {
            _ if !lifetimes_valid() => error(400, "ValidationException", "invalid lifetimes"),
            Some(i) => (
                200,
                json!({"AuthorizedUrl": format!(
                    "https://t-{0}.{REGION}.experiments.sagemaker.aws/auth?{URL_SECRET}-{0}",
                    state.tracking_servers[i].name
                )}),
            ),
            None => not_found(),
        },
        "DescribeMlflowApp" => match app(&text("Arn")) {
            Some(i) => (200, summary(&state.mlflow_apps[i])),
            None => not_found(),
        },
        "CreatePresignedMlflowAppUrl" => match app(&text("Arn")) {
            _ if !lifetimes_valid() => error(400, "ValidationException", "invalid lifetimes"),
            Some(i) => (
                200,
                json!({"AuthorizedUrl": format!(
                    "https://app-{0}.{REGION}.experiments.sagemaker.aws/auth?{URL_SECRET}-{0}",
                    state.mlflow_apps[i].name
                )}),
            ),
            None => not_found(),
        },
        other => error(400, "UnknownOperationException", other),
    }
}
