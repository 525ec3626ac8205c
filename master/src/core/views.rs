//! What observers see of the master: the [`MasterState`] it answers
//! [`GetState`](crate::state::GetState) with, and the one it publishes
//! for HTTP readers ([`crate::board`]), built again cheaply from the last
//! one with a [`ViewCache`].
//!
//! A full build copies every task and agent and sums what each agent's
//! tasks hold: O(tasks) allocations, tens of milliseconds of the master's
//! event loop at 100,000 tasks. Even sharing each unchanged view, a walk
//! over 100,000 records and as many reference counts took the loop about
//! 110 ms per publication. So a publication touches only what changed:
//!
//! - the live tasks' views are kept in key order in chunks of about
//!   [`CHUNK`] ([`TaskList`]); the master's [`TaskTable`] lists the keys
//!   changed since the last publication, and only their chunks are
//!   copied, the others shared;
//! - a task's view is kept in its record until the task changes
//!   ([`TaskRec::shared_view`]), so a key noted but not changed costs a
//!   pointer comparison;
//! - what tasks hold, by agent and by framework, is kept in the cache and
//!   changed only by the changed tasks;
//! - each framework's completed tasks (appended at the back, dropped at
//!   the front, never changed) are one chunk, kept while its first and
//!   last records and its length are the same;
//! - an agent's view is kept while its record and what its tasks hold and
//!   is offered of it are the same (a walk over the agents, a tenth of
//!   the tasks).
//!
//! Offers, frameworks and the removed frameworks kept for display are few
//! and built afresh.
//!
//! [`TaskTable`]: super::task_table::TaskTable

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use corral_runtime::Pid;

use super::records::{AgentRec, FrameworkRec, TaskRec};
use super::task_table::{Changed, TaskKey};
use super::MasterCore;
use crate::state::{AgentState, FrameworkState, MasterState, TaskList, TaskView};
use crate::state_tasks::Chunk;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::{Quantities, Resources};
use corral_api::task::TaskState;

/// How many live tasks a chunk holds after a split (at most twice that):
/// a changed task costs a copy of its chunk, a publication one reference
/// per chunk.
pub const CHUNK: usize = 128;

/// What the last publication built, for the next one to reuse. Empty,
/// it makes the next build a full one.
#[derive(Default)]
pub struct ViewCache {
    /// The live tasks' views, in key order, in chunks (none empty).
    live: Vec<Chunk>,
    /// What those tasks hold, by agent.
    held_on: BTreeMap<AgentId, Resources>,
    /// What those tasks hold, by framework.
    held_by: BTreeMap<FrameworkId, Quantities>,
    /// Each agent's view, with the actor it was built for, in id order.
    agents: Vec<(Pid, Arc<AgentState>)>,
    /// Each subscribed framework's completed tasks.
    completed: BTreeMap<FrameworkId, Segment>,
    /// Each removed framework's tasks, in the order they are kept.
    removed: Vec<(FrameworkId, Segment)>,
    /// Which task table's changes `live` follows.
    follows: Option<Arc<()>>,
    /// What the live tasks count for the metrics.
    counts: Counts,
}

/// What the live tasks count for the metrics (`view_metrics`), kept as
/// they change like the sums of what they hold.
#[derive(Default)]
pub(super) struct Counts {
    /// How many are in each state.
    pub states: BTreeMap<TaskState, u64>,
    /// What those that have not ended use (a lost task still counts,
    /// unlike in what tasks hold on agents).
    pub in_use: Quantities,
}

impl Counts {
    fn add(&mut self, t: &TaskView) {
        *self.states.entry(t.state).or_default() += 1;
        if !t.state.is_terminal() {
            self.in_use.add(&t.resources);
        }
    }

    /// False if `t` was not counted.
    fn remove(&mut self, t: &TaskView) -> bool {
        let Some(n) = self.states.get_mut(&t.state).filter(|n| **n > 0) else {
            return false;
        };
        *n -= 1;
        if *n == 0 {
            self.states.remove(&t.state);
        }
        t.state.is_terminal() || self.in_use.take_bundle(&t.resources)
    }
}

/// A list of records that only grows at the back and shrinks at the
/// front, and the chunk of their views.
pub(super) struct Segment {
    /// Its length and the addresses of its first and last views: two
    /// lists with the same are the same list (each record's view is a
    /// new allocation, and the chunk keeps the old ones alive).
    ident: (usize, usize, usize),
    chunk: Chunk,
    /// How many of its tasks are in each state.
    pub states: BTreeMap<TaskState, u64>,
}

impl ViewCache {
    /// What the live tasks count, and each subscribed framework's
    /// completed tasks, as of the last build.
    pub(super) fn counts(&self) -> (&Counts, impl Iterator<Item = &Segment>) {
        (&self.counts, self.completed.values())
    }

    /// Starts again from `views`, every live task's in key order.
    fn refill(&mut self, views: impl Iterator<Item = Arc<TaskView>>) {
        self.live.clear();
        self.held_on.clear();
        self.held_by.clear();
        self.counts = Counts::default();
        let mut chunk = Vec::with_capacity(CHUNK);
        for v in views {
            self.hold(&v);
            self.counts.add(&v);
            chunk.push(v);
            if chunk.len() == CHUNK {
                self.live.push(Arc::new(std::mem::take(&mut chunk)));
            }
        }
        if !chunk.is_empty() {
            self.live.push(Arc::new(chunk));
        }
    }

    /// Brings the live views up to `tasks` for the `changed` keys; false
    /// if the cache lost count (a programmer error: the caller then
    /// refills it).
    fn follow(&mut self, tasks: &BTreeMap<TaskKey, TaskRec>, changed: BTreeSet<TaskKey>) -> bool {
        let mut ok = true;
        for k in changed {
            let now = tasks.get(&k).map(|t| t.shared_view(&k.0, &k.1));
            ok &= self.put(&k, now);
        }
        ok
    }

    /// Makes `now` the view at `k` (None: no task there any more).
    fn put(&mut self, k: &TaskKey, now: Option<Arc<TaskView>>) -> bool {
        let k = (&k.0, &k.1);
        let c = self
            .live
            .partition_point(|c| c.last().is_some_and(|t| key(t) < k));
        let found = self
            .live
            .get(c)
            .map_or(Err(0), |chunk| chunk.binary_search_by(|t| key(t).cmp(&k)));
        match (found, now) {
            (Ok(i), Some(now)) => {
                let was = self.live[c][i].clone();
                if Arc::ptr_eq(&was, &now) {
                    return true;
                }
                let ok = self.release(&was) & self.counts.remove(&was);
                self.hold(&now);
                self.counts.add(&now);
                Arc::make_mut(&mut self.live[c])[i] = now;
                ok
            }
            (Ok(i), None) => {
                let was = self.live[c][i].clone();
                let ok = self.release(&was) & self.counts.remove(&was);
                let chunk = Arc::make_mut(&mut self.live[c]);
                chunk.remove(i);
                if chunk.is_empty() {
                    self.live.remove(c);
                }
                ok
            }
            (Err(i), Some(now)) => {
                self.hold(&now);
                self.counts.add(&now);
                // Past the last chunk's end: onto the last chunk.
                let (c, i) = match self.live.len() {
                    0 => {
                        self.live.push(Arc::default());
                        (0, 0)
                    }
                    n if c == n => (n - 1, self.live[n - 1].len()),
                    _ => (c, i),
                };
                let chunk = Arc::make_mut(&mut self.live[c]);
                chunk.insert(i, now);
                if chunk.len() > 2 * CHUNK {
                    let tail = chunk.split_off(CHUNK);
                    self.live.insert(c + 1, Arc::new(tail));
                }
                true
            }
            // Added and removed between two publications.
            (Err(_), None) => true,
        }
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
fn key(t: &TaskView) -> (&FrameworkId, &TaskId) {
    (&t.framework_id, &t.id)
}

/// A task's view: shared with its record (for publication), or built
/// afresh.
fn view(share: bool, fw: &FrameworkId, id: &TaskId, t: &TaskRec) -> Arc<TaskView> {
    if share {
        t.shared_view(fw, id)
    } else {
        Arc::new(t.view(fw, id))
    }
}

/// The chunk of `recs`' views: when shared, the one in `kept` if it
/// still shows them.
fn segment(
    kept: Option<&Segment>,
    fw: &FrameworkId,
    recs: &VecDeque<(TaskId, TaskRec)>,
    share: bool,
) -> Segment {
    let at = |r: Option<&(TaskId, TaskRec)>| {
        r.map_or(0, |(id, t)| Arc::as_ptr(&t.shared_view(fw, id)) as usize)
    };
    let ident = match share {
        true => (recs.len(), at(recs.front()), at(recs.back())),
        false => (0, 0, 0),
    };
    match kept {
        Some(s) if share && s.ident == ident => Segment {
            ident,
            chunk: s.chunk.clone(),
            states: s.states.clone(),
        },
        _ => {
            let mut states = BTreeMap::new();
            for (_, t) in recs {
                *states.entry(t.state).or_default() += 1;
            }
            Segment {
                ident,
                chunk: Arc::new(recs.iter().map(|(id, t)| view(share, fw, id, t)).collect()),
                states,
            }
        }
    }
}

impl MasterCore {
    /// The master's state for observers (`GetState`, the CLI, the
    /// checkers), every view built afresh.
    pub fn snapshot(&self) -> MasterState {
        let mut cache = ViewCache::default();
        cache.refill(
            self.tasks
                .iter()
                .map(|((fw, id), t)| view(false, fw, id, t)),
        );
        self.build(&mut cache, false)
    }

    /// The master's state for publication, reusing what `cache` kept from
    /// the last one (see the module doc); equal to [`snapshot`](Self::snapshot).
    /// A cache that did not make this core's last publication makes a
    /// full one.
    pub fn publication(&mut self, cache: &mut ViewCache) -> MasterState {
        let followed = match self.tasks.take_changed(&mut cache.follows) {
            Changed::All => false,
            Changed::Keys(keys) => {
                let ok = cache.follow(&self.tasks, keys);
                if !ok {
                    tracing::error!(
                        "the published view lost count of what tasks hold; rebuilding it"
                    );
                }
                ok
            }
        };
        if !followed {
            cache.refill(self.tasks.iter().map(|((fw, id), t)| view(true, fw, id, t)));
        }
        self.build(cache, true)
    }

    /// The state, the live tasks' views being in `cache`.
    fn build(&self, cache: &mut ViewCache, share: bool) -> MasterState {
        // Removed frameworks' tasks still use their agents until they end.
        let mut orphans_on: BTreeMap<&AgentId, Resources> = BTreeMap::new();
        for (agent, r) in self.orphans.values() {
            add(&mut orphans_on, agent, r);
        }
        // An agent has one offer outstanding, most often: borrow it.
        // Each allocation pass offers agents in id order, so the offers
        // are a few sorted runs, which a stable sort merges in about one
        // pass.
        let mut offers = self.offers.offered();
        offers.sort_by(|a, b| a.agent.cmp(&b.agent));
        let mut offered_on: Vec<(&AgentId, Cow<'_, Resources>)> = Vec::new();
        let mut offered_to: BTreeMap<&FrameworkId, Quantities> = BTreeMap::new();
        for o in offers {
            match offered_on.last_mut() {
                Some((agent, sum)) if *agent == &o.agent => {
                    *sum = Cow::Owned(sum.plus(&o.resources));
                }
                _ => offered_on.push((&o.agent, Cow::Borrowed(&o.resources))),
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
            .map(|(id, f)| {
                let used = cache.held_by.get(id).cloned().unwrap_or_default();
                let offered = offered_to.get(id).cloned().unwrap_or_default();
                framework_state(id, f, used, offered)
            })
            .collect();
        let tasks = self.task_list(cache, share);
        let completed_frameworks = self.completed_framework_views();
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
    /// Live tasks, then each framework's completed ones, then each
    /// removed framework's.
    fn task_list(&self, cache: &mut ViewCache, share: bool) -> TaskList {
        cache
            .completed
            .retain(|id, _| self.frameworks.contains_key(id));
        let mut chunks = cache.live.clone();
        for (fw, f) in &self.frameworks {
            let s = segment(cache.completed.get(fw), fw, &f.completed, share);
            chunks.push(s.chunk.clone());
            cache.completed.insert(fw.clone(), s);
        }
        let mut removed = Vec::with_capacity(self.completed_frameworks.len());
        for (i, f) in self.completed_frameworks.iter().enumerate() {
            let kept = cache.removed.get(i).filter(|(id, _)| *id == f.id);
            let s = segment(kept.map(|(_, s)| s), &f.id, &f.tasks, share);
            chunks.push(s.chunk.clone());
            removed.push((f.id.clone(), s));
        }
        cache.removed = removed;
        TaskList::from_chunks(chunks)
    }
}

impl MasterCore {
    /// Each agent's view: the cached one while nothing it shows changed.
    /// The agents, the cache and the sums are all in id order, so one
    /// walk over them all finds each agent's without a search (searches
    /// by id were four fifths of a publication at 10,000 agents).
    fn agent_views(
        &self,
        cache: &mut ViewCache,
        offered_on: &[(&AgentId, Cow<'_, Resources>)],
        orphans_on: &BTreeMap<&AgentId, Resources>,
    ) -> Vec<Arc<AgentState>> {
        let empty = Resources::empty();
        let mut old = std::mem::take(&mut cache.agents).into_iter().peekable();
        let mut held = cache.held_on.iter().peekable();
        let mut offered = offered_on.iter().peekable();
        let mut agents = Vec::with_capacity(self.agents.len());
        let mut kept = Vec::with_capacity(self.agents.len());
        for (id, a) in &self.agents {
            let held = seek(&mut held, id, |(k, _)| k).map_or(&empty, |(_, r)| r);
            let used = match orphans_on.get(id) {
                Some(o) => Cow::Owned(held.plus(o)),
                None => Cow::Borrowed(held),
            };
            let offered = seek(&mut offered, id, |(k, _)| k).map_or(&empty, |(_, o)| o.as_ref());
            let fresh = |pid: String| {
                let (used, offered) = (used.clone().into_owned(), offered.clone());
                Arc::new(agent_state(id, a, pid, used, offered))
            };
            let state = match seek(&mut old, id, |(_, s)| &s.id) {
                Some((pid, s)) if pid == a.pid => match same_agent(&s, a, &used, offered) {
                    true => s,
                    // The same actor: its address's text is too.
                    false => fresh(s.pid.clone()),
                },
                _ => fresh(a.pid.to_string()),
            };
            kept.push((a.pid.clone(), state.clone()));
            agents.push(state);
        }
        cache.agents = kept;
        agents
    }
}

/// The item of `it` (in key order) at `id`, skipping those before it:
/// `it` is walked once as the ids come in order.
fn seek<I: Iterator>(
    it: &mut std::iter::Peekable<I>,
    id: &AgentId,
    key: fn(&I::Item) -> &AgentId,
) -> Option<I::Item> {
    // One comparison per item: ids share a long prefix, so each costs.
    loop {
        match it.peek().map(|x| key(x).cmp(id)) {
            Some(Ordering::Less) => {
                it.next();
            }
            Some(Ordering::Equal) => return it.next(),
            _ => return None,
        }
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

/// The view of subscribed framework `id`.
pub(super) fn framework_state(
    id: &FrameworkId,
    f: &FrameworkRec,
    used: Quantities,
    offered: Quantities,
) -> FrameworkState {
    FrameworkState {
        id: id.clone(),
        name: f.info.name.clone(),
        role: f.role.clone(),
        connected: f.pid.is_some(),
        used,
        offered,
        removed_ms: None,
        registered_ms: f.registered_ms,
        pid: f.pid.as_ref().map(Pid::to_string),
        info: f.info.clone(),
    }
}

/// The view of agent `id`, `pid` being its actor's address as text.
pub(super) fn agent_state(
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

#[cfg(test)]
#[path = "views_tests.rs"]
mod tests;
