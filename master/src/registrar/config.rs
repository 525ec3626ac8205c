//! How a registrar runs.

use std::time::Duration;

use corral_runtime::Pid;

use super::error::RegistrarError;

/// A registrar's configuration. Every member of the group must list the
/// same `peers`.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistrarConfig {
    /// This member's Raft id (non-zero, one of `peers`).
    pub id: u64,
    /// Every member (this one included): Raft id and registrar address.
    pub peers: Vec<(u64, Pid)>,
    /// How often Raft ticks (100 ms).
    pub tick: Duration,
    /// Ticks without a leader before a follower campaigns (10). raft-rs's
    /// randomized range is pinned to this one value; the jitter comes from
    /// `Ctx::rng` instead (see the actor's doc).
    pub election_tick: usize,
    /// Ticks between a leader's heartbeats (1).
    pub heartbeat_tick: usize,
    /// Proposals waiting to commit at most; more are answered `Busy` (1024).
    pub max_pending_proposals: usize,
    /// Applied entries kept in the log before they are replaced by a
    /// snapshot of the registry (1000).
    pub snapshot_every: u64,
    /// Sync the disk before sending (true). False only in tests that show
    /// the simulator catching a registrar that forgets to sync.
    pub sync_writes: bool,
    /// A known bug switched on so a simulation can show its checks catch
    /// it (`corral sim --plant-bug`); None (the default) everywhere else.
    pub planted: Option<RegistrarBug>,
}

/// Bugs the registrar can be told to have, for the simulator's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrarBug {
    /// Tells its master, while it leads, the term before its own.
    StaleTerm,
}

impl RegistrarConfig {
    /// A config with the defaults above.
    pub fn new(id: u64, peers: Vec<(u64, Pid)>) -> RegistrarConfig {
        RegistrarConfig {
            id,
            peers,
            tick: Duration::from_millis(100),
            election_tick: 10,
            heartbeat_tick: 1,
            max_pending_proposals: 1024,
            snapshot_every: 1000,
            sync_writes: true,
            planted: None,
        }
    }

    /// Rejects zero or contradictory settings.
    pub fn validate(&self) -> Result<(), RegistrarError> {
        let bad = |s: &str| Err(RegistrarError::Config(s.to_owned()));
        if self.id == 0 {
            return bad("id must be non-zero");
        }
        if !self.peers.iter().any(|(id, _)| *id == self.id) {
            return bad("peers must include this member");
        }
        let mut ids: Vec<u64> = self.peers.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.peers.len() || ids.contains(&0) {
            return bad("peer ids must be distinct and non-zero");
        }
        if self.tick.is_zero() || self.max_pending_proposals == 0 || self.snapshot_every == 0 {
            return bad("tick, max_pending_proposals and snapshot_every must be non-zero");
        }
        if self.heartbeat_tick == 0 || self.election_tick <= self.heartbeat_tick {
            return bad("election_tick must exceed heartbeat_tick, which must be non-zero");
        }
        self.raft_config().validate().map_err(RegistrarError::from)
    }

    /// The raft-rs config: pre-vote and check-quorum on, and the randomized
    /// election timeout pinned to `[election_tick, election_tick + 1)`, a
    /// single value, so raft-rs's `thread_rng` draw cannot vary.
    pub fn raft_config(&self) -> raft::Config {
        raft::Config {
            id: self.id,
            election_tick: self.election_tick,
            heartbeat_tick: self.heartbeat_tick,
            min_election_tick: self.election_tick,
            max_election_tick: self.election_tick + 1,
            pre_vote: true,
            check_quorum: true,
            max_size_per_msg: 1024 * 1024,
            max_inflight_msgs: 256,
            applied: 0,
            ..raft::Config::default()
        }
    }

    /// The address of member `id`.
    pub fn pid_of(&self, id: u64) -> Option<&Pid> {
        self.peers.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    /// The id of the member at `pid`.
    pub fn id_of(&self, pid: &Pid) -> Option<u64> {
        self.peers.iter().find(|(_, p)| p == pid).map(|(i, _)| *i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(n: u64) -> Vec<(u64, Pid)> {
        (1..=n)
            .map(|i| {
                let addr = format!("10.0.0.{i}:5050").parse().unwrap();
                (i, Pid::new("registrar", addr).unwrap())
            })
            .collect()
    }

    #[test]
    fn the_election_range_is_pinned_to_one_value_so_thread_rng_cannot_vary_it() {
        let cfg = RegistrarConfig::new(1, peers(3));
        cfg.validate().unwrap();
        let raft = cfg.raft_config();
        // raft-rs draws gen_range(min..max): with max == min + 1 only min.
        assert_eq!(raft.min_election_tick(), cfg.election_tick);
        assert_eq!(raft.max_election_tick(), cfg.election_tick + 1);
        assert!(raft.pre_vote && raft.check_quorum);
    }

    #[test]
    fn contradictory_configs_are_refused() {
        let ok = RegistrarConfig::new(1, peers(3));
        let cases = [
            RegistrarConfig {
                id: 0,
                ..ok.clone()
            },
            RegistrarConfig {
                id: 4,
                ..ok.clone()
            },
            RegistrarConfig {
                heartbeat_tick: 10,
                ..ok.clone()
            },
            RegistrarConfig {
                tick: Duration::ZERO,
                ..ok.clone()
            },
            RegistrarConfig {
                peers: [peers(3), peers(1)].concat(),
                ..ok.clone()
            },
        ];
        for c in cases {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
