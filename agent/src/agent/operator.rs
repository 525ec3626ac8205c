//! The agent's answer to operators: its [`AgentSnapshot`], built from the
//! actor's accessors.

use corral_runtime::{Ctx, Handler};

use super::Agent;
use crate::state::{AgentSnapshot, GetAgentState};

impl Handler<GetAgentState> for Agent {
    fn handle(&mut self, _: GetAgentState, ctx: &mut Ctx<'_, Self>) {
        let cfg = self.config();
        let snapshot = AgentSnapshot {
            id: self.agent_id().cloned(),
            hostname: cfg.hostname.clone(),
            pid: ctx.me().to_string(),
            master: self.master().to_string(),
            registered: self.is_registered(),
            resources: cfg.resources.clone(),
            used: self.used_resources().clone(),
            work_dir: cfg.work_dir.display().to_string(),
            attributes: cfg.attributes.clone(),
            tasks: self.tasks().collect(),
            completed: self.completed_tasks().cloned().collect(),
            pending_updates: self.pending_updates() as u64,
        };
        ctx.reply(snapshot);
    }
}
