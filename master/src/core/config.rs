//! How the master runs: [`MasterConfig`], its defaults (Mesos's) and
//! validation, and the bugs a simulation can plant in it.

use std::time::Duration;

use thiserror::Error;

use crate::acls::Acls;
use crate::allocator::{AllocatorActorConfig, AllocatorError};
use corral_api::auth::Credentials;

/// How the master runs. Defaults are Mesos's.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterConfig {
    /// The allocator's interval, weights and thresholds.
    pub allocator: AllocatorActorConfig,
    /// How often frameworks get a [`Heartbeat`](corral_api::framework::Heartbeat) (15 s).
    pub heartbeat_interval: Duration,
    /// How often agents are pinged, and how long a ping may take (15 s;
    /// `--agent-ping-timeout`, Mesos's flag of that name).
    pub agent_ping_timeout: Duration,
    /// Pings an agent may miss in a row before it is unreachable (5).
    pub max_missed_pings: u32,
    /// Offers older than this are rescinded (Mesos: none by default).
    pub offer_timeout: Option<Duration>,
    /// Decline filter when a framework gives none (5 s).
    pub default_refuse: Duration,
    /// Completed tasks kept per framework for reconciliation and display
    /// (1000; Mesos's `--max_completed_tasks_per_framework`).
    pub max_completed_tasks: usize,
    /// Removed frameworks kept, with their completed tasks, for display
    /// (50; Mesos's `--max_completed_frameworks`): `/state` lists them and
    /// `corral task log` still finds their tasks' sandboxes.
    pub max_completed_frameworks: usize,
    /// Role of frameworks that name none (`*`).
    pub default_role: String,
    /// After a failover, how long the new leader waits for the agents its
    /// registry names before it removes them (Mesos: 10 min). Frameworks
    /// it recovers are kept at least this long.
    pub agent_reregister_timeout: Duration,
    /// How long an unreachable agent may take to come back before it is
    /// removed: its tasks become TASK_GONE (TASK_LOST was already said to
    /// frameworks that are not partition-aware) and, should it return, it
    /// is told to shut down (10 min).
    pub agent_removal_timeout: Duration,
    /// How often a replicated master asks its registrar whether it leads
    /// (100 ms).
    pub leader_poll: Duration,
    /// This master's HTTP base URL, recorded when it is elected so that the
    /// other masters can redirect operators to it.
    pub http_url: Option<String>,
    /// Which actors must prove who they are, and the principals they may
    /// prove (`--credentials`, `--authenticate-frameworks`,
    /// `--authenticate-agents`). Default: nobody is asked.
    pub authentication: Authentication,
    /// What each principal may do (`--acls`). Default: everything.
    pub acls: Acls,
    /// A known bug switched on so a simulation can show its checks catch
    /// it (`corral sim --plant-bug`); None (the default) everywhere else.
    pub planted: Option<MasterBug>,
}

/// Bugs the master can be told to have, for the simulator's checks to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterBug {
    /// Frees a task's resources when it starts running, not when it ends.
    FreeAtRunning,
    /// Rescinds expired offers without telling their frameworks.
    SilentRescind,
    /// Ignores frameworks' `Revive`.
    IgnoreRevive,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            allocator: AllocatorActorConfig::default(),
            heartbeat_interval: Duration::from_secs(15),
            agent_ping_timeout: Duration::from_secs(15),
            max_missed_pings: 5,
            offer_timeout: None,
            default_refuse: Duration::from_secs(5),
            max_completed_tasks: 1000,
            max_completed_frameworks: 50,
            default_role: "*".to_owned(),
            agent_reregister_timeout: Duration::from_secs(600),
            agent_removal_timeout: Duration::from_secs(600),
            leader_poll: Duration::from_millis(100),
            http_url: None,
            authentication: Authentication::default(),
            acls: Acls::default(),
            planted: None,
        }
    }
}

/// A master configuration value that cannot work.
#[derive(Debug, Error)]
pub enum MasterConfigError {
    /// The allocator's part is invalid.
    #[error(transparent)]
    Allocator(#[from] AllocatorError),
    /// A duration that must be above zero is zero.
    #[error("{0} must be above zero")]
    Zero(&'static str),
    /// Authentication is required with no principals to prove.
    #[error(
        "--authenticate-frameworks and --authenticate-agents need --credentials, or mutual TLS \
         (--tls-ca) for certificates that name principals"
    )]
    NoCredentials,
}

/// Who must authenticate, and against what (see [`corral_api::auth`]).
///
/// With credentials but nothing required, a framework or agent that sends
/// a credential must still prove it (a wrong one is refused), and one that
/// sends none is admitted, as in Mesos.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Authentication {
    /// The principals and their secrets (`--credentials`).
    pub credentials: Option<Credentials>,
    /// Frameworks must prove a principal (`--authenticate-frameworks`).
    pub frameworks: bool,
    /// Agents must prove a principal (`--authenticate-agents`).
    pub agents: bool,
    /// The master runs mutual TLS, so a sender's certificate can prove its
    /// principal (`Ctx::certified`): required authentication then needs no
    /// credentials.
    pub certificates: bool,
}

impl MasterConfig {
    /// Rejects zero intervals and limits, and bad allocator settings.
    pub fn validate(&self) -> Result<(), MasterConfigError> {
        self.allocator.validate()?;
        let zero = [
            ("heartbeat_interval", self.heartbeat_interval.is_zero()),
            ("agent_ping_timeout", self.agent_ping_timeout.is_zero()),
            ("max_missed_pings", self.max_missed_pings == 0),
            ("offer_timeout", self.offer_timeout == Some(Duration::ZERO)),
            ("max_completed_tasks", self.max_completed_tasks == 0),
            (
                "agent_reregister_timeout",
                self.agent_reregister_timeout.is_zero(),
            ),
            ("leader_poll", self.leader_poll.is_zero()),
            (
                "agent_removal_timeout",
                self.agent_removal_timeout.is_zero(),
            ),
        ];
        let auth = &self.authentication;
        let provable = auth.credentials.is_some() || auth.certificates;
        if (auth.frameworks || auth.agents) && !provable {
            return Err(MasterConfigError::NoCredentials);
        }
        match zero.iter().find(|(_, z)| *z) {
            Some((name, _)) => Err(MasterConfigError::Zero(name)),
            None => Ok(()),
        }
    }
}
