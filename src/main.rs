use lambda_http::{Adapter, Error, LambdaEvent, service_fn};
use notebook_gate::clock::AwsClock;
use notebook_gate::event::Answer;
use notebook_gate::sweep::is_sweep_event;
use notebook_gate::{
    Config, Gate, event, handle, logging, pricing, sagemaker, sdk_config, tagging, tls,
};
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
    // AWS's clock, from every client's answers: the running-time policy goes by it (clock.rs).
    let clock = AwsClock::default();
    let tagging = tagging::client(&sdk_config, sdk_config::tagging_endpoint_from_env(), &clock);
    let price_list = pricing::client(
        &sdk_config,
        &config.pricing_region,
        sdk_config::pricing_endpoint_from_env(),
        &clock,
    );
    let gate = Gate::new(config, sagemaker::client(&sdk_config, &clock), tagging)
        .with_price_list(price_list)
        .with_clock(clock);
    let gate = &gate;
    // lambda_http::run, with the event admitted (repaired or refused) before lambda_http turns it
    // into a Request: see event.rs.
    let adapter = Adapter::from(service_fn(move |request| handle(gate, request)));
    let service = service_fn(move |event: LambdaEvent<Value>| {
        let adapter = adapter.clone();
        async move {
            if is_sweep_event(&event.payload) {
                let function_arn = &event.context.invoked_function_arn;
                return Ok(Answer::Scheduled(gate.sweep(function_arn).await));
            }
            event::answer(adapter, event).await
        }
    });
    lambda_http::lambda_runtime::run(service).await
}
