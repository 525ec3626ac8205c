//! Which master leads, for an agent or a framework that follows the leading
//! master of a group: the messages that redirect a follower ([`NotLeader`],
//! [`LeaderElected`]) and whose word counts ([`LeaderTerm`]).
//!
//! A master learns it was deposed only when its registrar tells it (Raft's
//! check-quorum steps a cut-off leader down after an election timeout,
//! about a second, and the master polls every 100 ms). Until then it still
//! answers, and an agent that turned to it would send it status updates the
//! new leader never sees: the chaos scenario found a task whose end only
//! the old leader saw, so the new leader, still expecting the task, had it
//! reported DROPPED after FAILED (seed 6049). So every answer that makes a
//! master the one followed (`Subscribed`, `AgentRegistered`,
//! `LeaderElected`) carries the Raft term it leads in, and a follower that
//! has followed a later term refuses it.
//!
//! One exception keeps a reset cluster usable: masters started afresh on
//! empty work dirs count terms from the beginning again. A lower term
//! refused for [`STALE_TERM_PATIENCE`] (far beyond the second a deposed
//! leader can act) is taken to be such a cluster and accepted.

use std::time::Duration;

use corral_runtime::{message, Pid, Time};
use serde::{Deserialize, Serialize};

/// A master that does not lead answers `Subscribe` and `RegisterAgent` with
/// this, naming the leading master when it knows it; the sender tries that
/// one, or the next master of its list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotLeader {
    /// The leading master, if known.
    pub leader: Option<Pid>,
}

/// A newly elected leader announces itself to the agents and frameworks its
/// registry names, so they re-register and re-subscribe with it at once
/// rather than after noticing the old leader is gone. Receivers accept it
/// only from a master of their configured list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderElected {
    /// The new leading master.
    pub leader: Pid,
    /// The Raft term the master leads in (0 for a master alone): a
    /// follower of a later term ignores it (see [`LeaderTerm`]).
    pub term: u64,
}

message!(NotLeader = "master.NotLeader");
message!(LeaderElected = "master.LeaderElected");

/// How long a follower refuses a lower term before it takes the masters to
/// have been started afresh.
pub const STALE_TERM_PATIENCE: Duration = Duration::from_secs(30);

/// What a follower does with an answer carrying a term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The term is the latest seen (or the same): follow the master.
    Follow,
    /// The masters started afresh (a lower term refused for longer than
    /// [`STALE_TERM_PATIENCE`]): follow, and count terms from this one.
    FollowReset {
        /// The term followed until now.
        was: u64,
    },
    /// A deposed leader that has not noticed yet: ignore the answer.
    Stale {
        /// The latest term followed.
        latest: u64,
    },
}

/// The latest term a follower has followed, and since when it has been
/// refusing lower ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderTerm {
    latest: Option<u64>,
    refusing_since: Option<Time>,
}

impl LeaderTerm {
    /// A follower that remembers `latest` (from a checkpoint), if any.
    pub fn new(latest: Option<u64>) -> LeaderTerm {
        LeaderTerm {
            latest,
            refusing_since: None,
        }
    }

    /// The latest term followed.
    pub fn latest(&self) -> Option<u64> {
        self.latest
    }

    /// Judges an answer from a master leading in `term`, at `now`.
    pub fn judge(&mut self, term: u64, now: Time) -> Verdict {
        let Some(latest) = self.stale(term) else {
            self.latest = Some(term);
            self.refusing_since = None;
            return Verdict::Follow;
        };
        let since = *self.refusing_since.get_or_insert(now);
        if now.saturating_since(since) < STALE_TERM_PATIENCE {
            return Verdict::Stale { latest };
        }
        self.latest = Some(term);
        self.refusing_since = None;
        Verdict::FollowReset { was: latest }
    }

    /// The latest term followed, if `term` is older: an answer in `term`
    /// comes from a deposed leader. Changes nothing (for messages that
    /// only announce, like `LeaderElected`).
    pub fn stale(&self, term: u64) -> Option<u64> {
        self.latest.filter(|l| term < *l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Time {
        Time::ZERO + Duration::from_secs(secs)
    }

    #[test]
    fn later_and_equal_terms_are_followed_and_earlier_ones_refused() {
        let mut t = LeaderTerm::new(None);
        assert_eq!(t.judge(3, at(0)), Verdict::Follow);
        assert_eq!(t.judge(3, at(1)), Verdict::Follow, "same leader again");
        assert_eq!(t.judge(2, at(2)), Verdict::Stale { latest: 3 });
        assert_eq!(t.stale(2), Some(3));
        assert_eq!(t.stale(4), None);
        assert_eq!(t.judge(4, at(3)), Verdict::Follow);
        assert_eq!(t.latest(), Some(4));
    }

    #[test]
    fn a_lone_master_restarted_in_term_zero_is_followed_again() {
        let mut t = LeaderTerm::new(Some(0));
        assert_eq!(t.judge(0, at(0)), Verdict::Follow);
    }

    #[test]
    fn a_lower_term_refused_for_the_whole_patience_is_a_reset_cluster() {
        let mut t = LeaderTerm::new(Some(7));
        assert_eq!(t.judge(1, at(100)), Verdict::Stale { latest: 7 });
        let almost = at(100) + (STALE_TERM_PATIENCE - Duration::from_millis(1));
        assert_eq!(t.judge(1, almost), Verdict::Stale { latest: 7 });
        let then = at(100) + STALE_TERM_PATIENCE;
        assert_eq!(t.judge(1, then), Verdict::FollowReset { was: 7 });
        assert_eq!(t.latest(), Some(1));
        // Following restarts the clock: a later stale answer waits again.
        assert_eq!(t.judge(2, then), Verdict::Follow);
        assert_eq!(
            t.judge(1, then + STALE_TERM_PATIENCE / 2),
            Verdict::Stale { latest: 2 }
        );
    }
}
