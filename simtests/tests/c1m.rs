//! The c1m scenario at a small size: every task placed exactly once, the
//! same seed gives the same run, and the planted over-allocation is caught.
//! No timing is asserted: the figures are for `corral sim`, not for tests.

use corral_simtests::c1m::{self, ledger};
use corral_simtests::{Outcome, Params};

/// 10 agents: 2,000 tasks.
const AGENTS: usize = 10;

fn run(seed: u64, plant_bug: Option<&str>) -> Outcome {
    c1m::run(&Params {
        seed,
        nodes: Some(AGENTS),
        plant_bug: plant_bug.map(str::to_owned),
        ..Params::default()
    })
}

#[test]
fn every_task_is_placed_exactly_once_for_several_seeds() {
    for seed in 0..3 {
        let o = run(seed, None);
        assert_eq!(o.violation, None, "seed {seed}: {:?}", o.notes);
        let expect = format!("{} placed", AGENTS * c1m::TASKS_PER_AGENT);
        assert!(
            o.notes.iter().any(|n| n.contains(&expect)),
            "seed {seed}: {:?}",
            o.notes
        );
        let names: Vec<_> = o.figures.iter().map(|f| f.name).collect();
        for name in [
            "c1m_virtual_s",
            "c1m_wall_s",
            "placements_per_s",
            "alloc_pass_ms",
        ] {
            assert!(names.contains(&name), "seed {seed}: no figure {name}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let (a, b) = (run(7, None), run(7, None));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
}

#[test]
fn an_over_allocated_agent_is_caught() {
    for seed in 0..3 {
        let o = run(seed, Some(c1m::BUGS[0]));
        let v = o
            .violation
            .unwrap_or_else(|| panic!("seed {seed}: the planted bug went unseen"));
        assert_eq!(v.check, ledger::NOT_OVER_ALLOCATED, "seed {seed}: {v}");
    }
}
