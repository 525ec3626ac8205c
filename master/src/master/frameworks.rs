//! Framework calls: subscribe (and re-subscribe after a failover), accept,
//! decline, revive, suppress, teardown, and disconnection.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use corral_runtime::{Ctx, Handler, Pid};

use super::records::{FrameworkRec, TaskRec};
use super::{not_subscribed, Master};
use crate::allocator::messages::{AddFramework, RemoveFramework, ReviveOffers, SuppressOffers};
use crate::registrar::Op;
use corral_api::agent::{RunTasks, ShutdownFramework};
use corral_api::framework::{
    Accept, Decline, FrameworkError, FrameworkInfo, Revive, Subscribe, Subscribed, Suppress,
    Teardown, Update,
};
use corral_api::ids::{id_problem, AgentId, FrameworkId};
use corral_api::task::TaskState;

/// The most bytes a framework's name may have.
const MAX_NAME_BYTES: usize = 1024;

/// Why `info` cannot subscribe, if it cannot. Returns its role.
pub(super) fn check_info(info: &FrameworkInfo, default_role: &str) -> Result<String, String> {
    if info.name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "framework name is longer than {MAX_NAME_BYTES} bytes"
        ));
    }
    let role = match info.roles.as_slice() {
        [] => default_role.to_owned(),
        [role] => role.clone(),
        _ => return Err("a framework takes one role for now".to_owned()),
    };
    if role != "*" {
        if let Some(problem) = id_problem(&role) {
            return Err(format!("invalid role: {problem}"));
        }
    }
    if let Some(id) = &info.id {
        if let Some(problem) = id_problem(&id.0) {
            return Err(format!("invalid framework id: {problem}"));
        }
    }
    Ok(role)
}

impl Master {
    /// The framework the current message comes from, if subscribed.
    pub(super) fn sender_framework(&self, ctx: &Ctx<'_, Self>) -> Option<FrameworkId> {
        ctx.sender()
            .and_then(|p| self.framework_pids.get(p))
            .cloned()
    }

    pub(super) fn send_to_framework<M: corral_runtime::Message>(
        &self,
        fw: &FrameworkId,
        msg: M,
        ctx: &mut Ctx<'_, Self>,
    ) {
        if let Some(pid) = self.frameworks.get(fw).and_then(|f| f.pid.as_ref()) {
            ctx.send(pid, msg);
        }
    }

    fn subscribe(&mut self, from: Pid, info: FrameworkInfo, ctx: &mut Ctx<'_, Self>) {
        let role = match check_info(&info, &self.cfg.default_role) {
            Ok(role) => role,
            Err(message) => {
                ctx.send(&from, FrameworkError { message });
                return;
            }
        };
        if self.admitting.contains(&from) {
            // Its subscription is being written; the answer follows.
            return;
        }
        // A repeated Subscribe from the same actor (its answer was lost or
        // slow) gets the same framework, not a second one.
        let id = match (&info.id, self.framework_pids.get(&from)) {
            (Some(id), _) => id.clone(),
            (None, Some(id)) => id.clone(),
            (None, None) => {
                self.next_framework += 1;
                FrameworkId(format!("{}-{:04}", self.prefix, self.next_framework))
            }
        };
        let info = FrameworkInfo {
            id: Some(id.clone()),
            ..info
        };
        match self.frameworks.get(&id) {
            Some(rec) if rec.role != role => {
                let message = format!("framework {id} cannot change its role from '{}'", rec.role);
                ctx.send(&from, FrameworkError { message });
            }
            Some(rec) if rec.pid.as_ref() == Some(&from) && rec.info == info => {
                self.subscribed(id, from, ctx);
            }
            _ => {
                // The registry learns the framework (or its new address)
                // before the framework hears it is subscribed, so a new
                // leader can find it.
                let op = Op::AddFramework {
                    id: id.clone(),
                    info: info.clone(),
                    pid: from.clone(),
                };
                let guard = Some(from.clone());
                self.persist(op, guard, ctx, move |m: &mut Self, ctx| {
                    m.register_framework(id, from, info, role, ctx);
                });
            }
        }
    }

    /// Records a (re-)subscription that the registry now holds.
    fn register_framework(
        &mut self,
        id: FrameworkId,
        from: Pid,
        info: FrameworkInfo,
        role: String,
        ctx: &mut Ctx<'_, Self>,
    ) {
        if self.frameworks.contains_key(&id) {
            self.reconnect(&id, from.clone(), info, ctx);
        } else {
            self.frameworks.insert(
                id.clone(),
                FrameworkRec {
                    info,
                    role: role.clone(),
                    pid: Some(from.clone()),
                    failover: None,
                    completed: VecDeque::new(),
                    registered_ms: ctx.unix_time_ms(),
                },
            );
            self.framework_pids.insert(from.clone(), id.clone());
            ctx.link(&from);
            tracing::info!(framework = %id, %role, "framework subscribed");
            let framework = id.clone();
            self.to_allocator(ctx, AddFramework { framework, role });
        }
        self.subscribed(id, from, ctx);
    }

    fn subscribed(&mut self, framework_id: FrameworkId, to: Pid, ctx: &mut Ctx<'_, Self>) {
        let heartbeat_interval = self.cfg.heartbeat_interval;
        let term = self.term();
        ctx.send(
            &to,
            Subscribed {
                framework_id,
                heartbeat_interval,
                term,
            },
        );
    }

    fn reconnect(
        &mut self,
        id: &FrameworkId,
        from: Pid,
        info: FrameworkInfo,
        ctx: &mut Ctx<'_, Self>,
    ) {
        let Some(rec) = self.frameworks.get_mut(id) else {
            return;
        };
        if let Some(old) = rec.pid.replace(from.clone()) {
            if old != from {
                self.framework_pids.remove(&old);
                ctx.unlink(&old);
            }
        }
        if let Some(timer) = rec.failover.take() {
            ctx.cancel(timer);
        }
        rec.info = FrameworkInfo {
            id: Some(id.clone()),
            ..info
        };
        self.framework_pids.insert(from.clone(), id.clone());
        ctx.link(&from);
        tracing::info!(framework = %id, "framework re-subscribed");
        let framework = id.clone();
        self.to_allocator(ctx, ReviveOffers { framework });
    }

    /// The framework's actor is gone: its offers go back, and it has its
    /// `failover_timeout` to re-subscribe before its tasks are killed.
    pub(super) fn framework_disconnected(&mut self, fw: FrameworkId, ctx: &mut Ctx<'_, Self>) {
        let Some(rec) = self.frameworks.get_mut(&fw) else {
            return;
        };
        if let Some(pid) = rec.pid.take() {
            self.framework_pids.remove(&pid);
        }
        let timeout = rec.info.failover_timeout;
        tracing::info!(framework = %fw, ?timeout, "framework disconnected");
        self.recover_offers_of(&fw, ctx);
        let framework = fw.clone();
        self.to_allocator(ctx, SuppressOffers { framework });
        self.arm_failover(&fw, timeout, ctx);
    }

    /// Removes the framework after `timeout` unless it re-subscribes first.
    pub(super) fn arm_failover(
        &mut self,
        fw: &FrameworkId,
        timeout: Duration,
        ctx: &mut Ctx<'_, Self>,
    ) {
        let expiring = fw.clone();
        let timer = ctx.delay(timeout, move |m: &mut Self, ctx| {
            let fw = expiring;
            let expired = m.frameworks.get(&fw).is_some_and(|f| f.pid.is_none());
            if expired {
                tracing::info!(framework = %fw, "failover timeout passed");
                m.remove_framework(&fw, ctx);
            }
        });
        if let Some(rec) = self.frameworks.get_mut(fw) {
            if let Some(old) = rec.failover.replace(timer) {
                ctx.cancel(old);
            }
        }
    }

    fn recover_offers_of(&mut self, fw: &FrameworkId, ctx: &mut Ctx<'_, Self>) {
        let offered = self.offers.remove_framework(fw);
        self.give_back(fw, offered, None, ctx);
    }

    /// Forgets the framework and shuts its tasks down on their agents.
    pub(super) fn remove_framework(&mut self, fw: &FrameworkId, ctx: &mut Ctx<'_, Self>) {
        let Some(mut rec) = self.frameworks.remove(fw) else {
            return;
        };
        if let Some(pid) = rec.pid.take() {
            self.framework_pids.remove(&pid);
            ctx.unlink(&pid);
        }
        if let Some(timer) = rec.failover {
            ctx.cancel(timer);
        }
        self.offers.remove_framework(fw);
        let keys: Vec<_> = self
            .tasks
            .range((fw.clone(), corral_api::ids::TaskId(String::new()))..)
            .take_while(|((f, _), _)| f == fw)
            .map(|(k, _)| k.clone())
            .collect();
        let mut agents: BTreeSet<AgentId> = BTreeSet::new();
        let mut still_running = Vec::new();
        let mut last_tasks = Vec::new();
        for key in keys {
            let Some(task) = self.tasks.remove(&key) else {
                continue;
            };
            if !task.state.is_terminal() {
                agents.insert(task.agent.clone());
                // Tasks on an unreachable agent are not in the allocator;
                // if the agent comes back, its report holds them again.
                if task.state != TaskState::Lost && self.agents.contains_key(&task.agent) {
                    let held = (task.agent.clone(), task.resources.clone());
                    still_running.push(held.clone());
                    self.orphans.insert(key.clone(), held);
                }
            }
            last_tasks.push((key.1, task));
        }
        // The allocator frees what the framework held, offers too, but
        // keeps its live tasks' resources from offers until their agents
        // report them ended (`orphan_ended`).
        let framework = fw.clone();
        self.to_allocator(
            ctx,
            RemoveFramework {
                framework,
                still_running,
            },
        );
        for agent in &agents {
            if let Some(a) = self.agents.get(agent) {
                let framework_id = fw.clone();
                ctx.send(&a.pid, ShutdownFramework { framework_id });
            }
        }
        tracing::info!(framework = %fw, "framework removed");
        self.keep_completed(fw.clone(), rec, last_tasks, ctx.unix_time_ms());
        // Forgotten here already; the registry follows (if the write is
        // lost, a later leader keeps the framework for its failover
        // timeout and then removes it).
        self.persist(Op::RemoveFramework { id: fw.clone() }, None, ctx, |_, _| {});
    }
}

impl Handler<Subscribe> for Master {
    fn handle(&mut self, m: Subscribe, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        if let Some(from) = ctx.sender().cloned() {
            self.subscribe(from, m.info, ctx);
        }
    }
}

impl Handler<Accept> for Master {
    fn handle(&mut self, accept: Accept, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(fw) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "accept");
        };
        let Some(info) = self.frameworks.get(&fw).map(|f| f.info.clone()) else {
            return;
        };
        let now_ms = ctx.unix_time_ms();
        let tasks = &self.tasks;
        let result = self.offers.accept(
            &fw,
            &accept,
            info.partition_aware,
            |t| tasks.contains_key(&(fw.clone(), t.clone())),
            now_ms,
        );
        if !result.unknown_offers.is_empty() {
            tracing::debug!(framework = %fw, offers = ?result.unknown_offers, "accept named unknown offers");
        }
        let refuse = Some(accept.refuse.unwrap_or(self.cfg.default_refuse));
        self.give_back(&fw, result.recover, refuse, ctx);
        for status in result.rejected {
            self.send_to_framework(&fw, Update { status }, ctx);
        }
        let (Some(agent), false) = (result.agent, result.launch.is_empty()) else {
            return;
        };
        let Some(pid) = self.agents.get(&agent).map(|a| a.pid.clone()) else {
            return;
        };
        for task in &result.launch {
            let rec = TaskRec {
                name: task.name.clone(),
                agent: agent.clone(),
                resources: task.resources.clone(),
                state: TaskState::Staging,
                history: vec![(TaskState::Staging, now_ms)],
                terminal_uuid: None,
            };
            self.tasks.insert((fw.clone(), task.task_id.clone()), rec);
        }
        let run = RunTasks {
            framework_id: fw,
            framework: info,
            tasks: result.launch,
        };
        ctx.send(&pid, run);
    }
}

impl Handler<Decline> for Master {
    fn handle(&mut self, decline: Decline, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(fw) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "decline");
        };
        let result = self.offers.decline(&fw, &decline.offer_ids);
        if !result.ignored.is_empty() {
            tracing::debug!(framework = %fw, offers = ?result.ignored, "decline named unknown offers");
        }
        self.counters.offers_declined += result.recover.len() as u64;
        let refuse = Some(decline.refuse.unwrap_or(self.cfg.default_refuse));
        self.give_back(&fw, result.recover, refuse, ctx);
    }
}

impl Handler<Revive> for Master {
    fn handle(&mut self, _: Revive, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(framework) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "revive");
        };
        if self.cfg.planted == Some(super::MasterBug::IgnoreRevive) {
            return;
        }
        self.to_allocator(ctx, ReviveOffers { framework });
    }
}

impl Handler<Suppress> for Master {
    fn handle(&mut self, _: Suppress, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(framework) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "suppress");
        };
        self.to_allocator(ctx, SuppressOffers { framework });
    }
}

impl Handler<Teardown> for Master {
    fn handle(&mut self, _: Teardown, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(fw) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "teardown");
        };
        self.remove_framework(&fw, ctx);
    }
}
