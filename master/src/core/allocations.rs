//! Turning the allocator's decisions into offers, and offers that time out.

use std::collections::BTreeMap;

use super::effects::{Io, Timer};
use super::MasterCore;
use crate::allocator::messages::Allocations;
use corral_api::framework::{Offer, Offers, Rescind};
use corral_api::ids::FrameworkId;

impl MasterCore {
    /// Rescinds offers older than `offer_timeout`, then checks again.
    pub(super) fn expire_offers(&mut self, io: &mut Io) {
        let Some(timeout) = self.cfg.offer_timeout else {
            return;
        };
        for offer in self.offers.expire(io.now(), timeout) {
            self.counters.offers_rescinded += 1;
            let rescind = Rescind {
                offer_id: offer.id.clone(),
            };
            if self.cfg.planted != Some(super::config::MasterBug::SilentRescind) {
                self.send_to_framework(&offer.framework, rescind, io);
            }
            self.give_back(&offer.framework, [(offer.agent, offer.resources)], None, io);
        }
        let every = timeout.min(std::time::Duration::from_secs(1));
        io.delay(every, Timer::ExpireOffers);
    }
}

impl MasterCore {
    /// The allocator's decisions (the shell passes on only its
    /// allocator's) become offers to connected frameworks.
    pub(super) fn on_allocations(&mut self, m: Allocations, io: &mut Io) {
        if !self.leading() {
            // Made before this master stepped down; nothing to offer.
            return;
        }
        let now = io.now();
        let mut batches: BTreeMap<FrameworkId, Vec<Offer>> = BTreeMap::new();
        for a in m.allocations {
            let connected = self
                .frameworks
                .get(&a.framework)
                .is_some_and(|f| f.pid.is_some());
            match self.agents.get(&a.agent) {
                Some(agent) if connected => {
                    let offer = self.offers.create(
                        a.framework.clone(),
                        a.agent,
                        &agent.hostname,
                        a.resources,
                        now,
                    );
                    self.counters.offers_sent += 1;
                    batches.entry(a.framework).or_default().push(offer);
                }
                // Gone since the pass: give it back (the allocator ignores
                // it if it has forgotten the framework or agent too).
                _ => self.give_back(&a.framework, [(a.agent, a.resources)], None, io),
            }
        }
        for (fw, offers) in batches {
            self.send_to_framework(&fw, Offers { offers }, io);
        }
    }
}
