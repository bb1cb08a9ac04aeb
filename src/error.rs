//! The one error type callers can see, and its one mapping to an HTTP status and JSON body.

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::lifecycle::LifecycleAction;

/// Why a request did not open anything. Each variant has a stable `code` that clients may match on;
/// the detail a variant carries is for the logs, never for the caller.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("no authenticated caller")]
    Unauthenticated,
    /// A valid token of the pool, issued to an app client the gate is not configured to serve.
    #[error("token issued to another app client")]
    ForeignClient,
    #[error("source address not allowed")]
    SourceNotAllowed,
    /// Unknown names and other people's resources look exactly alike to the caller.
    #[error("not found")]
    NotFound,
    /// The route answers only this method (and `OPTIONS`).
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    #[error("notebook is {0}")]
    NotRunning(String),
    /// `LIFECYCLE` leaves this action out.
    #[error("{} is disabled", .0.as_str())]
    ActionDisabled(LifecycleAction),
    /// Keeping this target running is not a thing here: its kind has no running-time limit, or
    /// `MAX_KEEP_HOURS` is 0.
    #[error("keeping is disabled")]
    KeepDisabled,
    /// A keep later than `MAX_KEEP_HOURS` from now; `latest` is the latest allowed (RFC 3339).
    #[error("keep past the maximum")]
    KeepTooLong { latest: String, hours: u32 },
    /// A shared space's app may be stopped by the space's owner only.
    #[error("not the space's owner")]
    NotSpaceOwner,
    /// SageMaker cannot do the action from the target's state.
    #[error("cannot {} from {state}", .action.as_str())]
    StateConflict {
        action: LifecycleAction,
        state: String,
    },
    /// SageMaker refused a start or stop because the target's state changed after the gate read
    /// it (a race with another tab or a teammate). Routes read the state again and answer from it;
    /// this is what is left when they cannot.
    #[error("the target's state changed meanwhile")]
    StateChanged,
    /// The notebook instance runs on a platform SageMaker no longer starts (Amazon Linux 2 since
    /// 1 July 2026): an administrator must move it to a current one.
    #[error("platform {0} is retired")]
    PlatformRetired(String),
    /// The Studio domain cannot be opened through a presigned URL at all; the words say where
    /// it opens instead.
    #[error("Studio domain cannot be opened here: {0}")]
    DomainUnsupported(&'static str),
    #[error("SageMaker throttled the request")]
    Throttled,
    #[error("SageMaker failed: {0}")]
    Upstream(String),
    #[error("SageMaker did not answer in time")]
    UpstreamTimeout,
}

/// A configuration variable that could not be used; init stops with this message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration variable {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// Seconds a throttled caller is asked to wait.
pub const THROTTLED_RETRY_AFTER: u32 = 2;

impl GateError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::KeepTooLong { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::ForeignClient => StatusCode::UNAUTHORIZED,
            Self::SourceNotAllowed => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotRunning(_) => StatusCode::CONFLICT,
            Self::ActionDisabled(_) | Self::KeepDisabled | Self::NotSpaceOwner => {
                StatusCode::FORBIDDEN
            }
            Self::StateConflict { .. }
            | Self::StateChanged
            | Self::PlatformRetired(_)
            | Self::DomainUnsupported(_) => StatusCode::CONFLICT,
            Self::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::Unauthenticated => "unauthenticated",
            Self::ForeignClient => "wrong_client",
            Self::SourceNotAllowed => "source_not_allowed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::NotRunning(_) => "not_running",
            Self::ActionDisabled(_) | Self::KeepDisabled => "action_disabled",
            Self::KeepTooLong { .. } => "keep_too_long",
            Self::NotSpaceOwner => "not_space_owner",
            Self::StateConflict { .. } | Self::StateChanged => "state_conflict",
            Self::PlatformRetired(_) => "platform_retired",
            Self::DomainUnsupported(_) => "domain_unsupported",
            Self::Throttled => "throttled",
            Self::Upstream(_) => "upstream_error",
            Self::UpstreamTimeout => "upstream_timeout",
        }
    }

    /// What the caller reads. Only the detail that is ours (which parameter, which state, which
    /// action) reaches it, never SageMaker's text.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidRequest(why) => why.clone(),
            Self::Unauthenticated => "Sign in again: the request carried no valid identity.".into(),
            Self::ForeignClient => {
                "This token was issued to another application; sign in through the portal.".into()
            }
            Self::SourceNotAllowed => {
                "Notebooks can only be opened from an allowed network.".into()
            }
            Self::NotFound => "Nothing here that you may open.".into(),
            Self::MethodNotAllowed(method) => format!("Only {method} is supported."),
            Self::NotRunning(state) => {
                format!(
                    "It is {state}, not running; start it from the portal, or ask an administrator."
                )
            }
            Self::ActionDisabled(action) => format!(
                "This deployment does not let people {} notebooks themselves; ask an administrator.",
                action.as_str()
            ),
            Self::KeepDisabled => {
                "This deployment does not stop it by running time, so there is nothing to keep it \
                 running against."
                    .into()
            }
            Self::KeepTooLong { latest, hours } => format!(
                "You can keep it running for at most {hours} hours from now: until {latest} at the \
                 latest."
            ),
            Self::NotSpaceOwner => "Only the owner of this shared space may stop its app.".into(),
            Self::StateConflict { action, state } => format!(
                "It is {state} and cannot be {} now; try again once it has settled.",
                match action {
                    LifecycleAction::Start => "started",
                    LifecycleAction::Stop => "stopped",
                }
            ),
            Self::StateChanged => {
                "It changed state while this request was on its way; refresh and try again.".into()
            }
            Self::PlatformRetired(platform) => format!(
                "It runs on {platform}, a platform SageMaker no longer starts; ask an administrator \
                 to update it to notebook-al2023-v1."
            ),
            Self::DomainUnsupported(words) => (*words).into(),
            Self::Throttled => "Too many requests right now; try again in a moment.".into(),
            Self::Upstream(_) => "SageMaker could not complete the request.".into(),
            Self::UpstreamTimeout => "SageMaker did not answer in time; try again.".into(),
        }
    }

    /// Seconds after which retrying may help, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            Self::Throttled => Some(THROTTLED_RETRY_AFTER),
            _ => None,
        }
    }

    pub fn body(&self, request_id: &str) -> serde_json::Value {
        json!({"error": {"code": self.code(), "message": self.message(), "requestId": request_id}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_hides_upstream_detail() {
        let error = GateError::Upstream(
            "AccessDenied on arn:aws:sagemaker:...:notebook-instance/bob".into(),
        );
        let body = error.body("req-1").to_string();
        assert!(!body.contains("arn:"), "{body}");
        assert_eq!(error.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(error.body("req-1")["error"]["code"], "upstream_error");
        assert_eq!(error.body("req-1")["error"]["requestId"], "req-1");
    }

    #[test]
    fn only_throttling_asks_for_a_retry() {
        assert_eq!(
            GateError::Throttled.retry_after(),
            Some(THROTTLED_RETRY_AFTER)
        );
        assert_eq!(GateError::NotFound.retry_after(), None);
    }
}
