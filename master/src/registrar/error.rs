//! The registrar's errors.

use corral_runtime::{Pid, StorageError};
use serde::{Deserialize, Serialize};

/// What went wrong inside the registrar (storage, codec, Raft).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    /// The node's durable store failed.
    #[error("registrar storage failed: {0}")]
    Storage(#[from] StorageError),
    /// Bytes did not encode or decode (an op, a Raft message, a record).
    #[error("registrar codec error: {0}")]
    Codec(String),
    /// An op is larger than [`MAX_OP_BYTES`](super::registry::MAX_OP_BYTES).
    #[error("op of {0} bytes is over the limit")]
    TooLarge(usize),
    /// An op the state machine would refuse.
    #[error("invalid op: {0}")]
    Invalid(String),
    /// raft-rs refused a call.
    #[error("raft: {0}")]
    Raft(String),
    /// raft-rs asserted (e.g. a peer claims a commit past this member's
    /// log, which happens only if a disk lost synced data): the member's
    /// state cannot be trusted.
    #[error("raft-rs asserted: {0}")]
    Panicked(String),
    /// The configuration is unusable.
    #[error("bad registrar config: {0}")]
    Config(String),
}

impl From<raft::Error> for RegistrarError {
    fn from(e: raft::Error) -> RegistrarError {
        RegistrarError::Raft(e.to_string())
    }
}

/// Why a proposal was not committed: the answer a client gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ProposeError {
    /// This registrar is not the leader; `leader` is the one it knows of,
    /// so the client can redirect.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader's registrar, if known.
        leader: Option<Pid>,
    },
    /// The proposal's entry was replaced by another leader's: not committed.
    #[error("the proposal was dropped by a leader change")]
    Dropped,
    /// Too many proposals are waiting to commit; retry later.
    #[error("too many proposals in flight")]
    Busy,
    /// The op is invalid or too large.
    #[error("invalid op: {0}")]
    Invalid(String),
    /// This registrar failed (storage) and stopped serving.
    #[error("the registrar failed: {0}")]
    Failed(String),
}
