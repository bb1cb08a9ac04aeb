//! The SageMaker calls for notebook instances, behind a trait so the steps can be tested without AWS.

use std::future::Future;

use super::{NotebookName, NotebookStatus};
use crate::error::GateError;
use crate::sagemaker::{classify, missing, rfc3339};

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

/// Errors are already classified into what the caller may see (`sagemaker::classify`).
pub trait NotebookApi: Send + Sync {
    fn describe_notebook_instance(
        &self,
        name: &NotebookName,
    ) -> impl Future<Output = Result<NotebookInstance, GateError>> + Send;
    fn start_notebook_instance(
        &self,
        name: &NotebookName,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    fn stop_notebook_instance(
        &self,
        name: &NotebookName,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    fn presign_notebook_instance(
        &self,
        name: &NotebookName,
        session_seconds: u32,
    ) -> impl Future<Output = Result<String, GateError>> + Send;
}

impl NotebookApi for aws_sdk_sagemaker::Client {
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
}
