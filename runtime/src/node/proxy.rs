//! The short-lived actor behind [`Node::ask`](super::Node::ask): asks on
//! behalf of a thread outside the event loop, hands the answer over, stops.

use std::sync::mpsc::Sender;
use std::time::Duration;

use crate::actor::{Actor, Handlers};
use crate::ctx::{AskError, Ctx};
use crate::message::Request;
use crate::pid::Pid;

pub(crate) struct AskProxy<M: Request> {
    request: Option<(Pid, M, Duration)>,
    answer: Sender<Result<M::Reply, AskError>>,
}

impl<M: Request> AskProxy<M> {
    pub(crate) fn new(
        to: Pid,
        msg: M,
        timeout: Duration,
        answer: Sender<Result<M::Reply, AskError>>,
    ) -> AskProxy<M> {
        AskProxy {
            request: Some((to, msg, timeout)),
            answer,
        }
    }
}

impl<M: Request> Actor for AskProxy<M> {
    fn handlers(_: &mut Handlers<Self>) {}

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some((to, msg, timeout)) = self.request.take() else {
            ctx.stop();
            return;
        };
        ctx.ask(&to, msg, timeout, |proxy: &mut Self, reply, ctx| {
            // The asking thread may have given up; nobody is left to tell.
            let _ = proxy.answer.send(reply);
            ctx.stop();
        });
    }
}
