//! Ready handling: raft-rs's outputs turned into durable writes, messages to
//! send and entries to apply — the registrar's sans-IO core.
//!
//! [`drain`] runs raft-rs's documented order for one `Ready`: take the
//! committed entries; write new entries and the hard state; **sync**; only
//! then hand out the messages (a vote or an append acknowledgement must
//! never leave before what it promises is on disk); `advance`; write the
//! new commit index; hand out the light ready's messages and committed
//! entries; `advance_apply` (the caller applies them before it touches
//! the node again). A snapshot from the leader is installed in the log
//! first and handed to the caller, who restores the registry from it
//! before it applies any committed entry.

use raft::eraftpb::{Entry, Message, Snapshot};
use raft::RawNode;

use super::error::RegistrarError;
use super::storage::{Disk, LogStore};

/// What one [`drain`] produced, for the actor to carry out in order:
/// send `messages`, then apply `committed`.
#[derive(Debug, Default)]
pub struct Drained {
    /// Raft messages to send, in order.
    pub messages: Vec<Message>,
    /// A snapshot the leader sent, to restore before applying `committed`
    /// (entries it covers are then skipped).
    pub snapshot: Option<Snapshot>,
    /// Committed entries to apply, in log order.
    pub committed: Vec<Entry>,
    /// Syncs done.
    pub syncs: u32,
}

/// Readies handled per call at most: each is one round of writes.
const MAX_ROUNDS: usize = 16;

/// Handles every pending `Ready` of `node`, writing through `disk`.
/// `sync` false skips the syncs (only to show that the simulator catches
/// it). On an error the node must not be used again: its memory may be
/// ahead of its disk.
pub fn drain(
    node: &mut RawNode<LogStore>,
    disk: &mut dyn Disk,
    sync: bool,
) -> Result<Drained, RegistrarError> {
    let mut out = Drained::default();
    for _ in 0..MAX_ROUNDS {
        if !node.has_ready() {
            break;
        }
        one_ready(node, disk, sync, &mut out)?;
    }
    Ok(out)
}

fn one_ready(
    node: &mut RawNode<LogStore>,
    disk: &mut dyn Disk,
    sync: bool,
    out: &mut Drained,
) -> Result<(), RegistrarError> {
    let mut rd = node.ready();
    let snapshot = !rd.snapshot().is_empty();
    if snapshot {
        let snap = rd.snapshot().clone();
        node.mut_store().apply_snapshot(disk, &snap)?;
        out.snapshot = Some(snap);
    }
    out.committed.extend(rd.take_committed_entries());
    let early = rd.take_messages();
    let wrote = snapshot || !rd.entries().is_empty() || rd.hs().is_some();
    node.mut_store().append(disk, rd.entries())?;
    if let Some(hs) = rd.hs() {
        node.mut_store().set_hard_state(disk, hs)?;
    }
    if wrote && sync {
        disk.sync()?;
        out.syncs += 1;
    }
    out.messages.extend(early);
    out.messages.extend(rd.take_persisted_messages());
    let mut light = node.advance(rd);
    if let Some(commit) = light.commit_index() {
        // Not synced on its own: a lost commit index is learnt again.
        node.mut_store().set_commit(disk, commit)?;
    }
    out.messages.extend(light.take_messages());
    out.committed.extend(light.take_committed_entries());
    node.advance_apply();
    Ok(())
}

#[cfg(test)]
mod tests {
    use corral_runtime::MemStorage;
    use raft::eraftpb::MessageType;
    use raft::{Config, StateRole};

    use super::*;

    fn node(id: u64, disk: &mut MemStorage) -> RawNode<LogStore> {
        let store = LogStore::load(disk, &[1, 2, 3]).unwrap();
        let cfg = Config {
            id,
            election_tick: 10,
            heartbeat_tick: 1,
            max_election_tick: 11,
            pre_vote: true,
            check_quorum: true,
            ..Config::default()
        };
        let log = slog::Logger::root(slog::Discard, slog::o!());
        RawNode::new(&cfg, store, &log).unwrap()
    }

    /// A disk that records the order of writes, syncs and nothing else.
    #[derive(Default)]
    struct Journal {
        mem: MemStorage,
        ops: Vec<&'static str>,
    }
    impl Disk for Journal {
        fn get(&self, k: &[u8]) -> Result<Option<Vec<u8>>, corral_runtime::StorageError> {
            Disk::get(&self.mem, k)
        }
        fn put(&mut self, k: &[u8], v: &[u8]) -> Result<(), corral_runtime::StorageError> {
            self.ops.push("put");
            Disk::put(&mut self.mem, k, v)
        }
        fn delete(&mut self, k: &[u8]) -> Result<(), corral_runtime::StorageError> {
            self.ops.push("delete");
            Disk::delete(&mut self.mem, k)
        }
        fn scan(
            &self,
            p: &[u8],
        ) -> Result<corral_runtime::storage::Rows, corral_runtime::StorageError> {
            Disk::scan(&self.mem, p)
        }
        fn sync(&mut self) -> Result<(), corral_runtime::StorageError> {
            self.ops.push("sync");
            Ok(())
        }
    }

    #[test]
    fn a_campaign_persists_the_vote_and_syncs_before_any_message() {
        let mut j = Journal::default();
        let mut n = node(1, &mut j.mem);
        n.campaign().unwrap();
        let out = drain(&mut n, &mut j, true).unwrap();
        assert_eq!(n.raft.state, StateRole::PreCandidate);
        assert_eq!(out.messages.len(), 2, "pre-votes to both peers");
        assert!(out
            .messages
            .iter()
            .all(|m| m.get_msg_type() == MessageType::MsgRequestPreVote));
        // Pre-vote changes no hard state; a real vote does, then syncs.
        let mut resp = Message {
            from: 2,
            to: 1,
            term: 1,
            ..Message::default()
        };
        resp.set_msg_type(MessageType::MsgRequestPreVoteResponse);
        n.step(resp).unwrap();
        j.ops.clear();
        let out = drain(&mut n, &mut j, true).unwrap();
        assert_eq!(n.raft.state, StateRole::Candidate);
        assert!(out.syncs >= 1);
        assert_eq!(j.ops.last(), Some(&"sync"), "{:?}", j.ops);
        let back = LogStore::load(&mut j.mem, &[]).unwrap();
        assert_eq!(back.hard_state().vote, 1, "the vote for itself is durable");
    }

    #[test]
    fn a_single_voter_commits_and_hands_out_its_entries_in_order() {
        let mut disk = MemStorage::default();
        let store = LogStore::load(&mut disk, &[1]).unwrap();
        let cfg = Config {
            id: 1,
            election_tick: 10,
            heartbeat_tick: 1,
            max_election_tick: 11,
            ..Config::default()
        };
        let log = slog::Logger::root(slog::Discard, slog::o!());
        let mut n = RawNode::new(&cfg, store, &log).unwrap();
        n.campaign().unwrap();
        let _ = drain(&mut n, &mut disk, true).unwrap();
        assert_eq!(n.raft.state, StateRole::Leader);
        n.propose(vec![], b"one".to_vec()).unwrap();
        n.propose(vec![], b"two".to_vec()).unwrap();
        let out = drain(&mut n, &mut disk, true).unwrap();
        let data: Vec<&[u8]> = out
            .committed
            .iter()
            .filter(|e| !e.data.is_empty())
            .map(|e| e.data.as_ref())
            .collect();
        assert_eq!(data, vec![&b"one"[..], &b"two"[..]]);
        let back = LogStore::load(&mut disk, &[]).unwrap();
        assert_eq!(back.len(), 3, "the leader's empty entry and both proposals");
        assert_eq!(back.hard_state().commit, 3);
    }
}
