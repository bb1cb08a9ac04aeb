//! Caller identity, read only from the claims API Gateway's authorizer put in the request context.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use serde_json::Value;

/// The verified token claims of one request, as strings, and the caller's groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    values: HashMap<String, String>,
    groups: Vec<String>,
}

/// The claim Cognito lists a person's user pool groups in.
const GROUPS_CLAIM: &str = "cognito:groups";

impl Claims {
    /// Claims from a REST API Cognito authorizer (`authorizer.claims`) or an HTTP API JWT authorizer
    /// (`authorizer.jwt.claims`). Anything else, such as a Lambda authorizer's free-form context,
    /// headers or the body, is not an identity: `None`.
    pub fn from_request_context(context: &RequestContext) -> Option<Self> {
        match context {
            RequestContext::ApiGatewayV1(rest) => match rest.authorizer.fields.get("claims")? {
                Value::Object(claims) => Some(Self {
                    values: claims
                        .iter()
                        .filter_map(|(name, value)| Some((name.clone(), scalar(value)?)))
                        .collect(),
                    groups: claims
                        .get(GROUPS_CLAIM)
                        .map(rest_api_groups)
                        .unwrap_or_default(),
                }),
                _ => None,
            },
            RequestContext::ApiGatewayV2(http) => {
                let jwt = http.authorizer.as_ref()?.jwt.as_ref()?;
                Some(Self {
                    values: jwt.claims.clone(),
                    groups: jwt
                        .claims
                        .get(GROUPS_CLAIM)
                        .map(|raw| http_api_groups(raw))
                        .unwrap_or_default(),
                })
            }
            _ => None,
        }
    }

    /// Claims without groups, for tests of the other claims.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            groups: Vec::new(),
        }
    }

    /// A claim's value, when it is present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The caller's Cognito groups that a group tag may match (see [`is_matchable_group`]).
    pub fn groups(&self) -> &[String] {
        &self.groups
    }
}

/// A group name the gate will compare with a group tag. Cognito group names may hold any letter,
/// mark, symbol, number or punctuation (`[\p{L}\p{M}\p{S}\p{N}\p{P}]+`, never whitespace), so a
/// name may contain the very characters API Gateway uses to flatten the list (`,` for REST APIs,
/// `[`, `]` and a space for HTTP APIs) or a quote. Such a name is never matched: the gate cannot
/// always tell it from a list of other names, and refusing it can only deny, never grant.
pub fn is_matchable_group(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '"' | '[' | ']'))
}

/// HTTP API (payload 2.0) JWT authorizer: an array claim arrives flattened to `[a b]`, its items
/// joined by one space; a string claim arrives as itself. Group names hold no whitespace, so the
/// split is exact: one name never becomes two.
pub fn http_api_groups(raw: &str) -> Vec<String> {
    let items = match raw.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Some(inner) => inner.split(' ').collect(),
        None => vec![raw],
    };
    items
        .into_iter()
        .filter(|name| is_matchable_group(name))
        .map(str::to_owned)
        .collect()
}

/// REST API Cognito user pool authorizer: every claim arrives as a string, an array joined by
/// commas with no space (`a,b`), as the Chalice and serverless projects observed
/// (aws/chalice#783, and "API Gateway Cognito authorizer JWT claim conversion" write-ups). A
/// group whose own name contains a comma cannot be told from two groups in this shape: no piece
/// with a quote, bracket or whitespace is matched, and docs/access.md says that group names
/// with a comma must not be used with a REST API. A JSON array (a test event, or REST API's
/// newer JWT authorizer, which keeps claim types) is read item by item, exactly.
pub fn rest_api_groups(claim: &Value) -> Vec<String> {
    let names: Vec<&str> = match claim {
        Value::String(raw) => raw.split(',').collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    names
        .into_iter()
        .filter(|name| is_matchable_group(name))
        .map(str::to_owned)
        .collect()
}

/// REST API claims are strings; a test event or a custom authorizer may hand over numbers or
/// booleans, which compare as their text. Arrays and nested values are not claims we read as
/// text (groups are read by [`rest_api_groups`]).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    fn context_of(event: &str) -> RequestContext {
        lambda_http::request::from_str(event)
            .unwrap()
            .request_context()
    }

    fn rest(raw: &str) -> Vec<String> {
        rest_api_groups(&Value::from(raw))
    }

    #[test]
    fn http_api_groups_are_the_items_of_the_flattened_array() {
        assert_eq!(
            http_api_groups("[analysts ml-team]"),
            ["analysts", "ml-team"]
        );
        assert_eq!(http_api_groups("[analysts]"), ["analysts"]);
        assert_eq!(http_api_groups("analysts"), ["analysts"]);
        assert_eq!(http_api_groups("[]"), Vec::<String>::new());
        assert_eq!(http_api_groups("[é-équipe ops]"), ["é-équipe", "ops"]);
    }

    #[test]
    fn http_api_group_names_with_separators_or_quotes_never_match() {
        // Cognito groups named `ops,ml-team` and `"ml-team"` and `[ml-team]`.
        assert_eq!(http_api_groups("[ops,ml-team]"), Vec::<String>::new());
        assert_eq!(http_api_groups("[\"ml-team\" analysts]"), ["analysts"]);
        assert_eq!(http_api_groups("[[ml-team] analysts]"), ["analysts"]);
        assert_eq!(http_api_groups("[analysts, ml-team]"), ["ml-team"]);
        assert_eq!(http_api_groups("\"ml-team\""), Vec::<String>::new());
        assert_eq!(http_api_groups(" [ml-team] "), Vec::<String>::new());
    }

    #[test]
    fn rest_api_groups_are_split_on_commas_only() {
        assert_eq!(rest("analysts,ml-team"), ["analysts", "ml-team"]);
        assert_eq!(rest("analysts"), ["analysts"]);
        assert_eq!(rest(""), Vec::<String>::new());
        // Neither whitespace nor quotes nor brackets are separators, and no piece holding one
        // is matched.
        assert_eq!(rest("analysts ml-team"), Vec::<String>::new());
        assert_eq!(rest("\"ml-team\",analysts"), ["analysts"]);
        assert_eq!(rest("[ml-team analysts]"), Vec::<String>::new());
        assert_eq!(rest("analysts, ml-team"), ["analysts"]);
        assert_eq!(
            rest_api_groups(&serde_json::json!(["ops,ml-team", "analysts", 7])),
            ["analysts"]
        );
    }

    #[test]
    fn rest_api_cognito_claims_are_read() {
        let context = context_of(include_str!("../events/rest-targets.json"));
        let claims = Claims::from_request_context(&context).unwrap();
        assert!(claims.get("sub").is_some());
        assert_eq!(claims.get("token_use"), Some("id"));
        assert_eq!(claims.groups(), ["ml-team", "analysts"]);
    }

    #[test]
    fn http_api_jwt_claims_are_read() {
        let context = context_of(include_str!("../events/http-targets.json"));
        let claims = Claims::from_request_context(&context).unwrap();
        assert!(claims.get("sub").is_some());
        assert_eq!(claims.get("token_use"), Some("access"));
        assert_eq!(claims.groups(), ["ml-team", "analysts"]);
    }

    #[test]
    fn rest_lambda_authorizer_context_is_not_an_identity() {
        let event =
            include_str!("../events/rest-targets.json").replace("\"claims\"", "\"context\"");
        assert_eq!(Claims::from_request_context(&context_of(&event)), None);
    }

    #[test]
    fn blank_claims_count_as_missing() {
        let claims = Claims::from_pairs([("sub", "  "), ("email", "a@example.com")]);
        assert_eq!(claims.get("sub"), None);
        assert_eq!(claims.get("email"), Some("a@example.com"));
    }
}
