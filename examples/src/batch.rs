//! A batch framework: runs a fixed list of tasks once each, as offers come,
//! and reports every status to an observer until all have ended. `corral
//! execute` and the `corral local` demo are built on it. With
//! [`BatchConfig::container`] every task runs in a Docker container.
//!
//! Besides statuses it tells the observer when it loses and regains its
//! master, when no offer seen can hold a task, and when a [`Stop`] sent
//! from its own process has torn it down.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral_api::container::ContainerInfo;
use corral_api::framework::{FrameworkInfo, Offer, Operation};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::{TaskInfo, TaskState, TaskStatus};
use corral_master::state::GetLeadership;
use corral_runtime::{message, Ctx, Handler, Handlers, Pid, TimerId};
use corral_scheduler::fit::{fill, ContainerTemplate, OfferSizes, Shortfall};
use corral_scheduler::{Driver, DriverConfig, DriverError, Scheduler, SchedulerDriver};
use serde::{Deserialize, Serialize};

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
    /// [`Batch::with_masters`] for several).
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
    /// Proves the framework's principal to masters that authenticate
    /// frameworks (None).
    pub credential: Option<corral_api::auth::Credential>,
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
            credential: None,
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
    /// The master removed the framework (an operator tore it down): the
    /// batch cannot go on.
    Removed(String),
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

/// The batch framework as an actor: [`Batch`] run by the scheduler driver.
pub type BatchFramework = SchedulerDriver<Batch>;

/// Runs each task once. See the module doc.
pub struct Batch {
    cfg: BatchConfig,
    masters: Vec<Pid>,
    observe: Observer<BatchEvent>,
    pending: VecDeque<BatchTask>,
    latest: BTreeMap<TaskId, TaskStatus>,
    /// The batch's task ids and how many of them have ended: kept beside
    /// `cfg.tasks` and `latest` so an update costs a lookup, not a scan
    /// (a million-task batch gets a million updates).
    ids: BTreeSet<TaskId>,
    ended: usize,
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

type BatchDriver<'a, 'c> = Driver<'a, 'c, Batch>;

impl Batch {
    /// A batch that follows `cfg.master` and reports to `observe`.
    pub fn new(cfg: BatchConfig, observe: Observer<BatchEvent>) -> Batch {
        Batch {
            masters: vec![cfg.master.clone()],
            pending: cfg.tasks.iter().cloned().collect(),
            observe,
            latest: BTreeMap::new(),
            ids: cfg.tasks.iter().map(|t| t.id.clone()).collect(),
            ended: 0,
            cfg,
            done: false,
            sizes: OfferSizes::default(),
            no_fit: NoFitCheck::Idle,
        }
    }

    /// This batch, following whichever of `masters` leads (tried in order)
    /// instead of only the config's master. An empty list keeps the
    /// config's master.
    pub fn with_masters(mut self, masters: Vec<Pid>) -> Batch {
        if !masters.is_empty() {
            self.masters = masters;
        }
        self
    }

    /// The framework actor that runs this batch.
    pub fn into_framework(mut self) -> BatchFramework {
        let masters = std::mem::take(&mut self.masters);
        let mut cfg = DriverConfig::new(masters, self.cfg.info.clone());
        cfg.credential = self.cfg.credential.clone();
        match SchedulerDriver::new(cfg, self) {
            Ok(driver) => driver,
            Err(e) => unreachable!("the master list is never empty: {e}"),
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
    fn check_fit(&mut self, driver: &mut BatchDriver<'_, '_>) {
        if !matches!(self.no_fit, NoFitCheck::Idle) || self.next_task_short().is_empty() {
            return;
        }
        let timer = driver.delay(NO_FIT_PATIENCE, |me: &mut Batch, driver| {
            me.no_fit = NoFitCheck::Idle;
            if me.done || !driver.is_subscribed() {
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
    fn stop(&mut self, driver: &mut BatchDriver<'_, '_>) {
        if let NoFitCheck::Armed(timer) = std::mem::replace(&mut self.no_fit, NoFitCheck::Idle) {
            driver.cancel(timer);
        }
        let master = match driver.teardown() {
            Ok(master) => master,
            Err(DriverError::TornDown) => {
                (self.observe)(BatchEvent::TornDown { confirmed: true });
                return;
            }
            Err(_) => {
                // Nothing to tear down here; a master that admits the
                // framework later drops it when its link breaks (failover
                // timeout 0).
                (self.observe)(BatchEvent::TornDown { confirmed: false });
                return;
            }
        };
        // Messages from one actor to another arrive and are handled in
        // order, so an answer to this question means the teardown is done.
        driver.ctx().ask(
            &master,
            GetLeadership,
            TEARDOWN_CONFIRM,
            |d: &mut BatchFramework, answer, ctx| {
                let confirmed = answer.is_ok();
                d.with(ctx, |me, _| {
                    (me.observe)(BatchEvent::TornDown { confirmed });
                });
            },
        );
    }
}

impl Scheduler for Batch {
    fn registered(&mut self, _driver: &mut BatchDriver<'_, '_>, id: &FrameworkId) {
        (self.observe)(BatchEvent::Subscribed(id.clone()));
    }

    fn reregistered(&mut self, _driver: &mut BatchDriver<'_, '_>, id: &FrameworkId) {
        (self.observe)(BatchEvent::Resubscribed(id.clone()));
    }

    fn disconnected(&mut self, driver: &mut BatchDriver<'_, '_>) {
        (self.observe)(BatchEvent::Disconnected(driver.master().clone()));
    }

    fn error(&mut self, driver: &mut BatchDriver<'_, '_>, message: &str) {
        let message = message.to_owned();
        (self.observe)(if driver.has_left() {
            BatchEvent::Removed(message)
        } else {
            BatchEvent::Error(message)
        });
    }

    fn offers(&mut self, driver: &mut BatchDriver<'_, '_>, offers: Vec<Offer>) {
        for offer in offers {
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
                    executor: None,
                })
            });
            let sent = match op {
                Some(Operation::Launch(tasks)) => {
                    let launched: Vec<TaskId> = tasks.iter().map(|t| t.task_id.clone()).collect();
                    // While tasks wait, what is left of the offer should
                    // come back at the next pass, not after a filter.
                    let refuse = if self.pending.is_empty() {
                        self.cfg.refuse
                    } else {
                        Duration::ZERO
                    };
                    let sent = driver.launch(&offer.id, tasks, Some(refuse));
                    if sent.is_ok() {
                        for id in launched {
                            (self.observe)(BatchEvent::Launched(id, offer.agent_id.clone()));
                        }
                    }
                    sent
                }
                None => driver.decline(vec![offer.id], Some(self.cfg.refuse)),
            };
            if let Err(e) = sent {
                tracing::warn!("cannot answer an offer: {e}");
            }
        }
        if self.pending.is_empty() {
            let _ = driver.suppress();
        } else {
            self.check_fit(driver);
        }
    }

    fn update(&mut self, driver: &mut BatchDriver<'_, '_>, status: &TaskStatus) {
        let known = self.ids.contains(&status.task_id);
        let over = self
            .latest
            .get(&status.task_id)
            .is_some_and(|s| ended(s.state));
        if !known || over || self.done {
            return;
        }
        // A task that never reached an agent is not retried: the batch
        // reports what happened, as `mesos-execute` does.
        // `over` was false: this is the task's first ended state, if any.
        if ended(status.state) {
            self.ended += 1;
        }
        self.latest.insert(status.task_id.clone(), status.clone());
        (self.observe)(BatchEvent::Status(status.clone()));
        if self.ended == self.cfg.tasks.len() {
            self.done = true;
            (self.observe)(BatchEvent::Done(self.latest.clone()));
            if self.cfg.teardown_when_done {
                // Acknowledge the last update before leaving: once torn
                // down the driver sends nothing more.
                let _ = driver.acknowledge(status);
                let _ = driver.teardown();
            }
        }
    }

    fn handlers(h: &mut Handlers<BatchFramework>) {
        h.on::<Stop>();
    }
}

impl Handler<Stop> for BatchFramework {
    fn handle(&mut self, _: Stop, ctx: &mut Ctx<'_, Self>) {
        let here = ctx.me().addr();
        if ctx.sender().map(Pid::addr) != Some(here) {
            tracing::warn!(sender = ?ctx.sender(), "a Stop from another node ignored");
            return;
        }
        self.with(ctx, |batch, driver| batch.stop(driver));
    }
}

/// A task's resources and container in what is `left` of an offer (a
/// container task also takes its published ports), or None if it does not
/// fit.
fn place(
    task: &BatchTask,
    container: Option<&ContainerTemplate>,
    left: &Resources,
) -> Option<(Resources, Option<ContainerInfo>)> {
    match container {
        None => left
            .contains(&task.resources)
            .then(|| (task.resources.clone(), None)),
        Some(c) => c
            .place(&task.resources, left)
            .map(|(r, info)| (r, Some(info))),
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
