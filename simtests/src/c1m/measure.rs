//! What c1m measures besides time: the master's heap, and the allocator's
//! pass at the cluster's size.
//!
//! **The master's heap** is read as the bytes freed when its node's
//! machine crashes: the simulator drops the node's kernel (master,
//! allocator and registrar actors, their state, queues and unsent frames)
//! and the frames in flight to and from it, and `live_bytes` (a counting
//! global allocator's live total, given by the binary, e.g. `corral sim`)
//! is read before and after. The registrar's simulated disk survives a
//! crash, so the replicated registry is not counted (on a real master it
//! lives in redb, on disk). Counting requested bytes, not RSS, leaves out
//! the allocator's own overhead and fragmentation.

use std::time::{Duration, Instant};

use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::Resources;
use corral_master::allocator::{Allocator, AllocatorConfig};
use corral_runtime::sim::Sim;
use corral_runtime::Time;

use crate::nodes;

/// Bytes the master's node holds now, measured by crashing it (the run is
/// over after this).
pub fn master_heap(sim: &mut Sim, live_bytes: fn() -> u64) -> Option<u64> {
    let before = live_bytes();
    sim.crash(nodes::master_addr(0)).ok()?;
    let after = live_bytes();
    Some(before.saturating_sub(after))
}

/// Nanoseconds this thread has run on a CPU (Linux's schedstat), or None:
/// beside wall time it shows how much of a run on a shared machine was
/// spent waiting for a core.
// A measurement reads the OS's accounting; clippy.toml bans file reads in
// actor code.
#[allow(clippy::disallowed_methods)]
pub fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Passes timed by [`alloc_pass_ms`] after a first, untimed one.
const PASSES: u32 = 5;

/// Wall time of one allocation pass of the allocator core (the master's
/// own, without its actor) offering `agents` free agents of `shape` to
/// one framework: the pass that offered the whole c1m cluster. Averaged
/// over [`PASSES`]; the offers are declined without a filter between
/// passes so that each pass offers everything again.
// A measurement reads the wall clock; clippy.toml bans it in actor code.
#[allow(clippy::disallowed_methods)]
pub fn alloc_pass_ms(agents: usize, shape: &Resources) -> f64 {
    let mut a = Allocator::new(AllocatorConfig::default());
    for i in 0..agents {
        // Fresh ids: cannot collide.
        let _ = a.add_agent(AgentId(format!("agent-{i}")), shape.clone());
    }
    let fw = FrameworkId("c1m".to_owned());
    let _ = a.add_framework(fw.clone(), "*");
    let mut total = Duration::ZERO;
    for pass in 0..=PASSES {
        let now = Time::ZERO + Duration::from_secs(u64::from(pass));
        let started = Instant::now();
        let offered = a.allocate(now);
        if pass > 0 {
            total += started.elapsed();
        }
        for x in offered {
            let _ = a.recover(&x.framework, &x.agent, &x.resources, None, now);
        }
    }
    total.as_secs_f64() * 1e3 / f64::from(PASSES)
}
