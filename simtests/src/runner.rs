//! Runs a scenario over many seeds, in parallel if asked, and reports.

#![allow(clippy::disallowed_methods)] // the runner measures real wall time

use std::collections::BTreeMap;
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
    /// Test-only switch: plant a known bug the scenario's checks must find,
    /// by name (one of the scenario's [`Scenario::bugs`]).
    pub plant_bug: Option<String>,
    /// Bytes the process has allocated and not freed, if the binary counts
    /// them (`corral sim` does, with a counting global allocator): for
    /// scenarios that weigh a component's heap.
    pub live_bytes: Option<fn() -> u64>,
}

/// A number a run measured, e.g. a failover time.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Its name, as `corral sim` prints it (`figure <name> <value> <unit>`).
    pub name: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Its value.
    pub value: f64,
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
    /// What the run measured (scenarios that measure add theirs).
    pub figures: Vec<Figure>,
    /// A few lines on what the seed drew (e.g. the cluster's shape), for
    /// replays.
    pub notes: Vec<String>,
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
            figures: Vec::new(),
            notes: Vec::new(),
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
    /// The bugs it can plant (`--plant-bug NAME`), the first the default.
    pub bugs: &'static [&'static str],
    /// Seeds `corral sim` runs when not told (100 for a checker; 1 for a
    /// scenario whose one seed is a benchmark of minutes).
    pub default_seeds: u64,
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
    /// Every figure the seeds measured, by name: its unit and values.
    pub figures: BTreeMap<&'static str, (&'static str, Vec<f64>)>,
}

impl Summary {
    /// The median of a figure over the seeds that measured it.
    pub fn median(&self, name: &str) -> Option<f64> {
        let (_, values) = self.figures.get(name)?;
        median(values)
    }

    /// Seeds run per second of wall time.
    pub fn seeds_per_s(&self) -> f64 {
        self.seeds_run as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Runs one seed; a panic in it (in any actor, or in the scenario) is a
/// failure of that seed like any violation, and the batch goes on.
pub fn run_guarded(scenario: &Scenario, p: &Params) -> Outcome {
    // The simulation is dropped with the unwound stack: nothing of it is
    // seen again, so unwind safety does not matter here.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (scenario.run)(p))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with no message".to_owned());
            Outcome {
                seed: p.seed,
                trace_hash: 0,
                events: 0,
                virtual_time: Duration::ZERO,
                violation: Some(Violation {
                    at: corral_runtime::Time::ZERO,
                    step: 0,
                    check: "no-panic".into(),
                    detail: format!("the run panicked: {message}"),
                }),
                trace: Vec::new(),
                figures: Vec::new(),
                notes: Vec::new(),
            }
        }
    }
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
                let outcome = run_guarded(scenario, &p);
                each(&outcome);
                let mut sum = summary.lock().unwrap_or_else(|e| e.into_inner());
                sum.seeds_run += 1;
                sum.events += outcome.events;
                sum.virtual_time += outcome.virtual_time;
                for f in &outcome.figures {
                    let entry = sum.figures.entry(f.name).or_insert((f.unit, Vec::new()));
                    entry.1.push(f.value);
                }
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
