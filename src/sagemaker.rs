//! What every kind's SageMaker calls share: the SDK client with the gate's timeouts, how a failure
//! is sorted into what a caller may see, and `ListTags`, which every kind's ownership check reads.
//! Each kind of target declares its own calls (`notebook::NotebookApi`, `studio::StudioApi`,
//! `mlflow::MlflowApi`) so that it can be tested without AWS.

use std::future::Future;
use std::time::Duration;

use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::primitives::{DateTime, DateTimeFormat};

use crate::caller::Tag;
use crate::clock::AwsClock;
use crate::error::GateError;

/// Pages read from a list call before giving up: 50 pages of 100 is more than one account holds.
/// The SDK's paginators follow `NextToken`; this bound stops a service that never ends a list.
pub(crate) const MAX_PAGES: usize = 50;

/// Bounds that keep every request well inside the Lambda timeout (see `docs/routes.md`): an attempt
/// gets 3 s, and all attempts with their back-off 8 s.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The SDK client, configured with the gate's timeouts, feeding AWS's clock (`clock.rs`). The endpoint comes from
/// `AWS_ENDPOINT_URL_SAGEMAKER` / `AWS_ENDPOINT_URL` (`sdk_config.rs`), so an emulator needs no
/// code path here.
pub fn client(sdk_config: &aws_config::SdkConfig, clock: &AwsClock) -> aws_sdk_sagemaker::Client {
    let config = aws_sdk_sagemaker::config::Builder::from(sdk_config)
        .timeout_config(timeouts())
        .interceptor(clock.interceptor())
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

/// The gate's timeouts, for every AWS client it builds.
pub(crate) fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The operations that change a target's state: SageMaker refuses them from the wrong state.
const STATE_CHANGES: [&str; 4] = [
    "StartNotebookInstance",
    "StopNotebookInstance",
    "DeleteApp",
    "StartMlflowTrackingServer",
];

/// Sorts an SDK failure into the few outcomes a caller can act on, logging the SDK's detail.
pub(crate) fn classify<E>(
    operation: &'static str,
    error: SdkError<E, aws_sdk_sagemaker::config::http::HttpResponse>,
) -> GateError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let gate_error = match &error {
        SdkError::TimeoutError(_) => GateError::UpstreamTimeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => GateError::UpstreamTimeout,
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let message = service.err().message().unwrap_or_default();
            match code {
                // The Tagging API says ThrottledException.
                "ThrottlingException"
                | "Throttling"
                | "ThrottledException"
                | "TooManyRequestsException" => GateError::Throttled,
                "ResourceNotFound" => GateError::NotFound,
                // ListTags answers a resource that is not there (or no longer) with a bare
                // ValidationException (aws/amazon-sagemaker-feedback#108); the gate only asks
                // about ARNs it built in SageMaker's own pattern, so that is all it can mean.
                "ValidationException" if operation == "ListTags" => GateError::NotFound,
                // SageMaker reports most unknown names as a validation error.
                "ValidationException"
                    if message.contains("RecordNotFound")
                        || message.contains("does not exist")
                        || message.contains("not found") =>
                {
                    GateError::NotFound
                }
                // A state change refused because the target moved meanwhile (another tab, a
                // teammate): SageMaker's `Status (Stopping) not in ([InService])`, an app already
                // being deleted, a tracking server mid-change. The route reads the state again.
                "ValidationException" | "ResourceInUse" | "ConflictException"
                    if STATE_CHANGES.contains(&operation) =>
                {
                    GateError::StateChanged
                }
                _ => GateError::Upstream(format!("{operation}: {code}")),
            }
        }
        _ => GateError::Upstream(format!("{operation}: {}", error_chain(&error))),
    };
    let denied = matches!(
        &error,
        SdkError::ServiceError(service) if service.err().code() == Some("AccessDeniedException")
    );
    match gate_error {
        GateError::NotFound => {
            tracing::debug!(operation, error = %error_chain(&error), "SageMaker: not found")
        }
        GateError::StateChanged => tracing::info!(
            operation,
            error = %error_chain(&error),
            "SageMaker refused a state change from the target's current state"
        ),
        // The caller still sees 502 upstream_error; the operator must see at once that the
        // deployed role lacks a grant, so this line says which action, at ERROR.
        _ if denied => {
            let action = format!("{}:{operation}", iam_service(operation));
            tracing::error!(
                operation,
                denied_action = %action,
                error = %error_chain(&error),
                "AWS denied {action}: the function's IAM policy does not allow it; \
                 check the role the deployment gave the function"
            )
        }
        _ => tracing::warn!(operation, error = %error_chain(&error), "SageMaker call failed"),
    }
    gate_error
}

/// The IAM service prefix of an operation the gate calls: the Tagging API's is `tag`.
fn iam_service(operation: &str) -> &'static str {
    if operation == "GetResources" {
        "tag"
    } else {
        "sagemaker"
    }
}

/// The error and its sources on one line: `SdkError`'s own `Display` says only "service error".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(crate) fn rfc3339(time: Option<&DateTime>) -> Option<String> {
    time.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
}

pub(crate) fn missing(operation: &str, field: &str) -> GateError {
    tracing::warn!(operation, field, "SageMaker answer lacked a field");
    GateError::Upstream(format!("{operation}: no {field}"))
}

/// `ListTags`: every kind's ownership rests on a resource's tags. `AddTags` writes a keep
/// (`running_time::KEEP_UNTIL_TAG_KEY`), the one key IAM lets the gate write.
pub trait TagsApi: Send + Sync {
    fn list_tags(&self, arn: &str) -> impl Future<Output = Result<Vec<Tag>, GateError>> + Send;
    fn add_tag(
        &self,
        arn: &str,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
}

impl TagsApi for aws_sdk_sagemaker::Client {
    async fn list_tags(&self, arn: &str) -> Result<Vec<Tag>, GateError> {
        let mut pages = self
            .list_tags()
            .resource_arn(arn)
            .max_results(100)
            .into_paginator()
            .send();
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListTags", e))?;
            tags.extend(
                page.tags()
                    .iter()
                    .filter_map(|t| Some(Tag::new(t.key()?, t.value().unwrap_or_default()))),
            );
        }
        Ok(tags)
    }
    async fn add_tag(&self, arn: &str, key: &str, value: &str) -> Result<(), GateError> {
        let tag = aws_sdk_sagemaker::types::Tag::builder()
            .key(key)
            .value(value)
            .build();
        self.add_tags()
            .resource_arn(arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| classify("AddTags", e))?;
        Ok(())
    }
}
