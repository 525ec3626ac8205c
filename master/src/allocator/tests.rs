//! The allocator against DRF's paper, weights, filters, suppression, the
//! allocatable threshold and refusals. Random operation sequences against
//! an outside model are in `model_tests.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

use corral_api::resources::strategies::cpus_mem as res;

fn fw(s: &str) -> FrameworkId {
    FrameworkId::from(s)
}

fn ag(s: &str) -> AgentId {
    AgentId::from(s)
}

fn secs(s: f64) -> Time {
    Time::from_nanos((s * 1e9) as u64)
}

/// The quantities of `cpus` and `mem_mb`.
fn q(cpus: f64, mem_mb: f64) -> Quantities {
    Quantities::of(&res(cpus, mem_mb))
}

fn new() -> Allocator {
    Allocator::new(AllocatorConfig::default())
}

/// Agent ids `a000`, `a001`, ... each with `cpus` and `mem_mb`.
fn add_agents(a: &mut Allocator, n: usize, cpus: f64, mem_mb: f64) -> Vec<AgentId> {
    (0..n)
        .map(|i| {
            let id = ag(&format!("a{i:03}"));
            a.add_agent(id.clone(), res(cpus, mem_mb)).unwrap();
            id
        })
        .collect()
}

fn count_by_framework(allocs: &[Allocation]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for x in allocs {
        *m.entry(x.framework.0.clone()).or_default() += 1;
    }
    m
}

impl<S: Sorter> Allocator<S> {
    /// The internal bookkeeping agrees with itself: per agent, available
    /// plus every framework's holding is its total; each framework's share
    /// is the sum of its holdings, each role's the sum of its frameworks';
    /// the orders hold exactly the unsuppressed frameworks and the roles
    /// that have one.
    pub(super) fn assert_consistent(&self) {
        let b = &self.book;
        let mut per_fw: BTreeMap<u32, Quantities> = BTreeMap::new();
        let mut total = Quantities::empty();
        for (slot, a) in b.agents.iter() {
            assert_eq!(self.agent_index.get(&a.id), Some(&slot));
            let mut sum = a
                .available
                .checked_plus(&a.orphaned)
                .expect("orphaned resources are not available");
            for (&f, held) in &a.allocations {
                assert!(!held.is_empty(), "empty holding kept");
                assert!(b.frameworks[f].agents.contains(&slot));
                sum = sum
                    .checked_plus(held)
                    .expect("holdings on one agent are disjoint");
                per_fw.entry(f).or_default().add(held);
            }
            assert_eq!(sum, a.total, "agent {}", a.id);
            total.add(&a.total);
        }
        assert_eq!(total, b.total);
        assert_eq!(self.agent_index.len(), b.agents.iter().count());
        let mut per_role: BTreeMap<u32, Quantities> = BTreeMap::new();
        let mut active_roles = Vec::new();
        for (slot, f) in b.frameworks.iter() {
            assert_eq!(self.framework_index.get(&f.id), Some(&slot));
            let held = per_fw.remove(&slot).unwrap_or_default();
            assert_eq!(b.roles[f.role].sorter.allocation(slot), &held);
            for &agent in &f.agents {
                assert!(b.agents[agent].allocations.contains_key(&slot));
            }
            let e = per_role.entry(f.role).or_default();
            *e = e.plus(&held);
        }
        assert!(per_fw.is_empty(), "holdings of unknown frameworks");
        for (slot, r) in b.roles.iter() {
            assert_eq!(self.role_index.get(&r.name), Some(&slot));
            assert_eq!(
                b.role_sorter.allocation(slot),
                &per_role.remove(&slot).unwrap_or_default()
            );
            let active: Vec<u32> = r.sorter.order().map(|k| k.slot).collect();
            let mut expect: Vec<u32> = b
                .frameworks
                .iter()
                .filter(|(_, f)| f.role == slot && !f.suppressed)
                .map(|(s, _)| s)
                .collect();
            let mut sorted = active.clone();
            sorted.sort_unstable();
            expect.sort_unstable();
            assert_eq!(sorted, expect);
            assert_eq!(r.unsuppressed, expect.len());
            if !expect.is_empty() {
                active_roles.push(slot);
            }
        }
        assert!(per_role.is_empty(), "frameworks in unknown roles");
        let mut in_order: Vec<u32> = b.role_sorter.order().map(|k| k.slot).collect();
        in_order.sort_unstable();
        assert_eq!(in_order, active_roles);
    }
}

// ---------------------------------------------------------------------
// (1) The DRF paper's example.

/// A framework of the paper's example: the task it launches.
struct PaperFramework {
    id: FrameworkId,
    task_cpus: f64,
    task_mem_mb: f64,
    tasks: usize,
}

/// Offers until a full rotation of passes (one per agent) launches
/// nothing; each framework launches as many of its tasks as fit in each
/// offer and declines the rest with no filter.
fn run_paper(a: &mut Allocator, fws: &mut [PaperFramework], agents: usize) {
    let mut idle = 0;
    for pass in 0..100 {
        let now = secs(pass as f64);
        let mut progress = false;
        for alloc in a.allocate(now) {
            let f = fws.iter_mut().find(|f| f.id == alloc.framework).unwrap();
            let r = &alloc.resources;
            let fit = (r.cpus() / f.task_cpus)
                .floor()
                .min((r.mem_mb() / f.task_mem_mb).floor());
            let used = res(fit * f.task_cpus, fit * f.task_mem_mb);
            f.tasks += fit as usize;
            progress |= fit > 0.0;
            let unused = r.checked_minus(&used).unwrap();
            a.recover(&f.id, &alloc.agent, &unused, None, now).unwrap();
            a.assert_consistent();
        }
        idle = if progress { 0 } else { idle + 1 };
        if idle == agents {
            return;
        }
    }
    panic!("no fixed point after 100 passes");
}

/// DRF's paper (Ghodsi et al., NSDI 2011, section 4): 9 CPUs and 18 GB;
/// A's tasks take <1 CPU, 4 GB>, B's <3 CPUs, 1 GB>. DRF gives A 3 tasks
/// (3 CPUs, 12 GB) and B 2 tasks (6 CPUs, 2 GB), both at dominant share 2/3.
///
/// The paper fills progressively, one task at a time; here a whole agent is
/// offered at once and a framework packs it greedily, so the agents' shapes
/// decide what is reachable. The paper's outcome uses all 9 CPUs, so it
/// needs a perfect packing: three agents of <3 CPUs, 6 GB> cannot hold it
/// (each fits one A task, which leaves 2 CPUs, too few for a B task), and
/// one agent of <9, 18 GB> lets the first framework offered overshoot (A
/// would launch 4 tasks). Agents of <1, 4 GB>, <1, 7 GB> and <7, 7 GB>
/// hold it (A on the small ones, A and 2 B on the large one), and a greedy
/// order without DRF misses it (offering A first gives A 3 tasks and B
/// none). The test runs every order of the agents' ids and both orders of
/// the frameworks' ids, in one role and in two, so that no tie-break
/// decides the result. It also needs the pass rotation: without it, one
/// order of the agents repeats the same useless offers every pass (B gets
/// the two 1-CPU agents, A the large one that its tasks no longer fit).
#[test]
fn drf_paper_example() {
    let shapes = [(1.0, 4096.0), (1.0, 7168.0), (7.0, 7168.0)];
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for perm in perms {
        for (a_name, b_name) in [("a", "b"), ("z", "b")] {
            for separate_roles in [false, true] {
                let mut a = new();
                for (i, &shape) in perm.iter().enumerate() {
                    let (cpus, mem) = shapes[shape];
                    a.add_agent(ag(&format!("agent{i}")), res(cpus, mem))
                        .unwrap();
                }
                assert_eq!(a.total(), q(9.0, 18432.0));
                let b_role = if separate_roles { "r2" } else { "r1" };
                a.add_framework(fw(a_name), "r1").unwrap();
                a.add_framework(fw(b_name), b_role).unwrap();
                let mut fws = [
                    PaperFramework {
                        id: fw(a_name),
                        task_cpus: 1.0,
                        task_mem_mb: 4096.0,
                        tasks: 0,
                    },
                    PaperFramework {
                        id: fw(b_name),
                        task_cpus: 3.0,
                        task_mem_mb: 1024.0,
                        tasks: 0,
                    },
                ];
                run_paper(&mut a, &mut fws, perm.len());
                let case = format!("agents {perm:?}, ids {a_name}/{b_name}, {b_role}");
                assert_eq!((fws[0].tasks, fws[1].tasks), (3, 2), "{case}");
                let (ra, rb) = (a.allocated(&fw(a_name)), a.allocated(&fw(b_name)));
                assert_eq!(ra, q(3.0, 12288.0), "{case}");
                assert_eq!(rb, q(6.0, 2048.0), "{case}");
                let total = a.total();
                assert!((ra.dominant_share(&total) - 2.0 / 3.0).abs() < 1e-12);
                assert!((rb.dominant_share(&total) - 2.0 / 3.0).abs() < 1e-12);
            }
        }
    }
}

// ---------------------------------------------------------------------
// (2), (3) Weights between roles, fairness inside a role.

#[test]
fn role_weights_split_allocations_in_proportion() {
    let mut a = new();
    add_agents(&mut a, 100, 1.0, 1024.0);
    a.set_weight("light", 1.0).unwrap();
    a.add_framework(fw("l"), "light").unwrap();
    a.add_framework(fw("h"), "heavy").unwrap();
    a.set_weight("heavy", 3.0).unwrap(); // set after the role exists
    let allocs = a.allocate(Time::ZERO);
    a.assert_consistent();
    let counts = count_by_framework(&allocs);
    assert_eq!(counts.values().sum::<usize>(), 100);
    // 1:3 of 100 agents is 25:75; within one agent's worth.
    assert!(counts["l"].abs_diff(25) <= 1, "{counts:?}");
    assert!(counts["h"].abs_diff(75) <= 1, "{counts:?}");
    // Nothing left: the hungry frameworks keep everything.
    assert!(a.allocate(secs(1.0)).is_empty());
}

#[test]
fn frameworks_in_one_role_share_equally_and_roles_share_equally() {
    let mut a = new();
    add_agents(&mut a, 40, 2.0, 4096.0);
    a.add_framework(fw("x1"), "x").unwrap();
    a.add_framework(fw("x2"), "x").unwrap();
    let counts = count_by_framework(&a.allocate(Time::ZERO));
    assert_eq!(counts["x1"], 20);
    assert_eq!(counts["x2"], 20);

    // Hierarchy: a role with two frameworks gets as much as a role with
    // one, split between its two.
    let mut a = new();
    add_agents(&mut a, 40, 2.0, 4096.0);
    a.add_framework(fw("x1"), "x").unwrap();
    a.add_framework(fw("x2"), "x").unwrap();
    a.add_framework(fw("y1"), "y").unwrap();
    let counts = count_by_framework(&a.allocate(Time::ZERO));
    assert!(counts["y1"].abs_diff(20) <= 1, "{counts:?}");
    assert!(counts["x1"].abs_diff(10) <= 1, "{counts:?}");
    assert!(counts["x2"].abs_diff(10) <= 1, "{counts:?}");
    a.assert_consistent();
}

#[test]
fn pass_start_rotates_over_agents() {
    let mut a = new();
    let agents = add_agents(&mut a, 3, 1.0, 1024.0);
    a.add_framework(fw("f"), "r").unwrap();
    for pass in 0..6 {
        let allocs = a.allocate(secs(pass as f64));
        let order: Vec<&AgentId> = allocs.iter().map(|x| &x.agent).collect();
        let s = pass % 3;
        let expect = [&agents[s], &agents[(s + 1) % 3], &agents[(s + 2) % 3]];
        assert_eq!(order, expect, "pass {pass}");
        for x in &allocs {
            a.recover(&x.framework, &x.agent, &x.resources, None, secs(0.0))
                .unwrap();
        }
    }
}

#[test]
fn removing_an_agent_drops_its_holdings_and_removing_a_framework_frees_them() {
    let mut a = new();
    let agents = add_agents(&mut a, 2, 4.0, 4096.0);
    a.add_framework(fw("f"), "r").unwrap();
    a.add_framework(fw("g"), "r").unwrap();
    let allocs = a.allocate(Time::ZERO);
    assert_eq!(allocs.len(), 2);
    a.remove_agent(&agents[0]).unwrap();
    a.assert_consistent();
    assert_eq!(a.total(), q(4.0, 4096.0));
    let holder = &allocs
        .iter()
        .find(|x| x.agent == agents[1])
        .unwrap()
        .framework;
    assert_eq!(a.allocated(holder), q(4.0, 4096.0));
    a.remove_framework(holder).unwrap();
    a.assert_consistent();
    assert_eq!(a.available(&agents[1]), Some(res(4.0, 4096.0)));
    assert_eq!(a.allocated(holder), Quantities::empty());
    // Its role is gone with its last framework but for the other.
    let other = if holder == &fw("f") { fw("g") } else { fw("f") };
    let again = a.allocate(secs(1.0));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].framework, other);
}

// ---------------------------------------------------------------------
// (4), (5) Filters, suppress and revive.

#[test]
fn refuse_filter_holds_the_agent_back_until_it_expires() {
    let mut a = new();
    let agents = add_agents(&mut a, 1, 4.0, 4096.0);
    let whole = res(4.0, 4096.0);
    a.add_framework(fw("f"), "r").unwrap();
    a.add_framework(fw("g"), "r").unwrap();

    let x = a.allocate(secs(10.0));
    assert_eq!(x[0].framework, fw("f")); // equal shares: lower id
    a.recover(
        &fw("f"),
        &agents[0],
        &whole,
        Some(Duration::from_secs(5)),
        secs(10.0),
    )
    .unwrap();

    // f is filtered until 15 s; g still gets the agent.
    for t in [10.0, 12.0, 14.999] {
        let x = a.allocate(secs(t));
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].framework, fw("g"), "at {t}");
        a.recover(&fw("g"), &agents[0], &whole, None, secs(t))
            .unwrap();
    }
    // With g out of the way, nobody is eligible before 15 s.
    a.suppress(&fw("g")).unwrap();
    assert!(a.allocate(secs(14.999)).is_empty());
    let x = a.allocate(secs(15.0));
    assert_eq!(x[0].framework, fw("f"));
    a.assert_consistent();
}

#[test]
fn refuse_is_capped_at_365_days_and_zero_sets_no_filter() {
    let mut a = new();
    let agents = add_agents(&mut a, 1, 4.0, 4096.0);
    let whole = res(4.0, 4096.0);
    a.add_framework(fw("f"), "r").unwrap();
    a.allocate(Time::ZERO);
    a.recover(
        &fw("f"),
        &agents[0],
        &whole,
        Some(Duration::ZERO),
        Time::ZERO,
    )
    .unwrap();
    assert_eq!(a.allocate(Time::ZERO).len(), 1);
    a.recover(
        &fw("f"),
        &agents[0],
        &whole,
        Some(Duration::MAX),
        Time::ZERO,
    )
    .unwrap();
    let cap = Time::ZERO + MAX_REFUSE;
    assert!(a.allocate(Time::from_nanos(cap.as_nanos() - 1)).is_empty());
    assert_eq!(a.allocate(cap).len(), 1);
}

#[test]
fn suppress_stops_offers_and_revive_clears_filters() {
    let mut a = new();
    let agents = add_agents(&mut a, 2, 4.0, 4096.0);
    a.add_framework(fw("f"), "r").unwrap();
    a.suppress(&fw("f")).unwrap();
    a.suppress(&fw("f")).unwrap(); // idempotent
    assert!(a.allocate(Time::ZERO).is_empty());
    a.assert_consistent();
    a.revive(&fw("f")).unwrap();
    let x = a.allocate(Time::ZERO);
    assert_eq!(x.len(), 2);
    let long = Some(Duration::from_secs(3600));
    for x in &x {
        a.recover(&x.framework, &x.agent, &x.resources, long, Time::ZERO)
            .unwrap();
    }
    assert!(a.allocate(secs(1.0)).is_empty());
    a.revive(&fw("f")).unwrap();
    a.revive(&fw("f")).unwrap(); // idempotent
    let x = a.allocate(secs(1.0));
    assert_eq!(x.len(), 2);
    assert!(x.iter().all(|x| agents.contains(&x.agent)));
    a.assert_consistent();
}

#[test]
fn suppressed_holdings_still_count_in_the_role_share() {
    let mut a = new();
    add_agents(&mut a, 10, 1.0, 1024.0);
    a.add_framework(fw("p"), "busy").unwrap();
    let first = a.allocate(Time::ZERO);
    assert_eq!(first.len(), 10);
    // p gives back half and is suppressed; the busy role's share stays at
    // 1/2, so a newcomer in another role gets the agents p gave back.
    for x in &first[..5] {
        a.recover(&x.framework, &x.agent, &x.resources, None, Time::ZERO)
            .unwrap();
    }
    a.suppress(&fw("p")).unwrap();
    a.add_framework(fw("q"), "busy").unwrap();
    a.add_framework(fw("n"), "new").unwrap();
    let counts = count_by_framework(&a.allocate(secs(1.0)));
    // busy holds 5 of 10 (share 1/2): new gets agents until it reaches 1/2.
    assert_eq!(counts.get("n"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("q"), None, "{counts:?}");
}

// ---------------------------------------------------------------------
// (6) The allocatable threshold.

#[test]
fn leftovers_below_both_thresholds_are_not_offered() {
    let mut a = new();
    let agents = add_agents(&mut a, 1, 4.0, 4096.0);
    a.add_framework(fw("f"), "r").unwrap();
    assert_eq!(a.allocate(Time::ZERO).len(), 1);
    let give = |a: &mut Allocator, r: Resources| {
        a.recover(&fw("f"), &agents[0], &r, None, Time::ZERO)
            .unwrap();
    };
    give(&mut a, res(0.005, 31.0));
    assert!(a.allocate(Time::ZERO).is_empty(), "0.005 cpus, 31 MB");
    give(&mut a, res(0.0, 1.0));
    let x = a.allocate(Time::ZERO);
    assert_eq!(x[0].resources, res(0.005, 32.0), "32 MB is enough");
    // Only cpus, at the threshold.
    let mut a2 = new();
    a2.add_agent(ag("c"), res(0.01, 0.0)).unwrap();
    a2.add_framework(fw("f"), "r").unwrap();
    assert_eq!(a2.allocate(Time::ZERO).len(), 1);
    // Neither cpus nor mem: not offered (Mesos's rule).
    let mut a3 = new();
    a3.add_agent(ag("d"), Resources::scalar("disk", 1000.0).unwrap())
        .unwrap();
    a3.add_framework(fw("f"), "r").unwrap();
    assert!(a3.allocate(Time::ZERO).is_empty());
    // Custom thresholds.
    let cfg = AllocatorConfig {
        min_allocatable_cpus: 1.0,
        min_allocatable_mem_mb: 1024.0,
    };
    let mut a4 = Allocator::new(cfg);
    a4.add_agent(ag("e"), res(0.5, 512.0)).unwrap();
    a4.add_framework(fw("f"), "r").unwrap();
    assert!(a4.allocate(Time::ZERO).is_empty());
}

#[test]
fn config_validation() {
    assert_eq!(AllocatorConfig::default().validate(), Ok(()));
    for (cpus, mem) in [
        (0.0, 32.0),
        (0.01, -1.0),
        (f64::NAN, 32.0),
        (0.01, f64::INFINITY),
    ] {
        let cfg = AllocatorConfig {
            min_allocatable_cpus: cpus,
            min_allocatable_mem_mb: mem,
        };
        assert!(
            matches!(cfg.validate(), Err(AllocatorError::BadConfig { .. })),
            "{cfg:?}"
        );
    }
}

// ---------------------------------------------------------------------
// (7) Refusals leave the state unchanged.

/// What can be seen from outside.
fn observe(a: &Allocator, fws: &[&str], agents: &[&str]) -> String {
    let mut s = format!("total {}\n", a.total());
    for f in fws {
        s += &format!("fw {f}: {}\n", a.allocated(&fw(f)));
    }
    for g in agents {
        s += &format!("agent {g}: {:?}\n", a.available(&ag(g)));
    }
    s
}

#[test]
fn every_refusal_leaves_the_state_unchanged() {
    let mut a = new();
    a.add_agent(ag("g1"), res(4.0, 4096.0)).unwrap();
    a.add_agent(ag("g2"), res(2.0, 2048.0)).unwrap();
    a.add_framework(fw("f"), "r").unwrap();
    a.add_framework(fw("h"), "s").unwrap();
    a.allocate(Time::ZERO);
    // f holds g1, h holds g2; give half of g1 back so both lists are mixed.
    a.recover(&fw("f"), &ag("g1"), &res(2.0, 2048.0), None, Time::ZERO)
        .unwrap();
    let fws = ["f", "h", "nobody"];
    let agents = ["g1", "g2", "nowhere"];
    let before = observe(&a, &fws, &agents);
    let t = Time::ZERO;
    let cases: Vec<(&str, Result<(), AllocatorError>)> = vec![
        ("dup agent", a.add_agent(ag("g1"), res(1.0, 1.0))),
        ("rm unknown agent", a.remove_agent(&ag("nowhere"))),
        ("dup fw", a.add_framework(fw("f"), "other")),
        ("bad role", a.add_framework(fw("new"), "")),
        ("bad role dash", a.add_framework(fw("new"), "-x")),
        ("bad role space", a.add_framework(fw("new"), "a b")),
        ("rm unknown fw", a.remove_framework(&fw("nobody"))),
        ("weight 0", a.set_weight("r", 0.0)),
        ("weight -1", a.set_weight("r", -1.0)),
        ("weight nan", a.set_weight("r", f64::NAN)),
        ("weight inf", a.set_weight("r", f64::INFINITY)),
        ("weight bad role", a.set_weight("..", 2.0)),
        (
            "recover unknown fw",
            a.recover(&fw("nobody"), &ag("g1"), &res(1.0, 0.0), None, t),
        ),
        (
            "recover unknown agent",
            a.recover(&fw("f"), &ag("nowhere"), &res(1.0, 0.0), None, t),
        ),
        (
            "recover too much",
            a.recover(&fw("f"), &ag("g1"), &res(3.0, 0.0), None, t),
        ),
        (
            "recover other's",
            a.recover(&fw("f"), &ag("g2"), &res(1.0, 0.0), None, t),
        ),
        (
            "recover unknown kind",
            a.recover(
                &fw("f"),
                &ag("g1"),
                &Resources::scalar("gpus", 1.0).unwrap(),
                None,
                t,
            ),
        ),
        (
            "recover with filter, too much",
            a.recover(
                &fw("f"),
                &ag("g1"),
                &res(9.0, 0.0),
                Some(Duration::from_secs(9)),
                t,
            ),
        ),
        ("suppress unknown", a.suppress(&fw("nobody"))),
        ("revive unknown", a.revive(&fw("nobody"))),
    ];
    for (name, result) in cases {
        assert!(result.is_err(), "{name} was accepted");
        assert_eq!(observe(&a, &fws, &agents), before, "{name} changed state");
        a.assert_consistent();
    }
    // The refused filter above did not stick: g1's free half still goes to
    // f (lower share than h? f holds 2/6 cpus, h 2/6: tie, f by id).
    let x = a.allocate(secs(1.0));
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].framework, fw("f"));
    assert_eq!(x[0].agent, ag("g1"));
}

#[test]
fn recovering_nothing_is_a_no_op_without_a_filter() {
    let mut a = new();
    a.add_agent(ag("g"), res(1.0, 1024.0)).unwrap();
    a.add_framework(fw("f"), "r").unwrap();
    a.recover(
        &fw("f"),
        &ag("g"),
        &Resources::empty(),
        Some(Duration::from_secs(60)),
        Time::ZERO,
    )
    .unwrap();
    assert_eq!(a.allocate(Time::ZERO).len(), 1);
}

#[test]
fn errors_name_what_was_wrong() {
    let mut a = new();
    assert_eq!(
        a.remove_agent(&ag("x")),
        Err(AllocatorError::UnknownAgent(ag("x")))
    );
    a.add_agent(ag("x"), res(1.0, 1.0)).unwrap();
    a.add_framework(fw("f"), "r").unwrap();
    assert_eq!(
        a.recover(&fw("f"), &ag("x"), &res(1.0, 0.0), None, Time::ZERO),
        Err(AllocatorError::NotAllocated {
            framework: fw("f"),
            agent: ag("x")
        })
    );
    assert_eq!(
        a.add_framework(fw("f"), "r"),
        Err(AllocatorError::DuplicateFramework(fw("f")))
    );
    assert!(a
        .set_weight("r", 0.0)
        .unwrap_err()
        .to_string()
        .contains("weight 0"));
}
