//! The scenarios `corral sim` knows, by name: the one place that names
//! them all, so the runner knows scenarios only as [`Scenario`] values and
//! the scenarios need only the runner.

use crate::runner::Scenario;

static SCENARIOS: &[Scenario] = &[Scenario {
    name: "ring",
    about: "tokens round a ring under crashes, partitions, clogs and broken connections; no token is duplicated, a probe completes a round after healing",
    run: crate::ring::run,
    bugs: &["duplicate-token"],
    default_seeds: 100,
}, Scenario {
    name: "chaos",
    about: "the failover chaos in a cluster drawn from the seed (1, 3 or 5 replicated masters; 1-12 agents with identical, overlapping and disjoint ports and sets; 1-5 frameworks in weighted roles: batch, service, decliner, hoarder, suppress/revive cycler, failing-over, quitting, invalid requests), agents running the real executor, under leader and master crashes, master and agent partitions, agent and scheduler restarts; invariants 1-4 after every event (no agent over-allocated, nothing offered twice, updates final and in order, one leader per term); after healing every agent and task accounted for, used resources what the agents run, every framework wanting work offered some, none killed by a failover",
    run: crate::failover::run,
    bugs: &CHAOS_BUGS,
    default_seeds: 100,
}, Scenario {
    name: "failover-masters",
    about: "the failover scenario with only the masters' faults (leader and master crashes, master partitions): agents' machines and links stay up",
    run: crate::failover::run_masters_only,
    bugs: &CHAOS_BUGS,
    default_seeds: 100,
}, Scenario {
    name: "registrar",
    about: "replicated registrars (raft-rs) under crashes, partitions, clogs and disk faults; one leader per term, no committed entry lost or replaced; after healing a proposal commits everywhere",
    run: crate::registrar::run,
    bugs: &["unsynced-writes"],
    default_seeds: 100,
}, Scenario {
    name: "c1m",
    about: "a batch framework places 200 tasks per agent (default 5,000 agents: 1,000,000 tasks) through the real master, allocator, agents and command executor; every task reaches TASK_RUNNING at the framework once, none launched twice or ended, no agent over-allocated; prints placement time, wall time, placements/s, the master's bytes per agent and per task, the allocation pass",
    run: crate::c1m::run,
    bugs: &crate::c1m::BUGS,
    default_seeds: 1,
}];

static CHAOS_BUGS: [&str; 5] = {
    let p = crate::failover::PLANTED;
    [p[0].0, p[1].0, p[2].0, p[3].0, p[4].0]
};

/// Every scenario.
pub fn scenarios() -> &'static [Scenario] {
    SCENARIOS
}

/// The scenario with this name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}
