//! Caller identity, read only from the claims API Gateway's authorizer put in the request context.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use serde_json::Value;

/// The verified token claims of one request, as strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims(HashMap<String, String>);

impl Claims {
    /// Claims from a REST API Cognito authorizer (`authorizer.claims`) or an HTTP API JWT authorizer
    /// (`authorizer.jwt.claims`). Anything else, such as a Lambda authorizer's free-form context,
    /// headers or the body, is not an identity: `None`.
    pub fn from_request_context(context: &RequestContext) -> Option<Self> {
        match context {
            RequestContext::ApiGatewayV1(rest) => match rest.authorizer.fields.get("claims")? {
                Value::Object(claims) => Some(Self(
                    claims
                        .iter()
                        .filter_map(|(name, value)| Some((name.clone(), scalar(value)?)))
                        .collect(),
                )),
                _ => None,
            },
            RequestContext::ApiGatewayV2(http) => {
                let jwt = http.authorizer.as_ref()?.jwt.as_ref()?;
                Some(Self(jwt.claims.clone()))
            }
            _ => None,
        }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// A claim's value, when it is present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The caller's Cognito groups, from either of the shapes API Gateway flattens the array into:
    /// `a,b` (REST API) or `[a b]` (HTTP API).
    pub fn groups(&self) -> Vec<&str> {
        self.get("cognito:groups")
            .map(parse_groups)
            .unwrap_or_default()
    }
}

/// Cognito group names cannot contain whitespace, so commas, whitespace and the brackets around a
/// flattened array are all separators.
pub fn parse_groups(raw: &str) -> Vec<&str> {
    let inner = raw.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(inner);
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|g| g.trim_matches('"'))
        .filter(|g| !g.is_empty())
        .collect()
}

/// REST API claims are strings; a test event or a custom authorizer may hand over numbers or
/// booleans, which compare as their text. Nested values are not claims we use.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
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

    #[test]
    fn groups_from_rest_and_http_api_shapes_agree() {
        assert_eq!(parse_groups("analysts,ml-team"), ["analysts", "ml-team"]);
        assert_eq!(parse_groups("[analysts ml-team]"), ["analysts", "ml-team"]);
        assert_eq!(parse_groups("[analysts, ml-team]"), ["analysts", "ml-team"]);
        assert_eq!(parse_groups("analysts"), ["analysts"]);
        assert_eq!(parse_groups("[]"), Vec::<&str>::new());
        assert_eq!(parse_groups(" , "), Vec::<&str>::new());
    }

    #[test]
    fn rest_api_cognito_claims_are_read() {
        let context = context_of(include_str!("../events/rest-targets.json"));
        let claims = Claims::from_request_context(&context).unwrap();
        assert!(claims.get("sub").is_some());
        assert_eq!(claims.get("token_use"), Some("id"));
        assert!(!claims.groups().is_empty());
    }

    #[test]
    fn http_api_jwt_claims_are_read() {
        let context = context_of(include_str!("../events/http-targets.json"));
        let claims = Claims::from_request_context(&context).unwrap();
        assert!(claims.get("sub").is_some());
        assert_eq!(claims.get("token_use"), Some("access"));
        assert!(!claims.groups().is_empty());
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
