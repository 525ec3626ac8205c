//! Raw actix baseline: two plain actix actors on one thread exchanging `Vec<u8>` payloads.

use std::time::{Duration, Instant};

use actix::prelude::*;
use anyhow::{anyhow, bail, Context as _};
use tokio::sync::oneshot;

/// Most messages the sender may have delivered but not yet had acknowledged.
const WINDOW: u64 = 1024;
/// The receiver acknowledges after this many messages.
const ACK_EVERY: u64 = 256;

/// One benchmark message carrying its payload.
struct Payload(Vec<u8>);

impl Message for Payload {
    type Result = ();
}

/// Receiver -> sender: this many more messages were received.
struct Ack(u64);

impl Message for Ack {
    type Result = ();
}

struct SenderActor {
    peer: Addr<ReceiverActor>,
    n: u64,
    payload: usize,
    sent: u64,
    acked: u64,
    started_at: Option<oneshot::Sender<Instant>>,
}

impl SenderActor {
    fn fill_window(&mut self) {
        while self.sent < self.n && self.sent - self.acked < WINDOW {
            self.peer.do_send(Payload(vec![0u8; self.payload]));
            self.sent += 1;
        }
    }
}

impl Actor for SenderActor {
    type Context = Context<Self>;

    #[allow(clippy::disallowed_methods)]
    fn started(&mut self, _ctx: &mut Self::Context) {
        if let Some(tx) = self.started_at.take() {
            let _ = tx.send(Instant::now());
        }
        self.fill_window();
    }
}

impl Handler<Ack> for SenderActor {
    type Result = ();

    fn handle(&mut self, msg: Ack, _ctx: &mut Self::Context) {
        self.acked += msg.0;
        self.fill_window();
    }
}

struct ReceiverActor {
    sender: Addr<SenderActor>,
    n: u64,
    received: u64,
    bytes: u64,
    unacked: u64,
    finished_at: Option<oneshot::Sender<(Instant, u64)>>,
}

impl Actor for ReceiverActor {
    type Context = Context<Self>;
}

impl Handler<Payload> for ReceiverActor {
    type Result = ();

    #[allow(clippy::disallowed_methods)]
    fn handle(&mut self, msg: Payload, _ctx: &mut Self::Context) {
        self.received += 1;
        self.bytes += msg.0.len() as u64;
        if self.received == self.n {
            if let Some(tx) = self.finished_at.take() {
                let _ = tx.send((Instant::now(), self.bytes));
            }
            return;
        }
        self.unacked += 1;
        if self.unacked == ACK_EVERY {
            self.sender.do_send(Ack(self.unacked));
            self.unacked = 0;
        }
    }
}

/// Messages per second between two plain actix actors in one thread: a sender actor delivers
/// `n` messages each carrying `payload` bytes (a `Vec<u8>`) to a receiver with `Addr::do_send`,
/// with a window of at most 1024 unacknowledged messages (the receiver acks every 256 via the
/// sender's `Addr`) so queues stay bounded. Time from first send to the last message received.
///
/// Runs on a fresh single-threaded `actix::System` in a dedicated OS thread (so it may be called
/// from anywhere, even from inside another runtime); the system is stopped when done.
pub fn actix_msgs_per_s(n: u64, payload: usize) -> anyhow::Result<f64> {
    if n == 0 {
        bail!("actix_msgs_per_s: n must be > 0");
    }
    std::thread::Builder::new()
        .name("raw-actix-bench".into())
        .spawn(move || run_system(n, payload))
        .context("spawning the raw actix benchmark thread")?
        .join()
        .map_err(|_| anyhow!("raw actix benchmark thread panicked"))?
}

fn run_system(n: u64, payload: usize) -> anyhow::Result<f64> {
    let sys = System::new();
    let elapsed = sys.block_on(async move {
        let (start_tx, start_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let _receiver = ReceiverActor::create(move |ctx| {
            let sender = SenderActor {
                peer: ctx.address(),
                n,
                payload,
                sent: 0,
                acked: 0,
                started_at: Some(start_tx),
            }
            .start();
            ReceiverActor {
                sender,
                n,
                received: 0,
                bytes: 0,
                unacked: 0,
                finished_at: Some(done_tx),
            }
        });
        let start = start_rx.await.context("sender actor never started")?;
        let (end, bytes) = done_rx
            .await
            .context("receiver actor stopped before the last message")?;
        System::current().stop();
        let expected = n * payload as u64;
        if bytes != expected {
            bail!("receiver got {bytes} payload bytes, expected {expected}");
        }
        anyhow::Ok(end.saturating_duration_since(start))
    })?;
    sys.run().context("stopping the actix system")?;
    Ok(rate(n, elapsed))
}

fn rate(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}
