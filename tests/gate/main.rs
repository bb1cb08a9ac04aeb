//! Behaviour tests: real API Gateway events through the real handler and the real SDK client,
//! with SageMaker answered over HTTP by an in-process stand-in.

mod edge;
mod hardening;
mod helpers;
mod hostile;
mod launch_routes;
mod lifecycle;
mod logs;
mod metrics;
mod mlflow;
mod notebook;
mod running_time;
mod shapes;
mod status;
mod stub;
mod studio;
mod targets;
