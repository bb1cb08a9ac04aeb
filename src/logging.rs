//! Log set-up: JSON or text as Lambda's logging controls ask, with dependencies kept quiet.

use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Which lines are written at a given level. Below INFO the SDK, hyper and the Lambda runtime log
/// raw requests and responses, which carry tokens and presigned URLs, so they stay at INFO however
/// verbose the function is asked to be. The audit line is always written.
pub fn filter(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level.min(LevelFilter::INFO))
        .with_target("notebook_gate", level)
        .with_target("audit", level.max(LevelFilter::INFO))
}

/// The subscriber `main` installs; tests build the same one over a buffer.
pub fn subscriber<W>(json: bool, level: LevelFilter, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let format = tracing_subscriber::fmt::layer().with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter(level));
    if json {
        Box::new(registry.with(format.json().flatten_event(true).with_span_list(false)))
    } else {
        Box::new(registry.with(format))
    }
}

/// Reads `AWS_LAMBDA_LOG_FORMAT` (`JSON` or text) and `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`,
/// default INFO), then installs the subscriber for the process.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    // Only fails when a subscriber is already set, and then that one is kept.
    let _ = tracing::subscriber::set_global_default(subscriber(json, level, std::io::stdout));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn enabled(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn dependencies_never_log_below_info() {
        let trace = filter(LevelFilter::TRACE);
        assert!(enabled(&trace, "notebook_gate::sagemaker", Level::DEBUG));
        assert!(!enabled(
            &trace,
            "aws_smithy_runtime::client::orchestrator",
            Level::DEBUG
        ));
        assert!(!enabled(&trace, "lambda_runtime", Level::TRACE));
        assert!(!enabled(&trace, "hyper_util", Level::TRACE));
        assert!(enabled(&trace, "aws_smithy_runtime", Level::INFO));
    }

    #[test]
    fn audit_survives_a_quiet_level() {
        let warn = filter(LevelFilter::WARN);
        assert!(enabled(&warn, "audit", Level::INFO));
        assert!(!enabled(&warn, "notebook_gate::gate", Level::INFO));
    }
}
