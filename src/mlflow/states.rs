//! What opening an MLflow tracking server or app does in each of its states: plain decisions over
//! plain data, no I/O (see the states table in `docs/routes.md`).

use crate::error::GateError;

/// What an open does with an MLflow resource in a given state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlflowAction {
    Presign,
    /// On its way up (or being changed): tell the caller to come back.
    Wait,
    /// A stopped tracking server with auto-start on: start it, then tell the caller to come back.
    Start,
}

/// Declares a status enum over SageMaker's spellings, plus `Unknown` for a state added after this
/// was written, so every decision over states has to handle each one.
macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($variant,)+
            Unknown(String),
        }

        impl $name {
            pub fn parse(raw: &str) -> Self {
                match raw {
                    $(stringify!($variant) => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => stringify!($variant),)+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// An MLflow tracking server's `TrackingServerStatus`.
    TrackingServerStatus {
        Creating,
        Created,
        CreateFailed,
        Updating,
        Updated,
        UpdateFailed,
        Deleting,
        DeleteFailed,
        Stopping,
        Stopped,
        StopFailed,
        Starting,
        Started,
        StartFailed,
        MaintenanceInProgress,
        MaintenanceComplete,
        MaintenanceFailed,
    }
);

status_enum!(
    /// An MLflow app's `Status`. Apps are serverless: they have no start or stop.
    MlflowAppStatus {
        Creating,
        Created,
        CreateFailed,
        Updating,
        Updated,
        UpdateFailed,
        Deleting,
        DeleteFailed,
        Deleted,
    }
);

/// Running (`Created`, `Updated`, `Started`, `MaintenanceComplete`) → presign; on its way
/// (`Creating`, `Updating`, `Starting`, `MaintenanceInProgress`) → wait; `Stopped` → start with
/// auto-start, else 409; anything else → 409 naming the state.
impl TrackingServerStatus {
    /// Up and billed: the states an open presigns in (a new server runs as `Created`).
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            Self::Created | Self::Updated | Self::Started | Self::MaintenanceComplete
        )
    }
}

pub fn tracking_server_action(
    status: &TrackingServerStatus,
    auto_start: bool,
) -> Result<MlflowAction, GateError> {
    use TrackingServerStatus as S;
    match status {
        S::Created | S::Updated | S::Started | S::MaintenanceComplete => Ok(MlflowAction::Presign),
        S::Creating | S::Updating | S::Starting | S::MaintenanceInProgress => {
            Ok(MlflowAction::Wait)
        }
        S::Stopped if auto_start => Ok(MlflowAction::Start),
        S::Stopped
        | S::CreateFailed
        | S::UpdateFailed
        | S::Deleting
        | S::DeleteFailed
        | S::Stopping
        | S::StopFailed
        | S::StartFailed
        | S::MaintenanceFailed
        | S::Unknown(_) => Err(GateError::NotRunning(status.as_str().to_owned())),
    }
}

/// `Created`, `Updated` → presign; `Creating`, `Updating` → wait; anything else → 409.
pub fn mlflow_app_action(status: &MlflowAppStatus) -> Result<MlflowAction, GateError> {
    use MlflowAppStatus as S;
    match status {
        S::Created | S::Updated => Ok(MlflowAction::Presign),
        S::Creating | S::Updating => Ok(MlflowAction::Wait),
        S::CreateFailed
        | S::UpdateFailed
        | S::Deleting
        | S::DeleteFailed
        | S::Deleted
        | S::Unknown(_) => Err(GateError::NotRunning(status.as_str().to_owned())),
    }
}

/// Every tracking server state SageMaker documents (`TrackingServerStatus`), for the tests of
/// each decision over them here and in the behaviour tests.
pub const TRACKING_SERVER_STATES: [&str; 17] = [
    "Creating",
    "Created",
    "CreateFailed",
    "Updating",
    "Updated",
    "UpdateFailed",
    "Deleting",
    "DeleteFailed",
    "Stopping",
    "Stopped",
    "StopFailed",
    "Starting",
    "Started",
    "StartFailed",
    "MaintenanceInProgress",
    "MaintenanceComplete",
    "MaintenanceFailed",
];

/// Every MLflow app state the gate knows of (`MlflowAppStatus`), for the same tests.
pub const MLFLOW_APP_STATES: [&str; 10] = [
    "Creating",
    "Created",
    "CreateFailed",
    "Updating",
    "Updated",
    "UpdateFailed",
    "Deleting",
    "DeleteFailed",
    "Deleted",
    "Paused",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(raw: &str, auto_start: bool) -> Result<MlflowAction, String> {
        tracking_server_action(&TrackingServerStatus::parse(raw), auto_start).map_err(|e| {
            let GateError::NotRunning(state) = e else {
                panic!("{raw}: {e:?}")
            };
            state
        })
    }

    #[test]
    fn every_tracking_server_state_has_an_answer() {
        for raw in TRACKING_SERVER_STATES {
            assert_eq!(TrackingServerStatus::parse(raw).as_str(), raw);
            let expected = match raw {
                "Created" | "Updated" | "Started" | "MaintenanceComplete" => {
                    Ok(MlflowAction::Presign)
                }
                "Creating" | "Updating" | "Starting" | "MaintenanceInProgress" => {
                    Ok(MlflowAction::Wait)
                }
                _ => Err(raw.to_owned()),
            };
            assert_eq!(decided(raw, false), expected, "{raw}");
            let with_auto_start = if raw == "Stopped" {
                Ok(MlflowAction::Start)
            } else {
                expected
            };
            assert_eq!(decided(raw, true), with_auto_start, "{raw} with auto-start");
        }
        assert_eq!(decided("Hibernating", true), Err("Hibernating".into()));
    }

    #[test]
    fn every_app_state_has_an_answer() {
        for raw in MLFLOW_APP_STATES {
            let status = MlflowAppStatus::parse(raw);
            assert_eq!(status.as_str(), raw);
            let expected = match raw {
                "Created" | "Updated" => Some(MlflowAction::Presign),
                "Creating" | "Updating" => Some(MlflowAction::Wait),
                _ => None,
            };
            match (mlflow_app_action(&status), expected) {
                (Ok(action), Some(want)) => assert_eq!(action, want, "{raw}"),
                (Err(GateError::NotRunning(state)), None) => assert_eq!(state, raw),
                (other, _) => panic!("{raw}: {other:?}"),
            }
        }
    }
}
