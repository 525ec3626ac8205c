//! One v1 executor's subscription: an actor on the agent's node that is
//! the executor to the agent. It registers with the agent under the
//! executor's framework and id, writes what the agent sends (its tasks,
//! kills, acknowledgements, shutdown) as Mesos events onto the stream, and
//! relays the executor's status updates. The agent cannot tell it from a
//! Corral executor; the executor's process is still the one the agent
//! launched, and its end is still what ends its tasks.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use corral_api::executor::{KillTask, RegisterExecutor, RunTask, ShutdownExecutor, UpdateAck};
use corral_api::ids::FrameworkId;
use corral_http::v1::convert::task_info_out;
use corral_http::v1::executor::{self as v1, Event, EventType};
use corral_http::v1::recordio;
use corral_http::v1::shapes::Id;
use corral_http::v1::stream::{EventSender, Inbox, Next, Poke};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid};
use serde_json::json;

use super::subscriptions::{SharedInbox, Subscriptions};

/// How often registration is resent until the agent answers, and how many
/// times before the session gives up (the agent knows no such executor).
const REGISTER_EVERY: Duration = Duration::from_secs(1);
const REGISTER_TRIES: u32 = 10;

/// Who the executor is and where it runs.
pub(super) struct Identity {
    pub framework_id: String,
    pub executor_id: String,
    pub agent_id: String,
    pub hostname: String,
}

/// The actor of one executor's subscription.
pub(super) struct Session {
    agent: Pid,
    who: Identity,
    events: EventSender,
    inbox: SharedInbox,
    subscriptions: Subscriptions,
    subscribed: bool,
    tries: u32,
    launched: BTreeSet<String>,
}

impl Session {
    pub(super) fn new(
        agent: Pid,
        who: Identity,
        events: EventSender,
        inbox: SharedInbox,
        subscriptions: Subscriptions,
    ) -> Session {
        Session {
            agent,
            who,
            events,
            inbox,
            subscriptions,
            subscribed: false,
            tries: 0,
            launched: BTreeSet::new(),
        }
    }

    fn emit(&mut self, event: &Event, ctx: &mut Ctx<'_, Self>) {
        let record = match serde_json::to_vec(event) {
            Ok(json) => recordio::frame(&json),
            Err(e) => {
                tracing::error!(error = %e, "cannot write a v1 executor event");
                return;
            }
        };
        if self.events.send(record.into()).is_err() {
            ctx.stop();
        }
    }

    fn register(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.subscribed {
            return;
        }
        if self.tries == REGISTER_TRIES {
            tracing::info!(
                framework = %self.who.framework_id,
                executor = %self.who.executor_id,
                "no task of this agent names the v1 executor; ending its subscription"
            );
            ctx.stop();
            return;
        }
        self.tries += 1;
        let register = RegisterExecutor {
            framework_id: FrameworkId(self.who.framework_id.clone()),
            executor_id: self.who.executor_id.clone(),
        };
        let agent = self.agent.clone();
        ctx.send(&agent, register);
        ctx.delay(REGISTER_EVERY, |me: &mut Self, ctx| me.register(ctx));
    }

    fn sent_by_agent(&self, ctx: &Ctx<'_, Self>) -> bool {
        ctx.sender() == Some(&self.agent)
    }
}

impl Actor for Session {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Poke>()
            .on::<RunTask>()
            .on::<KillTask>()
            .on::<UpdateAck>()
            .on::<ShutdownExecutor>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.register(ctx);
    }

    fn stopped(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.subscriptions
            .remove(&self.who.framework_id, &self.who.executor_id, ctx.me());
    }
}

impl Handler<Poke> for Session {
    fn handle(&mut self, _: Poke, ctx: &mut Ctx<'_, Self>) {
        loop {
            match Inbox::next(&self.inbox) {
                Next::Call(update) => {
                    let agent = self.agent.clone();
                    ctx.send(&agent, update);
                }
                Next::Empty => return,
                Next::Closed => {
                    ctx.stop();
                    return;
                }
            }
        }
    }
}

impl Handler<RunTask> for Session {
    fn handle(&mut self, msg: RunTask, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_agent(ctx) || !self.launched.insert(msg.task.task_id.0.clone()) {
            return;
        }
        if !self.subscribed {
            self.subscribed = true;
            let command = msg
                .task
                .executor
                .as_ref()
                .map_or("", |e| e.command.as_str());
            let who = &self.who;
            let event = Event {
                subscribed: Some(v1::Subscribed {
                    executor_info: json!({
                        "executor_id": {"value": who.executor_id},
                        "framework_id": {"value": who.framework_id},
                        "command": {"value": command, "shell": true},
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
        if self.sent_by_agent(ctx) {
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
        if self.sent_by_agent(ctx) {
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

impl Handler<ShutdownExecutor> for Session {
    fn handle(&mut self, _: ShutdownExecutor, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_agent(ctx) {
            // The executor stops its tasks and exits; the agent's grace
            // period runs against its process, as for any executor.
            self.emit(&Event::bare(EventType::Shutdown), ctx);
            ctx.stop();
        }
    }
}
