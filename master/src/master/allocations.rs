//! Turning the allocator's decisions into offers, and offers that time out.

use std::collections::BTreeMap;

use corral_runtime::{Ctx, Handler};

use super::Master;
use crate::allocator::messages::Allocations;
use corral_api::framework::{Offer, Offers, Rescind};
use corral_api::ids::FrameworkId;

impl Master {
    /// Rescinds offers older than `offer_timeout`, then checks again.
    pub(super) fn expire_offers(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(timeout) = self.cfg.offer_timeout else {
            return;
        };
        for offer in self.offers.expire(ctx.now(), timeout) {
            self.counters.offers_rescinded += 1;
            let rescind = Rescind {
                offer_id: offer.id.clone(),
            };
            if self.cfg.planted != Some(super::MasterBug::SilentRescind) {
                self.send_to_framework(&offer.framework, rescind, ctx);
            }
            self.give_back(
                &offer.framework,
                [(offer.agent, offer.resources)],
                None,
                ctx,
            );
        }
        let every = timeout.min(std::time::Duration::from_secs(1));
        ctx.delay(every, |m: &mut Self, ctx| m.expire_offers(ctx));
    }
}

impl Handler<Allocations> for Master {
    fn handle(&mut self, m: Allocations, ctx: &mut Ctx<'_, Self>) {
        if !self.leading() {
            // Made before this master stepped down; nothing to offer.
            return;
        }
        if ctx.sender() != self.allocator.as_ref() {
            tracing::warn!(from = ?ctx.sender(), "allocations from a stranger dropped");
            return;
        }
        let now = ctx.now();
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
                _ => self.give_back(&a.framework, [(a.agent, a.resources)], None, ctx),
            }
        }
        for (fw, offers) in batches {
            self.send_to_framework(&fw, Offers { offers }, ctx);
        }
    }
}
