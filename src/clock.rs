//! The time the running-time policy and the prices go by: AWS's own, from the `Date` header of its
//! latest answer. SageMaker stamps `LastModifiedTime` and `CreationTime` with that clock, so a
//! target's running time is measured on one clock, and an emulator's clock (the stand-in's
//! `/_clock`) drives the function as AWS's would.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sagemaker::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sagemaker::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sagemaker::error::BoxError;
use aws_sdk_sagemaker::primitives::{DateTime, DateTimeFormat};

/// A moment, in whole seconds since the Unix epoch (AWS's times carry no finer precision that
/// matters here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moment(i64);

impl Moment {
    pub fn from_epoch_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    pub fn epoch_seconds(self) -> i64 {
        self.0
    }

    /// An RFC 3339 time with any offset (`2026-12-05T18:00:00+09:00`); none for anything else.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        DateTime::from_str(text.trim(), DateTimeFormat::DateTimeWithOffset)
            .ok()
            .map(|t| Self(t.secs()))
    }

    /// RFC 3339 in UTC, to the second: `2026-12-05T09:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        DateTime::from_secs(self.0)
            .fmt(DateTimeFormat::DateTime)
            .unwrap_or_default()
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// Seconds from `earlier` to this moment (negative when `earlier` is later).
    pub fn seconds_since(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// AWS's clock as last seen: the latest `Date` header and when it arrived. Shared by every client
/// the gate builds; before any answer it is the function's own clock.
#[derive(Clone, Debug, Default)]
pub struct AwsClock {
    seen: Arc<Mutex<Option<(i64, Instant)>>>,
}

impl AwsClock {
    pub fn now(&self) -> Moment {
        let seen = *self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match seen {
            Some((date, at)) => Moment(date.saturating_add(at.elapsed().as_secs() as i64)),
            None => Moment(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            ),
        }
    }

    /// Takes an HTTP-date (`Sat, 05 Dec 2026 07:00:00 GMT`); anything else is ignored.
    pub fn observe(&self, http_date: &str) {
        if let Ok(date) = DateTime::from_str(http_date.trim(), DateTimeFormat::HttpDate) {
            *self.seen.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((date.secs(), Instant::now()));
        }
    }

    /// The SDK interceptor that feeds this clock from every answer of a client it is added to.
    pub fn interceptor(&self) -> DateHeaderClock {
        DateHeaderClock(self.clone())
    }
}

/// Reads each AWS answer's `Date` header into an `AwsClock`.
#[derive(Debug)]
pub struct DateHeaderClock(AwsClock);

impl Intercept for DateHeaderClock {
    fn name(&self) -> &'static str {
        "DateHeaderClock"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            self.0.observe(date);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_parse_with_any_offset_and_print_in_utc() {
        let tokyo = Moment::parse_rfc3339("2026-12-05T18:00:00+09:00").unwrap();
        assert_eq!(tokyo.to_rfc3339(), "2026-12-05T09:00:00Z");
        assert_eq!(
            Moment::parse_rfc3339("2026-12-05T09:00:00Z"),
            Some(tokyo),
            "the same moment"
        );
        for bad in [
            "",
            "tomorrow",
            "2026-12-05",
            "2026-12-05 09:00",
            "1733389200",
        ] {
            assert_eq!(Moment::parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_clock_follows_the_latest_date_header() {
        let clock = AwsClock::default();
        let own = clock.now();
        clock.observe("Sat, 05 Dec 2026 07:00:00 GMT");
        let aws = clock.now();
        assert_eq!(aws.to_rfc3339(), "2026-12-05T07:00:00Z");
        clock.observe("not a date");
        assert_eq!(clock.now(), aws, "a bad header changes nothing");
        clock.observe("Sun, 06 Dec 2026 07:00:00 GMT");
        assert_eq!(clock.now().seconds_since(aws), 86_400);
        assert!(
            own.epoch_seconds() > 1_700_000_000,
            "before any answer: the system clock"
        );
    }
}
