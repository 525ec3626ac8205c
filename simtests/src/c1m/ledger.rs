//! The placement ledger: what the c1m checker knows, kept outside the
//! cluster from what the framework received (its observer) and what each
//! agent did (its observer), never from the master's own counters.
//!
//! Every check is incremental and O(1) per event, because the scenario runs
//! millions of events and a check that scanned would cost more than the
//! cluster it checks.

use corral_agent::AgentEvent;
use corral_api::ids::TaskId;
use corral_api::task::TaskState;
use corral_examples::batch::{ended, BatchEvent};

/// The checks' names, as a failing run reports them.
pub const LAUNCHED_ONCE: &str = "c1m-task-launched-once";
/// No agent runs more tasks than its resources hold.
pub const NOT_OVER_ALLOCATED: &str = "c1m-agent-not-over-allocated";
/// No task ends or is refused (a task that ends was placed and lost).
pub const NONE_ENDED: &str = "c1m-no-task-ended";
/// At the end, every task of the batch reached TASK_RUNNING.
pub const ALL_PLACED: &str = "c1m-every-task-placed";

/// Task `n`'s id: the ledger reads the index back from it.
pub fn task_id(n: usize) -> TaskId {
    TaskId(format!("t{n}"))
}

/// The index a task id names, if it is one of `tasks`.
fn task_index(id: &TaskId, tasks: usize) -> Option<usize> {
    id.0.strip_prefix('t')?.parse().ok().filter(|&n| n < tasks)
}

/// What the checker has seen so far.
pub struct Ledger {
    tasks: usize,
    slots: usize,
    /// Per task: reached TASK_RUNNING at the framework.
    running: Vec<bool>,
    /// Distinct tasks that reached TASK_RUNNING at the framework.
    pub placed: usize,
    /// Per task: the agent that launched it (+1; 0 for none yet).
    launched_on: Vec<u32>,
    /// Per agent: tasks it runs now.
    live: Vec<u32>,
    /// Per agent: registered with a master at least once.
    registered: Vec<bool>,
    /// Agents that registered.
    pub registered_agents: usize,
    /// The framework's subscription was accepted.
    pub subscribed: bool,
    /// The first check that failed: its name and what it saw.
    pub violation: Option<(&'static str, String)>,
}

impl Ledger {
    /// A ledger for `tasks` tasks on `agents` agents of `slots` tasks each.
    pub fn new(tasks: usize, agents: usize, slots: usize) -> Ledger {
        Ledger {
            tasks,
            slots,
            running: vec![false; tasks],
            placed: 0,
            launched_on: vec![0; tasks],
            live: vec![0; agents],
            registered: vec![false; agents],
            registered_agents: 0,
            subscribed: false,
            violation: None,
        }
    }

    fn fail(&mut self, check: &'static str, detail: String) {
        if self.violation.is_none() {
            self.violation = Some((check, detail));
        }
    }

    /// Agent `agent`'s observer reported `e`.
    pub fn agent(&mut self, agent: usize, e: &AgentEvent) {
        match e {
            AgentEvent::Registered { .. } => {
                if let Some(r) = self.registered.get_mut(agent) {
                    if !*r {
                        *r = true;
                        self.registered_agents += 1;
                    }
                }
            }
            AgentEvent::TaskLaunched { task_id, .. } => {
                let Some(n) = task_index(task_id, self.tasks) else {
                    return self.fail(
                        LAUNCHED_ONCE,
                        format!("agent-{agent} launched {task_id}, no task of the batch"),
                    );
                };
                let before = self.launched_on[n];
                if before != 0 {
                    let first = before - 1;
                    return self.fail(
                        LAUNCHED_ONCE,
                        format!("{task_id} launched on agent-{first}, then again on agent-{agent}"),
                    );
                }
                self.launched_on[n] = agent as u32 + 1;
                let Some(live) = self.live.get_mut(agent) else {
                    return;
                };
                *live += 1;
                if *live as usize > self.slots {
                    let (live, slots) = (*live, self.slots);
                    self.fail(
                        NOT_OVER_ALLOCATED,
                        format!("agent-{agent} runs {live} tasks; its resources hold {slots}"),
                    );
                }
            }
            AgentEvent::TaskCompleted { task_id, state, .. } => {
                if let Some(live) = self.live.get_mut(agent) {
                    *live = live.saturating_sub(1);
                }
                self.fail(
                    NONE_ENDED,
                    format!("{task_id} ended {state:?} on agent-{agent}"),
                );
            }
            _ => {}
        }
    }

    /// The framework's observer reported `e`.
    pub fn framework(&mut self, e: &BatchEvent) {
        match e {
            BatchEvent::Subscribed(_) => self.subscribed = true,
            BatchEvent::Status(s) if s.state == TaskState::Running => {
                if let Some(n) = task_index(&s.task_id, self.tasks) {
                    if !self.running[n] {
                        self.running[n] = true;
                        self.placed += 1;
                    }
                }
            }
            BatchEvent::Status(s) if ended(s.state) => {
                let detail = format!(
                    "{} {:?} at the framework: {}",
                    s.task_id, s.state, s.message
                );
                self.fail(NONE_ENDED, detail);
            }
            _ => {}
        }
    }

    /// Checks that every task was placed; the first few missing if not.
    pub fn check_all_placed(&mut self) {
        if self.placed == self.tasks {
            return;
        }
        let missing: Vec<String> = (0..self.tasks)
            .filter(|&n| !self.running[n])
            .take(5)
            .map(|n| task_id(n).0)
            .collect();
        let detail = format!(
            "{} of {} tasks reached TASK_RUNNING; not: {}{}",
            self.placed,
            self.tasks,
            missing.join(", "),
            if self.tasks - self.placed > 5 {
                ", ..."
            } else {
                ""
            }
        );
        self.fail(ALL_PLACED, detail);
    }
}

#[cfg(test)]
mod tests {
    use corral_agent::AgentEvent;
    use corral_api::ids::{AgentId, FrameworkId};
    use corral_runtime::ProcessId;

    use super::*;

    fn launched(n: usize) -> AgentEvent {
        AgentEvent::TaskLaunched {
            framework_id: FrameworkId("f".into()),
            task_id: task_id(n),
            process: ProcessId(n as u64),
        }
    }

    fn registered() -> AgentEvent {
        AgentEvent::Registered {
            agent_id: AgentId("a".into()),
        }
    }

    #[test]
    fn a_task_launched_on_two_agents_fails_the_once_check() {
        let mut l = Ledger::new(4, 2, 2);
        l.agent(0, &launched(1));
        assert_eq!(l.violation, None);
        l.agent(1, &launched(1));
        let (check, detail) = l.violation.clone().unwrap_or_default();
        assert_eq!(check, LAUNCHED_ONCE);
        assert_eq!(detail, "t1 launched on agent-0, then again on agent-1");
    }

    #[test]
    fn a_task_launched_twice_on_one_agent_fails_the_once_check() {
        let mut l = Ledger::new(4, 2, 2);
        l.agent(1, &launched(3));
        l.agent(1, &launched(3));
        assert_eq!(l.violation.map(|v| v.0), Some(LAUNCHED_ONCE));
    }

    #[test]
    fn an_agent_past_its_slots_fails_the_allocation_check() {
        let mut l = Ledger::new(4, 2, 2);
        l.agent(0, &launched(0));
        l.agent(0, &launched(1));
        assert_eq!(l.violation, None);
        l.agent(0, &launched(2));
        assert_eq!(l.violation.map(|v| v.0), Some(NOT_OVER_ALLOCATED));
    }

    #[test]
    fn registrations_count_each_agent_once() {
        let mut l = Ledger::new(0, 3, 1);
        l.agent(2, &registered());
        l.agent(2, &registered());
        l.agent(0, &registered());
        assert_eq!(l.registered_agents, 2);
    }

    #[test]
    fn a_task_never_running_fails_the_final_check() {
        let mut l = Ledger::new(7, 1, 7);
        l.check_all_placed();
        let (check, detail) = l.violation.unwrap_or_default();
        assert_eq!(check, ALL_PLACED);
        assert!(detail.starts_with("0 of 7 tasks"), "{detail}");
        assert!(detail.ends_with("t4, ..."), "{detail}");
    }
}
