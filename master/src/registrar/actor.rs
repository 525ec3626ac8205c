//! The `Registrar` actor: a raft-rs `RawNode` driven by the actor runtime.
//!
//! It ticks Raft every `tick`, steps the Raft messages peers send it, and
//! after each input runs [`drain`]: writes and syncs through `ctx.store()`,
//! then sends, then applies committed entries to the [`Registry`] and
//! answers the proposals they complete.
//!
//! Determinism: raft-rs's randomized election timeout is pinned to one
//! value ([`RegistrarConfig::raft_config`]), so the jitter Raft needs
//! against split votes comes from `ctx.rng()`: a random phase for the tick
//! timer at start, and a random number of withheld ticks (0 to
//! `election_tick - 1`) each time a non-leader changes term or role.
//!
//! A storage failure stops the registrar (its memory may be ahead of its
//! disk), and so does a raft-rs assertion (caught, never a process panic:
//! e.g. a peer claiming a commit past this log, which only a lost disk
//! explains); a node restart reloads the log from disk and replays it.
//!
//! A proposal is answered when its index is applied here: `Ok(index)` if
//! the entry there is the one proposed (same term), `Dropped` if another
//! leader's entry took the index. A proposal stranded by a leader change
//! waits until some entry reaches its index; the client's ask timeout
//! bounds the wait, `max_pending_proposals` the memory.

use std::collections::BTreeMap;

use corral_runtime::{Actor, Ctx, Handler, Handlers, ReplyTo};
use protobuf::Message as _;
use raft::eraftpb::{Entry, EntryType, Message as RaftMessage, MessageType, Snapshot};
use raft::{ProgressState, RawNode, SnapshotStatus, StateRole};

use super::config::RegistrarConfig;
use super::error::{ProposeError, RegistrarError};
use super::events::{Observer, RaftEvent, Role};
use super::protocol::{
    GetLeader, GetRegistry, LeaderInfo, Propose, Proposed, Raft, RegistrySnapshot,
};
use super::ready::drain;
use super::registry::{Op, Registry};
use super::storage::LogStore;

/// A proposal waiting for its entry to commit.
struct Pending {
    term: u64,
    reply: ReplyTo,
}

/// The replicated registrar actor. See the module doc.
pub struct Registrar {
    cfg: RegistrarConfig,
    node: Option<RawNode<LogStore>>,
    registry: Registry,
    applied: u64,
    pending: BTreeMap<u64, Pending>,
    observer: Option<Observer>,
    last_role: Option<(u64, Role)>,
    withheld_ticks: usize,
    failed: Option<String>,
}

impl Registrar {
    /// A registrar; it loads its log from `ctx.store()` when started.
    pub fn new(cfg: RegistrarConfig) -> Registrar {
        Registrar {
            cfg,
            node: None,
            registry: Registry::default(),
            applied: 0,
            pending: BTreeMap::new(),
            observer: None,
            last_role: None,
            withheld_ticks: 0,
            failed: None,
        }
    }

    /// Reports every [`RaftEvent`] to `observer`.
    pub fn with_observer(mut self, observer: Observer) -> Registrar {
        self.observer = Some(observer);
        self
    }

    fn notify(&self, event: RaftEvent) {
        if let Some(o) = &self.observer {
            o(&event);
        }
    }

    fn boot(&mut self, ctx: &mut Ctx<'_, Self>) -> Result<(), RegistrarError> {
        self.cfg.validate()?;
        let voters: Vec<u64> = self.cfg.peers.iter().map(|(id, _)| *id).collect();
        let mut disk = ctx.store();
        let store = LogStore::load(&mut disk, &voters)?;
        disk.sync()?;
        let snap = store.snapshot_now().clone();
        let mut raft_cfg = self.cfg.raft_config();
        if snap.get_metadata().index > 0 {
            // Entries up to the snapshot are not replayed: restore them.
            self.restore(&snap)?;
            raft_cfg.applied = self.applied;
        }
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        self.node = Some(RawNode::new(&raft_cfg, store, &logger)?);
        Ok(())
    }

    /// Takes the registry from a snapshot.
    fn restore(&mut self, snap: &Snapshot) -> Result<(), RegistrarError> {
        let meta = snap.get_metadata();
        if meta.index <= self.applied {
            return Ok(());
        }
        self.registry = Registry::decode(&snap.data)?;
        self.applied = meta.index;
        self.notify(RaftEvent::Restored {
            node: self.cfg.id,
            index: meta.index,
            term: meta.term,
        });
        Ok(())
    }

    /// Replaces the applied log by a snapshot once `snapshot_every`
    /// entries have been applied since the last one.
    fn maybe_compact(&mut self, ctx: &mut Ctx<'_, Self>) {
        let applied = self.applied;
        let Some(node) = self.node.as_ref() else {
            return;
        };
        let base = node.store().snapshot_now().get_metadata().index;
        if applied < base + self.cfg.snapshot_every {
            return;
        }
        let data = match self.registry.encode() {
            Ok(d) => d,
            Err(e) => return self.fail(e, ctx),
        };
        let result = {
            let mut disk = ctx.store();
            self.guarded(|n| n.mut_store().compact(&mut disk, applied, data))
        };
        match result {
            Some(Ok(Ok(()))) => {
                tracing::debug!(node = self.cfg.id, index = applied, "log compacted")
            }
            Some(Ok(Err(e)) | Err(e)) => self.fail(e, ctx),
            None => {}
        }
    }

    fn fail(&mut self, error: RegistrarError, ctx: &mut Ctx<'_, Self>) {
        tracing::error!(node = self.cfg.id, %error, "registrar failed; stopping");
        self.notify(RaftEvent::Failed {
            node: self.cfg.id,
            error: error.clone(),
        });
        let error = error.to_string();
        for (_, p) in std::mem::take(&mut self.pending) {
            let result = Err(ProposeError::Failed(error.clone()));
            ctx.respond(p.reply, Proposed { result });
        }
        self.failed = Some(error);
        self.node = None;
        ctx.stop();
    }

    /// Runs `f` on the node, turning a raft-rs assertion into an error (the
    /// node is then dropped by [`fail`](Self::fail), never used again).
    fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut RawNode<LogStore>) -> T,
    ) -> Option<Result<T, RegistrarError>> {
        let node = self.node.as_mut()?;
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(node)));
        Some(run.map_err(|p| {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            RegistrarError::Panicked(what)
        }))
    }

    fn schedule_tick(&mut self, ctx: &mut Ctx<'_, Self>, after: std::time::Duration) {
        ctx.delay(after, |r: &mut Registrar, ctx| {
            r.on_tick(ctx);
            let tick = r.cfg.tick;
            r.schedule_tick(ctx, tick);
        });
    }

    fn on_tick(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(node) = self.node.as_mut() else {
            return;
        };
        if self.withheld_ticks > 0 && node.raft.state != StateRole::Leader {
            self.withheld_ticks -= 1;
            return;
        }
        match self.guarded(|n| n.tick()) {
            Some(Ok(_)) => self.after_input(ctx),
            Some(Err(e)) => self.fail(e, ctx),
            None => {}
        }
    }

    /// Runs the Ready loop, sends, applies, and notes role changes.
    fn after_input(&mut self, ctx: &mut Ctx<'_, Self>) {
        let sync = self.cfg.sync_writes;
        let out = {
            let mut disk = ctx.store();
            self.guarded(|n| drain(n, &mut disk, sync))
        };
        let out = match out {
            Some(Ok(Ok(out))) => out,
            Some(Ok(Err(e)) | Err(e)) => return self.fail(e, ctx),
            None => return,
        };
        self.note_role(ctx);
        for m in out.messages {
            self.send_raft(m, ctx);
        }
        if let Some(snap) = &out.snapshot {
            if let Err(e) = self.restore(snap) {
                return self.fail(e, ctx);
            }
        }
        for e in out.committed {
            self.apply(e, ctx);
        }
        self.maybe_compact(ctx);
    }

    fn note_role(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(node) = self.node.as_ref() else {
            return;
        };
        let now = (node.raft.term, Role::from(node.raft.state));
        if self.last_role == Some(now) {
            return;
        }
        self.last_role = Some(now);
        if now.1 != Role::Leader {
            // The jitter raft-rs would have drawn from thread_rng.
            let spread = self.cfg.election_tick as u64;
            self.withheld_ticks = (ctx.rng().next_u64() % spread) as usize;
        }
        self.notify(RaftEvent::Role {
            node: self.cfg.id,
            term: now.0,
            role: now.1,
        });
    }

    fn send_raft(&mut self, m: RaftMessage, ctx: &mut Ctx<'_, Self>) {
        if m.get_msg_type() == MessageType::MsgSnapshot {
            self.watch_snapshot(m.to, m.get_snapshot().get_metadata().index, ctx);
        }
        let Some(to) = self.cfg.pid_of(m.to).cloned() else {
            tracing::warn!(to = m.to, "raft message for an unknown member dropped");
            return;
        };
        match m.write_to_bytes() {
            Ok(bytes) => ctx.send(&to, Raft { bytes }),
            Err(e) => tracing::warn!(error = %e, "raft message did not encode"),
        }
    }

    fn apply(&mut self, e: Entry, ctx: &mut Ctx<'_, Self>) {
        if e.index <= self.applied {
            return;
        }
        self.applied = e.index;
        self.notify(RaftEvent::Applied {
            node: self.cfg.id,
            index: e.index,
            term: e.term,
            data: e.data.to_vec(),
        });
        if e.get_entry_type() == EntryType::EntryNormal && !e.data.is_empty() {
            match Op::decode(&e.data) {
                Ok(op) => self.registry.apply(&op),
                Err(err) => tracing::error!(index = e.index, error = %err, "entry skipped"),
            }
        }
        if let Some(p) = self.pending.remove(&e.index) {
            let result = if p.term == e.term {
                self.notify(RaftEvent::Acknowledged {
                    node: self.cfg.id,
                    index: e.index,
                    term: e.term,
                });
                Ok(e.index)
            } else {
                Err(ProposeError::Dropped)
            };
            ctx.respond(p.reply, Proposed { result });
        }
    }

    /// raft-rs holds a follower it sent a snapshot to until the follower
    /// answers, or until told the snapshot failed; a snapshot lost with a
    /// connection or a crash would hold it forever. So a snapshot still
    /// unanswered after two election timeouts is reported failed, and
    /// raft-rs sends what the follower then needs.
    fn watch_snapshot(&mut self, to: u64, index: u64, ctx: &mut Ctx<'_, Self>) {
        let wait = self.cfg.tick * (2 * self.cfg.election_tick) as u32;
        ctx.delay(wait, move |r: &mut Registrar, ctx| {
            let stuck = r.node.as_ref().is_some_and(|n| {
                n.raft.prs().get(to).is_some_and(|p| {
                    p.state == ProgressState::Snapshot && p.pending_snapshot == index
                })
            });
            if stuck {
                match r.guarded(|n| n.report_snapshot(to, SnapshotStatus::Failure)) {
                    Some(Err(e)) => r.fail(e, ctx),
                    Some(Ok(())) => r.after_input(ctx),
                    None => {}
                }
            }
        });
    }

    fn leader_info(&self) -> LeaderInfo {
        let Some(node) = self.node.as_ref() else {
            return LeaderInfo {
                term: 0,
                leader_id: None,
                leader: None,
                is_leader: false,
            };
        };
        let leader_id = Some(node.raft.leader_id).filter(|id| *id != raft::INVALID_ID);
        let leads = node.raft.state == StateRole::Leader;
        let stale = leads && self.cfg.planted == Some(super::RegistrarBug::StaleTerm);
        LeaderInfo {
            term: node.raft.term - u64::from(stale && node.raft.term > 1),
            leader_id,
            leader: leader_id.and_then(|id| self.cfg.pid_of(id).cloned()),
            is_leader: node.raft.state == StateRole::Leader,
        }
    }

    /// Starts proposing `op`; the answer comes when it commits.
    fn propose(&mut self, op: &Op) -> Result<(u64, u64), ProposeError> {
        if let Some(e) = &self.failed {
            return Err(ProposeError::Failed(e.clone()));
        }
        let info = self.leader_info();
        let node = match self.node.as_mut() {
            Some(n) if info.is_leader => n,
            _ => {
                return Err(ProposeError::NotLeader {
                    leader: info.leader,
                })
            }
        };
        if self.pending.len() >= self.cfg.max_pending_proposals {
            return Err(ProposeError::Busy);
        }
        op.validate()
            .map_err(|e| ProposeError::Invalid(e.to_string()))?;
        let data = op
            .encode()
            .map_err(|e| ProposeError::Invalid(e.to_string()))?;
        let index = node.raft.raft_log.last_index() + 1;
        let term = node.raft.term;
        // Refused only while leadership is being transferred: not the leader.
        if node.propose(vec![], data).is_err() || node.raft.raft_log.last_index() != index {
            return Err(ProposeError::NotLeader {
                leader: info.leader,
            });
        }
        Ok((index, term))
    }
}

impl Actor for Registrar {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Raft>();
        h.on::<Propose>();
        h.on::<GetLeader>();
        h.on::<GetRegistry>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Err(e) = self.boot(ctx) {
            return self.fail(e, ctx);
        }
        self.note_role(ctx);
        let tick_nanos = self.cfg.tick.as_nanos().max(1) as u64;
        let phase = ctx.rng().next_u64() % tick_nanos;
        self.schedule_tick(ctx, std::time::Duration::from_nanos(phase));
    }
}

impl Handler<Raft> for Registrar {
    fn handle(&mut self, msg: Raft, ctx: &mut Ctx<'_, Self>) {
        if self.node.is_none() {
            return;
        }
        let m = match RaftMessage::parse_from_bytes(&msg.bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable raft message dropped");
                return;
            }
        };
        // Only members speak Raft, each under its own id, to this member.
        let sender_id = ctx.sender().and_then(|p| self.cfg.id_of(p));
        if sender_id != Some(m.from) || m.to != self.cfg.id {
            tracing::warn!(
                from = m.from,
                to = m.to,
                "misaddressed raft message dropped"
            );
            return;
        }
        match self.guarded(|n| n.step(m)) {
            Some(Ok(Err(e))) => tracing::debug!(error = %e, "raft refused a message"),
            Some(Err(e)) => return self.fail(e, ctx),
            _ => {}
        }
        self.after_input(ctx);
    }
}

impl Handler<Propose> for Registrar {
    fn handle(&mut self, msg: Propose, ctx: &mut Ctx<'_, Self>) {
        let Some(reply) = ctx.reply_to() else {
            return;
        };
        match self.propose(&msg.op) {
            Ok((index, term)) => {
                self.pending.insert(index, Pending { term, reply });
                self.after_input(ctx);
            }
            Err(e) => ctx.respond(reply, Proposed { result: Err(e) }),
        }
    }
}

impl Handler<GetLeader> for Registrar {
    fn handle(&mut self, _: GetLeader, ctx: &mut Ctx<'_, Self>) {
        let info = self.leader_info();
        ctx.reply(info);
    }
}

impl Handler<GetRegistry> for Registrar {
    fn handle(&mut self, _: GetRegistry, ctx: &mut Ctx<'_, Self>) {
        ctx.reply(RegistrySnapshot {
            applied: self.applied,
            registry: self.registry.clone(),
        });
    }
}
