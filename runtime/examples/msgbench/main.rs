//! msgbench: Corral's runtime measured next to raw actix and raw quinn, side
//! by side in one run, on this machine.
//!
//! `cargo run --release -p corral-runtime --example msgbench` prints one
//! `figure <name> <value> <unit>` line per figure. Remote figures use two OS
//! processes on loopback: this binary re-runs itself as the peer
//! (`serve-node` for Corral, `serve-quinn` for the raw quinn server).

#![allow(clippy::disallowed_methods)] // a benchmark reads the real clock

mod ours;
mod raw_actix;
mod raw_quinn;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};

const LOCAL_MSGS: u64 = 2_048_000;
const LOCAL_PAYLOAD_BYTES: usize = 64;
const REMOTE_MSGS: u64 = 400 * 1024;
const REMOTE_PAYLOAD_BYTES: usize = 1024;
const RTT_SAMPLES: usize = 10_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        None => run_all(),
        Some("serve-node") => ours::serve_node(),
        Some("serve-quinn") => raw_quinn::serve(SocketAddr::from(([127, 0, 0, 1], 0))),
        Some(other) => bail!("unknown mode {other:?}: run msgbench without arguments"),
    }
}

fn run_all() -> anyhow::Result<()> {
    println!(
        "# msgbench: {} cores; local payload {LOCAL_PAYLOAD_BYTES} B x {LOCAL_MSGS}, remote payload {REMOTE_PAYLOAD_BYTES} B x {REMOTE_MSGS}, {RTT_SAMPLES} round trips",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let local = ours::local_msgs_per_s(LOCAL_MSGS, LOCAL_PAYLOAD_BYTES)?;
    let actix = raw_actix::actix_msgs_per_s(LOCAL_MSGS, LOCAL_PAYLOAD_BYTES)?;
    figure("local_msgs_per_s", local, "msgs/s");
    figure("actix_msgs_per_s", actix, "msgs/s");

    let (remote, rtt) = {
        let peer = Peer::start("serve-node")?;
        let remote = ours::remote_msgs_per_s(peer.addr, REMOTE_MSGS, REMOTE_PAYLOAD_BYTES)?;
        (remote, ours::remote_rtt_us(peer.addr, RTT_SAMPLES)?)
    };
    let (quinn, quinn_rtt) = {
        let peer = Peer::start("serve-quinn")?;
        let quinn = raw_quinn::throughput(peer.addr, REMOTE_MSGS, REMOTE_PAYLOAD_BYTES)?;
        (quinn, raw_quinn::rtt(peer.addr, RTT_SAMPLES)?)
    };
    figure("remote_msgs_per_s", remote, "msgs/s");
    figure("quinn_msgs_per_s", quinn, "msgs/s");
    figure("remote_rtt_p50_us", rtt.0, "us");
    figure("remote_rtt_p99_us", rtt.1, "us");
    figure("quinn_rtt_p50_us", quinn_rtt.0, "us");
    figure("quinn_rtt_p99_us", quinn_rtt.1, "us");
    figure("local_vs_actix", local / actix, "ratio");
    figure("remote_vs_quinn", remote / quinn, "ratio");
    figure("rtt_p50_vs_quinn", rtt.0 / quinn_rtt.0, "ratio");
    Ok(())
}

fn figure(name: &str, value: f64, unit: &str) {
    let shown = if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    };
    println!("figure {name} {shown} {unit}");
}

/// The peer process: this binary in a serve mode, stopped when dropped.
struct Peer {
    child: Child,
    addr: SocketAddr,
}

impl Peer {
    fn start(mode: &str) -> anyhow::Result<Peer> {
        let exe = std::env::current_exe().context("locating msgbench")?;
        let mut child = Command::new(exe)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the peer process")?;
        let stdout = child.stdout.take().context("peer stdout")?;
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        lines
            .read_line(&mut line)
            .context("reading the peer's address")?;
        let addr = line
            .trim()
            .strip_prefix("ready ")
            .with_context(|| format!("peer said {line:?}, not `ready <addr>`"))?
            .parse()
            .context("peer address")?;
        std::thread::spawn(move || {
            let mut rest = Vec::new();
            let _ = lines.read_to_end(&mut rest);
        });
        Ok(Peer { child, addr })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Closing stdin asks the peer to exit; kill in case it does not.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
