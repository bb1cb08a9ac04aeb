//! Notebook instances: their names, their states and what each allows, the SageMaker calls, and
//! the route steps (open, start, stop, and their part of `GET /targets`). Who may open one is the
//! shared owner-or-group tag rule (`caller::may_open_tagged`).

mod api;
mod names;
mod states;
mod steps;

pub use api::{NotebookApi, NotebookInstance};
pub use names::NotebookName;
pub use states::{
    NotebookAction, NotebookStatus, may_start_on, notebook_action, notebook_lifecycle,
    platform_is_retired,
};
pub use steps::{NOTEBOOK_URL_SECONDS, NotebookTarget};
