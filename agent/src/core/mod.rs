//! The agent's decisions without I/O: [`AgentCore`].
//!
//! The core holds what the agent knows (its master, its registration, its
//! tasks and their supervision [`Phase`](phase::Phase)s, executor
//! processes, status updates) and decides what to do about each input. It
//! reads no clock, sends nothing and touches no store: its inputs are the
//! `handle_*` methods, which take the moment ([`Now`]: time, wall clock and
//! the host's random source) and the sender, and its outputs are
//! [`Action`]s, drained with [`poll_action`](AgentCore::poll_action) in the
//! order the agent takes them. The actor ([`crate::Agent`]) is the shell
//! that carries them out through `Ctx`.
//!
//! The decisions are split by conversation, one file each: `registration`
//! (master registration, pings, agent shutdown), `leader` (which master
//! leads), `watchdog` (a master that stops pinging), `launch` (running
//! tasks), `executors` (what executors say), `kill` (kills, framework
//! shutdown and executor exits), `acks` (acknowledgements), `messages`
//! (framework messages both ways, executor exits told to the master) and
//! `recovery` (checkpoints and restarts). What they share is in `statuses` (queueing
//! status updates and sending them) and `ending` (ending and forgetting
//! tasks, reaping their executors); this file holds the state.

mod acks;
mod actions;
mod ending;
mod executors;
mod kill;
mod launch;
mod leader;
mod messages;
pub(crate) mod phase;
mod recovery;
mod registration;
mod statuses;
mod tasks;
mod watchdog;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral_api::ids::{AgentId, FrameworkId};
use corral_api::leader::LeaderTerm;
use corral_api::resources::Resources;
use corral_runtime::{Pid, Time};
use rand::RngCore;

pub use self::actions::{Action, LaunchId, Outgoing, Timer};
pub use self::launch::EXECUTOR_LOG;
use self::tasks::Task;
pub use self::tasks::TaskSummary;
use crate::config::AgentConfig;
use crate::events::AgentEvent;
use crate::updates::{TaskKey, UpdateManager};

/// Frameworks remembered as shut down (their late updates are dropped).
const MAX_REMOVED_FRAMEWORKS: usize = 1000;
/// Extra time the agent gives an executor beyond the kill grace before it
/// SIGKILLs it itself.
const KILL_MARGIN: Duration = Duration::from_secs(5);

/// The moment an input happens, as the host gives it.
pub struct Now<'a> {
    /// The host's monotonic time.
    pub time: Time,
    /// Wall-clock milliseconds since the Unix epoch (status timestamps).
    pub unix_ms: u64,
    /// The host's random source (update uuids, registration jitter).
    pub rng: &'a mut dyn RngCore,
}

/// Where the agent stands with the master.
#[derive(Debug)]
enum Registration {
    /// Sending `RegisterAgent` with backoff until `AgentRegistered`.
    Registering {
        /// The wait before the attempt after next (before jitter).
        backoff: Duration,
        /// The next attempt is scheduled ([`Timer::Registration`]).
        scheduled: bool,
        /// Attempts that `NotLeader` hints may still send at once before
        /// the next scheduled attempt: one fewer than there are masters, so
        /// a chain of hints can reach any master, but masters that name
        /// each other cannot make the agent send without pause.
        redirects_left: usize,
        /// A hint named the current master after the redirects ran out,
        /// and it has not been tried: the next scheduled attempt goes to
        /// it rather than on to the next master of the list.
        hinted: bool,
    },
    /// Admitted; status updates flow.
    Registered,
}

/// Where an executor of a forgotten task stands while it is reaped.
#[derive(Debug)]
enum Orphan {
    /// Given [`KILL_MARGIN`] to exit by itself; then asked to shut down.
    Lingering {
        /// The executor's actor.
        executor: Pid,
        /// The grace its shutdown gets.
        grace: Duration,
    },
    /// Asked to shut down; SIGKILLed when its timer fires.
    ShuttingDown,
}

/// The agent's state and decisions, sans-IO.
///
/// Calling order: [`handle_start`](Self::handle_start) once, with the
/// checkpoint the shell read; then each message, timer, link loss and
/// process exit as it comes, through its `handle_*` method. After each
/// input, drain [`poll_action`](Self::poll_action) and carry the actions
/// out in order; report checkpoint writes that failed with
/// [`handle_checkpoint_failed`](Self::handle_checkpoint_failed). Input
/// that does not fit (a stranger's message, an unknown task, a stale
/// timer) is logged and ignored: nothing from the network makes it panic.
pub struct AgentCore {
    cfg: AgentConfig,
    /// This agent's actor, once started.
    me: Option<Pid>,
    /// The master the agent registers with, or is registered with: one of
    /// `cfg.masters`. Everything for "the master" goes here, and only what
    /// it sends is obeyed.
    master: Pid,
    registration: Registration,
    agent_id: Option<AgentId>,
    /// The latest term of a master that admitted the agent: a deposed
    /// leader's older term is refused.
    leader_term: LeaderTerm,
    tasks: BTreeMap<TaskKey, Task>,
    /// Executor processes and the supervised tasks each runs (one for the
    /// command executor, any number for a framework's own executor).
    processes: BTreeMap<LaunchId, BTreeSet<TaskKey>>,
    /// Executors of forgotten tasks, SIGKILLed by their timer if still alive.
    orphans: BTreeMap<LaunchId, Orphan>,
    /// Framework's own executor processes, by framework and executor id:
    /// the master is told when one ends.
    custom_executors: BTreeMap<LaunchId, (FrameworkId, String)>,
    next_launch: u64,
    updates: UpdateManager,
    /// Resources of non-terminal tasks.
    used: Resources,
    completed: VecDeque<TaskSummary>,
    removed_frameworks: BTreeSet<FrameworkId>,
    removed_order: VecDeque<FrameworkId>,
    /// When the status retry timer fires, if set.
    retry_at: Option<Time>,
    next_launch_seq: u64,
    /// The master's last refusal of this agent, said once at ERROR: every
    /// attempt meets the same refusal until one side is fixed.
    refused: Option<String>,
    /// Tasks whose checkpoint record must be rewritten.
    dirty: BTreeSet<TaskKey>,
    /// The node has a store: the agent checkpoints (see [`crate::checkpoint`]).
    checkpointing: bool,
    /// The ping watchdog is set.
    watching_pings: bool,
    /// The master's ping interval, from its `AgentRegistered`.
    ping_interval: Duration,
    /// Registration deadlines of tasks whose launching executor
    /// re-registered rather than registered: left to fire (they find the
    /// task running), but stopped with the task like any deadline.
    stray_deadlines: BTreeSet<(TaskKey, u64)>,
    /// The timer being handled: it fired, so there is nothing to cancel.
    firing: Option<Timer>,
    actions: VecDeque<Action>,
}

impl AgentCore {
    /// A core for `cfg`, not yet started.
    ///
    /// # Panics
    /// If `cfg` does not pass [`AgentConfig::validate`]: binaries validate
    /// first and report the error in words.
    pub fn new(cfg: AgentConfig) -> AgentCore {
        if let Err(e) = cfg.validate() {
            panic!("Agent::new needs a validated AgentConfig: {e}");
        }
        AgentCore {
            updates: UpdateManager::new(cfg.status_retry_min, cfg.status_retry_max)
                .reordering(cfg.planted == Some(crate::config::AgentBug::ReorderUpdates)),
            registration: Registration::Registering {
                backoff: registration::BACKOFF_MIN,
                scheduled: false,
                redirects_left: 0,
                hinted: false,
            },
            // Validated: the list is not empty.
            master: cfg.masters[0].clone(),
            cfg,
            me: None,
            agent_id: None,
            leader_term: LeaderTerm::default(),
            tasks: BTreeMap::new(),
            processes: BTreeMap::new(),
            orphans: BTreeMap::new(),
            custom_executors: BTreeMap::new(),
            next_launch: 0,
            used: Resources::empty(),
            completed: VecDeque::new(),
            removed_frameworks: BTreeSet::new(),
            removed_order: VecDeque::new(),
            retry_at: None,
            next_launch_seq: 0,
            refused: None,
            dirty: BTreeSet::new(),
            checkpointing: true,
            watching_pings: false,
            ping_interval: Duration::from_secs(15),
            stray_deadlines: BTreeSet::new(),
            firing: None,
            actions: VecDeque::new(),
        }
    }

    /// The next thing to do, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }

    /// The id the master gave, once registered (kept while reconnecting).
    pub fn agent_id(&self) -> Option<&AgentId> {
        self.agent_id.as_ref()
    }

    /// The master the agent registers with now (or is registered with).
    pub fn master(&self) -> &Pid {
        &self.master
    }

    /// Whether the master has admitted the agent and the link holds.
    pub fn is_registered(&self) -> bool {
        matches!(self.registration, Registration::Registered)
    }

    /// Resources of tasks that have not reached a terminal state.
    pub fn used_resources(&self) -> &Resources {
        &self.used
    }

    /// Tasks supervised now (live, or terminal with updates unacknowledged).
    pub fn tasks(&self) -> impl Iterator<Item = TaskSummary> + '_ {
        self.tasks.values().map(Task::summary)
    }

    /// Tasks whose last update was acknowledged, oldest first (bounded by
    /// `max_completed_tasks`).
    pub fn completed_tasks(&self) -> impl Iterator<Item = &TaskSummary> {
        self.completed.iter()
    }

    /// Status updates not yet acknowledged.
    pub fn pending_updates(&self) -> usize {
        self.updates.pending_count()
    }

    /// Handles timer `timer` (set by a [`Action::SetTimer`]) firing.
    pub fn handle_timer(&mut self, now: &mut Now<'_>, timer: Timer) {
        self.firing = Some(timer.clone());
        match timer {
            Timer::Retry => {
                self.retry_at = None;
                self.flush(now.time);
            }
            Timer::Registration => self.scheduled_attempt(now),
            Timer::Watchdog => {
                self.watching_pings = false;
                self.master_silent(now);
            }
            Timer::ExecutorRegistration(key, seq) => {
                self.stray_deadlines.remove(&(key.clone(), seq));
                self.registration_timed_out(now, &key, seq);
            }
            Timer::Kill(key, seq) => self.kill_timed_out(now, &key, seq),
            Timer::Recovery => self.recovery_timed_out(now),
            Timer::Orphan(launch) => self.orphan_timer(launch),
        }
        self.firing = None;
    }

    fn act(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    fn send(&mut self, to: &Pid, msg: Outgoing) {
        self.act(Action::Send {
            to: to.clone(),
            msg,
        });
    }

    fn set_timer(&mut self, timer: Timer, after: Duration) {
        self.act(Action::SetTimer { timer, after });
    }

    fn cancel_timer(&mut self, timer: Timer) {
        if self.firing.as_ref() != Some(&timer) {
            self.act(Action::CancelTimer(timer));
        }
    }

    fn notify(&mut self, event: AgentEvent) {
        self.act(Action::Notify(event));
    }

    /// Whether `from` is the master; logs if not.
    fn sent_by_master(&self, what: &str, from: Option<&Pid>) -> bool {
        let ok = from == Some(&self.master);
        if !ok {
            tracing::warn!(sender = ?from, "ignoring {what} from a sender that is not the master");
        }
        ok
    }
}
