//! `GET /targets`: everything the caller may open, read side by side.

use futures_util::{StreamExt, stream};
use serde::Serialize;

use super::studio::StudioDomainTarget;
use super::{Calls, TAG_LOOKUPS_IN_FLIGHT};
use crate::access::{Caller, NotebookStatus, Tag, may_open_notebook, platform_is_retired};
use crate::config::{Lifecycle, LifecycleAction};
use crate::error::GateError;
use crate::mlflow::MlflowTargets;
use crate::sagemaker::{NotebookInstance, SageMaker};

impl<S: SageMaker> Calls<'_, S> {
    /// The notebook side, every configured Studio domain and the MLflow side, all at once: the
    /// answer takes as long as the slowest side, not their sum (with N notebook instances about
    /// 1 + ⌈N/8⌉ round trips). Any side's failure fails the answer, as a failing list call always
    /// has; a resource whose tags cannot be read is left out and counted instead. Every item
    /// listed passed its ownership check in this request.
    pub(crate) async fn list_targets(&self, caller: &Caller) -> Result<Targets, GateError> {
        let (notebooks, studio_domains, mlflow) = tokio::join!(
            self.notebook_targets(caller),
            self.studio_targets(caller),
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

    /// `ListNotebookInstances`, then one `ListTags` per instance, `TAG_LOOKUPS_IN_FLIGHT` at once.
    /// Only the list call failing fails this side; an instance whose tags cannot be read is left
    /// out, and the answer says that some were (never how many: that would tell anyone the size
    /// of the account).
    async fn notebook_targets(
        &self,
        caller: &Caller,
    ) -> Result<(Vec<NotebookTarget>, bool), GateError> {
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
        let mut owned = Vec::new();
        let mut unchecked = false;
        for (instance, tags) in tagged {
            match tags {
                Ok(tags) if may_open_notebook(&tags, caller, self.config()) => {
                    owned.push((instance, shared_with(&tags, &self.config().group_tag_key)))
                }
                Ok(_) | Err(GateError::NotFound) => {} // not theirs, or deleted meanwhile
                // One unreadable notebook must not hide everyone's list; it is never listed, the
                // answer only says that some were unreadable, and the reason stays in the log.
                Err(error) => {
                    tracing::warn!(
                        notebook = %instance.name,
                        %error,
                        "tags unreadable; left out of the list"
                    );
                    unchecked = true;
                }
            }
        }
        let listed = stream::iter(owned)
            .map(|(instance, group)| async move {
                let instance = self.with_platform(instance).await;
                NotebookTarget::new(instance, group, self.config().lifecycle)
            })
            .buffered(TAG_LOOKUPS_IN_FLIGHT)
            .collect()
            .await;
        Ok((listed, unchecked))
    }

    /// A stopped instance's platform (`DescribeNotebookInstance`, since the list does not say it):
    /// whether it can be started at all. Running ones are not asked about, and a failed read
    /// leaves the platform unknown rather than failing the list.
    async fn with_platform(&self, mut instance: NotebookInstance) -> NotebookInstance {
        if instance.status == NotebookStatus::Stopped {
            match self
                .call(|sagemaker| sagemaker.describe_notebook_instance(&instance.name))
                .await
            {
                Ok(described) => instance.platform = described.platform,
                Err(error) => tracing::warn!(
                    notebook = %instance.name,
                    %error,
                    "platform unreadable; listed without it"
                ),
            }
        }
        instance
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookTarget {
    pub name: String,
    pub status: NotebookStatus,
    pub instance_type: Option<String>,
    /// Since when it is in its status (`LastModifiedTime`, RFC 3339).
    pub since: Option<String>,
    /// `PlatformIdentifier`, read for stopped instances only (see `with_platform`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// SageMaker no longer starts instances on its platform (Amazon Linux 2): no `start` route,
    /// and a portal says an administrator must update it.
    pub platform_retired: bool,
    /// The group its group tag shares it with: everyone in it may open, start and stop it, so a
    /// portal warns that a stop ends their work too. Absent when it is one person's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<String>,
    /// The route that opens it (JSON or 302) and the one a browser navigates to.
    pub open: String,
    /// Absent with `LAUNCH_ROUTES=false` (see `Targets::without_launch_routes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// The routes that start and stop it, when the deployment allows that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
}

impl NotebookTarget {
    fn new(instance: NotebookInstance, shared_with: Option<String>, lifecycle: Lifecycle) -> Self {
        let platform_retired = instance
            .platform
            .as_deref()
            .is_some_and(platform_is_retired);
        let route = |action: LifecycleAction| {
            (lifecycle.allows(action) && !(action == LifecycleAction::Start && platform_retired))
                .then(|| format!("/notebook-instances/{}/{}", instance.name, action.as_str()))
        };
        Self {
            open: format!("/notebook-instances/{}", instance.name),
            launch: Some(format!("/launch/notebook-instances/{}", instance.name)),
            start: route(LifecycleAction::Start),
            stop: route(LifecycleAction::Stop),
            name: instance.name.to_string(),
            status: instance.status,
            instance_type: instance.instance_type,
            since: instance.since,
            platform: instance.platform,
            platform_retired,
            shared_with,
        }
    }
}

/// The group a resource's group tag names, if any (a value the caller may see: either they are in
/// that group, or the resource is theirs).
pub(crate) fn shared_with(tags: &[Tag], group_tag_key: &str) -> Option<String> {
    tags.iter()
        .find(|t| t.key == group_tag_key && !t.value.is_empty())
        .map(|t| t.value.clone())
}
