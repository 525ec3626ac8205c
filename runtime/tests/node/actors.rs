//! Actors the tests run in both processes.

use std::sync::mpsc::Sender;

use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Pid, ReplyTo};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Ping(pub u64);
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Pong(pub u64);
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Seq(pub u64);
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitFor(pub u64);
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub count: u64,
    pub out_of_order: u64,
    pub last: Option<u64>,
}
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct GetStats;
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub decode_errors: u64,
    pub oversized_frames: u64,
    pub truncated_frames: u64,
    pub bad_streams: u64,
    pub handshakes_refused: u64,
}
message!(Ping = "test.Ping" => Pong);
message!(Pong = "test.Pong");
message!(Seq = "test.Seq");
message!(WaitFor = "test.WaitFor" => Report);
message!(Report = "test.Report");
message!(GetStats = "test.GetStats" => Stats);
message!(Stats = "test.Stats");

/// Answers an ask with `Pong(n+1)`; answers a tell by telling the sender.
pub struct Ponger;
impl Actor for Ponger {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>();
    }
}
impl Handler<Ping> for Ponger {
    fn handle(&mut self, Ping(n): Ping, ctx: &mut Ctx<'_, Self>) {
        if !ctx.reply(Pong(n + 1)) {
            if let Some(from) = ctx.sender().cloned() {
                ctx.send(&from, Pong(n + 1));
            }
        }
    }
}

/// Handles pings and never answers.
pub struct Silent;
impl Actor for Silent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>();
    }
}
impl Handler<Ping> for Silent {
    fn handle(&mut self, _: Ping, _: &mut Ctx<'_, Self>) {}
}

/// Counts `Seq` messages and whether they came in order; `WaitFor(n)` is
/// answered once `n` have arrived.
#[derive(Default)]
pub struct Sink {
    count: u64,
    out_of_order: u64,
    last: Option<u64>,
    waiting: Vec<(u64, ReplyTo)>,
}
impl Sink {
    fn report(&self) -> Report {
        Report {
            count: self.count,
            out_of_order: self.out_of_order,
            last: self.last,
        }
    }

    fn answer_ready(&mut self, ctx: &mut Ctx<'_, Self>) {
        let (ready, waiting): (Vec<_>, Vec<_>) =
            self.waiting.drain(..).partition(|(n, _)| self.count >= *n);
        self.waiting = waiting;
        for (_, rt) in ready {
            ctx.respond(rt, self.report());
        }
    }
}
impl Actor for Sink {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Seq>().on::<WaitFor>();
    }
}
impl Handler<Seq> for Sink {
    fn handle(&mut self, Seq(n): Seq, ctx: &mut Ctx<'_, Self>) {
        let expected = self.last.map_or(0, |l| l + 1);
        if n != expected {
            self.out_of_order += 1;
        }
        self.last = Some(n);
        self.count += 1;
        self.answer_ready(ctx);
    }
}
impl Handler<WaitFor> for Sink {
    fn handle(&mut self, WaitFor(n): WaitFor, ctx: &mut Ctx<'_, Self>) {
        if let Some(rt) = ctx.reply_to() {
            self.waiting.push((n, rt));
        }
        self.answer_ready(ctx);
    }
}

/// Reports the node's error counters.
pub struct StatsActor(pub std::sync::Arc<corral_runtime::Metrics>);
impl Actor for StatsActor {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<GetStats>();
    }
}
impl Handler<GetStats> for StatsActor {
    fn handle(&mut self, _: GetStats, ctx: &mut Ctx<'_, Self>) {
        let m = self.0.snapshot();
        ctx.reply(Stats {
            decode_errors: m.decode_errors,
            oversized_frames: m.oversized_frames,
            truncated_frames: m.truncated_frames,
            bad_streams: m.bad_streams,
            handshakes_refused: m.handshakes_refused,
        });
    }
}

/// Sends one ping on start and hands the pong it gets to the test thread.
pub struct Pinger {
    pub target: Pid,
    pub got: Sender<Pong>,
}
impl Actor for Pinger {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Pong>();
    }
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let target = self.target.clone();
        ctx.send(&target, Ping(7));
    }
}
impl Handler<Pong> for Pinger {
    fn handle(&mut self, pong: Pong, _: &mut Ctx<'_, Self>) {
        let _ = self.got.send(pong);
    }
}

/// Links to pids on start and hands every `exited` to the test thread.
pub struct Watcher {
    targets: Vec<Pid>,
    exited: Sender<Pid>,
}
impl Watcher {
    pub fn new(targets: Vec<Pid>, exited: Sender<Pid>) -> Watcher {
        Watcher { targets, exited }
    }
}
impl Actor for Watcher {
    fn handlers(_: &mut Handlers<Self>) {}
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        for t in &self.targets {
            ctx.link(t);
        }
    }
    fn exited(&mut self, pid: &Pid, _: &mut Ctx<'_, Self>) {
        let _ = self.exited.send(pid.clone());
    }
}
