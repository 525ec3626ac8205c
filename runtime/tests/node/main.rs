//! Node host tests with nodes in separate OS processes on 127.0.0.1.
//!
//! The test binary doubles as the peer node: `Child::start` re-runs this
//! executable with `CORRAL_TEST_CHILD` set and `--ignored --exact child_node`,
//! which makes the ignored `child_node` entry run a node (actors from
//! `actors.rs`) until its stdin closes.

#![allow(clippy::disallowed_methods)] // tests measure real elapsed time

mod actors;
mod certified;
mod child;
mod garbage;
mod lifecycle;
mod process;
mod restart;
mod storage;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use corral_runtime::node::tls::{generate_ca, generate_node_cert, TlsConfig};
use corral_runtime::{AskError, Node, NodeConfig};

use actors::{Ping, Pong, Report, Seq, Stats, WaitFor, Watcher};
use child::{Child, ChildOpts};

const ASK: Duration = Duration::from_secs(5);

/// Entry point of the child process. Ignored so that a normal run does not
/// count it as a test; `Child::start` selects it with `--ignored --exact`.
#[test]
#[ignore = "child-process entry point, run by Child::start"]
fn child_node() {
    child::run_child();
}

/// Logs to stderr at the level RUST_LOG asks for (default: warnings).
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn parent(link_timeout: Duration) -> Node {
    init_logs();
    Node::start(NodeConfig {
        link_timeout,
        ..NodeConfig::default()
    })
    .expect("parent node starts")
}

#[test]
fn ping_pong_across_processes() {
    let child = Child::start(ChildOpts::default());
    let node = parent(Duration::from_secs(5));
    let pong = child.pid("pong");
    assert_eq!(node.ask(&pong, Ping(41), ASK), Ok(Pong(42)));
    // One-way both ways: the child answers a tell by telling the sender back.
    let (tx, rx) = mpsc::channel();
    let pinger = node
        .spawn(
            "pinger",
            actors::Pinger {
                target: pong,
                got: tx,
            },
        )
        .unwrap();
    assert_eq!(pinger.name(), "pinger");
    assert_eq!(rx.recv_timeout(ASK), Ok(Pong(8)));
}

#[test]
fn ask_with_reply_and_ask_that_times_out() {
    let child = Child::start(ChildOpts::default());
    let node = parent(Duration::from_secs(5));
    assert_eq!(node.ask(&child.pid("pong"), Ping(1), ASK), Ok(Pong(2)));
    let started = Instant::now();
    let r = node.ask(&child.pid("silent"), Ping(1), Duration::from_millis(300));
    let waited = started.elapsed();
    assert_eq!(r, Err(AskError::Timeout));
    assert!(
        waited >= Duration::from_millis(300),
        "timed out early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "timeout took {waited:?}");
    // An actor that does not exist is reported as such, not as a timeout.
    assert_eq!(
        node.ask(&child.pid("nobody"), Ping(1), ASK),
        Err(AskError::NoSuchActor)
    );
}

#[test]
fn link_fires_exited_when_the_peer_process_is_killed() {
    let mut child = Child::start(ChildOpts::default());
    let node = parent(Duration::from_secs(1));
    let pong = child.pid("pong");
    assert_eq!(node.ask(&pong, Ping(1), ASK), Ok(Pong(2)));
    let (tx, rx) = mpsc::channel();
    node.spawn("watcher", Watcher::new(vec![pong.clone()], tx))
        .unwrap();
    // The link is established once the watcher's Link frame has been sent
    // ahead of this ask on the same ordered stream.
    assert_eq!(node.ask(&pong, Ping(2), ASK), Ok(Pong(3)));
    let killed = Instant::now();
    child.kill();
    let exited = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("exited fires");
    assert_eq!(exited, pong);
    let after = killed.elapsed();
    // Link timeout 1 s, plus a keep-alive period of slack.
    assert!(after < Duration::from_secs(3), "exited after {after:?}");
}

#[test]
fn an_ask_to_a_killed_peer_fails_when_the_peer_is_declared_dead_not_at_its_timeout() {
    let mut child = Child::start(ChildOpts::default());
    let node = parent(Duration::from_secs(1));
    assert_eq!(node.ask(&child.pid("pong"), Ping(1), ASK), Ok(Pong(2)));
    child.kill();
    let started = Instant::now();
    let r = node.ask(&child.pid("silent"), Ping(1), Duration::from_secs(30));
    assert_eq!(r, Err(AskError::Unreachable));
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
}

#[test]
fn ten_thousand_messages_arrive_in_order() {
    let child = Child::start(ChildOpts::default());
    let node = parent(Duration::from_secs(5));
    let sink = child.pid("sink");
    for n in 0..10_000 {
        node.send(&sink, Seq(n));
    }
    let report: Report = node
        .ask(&sink, WaitFor(10_000), Duration::from_secs(20))
        .expect("sink reports");
    assert_eq!(
        report,
        Report {
            count: 10_000,
            out_of_order: 0,
            last: Some(9_999)
        }
    );
}

#[test]
fn node_reconnects_after_the_peer_restarts() {
    let mut child = Child::start(ChildOpts::default());
    let port = child.addr.port();
    let node = parent(Duration::from_secs(1));
    let pong = child.pid("pong");
    assert_eq!(node.ask(&pong, Ping(1), ASK), Ok(Pong(2)));
    let (tx, rx) = mpsc::channel();
    node.spawn("watcher", Watcher::new(vec![pong.clone()], tx))
        .unwrap();
    assert_eq!(node.ask(&pong, Ping(2), ASK), Ok(Pong(3)));
    child.kill();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(pong.clone()));
    let child2 = Child::start(ChildOpts {
        port,
        ..ChildOpts::default()
    });
    assert_eq!(child2.pid("pong"), pong, "same address, same pid");
    // The old connection is gone (the link fired), so this dials afresh.
    assert_eq!(node.ask(&pong, Ping(3), ASK), Ok(Pong(4)));
}

#[test]
fn mutual_tls_refuses_a_peer_whose_certificate_the_ca_did_not_sign() {
    let dir = child::temp_dir("mtls");
    let ca = generate_ca("corral test CA").unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ca_pem = write("ca.pem", &ca.cert_pem);
    let mut tls = Vec::new();
    for who in ["child", "parent"] {
        let pair = generate_node_cert(&ca, &[]).unwrap();
        tls.push(TlsConfig {
            cert_pem: Some(write(&format!("{who}.pem"), &pair.cert_pem)),
            key_pem: Some(write(&format!("{who}.key"), &pair.key_pem)),
            ca_pem: Some(ca_pem.clone()),
        });
    }
    let child = Child::start(ChildOpts {
        tls: Some(tls[0].clone()),
        ..ChildOpts::default()
    });
    let member = Node::start(NodeConfig {
        tls: tls[1].clone(),
        ..NodeConfig::default()
    })
    .unwrap();
    assert_eq!(member.ask(&child.pid("pong"), Ping(1), ASK), Ok(Pong(2)));

    // A stranger with a self-signed certificate (no CA) is refused.
    let stranger = parent(Duration::from_secs(1));
    let r = stranger.ask(&child.pid("pong"), Ping(1), Duration::from_secs(30));
    // The refused handshake closes the connection: the ask fails then, not
    // at its 30 s timeout.
    assert_eq!(r, Err(AskError::Unreachable));
    let stats: Stats = member
        .ask(&child.pid("stats"), actors::GetStats, ASK)
        .unwrap();
    assert!(stats.handshakes_refused >= 1, "{stats:?}");
    assert!(stranger.metrics().connections_lost >= 1);
    // The member is unaffected.
    assert_eq!(member.ask(&child.pid("pong"), Ping(5), ASK), Ok(Pong(6)));
    let _ = std::fs::remove_dir_all(dir);
}
