//! Property tests over hostile input: any claims (both authorizer shapes, blank, huge, non-ASCII,
//! control characters, duplicated keys, Cognito group names holding separators or quotes), any
//! path and any tags, through the real handler and SDK client against the in-process SageMaker
//! stub, and any headers (hosts, schemes, control characters). Nothing panics, no name SageMaker
//! would reject is sent to it, nothing is presigned for a caller whose claims do not match its
//! tags, and an event lambda_http cannot read is refused before any call. On the start and stop
//! routes, with any claims, name and method, no state change is sent for a notebook
//! whose tags do not match the caller, nor for a space's app but by its owner, nor by anything
//! but a POST. With two Studio domains, whatever `domain` a Studio request names,
//! SageMaker is asked about configured domains only.
//!
//! `cargo test --release --test properties` runs 256 cases per property; set `PROPTEST_CASES`
//! for a long run (e.g. `PROPTEST_CASES=20000`).

#[allow(dead_code)]
#[path = "../gate/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../gate/stub.rs"]
mod stub;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use std::cell::RefCell;
use std::collections::BTreeMap;

use helpers::{ALICE, GROUP, OWNER, Reply, TestGate, claims, event, with_path, with_query};
use stub::Call;

/// One property's run: the gate over the stub on one runtime, a proptest runner that keeps no
/// failure file, and the statuses the cases were answered with.
struct Harness {
    runtime: tokio::runtime::Runtime,
    gate: TestGate,
    statuses: RefCell<BTreeMap<u16, u32>>,
}

impl Harness {
    /// The demo world, with the gate configured by `env`.
    fn new(env: &[(&str, &str)]) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let gate = runtime.block_on(TestGate::with_env(env));
        Self {
            runtime,
            gate,
            statuses: RefCell::default(),
        }
    }

    /// Runs `property` over the cases `strategy` generates; a failure panics with the smallest
    /// case proptest found.
    fn run<S: Strategy>(
        &self,
        strategy: &S,
        property: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) {
        let mut runner = TestRunner::new(Config {
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(error) = runner.run(strategy, property) {
            panic!("{error}");
        }
    }

    /// Sends an event as JSON text (what a request builder makes), counting its status.
    fn send_text(&self, event: &str) -> Reply {
        let reply = self.runtime.block_on(self.gate.send_text(event));
        *self.statuses.borrow_mut().entry(reply.status).or_default() += 1;
        reply
    }

    fn send(&self, event: Value) -> Reply {
        self.send_text(&event.to_string())
    }

    /// Forgets every notebook instance and call, and adds the world's, each in `status(i)`.
    fn plant(&self, world: &World, status: fn(usize) -> &'static str) {
        self.gate.stub.forget_notebooks();
        for (i, (name, tags)) in world.iter().enumerate() {
            let tags: Vec<(&str, &str)> =
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            self.gate.stub.notebook(name, status(i), &tags);
        }
    }

    fn count(&self, status: u16) -> u32 {
        self.statuses.borrow().get(&status).copied().unwrap_or(0)
    }

    fn cases(&self) -> u32 {
        self.statuses.borrow().values().sum()
    }

    /// The generators must reach every outcome often, or the property says little: each count
    /// in `seen` is at least one case in `one_in`.
    fn assert_reached(&self, seen: &[(&str, u32)], one_in: u32) {
        let cases = self.cases();
        eprintln!(
            "{cases} cases, answers by status: {:?}",
            self.statuses.borrow()
        );
        for (what, seen) in seen {
            assert!(
                seen * one_in >= cases,
                "only {seen} of {cases} cases {what}"
            );
        }
    }
}

/// Notebook instances by name, with their tags.
type World = Vec<(String, Vec<(String, String)>)>;

/// The tags of the world's notebook `name`, which the gate just sent a call for.
fn tags_of<'w>(
    world: &'w World,
    name: &str,
    what: &str,
) -> Result<&'w [(String, String)], TestCaseError> {
    world
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, tags)| tags.as_slice())
        .ok_or_else(|| TestCaseError::fail(format!("{what} unknown {name:?}")))
}

/// Whether any of the tags lets this caller in: an owner tag one of their `sub`s claims, or a
/// group tag one of their groups claims.
fn tags_match(tags: &[(String, String)], request: &Request) -> bool {
    tags.iter().any(|(key, value)| {
        (key == OWNER && owner_claimed(value, request))
            || (key == GROUP && group_claimed(value, request))
    })
}

/// Strings an attacker or a broken identity provider could put in a claim.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(ALICE.to_owned()),
        Just(format!(" {ALICE} ")),
        Just(ALICE.to_uppercase()),
        Just(ALICE[..8].to_owned()),
        Just(format!("{ALICE}\u{0}")),
        Just("ml-team".to_owned()),
        Just("ml".to_owned()),
        Just("ML-TEAM".to_owned()),
        "[a-z-]{1,12}",
        "\\PC{0,40}",
        ".{0,40}",
        "[ -~]{200,300}",
    ]
}

/// A Cognito group name: any letter, mark, symbol, number or punctuation, no whitespace
/// (`[\p{L}\p{M}\p{S}\p{N}\p{P}]+`), and so sometimes the separators API Gateway flattens a
/// list with, or a quote. Near misses of the `ml-team` tag are likely on purpose.
fn group_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("ml-team".to_owned()),
        1 => Just("analysts".to_owned()),
        1 => Just("ops,ml-team".to_owned()),
        1 => Just("\"ml-team\"".to_owned()),
        1 => Just("[ml-team]".to_owned()),
        1 => Just("ml-team,".to_owned()),
        1 => Just("ml-team]".to_owned()),
        2 => "[a-z,\\[\\]\"-]{1,12}",
        2 => "[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]{1,16}",
    ]
}

/// The caller's groups: a list of real names, flattened as the request's authorizer does, or a
/// malformed claim an authorizer would never write.
#[derive(Debug, Clone)]
enum Groups {
    Names(Vec<String>),
    Raw(String),
}

fn groups_claim() -> impl Strategy<Value = Groups> {
    let names = prop::collection::vec(group_name(), 0..4).prop_map(Groups::Names);
    let raw = (prop::collection::vec(hostile_text(), 0..4), 0..5u8).prop_map(|(names, shape)| {
        Groups::Raw(match shape {
            0 => names.join(","),
            1 => format!("[{}]", names.join(" ")),
            2 => format!("[{}]", names.join(", ")),
            3 => serde_json::to_string(&names).unwrap(),
            _ => names.concat(),
        })
    });
    prop_oneof![3 => names, 1 => raw]
}

impl Groups {
    /// The claim as the request's authorizer writes it: HTTP API `[a b]`, REST API `a,b`.
    fn claim(&self, rest: bool) -> String {
        match self {
            Self::Names(names) if rest => names.join(","),
            Self::Names(names) => format!("[{}]", names.join(" ")),
            Self::Raw(raw) => raw.clone(),
        }
    }
}

/// A tag world: a few notebook instances with tags near to and far from the caller's claims.
fn world() -> impl Strategy<Value = World> {
    let key = prop_oneof![
        4 => Just(OWNER.to_owned()),
        3 => Just(GROUP.to_owned()),
        1 => Just("notebook-gate:Owner".to_owned()),
        1 => Just(format!("{OWNER} ")),
        1 => Just("owner".to_owned()),
    ];
    let value = prop_oneof![
        4 => Just(ALICE.to_owned()),
        3 => Just("ml-team".to_owned()),
        2 => group_name(),
        3 => hostile_text(),
    ];
    let tags = prop::collection::vec((key, value), 0..3);
    prop::collection::vec(tags, 1..4).prop_map(|all| {
        all.into_iter()
            .enumerate()
            .map(|(i, tags)| (format!("nb-{i}"), tags))
            .collect()
    })
}

/// A path segment: a real notebook's name, or anything.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => Just("nb-0".to_owned()),
        8 => Just("nb-1".to_owned()),
        1 => Just("nb-0%2F..%2Fnb-1".to_owned()),
        1 => Just("nb-0%252F".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just("nb-0/".to_owned()),
        1 => "[a-zA-Z0-9-]{0,70}",
        1 => "\\PC{0,20}",
    ]
}

#[derive(Debug, Clone)]
struct Request {
    rest: bool,
    sub: Option<String>,
    extra_sub: Option<String>,
    groups: Option<Groups>,
    name: String,
    session: Option<String>,
}

fn request() -> impl Strategy<Value = Request> {
    let sub = prop_oneof![
        6 => Just(Some(ALICE.to_owned())),
        1 => Just(None),
        3 => hostile_text().prop_map(Some),
    ];
    let extra_sub = prop_oneof![8 => Just(None), 2 => hostile_text().prop_map(Some)];
    let groups = prop_oneof![
        3 => Just(Some(Groups::Names(vec!["ml-team".to_owned()]))),
        3 => Just(Some(Groups::Names(vec!["ml-team".to_owned(), "analysts".to_owned()]))),
        1 => Just(None),
        5 => groups_claim().prop_map(Some),
    ];
    let session = prop_oneof![
        8 => Just(None),
        1 => Just(Some("3600".to_owned())),
        1 => "\\PC{0,8}".prop_map(Some),
    ];
    (any::<bool>(), sub, extra_sub, groups, name(), session).prop_map(
        |(rest, sub, extra_sub, groups, name, session)| Request {
            rest,
            sub,
            extra_sub,
            groups,
            name,
            session,
        },
    )
}

/// The open's event as JSON text.
fn event_text(request: &Request) -> String {
    event_text_at(
        request,
        &format!("/notebook-instances/{}", request.name),
        "GET",
    )
}

/// The event for a path and method as JSON text; a second `sub` key, when present, is written
/// after the first.
fn event_text_at(request: &Request, path: &str, method: &str) -> String {
    let mut event = with_path(
        event(if request.rest {
            "rest-notebook"
        } else {
            "http-notebook"
        }),
        path,
    );
    event = helpers::with_method(event, method);
    if let Some(session) = &request.session {
        event = with_query(event, &[("session", session.as_str())]);
    }
    let claims = claims(&mut event);
    claims.retain(|k, _| k != "sub" && k != "cognito:groups");
    if let Some(groups) = &request.groups {
        claims.insert("cognito:groups".into(), json!(groups.claim(request.rest)));
    }
    if let Some(sub) = &request.sub {
        claims.insert("sub".into(), json!(sub));
    }
    let text = event.to_string();
    match (&request.extra_sub, &request.sub) {
        (Some(extra), Some(_)) => {
            let marker = "\"sub\":";
            let duplicate = format!("{marker}{},{marker}", Value::from(extra.as_str()));
            text.replacen(marker, &duplicate, 1)
        }
        _ => text,
    }
}

/// An owner tag value that one of the caller's `sub` claims (trimmed) could legitimately match.
fn owner_claimed(value: &str, request: &Request) -> bool {
    !value.is_empty()
        && [&request.sub, &request.extra_sub]
            .iter()
            .filter_map(|s| s.as_deref())
            .any(|s| s.trim() == value)
}

/// Whether a group tag value may open for this caller. A list of names: only a whole name that
/// holds no separator, quote or bracket, except that a REST API's `a,b` cannot tell a name with a
/// comma from two names (the documented limit), so there each comma-separated piece counts. A
/// malformed claim: at most a whole token of it, however split.
fn group_claimed(value: &str, request: &Request) -> bool {
    let plain = |name: &str| {
        !name.is_empty()
            && !name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || ",\"[]".contains(c))
    };
    plain(value)
        && match &request.groups {
            None => false,
            Some(Groups::Names(names)) if request.rest => names
                .iter()
                .flat_map(|n| n.split(','))
                .any(|piece| piece == value),
            Some(Groups::Names(names)) => names.iter().any(|n| n == value),
            Some(Groups::Raw(raw)) => raw
                .split(|c: char| c == ',' || c.is_whitespace() || "[]\"".contains(c))
                .any(|token| token == value),
        }
}

fn is_sagemaker_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[test]
fn no_request_opens_a_notebook_whose_tags_do_not_match_the_caller() {
    let h = Harness::new(&[]);
    h.run(&(world(), request()), |(world, request)| {
        h.plant(&world, |_| "InService");
        let reply = h.send_text(&event_text(&request));
        let calls = h.gate.stub.calls();

        prop_assert!(
            [200, 302, 400, 401, 404].contains(&reply.status),
            "unexpected status {}: {}",
            reply.status,
            reply.body
        );
        for call in &calls {
            if let Some(name) = call.input["NotebookInstanceName"].as_str() {
                prop_assert!(is_sagemaker_name(name), "{name:?} reached SageMaker");
            }
        }
        let presigned: Vec<&str> = calls
            .iter()
            .filter(|c| c.operation == "CreatePresignedNotebookInstanceUrl")
            .filter_map(|c| c.input["NotebookInstanceName"].as_str())
            .collect();
        prop_assert_eq!(presigned.is_empty(), !matches!(reply.status, 200 | 302));
        for name in presigned {
            let tags = tags_of(&world, name, "presigned")?;
            prop_assert!(
                tags_match(tags, &request),
                "presigned {name} with tags {tags:?} for {request:?}"
            );
        }
        Ok(())
    });
    h.assert_reached(
        &[
            ("opened (200 or 302)", h.count(200) + h.count(302)),
            ("refused as invalid (400)", h.count(400)),
            ("refused as unauthenticated (401)", h.count(401)),
            ("refused as not theirs (404)", h.count(404)),
        ],
        100,
    );
}

/// Header text a client could send through API Gateway, or that a broken proxy could: hosts with
/// ports, IPv6, spaces, percent signs, schemes of any length, control characters.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("api.example.com".to_owned()),
        Just("[::1]:443".to_owned()),
        Just("::1".to_owned()),
        Just("127.0.0.1:65536".to_owned()),
        Just("a%20b".to_owned()),
        Just("https".to_owned()),
        "[a-z0-9.:-]{0,20}",
        "[ -~]{0,70}",
        "\\PC{0,20}",
        ".{0,20}",
        prop::collection::vec(any::<u8>().prop_map(char::from), 0..12)
            .prop_map(|chars| chars.into_iter().collect()),
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("host".to_owned()),
        4 => Just("x-forwarded-proto".to_owned()),
        2 => Just("user-agent".to_owned()),
        1 => Just("accept".to_owned()),
        1 => "[a-zA-Z0-9 _:-]{1,12}",
    ]
}

#[test]
fn no_header_makes_the_gate_panic_or_call_sagemaker_when_refused() {
    let h = Harness::new(&[]);
    let headers = prop::collection::vec((header_name(), header_text()), 1..4);
    h.run(&(any::<bool>(), headers), |(rest, headers)| {
        h.gate.stub.forget_calls();
        let mut event = event(if rest {
            "rest-notebook"
        } else {
            "http-notebook"
        });
        for (name, value) in &headers {
            event = helpers::with_header(event, name, value);
        }
        // A panic here (in lambda_http's conversion) fails the property.
        let reply = h.send(event);
        prop_assert!(
            [200, 302, 400].contains(&reply.status),
            "status {} for {headers:?}: {}",
            reply.status,
            reply.body
        );
        if reply.status == 400 {
            prop_assert_eq!(reply.error_code(), "invalid_request");
            prop_assert!(h.gate.stub.calls().is_empty());
        }
        Ok(())
    });
    // The generators must reach refusals and answers alike, or the property says little.
    let (refused, cases) = (h.count(400), h.cases());
    h.assert_reached(&[("refused", refused)], 10);
    assert!(refused * 10 <= cases * 9, "{refused} of {cases} refused");
}

/// A start or stop route and method, on a generated name.
#[derive(Debug, Clone)]
enum Change {
    Start,
    Stop,
    StopSpace(String),
}

fn change() -> impl Strategy<Value = (Change, &'static str)> {
    let space = prop_oneof![
        3 => Just("alice-space".to_owned()),
        2 => Just("team-space".to_owned()),
        2 => Just("bob-space".to_owned()),
        1 => Just("ALICE-SPACE".to_owned()),
        2 => name(),
    ];
    let change = prop_oneof![
        3 => Just(Change::Start),
        3 => Just(Change::Stop),
        3 => space.prop_map(Change::StopSpace),
    ];
    let method = prop_oneof![8 => Just("POST"), 1 => Just("GET"), 1 => Just("PUT")];
    (change, method)
}

const STATE_CHANGES: [&str; 3] = ["StartNotebookInstance", "StopNotebookInstance", "DeleteApp"];

#[test]
fn no_hostile_request_changes_a_state_for_anyone_but_whose_it_is() {
    let h = Harness::new(&[]);
    let changed = std::cell::Cell::new(0u32);
    h.run(
        &(world(), request(), change()),
        |(world, request, (change, method))| {
            // Every notebook and app can change: even ones run, odd ones are stopped.
            h.plant(&world, |i| if i % 2 == 0 { "InService" } else { "Stopped" });
            h.gate.stub.forget_apps();
            for space in ["alice-space", "team-space", "bob-space"] {
                h.gate.stub.app(
                    space,
                    "JupyterLab",
                    "default",
                    "InService",
                    "ml.t3.medium",
                    0,
                );
            }
            let path = match &change {
                Change::Start => format!("/notebook-instances/{}/start", request.name),
                Change::Stop => format!("/notebook-instances/{}/stop", request.name),
                Change::StopSpace(space) => format!("/studio/spaces/{space}/stop"),
            };
            let reply = h.send_text(&event_text_at(&request, &path, method));
            prop_assert!(
                [200, 202, 400, 401, 403, 404, 405, 409].contains(&reply.status),
                "unexpected status {}: {}",
                reply.status,
                reply.body
            );
            let calls: Vec<Call> = h
                .gate
                .stub
                .calls()
                .into_iter()
                .filter(|c| STATE_CHANGES.contains(&c.operation.as_str()))
                .collect();
            prop_assert!(calls.len() <= 1, "{calls:?}");
            if !calls.is_empty() {
                changed.set(changed.get() + 1);
                prop_assert_eq!(method, "POST");
                prop_assert_eq!(reply.status, 202);
            }
            for call in &calls {
                if call.operation == "DeleteApp" {
                    // Only Alice's own space, and only while her profile's owner tag is hers.
                    prop_assert_eq!(call.input["SpaceName"].as_str(), Some("alice-space"));
                    prop_assert!(owner_claimed(ALICE, &request), "{request:?}");
                    continue;
                }
                let name = call.input["NotebookInstanceName"]
                    .as_str()
                    .unwrap_or_default();
                let tags = tags_of(&world, name, "changed")?;
                prop_assert!(
                    tags_match(tags, &request),
                    "{} {name} with tags {tags:?} for {request:?}",
                    call.operation
                );
            }
            Ok(())
        },
    );
    eprintln!("{} changed a state", changed.get());
    h.assert_reached(
        &[
            ("changed a state", changed.get()),
            ("refused as invalid (400)", h.count(400)),
            ("refused as unauthenticated (401)", h.count(401)),
            ("refused as not theirs (404)", h.count(404)),
            ("refused as another method (405)", h.count(405)),
        ],
        100,
    );
}

/// The second domain the domain property configures.
const OTHER_DOMAIN: &str = "d-other000002";

/// SageMaker's domain id pattern, `d-(-*[a-z0-9]){1,61}`, written again here so the property does
/// not take the gate's word for it.
fn is_domain_id(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("d-") else {
        return false;
    };
    let alnum = rest
        .bytes()
        .filter(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        .count();
    (1..=61).contains(&alnum)
        && rest
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_lowercase() || b.is_ascii_digit())
        && !rest.ends_with('-')
}

/// A `domain` parameter: left out, a configured domain, a well-formed other one, a near miss or
/// anything at all.
fn domain_param() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        3 => Just(Some(helpers_domain().to_owned())),
        3 => Just(Some(OTHER_DOMAIN.to_owned())),
        2 => "d-[a-z0-9-]{0,14}".prop_map(Some),
        1 => Just(Some(format!("{OTHER_DOMAIN},{}", helpers_domain()))),
        1 => Just(Some(OTHER_DOMAIN.to_uppercase())),
        2 => hostile_text().prop_map(Some),
    ]
}

fn helpers_domain() -> &'static str {
    stub::DOMAIN_ID
}

/// Several domains: with two domains configured, whatever `domain` a request names on any Studio route,
/// SageMaker is only ever asked about a configured domain; a missing `domain` is 400, a malformed
/// one 400, a well-formed unconfigured one 404, each with no call at all.
#[test]
fn no_request_reaches_a_domain_that_is_not_configured() {
    let domains = format!("{},{OTHER_DOMAIN}", helpers_domain());
    let h = Harness::new(&[("STUDIO_DOMAIN_IDS", domains.as_str())]);
    h.gate
        .stub
        .domain(OTHER_DOMAIN, "platform")
        .profile_in(OTHER_DOMAIN, "alice", &[(OWNER, ALICE)])
        .space_in(OTHER_DOMAIN, "alice-space", Some("alice"), false);
    let configured = [helpers_domain(), OTHER_DOMAIN];
    let route = prop_oneof![
        Just(("rest-studio", "/studio", "GET")),
        Just(("rest-studio", "/launch/studio", "GET")),
        Just(("rest-stop-space", "/studio/spaces/alice-space/stop", "POST")),
    ];
    h.run(
        &(domain_param(), route),
        |(domain, (base, path, method))| {
            h.gate.stub.forget_calls();
            let mut request = helpers::with_method(with_path(event(base), path), method);
            request = helpers::with_header(request, "Accept", "application/json");
            let mut query = vec![("space", "alice-space")];
            if let Some(domain) = &domain {
                query.push(("domain", domain.as_str()));
            }
            request = with_query(request, &query);
            let reply = h.send(request);
            let calls = h.gate.stub.calls();
            match domain.as_deref() {
                Some(d) if configured.contains(&d) => {
                    // Opened (a launch route redirects), or a stop done or under way.
                    prop_assert!(
                        [200, 202, 302].contains(&reply.status),
                        "{d}: {}",
                        reply.body
                    );
                }
                Some(d) if is_domain_id(d) => {
                    prop_assert_eq!(reply.status, 404, "{}", reply.body);
                    prop_assert!(calls.is_empty(), "{calls:?}");
                }
                _ => {
                    prop_assert_eq!(reply.status, 400, "{:?}: {}", domain, reply.body);
                    prop_assert!(calls.is_empty(), "{calls:?}");
                }
            }
            for call in &calls {
                let input = &call.input;
                for named in [&input["DomainId"], &input["DomainIdEquals"]] {
                    if let Some(d) = named.as_str() {
                        prop_assert!(configured.contains(&d), "{} in {d}", call.operation);
                    }
                }
                if let Some(arn) = input["ResourceArn"].as_str() {
                    prop_assert!(
                        configured
                            .iter()
                            .any(|d| arn.contains(&format!(":user-profile/{d}/"))),
                        "{arn}"
                    );
                }
            }
            Ok(())
        },
    );
    h.assert_reached(
        &[
            ("200", h.count(200)),
            ("400", h.count(400)),
            ("404", h.count(404)),
        ],
        20,
    );
}

/// Whatever groups a company's identity provider sends, in the shape its kind of provider
/// arrives in, the sign-in trigger passes on only names the provider sent, exactly, and only
/// names the gate can match: it never makes a group out of pieces or trims one into another.
#[test]
fn no_provider_group_reaches_the_tokens_unless_the_provider_sent_it_exactly() {
    use notebook_gate::provider_groups::{Encoding, is_matchable_group, parse};
    let names = prop::collection::vec(prop_oneof![group_name(), hostile_text()], 0..6);
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(names, any::<bool>()), |(names, saml)| {
            // SAML's flattened form cannot carry a name holding its own separator: such a list
            // is ambiguous at the source, and docs/deploy.md says so.
            if saml && names.iter().any(|n| n.contains(", ")) {
                return Ok(());
            }
            let (raw, encoding) = if saml {
                (format!("[{}]", names.join(", ")), Encoding::Flattened)
            } else {
                (serde_json::to_string(&names).unwrap(), Encoding::Json)
            };
            let groups = parse(&raw, encoding);
            for kept in &groups.kept {
                prop_assert!(names.contains(kept), "{kept:?} was not sent in {raw:?}");
                prop_assert!(is_matchable_group(kept), "{kept:?}");
            }
            if !saml {
                // JSON is exact: every matchable name sent is passed on.
                for name in names.iter().filter(|n| is_matchable_group(n)) {
                    prop_assert!(groups.kept.contains(name), "{name:?} lost from {raw:?}");
                }
            }
            Ok(())
        })
        .unwrap();
}
