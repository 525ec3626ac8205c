//! Registry writes: what must be in the replicated registry before the
//! master acts on it, and what follows each write once it commits.
//!
//! A write ([`MasterCore::persist`]) names what follows it ([`AfterWrite`]);
//! with no registrar (a master alone) that follows at once. Nothing follows
//! a write that fails or outlives this master's term: the agent or
//! framework that caused it retries.

use std::time::Duration;

use corral_runtime::{AskError, Pid};

use super::effects::{AfterWrite, Answer, Io, Question, Then};
use super::{MasterCore, Phase};
use crate::registrar::{Op, ProposeError, Proposed};

/// How long a registry write may take before it is given up (the agent
/// or framework that caused it retries).
pub(super) const PROPOSE_TIMEOUT: Duration = Duration::from_secs(5);

impl MasterCore {
    /// Writes `op` to the registry, then does `after`; with no registrar
    /// (a master alone) does `after` at once. `guard`, an agent or
    /// framework whose registration is being written, is held in
    /// `admitting` until the write ends, so that its retries meanwhile are
    /// not written twice.
    pub(super) fn persist(&mut self, op: Op, guard: Option<Pid>, after: AfterWrite, io: &mut Io) {
        let Some(registrar) = self.registrar.clone() else {
            return self.after_write(after, io);
        };
        let Phase::Leading { term } = self.phase else {
            return;
        };
        if let Some(pid) = &guard {
            self.admitting.insert(pid.clone());
        }
        let then = Then::Written { term, guard, after };
        io.ask(
            &registrar,
            Question::Propose(Box::new(op)),
            PROPOSE_TIMEOUT,
            then,
        );
    }

    /// The registrar answered a write made in `term`.
    fn written(
        &mut self,
        term: u64,
        guard: Option<Pid>,
        after: AfterWrite,
        r: Result<Proposed, AskError>,
        io: &mut Io,
    ) {
        if self.phase != (Phase::Leading { term }) {
            return;
        }
        if let Some(pid) = &guard {
            self.admitting.remove(pid);
        }
        match r.map(|p| p.result) {
            Ok(Ok(_)) => self.after_write(after, io),
            Ok(Err(ProposeError::NotLeader { .. })) => {
                tracing::warn!("the registrar lost the lead during a write");
                self.abdicate(io);
            }
            Ok(Err(e)) => tracing::warn!(%e, "registry write failed"),
            Err(e) => tracing::warn!(%e, "registry write got no answer"),
        }
    }

    fn after_write(&mut self, after: AfterWrite, io: &mut Io) {
        match after {
            AfterWrite::Nothing => {}
            AfterWrite::AdmitAgent {
                id,
                registration,
                pid,
            } => self.admission_written(id, *registration, pid, io),
            AfterWrite::RegisterFramework {
                id,
                from,
                info,
                role,
            } => self.register_framework(id, from, *info, role, io),
            AfterWrite::AgentRemovedAfterFailover(id) => {
                if self.recovering.remove(&id).is_some() {
                    self.removed_agents.insert(id);
                }
            }
            AfterWrite::UnreachableRemoved(id) => self.unreachable_removed(id, io),
        }
    }

    /// An answer to a question the master asked; one that does not fit
    /// its question (a shell's mistake) is logged and dropped.
    pub(super) fn on_answer(&mut self, then: Then, answer: Answer, io: &mut Io) {
        match (then, answer) {
            (Then::Ponged { id, pid }, Answer::Pong(r)) => self.ponged(&id, &pid, r, io),
            (Then::LeaderKnown, Answer::Leader(r)) => self.leader_answered(r, io),
            (Then::LeaderEntry { hint }, Answer::Registry(r)) => self.leader_entry_read(hint, r),
            (Then::ElectionCommitted { term, registrar }, Answer::Proposed(r)) => {
                self.election_committed(term, registrar, r, io)
            }
            (Then::RegistryRead { term }, Answer::Registry(r)) => self.registry_read(term, r, io),
            (Then::Written { term, guard, after }, Answer::Proposed(r)) => {
                self.written(term, guard, after, r, io)
            }
            (then, answer) => {
                tracing::error!(?then, ?answer, "an answer that does not fit its question")
            }
        }
    }
}
