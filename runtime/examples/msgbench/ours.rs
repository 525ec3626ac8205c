//! Corral's side of msgbench: a windowed blaster and a counting receiver
//! (same flow control as the raw actix baseline), and sequential asks.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use anyhow::Context;
use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Node, NodeConfig, Pid, Time};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Messages in flight before the blaster waits for an ack.
const WINDOW: u64 = 16 * 1024;
/// The receiver acks every this many messages.
const ACK_EVERY: u64 = 512;

#[derive(Serialize, Deserialize)]
struct Payload(ByteBuf);
#[derive(Serialize, Deserialize)]
struct Ack(u64);
#[derive(Serialize, Deserialize)]
struct Echo(ByteBuf);
message!(Payload = "bench.Payload");
message!(Ack = "bench.Ack");
message!(Echo = "bench.Echo" => Echo);

/// Counts payloads, acks every `ACK_EVERY` to whoever sent them.
#[derive(Default)]
struct Receiver {
    count: u64,
}
impl Actor for Receiver {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Payload>();
    }
}
impl Handler<Payload> for Receiver {
    fn handle(&mut self, _: Payload, ctx: &mut Ctx<'_, Self>) {
        self.count += 1;
        if self.count % ACK_EVERY == 0 {
            if let Some(from) = ctx.sender().cloned() {
                ctx.send(&from, Ack(self.count));
            }
        }
    }
}

/// Answers every echo with its own payload.
struct Echoer;
impl Actor for Echoer {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Echo>();
    }
}
impl Handler<Echo> for Echoer {
    fn handle(&mut self, msg: Echo, ctx: &mut Ctx<'_, Self>) {
        ctx.reply(msg);
    }
}

/// Sends `n` payloads keeping at most `WINDOW` unacknowledged; reports the
/// time from first send to the last ack.
struct Blaster {
    to: Pid,
    n: u64,
    sent: u64,
    payload: ByteBuf,
    start: Time,
    done: Sender<Duration>,
}
impl Blaster {
    fn fill(&mut self, acked: u64, ctx: &mut Ctx<'_, Self>) {
        while self.sent < self.n && self.sent - acked < WINDOW {
            ctx.send(&self.to, Payload(self.payload.clone()));
            self.sent += 1;
        }
    }
}
impl Actor for Blaster {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ack>();
    }
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.start = ctx.now();
        self.fill(0, ctx);
    }
}
impl Handler<Ack> for Blaster {
    fn handle(&mut self, Ack(acked): Ack, ctx: &mut Ctx<'_, Self>) {
        if acked >= self.n {
            let _ = self.done.send(ctx.now() - self.start);
            ctx.stop();
            return;
        }
        self.fill(acked, ctx);
    }
}

/// Sequential asks; reports every round trip.
struct Pinger {
    to: Pid,
    left: usize,
    warmup: usize,
    sent_at: Time,
    samples: Vec<Duration>,
    done: Sender<Vec<Duration>>,
}
impl Pinger {
    fn next(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.left == 0 {
            let _ = self.done.send(std::mem::take(&mut self.samples));
            ctx.stop();
            return;
        }
        self.left -= 1;
        self.sent_at = ctx.now();
        let to = self.to.clone();
        ctx.ask(
            &to,
            Echo(ByteBuf::from(vec![7u8; 64])),
            Duration::from_secs(5),
            |p: &mut Self, r, ctx| {
                let rtt = ctx.now() - p.sent_at;
                if r.is_ok() {
                    if p.warmup > 0 {
                        p.warmup -= 1;
                    } else {
                        p.samples.push(rtt);
                    }
                }
                p.next(ctx);
            },
        );
    }
}
impl Actor for Pinger {
    fn handlers(_: &mut Handlers<Self>) {}
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.next(ctx);
    }
}

fn blast(node: &Node, to: Pid, n: u64, payload_bytes: usize) -> anyhow::Result<f64> {
    assert_eq!(n % ACK_EVERY, 0, "n must be a multiple of ACK_EVERY");
    let (tx, rx) = mpsc::channel();
    node.spawn(
        "blaster",
        Blaster {
            to,
            n,
            sent: 0,
            payload: ByteBuf::from(vec![0xA5; payload_bytes]),
            start: Time::ZERO,
            done: tx,
        },
    )?;
    let took = rx
        .recv_timeout(Duration::from_secs(120))
        .context("blast did not finish")?;
    Ok(n as f64 / took.as_secs_f64())
}

/// Messages/s between two actors on one node.
pub fn local_msgs_per_s(n: u64, payload_bytes: usize) -> anyhow::Result<f64> {
    let node = Node::start(NodeConfig::default())?;
    let to = node.spawn("receiver", Receiver::default())?;
    blast(&node, to, n, payload_bytes)
}

/// Messages/s from this process to the `serve-node` peer.
pub fn remote_msgs_per_s(peer: SocketAddr, n: u64, payload_bytes: usize) -> anyhow::Result<f64> {
    let node = Node::start(NodeConfig::default())?;
    blast(&node, Pid::new("receiver", peer)?, n, payload_bytes)
}

/// Round trips of 64-byte asks to the `serve-node` peer: (p50, p99) in µs.
pub fn remote_rtt_us(peer: SocketAddr, samples: usize) -> anyhow::Result<(f64, f64)> {
    let node = Node::start(NodeConfig::default())?;
    let (tx, rx) = mpsc::channel();
    let warmup = 1000;
    node.spawn(
        "pinger",
        Pinger {
            to: Pid::new("echo", peer)?,
            left: samples + warmup,
            warmup,
            sent_at: Time::ZERO,
            samples: Vec::with_capacity(samples),
            done: tx,
        },
    )?;
    let mut rtts = rx
        .recv_timeout(Duration::from_secs(120))
        .context("pings did not finish")?;
    anyhow::ensure!(
        rtts.len() == samples,
        "{} of {samples} asks answered",
        rtts.len()
    );
    rtts.sort();
    let pct = |p: f64| rtts[((rtts.len() as f64 * p) as usize).min(rtts.len() - 1)];
    Ok((pct(0.50).as_secs_f64() * 1e6, pct(0.99).as_secs_f64() * 1e6))
}

/// The peer process for the remote figures: a node with a receiver and an
/// echo actor; prints `ready <addr>` and runs until stdin closes.
pub fn serve_node() -> anyhow::Result<()> {
    let node = Node::start(NodeConfig::default())?;
    node.spawn("receiver", Receiver::default())?;
    node.spawn("echo", Echoer)?;
    println!("ready {}", node.addr());
    std::io::stdout().flush()?;
    let mut buf = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut buf);
    Ok(())
}
