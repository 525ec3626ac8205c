//! What a registrar reports to an observer: role changes, applied and
//! acknowledged entries, failures — for tests and the simulator's checkers,
//! which read the cluster from outside the actors.

use std::rc::Rc;

use raft::StateRole;

use super::error::RegistrarError;

/// A member's Raft role, as observers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Following (or waiting for) a leader.
    Follower,
    /// Asking whether it could win before starting an election.
    PreCandidate,
    /// Running for leader.
    Candidate,
    /// The leader of its term.
    Leader,
}

impl From<StateRole> for Role {
    fn from(s: StateRole) -> Role {
        match s {
            StateRole::Follower => Role::Follower,
            StateRole::PreCandidate => Role::PreCandidate,
            StateRole::Candidate => Role::Candidate,
            StateRole::Leader => Role::Leader,
        }
    }
}

/// What a registrar tells its observer (tests and checkers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaftEvent {
    /// The member's term or role changed.
    Role {
        /// Raft id.
        node: u64,
        /// Its term.
        term: u64,
        /// Its role.
        role: Role,
    },
    /// The member applied a committed entry.
    Applied {
        /// Raft id.
        node: u64,
        /// The entry's index.
        index: u64,
        /// The entry's term.
        term: u64,
        /// The entry's data (empty for a leader's no-op).
        data: Vec<u8>,
    },
    /// The member restored its registry from a snapshot (its own at
    /// restart, or one the leader sent): everything up to `index` is
    /// applied.
    Restored {
        /// Raft id.
        node: u64,
        /// The snapshot's last index.
        index: u64,
        /// That index's term.
        term: u64,
    },
    /// The member answered a proposal as committed at `index`.
    Acknowledged {
        /// Raft id.
        node: u64,
        /// The entry's index.
        index: u64,
        /// The entry's term.
        term: u64,
    },
    /// The member failed (storage, or raft-rs asserted) and stopped.
    Failed {
        /// Raft id.
        node: u64,
        /// Why.
        error: RegistrarError,
    },
}

/// Sees every [`RaftEvent`] of a registrar.
pub type Observer = Rc<dyn Fn(&RaftEvent)>;
