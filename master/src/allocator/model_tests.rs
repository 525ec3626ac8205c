//! Random operation sequences against an outside model.
//!
//! The model shares no arithmetic with the code under test: a bundle is
//! plain sets of port numbers and set items plus scalar thousandths
//! ([`Naive`]), a sum over agents is plain counters ([`Sum`]), and a pass
//! is a naive hierarchical DRF that re-sorts for every agent. Agents are
//! drawn from shapes whose ports and sets are identical, overlapping,
//! nested or disjoint, as on a real cluster where every agent offers
//! `ports:[31000-32000]`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use corral_api::resources::{RangeSet, Scalar, StringSet};

fn fw(s: &str) -> FrameworkId {
    FrameworkId::from(s)
}

fn ag(s: &str) -> AgentId {
    AgentId::from(s)
}

/// One agent's resources, or part of them, as plain sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Naive {
    /// Thousandths; no zeros.
    scalars: BTreeMap<String, u64>,
    /// Range values; no empty sets.
    ranges: BTreeMap<String, BTreeSet<u64>>,
    /// Set items; no empty sets.
    sets: BTreeMap<String, BTreeSet<String>>,
}

impl Naive {
    fn of(r: &Resources) -> Naive {
        let mut n = Naive::default();
        for name in r.scalar_names() {
            n.scalars.insert(name.to_owned(), r.amount(name).millis());
        }
        for name in r.range_names() {
            let values = r.ranges(name).iter().flatten().collect();
            n.ranges.insert(name.to_owned(), values);
        }
        for name in r.set_names() {
            let items = r.set(name).iter().map(str::to_owned).collect();
            n.sets.insert(name.to_owned(), items);
        }
        n
    }

    fn to_resources(&self) -> Resources {
        let mut r = Resources::empty();
        for (name, &millis) in &self.scalars {
            r = r
                .with_scalar(name, Scalar::from_millis(millis).to_f64())
                .unwrap();
        }
        for (name, values) in &self.ranges {
            let ranges = RangeSet::from_pairs(values.iter().map(|&v| (v, v))).unwrap();
            r = r.with_ranges(name, ranges).unwrap();
        }
        for (name, items) in &self.sets {
            let set: StringSet = items.iter().map(String::as_str).collect();
            r = r.with_set(name, set).unwrap();
        }
        r
    }

    fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.ranges.is_empty() && self.sets.is_empty()
    }

    /// Adds `o`, which must share no port or item with this (parts of one
    /// agent never do).
    fn add(&mut self, o: &Naive) {
        for (name, v) in &o.scalars {
            *self.scalars.entry(name.clone()).or_default() += v;
        }
        for (name, values) in &o.ranges {
            let mine = self.ranges.entry(name.clone()).or_default();
            for v in values {
                assert!(mine.insert(*v), "{name} value {v} held twice on one agent");
            }
        }
        for (name, items) in &o.sets {
            let mine = self.sets.entry(name.clone()).or_default();
            for i in items {
                assert!(
                    mine.insert(i.clone()),
                    "{name} item {i} held twice on one agent"
                );
            }
        }
    }

    fn contains(&self, o: &Naive) -> bool {
        o.scalars
            .iter()
            .all(|(k, v)| self.scalars.get(k).is_some_and(|h| h >= v))
            && o.ranges
                .iter()
                .all(|(k, v)| self.ranges.get(k).is_some_and(|h| h.is_superset(v)))
            && o.sets
                .iter()
                .all(|(k, v)| self.sets.get(k).is_some_and(|h| h.is_superset(v)))
    }

    fn minus(&self, o: &Naive) -> Naive {
        assert!(self.contains(o), "model takes what is not there");
        let mut out = self.clone();
        for (k, v) in &o.scalars {
            let h = out.scalars.get_mut(k).unwrap();
            *h -= v;
            if *h == 0 {
                out.scalars.remove(k);
            }
        }
        for (k, v) in &o.ranges {
            let h = out.ranges.get_mut(k).unwrap();
            h.retain(|x| !v.contains(x));
            if h.is_empty() {
                out.ranges.remove(k);
            }
        }
        for (k, v) in &o.sets {
            let h = out.sets.get_mut(k).unwrap();
            h.retain(|x| !v.contains(x));
            if h.is_empty() {
                out.sets.remove(k);
            }
        }
        out
    }

    /// `quarters`/4 of each scalar, and the ports and items at positions
    /// `i % 4 < quarters`; past 4 quarters, one more cpu than is here.
    fn part(&self, quarters: u8) -> Naive {
        let q = u64::from(quarters.min(4));
        let mut out = Naive::default();
        for (k, &v) in &self.scalars {
            let share = v * q / 4;
            if share > 0 {
                out.scalars.insert(k.clone(), share);
            }
        }
        for (k, values) in &self.ranges {
            let kept: BTreeSet<u64> = values
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i as u64) % 4 < q)
                .map(|(_, v)| *v)
                .collect();
            if !kept.is_empty() {
                out.ranges.insert(k.clone(), kept);
            }
        }
        for (k, items) in &self.sets {
            let kept: BTreeSet<String> = items
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i as u64) % 4 < q)
                .map(|(_, v)| v.clone())
                .collect();
            if !kept.is_empty() {
                out.sets.insert(k.clone(), kept);
            }
        }
        if quarters > 4 {
            let cpus = self.scalars.get("cpus").copied().unwrap_or(0);
            out.scalars.insert("cpus".to_owned(), cpus + 1000);
        }
        out
    }
}

/// Amounts summed over agents: counters, never set unions.
#[derive(Clone, Debug, Default, PartialEq)]
struct Sum {
    scalars: BTreeMap<String, u64>,
    members: BTreeMap<String, u64>,
}

impl Sum {
    fn add(&mut self, n: &Naive) {
        for (k, v) in &n.scalars {
            *self.scalars.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &n.ranges {
            *self.members.entry(k.clone()).or_default() += v.len() as u64;
        }
        for (k, v) in &n.sets {
            *self.members.entry(k.clone()).or_default() += v.len() as u64;
        }
    }

    /// The largest fraction of `total` held of any scalar.
    fn share(&self, total: &Sum) -> f64 {
        let mut best = 0.0f64;
        for (k, &v) in &self.scalars {
            if let Some(&t) = total.scalars.get(k).filter(|t| **t > 0) {
                best = best.max(v as f64 / t as f64);
            }
        }
        best
    }

    /// The allocator's quantities agree, name by name.
    fn assert_matches(&self, q: &Quantities, what: &str) {
        for name in ["cpus", "mem", "disk"] {
            let want = self.scalars.get(name).copied().unwrap_or(0);
            assert_eq!(q.amount(name).millis(), want, "{what}: {name} in {q}");
        }
        for name in ["ports", "disks"] {
            let want = self.members.get(name).copied().unwrap_or(0);
            assert_eq!(q.members(name), want, "{what}: {name} in {q}");
        }
        let empty = self.scalars.is_empty() && self.members.is_empty();
        assert_eq!(q.is_empty(), empty, "{what}: {q}");
    }
}

/// The ports and sets an agent is drawn with: the same range on several
/// agents, ranges that overlap it, one nested in it, a disjoint one, sets
/// that overlap.
fn shape(kind: u8) -> Resources {
    let ports = |lo: u64, hi: u64| RangeSet::from_pairs([(lo, hi)]).unwrap();
    let disks = |items: &[&str]| items.iter().copied().collect::<StringSet>();
    let r = Resources::empty();
    match kind % 8 {
        0 => r,
        1 => r.with_ranges("ports", ports(31000, 31009)).unwrap(),
        2 => r.with_ranges("ports", ports(31005, 31014)).unwrap(),
        3 => r.with_ranges("ports", ports(31002, 31004)).unwrap(),
        4 => r.with_ranges("ports", ports(32000, 32009)).unwrap(),
        5 => r
            .with_ranges("ports", ports(31000, 31009))
            .and_then(|r| r.with_set("disks", disks(&["a", "b"])))
            .unwrap(),
        6 => r.with_set("disks", disks(&["a", "b"])).unwrap(),
        _ => r.with_set("disks", disks(&["b", "c"])).unwrap(),
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Agent id, half-cpus, mem MB, shape of ports and sets.
    AddAgent(u8, u8, u16, u8),
    RemoveAgent(u8),
    AddFramework(u8, u8),
    RemoveFramework(u8),
    SetWeight(u8, u8),
    /// Give back part of what the model says the framework holds on the
    /// agent ([`Naive::part`]; 5 quarters = more than it holds).
    Recover(u8, u8, u8, Option<u8>),
    /// A re-registering agent reports part of what is free on it as used
    /// by the framework ([`Naive::part`] of what is available).
    AddUsed(u8, u8, u8),
    /// The framework is removed while part of what it holds on the agent
    /// still runs ([`Naive::part`]): that part is held for nobody.
    Orphan(u8, u8, u8),
    /// Part of what is held for nobody on the agent is released (5
    /// quarters = more than is held).
    Release(u8, u8),
    Suppress(u8),
    Revive(u8),
    Allocate,
    Advance(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..6u8, 0..9u8, 0..5000u16, 0..8u8).prop_map(|(a, c, m, s)| Op::AddAgent(a, c, m, s)),
        1 => (0..6u8).prop_map(Op::RemoveAgent),
        2 => (0..5u8, 0..3u8).prop_map(|(f, r)| Op::AddFramework(f, r)),
        1 => (0..5u8).prop_map(Op::RemoveFramework),
        1 => (0..3u8, 0..4u8).prop_map(|(r, w)| Op::SetWeight(r, w)),
        5 => (0..5u8, 0..6u8, 0..6u8, proptest::option::of(0..4u8))
            .prop_map(|(f, a, q, d)| Op::Recover(f, a, q, d)),
        1 => (0..5u8, 0..6u8, 0..6u8).prop_map(|(f, a, q)| Op::AddUsed(f, a, q)),
        1 => (0..5u8, 0..6u8, 0..6u8).prop_map(|(f, a, q)| Op::Orphan(f, a, q)),
        1 => (0..6u8, 0..6u8).prop_map(|(a, q)| Op::Release(a, q)),
        1 => (0..5u8).prop_map(Op::Suppress),
        1 => (0..5u8).prop_map(Op::Revive),
        4 => Just(Op::Allocate),
        1 => (0..8u8).prop_map(Op::Advance),
    ]
}

/// What the allocator should have done, kept from its outputs alone.
#[derive(Default)]
struct Model {
    agents: BTreeMap<String, Naive>,
    /// Framework → role.
    frameworks: BTreeMap<String, String>,
    suppressed: BTreeSet<String>,
    /// (framework, agent) → held.
    held: BTreeMap<(String, String), Naive>,
    /// Agent → held for tasks of removed frameworks.
    orphaned: BTreeMap<String, Naive>,
    /// (framework, agent) → offered again from.
    filters: BTreeMap<(String, String), Time>,
    /// Role → weight, where set.
    weights: BTreeMap<String, f64>,
    /// Allocation passes so far.
    passes: u64,
    now: Time,
}

impl Model {
    /// What nobody holds on agent `g`.
    fn available(&self, held: &BTreeMap<(String, String), Naive>, g: &str) -> Naive {
        let mut on_g = self.orphaned.get(g).cloned().unwrap_or_default();
        for ((_, hg), r) in held {
            if hg == g {
                on_g.add(r);
            }
        }
        self.agents[g].minus(&on_g)
    }

    /// The sum of what `held` has where `keep(framework, agent)`.
    fn sum(held: &BTreeMap<(String, String), Naive>, keep: impl Fn(&str, &str) -> bool) -> Sum {
        let mut s = Sum::default();
        for ((f, g), r) in held {
            if keep(f, g) {
                s.add(r);
            }
        }
        s
    }

    fn total(&self) -> Sum {
        let mut s = Sum::default();
        for r in self.agents.values() {
            s.add(r);
        }
        s
    }

    fn take(&mut self, key: (String, String), give: &Naive) {
        let left = self.held[&key].minus(give);
        if left.is_empty() {
            self.held.remove(&key);
        } else {
            self.held.insert(key, left);
        }
    }
}

fn apply(a: &mut Allocator, m: &mut Model, op: &Op) {
    let now = m.now;
    match *op {
        Op::AddAgent(i, cpus, mem, kind) => {
            let id = format!("a{i}");
            let total = Resources::scalar("cpus", f64::from(cpus) / 2.0)
                .and_then(|r| r.with_scalar("mem", f64::from(mem)))
                .unwrap()
                .checked_plus(&shape(kind))
                .unwrap();
            let r = a.add_agent(ag(&id), total.clone());
            assert_eq!(r.is_ok(), !m.agents.contains_key(&id));
            m.agents.entry(id).or_insert(Naive::of(&total));
        }
        Op::RemoveAgent(i) => {
            let id = format!("a{i}");
            let r = a.remove_agent(&ag(&id));
            assert_eq!(r.is_ok(), m.agents.remove(&id).is_some());
            m.orphaned.remove(&id);
            m.held.retain(|(_, g), _| *g != id);
            m.filters.retain(|(_, g), _| *g != id);
        }
        Op::AddFramework(i, role) => {
            let id = format!("f{i}");
            let r = a.add_framework(fw(&id), &format!("r{role}"));
            assert_eq!(r.is_ok(), !m.frameworks.contains_key(&id));
            m.frameworks.entry(id).or_insert(format!("r{role}"));
        }
        Op::RemoveFramework(i) => {
            let id = format!("f{i}");
            let r = a.remove_framework(&fw(&id));
            assert_eq!(r.is_ok(), m.frameworks.remove(&id).is_some());
            m.held.retain(|(f, _), _| *f != id);
            m.filters.retain(|(f, _), _| *f != id);
            m.suppressed.remove(&id);
        }
        Op::SetWeight(role, w) => {
            let (role, w) = (format!("r{role}"), f64::from(w) * 1.5);
            let r = a.set_weight(&role, w);
            assert_eq!(r.is_ok(), w > 0.0);
            if r.is_ok() {
                m.weights.insert(role, w);
            }
        }
        Op::Recover(f, g, quarters, refuse) => {
            let (f, g) = (format!("f{f}"), format!("a{g}"));
            let key = (f.clone(), g.clone());
            let held = m.held.get(&key).cloned().unwrap_or_default();
            let give = held.part(quarters);
            let refuse = refuse.map(|s| Duration::from_secs(u64::from(s)));
            let r = a.recover(&fw(&f), &ag(&g), &give.to_resources(), refuse, now);
            let known = m.frameworks.contains_key(&f) && m.agents.contains_key(&g);
            assert_eq!(r.is_ok(), known && held.contains(&give), "{r:?}");
            if r.is_ok() && !give.is_empty() {
                m.take(key.clone(), &give);
                if let Some(d) = refuse.filter(|d| !d.is_zero()) {
                    let e = m.filters.entry(key).or_insert(now + d);
                    *e = (*e).max(now + d);
                }
            }
        }
        Op::AddUsed(f, g, quarters) => {
            let (f, g) = (format!("f{f}"), format!("a{g}"));
            let known = m.frameworks.contains_key(&f) && m.agents.contains_key(&g);
            let free = if known {
                m.available(&m.held, &g)
            } else {
                Naive::default()
            };
            let used = free.part(quarters);
            let r = a.add_used(&fw(&f), &ag(&g), &used.to_resources());
            assert_eq!(r.is_ok(), known && free.contains(&used), "{r:?}");
            if r.is_ok() && !used.is_empty() {
                m.held.entry((f, g)).or_default().add(&used);
            }
        }
        Op::Orphan(f, g, quarters) => {
            let (f, g) = (format!("f{f}"), format!("a{g}"));
            let key = (f.clone(), g.clone());
            let held = m.held.get(&key).cloned().unwrap_or_default();
            let running = held.part(quarters);
            let r = a
                .recover(&fw(&f), &ag(&g), &running.to_resources(), None, now)
                .and_then(|()| a.hold_orphaned(&ag(&g), &running.to_resources()));
            let known = m.frameworks.contains_key(&f) && m.agents.contains_key(&g);
            assert_eq!(r.is_ok(), known && held.contains(&running), "{r:?}");
            if r.is_ok() && !running.is_empty() {
                m.take(key, &running);
                m.orphaned.entry(g).or_default().add(&running);
            }
            // What the framework still held elsewhere goes with it.
            if known && m.frameworks.remove(&f).is_some() {
                a.remove_framework(&fw(&f)).unwrap();
                m.held.retain(|(hf, _), _| *hf != f);
                m.filters.retain(|(hf, _), _| *hf != f);
                m.suppressed.remove(&f);
            }
        }
        Op::Release(g, quarters) => {
            let g = format!("a{g}");
            let orphaned = m.orphaned.get(&g).cloned().unwrap_or_default();
            let give = orphaned.part(quarters);
            let r = a.release_orphaned(&ag(&g), &give.to_resources());
            let known = m.agents.contains_key(&g);
            assert_eq!(r.is_ok(), known && orphaned.contains(&give), "{r:?}");
            if r.is_ok() && !give.is_empty() {
                let left = orphaned.minus(&give);
                if left.is_empty() {
                    m.orphaned.remove(&g);
                } else {
                    m.orphaned.insert(g, left);
                }
            }
        }
        Op::Suppress(i) => {
            let id = format!("f{i}");
            assert_eq!(a.suppress(&fw(&id)).is_ok(), m.frameworks.contains_key(&id));
            if m.frameworks.contains_key(&id) {
                m.suppressed.insert(id);
            }
        }
        Op::Revive(i) => {
            let id = format!("f{i}");
            assert_eq!(a.revive(&fw(&id)).is_ok(), m.frameworks.contains_key(&id));
            m.suppressed.remove(&id);
            m.filters.retain(|(f, _), _| *f != id);
        }
        Op::Allocate => check_pass(a, m, now),
        Op::Advance(s) => m.now = now + Duration::from_secs(u64::from(s)),
    }
}

/// One pass: each agent at most once, to a known, unsuppressed, unfiltered
/// framework, exactly what the agent had available, and exactly the choices
/// a naive hierarchical DRF (re-sorting for every agent) makes; the model
/// takes note.
fn check_pass(a: &mut Allocator, m: &mut Model, now: Time) {
    let expected = expected_pass(m, now);
    m.passes += 1;
    let allocs = a.allocate(now);
    let mut seen = BTreeSet::new();
    for x in &allocs {
        let (f, g) = (&x.framework.0, &x.agent.0);
        assert!(
            seen.insert(g.clone()),
            "agent {g} allocated twice in a pass"
        );
        assert!(m.frameworks.contains_key(f) && !m.suppressed.contains(f));
        if let Some(&until) = m.filters.get(&(f.clone(), g.clone())) {
            assert!(now >= until, "{f} on {g} filtered until {until:?}");
        }
        assert!(!x.resources.is_empty());
    }
    let got: Vec<(String, String, Naive)> = allocs
        .into_iter()
        .map(|x| (x.framework.0, x.agent.0, Naive::of(&x.resources)))
        .collect();
    assert_eq!(got, expected, "pass differs from naive DRF");
    for (f, g, r) in got {
        m.held.entry((f, g)).or_default().add(&r);
    }
}

/// Mesos's allocatable threshold, restated: cpus 0.01 or mem 32 MB.
fn allocatable(n: &Naive) -> bool {
    let millis = |k: &str| n.scalars.get(k).copied().unwrap_or(0);
    !n.is_empty() && (millis("cpus") >= 10 || millis("mem") >= 32_000)
}

/// The order key DRF gives a share at `weight`.
fn key(share: f64, weight: f64) -> u64 {
    (share / weight + 0.0).to_bits()
}

/// The pass a naive hierarchical DRF makes over the model.
fn expected_pass(m: &Model, now: Time) -> Vec<(String, String, Naive)> {
    let total = m.total();
    let mut held = m.held.clone();
    let ids: Vec<&String> = m.agents.keys().collect();
    let n = ids.len();
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    let start = (m.passes % n as u64) as usize;
    for g in ids[start..].iter().chain(&ids[..start]) {
        let avail = m.available(&held, g);
        if !allocatable(&avail) {
            continue;
        }
        let eligible: Vec<&String> = m
            .frameworks
            .keys()
            .filter(|f| {
                !m.suppressed.contains(*f)
                    && m.filters
                        .get(&((*f).clone(), (*g).clone()))
                        .is_none_or(|&until| now >= until)
            })
            .collect();
        let role_key = |role: &String| {
            let s = Model::sum(&held, |f, _| m.frameworks[f] == *role);
            let w = m.weights.get(role).copied().unwrap_or(1.0);
            (key(s.share(&total), w), role.clone())
        };
        let Some((_, role)) = eligible.iter().map(|f| role_key(&m.frameworks[*f])).min() else {
            continue;
        };
        let (_, f) = eligible
            .iter()
            .filter(|f| m.frameworks[**f] == role)
            .map(|f| {
                let s = Model::sum(&held, |h, _| h == f.as_str());
                (key(s.share(&total), 1.0), (*f).clone())
            })
            .min()
            .unwrap();
        held.entry((f.clone(), (*g).clone()))
            .or_default()
            .add(&avail);
        out.push((f, (*g).clone(), avail));
    }
    out
}

/// The allocator matches the model: per agent, available plus what each
/// framework holds is its total, with no port or item held twice; the
/// cluster total and each framework's allocation are the model's counts.
fn check_model(a: &Allocator, m: &Model) {
    for g in m.agents.keys() {
        let avail = a.available(&ag(g)).unwrap();
        assert_eq!(Naive::of(&avail), m.available(&m.held, g), "agent {g}");
    }
    m.total().assert_matches(&a.total(), "cluster total");
    for f in m.frameworks.keys() {
        let held = Model::sum(&m.held, |hf, _| hf == f);
        held.assert_matches(&a.allocated(&fw(f)), &format!("framework {f}"));
    }
}

/// The README's cluster: two agents with the same detected ports, a
/// framework that is offered both and gives one back, then the agent
/// goes away. Mesos users run exactly this on one machine.
#[test]
fn two_agents_with_the_same_ports_are_two_sets_of_ports() {
    let mut a = Allocator::new(AllocatorConfig::default());
    let agent = Resources::scalar("cpus", 2.0)
        .unwrap()
        .checked_plus(&shape(1))
        .unwrap();
    a.add_agent(ag("a1"), agent.clone()).unwrap();
    a.add_agent(ag("a2"), agent.clone()).unwrap();
    a.add_framework(fw("f"), "r").unwrap();
    let allocs = a.allocate(Time::ZERO);
    assert_eq!(allocs.len(), 2);
    assert_eq!(a.allocated(&fw("f")).members("ports"), 20);
    assert_eq!(a.total().members("ports"), 20);
    a.recover(&fw("f"), &ag("a1"), &agent, None, Time::ZERO)
        .unwrap();
    assert_eq!(a.allocated(&fw("f")).members("ports"), 10);
    a.remove_agent(&ag("a2")).unwrap();
    assert!(a.allocated(&fw("f")).is_empty());
    assert_eq!(a.total(), Quantities::of(&agent));
    a.assert_consistent();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_operations_keep_the_books(ops in proptest::collection::vec(op(), 1..120)) {
        let mut a = Allocator::new(AllocatorConfig::default());
        let mut m = Model::default();
        for op in &ops {
            apply(&mut a, &mut m, op);
            a.assert_consistent();
            check_model(&a, &m);
        }
    }
}
