//! The one route table: each route's path template, method, where its token comes from, the query
//! parameters it reads, what it does and what a success counts as. Parsing, the audit and metric
//! names, the 405s and every success's outcome come from here; `tests/template/test_routes.py`
//! checks `template.yaml`'s routes and the docs' route tables against it.

use crate::lifecycle::LifecycleAction;
use crate::metrics::Outcome;

/// What a route does; the adapter's one `match` over routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Targets,
    OpenNotebook,
    NotebookState,
    ChangeNotebook(LifecycleAction),
    OpenStudio,
    StopSpace,
    OpenTrackingServer,
    OpenMlflowApp,
    /// `POST .../keep`: keep a running target going past its running-time limit.
    KeepNotebook,
    KeepSpace,
    KeepTrackingServer,
}

/// Where API Gateway's authorizer reads the access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenIn {
    /// `Authorization: Bearer …`.
    Header,
    /// `?access_token=…`: a browser's navigation, which cannot set a header (`/launch/...`).
    Query,
}

/// One route.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// The path as `template.yaml` declares it, `{name}` standing for one path segment.
    pub template: &'static str,
    /// The one method besides `OPTIONS` it answers: a state change is a `POST`.
    pub method: &'static str,
    pub token: TokenIn,
    pub endpoint: Endpoint,
    /// A browser's navigation: a redirect, the wait page or an error page.
    pub launch: bool,
    /// The query parameters it reads (any other is ignored).
    pub params: &'static [&'static str],
    /// What a success counts as in the metrics (a wait counts as `starting` wherever it comes).
    pub success: Outcome,
    /// Exists only with `MLFLOW=true`.
    pub mlflow: bool,
}

impl RouteSpec {
    /// Whether it changes something (a start, a stop or a keep): a `POST`, counted as `changed`.
    #[cfg(test)]
    pub fn changes_state(&self) -> bool {
        self.action().is_some()
            || matches!(
                self.endpoint,
                Endpoint::KeepNotebook | Endpoint::KeepSpace | Endpoint::KeepTrackingServer
            )
    }

    /// The lifecycle action it performs, which `LIFECYCLE` may turn off.
    pub fn action(&self) -> Option<LifecycleAction> {
        match self.endpoint {
            Endpoint::ChangeNotebook(action) => Some(action),
            Endpoint::StopSpace => Some(LifecycleAction::Stop),
            _ => None,
        }
    }
}

const OPEN: &[&str] = &["session"];
const STUDIO: &[&str] = &["session", "domain", "space", "app"];

const fn route(
    template: &'static str,
    method: &'static str,
    token: TokenIn,
    endpoint: Endpoint,
    params: &'static [&'static str],
    success: Outcome,
) -> RouteSpec {
    RouteSpec {
        template,
        method,
        token,
        endpoint,
        launch: matches!(token, TokenIn::Query),
        params,
        success,
        mlflow: matches!(
            endpoint,
            Endpoint::OpenTrackingServer | Endpoint::OpenMlflowApp | Endpoint::KeepTrackingServer
        ),
    }
}

use Endpoint as E;
use Outcome as O;
use TokenIn::{Header, Query};

/// Every route the gate serves, in the order the docs list them.
pub const ROUTES: &[RouteSpec] = &[
    route("/targets", "GET", Header, E::Targets, &[], O::Listed),
    route(
        "/notebook-instances/{name}",
        "GET",
        Header,
        E::OpenNotebook,
        OPEN,
        O::Opened,
    ),
    route(
        "/launch/notebook-instances/{name}",
        "GET",
        Query,
        E::OpenNotebook,
        OPEN,
        O::Opened,
    ),
    route("/studio", "GET", Header, E::OpenStudio, STUDIO, O::Opened),
    route(
        "/launch/studio",
        "GET",
        Query,
        E::OpenStudio,
        STUDIO,
        O::Opened,
    ),
    route(
        "/notebook-instances/{name}/status",
        "GET",
        Header,
        E::NotebookState,
        &[],
        O::Listed,
    ),
    route(
        "/notebook-instances/{name}/start",
        "POST",
        Header,
        E::ChangeNotebook(LifecycleAction::Start),
        &[],
        O::Changed,
    ),
    route(
        "/notebook-instances/{name}/stop",
        "POST",
        Header,
        E::ChangeNotebook(LifecycleAction::Stop),
        &[],
        O::Changed,
    ),
    route(
        "/studio/spaces/{space}/stop",
        "POST",
        Header,
        E::StopSpace,
        &["domain"],
        O::Changed,
    ),
    route(
        "/notebook-instances/{name}/keep",
        "POST",
        Header,
        E::KeepNotebook,
        &[],
        O::Changed,
    ),
    route(
        "/studio/spaces/{space}/keep",
        "POST",
        Header,
        E::KeepSpace,
        &["domain"],
        O::Changed,
    ),
    route(
        "/mlflow/tracking-servers/{name}",
        "GET",
        Header,
        E::OpenTrackingServer,
        OPEN,
        O::Opened,
    ),
    route(
        "/launch/mlflow/tracking-servers/{name}",
        "GET",
        Query,
        E::OpenTrackingServer,
        OPEN,
        O::Opened,
    ),
    route(
        "/mlflow/tracking-servers/{name}/keep",
        "POST",
        Header,
        E::KeepTrackingServer,
        &[],
        O::Changed,
    ),
    route(
        "/mlflow/apps/{id}",
        "GET",
        Header,
        E::OpenMlflowApp,
        OPEN,
        O::Opened,
    ),
    route(
        "/launch/mlflow/apps/{id}",
        "GET",
        Query,
        E::OpenMlflowApp,
        OPEN,
        O::Opened,
    ),
];

/// A request's route: its table entry and the one path segment its template leaves open (`""`
/// when it has none; a name check answers an empty one with 400).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route<'a> {
    pub spec: &'static RouteSpec,
    pub name: &'a str,
}

impl<'a> Route<'a> {
    /// The route whose template the path matches segment by segment, a `{…}` segment matching any
    /// one segment (including an empty one); none for anything else.
    pub fn parse(path: &'a str) -> Option<Self> {
        ROUTES.iter().find_map(|spec| {
            let mut name = "";
            let mut given = path.split('/');
            for expected in spec.template.split('/') {
                let segment = given.next()?;
                if expected.starts_with('{') {
                    name = segment;
                } else if expected != segment {
                    return None;
                }
            }
            given.next().is_none().then_some(Self { spec, name })
        })
    }

    /// The route's template, for the audit and metrics lines: names from the path stay out of it.
    pub fn template(self) -> &'static str {
        self.spec.template
    }

    pub fn action(self) -> Option<LifecycleAction> {
        self.spec.action()
    }

    pub fn is_launch(self) -> bool {
        self.spec.launch
    }

    pub fn is_mlflow(self) -> bool {
        self.spec.mlflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(path: &str) -> Option<(&'static str, &str)> {
        Route::parse(path).map(|r| (r.template(), r.name))
    }

    #[test]
    fn routes_parse() {
        for (path, template, name) in [
            ("/targets", "/targets", ""),
            ("/studio", "/studio", ""),
            ("/launch/studio", "/launch/studio", ""),
            (
                "/notebook-instances/nb-1",
                "/notebook-instances/{name}",
                "nb-1",
            ),
            (
                "/launch/notebook-instances/nb-1",
                "/launch/notebook-instances/{name}",
                "nb-1",
            ),
            (
                "/notebook-instances/nb-1/start",
                "/notebook-instances/{name}/start",
                "nb-1",
            ),
            (
                "/notebook-instances/nb-1/stop",
                "/notebook-instances/{name}/stop",
                "nb-1",
            ),
            (
                "/studio/spaces/team/stop",
                "/studio/spaces/{space}/stop",
                "team",
            ),
            (
                "/mlflow/tracking-servers/ts-1",
                "/mlflow/tracking-servers/{name}",
                "ts-1",
            ),
            (
                "/notebook-instances/nb-1/keep",
                "/notebook-instances/{name}/keep",
                "nb-1",
            ),
            (
                "/studio/spaces/team/keep",
                "/studio/spaces/{space}/keep",
                "team",
            ),
            (
                "/mlflow/tracking-servers/ts-1/keep",
                "/mlflow/tracking-servers/{name}/keep",
                "ts-1",
            ),
            (
                "/launch/mlflow/apps/app-1",
                "/launch/mlflow/apps/{id}",
                "app-1",
            ),
            // An empty name is a route, and the name check answers it with 400.
            ("/notebook-instances/", "/notebook-instances/{name}", ""),
        ] {
            assert_eq!(parsed(path), Some((template, name)), "{path}");
        }
        for unknown in [
            "/mlflow/tracking-servers/a/b",
            "/mlflow/apps/a/open",
            "/mlflow/tracking-servers",
            "/mlflow/apps",
            "/launch/mlflow",
            "/",
            "",
            "/launch/targets",
            "/launchstudio",
            "/notebook-instances/a/b",
            "/notebook-instances/a/b/start",
            "/notebook-instances/a/restart",
            "/notebook-instances/a/start/",
            "/launch/notebook-instances/a/start",
            "/launch/studio/spaces/a/stop",
            "/launch/notebook-instances/a/keep",
            "/mlflow/apps/a/keep",
            "/studio/spaces/a/start",
            "/studio/spaces/a/b/stop",
            "/studio/spaces/a",
            "/targets/",
            "/STUDIO",
        ] {
            assert_eq!(parsed(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn the_table_is_consistent() {
        for spec in ROUTES {
            // A state change is a POST with the token in the header; a navigation a GET.
            assert_eq!(
                spec.changes_state(),
                spec.method == "POST",
                "{}",
                spec.template
            );
            assert_eq!(
                spec.launch,
                spec.template.starts_with("/launch/"),
                "{}",
                spec.template
            );
            assert!(!(spec.launch && spec.method == "POST"), "{}", spec.template);
            assert_eq!(spec.success == Outcome::Changed, spec.changes_state());
            // Every route's own path parses back to it.
            let path = spec
                .template
                .replace("{name}", "x")
                .replace("{space}", "x")
                .replace("{id}", "x");
            assert_eq!(Route::parse(&path).map(|r| r.spec), Some(spec));
        }
    }
}
