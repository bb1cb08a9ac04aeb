//! The groups a company identity provider says a person is in, as Cognito hands them to the
//! sign-in trigger: one user pool attribute (`custom:provider_groups`) holding the provider's
//! groups claim or attribute, flattened to one string.

use serde_json::Value;

/// The rule a group name must pass to be passed on: the one the gate compares tags with.
pub use crate::claims::is_matchable_group;

/// A provider's groups, split into the names the gate can match exactly and the ones it drops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderGroups {
    /// Matchable names, in the provider's order, each once.
    pub kept: Vec<String>,
    /// Names the gate could not tell from other names (see [`is_matchable_group`]): never
    /// passed on, so they can only deny, never grant; the trigger logs them.
    pub dropped: Vec<String>,
}

/// How Cognito writes a provider's multi-valued groups into the attribute, which depends on the
/// kind of provider. The trigger is told which (`IDENTITY_PROVIDER_TYPE`) rather than guessing:
/// `["a"]` is a JSON list holding `a`, and also a flattened list holding `"a"` (quotes and all),
/// so a guess could turn a group named `"a"` into `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// OpenID Connect: the claim's JSON value as JSON text (`["ml-team","analysts"]`); a claim
    /// that is a single string arrives as that string.
    Json,
    /// SAML: the attribute's values in brackets, joined by a comma and a space
    /// (`[ml-team, analysts]`); a single value arrives as itself.
    Flattened,
}

impl Encoding {
    /// `OIDC` or `SAML` (any case), as template.yaml's `IdentityProviderType` names them.
    pub fn for_provider_type(kind: &str) -> Option<Self> {
        match kind.to_ascii_uppercase().as_str() {
            "OIDC" => Some(Self::Json),
            "SAML" => Some(Self::Flattened),
            _ => None,
        }
    }
}

/// Reads the attribute as `encoding` writes it. No name is ever changed: trimming or splitting
/// further could turn one group's name into another's, which would grant what the provider
/// never granted. So the flattened form is split on exactly its separator (`, `), and a name
/// holding a bare comma stays one piece, which is then dropped.
pub fn parse(raw: &str, encoding: Encoding) -> ProviderGroups {
    let mut groups = ProviderGroups::default();
    let names: Vec<String> = match encoding {
        _ if raw.is_empty() => Vec::new(),
        Encoding::Json => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(items)) => {
                let mut names = Vec::new();
                for item in items {
                    match item {
                        Value::String(name) => names.push(name),
                        // Not a name at all: logged as its JSON text, never matched.
                        other => groups.dropped.push(other.to_string()),
                    }
                }
                names
            }
            Ok(Value::String(name)) => vec![name],
            _ => vec![raw.to_owned()],
        },
        Encoding::Flattened => match raw.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some("") => Vec::new(),
            Some(inner) => inner.split(", ").map(str::to_owned).collect(),
            None => vec![raw.to_owned()],
        },
    };
    for name in names {
        if !is_matchable_group(&name) {
            groups.dropped.push(name);
        } else if !groups.kept.contains(&name) {
            groups.kept.push(name);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::Encoding::{Flattened, Json};
    use super::*;

    fn kept(raw: &str, encoding: Encoding) -> Vec<String> {
        parse(raw, encoding).kept
    }

    #[test]
    fn each_provider_kind_reads_its_own_shape() {
        assert_eq!(
            kept(r#"["ml-team","analysts"]"#, Json),
            ["ml-team", "analysts"]
        );
        assert_eq!(kept(r#""ml-team""#, Json), ["ml-team"]);
        assert_eq!(kept("ml-team", Json), ["ml-team"]);
        assert_eq!(
            kept("[ml-team, analysts]", Flattened),
            ["ml-team", "analysts"]
        );
        assert_eq!(kept("[ml-team]", Flattened), ["ml-team"]);
        assert_eq!(kept("ml-team", Flattened), ["ml-team"]);
        assert_eq!(Encoding::for_provider_type("oidc"), Some(Json));
        assert_eq!(Encoding::for_provider_type("SAML"), Some(Flattened));
        assert_eq!(Encoding::for_provider_type("None"), None);
    }

    #[test]
    fn nothing_is_no_group() {
        for (raw, encoding) in [("", Json), ("[]", Json), ("", Flattened), ("[]", Flattened)] {
            let groups = parse(raw, encoding);
            assert!(
                groups.kept.is_empty() && groups.dropped.is_empty(),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_quoted_name_never_loses_its_quotes() {
        // A SAML group literally named "ml-team" (quotes included) must not open ml-team's.
        let groups = parse(r#"["ml-team"]"#, Flattened);
        assert!(groups.kept.is_empty());
        assert_eq!(groups.dropped, [r#""ml-team""#]);
    }

    #[test]
    fn a_name_the_gate_cannot_match_is_dropped_never_split_or_trimmed() {
        let long = "x".repeat(129);
        let json =
            serde_json::to_string(&["ml-team", "bad group", "a,b", "q\"t", &long, " pad"]).unwrap();
        let groups = parse(&json, Json);
        assert_eq!(groups.kept, ["ml-team"]);
        assert_eq!(
            groups.dropped,
            ["bad group", "a,b", "q\"t", long.as_str(), " pad"]
        );

        // A bare comma is not the flattened form's separator: `ops,ml-team` stays one
        // (unmatchable) name and never grants ml-team.
        let flat = parse("[ops,ml-team, analysts]", Flattened);
        assert_eq!(flat.kept, ["analysts"]);
        assert_eq!(flat.dropped, ["ops,ml-team"]);
        assert!(parse("ops,ml-team", Json).kept.is_empty());
    }

    #[test]
    fn the_longest_name_a_tag_can_hold_is_kept() {
        let edge = "y".repeat(128);
        assert_eq!(kept(&format!("[{edge}]"), Flattened), vec![edge.clone()]);
        assert_eq!(kept(&format!("[\"{edge}\"]"), Json), [edge]);
    }

    #[test]
    fn non_strings_in_a_json_array_are_dropped() {
        let groups = parse(r#"["ml-team", 7, null, {"a":1}, ["x"]]"#, Json);
        assert_eq!(groups.kept, ["ml-team"]);
        assert_eq!(groups.dropped, ["7", "null", r#"{"a":1}"#, r#"["x"]"#]);
    }

    #[test]
    fn repeats_are_kept_once_in_order() {
        assert_eq!(kept("[b, a, b]", Flattened), ["b", "a"]);
    }
}
