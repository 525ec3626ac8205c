//! One v1 subscription: an actor on the master's node that is the HTTP
//! framework to the master. It subscribes with the framework's info,
//! relays the framework's calls as Corral's framework messages, and writes
//! what the master sends as Mesos events onto the subscription's stream.
//! The master cannot tell it from an actor framework: same offers, same
//! DRF, same failover (its end is the framework's disconnection).
//!
//! Calls reach it through a shared [`Inbox`], not as messages: a frame's
//! sender is what the sending node claims, so a message could be forged
//! by any node that knows the session's name; the inbox is reachable only
//! from this process.

use corral_api::framework::{
    ExecutorMessage, Failure, FrameworkError, Heartbeat, LeaderElected, NotLeader, Offers, Rescind,
    Revive, Subscribe, Subscribed, Suppress, Teardown, Update,
};
use corral_http::v1::convert;
use corral_http::v1::scheduler::{self as v1, Event, EventType};
use corral_http::v1::shapes::Id;
use corral_http::v1::stream::{EventSender, Inbox, Next, Poke};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid};

use super::calls::Relay;
use super::codec;
use super::streams::{SharedInbox, Streams};
use corral_http::v1::media::Format;

/// The actor of one subscription.
pub(super) struct Session {
    master: Pid,
    subscribe: Subscribe,
    suppressed: bool,
    stream_id: String,
    role: String,
    events: EventSender,
    format: Format,
    inbox: SharedInbox,
    streams: Streams,
    framework_id: Option<String>,
}

impl Session {
    /// A session that subscribes `subscribe` with `master`, writing events
    /// to `events` in `format`; `suppressed` subscribes it with offers
    /// suppressed.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        master: Pid,
        subscribe: Subscribe,
        suppressed: bool,
        stream_id: String,
        events: EventSender,
        format: Format,
        inbox: SharedInbox,
        streams: Streams,
        default_role: &str,
    ) -> Session {
        let role = subscribe
            .info
            .roles
            .first()
            .cloned()
            .unwrap_or_else(|| default_role.to_owned());
        Session {
            master,
            subscribe,
            suppressed,
            stream_id,
            role,
            events,
            format,
            inbox,
            streams,
            framework_id: None,
        }
    }

    /// Writes `event` onto the stream; a stream that is gone or full ends
    /// the session.
    fn emit(&mut self, event: &Event, ctx: &mut Ctx<'_, Self>) {
        let record = match codec::event(self.format, event) {
            Ok(bytes) => bytes,
            Err(e) => {
                // A bug (the shapes and the .proto subset disagree): the
                // event is lost, the stream goes on.
                tracing::error!(error = %e, format = ?self.format, "cannot write a v1 event");
                return;
            }
        };
        if let Err(why) = self.events.send(&record) {
            tracing::info!(framework = ?self.framework_id, %why, "closing a v1 scheduler stream");
            ctx.stop();
        }
    }

    fn sent_by_master(&self, ctx: &Ctx<'_, Self>) -> bool {
        ctx.sender() == Some(&self.master)
    }

    fn relay(&mut self, call: Relay, ctx: &mut Ctx<'_, Self>) {
        let master = self.master.clone();
        match call {
            Relay::Accept(m) => ctx.send(&master, m),
            Relay::Decline(m) => ctx.send(&master, m),
            Relay::Revive => ctx.send(&master, Revive),
            Relay::Suppress => ctx.send(&master, Suppress),
            Relay::Kill(m) => ctx.send(&master, m),
            Relay::Acknowledge(m) => ctx.send(&master, m),
            Relay::Reconcile(m) => ctx.send(&master, m),
            Relay::Message(m) => ctx.send(&master, m),
            Relay::Teardown => {
                // Mesos ends the stream of a framework that tore itself
                // down; the master has forgotten it.
                ctx.send(&master, Teardown);
                ctx.stop();
            }
        }
    }
}

impl Actor for Session {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Poke>()
            .on::<Subscribed>()
            .on::<Offers>()
            .on::<Rescind>()
            .on::<Update>()
            .on::<Heartbeat>()
            .on::<FrameworkError>()
            .on::<ExecutorMessage>()
            .on::<Failure>()
            .on::<NotLeader>()
            .on::<LeaderElected>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let master = self.master.clone();
        ctx.send(&master, self.subscribe.clone());
    }

    fn stopped(&mut self, _ctx: &mut Ctx<'_, Self>) {
        if let Some(id) = &self.framework_id {
            self.streams.remove(id, &self.stream_id);
        }
    }
}

impl Handler<Poke> for Session {
    fn handle(&mut self, _: Poke, ctx: &mut Ctx<'_, Self>) {
        loop {
            match Inbox::next(&self.inbox) {
                Next::Call(call) => self.relay(call, ctx),
                Next::Empty => return,
                Next::Closed => {
                    ctx.stop();
                    return;
                }
            }
        }
    }
}

impl Handler<Subscribed> for Session {
    fn handle(&mut self, msg: Subscribed, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_master(ctx) {
            return;
        }
        let id = msg.framework_id.0.clone();
        if self.framework_id.is_none() {
            // A later session of the same framework replaces this one's
            // entry; this one then only drains.
            self.streams
                .insert(&id, &self.stream_id, ctx.me().clone(), self.inbox.clone());
            self.framework_id = Some(id.clone());
            if self.suppressed {
                let master = self.master.clone();
                ctx.send(&master, Suppress);
            }
        }
        let event = Event {
            subscribed: Some(v1::Subscribed {
                framework_id: corral_http::v1::shapes::Id::of(&id),
                heartbeat_interval_seconds: msg.heartbeat_interval.as_secs_f64(),
            }),
            ..Event::bare(EventType::Subscribed)
        };
        self.emit(&event, ctx);
        // Mesos beats once at once on each subscription (the master's
        // later ones keep its interval). A client that hands a record over
        // only when the next one begins (mesoshttp) gets SUBSCRIBED now,
        // not at the next offer or heartbeat, up to 15 s on.
        self.emit(&Event::bare(EventType::Heartbeat), ctx);
    }
}

impl Handler<Offers> for Session {
    fn handle(&mut self, msg: Offers, ctx: &mut Ctx<'_, Self>) {
        let Some(fw) = self
            .framework_id
            .clone()
            .filter(|_| self.sent_by_master(ctx))
        else {
            return;
        };
        let offers = msg
            .offers
            .iter()
            .map(|o| convert::offer(o, &fw, &self.role))
            .collect();
        let event = Event {
            offers: Some(v1::Offers { offers }),
            ..Event::bare(EventType::Offers)
        };
        self.emit(&event, ctx);
    }
}

impl Handler<Rescind> for Session {
    fn handle(&mut self, msg: Rescind, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_master(ctx) {
            let event = Event {
                rescind: Some(v1::Rescind {
                    offer_id: corral_http::v1::shapes::Id::of(&msg.offer_id.0),
                }),
                ..Event::bare(EventType::Rescind)
            };
            self.emit(&event, ctx);
        }
    }
}

impl Handler<Update> for Session {
    fn handle(&mut self, msg: Update, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_master(ctx) {
            let event = Event {
                update: Some(v1::Update {
                    status: convert::status(&msg.status),
                }),
                ..Event::bare(EventType::Update)
            };
            self.emit(&event, ctx);
        }
    }
}

impl Handler<ExecutorMessage> for Session {
    fn handle(&mut self, msg: ExecutorMessage, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_master(ctx) {
            let event = Event {
                message: Some(v1::Message {
                    agent_id: Id::of(&msg.agent_id.0),
                    executor_id: Id::of(&msg.executor_id),
                    data: convert::message_data_out(&msg.data),
                }),
                ..Event::bare(EventType::Message)
            };
            self.emit(&event, ctx);
        }
    }
}

impl Handler<Failure> for Session {
    fn handle(&mut self, msg: Failure, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_master(ctx) {
            let event = Event {
                failure: Some(v1::Failure {
                    agent_id: Some(Id::of(&msg.agent_id.0)),
                    executor_id: msg.executor_id.as_deref().map(Id::of),
                    status: msg.status,
                }),
                ..Event::bare(EventType::Failure)
            };
            self.emit(&event, ctx);
        }
    }
}

impl Handler<Heartbeat> for Session {
    fn handle(&mut self, _: Heartbeat, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_master(ctx) {
            self.emit(&Event::bare(EventType::Heartbeat), ctx);
        }
    }
}

impl Handler<FrameworkError> for Session {
    fn handle(&mut self, msg: FrameworkError, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_master(ctx) {
            // As Mesos: ERROR, then the stream ends.
            let event = Event {
                error: Some(v1::Error {
                    message: msg.message,
                }),
                ..Event::bare(EventType::Error)
            };
            self.emit(&event, ctx);
            ctx.stop();
        }
    }
}

impl Handler<NotLeader> for Session {
    fn handle(&mut self, _: NotLeader, ctx: &mut Ctx<'_, Self>) {
        // This master stopped leading: the stream ends and the client
        // finds the leader (a standby answers its SUBSCRIBE with a 307).
        if self.sent_by_master(ctx) {
            ctx.stop();
        }
    }
}

impl Handler<LeaderElected> for Session {
    fn handle(&mut self, _: LeaderElected, _: &mut Ctx<'_, Self>) {
        // Only followers of a group act on announcements; an HTTP client
        // follows the 307 of the master it asks.
    }
}
