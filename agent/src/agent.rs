//! The agent actor: registers with the master, launches an executor per
//! task (the command executor) or per executor id (a framework's own,
//! which runs every task naming it), supervises them, and owns the tasks'
//! status updates until the framework acknowledges them.
//!
//! The handlers are split by conversation: `registration` (master
//! registration, pings, agent shutdown), `leader` (which of the masters
//! leads: `NotLeader` hints and `LeaderElected`), `launch` (running tasks),
//! `executors` (what executors say), `kill` (kills, framework shutdown and
//! executor exits), `acks` (acknowledgements) and `operator` (the state
//! snapshot). This file holds the state and the pieces they share:
//! queueing status updates, sending them, and ending and forgetting tasks.
//!
//! The actor uses only [`Ctx`] for time, randomness, processes and timers,
//! and keeps its state in ordered maps, so the simulator replays it exactly.

mod acks;
mod executors;
mod kill;
mod launch;
mod leader;
mod operator;
mod recovery;
mod registration;
mod watchdog;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::leader::LeaderTerm;
use corral_api::resources::Resources;
use corral_api::task::TaskStatus;
use corral_runtime::{Actor, Ctx, ExitStatus, Handlers, Pid, ProcessId, Time, TimerId};

use crate::config::AgentConfig;
use crate::events::{AgentEvent, Observer};
use crate::tasks::{uuid_v4, AgentStatus, Task, TaskSummary};
use crate::updates::{PushResult, TaskKey, UpdateManager};

/// Frameworks remembered as shut down (their late updates are dropped).
const MAX_REMOVED_FRAMEWORKS: usize = 1000;
/// Extra time the agent gives an executor beyond the kill grace before it
/// SIGKILLs it itself.
const KILL_MARGIN: Duration = Duration::from_secs(5);

/// Where the agent stands with the master.
#[derive(Debug)]
enum Registration {
    /// Sending `RegisterAgent` with backoff until `AgentRegistered`.
    Registering {
        /// The wait before the attempt after next (before jitter).
        backoff: Duration,
        /// The next scheduled attempt.
        timer: Option<TimerId>,
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

/// The agent actor. Spawn it under [`Agent::NAME`] on the agent's node.
///
/// Build it with a validated [`AgentConfig`]; it registers with the first
/// of `config.masters` as soon as it starts, and follows the leading master
/// among them. See the crate doc for its place.
pub struct Agent {
    cfg: AgentConfig,
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
    processes: BTreeMap<ProcessId, BTreeSet<TaskKey>>,
    /// Executors of forgotten tasks, SIGKILLed by their timer if still alive.
    orphans: BTreeMap<ProcessId, TimerId>,
    updates: UpdateManager,
    /// Resources of non-terminal tasks.
    used: Resources,
    completed: VecDeque<TaskSummary>,
    removed_frameworks: BTreeSet<FrameworkId>,
    removed_order: VecDeque<FrameworkId>,
    /// The status retry timer and when it fires.
    retry_timer: Option<(TimerId, Time)>,
    next_launch_seq: u64,
    observer: Option<Observer>,
    /// Tasks whose checkpoint record must be rewritten.
    dirty: BTreeSet<TaskKey>,
    /// The node has a store: the agent checkpoints (see [`crate::checkpoint`]).
    checkpointing: bool,
    /// Fires when the master has not pinged for a while (see `watchdog`).
    ping_watchdog: Option<TimerId>,
    /// The master's ping interval, from its `AgentRegistered`.
    ping_interval: Duration,
}

impl Agent {
    /// The name agents run under on their node.
    pub const NAME: &'static str = "agent";

    /// An agent with `cfg`.
    ///
    /// # Panics
    /// If `cfg` does not pass [`AgentConfig::validate`]: binaries validate
    /// first and report the error in words.
    pub fn new(cfg: AgentConfig) -> Agent {
        if let Err(e) = cfg.validate() {
            panic!("Agent::new needs a validated AgentConfig: {e}");
        }
        Agent {
            updates: UpdateManager::new(cfg.status_retry_min, cfg.status_retry_max)
                .reordering(cfg.planted == Some(crate::config::AgentBug::ReorderUpdates)),
            registration: Registration::Registering {
                backoff: registration::BACKOFF_MIN,
                timer: None,
                redirects_left: 0,
                hinted: false,
            },
            // Validated: the list is not empty.
            master: cfg.masters[0].clone(),
            cfg,
            agent_id: None,
            leader_term: LeaderTerm::default(),
            tasks: BTreeMap::new(),
            processes: BTreeMap::new(),
            orphans: BTreeMap::new(),
            used: Resources::empty(),
            completed: VecDeque::new(),
            removed_frameworks: BTreeSet::new(),
            removed_order: VecDeque::new(),
            retry_timer: None,
            next_launch_seq: 0,
            observer: None,
            dirty: BTreeSet::new(),
            checkpointing: true,
            ping_watchdog: None,
            ping_interval: Duration::from_secs(15),
        }
    }

    /// This agent, telling `observer` what it does (see [`AgentEvent`]).
    pub fn with_observer(mut self, observer: impl FnMut(AgentEvent) + Send + 'static) -> Agent {
        self.observer = Some(Box::new(observer));
        self
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

    fn notify(&mut self, event: AgentEvent) {
        if let Some(observer) = self.observer.as_mut() {
            observer(event);
        }
    }

    /// Whether the current message comes from the master; logs if not.
    fn sent_by_master(&self, what: &str, ctx: &Ctx<'_, Self>) -> bool {
        let ok = ctx.sender() == Some(&self.master);
        if !ok {
            tracing::warn!(sender = ?ctx.sender(), "ignoring {what} from a sender that is not the master");
        }
        ok
    }

    /// Queues an update the agent makes about `key`.
    fn push_agent_status(&mut self, key: &TaskKey, status: AgentStatus, ctx: &mut Ctx<'_, Self>) {
        let mut bytes = [0u8; 16];
        ctx.rng().fill_bytes(&mut bytes);
        let status = status.into_status(
            key,
            self.agent_id.clone(),
            ctx.unix_time_ms(),
            uuid_v4(bytes),
        );
        let result = self.push_status(status, ctx.now());
        if !matches!(result, PushResult::Queued) {
            tracing::debug!(framework = %key.0, task = %key.1, ?result, "agent update not queued");
        }
    }

    /// Queues `status`, unless its framework was shut down and the status
    /// does not end the task (then it is dropped and reported as queued:
    /// nobody waits for it). A shut-down framework's task end is still
    /// sent: the master keeps what the task used from offers until it
    /// hears of it, and acknowledges it itself.
    fn push_status(&mut self, status: TaskStatus, now: Time) -> PushResult {
        let key = (status.framework_id.clone(), status.task_id.clone());
        let ends = status.state.holds_nothing();
        let result = if self.removed_frameworks.contains(&key.0) && !ends {
            PushResult::Queued
        } else {
            self.updates.push(status.clone(), now)
        };
        if result == PushResult::Queued {
            self.dirty.insert(key.clone());
            if let Some(task) = self.tasks.get_mut(&key) {
                task.state = status.state;
            }
            self.notify(AgentEvent::StatusQueued(status));
        }
        result
    }

    /// Sends the updates that are due (when registered) and sets the retry
    /// timer for the next.
    fn flush(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.write_checkpoints(ctx);
        if self.is_registered() {
            for status in self.updates.due(ctx.now()) {
                ctx.send(&self.master, master::StatusUpdate { status });
            }
        }
        self.arm_retry(ctx);
    }

    /// Keeps exactly one retry timer, at the next due update (none while
    /// unregistered: registering resends everything).
    fn arm_retry(&mut self, ctx: &mut Ctx<'_, Self>) {
        let want = if self.is_registered() {
            self.updates.next_due()
        } else {
            None
        };
        if let Some((id, at)) = self.retry_timer {
            if Some(at) == want {
                return;
            }
            ctx.cancel(id);
            self.retry_timer = None;
        }
        if let Some(at) = want {
            let id = ctx.delay(at.saturating_since(ctx.now()), |a: &mut Agent, ctx| {
                a.retry_timer = None;
                a.flush(ctx);
            });
            self.retry_timer = Some((id, at));
        }
    }

    /// Marks a live task terminal: its timers stop and its resources are
    /// free. The caller queues (or has queued) the terminal update.
    fn mark_terminal(&mut self, key: &TaskKey, ctx: &mut Ctx<'_, Self>) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        if task.terminal {
            return;
        }
        task.terminal = true;
        self.dirty.insert(key.clone());
        for timer in [task.registration_timer.take(), task.kill_timer.take()]
            .into_iter()
            .flatten()
        {
            ctx.cancel(timer);
        }
        match self.used.checked_minus(&task.info.resources) {
            Some(left) => self.used = left,
            None => tracing::error!(task = %key.1, "task resources were not counted as used"),
        }
    }

    /// Ends a live task with an update made by the agent.
    fn end_task(&mut self, key: &TaskKey, status: AgentStatus, ctx: &mut Ctx<'_, Self>) {
        if self.tasks.get(key).is_none_or(|t| t.terminal) {
            return;
        }
        tracing::info!(framework = %key.0, task = %key.1, state = ?status.state, "{}", status.message);
        self.mark_terminal(key, ctx);
        self.push_agent_status(key, status, ctx);
        self.maybe_forget(key, ctx);
    }

    /// Forgets a terminal task once its last update is acknowledged, and a
    /// stream of an unknown task once it is empty.
    fn maybe_forget(&mut self, key: &TaskKey, ctx: &mut Ctx<'_, Self>) {
        if !self.updates.is_empty_for(key) {
            return;
        }
        match self.tasks.get(key) {
            Some(task) if task.terminal => {}
            Some(_) => return,
            None => {
                self.updates.remove(key);
                return;
            }
        }
        let Some(task) = self.tasks.remove(key) else {
            return;
        };
        self.updates.remove(key);
        self.dirty.insert(key.clone());
        if let Some(process) = task.process {
            self.release_process(process, key, task.executor.as_ref(), ctx);
        }
        let summary = task.summary();
        self.notify(AgentEvent::TaskCompleted {
            framework_id: summary.framework_id.clone(),
            task_id: summary.task_id.clone(),
            state: summary.state,
        });
        self.completed.push_back(summary);
        while self.completed.len() > self.cfg.max_completed_tasks {
            self.completed.pop_front();
        }
    }

    /// Task `key` no longer needs its executor's `process`: the executor
    /// is reaped once no supervised task needs it.
    fn release_process(
        &mut self,
        process: ProcessId,
        key: &TaskKey,
        executor: Option<&Pid>,
        ctx: &mut Ctx<'_, Self>,
    ) {
        let Some(keys) = self.processes.get_mut(&process) else {
            return;
        };
        keys.remove(key);
        if keys.is_empty() {
            self.processes.remove(&process);
            self.reap(process, executor, ctx);
        }
    }

    /// Stops an executor whose task is forgotten. It normally exits by
    /// itself right after its last update was acknowledged, so only one
    /// that lingers past [`KILL_MARGIN`] is asked to shut down (if it
    /// registered), and SIGKILLed if it still runs after the grace.
    fn reap(&mut self, process: ProcessId, executor: Option<&Pid>, ctx: &mut Ctx<'_, Self>) {
        let Some(executor) = executor.cloned() else {
            ctx.signal(process, corral_runtime::Signal::Kill);
            return;
        };
        let grace = self.cfg.kill_grace;
        let timer = ctx.delay(KILL_MARGIN, move |a: &mut Agent, ctx| {
            if !a.orphans.contains_key(&process) {
                return;
            }
            ctx.send(&executor, exec::ShutdownExecutor { grace });
            let timer = ctx.delay(grace + KILL_MARGIN, move |a: &mut Agent, ctx| {
                if a.orphans.remove(&process).is_some() {
                    ctx.signal(process, corral_runtime::Signal::Kill);
                }
            });
            a.orphans.insert(process, timer);
        });
        self.orphans.insert(process, timer);
    }

    /// Remembers that a framework was shut down (bounded).
    fn remember_removed(&mut self, framework_id: &FrameworkId) {
        if self.removed_frameworks.insert(framework_id.clone()) {
            self.removed_order.push_back(framework_id.clone());
            if self.removed_order.len() > MAX_REMOVED_FRAMEWORKS {
                if let Some(old) = self.removed_order.pop_front() {
                    self.removed_frameworks.remove(&old);
                }
            }
        }
    }
}

impl Actor for Agent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<master::AgentRegistered>()
            .on::<master::Ping>()
            .on::<master::RunTasks>()
            .on::<master::KillTask>()
            .on::<master::StatusAck>()
            .on::<master::ShutdownFramework>()
            .on::<master::ShutdownAgent>()
            .on::<master::NotLeader>()
            .on::<master::LeaderElected>()
            .on::<exec::RegisterExecutor>()
            .on::<exec::ReregisterExecutor>()
            .on::<exec::ExecutorUpdate>()
            .on::<crate::state::GetAgentState>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.recover(ctx);
        self.start_registering(ctx);
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        if *pid == self.master {
            self.master_lost(ctx);
        } else if self.cfg.masters.contains(pid) {
            tracing::debug!(master = %pid, "lost a master the agent no longer talks to");
        } else {
            self.recovered_executor_lost(pid, ctx);
        }
    }

    fn process_exited(&mut self, id: ProcessId, status: ExitStatus, ctx: &mut Ctx<'_, Self>) {
        self.executor_exited(id, status, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_can_run_on_a_node_thread() {
        fn is_send<T: Send>() {}
        is_send::<Agent>();
    }

    #[test]
    #[should_panic(expected = "validated")]
    fn an_invalid_config_is_a_programmer_error() {
        let mut cfg = AgentConfig::new(
            "master@127.0.0.1:5050".parse().unwrap(),
            "h".into(),
            Resources::empty(),
            "/w".into(),
            "exec x".into(),
        );
        cfg.kill_grace = Duration::ZERO;
        let _ = Agent::new(cfg);
    }
}
