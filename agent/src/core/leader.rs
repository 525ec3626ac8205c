//! Which of the masters leads. A master that does not lead answers a
//! registration with `NotLeader`, naming the leader when it knows it; a
//! newly elected leader announces itself with `LeaderElected`. The agent
//! believes either only from a master of its list, and only about a master
//! of its list: anyone else could otherwise steer it away from the cluster.

use corral_api::agent as master;
use corral_runtime::Pid;

use super::registration::next_master;
use super::{AgentCore, Now, Registration};
use crate::events::AgentEvent;

impl AgentCore {
    /// `from`, if it is one of the configured masters; logs if not.
    fn master_of_the_list(&self, what: &str, from: Option<&Pid>) -> Option<Pid> {
        let sender = from.filter(|s| self.cfg.masters.contains(s));
        if sender.is_none() {
            tracing::debug!(sender = ?from, "ignoring {what} from a sender that is not one of the masters");
        }
        sender.cloned()
    }

    /// A hint named `leader` while registering: it becomes the current
    /// master and is tried at once if the round's redirects allow,
    /// otherwise at the next scheduled attempt. The backoff schedule is
    /// kept either way.
    fn follow_hint(&mut self, leader: Pid) {
        if leader == self.master {
            // Already trying it: nothing new.
            return;
        }
        let Registration::Registering {
            redirects_left,
            hinted,
            ..
        } = &mut self.registration
        else {
            return;
        };
        let now = *redirects_left > 0;
        *redirects_left = redirects_left.saturating_sub(1);
        *hinted = !now;
        self.switch_master(leader);
        if now {
            self.send_registration();
        }
    }

    /// Leaves the master the agent was registered with for `next` and
    /// registers there.
    fn reregister_with(&mut self, now: &mut Now<'_>, next: Pid) {
        if self.is_registered() {
            self.notify(AgentEvent::Disconnected);
        }
        self.switch_master(next);
        self.start_registering(now);
    }

    /// A master says it does not lead (naming the leader if it knows).
    pub fn handle_not_leader(
        &mut self,
        now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::NotLeader,
    ) {
        let Some(sender) = self.master_of_the_list("NotLeader", from) else {
            return;
        };
        let leader = match msg.leader {
            Some(p) if self.cfg.masters.contains(&p) => Some(p),
            Some(p) => {
                tracing::warn!(%sender, leader = %p, "a master named a leader that is not one of the agent's masters; trying the next one");
                None
            }
            None => None,
        };
        if !self.is_registered() {
            tracing::debug!(%sender, ?leader, "a master does not lead");
            // Without a usable hint the next scheduled attempt moves on to
            // the next master of the list.
            if let Some(leader) = leader {
                self.follow_hint(leader);
            }
            return;
        }
        if sender != self.master {
            tracing::debug!(%sender, "ignoring NotLeader from a master the agent is not registered with");
            return;
        }
        // Replies of one master arrive in order, so this follows the
        // admission: the master has stepped down since.
        tracing::warn!(master = %sender, ?leader, "the master no longer leads; registering again");
        let next = leader
            .filter(|p| *p != self.master)
            .unwrap_or_else(|| next_master(&self.cfg.masters, &self.master));
        self.reregister_with(now, next);
    }

    /// A master announces a newly elected leader: the agent registers with
    /// it at once, even when registered (with the same pid too: it may be a
    /// restarted process at the same address, which knows the agent only
    /// from its registry).
    pub fn handle_leader_elected(
        &mut self,
        now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::LeaderElected,
    ) {
        let Some(sender) = self.master_of_the_list("LeaderElected", from) else {
            return;
        };
        if !self.cfg.masters.contains(&msg.leader) {
            tracing::warn!(%sender, leader = %msg.leader, "ignoring LeaderElected naming a master that is not one of the agent's masters");
            return;
        }
        if let Some(latest) = self.leader_term.stale(msg.term) {
            tracing::warn!(leader = %msg.leader, %sender, term = msg.term, latest, "ignoring LeaderElected of an older term");
            self.notify(AgentEvent::IgnoredDeposedMaster {
                master: sender,
                term: msg.term,
                latest,
            });
            return;
        }
        tracing::info!(leader = %msg.leader, %sender, "a new leading master was elected; registering with it");
        self.reregister_with(now, msg.leader);
    }
}
