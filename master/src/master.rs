//! The master actor: a thin shell that runs [`MasterCore`] on a node.
//!
//! It hands every message, timer and answer to the core with the event's
//! time, and carries out the [`Action`]s the core answers with, in order,
//! through [`Ctx`]: sends, questions, links and timers (the core names its
//! timers; the shell keeps their runtime ids). It also spawns the
//! allocator beside the master and passes on only that allocator's
//! decisions, and answers the operator's queries from the core.
//!
//! Given a [`StateBoard`] ([`Master::publishing_to`]), it publishes the
//! core's state there for HTTP readers after each change, at most once per
//! the board's interval (see [`crate::board`]): the first change after a
//! quiet spell sets a timer that fires at once, later ones wait for the
//! interval to end. Without a board (the simulator) it sets no such timer.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_runtime::{Actor, Ctx, Handler, Handlers, Message, Pid, Time, TimerId};

use crate::allocator::messages::{Allocations, GetCycleTimes};
use crate::allocator::AllocatorActor;
use crate::board::StateBoard;
pub use crate::core::config::{Authentication, MasterBug, MasterConfig, MasterConfigError};
use crate::core::effects::{Action, Answer, Clock, Courier, Input, Question, Then, TimerKey};
use crate::core::{MasterCore, ViewCache};
use crate::registrar::{GetLeader, GetRegistry, Propose};
use crate::state::{
    GetLeadership, GetMetrics, GetState, MasterMetrics, OperatorKill, OperatorTeardown,
};
use corral_api::agent::{ExecutorToFramework, ExitedExecutor, Ping, RegisterAgent, StatusUpdate};
use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkMessage, Kill, Reconcile, Revive, Subscribe, Suppress,
    Teardown,
};

/// The name the master spawns its allocator under, beside itself (HTTP
/// readers ask it for its pass times).
pub const ALLOCATOR_NAME: &str = "allocator";

/// How long the master waits for the allocator's pass times before it
/// answers a metrics query without them. The allocator runs on the
/// master's node, so only a pass that is still running can make it wait.
pub const CYCLE_TIMES_TIMEOUT: Duration = Duration::from_secs(1);

/// The master actor. Spawn it under [`Master::NAME`]; it spawns its
/// allocator next to itself when it starts.
///
/// Alone ([`Master::new`]) it always leads. Replicated
/// ([`Master::replicated`]) it leads while its registrar is the Raft
/// leader.
pub struct Master {
    stage: Stage,
    allocator: Option<Pid>,
    /// The runtime's ids of the core's timers that have not fired.
    timers: BTreeMap<TimerKey, TimerId>,
    /// Where the state is published, if anywhere.
    publishing: Option<Publishing>,
}

/// The master's publications to its board.
struct Publishing {
    board: StateBoard,
    /// What the last publication built, for the next one to reuse.
    cache: ViewCache,
    /// When the last publication was made.
    last: Option<Time>,
    /// Whether a publication is due (its timer is set).
    due: bool,
}

/// The core needs the actor's own address, known once it is spawned.
enum Stage {
    Unstarted {
        cfg: Box<MasterConfig>,
        registrar: Option<Pid>,
    },
    Started(Box<MasterCore>),
}

impl Master {
    /// The name masters are spawned under, so agents and frameworks can
    /// address `master@host:port`.
    pub const NAME: &'static str = crate::core::MASTER_NAME;

    /// A master with `cfg`, alone. Panics if `cfg` does not validate (a
    /// programmer error: binaries validate flags first).
    pub fn new(cfg: MasterConfig) -> Master {
        if let Err(e) = cfg.validate() {
            panic!("invalid master config: {e}");
        }
        Master {
            stage: Stage::Unstarted {
                cfg: Box::new(cfg),
                registrar: None,
            },
            allocator: None,
            timers: BTreeMap::new(),
            publishing: None,
        }
    }

    /// This master, publishing its state to `board` for HTTP readers
    /// (see [`crate::board`]).
    pub fn publishing_to(mut self, board: StateBoard) -> Master {
        self.publishing = Some(Publishing {
            board,
            cache: ViewCache::default(),
            last: None,
            due: false,
        });
        self
    }

    /// A master among several, which leads while `registrar` (the
    /// registrar actor on its node) is the Raft leader.
    pub fn replicated(cfg: MasterConfig, registrar: Pid) -> Master {
        let mut master = Master::new(cfg);
        if let Stage::Unstarted { registrar: r, .. } = &mut master.stage {
            *r = Some(registrar);
        }
        master
    }

    fn core(&mut self) -> Option<&mut MasterCore> {
        match &mut self.stage {
            Stage::Started(core) => Some(core),
            Stage::Unstarted { .. } => None,
        }
    }

    /// Hands `input` to the core and carries out what it answers.
    fn run(&mut self, input: Input, ctx: &mut Ctx<'_, Self>) {
        let clock = clock(ctx);
        let from = ctx.sender().cloned();
        let Some(core) = self.core() else { return };
        let actions = core.handle_certified(clock, from.as_ref(), ctx.certified(), input);
        self.carry_out(actions, ctx);
        self.changed(ctx);
    }

    /// The core's state may have changed: a publication is due, at once
    /// after a quiet spell, else when the interval since the last ends.
    fn changed(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(p) = &mut self.publishing else {
            return;
        };
        if p.due {
            return;
        }
        p.due = true;
        let now = ctx.now();
        let wait = p.last.map_or(Duration::ZERO, |last| {
            (last + p.board.publish_every()).saturating_since(now)
        });
        ctx.delay(wait, |m: &mut Self, ctx| m.publish(ctx));
    }

    /// Publishes the core's state to the board.
    fn publish(&mut self, ctx: &mut Ctx<'_, Self>) {
        let (Stage::Started(core), Some(p)) = (&mut self.stage, &mut self.publishing) else {
            return;
        };
        let began = ctx.elapsed_clock();
        p.due = false;
        p.last = Some(ctx.now());
        let state = core.publication(&mut p.cache);
        let metrics = core.published_metrics(&p.cache, &state);
        let took = ctx.elapsed_clock().saturating_since(began);
        let events = core.take_operator_events();
        p.board
            .publish(state, metrics, core.leadership(), took, events);
    }

    fn carry_out(&mut self, actions: Vec<Action>, ctx: &mut Ctx<'_, Self>) {
        for action in actions {
            match action {
                Action::Send(to, msg) => msg.deliver(&to, ctx),
                Action::Allocator(msg) => {
                    if let Some(allocator) = &self.allocator {
                        msg.deliver(allocator, ctx);
                    }
                }
                Action::Ask {
                    to,
                    question,
                    timeout,
                    then,
                } => ask(ctx, &to, question, timeout, then),
                Action::Link(pid) => ctx.link(&pid),
                Action::Unlink(pid) => ctx.unlink(&pid),
                Action::SetTimer { key, after, timer } => {
                    let id = ctx.delay(after, move |m: &mut Self, ctx| {
                        m.timers.remove(&key);
                        m.run(Input::Timer(timer), ctx);
                    });
                    self.timers.insert(key, id);
                }
                Action::CancelTimer(key) => {
                    if let Some(id) = self.timers.remove(&key) {
                        ctx.cancel(id);
                    }
                }
            }
        }
    }
}

fn clock(ctx: &Ctx<'_, Master>) -> Clock {
    Clock {
        now: ctx.now(),
        unix_ms: ctx.unix_time_ms(),
    }
}

impl Courier for Ctx<'_, Master> {
    fn deliver<M: Message>(&mut self, to: &Pid, msg: M) {
        self.send(to, msg);
    }
}

/// Asks `question` of `to`; the answer goes back to the core with `then`.
fn ask(ctx: &mut Ctx<'_, Master>, to: &Pid, question: Question, timeout: Duration, then: Then) {
    let answer = |answer: Answer| {
        move |m: &mut Master, ctx: &mut Ctx<'_, Master>| m.run(Input::Answer(then, answer), ctx)
    };
    match question {
        Question::Ping => ctx.ask(to, Ping, timeout, move |m: &mut Master, r, ctx| {
            answer(Answer::Pong(r))(m, ctx)
        }),
        Question::GetLeader => ctx.ask(to, GetLeader, timeout, move |m: &mut Master, r, ctx| {
            answer(Answer::Leader(r))(m, ctx)
        }),
        Question::GetRegistry => {
            ctx.ask(to, GetRegistry, timeout, move |m: &mut Master, r, ctx| {
                answer(Answer::Registry(r))(m, ctx)
            })
        }
        Question::Propose(op) => ctx.ask(
            to,
            Propose { op: *op },
            timeout,
            move |m: &mut Master, r, ctx| answer(Answer::Proposed(r))(m, ctx),
        ),
    }
}

impl Actor for Master {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribe>()
            .on::<Accept>()
            .on::<Decline>()
            .on::<Revive>()
            .on::<Suppress>()
            .on::<Kill>()
            .on::<Acknowledge>()
            .on::<Reconcile>()
            .on::<Teardown>()
            .on::<RegisterAgent>()
            .on::<StatusUpdate>()
            .on::<FrameworkMessage>()
            .on::<ExecutorToFramework>()
            .on::<ExitedExecutor>()
            .on::<Allocations>()
            .on::<GetState>()
            .on::<GetMetrics>()
            .on::<GetLeadership>()
            .on::<OperatorKill>()
            .on::<OperatorTeardown>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Stage::Unstarted { cfg, registrar } = &self.stage else {
            return;
        };
        let (cfg, registrar) = ((**cfg).clone(), registrar.clone());
        let mut random = [0u8; 4];
        ctx.rng().fill_bytes(&mut random);
        let allocator = AllocatorActor::new(ctx.me().clone(), cfg.allocator.clone());
        match ctx.spawn(ALLOCATOR_NAME, allocator) {
            Ok(pid) => self.allocator = Some(pid),
            // Only a name clash on this node; without an allocator nothing
            // is ever offered, so say it loudly.
            Err(e) => tracing::error!(%e, "cannot start the allocator"),
        }
        let mut core = MasterCore::new(cfg, registrar, ctx.me().clone(), random);
        if self.publishing.is_some() {
            core.record_operator_events();
        }
        let actions = core.handle_started(clock(ctx));
        self.stage = Stage::Started(Box::new(core));
        self.carry_out(actions, ctx);
        self.changed(ctx);
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        self.run(Input::Exited(pid.clone()), ctx);
    }
}

/// Hands each message type to the core.
macro_rules! to_core {
    ($($msg:ident),*) => {$(
        impl Handler<$msg> for Master {
            fn handle(&mut self, m: $msg, ctx: &mut Ctx<'_, Self>) {
                self.run(Input::message(m), ctx);
            }
        }
    )*};
}

to_core!(
    Subscribe,
    Accept,
    Decline,
    Revive,
    Suppress,
    Kill,
    Acknowledge,
    Reconcile,
    Teardown,
    RegisterAgent,
    StatusUpdate,
    FrameworkMessage,
    ExecutorToFramework,
    ExitedExecutor
);

impl Handler<Allocations> for Master {
    fn handle(&mut self, m: Allocations, ctx: &mut Ctx<'_, Self>) {
        if ctx.sender() != self.allocator.as_ref() {
            tracing::warn!(from = ?ctx.sender(), "allocations from a stranger dropped");
            return;
        }
        self.run(Input::message(m), ctx);
    }
}

impl Handler<GetLeadership> for Master {
    fn handle(&mut self, _: GetLeadership, ctx: &mut Ctx<'_, Self>) {
        if let Some(core) = self.core() {
            let answer = core.leadership();
            ctx.reply(answer);
        }
    }
}

impl Handler<GetState> for Master {
    fn handle(&mut self, _: GetState, ctx: &mut Ctx<'_, Self>) {
        if let Some(core) = self.core() {
            let state = core.snapshot();
            ctx.reply(state);
        }
    }
}

impl Handler<OperatorKill> for Master {
    fn handle(&mut self, m: OperatorKill, ctx: &mut Ctx<'_, Self>) {
        let clock = clock(ctx);
        let Some(core) = self.core() else { return };
        let (outcome, actions) = core.handle_operator_kill(clock, m);
        self.carry_out(actions, ctx);
        ctx.reply(outcome);
        self.changed(ctx);
    }
}

impl Handler<OperatorTeardown> for Master {
    fn handle(&mut self, m: OperatorTeardown, ctx: &mut Ctx<'_, Self>) {
        let clock = clock(ctx);
        let Some(core) = self.core() else { return };
        let (outcome, actions) = core.handle_operator_teardown(clock, m);
        self.carry_out(actions, ctx);
        ctx.reply(outcome);
    }
}

impl Handler<GetMetrics> for Master {
    fn handle(&mut self, _: GetMetrics, ctx: &mut Ctx<'_, Self>) {
        let Some(reply) = ctx.reply_to() else {
            return; // sent, not asked: nobody to answer
        };
        let Some(core) = self.core() else { return };
        let metrics = core.metrics();
        match self.allocator.clone() {
            Some(allocator) => {
                ctx.ask(
                    &allocator,
                    GetCycleTimes,
                    CYCLE_TIMES_TIMEOUT,
                    move |_: &mut Self, cycles, ctx| {
                        let metrics = MasterMetrics {
                            allocation_cycles: cycles.ok(),
                            ..metrics
                        };
                        ctx.respond(reply, metrics);
                    },
                );
            }
            None => ctx.respond(reply, metrics),
        }
    }
}
