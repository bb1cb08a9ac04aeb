//! Who may open what, and which inputs are acceptable: plain decisions over plain data, no I/O.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::claims::Claims;
use crate::config::{Config, LifecycleAction, MIN_SESSION_SECONDS};
use crate::error::GateError;
use crate::names::ProfileName;

/// Longest owner value we accept: SageMaker tag values stop at 256 characters, so a longer claim
/// could never match a tag.
const MAX_OWNER_LEN: usize = 256;

/// The person behind a request, as far as the gate is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The value of the configured owner claim (by default `sub`).
    pub owner: String,
    pub groups: Vec<String>,
    /// The Studio user profile this person opens, when their token names one.
    pub profile_name: Option<ProfileName>,
}

impl Caller {
    /// No owner claim means no caller: the gate never falls back to a default identity. With
    /// `ALLOWED_CLIENT_IDS`, a token issued to another app client of the pool is no caller either.
    pub fn from_claims(claims: &Claims, config: &Config) -> Result<Self, GateError> {
        if !config.allowed_client_ids.is_empty()
            && !claims
                .get("client_id")
                .is_some_and(|id| config.allowed_client_ids.iter().any(|a| a == id))
        {
            return Err(GateError::ForeignClient);
        }
        let owner = claims
            .get(config.owner_claim.as_str())
            .filter(|v| v.len() <= MAX_OWNER_LEN && !v.chars().any(char::is_control))
            .ok_or(GateError::Unauthenticated)?;
        let profile_name = config
            .profile_name_claims
            .iter()
            .find_map(|claim| claims.get(claim))
            .and_then(ProfileName::from_user_name);
        Ok(Self {
            owner: owner.to_owned(),
            groups: claims.groups().to_vec(),
            profile_name,
        })
    }
}

/// A resource tag, as SageMaker returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: &str, value: &str) -> Self {
        Self {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }
}

/// A resource is the caller's when its owner tag equals the caller's owner value.
pub fn is_owned_by(tags: &[Tag], caller: &Caller, config: &Config) -> bool {
    tags.iter()
        .any(|t| t.key == config.owner_tag_key && !t.value.is_empty() && t.value == caller.owner)
}

/// A notebook instance may also be opened by members of the group its group tag names.
pub fn may_open_notebook(tags: &[Tag], caller: &Caller, config: &Config) -> bool {
    is_owned_by(tags, caller, config)
        || tags.iter().any(|t| {
            t.key == config.group_tag_key && !t.value.is_empty() && caller.groups.contains(&t.value)
        })
}

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

/// What a start or stop comes to, given where the target is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecyclePlan {
    /// Ask SageMaker to do it.
    Act,
    /// Nothing to do: already where the action leads (`200`, e.g. "already running").
    Settled(&'static str),
    /// Nothing to do: already on its way there (`202`, e.g. "already starting").
    Underway(&'static str),
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

/// With `ALLOWED_SOURCE_CIDRS` set, only callers from those networks get anything; an unknown
/// source address is outside them.
pub fn source_allowed(source_ip: Option<IpAddr>, allowed: &[IpNet]) -> Result<(), GateError> {
    if allowed.is_empty() || source_ip.is_some_and(|ip| allowed.iter().any(|net| net.contains(&ip)))
    {
        Ok(())
    } else {
        Err(GateError::SourceNotAllowed)
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

/// The session length a caller asked for, within what the deployment allows.
pub fn session_seconds(requested: Option<&str>, config: &Config) -> Result<u32, GateError> {
    let Some(raw) = requested else {
        return Ok(config.session_seconds);
    };
    raw.parse::<u32>()
        .ok()
        .filter(|s| (MIN_SESSION_SECONDS..=config.session_seconds).contains(s))
        .ok_or_else(|| {
            GateError::InvalidRequest(format!(
                "session must be a whole number of seconds from {MIN_SESSION_SECONDS} to {}",
                config.session_seconds
            ))
        })
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

    fn caller(owner: &str, groups: &[&str]) -> Caller {
        Caller {
            owner: owner.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            profile_name: None,
        }
    }

    #[test]
    fn owner_tag_must_match_exactly() {
        let config = Config::default();
        let alice = caller("alice-sub", &[]);
        assert!(is_owned_by(
            &[Tag::new("notebook-gate:owner", "alice-sub")],
            &alice,
            &config
        ));
        assert!(!is_owned_by(
            &[Tag::new("notebook-gate:owner", "ALICE-SUB")],
            &alice,
            &config
        ));
        assert!(!is_owned_by(
            &[Tag::new("notebook-gate:owner", "alice-sub ")],
            &alice,
            &config
        ));
        assert!(!is_owned_by(
            &[Tag::new("owner", "alice-sub")],
            &alice,
            &config
        ));
        assert!(!is_owned_by(&[], &alice, &config));
    }

    #[test]
    fn group_tag_opens_for_members_only() {
        let config = Config::default();
        let tags = [Tag::new("notebook-gate:group", "ml-team")];
        assert!(may_open_notebook(
            &tags,
            &caller("a", &["ml-team"]),
            &config
        ));
        assert!(!may_open_notebook(
            &tags,
            &caller("a", &["analysts"]),
            &config
        ));
        assert!(!may_open_notebook(&tags, &caller("a", &[]), &config));
        // The group tag never counts as an owner tag (Studio profiles need the owner tag).
        assert!(!is_owned_by(
            &tags,
            &caller("ml-team", &["ml-team"]),
            &config
        ));
    }

    #[test]
    fn empty_tag_values_never_match() {
        let config = Config::default();
        let tags = [
            Tag::new("notebook-gate:owner", ""),
            Tag::new("notebook-gate:group", ""),
        ];
        assert!(!may_open_notebook(&tags, &caller("", &[""]), &config));
    }

    #[test]
    fn owner_claim_is_required_and_sane() {
        let config = Config::default();
        let missing = Claims::from_pairs([("email", "a@example.com")]);
        assert!(matches!(
            Caller::from_claims(&missing, &config),
            Err(GateError::Unauthenticated)
        ));
        let control = Claims::from_pairs([("sub", "abc\u{7}")]);
        assert!(Caller::from_claims(&control, &config).is_err());
        let huge = "x".repeat(257);
        let long = Claims::from_pairs([("sub", huge.as_str())]);
        assert!(Caller::from_claims(&long, &config).is_err());
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

    #[test]
    fn only_the_configured_app_clients_tokens_are_callers() {
        let config = Config::from_lookup(|name| {
            (name == "ALLOWED_CLIENT_IDS").then(|| "portal-client,cli-client".to_owned())
        })
        .unwrap();
        for client in ["portal-client", "cli-client"] {
            let claims = Claims::from_pairs([("sub", "s"), ("client_id", client)]);
            assert!(Caller::from_claims(&claims, &config).is_ok(), "{client}");
        }
        for claims in [
            Claims::from_pairs([("sub", "s"), ("client_id", "another-apps-client")]),
            Claims::from_pairs([("sub", "s"), ("client_id", "portal-client-2")]),
            Claims::from_pairs([("sub", "s")]),
        ] {
            assert!(matches!(
                Caller::from_claims(&claims, &config),
                Err(GateError::ForeignClient)
            ));
        }
        // Unset: any client of the pool, as the HTTP API's own audience check already narrows it.
        let any = Claims::from_pairs([("sub", "s"), ("client_id", "whatever")]);
        assert!(Caller::from_claims(&any, &Config::default()).is_ok());
    }

    #[test]
    fn profile_name_comes_from_the_first_present_claim() {
        let config = Config::default();
        let id_token = Claims::from_pairs([
            ("sub", "s"),
            ("cognito:username", "jane.doe@example.com"),
            ("username", "other"),
        ]);
        let caller = Caller::from_claims(&id_token, &config).unwrap();
        assert_eq!(
            caller.profile_name.as_ref().map(ProfileName::as_str),
            Some("jane-doe-example-com")
        );
        let access_token = Claims::from_pairs([("sub", "s"), ("username", "jane")]);
        let caller = Caller::from_claims(&access_token, &config).unwrap();
        assert_eq!(
            caller.profile_name.as_ref().map(ProfileName::as_str),
            Some("jane")
        );
    }

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
    fn only_allowed_networks_pass_when_some_are_set() {
        let nets: Vec<IpNet> = vec!["198.51.100.0/24".parse().unwrap()];
        assert!(source_allowed(None, &[]).is_ok());
        assert!(source_allowed(Some("198.51.100.9".parse().unwrap()), &nets).is_ok());
        assert!(matches!(
            source_allowed(Some("203.0.113.1".parse().unwrap()), &nets),
            Err(GateError::SourceNotAllowed)
        ));
        assert!(source_allowed(None, &nets).is_err());
    }

    #[test]
    fn session_stays_within_bounds() {
        let config = Config {
            session_seconds: 7200,
            ..Config::default()
        };
        assert_eq!(session_seconds(None, &config).unwrap(), 7200);
        assert_eq!(session_seconds(Some("1800"), &config).unwrap(), 1800);
        assert_eq!(session_seconds(Some("7200"), &config).unwrap(), 7200);
        for bad in [
            "1799",
            "7201",
            "-1",
            "1e4",
            "",
            "3600.0",
            "99999999999999999999",
        ] {
            assert!(session_seconds(Some(bad), &config).is_err(), "{bad}");
        }
    }

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
