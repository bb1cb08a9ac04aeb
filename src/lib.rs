//! notebook-gate: an AWS Lambda function behind API Gateway that turns a Cognito-authenticated
//! caller into a presigned URL for the SageMaker notebook instance, Studio space or MLflow
//! resource that is theirs.
//!
//! Layers, each using only the ones below it: the binary (`main.rs`); the HTTP adapter (`http`,
//! with the route table `routes` and `targets`); the kinds of target (`notebook`, `studio`,
//! `mlflow`); and the shared leaves (`gate`, `calls`, `caller`, `claims`, `config`, `domains`,
//! `error`, `lifecycle`, `names`, `sagemaker`, `metrics`, `logging`, `event`). The sign-in
//! trigger (`src/bin/sign_in_trigger.rs`) uses `pre_token` and `provider_groups` only.

mod caller;
mod calls;
mod claims;
pub mod clock;
pub mod config;
pub mod domains;
mod error;
pub mod event;
mod gate;
mod http;
mod keep;
mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod mlflow;
pub mod names;
pub mod notebook;
pub mod pre_token;
pub mod pricing;
pub mod provider_groups;
mod routes;
pub mod running_cost;
pub mod running_time;
pub mod sagemaker;
pub mod sdk_config;
pub mod studio;
pub mod sweep;
pub mod tagging;
mod targets;
pub mod tls;

pub use caller::{Caller, Tag};
pub use config::{Config, ConfigError};
pub use error::GateError;
pub use gate::{Gate, SageMaker};
pub use http::{REQUEST_DEADLINE, handle};
