//! Who may open what, and which inputs are acceptable: plain decisions over plain data, no I/O.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::claims::Claims;
use crate::config::{Config, MIN_SESSION_SECONDS};
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
    /// No owner claim means no caller: the gate never falls back to a default identity.
    pub fn from_claims(claims: &Claims, config: &Config) -> Result<Self, GateError> {
        let owner = claims
            .get(&config.owner_claim)
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
    JupyterServer,
    Studio,
}

impl StudioApp {
    pub fn parse(raw: &str) -> Result<Self, GateError> {
        match raw {
            "jupyterlab" => Ok(Self::JupyterLab),
            "codeeditor" => Ok(Self::CodeEditor),
            "canvas" => Ok(Self::Canvas),
            "rstudio" => Ok(Self::RStudio),
            "jupyterserver" => Ok(Self::JupyterServer),
            "studio" => Ok(Self::Studio),
            _ => Err(GateError::InvalidRequest(
                "app must be one of jupyterlab, codeeditor, canvas, rstudio, jupyterserver, studio"
                    .into(),
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
            Self::JupyterServer => "app:JupyterServer:",
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
        assert_eq!(
            StudioApp::parse("jupyterserver").unwrap().landing_uri(),
            "app:JupyterServer:"
        );
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
}
