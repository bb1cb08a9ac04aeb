//! Repairs the one part of an API Gateway event that `lambda_http` cannot turn into a `Request`.
//!
//! An HTTP API event's `rawQueryString` is the query exactly as the client sent it, and clients
//! do send characters a URI may not hold (`"`, `<`, `{`, a space, non-ASCII bytes). `lambda_http`
//! appends it to the request URI and panics when that URI does not parse: the runtime would report
//! the invocation as failed and API Gateway answer 502. Percent-encoding those characters first
//! keeps every value as the client meant it (the query is decoded again when it is read) and lets
//! the gate answer such a request like any other.

use lambda_http::LambdaEvent;
use lambda_http::request::LambdaRequest;

/// The runtime's view: repairs the payload of each event before `lambda_http` converts it.
pub fn repair(mut event: LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest> {
    repair_request(&mut event.payload);
    event
}

pub fn repair_request(request: &mut LambdaRequest) {
    if let LambdaRequest::ApiGatewayV2(http) = request
        && let Some(query) = http.raw_query_string.as_mut()
        && !query.bytes().all(is_query_byte)
    {
        *query = percent_encode_invalid(query);
    }
}

/// RFC 3986 `query`: unreserved, sub-delims, `:`, `@`, `/`, `?`, and `%` of a percent-encoding.
fn is_query_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte)
}

fn percent_encode_invalid(query: &str) -> String {
    let mut encoded = String::with_capacity(query.len() * 3);
    for byte in query.bytes() {
        if is_query_byte(byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    fn http_event_with_query(raw: &str) -> LambdaRequest {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../events/http-targets.json")).unwrap();
        event["rawQueryString"] = raw.into();
        serde_json::from_value(event).unwrap()
    }

    #[test]
    fn a_query_with_characters_a_uri_may_not_hold_still_becomes_a_request() {
        let mut event = http_event_with_query("app=\"jupyter lab\"&space=é<x>{y}|`^\\");
        repair_request(&mut event);
        let request = lambda_http::Request::from(event);
        let query = request.query_string_parameters();
        assert_eq!(query.first("app"), Some("\"jupyter lab\""));
        assert_eq!(query.first("space"), Some("é<x>{y}|`^\\"));
    }

    #[test]
    fn a_valid_query_is_left_exactly_as_sent() {
        let raw = "space=team-shared&app=jupyterlab&x=%20a%2Fb";
        let mut event = http_event_with_query(raw);
        repair_request(&mut event);
        let LambdaRequest::ApiGatewayV2(http) = &event else {
            panic!("an HTTP API event")
        };
        assert_eq!(http.raw_query_string.as_deref(), Some(raw));
    }
}
