//! The invalid framework's bad requests, each of which must reach the
//! master and launch nothing: an unknown offer id beside a real one, an
//! offer used twice, a task id twice in one launch, a task needing more
//! than offered, a kill of a task never launched. The driver refuses to
//! send a launch naming a task twice, so that one goes out raw
//! ([`corral_scheduler::Driver::send_to_master`]); the others go through
//! the driver, which sends them as they are.

use std::time::Duration;

use corral_api::framework::{Accept, Offer, Operation};
use corral_api::ids::{OfferId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use rand::Rng;

use super::{plan, ChaosScheduler, D};

/// What is left of an offer used by a bad request is declined for this.
const REFUSE: Duration = Duration::from_secs(1);

impl ChaosScheduler {
    /// An invalid request on `offer`.
    pub(super) fn invalid(&mut self, offer: Offer, d: &mut D<'_, '_>) {
        let kind = d.ctx().rng().random_range(0..5);
        let ask = plan::short_job(&offer.resources, d.ctx().rng());
        let fits = offer.resources.contains(&ask.resources);
        let ids = vec![offer.id.clone()];
        match kind {
            0 => {
                let bad = self.bad_task(&ask.resources);
                let bogus = OfferId(format!("{}-no-such-offer", offer.id));
                let both = vec![offer.id.clone(), bogus];
                let ops = vec![Operation::Launch(vec![bad])];
                let sent = d.accept(both.clone(), ops, Some(REFUSE));
                self.sent_launch(sent, &offer, both, Vec::new(), d);
            }
            1 if fits => {
                let info = self.task_info(&ask);
                let sent = d.launch(&offer.id, vec![info.clone()], Some(REFUSE));
                let bad = self.bad_task(&info.resources);
                self.sent_launch(sent, &offer, ids.clone(), vec![(info, ask)], d);
                let again = d.launch(&offer.id, vec![bad], Some(REFUSE));
                self.sent_launch(again, &offer, ids, Vec::new(), d);
            }
            2 if fits => {
                let info = self.task_info(&ask);
                self.log
                    .borrow_mut()
                    .duplicates
                    .insert(info.task_id.clone());
                let twice = Accept {
                    offer_ids: ids.clone(),
                    operations: vec![Operation::Launch(vec![info.clone(), info.clone()])],
                    refuse: Some(REFUSE),
                };
                d.send_to_master(twice);
                self.sent_launch(Ok(()), &offer, ids, vec![(info, ask)], d);
            }
            3 => {
                let cpus = offer.resources.cpus() + 100.0;
                let greedy = Resources::empty()
                    .with_scalar("cpus", cpus)
                    .unwrap_or_else(|e| unreachable!("a positive amount: {e}"));
                let bad = self.bad_task(&greedy);
                let sent = d.launch(&offer.id, vec![bad], Some(REFUSE));
                self.sent_launch(sent, &offer, ids, Vec::new(), d);
            }
            _ => {
                self.kill_never_launched(d);
                self.decline(offer.id, REFUSE, d);
            }
        }
    }

    /// A kill of a task id never launched.
    pub(super) fn kill_never_launched(&mut self, d: &mut D<'_, '_>) {
        let n = self.next_task();
        let task_id = TaskId(format!("{}never-{n}", self.prefix));
        if d.kill(&task_id).is_ok() {
            self.log.borrow_mut().kills.insert(task_id);
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
