//! The SageMaker calls for MLflow: tracking servers, MLflow apps and their presigned URLs.

use std::future::Future;

use super::{MlflowAppId, MlflowAppStatus, TrackingServerName, TrackingServerStatus};
use crate::error::GateError;
use crate::sagemaker::{classify, missing, rfc3339};

/// An MLflow tracking server, as the gate needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingServer {
    pub name: TrackingServerName,
    pub arn: String,
    pub status: TrackingServerStatus,
    pub mlflow_version: Option<String>,
    /// `LastModifiedTime` (RFC 3339).
    pub since: Option<String>,
    /// `TrackingServerSize` (`Small`, `Medium`, `Large`): what it is priced by.
    pub size: Option<String>,
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

/// Errors are already classified into what the caller may see (`sagemaker::classify`).
pub trait MlflowApi: Send + Sync {
    fn describe_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
    ) -> impl Future<Output = Result<TrackingServer, GateError>> + Send;
    fn start_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    fn stop_mlflow_tracking_server(
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
    fn presign_mlflow_app(
        &self,
        arn: &str,
        lifetimes: MlflowUrlLifetimes,
    ) -> impl Future<Output = Result<String, GateError>> + Send;
}

impl MlflowApi for aws_sdk_sagemaker::Client {
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
            size: out.tracking_server_size().map(|s| s.as_str().to_owned()),
        })
    }
    async fn stop_mlflow_tracking_server(
        &self,
        name: &TrackingServerName,
    ) -> Result<(), GateError> {
        self.stop_mlflow_tracking_server()
            .tracking_server_name(name.as_str())
            .send()
            .await
            .map_err(|e| classify("StopMlflowTrackingServer", e))?;
        Ok(())
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
