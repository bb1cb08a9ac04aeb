//! A notebook instance's states, and what an open, a start and a stop do in each.

use crate::error::GateError;
use crate::lifecycle::{LifecycleAction, LifecyclePlan};

/// What the gate does with a notebook instance in a given state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotebookAction {
    Presign,
    /// It is on its way up: tell the caller to come back.
    Wait,
    /// Stopped and auto-start is on: start it, then tell the caller to come back.
    Start,
}

/// A notebook instance's state, as SageMaker reports it. `Unknown` holds a state added after this
/// was written: the compiler makes every decision over states handle each one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotebookStatus {
    Pending,
    InService,
    Stopping,
    Stopped,
    Failed,
    Deleting,
    Updating,
    Unknown(String),
}

impl NotebookStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "Pending" => Self::Pending,
            "InService" => Self::InService,
            "Stopping" => Self::Stopping,
            "Stopped" => Self::Stopped,
            "Failed" => Self::Failed,
            "Deleting" => Self::Deleting,
            "Updating" => Self::Updating,
            other => Self::Unknown(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "Pending",
            Self::InService => "InService",
            Self::Stopping => "Stopping",
            Self::Stopped => "Stopped",
            Self::Failed => "Failed",
            Self::Deleting => "Deleting",
            Self::Updating => "Updating",
            Self::Unknown(other) => other,
        }
    }
}

impl serde::Serialize for NotebookStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

pub fn notebook_action(
    status: &NotebookStatus,
    auto_start: bool,
) -> Result<NotebookAction, GateError> {
    match status {
        NotebookStatus::InService => Ok(NotebookAction::Presign),
        NotebookStatus::Pending | NotebookStatus::Updating => Ok(NotebookAction::Wait),
        NotebookStatus::Stopped if auto_start => Ok(NotebookAction::Start),
        NotebookStatus::Stopped
        | NotebookStatus::Stopping
        | NotebookStatus::Failed
        | NotebookStatus::Deleting
        | NotebookStatus::Unknown(_) => Err(GateError::NotRunning(status.as_str().to_owned())),
    }
}

/// Notebook instance platforms SageMaker no longer starts: Amazon Linux 1 and, since 1 July 2026,
/// Amazon Linux 2 (`notebook-al2-v1`, `-v2`, `-v3`). One already running still opens.
pub fn platform_is_retired(platform: &str) -> bool {
    platform.starts_with("notebook-al1-") || platform.starts_with("notebook-al2-")
}

/// Refuses to start a notebook instance on a retired platform, before SageMaker is asked to.
pub fn may_start_on(platform: Option<&str>) -> Result<(), GateError> {
    match platform {
        Some(p) if platform_is_retired(p) => Err(GateError::PlatformRetired(p.to_owned())),
        _ => Ok(()),
    }
}

/// Start: only a `Stopped` notebook instance is started. Stop: only an `InService` one is stopped
/// (SageMaker refuses a stop from any other state, `Pending` included). Every other state is a
/// conflict that names it, and a state this code does not know is never acted on.
pub fn notebook_lifecycle(
    status: &NotebookStatus,
    action: LifecycleAction,
) -> Result<LifecyclePlan, GateError> {
    use LifecycleAction::{Start, Stop};
    use NotebookStatus as S;
    match (action, status) {
        (Start, S::Stopped) | (Stop, S::InService) => Ok(LifecyclePlan::Act),
        (Start, S::InService) => Ok(LifecyclePlan::Settled("already running")),
        (Start, S::Pending) => Ok(LifecyclePlan::Underway("already starting")),
        (Stop, S::Stopped) => Ok(LifecyclePlan::Settled("already stopped")),
        (Stop, S::Stopping) => Ok(LifecyclePlan::Underway("already stopping")),
        (Start, S::Stopping)
        | (Stop, S::Pending)
        | (_, S::Failed | S::Deleting | S::Updating | S::Unknown(_)) => {
            Err(GateError::StateConflict {
                action,
                state: status.as_str().to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notebook_states_map_to_actions() {
        let action = |s: &str, auto_start| notebook_action(&NotebookStatus::parse(s), auto_start);
        assert_eq!(action("InService", false).unwrap(), NotebookAction::Presign);
        assert_eq!(action("Pending", false).unwrap(), NotebookAction::Wait);
        assert_eq!(action("Updating", true).unwrap(), NotebookAction::Wait);
        assert_eq!(action("Stopped", true).unwrap(), NotebookAction::Start);
        for state in ["Stopped", "Stopping", "Deleting", "Failed", "Hibernating"] {
            let Err(GateError::NotRunning(s)) = action(state, false) else {
                panic!("{state} must not open");
            };
            assert_eq!(s, state);
        }
        assert!(action("Stopping", true).is_err());
        assert_eq!(
            NotebookStatus::parse("Hibernating"),
            NotebookStatus::Unknown("Hibernating".into())
        );
    }

    #[test]
    fn every_notebook_state_has_a_start_and_a_stop_answer() {
        use LifecycleAction::{Start, Stop};
        use LifecyclePlan::{Act, Settled, Underway};
        use NotebookStatus as S;
        let plan = |status: S, action| notebook_lifecycle(&status, action);
        assert_eq!(plan(S::Stopped, Start).unwrap(), Act);
        assert_eq!(
            plan(S::InService, Start).unwrap(),
            Settled("already running")
        );
        assert_eq!(
            plan(S::Pending, Start).unwrap(),
            Underway("already starting")
        );
        assert_eq!(plan(S::InService, Stop).unwrap(), Act);
        assert_eq!(plan(S::Stopped, Stop).unwrap(), Settled("already stopped"));
        assert_eq!(
            plan(S::Stopping, Stop).unwrap(),
            Underway("already stopping")
        );
        for (status, action) in [
            (S::Stopping, Start),
            (S::Pending, Stop),
            (S::Failed, Start),
            (S::Failed, Stop),
            (S::Deleting, Start),
            (S::Deleting, Stop),
            (S::Updating, Start),
            (S::Updating, Stop),
            (S::Unknown("Rebooting".into()), Start),
            (S::Unknown("Rebooting".into()), Stop),
        ] {
            let state = status.as_str().to_owned();
            match plan(status, action) {
                Err(GateError::StateConflict { state: named, .. }) => assert_eq!(named, state),
                other => panic!("{state} {action:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn retired_platforms_are_never_started() {
        for retired in [
            "notebook-al2-v1",
            "notebook-al2-v2",
            "notebook-al2-v3",
            "notebook-al1-v1",
        ] {
            assert!(
                matches!(may_start_on(Some(retired)), Err(GateError::PlatformRetired(p)) if p == retired),
                "{retired}"
            );
        }
        for current in [Some("notebook-al2023-v1"), Some("notebook-al2023-v2"), None] {
            assert!(may_start_on(current).is_ok(), "{current:?}");
        }
    }
}
