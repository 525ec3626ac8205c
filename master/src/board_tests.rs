//! The master actor publishes on its board: once started, and again after
//! a change, the same state its `GetState` answer builds afresh.

use std::sync::Arc;
use std::time::Duration;

use corral_runtime::{Actor, Ctx, Handler, Handlers, Node, NodeConfig, Pid};

use super::StateBoard;
use crate::master::{Master, MasterConfig};
use crate::state::GetState;
use corral_api::agent::{AgentRegistered, RegisterAgent};

/// How long a test waits for a publication or an answer before failing.
const WAIT: Duration = Duration::from_secs(10);

/// An agent that only registers.
struct Registrant {
    master: Pid,
}

impl Actor for Registrant {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<AgentRegistered>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let resources = "cpus:2;mem:512".parse().expect("fixed resources");
        let msg = RegisterAgent::first("node-1", resources, ctx.me().clone());
        ctx.send(&self.master, msg);
    }
}

impl Handler<AgentRegistered> for Registrant {
    fn handle(&mut self, _: AgentRegistered, _: &mut Ctx<'_, Self>) {}
}

#[test]
fn the_master_publishes_once_started_and_again_after_a_change() {
    let node = Node::start(NodeConfig::default()).expect("a node starts");
    let board = StateBoard::default();
    let master = Master::new(MasterConfig::default()).publishing_to(board.clone());
    let master = node.spawn(Master::NAME, master).expect("the master starts");
    let first = board.wait_past(0, WAIT).expect("published once started");
    assert!(first.leadership.leading, "a lone master leads");
    assert!(first.state.agents.is_empty());

    node.spawn(
        "agent",
        Registrant {
            master: master.clone(),
        },
    )
    .expect("the agent starts");
    let mut seen = first.seq;
    let shown = loop {
        let p = board
            .wait_past(seen, WAIT)
            .expect("published again after the agent registered");
        if !p.state.agents.is_empty() {
            break p;
        }
        seen = p.seq;
    };
    let asked = node
        .ask(&master, GetState, WAIT)
        .expect("the master answers");
    assert_eq!(
        shown.state, asked,
        "the publication is the state built afresh"
    );
    assert_eq!(shown.state.agents[0].hostname, "node-1");
    node.shutdown();
}

fn empty_state() -> crate::state::MasterState {
    crate::state::MasterState {
        version: String::new(),
        start_time_ms: 0,
        elected_ms: None,
        pid: String::new(),
        agents: Vec::new(),
        frameworks: Vec::new(),
        completed_frameworks: Vec::new(),
        tasks: Default::default(),
        outstanding_offers: 0,
        role_weights: Vec::new(),
    }
}

#[test]
fn a_replaced_publication_is_dropped_by_the_next_reader_not_the_master() {
    let board = StateBoard::default();
    let leading = crate::state::Leadership {
        leading: true,
        leader: None,
        leader_http: None,
    };
    let publish = || {
        board.publish(
            empty_state(),
            Default::default(),
            leading.clone(),
            Duration::ZERO,
            Vec::new(),
        )
    };
    publish();
    let first = board.latest().map(|p| Arc::downgrade(&p));
    publish();
    assert!(
        first.as_ref().and_then(|w| w.upgrade()).is_some(),
        "kept for a reader to drop"
    );
    assert_eq!(board.latest().map(|p| p.seq), Some(2));
    assert!(
        first.and_then(|w| w.upgrade()).is_none(),
        "the reader dropped it"
    );
}
