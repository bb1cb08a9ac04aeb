//! SageMaker Studio: configured domains, the caller's user profile (named from their token, owned
//! by its owner tag), spaces and their apps; the names, states and decisions, the SageMaker calls,
//! and the route steps (open Studio or a space, stop a space's app, each domain's part of
//! `GET /targets`).

mod api;
mod names;
mod states;
mod steps;

pub use api::{App, Domain, DomainRefusal, DomainUrlRequest, Space, StudioApi};
pub use names::{ProfileName, SpaceName};
pub use states::{
    AppStatus, SpaceAccess, StudioApp, may_open_space, may_stop_space_app, space_stop_plan,
};
pub use steps::{AppTarget, Domains, SpaceTarget, StudioDomainTarget, profile_name};
