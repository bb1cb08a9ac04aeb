use aws_config::BehaviorVersion;
use lambda_http::{Adapter, Error, LambdaEvent, service_fn};
use notebook_gate::{Config, Gate, event, handle, logging, sagemaker, tls};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(%error, "configuration rejected; not starting"))?;
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(tls::https_client()?)
        .load()
        .await;
    let gate = Gate::new(config, sagemaker::client(&sdk_config));
    let gate = &gate;
    // lambda_http::run, with the event admitted (repaired or refused) before lambda_http turns it
    // into a Request: see event.rs.
    let adapter = Adapter::from(service_fn(move |request| handle(gate, request)));
    let service =
        service_fn(move |event: LambdaEvent<Value>| event::answer(adapter.clone(), event));
    lambda_http::lambda_runtime::run(service).await
}
