//! Finds seeds that meet the chaos scenario's regression situations, for
//! when a change moves the traces and a pinned seed stops meeting its
//! situation (`simtests/tests/failover.rs` says which test wants which).
//!
//! `cargo run --release -p corral-simtests --example situation_seeds -- FIRST COUNT`
//! runs seeds FIRST..FIRST+COUNT three ways — the drawn shape with every
//! fault (`chaos`), the fixed shape with every fault (`fixed`), the fixed
//! shape with the masters' faults only (`masters`) — and prints each run
//! that met a situation, or failed.

use corral_simtests::failover::{self, Cluster, Mix, Shape};
use corral_simtests::{Outcome, Params};

fn report(way: &str, seed: u64, c: &Cluster, o: &Outcome) {
    let s = c.checks.borrow().situations().clone();
    let mut met = Vec::new();
    for (name, n) in [
        ("unreachable_after_restart", s.unreachable_after_restart),
        ("reconciled_ahead_of_updates", s.reconciled_ahead_of_updates),
        ("dropped_after_unreachable", s.dropped_after_unreachable),
        ("ran_past_removal", s.ran_past_removal),
        (
            "removed_tasks_reported_to_new_leader",
            s.removed_tasks_reported_to_new_leader,
        ),
        (
            "launches_down_with_scheduler",
            s.launches_down_with_scheduler,
        ),
        ("lost_reported_by_agent", s.lost_reported_by_agent),
        (
            "over_offered_when_master_crashed",
            s.over_offered_when_master_crashed,
        ),
    ] {
        if n > 0 {
            met.push(format!("{name}={n}"));
        }
    }
    if c.agent_dropped_a_launch() {
        met.push("agent_dropped_a_launch".into());
    }
    if c.failed_by_a_crash_close_to_launch() {
        met.push("failed_by_a_crash_close_to_launch".into());
    }
    if let Some(v) = &o.violation {
        met.push(format!("FAILED {v}"));
    }
    if !met.is_empty() {
        println!("{way} {seed}: {}", met.join(" "));
    }
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (first, count) = match args[..] {
        [first, count] => (first, count),
        _ => {
            eprintln!("usage: situation_seeds FIRST COUNT");
            std::process::exit(2);
        }
    };
    for seed in first..first + count {
        let p = Params {
            seed,
            ..Params::default()
        };
        let (c, o) = failover::run_shaped(&p, Shape::draw(seed), Mix::All);
        report("chaos", seed, &c, &o);
        let (c, o) = failover::run_with(&p, Mix::All);
        report("fixed", seed, &c, &o);
        let (c, o) = failover::run_with(&p, Mix::MastersOnly);
        report("masters", seed, &c, &o);
    }
}
