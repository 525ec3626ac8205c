//! The agent and its master: registration with backoff, rotating through
//! the masters until one admits it, pings, losing the master, and being
//! removed by it.

use std::time::Duration;

use corral_api::agent as master;
use corral_api::agent::MAX_REPORTED_TASKS;
use corral_api::leader::Verdict;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::{Ctx, Handler, Pid};
use rand::RngCore;

use super::{Agent, Registration};
use crate::events::AgentEvent;
use crate::tasks::{registration_report, AgentStatus};

/// The first wait between registration attempts (doubling up to
/// `registration_backoff_max`).
pub(super) const BACKOFF_MIN: Duration = Duration::from_secs(1);

impl Agent {
    /// Starts (or restarts) registering with the current master: the first
    /// attempt goes out now, later ones on a fresh backoff.
    pub(super) fn start_registering(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Registration::Registering {
            timer: Some(timer), ..
        } = &self.registration
        {
            ctx.cancel(*timer);
        }
        self.registration = Registration::Registering {
            backoff: BACKOFF_MIN.min(self.cfg.registration_backoff_max),
            timer: None,
            redirects_left: self.redirect_budget(),
            hinted: false,
        };
        self.arm_retry(ctx);
        self.send_registration(ctx);
        self.schedule_attempt(ctx);
    }

    /// Immediate attempts hints may cause per round of attempts.
    fn redirect_budget(&self) -> usize {
        self.cfg.masters.len().saturating_sub(1)
    }

    /// Arms the next scheduled attempt after a jittered, doubling backoff.
    fn schedule_attempt(&mut self, ctx: &mut Ctx<'_, Self>) {
        let max = self.cfg.registration_backoff_max;
        let Registration::Registering { backoff, timer, .. } = &mut self.registration else {
            return;
        };
        let wait = jittered(*backoff, ctx.rng());
        *timer = Some(ctx.delay(wait, |a: &mut Agent, ctx| a.scheduled_attempt(ctx)));
        *backoff = (*backoff * 2).min(max);
    }

    /// The backoff ran out without an admission: the attempts so far went
    /// unanswered or were refused without a usable hint, so this one goes to
    /// the next master of the list (a dead master is skipped this way),
    /// unless a hint named the current master and it was not tried yet.
    fn scheduled_attempt(&mut self, ctx: &mut Ctx<'_, Self>) {
        let budget = self.redirect_budget();
        let Registration::Registering {
            timer,
            redirects_left,
            hinted,
            ..
        } = &mut self.registration
        else {
            return;
        };
        *timer = None;
        *redirects_left = budget;
        if !std::mem::take(hinted) {
            let next = next_master(&self.cfg.masters, &self.master);
            self.switch_master(next, ctx);
        }
        self.send_registration(ctx);
        self.schedule_attempt(ctx);
    }

    /// Sends one `RegisterAgent` to the current master, reporting every
    /// task the agent holds and their frameworks (a newly elected master
    /// rebuilds its books from them), and links to the master so that
    /// losing it is noticed. Linking again is a no-op while the link holds;
    /// after `exited` it watches the master anew.
    pub(super) fn send_registration(&mut self, ctx: &mut Ctx<'_, Self>) {
        let master = self.master.clone();
        ctx.link(&master);
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
            pid: ctx.me().clone(),
            http: self.cfg.http_url.clone(),
            frameworks,
            tasks,
        };
        tracing::debug!(%master, id = ?msg.id, tasks = msg.tasks.len(), "registering with the master");
        ctx.send(&master, msg);
    }

    /// Makes `master` (one of the list) the current master. The link to
    /// the one before is dropped: its loss no longer concerns the agent.
    pub(super) fn switch_master(&mut self, master: Pid, ctx: &mut Ctx<'_, Self>) {
        debug_assert!(self.cfg.masters.contains(&master));
        if master == self.master {
            return;
        }
        tracing::info!(from = %self.master, to = %master, "switching masters");
        ctx.unlink(&self.master);
        self.master = master;
    }

    /// The link to the master broke: register again under the same id,
    /// starting with the next master of the list, since the one whose link
    /// broke is the least likely to answer (a master that does not lead
    /// names the one that does).
    pub(super) fn master_lost(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.is_registered() {
            // Still registering: the next attempt links again.
            return;
        }
        tracing::warn!(master = %self.master, "lost the master; registering again");
        self.notify(AgentEvent::Disconnected);
        let next = next_master(&self.cfg.masters, &self.master);
        self.switch_master(next, ctx);
        self.start_registering(ctx);
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

impl Handler<master::AgentRegistered> for Agent {
    fn handle(&mut self, msg: master::AgentRegistered, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_master("AgentRegistered", ctx) {
            return;
        }
        let Registration::Registering { timer, .. } = &self.registration else {
            tracing::debug!("already registered; ignoring a repeated AgentRegistered");
            return;
        };
        match self.leader_term.judge(msg.term, ctx.now()) {
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
        if let Some(timer) = timer {
            ctx.cancel(*timer);
        }
        if let Some(old) = self.agent_id.as_ref().filter(|old| **old != msg.agent_id) {
            tracing::warn!(%old, new = %msg.agent_id, "the master gave this agent a new id");
        }
        tracing::info!(agent_id = %msg.agent_id, master = %self.master, "registered with the master");
        self.agent_id = Some(msg.agent_id.clone());
        self.checkpoint_agent_id(ctx);
        self.registration = Registration::Registered;
        self.ping_interval = msg.ping_interval;
        self.pinged(ctx);
        self.notify(AgentEvent::Registered {
            agent_id: msg.agent_id,
        });
        for status in self.updates.resend_all(ctx.now()) {
            ctx.send(&self.master, master::StatusUpdate { status });
        }
        self.report_unknown(&msg.tasks, ctx);
        self.arm_retry(ctx);
    }
}

impl Agent {
    /// Tasks the master expects here that the agent does not know: their
    /// `RunTasks` never arrived (the answer to a registration follows every
    /// launch sent before it), so they are reported DROPPED, or LOST to
    /// frameworks that are not partition-aware, as Mesos's agent does.
    fn report_unknown(&mut self, expected: &[master::ExpectedTask], ctx: &mut Ctx<'_, Self>) {
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
            self.push_agent_status(&key, status, ctx);
            any = true;
        }
        if any {
            self.flush(ctx);
        }
    }
}

impl Handler<master::Ping> for Agent {
    fn handle(&mut self, _: master::Ping, ctx: &mut Ctx<'_, Self>) {
        if ctx.sender() == Some(&self.master) {
            self.pinged(ctx);
        }
        ctx.reply(master::Pong);
    }
}

impl Handler<master::ShutdownAgent> for Agent {
    /// The master removed this agent: its tasks and updates belong to an
    /// agent the master has written off, so the executors are stopped, all
    /// state is dropped, and the agent registers as a new agent.
    fn handle(&mut self, msg: master::ShutdownAgent, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_master("ShutdownAgent", ctx) {
            return;
        }
        tracing::warn!(reason = %msg.message, "the master shut this agent down; starting over as a new agent");
        let tasks = std::mem::take(&mut self.tasks);
        for (key, task) in tasks {
            for timer in [task.registration_timer, task.kill_timer]
                .into_iter()
                .flatten()
            {
                ctx.cancel(timer);
            }
            match task.process {
                Some(process) => self.release_process(process, &key, task.executor.as_ref(), ctx),
                // An executor of an earlier run: only a message can stop it.
                None => self.shut_down_executor(task.executor.as_ref(), ctx),
            }
        }
        self.updates.clear();
        self.used = corral_api::resources::Resources::empty();
        self.agent_id = None;
        self.clear_checkpoint(ctx);
        self.notify(AgentEvent::ShutDown {
            message: msg.message,
        });
        self.start_registering(ctx);
    }
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
