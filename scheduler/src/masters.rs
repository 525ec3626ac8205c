//! Which master a framework follows when the cluster has several (3 or 5,
//! one leading): a sans-IO core that decides, fed by the driver
//! ([`crate::SchedulerDriver`]), which does the sending and keeps the timer.
//!
//! Only a master of the configured list is ever believed: a `NotLeader`
//! hint or a `LeaderElected` naming a pid outside the list, or sent by one,
//! changes nothing, so a stray or hostile peer cannot steer the framework.
//! Nor is a master of an older Raft term than one already followed (a
//! deposed leader that has not noticed yet; see [`corral_api::leader`]).

use corral_api::auth::Credential;
use corral_api::framework::{FrameworkInfo, Subscribe};
use corral_api::ids::FrameworkId;
use corral_api::leader::{LeaderTerm, Verdict};
use corral_runtime::{Pid, Time};

/// What the shell does after a `handle_*` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Subscribe to the current master now ([`Masters::attempt`]) and start
    /// the retry timer afresh.
    Subscribe,
    /// Make sure a retry timer is pending; send nothing now.
    Wait,
    /// Nothing to do.
    Nothing,
}

/// What an accepted `Subscribed` means to the framework.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Joined {
    /// The first subscription of this framework's life.
    First(FrameworkId),
    /// A re-subscription (to a new leader, or after a broken link): the
    /// master may not know what the framework asked of the old one.
    Again(FrameworkId),
}

/// The masters a framework knows and the one it follows now.
///
/// Calling order: [`handle_start`](Masters::handle_start) once; then, as
/// things happen, [`handle_retry`](Masters::handle_retry) (the retry timer
/// fired), [`handle_subscribed`](Masters::handle_subscribed),
/// [`handle_not_leader`](Masters::handle_not_leader),
/// [`handle_leader_elected`](Masters::handle_leader_elected) and
/// [`handle_exited`](Masters::handle_exited); whenever one returns
/// [`Next::Subscribe`], send what [`attempt`](Masters::attempt) gives.
/// Offers, updates and errors count only when
/// [`is_current`](Masters::is_current) says their sender is the master
/// followed; accepts, declines, acknowledgements and kills go to
/// [`current`](Masters::current).
///
/// Retries: while unsubscribed a timer is pending; each time it fires the
/// next master of the list is tried (or the one a hint named). Between two
/// firings a master gets at most one Subscribe sent without waiting (on a
/// hint or a broken link), so two masters naming each other, or masters
/// that are all gone, cost at most one Subscribe per master per period, not
/// a storm. `LeaderElected` is always followed at once: only a listed
/// master sends it, once per election.
#[derive(Debug)]
pub struct Masters {
    list: Vec<Pid>,
    current: usize,
    /// The master a hint named, to try at the next retry instead of the
    /// one after `current`.
    next: Option<usize>,
    subscribed: bool,
    /// Masters sent a Subscribe since the retry timer last fired (or the
    /// framework last subscribed), by index into `list`.
    tried: Vec<bool>,
    ever_subscribed: bool,
    /// The framework stopped following any master (it tore itself down).
    left: bool,
    info: FrameworkInfo,
    /// The latest term of a master that accepted the subscription.
    term: LeaderTerm,
    /// Sent with every Subscribe, for masters that authenticate.
    credential: Option<Credential>,
}

impl Masters {
    /// Follows the masters of `list` (in that order; duplicates dropped),
    /// subscribing as `info`.
    ///
    /// # Panics
    /// If `list` is empty: a framework needs a master (a programmer error;
    /// the constructors that take a list check it).
    pub fn new(list: Vec<Pid>, info: FrameworkInfo) -> Masters {
        let mut unique: Vec<Pid> = Vec::with_capacity(list.len());
        for pid in list {
            if !unique.contains(&pid) {
                unique.push(pid);
            }
        }
        assert!(!unique.is_empty(), "a framework needs at least one master");
        Masters {
            credential: None,
            tried: vec![false; unique.len()],
            list: unique,
            current: 0,
            next: None,
            subscribed: false,
            ever_subscribed: false,
            left: false,
            info,
            term: LeaderTerm::default(),
        }
    }

    /// These masters, subscribed to with `credential` (see
    /// [`corral_api::auth`]).
    pub fn with_credential(mut self, credential: Option<Credential>) -> Masters {
        self.credential = credential;
        self
    }

    /// The configured masters, in order.
    pub fn list(&self) -> &[Pid] {
        &self.list
    }

    /// The master followed now (or being subscribed to).
    pub fn current(&self) -> &Pid {
        &self.list[self.current]
    }

    /// Whether the current master has accepted the subscription.
    pub fn is_subscribed(&self) -> bool {
        self.subscribed
    }

    /// The framework's id, once a master gave one.
    pub fn framework_id(&self) -> Option<&FrameworkId> {
        self.info.id.as_ref()
    }

    /// Whether a message from `sender` comes from the master followed.
    pub fn is_current(&self, sender: Option<&Pid>) -> bool {
        sender == Some(self.current())
    }

    fn index(&self, pid: &Pid) -> Option<usize> {
        self.list.iter().position(|p| p == pid)
    }

    /// The Subscribe to send to [`current`](Masters::current) now (with the
    /// framework id once known, so a new leader gives its tasks back).
    pub fn attempt(&mut self) -> (Pid, Subscribe) {
        self.tried[self.current] = true;
        let msg = Subscribe {
            info: self.info.clone(),
            credential: self.credential.clone(),
        };
        (self.current().clone(), msg)
    }

    /// The framework starts.
    pub fn handle_start(&mut self) -> Next {
        if self.left {
            return Next::Nothing;
        }
        Next::Subscribe
    }

    /// The retry timer fired.
    pub fn handle_retry(&mut self) -> Next {
        if self.subscribed || self.left {
            return Next::Nothing;
        }
        self.tried.fill(false);
        self.current = self
            .next
            .take()
            .unwrap_or((self.current + 1) % self.list.len());
        Next::Subscribe
    }

    /// `Subscribed` from `sender`, leading in `term`, at `now`: Some if it
    /// is the master followed and not a deposed leader (then the retry
    /// timer moves on to the next master).
    pub fn handle_subscribed(
        &mut self,
        sender: Option<&Pid>,
        id: FrameworkId,
        term: u64,
        now: Time,
    ) -> Option<Joined> {
        if !self.is_current(sender) || self.left {
            return None;
        }
        match self.term.judge(term, now) {
            Verdict::Follow => {}
            Verdict::FollowReset { was } => {
                tracing::warn!(
                    ?sender,
                    term,
                    was,
                    "the masters count terms afresh (a new cluster?); following the lower term"
                );
            }
            Verdict::Stale { latest } => {
                tracing::warn!(
                    ?sender,
                    term,
                    latest,
                    "refusing a subscription from a master of an older term"
                );
                return None;
            }
        }
        self.subscribed = true;
        self.next = None;
        self.tried.fill(false);
        self.info.id = Some(id.clone());
        let first = !self.ever_subscribed;
        self.ever_subscribed = true;
        Some(if first {
            Joined::First(id)
        } else {
            Joined::Again(id)
        })
    }

    /// `NotLeader` from `sender`, naming `leader` if it knows it. A hint
    /// from a master other than the current one while subscribed answers an
    /// old Subscribe and is ignored; from the current master it means that
    /// master stopped leading.
    pub fn handle_not_leader(&mut self, sender: Option<&Pid>, leader: Option<&Pid>) -> Next {
        let Some(from) = sender.and_then(|s| self.index(s)) else {
            return Next::Nothing;
        };
        if self.left || (self.subscribed && from != self.current) {
            return Next::Nothing;
        }
        self.subscribed = false;
        match leader.and_then(|l| self.index(l)) {
            Some(hint) if hint != self.current => self.switch(hint),
            // No hint, an unlisted one, or the master already being tried:
            // the retry timer moves on.
            _ => Next::Wait,
        }
    }

    /// `LeaderElected` from `sender`, for `term`: follow the new leader at
    /// once, even if subscribed (to re-subscribe with the framework id),
    /// unless the framework already followed a later term.
    pub fn handle_leader_elected(&mut self, sender: Option<&Pid>, leader: &Pid, term: u64) -> Next {
        let known_sender = sender.is_some_and(|s| self.index(s).is_some());
        let fresh = self.term.stale(term).is_none();
        let Some(to) = self
            .index(leader)
            .filter(|_| known_sender && fresh && !self.left)
        else {
            return Next::Nothing;
        };
        self.subscribed = false;
        self.next = None;
        self.current = to;
        Next::Subscribe
    }

    /// The link to `pid` broke: if it is the master followed, subscribe
    /// again with the framework id, to the next master of the list.
    pub fn handle_exited(&mut self, pid: &Pid) -> Next {
        if self.left || pid != self.current() {
            return Next::Nothing;
        }
        self.subscribed = false;
        let following = (self.current + 1) % self.list.len();
        self.switch(following)
    }

    /// Stops following: no more Subscribe, whatever happens.
    pub fn handle_leave(&mut self) {
        self.left = true;
        self.subscribed = false;
    }

    /// Whether [`handle_leave`](Masters::handle_leave) was called.
    pub fn has_left(&self) -> bool {
        self.left
    }

    /// Moves to master `to`: at once if it was not tried in this retry
    /// period, else at the next retry.
    fn switch(&mut self, to: usize) -> Next {
        if self.tried[to] {
            self.next = Some(to);
            return Next::Wait;
        }
        self.next = None;
        self.current = to;
        Next::Subscribe
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn pid(i: u8) -> Pid {
        Pid::new("master", SocketAddr::from(([10, 0, 0, i], 5050))).unwrap()
    }

    fn three() -> Masters {
        Masters::new(vec![pid(1), pid(2), pid(3)], FrameworkInfo::new("t", "*"))
    }

    /// Runs a handler and then what it asks, the way the shell does: the
    /// master a Subscribe goes to, if one does.
    fn apply(m: &mut Masters, handle: impl FnOnce(&mut Masters) -> Next) -> Option<Pid> {
        (handle(m) == Next::Subscribe).then(|| m.attempt().0)
    }

    #[test]
    fn the_retry_timer_rotates_through_the_list() {
        let mut m = three();
        assert_eq!(apply(&mut m, Masters::handle_start), Some(pid(1)));
        assert_eq!(apply(&mut m, Masters::handle_retry), Some(pid(2)));
        assert_eq!(apply(&mut m, Masters::handle_retry), Some(pid(3)));
        assert_eq!(apply(&mut m, Masters::handle_retry), Some(pid(1)));
    }

    #[test]
    fn a_hint_is_followed_at_once_but_only_once_per_period() {
        let mut m = three();
        apply(&mut m, Masters::handle_start);
        assert_eq!(
            apply(&mut m, |m| m
                .handle_not_leader(Some(&pid(1)), Some(&pid(2)))),
            Some(pid(2))
        );
        // pid(2) points back at pid(1), already tried: wait for the timer,
        // which then goes to pid(1) as hinted.
        assert_eq!(
            m.handle_not_leader(Some(&pid(2)), Some(&pid(1))),
            Next::Wait
        );
        assert_eq!(apply(&mut m, Masters::handle_retry), Some(pid(1)));
    }

    #[test]
    fn no_hint_or_an_unlisted_one_waits_for_the_timer() {
        let mut m = three();
        apply(&mut m, Masters::handle_start);
        assert_eq!(m.handle_not_leader(Some(&pid(1)), None), Next::Wait);
        assert_eq!(
            m.handle_not_leader(Some(&pid(1)), Some(&pid(9))),
            Next::Wait
        );
        assert_eq!(m.current(), &pid(1));
    }

    #[test]
    fn strangers_change_nothing() {
        let mut m = three();
        apply(&mut m, Masters::handle_start);
        assert_eq!(
            m.handle_not_leader(Some(&pid(9)), Some(&pid(2))),
            Next::Nothing
        );
        assert_eq!(
            m.handle_leader_elected(Some(&pid(9)), &pid(2), 1),
            Next::Nothing
        );
        assert_eq!(
            m.handle_leader_elected(Some(&pid(1)), &pid(9), 1),
            Next::Nothing
        );
        assert_eq!(
            m.handle_subscribed(Some(&pid(9)), FrameworkId::from("x"), 1, Time::ZERO),
            None
        );
        assert_eq!(m.handle_exited(&pid(9)), Next::Nothing);
        assert_eq!(m.current(), &pid(1));
        assert!(!m.is_subscribed());
    }

    #[test]
    fn a_subscribed_framework_ignores_stale_hints_but_not_new_leaders() {
        let mut m = three();
        apply(&mut m, Masters::handle_start);
        let id = FrameworkId::from("fw");
        assert_eq!(
            m.handle_subscribed(Some(&pid(1)), id.clone(), 1, Time::ZERO),
            Some(Joined::First(id.clone()))
        );
        assert_eq!(
            m.handle_not_leader(Some(&pid(2)), Some(&pid(3))),
            Next::Nothing
        );
        let n = m.handle_leader_elected(Some(&pid(3)), &pid(3), 1);
        let (to, sub) = m.attempt();
        assert_eq!((n, to), (Next::Subscribe, pid(3)));
        assert_eq!(sub.info.id, Some(id.clone()));
        assert_eq!(
            m.handle_subscribed(Some(&pid(3)), id.clone(), 1, Time::ZERO),
            Some(Joined::Again(id))
        );
    }

    #[test]
    fn a_deposed_leader_of_an_older_term_is_not_followed() {
        let mut m = three();
        apply(&mut m, Masters::handle_start);
        let id = FrameworkId::from("fw");
        m.handle_subscribed(Some(&pid(1)), id.clone(), 5, Time::ZERO);
        // pid(2) led in term 4 and has not noticed it was deposed.
        assert_eq!(
            m.handle_leader_elected(Some(&pid(2)), &pid(2), 4),
            Next::Nothing
        );
        assert_eq!(m.current(), &pid(1));
        assert_eq!(apply(&mut m, |m| m.handle_exited(&pid(1))), Some(pid(2)));
        assert_eq!(
            m.handle_subscribed(Some(&pid(2)), id.clone(), 4, Time::ZERO),
            None,
            "an admission in an older term is refused"
        );
        assert!(!m.is_subscribed());
        assert_eq!(apply(&mut m, Masters::handle_retry), Some(pid(3)));
        assert_eq!(
            m.handle_subscribed(Some(&pid(3)), id.clone(), 6, Time::ZERO),
            Some(Joined::Again(id))
        );
    }

    #[test]
    fn a_broken_link_moves_on_but_never_loops_within_a_period() {
        let mut m = three();
        apply(&mut m, Masters::handle_start);
        m.handle_subscribed(Some(&pid(1)), FrameworkId::from("fw"), 1, Time::ZERO);
        assert_eq!(apply(&mut m, |m| m.handle_exited(&pid(1))), Some(pid(2)));
        assert_eq!(m.handle_exited(&pid(1)), Next::Nothing, "no longer current");
        assert_eq!(apply(&mut m, |m| m.handle_exited(&pid(2))), Some(pid(3)));
        assert_eq!(apply(&mut m, |m| m.handle_exited(&pid(3))), Some(pid(1)));
        // Every master was tried since the link broke: wait for the timer.
        assert_eq!(m.handle_exited(&pid(1)), Next::Wait);
        assert_eq!(apply(&mut m, Masters::handle_retry), Some(pid(2)));
    }

    #[test]
    fn one_master_is_retried_after_a_broken_link() {
        let mut m = Masters::new(vec![pid(1), pid(1)], FrameworkInfo::new("t", "*"));
        assert_eq!(m.list().len(), 1);
        apply(&mut m, Masters::handle_start);
        m.handle_subscribed(Some(&pid(1)), FrameworkId::from("fw"), 1, Time::ZERO);
        assert_eq!(apply(&mut m, |m| m.handle_exited(&pid(1))), Some(pid(1)));
        assert_eq!(m.handle_exited(&pid(1)), Next::Wait);
    }

    #[test]
    fn a_framework_that_left_subscribes_no_more() {
        let mut m = three();
        apply(&mut m, Masters::handle_start);
        m.handle_subscribed(Some(&pid(1)), FrameworkId::from("fw"), 1, Time::ZERO);
        m.handle_leave();
        assert_eq!(
            m.handle_leader_elected(Some(&pid(2)), &pid(2), 1),
            Next::Nothing
        );
        assert_eq!(m.handle_exited(&pid(1)), Next::Nothing);
        assert_eq!(m.handle_retry(), Next::Nothing);
    }
}
