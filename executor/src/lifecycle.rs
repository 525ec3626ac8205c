//! The command executor's decisions about its one task, without I/O:
//! [`Lifecycle`].
//!
//! A task runs one of two ways, chosen by its `container` field: as a
//! process (launched and signalled through the host) or in a container
//! (started and stopped by a container driver, see [`crate::container`]).
//! Both go through the same states: STARTING, RUNNING, then one terminal.
//! Registering with the agent, delivering updates until the agent holds
//! them, and taking a restarted agent back are every executor's, done by
//! the SDK's driver around it.

use std::collections::VecDeque;
use std::time::Duration;

use corral_api::ids::TaskId;
use corral_api::task::{StatusReason, TaskInfo, TaskState};
use corral_runtime::{ExitStatus, ProcessSpec, Signal, Time};

use crate::config::Site;
use crate::container::{container_ending, container_spec, ContainerExit, ContainerSpec};
pub use crate::report::KillCause;
use crate::report::{ending, process_spec};

/// What the [`Lifecycle`] asks its host to do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Report that the task is now in `state`. After a terminal state
    /// nothing more comes.
    Update {
        /// The task's new state.
        state: TaskState,
        /// Why, when it ended.
        reason: Option<StatusReason>,
        /// What happened, for people.
        message: String,
    },
    /// Start the task's command.
    Launch(ProcessSpec),
    /// Signal the command launched by the last [`Action::Launch`].
    Signal(Signal),
    /// Have the container driver create and start this container; it
    /// answers with [`handle_container_started`](Lifecycle::handle_container_started)
    /// and [`handle_container_exit`](Lifecycle::handle_container_exit).
    StartContainer(Box<ContainerSpec>),
    /// Have the container driver stop the container: SIGTERM, then SIGKILL
    /// after `grace` (a second one may only shorten the grace).
    StopContainer {
        /// Time between SIGTERM and SIGKILL.
        grace: Duration,
    },
}

/// Where the task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No task yet.
    Waiting,
    /// The command (or container) runs, or is being started.
    Running,
    /// The terminal state is reported: every input is ignored.
    Ended,
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

/// One command task's life: run its command (as a process or in a
/// container), kill it with a grace when asked, and say how it ended.
///
/// Sans-IO: it reads no clock and touches no process or socket; its host
/// feeds it inputs and time and carries out its [`Action`]s.
///
/// Calling order: [`handle_launch`](Self::handle_launch) once; then, as
/// they come, [`handle_kill`](Self::handle_kill),
/// [`handle_process_exit`](Self::handle_process_exit) (the launched
/// command ended), [`handle_container_started`](Self::handle_container_started)
/// and [`handle_container_exit`](Self::handle_container_exit) (from the
/// container driver), and [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout)'s time has come. After each input:
/// drain [`poll_action`](Self::poll_action), then re-arm the host's timer.
/// Input that does not fit the current phase is logged and ignored:
/// nothing from the network can make it panic.
pub struct Lifecycle {
    site: Site,
    phase: Phase,
    task_id: Option<TaskId>,
    runner: Runner,
    kill: Option<KillCause>,
    /// When the command gets SIGKILL, for a process being killed.
    escalate_at: Option<Time>,
    /// When the last container stop asked for SIGKILL at the latest.
    container_kill_by: Option<Time>,
    actions: VecDeque<Action>,
}

impl Lifecycle {
    /// A lifecycle with no task yet, running it at `site`.
    pub fn new(site: Site) -> Lifecycle {
        Lifecycle {
            site,
            phase: Phase::Waiting,
            task_id: None,
            runner: Runner::Process,
            kill: None,
            escalate_at: None,
            container_kill_by: None,
            actions: VecDeque::new(),
        }
    }

    /// The task, once given.
    pub fn task_id(&self) -> Option<&TaskId> {
        self.task_id.as_ref()
    }

    /// Runs `task`: report starting, launch, report running (a container
    /// task reports running once its driver says the container runs).
    /// Ignored once a task was given.
    pub fn handle_launch(&mut self, task: &TaskInfo) {
        if self.phase != Phase::Waiting {
            tracing::warn!(task = %task.task_id, "ignoring a second task");
            return;
        }
        self.phase = Phase::Running;
        self.task_id = Some(task.task_id.clone());
        if task.container.is_some() {
            self.start_container(task);
            return;
        }
        self.update(TaskState::Starting, None, "Starting the command".into());
        let spec = process_spec(task, &self.site.framework_id, &self.site.sandbox);
        self.actions.push_back(Action::Launch(spec));
        self.update(TaskState::Running, None, "Command launched".into());
    }

    /// Stop the task for `cause`: SIGTERM, then SIGKILL after `grace` (a
    /// container is stopped with `grace`). A kill already under way keeps
    /// its cause and may only come sooner.
    pub fn handle_kill(&mut self, now: Time, grace: Duration, cause: KillCause) {
        if self.phase != Phase::Running {
            tracing::debug!(phase = ?self.phase, "ignoring a kill: no task runs");
            return;
        }
        match self.runner {
            Runner::Process => self.kill_command(now, grace, cause),
            Runner::Container { .. } => self.stop_container(now, grace, cause),
        }
    }

    /// The launched command ended with `status`: report how.
    pub fn handle_process_exit(&mut self, status: ExitStatus) {
        if self.runner != Runner::Process || self.phase != Phase::Running {
            tracing::warn!(?status, phase = ?self.phase, runner = ?self.runner, "ignoring a process exit");
            return;
        }
        self.escalate_at = None;
        let (state, reason, message) = ending(&status, self.kill);
        self.end(state, reason, message);
    }

    /// The container driver reports the container running: report
    /// TASK_RUNNING (unless a kill is already under way). Ignored for a
    /// process task, or when repeated.
    pub fn handle_container_started(&mut self, name: &str) {
        if self.phase != Phase::Running || self.runner != (Runner::Container { started: false }) {
            tracing::debug!(phase = ?self.phase, runner = ?self.runner, "ignoring ContainerStarted");
            return;
        }
        self.runner = Runner::Container { started: true };
        if self.kill.is_none() {
            let message = format!("Container {name} started");
            self.update(TaskState::Running, None, message);
        }
    }

    /// The container ended (and was removed), or never ran: report the
    /// task's end (see [`container_ending`]).
    pub fn handle_container_exit(&mut self, exit: ContainerExit) {
        let Runner::Container { started } = self.runner else {
            tracing::warn!(?exit, "ignoring a container exit: the task is a process");
            return;
        };
        if self.phase != Phase::Running {
            tracing::warn!(?exit, phase = ?self.phase, "ignoring a container exit");
            return;
        }
        self.container_kill_by = None;
        let (state, reason, message) = container_ending(&exit, self.kill, started);
        self.end(state, reason, message);
    }

    /// Time has come to [`poll_timeout`](Self::poll_timeout)'s instant (or
    /// later): a command that outlived its grace gets SIGKILL.
    pub fn handle_timeout(&mut self, now: Time) {
        if self.escalate_at.is_some_and(|at| at <= now) {
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
        self.escalate_at
    }

    /// Whether the task's terminal state is reported.
    pub fn has_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Reports STARTING and asks the driver for the container; a task whose
    /// container cannot even be described fails at once.
    fn start_container(&mut self, task: &TaskInfo) {
        self.runner = Runner::Container { started: false };
        let image = task.container.as_ref().map_or("", |c| c.image.as_str());
        let message = format!("Starting a container from image '{image}'");
        self.update(TaskState::Starting, None, message);
        match container_spec(task, &self.site) {
            Ok(spec) => self
                .actions
                .push_back(Action::StartContainer(Box::new(spec))),
            Err(why) => self.handle_container_exit(ContainerExit::failed(why)),
        }
    }

    /// Asks the driver to stop the container (Docker escalates to SIGKILL
    /// after `grace` itself); a stop already under way keeps its cause and
    /// is only repeated to move its SIGKILL earlier.
    fn stop_container(&mut self, now: Time, grace: Duration, cause: KillCause) {
        let deadline = now + grace;
        if self.kill.is_some() && self.container_kill_by.is_some_and(|by| by <= deadline) {
            return;
        }
        self.kill.get_or_insert(cause);
        self.container_kill_by = Some(deadline);
        self.actions.push_back(Action::StopContainer { grace });
    }

    /// SIGTERM now and SIGKILL at `grace`; a kill already under way keeps
    /// its cause and only moves its SIGKILL earlier.
    fn kill_command(&mut self, now: Time, grace: Duration, cause: KillCause) {
        let deadline = now + grace;
        if self.kill.is_some() {
            self.escalate_at = self.escalate_at.map(|at| at.min(deadline));
            return;
        }
        self.kill = Some(cause);
        self.actions.push_back(Action::Signal(Signal::Term));
        self.escalate_at = Some(deadline);
    }

    fn end(&mut self, state: TaskState, reason: StatusReason, message: String) {
        self.phase = Phase::Ended;
        self.update(state, Some(reason), message);
    }

    fn update(&mut self, state: TaskState, reason: Option<StatusReason>, message: String) {
        self.actions.push_back(Action::Update {
            state,
            reason,
            message,
        });
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
