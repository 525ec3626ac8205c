//! The scenario's frameworks: one [`ChaosScheduler`] per framework, run by
//! the scheduler SDK's [`SchedulerDriver`] (which subscribes, follows the
//! leading master, acknowledges and reconciles after every
//! re-subscription), using its offers as its [`Behaviour`] says: the
//! original chaos framework, batch jobs, a relaunching service, a decliner
//! with long filters, an offer hoarder, a suppress/revive cycler,
//! schedulers that fail over or quit, and one that sends invalid requests.
//! Each also reconciles its live tasks every 5 s.
//!
//! Everything a framework receives is written to its shared
//! [`FrameworkLog`] (which checks per-task update order as it records),
//! and its offer traffic to the shared [`Traffic`] feed for the offer
//! ledger: the checkers read both from outside.

mod invalid;
mod log;
mod offers;
mod plan;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{StatusSource, TaskState, TaskStatus};
use corral_runtime::{Pid, Time};
use corral_scheduler::{Driver, DriverConfig, DriverError, Scheduler, SchedulerDriver};
use rand::Rng;

pub use log::{FrameworkLog, Launch, Received};
pub use plan::classic_resources as task_resources;

use super::shape::{Behaviour, FrameworkShape};
use super::traffic::{Seen, Traffic};

/// How often the framework looks at its state: maybe kills a task,
/// suppresses or revives.
const TICK: Duration = Duration::from_millis(500);
/// How often it reconciles its live tasks explicitly.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// Chance per tick that it kills one of its live tasks.
const KILL_PROBABILITY: f64 = 0.04;
/// Chance per tick that a cycler suppresses or revives.
const CYCLE_PROBABILITY: f64 = 0.08;

/// The shared log.
pub type SharedLog = Rc<RefCell<FrameworkLog>>;

/// What the scheduler acts through.
type D<'a, 'c> = Driver<'a, 'c, ChaosScheduler>;

/// One framework's decisions, and its recorders.
pub struct ChaosScheduler {
    /// Its index in the scenario (its place in the logs).
    index: usize,
    shape: FrameworkShape,
    /// Prefix of its task ids (empty for the original framework, whose
    /// task ids the classic regression seeds depend on).
    prefix: String,
    /// Tasks not known to have ended, with whether they run "forever".
    live: BTreeMap<TaskId, bool>,
    log: SharedLog,
    traffic: Traffic,
}

impl ChaosScheduler {
    /// The name its driver is spawned under.
    pub const NAME: &'static str = "framework";

    /// Framework `index`, shaped by `shape`, run by a driver that finds
    /// its leader among `masters`. A scheduler that restarts takes its
    /// framework id (subscribing as that framework) and its tasks from
    /// `log`: what a real one keeps on disk.
    pub fn driver(
        index: usize,
        shape: FrameworkShape,
        masters: Vec<Pid>,
        log: SharedLog,
        traffic: Traffic,
    ) -> Result<SchedulerDriver<ChaosScheduler>, DriverError> {
        let prefix = match shape.behaviour {
            Behaviour::Mixed => String::new(),
            _ => format!("f{index}-"),
        };
        let (framework_id, live) = {
            let log = log.borrow();
            let live = log
                .launched
                .keys()
                .filter(|t| log.terminal(t).is_none())
                .map(|t| (t.clone(), true))
                .collect();
            (log.framework_id.clone(), live)
        };
        let info = info(index, &shape, framework_id);
        let scheduler = ChaosScheduler {
            index,
            shape,
            prefix,
            live,
            log,
            traffic,
        };
        SchedulerDriver::new(DriverConfig::new(masters, info), scheduler)
    }

    fn see(&self, seen: Seen) {
        self.traffic.borrow_mut().push(seen);
    }

    /// A master accepted the subscription: offers held from before are
    /// void.
    fn subscribed(&mut self, d: &mut D<'_, '_>, id: &FrameworkId) {
        let master = d.master().clone();
        {
            let mut log = self.log.borrow_mut();
            log.framework_id = Some(id.clone());
            log.subscribed_to = Some(master.clone());
            log.subscriptions += 1;
        }
        self.see(Seen::Subscribed {
            fw: self.index,
            master,
        });
    }

    /// The master that sent the message being handled.
    fn sender(d: &D<'_, '_>) -> Pid {
        d.sender().unwrap_or(d.master()).clone()
    }

    fn tick(&mut self, d: &mut D<'_, '_>) {
        d.delay(TICK, Self::tick);
        if !d.is_subscribed() {
            return;
        }
        let quiet = self.log.borrow().quiet;
        match self.shape.behaviour {
            Behaviour::Cycler => return self.cycle(quiet, d),
            Behaviour::Invalid if !quiet && d.ctx().rng().random_bool(KILL_PROBABILITY) => {
                return self.kill_never_launched(d);
            }
            Behaviour::Mixed | Behaviour::Service | Behaviour::FailsOver | Behaviour::Quits => {}
            _ => return,
        }
        if quiet || !d.ctx().rng().random_bool(KILL_PROBABILITY) {
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
        let task_id = pick[d.ctx().rng().random_range(0..pick.len())].clone();
        if d.kill(&task_id).is_ok() {
            self.log.borrow_mut().kills.insert(task_id);
        }
    }

    /// A cycler suppresses or revives now and then; once quiet it stays
    /// revived (the check after healing expects it to be offered).
    fn cycle(&mut self, quiet: bool, d: &mut D<'_, '_>) {
        let suppressed = self.log.borrow().suppressed;
        let flip = if quiet {
            suppressed
        } else {
            d.ctx().rng().random_bool(CYCLE_PROBABILITY)
        };
        if !flip {
            return;
        }
        let sent = match suppressed {
            true => d.revive(),
            false => d.suppress(),
        };
        if sent.is_ok() {
            self.log.borrow_mut().suppressed = !suppressed;
        }
    }

    fn reconcile(&mut self, d: &mut D<'_, '_>) {
        d.delay(RECONCILE_EVERY, Self::reconcile);
        if d.is_subscribed() {
            // None live: an empty list asks about all its tasks.
            let task_ids = self.live.keys().cloned().collect();
            let _ = d.reconcile(task_ids);
        }
    }

    /// A quitting scheduler leaves for good at its time: it stops
    /// following masters and exits, so its link closes and the master
    /// removes it once its failover timeout runs out.
    fn quit(&mut self, d: &mut D<'_, '_>) {
        tracing::info!(framework = self.index, "scheduler quits");
        self.log.borrow_mut().quit_at = Some(d.now());
        self.see(Seen::Left { fw: self.index });
        d.leave();
        d.ctx().stop();
    }

    fn next_task(&mut self) -> u64 {
        let mut log = self.log.borrow_mut();
        let n = log.next_task;
        log.next_task += 1;
        n
    }

    /// Records an update from the master followed; whether it is the
    /// master's rejection of an invalid request.
    fn record_update(&mut self, status: &TaskStatus, from: &Pid, now: Time) -> bool {
        let mut log = self.log.borrow_mut();
        let rejected = status.uuid.is_none()
            && status.source == StatusSource::Master
            && (log.invalid.contains_key(&status.task_id)
                || (status.state == TaskState::Error && log.duplicates.contains(&status.task_id)));
        if rejected {
            log.rejections.push((status.task_id.clone(), status.state));
        } else {
            log.record_update(status, from, now);
        }
        // A restarted scheduler learns its live tasks back.
        let ours = log.launched.contains_key(&status.task_id);
        if self.shape.behaviour != Behaviour::Mixed && ours && !status.state.is_terminal() {
            self.live.entry(status.task_id.clone()).or_insert(true);
        }
        rejected
    }
}

/// How framework `index` introduces itself: checkpointing and
/// partition-aware, as its shape says, under `id` if it has one.
fn info(index: usize, shape: &FrameworkShape, id: Option<FrameworkId>) -> FrameworkInfo {
    let name = match shape.behaviour {
        Behaviour::Mixed => "failover-sim".to_owned(),
        b => format!("{b:?}-{index}"),
    };
    let mut info = FrameworkInfo::new(&name, &shape.role);
    info.failover_timeout = shape.failover_timeout;
    info.checkpoint = true;
    info.partition_aware = true;
    info.id = id;
    info
}

impl Scheduler for ChaosScheduler {
    fn registered(&mut self, d: &mut D<'_, '_>, id: &FrameworkId) {
        self.subscribed(d, id);
        d.delay(TICK, Self::tick);
        d.delay(RECONCILE_EVERY, Self::reconcile);
        if let (Behaviour::Quits, Some(at)) = (self.shape.behaviour, self.shape.event_at) {
            let after = (Time::ZERO + at).saturating_since(d.now());
            d.delay(after, Self::quit);
        }
    }

    fn reregistered(&mut self, d: &mut D<'_, '_>, id: &FrameworkId) {
        self.subscribed(d, id);
    }

    fn disconnected(&mut self, _: &mut D<'_, '_>) {
        self.log.borrow_mut().subscribed_to = None;
    }

    fn offers(&mut self, d: &mut D<'_, '_>, offers: Vec<Offer>) {
        self.offered(d, &offers, true);
        let quiet = self.log.borrow().quiet;
        for offer in offers {
            self.answer(offer, quiet, d);
        }
    }

    fn ignored_offers(&mut self, d: &mut D<'_, '_>, offers: &[Offer]) {
        // Not usable, but which master made them is what invariant 4
        // checks.
        self.offered(d, offers, false);
    }

    fn rescinded(&mut self, _: &mut D<'_, '_>, offer_id: &corral_api::ids::OfferId) {
        self.see(Seen::Rescinded {
            fw: self.index,
            offer_id: offer_id.clone(),
        });
    }

    fn update(&mut self, d: &mut D<'_, '_>, status: &TaskStatus) {
        let from = Self::sender(d);
        self.see(Seen::Updated {
            fw: self.index,
            task_id: status.task_id.clone(),
            state: status.state,
            uuid: status.uuid,
        });
        let rejected = self.record_update(status, &from, d.now());
        // A rejected duplicate's TASK_ERROR is not its first copy's end.
        if status.state.is_terminal() && !rejected {
            self.live.remove(&status.task_id);
        }
    }

    fn error(&mut self, _: &mut D<'_, '_>, message: &str) {
        tracing::debug!(framework = self.index, error = %message, "framework error");
    }
}
