use lambda_http::{Adapter, Error, LambdaEvent, service_fn};
use notebook_gate::{Config, Gate, event, handle, logging, sagemaker, sdk_config, tagging, tls};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(%error, "configuration rejected; not starting"))?;
    // Credentials, region and endpoint from the variables Lambda sets, not the SDK's default
    // chains: see sdk_config.rs.
    let sdk_config = sdk_config::from_env(tls::https_client()?)
        .inspect_err(|error| tracing::error!(%error, "AWS environment incomplete; not starting"))?;
    let tagging = tagging::client(&sdk_config, sdk_config::tagging_endpoint_from_env());
    let gate = Gate::new(config, sagemaker::client(&sdk_config), tagging);
    let gate = &gate;
    // lambda_http::run, with the event admitted (repaired or refused) before lambda_http turns it
    // into a Request: see event.rs.
    let adapter = Adapter::from(service_fn(move |request| handle(gate, request)));
    let service =
        service_fn(move |event: LambdaEvent<Value>| event::answer(adapter.clone(), event));
    lambda_http::lambda_runtime::run(service).await
}
