//! Agents: admission and re-registration, health by pings, and loss.

use corral_runtime::{AskError, Ctx, Handler, Pid};

use super::records::AgentRec;
use super::Master;
use crate::allocator::messages::{AddAgent, RemoveAgent};
use crate::ids::{id_problem, AgentId};
use crate::protocol::{
    http_url_problem, AgentRegistered, Ping, Pong, RegisterAgent, Rescind, ShutdownAgent, Update,
};
use crate::resources::Attributes;
use crate::task::{StatusReason, StatusSource, TaskState, TaskStatus};

/// The most bytes an agent's host name may have.
const MAX_HOSTNAME_BYTES: usize = 255;

/// Why the registration cannot be admitted, if it cannot.
fn check_registration(m: &RegisterAgent) -> Option<String> {
    if m.hostname.is_empty() || m.hostname.len() > MAX_HOSTNAME_BYTES {
        return Some(format!(
            "host name must have 1 to {MAX_HOSTNAME_BYTES} bytes"
        ));
    }
    if m.resources.is_empty() {
        return Some("an agent must offer some resources".to_owned());
    }
    if let Err(e) = Attributes::parse(&m.attributes) {
        return Some(format!("bad attributes: {e}"));
    }
    if let Some(problem) = m.id.as_ref().and_then(|id| id_problem(&id.0)) {
        return Some(format!("bad agent id: {problem}"));
    }
    if let Some(problem) = m.http.as_deref().and_then(http_url_problem) {
        return Some(format!("bad HTTP URL: {problem}"));
    }
    None
}

impl Master {
    fn admit(&mut self, id: AgentId, m: RegisterAgent, ctx: &mut Ctx<'_, Self>) {
        tracing::info!(agent = %id, pid = %m.pid, resources = %m.resources, "agent registered");
        self.agent_pids.insert(m.pid.clone(), id.clone());
        ctx.link(&m.pid);
        let total = m.resources.clone();
        self.agents.insert(
            id.clone(),
            AgentRec {
                pid: m.pid,
                hostname: m.hostname,
                total: m.resources,
                attributes: m.attributes,
                missed_pings: 0,
                http: m.http,
            },
        );
        self.to_allocator(ctx, AddAgent { agent: id, total });
    }

    fn registered(&self, id: &AgentId, to: &Pid, ctx: &mut Ctx<'_, Self>) {
        let msg = AgentRegistered {
            agent_id: id.clone(),
            ping_interval: self.cfg.ping_interval,
        };
        ctx.send(to, msg);
    }

    /// Pings every agent; one that misses `max_missed_pings` in a row is
    /// lost.
    pub(super) fn ping_agents(&mut self, ctx: &mut Ctx<'_, Self>) {
        let timeout = self.cfg.ping_interval;
        let agents: Vec<(AgentId, Pid)> = self
            .agents
            .iter()
            .map(|(id, a)| (id.clone(), a.pid.clone()))
            .collect();
        for (id, pid) in agents {
            let to = pid.clone();
            ctx.ask(&to, Ping, timeout, move |m: &mut Self, r, ctx| {
                m.ponged(&id, &pid, r, ctx)
            });
        }
        ctx.delay(timeout, |m: &mut Self, ctx| m.ping_agents(ctx));
    }

    fn ponged(
        &mut self,
        id: &AgentId,
        pid: &Pid,
        r: Result<Pong, AskError>,
        ctx: &mut Ctx<'_, Self>,
    ) {
        let max = self.cfg.max_missed_pings;
        // The agent may have re-registered from a new pid meanwhile.
        let Some(agent) = self.agents.get_mut(id).filter(|a| &a.pid == pid) else {
            return;
        };
        match r {
            Ok(Pong) => agent.missed_pings = 0,
            Err(e) => {
                agent.missed_pings += 1;
                tracing::info!(agent = %id, missed = agent.missed_pings, %e, "agent missed a ping");
                if agent.missed_pings >= max {
                    self.agent_lost(id, ctx);
                }
            }
        }
    }

    /// Removes an agent that stopped answering: its offers are rescinded,
    /// its tasks reported TASK_UNREACHABLE (TASK_LOST to frameworks that are
    /// not partition-aware), and should it come back it is told to shut
    /// down.
    fn agent_lost(&mut self, id: &AgentId, ctx: &mut Ctx<'_, Self>) {
        let Some(agent) = self.agents.remove(id) else {
            return;
        };
        tracing::warn!(agent = %id, "agent unreachable; removing it");
        self.agent_pids.remove(&agent.pid);
        ctx.unlink(&agent.pid);
        self.removed_agents.insert(id.clone());
        for (fw, offer_id) in self.offers.remove_agent(id) {
            self.counters.offers_rescinded += 1;
            self.send_to_framework(&fw, Rescind { offer_id }, ctx);
        }
        self.to_allocator(ctx, RemoveAgent { agent: id.clone() });
        let keys: Vec<_> = self
            .tasks
            .iter()
            .filter(|(_, t)| &t.agent == id)
            .map(|(k, _)| k.clone())
            .collect();
        let now_ms = ctx.unix_time_ms();
        for (fw, task_id) in keys {
            let Some(mut task) = self.tasks.remove(&(fw.clone(), task_id.clone())) else {
                continue;
            };
            let aware = self
                .frameworks
                .get(&fw)
                .is_some_and(|f| f.info.partition_aware);
            let state = if aware {
                TaskState::Unreachable
            } else {
                TaskState::Lost
            };
            if task.transition(state, now_ms) {
                let status = TaskStatus {
                    task_id: task_id.clone(),
                    framework_id: fw.clone(),
                    agent_id: Some(id.clone()),
                    state,
                    source: StatusSource::Master,
                    reason: Some(StatusReason::AgentUnreachable),
                    message: format!("agent {id} stopped answering pings"),
                    timestamp_ms: now_ms,
                    uuid: None,
                };
                self.send_to_framework(&fw, Update { status }, ctx);
            }
            self.retire(&fw, task_id, task);
        }
    }
}

impl Handler<RegisterAgent> for Master {
    fn handle(&mut self, m: RegisterAgent, ctx: &mut Ctx<'_, Self>) {
        if let Some(problem) = check_registration(&m) {
            tracing::warn!(pid = %m.pid, %problem, "agent registration refused");
            return;
        }
        // A retry whose answer was lost: same pid, same agent.
        if let Some(id) = self.agent_pids.get(&m.pid).cloned() {
            return self.registered(&id, &m.pid, ctx);
        }
        let pid = m.pid.clone();
        match m.id.clone() {
            Some(id) if self.removed_agents.contains(&id) => {
                tracing::info!(agent = %id, "removed agent came back; shutting it down");
                let message = format!("agent {id} was removed after it became unreachable");
                ctx.send(&pid, ShutdownAgent { message });
            }
            Some(id) if self.agents.contains_key(&id) => {
                // Same agent, new actor (e.g. restarted): move it over.
                if let Some(agent) = self.agents.get_mut(&id) {
                    let old = std::mem::replace(&mut agent.pid, pid.clone());
                    agent.missed_pings = 0;
                    // A restarted agent may serve HTTP on a new port.
                    agent.http = m.http.clone();
                    self.agent_pids.remove(&old);
                    ctx.unlink(&old);
                }
                self.agent_pids.insert(pid.clone(), id.clone());
                ctx.link(&pid);
                tracing::info!(agent = %id, %pid, "agent re-registered");
                self.registered(&id, &pid, ctx);
            }
            Some(id) => {
                // Known to an earlier master run only.
                self.admit(id.clone(), m, ctx);
                self.registered(&id, &pid, ctx);
            }
            None => {
                self.next_agent += 1;
                let id = AgentId(format!("{}-S{}", self.prefix, self.next_agent));
                self.admit(id.clone(), m, ctx);
                self.registered(&id, &pid, ctx);
            }
        }
    }
}
