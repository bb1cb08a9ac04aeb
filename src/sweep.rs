//! The scheduled sweep (EventBridge Scheduler's `{"notebook-gate": "sweep"}`): stops what the
//! gate hands out once it has run past its kind's limit and is not kept. Only what carries the
//! owner or group tag is ever looked at; IAM grants the stops on tagged resources only, so an
//! untagged one could not be stopped even by a bug here. One target failing to stop never ends
//! the sweep.

use std::collections::{HashMap, HashSet};

use futures_util::{StreamExt, stream};
use serde::Serialize;

use crate::caller::Tag;
use crate::calls::{Calls, READS_IN_FLIGHT};
use crate::clock::Moment;
use crate::domains::DomainId;
use crate::error::GateError;
use crate::gate::{Gate, SageMaker};
use crate::metrics;
use crate::mlflow::TrackingServerName;
use crate::notebook::NotebookName;
use crate::running_time::{Kind, kept_until};
use crate::studio::{App, Domains, ProfileName, Space};
use crate::tagging::{TagQuery, sagemaker_resource};

/// The key of the scheduler's payload, `{"notebook-gate": "sweep"}`: an API Gateway event has no
/// such top-level key, and no caller can add one (a request's body is a string inside it).
const SCHEDULED_KEY: &str = "notebook-gate";

/// Whether the invocation is the scheduler's sweep rather than an API Gateway request.
pub fn is_sweep_event(payload: &serde_json::Value) -> bool {
    payload
        .get(SCHEDULED_KEY)
        .and_then(serde_json::Value::as_str)
        == Some("sweep")
        && payload.get("requestContext").is_none()
}

impl<S: SageMaker> Gate<S> {
    /// One sweep, with its audit line; what the scheduler's invocation returns.
    pub async fn sweep(&self, function_arn: &str) -> serde_json::Value {
        let started = std::time::Instant::now();
        let calls = self.for_request(Some(function_arn));
        let report = if self.config.running_time.is_on() {
            calls.sweep(&self.studio_domains).await
        } else {
            SweepReport::default()
        };
        tracing::info!(
            target: "audit",
            route = "schedule",
            checked = report.checked,
            stopped = report.stopped.len(),
            kept = report.kept,
            failed = report.failed,
            sagemaker_calls = calls.made(),
            latency_ms = started.elapsed().as_millis() as u64,
            "sweep done"
        );
        serde_json::json!({ "sweep": report })
    }
}

/// What one sweep came to: the sweep's answer to the scheduler, and its audit line's figures.
#[derive(Debug, Default, Serialize)]
pub struct SweepReport {
    /// Running targets of a kind with a limit that the sweep looked at.
    pub checked: u32,
    pub stopped: Vec<Stopped>,
    /// Past their limit but kept.
    pub kept: u32,
    /// Reads or stops that failed (the next sweep tries again).
    pub failed: u32,
}

/// One target the sweep stopped.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stopped {
    pub kind: Kind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
}

/// A running target the sweep may stop, once its tags say so.
struct Running {
    kind: Kind,
    name: String,
    arn: String,
    since: Moment,
}

/// What the sweep decided about one target.
enum Verdict {
    /// Not running, or not the gate's: not counted.
    Elsewhere,
    Running,
    Kept,
    Stopped(Stopped),
    Failed,
}

impl SweepReport {
    /// Adds another part's figures (a domain's, Studio's) to these.
    fn absorb(&mut self, other: SweepReport) {
        self.checked += other.checked;
        self.kept += other.kept;
        self.failed += other.failed;
        self.stopped.extend(other.stopped);
    }

    fn count(&mut self, verdict: Verdict) {
        if matches!(
            verdict,
            Verdict::Running | Verdict::Kept | Verdict::Stopped(_)
        ) {
            self.checked += 1;
        }
        match verdict {
            Verdict::Elsewhere | Verdict::Running => {}
            Verdict::Kept => self.kept += 1,
            Verdict::Stopped(stopped) => self.stopped.push(stopped),
            Verdict::Failed => self.failed += 1,
        }
    }
}

impl<S: SageMaker> Calls<'_, S> {
    /// The whole sweep: the tagged notebook instances and tracking servers, then each configured
    /// domain's space apps, side by side.
    pub(crate) async fn sweep(&self, domains: &Domains) -> SweepReport {
        let (mut report, studio) = tokio::join!(self.sweep_tagged(), self.sweep_studio(domains));
        report.absorb(studio);
        report
    }

    /// Notebook instances and tracking servers: `GetResources` by the owner key and by the group
    /// key (any value), each found one described (8 at once) for its state and since when; one
    /// past its limit has its tags read again (`ListTags`: the index may lag a keep just made, or
    /// a tag just removed) before it is stopped.
    async fn sweep_tagged(&self) -> SweepReport {
        let config = self.config();
        let policy = config.running_time;
        let mut types = Vec::new();
        if policy.limit_seconds(Kind::NotebookInstance).is_some() {
            types.push("sagemaker:notebook-instance");
        }
        if config.mlflow && policy.limit_seconds(Kind::TrackingServer).is_some() {
            types.push("sagemaker:mlflow-tracking-server");
        }
        let mut report = SweepReport::default();
        if types.is_empty() {
            return report;
        }
        let query = |key: &str| TagQuery {
            resource_types: types.clone(),
            key: key.to_owned(),
            values: Vec::new(),
        };
        let (by_owner, by_group) = (query(&config.owner_tag_key), query(&config.group_tag_key));
        let (owned, grouped) =
            tokio::join!(self.find_tagged(&by_owner), self.find_tagged(&by_group));
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for answer in [owned, grouped] {
            match answer {
                Ok(resources) => found.extend(
                    resources
                        .into_iter()
                        .filter(|r| seen.insert(r.arn.clone()))
                        .map(|r| r.arn),
                ),
                Err(error) => {
                    tracing::error!(%error, "sweep: GetResources failed");
                    report.failed += 1;
                }
            }
        }
        let verdicts: Vec<Verdict> = stream::iter(found)
            .map(|arn| self.sweep_one(arn))
            .buffer_unordered(READS_IN_FLIGHT)
            .collect()
            .await;
        for verdict in verdicts {
            report.count(verdict);
        }
        report
    }

    /// One notebook instance or tracking server, by its ARN.
    async fn sweep_one(&self, arn: String) -> Verdict {
        let running = match sagemaker_resource(&arn) {
            Some(("notebook-instance", name)) => self.running_notebook(name).await,
            Some(("mlflow-tracking-server", name)) => self.running_tracking_server(name).await,
            _ => Ok(None),
        };
        let running = match running {
            Ok(Some(running)) => running,
            // Not running, or deleted since the index saw it.
            Ok(None) | Err(GateError::NotFound) => return Verdict::Elsewhere,
            Err(error) => {
                tracing::error!(%error, arn, "sweep: describe failed");
                return Verdict::Failed;
            }
        };
        let running = Running { arn, ..running };
        self.judge_and_stop(running, None).await
    }

    async fn running_notebook(&self, name: &str) -> Result<Option<Running>, GateError> {
        let Ok(name) = NotebookName::parse(name) else {
            return Ok(None);
        };
        let instance = self
            .call(|sagemaker| sagemaker.describe_notebook_instance(&name))
            .await?;
        let since = instance.since.as_deref().and_then(Moment::parse_rfc3339);
        Ok((instance.status.as_str() == "InService")
            .then_some(since)
            .flatten()
            .map(|since| Running {
                kind: Kind::NotebookInstance,
                name: instance.name.to_string(),
                arn: instance.arn,
                since,
            }))
    }

    async fn running_tracking_server(&self, name: &str) -> Result<Option<Running>, GateError> {
        let Ok(name) = TrackingServerName::parse(name) else {
            return Ok(None);
        };
        let server = self
            .call(|sagemaker| sagemaker.describe_mlflow_tracking_server(&name))
            .await?;
        let since = server.since.as_deref().and_then(Moment::parse_rfc3339);
        Ok(server
            .status
            .is_running()
            .then_some(since)
            .flatten()
            .map(|since| Running {
                kind: Kind::TrackingServer,
                name: server.name.to_string(),
                arn: server.arn,
                since,
            }))
    }

    /// Past its limit? Then its tags, read now: still the gate's (`owned` says so already for a
    /// space, whose owner's profile carries the tag) and not kept. Then the stop.
    async fn judge_and_stop(&self, running: Running, space: Option<(&str, &App)>) -> Verdict {
        let policy = self.config().running_time;
        if !policy.is_due(running.kind, running.since, None, self.now()) {
            return Verdict::Running;
        }
        let tags = match self
            .call(|sagemaker| sagemaker.list_tags(&running.arn))
            .await
        {
            Ok(tags) => tags,
            Err(error) => {
                tracing::error!(%error, arn = running.arn, "sweep: ListTags failed");
                return Verdict::Failed;
            }
        };
        if space.is_none() && !self.carries_a_gate_tag(&tags) {
            return Verdict::Elsewhere;
        }
        let now = self.now();
        let kept = kept_until(tags.iter().map(|t| (t.key.as_str(), t.value.as_str())), now);
        if !policy.is_due(running.kind, running.since, kept, now) {
            return Verdict::Kept;
        }
        let stopped = match (running.kind, space) {
            (Kind::NotebookInstance, _) => match NotebookName::parse(&running.name) {
                Ok(name) => {
                    self.call(|sagemaker| sagemaker.stop_notebook_instance(&name))
                        .await
                }
                Err(_) => return Verdict::Running,
            },
            (Kind::TrackingServer, _) => match TrackingServerName::parse(&running.name) {
                Ok(name) => {
                    self.call(|sagemaker| sagemaker.stop_mlflow_tracking_server(&name))
                        .await
                }
                Err(_) => return Verdict::Running,
            },
            (Kind::Space, Some((domain, app))) => {
                match crate::studio::SpaceName::parse(&running.name) {
                    Ok(space_name) => {
                        self.call(|sagemaker| {
                            sagemaker.delete_app(domain, &space_name, &app.app_type, &app.app_name)
                        })
                        .await
                    }
                    Err(_) => return Verdict::Running,
                }
            }
            (Kind::Space, None) => return Verdict::Running,
        };
        let ran_seconds = now.seconds_since(running.since);
        let domain_id = space.map(|(domain, _)| domain.to_owned());
        match stopped {
            // Already on its way down (its owner, or the last sweep): nothing left to do.
            Ok(()) | Err(GateError::StateChanged) => {
                tracing::info!(
                    target: "audit",
                    route = "schedule",
                    action = "stop",
                    kind = running.kind.as_str(),
                    resource = %running.name,
                    domain = domain_id.as_deref().unwrap_or(""),
                    ran_seconds,
                    kept_until = kept.map(Moment::to_rfc3339).unwrap_or_default(),
                    "running-time policy stopped a target"
                );
                metrics::emit_policy_stop(running.kind.as_str(), true);
                Verdict::Stopped(Stopped {
                    kind: running.kind,
                    name: running.name,
                    domain_id,
                })
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    kind = running.kind.as_str(),
                    resource = %running.name,
                    "sweep: stop failed"
                );
                metrics::emit_policy_stop(running.kind.as_str(), false);
                Verdict::Failed
            }
        }
    }

    /// The owner or group tag, with a value: what makes a resource the gate's to hand out.
    fn carries_a_gate_tag(&self, tags: &[Tag]) -> bool {
        let config = self.config();
        tags.iter().any(|t| {
            (t.key.as_str() == config.owner_tag_key || t.key.as_str() == config.group_tag_key)
                && !t.value.is_empty()
        })
    }

    /// Every configured domain without SageMaker's own idle shutdown: its space apps running
    /// past the limit, in spaces whose owner's profile carries the owner tag.
    async fn sweep_studio(&self, domains: &Domains) -> SweepReport {
        let mut report = SweepReport::default();
        if self
            .config()
            .running_time
            .limit_seconds(Kind::Space)
            .is_none()
        {
            return report;
        }
        let per_domain = futures_util::future::join_all(
            domains
                .0
                .iter()
                .map(|(domain, _)| self.sweep_domain(domains, domain)),
        )
        .await;
        for domain in per_domain {
            report.absorb(domain);
        }
        report
    }

    /// One domain: `DescribeDomain` (kept), `ListSpaces` ‖ `ListApps`, the owners' profiles'
    /// tags (once each), then each app past its limit as `judge_and_stop` does.
    async fn sweep_domain(&self, domains: &Domains, id: &DomainId) -> SweepReport {
        let mut report = SweepReport::default();
        let domain = match self.domain(domains, id).await {
            Ok(domain) => domain,
            Err(error) => {
                tracing::error!(%error, domain = %id, "sweep: DescribeDomain failed");
                report.failed += 1;
                return report;
            }
        };
        if domain.idle_shutdown_minutes.is_some() {
            return report; // SageMaker's idle shutdown looks after it
        }
        let domain_id = id.as_str();
        let (spaces, apps) = tokio::join!(
            self.call(|sagemaker| sagemaker.list_spaces(domain_id)),
            self.call(|sagemaker| sagemaker.list_apps(domain_id, None)),
        );
        let (spaces, apps) = match (spaces, apps) {
            (Ok(spaces), Ok(apps)) => (spaces, apps),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, domain = %id, "sweep: listing the domain failed");
                report.failed += 1;
                return report;
            }
        };
        let Ok(arns) = self.arns() else {
            report.failed += 1;
            return report;
        };
        let spaces: HashMap<&str, &Space> = spaces.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut owner_tagged: HashMap<String, bool> = HashMap::new();
        for app in apps.iter().filter(|a| a.status.as_str() == "InService") {
            let Some(space) = app.space_name.as_deref().and_then(|n| spaces.get(n)) else {
                continue;
            };
            let Some(since) = app.since.as_deref().and_then(Moment::parse_rfc3339) else {
                continue;
            };
            let Some(owner) = space.owner_profile.as_deref() else {
                continue;
            };
            if !owner_tagged.contains_key(owner) {
                let profile_arn = ProfileName::parse(owner)
                    .ok()
                    .map(|profile| arns.user_profile(id, &profile));
                let tagged = match profile_arn {
                    Some(profile_arn) => match self
                        .call(|sagemaker| sagemaker.list_tags(&profile_arn))
                        .await
                    {
                        Ok(tags) => tags.iter().any(|t| {
                            t.key.as_str() == self.config().owner_tag_key && !t.value.is_empty()
                        }),
                        Err(error) => {
                            tracing::error!(%error, profile = owner, "sweep: ListTags failed");
                            report.failed += 1;
                            false
                        }
                    },
                    None => false,
                };
                owner_tagged.insert(owner.to_owned(), tagged);
            }
            if !owner_tagged[owner] {
                continue;
            }
            let running = Running {
                kind: Kind::Space,
                name: space.name.clone(),
                arn: arns.space(id, &space.name),
                since,
            };
            let verdict = self.judge_and_stop(running, Some((domain_id, app))).await;
            report.count(verdict);
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_schedulers_payload_is_a_sweep() {
        assert!(is_sweep_event(&json!({"notebook-gate": "sweep"})));
        for other in [
            json!({"notebook-gate": "stop-everything"}),
            json!({"notebook-gate": true}),
            json!({"version": "2.0", "routeKey": "GET /targets", "body": "{\"notebook-gate\":\"sweep\"}"}),
            // An API Gateway event can never carry the key at the top level; if one did, it is
            // still a request, not a sweep.
            json!({"notebook-gate": "sweep", "requestContext": {}}),
            json!({}),
        ] {
            assert!(!is_sweep_event(&other), "{other}");
        }
    }
}
