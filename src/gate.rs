//! What each route does: the SageMaker calls in order, with the access decisions between them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::OnceCell;

use crate::access::{
    Caller, LifecyclePlan, NotebookAction, NotebookStatus, StudioApp, may_open_notebook,
    may_start_on, notebook_action, notebook_lifecycle,
};
use crate::config::{Config, LifecycleAction};
use crate::domains::DomainId;
use crate::error::GateError;
use crate::names::{MlflowAppId, NotebookName, TrackingServerName};
use crate::sagemaker::{App, Domain, NotebookInstance, SageMaker};

mod studio;
mod targets;

/// A presigned notebook instance URL is valid for five minutes; SageMaker fixes that.
pub const NOTEBOOK_URL_SECONDS: u32 = 300;
/// How long a caller waiting for a notebook to start is asked to wait before asking again.
pub const STARTING_RETRY_AFTER: u32 = 15;
/// `ListTags` calls in flight at once while listing targets.
pub(crate) const TAG_LOOKUPS_IN_FLIGHT: usize = 8;

/// The configured gate: configuration and the SageMaker client, built once per process.
pub struct Gate<S> {
    pub config: Config,
    sagemaker: S,
    /// Each configured Studio domain's ARN and name (`DescribeDomain`), looked up on the first
    /// request that needs that domain and kept for the process's life: a domain's name and ARN do
    /// not change. Ownership answers are never kept.
    domains: Vec<(DomainId, OnceCell<Domain>)>,
}

impl<S: SageMaker> Gate<S> {
    pub fn new(config: Config, sagemaker: S) -> Self {
        Self {
            domains: config
                .studio_domains
                .ids()
                .iter()
                .map(|id| (id.clone(), OnceCell::new()))
                .collect(),
            config,
            sagemaker,
        }
    }

    /// A view of the gate that counts the SageMaker calls one request makes. `function_arn` is the
    /// invoked function's ARN from the Lambda context: SageMaker ARNs are built from its partition,
    /// region and account.
    pub(crate) fn for_request(&self, function_arn: Option<&str>) -> Calls<'_, S> {
        Calls {
            gate: self,
            arns: function_arn.and_then(SageMakerArns::from_function_arn),
            made: AtomicU32::new(0),
            waiting: Mutex::new(Waiting::default()),
        }
    }
}

/// `arn:<partition>:sagemaker:<region>:<account>`, the start of every SageMaker ARN this function
/// may touch, taken from its own ARN so a resource's ARN is known before SageMaker is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SageMakerArns(String);

impl SageMakerArns {
    /// From `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    pub(crate) fn from_function_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.split(':');
        let (Some("arn"), Some(partition), Some("lambda"), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        (plain(partition)
            && plain(region)
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Self(format!("arn:{partition}:sagemaker:{region}:{account}")))
    }

    /// SageMaker treats notebook instance names case-insensitively and writes them lower-cased
    /// in ARNs (`arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/my-notebook`).
    pub(crate) fn notebook_instance(&self, name: &NotebookName) -> String {
        format!(
            "{}:notebook-instance/{}",
            self.0,
            name.as_str().to_ascii_lowercase()
        )
    }

    /// `…:mlflow-tracking-server/<name>`, the name as given (see `docs/routes.md`).
    pub(crate) fn mlflow_tracking_server(&self, name: &TrackingServerName) -> String {
        format!("{}:mlflow-tracking-server/{name}", self.0)
    }

    /// `…:mlflow-app/<id>`: apps are addressed by ARN, built here from the id in the path.
    pub(crate) fn mlflow_app(&self, id: &MlflowAppId) -> String {
        format!("{}:mlflow-app/{id}", self.0)
    }
}

/// One request's use of the gate; every SageMaker call goes through `call()`, which counts it and
/// times it, so the audit line can tell the gate's own time from SageMaker's.
pub(crate) struct Calls<'a, S> {
    gate: &'a Gate<S>,
    arns: Option<SageMakerArns>,
    made: AtomicU32,
    waiting: Mutex<Waiting>,
}

/// Wall-clock time with at least one SageMaker call in flight: calls made together overlap, so
/// their durations are not summed.
#[derive(Default)]
struct Waiting {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

/// One call in flight; dropped when it ends or is abandoned (the request deadline).
struct InFlight<'w>(&'w Mutex<Waiting>);

impl<'w> InFlight<'w> {
    fn start(waiting: &'w Mutex<Waiting>) -> Self {
        let mut w = waiting.lock().unwrap_or_else(|e| e.into_inner());
        if w.in_flight == 0 {
            w.since = Some(Instant::now());
        }
        w.in_flight += 1;
        Self(waiting)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.in_flight -= 1;
        if w.in_flight == 0
            && let Some(since) = w.since.take()
        {
            w.total += since.elapsed();
        }
    }
}

impl<S: SageMaker> Calls<'_, S> {
    /// The only way to SageMaker: every call is counted and timed.
    pub(crate) async fn call<'s, F, T>(&'s self, operation: impl FnOnce(&'s S) -> F) -> T
    where
        F: Future<Output = T> + 's,
    {
        self.made.fetch_add(1, Ordering::Relaxed);
        let _in_flight = InFlight::start(&self.waiting);
        operation(&self.gate.sagemaker).await
    }

    pub(crate) fn made(&self) -> u32 {
        self.made.load(Ordering::Relaxed)
    }

    /// Time spent waiting on SageMaker: while at least one call was in flight.
    pub(crate) fn waited(&self) -> Duration {
        let w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.total + w.since.map_or(Duration::ZERO, |since| since.elapsed())
    }

    pub(crate) fn config(&self) -> &Config {
        &self.gate.config
    }

    /// The ARN builder from the invoked function's ARN; without one, nothing can be checked.
    pub(crate) fn arns(&self) -> Result<&SageMakerArns, GateError> {
        self.arns
            .as_ref()
            .ok_or_else(|| GateError::Upstream("no function ARN in the Lambda context".into()))
    }

    /// `DescribeNotebookInstance` and `ListTags` together, judged: the instance, once its tags say
    /// the caller may open it. Both reads are always made and always awaited, whether the name
    /// exists, is someone else's or is unknown, so neither the number of calls nor their order
    /// tells these apart. Opens, starts and stops all begin here.
    async fn callers_notebook(
        &self,
        caller: &Caller,
        name: &NotebookName,
    ) -> Result<NotebookInstance, GateError> {
        let arn = self
            .arns
            .as_ref()
            .ok_or_else(|| GateError::Upstream("no function ARN in the Lambda context".into()))?
            .notebook_instance(name);
        let (instance, tags) = tokio::join!(
            self.call(|sagemaker| sagemaker.describe_notebook_instance(name)),
            self.call(|sagemaker| sagemaker.list_tags(&arn)),
        );
        let (instance, tags) = both(instance, tags)?;
        if instance.arn != arn {
            // The tags read may belong to another resource: nothing opens, and the caller sees
            // what a missing name gets.
            tracing::warn!(
                expected = %arn,
                described = %instance.arn,
                "notebook instance ARN differs from the one built from the function's ARN"
            );
            return Err(GateError::NotFound);
        }
        if !may_open_notebook(&tags, caller, self.config()) {
            return Err(GateError::NotFound);
        }
        Ok(instance)
    }

    /// The two reads of `callers_notebook`, then the presign (or, where `may_start`, a start): at
    /// most 3 calls.
    pub(crate) async fn open_notebook(
        &self,
        caller: &Caller,
        name: &NotebookName,
        session_seconds: u32,
        may_start: MayStart,
    ) -> Result<Opening, GateError> {
        let instance = self.callers_notebook(caller, name).await?;
        let target = Target::NotebookInstance {
            name: instance.name.to_string(),
        };
        match notebook_action(&instance.status, may_start.0)? {
            NotebookAction::Presign => {
                let url = self
                    .call(|sagemaker| {
                        sagemaker.presign_notebook_instance(&instance.name, session_seconds)
                    })
                    .await?;
                Ok(Opening::Ready {
                    url,
                    valid_seconds: NOTEBOOK_URL_SECONDS,
                    target,
                })
            }
            NotebookAction::Wait => Ok(Opening::Starting { target }),
            NotebookAction::Start => {
                may_start_on(instance.platform.as_deref())?;
                match self
                    .call(|sagemaker| sagemaker.start_notebook_instance(&instance.name))
                    .await
                {
                    Ok(()) => {
                        tracing::info!(notebook = %instance.name, "started a stopped notebook instance")
                    }
                    // Started by someone else meanwhile: the caller waits for it all the same, and
                    // the next look says where it stands.
                    Err(GateError::StateChanged) => {}
                    Err(error) => return Err(error),
                }
                Ok(Opening::Starting { target })
            }
        }
    }

    /// Starts or stops a notebook instance the caller may open: the same two reads as an open, then
    /// `StartNotebookInstance` / `StopNotebookInstance` only if its state calls for it (at most 3
    /// calls). Nothing is ever sent to change a state before both reads said it is theirs.
    pub(crate) async fn notebook_lifecycle(
        &self,
        caller: &Caller,
        name: &NotebookName,
        action: LifecycleAction,
    ) -> Result<Changed, GateError> {
        let instance = self.callers_notebook(caller, name).await?;
        let target = Target::NotebookInstance {
            name: instance.name.to_string(),
        };
        let plan = notebook_lifecycle(&instance.status, action)?;
        if plan == LifecyclePlan::Act && action == LifecycleAction::Start {
            may_start_on(instance.platform.as_deref())?;
        }
        let (result, status, underway) = match plan {
            LifecyclePlan::Act => match self.change_notebook(&instance.name, action).await {
                Ok(changed) => (changed.0, changed.1.as_str().to_owned(), true),
                // Someone else's start or stop got there between the read and ours: answer from
                // where it is now, as if this request had come a moment later.
                Err(GateError::StateChanged) => {
                    let now = self
                        .call(|sagemaker| sagemaker.describe_notebook_instance(&instance.name))
                        .await?;
                    match notebook_lifecycle(&now.status, action)? {
                        LifecyclePlan::Settled(result) => {
                            (result, now.status.as_str().to_owned(), false)
                        }
                        LifecyclePlan::Underway(result) => {
                            (result, now.status.as_str().to_owned(), true)
                        }
                        LifecyclePlan::Act => return Err(GateError::StateChanged),
                    }
                }
                Err(error) => return Err(error),
            },
            LifecyclePlan::Settled(result) => (result, instance.status.as_str().to_owned(), false),
            LifecyclePlan::Underway(result) => (result, instance.status.as_str().to_owned(), true),
        };
        Ok(Changed {
            result,
            status: Some(status),
            underway,
            target,
            apps: None,
        })
    }
}

/// Whether an open may start a stopped target: `AUTO_START` (which init allows only with `start` in
/// `LIFECYCLE`), on a route whose token came in the `Authorization` header. A `/launch` navigation
/// never starts anything: its token is in the URL, which link previews and prefetchers follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MayStart(bool);

impl MayStart {
    pub(crate) fn for_open(config: &Config, launch: bool) -> Self {
        Self(config.auto_start && config.lifecycle.allows(LifecycleAction::Start) && !launch)
    }

    pub(crate) fn get(self) -> bool {
        self.0
    }
}

impl<S: SageMaker> Calls<'_, S> {
    /// `StartNotebookInstance` or `StopNotebookInstance`, and what the caller is told it came to.
    async fn change_notebook(
        &self,
        name: &NotebookName,
        action: LifecycleAction,
    ) -> Result<(&'static str, NotebookStatus), GateError> {
        match action {
            LifecycleAction::Start => {
                self.call(|sagemaker| sagemaker.start_notebook_instance(name))
                    .await?;
                Ok(("started", NotebookStatus::Pending))
            }
            LifecycleAction::Stop => {
                self.call(|sagemaker| sagemaker.stop_notebook_instance(name))
                    .await?;
                Ok(("stopping", NotebookStatus::Stopping))
            }
        }
    }
}

/// Two reads made together, judged so that the answer never depends on which of them found
/// nothing: a failure of either (throttled, timed out, denied, broken) wins over "not found" from
/// the other, so while SageMaker fails, a missing name and someone else's get the same error. When
/// both fail, the first one's error is the answer.
pub(crate) fn both<A, B>(
    first: Result<A, GateError>,
    second: Result<B, GateError>,
) -> Result<(A, B), GateError> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(GateError::NotFound), Err(error)) => Err(error),
        (Err(error), _) | (Ok(_), Err(error)) => Err(error),
    }
}

/// What a start or stop came to, as the caller sees it.
#[derive(Debug)]
pub(crate) struct Changed {
    /// "started", "stopping", "already running", ...
    pub result: &'static str,
    /// The target's status now (for a space, its app's; `None` if it never had one).
    pub status: Option<String>,
    /// On its way (202, come back after `Retry-After`) rather than settled (200).
    pub underway: bool,
    pub target: Target,
    /// For a space: the apps this request stopped.
    pub apps: Option<Vec<AppRef>>,
}

/// An app named in a stop's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRef {
    pub app_type: String,
    pub app_name: String,
}

impl From<&App> for AppRef {
    fn from(app: &App) -> Self {
        Self {
            app_type: app.app_type.clone(),
            app_name: app.app_name.clone(),
        }
    }
}

/// What opening a target came to.
#[derive(Debug)]
pub(crate) enum Opening {
    /// A presigned URL, usable for `valid_seconds`.
    Ready {
        url: String,
        valid_seconds: u32,
        target: Target,
    },
    /// The notebook instance is starting; the caller should come back.
    Starting { target: Target },
}

/// The thing that was opened, as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Target {
    NotebookInstance {
        name: String,
    },
    #[serde(rename_all = "camelCase")]
    Studio {
        domain_id: String,
        user_profile: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        app: Option<StudioApp>,
    },
    MlflowTrackingServer {
        name: String,
    },
    MlflowApp {
        id: String,
        name: String,
    },
}

impl Target {
    /// The name that goes into the audit line.
    pub fn audit_name(&self) -> String {
        match self {
            Self::NotebookInstance { name } => format!("notebook-instance/{name}"),
            Self::Studio {
                domain_id,
                user_profile,
                space,
                ..
            } => match space {
                Some(space) => format!("studio/{domain_id}/{user_profile}/{space}"),
                None => format!("studio/{domain_id}/{user_profile}"),
            },
            Self::MlflowTrackingServer { name } => format!("mlflow-tracking-server/{name}"),
            Self::MlflowApp { id, .. } => format!("mlflow-app/{id}"),
        }
    }
}
