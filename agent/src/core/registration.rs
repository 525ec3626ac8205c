//! The agent and its master: registration with backoff, rotating through
//! the masters until one admits it, pings, losing the master, and being
//! removed by it.

use std::time::Duration;

use corral_api::agent as master;
use corral_api::agent::MAX_REPORTED_TASKS;
use corral_api::leader::Verdict;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::Pid;
use rand::RngCore;

use super::tasks::{registration_report, AgentStatus};
use super::{Action, AgentCore, Now, Outgoing, Registration, Timer};
use crate::events::AgentEvent;

/// The first wait between registration attempts (doubling up to
/// `registration_backoff_max`).
pub(super) const BACKOFF_MIN: Duration = Duration::from_secs(1);

impl AgentCore {
    /// Starts (or restarts) registering with the current master: the first
    /// attempt goes out now, later ones on a fresh backoff.
    pub(super) fn start_registering(&mut self, now: &mut Now<'_>) {
        if let Registration::Registering {
            scheduled: true, ..
        } = &self.registration
        {
            self.cancel_timer(Timer::Registration);
        }
        self.registration = Registration::Registering {
            backoff: BACKOFF_MIN.min(self.cfg.registration_backoff_max),
            scheduled: false,
            redirects_left: self.redirect_budget(),
            hinted: false,
        };
        self.arm_retry(now.time);
        self.send_registration();
        self.schedule_attempt(now);
    }

    /// Immediate attempts hints may cause per round of attempts.
    fn redirect_budget(&self) -> usize {
        self.cfg.masters.len().saturating_sub(1)
    }

    /// Arms the next scheduled attempt after a jittered, doubling backoff.
    fn schedule_attempt(&mut self, now: &mut Now<'_>) {
        let max = self.cfg.registration_backoff_max;
        let Registration::Registering {
            backoff, scheduled, ..
        } = &mut self.registration
        else {
            return;
        };
        let wait = jittered(*backoff, now.rng);
        *scheduled = true;
        *backoff = (*backoff * 2).min(max);
        self.set_timer(Timer::Registration, wait);
    }

    /// The backoff ran out without an admission: the attempts so far went
    /// unanswered or were refused without a usable hint, so this one goes to
    /// the next master of the list (a dead master is skipped this way),
    /// unless a hint named the current master and it was not tried yet.
    pub(super) fn scheduled_attempt(&mut self, now: &mut Now<'_>) {
        let budget = self.redirect_budget();
        let Registration::Registering {
            scheduled,
            redirects_left,
            hinted,
            ..
        } = &mut self.registration
        else {
            return;
        };
        *scheduled = false;
        *redirects_left = budget;
        if !std::mem::take(hinted) {
            let next = next_master(&self.cfg.masters, &self.master);
            self.switch_master(next);
        }
        self.send_registration();
        self.schedule_attempt(now);
    }

    /// Sends one `RegisterAgent` to the current master, reporting every
    /// task the agent holds and their frameworks (a newly elected master
    /// rebuilds its books from them), and links to the master so that
    /// losing it is noticed. Linking again is a no-op while the link holds;
    /// after `exited` it watches the master anew.
    pub(super) fn send_registration(&mut self) {
        let Some(me) = self.me.clone() else {
            debug_assert!(false, "registering before handle_start");
            return;
        };
        let master = self.master.clone();
        self.act(Action::Link(master.clone()));
        let (frameworks, tasks) = registration_report(self.tasks.values(), &self.updates);
        if tasks.len() > MAX_REPORTED_TASKS {
            tracing::error!(
                tasks = tasks.len(),
                "holding more tasks than a registration may report; the master will refuse it"
            );
        }
        let msg = master::RegisterAgent {
            hostname: self.cfg.hostname.clone(),
            resources: self.cfg.resources.clone(),
            attributes: self.cfg.attributes.clone(),
            id: self.agent_id.clone(),
            pid: me,
            http: self.cfg.http_url.clone(),
            frameworks,
            tasks,
            credential: self.cfg.credential.clone(),
        };
        tracing::debug!(%master, id = ?msg.id, tasks = msg.tasks.len(), "registering with the master");
        self.send(&master, Outgoing::RegisterAgent(msg));
    }

    /// Makes `master` (one of the list) the current master. The link to
    /// the one before is dropped: its loss no longer concerns the agent.
    pub(super) fn switch_master(&mut self, master: Pid) {
        debug_assert!(self.cfg.masters.contains(&master));
        if master == self.master {
            return;
        }
        tracing::info!(from = %self.master, to = %master, "switching masters");
        self.act(Action::Unlink(self.master.clone()));
        self.master = master;
    }

    /// The link to the master broke: register again under the same id,
    /// starting with the next master of the list, since the one whose link
    /// broke is the least likely to answer (a master that does not lead
    /// names the one that does).
    fn master_lost(&mut self, now: &mut Now<'_>) {
        if !self.is_registered() {
            // Still registering: the next attempt links again.
            return;
        }
        tracing::warn!(master = %self.master, "lost the master; registering again");
        self.notify(AgentEvent::Disconnected);
        let next = next_master(&self.cfg.masters, &self.master);
        self.switch_master(next);
        self.start_registering(now);
    }

    /// A watched actor went away: the master, a master of the list the
    /// agent left, or a recovered task's executor.
    pub fn handle_exited(&mut self, now: &mut Now<'_>, pid: &Pid) {
        if *pid == self.master {
            self.master_lost(now);
        } else if self.cfg.masters.contains(pid) {
            tracing::debug!(master = %pid, "lost a master the agent no longer talks to");
        } else {
            self.recovered_executor_lost(now, pid);
        }
    }

    /// A master admitted the agent (if `from` is the master it registers
    /// with, and its term is not older than one followed before).
    pub fn handle_agent_registered(
        &mut self,
        now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::AgentRegistered,
    ) {
        if !self.sent_by_master("AgentRegistered", from) {
            return;
        }
        let Registration::Registering { scheduled, .. } = &self.registration else {
            tracing::debug!("already registered; ignoring a repeated AgentRegistered");
            return;
        };
        let scheduled = *scheduled;
        match self.leader_term.judge(msg.term, now.time) {
            Verdict::Follow => {}
            Verdict::FollowReset { was } => {
                tracing::warn!(master = %self.master, term = msg.term, was, "the masters count terms afresh (a new cluster?); following the lower term");
            }
            Verdict::Stale { latest } => {
                // A deposed leader that has not noticed yet: the next
                // scheduled attempt moves on to the next master.
                tracing::warn!(master = %self.master, term = msg.term, latest, "refusing an admission from a master of an older term");
                self.notify(AgentEvent::IgnoredDeposedMaster {
                    master: self.master.clone(),
                    term: msg.term,
                    latest,
                });
                return;
            }
        }
        if scheduled {
            self.cancel_timer(Timer::Registration);
        }
        self.refused = None;
        if let Some(old) = self.agent_id.as_ref().filter(|old| **old != msg.agent_id) {
            tracing::warn!(%old, new = %msg.agent_id, "the master gave this agent a new id");
        }
        tracing::info!(agent_id = %msg.agent_id, master = %self.master, "registered with the master");
        self.agent_id = Some(msg.agent_id.clone());
        self.checkpoint_agent_id();
        self.registration = Registration::Registered;
        self.ping_interval = msg.ping_interval;
        self.pinged();
        self.notify(AgentEvent::Registered {
            agent_id: msg.agent_id,
        });
        for status in self.updates.resend_all(now.time) {
            let master = self.master.clone();
            self.send(
                &master,
                Outgoing::StatusUpdate(master::StatusUpdate { status }),
            );
        }
        self.report_unknown(now, &msg.tasks);
        self.arm_retry(now.time);
    }

    /// Tasks the master expects here that the agent does not know: their
    /// `RunTasks` never arrived (the answer to a registration follows every
    /// launch sent before it), so they are reported DROPPED, or LOST to
    /// frameworks that are not partition-aware, as Mesos's agent does.
    fn report_unknown(&mut self, now: &mut Now<'_>, expected: &[master::ExpectedTask]) {
        let mut any = false;
        for t in expected {
            let key = (t.framework_id.clone(), t.task_id.clone());
            let known = self.tasks.contains_key(&key)
                || self.updates.is_terminated(&key)
                || !self.updates.is_empty_for(&key);
            // A shut-down framework's task is reported too: the master
            // holds what it uses until it hears the task ended.
            if known {
                continue;
            }
            let state = if t.partition_aware {
                TaskState::Dropped
            } else {
                TaskState::Lost
            };
            tracing::warn!(framework = %key.0, task = %key.1, ?state, "the master expects a task this agent never got");
            let status = AgentStatus::new(
                state,
                StatusReason::Reconciliation,
                "the task never reached this agent",
            );
            self.push_agent_status(now, &key, status);
            any = true;
        }
        if any {
            self.flush(now.time);
        }
    }

    /// A ping: answered whoever sends it, and re-arms the watchdog when it
    /// comes from the master.
    pub fn handle_ping(&mut self, from: Option<&Pid>) {
        if from == Some(&self.master) {
            self.pinged();
        }
        self.act(Action::Pong);
    }

    /// The master refuses to admit the agent (its credential proves no
    /// principal the master knows): said loudly once (again only if the
    /// reason changes), and the registration attempts go on as scheduled,
    /// so fixing either side heals it.
    pub fn handle_registration_refused(
        &mut self,
        _now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::RegistrationRefused,
    ) {
        if !self.sent_by_master("RegistrationRefused", from) {
            return;
        }
        if self.refused.as_deref() == Some(msg.message.as_str()) {
            tracing::debug!(master = %self.master, reason = %msg.message, "the master refuses to admit this agent again");
        } else {
            tracing::error!(master = %self.master, reason = %msg.message, "the master refuses to admit this agent");
            self.refused = Some(msg.message.clone());
        }
        self.notify(AgentEvent::Refused {
            message: msg.message,
        });
    }

    /// The master removed this agent: its tasks and updates belong to an
    /// agent the master has written off, so the executors are stopped, all
    /// state is dropped, and the agent registers as a new agent.
    pub fn handle_shutdown_agent(
        &mut self,
        now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::ShutdownAgent,
    ) {
        if !self.sent_by_master("ShutdownAgent", from) {
            return;
        }
        tracing::warn!(reason = %msg.message, "the master shut this agent down; starting over as a new agent");
        let tasks = std::mem::take(&mut self.tasks);
        for (key, mut task) in tasks {
            let deadlines = task.phase.end(false);
            self.stop_deadlines(&key, task.launch_seq, deadlines);
            match task.process {
                Some(process) => self.release_process(process, &key, task.phase.executor()),
                // An executor of an earlier run: only a message can stop it.
                None => self.shut_down_executor(task.phase.executor().cloned()),
            }
        }
        self.updates.clear();
        self.used = corral_api::resources::Resources::empty();
        self.agent_id = None;
        self.clear_checkpoint();
        self.notify(AgentEvent::ShutDown {
            message: msg.message,
        });
        self.start_registering(now);
    }
}

/// The master after `current` in `masters`, wrapping around; the first if
/// `current` is not listed.
pub(super) fn next_master(masters: &[Pid], current: &Pid) -> Pid {
    let next = masters
        .iter()
        .position(|m| m == current)
        .map_or(0, |i| (i + 1) % masters.len());
    masters.get(next).unwrap_or(current).clone()
}

/// A wait drawn uniformly from `[backoff / 2, backoff]`, so agents that lost
/// the same master do not come back in lockstep.
fn jittered(backoff: Duration, rng: &mut dyn RngCore) -> Duration {
    let half = backoff / 2;
    let span = u64::try_from((backoff - half).as_nanos()).unwrap_or(u64::MAX);
    let extra = rng.next_u64() % span.saturating_add(1);
    half + Duration::from_nanos(extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_next_master_wraps_around_the_list() {
        let pids: Vec<Pid> = (1..=3)
            .map(|i| format!("master@10.0.0.{i}:5050").parse().unwrap())
            .collect();
        assert_eq!(next_master(&pids, &pids[0]), pids[1]);
        assert_eq!(next_master(&pids, &pids[2]), pids[0]);
        let stranger: Pid = "master@10.0.0.9:5050".parse().unwrap();
        assert_eq!(next_master(&pids, &stranger), pids[0]);
        assert_eq!(next_master(&pids[..1], &pids[0]), pids[0]);
    }

    #[test]
    fn jitter_stays_within_half_to_full_backoff() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for secs in [1u64, 2, 60] {
            let b = Duration::from_secs(secs);
            for _ in 0..1000 {
                let w = jittered(b, &mut rng);
                assert!(w >= b / 2 && w <= b, "{w:?} for {b:?}");
            }
        }
        assert_eq!(jittered(Duration::ZERO, &mut rng), Duration::ZERO);
    }
}
