//! What observers see of the master: the [`MasterState`] it answers
//! [`GetState`](crate::state::GetState) with, and the one it publishes
//! for HTTP readers ([`crate::board`]), built again cheaply from the last
//! one with a [`ViewCache`].
//!
//! A full build copies every task and agent and sums what each agent's
//! tasks hold: O(tasks) allocations, tens of milliseconds of the master's
//! event loop at 100,000 tasks. A publication instead shares each view
//! that did not change with the previous publication:
//!
//! - a task's view is kept in its record until the task changes
//!   ([`TaskRec::shared_view`]), so an unchanged task costs one reference
//!   count;
//! - what tasks hold, by agent and by framework, is kept in the cache and
//!   changed only by the tasks whose views changed, found by walking the
//!   previous and the new task lists side by side (both in key order; an
//!   unchanged view is the same allocation in both);
//! - an agent's view is kept while its record and what its tasks hold and
//!   is offered of it are the same.
//!
//! Offers, frameworks and the removed frameworks kept for display are few
//! and built afresh.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use corral_runtime::Pid;

use super::records::{AgentRec, TaskRec};
use super::MasterCore;
use crate::state::{AgentState, FrameworkState, MasterState, TaskView};
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::{Quantities, Resources};

/// What the last publication built, for the next one to reuse. Empty,
/// it makes the next build a full one.
#[derive(Default)]
pub struct ViewCache {
    /// The live tasks' views, in key order.
    live: Vec<Arc<TaskView>>,
    /// What those tasks hold, by agent.
    held_on: BTreeMap<AgentId, Resources>,
    /// What those tasks hold, by framework.
    held_by: BTreeMap<FrameworkId, Quantities>,
    /// Each agent's view, with the actor it was built for.
    agents: BTreeMap<AgentId, (Pid, Arc<AgentState>)>,
}

impl ViewCache {
    /// Moves what tasks hold from the views in `self.live` to those in
    /// `live`; false if a sum would go below zero (a programmer error:
    /// the caller then starts again from an empty cache).
    fn follow(&mut self, live: &[Arc<TaskView>]) -> bool {
        let old = std::mem::take(&mut self.live);
        let (mut i, mut j, mut ok) = (0, 0, true);
        loop {
            match (old.get(i), live.get(j)) {
                (None, None) => break,
                (Some(a), Some(b)) if Arc::ptr_eq(a, b) => (i, j) = (i + 1, j + 1),
                (Some(a), Some(b)) => match key(a).cmp(&key(b)) {
                    Ordering::Less => {
                        ok &= self.release(a);
                        i += 1;
                    }
                    Ordering::Greater => {
                        self.hold(b);
                        j += 1;
                    }
                    Ordering::Equal => {
                        ok &= self.release(a);
                        self.hold(b);
                        (i, j) = (i + 1, j + 1);
                    }
                },
                (Some(a), None) => {
                    ok &= self.release(a);
                    i += 1;
                }
                (None, Some(b)) => {
                    self.hold(b);
                    j += 1;
                }
            }
        }
        self.live = live.to_vec();
        ok
    }

    /// Counts what `t` holds.
    fn hold(&mut self, t: &TaskView) {
        if t.state.holds_nothing() {
            return;
        }
        let on = self.held_on.entry(t.agent_id.clone()).or_default();
        *on = on.plus(&t.resources);
        self.held_by
            .entry(t.framework_id.clone())
            .or_default()
            .add(&t.resources);
    }

    /// Stops counting what `t` held; false if it was not counted.
    fn release(&mut self, t: &TaskView) -> bool {
        if t.state.holds_nothing() {
            return true;
        }
        let on = self
            .held_on
            .get(&t.agent_id)
            .and_then(|r| r.checked_minus(&t.resources));
        let by = self
            .held_by
            .get(&t.framework_id)
            .and_then(|q| q.checked_minus(&Quantities::of(&t.resources)));
        match (on, by) {
            (Some(on), Some(by)) => {
                self.held_on.insert(t.agent_id.clone(), on);
                self.held_by.insert(t.framework_id.clone(), by);
                true
            }
            _ => false,
        }
    }
}

/// A task's place in the master's list of live tasks.
fn key(t: &TaskView) -> (&FrameworkId, &corral_api::ids::TaskId) {
    (&t.framework_id, &t.id)
}

impl MasterCore {
    /// The master's state for observers (`GetState`, the CLI, the
    /// checkers), every view built afresh.
    pub fn snapshot(&self) -> MasterState {
        self.build(&mut ViewCache::default(), false)
    }

    /// The master's state for publication, reusing what `cache` kept from
    /// the last one (see the module doc); equal to [`snapshot`](Self::snapshot).
    pub fn publication(&self, cache: &mut ViewCache) -> MasterState {
        self.build(cache, true)
    }

    fn build(&self, cache: &mut ViewCache, share: bool) -> MasterState {
        let view = |fw: &FrameworkId, id: &corral_api::ids::TaskId, t: &TaskRec| {
            if share {
                t.shared_view(fw, id)
            } else {
                Arc::new(t.view(fw, id))
            }
        };
        let live: Vec<Arc<TaskView>> = self
            .tasks
            .iter()
            .map(|((fw, id), t)| view(fw, id, t))
            .collect();
        if !cache.follow(&live) {
            tracing::error!("the published view lost count of what tasks hold; rebuilding it");
            *cache = ViewCache::default();
            cache.follow(&live);
        }
        // Removed frameworks' tasks still use their agents until they end.
        let mut orphans_on: BTreeMap<&AgentId, Resources> = BTreeMap::new();
        for (agent, r) in self.orphans.values() {
            add(&mut orphans_on, agent, r);
        }
        // An agent has one offer outstanding, most often: borrow it.
        let mut offered_on: BTreeMap<&AgentId, Cow<'_, Resources>> = BTreeMap::new();
        let mut offered_to: BTreeMap<&FrameworkId, Quantities> = BTreeMap::new();
        for o in self.offers.offered() {
            match offered_on.entry(&o.agent) {
                Entry::Vacant(e) => {
                    e.insert(Cow::Borrowed(&o.resources));
                }
                Entry::Occupied(mut e) => {
                    let sum = e.get().plus(&o.resources);
                    e.insert(Cow::Owned(sum));
                }
            }
            offered_to
                .entry(&o.framework)
                .or_default()
                .add(&o.resources);
        }
        let agents = self.agent_views(cache, &offered_on, &orphans_on);
        let frameworks = self
            .frameworks
            .iter()
            .map(|(id, f)| FrameworkState {
                id: id.clone(),
                name: f.info.name.clone(),
                role: f.role.clone(),
                connected: f.pid.is_some(),
                used: cache.held_by.get(id).cloned().unwrap_or_default(),
                offered: offered_to.get(id).cloned().unwrap_or_default(),
                removed_ms: None,
                registered_ms: f.registered_ms,
                pid: f.pid.as_ref().map(Pid::to_string),
                info: f.info.clone(),
            })
            .collect();
        let mut tasks = live;
        for (fw, f) in &self.frameworks {
            tasks.extend(f.completed.iter().map(|(id, t)| view(fw, id, t)));
        }
        let completed_frameworks = self.completed_framework_views();
        for f in &self.completed_frameworks {
            tasks.extend(f.tasks.iter().map(|(id, t)| view(&f.id, id, t)));
        }
        MasterState {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            start_time_ms: self.start_time_ms,
            elected_ms: self.leading().then_some(self.elected_ms),
            pid: self.me.to_string(),
            agents,
            frameworks,
            completed_frameworks,
            tasks,
            outstanding_offers: self.offers.len(),
            role_weights: self.cfg.allocator.weights.clone(),
        }
    }
}

impl MasterCore {
    /// Each agent's view: the cached one while nothing it shows changed.
    fn agent_views(
        &self,
        cache: &mut ViewCache,
        offered_on: &BTreeMap<&AgentId, Cow<'_, Resources>>,
        orphans_on: &BTreeMap<&AgentId, Resources>,
    ) -> Vec<Arc<AgentState>> {
        let empty = Resources::empty();
        cache.agents.retain(|id, _| self.agents.contains_key(id));
        let mut agents = Vec::with_capacity(self.agents.len());
        for (id, a) in &self.agents {
            let held = cache.held_on.get(id).unwrap_or(&empty);
            let used = match orphans_on.get(id) {
                Some(o) => Cow::Owned(held.plus(o)),
                None => Cow::Borrowed(held),
            };
            let offered = offered_on.get(id).map_or(&empty, |o| o.as_ref());
            let fresh = |pid: String| {
                let (used, offered) = (used.clone().into_owned(), offered.clone());
                Arc::new(agent_state(id, a, pid, used, offered))
            };
            let state = match cache.agents.get_mut(id) {
                Some((pid, s)) if *pid == a.pid => {
                    if !same_agent(s, a, &used, offered) {
                        // The same actor: its address's text is too.
                        *s = fresh(s.pid.clone());
                    }
                    s.clone()
                }
                _ => {
                    let s = fresh(a.pid.to_string());
                    cache.agents.insert(id.clone(), (a.pid.clone(), s.clone()));
                    s
                }
            };
            agents.push(state);
        }
        agents
    }
}

/// Whether `s`, an earlier view of agent `a`, still shows it.
fn same_agent(s: &AgentState, a: &AgentRec, used: &Resources, offered: &Resources) -> bool {
    s.used == *used
        && s.offered == *offered
        && s.reachable == (a.missed_pings == 0)
        && s.registered_ms == a.registered_ms
        && s.total == a.total
        && s.hostname == a.hostname
        && s.attributes == a.attributes
        && s.http == a.http
}

/// The view of agent `id`, `pid` being its actor's address as text.
fn agent_state(
    id: &AgentId,
    a: &AgentRec,
    pid: String,
    used: Resources,
    offered: Resources,
) -> AgentState {
    AgentState {
        id: id.clone(),
        hostname: a.hostname.clone(),
        pid,
        total: a.total.clone(),
        used,
        offered,
        attributes: a.attributes.clone(),
        reachable: a.missed_pings == 0,
        http: a.http.clone(),
        registered_ms: a.registered_ms,
    }
}

/// Adds `r` to what `m` holds for `key`: parts of one agent's resources,
/// which never overlap (a task's resources are not offered).
fn add<'a, K: Ord>(m: &mut BTreeMap<&'a K, Resources>, key: &'a K, r: &Resources) {
    let e = m.entry(key).or_default();
    *e = e.plus(r);
}
