//! The actor traits: an actor, its handlers, and the table the node
//! dispatches incoming messages through.

use std::collections::HashMap;

use crate::ctx::Ctx;
use crate::envelope::{Body, DispatchError};
use crate::message::Message;
use crate::pid::Pid;
use crate::process::{ExitStatus, ProcessId};

/// A unit of state and behaviour with an address, driven by messages.
///
/// An actor handles one message at a time on its node's event loop; it sees
/// the world only through [`Ctx`]: no clock, no randomness, no sockets or
/// files of its own, which is what lets the simulator host it unchanged.
pub trait Actor: Sized + 'static {
    /// Declares the messages this actor handles, one `h.on::<M>()` per type.
    fn handlers(h: &mut Handlers<Self>);

    /// Called once, before any message, when the actor is spawned.
    fn started(&mut self, _ctx: &mut Ctx<'_, Self>) {}

    /// A linked actor stopped, or its node died or became unreachable.
    fn exited(&mut self, _pid: &Pid, _ctx: &mut Ctx<'_, Self>) {}

    /// A process this actor launched ([`Ctx::launch`]) ended.
    fn process_exited(&mut self, _id: ProcessId, _status: ExitStatus, _ctx: &mut Ctx<'_, Self>) {}

    /// Called once after [`Ctx::stop`], before the actor is dropped.
    fn stopped(&mut self, _ctx: &mut Ctx<'_, Self>) {}
}

/// An actor that handles messages of type `M`.
pub trait Handler<M: Message>: Actor {
    /// Handles one message. Answer asks with [`Ctx::reply`].
    fn handle(&mut self, msg: M, ctx: &mut Ctx<'_, Self>);
}

pub(crate) type HandlerFn<A> =
    fn(&mut A, Body, &mut Ctx<'_, A>, usize) -> Result<(), DispatchError>;

/// The message names an actor type handles, mapped to its typed handlers.
pub struct Handlers<A: Actor> {
    table: HashMap<&'static str, HandlerFn<A>>,
}

impl<A: Actor> Handlers<A> {
    pub(crate) fn build() -> Handlers<A> {
        let mut h = Handlers {
            table: HashMap::new(),
        };
        A::handlers(&mut h);
        h
    }

    /// Routes messages named `M::NAME` to `A`'s `Handler<M>`.
    ///
    /// # Panics
    /// If another handled type already uses the same wire name: that is a
    /// programmer error that would otherwise misroute messages.
    pub fn on<M: Message>(&mut self) -> &mut Self
    where
        A: Handler<M>,
    {
        let previous = self.table.insert(M::NAME, dispatch::<A, M>);
        assert!(
            previous.is_none(),
            "two message types of one actor share the wire name {:?}",
            M::NAME
        );
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<HandlerFn<A>> {
        self.table.get(name).copied()
    }
}

fn dispatch<A: Handler<M>, M: Message>(
    actor: &mut A,
    body: Body,
    ctx: &mut Ctx<'_, A>,
    max_bytes: usize,
) -> Result<(), DispatchError> {
    let msg = body.open::<M>(max_bytes)?;
    actor.handle(msg, ctx);
    Ok(())
}
