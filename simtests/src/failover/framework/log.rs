//! What a framework saw and did, written for the checkers: offers,
//! launches, updates (checked for invariant 3 as they are recorded), kills.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral_api::ids::{AgentId, FrameworkId, OfferId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::{TaskState, TaskStatus};
use corral_runtime::{Pid, Time};

use super::super::shape::Behaviour;

/// One task as the framework launched it.
#[derive(Clone, Debug)]
pub struct Launch {
    /// When the accept was sent.
    pub at: Time,
    /// The agent of the offer used.
    pub agent_id: AgentId,
    /// That agent's hostname.
    pub hostname: String,
    /// What the task holds.
    pub resources: Resources,
    /// The master the accept went to.
    pub master: Pid,
    /// Its command exits non-zero: FAILED is its own doing.
    pub fails: bool,
}

/// One update as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// When.
    pub at: Time,
    /// Its state.
    pub state: TaskState,
    /// The agent's uuid (None: made by the master, e.g. reconciliation).
    pub uuid: Option<[u8; 16]>,
    /// The master that forwarded it.
    pub from: Pid,
    /// Its reason and message, for failure reports.
    pub why: String,
}

/// What the framework saw and did, for the checkers.
#[derive(Default, Debug)]
pub struct FrameworkLog {
    /// Its id, once subscribed.
    pub framework_id: Option<FrameworkId>,
    /// The master it is subscribed to (None while looking for one).
    pub subscribed_to: Option<Pid>,
    /// Every offer received from the master followed (those the driver
    /// drops are in the traffic only): when, from which master, its id.
    pub offers: Vec<(Time, Pid, OfferId)>,
    /// Tasks launched (accepts sent), by id.
    pub launched: BTreeMap<TaskId, Launch>,
    /// Updates received, per task, in order.
    pub updates: BTreeMap<TaskId, Vec<Received>>,
    /// Tasks the framework asked to kill.
    pub kills: BTreeSet<TaskId>,
    /// Stop launching and killing (the scenario's liveness phase).
    pub quiet: bool,
    /// Invariant 3 violations found while recording, in order.
    pub violations: Vec<String>,
    /// What it does with offers.
    pub behaviour: Behaviour,
    /// Offers suppressed (a cycler between Suppress and Revive).
    pub suppressed: bool,
    /// Its scheduler quit for good at this time (on its own clock).
    pub quit_at: Option<Time>,
    /// Its failover timeout at the master.
    pub failover_timeout: Duration,
    /// Batch jobs still to launch (None: not a batch framework).
    pub jobs_left: Option<u32>,
    /// The next task number (kept here so a scheduler that fails over
    /// never reuses an id).
    pub next_task: u64,
    /// Task ids it sent in invalid requests, with what the task asked for:
    /// none of them may ever run.
    pub invalid: BTreeMap<TaskId, Resources>,
    /// Ids launched twice in one accept: the second is answered TASK_ERROR
    /// while the first runs.
    pub duplicates: BTreeSet<TaskId>,
    /// The master's answers to invalid requests.
    pub rejections: Vec<(TaskId, TaskState)>,
    /// Subscriptions (each a failover of the scheduler or of the master).
    pub subscriptions: u32,
}

impl FrameworkLog {
    /// The log of a framework that does `behaviour`.
    pub fn new(behaviour: Behaviour, failover_timeout: Duration) -> FrameworkLog {
        FrameworkLog {
            behaviour,
            failover_timeout,
            ..FrameworkLog::default()
        }
    }

    /// Whether its scheduler is gone for good.
    pub fn gone(&self) -> bool {
        self.quit_at.is_some()
    }
}

/// Where a state sits in a task's life, for the order check: agents
/// produce updates in this order.
fn rank(s: TaskState) -> u8 {
    match s {
        TaskState::Staging => 0,
        TaskState::Starting => 1,
        TaskState::Running => 2,
        TaskState::Killing => 3,
        _ => 4,
    }
}

impl FrameworkLog {
    /// The last state the framework heard for `task`.
    pub fn last_state(&self, task: &TaskId) -> Option<TaskState> {
        self.updates.get(task)?.last().map(|r| r.state)
    }

    /// The terminal state the framework heard for `task`, if any.
    pub fn terminal(&self, task: &TaskId) -> Option<TaskState> {
        self.terminal_update(task).map(|r| r.state)
    }

    /// The terminal update the framework heard for `task`, if any.
    pub fn terminal_update(&self, task: &TaskId) -> Option<&Received> {
        self.updates
            .get(task)?
            .iter()
            .find(|r| r.state.is_terminal())
    }

    /// Records an update, checking invariant 3: a terminal state is final
    /// (nothing else follows it), and the agent's updates (those with a
    /// uuid) first arrive in the order of the task's life.
    pub fn record_update(&mut self, status: &TaskStatus, from: &Pid, at: Time) {
        let id = status.task_id.clone();
        let seen = self.updates.entry(id.clone()).or_default();
        // A master's reconciliation answer of UNKNOWN says it keeps no
        // record (a task dropped before launch never gets one, as in
        // Mesos); it is no new state of the task.
        let not_known = status.uuid.is_none() && status.state == TaskState::Unknown;
        if let Some(end) = seen.iter().map(|r| r.state).find(|s| s.is_terminal()) {
            if status.state != end && !not_known {
                self.violations.push(format!(
                    "task {id} got {:?} after its terminal {end:?} (from {from})",
                    status.state
                ));
            }
        }
        let repeat = status.uuid.is_some() && seen.iter().any(|r| r.uuid == status.uuid);
        if let (false, Some(_)) = (repeat, status.uuid) {
            let latest = seen
                .iter()
                .filter(|r| r.uuid.is_some())
                .map(|r| r.state)
                .max_by_key(|s| rank(*s));
            if let Some(before) = latest.filter(|b| rank(*b) > rank(status.state)) {
                self.violations.push(format!(
                    "task {id}: the agent's {:?} arrived after its {before:?} (from {from})",
                    status.state
                ));
            }
        }
        seen.push(Received {
            at,
            state: status.state,
            uuid: status.uuid,
            from: from.clone(),
            why: format!("{:?}: {}", status.reason, status.message),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::task::StatusSource;
    use std::net::SocketAddr;

    fn status(state: TaskState, uuid: Option<u8>) -> TaskStatus {
        TaskStatus {
            task_id: TaskId::from("t"),
            framework_id: FrameworkId::from("f"),
            agent_id: None,
            state,
            source: StatusSource::Executor,
            reason: None,
            message: String::new(),
            timestamp_ms: 0,
            uuid: uuid.map(|u| [u; 16]),
        }
    }

    fn record(states: &[(TaskState, Option<u8>)]) -> Vec<String> {
        let from = Pid::new("master", SocketAddr::from(([10, 0, 1, 1], 5050))).unwrap();
        let mut log = FrameworkLog::default();
        for (s, u) in states {
            log.record_update(&status(*s, *u), &from, Time::ZERO);
        }
        log.violations
    }

    #[test]
    fn the_log_accepts_ordered_updates_repeats_and_reconciliation() {
        let ok = record(&[
            (TaskState::Starting, Some(1)),
            (TaskState::Starting, Some(1)),
            (TaskState::Staging, None),
            (TaskState::Running, Some(2)),
            (TaskState::Unreachable, None),
            (TaskState::Running, None),
            (TaskState::Finished, Some(3)),
            (TaskState::Finished, Some(3)),
            (TaskState::Finished, None),
        ]);
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn the_log_flags_updates_after_a_terminal_state_and_out_of_order() {
        let after_end = record(&[(TaskState::Finished, None), (TaskState::Starting, Some(1))]);
        assert_eq!(after_end.len(), 1, "{after_end:?}");
        let reordered = record(&[
            (TaskState::Running, Some(2)),
            (TaskState::Starting, Some(1)),
        ]);
        assert_eq!(reordered.len(), 1, "{reordered:?}");
    }

    /// A checker fix, first met by chaos seed 1773 (whose trace has since
    /// moved on): a master's UNKNOWN answer to reconciliation of a task
    /// dropped before launch is no state after its terminal one; UNKNOWN
    /// from the agent (with a uuid) would be.
    #[test]
    fn a_masters_unknown_answer_after_the_end_is_no_new_state() {
        let answered = record(&[(TaskState::Dropped, Some(1)), (TaskState::Unknown, None)]);
        assert!(answered.is_empty(), "{answered:?}");
        let from_agent = record(&[(TaskState::Dropped, Some(1)), (TaskState::Unknown, Some(2))]);
        assert_eq!(from_agent.len(), 1, "{from_agent:?}");
    }
}
