//! The running-time policy: how long each kind of target may run before the sweep stops it, how
//! long a person may keep one running on purpose, and what that comes to for one target now.
//! Decisions only: the sweep (`sweep.rs`) and the keep routes act on them.

use serde::Serialize;

use crate::clock::Moment;
use crate::config::ConfigError;
use crate::error::GateError;

/// The tag a keep is stored in: an RFC 3339 UTC time. On the resource itself, so it survives the
/// function's restarts and an administrator sees it; the gate's role may write this key alone.
pub const KEEP_UNTIL_TAG_KEY: &str = "notebook-gate:keep-until";

/// Hours a limit or a keep may be set to: up to a year; 0 turns it off.
const MAX_HOURS: u32 = 8760;
/// `MAX_KEEP_HOURS` when unset: three days.
const DEFAULT_MAX_KEEP_HOURS: u32 = 72;

/// The kinds of target the policy stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Kind {
    #[serde(rename = "notebook-instance")]
    NotebookInstance,
    #[serde(rename = "space")]
    Space,
    #[serde(rename = "mlflow-tracking-server")]
    TrackingServer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotebookInstance => "notebook-instance",
            Self::Space => "space",
            Self::TrackingServer => "mlflow-tracking-server",
        }
    }
}

/// The configured limits, in hours; 0 is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunningTimePolicy {
    /// `MAX_RUN_HOURS_NOTEBOOK`
    pub notebook_instance_hours: u32,
    /// `MAX_RUN_HOURS_SPACE`
    pub space_hours: u32,
    /// `MAX_RUN_HOURS_MLFLOW`
    pub tracking_server_hours: u32,
    /// `MAX_KEEP_HOURS`
    pub max_keep_hours: u32,
}

impl Default for RunningTimePolicy {
    fn default() -> Self {
        Self {
            notebook_instance_hours: 0,
            space_hours: 0,
            tracking_server_hours: 0,
            max_keep_hours: DEFAULT_MAX_KEEP_HOURS,
        }
    }
}

impl RunningTimePolicy {
    /// Reads the four variables; unset limits are off, an unset keep maximum is three days.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let hours = |variable: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(variable) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<u32>()
                    .ok()
                    .filter(|h| *h <= MAX_HOURS)
                    .ok_or_else(|| ConfigError {
                        variable,
                        problem: format!(
                            "must be a whole number of hours from 0 (off) to {MAX_HOURS}"
                        ),
                    }),
            }
        };
        Ok(Self {
            notebook_instance_hours: hours("MAX_RUN_HOURS_NOTEBOOK", 0)?,
            space_hours: hours("MAX_RUN_HOURS_SPACE", 0)?,
            tracking_server_hours: hours("MAX_RUN_HOURS_MLFLOW", 0)?,
            max_keep_hours: hours("MAX_KEEP_HOURS", DEFAULT_MAX_KEEP_HOURS)?,
        })
    }

    /// How long a target of `kind` may run unkept, in seconds; none when the policy leaves it be.
    pub fn limit_seconds(&self, kind: Kind) -> Option<i64> {
        let hours = match kind {
            Kind::NotebookInstance => self.notebook_instance_hours,
            Kind::Space => self.space_hours,
            Kind::TrackingServer => self.tracking_server_hours,
        };
        (hours > 0).then_some(i64::from(hours) * 3600)
    }

    /// Whether the sweep has anything to do at all.
    pub fn is_on(&self) -> bool {
        [Kind::NotebookInstance, Kind::Space, Kind::TrackingServer]
            .into_iter()
            .any(|kind| self.limit_seconds(kind).is_some())
    }

    /// A keep means something only where the kind has a limit, and when keeping is allowed.
    pub fn may_keep(&self, kind: Kind) -> bool {
        self.limit_seconds(kind).is_some() && self.max_keep_hours > 0
    }

    /// The latest time a keep asked at `now` may reach.
    pub fn latest_keep(&self, now: Moment) -> Moment {
        now.plus_seconds(i64::from(self.max_keep_hours) * 3600)
    }

    /// When a target of `kind`, running since `since`, will be stopped: its limit after it started,
    /// or the end of its keep if that is later. None when the policy leaves the kind be.
    pub fn stops_at(
        &self,
        kind: Kind,
        since: Moment,
        kept_until: Option<Moment>,
    ) -> Option<Moment> {
        let limit = self.limit_seconds(kind)?;
        let by_limit = since.plus_seconds(limit);
        Some(kept_until.map_or(by_limit, |kept| kept.max(by_limit)))
    }

    /// Whether the sweep stops it now: past its limit and not kept.
    pub fn is_due(
        &self,
        kind: Kind,
        since: Moment,
        kept_until: Option<Moment>,
        now: Moment,
    ) -> bool {
        self.stops_at(kind, since, kept_until)
            .is_some_and(|stops_at| now >= stops_at)
    }

    /// A keep asked for `until` at `now`, checked: in the future and no later than the maximum.
    pub fn check_keep(&self, kind: Kind, until: Moment, now: Moment) -> Result<Moment, GateError> {
        if !self.may_keep(kind) {
            return Err(GateError::KeepDisabled);
        }
        if until <= now {
            return Err(GateError::InvalidRequest(
                "`until` must be a time in the future.".into(),
            ));
        }
        let latest = self.latest_keep(now);
        if until > latest {
            return Err(GateError::KeepTooLong {
                latest: latest.to_rfc3339(),
                hours: self.max_keep_hours,
            });
        }
        Ok(until)
    }
}

/// The keep a resource's tags hold: a time in the future by `now`, or none (absent, past or
/// unreadable, which is logged and then ignored).
pub fn kept_until<'a>(
    mut tags: impl Iterator<Item = (&'a str, &'a str)>,
    now: Moment,
) -> Option<Moment> {
    let (_, value) = tags.find(|(key, _)| *key == KEEP_UNTIL_TAG_KEY)?;
    match Moment::parse_rfc3339(value) {
        Some(until) => (until > now).then_some(until),
        None => {
            tracing::warn!(value, "keep-until tag is not an RFC 3339 time; ignored");
            None
        }
    }
}

/// A keep request's body: `{"until": "<RFC 3339>"}`.
pub fn parse_keep_body(body: &[u8]) -> Result<Moment, GateError> {
    #[derive(serde::Deserialize)]
    struct KeepBody {
        until: String,
    }
    let body: KeepBody = serde_json::from_slice(body).map_err(|_| {
        GateError::InvalidRequest(
            "Send a JSON body like {\"until\": \"2026-12-05T18:00:00Z\"}.".into(),
        )
    })?;
    Moment::parse_rfc3339(&body.until).ok_or_else(|| {
        GateError::InvalidRequest(
            "`until` must be an RFC 3339 time, like 2026-12-05T18:00:00Z.".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    fn policy() -> RunningTimePolicy {
        RunningTimePolicy {
            notebook_instance_hours: 12,
            space_hours: 0,
            tracking_server_hours: 24,
            max_keep_hours: 72,
        }
    }

    fn at(seconds: i64) -> Moment {
        Moment::from_epoch_seconds(1_800_000_000 + seconds)
    }

    #[test]
    fn a_target_is_due_at_its_limit_and_not_a_minute_before() {
        let p = policy();
        let since = at(0);
        assert!(!p.is_due(Kind::NotebookInstance, since, None, at(12 * HOUR - 60)));
        assert!(p.is_due(Kind::NotebookInstance, since, None, at(12 * HOUR)));
        assert!(!p.is_due(Kind::TrackingServer, since, None, at(23 * HOUR)));
        assert!(p.is_due(Kind::TrackingServer, since, None, at(24 * HOUR)));
    }

    #[test]
    fn a_kind_without_a_limit_is_never_due() {
        let p = policy();
        assert!(!p.is_due(Kind::Space, at(0), None, at(10_000 * HOUR)));
        assert_eq!(p.stops_at(Kind::Space, at(0), None), None);
        assert!(!p.may_keep(Kind::Space));
        assert!(!RunningTimePolicy::default().is_on());
        assert!(p.is_on());
    }

    #[test]
    fn a_keep_moves_the_stop_only_later() {
        let p = policy();
        let since = at(0);
        let kept = at(30 * HOUR);
        assert_eq!(
            p.stops_at(Kind::NotebookInstance, since, Some(kept)),
            Some(kept)
        );
        assert!(!p.is_due(Kind::NotebookInstance, since, Some(kept), at(29 * HOUR)));
        assert!(p.is_due(Kind::NotebookInstance, since, Some(kept), at(30 * HOUR)));
        // A keep that ends before the limit changes nothing.
        assert_eq!(
            p.stops_at(Kind::NotebookInstance, since, Some(at(HOUR))),
            Some(at(12 * HOUR))
        );
    }

    #[test]
    fn a_keep_must_be_in_the_future_and_within_the_maximum() {
        let p = policy();
        let now = at(0);
        assert!(matches!(
            p.check_keep(Kind::NotebookInstance, at(72 * HOUR), now),
            Ok(until) if until == at(72 * HOUR)
        ));
        assert!(matches!(
            p.check_keep(Kind::NotebookInstance, at(72 * HOUR + 1), now),
            Err(GateError::KeepTooLong { hours: 72, .. })
        ));
        assert!(matches!(
            p.check_keep(Kind::NotebookInstance, now, now),
            Err(GateError::InvalidRequest(_))
        ));
        assert!(matches!(
            p.check_keep(Kind::Space, at(HOUR), now),
            Err(GateError::KeepDisabled)
        ));
        let no_keeping = RunningTimePolicy {
            max_keep_hours: 0,
            ..p
        };
        assert!(matches!(
            no_keeping.check_keep(Kind::NotebookInstance, at(HOUR), now),
            Err(GateError::KeepDisabled)
        ));
    }

    #[test]
    fn only_a_future_readable_keep_tag_counts() {
        let now = at(0);
        let tags = |value: &'static str| vec![("owner", "x"), (KEEP_UNTIL_TAG_KEY, value)];
        let future = at(HOUR).to_rfc3339();
        let future: &'static str = Box::leak(future.into_boxed_str());
        assert_eq!(kept_until(tags(future).into_iter(), now), Some(at(HOUR)));
        let past: &'static str = Box::leak(at(-HOUR).to_rfc3339().into_boxed_str());
        assert_eq!(kept_until(tags(past).into_iter(), now), None);
        assert_eq!(kept_until(tags("next week").into_iter(), now), None);
        assert_eq!(kept_until(vec![("owner", "x")].into_iter(), now), None);
    }

    #[test]
    fn the_limits_are_read_and_bounded() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let p = RunningTimePolicy::from_lookup(&env(&[
            ("MAX_RUN_HOURS_NOTEBOOK", "12"),
            ("MAX_RUN_HOURS_SPACE", "0"),
            ("MAX_RUN_HOURS_MLFLOW", "8760"),
        ]))
        .unwrap();
        assert_eq!(p.limit_seconds(Kind::NotebookInstance), Some(12 * HOUR));
        assert_eq!(p.limit_seconds(Kind::Space), None);
        assert_eq!(p.limit_seconds(Kind::TrackingServer), Some(8760 * HOUR));
        assert_eq!(p.max_keep_hours, 72);
        for bad in ["-1", "8761", "1.5", "twelve"] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(vec![("MAX_KEEP_HOURS", bad)].into_boxed_slice());
            let error = RunningTimePolicy::from_lookup(&env(pairs)).unwrap_err();
            assert_eq!(error.variable, "MAX_KEEP_HOURS", "{bad}");
        }
    }

    #[test]
    fn a_keep_body_holds_one_rfc3339_time() {
        assert!(matches!(
            parse_keep_body(br#"{"until": "2026-12-05T18:00:00+09:00"}"#),
            Ok(until) if Some(until) == Moment::parse_rfc3339("2026-12-05T09:00:00Z")
        ));
        for bad in [
            &b""[..],
            b"{}",
            b"[]",
            br#"{"until": 5}"#,
            br#"{"until": "soon"}"#,
            b"not json",
        ] {
            assert!(
                matches!(parse_keep_body(bad), Err(GateError::InvalidRequest(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
