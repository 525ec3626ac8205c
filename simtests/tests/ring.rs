//! The ring scenario as the simulator's proof: determinism, and that it
//! finds a planted bug and replays it.

use std::collections::BTreeSet;

use corral_simtests::{ring, Params};

fn run(seed: u64, plant_bug: bool) -> corral_simtests::Outcome {
    ring::run(&Params {
        seed,
        plant_bug: plant_bug.then(|| "duplicate-token".to_owned()),
        ..Params::default()
    })
}

#[test]
fn same_seed_same_trace_hash_for_100_seeds_and_seeds_differ() {
    let mut hashes = BTreeSet::new();
    for seed in 0..100 {
        let (a, b) = (run(seed, false), run(seed, false));
        assert_eq!(
            a.trace_hash, b.trace_hash,
            "seed {seed} is not deterministic"
        );
        assert_eq!(a.events, b.events);
        assert_eq!(
            a.violation, None,
            "seed {seed} failed without a planted bug"
        );
        hashes.insert(a.trace_hash);
    }
    assert_eq!(
        hashes.len(),
        100,
        "different seeds must give different runs"
    );
}

#[test]
fn the_planted_bug_is_found_within_1000_seeds_and_replays_exactly() {
    let failing = (0..1000)
        .map(|seed| run(seed, true))
        .find(|o| o.violation.is_some())
        .expect("some seed within 1,000 finds the planted duplicate");
    let v = failing.violation.as_ref().unwrap();
    assert_eq!(v.check, "token-conservation");
    let replay = run(failing.seed, true);
    assert_eq!(replay.violation, failing.violation);
    assert_eq!(replay.trace_hash, failing.trace_hash);
}

#[test]
fn a_traced_replay_prints_every_event() {
    let o = ring::run(&Params {
        seed: 7,
        trace: true,
        ..Params::default()
    });
    assert!(
        o.trace.len() as u64 >= o.events,
        "{} lines for {} events",
        o.trace.len(),
        o.events
    );
    assert_eq!(
        o.trace_hash,
        run(7, false).trace_hash,
        "tracing does not change the run"
    );
}
