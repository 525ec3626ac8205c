//! The command executor actor: the shell around [`Lifecycle`] that carries
//! its decisions out through [`Ctx`].

use corral_runtime::{
    Actor, Ctx, ExitStatus, Handler, Handlers, Message, Pid, ProcessId, Time, TimerId,
};

pub use crate::config::{CommandExecutorConfig, ConfigError};
pub use crate::container::ContainerHook;
use crate::container::{ContainerExit, ContainerExited, ContainerStarted, DriverCommand};
use crate::lifecycle::{Action, Lifecycle, Now};
pub use crate::lifecycle::{Outcome, AGENT_LOST_GRACE};
use corral_api::executor::{ExecutorReregistered, KillTask, RunTask, ShutdownExecutor, UpdateAck};

/// Called once with the [`Outcome`] when the executor stops.
pub type OnDone = Box<dyn FnOnce(Outcome) + Send>;

/// Runs one task's shell command (as a process, or in a container) for the
/// agent that launched it and reports its statuses reliably.
///
/// On start it links to the agent and registers, resending every
/// `retry_interval` until the agent sends [`RunTask`] (or stops with
/// [`Outcome::RegistrationTimedOut`] after `registration_timeout`). It then
/// reports `TASK_STARTING`, launches the command in the sandbox, reports
/// `TASK_RUNNING`, and reports the command's end (`TASK_FINISHED`,
/// `TASK_FAILED`, or `TASK_KILLED` after a [`KillTask`] or
/// [`ShutdownExecutor`]). Every update is resent until the agent acknowledges
/// it; once the terminal one is acknowledged the executor stops with
/// [`Outcome::Finished`].
///
/// If the agent goes away (its link fires), the executor kills the command
/// (SIGTERM, SIGKILL after [`AGENT_LOST_GRACE`]) and stops with
/// [`Outcome::AgentLost`] once it has exited — unless the framework
/// checkpoints (`checkpoint` in its config): then the task keeps running and
/// the executor re-registers with the same agent pid every `retry_interval`
/// until a restarted agent answers [`ExecutorReregistered`] (its
/// unacknowledged updates are then resent) or `recovery_timeout` passes.
///
/// A task with a container runs through the container driver reached by
/// the [`ContainerHook`] given to [`with_containers`](Self::with_containers)
/// (the binary's edge starts one; see [`crate::docker`]); the driver answers
/// with [`ContainerStarted`] and [`ContainerExited`] sent by this node
/// itself (`$node` on the executor's own address), and only those are
/// believed. Without a hook, container tasks fail at once.
///
/// Messages from anyone but the configured agent are dropped. `on_done` is
/// called exactly once, when the executor stops by itself; if its node is
/// shut down under it, it is dropped uncalled.
pub struct CommandExecutor {
    agent: Pid,
    core: Lifecycle,
    process: Option<ProcessId>,
    timer: Option<(TimerId, Time)>,
    on_done: Option<OnDone>,
    containers: Option<ContainerHook>,
}

impl CommandExecutor {
    /// An executor for `cfg`, which must pass
    /// [`validate`](CommandExecutorConfig::validate).
    pub fn new(
        cfg: CommandExecutorConfig,
        on_done: OnDone,
    ) -> Result<CommandExecutor, ConfigError> {
        cfg.validate()?;
        Ok(CommandExecutor {
            agent: cfg.agent.clone(),
            core: Lifecycle::new(cfg),
            process: None,
            timer: None,
            on_done: Some(on_done),
            containers: None,
        })
    }

    /// This executor, running container tasks through `hook`.
    pub fn with_containers(mut self, hook: ContainerHook) -> CommandExecutor {
        self.containers = Some(hook);
        self
    }

    /// Whether `ctx`'s current message comes from this node itself (the
    /// container driver sends through the node's handle); logged if not.
    fn sent_by_host<M: Message>(&self, ctx: &Ctx<'_, Self>) -> bool {
        let ok = ctx
            .sender()
            .is_some_and(|s| s.name() == NODE_HANDLE && s.addr() == ctx.me().addr());
        if !ok {
            tracing::warn!(
                sender = ?ctx.sender(),
                message = M::NAME,
                "dropping a container report that does not come from this node"
            );
        }
        ok
    }

    /// Whether `ctx`'s current message comes from our agent (logged if not).
    fn sent_by_agent<M: Message>(&self, ctx: &Ctx<'_, Self>) -> bool {
        let ok = ctx.sender() == Some(&self.agent);
        if !ok {
            tracing::warn!(
                sender = ?ctx.sender(),
                message = M::NAME,
                "dropping a message that does not come from our agent"
            );
        }
        ok
    }

    /// Carries out the core's actions, then re-arms the one timer.
    fn drive(&mut self, ctx: &mut Ctx<'_, Self>) {
        while let Some(action) = self.core.poll_action() {
            match action {
                // Linking again is a no-op while the link holds; after the
                // agent restarted it watches the new one.
                Action::Register(m) => {
                    ctx.link(&self.agent);
                    ctx.send(&self.agent, m);
                }
                Action::Reregister(m) => {
                    ctx.link(&self.agent);
                    ctx.send(&self.agent, m);
                }
                Action::Update(m) => ctx.send(&self.agent, m),
                Action::Launch(spec) => self.process = Some(ctx.launch(spec)),
                Action::Signal(signal) => {
                    if let Some(id) = self.process {
                        ctx.signal(id, signal);
                    }
                }
                Action::StartContainer(spec) => match self.containers.as_mut() {
                    Some(hook) => hook(DriverCommand::Start(Box::new(spec))),
                    None => {
                        let why = "this executor has no container driver";
                        self.core
                            .handle_container_exit(now(ctx), ContainerExit::failed(why));
                    }
                },
                Action::StopContainer { grace } => {
                    if let Some(hook) = self.containers.as_mut() {
                        hook(DriverCommand::Stop { grace });
                    }
                }
                Action::Stop(outcome) => {
                    match outcome {
                        Outcome::Finished(_) | Outcome::Shutdown => {
                            tracing::info!(%outcome, "command executor stopping")
                        }
                        Outcome::RegistrationTimedOut | Outcome::AgentLost => {
                            tracing::warn!(%outcome, "command executor stopping")
                        }
                    }
                    if let Some(on_done) = self.on_done.take() {
                        on_done(outcome);
                    }
                    ctx.stop();
                }
            }
        }
        self.arm_timer(ctx);
    }

    fn arm_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        let want = self.core.poll_timeout();
        if self.timer.map(|(_, at)| at) == want {
            return;
        }
        if let Some((id, _)) = self.timer.take() {
            ctx.cancel(id);
        }
        if let Some(at) = want {
            let id = ctx.delay(at.saturating_since(ctx.now()), |me: &mut Self, ctx| {
                me.timer = None;
                me.core.handle_timeout(now(ctx));
                me.drive(ctx);
            });
            self.timer = Some((id, at));
        }
    }
}

fn now<A: Actor>(ctx: &Ctx<'_, A>) -> Now {
    Now {
        time: ctx.now(),
        unix_time_ms: ctx.unix_time_ms(),
    }
}

/// The name of a node's own handle pid (what `Node::send` sends as).
const NODE_HANDLE: &str = "$node";

impl Actor for CommandExecutor {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<RunTask>()
            .on::<KillTask>()
            .on::<ShutdownExecutor>()
            .on::<UpdateAck>()
            .on::<ExecutorReregistered>()
            .on::<ContainerStarted>()
            .on::<ContainerExited>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.link(&self.agent);
        let mut seed = [0u8; 8];
        ctx.rng().fill_bytes(&mut seed);
        self.core.handle_start(now(ctx), u64::from_le_bytes(seed));
        self.drive(ctx);
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        if *pid == self.agent {
            tracing::warn!(agent = %pid, "the agent is gone");
            self.core.handle_agent_lost(now(ctx));
            self.drive(ctx);
        }
    }

    fn process_exited(&mut self, id: ProcessId, status: ExitStatus, ctx: &mut Ctx<'_, Self>) {
        if self.process != Some(id) {
            return;
        }
        self.process = None;
        self.core.handle_process_exit(now(ctx), status);
        self.drive(ctx);
    }
}

impl Handler<RunTask> for CommandExecutor {
    fn handle(&mut self, msg: RunTask, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_agent::<RunTask>(ctx) {
            self.core.handle_run_task(now(ctx), msg);
            self.drive(ctx);
        }
    }
}

impl Handler<KillTask> for CommandExecutor {
    fn handle(&mut self, msg: KillTask, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_agent::<KillTask>(ctx) {
            self.core.handle_kill(now(ctx), msg);
            self.drive(ctx);
        }
    }
}

impl Handler<ShutdownExecutor> for CommandExecutor {
    fn handle(&mut self, msg: ShutdownExecutor, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_agent::<ShutdownExecutor>(ctx) {
            self.core.handle_shutdown(now(ctx), msg);
            self.drive(ctx);
        }
    }
}

impl Handler<UpdateAck> for CommandExecutor {
    fn handle(&mut self, msg: UpdateAck, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_agent::<UpdateAck>(ctx) {
            self.core.handle_ack(now(ctx), msg);
            self.drive(ctx);
        }
    }
}

impl Handler<ExecutorReregistered> for CommandExecutor {
    fn handle(&mut self, msg: ExecutorReregistered, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_agent::<ExecutorReregistered>(ctx) {
            self.core.handle_reregistered(now(ctx), msg);
            self.drive(ctx);
        }
    }
}

impl Handler<ContainerStarted> for CommandExecutor {
    fn handle(&mut self, msg: ContainerStarted, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_host::<ContainerStarted>(ctx) {
            self.core.handle_container_started(now(ctx), &msg.name);
            self.drive(ctx);
        }
    }
}

impl Handler<ContainerExited> for CommandExecutor {
    fn handle(&mut self, msg: ContainerExited, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_host::<ContainerExited>(ctx) {
            self.core.handle_container_exit(now(ctx), msg.exit);
            self.drive(ctx);
        }
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod sim_tests;
