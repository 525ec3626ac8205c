//! What frameworks do with their offers: accept them (launching tasks),
//! decline them (with the decline filter), and revive or suppress offers.

use super::effects::Io;
use super::{not_subscribed, MasterCore};
use crate::allocator::messages::{ReviveOffers, SuppressOffers};
use corral_api::agent::RunTasks;
use corral_api::framework::{Accept, Decline, Update};
use corral_api::task::TaskState;

use super::records::TaskRec;

impl MasterCore {
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
            };
            self.tasks.insert((fw.clone(), task.task_id.clone()), rec);
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
