//! The registrar checker: every registrar's observer reports land here,
//! and each report is checked against all before it, outside the actors.

use std::collections::{BTreeMap, BTreeSet};

use corral_master::registrar::{RaftEvent, RegistrarError, Role};

/// What the checkers know, fed by every registrar's observer.
#[derive(Default, Debug)]
pub struct Ledger {
    /// Each member's last reported (term, role), by Raft id.
    pub roles: BTreeMap<u64, (u64, Role)>,
    /// The leader of each term.
    pub leaders: BTreeMap<u64, u64>,
    /// The entry (term, data) first applied at each index.
    pub applied: BTreeMap<u64, (u64, Vec<u8>)>,
    /// Each member's last applied index (a restart replays from its
    /// snapshot, or from 1).
    pub applied_upto: BTreeMap<u64, u64>,
    /// Entries acknowledged to a client as committed: index to term.
    pub acked: BTreeMap<u64, u64>,
    /// Members that stopped on a storage failure.
    pub failed: BTreeSet<u64>,
    /// Safety violations seen, in order.
    pub violations: Vec<String>,
}

impl Ledger {
    /// Records one event, checking it against everything seen before.
    pub fn record(&mut self, e: &RaftEvent) {
        match e {
            RaftEvent::Role { node, term, role } => {
                self.roles.insert(*node, (*term, *role));
                if *role == Role::Leader {
                    let first = *self.leaders.entry(*term).or_insert(*node);
                    if first != *node {
                        self.violations
                            .push(format!("two leaders in term {term}: {first} and {node}"));
                    }
                }
            }
            RaftEvent::Applied {
                node,
                index,
                term,
                data,
            } => {
                let first = self
                    .applied
                    .entry(*index)
                    .or_insert_with(|| (*term, data.clone()));
                if first.0 != *term || first.1 != *data {
                    self.violations.push(format!(
                        "member {node} applied (term {term}) at index {index}, where (term {}) was applied",
                        first.0
                    ));
                }
                self.applied_upto.insert(*node, *index);
            }
            RaftEvent::Restored { node, index, term } => {
                // A snapshot covers what was applied up to its index: the
                // entry there must be the one everyone applied.
                if let Some((t, _)) = self.applied.get(index) {
                    if t != term {
                        self.violations.push(format!(
                            "member {node} restored a snapshot at {index} (term {term}) where (term {t}) was applied"
                        ));
                    }
                }
                self.applied_upto.insert(*node, *index);
            }
            RaftEvent::Acknowledged { index, term, .. } => {
                self.acked.insert(*index, *term);
            }
            RaftEvent::Failed { node, error } => {
                self.failed.insert(*node);
                if let RegistrarError::Panicked(what) = error {
                    self.violations
                        .push(format!("member {node}'s raft-rs asserted: {what}"));
                }
            }
        }
    }

    /// The up member that leads the highest term, by its own last report.
    pub fn leader(&self, up: impl Fn(u64) -> bool) -> Option<u64> {
        self.roles
            .iter()
            .filter(|(id, (_, role))| *role == Role::Leader && up(**id))
            .max_by_key(|(_, (term, _))| *term)
            .map(|(id, _)| *id)
    }
}
