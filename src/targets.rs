//! `GET /targets`: everything the caller may open, each kind's side read at once.

use serde::Serialize;

use crate::caller::Caller;
use crate::calls::Calls;
use crate::error::GateError;
use crate::gate::SageMaker;
use crate::lifecycle::LifecycleAction;
use crate::mlflow::MlflowTargets;
use crate::notebook::NotebookTarget;
use crate::studio::{Domains, StudioDomainTarget};

impl<S: SageMaker> Calls<'_, S> {
    /// The notebook side, every configured Studio domain and the MLflow side, all at once: the
    /// answer takes as long as the slowest side, not their sum (with N notebook instances about
    /// 1 + ⌈N/8⌉ round trips). Any side's failure fails the answer, as a failing list call always
    /// has; a resource whose tags cannot be read is left out and counted instead. Every item
    /// listed passed its ownership check in this request.
    pub(crate) async fn list_targets(
        &self,
        domains: &Domains,
        caller: &Caller,
    ) -> Result<Targets, GateError> {
        let (notebooks, studio_domains, mlflow) = tokio::join!(
            self.notebook_targets(caller),
            self.studio_targets(domains, caller),
            self.mlflow_targets(caller),
        );
        let (notebook_instances, some_notebook_instances_unchecked) = notebooks?;
        let config = self.config();
        let targets = Targets {
            notebook_instances,
            some_notebook_instances_unchecked,
            studio_domains: studio_domains?,
            mlflow: mlflow?,
            auto_start: config.auto_start,
            lifecycle: config.lifecycle.actions(),
            long_running_seconds: config.long_running_seconds,
        };
        Ok(if config.launch_routes {
            targets
        } else {
            targets.without_launch_routes()
        })
    }
}

/// The answer of `GET /targets`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    pub notebook_instances: Vec<NotebookTarget>,
    /// Some notebook instance's tags could not be read (throttled, failed, denied): it is never
    /// listed, since nobody can say whose it is, and a portal says the list may be incomplete. A
    /// flag, not a count: a count would tell every caller how many notebooks the account holds.
    pub some_notebook_instances_unchecked: bool,
    /// Each configured domain where the caller owns a profile, in the configured order.
    pub studio_domains: Vec<StudioDomainTarget>,
    /// `mlflowTrackingServers`, `mlflowApps` and `someMlflowUnchecked` (empty with `MLFLOW=false`).
    #[serde(flatten)]
    pub mlflow: MlflowTargets,
    /// Whether opening a stopped notebook instance starts it, so a portal can say what its
    /// button will do.
    pub auto_start: bool,
    /// The lifecycle actions this deployment allows (`LIFECYCLE`).
    pub lifecycle: Vec<LifecycleAction>,
    /// Past this, a portal marks a running target as left on (`LONG_RUNNING_HOURS`).
    pub long_running_seconds: u32,
}

impl Targets {
    /// Every item without its `launch` route: with `LAUNCH_ROUTES=false` (the private mode) those
    /// routes answer 404, so a portal or script must not be handed one.
    fn without_launch_routes(mut self) -> Self {
        for notebook in &mut self.notebook_instances {
            notebook.launch = None;
        }
        for domain in &mut self.studio_domains {
            domain.launch = None;
            for space in &mut domain.spaces {
                space.launch = None;
            }
        }
        for server in &mut self.mlflow.mlflow_tracking_servers {
            server.launch = None;
        }
        for app in &mut self.mlflow.mlflow_apps {
            app.launch = None;
        }
        self
    }
}
