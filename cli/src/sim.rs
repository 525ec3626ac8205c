//! `corral sim`: run a scenario over seeds, or replay one with a full trace.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use corral_simtests::{find, run_batch, scenarios, Batch, Outcome, Params};

/// Options of `corral sim`.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// Scenario to run (`--list` shows them).
    #[arg(long, default_value = "ring")]
    scenario: String,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// How many seeds to run (default: the scenario's, 100 for most, unless
    /// --time-budget is given).
    #[arg(long)]
    seeds: Option<u64>,
    /// Run seeds until this many seconds of wall time have passed.
    #[arg(long, value_name = "SECS")]
    time_budget: Option<f64>,
    /// First seed of the batch.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Run exactly this seed (replay).
    #[arg(long, conflicts_with_all = ["seeds", "time_budget", "first_seed"])]
    seed: Option<u64>,
    /// Print every event of the run (use with --seed).
    #[arg(long, requires = "seed")]
    trace: bool,
    /// Seeds run at once, one per thread.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Cluster size, for scenarios that have one.
    #[arg(long)]
    nodes: Option<usize>,
    /// Plant a known bug (to see the checks catch it): the scenario's
    /// first without a NAME; `--list` names each scenario's bugs.
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    plant_bug: Option<String>,
}

/// Prints a line; a closed stdout (e.g. piped into `head`) is not an error
/// worth a panic, the run goes on and its exit code still tells.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Runs the subcommand; exit code 1 when any seed failed.
pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for s in scenarios() {
            say!("{:<8} {}", s.name, s.about);
            say!(
                "         planted bugs (--plant-bug NAME): {}",
                s.bugs.join(", ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(scenario) = find(&args.scenario) else {
        let names: Vec<_> = scenarios().iter().map(|s| s.name).collect();
        bail!(
            "no scenario named {:?}; there are: {}",
            args.scenario,
            names.join(", ")
        );
    };
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    if let Some(b) = args.time_budget {
        if !(b.is_finite() && b > 0.0) {
            bail!("--time-budget must be a positive number of seconds");
        }
    }
    if args.nodes.is_some_and(|n| !(2..=10_000).contains(&n)) {
        bail!("--nodes must be between 2 and 10000");
    }
    let plant_bug = match args.plant_bug.as_deref() {
        None => None,
        Some("") => match scenario.bugs.first() {
            Some(b) => Some(b.to_string()),
            None => bail!("scenario {} has no bug to plant", scenario.name),
        },
        Some(name) if scenario.bugs.contains(&name) => Some(name.to_owned()),
        Some(name) => bail!(
            "scenario {} has no planted bug named {name:?}; it has: {}",
            scenario.name,
            scenario.bugs.join(", ")
        ),
    };
    crate::counting_alloc::start();
    let template = Params {
        seed: 0,
        nodes: args.nodes,
        trace: args.trace,
        plant_bug: plant_bug.clone(),
        live_bytes: Some(crate::counting_alloc::live_bytes),
    };
    let batch = match args.seed {
        Some(seed) => Batch {
            first_seed: seed,
            seeds: Some(1),
            time_budget: None,
            jobs: 1,
        },
        None => Batch {
            first_seed: args.first_seed,
            seeds: args.seeds.or(if args.time_budget.is_some() {
                None
            } else {
                Some(scenario.default_seeds)
            }),
            time_budget: args.time_budget.map(Duration::from_secs_f64),
            jobs: args.jobs,
        },
    };
    let replay = |o: &Outcome| replay_command(&args, plant_bug.as_deref(), o.seed);
    let report = |o: &Outcome| {
        if args.trace {
            for line in &o.trace {
                say!("{line}");
            }
        }
        if args.seed.is_some() {
            for line in &o.notes {
                say!("{line}");
            }
        }
        if let Some(v) = &o.violation {
            say!("FAIL seed {}: {v}\n  replay: {}", o.seed, replay(o));
        }
    };
    let sum = run_batch(scenario, &template, &batch, &report);
    let wall = sum.wall.as_secs_f64().max(1e-9);
    say!(
        "{}: {} seeds, {} failed, {} events, {:.1} s simulated in {:.2} s",
        scenario.name,
        sum.seeds_run,
        sum.failures.len(),
        sum.events,
        sum.virtual_time.as_secs_f64(),
        wall
    );
    if args.seed.is_some() {
        if let Some(o) = sum.failures.first().or(None) {
            say!("trace hash {:016x}", o.trace_hash);
        }
    }
    say!(
        "figure sim_events_per_s {:.0} events/s",
        sum.events as f64 / wall
    );
    say!(
        "figure sim_speedup {:.1} x",
        sum.virtual_time.as_secs_f64() / wall
    );
    say!("figure chaos_seeds_per_s {:.1} seeds/s", sum.seeds_per_s());
    for (name, (unit, _)) in &sum.figures {
        if let Some(median) = sum.median(name) {
            say!("figure {name} {median:.3} {unit}");
        }
    }
    for o in &sum.failures {
        say!("failed seed {}: replay with {}", o.seed, replay(o));
    }
    Ok(if sum.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn replay_command(args: &SimArgs, plant_bug: Option<&str>, seed: u64) -> String {
    let mut cmd = format!(
        "cargo run --release -p corral -- sim --scenario {} --seed {seed} --trace",
        args.scenario
    );
    if let Some(n) = args.nodes {
        cmd.push_str(&format!(" --nodes {n}"));
    }
    if let Some(name) = plant_bug {
        cmd.push_str(&format!(" --plant-bug {name}"));
    }
    cmd
}
