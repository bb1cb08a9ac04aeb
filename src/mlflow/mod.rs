//! MLflow: opening the caller's own SageMaker MLflow tracking servers and MLflow apps, and listing
//! them for `GET /targets`. Ownership is the notebook instances' rule (owner or group tag); every
//! open reads the resource and its tags together and decides before anything is presigned or
//! started. `MLFLOW=false` makes all of this absent: no call, empty lists.

mod api;
mod names;
pub mod states;
mod steps;

pub use api::{MlflowApi, MlflowApp, MlflowUrlLifetimes, TrackingServer};
pub use names::{MlflowAppId, TrackingServerName};
pub use states::{MlflowAppStatus, TrackingServerStatus};
pub use steps::{MlflowAppTarget, MlflowTargets, TrackingServerTarget};
