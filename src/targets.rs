//! `GET /targets`: everything the caller may open, each kind's side read at once.

use std::collections::HashSet;

use futures_util::future::join_all;
use serde::Serialize;

use crate::caller::{Caller, may_open_tagged};
use crate::calls::Calls;
use crate::error::GateError;
use crate::gate::SageMaker;
use crate::lifecycle::LifecycleAction;
use crate::mlflow::{MlflowTargets, TrackingServerTarget};
use crate::notebook::NotebookTarget;
use crate::pricing::Priced;
use crate::running_cost::RunningTarget;
use crate::running_time::{Kind, RunningTimePolicy, kept_until};
use crate::studio::{Domains, StudioDomainTarget};
use crate::tagging::{TagQuery, Tagged, VALUES_PER_FILTER, sagemaker_resource};

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
            let ((mut notebooks, unchecked), mut mlflow) =
                tokio::join!(self.notebook_targets(&tagged), self.mlflow_targets(&tagged),);
            self.cost_tagged(&tagged, &mut notebooks, &mut mlflow.mlflow_tracking_servers)
                .await;
            Ok::<_, GateError>(((notebooks, unchecked), mlflow))
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
            running_time_policy: config.running_time,
            currency: config.prices.then_some("USD"),
        };
        Ok(if config.launch_routes {
            targets
        } else {
            targets.without_launch_routes()
        })
    }

    /// The running notebook instances' and tracking servers' stop times, keeps (from the tags the
    /// index returned) and prices, all at once.
    async fn cost_tagged(
        &self,
        tagged: &[Tagged],
        notebooks: &mut [NotebookTarget],
        servers: &mut [TrackingServerTarget],
    ) {
        let now = self.now();
        let kept = |kind: &str, name: &str| {
            tagged
                .iter()
                .find(|r| {
                    sagemaker_resource(&r.arn)
                        .is_some_and(|(k, n)| k == kind && n.eq_ignore_ascii_case(name))
                })
                .and_then(|r| {
                    kept_until(
                        r.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
                        now,
                    )
                })
        };
        let notebook_costs = join_all(notebooks.iter().map(|notebook| {
            let running = notebook.status.as_str() == "InService";
            let target = RunningTarget {
                kind: Kind::NotebookInstance,
                since: notebook.since.as_deref(),
                kept_until: kept("notebook-instance", &notebook.name),
                keep_route: format!("/notebook-instances/{}/keep", notebook.name),
                priced: notebook
                    .instance_type
                    .clone()
                    .map(|instance_type| Priced::NotebookInstance { instance_type }),
                left_to_sagemaker: false,
            };
            async move { running.then_some(self.running_cost(target).await) }
        }));
        let server_costs = join_all(servers.iter().map(|server| {
            let running = server.status.is_running();
            let target = RunningTarget {
                kind: Kind::TrackingServer,
                since: server.since.as_deref(),
                kept_until: kept("mlflow-tracking-server", &server.name),
                keep_route: format!("/mlflow/tracking-servers/{}/keep", server.name),
                priced: server
                    .size
                    .clone()
                    .map(|size| Priced::TrackingServer { size }),
                left_to_sagemaker: false,
            };
            async move { running.then_some(self.running_cost(target).await) }
        }));
        let (notebook_costs, server_costs) = tokio::join!(notebook_costs, server_costs);
        for (notebook, cost) in notebooks.iter_mut().zip(notebook_costs) {
            notebook.running = cost.unwrap_or_default();
        }
        for (server, cost) in servers.iter_mut().zip(server_costs) {
            server.running = cost.unwrap_or_default();
        }
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
    /// The limits the scheduled sweep stops by, in hours (0: off), and the longest keep.
    pub running_time_policy: RunningTimePolicy,
    /// The currency of `pricePerHour` and `costSoFar`; absent when prices are off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<&'static str>,
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
