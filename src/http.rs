//! The Lambda adapter: an API Gateway request in, the gate's decision, an HTTP response out.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sagemaker::primitives::{DateTime, DateTimeFormat};
use lambda_http::http::header::{self, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde_json::{Value, json};

use crate::caller::{Caller, session_seconds, source_allowed};
use crate::calls::{Calls, Changed, MayStart, Opening, STARTING_RETRY_AFTER, Target};
use crate::claims::Claims;
use crate::clock::Moment;
use crate::domains::DomainId;
use crate::error::GateError;
use crate::gate::{Gate, SageMaker};
use crate::keep::Kept;
use crate::lifecycle::LifecycleAction;
use crate::metrics::{Outcome, RequestMetrics};
use crate::mlflow::{MlflowAppId, TrackingServerName};
use crate::notebook::NotebookName;
use crate::routes::{Endpoint, Route};
use crate::running_time::parse_keep_body;
use crate::studio::{Domains, SpaceName, StudioApp};

/// The longest a request may take, whatever SageMaker does: below the Lambda timeout (15 s in the
/// template), above one SageMaker call's own bound (`sagemaker::OPERATION_TIMEOUT`).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// What the gate answers, before it becomes an HTTP response.
enum Reply {
    /// A success as JSON, with what its route says it counts as in the metrics.
    Json {
        status: StatusCode,
        body: Value,
        outcome: Outcome,
    },
    /// A start or stop: `202` with `Retry-After` while it is underway, else `200`.
    Changed(Changed),
    Redirect(String),
    Starting {
        target: Target,
        json: bool,
    },
    Preflight,
    Error(GateError),
    /// An error for a person whose browser navigated to `/launch/...`: a page, not JSON.
    ErrorPage(GateError),
}

/// Serves one API Gateway request (REST API v1 or HTTP API v2). Expected failures are answers, not
/// errors: this returns `Err` only if the runtime itself must report a failure, which it never does.
pub async fn handle<S: SageMaker>(
    gate: &Gate<S>,
    request: Request,
) -> Result<Response<Body>, Error> {
    let started = Instant::now();
    let context = request.request_context_ref();
    let request_id = context
        .and_then(api_request_id)
        .or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()))
        .unwrap_or_default();
    let source_ip = context.and_then(source_ip);
    let calls = gate.for_request(
        request
            .lambda_context_ref()
            .map(|c| c.invoked_function_arn.as_str()),
    );

    let path = route_path(&request);
    // With MLFLOW=false the MLflow routes do not exist, nor the launch routes with
    // LAUNCH_ROUTES=false: the same 404 as any unknown path, before anything else is looked at.
    let route = Route::parse(path)
        .filter(|r| gate.config.mlflow || !r.is_mlflow())
        .filter(|r| gate.config.launch_routes || !r.is_launch());
    let negotiated = negotiate(route, &request);
    let mut audit = Audit::default();
    let reply = match route {
        None => Reply::Error(GateError::NotFound),
        Some(_) if request.method() == Method::OPTIONS => Reply::Preflight,
        Some(route) if request.method().as_str() != route.spec.method => {
            Reply::Error(GateError::MethodNotAllowed(route.spec.method))
        }
        Some(route) => {
            let served = serve(
                &calls,
                &gate.studio_domains,
                &request,
                route,
                negotiated,
                source_ip,
                &mut audit,
            );
            match tokio::time::timeout(REQUEST_DEADLINE, served).await {
                Ok(Ok(reply)) => reply,
                Ok(Err(error)) => Reply::Error(error),
                Err(_) => Reply::Error(GateError::UpstreamTimeout),
            }
        }
    };

    let reply = match reply {
        Reply::Error(error) if negotiated.error_page => Reply::ErrorPage(error),
        other => other,
    };
    // What the request came to, for its metrics line (src/metrics.rs).
    let outcome = match &reply {
        Reply::Error(error) | Reply::ErrorPage(error) => Outcome::of_error(error),
        Reply::Json { outcome, .. } => *outcome,
        Reply::Redirect(_) => Outcome::Opened,
        Reply::Starting { .. } => Outcome::Starting,
        Reply::Changed(_) => Outcome::Changed,
        Reply::Preflight => Outcome::Preflight,
    };

    let allowed_origin = allowed_origin(&request, &gate.config.cors_allowed_origins);
    let response = into_response(
        reply,
        &request_id,
        allowed_origin,
        !gate.config.cors_allowed_origins.is_empty(),
    );

    tracing::info!(
        target: "audit",
        request_id = %request_id,
        method = %request.method(),
        route = route.map_or("unknown", Route::template),
        caller = audit.caller.as_deref().unwrap_or("-"),
        action = route.and_then(Route::action).map_or("-", LifecycleAction::as_str),
        resource = audit.resource.as_deref().unwrap_or("-"),
        outcome = audit.outcome.unwrap_or("-"),
        status = response.status().as_u16(),
        sagemaker_calls = calls.made(),
        sagemaker_ms = calls.waited().as_secs_f64() * 1000.0,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        source_ip = source_ip.map(|ip| ip.to_string()).as_deref().unwrap_or("-"),
        "request served"
    );
    RequestMetrics {
        route: route.map_or("unknown", Route::template),
        outcome,
        latency: started.elapsed(),
        sagemaker_time: calls.waited(),
        sagemaker_calls: calls.made(),
        request_id: &request_id,
    }
    .emit();
    Ok(response)
}

/// Who asked for what, for the audit line; filled in as far as a request gets.
#[derive(Default)]
struct Audit {
    caller: Option<String>,
    resource: Option<String>,
    /// What a start or stop came to ("started", "already stopped", ...).
    outcome: Option<&'static str>,
}

/// How a request is answered, decided once from its route and `Accept` header. An API client
/// (`Accept: application/json`) gets JSON; a browser gets a redirect or a page. A launch route is
/// a browser's navigation: it always answers a redirect or the wait page, and its errors are a
/// page unless the client asks for JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Negotiated {
    /// Answer an opened target or a wait as JSON (else a redirect or the wait page).
    json: bool,
    /// Answer an error as a page (else as JSON).
    error_page: bool,
}

fn negotiate(route: Option<Route<'_>>, request: &Request) -> Negotiated {
    let launch = route.is_some_and(Route::is_launch);
    let accepts_json = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/json"));
    Negotiated {
        json: !launch && accepts_json,
        error_page: launch && !accepts_json,
    }
}

/// What a route asks for, its names parsed into the types SageMaker calls take.
enum Wanted {
    Targets,
    Notebook(NotebookName),
    NotebookState(NotebookName),
    NotebookLifecycle(NotebookName, LifecycleAction),
    /// The domain is `None` when it is well-formed but not configured: 404 after the source check.
    SpaceStop(Option<DomainId>, SpaceName),
    Studio {
        domain: Option<DomainId>,
        space: Option<SpaceName>,
        app: Option<StudioApp>,
    },
    TrackingServer(TrackingServerName),
    MlflowApp(MlflowAppId),
    KeepNotebook(NotebookName, Moment),
    KeepSpace(Option<DomainId>, SpaceName, Moment),
    KeepTrackingServer(TrackingServerName, Moment),
}

/// Identity, input and source checks, in that order and all before SageMaker is called.
async fn serve<S: SageMaker>(
    calls: &Calls<'_, S>,
    domains: &Domains,
    request: &Request,
    route: Route<'_>,
    negotiated: Negotiated,
    source_ip: Option<IpAddr>,
    audit: &mut Audit,
) -> Result<Reply, GateError> {
    let config = calls.config();
    let claims = request
        .request_context_ref()
        .and_then(Claims::from_request_context)
        .ok_or(GateError::Unauthenticated)?;
    let caller = Caller::from_claims(&claims, config)?;
    audit.caller = Some(caller.owner.clone());
    if let Some(action) = route.action()
        && !config.lifecycle.allows(action)
    {
        return Err(GateError::ActionDisabled(action));
    }

    let query = request.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let session = if route.spec.params.contains(&"session") {
        Some(session_seconds(param("session"), config)?)
    } else {
        None
    };
    let name = route.name;
    let wanted = match route.spec.endpoint {
        Endpoint::Targets => Wanted::Targets,
        Endpoint::OpenNotebook => Wanted::Notebook(NotebookName::parse(name)?),
        Endpoint::NotebookState => Wanted::NotebookState(NotebookName::parse(name)?),
        Endpoint::OpenStudio => Wanted::Studio {
            domain: config.studio_domains.choose(param("domain"))?,
            space: param("space").map(SpaceName::parse).transpose()?,
            app: param("app").map(StudioApp::parse).transpose()?,
        },
        Endpoint::ChangeNotebook(action) => {
            Wanted::NotebookLifecycle(NotebookName::parse(name)?, action)
        }
        Endpoint::StopSpace => Wanted::SpaceStop(
            config.studio_domains.choose(param("domain"))?,
            SpaceName::parse(name)?,
        ),
        Endpoint::OpenTrackingServer => Wanted::TrackingServer(TrackingServerName::parse(name)?),
        Endpoint::OpenMlflowApp => Wanted::MlflowApp(MlflowAppId::parse(name)?),
        Endpoint::KeepNotebook => {
            Wanted::KeepNotebook(NotebookName::parse(name)?, parse_keep_body(request.body())?)
        }
        Endpoint::KeepSpace => Wanted::KeepSpace(
            config.studio_domains.choose(param("domain"))?,
            SpaceName::parse(name)?,
            parse_keep_body(request.body())?,
        ),
        Endpoint::KeepTrackingServer => Wanted::KeepTrackingServer(
            TrackingServerName::parse(name)?,
            parse_keep_body(request.body())?,
        ),
    };
    source_allowed(source_ip, &config.allowed_source_cidrs)?;

    let json = negotiated.json;
    let may_start = MayStart::for_open(config, route.is_launch());
    let caller = &caller;
    let session = session.unwrap_or_default();
    let opening = match wanted {
        Wanted::Targets => {
            let targets = calls.list_targets(domains, caller).await?;
            return Ok(Reply::Json {
                status: StatusCode::OK,
                body: json!(targets),
                outcome: route.spec.success,
            });
        }
        Wanted::Notebook(name) => {
            calls
                .open_notebook(caller, &name, session, may_start)
                .await?
        }
        Wanted::NotebookState(name) => {
            let state = calls.notebook_state(caller, &name).await?;
            audit.resource = Some(format!("notebook-instance/{}", state.name));
            return Ok(Reply::Json {
                status: StatusCode::OK,
                body: json!(state),
                outcome: route.spec.success,
            });
        }
        Wanted::NotebookLifecycle(name, action) => {
            let changed = calls.notebook_lifecycle(caller, &name, action).await?;
            return Ok(changed_reply(changed, audit));
        }
        Wanted::SpaceStop(domain, space) => {
            let domain = domain.ok_or(GateError::NotFound)?;
            let changed = calls.stop_space(domains, caller, &domain, &space).await?;
            return Ok(changed_reply(changed, audit));
        }
        Wanted::Studio { domain, space, app } => {
            let domain = domain.ok_or(GateError::NotFound)?;
            calls
                .open_studio(domains, caller, &domain, space.as_ref(), app, session)
                .await?
        }
        Wanted::TrackingServer(name) => {
            calls
                .open_tracking_server(caller, &name, session, may_start)
                .await?
        }
        Wanted::MlflowApp(id) => calls.open_mlflow_app(caller, &id, session).await?,
        Wanted::KeepNotebook(name, until) => {
            let kept = calls.keep_notebook(caller, &name, until).await?;
            return Ok(kept_reply(kept, route, audit));
        }
        Wanted::KeepSpace(domain, space, until) => {
            let domain = domain.ok_or(GateError::NotFound)?;
            let kept = calls
                .keep_space(domains, caller, &domain, &space, until)
                .await?;
            return Ok(kept_reply(kept, route, audit));
        }
        Wanted::KeepTrackingServer(name, until) => {
            let kept = calls.keep_tracking_server(caller, &name, until).await?;
            return Ok(kept_reply(kept, route, audit));
        }
    };
    Ok(match opening {
        Opening::Ready {
            url,
            valid_seconds,
            target,
        } => {
            audit.resource = Some(target.audit_name());
            if json {
                let expires_at = expires_at(valid_seconds);
                Reply::Json {
                    status: StatusCode::OK,
                    body: json!({"url": url, "expiresAt": expires_at, "target": target}),
                    outcome: route.spec.success,
                }
            } else {
                Reply::Redirect(url)
            }
        }
        Opening::Starting { target } => {
            audit.resource = Some(target.audit_name());
            Reply::Starting { target, json }
        }
    })
}

fn kept_reply(kept: Kept, route: Route<'_>, audit: &mut Audit) -> Reply {
    audit.resource = Some(kept.target.audit_name());
    audit.outcome = Some(kept.result);
    Reply::Json {
        status: StatusCode::OK,
        body: json!(kept),
        outcome: route.spec.success,
    }
}

fn changed_reply(changed: Changed, audit: &mut Audit) -> Reply {
    audit.resource = Some(changed.target.audit_name());
    audit.outcome = Some(changed.result);
    Reply::Changed(changed)
}

/// An error answered before a request reaches the gate (see `event.rs`), with the same headers.
pub(crate) fn error_response(error: GateError, request_id: &str) -> Response<Body> {
    into_response(Reply::Error(error), request_id, None, false)
}

fn into_response(
    reply: Reply,
    request_id: &str,
    allowed_origin: Option<&str>,
    cors_configured: bool,
) -> Response<Body> {
    let mut builder = Response::builder();
    let (status, body) = match reply {
        Reply::Json { status, body, .. } => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            (status, Body::from(body.to_string()))
        }
        Reply::Changed(changed) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            let mut body = json!({
                "result": changed.result,
                "status": changed.status,
                "target": changed.target,
            });
            if let Some(apps) = changed.apps {
                body["apps"] = json!(apps);
            }
            let status = if changed.underway {
                builder = builder.header(header::RETRY_AFTER, STARTING_RETRY_AFTER);
                body["retryAfter"] = json!(STARTING_RETRY_AFTER);
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            (status, Body::from(body.to_string()))
        }
        Reply::Redirect(url) => {
            builder = builder.header(header::LOCATION, url);
            (StatusCode::FOUND, Body::Empty)
        }
        Reply::Starting { target, json: true } => {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::RETRY_AFTER, STARTING_RETRY_AFTER);
            let body =
                json!({"status": "starting", "retryAfter": STARTING_RETRY_AFTER, "target": target});
            (StatusCode::ACCEPTED, Body::from(body.to_string()))
        }
        Reply::Starting {
            target,
            json: false,
        } => {
            builder = builder
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .header(header::RETRY_AFTER, STARTING_RETRY_AFTER);
            (StatusCode::ACCEPTED, Body::from(wait_page(&target)))
        }
        Reply::Preflight => {
            if allowed_origin.is_some() {
                builder = builder
                    .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS")
                    .header(
                        header::ACCESS_CONTROL_ALLOW_HEADERS,
                        "authorization, content-type",
                    )
                    .header(header::ACCESS_CONTROL_MAX_AGE, "600");
            }
            (StatusCode::NO_CONTENT, Body::Empty)
        }
        Reply::ErrorPage(error) => {
            builder = builder.header(header::CONTENT_TYPE, "text/html; charset=utf-8");
            if let Some(seconds) = error.retry_after() {
                builder = builder.header(header::RETRY_AFTER, seconds);
            }
            (error.status(), Body::from(error_page(&error, request_id)))
        }
        Reply::Error(error) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            if let Some(seconds) = error.retry_after() {
                builder = builder.header(header::RETRY_AFTER, seconds);
            }
            if let GateError::MethodNotAllowed(method) = error {
                builder = builder.header(header::ALLOW, format!("{method}, OPTIONS"));
            }
            (
                error.status(),
                Body::from(error.body(request_id).to_string()),
            )
        }
    };
    builder = builder
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        );
    if cors_configured {
        builder = builder.header(header::VARY, "Origin");
    }
    if let Some(origin) = allowed_origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        builder = builder
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
            .header(header::ACCESS_CONTROL_EXPOSE_HEADERS, "retry-after");
    }
    builder
        .status(status)
        .body(body)
        .expect("static header names and checked values")
}

/// The page a browser sees while its notebook starts: it reloads itself (no script, so the strict
/// CSP holds) and the reload lands in Jupyter once the notebook is in service.
fn wait_page(target: &Target) -> String {
    let (name, what, opens) = match target {
        Target::NotebookInstance { name } => (name.as_str(), "notebook instance", "the notebook"),
        Target::Studio { user_profile, .. } => {
            (user_profile.as_str(), "notebook instance", "the notebook")
        }
        Target::MlflowTrackingServer { name } => {
            (name.as_str(), "MLflow tracking server", "MLflow")
        }
        Target::MlflowApp { name, .. } => (name.as_str(), "MLflow app", "MLflow"),
    };
    // An MLflow app's name is free text; the others passed a name pattern.
    let name = escape_html(name);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"{STARTING_RETRY_AFTER}\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Starting {name}</title></head>\
<body><main><h1>Starting {name}&hellip;</h1>\
<p>SageMaker is starting this {what}. This page checks again every \
{STARTING_RETRY_AFTER} seconds and opens {opens} when it is ready; that usually takes a few minutes.</p>\
</main></body></html>\n"
    )
}

/// What a person sees when a launch fails: the error's message and the request id to quote.
fn error_page(error: &GateError, request_id: &str) -> String {
    let heading = match error.status() {
        StatusCode::NOT_FOUND => "Nothing to open here",
        StatusCode::UNAUTHORIZED => "Sign in again",
        StatusCode::FORBIDDEN => "Not from this network",
        StatusCode::CONFLICT => "It is not running",
        StatusCode::BAD_REQUEST => "This link is not valid",
        _ => "SageMaker did not answer",
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{heading}</title></head>\
<body><main><h1>{heading}</h1><p>{message}</p>\
<p>Close this tab and go back to the portal. Reference: <code>{request_id}</code></p>\
</main></body></html>\n",
        message = escape_html(&error.message()),
        request_id = escape_html(request_id),
    )
}

/// Our messages and request ids hold no markup, but a page is no place to find out otherwise.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

fn expires_at(valid_seconds: u32) -> String {
    let at = SystemTime::now() + Duration::from_secs(valid_seconds.into());
    let seconds = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DateTime::from_secs(seconds as i64)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// Only an `Origin` equal to a configured one is echoed: no prefixes, no suffixes, no wildcard.
fn allowed_origin<'a>(request: &Request, allowed: &'a [String]) -> Option<&'a str> {
    let origin = request.headers().get(header::ORIGIN)?.to_str().ok()?;
    allowed.iter().find(|a| *a == origin).map(String::as_str)
}

fn api_request_id(context: &RequestContext) -> Option<String> {
    match context {
        RequestContext::ApiGatewayV1(c) => c.request_id.clone(),
        RequestContext::ApiGatewayV2(c) => c.request_id.clone(),
        _ => None,
    }
}

fn source_ip(context: &RequestContext) -> Option<IpAddr> {
    let raw = match context {
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
        _ => None,
    }?;
    raw.parse().ok()
}

/// The path as the route table knows it. HTTP API puts a named stage in `rawPath`
/// (`/prod/targets`); REST API's `path` never has it.
fn route_path(request: &Request) -> &str {
    let raw = request.raw_http_path();
    let raw = if raw.is_empty() {
        request.uri().path()
    } else {
        raw
    };
    if let Some(RequestContext::ApiGatewayV2(c)) = request.request_context_ref()
        && let Some(stage) = c.stage.as_deref().filter(|s| *s != "$default")
        && let Some(rest) = raw.strip_prefix('/').and_then(|r| r.strip_prefix(stage))
        && rest.starts_with('/')
    {
        return rest;
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_an_rfc3339_instant() {
        let at = expires_at(300);
        assert!(at.ends_with('Z') && at.len() == 20, "{at}");
    }
}
