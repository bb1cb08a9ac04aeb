//! The route steps for Studio: the caller's owned profile in one of the configured domains,
//! opening it or one of its spaces, stopping a space's app, and each domain's part of
//! `GET /targets`.

use serde::Serialize;
use tokio::sync::OnceCell;

use super::{
    App, AppStatus, Domain, DomainUrlRequest, ProfileName, Space, SpaceAccess, SpaceName,
    StudioApi, StudioApp, may_open_space, may_stop_space_app, space_stop_plan,
};
use crate::caller::{Caller, is_owned_by};
use crate::calls::{AppRef, Calls, Changed, Opening, SageMakerArns, Target, both};
use crate::clock::Moment;
use crate::domains::{DomainId, StudioDomains};
use crate::error::GateError;
use crate::keep::Kept;
use crate::lifecycle::{Lifecycle, LifecycleAction, LifecyclePlan};
use crate::pricing::Priced;
use crate::running_cost::{RunningCost, RunningTarget};
use crate::running_time::Kind;
use crate::running_time::kept_until;
use crate::sagemaker::TagsApi;
use futures_util::future::join_all;

/// Each configured Studio domain's ARN and name (`DescribeDomain`), looked up on the first
/// request that needs that domain and kept for the process's life: a domain's name and ARN do
/// not change. Ownership answers are never kept.
pub struct Domains(pub(crate) Vec<(DomainId, OnceCell<Domain>)>);

impl Domains {
    pub fn new(configured: &StudioDomains) -> Self {
        Self(
            configured
                .ids()
                .iter()
                .map(|id| (id.clone(), OnceCell::new()))
                .collect(),
        )
    }
}

/// The Studio user profile a caller opens: their token's user name, made valid as a profile name.
pub fn profile_name(caller: &Caller) -> Option<ProfileName> {
    caller
        .user_name
        .as_deref()
        .and_then(ProfileName::from_user_name)
}

impl From<&App> for AppRef {
    fn from(app: &App) -> Self {
        Self {
            app_type: app.app_type.clone(),
            app_name: app.app_name.clone(),
        }
    }
}

impl SageMakerArns {
    /// `…:domain/<id>`, what `DescribeDomain` must answer for a domain in this account.
    pub(crate) fn domain(&self, domain: &DomainId) -> String {
        format!("{}:domain/{domain}", self.0)
    }

    /// `…:user-profile/<domain>/<name>`: known before SageMaker is asked, so the profile's tags
    /// are read at the same time as the domain (on its first request) and the space.
    pub(crate) fn user_profile(&self, domain: &DomainId, profile: &ProfileName) -> String {
        format!("{}:user-profile/{domain}/{profile}", self.0)
    }

    /// `…:space/<domain>/<name>`: where a space's keep tag is read and written.
    pub(crate) fn space(&self, domain: &DomainId, space: &str) -> String {
        format!("{}:space/{domain}/{space}", self.0)
    }
}

impl<S: StudioApi + TagsApi> Calls<'_, S> {
    /// The domain's ARN and name: one `DescribeDomain` per domain per process, then kept.
    pub(crate) async fn domain<'d>(
        &self,
        domains: &'d Domains,
        id: &DomainId,
    ) -> Result<&'d Domain, GateError> {
        let (_, cell) = domains
            .0
            .iter()
            .find(|(configured, _)| configured == id)
            .ok_or(GateError::NotFound)?;
        cell.get_or_try_init(|| async {
            let domain = self
                .call(|sagemaker| sagemaker.describe_domain(id.as_str()))
                .await?;
            if let Some(refusal) = domain.unservable {
                // Once per process: the operator configured a domain the gate can never open.
                tracing::error!(
                    domain = %id,
                    ?refusal,
                    "Studio domain cannot be opened with CreatePresignedDomainUrl (IAM Identity \
                     Center mode, or Unified Studio only); remove it from STUDIO_DOMAIN_IDS"
                );
            }
            Ok(domain)
        })
        .await
    }

    /// The caller's profile in `domain`, once its owner tag says it is theirs: `ListTags` on the
    /// profile ARN built from the function's own, together with `DescribeDomain` on the domain's
    /// first request. Every way this can fail looks the same to the caller; nothing about
    /// ownership is kept.
    async fn owned_profile<'d>(
        &self,
        domains: &'d Domains,
        caller: &Caller,
        domain_id: &DomainId,
    ) -> Result<(&'d Domain, ProfileName), GateError> {
        let profile_name = profile_name(caller).ok_or(GateError::NotFound)?;
        let arns = self.arns()?;
        let profile_arn = arns.user_profile(domain_id, &profile_name);
        let (domain, tags) = tokio::join!(
            self.domain(domains, domain_id),
            self.call(|sagemaker| sagemaker.list_tags(&profile_arn)),
        );
        let (domain, tags) = both(domain, tags)?;
        if domain.arn != arns.domain(domain_id) {
            // The profile ARN was built for another account or region than the domain's: the tags
            // read are not this domain's profile's, so nothing opens.
            tracing::warn!(
                expected = %arns.domain(domain_id),
                described = %domain.arn,
                "Studio domain ARN differs from the one built from the function's ARN"
            );
            return Err(GateError::NotFound);
        }
        if !is_owned_by(&tags, caller, self.config()) {
            return Err(GateError::NotFound);
        }
        // Only an owner learns that the domain cannot be opened: anyone else got the 404 above.
        if let Some(refusal) = domain.unservable {
            return Err(GateError::DomainUnsupported(refusal.words()));
        }
        Ok((domain, profile_name))
    }

    /// The owned profile's reads and, when a space is asked for, `DescribeSpace`, together. As for
    /// notebooks, both reads are made and awaited whatever either finds.
    async fn callers_profile_and_space(
        &self,
        domains: &Domains,
        caller: &Caller,
        domain_id: &DomainId,
        space_name: Option<&SpaceName>,
    ) -> Result<(ProfileName, Option<Space>), GateError> {
        let space = async {
            match space_name {
                Some(space_name) => self
                    .call(|sagemaker| sagemaker.describe_space(domain_id.as_str(), space_name))
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (profile, space) = tokio::join!(self.owned_profile(domains, caller, domain_id), space);
        let ((_, profile_name), space) = both(profile, space)?;
        Ok((profile_name, space))
    }

    /// The reads of `callers_profile_and_space` together, then the presign: 2 round trips, with
    /// a domain's one `DescribeDomain` riding in the first.
    pub(crate) async fn open_studio(
        &self,
        domains: &Domains,
        caller: &Caller,
        domain_id: &DomainId,
        space_name: Option<&SpaceName>,
        app: Option<StudioApp>,
        session_seconds: u32,
    ) -> Result<Opening, GateError> {
        let (profile_name, space) = self
            .callers_profile_and_space(domains, caller, domain_id, space_name)
            .await?;
        if let Some(space) = space
            && !may_open_space(&space_access(&space), &profile_name)
        {
            return Err(GateError::NotFound);
        }
        let request = DomainUrlRequest {
            domain_id: domain_id.as_str(),
            profile_name: &profile_name,
            space_name,
            landing_uri: app.map(StudioApp::landing_uri),
            expires_in_seconds: self.config().url_expires_seconds,
            session_seconds,
        };
        let url = self
            .call(|sagemaker| sagemaker.presign_domain(request))
            .await?;
        Ok(Opening::Ready {
            url,
            valid_seconds: self.config().url_expires_seconds,
            target: Target::Studio {
                domain_id: domain_id.to_string(),
                user_profile: profile_name.to_string(),
                space: space_name.map(SpaceName::to_string),
                app: app.map(StudioApp::as_str),
            },
        })
    }

    /// Stops a space's app(s): the profile's reads and `DescribeSpace` together (as an open), the
    /// owner check, `ListApps` for the space, then one `DeleteApp` per app `InService` or
    /// `Pending`, together. The space and its storage stay.
    pub(crate) async fn stop_space(
        &self,
        domains: &Domains,
        caller: &Caller,
        domain_id: &DomainId,
        space_name: &SpaceName,
    ) -> Result<Changed, GateError> {
        let (profile_name, space) = self
            .callers_profile_and_space(domains, caller, domain_id, Some(space_name))
            .await?;
        let space = space.ok_or(GateError::NotFound)?;
        may_stop_space_app(&space_access(&space), &profile_name)?;
        let domain = domain_id.as_str();
        let apps: Vec<App> = self
            .call(|sagemaker| sagemaker.list_apps(domain, Some(space_name)))
            .await?
            .into_iter()
            .filter(|a| a.space_name.as_deref() == Some(space_name.as_str()))
            .collect();
        let target = Target::Studio {
            domain_id: domain_id.to_string(),
            user_profile: profile_name.to_string(),
            space: Some(space_name.to_string()),
            app: None,
        };
        let plan = space_stop_plan(apps.iter().map(|a| &a.status));
        let (result, status, underway, stopped) = match plan {
            LifecyclePlan::Act => {
                let running: Vec<&App> = apps.iter().filter(|a| a.status.is_running()).collect();
                let deleted = futures_util::future::join_all(running.iter().map(|app| {
                    self.call(|sagemaker| {
                        sagemaker.delete_app(domain, space_name, &app.app_type, &app.app_name)
                    })
                }))
                .await;
                // An app SageMaker refuses to delete because it is already being deleted (another
                // tab, or its owner elsewhere, got there first) is on its way down all the same.
                let mut stopped = Vec::new();
                for (app, result) in running.into_iter().zip(deleted) {
                    match result {
                        Ok(()) => stopped.push(AppRef::from(app)),
                        Err(GateError::StateChanged) => {}
                        Err(error) => return Err(error),
                    }
                }
                tracing::info!(space = %space_name, apps = stopped.len(), "stopping a space's apps");
                let result = if stopped.is_empty() {
                    "already stopping"
                } else {
                    "stopping"
                };
                (result, Some(AppStatus::Deleting), true, stopped)
            }
            LifecyclePlan::Underway(result) => (result, Some(AppStatus::Deleting), true, vec![]),
            LifecyclePlan::Settled(result) => {
                let latest = space_app(&apps, space_name.as_str()).map(|a| a.status.clone());
                (result, latest, false, vec![])
            }
        };
        Ok(Changed {
            result,
            status: status.map(|s| s.as_str().to_owned()),
            underway,
            target,
            apps: Some(stopped),
        })
    }

    /// Keeps a space's running app going until `until`: the stop's reads and owner check, then
    /// `ListApps` for the space and the keep's `AddTags` on the space (4 calls). The keep is the
    /// space's: whichever app runs in it next is kept too, until then.
    pub(crate) async fn keep_space(
        &self,
        domains: &Domains,
        caller: &Caller,
        domain_id: &DomainId,
        space_name: &SpaceName,
        until: Moment,
    ) -> Result<Kept, GateError> {
        let (profile_name, space) = self
            .callers_profile_and_space(domains, caller, domain_id, Some(space_name))
            .await?;
        let space = space.ok_or(GateError::NotFound)?;
        may_stop_space_app(&space_access(&space), &profile_name)?;
        if self
            .domain(domains, domain_id)
            .await?
            .idle_shutdown_minutes
            .is_some()
        {
            // SageMaker's idle shutdown, not the gate's policy, stops this domain's apps.
            return Err(GateError::KeepDisabled);
        }
        let domain = domain_id.as_str();
        let apps = self
            .call(|sagemaker| sagemaker.list_apps(domain, Some(space_name)))
            .await?;
        let running = apps
            .iter()
            .find(|a| {
                a.space_name.as_deref() == Some(space_name.as_str())
                    && a.status.as_str() == "InService"
            })
            .ok_or_else(|| GateError::NotRunning("stopped".into()))?;
        let since = running.since.as_deref().and_then(Moment::parse_rfc3339);
        let arn = self.arns()?.space(domain_id, space_name.as_str());
        let target = Target::Studio {
            domain_id: domain_id.to_string(),
            user_profile: profile_name.to_string(),
            space: Some(space_name.to_string()),
            app: None,
        };
        self.keep(Kind::Space, &arn, since, until, target).await
    }

    /// Every configured domain at once; a domain where the caller owns no profile is left out,
    /// and any other failure of any domain fails the answer.
    pub(crate) async fn studio_targets(
        &self,
        domains: &Domains,
        caller: &Caller,
    ) -> Result<Vec<StudioDomainTarget>, GateError> {
        let per_domain = futures_util::future::join_all(
            domains
                .0
                .iter()
                .map(|(domain, _)| self.studio_domain_target(domains, caller, domain)),
        )
        .await;
        per_domain
            .into_iter()
            .filter_map(Result::transpose)
            .collect()
    }

    /// One domain: the owned profile's reads, then `ListSpaces` ‖ one domain-wide `ListApps` (no
    /// call per space). `None` when the caller owns no profile there.
    async fn studio_domain_target(
        &self,
        domains: &Domains,
        caller: &Caller,
        domain_id: &DomainId,
    ) -> Result<Option<StudioDomainTarget>, GateError> {
        let (domain, profile_name) = match self.owned_profile(domains, caller, domain_id).await {
            Ok(owned) => owned,
            // Not theirs, or a domain nobody can open here (the init log says which).
            Err(GateError::NotFound | GateError::DomainUnsupported(_)) => return Ok(None),
            Err(other) => return Err(other),
        };
        let id = domain_id.as_str();
        let (spaces, apps) = tokio::join!(
            self.call(|sagemaker| sagemaker.list_spaces(id)),
            self.call(|sagemaker| sagemaker.list_apps(id, None)),
        );
        let (spaces, apps) = both(spaces, apps)?;
        let lifecycle = self.config().lifecycle;
        let mut spaces: Vec<SpaceTarget> = spaces
            .into_iter()
            .filter(|s| may_open_space(&space_access(s), &profile_name))
            .map(|s| {
                let app = space_app(&apps, &s.name).map(AppTarget::from);
                SpaceTarget::new(domain_id, s, app, lifecycle, &profile_name)
            })
            .collect();
        let idle = domain.idle_shutdown_minutes.is_some();
        let costs = join_all(
            spaces
                .iter()
                .map(|space| self.space_running_cost(domain_id, space, idle)),
        )
        .await;
        for (space, cost) in spaces.iter_mut().zip(costs) {
            space.running = cost.unwrap_or_default();
        }
        Ok(Some(StudioDomainTarget {
            domain_id: id.to_owned(),
            domain_name: domain.name.clone(),
            user_profile: profile_name.to_string(),
            open: format!("/studio?domain={id}"),
            launch: Some(format!("/launch/studio?domain={id}")),
            idle_shutdown_minutes: domain.idle_shutdown_minutes,
            spaces,
        }))
    }

    /// A space whose app runs: its stop time and keep (the keep tag read with `ListTags` on the
    /// space, only where a keep means something) and its app's price. None when nothing runs.
    async fn space_running_cost(
        &self,
        domain_id: &DomainId,
        space: &SpaceTarget,
        left_to_sagemaker: bool,
    ) -> Option<RunningCost> {
        let app = space
            .app
            .as_ref()
            .filter(|a| a.status.as_str() == "InService")?;
        let may_keep = !left_to_sagemaker && self.config().running_time.may_keep(Kind::Space);
        let kept_until = match (may_keep, self.arns()) {
            (true, Ok(arns)) => {
                let arn = arns.space(domain_id, &space.name);
                match self.call(|sagemaker| sagemaker.list_tags(&arn)).await {
                    Ok(tags) => kept_until(
                        tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
                        self.now(),
                    ),
                    Err(error) => {
                        tracing::warn!(%error, space = %space.name, "space tags unreadable");
                        None
                    }
                }
            }
            _ => None,
        };
        let target = RunningTarget {
            kind: Kind::Space,
            since: app.since.as_deref(),
            kept_until,
            keep_route: format!("/studio/spaces/{}/keep?domain={domain_id}", space.name),
            priced: app
                .instance_type
                .clone()
                .map(|instance_type| Priced::StudioApp {
                    app_type: app.app_type.clone(),
                    instance_type,
                }),
            left_to_sagemaker,
        };
        Some(self.running_cost(target).await)
    }
}

fn space_access(space: &Space) -> SpaceAccess<'_> {
    SpaceAccess {
        owner_profile: space.owner_profile.as_deref(),
        shared: space.shared,
    }
}

/// The app a space is shown with: one running or starting, else the most recently created.
fn space_app<'a>(apps: &'a [App], space: &str) -> Option<&'a App> {
    let (running, others): (Vec<&App>, Vec<&App>) = apps
        .iter()
        .filter(|a| a.space_name.as_deref() == Some(space))
        .partition(|a| a.status.is_running());
    running
        .into_iter()
        .next()
        .or_else(|| others.into_iter().max_by(|a, b| a.since.cmp(&b.since)))
}

/// One domain in `GET /targets`: the caller's profile there and the spaces it may open.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StudioDomainTarget {
    pub domain_id: String,
    /// `DomainName`, the label a portal gives the domain's card.
    pub domain_name: String,
    pub user_profile: String,
    pub open: String,
    /// Absent with `LAUNCH_ROUTES=false` (see `Targets::without_launch_routes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// SageMaker's idle shutdown of the domain's JupyterLab apps, in minutes: the running-time
    /// policy leaves these spaces to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_shutdown_minutes: Option<i32>,
    pub spaces: Vec<SpaceTarget>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceTarget {
    pub name: String,
    pub owner_profile: Option<String>,
    pub shared: bool,
    pub status: Option<String>,
    pub app_type: Option<String>,
    /// Its running app (or the most recent one), from the domain's one `ListApps`.
    pub app: Option<AppTarget>,
    pub open: String,
    /// Absent with `LAUNCH_ROUTES=false` (see `Targets::without_launch_routes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// The route that stops its app: only when stopping is allowed and the caller owns the space.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// When its app runs: the stop time, keep and price (`running_cost.rs`).
    #[serde(flatten)]
    pub running: RunningCost,
}

impl SpaceTarget {
    fn new(
        domain: &DomainId,
        space: Space,
        app: Option<AppTarget>,
        lifecycle: Lifecycle,
        profile_name: &ProfileName,
    ) -> Self {
        let stoppable = lifecycle.allows(LifecycleAction::Stop)
            && may_stop_space_app(&space_access(&space), profile_name).is_ok();
        let name = &space.name;
        Self {
            open: format!("/studio?domain={domain}&space={name}"),
            launch: Some(format!("/launch/studio?domain={domain}&space={name}")),
            stop: stoppable.then(|| format!("/studio/spaces/{name}/stop?domain={domain}")),
            name: space.name,
            owner_profile: space.owner_profile,
            shared: space.shared,
            status: space.status,
            app_type: space.app_type,
            app,
            running: RunningCost::default(),
        }
    }
}

/// A space's app in `GET /targets`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppTarget {
    pub app_type: String,
    pub app_name: String,
    pub status: AppStatus,
    pub instance_type: Option<String>,
    /// `CreationTime`, RFC 3339.
    pub since: Option<String>,
}

impl From<&App> for AppTarget {
    fn from(app: &App) -> Self {
        Self {
            app_type: app.app_type.clone(),
            app_name: app.app_name.clone(),
            status: app.status.clone(),
            instance_type: app.instance_type.clone(),
            since: app.since.clone(),
        }
    }
}
