//! A batch framework: runs a fixed list of tasks once each, as offers come,
//! and reports every status to an observer until all have ended. `corral
//! execute` and the `corral local` demo are built on it. With
//! [`BatchConfig::container`] every task runs in a Docker container.
//!
//! Besides statuses it tells the observer when it loses and regains its
//! master, when no offer seen can hold a task, and when a [`Stop`] sent
//! from its own process has torn it down.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use corral_api::framework::{
    Accept, Decline, FrameworkError, FrameworkInfo, Heartbeat, Offers, Rescind, Subscribed,
    Suppress, Teardown, Update,
};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::leader::{LeaderElected, NotLeader};
use corral_api::resources::{Resources, Scalar};
use corral_api::task::TaskInfo;
use corral_api::task::{TaskState, TaskStatus};
use corral_master::state::GetLeadership;
use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Pid, TimerId};
use serde::{Deserialize, Serialize};

use crate::framework::{
    acknowledge, fill, leave, on_exited, on_leader_elected, on_not_leader, on_subscribed,
    start_subscribing, ContainerTemplate, FollowsLeader, Joined, Masters,
};

/// How long offers are watched before a task that fits none of them is
/// reported ([`BatchEvent::NoFit`]): two of the master's default allocation
/// intervals, so that every agent with free resources has been offered.
pub const NO_FIT_PATIENCE: Duration = Duration::from_secs(2);

/// How long a torn-down framework waits for its master to confirm.
const TEARDOWN_CONFIRM: Duration = Duration::from_secs(1);

/// Tear the framework down now (its tasks are killed) and report
/// [`BatchEvent::TornDown`]. Honoured only from the framework's own node
/// (e.g. `Node::send` on a signal), never from a peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stop;
message!(Stop = "examples.batch.Stop");

/// One task of the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchTask {
    /// Its id (unique in the batch).
    pub id: TaskId,
    /// Shell command.
    pub command: String,
    /// What it needs.
    pub resources: Resources,
}

/// What the batch framework runs and how.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchConfig {
    /// The master (the first one tried; see
    /// [`BatchFramework::with_masters`] for several).
    pub master: Pid,
    /// How the framework introduces itself.
    pub info: FrameworkInfo,
    /// The tasks, launched in this order.
    pub tasks: Vec<BatchTask>,
    /// Decline filter for offers it cannot use (5 s).
    pub refuse: Duration,
    /// Tear the framework down once every task has ended (true).
    pub teardown_when_done: bool,
    /// Run every task in this container instead of as a plain process
    /// (None).
    pub container: Option<ContainerTemplate>,
}

impl BatchConfig {
    /// `count` copies of `command`, each needing `resources`, with ids
    /// `{prefix}-{n}`.
    pub fn uniform(
        master: Pid,
        info: FrameworkInfo,
        prefix: &str,
        count: usize,
        command: &str,
        resources: Resources,
    ) -> BatchConfig {
        let tasks = (0..count)
            .map(|n| BatchTask {
                id: TaskId(format!("{prefix}-{n}")),
                command: command.to_owned(),
                resources: resources.clone(),
            })
            .collect();
        BatchConfig {
            master,
            info,
            tasks,
            refuse: Duration::from_secs(5),
            teardown_when_done: true,
            container: None,
        }
    }

    /// This batch, each task run in `container`.
    pub fn with_container(mut self, container: ContainerTemplate) -> BatchConfig {
        self.container = Some(container);
        self
    }
}

/// What the batch framework tells its observer.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchEvent {
    /// The master accepted the subscription.
    Subscribed(FrameworkId),
    /// A task was sent to an agent.
    Launched(TaskId, AgentId),
    /// A task's status changed.
    Status(TaskStatus),
    /// Every task has ended; the final state of each, by id.
    Done(BTreeMap<TaskId, TaskStatus>),
    /// The master refused a request.
    Error(String),
    /// The framework lost the master it was subscribed to (the link broke,
    /// or another master was elected); it is subscribing again.
    Disconnected(Pid),
    /// Subscribed again after [`BatchEvent::Disconnected`].
    Resubscribed(FrameworkId),
    /// No offer seen for [`NO_FIT_PATIENCE`] could hold the next task:
    /// each resource it asks more of than any one offer had. Sent once.
    NoFit(Vec<Shortfall>),
    /// After a [`Stop`]: the framework told its master to tear it down
    /// (`confirmed` when the master is known to have done so) and follows
    /// no master any more.
    TornDown {
        /// Whether the master answered after the teardown.
        confirmed: bool,
    },
}

/// The observer: called on the framework's event loop, so keep it quick.
pub type Observer<E> = Box<dyn FnMut(E) + Send>;

/// Runs each task once. See the module doc.
pub struct BatchFramework {
    cfg: BatchConfig,
    observe: Observer<BatchEvent>,
    pending: VecDeque<BatchTask>,
    latest: BTreeMap<TaskId, TaskStatus>,
    masters: Masters,
    done: bool,
    sizes: OfferSizes,
    no_fit: NoFitCheck,
}

/// Where the check for a task that fits no offer stands.
#[derive(Debug)]
enum NoFitCheck {
    Idle,
    Armed(TimerId),
    Reported,
}

impl BatchFramework {
    /// A batch framework that reports to `observe`.
    pub fn new(cfg: BatchConfig, observe: Observer<BatchEvent>) -> BatchFramework {
        BatchFramework {
            pending: cfg.tasks.iter().cloned().collect(),
            masters: Masters::new(vec![cfg.master.clone()], cfg.info.clone()),
            cfg,
            observe,
            latest: BTreeMap::new(),
            done: false,
            sizes: OfferSizes::default(),
            no_fit: NoFitCheck::Idle,
        }
    }

    /// This framework, following whichever of `masters` leads (tried in
    /// order) instead of only the config's master. An empty list keeps the
    /// config's master. Call before the framework starts.
    pub fn with_masters(mut self, masters: Vec<Pid>) -> BatchFramework {
        if !masters.is_empty() {
            self.masters = Masters::new(masters, self.cfg.info.clone());
        }
        self
    }

    fn finished(&self) -> usize {
        self.latest.values().filter(|s| ended(s.state)).count()
    }

    /// Reports a lost subscription (`was` is whether it was subscribed
    /// before the event just handled).
    fn note_link(&mut self, was: bool) {
        if was && !self.masters.is_subscribed() && !self.masters.has_left() {
            (self.observe)(BatchEvent::Disconnected(self.masters.current().clone()));
        }
    }

    /// What the next task asks that no offer seen had, if anything.
    fn next_task_short(&self) -> Vec<Shortfall> {
        match self.pending.front() {
            Some(task) => self.sizes.short_of(&task.resources),
            None => Vec::new(),
        }
    }

    /// Starts watching offers for [`NO_FIT_PATIENCE`] when the next task
    /// fits none seen so far.
    fn check_fit(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !matches!(self.no_fit, NoFitCheck::Idle) || self.next_task_short().is_empty() {
            return;
        }
        let timer = ctx.delay(NO_FIT_PATIENCE, |me: &mut Self, _ctx| {
            me.no_fit = NoFitCheck::Idle;
            if me.done || me.masters.has_left() {
                return;
            }
            let short = me.next_task_short();
            if !short.is_empty() {
                me.no_fit = NoFitCheck::Reported;
                (me.observe)(BatchEvent::NoFit(short));
            }
        });
        self.no_fit = NoFitCheck::Armed(timer);
    }

    /// Tears the framework down (once subscribed) and stops following
    /// masters; the observer hears [`BatchEvent::TornDown`].
    fn stop(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.masters.has_left() {
            (self.observe)(BatchEvent::TornDown { confirmed: true });
            return;
        }
        let subscribed = self.masters.is_subscribed();
        let master = self.masters.current().clone();
        leave(self, ctx);
        if let NoFitCheck::Armed(timer) = std::mem::replace(&mut self.no_fit, NoFitCheck::Idle) {
            ctx.cancel(timer);
        }
        if !subscribed {
            // Nothing to tear down here; a master that admits the
            // framework later drops it when its link breaks (failover
            // timeout 0).
            (self.observe)(BatchEvent::TornDown { confirmed: false });
            return;
        }
        ctx.send(&master, Teardown);
        // Messages from one actor to another arrive and are handled in
        // order, so an answer to this question means the teardown is done.
        ctx.ask(
            &master,
            GetLeadership,
            TEARDOWN_CONFIRM,
            |me: &mut Self, answer, _ctx| {
                let confirmed = answer.is_ok();
                (me.observe)(BatchEvent::TornDown { confirmed });
            },
        );
    }
}

impl Actor for BatchFramework {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribed>()
            .on::<Offers>()
            .on::<Rescind>()
            .on::<Update>()
            .on::<Heartbeat>()
            .on::<FrameworkError>()
            .on::<NotLeader>()
            .on::<LeaderElected>()
            .on::<Stop>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        start_subscribing(self, ctx);
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        let was = self.masters.is_subscribed();
        on_exited(self, pid, ctx);
        self.note_link(was);
    }
}

impl FollowsLeader for BatchFramework {
    fn masters(&mut self) -> &mut Masters {
        &mut self.masters
    }
}

impl Handler<Subscribed> for BatchFramework {
    fn handle(&mut self, m: Subscribed, ctx: &mut Ctx<'_, Self>) {
        match on_subscribed(self, m, ctx) {
            Some(Joined::First(id)) => (self.observe)(BatchEvent::Subscribed(id)),
            Some(Joined::Again(id)) => (self.observe)(BatchEvent::Resubscribed(id)),
            None => {}
        }
    }
}

impl Handler<NotLeader> for BatchFramework {
    fn handle(&mut self, m: NotLeader, ctx: &mut Ctx<'_, Self>) {
        let was = self.masters.is_subscribed();
        on_not_leader(self, m, ctx);
        self.note_link(was);
    }
}

impl Handler<LeaderElected> for BatchFramework {
    fn handle(&mut self, m: LeaderElected, ctx: &mut Ctx<'_, Self>) {
        let was = self.masters.is_subscribed();
        on_leader_elected(self, m, ctx);
        self.note_link(was);
    }
}

impl Handler<Offers> for BatchFramework {
    fn handle(&mut self, m: Offers, ctx: &mut Ctx<'_, Self>) {
        // Offers of a master not followed (any more) cannot be used: it
        // does not lead, or the framework has moved on.
        if !self.masters.is_current(ctx.sender()) {
            return;
        }
        let master = self.masters.current().clone();
        for offer in m.offers {
            self.sizes.note(&offer.resources);
            let pending = &mut self.pending;
            let container = self.cfg.container.as_ref();
            let op = fill(&offer, |left| {
                let (resources, container) = place(pending.front()?, container, left)?;
                let t = pending.pop_front()?;
                Some(TaskInfo {
                    task_id: t.id.clone(),
                    name: t.id.0.clone(),
                    command: t.command,
                    env: Vec::new(),
                    resources,
                    container,
                })
            });
            match op {
                Some(op) => {
                    let corral_api::framework::Operation::Launch(tasks) = &op;
                    for t in tasks {
                        (self.observe)(BatchEvent::Launched(
                            t.task_id.clone(),
                            offer.agent_id.clone(),
                        ));
                    }
                    // While tasks wait, what is left of the offer should
                    // come back at the next pass, not after a filter.
                    let refuse = if self.pending.is_empty() {
                        self.cfg.refuse
                    } else {
                        Duration::ZERO
                    };
                    let accept = Accept {
                        offer_ids: vec![offer.id],
                        operations: vec![op],
                        refuse: Some(refuse),
                    };
                    ctx.send(&master, accept);
                }
                None => {
                    let refuse = Some(self.cfg.refuse);
                    ctx.send(
                        &master,
                        Decline {
                            offer_ids: vec![offer.id],
                            refuse,
                        },
                    );
                }
            }
        }
        if self.pending.is_empty() {
            ctx.send(&master, Suppress);
        } else {
            self.check_fit(ctx);
        }
    }
}

impl Handler<Stop> for BatchFramework {
    fn handle(&mut self, _: Stop, ctx: &mut Ctx<'_, Self>) {
        let here = ctx.me().addr();
        if ctx.sender().map(Pid::addr) != Some(here) {
            tracing::warn!(sender = ?ctx.sender(), "a Stop from another node ignored");
            return;
        }
        self.stop(ctx);
    }
}

impl Handler<Rescind> for BatchFramework {
    fn handle(&mut self, _: Rescind, _ctx: &mut Ctx<'_, Self>) {}
}

impl Handler<Heartbeat> for BatchFramework {
    fn handle(&mut self, _: Heartbeat, _ctx: &mut Ctx<'_, Self>) {}
}

impl Handler<FrameworkError> for BatchFramework {
    fn handle(&mut self, m: FrameworkError, ctx: &mut Ctx<'_, Self>) {
        if self.masters.is_current(ctx.sender()) {
            (self.observe)(BatchEvent::Error(m.message));
        }
    }
}

impl Handler<Update> for BatchFramework {
    fn handle(&mut self, m: Update, ctx: &mut Ctx<'_, Self>) {
        // An update relayed by a master not followed is not acknowledged:
        // the agent resends it until the leader forwards an acknowledgement.
        if !self.masters.is_current(ctx.sender()) {
            return;
        }
        let status = m.status;
        let master = self.masters.current().clone();
        acknowledge(ctx, &master, &status);
        let known = self.cfg.tasks.iter().any(|t| t.id == status.task_id);
        let over = self
            .latest
            .get(&status.task_id)
            .is_some_and(|s| ended(s.state));
        if !known || over || self.done {
            return;
        }
        // A task that never reached an agent is not retried: the batch
        // reports what happened, as `mesos-execute` does.
        self.latest.insert(status.task_id.clone(), status.clone());
        (self.observe)(BatchEvent::Status(status));
        if self.finished() == self.cfg.tasks.len() {
            self.done = true;
            (self.observe)(BatchEvent::Done(self.latest.clone()));
            if self.cfg.teardown_when_done {
                ctx.send(&master, Teardown);
                // Torn down: a new leader must not see it subscribe again.
                leave(self, ctx);
            }
        }
    }
}

/// A task's resources and container in what is `left` of an offer (a
/// container task also takes its published ports), or None if it does not
/// fit.
fn place(
    task: &BatchTask,
    container: Option<&ContainerTemplate>,
    left: &Resources,
) -> Option<(Resources, Option<corral_api::container::ContainerInfo>)> {
    match container {
        None => left
            .contains(&task.resources)
            .then(|| (task.resources.clone(), None)),
        Some(c) => c
            .place(&task.resources, left)
            .map(|(r, info)| (r, Some(info))),
    }
}

/// The most of each scalar resource that any one offer had: what a
/// framework, which sees only offers, knows of the agents' sizes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferSizes {
    largest: BTreeMap<String, Scalar>,
}

/// A resource a task asks more of than any offer had.
#[derive(Clone, Debug, PartialEq)]
pub struct Shortfall {
    /// The resource, e.g. `cpus`.
    pub name: String,
    /// What the task asks.
    pub need: Scalar,
    /// The most any one offer had (0 if none had it).
    pub largest: Scalar,
}

impl OfferSizes {
    /// Takes one offer's resources into account.
    pub fn note(&mut self, offered: &Resources) {
        for name in offered.scalar_names() {
            let amount = offered.amount(name);
            let most = self.largest.entry(name.to_owned()).or_default();
            *most = (*most).max(amount);
        }
    }

    /// The scalars of `need` that exceed every offer seen (empty if each
    /// was reached by some offer).
    pub fn short_of(&self, need: &Resources) -> Vec<Shortfall> {
        need.scalar_names()
            .filter_map(|name| {
                let largest = self.largest.get(name).copied().unwrap_or_default();
                let need = need.amount(name);
                (need > largest).then(|| Shortfall {
                    name: name.to_owned(),
                    need,
                    largest,
                })
            })
            .collect()
    }
}

/// Whether a batch task is over: a terminal state, or TASK_LOST (not
/// terminal in Mesos, but the batch does not wait for a lost task to come
/// back).
pub fn ended(state: TaskState) -> bool {
    state.is_terminal() || state == TaskState::Lost
}

/// Counts of a batch's tasks by how far they got, for progress lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Sent to agents.
    pub launched: usize,
    /// Running now.
    pub running: usize,
    /// Ended with TASK_FINISHED.
    pub finished: usize,
    /// Ended any other way.
    pub failed: usize,
}

impl Progress {
    /// Folds one event in. `states` tracks each task's latest state.
    pub fn note(&mut self, states: &mut BTreeMap<TaskId, TaskState>, event: &BatchEvent) {
        match event {
            BatchEvent::Launched(..) => self.launched += 1,
            BatchEvent::Status(s) => {
                let before = states.insert(s.task_id.clone(), s.state);
                if before == Some(TaskState::Running) {
                    self.running -= 1;
                }
                match s.state {
                    TaskState::Running => self.running += 1,
                    TaskState::Finished => self.finished += 1,
                    st if ended(st) => self.failed += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(text: &str) -> Resources {
        text.parse().unwrap()
    }

    #[test]
    fn a_task_is_short_of_what_no_single_offer_had() {
        let mut sizes = OfferSizes::default();
        sizes.note(&res("cpus:2;mem:1024;ports:[31000-32000]"));
        sizes.note(&res("cpus:1;mem:4096"));
        assert!(sizes.short_of(&res("cpus:2;mem:4096")).is_empty());
        let short = sizes.short_of(&res("cpus:4096;mem:512;gpus:1"));
        let named: Vec<(&str, String, String)> = short
            .iter()
            .map(|s| (s.name.as_str(), s.need.to_string(), s.largest.to_string()))
            .collect();
        assert_eq!(
            named,
            [
                ("cpus", "4096".to_owned(), "2".to_owned()),
                ("gpus", "1".to_owned(), "0".to_owned())
            ]
        );
    }
}
