//! The scenario's frameworks: small scheduler actors that follow the
//! leading master through failovers (`NotLeader`, `LeaderElected`, broken
//! links), acknowledge every update, reconcile their live tasks now and
//! then, and use their offers as their [`Behaviour`] says: the original
//! chaos framework, batch jobs, a relaunching service, a decliner with
//! long filters, an offer hoarder, a suppress/revive cycler, schedulers
//! that fail over or quit, and one that sends invalid requests.
//!
//! Everything a framework receives is written to its shared
//! [`FrameworkLog`] (which checks per-task update order as it records),
//! and its offer traffic to the shared [`Traffic`] feed for the offer
//! ledger.

mod log;
mod plan;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkError, FrameworkInfo, Heartbeat, Kill, Offer, Offers,
    Operation, Reconcile, Rescind, Revive, Subscribe, Subscribed, Suppress, Update,
};
use corral_api::ids::{FrameworkId, OfferId, TaskId};
use corral_api::leader::{LeaderElected, NotLeader};
use corral_api::leader::{LeaderTerm, Verdict};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusSource, TaskState};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid};
use rand::Rng;

pub use log::{FrameworkLog, Launch, Received};
pub use plan::classic_resources as task_resources;

use super::shape::{Behaviour, FrameworkShape};
use super::traffic::{Seen, Traffic};
use plan::Ask;

/// How often the framework looks at its state: re-subscribes if it is not
/// subscribed, maybe kills a task.
const TICK: Duration = Duration::from_millis(500);
/// How often it reconciles its live tasks explicitly.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// Live tasks it aims to keep.
const TARGET_LIVE_TASKS: usize = 6;
/// Chance per tick that it kills one of its live tasks.
const KILL_PROBABILITY: f64 = 0.04;
/// Chance per tick that a cycler suppresses or revives.
const CYCLE_PROBABILITY: f64 = 0.08;
/// Chance per offer that the invalid framework sends an invalid request.
const INVALID_PROBABILITY: f64 = 0.3;

/// The shared log.
pub type SharedLog = Rc<RefCell<FrameworkLog>>;

/// The framework actor.
pub struct Framework {
    /// Its index in the scenario (its place in the logs).
    index: usize,
    shape: FrameworkShape,
    /// Prefix of its task ids (empty for the original framework, whose
    /// task ids the classic regression seeds depend on).
    prefix: String,
    masters: Vec<Pid>,
    /// The master to subscribe to next.
    candidate: usize,
    /// A leader named by a master, tried before the list.
    hint: Option<Pid>,
    /// The master subscribed to.
    current: Option<Pid>,
    /// The latest term of a master it subscribed to (a deposed leader's
    /// older term is refused, as agents do).
    term: LeaderTerm,
    framework_id: Option<FrameworkId>,
    /// Tasks not known to have ended, with whether they run "forever".
    live: BTreeMap<TaskId, bool>,
    log: SharedLog,
    traffic: Traffic,
}

impl Framework {
    /// The name it is spawned under.
    pub const NAME: &'static str = "framework";

    /// Framework `index`, shaped by `shape`, that finds its leader among
    /// `masters`. A scheduler that restarts takes its framework id and
    /// task numbering from `log` (what a real one keeps on disk).
    pub fn new(
        index: usize,
        shape: FrameworkShape,
        masters: Vec<Pid>,
        log: SharedLog,
        traffic: Traffic,
    ) -> Framework {
        let prefix = match shape.behaviour {
            Behaviour::Mixed => String::new(),
            _ => format!("f{index}-"),
        };
        let (framework_id, live) = {
            let log = log.borrow();
            // What a restarted scheduler kept on disk: its id and the
            // tasks it has not seen end.
            let live = log
                .launched
                .keys()
                .filter(|t| log.terminal(t).is_none())
                .map(|t| (t.clone(), true))
                .collect();
            (log.framework_id.clone(), live)
        };
        Framework {
            index,
            shape,
            prefix,
            masters,
            candidate: 0,
            hint: None,
            current: None,
            term: LeaderTerm::default(),
            framework_id,
            live,
            log,
            traffic,
        }
    }

    fn see(&self, seen: Seen) {
        self.traffic.borrow_mut().push(seen);
    }

    fn info(&self) -> FrameworkInfo {
        let name = match self.shape.behaviour {
            Behaviour::Mixed => "failover-sim".to_owned(),
            b => format!("{b:?}-{}", self.index),
        };
        let mut info = FrameworkInfo::new(&name, &self.shape.role);
        info.failover_timeout = self.shape.failover_timeout;
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
        let quiet = self.log.borrow().quiet;
        match self.shape.behaviour {
            Behaviour::Cycler => return self.cycle(&master, quiet, ctx),
            Behaviour::Invalid if !quiet && ctx.rng().random_bool(KILL_PROBABILITY) => {
                let n = self.next_task();
                let task_id = TaskId(format!("{}never-{n}", self.prefix));
                self.log.borrow_mut().kills.insert(task_id.clone());
                return ctx.send(&master, Kill { task_id });
            }
            Behaviour::Mixed | Behaviour::Service | Behaviour::FailsOver | Behaviour::Quits => {}
            _ => return,
        }
        if quiet || !ctx.rng().random_bool(KILL_PROBABILITY) {
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

    /// A cycler suppresses or revives now and then; once quiet it stays
    /// revived (the check after healing expects it to be offered).
    fn cycle(&mut self, master: &Pid, quiet: bool, ctx: &mut Ctx<'_, Self>) {
        let suppressed = self.log.borrow().suppressed;
        let flip = if quiet {
            suppressed
        } else {
            ctx.rng().random_bool(CYCLE_PROBABILITY)
        };
        if !flip {
            return;
        }
        self.log.borrow_mut().suppressed = !suppressed;
        if suppressed {
            ctx.send(master, Revive);
        } else {
            ctx.send(master, Suppress);
        }
    }

    fn reconcile(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.delay(RECONCILE_EVERY, |f: &mut Self, ctx| f.reconcile(ctx));
        if let Some(master) = &self.current {
            let task_ids = self.live.keys().cloned().collect();
            ctx.send(master, Reconcile { task_ids });
        }
    }

    fn next_task(&mut self) -> u64 {
        let mut log = self.log.borrow_mut();
        let n = log.next_task;
        log.next_task += 1;
        n
    }

    fn task_id(&mut self) -> TaskId {
        let n = self.next_task();
        TaskId(format!("{}task-{n}", self.prefix))
    }

    /// The original framework's plan: keeps [`TARGET_LIVE_TASKS`] live,
    /// 40% of them "forever".
    fn plan_mixed(&mut self, offer: &Offer, ctx: &mut Ctx<'_, Self>) -> Vec<(TaskInfo, Ask)> {
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
            let ask = Ask {
                resources: need.clone(),
                command,
                long,
                fails: false,
            };
            tasks.push((self.task_info(&ask), ask));
        }
        tasks
    }

    fn task_info(&mut self, ask: &Ask) -> TaskInfo {
        let task_id = self.task_id();
        TaskInfo {
            task_id: task_id.clone(),
            name: task_id.0.clone(),
            command: ask.command.clone(),
            env: Vec::new(),
            resources: ask.resources.clone(),
            container: None,
            executor: None,
        }
    }

    /// How many tasks the framework wants launched on this offer, and of
    /// which kind.
    fn plan(&mut self, offer: &Offer, ctx: &mut Ctx<'_, Self>) -> Vec<(TaskInfo, Ask)> {
        let (room, service) = match self.shape.behaviour {
            Behaviour::Mixed => return self.plan_mixed(offer, ctx),
            Behaviour::Hoarder => return Vec::new(),
            Behaviour::Decliner => (usize::from(ctx.rng().random_bool(0.2)), false),
            Behaviour::Batch => {
                let left = self.log.borrow().jobs_left.unwrap_or(0) as usize;
                (left.min(4), false)
            }
            Behaviour::Cycler | Behaviour::Invalid => (3, false),
            Behaviour::Service | Behaviour::FailsOver | Behaviour::Quits => {
                (4usize.saturating_sub(self.live.len()), true)
            }
        };
        let mut left = offer.resources.clone();
        let mut tasks = Vec::new();
        for _ in 0..room {
            let ask = match service {
                true => plan::service(&left, ctx.rng()),
                false => plan::short_job(&left, ctx.rng()),
            };
            let Some(rest) = left.checked_minus(&ask.resources) else {
                break;
            };
            left = rest;
            tasks.push((self.task_info(&ask), ask));
        }
        if let Some(jobs) = self.log.borrow_mut().jobs_left.as_mut() {
            *jobs = jobs.saturating_sub(tasks.len() as u32);
        }
        tasks
    }

    /// Answers one offer from `from` (the current master).
    fn answer(&mut self, offer: Offer, from: &Pid, quiet: bool, ctx: &mut Ctx<'_, Self>) {
        let behaviour = self.shape.behaviour;
        if behaviour == Behaviour::Hoarder {
            return;
        }
        if behaviour == Behaviour::Invalid && !quiet && ctx.rng().random_bool(INVALID_PROBABILITY) {
            return self.invalid(offer, from, ctx);
        }
        let tasks = if quiet {
            Vec::new()
        } else {
            self.plan(&offer, ctx)
        };
        let offer_ids = vec![offer.id.clone()];
        if tasks.is_empty() {
            let refuse = match behaviour {
                Behaviour::Decliner => Duration::from_secs(ctx.rng().random_range(30..120)),
                // Frameworks that all decline for 1 s can keep an offer
                // going round two of them: once quiet, each gives the
                // others a turn.
                Behaviour::Mixed => Duration::from_secs(1),
                _ if quiet => Duration::from_secs(5),
                _ => Duration::from_secs(1),
            };
            self.see(Seen::Declined {
                fw: self.index,
                offer_ids: offer_ids.clone(),
            });
            ctx.send(
                from,
                Decline {
                    offer_ids,
                    refuse: Some(refuse),
                },
            );
            return;
        }
        let infos = self.record_launches(&offer, from, tasks, ctx);
        self.send_accept(from, offer_ids, infos, ctx);
    }

    fn record_launches(
        &mut self,
        offer: &Offer,
        from: &Pid,
        tasks: Vec<(TaskInfo, Ask)>,
        ctx: &mut Ctx<'_, Self>,
    ) -> Vec<TaskInfo> {
        let now = ctx.now();
        let mut log = self.log.borrow_mut();
        let mut infos = Vec::new();
        for (info, ask) in tasks {
            self.live.insert(info.task_id.clone(), ask.long);
            let launch = Launch {
                at: now,
                agent_id: offer.agent_id.clone(),
                hostname: offer.hostname.clone(),
                resources: info.resources.clone(),
                master: from.clone(),
                fails: ask.fails,
            };
            log.launched.insert(info.task_id.clone(), launch);
            infos.push(info);
        }
        infos
    }

    fn send_accept(
        &mut self,
        to: &Pid,
        offer_ids: Vec<OfferId>,
        infos: Vec<TaskInfo>,
        ctx: &mut Ctx<'_, Self>,
    ) {
        let tasks = infos
            .iter()
            .filter(|t| !self.log.borrow().invalid.contains_key(&t.task_id))
            .map(|t| (t.task_id.clone(), t.resources.clone()))
            .collect();
        self.see(Seen::Accepted {
            fw: self.index,
            offer_ids: offer_ids.clone(),
            tasks,
        });
        let accept = Accept {
            offer_ids,
            operations: vec![Operation::Launch(infos)],
            refuse: Some(Duration::from_secs(1)),
        };
        ctx.send(to, accept);
    }

    /// An invalid request on `offer`: an unknown offer id beside it, the
    /// offer used twice, a task id twice in one launch, a task needing
    /// more than offered, or a kill of a task never launched.
    fn invalid(&mut self, offer: Offer, from: &Pid, ctx: &mut Ctx<'_, Self>) {
        let kind = ctx.rng().random_range(0..5);
        let ask = plan::short_job(&offer.resources, ctx.rng());
        let fits = offer.resources.contains(&ask.resources);
        let ids = vec![offer.id.clone()];
        match kind {
            0 => {
                let bad = self.bad_task(&ask.resources);
                let bogus = OfferId(format!("{}-no-such-offer", offer.id));
                self.send_accept(from, vec![offer.id.clone(), bogus], vec![bad], ctx);
            }
            1 | 2 if fits => {
                let info = self.task_info(&ask);
                let good = self.record_launches(&offer, from, vec![(info, ask)], ctx);
                let mut second = good.clone();
                if kind == 1 {
                    self.send_accept(from, ids.clone(), good, ctx);
                    second = vec![self.bad_task(&second[0].resources)];
                } else {
                    self.log
                        .borrow_mut()
                        .duplicates
                        .insert(second[0].task_id.clone());
                    second.extend(good);
                }
                self.send_accept(from, ids, second, ctx);
            }
            3 => {
                let cpus = offer.resources.cpus() + 100.0;
                let greedy = Resources::empty()
                    .with_scalar("cpus", cpus)
                    .unwrap_or_else(|e| unreachable!("a positive amount: {e}"));
                let bad = self.bad_task(&greedy);
                self.send_accept(from, ids, vec![bad], ctx);
            }
            _ => {
                let n = self.next_task();
                let task_id = TaskId(format!("{}never-{n}", self.prefix));
                self.log.borrow_mut().kills.insert(task_id.clone());
                ctx.send(from, Kill { task_id });
                self.see(Seen::Declined {
                    fw: self.index,
                    offer_ids: ids.clone(),
                });
                let refuse = Some(Duration::from_secs(1));
                ctx.send(
                    from,
                    Decline {
                        offer_ids: ids,
                        refuse,
                    },
                );
            }
        }
    }

    /// A task that must never run, recorded as such.
    fn bad_task(&mut self, resources: &Resources) -> TaskInfo {
        let n = self.next_task();
        let task_id = TaskId(format!("{}bad-{n}", self.prefix));
        self.log
            .borrow_mut()
            .invalid
            .insert(task_id.clone(), resources.clone());
        TaskInfo {
            task_id: task_id.clone(),
            name: task_id.0.clone(),
            command: "sleep 1".into(),
            env: Vec::new(),
            resources: resources.clone(),
            container: None,
            executor: None,
        }
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
        if let Verdict::Stale { .. } = self.term.judge(m.term, ctx.now()) {
            // A deposed leader that has not noticed yet: the tick tries
            // another master.
            return;
        }
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
            log.subscriptions += 1;
        }
        self.see(Seen::Subscribed {
            fw: self.index,
            master: from.clone(),
        });
        // Learn at once what the new master knows of the live tasks (a
        // restarted scheduler knows none: it asks about all of them).
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
        let current = self.current.as_ref() == Some(&from);
        for offer in &m.offers {
            self.see(Seen::Offered {
                fw: self.index,
                from: from.clone(),
                current,
                offer: offer.clone(),
            });
        }
        let quiet = self.log.borrow().quiet;
        if !current {
            return;
        }
        for offer in m.offers {
            self.answer(offer, &from, quiet, ctx);
        }
    }
}

impl Handler<Update> for Framework {
    fn handle(&mut self, m: Update, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        // As Mesos's scheduler driver does: only the master it follows
        // speaks for the cluster. A deposed master that has not noticed yet
        // may still answer (seed 6049: DROPPED after FAILED); the agent
        // resends the update through the leader until acknowledged.
        if self.current.as_ref() != Some(&from) {
            return;
        }
        let status = m.status;
        self.see(Seen::Updated {
            fw: self.index,
            task_id: status.task_id.clone(),
            state: status.state,
            uuid: status.uuid,
        });
        let rejected = {
            let mut log = self.log.borrow_mut();
            let rejected = status.uuid.is_none()
                && status.source == StatusSource::Master
                && (log.invalid.contains_key(&status.task_id)
                    || (status.state == TaskState::Error
                        && log.duplicates.contains(&status.task_id)));
            if rejected {
                log.rejections.push((status.task_id.clone(), status.state));
            } else {
                log.record_update(&status, &from, ctx.now());
            }
            // A restarted scheduler learns its live tasks back.
            let ours = log.launched.contains_key(&status.task_id);
            if self.shape.behaviour != Behaviour::Mixed && ours && !status.state.is_terminal() {
                self.live.entry(status.task_id.clone()).or_insert(true);
            }
            rejected
        };
        // A rejected duplicate's TASK_ERROR is not its first copy's end.
        if status.state.is_terminal() && !rejected {
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
        if self.current.as_ref() != Some(&m.leader) && self.term.stale(m.term).is_none() {
            self.lost_master(Some(m.leader), ctx);
        }
    }
}

impl Handler<Rescind> for Framework {
    fn handle(&mut self, m: Rescind, _: &mut Ctx<'_, Self>) {
        self.see(Seen::Rescinded {
            fw: self.index,
            offer_id: m.offer_id,
        });
    }
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
