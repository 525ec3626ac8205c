//! The master's offer bookkeeping and accept validation, as a pure core.
//!
//! [`OfferBook`] holds the offers the master has sent and not yet seen
//! accepted, declined, rescinded or expired. It knows nothing of actors,
//! sockets or clocks: the master actor feeds it the allocator's decisions,
//! the frameworks' accepts and declines, cluster changes and the current
//! time, and carries out what it returns (offers to send, resources to
//! recover into the allocator, tasks to launch, statuses to send, offers to
//! rescind).
//!
//! Every offer leaves the book exactly once, and whatever leaves is handed
//! back to the caller: either as resources to recover into the allocator or,
//! for an accept, as resources that stay allocated to launched tasks. The
//! book never drops resources on the floor, whatever a framework sends.
//!
//! # Calling order
//!
//! - **Allocator decisions:** [`create`](OfferBook::create) for each
//!   allocation, then send the returned [`Offer`].
//! - **Framework calls:** [`accept`](OfferBook::accept) and
//!   [`decline`](OfferBook::decline); recover what they return.
//! - **Cluster changes:** [`remove_agent`](OfferBook::remove_agent) (rescind
//!   what it returns; the allocator forgets the agent's resources itself) and
//!   [`remove_framework`](OfferBook::remove_framework) (recover what it
//!   returns).
//! - **Timer:** [`expire`](OfferBook::expire) with Mesos's `--offer_timeout`;
//!   rescind and recover what it returns.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral_runtime::Time;

use corral_api::framework::{Accept, Offer, Operation};
use corral_api::ids::{id_problem, AgentId, FrameworkId, OfferId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};

/// An offer sent to a framework and not yet answered.
#[derive(Clone, Debug, PartialEq)]
pub struct OutstandingOffer {
    /// The offer's id.
    pub id: OfferId,
    /// Who it was offered to.
    pub framework: FrameworkId,
    /// Where the resources are.
    pub agent: AgentId,
    /// What is offered.
    pub resources: Resources,
    /// When it was made, for `--offer_timeout`.
    pub created_at: Time,
}

/// Why the offers of an accept were refused as a whole (Mesos's offer
/// validation). Every task of such an accept is dropped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// The accept names no offer.
    #[error("no offer ids")]
    NoOffers,
    /// The same offer is named twice.
    #[error("offer {0} is listed more than once")]
    Duplicate(OfferId),
    /// The offer is not outstanding: never made, or already accepted,
    /// declined, rescinded or expired.
    #[error("offer {0} is unknown or no longer valid")]
    Unknown(OfferId),
    /// The offer was made to another framework.
    #[error("offer {0} belongs to another framework")]
    OtherFramework(OfferId),
    /// The offers are on more than one agent.
    #[error("offers are on different agents ({0} and {1})")]
    DifferentAgents(AgentId, AgentId),
}

/// What a decline did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeclineResult {
    /// Resources to recover into the allocator (with the decline's filter),
    /// one entry per declined offer, in the order given.
    pub recover: Vec<(AgentId, Resources)>,
    /// Ids that were unknown, no longer outstanding, or another framework's
    /// (or listed twice): nothing was done for them.
    pub ignored: Vec<OfferId>,
}

/// What an accept did. For the offers it consumed,
/// `used` plus the sum of `recover` equals the sum of their resources.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AcceptResult {
    /// The agent of the consumed offers, when there is exactly one.
    pub agent: Option<AgentId>,
    /// Tasks to launch on `agent`, in the order given.
    pub launch: Vec<TaskInfo>,
    /// Statuses to send for the tasks that will not launch.
    pub rejected: Vec<TaskStatus>,
    /// What is left of the consumed offers, per agent (empty remainders
    /// omitted). After a valid accept the caller recovers it with the
    /// accept's `refuse` filter (default 5 s); after an invalid one
    /// (`offer_error` set) without a filter, as Mesos does.
    pub recover: Vec<(AgentId, Resources)>,
    /// What stays allocated for the launched tasks.
    pub used: Resources,
    /// Listed ids that were not this framework's outstanding offers (also
    /// listed when that made the accept invalid).
    pub unknown_offers: Vec<OfferId>,
    /// Set when the offers were invalid and nothing was launched.
    pub offer_error: Option<OfferError>,
}

/// The outstanding offers, by id.
#[derive(Clone, Debug)]
pub struct OfferBook {
    /// Put before each offer's counter, e.g. the master's id.
    prefix: String,
    /// The next offer's number.
    next: u64,
    /// Outstanding offers. A map scan serves the per-agent and
    /// per-framework removals: offers are few (one per agent and framework
    /// at most, per allocation) and those removals are rare.
    offers: BTreeMap<OfferId, OutstandingOffer>,
}

impl OfferBook {
    /// An empty book whose offer ids read `{id_prefix}-O{n}`.
    pub fn new(id_prefix: &str) -> OfferBook {
        OfferBook {
            prefix: id_prefix.to_owned(),
            next: 0,
            offers: BTreeMap::new(),
        }
    }

    /// Turns an allocator decision into an outstanding offer, returned for
    /// sending to the framework. The allocator never hands out the same
    /// range value or set item twice, so offers on one agent do not overlap.
    pub fn create(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        hostname: &str,
        resources: Resources,
        now: Time,
    ) -> Offer {
        let id = OfferId(format!("{}-O{}", self.prefix, self.next));
        self.next += 1;
        let offer = Offer {
            id: id.clone(),
            agent_id: agent.clone(),
            hostname: hostname.to_owned(),
            resources: resources.clone(),
        };
        let outstanding = OutstandingOffer {
            id: id.clone(),
            framework,
            agent,
            resources,
            created_at: now,
        };
        let previous = self.offers.insert(id, outstanding);
        assert!(previous.is_none(), "offer ids come from a counter");
        offer
    }

    /// The outstanding offer `id`, if any.
    pub fn get(&self, id: &OfferId) -> Option<&OutstandingOffer> {
        self.offers.get(id)
    }

    /// Removes the framework's offers among `ids`, returning their resources
    /// to recover. Unknown ids and other frameworks' offers are ignored and
    /// listed.
    pub fn decline(&mut self, framework: &FrameworkId, ids: &[OfferId]) -> DeclineResult {
        let mut result = DeclineResult::default();
        for id in ids {
            match self.take_own(framework, id) {
                Some(offer) => result.recover.push((offer.agent, offer.resources)),
                None => result.ignored.push(id.clone()),
            }
        }
        result
    }

    /// Validates and consumes an accept, as Mesos's master does.
    ///
    /// If the offers are invalid (see [`OfferError`]), every task is
    /// answered TASK_DROPPED (TASK_LOST if not `partition_aware`) with
    /// reason InvalidOffers, and this framework's outstanding offers among
    /// those listed are consumed and returned whole for recovery. Otherwise
    /// each task is checked in order against what the offers still hold
    /// after the tasks before it; tasks that pass are launched, the others
    /// answered TASK_ERROR. `task_exists` says whether the framework already
    /// has a task with that id. `now_ms` stamps the statuses.
    pub fn accept(
        &mut self,
        framework: &FrameworkId,
        accept: &Accept,
        partition_aware: bool,
        task_exists: impl Fn(&TaskId) -> bool,
        now_ms: u64,
    ) -> AcceptResult {
        let (own, unknown_offers) = self.sort_ids(framework, &accept.offer_ids);
        let error = self.validate_offers(framework, &accept.offer_ids);
        let consumed: Vec<OutstandingOffer> =
            own.iter().filter_map(|id| self.offers.remove(id)).collect();
        let tasks = accept.operations.iter().flat_map(|op| match op {
            Operation::Launch(tasks) => tasks.iter(),
        });
        let agent = single_agent(&consumed);
        let stamp = Stamp {
            framework,
            agent: agent.as_ref(),
            now_ms,
        };
        // Only valid offers are summed: they are all on one agent, so their
        // resources are parts of one bundle (offers on several agents are
        // an error, and two agents' ports must never be united).
        let pool = match error {
            None => sum(&consumed).ok_or(OfferError::NoOffers),
            Some(error) => Err(error),
        };
        let mut result = match pool {
            Ok(pool) => launch_valid(&stamp, pool, tasks, &task_exists),
            Err(error) => reject_all(&stamp, &error, partition_aware, tasks, &consumed),
        };
        result.agent = agent;
        result.unknown_offers = unknown_offers;
        result
    }

    /// The agent is gone: removes its outstanding offers and returns them
    /// as (framework, offer id) pairs to rescind.
    pub fn remove_agent(&mut self, agent: &AgentId) -> Vec<(FrameworkId, OfferId)> {
        self.remove_where(|o| &o.agent == agent)
            .into_iter()
            .map(|o| (o.framework, o.id))
            .collect()
    }

    /// The framework is gone: removes its offers and returns their resources
    /// to recover.
    pub fn remove_framework(&mut self, framework: &FrameworkId) -> Vec<(AgentId, Resources)> {
        self.remove_where(|o| &o.framework == framework)
            .into_iter()
            .map(|o| (o.agent, o.resources))
            .collect()
    }

    /// Removes and returns the offers made `timeout` or longer before `now`,
    /// to rescind and recover.
    pub fn expire(&mut self, now: Time, timeout: Duration) -> Vec<OutstandingOffer> {
        self.remove_where(|o| now.saturating_since(o.created_at) >= timeout)
    }

    /// Every outstanding offer, by id.
    pub fn offered(&self) -> Vec<&OutstandingOffer> {
        self.offers.values().collect()
    }

    /// How many offers are outstanding.
    pub fn len(&self) -> usize {
        self.offers.len()
    }

    /// Whether no offer is outstanding.
    pub fn is_empty(&self) -> bool {
        self.offers.is_empty()
    }

    /// Removes offer `id` if it is outstanding and `framework`'s.
    fn take_own(&mut self, framework: &FrameworkId, id: &OfferId) -> Option<OutstandingOffer> {
        let own = self.offers.get(id)?.framework == *framework;
        own.then(|| self.offers.remove(id)).flatten()
    }

    /// Splits `ids` into this framework's outstanding offers (each once) and
    /// the others (unknown, used, or another framework's), keeping order.
    fn sort_ids(&self, framework: &FrameworkId, ids: &[OfferId]) -> (Vec<OfferId>, Vec<OfferId>) {
        let mut seen = BTreeSet::new();
        let mut own = Vec::new();
        let mut unknown = Vec::new();
        for id in ids {
            match self.offers.get(id) {
                Some(o) if o.framework == *framework => {
                    if seen.insert(id) {
                        own.push(id.clone());
                    }
                }
                _ => unknown.push(id.clone()),
            }
        }
        (own, unknown)
    }

    /// The first problem with the offers of an accept, in Mesos's order:
    /// none listed, a duplicate, then per offer: unknown, another
    /// framework's, on another agent than the first.
    fn validate_offers(&self, framework: &FrameworkId, ids: &[OfferId]) -> Option<OfferError> {
        if ids.is_empty() {
            return Some(OfferError::NoOffers);
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = ids.iter().find(|id| !seen.insert(*id)) {
            return Some(OfferError::Duplicate(dup.clone()));
        }
        let mut first_agent: Option<&AgentId> = None;
        for id in ids {
            let Some(offer) = self.offers.get(id) else {
                return Some(OfferError::Unknown(id.clone()));
            };
            if offer.framework != *framework {
                return Some(OfferError::OtherFramework(id.clone()));
            }
            match first_agent {
                Some(a) if *a != offer.agent => {
                    return Some(OfferError::DifferentAgents(a.clone(), offer.agent.clone()));
                }
                _ => first_agent = Some(&offer.agent),
            }
        }
        None
    }

    /// Removes and returns the offers matching `pred`, in id order.
    fn remove_where(&mut self, pred: impl Fn(&OutstandingOffer) -> bool) -> Vec<OutstandingOffer> {
        let ids: Vec<OfferId> = self
            .offers
            .values()
            .filter(|o| pred(o))
            .map(|o| o.id.clone())
            .collect();
        ids.iter().filter_map(|id| self.offers.remove(id)).collect()
    }
}

/// What stamps the master's statuses for one accept.
struct Stamp<'a> {
    framework: &'a FrameworkId,
    agent: Option<&'a AgentId>,
    now_ms: u64,
}

impl Stamp<'_> {
    /// A master-generated status for `task` (not retried: no uuid).
    fn status(
        &self,
        task: &TaskInfo,
        state: TaskState,
        reason: StatusReason,
        message: String,
    ) -> TaskStatus {
        TaskStatus {
            task_id: task.task_id.clone(),
            framework_id: self.framework.clone(),
            agent_id: self.agent.cloned(),
            state,
            source: StatusSource::Master,
            reason: Some(reason),
            message,
            timestamp_ms: self.now_ms,
            uuid: None,
        }
    }
}

/// The answer to an accept whose offers are invalid: every task dropped
/// (or lost) and the consumed offers returned whole.
fn reject_all<'a>(
    stamp: &Stamp<'_>,
    error: &OfferError,
    partition_aware: bool,
    tasks: impl Iterator<Item = &'a TaskInfo>,
    consumed: &[OutstandingOffer],
) -> AcceptResult {
    let state = if partition_aware {
        TaskState::Dropped
    } else {
        TaskState::Lost
    };
    let message = format!("invalid offers: {error}");
    AcceptResult {
        rejected: tasks
            .map(|t| stamp.status(t, state, StatusReason::InvalidOffers, message.clone()))
            .collect(),
        recover: per_agent(consumed),
        offer_error: Some(error.clone()),
        ..AcceptResult::default()
    }
}

/// The answer to an accept whose offers (on `stamp.agent`, summing to
/// `pool`) are valid: tasks launched or answered TASK_ERROR, the rest of
/// the pool returned.
fn launch_valid<'a>(
    stamp: &Stamp<'_>,
    pool: Resources,
    tasks: impl Iterator<Item = &'a TaskInfo>,
    task_exists: &impl Fn(&TaskId) -> bool,
) -> AcceptResult {
    let plan = plan_launch(pool, tasks, task_exists);
    let recover = match stamp.agent {
        Some(agent) if !plan.left.is_empty() => vec![(agent.clone(), plan.left)],
        _ => Vec::new(),
    };
    AcceptResult {
        launch: plan.launch,
        rejected: plan
            .rejected
            .into_iter()
            .map(|(t, reason, message)| stamp.status(t, TaskState::Error, reason, message))
            .collect(),
        recover,
        used: plan.used,
        ..AcceptResult::default()
    }
}

/// The tasks of a valid accept, sorted into launched and rejected.
struct LaunchPlan<'a> {
    launch: Vec<TaskInfo>,
    rejected: Vec<(&'a TaskInfo, StatusReason, String)>,
    used: Resources,
    left: Resources,
}

/// Checks each task in order against what `pool` still holds, taking the
/// resources of those that pass.
fn plan_launch<'a>(
    pool: Resources,
    tasks: impl Iterator<Item = &'a TaskInfo>,
    task_exists: &impl Fn(&TaskId) -> bool,
) -> LaunchPlan<'a> {
    let mut plan = LaunchPlan {
        launch: Vec::new(),
        rejected: Vec::new(),
        used: Resources::empty(),
        left: pool,
    };
    // Every id seen earlier in this accept counts as taken, even if its task
    // was rejected, so one id never gets two answers.
    let mut seen: BTreeSet<&TaskId> = BTreeSet::new();
    for task in tasks {
        let fresh = seen.insert(&task.task_id);
        let checked = check_task(task, fresh, task_exists)
            .and_then(|()| take(&plan.left, task).map(|left| (left, task)));
        match checked {
            Ok((left, task)) => {
                plan.used = plan.used.plus(&task.resources);
                plan.left = left;
                plan.launch.push(task.clone());
            }
            Err((reason, message)) => plan.rejected.push((task, reason, message)),
        }
    }
    plan
}

/// A task's own problems: its id (empty, or `fresh` false: already used in
/// this accept, or an existing task's), no command (or, for a task of the
/// framework's own executor, an executor without id or command, or a
/// container as well), empty resources, and a
/// container that cannot work (see `ContainerInfo::validate`: port mappings
/// outside the task's ports, parameters outside the allow-list, ...).
fn check_task(
    task: &TaskInfo,
    fresh: bool,
    task_exists: &impl Fn(&TaskId) -> bool,
) -> Result<(), (StatusReason, String)> {
    let invalid = |m: String| Err((StatusReason::InvalidTask, m));
    if let Some(problem) = id_problem(&task.task_id.0) {
        return invalid(format!("invalid task id: {problem}"));
    }
    if let Some(e) = &task.executor {
        if let Some(problem) = id_problem(&e.executor_id) {
            return invalid(format!(
                "task '{}': invalid executor id: {problem}",
                task.task_id
            ));
        }
        if e.command.trim().is_empty() {
            return invalid(format!(
                "task '{}': executor {} has no command",
                task.task_id, e.executor_id
            ));
        }
        if task.container.is_some() {
            let m = "a task with its own executor cannot have a container (the executor runs it)";
            return invalid(format!("task '{}': {m}", task.task_id));
        }
    } else if task.command.trim().is_empty() && task.container.is_none() {
        return invalid(format!("task '{}' has no command", task.task_id));
    }
    if !fresh || task_exists(&task.task_id) {
        return invalid(format!("task id '{}' is already in use", task.task_id));
    }
    if task.resources.is_empty() {
        return invalid(format!("task '{}' has no resources", task.task_id));
    }
    if let Some(Err(e)) = task.container.as_ref().map(|c| c.validate(&task.resources)) {
        return invalid(format!("task '{}': {e}", task.task_id));
    }
    Ok(())
}

/// What `pool` holds after the task takes its resources.
fn take(pool: &Resources, task: &TaskInfo) -> Result<Resources, (StatusReason, String)> {
    pool.checked_minus(&task.resources).ok_or_else(|| {
        let message = format!(
            "task '{}' asks for {} but the offers hold only {}",
            task.task_id, task.resources, pool
        );
        (StatusReason::ResourcesNotOffered, message)
    })
}

/// The one agent all `offers` are on, if there is exactly one.
fn single_agent(offers: &[OutstandingOffer]) -> Option<AgentId> {
    let first = &offers.first()?.agent;
    offers
        .iter()
        .all(|o| o.agent == *first)
        .then(|| first.clone())
}

/// The sum of the offers' resources, None if there are none.
fn sum(offers: &[OutstandingOffer]) -> Option<Resources> {
    offers
        .iter()
        .map(|o| o.resources.clone())
        .reduce(|a, b| a.plus(&b))
}

/// The offers' resources summed per agent, in agent order, empty sums
/// omitted.
fn per_agent(offers: &[OutstandingOffer]) -> Vec<(AgentId, Resources)> {
    let mut by_agent: BTreeMap<&AgentId, Resources> = BTreeMap::new();
    for o in offers {
        let r = by_agent.entry(&o.agent).or_default();
        *r = r.plus(&o.resources);
    }
    by_agent
        .into_iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(a, r)| (a.clone(), r))
        .collect()
}
