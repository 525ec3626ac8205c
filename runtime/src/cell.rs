//! The cell around one actor: the actor with its handler table and its
//! state (pending asks and timers, kept in `ctx.rs`), the object-safe face
//! the kernel drives it through, and spawning, which builds cells.

use std::collections::BTreeMap;

use crate::actor::{Actor, Handlers};
use crate::codec::{AskFailure, Corr};
use crate::ctx::{AskError, CellState, Ctx, Current};
use crate::envelope::{DispatchError, Envelope};
use crate::kernel::{AnyActor, Kernel, LocalId, SpawnError, TimerKey};
use crate::metrics::Metrics;
use crate::pid::Pid;
use crate::process::{ExitStatus, ProcessId};

pub(crate) struct Cell<A: Actor> {
    actor: A,
    state: CellState<A>,
    handlers: Handlers<A>,
}

impl<A: Actor> Cell<A> {
    pub(crate) fn new(pid: Pid, id: LocalId, actor: A) -> Cell<A> {
        Cell {
            actor,
            state: CellState {
                pid,
                id,
                asks: BTreeMap::new(),
                timers: BTreeMap::new(),
                next_ask_id: 0,
                stopping: false,
            },
            handlers: Handlers::build(),
        }
    }

    fn with_ctx<R>(
        &mut self,
        k: &mut Kernel,
        current: Option<Current>,
        f: impl FnOnce(&mut A, &mut Ctx<'_, A>) -> R,
    ) -> R {
        let mut ctx = Ctx::new(k, &mut self.state, current);
        f(&mut self.actor, &mut ctx)
    }

    fn deliver_message(&mut self, env: Envelope, k: &mut Kernel) {
        let Some(handler) = self.handlers.get(&env.name) else {
            Metrics::inc(&k.metrics().dropped_no_handler);
            tracing::warn!(to = %self.state.pid, from = %env.from, name = %env.name, "no handler for message; dropped");
            if let Corr::Ask(id) = env.corr {
                k.fail_ask(&env.from, id, AskFailure::NoHandler);
            }
            return;
        };
        let max_bytes = k.max_message_bytes();
        let current = Current {
            from: env.from,
            corr: env.corr,
            certified: env.certified,
        };
        let reply_to = current.clone();
        Metrics::inc(&k.metrics().delivered);
        let result = self.with_ctx(k, Some(current), |a, ctx| {
            handler(a, env.body, ctx, max_bytes)
        });
        if let Err(e) = result {
            Metrics::inc(&k.metrics().decode_errors);
            tracing::warn!(to = %self.state.pid, from = %reply_to.from, error = %e, "message dropped");
            if let (Corr::Ask(id), DispatchError::Undecodable { .. }) = (reply_to.corr, &e) {
                k.fail_ask(&reply_to.from, id, AskFailure::Undecodable);
            }
        }
    }

    fn deliver_reply(&mut self, id: u64, env: Envelope, k: &mut Kernel) {
        let Some(pending) = self.state.asks.remove(&id) else {
            Metrics::inc(&k.metrics().late_replies);
            tracing::debug!(to = %self.state.pid, id, "reply for no pending ask (late or duplicate)");
            return;
        };
        pending.retire(k, self.state.id, id);
        let result = if env.name == pending.reply_name {
            Ok(env.body)
        } else {
            Err(AskError::WrongReply {
                expected: pending.reply_name,
                got: env.name.into_owned(),
            })
        };
        self.with_ctx(k, None, |a, ctx| (pending.then)(a, result, ctx));
    }

    fn finish_ask(&mut self, id: u64, error: AskError, k: &mut Kernel) {
        if let Some(pending) = self.state.asks.remove(&id) {
            pending.retire(k, self.state.id, id);
            self.with_ctx(k, None, |a, ctx| (pending.then)(a, Err(error), ctx));
        }
    }
}

impl<A: Actor> AnyActor for Cell<A> {
    fn on_start(&mut self, k: &mut Kernel) {
        self.with_ctx(k, None, |a, ctx| a.started(ctx));
    }

    fn on_envelope(&mut self, env: Envelope, k: &mut Kernel) {
        match env.corr {
            Corr::Tell | Corr::Ask(_) => self.deliver_message(env, k),
            Corr::Reply(id) => self.deliver_reply(id, env, k),
        }
    }

    fn on_timer(&mut self, key: TimerKey, k: &mut Kernel) {
        if let Some(f) = self.state.timers.remove(&key) {
            self.with_ctx(k, None, |a, ctx| f(a, ctx));
        }
    }

    fn on_ask_timeout(&mut self, id: u64, k: &mut Kernel) {
        self.finish_ask(id, AskError::Timeout, k);
    }

    fn on_ask_failed(&mut self, id: u64, failure: AskFailure, k: &mut Kernel) {
        let error = match failure {
            AskFailure::NoSuchActor => AskError::NoSuchActor,
            AskFailure::NoHandler => AskError::NoHandler,
            AskFailure::Undecodable => AskError::Undecodable,
            AskFailure::Unreachable => AskError::Unreachable,
        };
        self.finish_ask(id, error, k);
    }

    fn on_exited(&mut self, pid: &Pid, k: &mut Kernel) {
        self.with_ctx(k, None, |a, ctx| a.exited(pid, ctx));
    }

    fn on_process_exited(&mut self, id: ProcessId, status: ExitStatus, k: &mut Kernel) {
        self.with_ctx(k, None, |a, ctx| a.process_exited(id, status, ctx));
    }

    fn on_stop(&mut self, k: &mut Kernel) {
        self.with_ctx(k, None, |a, ctx| a.stopped(ctx));
        for (id, pending) in std::mem::take(&mut self.state.asks) {
            pending.retire(k, self.state.id, id);
        }
        for key in std::mem::take(&mut self.state.timers).into_keys() {
            k.cancel_timer(key);
        }
    }

    fn wants_stop(&self) -> bool {
        self.state.stopping
    }
}

// Spawning builds a `Cell`, so it lives here rather than beside the kernel's
// and `Ctx`'s other methods, which know no actor type.
impl Kernel {
    /// Starts `actor` under `name` on this node; it gets `started` before
    /// any message.
    pub fn spawn_actor<A: Actor>(&mut self, name: &str, actor: A) -> Result<Pid, SpawnError> {
        self.spawn(name, move |pid, id| Box::new(Cell::new(pid, id, actor)))
    }
}

impl<A: 'static> Ctx<'_, A> {
    /// Starts a new actor on this node under `name`.
    pub fn spawn<B: Actor>(&mut self, name: &str, actor: B) -> Result<Pid, SpawnError> {
        self.kernel().spawn_actor(name, actor)
    }
}
