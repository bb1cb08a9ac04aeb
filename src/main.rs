use lambda_http::{Error, run, service_fn};
use notebook_gate::{Config, Gate, handle, logging, sagemaker};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(%error, "configuration rejected; not starting"))?;
    let sdk_config = aws_config::load_from_env().await;
    let gate = Gate::new(config, sagemaker::client(&sdk_config));
    let gate = &gate;
    run(service_fn(move |request| handle(gate, request))).await
}
