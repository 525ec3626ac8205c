//! The agent actor: the shell around [`AgentCore`]. It feeds the core each
//! message, timer, link loss and process exit with the moment from `Ctx`,
//! and carries the core's [`Action`]s out through `Ctx` in order: sends,
//! timers (the core's [`Timer`] names mapped to `TimerId`s), processes
//! (its [`LaunchId`]s mapped to `ProcessId`s), links, the checkpoint in
//! `ctx.store()`, and the observer.
//!
//! The handlers are in `handlers`, the answer to operators in `operator`,
//! the checkpoint writes in `store`, and their syncing, once per turn, with
//! the messages held until it in `commit`.

mod commit;
mod handlers;
mod operator;
mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::agent as master;
use corral_runtime::{Actor, Ctx, ExitStatus, Handlers, Pid, ProcessId, TimerId};

use crate::checkpoint::{self, TaskRecord};
use crate::config::AgentConfig;
use crate::core::TaskSummary;
use crate::core::{Action, AgentCore, LaunchId, Now, Outgoing, Timer};
use crate::events::{AgentEvent, Observer};
use crate::updates::TaskKey;

/// The agent actor. Spawn it under [`Agent::NAME`] on the agent's node.
///
/// Build it with a validated [`AgentConfig`]; it registers with the first
/// of `config.masters` as soon as it starts, and follows the leading master
/// among them. See the crate doc for its place.
pub struct Agent {
    core: AgentCore,
    observer: Option<Observer>,
    /// The core's timers that are set.
    timers: BTreeMap<Timer, TimerId>,
    /// The core's executor processes that have not exited, both ways.
    processes: BTreeMap<LaunchId, ProcessId>,
    launches: BTreeMap<ProcessId, LaunchId>,
    /// Checkpoint writes not yet synced, and the messages held until then.
    commit: commit::Commit,
}

impl Agent {
    /// The name agents run under on their node.
    pub const NAME: &'static str = "agent";

    /// An agent with `cfg`.
    ///
    /// # Panics
    /// If `cfg` does not pass [`AgentConfig::validate`]: binaries validate
    /// first and report the error in words.
    pub fn new(cfg: AgentConfig) -> Agent {
        Agent {
            core: AgentCore::new(cfg),
            observer: None,
            timers: BTreeMap::new(),
            processes: BTreeMap::new(),
            launches: BTreeMap::new(),
            commit: commit::Commit::default(),
        }
    }

    /// This agent, telling `observer` what it does (see [`AgentEvent`]).
    pub fn with_observer(mut self, observer: impl FnMut(AgentEvent) + Send + 'static) -> Agent {
        self.observer = Some(Box::new(observer));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        self.core.config()
    }

    /// The id the master gave, once registered (kept while reconnecting).
    pub fn agent_id(&self) -> Option<&corral_api::ids::AgentId> {
        self.core.agent_id()
    }

    /// The master the agent registers with now (or is registered with).
    pub fn master(&self) -> &Pid {
        self.core.master()
    }

    /// Whether the master has admitted the agent and the link holds.
    pub fn is_registered(&self) -> bool {
        self.core.is_registered()
    }

    /// Resources of tasks that have not reached a terminal state.
    pub fn used_resources(&self) -> &corral_api::resources::Resources {
        self.core.used_resources()
    }

    /// Tasks supervised now (live, or terminal with updates unacknowledged).
    pub fn tasks(&self) -> impl Iterator<Item = TaskSummary> + '_ {
        self.core.tasks()
    }

    /// Tasks whose last update was acknowledged, oldest first (bounded by
    /// `max_completed_tasks`).
    pub fn completed_tasks(&self) -> impl Iterator<Item = &TaskSummary> {
        self.core.completed_tasks()
    }

    /// Status updates not yet acknowledged.
    pub fn pending_updates(&self) -> usize {
        self.core.pending_updates()
    }

    /// Gives the core one input with the moment from `ctx`, then carries
    /// out what it decided.
    fn with_core(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        input: impl FnOnce(&mut AgentCore, &mut Now<'_>),
    ) {
        let (time, unix_ms) = (ctx.now(), ctx.unix_time_ms());
        let mut now = Now {
            time,
            unix_ms,
            rng: ctx.rng(),
        };
        input(&mut self.core, &mut now);
        self.drive(ctx);
    }

    /// Carries out the core's actions, in order. Checkpoint records that
    /// could not be written are retried with the next checkpoint of the
    /// same input, and handed back to the core after it; those written are
    /// synced by [`flush`](Self::flush), and messages wait for it.
    fn drive(&mut self, ctx: &mut Ctx<'_, Self>) {
        let mut unwritten: BTreeMap<TaskKey, TaskRecord> = BTreeMap::new();
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Send { to, msg } if self.commit.is_pending() => {
                    self.commit.hold(to, msg, false)
                }
                Action::Send { to, msg } => send(ctx, &to, msg),
                Action::Pong => {
                    ctx.reply(master::Pong);
                }
                Action::Link(pid) => ctx.link(&pid),
                Action::Unlink(pid) => ctx.unlink(&pid),
                Action::SetTimer { timer, after } => {
                    let fired = timer.clone();
                    let id = ctx.delay(after, move |a: &mut Agent, ctx| a.timer_fired(fired, ctx));
                    if let Some(old) = self.timers.insert(timer, id) {
                        ctx.cancel(old);
                    }
                }
                Action::CancelTimer(timer) => {
                    if let Some(id) = self.timers.remove(&timer) {
                        ctx.cancel(id);
                    }
                }
                Action::Launch { launch, spec } => {
                    let process = ctx.launch(spec);
                    self.processes.insert(launch, process);
                    self.launches.insert(process, launch);
                }
                Action::Signal { process, signal } => {
                    if let Some(id) = self.processes.get(&process) {
                        ctx.signal(*id, signal);
                    }
                }
                Action::Checkpoint { records, then } => {
                    unwritten.extend(records.into_iter().map(|r| {
                        let key = (r.framework_id.clone(), r.task_id.clone());
                        (key, r)
                    }));
                    if store::write_tasks(ctx, &unwritten) {
                        let written = std::mem::take(&mut unwritten);
                        if !written.is_empty() {
                            self.commit.wrote(written.into_keys());
                            if !self.commit.is_pending() {
                                let id =
                                    ctx.delay(Duration::ZERO, |a: &mut Agent, ctx| a.flush(ctx));
                                self.commit.timer_set(id);
                            }
                        }
                        match then {
                            Some((to, msg)) if self.commit.is_pending() => {
                                self.commit.hold(to, msg, true)
                            }
                            Some((to, msg)) => send(ctx, &to, msg),
                            None => {}
                        }
                    }
                }
                Action::SaveRegistration { agent_id, term } => {
                    store::save_registration(ctx, &agent_id, term)
                }
                Action::ClearCheckpoint => store::clear(ctx),
                Action::Notify(event) => self.notify(event),
                Action::NotifyLaunched { key, launch } => {
                    if let Some(process) = self.processes.get(&launch).copied() {
                        self.notify(AgentEvent::TaskLaunched {
                            framework_id: key.0,
                            task_id: key.1,
                            process,
                        });
                    }
                }
            }
        }
        if !unwritten.is_empty() {
            self.core.handle_checkpoint_failed(unwritten.into_keys());
        }
    }

    /// Syncs the records written since the last sync, then sends what
    /// waited for it (see `commit`).
    fn flush(&mut self, ctx: &mut Ctx<'_, Self>) {
        let synced = store::sync(ctx);
        let (sends, lost) = self.commit.flushed(synced);
        for (to, msg) in sends {
            send(ctx, &to, msg);
        }
        if !lost.is_empty() {
            self.core.handle_checkpoint_failed(lost);
            self.drive(ctx);
        }
    }

    fn timer_fired(&mut self, timer: Timer, ctx: &mut Ctx<'_, Self>) {
        self.timers.remove(&timer);
        self.with_core(ctx, |core, now| core.handle_timer(now, timer));
    }

    fn notify(&mut self, event: AgentEvent) {
        if let Some(observer) = self.observer.as_mut() {
            observer(event);
        }
    }
}

/// Sends one of the agent's messages.
fn send(ctx: &mut Ctx<'_, Agent>, to: &Pid, msg: Outgoing) {
    match msg {
        Outgoing::RegisterAgent(m) => ctx.send(to, m),
        Outgoing::StatusUpdate(m) => ctx.send(to, m),
        Outgoing::RunTask(m) => ctx.send(to, m),
        Outgoing::KillTask(m) => ctx.send(to, m),
        Outgoing::ShutdownExecutor(m) => ctx.send(to, m),
        Outgoing::ExecutorReregistered(m) => ctx.send(to, m),
        Outgoing::UpdateAck(m) => ctx.send(to, m),
        Outgoing::FrameworkMessage(m) => ctx.send(to, m),
        Outgoing::ExecutorToFramework(m) => ctx.send(to, m),
        Outgoing::ExitedExecutor(m) => ctx.send(to, m),
    }
}

impl Actor for Agent {
    fn handlers(h: &mut Handlers<Self>) {
        handlers::register(h);
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let loaded = checkpoint::load(&ctx.store());
        let me = ctx.me().clone();
        self.with_core(ctx, |core, now| core.handle_start(now, me, loaded));
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        self.with_core(ctx, |core, now| core.handle_exited(now, pid));
    }

    fn process_exited(&mut self, id: ProcessId, status: ExitStatus, ctx: &mut Ctx<'_, Self>) {
        let Some(launch) = self.launches.remove(&id) else {
            return;
        };
        self.processes.remove(&launch);
        self.with_core(ctx, |core, now| {
            core.handle_process_exit(now, launch, &status)
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use corral_api::resources::Resources;

    #[test]
    fn agents_can_run_on_a_node_thread() {
        fn is_send<T: Send>() {}
        is_send::<Agent>();
    }

    #[test]
    #[should_panic(expected = "validated")]
    fn an_invalid_config_is_a_programmer_error() {
        let mut cfg = AgentConfig::new(
            "master@127.0.0.1:5050".parse().unwrap(),
            "h".into(),
            Resources::empty(),
            "/w".into(),
            "exec x".into(),
        );
        cfg.kill_grace = Duration::ZERO;
        let _ = Agent::new(cfg);
    }
}
