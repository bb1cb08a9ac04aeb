//! What `GET /targets` says of each running target under the running-time policy and the Price
//! List: when the sweep stops it, how long it is kept, where to keep it, and what it costs.

use serde::Serialize;

use crate::calls::Calls;
use crate::clock::Moment;
use crate::pricing::{Priced, cost_so_far};
use crate::running_time::Kind;

/// Flattened into each running target's item; every field is absent when it does not apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunningCost {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stops_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_until: Option<String>,
    /// The keep route, when a keep means something for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    /// The latest time a keep asked now may reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_until_max: Option<String>,
    /// USD an hour, from the Price List.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_hour: Option<f64>,
    /// USD since it started running, to the cent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_so_far: Option<f64>,
}

/// One running target, as the pass over `/targets` needs it.
pub(crate) struct RunningTarget<'a> {
    pub kind: Kind,
    /// When it started running (RFC 3339, as SageMaker gave it).
    pub since: Option<&'a str>,
    pub kept_until: Option<Moment>,
    pub keep_route: String,
    pub priced: Option<Priced>,
    /// The policy leaves it to SageMaker (a domain with idle shutdown).
    pub left_to_sagemaker: bool,
}

impl<S: Sync> Calls<'_, S> {
    /// The policy's and the price's figures for one running target, at AWS's now.
    pub(crate) async fn running_cost(&self, target: RunningTarget<'_>) -> RunningCost {
        let policy = self.config().running_time;
        let price_per_hour = match &target.priced {
            Some(priced) => self.hourly_price(priced).await,
            None => None,
        };
        let now = self.now();
        let since = target.since.and_then(Moment::parse_rfc3339);
        let governed = !target.left_to_sagemaker;
        let stops_at = since
            .filter(|_| governed)
            .and_then(|since| policy.stops_at(target.kind, since, target.kept_until));
        let may_keep = governed && policy.may_keep(target.kind);
        RunningCost {
            stops_at: stops_at.map(Moment::to_rfc3339),
            kept_until: target.kept_until.map(Moment::to_rfc3339),
            keep: may_keep.then_some(target.keep_route),
            keep_until_max: may_keep.then(|| policy.latest_keep(now).to_rfc3339()),
            price_per_hour,
            cost_so_far: price_per_hour
                .zip(since)
                .map(|(price, since)| cost_so_far(price, now.seconds_since(since))),
        }
    }
}
