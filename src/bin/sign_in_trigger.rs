//! The sign-in trigger: Cognito's pre-token-generation Lambda (`V1_0`) for a pool federated to a
//! company identity provider. It puts the provider's groups into `cognito:groups` (see
//! `notebook_gate::pre_token`); it calls no AWS API, so its role may only write its logs.

use lambda_http::lambda_runtime::{self, Error, LambdaEvent, service_fn};
use notebook_gate::logging;
use notebook_gate::pre_token::{self, DEFAULT_GROUPS_ATTRIBUTE, Decision, PreTokenEvent};
use notebook_gate::provider_groups::Encoding;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let attribute = std::env::var("PROVIDER_GROUPS_ATTRIBUTE")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_GROUPS_ATTRIBUTE.to_owned());
    let attribute = attribute.as_str();
    let kind = std::env::var("IDENTITY_PROVIDER_TYPE").unwrap_or_default();
    let encoding = Encoding::for_provider_type(kind.trim()).ok_or_else(|| {
        tracing::error!(
            kind,
            "IDENTITY_PROVIDER_TYPE must be OIDC or SAML; not starting"
        );
        "IDENTITY_PROVIDER_TYPE must be OIDC or SAML"
    })?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(respond(event.payload, attribute, encoding))
    }))
    .await
}

fn respond(raw: Value, attribute: &str, encoding: Encoding) -> Value {
    // An event this code cannot read changes nothing: failing it would fail the person's sign-in.
    let parsed: PreTokenEvent = serde_json::from_value(raw.clone()).unwrap_or_default();
    let decision = pre_token::decide(&parsed, attribute, encoding);
    if let Decision::Groups { groups, provider } = &decision {
        let sub = parsed.sub().unwrap_or("");
        if !provider.dropped.is_empty() {
            // Group names are no secret; the person is named by their sub only.
            // As JSON text, so Logs Insights can read the names back exactly.
            let dropped = serde_json::to_string(&provider.dropped).unwrap_or_default();
            tracing::warn!(
                sub,
                dropped,
                "provider groups the gate cannot match exactly were dropped"
            );
        }
        tracing::info!(
            sub,
            trigger = parsed.trigger_source.as_deref().unwrap_or(""),
            groups = groups.len(),
            provider_groups = provider.kept.len(),
            "provider groups put in the tokens"
        );
    }
    pre_token::answer(raw, &parsed, &decision, attribute)
}
