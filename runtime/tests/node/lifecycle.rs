//! A node's own life: a binary sharing a node must see when it has died.

use std::time::{Duration, Instant};

use corral_runtime::{Actor, Ctx, Handlers, Node, NodeConfig};

/// Panics as soon as it starts: a panicking actor takes its node down.
struct Doomed;

impl Actor for Doomed {
    fn handlers(_: &mut Handlers<Self>) {}

    fn started(&mut self, _ctx: &mut Ctx<'_, Self>) {
        panic!("planted: this actor takes its node down");
    }
}

#[test]
fn a_node_whose_loop_died_says_it_stopped() {
    let node = Node::start(NodeConfig::default()).expect("node starts");
    assert!(!node.is_stopped(), "a running node is not stopped");
    // The spawn itself may or may not get its answer before the loop dies.
    let _ = node.spawn("doomed", Doomed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !node.is_stopped() {
        assert!(Instant::now() < deadline, "the node's death goes unnoticed");
        std::thread::sleep(Duration::from_millis(10));
    }
}
