//! The few SageMaker calls the gate makes, behind a trait so decisions can be tested without AWS.

use std::future::Future;
use std::time::Duration;

use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::primitives::{DateTime, DateTimeFormat};
use aws_sdk_sagemaker::types::{AppType, AuthMode, FeatureStatus, SharingType};

use crate::access::{AppStatus, NotebookStatus, Tag};
use crate::error::GateError;
use crate::mlflow::states::{MlflowAppStatus, TrackingServerStatus};
use crate::names::{MlflowAppId, NotebookName, ProfileName, SpaceName, TrackingServerName};

/// A notebook instance, as the gate needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotebookInstance {
    pub name: NotebookName,
    pub arn: String,
    pub status: NotebookStatus,
    pub instance_type: Option<String>,
    /// `LastModifiedTime` (RFC 3339): since when it is in its state.
    pub since: Option<String>,
    /// `PlatformIdentifier` (`notebook-al2023-v1`, ...): only `DescribeNotebookInstance` says it.
    pub platform: Option<String>,
}

/// A Studio app, as `ListApps` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// The space it runs in; `None` for a user profile's own app (not the gate's to stop).
    pub space_name: Option<String>,
    pub app_type: String,
    pub app_name: String,
    pub status: AppStatus,
    pub instance_type: Option<String>,
    /// `CreationTime` (RFC 3339).
    pub since: Option<String>,
}

/// A Studio domain, as `DescribeDomain` reports it: what the gate keeps for the process's life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub arn: String,
    /// `DomainName`, the label a portal shows.
    pub name: String,
    /// Why the gate cannot open this domain at all, if it cannot.
    pub unservable: Option<DomainRefusal>,
}

/// A domain that `CreatePresignedDomainUrl` cannot open for anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainRefusal {
    /// `AuthMode` `SSO`: people sign in through IAM Identity Center, and presigned domain URLs
    /// work only for domains in IAM mode.
    IdentityCenter,
    /// `UnifiedStudioSettings.StudioWebPortalAccess` `DISABLED`: the domain opens only in
    /// SageMaker Unified Studio.
    UnifiedStudioOnly,
}

/// A Studio space, as the gate needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    pub name: String,
    pub owner_profile: Option<String>,
    pub shared: bool,
    pub status: Option<String>,
    pub app_type: Option<String>,
}

/// The parameters of one `CreatePresignedDomainUrl` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainUrlRequest<'a> {
    pub domain_id: &'a str,
    pub profile_name: &'a ProfileName,
    pub space_name: Option<&'a SpaceName>,
    pub landing_uri: Option<&'a str>,
    pub expires_in_seconds: u32,
    pub session_seconds: u32,
}

/// An MLflow tracking server, as the gate needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingServer {
    pub name: TrackingServerName,
    pub arn: String,
    pub status: TrackingServerStatus,
    pub mlflow_version: Option<String>,
    /// `LastModifiedTime` (RFC 3339).
    pub since: Option<String>,
}

/// An MLflow app (serverless MLflow), as the gate needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlflowApp {
    /// The last segment of its ARN: what its route names.
    pub id: MlflowAppId,
    pub arn: String,
    pub name: String,
    pub status: MlflowAppStatus,
    pub mlflow_version: Option<String>,
    /// `LastModifiedTime` (RFC 3339).
    pub since: Option<String>,
}

/// The lifetimes of one presigned MLflow URL: `expires_in_seconds` to use it (once),
/// `session_seconds` for the session it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MlflowUrlLifetimes {
    pub expires_in_seconds: u32,
    pub session_seconds: u32,
}

/// Every SageMaker operation the gate uses. Errors are already classified into what the caller
/// may see; the SDK's own text goes to the log where it is classified.
pub trait SageMaker: Send + Sync {
    fn describe_notebook_instance(
        &self,
        name: &NotebookName,
    ) -> impl Future<Output = Result<NotebookInstance, GateError>> + Send;
    fn list_notebook_instances(
        &self,
    ) -> impl Future<Output = Result<Vec<NotebookInstance>, GateError>> + Send;
    fn start_notebook_instance(
        &self,
        name: &NotebookName,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    fn stop_notebook_instance(
        &self,
        name: &NotebookName,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    /// The domain's apps, or one space's when `space` is given.
    fn list_apps(
        &self,
        domain_id: &str,
        space: Option<&SpaceName>,
    ) -> impl Future<Output = Result<Vec<App>, GateError>> + Send;
    /// Stops a space's app: SageMaker stops a Studio app by deleting it; the space and its storage
    /// stay.
    fn delete_app(
        &self,
        domain_id: &str,
        space: &SpaceName,
        app_type: &str,
        app_name: &str,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    fn presign_notebook_instance(
        &self,
        name: &NotebookName,
        session_seconds: u32,
    ) -> impl Future<Output = Result<String, GateError>> + Send;
    fn list_tags(&self, arn: &str) -> impl Future<Output = Result<Vec<Tag>, GateError>> + Send;
    fn describe_domain(
        &self,
        domain_id: &str,
    ) -> impl Future<Output = Result<Domain, GateError>> + Send;
    fn describe_space(
        &self,
        domain_id: &str,
        space_name: &SpaceName,
    ) -> impl Future<Output = Result<Space, GateError>> + Send;
    fn list_spaces(
        &self,
        domain_id: &str,
    ) -> impl Future<Output = Result<Vec<Space>, GateError>> + Send;
    fn presign_domain(
        &self,
        request: DomainUrlRequest<'_>,
    ) -> impl Future<Output = Result<String, GateError>> + Send;
    fn describe_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
    ) -> impl Future<Output = Result<TrackingServer, GateError>> + Send;
    fn list_mlflow_tracking_servers(
        &self,
    ) -> impl Future<Output = Result<Vec<TrackingServer>, GateError>> + Send;
    fn start_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    fn presign_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
        lifetimes: MlflowUrlLifetimes,
    ) -> impl Future<Output = Result<String, GateError>> + Send;
    /// An app by its ARN (the API takes nothing else).
    fn describe_mlflow_app(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<MlflowApp, GateError>> + Send;
    fn list_mlflow_apps(&self) -> impl Future<Output = Result<Vec<MlflowApp>, GateError>> + Send;
    fn presign_mlflow_app(
        &self,
        arn: &str,
        lifetimes: MlflowUrlLifetimes,
    ) -> impl Future<Output = Result<String, GateError>> + Send;
}

/// Pages read from a list call before giving up: 50 pages of 100 is more than one account holds.
/// The SDK's paginators follow `NextToken`; this bound stops a service that never ends a list.
const MAX_PAGES: usize = 50;

/// Bounds that keep every request well inside the Lambda timeout (see `docs/routes.md`): an attempt
/// gets 3 s, and all attempts with their back-off 8 s.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The SDK client, configured with the gate's timeouts. The endpoint comes from
/// `AWS_ENDPOINT_URL_SAGEMAKER` / `AWS_ENDPOINT_URL` (`sdk_config.rs`), so an emulator needs no
/// code path here.
pub fn client(sdk_config: &aws_config::SdkConfig) -> aws_sdk_sagemaker::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let config = aws_sdk_sagemaker::config::Builder::from(sdk_config)
        .timeout_config(timeouts)
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

/// The operations that change a target's state: SageMaker refuses them from the wrong state.
const STATE_CHANGES: [&str; 4] = [
    "StartNotebookInstance",
    "StopNotebookInstance",
    "DeleteApp",
    "StartMlflowTrackingServer",
];

/// Sorts an SDK failure into the few outcomes a caller can act on, logging the SDK's detail.
fn classify<E>(
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
                "ThrottlingException" | "Throttling" | "TooManyRequestsException" => {
                    GateError::Throttled
                }
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
        // deployed role lacks a grant (issue 12), so this line says which action, at ERROR.
        _ if denied => tracing::error!(
            operation,
            denied_action = %format!("sagemaker:{operation}"),
            error = %error_chain(&error),
            "SageMaker denied sagemaker:{operation}: the function's IAM policy does not allow it; \
             check the role the deployment gave the function"
        ),
        _ => tracing::warn!(operation, error = %error_chain(&error), "SageMaker call failed"),
    }
    gate_error
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

fn rfc3339(time: Option<&DateTime>) -> Option<String> {
    time.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
}

fn missing(operation: &str, field: &str) -> GateError {
    tracing::warn!(operation, field, "SageMaker answer lacked a field");
    GateError::Upstream(format!("{operation}: no {field}"))
}

impl SageMaker for aws_sdk_sagemaker::Client {
    async fn describe_notebook_instance(
        &self,
        name: &NotebookName,
    ) -> Result<NotebookInstance, GateError> {
        const OP: &str = "DescribeNotebookInstance";
        let out = self
            .describe_notebook_instance()
            .notebook_instance_name(name.as_str())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        Ok(NotebookInstance {
            // SageMaker's spelling of the name (names are case-insensitive).
            name: out
                .notebook_instance_name()
                .and_then(|n| NotebookName::parse(n).ok())
                .unwrap_or_else(|| name.clone()),
            arn: out
                .notebook_instance_arn()
                .ok_or_else(|| missing(OP, "NotebookInstanceArn"))?
                .to_owned(),
            status: out
                .notebook_instance_status()
                .map(|s| NotebookStatus::parse(s.as_str()))
                .ok_or_else(|| missing(OP, "NotebookInstanceStatus"))?,
            instance_type: out.instance_type().map(|t| t.as_str().to_owned()),
            since: rfc3339(out.last_modified_time()),
            platform: out.platform_identifier().map(str::to_owned),
        })
    }

    async fn list_notebook_instances(&self) -> Result<Vec<NotebookInstance>, GateError> {
        let mut pages = self
            .list_notebook_instances()
            .max_results(100)
            .into_paginator()
            .send();
        let mut instances = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListNotebookInstances", e))?;
            instances.extend(page.notebook_instances().iter().filter_map(|s| {
                Some(NotebookInstance {
                    name: NotebookName::parse(s.notebook_instance_name()?).ok()?,
                    arn: s.notebook_instance_arn()?.to_owned(),
                    status: NotebookStatus::parse(
                        s.notebook_instance_status().map_or("", |s| s.as_str()),
                    ),
                    instance_type: s.instance_type().map(|t| t.as_str().to_owned()),
                    since: rfc3339(s.last_modified_time()),
                    platform: None,
                })
            }));
        }
        Ok(instances)
    }

    async fn start_notebook_instance(&self, name: &NotebookName) -> Result<(), GateError> {
        self.start_notebook_instance()
            .notebook_instance_name(name.as_str())
            .send()
            .await
            .map_err(|e| classify("StartNotebookInstance", e))?;
        Ok(())
    }

    async fn stop_notebook_instance(&self, name: &NotebookName) -> Result<(), GateError> {
        self.stop_notebook_instance()
            .notebook_instance_name(name.as_str())
            .send()
            .await
            .map_err(|e| classify("StopNotebookInstance", e))?;
        Ok(())
    }

    async fn list_apps(
        &self,
        domain_id: &str,
        space: Option<&SpaceName>,
    ) -> Result<Vec<App>, GateError> {
        let mut pages = self
            .list_apps()
            .domain_id_equals(domain_id)
            .set_space_name_equals(space.map(|s| s.as_str().to_owned()))
            .max_results(50)
            .into_paginator()
            .send();
        let mut apps = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListApps", e))?;
            apps.extend(page.apps().iter().filter_map(|a| {
                Some(App {
                    space_name: a.space_name().map(str::to_owned),
                    app_type: a.app_type()?.as_str().to_owned(),
                    app_name: a.app_name()?.to_owned(),
                    status: AppStatus::parse(a.status().map_or("", |s| s.as_str())),
                    instance_type: a
                        .resource_spec()
                        .and_then(|r| r.instance_type())
                        .map(|t| t.as_str().to_owned()),
                    since: rfc3339(a.creation_time()),
                })
            }));
        }
        Ok(apps)
    }

    async fn delete_app(
        &self,
        domain_id: &str,
        space: &SpaceName,
        app_type: &str,
        app_name: &str,
    ) -> Result<(), GateError> {
        self.delete_app()
            .domain_id(domain_id)
            .space_name(space.as_str())
            .app_type(AppType::from(app_type))
            .app_name(app_name)
            .send()
            .await
            .map_err(|e| classify("DeleteApp", e))?;
        Ok(())
    }

    async fn presign_notebook_instance(
        &self,
        name: &NotebookName,
        session_seconds: u32,
    ) -> Result<String, GateError> {
        const OP: &str = "CreatePresignedNotebookInstanceUrl";
        let out = self
            .create_presigned_notebook_instance_url()
            .notebook_instance_name(name.as_str())
            .session_expiration_duration_in_seconds(session_seconds as i32)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        out.authorized_url
            .ok_or_else(|| missing(OP, "AuthorizedUrl"))
    }

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

    async fn describe_domain(&self, domain_id: &str) -> Result<Domain, GateError> {
        const OP: &str = "DescribeDomain";
        let out = self
            .describe_domain()
            .domain_id(domain_id)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let unservable = if out.auth_mode() == Some(&AuthMode::Sso) {
            Some(DomainRefusal::IdentityCenter)
        } else if out
            .domain_settings()
            .and_then(|s| s.unified_studio_settings())
            .and_then(|u| u.studio_web_portal_access())
            == Some(&FeatureStatus::Disabled)
        {
            Some(DomainRefusal::UnifiedStudioOnly)
        } else {
            None
        };
        let arn = out.domain_arn.ok_or_else(|| missing(OP, "DomainArn"))?;
        // A portal labels the domain with its name; the id is a fair label without one.
        let name = out.domain_name.unwrap_or_else(|| domain_id.to_owned());
        Ok(Domain {
            arn,
            name,
            unservable,
        })
    }

    async fn describe_space(
        &self,
        domain_id: &str,
        space_name: &SpaceName,
    ) -> Result<Space, GateError> {
        let out = self
            .describe_space()
            .domain_id(domain_id)
            .space_name(space_name.as_str())
            .send()
            .await
            .map_err(|e| classify("DescribeSpace", e))?;
        Ok(Space {
            name: out.space_name().unwrap_or(space_name.as_str()).to_owned(),
            owner_profile: out
                .ownership_settings()
                .and_then(|o| o.owner_user_profile_name())
                .map(str::to_owned),
            shared: out
                .space_sharing_settings()
                .is_some_and(|s| s.sharing_type() == Some(&SharingType::Shared)),
            status: out.status().map(|s| s.as_str().to_owned()),
            app_type: out
                .space_settings()
                .and_then(|s| s.app_type())
                .map(|a| a.as_str().to_owned()),
        })
    }

    async fn list_spaces(&self, domain_id: &str) -> Result<Vec<Space>, GateError> {
        let mut pages = self
            .list_spaces()
            .domain_id_equals(domain_id)
            .max_results(100)
            .into_paginator()
            .send();
        let mut spaces = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListSpaces", e))?;
            spaces.extend(page.spaces().iter().filter_map(|s| {
                Some(Space {
                    name: s.space_name()?.to_owned(),
                    owner_profile: s
                        .ownership_settings_summary()
                        .and_then(|o| o.owner_user_profile_name())
                        .map(str::to_owned),
                    shared: s
                        .space_sharing_settings_summary()
                        .and_then(|x| x.sharing_type())
                        == Some(&SharingType::Shared),
                    status: s.status().map(|x| x.as_str().to_owned()),
                    app_type: s
                        .space_settings_summary()
                        .and_then(|x| x.app_type())
                        .map(|a| a.as_str().to_owned()),
                })
            }));
        }
        Ok(spaces)
    }

    async fn presign_domain(&self, request: DomainUrlRequest<'_>) -> Result<String, GateError> {
        const OP: &str = "CreatePresignedDomainUrl";
        let out = self
            .create_presigned_domain_url()
            .domain_id(request.domain_id)
            .user_profile_name(request.profile_name.as_str())
            .set_space_name(request.space_name.map(|s| s.as_str().to_owned()))
            .set_landing_uri(request.landing_uri.map(str::to_owned))
            .expires_in_seconds(request.expires_in_seconds as i32)
            .session_expiration_duration_in_seconds(request.session_seconds as i32)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        out.authorized_url
            .ok_or_else(|| missing(OP, "AuthorizedUrl"))
    }

    async fn describe_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
    ) -> Result<TrackingServer, GateError> {
        const OP: &str = "DescribeMlflowTrackingServer";
        let out = self
            .describe_mlflow_tracking_server()
            .tracking_server_name(name.as_str())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        Ok(TrackingServer {
            name: out
                .tracking_server_name()
                .and_then(|n| TrackingServerName::parse(n).ok())
                .unwrap_or_else(|| name.clone()),
            arn: out
                .tracking_server_arn()
                .ok_or_else(|| missing(OP, "TrackingServerArn"))?
                .to_owned(),
            status: out
                .tracking_server_status()
                .map(|s| TrackingServerStatus::parse(s.as_str()))
                .ok_or_else(|| missing(OP, "TrackingServerStatus"))?,
            mlflow_version: out.mlflow_version().map(str::to_owned),
            since: rfc3339(out.last_modified_time()),
        })
    }

    async fn list_mlflow_tracking_servers(&self) -> Result<Vec<TrackingServer>, GateError> {
        let mut pages = self
            .list_mlflow_tracking_servers()
            .max_results(100)
            .into_paginator()
            .send();
        let mut servers = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListMlflowTrackingServers", e))?;
            servers.extend(page.tracking_server_summaries().iter().filter_map(|s| {
                Some(TrackingServer {
                    name: TrackingServerName::parse(s.tracking_server_name()?).ok()?,
                    arn: s.tracking_server_arn()?.to_owned(),
                    status: TrackingServerStatus::parse(
                        s.tracking_server_status().map_or("", |s| s.as_str()),
                    ),
                    mlflow_version: s.mlflow_version().map(str::to_owned),
                    since: rfc3339(s.last_modified_time()),
                })
            }));
        }
        Ok(servers)
    }

    async fn start_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
    ) -> Result<(), GateError> {
        self.start_mlflow_tracking_server()
            .tracking_server_name(name.as_str())
            .send()
            .await
            .map_err(|e| classify("StartMlflowTrackingServer", e))?;
        Ok(())
    }

    async fn presign_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
        lifetimes: MlflowUrlLifetimes,
    ) -> Result<String, GateError> {
        const OP: &str = "CreatePresignedMlflowTrackingServerUrl";
        let out = self
            .create_presigned_mlflow_tracking_server_url()
            .tracking_server_name(name.as_str())
            .expires_in_seconds(lifetimes.expires_in_seconds as i32)
            .session_expiration_duration_in_seconds(lifetimes.session_seconds as i32)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        out.authorized_url
            .ok_or_else(|| missing(OP, "AuthorizedUrl"))
    }

    async fn describe_mlflow_app(&self, arn: &str) -> Result<MlflowApp, GateError> {
        const OP: &str = "DescribeMlflowApp";
        let out = self
            .describe_mlflow_app()
            .arn(arn)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let arn = out.arn().ok_or_else(|| missing(OP, "Arn"))?;
        Ok(MlflowApp {
            id: MlflowAppId::from_arn(arn).ok_or_else(|| missing(OP, "Arn (an app's)"))?,
            arn: arn.to_owned(),
            name: out.name().unwrap_or_default().to_owned(),
            status: out
                .status()
                .map(|s| MlflowAppStatus::parse(s.as_str()))
                .ok_or_else(|| missing(OP, "Status"))?,
            mlflow_version: out.mlflow_version().map(str::to_owned),
            since: rfc3339(out.last_modified_time()),
        })
    }

    async fn list_mlflow_apps(&self) -> Result<Vec<MlflowApp>, GateError> {
        let mut pages = self
            .list_mlflow_apps()
            .max_results(100)
            .into_paginator()
            .send();
        let mut apps = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListMlflowApps", e))?;
            apps.extend(page.summaries().iter().filter_map(|a| {
                let arn = a.arn()?;
                Some(MlflowApp {
                    id: MlflowAppId::from_arn(arn)?,
                    arn: arn.to_owned(),
                    name: a.name().unwrap_or_default().to_owned(),
                    status: MlflowAppStatus::parse(a.status().map_or("", |s| s.as_str())),
                    mlflow_version: a.mlflow_version().map(str::to_owned),
                    since: rfc3339(a.last_modified_time()),
                })
            }));
        }
        Ok(apps)
    }

    async fn presign_mlflow_app(
        &self,
        arn: &str,
        lifetimes: MlflowUrlLifetimes,
    ) -> Result<String, GateError> {
        const OP: &str = "CreatePresignedMlflowAppUrl";
        let out = self
            .create_presigned_mlflow_app_url()
            .arn(arn)
            .expires_in_seconds(lifetimes.expires_in_seconds as i32)
            .session_expiration_duration_in_seconds(lifetimes.session_seconds as i32)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        out.authorized_url
            .ok_or_else(|| missing(OP, "AuthorizedUrl"))
    }
}
