//! One v1 executor's session: an actor on the agent's node that is the
//! executor to the agent. It registers with the agent under the
//! executor's framework and id, writes what the agent sends (its tasks,
//! kills, acknowledgements, shutdown) as Mesos events onto the stream, and
//! relays the executor's status updates. The agent cannot tell it from a
//! Corral executor; the executor's process is still the one the agent
//! launched, and its end is still what ends its tasks.
//!
//! The session outlives a stream: an executor whose connection broke, or
//! whose agent restarted, subscribes again and gets the same session (or,
//! after a restart, one with the same name, so the same pid the agent
//! checkpointed). It then registers again; the agent answers with the
//! tasks the executor has not reported on, or that it is taken, and the
//! executor's unacknowledged updates are relayed. A session left without
//! a stream for [`RESUBSCRIBE_WAIT`] ends: to an agent that took its tasks
//! back after a restart, that is the executor lost.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use corral_api::executor::{
    ExecutorReregistered, ExecutorUpdate, FrameworkMessage, KillTask, RegisterExecutor, RunTask,
    ShutdownExecutor, UpdateAck,
};
use corral_api::ids::FrameworkId;
use corral_http::v1::convert::{message_data_out, task_info_out};
use corral_http::v1::executor::{self as v1, Event, EventType};
use corral_http::v1::media::{self, Format};
use corral_http::v1::protobuf;
use corral_http::v1::shapes::Id;
use corral_http::v1::stream::{EventSender, Inbox, Next, Poke};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid, Time};
use serde_json::json;

use super::subscriptions::{Attach, FromExecutor, SharedInbox, Subscriptions};

/// How often registration is resent until the agent answers, and how many
/// times before the session gives up (the agent knows no such executor).
const REGISTER_EVERY: Duration = Duration::from_secs(1);
const REGISTER_TRIES: u32 = 10;

/// How long a session without a stream waits for its executor to
/// subscribe again: Mesos's default recovery timeout, which executors are
/// told to wait for their agent (`MESOS_RECOVERY_TIMEOUT`).
pub(super) const RESUBSCRIBE_WAIT: Duration = Duration::from_secs(15 * 60);

/// How often a subscribed executor's stream gets a HEARTBEAT, so that a
/// proxy between them does not close a quiet connection (Mesos's
/// agent's interval).
pub(super) const HEARTBEAT_EVERY: Duration = Duration::from_secs(30 * 60);

/// The actor name of the session of executor `executor_id` of
/// `framework_id`: the same on every run of the agent, so a restarted
/// agent finds the executor at the pid it checkpointed. A stable hash
/// (FNV-1a), as ids may be longer than a name.
pub(super) fn session_name(framework_id: &str, executor_id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in framework_id.bytes().chain([0]).chain(executor_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("v1-executor-{h:016x}")
}

/// Who the executor is and where it runs.
pub(super) struct Identity {
    pub framework_id: String,
    pub executor_id: String,
    pub agent_id: String,
    pub hostname: String,
}

/// The stream a session writes to.
struct Stream {
    id: u64,
    events: EventSender,
    format: Format,
    /// The agent answered this stream's registration (SUBSCRIBED was
    /// written).
    subscribed: bool,
    tries: u32,
    /// Updates to relay once the agent takes the executor.
    unacknowledged: Vec<ExecutorUpdate>,
}

/// The actor of one executor's session.
pub(super) struct Session {
    agent: Pid,
    who: Identity,
    inbox: SharedInbox,
    subscriptions: Subscriptions,
    stream: Option<Stream>,
    /// Since when it has had no stream.
    detached: Option<Time>,
    /// Tasks the executor has: never launched on it twice.
    launched: BTreeSet<String>,
    /// The executor's command, from its first task (for SUBSCRIBED).
    command: String,
}

impl Session {
    pub(super) fn new(
        agent: Pid,
        who: Identity,
        inbox: SharedInbox,
        subscriptions: Subscriptions,
    ) -> Session {
        Session {
            agent,
            who,
            inbox,
            subscriptions,
            stream: None,
            detached: None,
            launched: BTreeSet::new(),
            command: String::new(),
        }
    }

    fn emit(&mut self, event: &Event, ctx: &mut Ctx<'_, Self>) {
        let Some(stream) = &self.stream else {
            return;
        };
        let record = match media::write_event(stream.format, protobuf::EXECUTOR_EVENT, event) {
            Ok(record) => record,
            Err(e) => {
                tracing::error!(error = %e, "cannot write a v1 executor event");
                return;
            }
        };
        if let Err(why) = stream.events.send(&record) {
            tracing::info!(executor = %self.who.executor_id, %why, "a v1 executor stream ended");
            let id = stream.id;
            self.detach(id, ctx);
        }
    }

    /// A SUBSCRIBE: its stream replaces the earlier one (whose response
    /// then ends), and the executor registers again.
    fn attach(&mut self, a: Attach, ctx: &mut Ctx<'_, Self>) {
        self.launched.extend(a.tasks);
        self.stream = Some(Stream {
            id: a.stream,
            events: a.events,
            format: a.format,
            subscribed: false,
            tries: 0,
            unacknowledged: a.updates,
        });
        self.detached = None;
        self.register(a.stream, ctx);
    }

    /// Stream `id`'s client went away (an earlier stream's end is old news).
    fn detach(&mut self, id: u64, ctx: &mut Ctx<'_, Self>) {
        if self.stream.as_ref().is_none_or(|s| s.id != id) {
            return;
        }
        self.stream = None;
        let since = ctx.now();
        self.detached = Some(since);
        ctx.delay(RESUBSCRIBE_WAIT, move |me: &mut Self, ctx| {
            if me.detached == Some(since) {
                me.retire(ctx);
            }
        });
    }

    /// Writes a HEARTBEAT on stream `id` every [`HEARTBEAT_EVERY`], for as
    /// long as it is the session's stream.
    fn beat(&mut self, id: u64, ctx: &mut Ctx<'_, Self>) {
        ctx.delay(HEARTBEAT_EVERY, move |me: &mut Self, ctx| {
            if me.stream.as_ref().is_some_and(|s| s.id == id) {
                me.emit(&Event::bare(EventType::Heartbeat), ctx);
                me.beat(id, ctx);
            }
        });
    }

    /// Ends the session unless a SUBSCRIBE waits in its inbox.
    fn retire(&mut self, ctx: &mut Ctx<'_, Self>) {
        let who = &self.who;
        if self
            .subscriptions
            .retire(&who.framework_id, &who.executor_id, &self.inbox)
        {
            ctx.stop();
        }
    }

    fn register(&mut self, stream: u64, ctx: &mut Ctx<'_, Self>) {
        let Some(s) = self.stream.as_mut().filter(|s| s.id == stream) else {
            return;
        };
        if s.subscribed {
            return;
        }
        if s.tries == REGISTER_TRIES {
            tracing::info!(
                framework = %self.who.framework_id,
                executor = %self.who.executor_id,
                "no task of this agent names the v1 executor; ending its subscription"
            );
            self.stream = None;
            self.retire(ctx);
            return;
        }
        s.tries += 1;
        let register = RegisterExecutor {
            framework_id: FrameworkId(self.who.framework_id.clone()),
            executor_id: self.who.executor_id.clone(),
        };
        let agent = self.agent.clone();
        ctx.send(&agent, register);
        ctx.delay(REGISTER_EVERY, move |me: &mut Self, ctx| {
            me.register(stream, ctx)
        });
    }

    /// The agent took the executor: SUBSCRIBED, then its unacknowledged
    /// updates go to the agent again (it drops what it already holds).
    fn subscribed(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(s) = self.stream.as_mut() else {
            return;
        };
        if s.subscribed {
            return;
        }
        s.subscribed = true;
        let stream = s.id;
        let resend = std::mem::take(&mut s.unacknowledged);
        let who = &self.who;
        let event = Event {
            subscribed: Some(v1::Subscribed {
                executor_info: json!({
                    "executor_id": {"value": who.executor_id},
                    "framework_id": {"value": who.framework_id},
                    "command": {"value": self.command, "shell": true},
                    "type": "CUSTOM",
                }),
                framework_info: json!({
                    "id": {"value": who.framework_id}, "user": "", "name": "",
                }),
                agent_info: json!({
                    "id": {"value": who.agent_id}, "hostname": who.hostname,
                }),
            }),
            ..Event::bare(EventType::Subscribed)
        };
        self.emit(&event, ctx);
        self.beat(stream, ctx);
        let agent = self.agent.clone();
        for update in resend {
            ctx.send(&agent, update);
        }
    }

    /// Whether a message from the agent is for a stream the agent took.
    fn agent_speaks_to_stream(&self, ctx: &Ctx<'_, Self>) -> bool {
        ctx.sender() == Some(&self.agent) && self.stream.as_ref().is_some_and(|s| s.subscribed)
    }
}

impl Actor for Session {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Poke>()
            .on::<RunTask>()
            .on::<ExecutorReregistered>()
            .on::<KillTask>()
            .on::<UpdateAck>()
            .on::<FrameworkMessage>()
            .on::<ShutdownExecutor>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        // Its first SUBSCRIBE waits in the inbox.
        let me = ctx.me().clone();
        ctx.send(&me, Poke);
    }

    fn stopped(&mut self, _: &mut Ctx<'_, Self>) {
        let who = &self.who;
        self.subscriptions
            .remove(&who.framework_id, &who.executor_id, &self.inbox);
        // A SUBSCRIBE that came too late is dropped with its stream, which
        // ends its response: the executor subscribes again.
        Inbox::close(&self.inbox);
    }
}

impl Handler<Poke> for Session {
    fn handle(&mut self, _: Poke, ctx: &mut Ctx<'_, Self>) {
        loop {
            match Inbox::next(&self.inbox) {
                Next::Call(FromExecutor::Attach(a)) => self.attach(a, ctx),
                Next::Call(FromExecutor::Detach(id)) => self.detach(id, ctx),
                Next::Call(FromExecutor::Update(update)) => {
                    let agent = self.agent.clone();
                    ctx.send(&agent, update);
                }
                Next::Call(FromExecutor::Message(message)) => {
                    let agent = self.agent.clone();
                    ctx.send(&agent, message);
                }
                Next::Empty => break,
                Next::Closed => {
                    ctx.stop();
                    return;
                }
            }
        }
        // Its wait ran out while something was in its inbox.
        if self
            .detached
            .is_some_and(|since| ctx.now().saturating_since(since) >= RESUBSCRIBE_WAIT)
        {
            self.retire(ctx);
        }
    }
}

impl Handler<ExecutorReregistered> for Session {
    fn handle(&mut self, _: ExecutorReregistered, ctx: &mut Ctx<'_, Self>) {
        if ctx.sender() == Some(&self.agent) {
            self.subscribed(ctx);
        }
    }
}

impl Handler<RunTask> for Session {
    fn handle(&mut self, msg: RunTask, ctx: &mut Ctx<'_, Self>) {
        if ctx.sender() != Some(&self.agent) {
            return;
        }
        if self.command.is_empty() {
            if let Some(e) = &msg.task.executor {
                self.command = e.command.clone();
            }
        }
        self.subscribed(ctx);
        if !self.stream.as_ref().is_some_and(|s| s.subscribed)
            || !self.launched.insert(msg.task.task_id.0.clone())
        {
            // No stream: the agent sends it again when the executor is
            // back (it has not reported on it).
            return;
        }
        let event = Event {
            launch: Some(v1::Launch {
                task: task_info_out(&msg.task, &self.who.agent_id),
            }),
            ..Event::bare(EventType::Launch)
        };
        self.emit(&event, ctx);
    }
}

impl Handler<KillTask> for Session {
    fn handle(&mut self, msg: KillTask, ctx: &mut Ctx<'_, Self>) {
        // Without a stream the kill is lost; the agent passes it on again
        // when the executor registers.
        if self.agent_speaks_to_stream(ctx) {
            let event = Event {
                kill: Some(v1::Kill {
                    task_id: Id::of(&msg.task_id.0),
                }),
                ..Event::bare(EventType::Kill)
            };
            self.emit(&event, ctx);
        }
    }
}

impl Handler<UpdateAck> for Session {
    fn handle(&mut self, msg: UpdateAck, ctx: &mut Ctx<'_, Self>) {
        // Without a stream the executor resends the update when back.
        if self.agent_speaks_to_stream(ctx) {
            let event = Event {
                acknowledged: Some(v1::Acknowledged {
                    task_id: Id::of(&msg.task_id.0),
                    uuid: STANDARD.encode(msg.uuid),
                }),
                ..Event::bare(EventType::Acknowledged)
            };
            self.emit(&event, ctx);
        }
    }
}

impl Handler<FrameworkMessage> for Session {
    fn handle(&mut self, msg: FrameworkMessage, ctx: &mut Ctx<'_, Self>) {
        // Without a stream the message is lost, as Mesos's best effort.
        if self.agent_speaks_to_stream(ctx) {
            let event = Event {
                message: Some(v1::Message {
                    data: message_data_out(&msg.data),
                }),
                ..Event::bare(EventType::Message)
            };
            self.emit(&event, ctx);
        }
    }
}

impl Handler<ShutdownExecutor> for Session {
    fn handle(&mut self, _: ShutdownExecutor, ctx: &mut Ctx<'_, Self>) {
        if ctx.sender() == Some(&self.agent) {
            // The executor stops its tasks and exits; the agent's grace
            // period runs against its process, as for any executor.
            self.emit(&Event::bare(EventType::Shutdown), ctx);
            ctx.stop();
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
