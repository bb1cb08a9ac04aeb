//! notebook-gate: an AWS Lambda function behind API Gateway that turns a Cognito-authenticated
//! caller into a presigned URL for the SageMaker notebook instance or Studio space that is theirs.

mod access;
mod claims;
pub mod config;
pub mod domains;
mod error;
pub mod event;
mod gate;
mod http;
pub mod logging;
pub mod metrics;
pub mod mlflow;
pub mod names;
pub mod sagemaker;
pub mod sdk_config;
pub mod tls;

pub use access::{Caller, Tag};
pub use config::{Config, ConfigError};
pub use error::GateError;
pub use gate::Gate;
pub use http::{REQUEST_DEADLINE, handle};
