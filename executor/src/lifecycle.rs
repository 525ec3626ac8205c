//! The command executor's decisions, without I/O: [`Lifecycle`].
//!
//! A task runs one of two ways, chosen by its `container` field: as a
//! process (launched and signalled through the host) or in a container
//! (started and stopped by a container driver, see [`crate::container`]).
//! Both go through the same states: STARTING, RUNNING, then one terminal.

use std::collections::VecDeque;
use std::time::Duration;

use corral_api::ids::TaskId;
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};
use corral_runtime::{ExitStatus, ProcessSpec, Signal, Time};

use crate::config::CommandExecutorConfig;
use crate::container::{container_ending, container_spec, ContainerExit, ContainerSpec};
pub use crate::outcome::Outcome;
use crate::outcome::UuidSource;
use crate::report::{ending, process_spec, KillCause};
use corral_api::executor::{
    ExecutorReregistered, ExecutorUpdate, KillTask, RegisterExecutor, ReregisterExecutor, RunTask,
    ShutdownExecutor, UpdateAck,
};

/// Time between SIGTERM and SIGKILL when the executor kills its command
/// because the agent is gone (Mesos's default executor shutdown grace).
pub const AGENT_LOST_GRACE: Duration = Duration::from_secs(5);

/// The present, as the host's clocks read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time, for deadlines.
    pub time: Time,
    /// Wall-clock milliseconds since the Unix epoch, for status timestamps.
    pub unix_time_ms: u64,
}

/// What the [`Lifecycle`] asks its host to do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send this to the agent.
    Register(RegisterExecutor),
    /// Send this to the agent (and link to it again: it restarted).
    Reregister(ReregisterExecutor),
    /// Send this to the agent.
    Update(ExecutorUpdate),
    /// Start the task's command.
    Launch(ProcessSpec),
    /// Signal the command launched by the last [`Action::Launch`].
    Signal(Signal),
    /// Have the container driver create and start this container; it
    /// answers with [`handle_container_started`](Lifecycle::handle_container_started)
    /// and [`handle_container_exit`](Lifecycle::handle_container_exit).
    StartContainer(ContainerSpec),
    /// Have the container driver stop the container: SIGTERM, then SIGKILL
    /// after `grace` (a second one may only shorten the grace).
    StopContainer {
        /// Time between SIGTERM and SIGKILL.
        grace: Duration,
    },
    /// Stop: nothing more will come out of the lifecycle.
    Stop(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not started yet.
    New,
    /// Sending `RegisterExecutor` until a `RunTask` arrives.
    Registering,
    /// The command (or container) runs, or is being started.
    Running,
    /// The task's terminal update is out, waiting for its acknowledgement.
    Reporting,
    /// The agent is gone; waiting for the command (or container) to die.
    Abandoning,
    /// Stopped: every input is ignored.
    Done,
}

/// How the task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runner {
    /// As a process launched through the host.
    Process,
    /// In a container, through the container driver; `started` once the
    /// driver said it runs.
    Container {
        /// The driver reported the container running.
        started: bool,
    },
}

/// The lifecycle of one command executor: register, run one command (as a
/// process or in a container), report its statuses until the agent
/// acknowledges them, stop.
///
/// Sans-IO: it reads no clock, draws no randomness and touches no process or
/// socket; its host feeds it inputs and time and carries out its [`Action`]s.
///
/// Calling order:
/// 1. [`handle_start`](Self::handle_start) once, first.
/// 2. Inputs as they come: [`handle_run_task`](Self::handle_run_task),
///    [`handle_kill`](Self::handle_kill), [`handle_shutdown`](Self::handle_shutdown),
///    [`handle_ack`](Self::handle_ack) (only from the agent),
///    [`handle_process_exit`](Self::handle_process_exit) (the launched
///    command ended), [`handle_container_started`](Self::handle_container_started)
///    and [`handle_container_exit`](Self::handle_container_exit) (from the
///    container driver), [`handle_agent_lost`](Self::handle_agent_lost),
///    [`handle_reregistered`](Self::handle_reregistered), and
///    [`handle_timeout`](Self::handle_timeout) when
///    [`poll_timeout`](Self::poll_timeout)'s time has come.
/// 3. After each input: drain [`poll_action`](Self::poll_action), then re-arm
///    the host's timer for [`poll_timeout`](Self::poll_timeout).
///
/// Updates are kept in order until acknowledged and all resent, in order,
/// every `retry_interval` (at most three are ever outstanding: starting,
/// running, terminal). Nothing from the network can make it panic: input that
/// does not fit the current phase is logged and ignored.
pub struct Lifecycle {
    cfg: CommandExecutorConfig,
    phase: Phase,
    task_id: Option<TaskId>,
    runner: Runner,
    kill: Option<KillCause>,
    /// When the last container stop asked for SIGKILL at the latest.
    container_kill_by: Option<Time>,
    pending: VecDeque<TaskStatus>,
    actions: VecDeque<Action>,
    uuids: UuidSource,
    register_deadline: Option<Time>,
    register_resend_at: Option<Time>,
    update_resend_at: Option<Time>,
    escalate_at: Option<Time>,
    /// While the agent is away (checkpointing only): when to give up.
    reconnect_deadline: Option<Time>,
    /// While the agent is away: the next `ReregisterExecutor`.
    reconnect_resend_at: Option<Time>,
}

impl Lifecycle {
    /// A lifecycle that has not started. `cfg` should have passed
    /// [`validate`](CommandExecutorConfig::validate).
    pub fn new(cfg: CommandExecutorConfig) -> Lifecycle {
        Lifecycle {
            cfg,
            phase: Phase::New,
            task_id: None,
            runner: Runner::Process,
            kill: None,
            container_kill_by: None,
            pending: VecDeque::new(),
            actions: VecDeque::new(),
            uuids: UuidSource(0),
            register_deadline: None,
            register_resend_at: None,
            update_resend_at: None,
            escalate_at: None,
            reconnect_deadline: None,
            reconnect_resend_at: None,
        }
    }

    /// Starts registering. `uuid_seed` seeds the update uuids (draw it from
    /// the host's random source).
    ///
    /// # Panics
    /// When called twice (a programmer error).
    pub fn handle_start(&mut self, now: Now, uuid_seed: u64) {
        assert_eq!(self.phase, Phase::New, "handle_start called twice");
        self.uuids = UuidSource(uuid_seed);
        self.phase = Phase::Registering;
        self.register_deadline = Some(now.time + self.cfg.registration_timeout);
        self.register(now);
    }

    /// The agent sent the task: report starting, launch, report running (a
    /// container task reports running once its driver says the container
    /// runs). A second task, or one of another framework, is ignored.
    pub fn handle_run_task(&mut self, now: Now, msg: RunTask) {
        if self.phase != Phase::Registering {
            tracing::debug!(task = %msg.task.task_id, "ignoring RunTask: a task was already given");
            return;
        }
        if msg.framework_id != self.cfg.framework_id {
            tracing::warn!(
                framework = %msg.framework_id,
                "ignoring RunTask for another framework than ours ({})",
                self.cfg.framework_id
            );
            return;
        }
        self.stop_registering();
        self.phase = Phase::Running;
        self.task_id = Some(msg.task.task_id.clone());
        if msg.task.container.is_some() {
            self.start_container(now, &msg);
            return;
        }
        self.update(
            now,
            TaskState::Starting,
            None,
            "Starting the command".into(),
        );
        let spec = process_spec(&msg.task, &self.cfg.framework_id, &self.cfg.sandbox);
        self.actions.push_back(Action::Launch(spec));
        self.update(now, TaskState::Running, None, "Command launched".into());
    }

    /// The framework wants the task dead: SIGTERM, then SIGKILL after
    /// `grace`. A task that never started is reported killed at once.
    pub fn handle_kill(&mut self, now: Now, msg: KillTask) {
        match self.phase {
            Phase::Registering => {
                self.stop_registering();
                self.phase = Phase::Reporting;
                self.task_id = Some(msg.task_id);
                let message = "Task killed before it was started".to_owned();
                let reason = Some(StatusReason::KilledByFramework);
                self.update(now, TaskState::Killed, reason, message);
            }
            Phase::Running if self.task_id.as_ref() == Some(&msg.task_id) => {
                self.kill_task(now, msg.grace, KillCause::Framework);
            }
            _ => tracing::debug!(task = %msg.task_id, phase = ?self.phase, "ignoring KillTask"),
        }
    }

    /// The agent shuts the executor down: kill the command as
    /// [`handle_kill`](Self::handle_kill) does and stop once its terminal
    /// update is acknowledged; with no task, stop at once.
    pub fn handle_shutdown(&mut self, now: Now, msg: ShutdownExecutor) {
        match self.phase {
            Phase::Registering => self.stop(Outcome::Shutdown),
            Phase::Running => self.kill_task(now, msg.grace, KillCause::Shutdown),
            // Reporting: the terminal update is out; stop when it is acked.
            _ => tracing::debug!(phase = ?self.phase, "ignoring ShutdownExecutor"),
        }
    }

    /// The agent holds the update with this uuid; acks for unknown uuids are
    /// ignored. Once the terminal update is acknowledged the executor stops.
    pub fn handle_ack(&mut self, _now: Now, msg: UpdateAck) {
        let found = self
            .pending
            .iter()
            .position(|s| s.uuid == Some(msg.uuid) && s.task_id == msg.task_id);
        let Some(status) = found.and_then(|i| self.pending.remove(i)) else {
            tracing::debug!(task = %msg.task_id, "ignoring an ack for no pending update");
            return;
        };
        if self.pending.is_empty() {
            self.update_resend_at = None;
        }
        if status.state.is_terminal() {
            self.stop(Outcome::Finished(status.state));
        }
    }

    /// The launched command ended with `status`.
    pub fn handle_process_exit(&mut self, now: Now, status: ExitStatus) {
        if self.runner != Runner::Process {
            tracing::warn!(
                ?status,
                "ignoring a process exit: the task runs in a container"
            );
            return;
        }
        match self.phase {
            Phase::Running => {
                self.escalate_at = None;
                self.phase = Phase::Reporting;
                let (state, reason, message) = ending(&status, self.kill);
                self.update(now, state, Some(reason), message);
            }
            Phase::Abandoning => self.stop(Outcome::AgentLost),
            _ => tracing::warn!(?status, phase = ?self.phase, "ignoring a process exit"),
        }
    }

    /// The container driver reports the container running: report
    /// TASK_RUNNING (unless a kill is already under way). Ignored for a
    /// process task, or when repeated.
    pub fn handle_container_started(&mut self, now: Now, name: &str) {
        if self.phase != Phase::Running || self.runner != (Runner::Container { started: false }) {
            tracing::debug!(phase = ?self.phase, runner = ?self.runner, "ignoring ContainerStarted");
            return;
        }
        self.runner = Runner::Container { started: true };
        if self.kill.is_none() {
            let message = format!("Container {name} started");
            self.update(now, TaskState::Running, None, message);
        }
    }

    /// The container ended (and was removed), or never ran: report the
    /// task's end (see [`container_ending`]).
    pub fn handle_container_exit(&mut self, now: Now, exit: ContainerExit) {
        let Runner::Container { started } = self.runner else {
            tracing::warn!(?exit, "ignoring a container exit: the task is a process");
            return;
        };
        match self.phase {
            Phase::Running => {
                self.container_kill_by = None;
                self.phase = Phase::Reporting;
                let (state, reason, message) = container_ending(&exit, self.kill, started);
                self.update(now, state, Some(reason), message);
            }
            Phase::Abandoning => self.stop(Outcome::AgentLost),
            _ => tracing::warn!(?exit, phase = ?self.phase, "ignoring a container exit"),
        }
    }

    /// The agent is gone (its link fired).
    ///
    /// For a checkpointing framework the task keeps running: the executor
    /// re-registers with the same agent pid every `retry_interval` until
    /// [`handle_reregistered`](Self::handle_reregistered) or
    /// `recovery_timeout` (then it gives up as below). An executor still
    /// registering just keeps registering.
    ///
    /// Otherwise (or on giving up): kill the command (SIGTERM, SIGKILL after
    /// [`AGENT_LOST_GRACE`]), drop the unacknowledged updates, and stop once
    /// the command has exited; with no command running, stop at once.
    pub fn handle_agent_lost(&mut self, now: Now) {
        if self.reconnect_deadline.is_some() {
            return;
        }
        if self.cfg.checkpoint {
            match self.phase {
                Phase::Registering => return,
                Phase::Running | Phase::Reporting => {
                    self.reconnect_deadline = Some(now.time + self.cfg.recovery_timeout);
                    self.reregister(now);
                    return;
                }
                Phase::New | Phase::Abandoning | Phase::Done => {}
            }
        }
        self.abandon(now);
    }

    /// The agent took the executor back: resend every unacknowledged update
    /// now. Ignored unless the executor was waiting for it.
    pub fn handle_reregistered(&mut self, now: Now, msg: ExecutorReregistered) {
        if self.reconnect_deadline.is_none() || msg.executor_id != self.cfg.executor_id {
            tracing::debug!(executor = %msg.executor_id, "ignoring ExecutorReregistered");
            return;
        }
        self.reconnect_deadline = None;
        self.reconnect_resend_at = None;
        self.actions
            .extend(self.pending.iter().map(|s| Action::Update(update_of(s))));
        if !self.pending.is_empty() {
            self.update_resend_at = Some(now.time + self.cfg.retry_interval);
        }
    }

    /// Whether the executor waits for its agent to come back.
    pub fn is_reconnecting(&self) -> bool {
        self.reconnect_deadline.is_some()
    }

    /// Gives the task up for lost with its agent (see
    /// [`handle_agent_lost`](Self::handle_agent_lost)).
    fn abandon(&mut self, now: Now) {
        self.reconnect_deadline = None;
        self.reconnect_resend_at = None;
        match self.phase {
            Phase::Running => {
                self.pending.clear();
                self.update_resend_at = None;
                self.kill_task(now, AGENT_LOST_GRACE, KillCause::AgentLost);
                self.phase = Phase::Abandoning;
            }
            Phase::Registering | Phase::Reporting => self.stop(Outcome::AgentLost),
            Phase::New | Phase::Abandoning | Phase::Done => {}
        }
    }

    fn reregister(&mut self, now: Now) {
        self.actions
            .push_back(Action::Reregister(ReregisterExecutor {
                framework_id: self.cfg.framework_id.clone(),
                executor_id: self.cfg.executor_id.clone(),
                task_id: self.task_id.clone(),
            }));
        self.reconnect_resend_at = Some(now.time + self.cfg.retry_interval);
    }

    /// Time has come to [`poll_timeout`](Self::poll_timeout)'s instant (or
    /// later): give up registering, resend, or escalate a kill.
    pub fn handle_timeout(&mut self, now: Now) {
        if due(self.register_deadline, now) {
            self.stop(Outcome::RegistrationTimedOut);
            return;
        }
        if due(self.reconnect_deadline, now) {
            tracing::warn!("the agent did not come back within the recovery timeout");
            self.abandon(now);
        }
        if due(self.reconnect_resend_at, now) {
            self.reregister(now);
        }
        if due(self.register_resend_at, now) {
            self.register(now);
        }
        if due(self.update_resend_at, now) {
            self.actions
                .extend(self.pending.iter().map(|s| Action::Update(update_of(s))));
            self.update_resend_at = Some(now.time + self.cfg.retry_interval);
        }
        if due(self.escalate_at, now) {
            self.escalate_at = None;
            self.actions.push_back(Action::Signal(Signal::Kill));
        }
    }

    /// The next action for the host, in the order decided.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if ever.
    pub fn poll_timeout(&self) -> Option<Time> {
        [
            self.register_deadline,
            self.register_resend_at,
            self.update_resend_at,
            self.escalate_at,
            self.reconnect_deadline,
            self.reconnect_resend_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether the lifecycle has stopped (its last action was `Stop`).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Statuses sent and not yet acknowledged, oldest first.
    pub fn unacknowledged(&self) -> impl Iterator<Item = &TaskStatus> {
        self.pending.iter()
    }

    fn register(&mut self, now: Now) {
        self.actions.push_back(Action::Register(RegisterExecutor {
            framework_id: self.cfg.framework_id.clone(),
            executor_id: self.cfg.executor_id.clone(),
        }));
        self.register_resend_at = Some(now.time + self.cfg.retry_interval);
    }

    fn stop_registering(&mut self) {
        self.register_deadline = None;
        self.register_resend_at = None;
    }

    /// Reports STARTING and asks the driver for the container; a task whose
    /// container cannot even be described fails at once.
    fn start_container(&mut self, now: Now, msg: &RunTask) {
        self.runner = Runner::Container { started: false };
        let image = msg.task.container.as_ref().map_or("", |c| c.image.as_str());
        let message = format!("Starting a container from image '{image}'");
        self.update(now, TaskState::Starting, None, message);
        match container_spec(&msg.task, &self.cfg) {
            Ok(spec) => self.actions.push_back(Action::StartContainer(spec)),
            Err(why) => self.handle_container_exit(now, ContainerExit::failed(why)),
        }
    }

    /// Kills the task the way it runs.
    fn kill_task(&mut self, now: Now, grace: Duration, cause: KillCause) {
        match self.runner {
            Runner::Process => self.kill_command(now, grace, cause),
            Runner::Container { .. } => self.stop_container(now, grace, cause),
        }
    }

    /// Asks the driver to stop the container (Docker escalates to SIGKILL
    /// after `grace` itself); a stop already under way keeps its cause and
    /// is only repeated to move its SIGKILL earlier.
    fn stop_container(&mut self, now: Now, grace: Duration, cause: KillCause) {
        let deadline = now.time + grace;
        if self.kill.is_some() && self.container_kill_by.is_some_and(|by| by <= deadline) {
            return;
        }
        self.kill.get_or_insert(cause);
        self.container_kill_by = Some(deadline);
        self.actions.push_back(Action::StopContainer { grace });
    }

    /// SIGTERM now and SIGKILL at `grace`; a kill already under way keeps
    /// its cause and only moves its SIGKILL earlier.
    fn kill_command(&mut self, now: Now, grace: Duration, cause: KillCause) {
        let deadline = now.time + grace;
        if self.kill.is_some() {
            self.escalate_at = self.escalate_at.map(|at| at.min(deadline));
            return;
        }
        self.kill = Some(cause);
        self.actions.push_back(Action::Signal(Signal::Term));
        self.escalate_at = Some(deadline);
    }

    fn update(
        &mut self,
        now: Now,
        state: TaskState,
        reason: Option<StatusReason>,
        message: String,
    ) {
        let Some(task_id) = self.task_id.clone() else {
            unreachable!("updates are only made once the task id is known");
        };
        let status = TaskStatus {
            task_id,
            framework_id: self.cfg.framework_id.clone(),
            agent_id: self.cfg.agent_id.clone(),
            state,
            source: StatusSource::Executor,
            reason,
            message,
            timestamp_ms: now.unix_time_ms,
            uuid: Some(self.uuids.next()),
        };
        self.actions.push_back(Action::Update(update_of(&status)));
        self.pending.push_back(status);
        if self.update_resend_at.is_none() {
            self.update_resend_at = Some(now.time + self.cfg.retry_interval);
        }
    }

    fn stop(&mut self, outcome: Outcome) {
        self.phase = Phase::Done;
        self.pending.clear();
        self.register_deadline = None;
        self.register_resend_at = None;
        self.update_resend_at = None;
        self.escalate_at = None;
        self.container_kill_by = None;
        self.reconnect_deadline = None;
        self.reconnect_resend_at = None;
        self.actions.push_back(Action::Stop(outcome));
    }
}

fn due(at: Option<Time>, now: Now) -> bool {
    at.is_some_and(|at| at <= now.time)
}

fn update_of(status: &TaskStatus) -> ExecutorUpdate {
    ExecutorUpdate {
        status: status.clone(),
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
