//! The SageMaker calls for Studio: domains, spaces, apps and the presigned domain URL.

use std::future::Future;

use aws_sdk_sagemaker::types::{
    AppType, AuthMode, FeatureStatus, LifecycleManagement, SharingType,
};

use super::{AppStatus, ProfileName, SpaceName};
use crate::error::GateError;
use crate::sagemaker::{MAX_PAGES, classify, missing, rfc3339};

/// SageMaker's idle timeout when idle shutdown is on and no timeout is set (the documented default).
const DEFAULT_IDLE_MINUTES: i32 = 60;

/// A Studio app, as `ListApps` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// The space it runs in; `None` for a user profile's own app (not the gate's to stop).
    pub space_name: Option<String>,
    pub app_type: String,
    pub app_name: String,
    pub status: AppStatus,
    pub instance_type: Option<String>,
    /// `CreationTime` (RFC 3339).
    pub since: Option<String>,
}

/// A Studio domain, as `DescribeDomain` reports it: what the gate keeps for the process's life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub arn: String,
    /// `DomainName`, the label a portal shows.
    pub name: String,
    /// Why the gate cannot open this domain at all, if it cannot.
    pub unservable: Option<DomainRefusal>,
    /// The idle shutdown SageMaker applies to the domain's JupyterLab apps, in minutes: where it
    /// is on, the running-time policy leaves the domain's spaces to it.
    pub idle_shutdown_minutes: Option<i32>,
}

/// A domain that `CreatePresignedDomainUrl` cannot open for anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainRefusal {
    /// `AuthMode` `SSO`: people sign in through IAM Identity Center, and presigned domain URLs
    /// work only for domains in IAM mode.
    IdentityCenter,
    /// `UnifiedStudioSettings.StudioWebPortalAccess` `DISABLED`: the domain opens only in
    /// SageMaker Unified Studio.
    UnifiedStudioOnly,
}

impl DomainRefusal {
    /// What the profile's owner is told: where the domain opens instead.
    pub fn words(self) -> &'static str {
        match self {
            Self::IdentityCenter => {
                "This Studio domain signs people in with IAM Identity Center; open it from your \
                 AWS access portal."
            }
            Self::UnifiedStudioOnly => {
                "This Studio domain opens only in SageMaker Unified Studio; open it there."
            }
        }
    }
}

/// A Studio space, as the gate needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    pub name: String,
    pub owner_profile: Option<String>,
    pub shared: bool,
    pub status: Option<String>,
    pub app_type: Option<String>,
}

/// The parameters of one `CreatePresignedDomainUrl` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainUrlRequest<'a> {
    pub domain_id: &'a str,
    pub profile_name: &'a ProfileName,
    pub space_name: Option<&'a SpaceName>,
    pub landing_uri: Option<&'a str>,
    pub expires_in_seconds: u32,
    pub session_seconds: u32,
}

/// Errors are already classified into what the caller may see (`sagemaker::classify`).
pub trait StudioApi: Send + Sync {
    /// The domain's apps, or one space's when `space` is given.
    fn list_apps(
        &self,
        domain_id: &str,
        space: Option<&SpaceName>,
    ) -> impl Future<Output = Result<Vec<App>, GateError>> + Send;
    /// Stops a space's app: SageMaker stops a Studio app by deleting it; the space and its storage
    /// stay.
    fn delete_app(
        &self,
        domain_id: &str,
        space: &SpaceName,
        app_type: &str,
        app_name: &str,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
    fn describe_domain(
        &self,
        domain_id: &str,
    ) -> impl Future<Output = Result<Domain, GateError>> + Send;
    fn describe_space(
        &self,
        domain_id: &str,
        space_name: &SpaceName,
    ) -> impl Future<Output = Result<Space, GateError>> + Send;
    fn list_spaces(
        &self,
        domain_id: &str,
    ) -> impl Future<Output = Result<Vec<Space>, GateError>> + Send;
    fn presign_domain(
        &self,
        request: DomainUrlRequest<'_>,
    ) -> impl Future<Output = Result<String, GateError>> + Send;
}

impl StudioApi for aws_sdk_sagemaker::Client {
    async fn list_apps(
        &self,
        domain_id: &str,
        space: Option<&SpaceName>,
    ) -> Result<Vec<App>, GateError> {
        let mut pages = self
            .list_apps()
            .domain_id_equals(domain_id)
            .set_space_name_equals(space.map(|s| s.as_str().to_owned()))
            // The API's most: a domain's apps in as few round trips as it allows.
            .max_results(100)
            .into_paginator()
            .send();
        let mut apps = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListApps", e))?;
            apps.extend(page.apps().iter().filter_map(|a| {
                Some(App {
                    space_name: a.space_name().map(str::to_owned),
                    app_type: a.app_type()?.as_str().to_owned(),
                    app_name: a.app_name()?.to_owned(),
                    status: AppStatus::parse(a.status().map_or("", |s| s.as_str())),
                    instance_type: a
                        .resource_spec()
                        .and_then(|r| r.instance_type())
                        .map(|t| t.as_str().to_owned()),
                    since: rfc3339(a.creation_time()),
                })
            }));
        }
        Ok(apps)
    }
    async fn delete_app(
        &self,
        domain_id: &str,
        space: &SpaceName,
        app_type: &str,
        app_name: &str,
    ) -> Result<(), GateError> {
        self.delete_app()
            .domain_id(domain_id)
            .space_name(space.as_str())
            .app_type(AppType::from(app_type))
            .app_name(app_name)
            .send()
            .await
            .map_err(|e| classify("DeleteApp", e))?;
        Ok(())
    }
    async fn describe_domain(&self, domain_id: &str) -> Result<Domain, GateError> {
        const OP: &str = "DescribeDomain";
        let out = self
            .describe_domain()
            .domain_id(domain_id)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let unservable = if out.auth_mode() == Some(&AuthMode::Sso) {
            Some(DomainRefusal::IdentityCenter)
        } else if out
            .domain_settings()
            .and_then(|s| s.unified_studio_settings())
            .and_then(|u| u.studio_web_portal_access())
            == Some(&FeatureStatus::Disabled)
        {
            Some(DomainRefusal::UnifiedStudioOnly)
        } else {
            None
        };
        let idle = out
            .default_user_settings()
            .and_then(|s| s.jupyter_lab_app_settings())
            .and_then(|j| j.app_lifecycle_management())
            .and_then(|m| m.idle_settings());
        let idle_shutdown_minutes = idle
            .filter(|i| i.lifecycle_management() == Some(&LifecycleManagement::Enabled))
            .map(|i| i.idle_timeout_in_minutes().unwrap_or(DEFAULT_IDLE_MINUTES));
        let arn = out.domain_arn.ok_or_else(|| missing(OP, "DomainArn"))?;
        // A portal labels the domain with its name; the id is a fair label without one.
        let name = out.domain_name.unwrap_or_else(|| domain_id.to_owned());
        Ok(Domain {
            arn,
            name,
            unservable,
            idle_shutdown_minutes,
        })
    }
    async fn describe_space(
        &self,
        domain_id: &str,
        space_name: &SpaceName,
    ) -> Result<Space, GateError> {
        let out = self
            .describe_space()
            .domain_id(domain_id)
            .space_name(space_name.as_str())
            .send()
            .await
            .map_err(|e| classify("DescribeSpace", e))?;
        Ok(Space {
            name: out.space_name().unwrap_or(space_name.as_str()).to_owned(),
            owner_profile: out
                .ownership_settings()
                .and_then(|o| o.owner_user_profile_name())
                .map(str::to_owned),
            shared: out
                .space_sharing_settings()
                .is_some_and(|s| s.sharing_type() == Some(&SharingType::Shared)),
            status: out.status().map(|s| s.as_str().to_owned()),
            app_type: out
                .space_settings()
                .and_then(|s| s.app_type())
                .map(|a| a.as_str().to_owned()),
        })
    }
    async fn list_spaces(&self, domain_id: &str) -> Result<Vec<Space>, GateError> {
        let mut pages = self
            .list_spaces()
            .domain_id_equals(domain_id)
            .max_results(100)
            .into_paginator()
            .send();
        let mut spaces = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| classify("ListSpaces", e))?;
            spaces.extend(page.spaces().iter().filter_map(|s| {
                Some(Space {
                    name: s.space_name()?.to_owned(),
                    owner_profile: s
                        .ownership_settings_summary()
                        .and_then(|o| o.owner_user_profile_name())
                        .map(str::to_owned),
                    shared: s
                        .space_sharing_settings_summary()
                        .and_then(|x| x.sharing_type())
                        == Some(&SharingType::Shared),
                    status: s.status().map(|x| x.as_str().to_owned()),
                    app_type: s
                        .space_settings_summary()
                        .and_then(|x| x.app_type())
                        .map(|a| a.as_str().to_owned()),
                })
            }));
        }
        Ok(spaces)
    }
    async fn presign_domain(&self, request: DomainUrlRequest<'_>) -> Result<String, GateError> {
        const OP: &str = "CreatePresignedDomainUrl";
        let out = self
            .create_presigned_domain_url()
            .domain_id(request.domain_id)
            .user_profile_name(request.profile_name.as_str())
            .set_space_name(request.space_name.map(|s| s.as_str().to_owned()))
            .set_landing_uri(request.landing_uri.map(str::to_owned))
            .expires_in_seconds(request.expires_in_seconds as i32)
            .session_expiration_duration_in_seconds(request.session_seconds as i32)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        out.authorized_url
            .ok_or_else(|| missing(OP, "AuthorizedUrl"))
    }
}
