//! The situations the scenario's regression seeds were kept for, counted
//! from the same outside ledgers the checks read (the agents' notes, the
//! frameworks' traffic and logs, the registrars' reports), never from a
//! master's own state. A pinned seed stops meeting its bug's situation as
//! soon as a change moves its trace, and then tests nothing: its test
//! asserts the count is not zero.

use std::collections::{BTreeMap, BTreeSet};

use corral_agent::AgentEvent;
use corral_api::ids::TaskId;
use corral_api::task::{StatusSource, TaskState};
use corral_runtime::Time;

use super::framework::SharedLog;
use super::notes::AgentNote;
use super::traffic::Seen;

/// How often each situation arose in a run.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Situations {
    /// UNREACHABLE a framework heard from a master for a task on an agent
    /// that had registered since its machine restarted and had not lost
    /// its master since (bug 2: the master wrote off the agent's new run).
    pub unreachable_after_restart: usize,
    /// A master's word on a task (a reconciliation answer) heard while its
    /// agent had queued the task's end and updates before it, none of them
    /// received yet (bug 3: that end was once answered ahead of them).
    pub reconciled_ahead_of_updates: usize,
    /// DROPPED queued by an agent for a task a framework had heard
    /// UNREACHABLE for (bug 4: the agent came back from unreachable with
    /// a launch lost).
    pub dropped_after_unreachable: usize,
    /// Tasks of a framework that quit still running on their agents when
    /// its failover timeout ran out (bug 6: the master removed it and
    /// offered what they held).
    pub ran_past_removal: usize,
    /// Registrations of an agent still running a task of a removed
    /// framework, with a leader elected since the removal (bug 7).
    pub removed_tasks_reported_to_new_leader: usize,
    /// Launches a framework had sent, not yet run by any agent, when its
    /// scheduler's machine went down (seed 61557: one never reached the
    /// master, which rightly offered what it named; the offer ledger now
    /// lets such launches go).
    pub launches_down_with_scheduler: usize,
    /// LOST queued by an agent itself for a task (seed 64813: a launch it
    /// never ran; the leader's state kept counting the task as used).
    pub lost_reported_by_agent: usize,
    /// Agents whose resources were in a rescinded offer a framework had
    /// not yet heard of and in a newer offer or launch when the master
    /// that made them crashed (seed 89950: a lone master stayed down past
    /// the rescind grace, and the offer ledger kept the void offers).
    pub over_offered_when_master_crashed: usize,
}

/// What one agent is doing, as its notes say.
#[derive(Default, Debug)]
struct Agent {
    /// Machine boots (the first is the start of the run).
    boots: u32,
    /// Registered since its latest boot, and not disconnected since.
    fresh: bool,
    /// Booted and not registered yet.
    booting: bool,
    /// Tasks it runs (launched or recovered, not ended).
    live: BTreeSet<TaskId>,
}

/// The counts, and what they are kept from.
#[derive(Default, Debug)]
pub struct Watch {
    pub(super) seen: Situations,
    agents: BTreeMap<usize, Agent>,
    /// Per task, the updates its agents queued: uuid and state.
    produced: BTreeMap<TaskId, Vec<([u8; 16], TaskState)>>,
    /// Per task, the agents' updates a framework received.
    received: BTreeMap<TaskId, BTreeSet<[u8; 16]>>,
    /// Tasks a framework heard UNREACHABLE for.
    unreachable: BTreeSet<TaskId>,
    /// Per framework, tasks it sent launches for that no agent ran yet.
    launching: BTreeMap<usize, BTreeSet<TaskId>>,
    /// The latest elected term when each removed framework was removed.
    removed_in_term: BTreeMap<usize, u64>,
}

impl Watch {
    /// Frameworks whose failover timeout has run out since they quit
    /// (removed by the master by now), with the latest term then.
    pub(super) fn removals(&mut self, frameworks: &[SharedLog], now: Time, term: u64) {
        for (i, f) in frameworks.iter().enumerate() {
            let f = f.borrow();
            let Some(quit) = f.quit_at else { continue };
            if now < quit + f.failover_timeout || self.removed_in_term.contains_key(&i) {
                continue;
            }
            self.removed_in_term.insert(i, term);
            let live = self.agents.values().flat_map(|a| &a.live);
            self.seen.ran_past_removal += live.filter(|t| f.launched.contains_key(*t)).count();
        }
    }

    /// An agent's note, before the checks apply it.
    pub(super) fn note(&mut self, i: usize, note: &AgentNote, frameworks: &[SharedLog], term: u64) {
        let removed_in_term = &self.removed_in_term;
        let agent = self.agents.entry(i).or_default();
        match note {
            AgentNote::Booted => {
                agent.boots += 1;
                agent.booting = true;
                agent.fresh = false;
                agent.live.clear();
            }
            AgentNote::Event(AgentEvent::Registered { .. }) => {
                agent.fresh = agent.booting && agent.boots > 1;
                agent.booting = false;
                let orphans = agent.live.iter().any(|t| {
                    framework_of(frameworks, t)
                        .and_then(|f| removed_in_term.get(&f))
                        .is_some_and(|then| term > *then)
                });
                if orphans {
                    self.seen.removed_tasks_reported_to_new_leader += 1;
                }
            }
            AgentNote::Event(AgentEvent::Disconnected | AgentEvent::ShutDown { .. }) => {
                agent.fresh = false;
                if matches!(note, AgentNote::Event(AgentEvent::ShutDown { .. })) {
                    agent.live.clear();
                }
            }
            AgentNote::Event(AgentEvent::TaskLaunched { task_id, .. }) => {
                for launching in self.launching.values_mut() {
                    launching.remove(task_id);
                }
                agent.live.insert(task_id.clone());
            }
            AgentNote::Event(AgentEvent::Recovered { tasks, .. }) => {
                agent.live.extend(tasks.iter().cloned());
            }
            AgentNote::Event(AgentEvent::StatusQueued(s)) => {
                if s.state.is_terminal() || s.state == TaskState::Lost {
                    agent.live.remove(&s.task_id);
                }
                if let Some(uuid) = s.uuid {
                    self.produced
                        .entry(s.task_id.clone())
                        .or_default()
                        .push((uuid, s.state));
                }
                if s.state == TaskState::Lost && s.source == StatusSource::Agent {
                    self.seen.lost_reported_by_agent += 1;
                }
                if s.state == TaskState::Dropped && self.unreachable.contains(&s.task_id) {
                    self.seen.dropped_after_unreachable += 1;
                }
            }
            AgentNote::Event(_) => {}
        }
    }

    /// Something a framework saw, after the checks read the notes.
    pub(super) fn seen(&mut self, seen: &Seen, frameworks: &[SharedLog]) {
        match seen {
            Seen::Accepted { fw, tasks, .. } => {
                let mine = self.launching.entry(*fw).or_default();
                mine.extend(tasks.iter().map(|(t, _)| t.clone()));
            }
            Seen::Down { fw } => {
                let lost = self.launching.remove(fw).map_or(0, |t| t.len());
                self.seen.launches_down_with_scheduler += lost;
            }
            Seen::Updated { task_id, .. } => {
                for launching in self.launching.values_mut() {
                    launching.remove(task_id);
                }
            }
            _ => {}
        }
        let Seen::Updated {
            task_id,
            state,
            uuid,
            ..
        } = seen
        else {
            return;
        };
        if let Some(uuid) = uuid {
            self.received
                .entry(task_id.clone())
                .or_default()
                .insert(*uuid);
            return;
        }
        if *state == TaskState::Unreachable {
            self.unreachable.insert(task_id.clone());
            let fresh = host_of(frameworks, task_id)
                .and_then(|i| self.agents.get(&i))
                .is_some_and(|a| a.fresh);
            if fresh {
                self.seen.unreachable_after_restart += 1;
            }
        }
        if self.answered_ahead(task_id, *state) {
            self.seen.reconciled_ahead_of_updates += 1;
        }
    }

    /// Whether a master's word on `task` came while its agent had queued
    /// the task's end and updates before it, none of them received yet:
    /// an agent reporting its latest state to a new master once made
    /// the master answer that end ahead of them.
    fn answered_ahead(&self, task: &TaskId, state: TaskState) -> bool {
        let Some(produced) = self.produced.get(task) else {
            return false;
        };
        let received = self.received.get(task);
        let pending = |uuid: &[u8; 16]| received.is_none_or(|r| !r.contains(uuid));
        let (ends, before): (Vec<&([u8; 16], TaskState)>, Vec<_>) = produced
            .iter()
            .filter(|(u, _)| pending(u))
            .partition(|(_, s)| s.is_terminal());
        state != TaskState::Unknown && !ends.is_empty() && !before.is_empty()
    }
}

/// The index of the framework that launched `task`.
fn framework_of(frameworks: &[SharedLog], task: &TaskId) -> Option<usize> {
    frameworks
        .iter()
        .position(|f| f.borrow().launched.contains_key(task))
}

/// The index of the agent `task` was launched on.
fn host_of(frameworks: &[SharedLog], task: &TaskId) -> Option<usize> {
    frameworks.iter().find_map(|f| {
        let f = f.borrow();
        super::notes::agent_index(&f.launched.get(task)?.hostname)
    })
}
