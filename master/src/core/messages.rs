//! Framework messages, relayed both ways between a framework and its
//! executors, and the failures a framework is told of: its executor ended,
//! an agent was lost.
//!
//! As in Mesos, a message is best effort: the master keeps nothing of it,
//! nobody acknowledges it, and one it cannot deliver (unknown agent,
//! framework not connected, data over the limit) is dropped with a debug
//! line and counted. The framework a message reaches an executor of is
//! always the sender's own: the master names it from the sender's
//! subscription, and the agent relays only to that framework's executor.

use super::effects::Io;
use super::{not_subscribed, MasterCore};
use corral_api::agent::{ExecutorToFramework, ExitedExecutor, FrameworkToExecutor};
use corral_api::framework::{ExecutorMessage, Failure, FrameworkMessage, MAX_MESSAGE_DATA_BYTES};
use corral_api::ids::{AgentId, FrameworkId};

impl MasterCore {
    pub(super) fn on_framework_message(&mut self, m: FrameworkMessage, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(fw) = self.sender_framework(io) else {
            return not_subscribed(io, "framework message");
        };
        let agent = self.agents.get(&m.agent_id).map(|a| a.pid.clone());
        let pid = match agent {
            Some(pid) if m.data.len() <= MAX_MESSAGE_DATA_BYTES => pid,
            _ => {
                let known = agent.is_some();
                tracing::debug!(framework = %fw, agent = %m.agent_id, known, executor = %m.executor_id, bytes = m.data.len(), "framework message dropped");
                self.counters.messages.invalid_framework_to_executor += 1;
                return;
            }
        };
        let relay = FrameworkToExecutor {
            framework_id: fw,
            executor_id: m.executor_id,
            data: m.data,
        };
        io.send(&pid, relay);
        self.counters.messages.framework_to_executor += 1;
    }

    pub(super) fn on_executor_to_framework(&mut self, m: ExecutorToFramework, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(agent) = self.sending_agent(io) else {
            tracing::debug!(from = ?io.sender(), "executor message from an unknown agent dropped");
            self.counters.messages.invalid_executor_to_framework += 1;
            return;
        };
        let connected = self.connected_framework(&m.framework_id);
        if m.data.len() > MAX_MESSAGE_DATA_BYTES || !connected {
            tracing::debug!(framework = %m.framework_id, %agent, executor = %m.executor_id, bytes = m.data.len(), connected, "executor message dropped");
            self.counters.messages.invalid_executor_to_framework += 1;
            return;
        }
        let message = ExecutorMessage {
            agent_id: agent,
            executor_id: m.executor_id,
            data: m.data,
        };
        self.send_to_framework(&m.framework_id, message, io);
        self.counters.messages.executor_to_framework += 1;
    }

    pub(super) fn on_exited_executor(&mut self, m: ExitedExecutor, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(agent) = self.sending_agent(io) else {
            tracing::debug!(from = ?io.sender(), "executor exit from an unknown agent dropped");
            return;
        };
        tracing::info!(framework = %m.framework_id, %agent, executor = %m.executor_id, status = ?m.status, "executor ended");
        let failure = Failure {
            agent_id: agent,
            executor_id: Some(m.executor_id),
            status: m.status,
        };
        self.send_to_framework(&m.framework_id, failure, io);
    }

    /// Tells every connected framework that `agent` is lost (unreachable
    /// or removed), in framework id order.
    pub(super) fn announce_agent_lost(&self, agent: &AgentId, io: &mut Io) {
        for f in self.frameworks.values() {
            if let Some(pid) = &f.pid {
                let failure = Failure {
                    agent_id: agent.clone(),
                    executor_id: None,
                    status: None,
                };
                io.send(pid, failure);
            }
        }
    }

    /// The admitted agent that sent the message being handled.
    fn sending_agent(&self, io: &Io) -> Option<AgentId> {
        io.sender().and_then(|p| self.agent_pids.get(p)).cloned()
    }

    fn connected_framework(&self, fw: &FrameworkId) -> bool {
        self.frameworks.get(fw).is_some_and(|f| f.pid.is_some())
    }
}
