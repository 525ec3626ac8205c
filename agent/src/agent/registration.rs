//! The agent and its master: registration with backoff, pings, losing the
//! master, and being removed by it.

use std::time::Duration;

use corral_master::protocol as master;
use corral_runtime::{Ctx, Handler};
use rand::RngCore;

use super::{Agent, Registration};
use crate::events::AgentEvent;

/// The first wait between registration attempts (doubling up to
/// `registration_backoff_max`).
pub(super) const BACKOFF_MIN: Duration = Duration::from_secs(1);

impl Agent {
    /// Starts (or restarts) registering: the first attempt goes out now.
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
        };
        self.arm_retry(ctx);
        self.try_register(ctx);
    }

    /// Sends one `RegisterAgent` (re-linking to the master) and schedules
    /// the next attempt after a jittered, doubling backoff.
    fn try_register(&mut self, ctx: &mut Ctx<'_, Self>) {
        let max = self.cfg.registration_backoff_max;
        let Registration::Registering { backoff, .. } = self.registration else {
            return;
        };
        let master = self.cfg.master.clone();
        // Linking again is a no-op while the link holds; after `exited` it
        // watches the master anew.
        ctx.link(&master);
        let msg = master::RegisterAgent {
            hostname: self.cfg.hostname.clone(),
            resources: self.cfg.resources.clone(),
            attributes: self.cfg.attributes.clone(),
            id: self.agent_id.clone(),
            pid: ctx.me().clone(),
            http: self.cfg.http_url.clone(),
            frameworks: Vec::new(),
            tasks: Vec::new(),
        };
        tracing::debug!(%master, id = ?msg.id, "registering with the master");
        ctx.send(&master, msg);
        let wait = jittered(backoff, ctx.rng());
        let timer = ctx.delay(wait, |a: &mut Agent, ctx| {
            if let Registration::Registering { timer, .. } = &mut a.registration {
                *timer = None;
                a.try_register(ctx);
            }
        });
        self.registration = Registration::Registering {
            backoff: (backoff * 2).min(max),
            timer: Some(timer),
        };
    }

    /// The link to the master broke: register again under the same id.
    pub(super) fn master_lost(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.is_registered() {
            // Still registering: the next attempt links again.
            return;
        }
        tracing::warn!(master = %self.cfg.master, "lost the master; registering again");
        self.notify(AgentEvent::Disconnected);
        self.start_registering(ctx);
    }
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
        if let Some(timer) = timer {
            ctx.cancel(*timer);
        }
        if let Some(old) = self.agent_id.as_ref().filter(|old| **old != msg.agent_id) {
            tracing::warn!(%old, new = %msg.agent_id, "the master gave this agent a new id");
        }
        tracing::info!(agent_id = %msg.agent_id, "registered with the master");
        self.agent_id = Some(msg.agent_id.clone());
        self.checkpoint_agent_id(ctx);
        self.registration = Registration::Registered;
        self.notify(AgentEvent::Registered {
            agent_id: msg.agent_id,
        });
        for status in self.updates.resend_all(ctx.now()) {
            ctx.send(&self.cfg.master, master::StatusUpdate { status });
        }
        self.arm_retry(ctx);
    }
}

impl Handler<master::Ping> for Agent {
    fn handle(&mut self, _: master::Ping, ctx: &mut Ctx<'_, Self>) {
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
        for task in tasks.into_values() {
            for timer in [task.registration_timer, task.kill_timer]
                .into_iter()
                .flatten()
            {
                ctx.cancel(timer);
            }
            match task.process {
                Some(process) if self.processes.remove(&process).is_some() => {
                    self.reap(process, task.executor.as_ref(), ctx);
                }
                Some(_) => {}
                // An executor of an earlier run: only a message can stop it.
                None => self.shut_down_executor(task.executor.as_ref(), ctx),
            }
        }
        self.updates.clear();
        self.used = corral_master::resources::Resources::empty();
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
