//! The agent's message handlers: each hands its message, with its sender,
//! to the core.

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_runtime::{Ctx, Handler, Handlers};

use super::Agent;

/// Registers every message the agent handles.
pub(super) fn register(h: &mut Handlers<Agent>) {
    h.on::<master::AgentRegistered>()
        .on::<master::Ping>()
        .on::<master::RunTasks>()
        .on::<master::KillTask>()
        .on::<master::StatusAck>()
        .on::<master::ShutdownFramework>()
        .on::<master::ShutdownAgent>()
        .on::<master::RegistrationRefused>()
        .on::<master::NotLeader>()
        .on::<master::LeaderElected>()
        .on::<master::FrameworkToExecutor>()
        .on::<exec::ExecutorMessage>()
        .on::<exec::RegisterExecutor>()
        .on::<exec::ReregisterExecutor>()
        .on::<exec::ExecutorUpdate>()
        .on::<crate::state::GetAgentState>();
}

/// Implements `Handler<$msg>` by passing the message and its sender to
/// the core's `$method`.
macro_rules! to_core {
    ($($msg:ty => $method:ident),* $(,)?) => {$(
        impl Handler<$msg> for Agent {
            fn handle(&mut self, msg: $msg, ctx: &mut Ctx<'_, Self>) {
                let from = ctx.sender().cloned();
                self.with_core(ctx, |core, now| core.$method(now, from.as_ref(), msg));
            }
        }
    )*};
}

to_core! {
    master::AgentRegistered => handle_agent_registered,
    master::RunTasks => handle_run_tasks,
    master::KillTask => handle_kill_task,
    master::StatusAck => handle_status_ack,
    master::ShutdownFramework => handle_shutdown_framework,
    master::ShutdownAgent => handle_shutdown_agent,
    master::RegistrationRefused => handle_registration_refused,
    master::NotLeader => handle_not_leader,
    master::LeaderElected => handle_leader_elected,
    exec::ExecutorUpdate => handle_executor_update,
}

impl Handler<master::Ping> for Agent {
    fn handle(&mut self, _: master::Ping, ctx: &mut Ctx<'_, Self>) {
        let from = ctx.sender().cloned();
        self.with_core(ctx, |core, _| core.handle_ping(from.as_ref()));
    }
}

impl Handler<exec::RegisterExecutor> for Agent {
    fn handle(&mut self, msg: exec::RegisterExecutor, ctx: &mut Ctx<'_, Self>) {
        let from = ctx.sender().cloned();
        self.with_core(ctx, |core, _| {
            core.handle_register_executor(from.as_ref(), msg)
        });
    }
}

impl Handler<exec::ReregisterExecutor> for Agent {
    fn handle(&mut self, msg: exec::ReregisterExecutor, ctx: &mut Ctx<'_, Self>) {
        let from = ctx.sender().cloned();
        self.with_core(ctx, |core, _| {
            core.handle_reregister_executor(from.as_ref(), msg)
        });
    }
}

impl Handler<master::FrameworkToExecutor> for Agent {
    fn handle(&mut self, msg: master::FrameworkToExecutor, ctx: &mut Ctx<'_, Self>) {
        let from = ctx.sender().cloned();
        self.with_core(ctx, |core, _| {
            core.handle_framework_to_executor(from.as_ref(), msg)
        });
    }
}

impl Handler<exec::ExecutorMessage> for Agent {
    fn handle(&mut self, msg: exec::ExecutorMessage, ctx: &mut Ctx<'_, Self>) {
        let from = ctx.sender().cloned();
        self.with_core(ctx, |core, _| {
            core.handle_executor_message(from.as_ref(), msg)
        });
    }
}
