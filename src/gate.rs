//! The configured gate: configuration, the SageMaker client and what is kept for the process's
//! life, built once at init and shared by every request.

use crate::calls::Calls;
use crate::clock::AwsClock;
use crate::config::Config;
use crate::mlflow::MlflowApi;
use crate::notebook::NotebookApi;
use crate::pricing::{PriceList, Prices};
use crate::sagemaker::TagsApi;
use crate::studio::{Domains, StudioApi};
use crate::tagging::Tagging;

/// Every SageMaker operation the gate uses: each kind's calls and the shared `ListTags`.
pub trait SageMaker: NotebookApi + StudioApi + MlflowApi + TagsApi {}

impl<S: NotebookApi + StudioApi + MlflowApi + TagsApi> SageMaker for S {}

/// The configured gate, built once per process.
pub struct Gate<S> {
    pub config: Config,
    sagemaker: S,
    /// The Tagging API, where `/targets` finds what the caller's tags mark (`tagging.rs`).
    tagging: Box<dyn Tagging>,
    /// Each configured Studio domain's ARN and name, read once and kept (`studio::Domains`).
    pub(crate) studio_domains: Domains,
    /// What running targets cost an hour, asked once per process (`pricing.rs`).
    prices: Prices,
    /// AWS's clock, as its answers' `Date` headers give it (`clock.rs`).
    clock: AwsClock,
}

impl<S: SageMaker> Gate<S> {
    pub fn new(config: Config, sagemaker: S, tagging: impl Tagging + 'static) -> Self {
        Self {
            studio_domains: Domains::new(&config.studio_domains),
            config,
            sagemaker,
            tagging: Box::new(tagging),
            prices: Prices::off(),
            clock: AwsClock::default(),
        }
    }

    /// Prices running targets from `list` (when `PRICES` is on).
    pub fn with_price_list(mut self, list: impl PriceList + 'static) -> Self {
        if self.config.prices {
            self.prices = Prices::from(list);
        }
        self
    }

    /// Goes by `clock`, which the AWS clients feed (`AwsClock::interceptor`).
    pub fn with_clock(mut self, clock: AwsClock) -> Self {
        self.clock = clock;
        self
    }

    /// A view of the gate that counts the AWS calls one request makes. `function_arn` is the
    /// invoked function's ARN from the Lambda context: SageMaker ARNs are built from its partition,
    /// region and account.
    pub(crate) fn for_request(&self, function_arn: Option<&str>) -> Calls<'_, S> {
        Calls::new(
            &self.sagemaker,
            &*self.tagging,
            &self.config,
            function_arn,
            &self.prices,
            &self.clock,
        )
    }
}
