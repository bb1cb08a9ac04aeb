//! What each route does: the SageMaker calls in order, with the access decisions between them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::access::{
    AppStatus, Caller, LifecyclePlan, NotebookAction, NotebookStatus, SpaceAccess, StudioApp,
    is_owned_by, may_open_notebook, may_open_space, may_stop_space_app, notebook_action,
    notebook_lifecycle, space_stop_plan,
};
use crate::config::{Config, Lifecycle, LifecycleAction};
use crate::error::GateError;
use crate::names::{NotebookName, ProfileName, SpaceName};
use crate::sagemaker::{App, DomainUrlRequest, NotebookInstance, SageMaker, Space};

/// A presigned notebook instance URL is valid for five minutes; SageMaker fixes that.
pub const NOTEBOOK_URL_SECONDS: u32 = 300;
/// How long a caller waiting for a notebook to start is asked to wait before asking again.
pub const STARTING_RETRY_AFTER: u32 = 15;
/// `ListTags` calls in flight at once while listing targets.
const TAG_LOOKUPS_IN_FLIGHT: usize = 8;

/// The configured gate: configuration and the SageMaker client, built once per process.
pub struct Gate<S> {
    pub config: Config,
    sagemaker: S,
    /// The Studio domain's ARN, looked up on the first Studio request and kept: profile ARNs are
    /// built from it, which saves a `DescribeUserProfile` on every open.
    domain_arn: OnceCell<String>,
}

impl<S: SageMaker> Gate<S> {
    pub fn new(config: Config, sagemaker: S) -> Self {
        Self {
            config,
            sagemaker,
            domain_arn: OnceCell::new(),
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
    async fn call<'s, F, T>(&'s self, operation: impl FnOnce(&'s S) -> F) -> T
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

    async fn profile_arn(
        &self,
        domain_id: &str,
        profile_name: &ProfileName,
    ) -> Result<String, GateError> {
        let domain_arn = self
            .gate
            .domain_arn
            .get_or_try_init(|| self.call(|sagemaker| sagemaker.domain_arn(domain_id)))
            .await?;
        // arn:<partition>:sagemaker:<region>:<account>:domain/<id> -> …:user-profile/<id>/<name>
        let prefix = domain_arn
            .rsplit_once(":domain/")
            .map(|(prefix, _)| prefix)
            .ok_or_else(|| GateError::Upstream(format!("unexpected domain ARN {domain_arn}")))?;
        Ok(format!("{prefix}:user-profile/{domain_id}/{profile_name}"))
    }

    /// The Studio domain and the caller's profile in it, once the profile's owner tag says it is
    /// theirs. Every way this can fail looks the same to the caller.
    async fn owned_profile<'c>(
        &self,
        caller: &'c Caller,
    ) -> Result<(&str, &'c ProfileName), GateError> {
        let domain_id = self
            .config()
            .studio_domain_id
            .as_deref()
            .ok_or(GateError::NotFound)?;
        let profile_name = caller.profile_name.as_ref().ok_or(GateError::NotFound)?;
        let profile_arn = self.profile_arn(domain_id, profile_name).await?;
        let tags = self
            .call(|sagemaker| sagemaker.list_tags(&profile_arn))
            .await?;
        if !is_owned_by(&tags, caller, self.config()) {
            return Err(GateError::NotFound);
        }
        Ok((domain_id, profile_name))
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

    /// The two reads of `callers_notebook`, then the presign (or a start): at most 3 calls.
    pub(crate) async fn open_notebook(
        &self,
        caller: &Caller,
        name: &NotebookName,
        session_seconds: u32,
    ) -> Result<Opening, GateError> {
        let instance = self.callers_notebook(caller, name).await?;
        let target = Target::NotebookInstance {
            name: instance.name.to_string(),
        };
        match notebook_action(&instance.status, self.config().auto_start)? {
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
                self.call(|sagemaker| sagemaker.start_notebook_instance(&instance.name))
                    .await?;
                tracing::info!(notebook = %instance.name, "started a stopped notebook instance");
                Ok(Opening::Starting { target })
            }
        }
    }

    /// `ListTags` on the profile and, when a space is asked for, `DescribeSpace`, together: the
    /// domain, the caller's owned profile and the space. As for notebooks, both reads are made and
    /// awaited whatever either finds.
    async fn callers_profile_and_space<'c>(
        &self,
        caller: &'c Caller,
        space_name: Option<&SpaceName>,
    ) -> Result<(&str, &'c ProfileName, Option<Space>), GateError> {
        let domain_id = self
            .config()
            .studio_domain_id
            .as_deref()
            .ok_or(GateError::NotFound)?;
        let space = async {
            match space_name {
                Some(space_name) => self
                    .call(|sagemaker| sagemaker.describe_space(domain_id, space_name))
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (profile, space) = tokio::join!(self.owned_profile(caller), space);
        let ((domain_id, profile_name), space) = both(profile, space)?;
        Ok((domain_id, profile_name, space))
    }

    /// The reads of `callers_profile_and_space`, then the presign (plus one `DescribeDomain` on a
    /// process's first Studio request).
    pub(crate) async fn open_studio(
        &self,
        caller: &Caller,
        space_name: Option<&SpaceName>,
        app: Option<StudioApp>,
        session_seconds: u32,
    ) -> Result<Opening, GateError> {
        let (domain_id, profile_name, space) =
            self.callers_profile_and_space(caller, space_name).await?;
        if let Some(space) = space
            && !may_open_space(&space_access(&space), profile_name)
        {
            return Err(GateError::NotFound);
        }
        let request = DomainUrlRequest {
            domain_id,
            profile_name,
            space_name,
            landing_uri: app.map(StudioApp::landing_uri),
            expires_in_seconds: self.config().url_expires_seconds,
            session_seconds,
        };
        let url = self
            .call(|sagemaker| sagemaker.presign_domain(request))
            .await?;
        Ok(Opening::Ready {
            url,
            valid_seconds: self.config().url_expires_seconds,
            target: Target::Studio {
                domain_id: domain_id.to_owned(),
                user_profile: profile_name.to_string(),
                space: space_name.map(SpaceName::to_string),
                app,
            },
        })
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
        let (result, status, underway) = match notebook_lifecycle(&instance.status, action)? {
            LifecyclePlan::Act => {
                let changed = match action {
                    LifecycleAction::Start => {
                        self.call(|sagemaker| sagemaker.start_notebook_instance(&instance.name))
                            .await?;
                        ("started", NotebookStatus::Pending)
                    }
                    LifecycleAction::Stop => {
                        self.call(|sagemaker| sagemaker.stop_notebook_instance(&instance.name))
                            .await?;
                        ("stopping", NotebookStatus::Stopping)
                    }
                };
                (changed.0, changed.1.as_str().to_owned(), true)
            }
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

    /// Stops a space's app(s): the profile's `ListTags` and `DescribeSpace` together (as an open),
    /// the owner check, `ListApps` for the space, then one `DeleteApp` per app `InService` or
    /// `Pending`, together. The space and its storage stay.
    pub(crate) async fn stop_space(
        &self,
        caller: &Caller,
        space_name: &SpaceName,
    ) -> Result<Changed, GateError> {
        let (domain_id, profile_name, space) = self
            .callers_profile_and_space(caller, Some(space_name))
            .await?;
        let space = space.ok_or(GateError::NotFound)?;
        may_stop_space_app(&space_access(&space), profile_name)?;
        let apps: Vec<App> = self
            .call(|sagemaker| sagemaker.list_apps(domain_id, Some(space_name)))
            .await?
            .into_iter()
            .filter(|a| a.space_name.as_deref() == Some(space_name.as_str()))
            .collect();
        let target = Target::Studio {
            domain_id: domain_id.to_owned(),
            user_profile: profile_name.to_string(),
            space: Some(space_name.to_string()),
            app: None,
        };
        let plan = space_stop_plan(apps.iter().map(|a| &a.status));
        let (result, status, underway, stopped) = match plan {
            LifecyclePlan::Act => {
                let running: Vec<&App> = apps.iter().filter(|a| a.status.is_running()).collect();
                let deleted = futures_util::future::join_all(running.iter().map(|app| {
                    self.call(|sagemaker| {
                        sagemaker.delete_app(domain_id, space_name, &app.app_type, &app.app_name)
                    })
                }))
                .await;
                deleted
                    .into_iter()
                    .collect::<Result<Vec<()>, GateError>>()?;
                tracing::info!(space = %space_name, apps = running.len(), "stopping a space's apps");
                let stopped = running.into_iter().map(AppRef::from).collect();
                ("stopping", Some(AppStatus::Deleting), true, stopped)
            }
            LifecyclePlan::Underway(result) => (result, Some(AppStatus::Deleting), true, vec![]),
            LifecyclePlan::Settled(result) => {
                let latest = space_app(&apps, space_name.as_str()).map(|a| a.status.clone());
                (result, latest, false, vec![])
            }
        };
        Ok(Changed {
            result,
            status: status.map(|s| s.as_str().to_owned()),
            underway,
            target,
            apps: Some(stopped),
        })
    }

    /// `ListNotebookInstances`, one `ListTags` per instance, and with Studio configured `ListTags`
    /// on the profile plus `ListSpaces`. Only a failing list call fails the answer; a notebook
    /// instance whose tags cannot be read is left out and counted.
    pub(crate) async fn list_targets(&self, caller: &Caller) -> Result<Targets, GateError> {
        let instances = self
            .call(|sagemaker| sagemaker.list_notebook_instances())
            .await?;
        let tagged: Vec<_> = stream::iter(instances)
            .map(|instance| async move {
                let tags = self
                    .call(|sagemaker| sagemaker.list_tags(&instance.arn))
                    .await;
                (instance, tags)
            })
            .buffered(TAG_LOOKUPS_IN_FLIGHT)
            .collect()
            .await;
        let mut notebook_instances = Vec::new();
        let mut unchecked_notebook_instances = 0;
        for (instance, tags) in tagged {
            match tags {
                Ok(tags) if may_open_notebook(&tags, caller, self.config()) => {
                    notebook_instances.push(NotebookTarget::new(instance, self.config().lifecycle))
                }
                Ok(_) | Err(GateError::NotFound) => {} // not theirs, or deleted meanwhile
                // One unreadable notebook must not hide everyone's list; it is never listed,
                // only counted, and the reason stays in the log.
                Err(error) => {
                    tracing::warn!(
                        notebook = %instance.name,
                        %error,
                        "tags unreadable; left out of the list"
                    );
                    unchecked_notebook_instances += 1;
                }
            }
        }

        let lifecycle = self.config().lifecycle;
        let studio = match self.owned_profile(caller).await {
            Ok((domain_id, profile_name)) => {
                // One ListApps for the whole domain, beside ListSpaces: no call per space.
                let (spaces, apps) = tokio::join!(
                    self.call(|sagemaker| sagemaker.list_spaces(domain_id)),
                    self.call(|sagemaker| sagemaker.list_apps(domain_id, None)),
                );
                let (spaces, apps) = both(spaces, apps)?;
                Some(StudioTarget {
                    domain_id: domain_id.to_owned(),
                    user_profile: profile_name.to_string(),
                    open: "/studio".into(),
                    launch: "/launch/studio".into(),
                    spaces: spaces
                        .into_iter()
                        .filter(|s| may_open_space(&space_access(s), profile_name))
                        .map(|s| {
                            let app = space_app(&apps, &s.name).map(AppTarget::from);
                            let stoppable = lifecycle.allows(LifecycleAction::Stop)
                                && may_stop_space_app(&space_access(&s), profile_name).is_ok();
                            SpaceTarget::new(s, app, stoppable)
                        })
                        .collect(),
                })
            }
            Err(GateError::NotFound) => None,
            Err(other) => return Err(other),
        };
        Ok(Targets {
            notebook_instances,
            unchecked_notebook_instances,
            studio,
            auto_start: self.config().auto_start,
            lifecycle: lifecycle.actions(),
            long_running_seconds: self.config().long_running_seconds,
        })
    }
}

/// Two reads made together, judged so that the answer never depends on which of them found
/// nothing: a failure of either (throttled, timed out, denied, broken) wins over "not found" from
/// the other, so while SageMaker fails, a missing name and someone else's get the same error. When
/// both fail, the first one's error is the answer.
fn both<A, B>(
    first: Result<A, GateError>,
    second: Result<B, GateError>,
) -> Result<(A, B), GateError> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(GateError::NotFound), Err(error)) => Err(error),
        (Err(error), _) | (Ok(_), Err(error)) => Err(error),
    }
}

fn space_access(space: &Space) -> SpaceAccess<'_> {
    SpaceAccess {
        owner_profile: space.owner_profile.as_deref(),
        shared: space.shared,
    }
}

/// The app a space is shown with: one running or starting, else the most recently created.
fn space_app<'a>(apps: &'a [App], space: &str) -> Option<&'a App> {
    let (running, others): (Vec<&App>, Vec<&App>) = apps
        .iter()
        .filter(|a| a.space_name.as_deref() == Some(space))
        .partition(|a| a.status.is_running());
    running
        .into_iter()
        .next()
        .or_else(|| others.into_iter().max_by(|a, b| a.since.cmp(&b.since)))
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
        }
    }
}

/// The answer of `GET /targets`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    pub notebook_instances: Vec<NotebookTarget>,
    /// Notebook instances whose tags could not be read (throttled, failed, denied): never listed,
    /// since nobody can say whose they are; a portal says the list may be incomplete.
    pub unchecked_notebook_instances: u32,
    pub studio: Option<StudioTarget>,
    /// Whether opening a stopped notebook instance starts it, so a portal can say what its
    /// button will do.
    pub auto_start: bool,
    /// The lifecycle actions this deployment allows (`LIFECYCLE`).
    pub lifecycle: Vec<LifecycleAction>,
    /// Past this, a portal marks a running target as left on (`LONG_RUNNING_HOURS`).
    pub long_running_seconds: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookTarget {
    pub name: String,
    pub status: NotebookStatus,
    pub instance_type: Option<String>,
    /// Since when it is in its status (`LastModifiedTime`, RFC 3339).
    pub since: Option<String>,
    /// The route that opens it (JSON or 302) and the one a browser navigates to.
    pub open: String,
    pub launch: String,
    /// The routes that start and stop it, when the deployment allows that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
}

impl NotebookTarget {
    fn new(instance: NotebookInstance, lifecycle: Lifecycle) -> Self {
        let route = |action: LifecycleAction| {
            lifecycle
                .allows(action)
                .then(|| format!("/notebook-instances/{}/{}", instance.name, action.as_str()))
        };
        Self {
            open: format!("/notebook-instances/{}", instance.name),
            launch: format!("/launch/notebook-instances/{}", instance.name),
            start: route(LifecycleAction::Start),
            stop: route(LifecycleAction::Stop),
            name: instance.name.to_string(),
            status: instance.status,
            instance_type: instance.instance_type,
            since: instance.since,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StudioTarget {
    pub domain_id: String,
    pub user_profile: String,
    pub open: String,
    pub launch: String,
    pub spaces: Vec<SpaceTarget>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceTarget {
    pub name: String,
    pub owner_profile: Option<String>,
    pub shared: bool,
    pub status: Option<String>,
    pub app_type: Option<String>,
    /// Its running app (or the most recent one), from the domain's one `ListApps`.
    pub app: Option<AppTarget>,
    pub open: String,
    pub launch: String,
    /// The route that stops its app: only when stopping is allowed and the caller owns the space.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
}

impl SpaceTarget {
    fn new(space: Space, app: Option<AppTarget>, stoppable: bool) -> Self {
        Self {
            open: format!("/studio?space={}", space.name),
            launch: format!("/launch/studio?space={}", space.name),
            stop: stoppable.then(|| format!("/studio/spaces/{}/stop", space.name)),
            name: space.name,
            owner_profile: space.owner_profile,
            shared: space.shared,
            status: space.status,
            app_type: space.app_type,
            app,
        }
    }
}

/// A space's app in `GET /targets`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppTarget {
    pub app_type: String,
    pub app_name: String,
    pub status: AppStatus,
    pub instance_type: Option<String>,
    /// `CreationTime`, RFC 3339.
    pub since: Option<String>,
}

impl From<&App> for AppTarget {
    fn from(app: &App) -> Self {
        Self {
            app_type: app.app_type.clone(),
            app_name: app.app_name.clone(),
            status: app.status.clone(),
            instance_type: app.instance_type.clone(),
            since: app.since.clone(),
        }
    }
}
