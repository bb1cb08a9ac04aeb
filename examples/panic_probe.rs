//! What a panic in one request does to the next, under the release profile's panic strategy.
//! The e2e test `test_a_panic_fails_one_request_and_the_process_serves_the_next` runs this with
//! the same runtime stack as the gate (`lambda_http` over the Lambda Runtime API): a request to
//! `/panic` panics in the handler; any other path answers 200 with the process id.
//!
//! notebook-gate itself has no panicking path (no `unwrap` on input, every error is a `GateError`);
//! this probe exists so the choice of `panic = "unwind"` in `Cargo.toml` is shown, not assumed.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|request: Request| async move {
        if request.uri().path().ends_with("/panic") {
            panic!("a bug in one request");
        }
        Ok::<_, Error>(Response::new(Body::from(std::process::id().to_string())))
    }))
    .await
}
