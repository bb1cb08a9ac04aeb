//! Who may open what, and which inputs are acceptable: plain decisions over plain data, no I/O.

use crate::claims::Claims;
use crate::config::{Config, MIN_SESSION_SECONDS};
use crate::error::GateError;

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
    pub profile_name: Option<String>,
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
            .and_then(profile_name_from);
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

pub fn notebook_action(status: &str, auto_start: bool) -> Result<NotebookAction, GateError> {
    match status {
        "InService" => Ok(NotebookAction::Presign),
        "Pending" | "Updating" => Ok(NotebookAction::Wait),
        "Stopped" if auto_start => Ok(NotebookAction::Start),
        other => Err(GateError::NotRunning(other.to_owned())),
    }
}

/// SageMaker's pattern for notebook instance, user profile and space names,
/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, within their maximum length of 63 (the pattern alone
/// would let hyphens make a name longer).
pub fn is_resource_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

pub fn checked_name<'a>(what: &str, name: &'a str) -> Result<&'a str, GateError> {
    if is_resource_name(name) {
        Ok(name)
    } else {
        Err(GateError::InvalidRequest(format!(
            "{what} must be 1 to 63 letters, digits and inner hyphens"
        )))
    }
}

/// Makes a user name valid as a profile name: every run of other characters becomes one hyphen,
/// so `jane.doe@example.com` becomes `jane-doe-example-com`.
pub fn profile_name_from(raw: &str) -> Option<String> {
    let mut name = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    while name.len() > 63 || name.ends_with('-') {
        name.pop();
    }
    (!name.is_empty()).then_some(name)
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
pub fn may_open_space(space: &SpaceAccess<'_>, profile_name: &str) -> bool {
    space.shared || space.owner_profile == Some(profile_name)
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
        assert_eq!(caller.profile_name.as_deref(), Some("jane-doe-example-com"));
        let access_token = Claims::from_pairs([("sub", "s"), ("username", "jane")]);
        let caller = Caller::from_claims(&access_token, &config).unwrap();
        assert_eq!(caller.profile_name.as_deref(), Some("jane"));
    }

    #[test]
    fn profile_names_are_made_valid() {
        assert_eq!(
            profile_name_from("jane.doe@example.com").as_deref(),
            Some("jane-doe-example-com")
        );
        assert_eq!(
            profile_name_from("..jane__doe..").as_deref(),
            Some("jane-doe")
        );
        assert_eq!(profile_name_from("日本語").as_deref(), None);
        assert_eq!(profile_name_from("ユーザーbob").as_deref(), Some("bob"));
        let long = profile_name_from(&format!("{}.{}", "a".repeat(62), "b".repeat(10))).unwrap();
        assert_eq!(long, "a".repeat(62));
        assert!(is_resource_name(&long));
    }

    #[test]
    fn names_follow_sagemaker_pattern() {
        for good in ["a", "nb-1", "A--b", &"x".repeat(63)] {
            assert!(is_resource_name(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "a%2Fb",
            "..",
            "a b",
            "é",
            &"x".repeat(64),
            // 63 letters and digits, but 64 characters: found by tests/properties.
            &format!("{}-{}", "a".repeat(32), "b".repeat(31)),
        ] {
            assert!(!is_resource_name(bad), "{bad}");
        }
    }

    #[test]
    fn notebook_states_map_to_actions() {
        assert_eq!(
            notebook_action("InService", false).unwrap(),
            NotebookAction::Presign
        );
        assert_eq!(
            notebook_action("Pending", false).unwrap(),
            NotebookAction::Wait
        );
        assert_eq!(
            notebook_action("Updating", true).unwrap(),
            NotebookAction::Wait
        );
        assert_eq!(
            notebook_action("Stopped", true).unwrap(),
            NotebookAction::Start
        );
        for state in ["Stopped", "Stopping", "Deleting", "Failed"] {
            let Err(GateError::NotRunning(s)) = notebook_action(state, false) else {
                panic!("{state} must not open");
            };
            assert_eq!(s, state);
        }
        assert!(notebook_action("Stopping", true).is_err());
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
        let private = SpaceAccess {
            owner_profile: Some("jane"),
            shared: false,
        };
        assert!(may_open_space(&private, "jane"));
        assert!(!may_open_space(&private, "bob"));
        let shared = SpaceAccess {
            owner_profile: Some("jane"),
            shared: true,
        };
        assert!(may_open_space(&shared, "bob"));
        let orphan = SpaceAccess {
            owner_profile: None,
            shared: false,
        };
        assert!(!may_open_space(&orphan, "jane"));
    }
}
