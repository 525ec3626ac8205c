//! Invariant 2's own ledger, kept from what the frameworks see and send
//! ([`Seen`]), never from what a master says about itself: the offers
//! outstanding at each framework, and the tasks accepted but not yet seen
//! by their agent. With the tasks an agent runs, they must share no port
//! or set item and fit in the agent together — but for a grace period:
//! a rescinded offer is gone at the master before its framework hears so,
//! and the master may offer it again at once.
//!
//! Lenient where the master may legitimately have let go first: offers of
//! a framework that re-subscribed, quit or went down, launches of one that
//! went down (they may have been lost with it), offers and launches of a
//! master that crashed (it remembers none of them when it comes back; a
//! launch that reached an agent is in the agent's tasks), and offers and
//! launches of earlier terms once a later term's offer is seen (a new
//! leader holds only what its agents report).

use std::collections::{BTreeMap, BTreeSet};

use corral_api::ids::{OfferId, TaskId};
use corral_api::resources::Resources;
use corral_runtime::Pid;

use super::traffic::Seen;

/// What the ledger holds for one offer or one launch.
#[derive(Debug, Clone)]
struct Held {
    /// The framework's index.
    fw: usize,
    /// The master that made the offer.
    master: Pid,
    hostname: String,
    term: u64,
    resources: Resources,
}

/// Outstanding offers and launches in flight.
#[derive(Debug, Default)]
pub struct OfferLedger {
    offers: BTreeMap<OfferId, Held>,
    in_flight: BTreeMap<TaskId, Held>,
    /// The highest term seen in an offer id.
    term: u64,
}

impl OfferLedger {
    /// Takes in one thing a framework saw or did.
    pub fn see(&mut self, seen: Seen) {
        match seen {
            Seen::Subscribed { fw, .. } | Seen::Left { fw } => {
                self.offers.retain(|_, h| h.fw != fw);
            }
            Seen::Down { fw } => {
                // A launch sent just before the scheduler's machine went
                // down may have gone down with it (seed 61557: the master
                // never got it, and rightly offered what it named).
                self.offers.retain(|_, h| h.fw != fw);
                self.in_flight.retain(|_, h| h.fw != fw);
            }
            Seen::MasterDown { master } => {
                self.offers.retain(|_, h| h.master != master);
                self.in_flight.retain(|_, h| h.master != master);
            }
            Seen::Offered {
                fw,
                from,
                current,
                offer,
            } => {
                let term = offer_term(&offer.id.0).unwrap_or(0);
                if term > self.term {
                    self.term = term;
                    self.offers.retain(|_, h| h.term >= term);
                    self.in_flight.retain(|_, h| h.term >= term);
                }
                if !current || term < self.term {
                    return;
                }
                let held = Held {
                    fw,
                    master: from,
                    hostname: offer.hostname.clone(),
                    term,
                    resources: offer.resources.clone(),
                };
                self.offers.insert(offer.id, held);
            }
            Seen::Accepted {
                fw,
                offer_ids,
                tasks,
            } => {
                let mut used: Option<Held> = None;
                for id in offer_ids {
                    if self.offers.get(&id).is_some_and(|h| h.fw == fw) {
                        used = self.offers.remove(&id).or(used);
                    }
                }
                if let Some(h) = used {
                    for (task, resources) in tasks {
                        let held = Held {
                            resources,
                            ..h.clone()
                        };
                        self.in_flight.insert(task, held);
                    }
                }
            }
            Seen::Declined { fw, offer_ids } => {
                for id in offer_ids {
                    if self.offers.get(&id).is_some_and(|h| h.fw == fw) {
                        self.offers.remove(&id);
                    }
                }
            }
            Seen::Rescinded { offer_id, .. } => {
                self.offers.remove(&offer_id);
            }
            Seen::Updated { task_id, .. } => self.landed(&task_id),
        }
    }

    /// The agent (or a master's answer) accounts for the task from now on.
    pub fn landed(&mut self, task: &TaskId) {
        self.in_flight.remove(task);
    }

    /// The agents `master`'s outstanding offers are on.
    pub fn hosts_offered_by(&self, master: &Pid) -> BTreeSet<String> {
        self.offers
            .values()
            .filter(|h| h.master == *master)
            .map(|h| h.hostname.clone())
            .collect()
    }

    /// What the ledger holds on `hostname`, described.
    pub fn held_on(&self, hostname: &str) -> Vec<(String, Resources)> {
        let offers = self
            .offers
            .iter()
            .filter(|(_, h)| h.hostname == hostname)
            .map(|(o, h)| {
                (
                    format!("offer {o} to framework {}", h.fw),
                    h.resources.clone(),
                )
            });
        let flying = self
            .in_flight
            .iter()
            .filter(|(_, h)| h.hostname == hostname)
            .map(|(t, h)| (format!("task {t} accepted"), h.resources.clone()));
        offers.chain(flying).collect()
    }
}

/// Why `held` (offers, launches, running tasks of one agent) cannot all
/// be had at once from `total`, if they cannot.
pub fn overlap(total: &Resources, held: &[(String, Resources)]) -> Option<String> {
    let mut sum = Resources::empty();
    for (what, r) in held {
        match sum.checked_plus(r) {
            Some(s) => sum = s,
            None => return Some(format!("{what} ({r}) overlaps the others")),
        }
    }
    (!total.contains(&sum)).then(|| format!("they hold {sum}, more than its {total}"))
}

/// The term in an offer id (`{prefix}t{term}-O{n}`, see the master's
/// `take_lead`).
pub fn offer_term(id: &str) -> Option<u64> {
    let (head, _) = id.rsplit_once("-O")?;
    let (_, term) = head.rsplit_once('t')?;
    term.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::offer_term;

    #[test]
    fn offer_ids_carry_their_term() {
        assert_eq!(offer_term("0a1b2c3dt7-O12"), Some(7));
        assert_eq!(offer_term("ffffffff-O3"), None);
        assert_eq!(offer_term("garbage"), None);
    }
}
