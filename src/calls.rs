//! One request's use of SageMaker: every call is counted and timed (`Calls::call`), SageMaker
//! ARNs are built from the invoked function's own ARN, and what an open or a start or stop came
//! to. Each kind of target adds its route steps to `Calls` in its own module.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use serde::Serialize;

use crate::clock::{AwsClock, Moment};
use crate::config::Config;
use crate::error::GateError;
use crate::lifecycle::LifecycleAction;
use crate::pricing::{Priced, Prices};
use crate::tagging::{TagQuery, Tagged, Tagging};

/// How long a caller waiting for a notebook to start is asked to wait before asking again.
pub const STARTING_RETRY_AFTER: u32 = 15;
/// Reads of one kind in flight at once while listing targets (the describes of what the Tagging
/// API found).
pub(crate) const READS_IN_FLIGHT: usize = 8;

/// `arn:<partition>:sagemaker:<region>:<account>`, the start of every SageMaker ARN this function
/// may touch, taken from its own ARN so a resource's ARN is known before SageMaker is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SageMakerArns(pub(crate) String);

impl SageMakerArns {
    /// From `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    pub(crate) fn from_function_arn(arn: &str) -> Option<Self> {
        let arn = ArnParts::parse(arn).filter(|a| a.service == "lambda")?;
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        (plain(arn.partition)
            && plain(arn.region)
            && arn.account.len() == 12
            && arn.account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| {
            Self(format!(
                "arn:{}:sagemaker:{}:{}",
                arn.partition, arn.region, arn.account
            ))
        })
    }
}

impl SageMakerArns {
    /// The region the function runs in, from the ARN prefix.
    pub(crate) fn region(&self) -> Option<&str> {
        self.0.split(':').nth(3)
    }
}

/// The fields of `arn:<partition>:<service>:<region>:<account>:<resource>`, unchecked.
pub(crate) struct ArnParts<'a> {
    pub(crate) partition: &'a str,
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    /// Everything after the account, colons included.
    pub(crate) resource: &'a str,
}

impl<'a> ArnParts<'a> {
    pub(crate) fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return None;
        };
        Some(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// One request's use of the gate; every SageMaker call goes through `call()`, which counts it and
/// times it, so the audit line can tell the gate's own time from SageMaker's.
pub(crate) struct Calls<'a, S> {
    sagemaker: &'a S,
    tagging: &'a dyn Tagging,
    config: &'a Config,
    pub(crate) arns: Option<SageMakerArns>,
    prices: &'a Prices,
    clock: &'a AwsClock,
    made: AtomicU32,
    waiting: Mutex<Waiting>,
}

/// Wall-clock time with at least one SageMaker call in flight: calls made together overlap, so
/// their durations are not summed.
#[derive(Default)]
struct Waiting {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

/// One call in flight; dropped when it ends or is abandoned (the request deadline).
struct InFlight<'w>(&'w Mutex<Waiting>);

impl<'w> InFlight<'w> {
    fn start(waiting: &'w Mutex<Waiting>) -> Self {
        let mut w = waiting.lock().unwrap_or_else(|e| e.into_inner());
        if w.in_flight == 0 {
            w.since = Some(Instant::now());
        }
        w.in_flight += 1;
        Self(waiting)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.in_flight -= 1;
        if w.in_flight == 0
            && let Some(since) = w.since.take()
        {
            w.total += since.elapsed();
        }
    }
}

impl<'a, S: Sync> Calls<'a, S> {
    /// A view that counts the SageMaker calls one request makes. `function_arn` is the invoked
    /// function's ARN from the Lambda context: SageMaker ARNs are built from its partition, region
    /// and account.
    pub(crate) fn new(
        sagemaker: &'a S,
        tagging: &'a dyn Tagging,
        config: &'a Config,
        function_arn: Option<&str>,
        prices: &'a Prices,
        clock: &'a AwsClock,
    ) -> Self {
        Self {
            sagemaker,
            tagging,
            config,
            arns: function_arn.and_then(SageMakerArns::from_function_arn),
            prices,
            clock,
            made: AtomicU32::new(0),
            waiting: Mutex::new(Waiting::default()),
        }
    }

    /// The only way to SageMaker: every call is counted and timed.
    pub(crate) async fn call<'s, F, T>(&'s self, operation: impl FnOnce(&'s S) -> F) -> T
    where
        F: Future<Output = T> + 's,
    {
        self.made.fetch_add(1, Ordering::Relaxed);
        let _in_flight = InFlight::start(&self.waiting);
        operation(self.sagemaker).await
    }

    /// Now, on AWS's clock (`clock.rs`): call it after the reads it is compared with.
    pub(crate) fn now(&self) -> Moment {
        self.clock.now()
    }

    /// The hourly price of `what` in the function's region; none when unknown or prices are off.
    pub(crate) async fn hourly_price(&self, what: &Priced) -> Option<f64> {
        let region = self.arns.as_ref()?.region()?;
        self.prices.hourly(region, what).await
    }

    /// The Tagging API's `GetResources`, counted and timed as a SageMaker call is: the audit
    /// line's calls and wait are the request's AWS calls.
    pub(crate) async fn find_tagged(&self, query: &TagQuery) -> Result<Vec<Tagged>, GateError> {
        self.call(|_| self.tagging.find(query)).await
    }

    /// Each of `items` read for a list, `READS_IN_FLIGHT` at once, in order: `read` gives what it
    /// names (for the log) and what the read came to. One gone since it was found is left out; one
    /// that cannot be read is left out too, and the flag says that some were (never how many).
    pub(crate) async fn read_each<I, T, Fut>(
        &self,
        items: Vec<I>,
        read: impl Fn(I) -> Fut,
    ) -> (Vec<T>, bool)
    where
        Fut: Future<Output = (String, Result<T, GateError>)>,
    {
        let answers: Vec<_> = stream::iter(items)
            .map(read)
            .buffered(READS_IN_FLIGHT)
            .collect()
            .await;
        let mut read = Vec::new();
        let mut unchecked = false;
        for (resource, answer) in answers {
            match answer {
                Ok(value) => read.push(value),
                Err(GateError::NotFound) => {} // deleted since it was found
                // One unreadable resource must not hide the rest; the reason stays in the log.
                Err(error) => {
                    tracing::warn!(%resource, %error, "state unreadable; left out of the list");
                    unchecked = true;
                }
            }
        }
        (read, unchecked)
    }

    pub(crate) fn made(&self) -> u32 {
        self.made.load(Ordering::Relaxed)
    }

    /// Time spent waiting on SageMaker: while at least one call was in flight.
    pub(crate) fn waited(&self) -> Duration {
        let w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.total + w.since.map_or(Duration::ZERO, |since| since.elapsed())
    }

    pub(crate) fn config(&self) -> &Config {
        self.config
    }

    /// The ARN builder from the invoked function's ARN; without one, nothing can be checked.
    pub(crate) fn arns(&self) -> Result<&SageMakerArns, GateError> {
        self.arns
            .as_ref()
            .ok_or_else(|| GateError::Upstream("no function ARN in the Lambda context".into()))
    }
}

/// Whether an open may start a stopped target: `AUTO_START` (which init allows only with `start` in
/// `LIFECYCLE`), on a route whose token came in the `Authorization` header. A `/launch` navigation
/// never starts anything: its token is in the URL, which link previews and prefetchers follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MayStart(pub(crate) bool);

impl MayStart {
    pub(crate) fn for_open(config: &Config, launch: bool) -> Self {
        Self(config.auto_start && config.lifecycle.allows(LifecycleAction::Start) && !launch)
    }

    pub(crate) fn get(self) -> bool {
        self.0
    }
}

/// Two reads made together, judged so that the answer never depends on which of them found
/// nothing: a failure of either (throttled, timed out, denied, broken) wins over "not found" from
/// the other, so while SageMaker fails, a missing name and someone else's get the same error. When
/// both fail, the first one's error is the answer.
pub(crate) fn both<A, B>(
    first: Result<A, GateError>,
    second: Result<B, GateError>,
) -> Result<(A, B), GateError> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(GateError::NotFound), Err(error)) => Err(error),
        (Err(error), _) | (Ok(_), Err(error)) => Err(error),
    }
}

/// What a start or stop came to, as the caller sees it.
#[derive(Debug)]
pub(crate) struct Changed {
    /// "started", "stopping", "already running", ...
    pub result: &'static str,
    /// The target's status now (for a space, its app's; `None` if it never had one).
    pub status: Option<String>,
    /// On its way (202, come back after `Retry-After`) rather than settled (200).
    pub underway: bool,
    pub target: Target,
    /// For a space: the apps this request stopped.
    pub apps: Option<Vec<AppRef>>,
}

/// An app named in a stop's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRef {
    pub app_type: String,
    pub app_name: String,
}

/// What opening a target came to.
#[derive(Debug)]
pub(crate) enum Opening {
    /// A presigned URL, usable for `valid_seconds`.
    Ready {
        url: String,
        valid_seconds: u32,
        target: Target,
    },
    /// The notebook instance is starting; the caller should come back.
    Starting { target: Target },
}

/// The thing that was opened, as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Target {
    NotebookInstance {
        name: String,
    },
    #[serde(rename_all = "camelCase")]
    Studio {
        domain_id: String,
        user_profile: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        /// Where Studio lands (the `app` parameter's value).
        #[serde(skip_serializing_if = "Option::is_none")]
        app: Option<&'static str>,
    },
    MlflowTrackingServer {
        name: String,
    },
    MlflowApp {
        id: String,
        name: String,
    },
}

impl Target {
    /// The name that goes into the audit line.
    pub fn audit_name(&self) -> String {
        match self {
            Self::NotebookInstance { name } => format!("notebook-instance/{name}"),
            Self::Studio {
                domain_id,
                user_profile,
                space,
                ..
            } => match space {
                Some(space) => format!("studio/{domain_id}/{user_profile}/{space}"),
                None => format!("studio/{domain_id}/{user_profile}"),
            },
            Self::MlflowTrackingServer { name } => format!("mlflow-tracking-server/{name}"),
            Self::MlflowApp { id, .. } => format!("mlflow-app/{id}"),
        }
    }
}
