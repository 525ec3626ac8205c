//! The scenario's framework: a small scheduler actor that follows the
//! leading master through failovers (`NotLeader`, `LeaderElected`, broken
//! links), launches tasks on the offers it gets and sometimes kills one,
//! acknowledges every update, and reconciles its live tasks now and then.
//!
//! Everything it receives is written to a shared [`FrameworkLog`], where the
//! checker reads it; the log checks per-task update order as it records
//! (invariant 3), so the check costs nothing per simulator event.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use corral_master::ids::{AgentId, FrameworkId, OfferId, TaskId};
use corral_master::protocol::{
    Accept, Acknowledge, Decline, FrameworkError, FrameworkInfo, Heartbeat, Kill, LeaderElected,
    NotLeader, Offer, Offers, Operation, Reconcile, Rescind, Subscribe, Subscribed, TaskInfo,
    Update,
};
use corral_master::resources::Resources;
use corral_master::task::{TaskState, TaskStatus};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid, Time};
use rand::Rng;

/// How often the framework looks at its state: re-subscribes if it is not
/// subscribed, maybe kills a task.
const TICK: Duration = Duration::from_millis(500);
/// How often it reconciles its live tasks explicitly.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// Live tasks it aims to keep.
const TARGET_LIVE_TASKS: usize = 6;
/// Chance per tick that it kills one of its live tasks.
const KILL_PROBABILITY: f64 = 0.04;

/// What one task needs.
pub fn task_resources() -> Resources {
    Resources::parse("cpus:1;mem:256").unwrap_or_else(|e| unreachable!("a fixed literal: {e}"))
}

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
    /// Every offer received: when, from which master, its id.
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
        if let Some(end) = seen.iter().map(|r| r.state).find(|s| s.is_terminal()) {
            if status.state != end {
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

/// The shared log.
pub type SharedLog = Rc<RefCell<FrameworkLog>>;

/// The framework actor.
pub struct Framework {
    masters: Vec<Pid>,
    /// The master to subscribe to next.
    candidate: usize,
    /// A leader named by a master, tried before the list.
    hint: Option<Pid>,
    /// The master subscribed to.
    current: Option<Pid>,
    framework_id: Option<FrameworkId>,
    next_task: u64,
    /// Tasks not known to have ended, with whether they run "forever".
    live: BTreeMap<TaskId, bool>,
    log: SharedLog,
}

impl Framework {
    /// The name it is spawned under.
    pub const NAME: &'static str = "framework";

    /// A framework that finds its leader among `masters`.
    pub fn new(masters: Vec<Pid>, log: SharedLog) -> Framework {
        Framework {
            masters,
            candidate: 0,
            hint: None,
            current: None,
            framework_id: None,
            next_task: 0,
            live: BTreeMap::new(),
            log,
        }
    }

    fn info(&self) -> FrameworkInfo {
        let mut info = FrameworkInfo::new("failover-sim", "*");
        // Kept by every master through its failover: never torn down here.
        info.failover_timeout = Duration::from_secs(3600);
        info.checkpoint = true;
        info.partition_aware = true;
        info.id = self.framework_id.clone();
        info
    }

    fn subscribe(&mut self, ctx: &mut Ctx<'_, Self>) {
        let to = match self.hint.take() {
            Some(pid) => pid,
            None => {
                let Some(pid) = self.masters.get(self.candidate % self.masters.len().max(1)) else {
                    return;
                };
                self.candidate += 1;
                pid.clone()
            }
        };
        let info = self.info();
        ctx.send(&to, Subscribe { info });
    }

    /// Forgets the current master and looks for the leader, `hint` first.
    fn lost_master(&mut self, hint: Option<Pid>, ctx: &mut Ctx<'_, Self>) {
        if let Some(old) = self.current.take() {
            ctx.unlink(&old);
        }
        self.log.borrow_mut().subscribed_to = None;
        self.hint = hint;
        self.subscribe(ctx);
    }

    fn tick(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.delay(TICK, |f: &mut Self, ctx| f.tick(ctx));
        let Some(master) = self.current.clone() else {
            return self.subscribe(ctx);
        };
        if self.log.borrow().quiet || !ctx.rng().random_bool(KILL_PROBABILITY) {
            return;
        }
        // Long tasks are killed more often: short ones end by themselves.
        let pick: Vec<TaskId> = self
            .live
            .iter()
            .filter(|(_, long)| **long)
            .map(|(id, _)| id.clone())
            .collect();
        if pick.is_empty() {
            return;
        }
        let task_id = pick[ctx.rng().random_range(0..pick.len())].clone();
        self.log.borrow_mut().kills.insert(task_id.clone());
        ctx.send(&master, Kill { task_id });
    }

    fn reconcile(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.delay(RECONCILE_EVERY, |f: &mut Self, ctx| f.reconcile(ctx));
        if let Some(master) = &self.current {
            let task_ids = self.live.keys().cloned().collect();
            ctx.send(master, Reconcile { task_ids });
        }
    }

    /// The tasks to launch on `offer`, with whether each runs "forever".
    fn plan(&mut self, offer: &Offer, ctx: &mut Ctx<'_, Self>) -> Vec<(TaskInfo, bool)> {
        let mut left = offer.resources.clone();
        let need = task_resources();
        let mut tasks = Vec::new();
        while self.live.len() + tasks.len() < TARGET_LIVE_TASKS && left.contains(&need) {
            let Some(rest) = left.checked_minus(&need) else {
                break;
            };
            left = rest;
            let long = ctx.rng().random_bool(0.4);
            let command = if long {
                "sleep 100000".to_owned()
            } else {
                format!("sleep {}", ctx.rng().random_range(2..20))
            };
            let task_id = TaskId(format!("task-{}", self.next_task));
            self.next_task += 1;
            let info = TaskInfo {
                task_id: task_id.clone(),
                name: task_id.0.clone(),
                command,
                env: Vec::new(),
                resources: need.clone(),
                container: None,
            };
            tasks.push((info, long));
        }
        tasks
    }
}

impl Actor for Framework {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribed>()
            .on::<Offers>()
            .on::<Rescind>()
            .on::<Update>()
            .on::<Heartbeat>()
            .on::<FrameworkError>()
            .on::<NotLeader>()
            .on::<LeaderElected>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.subscribe(ctx);
        ctx.delay(TICK, |f: &mut Self, ctx| f.tick(ctx));
        ctx.delay(RECONCILE_EVERY, |f: &mut Self, ctx| f.reconcile(ctx));
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        if self.current.as_ref() == Some(pid) {
            self.lost_master(None, ctx);
        }
    }
}

impl Handler<Subscribed> for Framework {
    fn handle(&mut self, m: Subscribed, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        if let Some(old) = self.current.replace(from.clone()) {
            if old != from {
                ctx.unlink(&old);
            }
        }
        ctx.link(&from);
        self.framework_id = Some(m.framework_id.clone());
        {
            let mut log = self.log.borrow_mut();
            log.framework_id = Some(m.framework_id);
            log.subscribed_to = Some(from.clone());
        }
        // Learn at once what the new master knows of the live tasks.
        let task_ids = self.live.keys().cloned().collect();
        ctx.send(&from, Reconcile { task_ids });
    }
}

impl Handler<Offers> for Framework {
    fn handle(&mut self, m: Offers, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let now = ctx.now();
        {
            let mut log = self.log.borrow_mut();
            for o in &m.offers {
                log.offers.push((now, from.clone(), o.id.clone()));
            }
        }
        let quiet = self.log.borrow().quiet;
        if self.current.as_ref() != Some(&from) {
            return;
        }
        for offer in m.offers {
            let tasks = if quiet {
                Vec::new()
            } else {
                self.plan(&offer, ctx)
            };
            let offer_ids = vec![offer.id.clone()];
            if tasks.is_empty() {
                let refuse = Some(Duration::from_secs(1));
                ctx.send(&from, Decline { offer_ids, refuse });
                continue;
            }
            let mut log = self.log.borrow_mut();
            for (info, long) in &tasks {
                self.live.insert(info.task_id.clone(), *long);
                let launch = Launch {
                    at: now,
                    agent_id: offer.agent_id.clone(),
                    hostname: offer.hostname.clone(),
                    resources: info.resources.clone(),
                    master: from.clone(),
                };
                log.launched.insert(info.task_id.clone(), launch);
            }
            let infos = tasks.into_iter().map(|(t, _)| t).collect();
            let accept = Accept {
                offer_ids,
                operations: vec![Operation::Launch(infos)],
                refuse: Some(Duration::from_secs(1)),
            };
            ctx.send(&from, accept);
        }
    }
}

impl Handler<Update> for Framework {
    fn handle(&mut self, m: Update, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let status = m.status;
        self.log
            .borrow_mut()
            .record_update(&status, &from, ctx.now());
        if status.state.is_terminal() {
            self.live.remove(&status.task_id);
        }
        if let (Some(uuid), Some(agent_id)) = (status.uuid, status.agent_id.clone()) {
            let ack = Acknowledge {
                task_id: status.task_id,
                agent_id,
                uuid,
            };
            ctx.send(&from, ack);
        }
    }
}

impl Handler<NotLeader> for Framework {
    fn handle(&mut self, m: NotLeader, ctx: &mut Ctx<'_, Self>) {
        let from = ctx.sender().cloned();
        // A master we are not subscribed to answers a subscribe attempt;
        // the tick retries, the hint first.
        if self.current.is_none() || self.current == from {
            let hint = m.leader.filter(|l| Some(l) != from.as_ref());
            if self.current.is_some() {
                self.lost_master(hint, ctx);
            } else {
                self.hint = hint;
            }
        }
    }
}

impl Handler<LeaderElected> for Framework {
    fn handle(&mut self, m: LeaderElected, ctx: &mut Ctx<'_, Self>) {
        if self.current.as_ref() != Some(&m.leader) {
            self.lost_master(Some(m.leader), ctx);
        }
    }
}

impl Handler<Rescind> for Framework {
    fn handle(&mut self, _: Rescind, _: &mut Ctx<'_, Self>) {}
}

impl Handler<Heartbeat> for Framework {
    fn handle(&mut self, _: Heartbeat, _: &mut Ctx<'_, Self>) {}
}

impl Handler<FrameworkError> for Framework {
    fn handle(&mut self, m: FrameworkError, ctx: &mut Ctx<'_, Self>) {
        tracing::debug!(error = %m.message, "framework error");
        if self.current.is_some() && self.current.as_ref() == ctx.sender() {
            self.lost_master(None, ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_master::task::StatusSource;
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
}
