//! What frameworks do with their offers: accept them (launching tasks),
//! decline them (with the decline filter), and revive or suppress offers.

use super::effects::Io;
use super::{not_subscribed, MasterCore};
use crate::allocator::messages::{ReviveOffers, SuppressOffers};
use corral_api::agent::RunTasks;
use corral_api::framework::{Accept, Decline, Operation, Update};
use corral_api::ids::FrameworkId;
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};

use super::records::TaskRec;

impl MasterCore {
    /// Uses nothing of an accept the framework may not make: its offers go
    /// back (with its filter), and each task it launches is a TASK_ERROR
    /// saying why.
    fn refuse_accept(
        &mut self,
        fw: &FrameworkId,
        accept: Accept,
        message: &str,
        now_ms: u64,
        io: &mut Io,
    ) {
        tracing::warn!(framework = %fw, %message, "accept refused");
        let declined = self.offers.decline(fw, &accept.offer_ids);
        let refuse = Some(accept.refuse.unwrap_or(self.cfg.default_refuse));
        self.give_back(fw, declined.recover, refuse, io);
        let tasks = accept.operations.into_iter().flat_map(|op| match op {
            Operation::Launch(tasks) => tasks,
        });
        for task in tasks {
            let status = TaskStatus {
                task_id: task.task_id,
                framework_id: fw.clone(),
                agent_id: None,
                state: TaskState::Error,
                source: StatusSource::Master,
                reason: Some(StatusReason::TaskUnauthorized),
                message: message.to_owned(),
                timestamp_ms: now_ms,
                uuid: None,
            };
            self.send_to_framework(fw, Update { status }, io);
        }
    }

    pub(super) fn on_accept(&mut self, accept: Accept, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(fw) = self.sender_framework(io) else {
            return not_subscribed(io, "accept");
        };
        let Some(info) = self.frameworks.get(&fw).map(|f| f.info.clone()) else {
            return;
        };
        let now_ms = io.unix_time_ms();
        if let Err(message) = self.authorize_run(&info) {
            return self.refuse_accept(&fw, accept, &message, now_ms, io);
        }
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
        self.give_back(&fw, result.recover, refuse, io);
        for status in result.rejected {
            self.send_to_framework(&fw, Update { status }, io);
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
                published: Default::default(),
            };
            let key = (fw.clone(), task.task_id.clone());
            self.tasks.insert(key.clone(), rec);
            self.note_task_added(&key);
        }
        let run = RunTasks {
            framework_id: fw,
            framework: info,
            tasks: result.launch,
        };
        io.send(&pid, run);
    }

    pub(super) fn on_decline(&mut self, decline: Decline, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(fw) = self.sender_framework(io) else {
            return not_subscribed(io, "decline");
        };
        let result = self.offers.decline(&fw, &decline.offer_ids);
        if !result.ignored.is_empty() {
            tracing::debug!(framework = %fw, offers = ?result.ignored, "decline named unknown offers");
        }
        self.counters.offers_declined += result.recover.len() as u64;
        let refuse = Some(decline.refuse.unwrap_or(self.cfg.default_refuse));
        self.give_back(&fw, result.recover, refuse, io);
    }

    pub(super) fn on_revive(&mut self, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(framework) = self.sender_framework(io) else {
            return not_subscribed(io, "revive");
        };
        if self.cfg.planted == Some(super::config::MasterBug::IgnoreRevive) {
            return;
        }
        io.tell_allocator(ReviveOffers { framework });
    }

    pub(super) fn on_suppress(&mut self, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(framework) = self.sender_framework(io) else {
            return not_subscribed(io, "suppress");
        };
        io.tell_allocator(SuppressOffers { framework });
    }
}
