//! Log set-up: JSON or text as Lambda's logging controls ask, with dependencies kept quiet.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::metrics;

/// Which lines are written at a given level. Below INFO the SDK, hyper and the Lambda runtime log
/// raw requests and responses, which carry tokens and presigned URLs, so they stay at INFO however
/// verbose the function is asked to be. The audit line and the metrics line are always written.
pub fn filter(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level.min(LevelFilter::INFO))
        .with_target("notebook_gate", level)
        .with_target("audit", level.max(LevelFilter::INFO))
        .with_target(metrics::TARGET, level.max(LevelFilter::INFO))
}

/// The subscriber `main` installs; tests build the same one over a buffer.
pub fn subscriber<W>(json: bool, level: LevelFilter, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let format = tracing_subscriber::fmt::layer().with_writer(writer.clone());
    let not_emf = filter_fn(|metadata| metadata.target() != metrics::TARGET);
    let registry = tracing_subscriber::registry()
        .with(filter(level))
        .with(EmfLines(writer));
    if json {
        let format = format.json().flatten_event(true).with_span_list(false);
        Box::new(registry.with(format.with_filter(not_emf)))
    } else {
        Box::new(registry.with(format.with_filter(not_emf)))
    }
}

/// Writes each EMF line (`metrics::TARGET`) as it is, in the log's writer: CloudWatch Logs reads
/// a log event as EMF only when the event is the JSON document itself, not a field of a record.
struct EmfLines<W>(W);

impl<S, W> Layer<S> for EmfLines<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != metrics::TARGET {
            return;
        }
        let mut line = EmfField(String::new());
        event.record(&mut line);
        if line.0.is_empty() {
            return;
        }
        line.0.push('\n');
        // One write, as the fmt layer does, so lines from concurrent requests never interleave.
        let _ = self.0.make_writer().write_all(line.0.as_bytes());
    }
}

/// The `emf` field of an EMF event.
struct EmfField(String);

impl Visit for EmfField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "emf" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "emf" {
            self.0 = format!("{value:?}");
        }
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
