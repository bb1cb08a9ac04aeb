//! The SDK's configuration from the variables Lambda sets, and nothing else.
//!
//! Lambda hands a function its role's credentials and its region in environment variables.
//! `aws_config::defaults(..).load()` would find them there too, but it links and builds the whole
//! default chains beside them (profile files, web identity through STS, ECS, IMDS) and looks for
//! the profile files at every start; with only what Lambda gives, the binary is smaller and init
//! shorter (docs/performance.md). A variable that is missing stops init, naming it.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sagemaker::config::retry::RetryConfig;
use aws_sdk_sagemaker::config::{Credentials, Region, SharedCredentialsProvider, SharedHttpClient};

/// A variable Lambda always sets was not set (or was empty).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0} is not set: the SDK's credentials and region come from the variables Lambda sets")]
pub struct MissingVariable(pub &'static str);

/// What the SDK needs, read from the process's environment.
pub fn from_env(http_client: SharedHttpClient) -> Result<SdkConfig, MissingVariable> {
    from_lookup(|name| std::env::var(name).ok(), http_client)
}

/// Reads each variable through `lookup`; an empty value counts as unset, as the SDK's own
/// environment providers count it.
pub fn from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
    http_client: SharedHttpClient,
) -> Result<SdkConfig, MissingVariable> {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let required = |name: &'static str| get(name).ok_or(MissingVariable(name));
    // Lambda sets both; AWS_REGION first, as the SDK reads them.
    let region = get("AWS_REGION")
        .or_else(|| get("AWS_DEFAULT_REGION"))
        .ok_or(MissingVariable("AWS_REGION"))?;
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        // Lambda's role credentials always carry one; a long-term key (the local stack) has none.
        get("AWS_SESSION_TOKEN"),
        None,
        "LambdaEnvironment",
    );
    let endpoint_url = endpoint_for(&lookup, "AWS_ENDPOINT_URL_SAGEMAKER");
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http_client)
        // What the default chain gives with no AWS_RETRY_MODE / AWS_MAX_ATTEMPTS: 3 attempts.
        // Timeouts are the gate's own (sagemaker::client); stalled-stream protection, the sleep
        // and the time source are the SDK's defaults, as before.
        .retry_config(RetryConfig::standard());
    builder.set_endpoint_url(endpoint_url);
    Ok(builder.build())
}

/// The Tagging API's endpoint override (`AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API`, the
/// SDK's name for it, or `AWS_ENDPOINT_URL`), read from the process's environment.
pub fn tagging_endpoint_from_env() -> Option<String> {
    endpoint_for(
        &|name: &str| std::env::var(name).ok(),
        "AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API",
    )
}

/// The Price List API's endpoint override (`AWS_ENDPOINT_URL_PRICING`, or `AWS_ENDPOINT_URL`).
pub fn pricing_endpoint_from_env() -> Option<String> {
    endpoint_for(
        &|name: &str| std::env::var(name).ok(),
        "AWS_ENDPOINT_URL_PRICING",
    )
}

/// The SDK's own endpoint override (an emulator, or a VPC endpoint without private DNS): the
/// service's variable before the general one, neither when told to ignore them.
pub fn endpoint_for(
    lookup: &impl Fn(&str) -> Option<String>,
    service_variable: &str,
) -> Option<String> {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let ignore_endpoints = get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    (!ignore_endpoints)
        .then(|| get(service_variable).or_else(|| get("AWS_ENDPOINT_URL")))
        .flatten()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_sagemaker::config::ProvideCredentials;

    use super::*;

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    fn config(vars: &[(&str, &str)]) -> Result<SdkConfig, MissingVariable> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        from_lookup(
            |name| vars.get(name).map(|v| v.to_string()),
            crate::tls::https_client().unwrap(),
        )
    }

    fn without(name: &str) -> Vec<(&'static str, &'static str)> {
        LAMBDA.iter().copied().filter(|(k, _)| *k != name).collect()
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        LAMBDA.iter().chain(extra).copied().collect()
    }

    #[tokio::test]
    async fn the_credentials_and_region_are_lambdas() {
        let sdk = config(LAMBDA).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let credentials = sdk
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
        assert_eq!(sdk.endpoint_url(), None);
    }

    /// The client is configured as it was when `aws_config::defaults(..).load()` (with no
    /// AWS_RETRY_MODE, AWS_MAX_ATTEMPTS or profile file setting them) made its configuration.
    #[tokio::test]
    async fn the_client_is_configured_as_the_default_chain_configured_it() {
        let ours = crate::sagemaker::client(&config(LAMBDA).unwrap(), &Default::default());
        let chain = aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::tls::https_client().unwrap())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(
                "ASIAEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .load()
            .await;
        let theirs = crate::sagemaker::client(&chain, &Default::default());
        let (ours, theirs) = (ours.config(), theirs.config());
        assert_eq!(ours.region(), theirs.region());
        assert_eq!(ours.retry_config(), theirs.retry_config());
        assert_eq!(ours.timeout_config(), theirs.timeout_config());
        // Unset in both: the SDK's default for the behaviour version applies (no PartialEq).
        assert_eq!(
            format!("{:?}", ours.stalled_stream_protection()),
            format!("{:?}", theirs.stalled_stream_protection())
        );
        assert!(ours.retry_config().is_some_and(|r| r.max_attempts() == 3));
        assert_eq!(
            ours.timeout_config().and_then(|t| t.operation_timeout()),
            Some(crate::sagemaker::OPERATION_TIMEOUT)
        );
    }

    #[test]
    fn a_missing_variable_stops_init_naming_it() {
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            assert_eq!(config(&without(name)).unwrap_err(), MissingVariable(name));
        }
        let no_region: Vec<_> = LAMBDA
            .iter()
            .copied()
            .filter(|(k, _)| !k.ends_with("REGION"))
            .collect();
        let error = config(&no_region).unwrap_err();
        assert_eq!(error, MissingVariable("AWS_REGION"));
        assert!(error.to_string().starts_with("AWS_REGION is not set"));
        // Empty is unset.
        let empty_key: Vec<_> = with(&[])
            .into_iter()
            .map(|(k, v)| (k, if k == "AWS_SECRET_ACCESS_KEY" { " " } else { v }))
            .collect();
        assert_eq!(
            config(&empty_key).unwrap_err(),
            MissingVariable("AWS_SECRET_ACCESS_KEY")
        );
    }

    #[test]
    fn aws_default_region_is_read_when_aws_region_is_not() {
        let sdk = config(&without("AWS_REGION")).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }

    #[tokio::test]
    async fn a_long_term_key_needs_no_session_token() {
        let sdk = config(&without("AWS_SESSION_TOKEN")).unwrap();
        let credentials = sdk
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.session_token(), None);
    }

    #[test]
    fn the_sagemaker_endpoint_variable_wins_over_the_general_one() {
        let general = config(&with(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")])).unwrap();
        assert_eq!(general.endpoint_url(), Some("http://127.0.0.1:5000"));
        let both = config(&with(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            (
                "AWS_ENDPOINT_URL_SAGEMAKER",
                "https://vpce-1.api.sagemaker.eu-west-1.vpce.amazonaws.com",
            ),
        ]))
        .unwrap();
        let expected = "https://vpce-1.api.sagemaker.eu-west-1.vpce.amazonaws.com";
        assert_eq!(both.endpoint_url(), Some(expected));
        let ignored = config(&with(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]))
        .unwrap();
        assert_eq!(ignored.endpoint_url(), None);
    }

    #[test]
    fn the_tagging_api_has_its_own_endpoint_and_never_sagemakers() {
        let lookup = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        const TAGGING: &str = "AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API";
        let sagemaker_only = lookup(&[("AWS_ENDPOINT_URL_SAGEMAKER", "https://vpce-1.sagemaker")]);
        assert_eq!(endpoint_for(&sagemaker_only, TAGGING), None);
        let general = lookup(&[
            ("AWS_ENDPOINT_URL_SAGEMAKER", "https://vpce-1.sagemaker"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(
            endpoint_for(&general, TAGGING).as_deref(),
            Some("http://127.0.0.1:5000")
        );
        let own = lookup(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            (TAGGING, "https://vpce-2.tagging"),
        ]);
        assert_eq!(
            endpoint_for(&own, TAGGING).as_deref(),
            Some("https://vpce-2.tagging")
        );
        let ignored = lookup(&[
            (TAGGING, "https://vpce-2.tagging"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert_eq!(endpoint_for(&ignored, TAGGING), None);
    }
}
