//! The allocator actor on a bare kernel: a pass's decisions reach the
//! master whole, in slices, and the later slices wait behind what was
//! queued meanwhile.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Kernel, KernelConfig, Metrics, Time};
use serde::{Deserialize, Serialize};

use super::messages::{AddAgent, AddFramework, Allocations};
use super::{AllocatorActor, AllocatorActorConfig, ALLOCATIONS_PER_MESSAGE};
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::Resources;

#[derive(Debug, Serialize, Deserialize)]
struct Marker;
message!(Marker = "test.Marker");

/// What the stand-in master received, in order: (1, its agents) for a
/// slice, (0, none) for the marker.
type Seen = Rc<RefCell<Vec<(usize, Vec<AgentId>)>>>;

struct StandIn(Seen);
impl Actor for StandIn {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Allocations>().on::<Marker>();
    }
}
impl Handler<Allocations> for StandIn {
    fn handle(&mut self, m: Allocations, _: &mut Ctx<'_, Self>) {
        let agents = m.allocations.into_iter().map(|a| a.agent).collect();
        self.0.borrow_mut().push((1, agents));
    }
}
impl Handler<Marker> for StandIn {
    fn handle(&mut self, _: Marker, _: &mut Ctx<'_, Self>) {
        self.0.borrow_mut().push((0, Vec::new()));
    }
}

/// Runs every due timer and queued event until nothing is left.
fn settle(k: &mut Kernel) {
    loop {
        k.fire_timers();
        if k.run(100_000) == 0 {
            return;
        }
    }
}

#[test]
fn a_pass_reaches_the_master_in_slices_behind_what_waits() {
    let mut k = Kernel::new(
        KernelConfig {
            addr: SocketAddr::from(([10, 0, 0, 1], 5050)),
            seed: 1,
            unix_epoch_ms: 0,
            max_message_bytes: 1 << 24,
            max_backlog_bytes: 1 << 24,
            encode_local: false,
        },
        Arc::new(Metrics::default()),
    );
    k.set_now(Time::ZERO);
    let seen = Seen::default();
    let master = k.spawn_actor("master", StandIn(seen.clone())).unwrap();
    let cfg = AllocatorActorConfig {
        interval: Duration::from_secs(3600),
        ..AllocatorActorConfig::default()
    };
    let allocator = k
        .spawn_actor("allocator", AllocatorActor::new(master.clone(), cfg))
        .unwrap();
    settle(&mut k);
    let agents = 2 * ALLOCATIONS_PER_MESSAGE + ALLOCATIONS_PER_MESSAGE / 2;
    let framework = AddFramework {
        framework: FrameworkId::from("f"),
        role: "*".into(),
    };
    k.send(master.clone(), &allocator, framework);
    let total: Resources = "cpus:1;mem:64".parse().unwrap();
    for i in 0..agents {
        let add = AddAgent {
            agent: AgentId::from(format!("a{i:05}").as_str()),
            total: total.clone(),
            used: Vec::new(),
            orphaned: Resources::empty(),
        };
        k.send(master.clone(), &allocator, add);
    }
    // The pass runs; its first slice arrives, the rest wait on a timer.
    k.run(100_000);
    k.fire_timers();
    k.run(100_000);
    assert_eq!(seen.borrow().len(), 1, "one slice so far");
    // Something queued for the master now is handled before the rest.
    k.send(allocator.clone(), &master, Marker);
    settle(&mut k);

    let seen = seen.borrow();
    let order: Vec<usize> = seen.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(order, [1, 0, 1, 1], "slice, marker, slice, slice");
    let mut all: Vec<&AgentId> = seen.iter().flat_map(|(_, a)| a).collect();
    assert!(seen.iter().all(|(_, a)| a.len() <= ALLOCATIONS_PER_MESSAGE));
    let sent = all.len();
    all.sort();
    all.dedup();
    assert_eq!((sent, all.len()), (agents, agents), "each agent once");
}
