//! Framework calls: subscribe (and re-subscribe after a failover), accept,
//! decline, revive, suppress, teardown, and disconnection.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use corral_runtime::Pid;

use super::effects::{AfterWrite, Io, Outgoing, Timer};
use super::records::FrameworkRec;
use super::{not_subscribed, MasterCore};
use crate::allocator::messages::{AddFramework, RemoveFramework, ReviveOffers, SuppressOffers};
use crate::registrar::Op;
use corral_api::agent::ShutdownFramework;
use corral_api::framework::{FrameworkError, FrameworkInfo, Subscribe, Subscribed};
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

impl MasterCore {
    /// The framework the current message comes from, if subscribed.
    pub(super) fn sender_framework(&self, io: &Io) -> Option<FrameworkId> {
        io.sender()
            .and_then(|p| self.framework_pids.get(p))
            .cloned()
    }

    pub(super) fn send_to_framework<M: Into<Outgoing>>(
        &self,
        fw: &FrameworkId,
        msg: M,
        io: &mut Io,
    ) {
        if let Some(pid) = self.frameworks.get(fw).and_then(|f| f.pid.as_ref()) {
            io.send(pid, msg);
        }
    }

    fn subscribe(&mut self, from: Pid, info: FrameworkInfo, io: &mut Io) {
        let role = match check_info(&info, &self.cfg.default_role) {
            Ok(role) => role,
            Err(message) => {
                io.send(
                    &from,
                    FrameworkError {
                        message,
                        removed: false,
                    },
                );
                return;
            }
        };
        if let Err(message) = self.authorize_registration(&info, &role) {
            tracing::warn!(%from, %message, "subscription refused");
            io.send(
                &from,
                FrameworkError {
                    message,
                    removed: false,
                },
            );
            return;
        }
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
                io.send(
                    &from,
                    FrameworkError {
                        message,
                        removed: false,
                    },
                );
            }
            Some(rec) if rec.pid.as_ref() == Some(&from) && rec.info == info => {
                self.subscribed(id, from, io);
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
                let info = Box::new(info);
                let after = AfterWrite::RegisterFramework {
                    id,
                    from,
                    info,
                    role,
                };
                self.persist(op, guard, after, io);
            }
        }
    }

    /// Records a (re-)subscription that the registry now holds.
    pub(super) fn register_framework(
        &mut self,
        id: FrameworkId,
        from: Pid,
        info: FrameworkInfo,
        role: String,
        io: &mut Io,
    ) {
        if self.frameworks.contains_key(&id) {
            self.reconnect(&id, from.clone(), info, io);
        } else {
            self.frameworks.insert(
                id.clone(),
                FrameworkRec {
                    info,
                    role: role.clone(),
                    pid: Some(from.clone()),
                    failover: None,
                    completed: VecDeque::new(),
                    registered_ms: io.unix_time_ms(),
                },
            );
            self.framework_pids.insert(from.clone(), id.clone());
            io.link(&from);
            tracing::info!(framework = %id, %role, "framework subscribed");
            let framework = id.clone();
            io.tell_allocator(AddFramework { framework, role });
            self.note_framework(&id, true);
        }
        self.subscribed(id, from, io);
    }

    fn subscribed(&mut self, framework_id: FrameworkId, to: Pid, io: &mut Io) {
        let heartbeat_interval = self.cfg.heartbeat_interval;
        let term = self.term();
        io.send(
            &to,
            Subscribed {
                framework_id,
                heartbeat_interval,
                term,
            },
        );
    }

    fn reconnect(&mut self, id: &FrameworkId, from: Pid, info: FrameworkInfo, io: &mut Io) {
        let Some(rec) = self.frameworks.get_mut(id) else {
            return;
        };
        if let Some(old) = rec.pid.replace(from.clone()) {
            if old != from {
                self.framework_pids.remove(&old);
                io.unlink(&old);
            }
        }
        if let Some(timer) = rec.failover.take() {
            io.cancel(timer);
        }
        rec.info = FrameworkInfo {
            id: Some(id.clone()),
            ..info
        };
        self.framework_pids.insert(from.clone(), id.clone());
        io.link(&from);
        tracing::info!(framework = %id, "framework re-subscribed");
        let framework = id.clone();
        io.tell_allocator(ReviveOffers { framework });
        self.note_framework(id, false);
    }

    /// The framework's actor is gone: its offers go back, and it has its
    /// `failover_timeout` to re-subscribe before its tasks are killed.
    pub(super) fn framework_disconnected(&mut self, fw: FrameworkId, io: &mut Io) {
        let Some(rec) = self.frameworks.get_mut(&fw) else {
            return;
        };
        if let Some(pid) = rec.pid.take() {
            self.framework_pids.remove(&pid);
        }
        let timeout = rec.info.failover_timeout;
        tracing::info!(framework = %fw, ?timeout, "framework disconnected");
        self.recover_offers_of(&fw, io);
        let framework = fw.clone();
        io.tell_allocator(SuppressOffers { framework });
        self.arm_failover(&fw, timeout, io);
        self.note_framework(&fw, false);
    }

    /// Removes the framework after `timeout` unless it re-subscribes first.
    pub(super) fn arm_failover(&mut self, fw: &FrameworkId, timeout: Duration, io: &mut Io) {
        let timer = io.delay(timeout, Timer::FailoverTimeout(fw.clone()));
        if let Some(rec) = self.frameworks.get_mut(fw) {
            if let Some(old) = rec.failover.replace(timer) {
                io.cancel(old);
            }
        }
    }

    /// The framework's failover timeout ran out: it is removed unless it
    /// re-subscribed meanwhile.
    pub(super) fn failover_timeout(&mut self, fw: &FrameworkId, io: &mut Io) {
        let expired = self.frameworks.get(fw).is_some_and(|f| f.pid.is_none());
        if expired {
            tracing::info!(framework = %fw, "failover timeout passed");
            self.remove_framework(fw, io);
        }
    }

    fn recover_offers_of(&mut self, fw: &FrameworkId, io: &mut Io) {
        let offered = self.offers.remove_framework(fw);
        self.give_back(fw, offered, None, io);
    }

    /// Forgets the framework and shuts its tasks down on their agents.
    pub(super) fn remove_framework(&mut self, fw: &FrameworkId, io: &mut Io) {
        let Some(mut rec) = self.frameworks.remove(fw) else {
            return;
        };
        if let Some(pid) = rec.pid.take() {
            self.framework_pids.remove(&pid);
            io.unlink(&pid);
        }
        if let Some(timer) = rec.failover {
            io.cancel(timer);
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
        io.tell_allocator(RemoveFramework {
            framework,
            still_running,
        });
        for agent in &agents {
            if let Some(a) = self.agents.get(agent) {
                let framework_id = fw.clone();
                io.send(&a.pid, ShutdownFramework { framework_id });
            }
        }
        tracing::info!(framework = %fw, "framework removed");
        let now_ms = io.unix_time_ms();
        self.note_tasks_killed(fw, &last_tasks, now_ms);
        self.note_framework_removed(fw, &rec);
        self.keep_completed(fw.clone(), rec, last_tasks, now_ms);
        // Forgotten here already; the registry follows (if the write is
        // lost, a later leader keeps the framework for its failover
        // timeout and then removes it).
        let op = Op::RemoveFramework { id: fw.clone() };
        self.persist(op, None, AfterWrite::Nothing, io);
    }

    pub(super) fn on_subscribe(&mut self, m: Subscribe, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(from) = io.sender().cloned() else {
            return;
        };
        match self.authenticate_framework(m.info, m.credential.as_ref(), io.certified()) {
            Ok(info) => self.subscribe(from, info, io),
            Err(e) => {
                tracing::warn!(%from, error = %e, "subscription refused");
                let message = format!("subscription refused: {e}");
                io.send(
                    &from,
                    FrameworkError {
                        message,
                        removed: false,
                    },
                );
            }
        }
    }
}

impl MasterCore {
    pub(super) fn on_teardown(&mut self, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(fw) = self.sender_framework(io) else {
            return not_subscribed(io, "teardown");
        };
        self.remove_framework(&fw, io);
    }
}
