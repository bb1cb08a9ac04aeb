//! Starting and stopping: the actions a deployment allows, and what one comes to for a target.

/// Starting or stopping a target: the actions `LIFECYCLE` turns on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleAction {
    Start,
    Stop,
}

impl LifecycleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
        }
    }
}

/// The lifecycle actions a deployment allows (`LIFECYCLE=start,stop` by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    start: bool,
    stop: bool,
}

impl Lifecycle {
    /// Both actions: the default.
    pub(crate) const BOTH: Self = Self {
        start: true,
        stop: true,
    };

    pub fn allows(self, action: LifecycleAction) -> bool {
        match action {
            LifecycleAction::Start => self.start,
            LifecycleAction::Stop => self.stop,
        }
    }

    /// The allowed actions in a fixed order, as `GET /targets` lists them.
    pub fn actions(self) -> Vec<LifecycleAction> {
        [LifecycleAction::Start, LifecycleAction::Stop]
            .into_iter()
            .filter(|a| self.allows(*a))
            .collect()
    }

    /// A comma-separated subset of `start,stop`; `none` or an empty value allows neither (the
    /// template's `Lifecycle=none` passes an empty `LIFECYCLE`).
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        let mut lifecycle = Self {
            start: false,
            stop: false,
        };
        if raw.trim().eq_ignore_ascii_case("none") {
            return Some(lifecycle);
        }
        for action in raw.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            match action.to_ascii_lowercase().as_str() {
                "start" => lifecycle.start = true,
                "stop" => lifecycle.stop = true,
                _ => return None,
            }
        }
        Some(lifecycle)
    }
}

/// What a start or stop comes to, given where the target is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecyclePlan {
    /// Ask SageMaker to do it.
    Act,
    /// Nothing to do: already where the action leads (`200`, e.g. "already running").
    Settled(&'static str),
    /// Nothing to do: already on its way there (`202`, e.g. "already starting").
    Underway(&'static str),
}
