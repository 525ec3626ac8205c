//! The allocator's pure core: hierarchical Dominant Resource Fairness over
//! roles and their frameworks, with decline filters and suppression, as
//! Mesos's `HierarchicalDRFAllocator`.
//!
//! No async, no clock, no I/O: the allocator actor feeds [`Allocator`] the
//! cluster's changes and the current time, calls [`Allocator::allocate`] once
//! per allocation interval (STYLE 8), and turns the returned
//! [`Allocation`]s into offers. Whatever a framework does not use comes back
//! through [`Allocator::recover`].
//!
//! Deliberate simplifications against Mesos, for now: one role per
//! framework; no quotas, reservations or revocable resources; a decline
//! filter covers the whole agent rather than the declined resources.

mod actor;
pub mod cycles;
mod error;
mod holdings;
mod labels;
pub mod messages;
mod slab;
pub mod sorter;

#[cfg(test)]
mod actor_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::mem;
use std::sync::Arc;
use std::time::Duration;

use corral_runtime::Time;
use serde::{Deserialize, Serialize};

pub use self::actor::{AllocatorActor, AllocatorActorConfig, ALLOCATIONS_PER_MESSAGE};
pub use self::error::AllocatorError;
use self::holdings::Holdings;
use self::slab::{Slab, SlotSet};
pub use self::sorter::{ClientKey, DrfSorter, Sorter};
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::{Quantities, Resources};

/// The longest decline filter: Mesos caps `refuse_seconds` at 365 days.
pub const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// What is worth offering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocatorConfig {
    /// An agent's leftover is offered if it has at least this many CPUs (or
    /// [`AllocatorConfig::min_allocatable_mem_mb`] of memory). Default 0.01,
    /// Mesos's `MIN_CPUS`.
    pub min_allocatable_cpus: f64,
    /// An agent's leftover is offered if it has at least this much memory in
    /// MB (or [`AllocatorConfig::min_allocatable_cpus`]). Default 32, Mesos's
    /// `MIN_MEM`.
    pub min_allocatable_mem_mb: f64,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            min_allocatable_cpus: 0.01,
            min_allocatable_mem_mb: 32.0,
        }
    }
}

impl AllocatorConfig {
    /// Rejects thresholds that are not finite numbers above zero.
    pub fn validate(&self) -> Result<(), AllocatorError> {
        let fields = [
            ("min_allocatable_cpus", self.min_allocatable_cpus),
            ("min_allocatable_mem_mb", self.min_allocatable_mem_mb),
        ];
        for (field, value) in fields {
            if !(value.is_finite() && value > 0.0) {
                return Err(AllocatorError::BadConfig { field, value });
            }
        }
        Ok(())
    }

    /// Whether a leftover is worth offering: not empty, and at least one of
    /// the thresholds met (Mesos's semantics: a leftover of only disk or
    /// GPUs is not offered).
    fn allocatable(&self, r: &Resources) -> bool {
        !r.is_empty()
            && (r.cpus() >= self.min_allocatable_cpus || r.mem_mb() >= self.min_allocatable_mem_mb)
    }
}

/// One decision of an allocation pass: `framework` now holds `resources` of
/// `agent` (everything that agent had available); the master offers them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// Who gets the resources.
    pub framework: FrameworkId,
    /// Where they are.
    pub agent: AgentId,
    /// What is allocated.
    pub resources: Resources,
}

/// The allocator's state: agents with what they have available, frameworks
/// with what they hold, roles with weights, and decline filters.
///
/// # Calling order
///
/// - **Cluster changes, as they happen:** [`add_agent`](Self::add_agent),
///   [`remove_agent`](Self::remove_agent),
///   [`add_framework`](Self::add_framework),
///   [`remove_framework`](Self::remove_framework),
///   [`set_weight`](Self::set_weight); for the live tasks of a removed
///   framework, [`hold_orphaned`](Self::hold_orphaned) until they end,
///   then [`release_orphaned`](Self::release_orphaned).
/// - **Framework calls, as they arrive:** [`recover`](Self::recover) for
///   declined offers, unused parts of accepts and ended tasks (with the
///   framework's filter, given the current time);
///   [`suppress`](Self::suppress) and [`revive`](Self::revive).
/// - **Once per allocation interval, or after an event that warrants an
///   early pass:** [`allocate`](Self::allocate) with the current time. Its
///   allocations stay held by their frameworks until recovered; the master
///   must recover whatever an offer's framework leaves unused, or it is
///   never offered again.
/// - **Any time, to read:** [`allocated`](Self::allocated),
///   [`available`](Self::available), [`total`](Self::total).
///
/// Every method is a plain state change; an `Err` leaves the state
/// untouched. `now` must not go backwards between calls.
///
/// # Ordering and determinism
///
/// Roles are ordered by weighted dominant share (`share / weight`, then
/// name) and frameworks within a role by dominant share (then id), shares
/// measured against the whole cluster's total. The orders are kept
/// incrementally by the [`Sorter`]s (O(log n) per allocation). Nothing is
/// decided by hash order, so the same calls give the same allocations.
#[derive(Debug)]
pub struct Allocator<S: Sorter = DrfSorter> {
    /// Allocation passes so far; rotates where a pass starts.
    passes: u64,
    /// The cluster total changed since shares were last measured.
    shares_stale: bool,
    /// Agents by id, also the order in which a pass visits them.
    agent_index: BTreeMap<AgentId, u32>,
    framework_index: BTreeMap<FrameworkId, u32>,
    role_index: BTreeMap<Arc<str>, u32>,
    /// Weights set by the operator, kept while a role has no frameworks.
    weights: BTreeMap<String, f64>,
    book: Book<S>,
}

/// The slots and sorters a pass updates, apart from the indexes it walks.
#[derive(Debug)]
struct Book<S> {
    cfg: AllocatorConfig,
    /// The sum of every agent's total.
    total: Quantities,
    /// The last framework generation given out (see [`Framework`]).
    generations: u64,
    agents: Slab<Agent>,
    frameworks: Slab<Framework>,
    roles: Slab<Role<S>>,
    /// Roles with at least one framework; active while one is unsuppressed.
    role_sorter: S,
}

#[derive(Debug)]
struct Agent {
    id: AgentId,
    total: Resources,
    /// Written only through [`Book::set_available`], which keeps
    /// `allocatable` in step.
    available: Resources,
    /// Whether `available` is worth offering ([`AllocatorConfig`]), kept so
    /// that a pass does not look resources up by name for every agent.
    allocatable: bool,
    /// What each framework (by slot) holds here.
    allocations: Holdings,
    /// What tasks of removed frameworks still use here until the agent
    /// reports them ended: held by nobody, offered to nobody.
    orphaned: Resources,
    /// Decline filters on this agent, at most one per framework slot, in no
    /// particular order (looked up by slot). Kept with the agent because a
    /// pass asks, for one agent at a time, which frameworks it may go to.
    filters: Vec<Filter>,
}

/// A framework may not be offered an agent before `until`.
#[derive(Debug)]
struct Filter {
    framework: u32,
    /// The framework's generation when the filter was set: the filter
    /// holds only while the slot has that generation, so a revive, or a
    /// new framework in a reused slot, drops it without visiting agents.
    generation: u64,
    until: Time,
}

#[derive(Debug)]
struct Framework {
    id: FrameworkId,
    role: u32,
    suppressed: bool,
    /// Unique among all frameworks ever added; renewed by revive. Filters
    /// of another generation are void.
    generation: u64,
    /// Agents where this framework holds something. A hash set: a pass
    /// adds to it for every allocation, and emptied it keeps its room, so
    /// a steady state allocates nothing. Its order decides nothing: it is
    /// sorted before it is walked.
    agents: SlotSet,
}

#[derive(Debug)]
struct Role<S> {
    name: Arc<str>,
    /// Its frameworks; active while unsuppressed.
    sorter: S,
    frameworks: usize,
    unsuppressed: usize,
}

impl Allocator {
    /// An allocator with nothing in it, using weighted DRF.
    ///
    /// Panics if `cfg` fails [`AllocatorConfig::validate`]; the caller
    /// validates configuration when it reads it.
    pub fn new(cfg: AllocatorConfig) -> Allocator {
        Allocator::with_sorter(cfg)
    }
}

impl<S: Sorter> Allocator<S> {
    /// An allocator with nothing in it, ordering roles and frameworks by the
    /// policy `S`. Panics if `cfg` fails [`AllocatorConfig::validate`].
    pub fn with_sorter(cfg: AllocatorConfig) -> Allocator<S> {
        if let Err(e) = cfg.validate() {
            panic!("{e}");
        }
        Allocator {
            passes: 0,
            shares_stale: false,
            agent_index: BTreeMap::new(),
            framework_index: BTreeMap::new(),
            role_index: BTreeMap::new(),
            weights: BTreeMap::new(),
            book: Book {
                cfg,
                total: Quantities::empty(),
                generations: 0,
                agents: Slab::default(),
                frameworks: Slab::default(),
                roles: Slab::default(),
                role_sorter: S::default(),
            },
        }
    }

    /// A new agent with `total` resources, all available.
    pub fn add_agent(&mut self, agent: AgentId, total: Resources) -> Result<(), AllocatorError> {
        if self.agent_index.contains_key(&agent) {
            return Err(AllocatorError::DuplicateAgent(agent));
        }
        let b = &mut self.book;
        b.total.add(&total);
        let slot = b.agents.insert_with(|_| Agent {
            id: agent.clone(),
            available: Resources::empty(),
            allocatable: false,
            total: total.clone(),
            allocations: Holdings::default(),
            orphaned: Resources::empty(),
            filters: Vec::new(),
        });
        b.set_available(slot, total);
        self.agent_index.insert(agent, slot);
        self.shares_stale = true;
        Ok(())
    }

    /// Records that `fw` already holds `resources` on `agent`: tasks a
    /// re-registering agent reports to a newly elected master. They stop
    /// being available and count in `fw`'s share, as if allocated.
    pub fn add_used(
        &mut self,
        fw: &FrameworkId,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), AllocatorError> {
        let fw_slot = self.framework_slot(fw)?;
        let agent_slot = self.agent_slot(agent)?;
        if resources.is_empty() {
            return Ok(());
        }
        self.take_available(agent_slot, agent, resources)?;
        self.book.grant(fw_slot, agent_slot, resources);
        Ok(())
    }

    /// Records that tasks of a framework no longer known (removed, or
    /// unknown to a newly elected master) still use `resources` on
    /// `agent`: they stop being available, and count in no share, until
    /// [`release_orphaned`](Self::release_orphaned). Mesos frees such
    /// resources at once; offering them before the agent has killed the
    /// tasks would overcommit the agent.
    pub fn hold_orphaned(
        &mut self,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), AllocatorError> {
        let slot = self.agent_slot(agent)?;
        let orphaned = self.book.agents[slot]
            .orphaned
            .checked_plus(resources)
            .ok_or_else(|| AllocatorError::Overcommit {
                agent: agent.clone(),
                resources: resources.clone(),
            })?;
        self.take_available(slot, agent, resources)?;
        self.book.agents[slot].orphaned = orphaned;
        Ok(())
    }

    /// Takes `resources` out of what agent `slot` (`agent`) has available,
    /// or refuses, changing nothing, if it has not that much free.
    fn take_available(
        &mut self,
        slot: u32,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), AllocatorError> {
        let left = self.book.agents[slot]
            .available
            .checked_minus(resources)
            .ok_or_else(|| AllocatorError::Overcommit {
                agent: agent.clone(),
                resources: resources.clone(),
            })?;
        self.book.set_available(slot, left);
        Ok(())
    }

    /// Tasks held by [`hold_orphaned`](Self::hold_orphaned) ended: their
    /// `resources` are available again.
    pub fn release_orphaned(
        &mut self,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), AllocatorError> {
        let slot = self.agent_slot(agent)?;
        let a = &mut self.book.agents[slot];
        let left =
            a.orphaned
                .checked_minus(resources)
                .ok_or_else(|| AllocatorError::NotOrphaned {
                    agent: agent.clone(),
                    resources: resources.clone(),
                })?;
        a.orphaned = left;
        let available = a.available.plus(resources);
        self.book.set_available(slot, available);
        Ok(())
    }

    /// Forgets an agent; what frameworks held on it no longer counts in
    /// their shares, and filters for it go.
    pub fn remove_agent(&mut self, agent: &AgentId) -> Result<(), AllocatorError> {
        let slot = self
            .agent_index
            .remove(agent)
            .ok_or_else(|| AllocatorError::UnknownAgent(agent.clone()))?;
        let b = &mut self.book;
        let a = b.agents.remove(slot);
        for (&fw, held) in &a.allocations {
            b.frameworks[fw].agents.remove(&slot);
            b.unallocate(fw, held);
        }
        b.total = b
            .total
            .checked_minus(&Quantities::of(&a.total))
            .expect("the cluster total includes every agent's total");
        self.shares_stale = true;
        Ok(())
    }

    /// A new framework in `role`, unsuppressed, holding nothing.
    pub fn add_framework(&mut self, fw: FrameworkId, role: &str) -> Result<(), AllocatorError> {
        validate_role(role)?;
        if self.framework_index.contains_key(&fw) {
            return Err(AllocatorError::DuplicateFramework(fw));
        }
        let role_slot = self.role_slot(role);
        let b = &mut self.book;
        let generation = b.next_generation();
        let slot = b.frameworks.insert_with(|_| Framework {
            id: fw.clone(),
            role: role_slot,
            suppressed: false,
            generation,
            agents: SlotSet::default(),
        });
        let key = ClientKey {
            name: fw.0.as_str().into(),
            slot,
        };
        let r = &mut b.roles[role_slot];
        r.sorter.add(key, 1.0, &b.total);
        r.frameworks += 1;
        self.framework_index.insert(fw, slot);
        b.set_offerable(slot, true);
        Ok(())
    }

    /// Forgets a framework; everything it held becomes available again on
    /// its agents.
    pub fn remove_framework(&mut self, fw: &FrameworkId) -> Result<(), AllocatorError> {
        let slot = self
            .framework_index
            .remove(fw)
            .ok_or_else(|| AllocatorError::UnknownFramework(fw.clone()))?;
        let b = &mut self.book;
        if !b.frameworks[slot].suppressed {
            b.set_offerable(slot, false);
        }
        let f = b.frameworks.remove(slot);
        let mut agents: Vec<u32> = f.agents.into_iter().collect();
        agents.sort_unstable();
        for agent in agents {
            let a = &mut b.agents[agent];
            let held = a
                .allocations
                .remove(&slot)
                .expect("framework's agents agree");
            let available = a.available.plus(&held);
            b.set_available(agent, available);
            b.role_sorter.unallocated(f.role, &held, &b.total);
        }
        let role = &mut b.roles[f.role];
        role.sorter.remove(slot);
        role.frameworks -= 1;
        if role.frameworks == 0 {
            let role = b.roles.remove(f.role);
            b.role_sorter.remove(f.role);
            self.role_index.remove(&role.name);
        }
        Ok(())
    }

    /// Sets a role's weight (default 1); kept even while the role has no
    /// frameworks.
    pub fn set_weight(&mut self, role: &str, weight: f64) -> Result<(), AllocatorError> {
        validate_role(role)?;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(AllocatorError::BadWeight {
                role: role.to_owned(),
                weight,
            });
        }
        self.weights.insert(role.to_owned(), weight);
        if let Some(&slot) = self.role_index.get(role) {
            let b = &mut self.book;
            b.role_sorter.set_weight(slot, weight, &b.total);
        }
        Ok(())
    }

    /// Resources allocated to `fw` on `agent` come back (offer declined, part
    /// of an accept unused, task ended). With `refuse`, `fw` is not offered
    /// that agent again until `now + refuse` (capped at [`MAX_REFUSE`], 365
    /// days; a later filter for the same agent extends, never shortens).
    /// Mesos's default `refuse_seconds` of 5 s is applied by the caller.
    ///
    /// As in Mesos, giving back nothing is a no-op and sets no filter.
    pub fn recover(
        &mut self,
        fw: &FrameworkId,
        agent: &AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
        now: Time,
    ) -> Result<(), AllocatorError> {
        let fw_slot = self.framework_slot(fw)?;
        let agent_slot = self.agent_slot(agent)?;
        if resources.is_empty() {
            return Ok(());
        }
        let b = &mut self.book;
        let a = &mut b.agents[agent_slot];
        let left = a
            .allocations
            .get(&fw_slot)
            .and_then(|held| held.checked_minus(resources))
            .ok_or_else(|| AllocatorError::NotAllocated {
                framework: fw.clone(),
                agent: agent.clone(),
            })?;
        if left.is_empty() {
            a.allocations.remove(&fw_slot);
            b.frameworks[fw_slot].agents.remove(&agent_slot);
        } else {
            a.allocations.insert(fw_slot, left);
        }
        let available = a.available.plus(resources);
        b.set_available(agent_slot, available);
        b.unallocate(fw_slot, resources);
        if let Some(refuse) = refuse.filter(|d| !d.is_zero()) {
            b.add_filter(fw_slot, agent_slot, now + refuse.min(MAX_REFUSE));
        }
        Ok(())
    }

    /// `fw` gets no offers until [`revive`](Self::revive). What it holds
    /// still counts in its role's share.
    pub fn suppress(&mut self, fw: &FrameworkId) -> Result<(), AllocatorError> {
        let slot = self.framework_slot(fw)?;
        let f = &mut self.book.frameworks[slot];
        if !f.suppressed {
            f.suppressed = true;
            self.book.set_offerable(slot, false);
        }
        Ok(())
    }

    /// Clears `fw`'s filters and un-suppresses it.
    pub fn revive(&mut self, fw: &FrameworkId) -> Result<(), AllocatorError> {
        let slot = self.framework_slot(fw)?;
        let generation = self.book.next_generation();
        let f = &mut self.book.frameworks[slot];
        f.generation = generation;
        if f.suppressed {
            f.suppressed = false;
            self.book.set_offerable(slot, true);
        }
        Ok(())
    }

    /// One allocation pass at time `now`.
    ///
    /// Each agent whose available resources are allocatable (see
    /// [`AllocatorConfig`]) gives all of them to the most under-served
    /// eligible framework: the first role in weighted-DRF order that has an
    /// eligible framework, and its first eligible framework in DRF order.
    /// Eligible means not suppressed and not filtered from that agent at
    /// `now`. Shares are updated after each allocation, so later agents of
    /// the same pass see them. At most one allocation per agent.
    ///
    /// Agents are visited in id order, but starting at position
    /// `passes % agents` (a count of passes so far) and wrapping around, so
    /// that low agent ids are not always offered first to the least served
    /// framework; the rotation is deterministic.
    pub fn allocate(&mut self, now: Time) -> Vec<Allocation> {
        let pass = self.passes;
        self.passes += 1;
        if self.shares_stale {
            self.book.refresh_shares();
            self.shares_stale = false;
        }
        let n = self.agent_index.len();
        if n == 0 || !self.book.role_sorter.has_active() {
            return Vec::new();
        }
        // Room for an offer of every agent: a busy cluster's pass would
        // otherwise spend its time growing (copying) this vector.
        let mut out = Vec::with_capacity(n);
        let start = usize::try_from(pass % n as u64).expect("below the agent count");
        let slots = self.agent_index.values();
        for &agent in slots.clone().skip(start).chain(slots.take(start)) {
            if !self.book.agents[agent].allocatable {
                continue;
            }
            let Some(fw) = self.book.pick(agent, now) else {
                continue;
            };
            let resources = self.book.set_available(agent, Resources::empty());
            self.book.grant(fw, agent, &resources);
            out.push(Allocation {
                framework: self.book.frameworks[fw].id.clone(),
                agent: self.book.agents[agent].id.clone(),
                resources,
            });
        }
        out
    }

    /// How much `fw` holds across all agents (nothing if unknown).
    pub fn allocated(&self, fw: &FrameworkId) -> Quantities {
        match self.framework_index.get(fw) {
            Some(&slot) => {
                let b = &self.book;
                b.roles[b.frameworks[slot].role]
                    .sorter
                    .allocation(slot)
                    .clone()
            }
            None => Quantities::empty(),
        }
    }

    /// What `agent` has that nobody holds, or None if unknown.
    pub fn available(&self, agent: &AgentId) -> Option<Resources> {
        let &slot = self.agent_index.get(agent)?;
        Some(self.book.agents[slot].available.clone())
    }

    /// The sum of all agents' totals.
    pub fn total(&self) -> Quantities {
        self.book.total.clone()
    }

    fn framework_slot(&self, fw: &FrameworkId) -> Result<u32, AllocatorError> {
        self.framework_index
            .get(fw)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownFramework(fw.clone()))
    }

    fn agent_slot(&self, agent: &AgentId) -> Result<u32, AllocatorError> {
        self.agent_index
            .get(agent)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownAgent(agent.clone()))
    }

    /// The slot of `role`, created (inactive, nothing held) if new.
    fn role_slot(&mut self, role: &str) -> u32 {
        if let Some(&slot) = self.role_index.get(role) {
            return slot;
        }
        let name: Arc<str> = role.into();
        let weight = self.weights.get(role).copied().unwrap_or(1.0);
        let b = &mut self.book;
        let slot = b.roles.insert_with(|_| Role {
            name: name.clone(),
            sorter: S::default(),
            frameworks: 0,
            unsuppressed: 0,
        });
        let key = ClientKey {
            name: name.clone(),
            slot,
        };
        b.role_sorter.add(key, weight, &b.total);
        self.role_index.insert(name, slot);
        slot
    }
}

impl<S: Sorter> Book<S> {
    /// The first eligible framework for `agent` at `now`, in hierarchical
    /// order. Drops the agent's expired filters first; a void one (of
    /// another generation) stays until it expires or its slot's framework
    /// sets a new one, as checking generations here would visit every
    /// filtering framework's record.
    fn pick(&mut self, agent: u32, now: Time) -> Option<u32> {
        let Book {
            agents,
            frameworks,
            roles,
            role_sorter,
            ..
        } = self;
        let filters = &mut agents[agent].filters;
        filters.retain(|x| now < x.until);
        for role in role_sorter.order() {
            for fw in roles[role.slot].sorter.order() {
                let f = &frameworks[fw.slot];
                debug_assert!(!f.suppressed, "suppressed frameworks are inactive");
                let filtered = filters
                    .iter()
                    .any(|x| x.framework == fw.slot && x.generation == f.generation);
                if !filtered {
                    return Some(fw.slot);
                }
            }
        }
        None
    }

    /// `fw` is not offered `agent` before `until`; a filter already there
    /// is extended, never shortened.
    fn add_filter(&mut self, fw: u32, agent: u32, until: Time) {
        let generation = self.frameworks[fw].generation;
        let filters = &mut self.agents[agent].filters;
        match filters.iter_mut().find(|x| x.framework == fw) {
            Some(x) if x.generation == generation => x.until = x.until.max(until),
            Some(x) => {
                x.generation = generation;
                x.until = until;
            }
            None => filters.push(Filter {
                framework: fw,
                generation,
                until,
            }),
        }
    }

    /// A generation no framework has had.
    fn next_generation(&mut self) -> u64 {
        self.generations += 1;
        self.generations
    }

    /// Replaces what `agent` has available, returning what it had.
    fn set_available(&mut self, agent: u32, available: Resources) -> Resources {
        let a = &mut self.agents[agent];
        a.allocatable = self.cfg.allocatable(&available);
        mem::replace(&mut a.available, available)
    }

    /// `fw` now holds `resources` of `agent` (already taken from its
    /// available).
    fn grant(&mut self, fw: u32, agent: u32, resources: &Resources) {
        self.agents[agent].allocations.add(fw, resources);
        let f = &mut self.frameworks[fw];
        f.agents.insert(agent);
        let role = f.role;
        self.roles[role]
            .sorter
            .allocated(fw, resources, &self.total);
        self.role_sorter.allocated(role, resources, &self.total);
    }

    /// `fw`'s shares no longer count `resources` (its per-agent record is
    /// the caller's to update).
    fn unallocate(&mut self, fw: u32, resources: &Resources) {
        let role = self.frameworks[fw].role;
        self.roles[role]
            .sorter
            .unallocated(fw, resources, &self.total);
        self.role_sorter.unallocated(role, resources, &self.total);
    }

    /// Puts `fw` into its role's order (`on`) or takes it out, keeping the
    /// role in the role order while it has any framework in its own.
    fn set_offerable(&mut self, fw: u32, on: bool) {
        let role_slot = self.frameworks[fw].role;
        let role = &mut self.roles[role_slot];
        role.sorter.set_active(fw, on);
        if on {
            role.unsuppressed += 1;
        } else {
            role.unsuppressed -= 1;
        }
        self.role_sorter
            .set_active(role_slot, role.unsuppressed > 0);
    }

    /// Re-measures every share against the current cluster total.
    fn refresh_shares(&mut self) {
        for role in self.roles.iter_mut() {
            role.sorter.refresh(&self.total);
        }
        self.role_sorter.refresh(&self.total);
    }
}

/// Mesos's role name rules, except that `/` (hierarchical roles) is allowed
/// as part of a flat name.
fn validate_role(role: &str) -> Result<(), AllocatorError> {
    let bad = role.is_empty()
        || role == "."
        || role == ".."
        || role.starts_with('-')
        || role.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        return Err(AllocatorError::BadRole(role.to_owned()));
    }
    Ok(())
}
