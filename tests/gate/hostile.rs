//! Events `lambda_http` cannot turn into a request: refused with a 400 JSON error
//! before anything else, never a panic and never a SageMaker call.

use serde_json::json;

use crate::helpers::*;

fn assert_refused(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", reply.body);
    assert_eq!(reply.error_code(), "invalid_request", "{what}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

const SHAPES: [&str; 2] = ["http-notebook", "rest-notebook"];

#[tokio::test]
async fn a_host_that_is_not_a_host_is_400_without_any_call() {
    let t = TestGate::new().await;
    for shape in SHAPES {
        for host in [
            "a b",
            "::1",
            "127.0.0.1:65536",
            "a%20b",
            "a/b",
            "[::1",
            "x:y:z",
            "a b.test",
        ] {
            let reply = t.send(with_header(event(shape), "host", host)).await;
            assert_refused(&reply, &format!("{shape} Host {host:?}"));
        }
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn an_odd_or_long_forwarded_proto_is_400() {
    let t = TestGate::new().await;
    for shape in SHAPES {
        for proto in ["ht tp", "1https", "https:", &"h".repeat(70), "%"] {
            let reply = t
                .send(with_header(event(shape), "x-forwarded-proto", proto))
                .await;
            assert_refused(&reply, &format!("{shape} X-Forwarded-Proto {proto:?}"));
        }
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn control_characters_in_a_header_are_400() {
    let t = TestGate::new().await;
    for shape in SHAPES {
        for value in ["a\u{0}b", "\u{1}", "line\nbreak", "del\u{7f}"] {
            let reply = t.send(with_header(event(shape), "user-agent", value)).await;
            assert_refused(&reply, &format!("{shape} User-Agent {value:?}"));
        }
        let reply = t.send(with_header(event(shape), "bad name", "x")).await;
        assert_refused(&reply, &format!("{shape} header name with a space"));
    }
    assert!(t.stub.calls().is_empty());
}

#[tokio::test]
async fn a_body_marked_base64_that_does_not_decode_is_400() {
    let t = TestGate::new().await;
    for shape in SHAPES {
        let mut event = event(shape);
        event["isBase64Encoded"] = json!(true);
        event["body"] = json!("not base64!");
        assert_refused(&t.send(event).await, shape);
    }
}

#[tokio::test]
async fn unusual_but_valid_hosts_and_schemes_are_served() {
    let t = TestGate::new().await;
    for shape in SHAPES {
        for host in [
            "[::1]:8443",
            "127.0.0.1:65535",
            "api.example.com",
            "xn--bcher-kva.example",
        ] {
            let reply = t.send(with_header(event(shape), "host", host)).await;
            assert!(
                [200, 302].contains(&reply.status),
                "{shape} Host {host:?}: {}",
                reply.body
            );
        }
        let reply = t
            .send(with_header(event(shape), "x-forwarded-proto", "http"))
            .await;
        assert!([200, 302].contains(&reply.status), "{}", reply.body);
    }
}

#[tokio::test]
async fn a_refusal_carries_the_request_id_and_echoes_no_input() {
    let t = TestGate::new().await;
    let reply = t
        .send(with_header(
            event("http-notebook"),
            "host",
            "<script>x</script> y",
        ))
        .await;
    assert_refused(&reply, "script host");
    assert!(!reply.body.contains("script"), "{}", reply.body);
    let id = event("http-notebook")["requestContext"]["requestId"].clone();
    assert_eq!(reply.json()["error"]["requestId"], id);
}
