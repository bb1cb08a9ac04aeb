//! `GET /targets`: everything the caller may open, each kind's side read at once.

use std::collections::HashSet;

use futures_util::future::join_all;
use serde::Serialize;

use crate::caller::{Caller, may_open_tagged};
use crate::calls::Calls;
use crate::error::GateError;
use crate::gate::SageMaker;
use crate::lifecycle::LifecycleAction;
use crate::mlflow::MlflowTargets;
use crate::notebook::NotebookTarget;
use crate::studio::{Domains, StudioDomainTarget};
use crate::tagging::{TagQuery, Tagged, VALUES_PER_FILTER};

/// The resource types `/targets` asks the Tagging API for, as their ARNs spell them.
const NOTEBOOK_TYPES: [&str; 1] = ["sagemaker:notebook-instance"];
const MLFLOW_TYPES: [&str; 2] = ["sagemaker:mlflow-tracking-server", "sagemaker:mlflow-app"];
/// The longest tag value AWS stores.
const MAX_TAG_VALUE_CHARS: usize = 256;

impl<S: SageMaker> Calls<'_, S> {
    /// What the caller may open, at a cost that grows with what they own, not with the account:
    /// the Tagging API finds the notebook instances and MLflow resources their tags mark (one
    /// `GetResources` for the owner tag ‖ one per 20 groups), then each of those is described for
    /// its state; every configured Studio domain is read meanwhile. About 1 + ⌈M/8⌉ round trips
    /// for M matched resources. The index may lag a tag change (docs/routes.md); the opens never
    /// rely on it. A failing list call fails the answer, as it always has; a matched resource
    /// that cannot be described is left out and flagged instead.
    pub(crate) async fn list_targets(
        &self,
        domains: &Domains,
        caller: &Caller,
    ) -> Result<Targets, GateError> {
        let config = self.config();
        let mut types = NOTEBOOK_TYPES.to_vec();
        if config.mlflow {
            types.extend(MLFLOW_TYPES);
        }
        // The index and then its describes, beside each domain's reads: the describes never
        // wait for Studio's second round trip.
        let tagged_side = async {
            let tagged = self.tagged_for(caller, &types).await?;
            Ok::<_, GateError>(tokio::join!(
                self.notebook_targets(&tagged),
                self.mlflow_targets(&tagged),
            ))
        };
        let (tagged_side, studio_domains) =
            tokio::join!(tagged_side, self.studio_targets(domains, caller));
        let ((notebook_instances, some_notebook_instances_unchecked), mlflow) = tagged_side?;
        let studio_domains = studio_domains?;
        let targets = Targets {
            notebook_instances,
            some_notebook_instances_unchecked,
            studio_domains,
            mlflow,
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

    /// The resources of `types` whose owner tag names the caller or whose group tag names one of
    /// their groups, each once, judged again by the tags the index returned (the same rule as
    /// every open). The queries run at once.
    async fn tagged_for(
        &self,
        caller: &Caller,
        types: &[&'static str],
    ) -> Result<Vec<Tagged>, GateError> {
        let config = self.config();
        let query = |key: &str, values: &[String]| TagQuery {
            resource_types: types.to_vec(),
            key: key.to_owned(),
            values: values.to_vec(),
        };
        let mut groups: Vec<String> = caller
            .groups
            .iter()
            // A tag value holds 1 to 256 characters: a longer group can match nothing, and the
            // Tagging API would refuse the whole query for it.
            .filter(|g| (1..=MAX_TAG_VALUE_CHARS).contains(&g.chars().count()))
            .cloned()
            .collect();
        groups.sort();
        groups.dedup();
        let owner = (!caller.owner.is_empty())
            .then(|| query(&config.owner_tag_key, std::slice::from_ref(&caller.owner)));
        let queries: Vec<TagQuery> = owner
            .into_iter()
            .chain(
                groups
                    .chunks(VALUES_PER_FILTER)
                    .map(|chunk| query(&config.group_tag_key, chunk)),
            )
            .collect();
        let answers = join_all(queries.iter().map(|q| self.find_tagged(q))).await;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for answer in answers {
            for resource in answer? {
                if may_open_tagged(&resource.tags, caller, config)
                    && seen.insert(resource.arn.clone())
                {
                    found.push(resource);
                }
            }
        }
        Ok(found)
    }
}

/// The answer of `GET /targets`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    pub notebook_instances: Vec<NotebookTarget>,
    /// Some notebook instance the caller's tags mark could not be described (throttled, failed,
    /// denied): it is never listed, and a portal says the list may be incomplete. A
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
