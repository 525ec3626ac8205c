//! Runs a scenario over many seeds, in parallel if asked, and reports.

#![allow(clippy::disallowed_methods)] // the runner measures real wall time

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use corral_runtime::sim::{Sim, Violation};

/// What one run of a scenario takes.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// The seed.
    pub seed: u64,
    /// Cluster size, where the scenario has one (None: its default).
    pub nodes: Option<usize>,
    /// Keep a readable trace of every event.
    pub trace: bool,
    /// Test-only switch: plant a known bug the scenario's checks must find.
    pub plant_bug: bool,
}

/// The result of one seed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Hash of every event: equal for equal seeds.
    pub trace_hash: u64,
    /// Events applied.
    pub events: u64,
    /// Virtual time simulated.
    pub virtual_time: Duration,
    /// The check that failed, if one did.
    pub violation: Option<Violation>,
    /// One line per event, when tracing.
    pub trace: Vec<String>,
}

impl Outcome {
    /// Reads the outcome off a finished simulation.
    pub fn of(sim: &Sim, p: &Params, violation: Option<Violation>) -> Outcome {
        Outcome {
            seed: p.seed,
            trace_hash: sim.trace_hash(),
            events: sim.steps(),
            virtual_time: Duration::from_nanos(sim.now().as_nanos()),
            violation,
            trace: sim.trace_lines().to_vec(),
        }
    }
}

/// A named scenario.
pub struct Scenario {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line on what it checks.
    pub about: &'static str,
    /// Runs one seed.
    pub run: fn(&Params) -> Outcome,
}

static SCENARIOS: &[Scenario] = &[Scenario {
    name: "ring",
    about: "tokens round a ring under crashes, partitions, clogs and broken connections; no token is duplicated, a probe completes a round after healing",
    run: crate::ring::run,
}, Scenario {
    name: "registrar",
    about: "replicated registrars (raft-rs) under crashes, partitions, clogs and disk faults; one leader per term, no committed entry lost or replaced; after healing a proposal commits everywhere",
    run: crate::registrar::run,
}];

/// Every scenario.
pub fn scenarios() -> &'static [Scenario] {
    SCENARIOS
}

/// The scenario with this name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// Which seeds to run, and how.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The first seed.
    pub first_seed: u64,
    /// How many seeds (None: until the time budget runs out).
    pub seeds: Option<u64>,
    /// Stop starting new seeds after this much wall time.
    pub time_budget: Option<Duration>,
    /// Threads running seeds at once.
    pub jobs: usize,
}

/// What a batch found.
#[derive(Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub seeds_run: u64,
    /// Events applied over all seeds.
    pub events: u64,
    /// Virtual time simulated over all seeds.
    pub virtual_time: Duration,
    /// Wall time of the batch.
    pub wall: Duration,
    /// Failing seeds, by seed.
    pub failures: Vec<Outcome>,
}

/// Runs `batch` of `scenario` with `template` (its seed is replaced);
/// `each` sees every outcome as it finishes (from the worker threads).
pub fn run_batch(
    scenario: &Scenario,
    template: &Params,
    batch: &Batch,
    each: &(dyn Fn(&Outcome) + Sync),
) -> Summary {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let summary = Mutex::new(Summary::default());
    let more = |i: u64| {
        batch.seeds.is_none_or(|n| i < n)
            && batch.time_budget.is_none_or(|b| started.elapsed() < b)
            && (batch.seeds.is_some() || batch.time_budget.is_some())
    };
    std::thread::scope(|s| {
        for _ in 0..batch.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if !more(i) {
                    return;
                }
                let p = Params {
                    seed: batch.first_seed.wrapping_add(i),
                    ..template.clone()
                };
                let outcome = (scenario.run)(&p);
                each(&outcome);
                let mut sum = summary.lock().unwrap_or_else(|e| e.into_inner());
                sum.seeds_run += 1;
                sum.events += outcome.events;
                sum.virtual_time += outcome.virtual_time;
                if outcome.violation.is_some() {
                    sum.failures.push(outcome);
                }
            });
        }
    });
    let mut sum = summary.into_inner().unwrap_or_else(|e| e.into_inner());
    sum.failures.sort_by_key(|o| o.seed);
    sum.wall = started.elapsed();
    sum
}
