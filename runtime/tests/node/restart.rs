//! A node restarted on its address: with its data dir (where its QUIC
//! stateless-reset key is kept) its peers notice the restart at the next
//! packet they send, not at their link timeout.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use corral_runtime::node::RESET_KEY_FILE;
use corral_runtime::{AskError, Node, NodeConfig, NodeError};

use crate::actors::{Ping, Pong, Watcher};
use crate::child::{self, Child, ChildOpts};
use crate::{parent, ASK};

#[test]
fn a_peer_restarted_with_its_data_dir_is_noticed_at_the_next_packet_not_at_the_link_timeout() {
    let dir = child::temp_dir("restart-key");
    // Both nodes wait 10 s before they call a silent peer dead.
    let link_timeout = Duration::from_secs(10);
    let opts = ChildOpts {
        data_dir: Some(dir.clone()),
        link_timeout: Some(link_timeout),
        ..ChildOpts::default()
    };
    let mut child = Child::start(opts.clone());
    let node = parent(link_timeout);
    let pong = child.pid("pong");
    assert_eq!(node.ask(&pong, Ping(1), ASK), Ok(Pong(2)));
    let (tx, rx) = mpsc::channel();
    node.spawn("watcher", Watcher::new(vec![pong.clone()], tx))
        .unwrap();
    assert_eq!(node.ask(&pong, Ping(2), ASK), Ok(Pong(3)));
    child.kill();
    let _child = Child::start(ChildOpts {
        port: pong.addr().port(),
        ..opts
    });
    let restarted = Instant::now();
    // This node still holds the connection to the killed run. The first
    // packet it sends there, this ask or a keep-alive if one went first, is
    // answered with a stateless reset signed with the key the first run
    // left in the data dir: the ask fails at once, or (after a keep-alive)
    // goes out on a fresh connection and is answered.
    let r = node.ask(&pong, Ping(3), Duration::from_secs(30));
    assert!(
        matches!(r, Err(AskError::Unreachable) | Ok(Pong(4))),
        "{r:?}"
    );
    let exited = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the link to the killed run fires exited");
    let took = restarted.elapsed();
    assert_eq!(exited, pong);
    eprintln!("restarted peer noticed {took:?} after it was up");
    assert!(took < Duration::from_secs(2), "noticed after {took:?}");
    // A fresh connection reaches the restarted child.
    assert_eq!(node.ask(&pong, Ping(5), ASK), Ok(Pong(6)));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_damaged_reset_key_file_keeps_the_node_from_starting_and_is_named() {
    let dir = child::temp_dir("bad-reset-key");
    let file = dir.join(RESET_KEY_FILE);
    std::fs::write(&file, b"short").unwrap();
    let err = Node::start(NodeConfig {
        data_dir: Some(dir.clone()),
        ..NodeConfig::default()
    })
    .err()
    .expect("a node with a damaged key file does not start");
    assert!(matches!(err, NodeError::ResetKey { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains("holds 5 bytes, not 64"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
