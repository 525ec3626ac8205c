//! What a framework does with an offer, by its behaviour: how many tasks
//! of which kind it launches, or how long it declines for; and the
//! recording of offers, launches and declines for the checkers.

use std::time::Duration;

use corral_api::framework::Offer;
use corral_api::ids::{OfferId, TaskId};
use corral_api::task::TaskInfo;
use corral_scheduler::DriverError;
use rand::Rng;

use super::plan::{self, Ask};
use super::{task_resources, Behaviour, ChaosScheduler, Launch, Seen, D};

/// Live tasks the original framework aims to keep.
const TARGET_LIVE_TASKS: usize = 6;
/// Chance per offer that the invalid framework sends an invalid request.
const INVALID_PROBABILITY: f64 = 0.3;
/// How long the offers it launches on are declined for, what is left.
const LAUNCH_REFUSE: Duration = Duration::from_secs(1);

impl ChaosScheduler {
    /// Records offers received: `usable` if from the master followed (the
    /// driver drops the others, which the offer ledger leaves out too).
    pub(super) fn offered(&mut self, d: &D<'_, '_>, offers: &[Offer], usable: bool) {
        let from = Self::sender(d);
        if usable {
            let now = d.now();
            let mut log = self.log.borrow_mut();
            for o in offers {
                log.offers.push((now, from.clone(), o.id.clone()));
            }
        }
        for offer in offers {
            self.see(Seen::Offered {
                fw: self.index,
                from: from.clone(),
                current: usable,
                offer: offer.clone(),
            });
        }
    }

    /// Answers one offer of the master followed.
    pub(super) fn answer(&mut self, offer: Offer, quiet: bool, d: &mut D<'_, '_>) {
        let behaviour = self.shape.behaviour;
        if behaviour == Behaviour::Hoarder {
            return;
        }
        if behaviour == Behaviour::Invalid
            && !quiet
            && d.ctx().rng().random_bool(INVALID_PROBABILITY)
        {
            return self.invalid(offer, d);
        }
        let tasks = match quiet {
            true => Vec::new(),
            false => self.plan(&offer, d),
        };
        if tasks.is_empty() {
            let refuse = match behaviour {
                Behaviour::Decliner => Duration::from_secs(d.ctx().rng().random_range(30..120)),
                // Frameworks that all decline for 1 s can keep an offer
                // going round two of them: once quiet, each gives the
                // others a turn.
                Behaviour::Mixed => Duration::from_secs(1),
                _ if quiet => Duration::from_secs(5),
                _ => Duration::from_secs(1),
            };
            return self.decline(offer.id, refuse, d);
        }
        let infos: Vec<TaskInfo> = tasks.iter().map(|(info, _)| info.clone()).collect();
        let sent = d.launch(&offer.id, infos, Some(LAUNCH_REFUSE));
        self.sent_launch(sent, &offer, vec![offer.id.clone()], tasks, d);
    }

    /// Declines `offer_id` for `refuse`, telling the ledger.
    pub(super) fn decline(&mut self, offer_id: OfferId, refuse: Duration, d: &mut D<'_, '_>) {
        let offer_ids = vec![offer_id];
        if d.decline(offer_ids.clone(), Some(refuse)).is_ok() {
            self.see(Seen::Declined {
                fw: self.index,
                offer_ids,
            });
        }
    }

    /// Records an accept of `offer_ids` that launched the valid tasks
    /// `good` on `offer`, if it was sent: the ledger holds what they use
    /// until their agent runs them.
    pub(super) fn sent_launch(
        &mut self,
        sent: Result<(), DriverError>,
        offer: &Offer,
        offer_ids: Vec<OfferId>,
        good: Vec<(TaskInfo, Ask)>,
        d: &D<'_, '_>,
    ) {
        // Launches are sent from `offers`, which the driver calls only
        // while subscribed, and name fresh task ids: a refusal is a bug
        // here, and fails the seed.
        if let Err(e) = sent {
            unreachable!("framework {}: launch refused: {e}", self.index);
        }
        let tasks = good
            .iter()
            .map(|(t, _)| (t.task_id.clone(), t.resources.clone()))
            .collect();
        self.record_launches(offer, good, d);
        self.see(Seen::Accepted {
            fw: self.index,
            offer_ids,
            tasks,
        });
    }

    /// Writes tasks launched on `offer` to the log.
    fn record_launches(&mut self, offer: &Offer, tasks: Vec<(TaskInfo, Ask)>, d: &D<'_, '_>) {
        let now = d.now();
        let master = d.master().clone();
        let mut log = self.log.borrow_mut();
        for (info, ask) in tasks {
            self.live.insert(info.task_id.clone(), ask.long);
            let launch = Launch {
                at: now,
                agent_id: offer.agent_id.clone(),
                hostname: offer.hostname.clone(),
                resources: info.resources.clone(),
                master: master.clone(),
                fails: ask.fails,
            };
            log.launched.insert(info.task_id, launch);
        }
    }

    /// How many tasks the framework wants launched on this offer, and of
    /// which kind.
    fn plan(&mut self, offer: &Offer, d: &mut D<'_, '_>) -> Vec<(TaskInfo, Ask)> {
        let (room, service) = match self.shape.behaviour {
            Behaviour::Mixed => return self.plan_mixed(offer, d),
            Behaviour::Hoarder => return Vec::new(),
            Behaviour::Decliner => (usize::from(d.ctx().rng().random_bool(0.2)), false),
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
                true => plan::service(&left, d.ctx().rng()),
                false => plan::short_job(&left, d.ctx().rng()),
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

    /// The original framework's plan: keeps [`TARGET_LIVE_TASKS`] live,
    /// 40% of them "forever".
    fn plan_mixed(&mut self, offer: &Offer, d: &mut D<'_, '_>) -> Vec<(TaskInfo, Ask)> {
        let mut left = offer.resources.clone();
        let need = task_resources();
        let mut tasks = Vec::new();
        while self.live.len() + tasks.len() < TARGET_LIVE_TASKS && left.contains(&need) {
            let Some(rest) = left.checked_minus(&need) else {
                break;
            };
            left = rest;
            let long = d.ctx().rng().random_bool(0.4);
            let command = match long {
                true => "sleep 100000".to_owned(),
                false => format!("sleep {}", d.ctx().rng().random_range(2..20)),
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

    /// A task of the next number, doing what `ask` says.
    pub(super) fn task_info(&mut self, ask: &Ask) -> TaskInfo {
        let n = self.next_task();
        let task_id = TaskId(format!("{}task-{n}", self.prefix));
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
}
