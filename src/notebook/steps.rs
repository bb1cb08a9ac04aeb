//! The route steps for notebook instances: opening one, starting and stopping it, and the
//! notebook side of `GET /targets`. Every SageMaker call goes through `Calls::call`.

use serde::Serialize;

use super::{
    NotebookAction, NotebookApi, NotebookInstance, NotebookName, NotebookStatus, may_start_on,
    notebook_action, notebook_lifecycle, platform_is_retired,
};
use crate::caller::{Caller, may_open_tagged, shared_with};
use crate::calls::{Calls, Changed, MayStart, Opening, SageMakerArns, Target, both};
use crate::clock::Moment;
use crate::error::GateError;
use crate::keep::Kept;
use crate::lifecycle::{Lifecycle, LifecycleAction, LifecyclePlan};
use crate::running_cost::RunningCost;
use crate::running_time::Kind;
use crate::sagemaker::TagsApi;
use crate::tagging::{Tagged, sagemaker_resource};

/// A presigned notebook instance URL is valid for five minutes; SageMaker fixes that.
pub const NOTEBOOK_URL_SECONDS: u32 = 300;

impl SageMakerArns {
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

impl<S: NotebookApi + TagsApi> Calls<'_, S> {
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
        if !may_open_tagged(&tags, caller, self.config()) {
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

    /// Where the caller's notebook instance stands: the open's two reads, nothing presigned.
    pub(crate) async fn notebook_state(
        &self,
        caller: &Caller,
        name: &NotebookName,
    ) -> Result<NotebookState, GateError> {
        let instance = self.callers_notebook(caller, name).await?;
        Ok(NotebookState {
            name: instance.name.to_string(),
            platform_retired: instance
                .platform
                .as_deref()
                .is_some_and(platform_is_retired),
            status: instance.status,
            instance_type: instance.instance_type,
            since: instance.since,
            platform: instance.platform,
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

    /// Keeps a running notebook instance the caller may open going until `until`: the open's two
    /// reads, then the keep's `AddTags` (3 calls).
    pub(crate) async fn keep_notebook(
        &self,
        caller: &Caller,
        name: &NotebookName,
        until: Moment,
    ) -> Result<Kept, GateError> {
        let instance = self.callers_notebook(caller, name).await?;
        if instance.status != NotebookStatus::InService {
            return Err(GateError::NotRunning(instance.status.as_str().to_owned()));
        }
        let since = instance.since.as_deref().and_then(Moment::parse_rfc3339);
        let target = Target::NotebookInstance {
            name: instance.name.to_string(),
        };
        self.keep(Kind::NotebookInstance, &instance.arn, since, until, target)
            .await
    }

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

    /// The notebook side of `/targets`, from what the Tagging API's index says is the caller's
    /// (`tagged`, already judged by its tags): one `DescribeNotebookInstance` per notebook, for
    /// its state now (`Calls::read_each`: 8 at once; one gone or unreadable is left out, and the
    /// flag says some were).
    pub(crate) async fn notebook_targets(&self, tagged: &[Tagged]) -> (Vec<NotebookTarget>, bool) {
        let group_tag_key = &self.config().group_tag_key;
        // Owned before the stream, whose futures must not borrow through a closure's argument.
        let owned: Vec<(NotebookName, Option<String>)> = tagged
            .iter()
            .filter_map(|resource| notebook_of(resource, group_tag_key))
            .collect();
        let lifecycle = self.config().lifecycle;
        self.read_each(owned, |(name, group)| async move {
            let described = self
                .call(|sagemaker| sagemaker.describe_notebook_instance(&name))
                .await
                .map(|instance| NotebookTarget::new(instance, group, lifecycle));
            (name.to_string(), described)
        })
        .await
    }
}

/// A notebook instance the index matched, by its ARN, with the group its tags share it with.
fn notebook_of(resource: &Tagged, group_tag_key: &str) -> Option<(NotebookName, Option<String>)> {
    match sagemaker_resource(&resource.arn)? {
        ("notebook-instance", name) => match NotebookName::parse(name) {
            Ok(name) => Some((name, shared_with(&resource.tags, group_tag_key))),
            Err(_) => {
                tracing::warn!(arn = %resource.arn, "not a notebook instance name; left out");
                None
            }
        },
        _ => None,
    }
}

/// The answer of `GET /notebook-instances/{name}/status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookState {
    pub name: String,
    pub status: NotebookStatus,
    pub instance_type: Option<String>,
    pub since: Option<String>,
    pub platform: Option<String>,
    pub platform_retired: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookTarget {
    pub name: String,
    pub status: NotebookStatus,
    pub instance_type: Option<String>,
    /// Since when it is in its status (`LastModifiedTime`, RFC 3339).
    pub since: Option<String>,
    /// `PlatformIdentifier` (`DescribeNotebookInstance` says it).
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
    /// When running: its stop time, keep and price (`running_cost.rs`).
    #[serde(flatten)]
    pub running: RunningCost,
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
            running: RunningCost::default(),
        }
    }
}
