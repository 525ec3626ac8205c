//! The container driver's actor: what the command executor talks to, through
//! its `Ctx` like to any actor, to run its task's container.
//!
//! It hands each [`DriverCommand`] to the Docker driver thread
//! ([`super::driver`]) and passes the thread's reports back to the executor
//! that sent the commands. The thread reports through the node
//! (`Node::send`, which sends as the node itself: `$node` on this node's
//! address), and only such reports are believed, so no other actor can
//! pretend a container started or ended.

use corral_runtime::{Actor, Ctx, Handler, Handlers, Message, Pid};
use tokio::sync::mpsc;

use crate::container::{ContainerExited, ContainerStarted, DriverCommand};

/// The name the driver's actor runs under on the executor's node.
pub const DRIVER_NAME: &str = "container-driver";

/// The name of a node's own handle pid (what `Node::send` sends as).
const NODE_HANDLE: &str = "$node";

/// The container driver's actor; see the module doc.
pub struct DriverActor {
    commands: mpsc::UnboundedSender<DriverCommand>,
    /// The executor whose commands it carries: the first on this node to
    /// send one.
    executor: Option<Pid>,
}

impl DriverActor {
    /// An actor handing commands to the driver thread through `commands`
    /// (from [`super::driver::channel`]).
    pub fn new(commands: mpsc::UnboundedSender<DriverCommand>) -> DriverActor {
        DriverActor {
            commands,
            executor: None,
        }
    }

    /// Passes a report from the driver thread on to the executor.
    fn report<M: Message>(&mut self, msg: M, ctx: &mut Ctx<'_, Self>) {
        let from_thread = ctx
            .sender()
            .is_some_and(|s| s.name() == NODE_HANDLE && s.addr() == ctx.me().addr());
        match (&self.executor, from_thread) {
            (Some(executor), true) => ctx.send(executor, msg),
            _ => tracing::warn!(
                sender = ?ctx.sender(),
                message = M::NAME,
                "dropping a container report that does not come from the driver thread"
            ),
        }
    }
}

impl Actor for DriverActor {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<DriverCommand>()
            .on::<ContainerStarted>()
            .on::<ContainerExited>();
    }
}

impl Handler<DriverCommand> for DriverActor {
    fn handle(&mut self, cmd: DriverCommand, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let local = from.addr() == ctx.me().addr();
        if !local || self.executor.as_ref().is_some_and(|e| e != &from) {
            tracing::warn!(%from, "dropping a container command from another actor than this node's executor");
            return;
        }
        self.executor = Some(from);
        // Fails only once the driver thread is gone, when no container
        // can run any more; the executor's kill deadline ends the task.
        if self.commands.send(cmd).is_err() {
            tracing::warn!("the container driver thread is gone; command dropped");
        }
    }
}

impl Handler<ContainerStarted> for DriverActor {
    fn handle(&mut self, msg: ContainerStarted, ctx: &mut Ctx<'_, Self>) {
        self.report(msg, ctx);
    }
}

impl Handler<ContainerExited> for DriverActor {
    fn handle(&mut self, msg: ContainerExited, ctx: &mut Ctx<'_, Self>) {
        self.report(msg, ctx);
    }
}
