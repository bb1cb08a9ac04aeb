//! Studio's states and decisions: a space app's state and what a stop does, who may open or
//! stop a space, and where Studio lands.

use super::ProfileName;
use crate::error::GateError;
use crate::lifecycle::LifecyclePlan;

/// A Studio app's state, as `ListApps` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppStatus {
    Pending,
    InService,
    Deleting,
    Deleted,
    Failed,
    Unknown(String),
}

impl AppStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "Pending" => Self::Pending,
            "InService" => Self::InService,
            "Deleting" => Self::Deleting,
            "Deleted" => Self::Deleted,
            "Failed" => Self::Failed,
            other => Self::Unknown(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "Pending",
            Self::InService => "InService",
            Self::Deleting => "Deleting",
            Self::Deleted => "Deleted",
            Self::Failed => "Failed",
            Self::Unknown(other) => other,
        }
    }

    /// Running or on its way up: what stopping a space deletes.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::InService | Self::Pending)
    }
}

impl serde::Serialize for AppStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Stopping a space deletes its running apps; with none running it is already stopped, or
/// stopping while one is still being deleted.
pub fn space_stop_plan<'a>(statuses: impl IntoIterator<Item = &'a AppStatus>) -> LifecyclePlan {
    let mut deleting = false;
    for status in statuses {
        if status.is_running() {
            return LifecyclePlan::Act;
        }
        deleting |= *status == AppStatus::Deleting;
    }
    if deleting {
        LifecyclePlan::Underway("already stopping")
    } else {
        LifecyclePlan::Settled("already stopped")
    }
}

/// The Studio application a caller asks to land in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StudioApp {
    JupyterLab,
    CodeEditor,
    Canvas,
    RStudio,
    Studio,
}

impl StudioApp {
    pub fn parse(raw: &str) -> Result<Self, GateError> {
        match raw {
            "jupyterlab" => Ok(Self::JupyterLab),
            "codeeditor" => Ok(Self::CodeEditor),
            "canvas" => Ok(Self::Canvas),
            "rstudio" => Ok(Self::RStudio),
            "studio" => Ok(Self::Studio),
            // Studio Classic takes no new users: its app cannot start for anyone who has none,
            // so the gate no longer hands out a URL that lands there.
            "jupyterserver" => Err(GateError::InvalidRequest(
                "app=jupyterserver (Studio Classic) is retired; use jupyterlab or codeeditor"
                    .into(),
            )),
            _ => Err(GateError::InvalidRequest(
                "app must be one of jupyterlab, codeeditor, canvas, rstudio, studio".into(),
            )),
        }
    }

    /// The `app` parameter's value, as the JSON `target` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JupyterLab => "jupyterlab",
            Self::CodeEditor => "codeeditor",
            Self::Canvas => "canvas",
            Self::RStudio => "rstudio",
            Self::Studio => "studio",
        }
    }

    /// `LandingUri` for `CreatePresignedDomainUrl`.
    pub fn landing_uri(self) -> &'static str {
        match self {
            Self::JupyterLab => "app:JupyterLab:",
            Self::CodeEditor => "app:CodeEditor:",
            Self::Canvas => "app:Canvas:",
            Self::RStudio => "app:RStudioServerPro:",
            Self::Studio => "studio::",
        }
    }
}

/// A Studio space as far as access goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceAccess<'a> {
    pub owner_profile: Option<&'a str>,
    pub shared: bool,
}

/// A profile may open its own spaces and the domain's shared ones.
pub fn may_open_space(space: &SpaceAccess<'_>, profile_name: &ProfileName) -> bool {
    space.shared || space.owner_profile == Some(profile_name.as_str())
}

/// Only a space's owner may stop its app, shared or not: stopping a shared space's app ends the
/// session of everyone in it. Others who may open it are told why (403); anyone else sees what a
/// missing space gets.
pub fn may_stop_space_app(
    space: &SpaceAccess<'_>,
    profile_name: &ProfileName,
) -> Result<(), GateError> {
    if space.owner_profile == Some(profile_name.as_str()) {
        Ok(())
    } else if may_open_space(space, profile_name) {
        Err(GateError::NotSpaceOwner)
    } else {
        Err(GateError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_map_to_landing_uris() {
        assert_eq!(
            StudioApp::parse("jupyterlab").unwrap().landing_uri(),
            "app:JupyterLab:"
        );
        assert_eq!(
            StudioApp::parse("codeeditor").unwrap().landing_uri(),
            "app:CodeEditor:"
        );
        assert_eq!(
            StudioApp::parse("canvas").unwrap().landing_uri(),
            "app:Canvas:"
        );
        assert_eq!(
            StudioApp::parse("rstudio").unwrap().landing_uri(),
            "app:RStudioServerPro:"
        );
        // Studio Classic is closed to new use: asked for by name, a clear 400 that says so.
        match StudioApp::parse("jupyterserver") {
            Err(GateError::InvalidRequest(why)) => assert!(why.contains("retired"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            StudioApp::parse("studio").unwrap().landing_uri(),
            "studio::"
        );
        assert!(StudioApp::parse("JupyterLab").is_err());
        assert!(StudioApp::parse("vscode").is_err());
    }

    #[test]
    fn spaces_open_to_owner_or_everyone_when_shared() {
        let jane = ProfileName::parse("jane").unwrap();
        let bob = ProfileName::parse("bob").unwrap();
        let private = SpaceAccess {
            owner_profile: Some("jane"),
            shared: false,
        };
        assert!(may_open_space(&private, &jane));
        assert!(!may_open_space(&private, &bob));
        let shared = SpaceAccess {
            owner_profile: Some("jane"),
            shared: true,
        };
        assert!(may_open_space(&shared, &bob));
        let orphan = SpaceAccess {
            owner_profile: None,
            shared: false,
        };
        assert!(!may_open_space(&orphan, &jane));
    }

    #[test]
    fn a_space_stops_while_an_app_runs_or_starts() {
        use AppStatus as A;
        assert_eq!(
            space_stop_plan(&[A::Deleted, A::InService]),
            LifecyclePlan::Act
        );
        assert_eq!(space_stop_plan(&[A::Pending]), LifecyclePlan::Act);
        assert_eq!(
            space_stop_plan(&[A::Deleted, A::Deleting]),
            LifecyclePlan::Underway("already stopping")
        );
        assert_eq!(
            space_stop_plan(&[A::Deleted, A::Failed]),
            LifecyclePlan::Settled("already stopped")
        );
        assert_eq!(
            space_stop_plan(&[]),
            LifecyclePlan::Settled("already stopped")
        );
    }

    #[test]
    fn only_a_spaces_owner_stops_its_app() {
        let alice = ProfileName::parse("alice").unwrap();
        let space = |owner: Option<&'static str>, shared| SpaceAccess {
            owner_profile: owner,
            shared,
        };
        assert!(may_stop_space_app(&space(Some("alice"), false), &alice).is_ok());
        assert!(may_stop_space_app(&space(Some("alice"), true), &alice).is_ok());
        assert!(matches!(
            may_stop_space_app(&space(Some("bob"), true), &alice),
            Err(GateError::NotSpaceOwner)
        ));
        assert!(matches!(
            may_stop_space_app(&space(None, true), &alice),
            Err(GateError::NotSpaceOwner)
        ));
        assert!(matches!(
            may_stop_space_app(&space(Some("bob"), false), &alice),
            Err(GateError::NotFound)
        ));
        assert!(matches!(
            may_stop_space_app(&space(Some("Alice"), false), &alice),
            Err(GateError::NotFound)
        ));
    }
}
