//! The route steps for MLflow: opening a tracking server (starting it first where allowed) or an
//! MLflow app, and the MLflow side of `GET /targets`.

use serde::Serialize;

use super::states::{
    MlflowAction, MlflowAppStatus, TrackingServerStatus, mlflow_app_action, tracking_server_action,
};
use super::{
    MlflowApi, MlflowApp, MlflowAppId, MlflowUrlLifetimes, TrackingServer, TrackingServerName,
};
use crate::caller::{Caller, may_open_tagged};
use crate::calls::{Calls, MayStart, Opening, SageMakerArns, Target, both};
use crate::clock::Moment;
use crate::error::GateError;
use crate::keep::Kept;
use crate::running_cost::RunningCost;
use crate::running_time::Kind;
use crate::sagemaker::TagsApi;
use crate::tagging::{Tagged, sagemaker_resource};

/// `ExpiresInSeconds` bounds of both MLflow presign calls (SageMaker refuses others).
const MLFLOW_URL_EXPIRES: std::ops::RangeInclusive<u32> = 5..=300;

/// The MLflow part of `GET /targets`; flattened into `Targets`, so these are its top-level keys.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MlflowTargets {
    pub mlflow_tracking_servers: Vec<TrackingServerTarget>,
    pub mlflow_apps: Vec<MlflowAppTarget>,
    /// Some tracking server's or app's state could not be read: never listed, and only this flag
    /// says so, as `someNotebookInstancesUnchecked` does.
    pub some_mlflow_unchecked: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingServerTarget {
    pub name: String,
    pub status: TrackingServerStatus,
    pub mlflow_version: Option<String>,
    /// Since when it is in its status (`LastModifiedTime`, RFC 3339).
    pub since: Option<String>,
    /// `TrackingServerSize` (`Small`, `Medium`, `Large`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    pub open: String,
    /// Absent with `LAUNCH_ROUTES=false` (see `Targets::without_launch_routes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// When running: its stop time, keep and price (`running_cost.rs`).
    #[serde(flatten)]
    pub running: RunningCost,
}

impl From<TrackingServer> for TrackingServerTarget {
    fn from(server: TrackingServer) -> Self {
        Self {
            open: format!("/mlflow/tracking-servers/{}", server.name),
            launch: Some(format!("/launch/mlflow/tracking-servers/{}", server.name)),
            name: server.name.to_string(),
            status: server.status,
            mlflow_version: server.mlflow_version,
            since: server.since,
            size: server.size,
            running: RunningCost::default(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MlflowAppTarget {
    pub id: String,
    pub name: String,
    pub status: MlflowAppStatus,
    pub mlflow_version: Option<String>,
    /// Since when it is in its status (`LastModifiedTime`, RFC 3339).
    pub since: Option<String>,
    pub open: String,
    /// Absent with `LAUNCH_ROUTES=false` (see `Targets::without_launch_routes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
}

impl From<MlflowApp> for MlflowAppTarget {
    fn from(app: MlflowApp) -> Self {
        Self {
            open: format!("/mlflow/apps/{}", app.id),
            launch: Some(format!("/launch/mlflow/apps/{}", app.id)),
            id: app.id.to_string(),
            name: app.name,
            status: app.status,
            mlflow_version: app.mlflow_version,
            since: app.since,
        }
    }
}

/// One MLflow resource the Tagging API's index says is the caller's, waiting for its state.
enum Matched {
    Server(TrackingServerName),
    App(String),
}

impl Matched {
    /// From its ARN: `…:mlflow-tracking-server/<name>` or `…:mlflow-app/<id>` (addressed by ARN).
    fn from_arn(arn: &str) -> Option<Self> {
        match sagemaker_resource(arn)? {
            ("mlflow-tracking-server", name) => {
                TrackingServerName::parse(name).ok().map(Self::Server)
            }
            ("mlflow-app", _) => Some(Self::App(arn.to_owned())),
            _ => None,
        }
    }
}

/// What `Matched` came to.
enum Described {
    Server(TrackingServer),
    App(MlflowApp),
}

impl SageMakerArns {
    /// `…:mlflow-tracking-server/<name>`, the name as given (see `docs/routes.md`).
    pub(crate) fn mlflow_tracking_server(&self, name: &TrackingServerName) -> String {
        format!("{}:mlflow-tracking-server/{name}", self.0)
    }

    /// `…:mlflow-app/<id>`: apps are addressed by ARN, built here from the id in the path.
    pub(crate) fn mlflow_app(&self, id: &MlflowAppId) -> String {
        format!("{}:mlflow-app/{id}", self.0)
    }
}

impl<S: MlflowApi + TagsApi> Calls<'_, S> {
    /// `MLFLOW=false`: the MLflow routes do not exist, and nothing is asked of SageMaker.
    fn mlflow_enabled(&self) -> Result<(), GateError> {
        if self.config().mlflow {
            Ok(())
        } else {
            Err(GateError::NotFound)
        }
    }

    fn mlflow_lifetimes(&self, session_seconds: u32) -> MlflowUrlLifetimes {
        MlflowUrlLifetimes {
            expires_in_seconds: self
                .config()
                .url_expires_seconds
                .clamp(*MLFLOW_URL_EXPIRES.start(), *MLFLOW_URL_EXPIRES.end()),
            session_seconds,
        }
    }

    /// `DescribeMlflowTrackingServer` ‖ `ListTags` on the ARN built from the function's, judged as
    /// a notebook instance's two reads: the server, once its tags say the caller may open it.
    async fn callers_tracking_server(
        &self,
        caller: &Caller,
        name: &TrackingServerName,
    ) -> Result<TrackingServer, GateError> {
        self.mlflow_enabled()?;
        let arn = self.arns()?.mlflow_tracking_server(name);
        let (server, tags) = tokio::join!(
            self.call(|sagemaker| sagemaker.describe_mlflow_tracking_server(name)),
            self.call(|sagemaker| sagemaker.list_tags(&arn)),
        );
        let (server, tags) = both(server, tags)?;
        if server.arn != arn {
            tracing::warn!(
                expected = %arn,
                described = %server.arn,
                "tracking server ARN differs from the one built from the function's ARN"
            );
            return Err(GateError::NotFound);
        }
        if !may_open_tagged(&tags, caller, self.config()) {
            return Err(GateError::NotFound);
        }
        Ok(server)
    }

    /// Keeps a running tracking server the caller may open going until `until`: the open's two
    /// reads, then the keep's `AddTags` (3 calls).
    pub(crate) async fn keep_tracking_server(
        &self,
        caller: &Caller,
        name: &TrackingServerName,
        until: Moment,
    ) -> Result<Kept, GateError> {
        let server = self.callers_tracking_server(caller, name).await?;
        if !server.status.is_running() {
            return Err(GateError::NotRunning(server.status.as_str().to_owned()));
        }
        let since = server.since.as_deref().and_then(Moment::parse_rfc3339);
        let target = Target::MlflowTrackingServer {
            name: server.name.to_string(),
        };
        self.keep(Kind::TrackingServer, &server.arn, since, until, target)
            .await
    }

    /// The two reads of `callers_tracking_server`, then one presign, or one start (auto-start),
    /// or nothing. At most 3 calls in 2 round trips; nothing is presigned or started before both
    /// reads agree.
    pub(crate) async fn open_tracking_server(
        &self,
        caller: &Caller,
        name: &TrackingServerName,
        session_seconds: u32,
        may_start: MayStart,
    ) -> Result<Opening, GateError> {
        let server = self.callers_tracking_server(caller, name).await?;
        let target = Target::MlflowTrackingServer {
            name: server.name.to_string(),
        };
        match tracking_server_action(&server.status, may_start.get())? {
            MlflowAction::Presign => {
                let lifetimes = self.mlflow_lifetimes(session_seconds);
                // Single-use: presigned for this request only, never kept.
                let url = self
                    .call(|sagemaker| sagemaker.presign_mlflow_tracking_server(name, lifetimes))
                    .await?;
                Ok(Opening::Ready {
                    url,
                    valid_seconds: lifetimes.expires_in_seconds,
                    target,
                })
            }
            MlflowAction::Wait => Ok(Opening::Starting { target }),
            MlflowAction::Start => {
                match self
                    .call(|sagemaker| sagemaker.start_mlflow_tracking_server(name))
                    .await
                {
                    Ok(()) => tracing::info!(
                        tracking_server = %name,
                        "started a stopped MLflow tracking server"
                    ),
                    // Started by someone else meanwhile (a group's server): wait for it all the same.
                    Err(GateError::StateChanged) => {}
                    Err(error) => return Err(error),
                }
                Ok(Opening::Starting { target })
            }
        }
    }

    /// `DescribeMlflowApp` ‖ `ListTags`, both on the ARN built from the id, judged as above; then
    /// one presign or nothing (apps have no start). At most 3 calls in 2 round trips.
    pub(crate) async fn open_mlflow_app(
        &self,
        caller: &Caller,
        id: &MlflowAppId,
        session_seconds: u32,
    ) -> Result<Opening, GateError> {
        self.mlflow_enabled()?;
        let arn = self.arns()?.mlflow_app(id);
        let (app, tags) = tokio::join!(
            self.call(|sagemaker| sagemaker.describe_mlflow_app(&arn)),
            self.call(|sagemaker| sagemaker.list_tags(&arn)),
        );
        let (app, tags) = both(app, tags)?;
        if app.arn != arn {
            tracing::warn!(
                expected = %arn,
                described = %app.arn,
                "MLflow app ARN differs from the one built from the function's ARN"
            );
            return Err(GateError::NotFound);
        }
        if !may_open_tagged(&tags, caller, self.config()) {
            return Err(GateError::NotFound);
        }
        let target = Target::MlflowApp {
            id: app.id.to_string(),
            name: app.name.clone(),
        };
        match mlflow_app_action(&app.status)? {
            MlflowAction::Presign => {
                let lifetimes = self.mlflow_lifetimes(session_seconds);
                let url = self
                    .call(|sagemaker| sagemaker.presign_mlflow_app(&arn, lifetimes))
                    .await?;
                Ok(Opening::Ready {
                    url,
                    valid_seconds: lifetimes.expires_in_seconds,
                    target,
                })
            }
            MlflowAction::Wait | MlflowAction::Start => Ok(Opening::Starting { target }),
        }
    }

    /// The MLflow side of `/targets`, from what the Tagging API's index says is the caller's
    /// (`tagged`, already judged by its tags): one `Describe*` per resource, for its state now
    /// (`Calls::read_each`: 8 at once; one gone or unreadable is left out, and
    /// `someMlflowUnchecked` says some were). With `MLFLOW=false`: nothing (and no call).
    pub(crate) async fn mlflow_targets(&self, tagged: &[Tagged]) -> MlflowTargets {
        let mut targets = MlflowTargets::default();
        if self.mlflow_enabled().is_err() {
            return targets;
        }
        // Owned before the stream, whose futures must not borrow through a closure's argument.
        let matched: Vec<Matched> = tagged
            .iter()
            .filter_map(|t| Matched::from_arn(&t.arn))
            .collect();
        let (described, unchecked) = self
            .read_each(matched, |resource| async move {
                match resource {
                    Matched::Server(name) => {
                        let described = self
                            .call(|sagemaker| sagemaker.describe_mlflow_tracking_server(&name))
                            .await;
                        (name.to_string(), described.map(Described::Server))
                    }
                    Matched::App(arn) => {
                        let described = self
                            .call(|sagemaker| sagemaker.describe_mlflow_app(&arn))
                            .await;
                        (arn, described.map(Described::App))
                    }
                }
            })
            .await;
        for described in described {
            match described {
                Described::Server(s) => targets.mlflow_tracking_servers.push(s.into()),
                Described::App(a) => targets.mlflow_apps.push(a.into()),
            }
        }
        targets.some_mlflow_unchecked = unchecked;
        targets
    }
}
