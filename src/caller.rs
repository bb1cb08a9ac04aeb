//! Who is asking, and the ownership rule every kind of target shares: a resource is the caller's
//! when its owner tag names them, or (where a kind allows groups) its group tag names one of
//! their groups. Also the request checks that come before any SageMaker call.

use std::net::IpAddr;

use ipnet::IpNet;

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
    /// The user name their token gives (the first of `PROFILE_NAME_CLAIM` present): what their
    /// Studio user profile is named after (`studio::profile_name`).
    pub user_name: Option<String>,
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
        let user_name = config
            .profile_name_claims
            .iter()
            .find_map(|claim| claims.get(claim))
            .map(|name| federated_subject(name, config).to_owned());
        Ok(Self {
            owner: owner.to_owned(),
            groups: claims.groups().to_vec(),
            user_name,
        })
    }
}

/// A federated person's user name is `<provider>_<subject>` (Cognito's naming): their profile is
/// named after the subject (a SAML NameID such as `jane.doe@corp.example`, or an OIDC `sub`), so an
/// admin can create it before their first sign-in. Anyone else's name is taken as it is.
fn federated_subject<'n>(name: &'n str, config: &Config) -> &'n str {
    config
        .federated_provider_name
        .as_deref()
        .and_then(|provider| {
            let (prefix, subject) = name.split_at_checked(provider.len())?;
            let subject = subject.strip_prefix('_')?;
            (prefix.eq_ignore_ascii_case(provider) && !subject.is_empty()).then_some(subject)
        })
        .unwrap_or(name)
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

/// A notebook instance or an MLflow resource may also be opened by members of the group its
/// group tag names.
pub fn may_open_tagged(tags: &[Tag], caller: &Caller, config: &Config) -> bool {
    is_owned_by(tags, caller, config)
        || tags.iter().any(|t| {
            t.key == config.group_tag_key && !t.value.is_empty() && caller.groups.contains(&t.value)
        })
}

/// The group a resource's group tag names, if any (a value the caller may see: either they are in
/// that group, or the resource is theirs).
pub(crate) fn shared_with(tags: &[Tag], group_tag_key: &str) -> Option<String> {
    tags.iter()
        .find(|t| t.key == group_tag_key && !t.value.is_empty())
        .map(|t| t.value.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user_name(name: &str, provider: Option<&str>) -> Option<String> {
        let config = Config {
            federated_provider_name: provider.map(str::to_owned),
            ..Config::default()
        };
        let claims = Claims::from_pairs([("sub", "s-1"), ("username", name)]);
        Caller::from_claims(&claims, &config).unwrap().user_name
    }

    #[test]
    fn a_federated_user_name_loses_its_provider_prefix() {
        let company = Some("Company");
        assert_eq!(
            user_name("Company_jane.doe@corp.example", company).as_deref(),
            Some("jane.doe@corp.example")
        );
        // Cognito may keep the provider name's case or lower it (case-insensitive pools).
        assert_eq!(
            user_name("company_00u1abcd", company).as_deref(),
            Some("00u1abcd")
        );
        // Not this provider's, no subject, or no federation configured: the name as it is.
        for (name, provider) in [
            ("Companyx_jane", company),
            ("Company_", company),
            ("Company", company),
            ("jane-doe", company),
            ("Okta_jane", company),
            ("Company_jane", None),
        ] {
            assert_eq!(user_name(name, provider).as_deref(), Some(name), "{name}");
        }
        // Only the first prefix goes: a subject may itself hold one.
        assert_eq!(
            user_name("Company_Company_x", company).as_deref(),
            Some("Company_x")
        );
    }

    fn caller(owner: &str, groups: &[&str]) -> Caller {
        Caller {
            owner: owner.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            user_name: None,
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
        assert!(may_open_tagged(&tags, &caller("a", &["ml-team"]), &config));
        assert!(!may_open_tagged(
            &tags,
            &caller("a", &["analysts"]),
            &config
        ));
        assert!(!may_open_tagged(&tags, &caller("a", &[]), &config));
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
        assert!(!may_open_tagged(&tags, &caller("", &[""]), &config));
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
    fn the_user_name_comes_from_the_first_present_claim() {
        let config = Config::default();
        let id_token = Claims::from_pairs([
            ("sub", "s"),
            ("cognito:username", "jane.doe@example.com"),
            ("username", "other"),
        ]);
        let caller = Caller::from_claims(&id_token, &config).unwrap();
        assert_eq!(caller.user_name.as_deref(), Some("jane.doe@example.com"));
        let access_token = Claims::from_pairs([("sub", "s"), ("username", "jane")]);
        let caller = Caller::from_claims(&access_token, &config).unwrap();
        assert_eq!(caller.user_name.as_deref(), Some("jane"));
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
}
