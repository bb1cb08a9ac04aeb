//! The sign-in trigger's decision: Cognito's pre-token-generation event (version 1, `V1_0`) in,
//! the groups a federated person's tokens carry out.
//!
//! Why `V1_0`: it is the one version every Cognito feature plan delivers (Lite included; `V2_0`
//! and `V3_0` need Essentials or Plus), and its `groupOverrideDetails.groupsToOverride` replaces
//! `cognito:groups` in the access token as well as the ID token, which is all the gate reads.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider_groups::{self, Encoding, ProviderGroups};

/// The user pool attribute the provider's groups are mapped to, unless `PROVIDER_GROUPS_ATTRIBUTE`
/// names another.
pub const DEFAULT_GROUPS_ATTRIBUTE: &str = "custom:provider_groups";

/// Cognito's `cognito:user_status` for a person who signed in through an identity provider.
const FEDERATED_STATUS: &str = "EXTERNAL_PROVIDER";

/// The parts of the event the decision reads. Everything else is handed back to Cognito as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenEvent {
    #[serde(default)]
    pub trigger_source: Option<String>,
    #[serde(default)]
    pub request: PreTokenRequest,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenRequest {
    #[serde(default)]
    pub user_attributes: HashMap<String, String>,
    #[serde(default)]
    pub group_configuration: GroupConfiguration,
}

/// The groups, IAM roles and preferred role Cognito would put in the tokens (its pool groups).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfiguration {
    #[serde(default)]
    pub groups_to_override: Option<Vec<String>>,
    #[serde(default)]
    pub iam_roles_to_override: Option<Vec<String>>,
    #[serde(default)]
    pub preferred_role: Option<String>,
}

/// What the trigger tells Cognito.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not a federated sign-in: the tokens carry what Cognito would put there. A person with a
    /// password in the pool never gets groups from an attribute they might be able to write.
    Unchanged,
    /// A federated person: their pool groups, then their provider's matchable groups.
    Groups {
        groups: Vec<String>,
        provider: ProviderGroups,
    },
}

impl PreTokenEvent {
    /// The person's Cognito `sub`, for the log line (never their e-mail or name).
    pub fn sub(&self) -> Option<&str> {
        self.request.user_attributes.get("sub").map(String::as_str)
    }

    fn is_federated(&self) -> bool {
        self.request
            .user_attributes
            .get("cognito:user_status")
            .is_some_and(|status| status == FEDERATED_STATUS)
    }
}

/// The decision for one event, reading the provider's groups from `attribute` as `encoding`
/// writes them.
pub fn decide(event: &PreTokenEvent, attribute: &str, encoding: Encoding) -> Decision {
    if !event.is_federated() {
        return Decision::Unchanged;
    }
    let provider = provider_groups::parse(
        event
            .request
            .user_attributes
            .get(attribute)
            .map_or("", String::as_str),
        encoding,
    );
    // Pool groups an admin added in Cognito keep working for a federated person; the provider's
    // follow, each name once.
    let mut groups: Vec<String> = event
        .request
        .group_configuration
        .groups_to_override
        .clone()
        .unwrap_or_default();
    for name in &provider.kept {
        if !groups.contains(name) {
            groups.push(name.clone());
        }
    }
    Decision::Groups { groups, provider }
}

/// The event with Cognito's `response` filled in for `decision`: a V1 trigger answers with the
/// event it was given.
pub fn answer(
    mut raw: Value,
    event: &PreTokenEvent,
    decision: &Decision,
    attribute: &str,
) -> Value {
    let details = match decision {
        Decision::Unchanged => Value::Null,
        Decision::Groups { groups, .. } => {
            let configuration = &event.request.group_configuration;
            json!({
                "groupOverrideDetails": {
                    "groupsToOverride": groups,
                    "iamRolesToOverride": configuration.iam_roles_to_override.clone().unwrap_or_default(),
                    "preferredRole": configuration.preferred_role,
                },
                // The raw attribute has done its job; the ID token need not repeat it.
                "claimsToSuppress": [attribute],
            })
        }
    };
    if let Value::Object(fields) = &mut raw {
        fields.insert(
            "response".into(),
            json!({ "claimsOverrideDetails": details }),
        );
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider_groups::Encoding;

    fn event(status: &str, groups_attribute: Option<&str>, pool_groups: &[&str]) -> Value {
        let mut attributes =
            json!({"sub": "0f1e", "email": "carol@corp.example", "cognito:user_status": status});
        if let Some(raw) = groups_attribute {
            attributes[DEFAULT_GROUPS_ATTRIBUTE] = json!(raw);
        }
        json!({
            "version": "1",
            "triggerSource": "TokenGeneration_HostedAuth",
            "region": "us-east-1",
            "userPoolId": "us-east-1_abc",
            "userName": "Company_00u1",
            "callerContext": {"awsSdkVersion": "x", "clientId": "portal"},
            "request": {
                "userAttributes": attributes,
                "groupConfiguration": {
                    "groupsToOverride": pool_groups,
                    "iamRolesToOverride": ["arn:aws:iam::123456789012:role/r"],
                    "preferredRole": null
                }
            },
            "response": {"claimsOverrideDetails": null}
        })
    }

    fn run(raw: Value) -> Value {
        let parsed: PreTokenEvent = serde_json::from_value(raw.clone()).unwrap();
        let decision = decide(&parsed, DEFAULT_GROUPS_ATTRIBUTE, Encoding::Flattened);
        answer(raw, &parsed, &decision, DEFAULT_GROUPS_ATTRIBUTE)
    }

    #[test]
    fn a_federated_person_gets_pool_groups_then_the_providers() {
        let out = run(event(
            "EXTERNAL_PROVIDER",
            Some("[ml-team, gate-admins, bad group]"),
            &["gate-admins"],
        ));
        let details = &out["response"]["claimsOverrideDetails"];
        assert_eq!(
            details["groupOverrideDetails"]["groupsToOverride"],
            json!(["gate-admins", "ml-team"])
        );
        assert_eq!(
            details["groupOverrideDetails"]["iamRolesToOverride"],
            json!(["arn:aws:iam::123456789012:role/r"])
        );
        assert_eq!(
            details["claimsToSuppress"],
            json!([DEFAULT_GROUPS_ATTRIBUTE])
        );
        // The rest of the event goes back as Cognito sent it.
        assert_eq!(out["userName"], "Company_00u1");
        assert_eq!(
            out["request"]["userAttributes"]["email"],
            "carol@corp.example"
        );
    }

    #[test]
    fn no_provider_groups_means_only_pool_groups() {
        for attribute in [None, Some(""), Some("[]")] {
            let out = run(event("EXTERNAL_PROVIDER", attribute, &[]));
            assert_eq!(
                out["response"]["claimsOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"],
                json!([]),
                "{attribute:?}"
            );
        }
    }

    #[test]
    fn a_pool_password_user_is_left_alone_whatever_their_attribute_says() {
        // A person with a password could write their own custom attribute (with a token that has
        // aws.cognito.signin.user.admin): it must never turn into groups.
        for status in [
            "CONFIRMED",
            "FORCE_CHANGE_PASSWORD",
            "",
            "external_provider",
        ] {
            let out = run(event(status, Some("[ml-team]"), &["analysts"]));
            assert_eq!(
                out["response"]["claimsOverrideDetails"],
                Value::Null,
                "{status}"
            );
        }
        let mut raw = event("EXTERNAL_PROVIDER", Some("[ml-team]"), &[]);
        raw["request"]["userAttributes"]
            .as_object_mut()
            .unwrap()
            .remove("cognito:user_status");
        assert_eq!(run(raw)["response"]["claimsOverrideDetails"], Value::Null);
    }

    #[test]
    fn dropped_names_are_reported_for_the_log() {
        let raw = event("EXTERNAL_PROVIDER", Some("[ok, a b]"), &[]);
        let parsed: PreTokenEvent = serde_json::from_value(raw).unwrap();
        let Decision::Groups { provider, .. } =
            decide(&parsed, DEFAULT_GROUPS_ATTRIBUTE, Encoding::Flattened)
        else {
            panic!("federated")
        };
        assert_eq!(provider.dropped, ["a b"]);
        assert_eq!(parsed.sub(), Some("0f1e"));
    }

    #[test]
    fn nulls_and_missing_parts_parse() {
        let parsed: PreTokenEvent = serde_json::from_value(json!({
            "request": {"userAttributes": {"cognito:user_status": "EXTERNAL_PROVIDER"},
                        "groupConfiguration": {"groupsToOverride": null, "iamRolesToOverride": null}}
        }))
        .unwrap();
        assert_eq!(
            decide(&parsed, DEFAULT_GROUPS_ATTRIBUTE, Encoding::Flattened),
            Decision::Groups {
                groups: vec![],
                provider: ProviderGroups::default()
            }
        );
        let empty: PreTokenEvent = serde_json::from_value(json!({})).unwrap();
        assert_eq!(
            decide(&empty, DEFAULT_GROUPS_ATTRIBUTE, Encoding::Json),
            Decision::Unchanged
        );
    }
}
