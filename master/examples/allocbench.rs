//! Allocation pass time, after Mesos's `DeclineOffers` benchmark
//! (`src/tests/hierarchical_allocator_benchmarks.cpp`).
//!
//! Sizes: 1,000 and 10,000 agents with 10, 100 and 1,000 frameworks each,
//! and 50,000 agents with 1,000 frameworks. For each: agents of
//! `cpus:16;mem:65536`, frameworks spread over 10 roles. Each pass at
//! virtual time t (one second per pass) allocates, then every allocation is
//! declined with a 5 s filter (Mesos's default `refuse_seconds`). After
//! warm-up passes (until the filters are in their steady state) the wall
//! time of `allocate()` is averaged over the measured passes.
//!
//! `cargo run --release -p corral-master --example allocbench`; prints one
//! `figure alloc_cycle_ms_<agents>x<frameworks> <value> ms` line per size,
//! and on stderr the same with the part of it on a CPU (Linux's schedstat,
//! which counts in scheduler ticks, so it is coarse below a few ms): on a
//! shared machine the difference is time spent waiting for a core.
//! Optional arguments: `<agents> <frameworks>` to run one size only.

use std::time::{Duration, Instant};

use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::Resources;
use corral_master::allocator::{Allocator, AllocatorConfig};
use corral_runtime::Time;

const ROLES: usize = 10;
const REFUSE: Duration = Duration::from_secs(5);
const WARMUP_PASSES: u64 = 8;
const MEASURED_PASSES: u64 = 10;

struct Figure {
    avg_ms: f64,
    max_ms: f64,
    /// Time on a CPU, if the OS reports it: beside `avg_ms` it shows how
    /// much of a pass's wall time was spent waiting for a core on a busy
    /// machine.
    on_cpu_avg_ms: Option<f64>,
    offers_per_pass: usize,
}

/// Nanoseconds this thread has run on a CPU (Linux's schedstat), or None.
// A benchmark reads the OS's accounting; clippy.toml bans file reads elsewhere.
#[allow(clippy::disallowed_methods)]
fn on_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn cluster(agents: usize, frameworks: usize) -> Allocator {
    let mut a = Allocator::new(AllocatorConfig::default());
    let shape = Resources::scalar("cpus", 16.0)
        .and_then(|r| r.with_scalar("mem", 65536.0))
        .expect("valid amounts");
    for i in 0..agents {
        a.add_agent(AgentId(format!("agent-{i:05}")), shape.clone())
            .expect("fresh agent");
    }
    for i in 0..frameworks {
        let role = format!("role-{}", i % ROLES);
        a.add_framework(FrameworkId(format!("framework-{i:04}")), &role)
            .expect("fresh framework");
    }
    a
}

// Benchmarks read the wall clock; clippy.toml bans it elsewhere.
#[allow(clippy::disallowed_methods)]
fn run(agents: usize, frameworks: usize) -> Figure {
    let mut a = cluster(agents, frameworks);
    let mut total = Duration::ZERO;
    let mut max = Duration::ZERO;
    let mut on_cpu_ns = Some(0);
    let mut offers = 0;
    for pass in 0..WARMUP_PASSES + MEASURED_PASSES {
        let now = Time::ZERO + Duration::from_secs(pass);
        let cpu_before = self::on_cpu_ns();
        let started = Instant::now();
        let allocs = a.allocate(now);
        let took = started.elapsed();
        let cpu = self::on_cpu_ns()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        if pass >= WARMUP_PASSES {
            on_cpu_ns = on_cpu_ns.zip(cpu).map(|(sum, ns)| sum + ns);
            total += took;
            max = max.max(took);
            offers += allocs.len();
        }
        for x in allocs {
            a.recover(&x.framework, &x.agent, &x.resources, Some(REFUSE), now)
                .expect("declining what was offered");
        }
    }
    Figure {
        avg_ms: total.as_secs_f64() * 1e3 / MEASURED_PASSES as f64,
        max_ms: max.as_secs_f64() * 1e3,
        on_cpu_avg_ms: on_cpu_ns.map(|ns| ns as f64 / 1e6 / MEASURED_PASSES as f64),
        offers_per_pass: offers / MEASURED_PASSES as usize,
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| {
            s.parse()
                .expect("usage: allocbench [<agents> <frameworks>]")
        })
        .collect();
    let sizes: Vec<(usize, usize)> = match args[..] {
        [agents, frameworks] => vec![(agents, frameworks)],
        _ => [1000, 10000]
            .into_iter()
            .flat_map(|a| [10, 100, 1000].into_iter().map(move |f| (a, f)))
            .chain([(50000, 1000)])
            .collect(),
    };
    for (agents, frameworks) in sizes {
        let f = run(agents, frameworks);
        let on_cpu = f
            .on_cpu_avg_ms
            .map(|ms| format!(" ({ms:.2} ms of it on a CPU)"))
            .unwrap_or_default();
        eprintln!(
            "{agents} agents x {frameworks} frameworks: {:.2} ms avg{on_cpu}, {:.2} ms max, {} offers per pass",
            f.avg_ms, f.max_ms, f.offers_per_pass
        );
        println!(
            "figure alloc_cycle_ms_{agents}x{frameworks} {:.2} ms",
            f.avg_ms
        );
    }
}
