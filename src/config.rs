//! Typed configuration, read from the environment once at init and validated there.

use ipnet::IpNet;

use crate::domains::StudioDomains;
pub use crate::error::ConfigError;
pub use crate::lifecycle::{Lifecycle, LifecycleAction};
pub use crate::running_time::RunningTimePolicy;

/// Everything the gate can be configured with. Variable names and defaults live here and nowhere
/// else; `docs/configuration.md` and `template.yaml` repeat them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `STUDIO_DOMAIN_IDS` (or the older single `STUDIO_DOMAIN_ID`): the Studio domains people may
    /// open, in order; Studio routes 404 without one.
    pub studio_domains: StudioDomains,
    /// `SESSION_SECONDS`: the default and the longest Studio / Jupyter session a caller may ask for.
    pub session_seconds: u32,
    /// `URL_EXPIRES_SECONDS`: how long a presigned Studio URL stays usable.
    pub url_expires_seconds: u32,
    /// `AUTO_START`: an open on a header-token route starts a stopped notebook instance or tracking
    /// server instead of answering 409. Needs `start` in `LIFECYCLE`: init refuses it otherwise.
    pub auto_start: bool,
    /// `OWNER_CLAIM`: the claim whose value must equal the owner tag: `sub` or `username`, the two
    /// a person cannot change about themselves (see `OwnerClaim`).
    pub owner_claim: OwnerClaim,
    /// `ALLOWED_CLIENT_IDS`: the app clients whose access tokens the gate takes (the `client_id`
    /// claim); empty takes any client's. A REST API's Cognito authorizer checks no audience, so with
    /// a pool other apps share, this is the only check that a token was issued to the portal.
    pub allowed_client_ids: Vec<String>,
    /// `OWNER_TAG_KEY`: the tag naming the one person a resource belongs to.
    pub owner_tag_key: String,
    /// `GROUP_TAG_KEY`: the tag naming the Cognito group a notebook instance is shared with.
    pub group_tag_key: String,
    /// `PROFILE_NAME_CLAIM`: claims tried in order for the Studio user profile name.
    pub profile_name_claims: Vec<String>,
    /// `FEDERATED_PROVIDER_NAME`: the company identity provider the pool federates to. Cognito
    /// names a federated person `<provider>_<subject>`; the Studio profile name is made from the
    /// subject alone (`studio::profile_name`).
    pub federated_provider_name: Option<String>,
    /// `ALLOWED_SOURCE_CIDRS`: when set, callers from elsewhere get 403 before any SageMaker call.
    pub allowed_source_cidrs: Vec<IpNet>,
    /// `CORS_ALLOWED_ORIGINS`: exact origins whose browsers may read the gate's answers.
    pub cors_allowed_origins: Vec<String>,
    /// `LIFECYCLE`: what people may do to their own targets besides opening them.
    pub lifecycle: Lifecycle,
    /// `LONG_RUNNING_HOURS`, in seconds: past this, a portal marks a running target as left on.
    pub long_running_seconds: u32,
    /// `MLFLOW`: list and open the caller's MLflow tracking servers and apps; when false the gate
    /// never calls an MLflow operation and the MLflow routes answer 404.
    pub mlflow: bool,
    /// `LAUNCH_ROUTES`: serve the `/launch/...` routes a browser navigates to and list them in
    /// `GET /targets`. The private mode sets it false: a navigation carries no `Authorization`
    /// header, so its REST API has no launch route, and a portal must not be offered one.
    pub launch_routes: bool,
    /// `MAX_RUN_HOURS_NOTEBOOK`, `MAX_RUN_HOURS_SPACE`, `MAX_RUN_HOURS_MLFLOW`, `MAX_KEEP_HOURS`:
    /// what the scheduled sweep stops and how long a person may keep a target running.
    pub running_time: RunningTimePolicy,
    /// `PRICES`: show each running target's price from the Price List API (`pricing.rs`).
    pub prices: bool,
    /// `PRICING_REGION`: where the Price List API answers (`us-east-1` by default; it answers in a
    /// few regions only, for every region's prices).
    pub pricing_region: String,
}

/// The claim that names the owner: only claims a person cannot change about themselves. Cognito
/// lets a signed-in person update their own attributes (`email`, `custom:...`) with the portal's
/// token; `sub` and `username` are fixed for the life of the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerClaim {
    Sub,
    Username,
}

impl OwnerClaim {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sub" => Some(Self::Sub),
            "username" => Some(Self::Username),
            _ => None,
        }
    }

    /// The claim's name in an access token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sub => "sub",
            Self::Username => "username",
        }
    }
}

pub const MIN_SESSION_SECONDS: u32 = 1800;
pub const MAX_SESSION_SECONDS: u32 = 43200;
const MIN_URL_EXPIRES_SECONDS: u32 = 5;
const MAX_URL_EXPIRES_SECONDS: u32 = 300;
/// `LONG_RUNNING_HOURS` bounds: an hour to a week (the template's `LongRunningHours` says the same).
const LONG_RUNNING_HOURS: std::ops::RangeInclusive<u32> = 1..=168;

impl Default for Config {
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("defaults are valid")
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads each variable through `lookup`; an empty value counts as unset, because that is how
    /// CloudFormation passes an optional parameter left blank.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let text = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let value = get(name).unwrap_or_else(|| default.to_owned());
            if value.chars().any(char::is_control) {
                return Err(problem(name, "must not contain control characters"));
            }
            Ok(value)
        };

        let studio_domains = StudioDomains::from_variables(
            get("STUDIO_DOMAIN_IDS").as_deref(),
            get("STUDIO_DOMAIN_ID").as_deref(),
        )?;

        let session_seconds = number(
            &get,
            "SESSION_SECONDS",
            MAX_SESSION_SECONDS,
            MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS,
        )?;
        let url_expires_seconds = number(
            &get,
            "URL_EXPIRES_SECONDS",
            60,
            MIN_URL_EXPIRES_SECONDS..=MAX_URL_EXPIRES_SECONDS,
        )?;

        let auto_start = match get("AUTO_START").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(_) => return Err(problem("AUTO_START", "must be true or false")),
        };

        let mlflow = match get("MLFLOW").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(problem("MLFLOW", "must be true or false")),
        };

        let launch_routes = match get("LAUNCH_ROUTES")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(problem("LAUNCH_ROUTES", "must be true or false")),
        };

        let owner_claim = OwnerClaim::parse(&text("OWNER_CLAIM", "sub")?).ok_or_else(|| {
            problem(
                "OWNER_CLAIM",
                "must be sub or username: a claim a person can change about themselves (email, \
                 custom:...) would let them claim someone else's resources",
            )
        })?;
        let allowed_client_ids = list(&text("ALLOWED_CLIENT_IDS", "")?);
        let owner_tag_key = tag_key(
            "OWNER_TAG_KEY",
            text("OWNER_TAG_KEY", "notebook-gate:owner")?,
        )?;
        let group_tag_key = tag_key(
            "GROUP_TAG_KEY",
            text("GROUP_TAG_KEY", "notebook-gate:group")?,
        )?;
        if owner_tag_key == group_tag_key {
            return Err(problem("GROUP_TAG_KEY", "must differ from OWNER_TAG_KEY"));
        }

        let profile_name_claims: Vec<String> =
            list(&text("PROFILE_NAME_CLAIM", "cognito:username,username")?);

        let federated_provider_name = get("FEDERATED_PROVIDER_NAME")
            .map(|name| {
                // Cognito's provider names: 1 to 32 characters, no whitespace; an underscore would
                // make the `<provider>_<subject>` split ambiguous, and template.yaml allows none.
                let valid = name.chars().count() <= 32
                    && !name
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || c == '_');
                valid.then_some(name).ok_or_else(|| {
                    problem(
                        "FEDERATED_PROVIDER_NAME",
                        "must be an identity provider name of at most 32 characters without \
                         whitespace or underscores",
                    )
                })
            })
            .transpose()?;

        let allowed_source_cidrs = list(&text("ALLOWED_SOURCE_CIDRS", "")?)
            .iter()
            .map(|cidr| cidr_or_address(cidr))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                problem(
                    "ALLOWED_SOURCE_CIDRS",
                    "must be a comma-separated list of IPv4/IPv6 CIDRs",
                )
            })?;

        let cors_allowed_origins = list(&text("CORS_ALLOWED_ORIGINS", "")?);
        if let Some(bad) = cors_allowed_origins.iter().find(|o| !is_origin(o)) {
            return Err(problem(
                "CORS_ALLOWED_ORIGINS",
                &format!("{bad:?} is not an origin like https://portal.example.com"),
            ));
        }

        // Unlike the other variables, an empty LIFECYCLE is a value: it allows nothing.
        let lifecycle = match lookup("LIFECYCLE") {
            None => Lifecycle::BOTH,
            Some(raw) => Lifecycle::parse(&raw).ok_or_else(|| {
                problem(
                    "LIFECYCLE",
                    "must be a comma-separated subset of start,stop (empty or none: neither)",
                )
            })?,
        };
        let long_running_seconds = match get("LONG_RUNNING_HOURS") {
            None => 8 * 3600,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|h| LONG_RUNNING_HOURS.contains(h))
                .map(|h| h * 3600)
                .ok_or_else(|| {
                    problem(
                        "LONG_RUNNING_HOURS",
                        &format!(
                            "must be a whole number of hours from {} to {}",
                            LONG_RUNNING_HOURS.start(),
                            LONG_RUNNING_HOURS.end()
                        ),
                    )
                })?,
        };

        let running_time = RunningTimePolicy::from_lookup(&get)?;
        let prices = match get("PRICES").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(problem("PRICES", "must be true or false")),
        };
        let pricing_region = text("PRICING_REGION", "us-east-1")?;

        if auto_start && !lifecycle.allows(LifecycleAction::Start) {
            return Err(problem(
                "AUTO_START",
                "is true but LIFECYCLE does not allow start: an open may not start what a start may not",
            ));
        }

        Ok(Self {
            studio_domains,
            session_seconds,
            url_expires_seconds,
            auto_start,
            owner_claim,
            allowed_client_ids,
            owner_tag_key,
            group_tag_key,
            profile_name_claims,
            federated_provider_name,
            allowed_source_cidrs,
            cors_allowed_origins,
            lifecycle,
            long_running_seconds,
            mlflow,
            launch_routes,
            running_time,
            prices,
            pricing_region,
        })
    }
}

fn problem(variable: &'static str, problem: &str) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.to_owned(),
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(raw) = get(variable) else {
        return Ok(default);
    };
    raw.parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            problem(
                variable,
                &format!(
                    "must be a whole number of seconds from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// SageMaker tag keys: 1..=128 characters, and the `aws:` prefix is reserved.
fn tag_key(variable: &'static str, key: String) -> Result<String, ConfigError> {
    if key.chars().count() > 128 || key.to_ascii_lowercase().starts_with("aws:") {
        return Err(problem(
            variable,
            "must be a tag key of at most 128 characters not starting with aws:",
        ));
    }
    Ok(key)
}

/// A bare address is accepted as the one-address network it names.
fn cidr_or_address(raw: &str) -> Option<IpNet> {
    raw.parse::<IpNet>()
        .ok()
        .or_else(|| raw.parse::<std::net::IpAddr>().ok().map(IpNet::from))
        .map(|net| net.trunc())
}

/// An origin is a scheme and host with an optional port, nothing after it: browsers send exactly
/// that in `Origin`, and comparing whole strings is what keeps `https://evil.example.com.attacker`
/// from matching.
fn is_origin(origin: &str) -> bool {
    let Some(host) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let c = Config::default();
        assert!(c.studio_domains.ids().is_empty());
        assert_eq!(c.session_seconds, 43200);
        assert_eq!(c.url_expires_seconds, 60);
        assert!(!c.auto_start);
        assert_eq!(c.owner_claim, OwnerClaim::Sub);
        assert!(c.allowed_client_ids.is_empty());
        assert_eq!(c.owner_tag_key, "notebook-gate:owner");
        assert_eq!(c.group_tag_key, "notebook-gate:group");
        assert_eq!(c.profile_name_claims, ["cognito:username", "username"]);
        assert!(c.allowed_source_cidrs.is_empty());
        assert!(c.cors_allowed_origins.is_empty());
        assert_eq!(
            c.lifecycle.actions(),
            [LifecycleAction::Start, LifecycleAction::Stop]
        );
        assert_eq!(c.long_running_seconds, 8 * 3600);
        assert!(c.launch_routes);
    }

    #[test]
    fn launch_routes_turn_off_with_false_only() {
        assert!(!config(&[("LAUNCH_ROUTES", "false")]).unwrap().launch_routes);
        assert!(!config(&[("LAUNCH_ROUTES", "FALSE")]).unwrap().launch_routes);
        assert!(config(&[("LAUNCH_ROUTES", "true")]).unwrap().launch_routes);
        assert!(config(&[("LAUNCH_ROUTES", "")]).unwrap().launch_routes);
    }

    #[test]
    fn lifecycle_allows_the_listed_actions_and_empty_allows_none() {
        let actions = |value: &str| config(&[("LIFECYCLE", value)]).unwrap().lifecycle.actions();
        use LifecycleAction::{Start, Stop};
        assert_eq!(actions("start,stop"), [Start, Stop]);
        assert_eq!(actions(" stop , start "), [Start, Stop]);
        assert_eq!(actions("stop"), [Stop]);
        assert_eq!(actions("start"), [Start]);
        assert_eq!(actions(""), []);
        assert_eq!(actions("  "), []);
        assert_eq!(actions("none"), []);
        let c = config(&[("LIFECYCLE", "stop")]).unwrap();
        assert!(c.lifecycle.allows(Stop) && !c.lifecycle.allows(Start));
    }

    #[test]
    fn long_running_hours_become_seconds() {
        let c = config(&[("LONG_RUNNING_HOURS", "3")]).unwrap();
        assert_eq!(c.long_running_seconds, 3 * 3600);
        let c = config(&[("LONG_RUNNING_HOURS", "168")]).unwrap();
        assert_eq!(c.long_running_seconds, 168 * 3600);
    }

    #[test]
    fn blank_values_fall_back_to_defaults() {
        let c = config(&[("SESSION_SECONDS", ""), ("STUDIO_DOMAIN_ID", " ")]).unwrap();
        assert_eq!(c.session_seconds, 43200);
        assert!(c.studio_domains.ids().is_empty());
        let c = config(&[("STUDIO_DOMAIN_IDS", ""), ("STUDIO_DOMAIN_ID", "d-abc123")]).unwrap();
        assert_eq!(c.studio_domains.ids()[0].as_str(), "d-abc123");
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let cases = [
            ("SESSION_SECONDS", "1799"),
            ("SESSION_SECONDS", "43201"),
            ("SESSION_SECONDS", "ten"),
            ("URL_EXPIRES_SECONDS", "4"),
            ("URL_EXPIRES_SECONDS", "301"),
            ("AUTO_START", "maybe"),
            ("LAUNCH_ROUTES", "no"),
            ("STUDIO_DOMAIN_ID", "domain-1"),
            ("STUDIO_DOMAIN_ID", "d-UPPER"),
            ("STUDIO_DOMAIN_IDS", "d-abc,domain-1"),
            ("STUDIO_DOMAIN_IDS", "d-abc,d-abc"),
            (
                "STUDIO_DOMAIN_IDS",
                "d-a0,d-a1,d-a2,d-a3,d-a4,d-a5,d-a6,d-a7,d-a8,d-a9,d-b0",
            ),
            ("OWNER_TAG_KEY", "aws:owner"),
            ("ALLOWED_SOURCE_CIDRS", "10.0.0.0/33"),
            ("ALLOWED_SOURCE_CIDRS", "office"),
            ("CORS_ALLOWED_ORIGINS", "https://portal.example.com/"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("OWNER_CLAIM", "s\u{7}ub"),
            // Claims a person can change with their own token: never an owner.
            ("OWNER_CLAIM", "email"),
            ("OWNER_CLAIM", "custom:employee_id"),
            ("OWNER_CLAIM", "cognito:username"),
            ("LIFECYCLE", "start,restart"),
            ("LIFECYCLE", "start;stop"),
            ("LIFECYCLE", "all"),
            ("LONG_RUNNING_HOURS", "0"),
            ("LONG_RUNNING_HOURS", "169"),
            ("LONG_RUNNING_HOURS", "1.5"),
            ("LONG_RUNNING_HOURS", "-1"),
        ];
        for (variable, value) in cases {
            let error = config(&[(variable, value)]).expect_err(value);
            assert_eq!(error.variable, variable, "{value}");
            assert!(error.to_string().contains(variable));
        }
    }

    #[test]
    fn auto_start_needs_start_in_the_lifecycle() {
        for lifecycle in ["stop", "none", ""] {
            let error =
                config(&[("AUTO_START", "true"), ("LIFECYCLE", lifecycle)]).expect_err(lifecycle);
            assert_eq!(error.variable, "AUTO_START", "{lifecycle}");
            assert!(error.problem.contains("LIFECYCLE"), "{error}");
        }
        assert!(config(&[("AUTO_START", "true"), ("LIFECYCLE", "start")]).is_ok());
        assert!(config(&[("AUTO_START", "false"), ("LIFECYCLE", "none")]).is_ok());
    }

    #[test]
    fn owner_claim_is_sub_or_username_and_client_ids_are_a_list() {
        let c = config(&[("OWNER_CLAIM", "username")]).unwrap();
        assert_eq!(c.owner_claim.as_str(), "username");
        let c = config(&[("ALLOWED_CLIENT_IDS", " abc123 ,def456,")]).unwrap();
        assert_eq!(c.allowed_client_ids, ["abc123", "def456"]);
    }

    #[test]
    fn same_key_for_owner_and_group_is_rejected() {
        let error = config(&[("GROUP_TAG_KEY", "notebook-gate:owner")]).unwrap_err();
        assert_eq!(error.variable, "GROUP_TAG_KEY");
    }

    #[test]
    fn lists_and_values_parse() {
        let c = config(&[
            ("STUDIO_DOMAIN_ID", "d-abc123def456"),
            ("SESSION_SECONDS", "3600"),
            ("URL_EXPIRES_SECONDS", "300"),
            ("AUTO_START", "TRUE"),
            (
                "ALLOWED_SOURCE_CIDRS",
                "203.0.113.0/24, 2001:db8::/32,198.51.100.7",
            ),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://portal.example.com,http://127.0.0.1:8080",
            ),
            ("PROFILE_NAME_CLAIM", "email"),
        ])
        .unwrap();
        assert_eq!(c.studio_domains.ids().len(), 1);
        assert_eq!(c.studio_domains.ids()[0].as_str(), "d-abc123def456");
        assert_eq!(c.session_seconds, 3600);
        assert_eq!(c.url_expires_seconds, 300);
        assert!(c.auto_start);
        assert_eq!(c.allowed_source_cidrs.len(), 3);
        assert_eq!(c.allowed_source_cidrs[2].to_string(), "198.51.100.7/32");
        assert_eq!(c.cors_allowed_origins.len(), 2);
        assert_eq!(c.profile_name_claims, ["email"]);
    }

    #[test]
    fn a_federated_provider_name_is_cognitos_kind() {
        assert_eq!(Config::default().federated_provider_name, None);
        let c = config(&[("FEDERATED_PROVIDER_NAME", " Company ")]).unwrap();
        assert_eq!(c.federated_provider_name.as_deref(), Some("Company"));
        for bad in ["Entra_ID", "Entra ID", &"x".repeat(33)] {
            let error = config(&[("FEDERATED_PROVIDER_NAME", bad)]).unwrap_err();
            assert_eq!(error.variable, "FEDERATED_PROVIDER_NAME", "{bad}");
        }
    }
}
