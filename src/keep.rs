//! Keeping a running target going past its limit: the step every kind's keep route ends with.

use serde::Serialize;

use crate::calls::{Calls, Target};
use crate::clock::Moment;
use crate::error::GateError;
use crate::running_time::{KEEP_UNTIL_TAG_KEY, Kind};
use crate::sagemaker::TagsApi;

/// The answer of a keep route.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kept {
    pub result: &'static str,
    pub kept_until: String,
    /// When the sweep will stop it now: the keep's end, or its limit if that is later.
    pub stops_at: Option<String>,
    pub target: Target,
}

impl<S: TagsApi> Calls<'_, S> {
    /// A keep of a running target the caller's reads already showed is theirs: checked against
    /// the policy on AWS's clock, then one `AddTags` of the keep tag alone (the one key IAM lets
    /// the gate write). `since` is when it started running.
    pub(crate) async fn keep(
        &self,
        kind: Kind,
        arn: &str,
        since: Option<Moment>,
        until: Moment,
        target: Target,
    ) -> Result<Kept, GateError> {
        let policy = self.config().running_time;
        let now = self.now();
        let until = policy.check_keep(kind, until, now)?;
        let value = until.to_rfc3339();
        self.call(|sagemaker| sagemaker.add_tag(arn, KEEP_UNTIL_TAG_KEY, &value))
            .await?;
        tracing::info!(kind = kind.as_str(), until = %value, "kept running");
        Ok(Kept {
            result: "kept",
            stops_at: policy
                .stops_at(kind, since.unwrap_or(now), Some(until))
                .map(Moment::to_rfc3339),
            kept_until: value,
            target,
        })
    }
}
