//! The scheduler driver: the actor that runs a [`Scheduler`] and owns
//! everything a framework does the same way — subscribing through a list
//! of masters, following the leader, noticing a silent master by its
//! missing heartbeats, re-subscribing under the framework id,
//! acknowledging updates and reconciling after every re-subscription —
//! and [`Driver`], the handle a scheduler acts through.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::framework::{
    Accept, Acknowledge, Decline, ExecutorMessage, Failure, FrameworkError, FrameworkMessage,
    Heartbeat, Kill, LeaderElected, NotLeader, Offers, Operation, Reconcile, Rescind, Revive,
    Subscribed, Suppress, Teardown, Update, MAX_MESSAGE_DATA_BYTES,
};
use corral_api::ids::{AgentId, FrameworkId, OfferId, TaskId};
use corral_api::task::{TaskInfo, TaskState, TaskStatus};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Message, Pid, Time, TimerId};

use crate::masters::{Joined, Masters, Next};
use crate::scheduler::{Driver, Scheduler, SchedulerDriver};
use crate::state::{Acks, Core, DriverConfig, DriverError};

/// How often an unanswered Subscribe is sent again (to the next master of
/// the list).
pub const SUBSCRIBE_RETRY: Duration = Duration::from_secs(2);

/// How many heartbeat intervals of silence from the master followed make
/// the driver subscribe again (to the next master of the list).
pub const MISSED_HEARTBEATS: u32 = 3;

impl<S: Scheduler> SchedulerDriver<S> {
    /// A driver running `scheduler` as `cfg` says.
    pub fn new(cfg: DriverConfig, scheduler: S) -> Result<SchedulerDriver<S>, DriverError> {
        if cfg.masters.is_empty() {
            return Err(DriverError::NoMasters);
        }
        let started_with_id = cfg.info.id.is_some();
        Ok(SchedulerDriver {
            scheduler,
            core: Core {
                acks: cfg.acks,
                masters: Masters::new(cfg.masters, cfg.info).with_credential(cfg.credential),
                started_with_id,
                retry: None,
                heartbeat: None,
                heartbeat_interval: Duration::ZERO,
                last_heard: Time::ZERO,
                live: BTreeMap::new(),
            },
        })
    }

    /// The scheduler.
    pub fn scheduler(&self) -> &S {
        &self.scheduler
    }

    /// Runs `f` with the scheduler and a [`Driver`]: how a handler of the
    /// framework's own messages (or a callback given to the raw context)
    /// reaches the scheduler.
    pub fn with<R>(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        f: impl FnOnce(&mut S, &mut Driver<'_, '_, S>) -> R,
    ) -> R {
        let mut driver = Driver {
            core: &mut self.core,
            ctx,
        };
        f(&mut self.scheduler, &mut driver)
    }

    /// Carries out what the master tracker decided.
    fn step(&mut self, next: Next, ctx: &mut Ctx<'_, Self>) {
        match next {
            Next::Nothing => {}
            Next::Wait => {
                if self.core.retry.is_none() {
                    self.arm_retry(ctx);
                }
            }
            Next::Subscribe => {
                let (master, subscribe) = self.core.masters.attempt();
                tracing::debug!(%master, "subscribing");
                ctx.link(&master);
                ctx.send(&master, subscribe);
                if let Some(timer) = self.core.retry.take() {
                    ctx.cancel(timer);
                }
                self.arm_retry(ctx);
            }
        }
    }

    fn arm_retry(&mut self, ctx: &mut Ctx<'_, Self>) {
        let timer = ctx.delay(SUBSCRIBE_RETRY, |d: &mut Self, ctx| {
            d.core.retry = None;
            let next = d.core.masters.handle_retry();
            d.step(next, ctx);
        });
        self.core.retry = Some(timer);
    }

    /// Runs a tracker decision that may end the subscription, telling the
    /// scheduler if it did.
    fn follow(&mut self, ctx: &mut Ctx<'_, Self>, decide: impl FnOnce(&mut Masters) -> Next) {
        let was = self.core.masters.is_subscribed();
        let next = decide(&mut self.core.masters);
        self.step(next, ctx);
        let lost = was && !self.core.masters.is_subscribed() && !self.core.masters.has_left();
        if lost {
            if let Some(timer) = self.core.heartbeat.take() {
                ctx.cancel(timer);
            }
            self.with(ctx, |s, d| s.disconnected(d));
        }
    }

    /// Whether the message being handled comes from the master followed;
    /// if so, it counts as hearing from it.
    fn heard_from_current(&mut self, ctx: &Ctx<'_, Self>) -> bool {
        let current = self.core.masters.is_current(ctx.sender());
        if current {
            self.core.last_heard = ctx.now();
        }
        current
    }

    /// Checks every heartbeat interval that the master was heard from
    /// within [`MISSED_HEARTBEATS`] of them.
    fn arm_heartbeat_check(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some(timer) = self.core.heartbeat.take() {
            ctx.cancel(timer);
        }
        let interval = self.core.heartbeat_interval;
        if interval.is_zero() {
            return;
        }
        let timer = ctx.delay(interval, |d: &mut Self, ctx| {
            d.core.heartbeat = None;
            if !d.core.masters.is_subscribed() {
                return;
            }
            let silence = ctx.now().saturating_since(d.core.last_heard);
            if silence < d.core.heartbeat_interval * MISSED_HEARTBEATS {
                d.arm_heartbeat_check(ctx);
                return;
            }
            let master = d.core.masters.current().clone();
            tracing::warn!(%master, ?silence, "no heartbeat from the master; subscribing again");
            d.follow(ctx, |m| m.handle_exited(&master));
        });
        self.core.heartbeat = Some(timer);
    }
}

impl<S: Scheduler> Actor for SchedulerDriver<S> {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribed>()
            .on::<Offers>()
            .on::<Rescind>()
            .on::<Update>()
            .on::<Heartbeat>()
            .on::<FrameworkError>()
            .on::<ExecutorMessage>()
            .on::<Failure>()
            .on::<NotLeader>()
            .on::<LeaderElected>();
        S::handlers(h);
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let next = self.core.masters.handle_start();
        self.step(next, ctx);
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        if self.core.masters.current() == pid && !self.core.masters.has_left() {
            tracing::warn!(master = %pid, "lost the master; subscribing again");
        }
        self.follow(ctx, |m| m.handle_exited(pid));
    }
}

impl<S: Scheduler> Handler<Subscribed> for SchedulerDriver<S> {
    fn handle(&mut self, m: Subscribed, ctx: &mut Ctx<'_, Self>) {
        let now = ctx.now();
        let Some(joined) =
            self.core
                .masters
                .handle_subscribed(ctx.sender(), m.framework_id, m.term, now)
        else {
            return;
        };
        if let Some(timer) = self.core.retry.take() {
            ctx.cancel(timer);
        }
        self.core.last_heard = now;
        self.core.heartbeat_interval = m.heartbeat_interval;
        self.arm_heartbeat_check(ctx);
        let master = self.core.masters.current().clone();
        match joined {
            Joined::First(id) => {
                if self.core.started_with_id {
                    // A failed-over scheduler knows none of its tasks:
                    // ask for all of them.
                    ctx.send(&master, Reconcile { task_ids: vec![] });
                }
                self.with(ctx, |s, d| s.registered(d, &id));
            }
            Joined::Again(id) => {
                let task_ids: Vec<TaskId> = self.core.live.keys().cloned().collect();
                if !task_ids.is_empty() {
                    ctx.send(&master, Reconcile { task_ids });
                }
                self.with(ctx, |s, d| s.reregistered(d, &id));
            }
        }
    }
}

impl<S: Scheduler> Handler<NotLeader> for SchedulerDriver<S> {
    fn handle(&mut self, m: NotLeader, ctx: &mut Ctx<'_, Self>) {
        let sender = ctx.sender().cloned();
        self.follow(ctx, |masters| {
            masters.handle_not_leader(sender.as_ref(), m.leader.as_ref())
        });
    }
}

impl<S: Scheduler> Handler<LeaderElected> for SchedulerDriver<S> {
    fn handle(&mut self, m: LeaderElected, ctx: &mut Ctx<'_, Self>) {
        let sender = ctx.sender().cloned();
        let left = self.core.masters.has_left();
        self.follow(ctx, |masters| {
            let next = masters.handle_leader_elected(sender.as_ref(), &m.leader, m.term);
            if next == Next::Nothing && !left {
                tracing::warn!(?sender, leader = %m.leader, term = m.term, "ignoring a leader announcement: not from or about a listed master, or of an older term");
            }
            next
        });
    }
}

impl<S: Scheduler> Handler<Offers> for SchedulerDriver<S> {
    fn handle(&mut self, m: Offers, ctx: &mut Ctx<'_, Self>) {
        // Offers of a master not followed (any more) cannot be used: it
        // does not lead, or the framework has moved on.
        if !self.heard_from_current(ctx) || !self.core.masters.is_subscribed() {
            self.with(ctx, |s, d| s.ignored_offers(d, &m.offers));
            return;
        }
        self.with(ctx, |s, d| s.offers(d, m.offers));
    }
}

impl<S: Scheduler> Handler<Rescind> for SchedulerDriver<S> {
    fn handle(&mut self, m: Rescind, ctx: &mut Ctx<'_, Self>) {
        if self.heard_from_current(ctx) {
            self.with(ctx, |s, d| s.rescinded(d, &m.offer_id));
        }
    }
}

impl<S: Scheduler> Handler<Heartbeat> for SchedulerDriver<S> {
    fn handle(&mut self, _: Heartbeat, ctx: &mut Ctx<'_, Self>) {
        self.heard_from_current(ctx);
    }
}

impl<S: Scheduler> Handler<FrameworkError> for SchedulerDriver<S> {
    fn handle(&mut self, m: FrameworkError, ctx: &mut Ctx<'_, Self>) {
        if self.heard_from_current(ctx) {
            self.with(ctx, |s, d| {
                if m.removed {
                    // Gone for good: subscribing again would make a new
                    // framework, which is the scheduler's choice to make.
                    d.leave();
                }
                s.error(d, &m.message);
            });
        }
    }
}

impl<S: Scheduler> Handler<Update> for SchedulerDriver<S> {
    fn handle(&mut self, m: Update, ctx: &mut Ctx<'_, Self>) {
        // An update relayed by a master not followed is not acknowledged:
        // the agent resends it until the leader forwards an acknowledgement.
        if !self.heard_from_current(ctx) {
            return;
        }
        let status = m.status;
        let gone = status.state.is_terminal() || status.state == TaskState::Unknown;
        if gone {
            self.core.live.remove(&status.task_id);
        } else {
            self.core.live.insert(status.task_id.clone(), status.state);
        }
        let auto = self.core.acks == Acks::Automatic;
        self.with(ctx, |s, d| {
            s.update(d, &status);
            if auto {
                // Only `NotSubscribed`/`TornDown` can fail here, and then
                // the agent resends the update to whoever leads next.
                let _ = d.acknowledge(&status);
            }
        });
    }
}

impl<S: Scheduler> Handler<ExecutorMessage> for SchedulerDriver<S> {
    fn handle(&mut self, m: ExecutorMessage, ctx: &mut Ctx<'_, Self>) {
        if self.heard_from_current(ctx) {
            self.with(ctx, |s, d| {
                s.framework_message(d, &m.agent_id, &m.executor_id, &m.data)
            });
        }
    }
}

impl<S: Scheduler> Handler<Failure> for SchedulerDriver<S> {
    fn handle(&mut self, m: Failure, ctx: &mut Ctx<'_, Self>) {
        if !self.heard_from_current(ctx) {
            return;
        }
        self.with(ctx, |s, d| match &m.executor_id {
            Some(executor_id) => s.executor_lost(d, &m.agent_id, executor_id, m.status),
            None => s.agent_lost(d, &m.agent_id),
        });
    }
}

impl<'c, S: Scheduler> Driver<'_, 'c, S> {
    /// The framework's id, once a master gave one.
    pub fn framework_id(&self) -> Option<&FrameworkId> {
        self.core.masters.framework_id()
    }

    /// Whether a master has accepted the subscription now.
    pub fn is_subscribed(&self) -> bool {
        self.core.masters.is_subscribed()
    }

    /// The master followed now (or being subscribed to).
    pub fn master(&self) -> &Pid {
        self.core.masters.current()
    }

    /// Whether the framework follows no master any more: it tore itself
    /// down, left, or the master removed it.
    pub fn has_left(&self) -> bool {
        self.core.masters.has_left()
    }

    /// The tasks the driver knows to be live (launched, or last reported
    /// in a non-terminal state), with their latest state.
    pub fn live_tasks(&self) -> &BTreeMap<TaskId, TaskState> {
        &self.core.live
    }

    /// The master to send a request to, if one can be sent.
    fn leader(&self) -> Result<Pid, DriverError> {
        if self.core.masters.has_left() {
            return Err(DriverError::TornDown);
        }
        if !self.core.masters.is_subscribed() {
            return Err(DriverError::NotSubscribed);
        }
        Ok(self.core.masters.current().clone())
    }

    /// Launches `tasks` on offer `offer_id`; what they leave of it is
    /// declined for `refuse` (the master's default, 5 s, if None).
    pub fn launch(
        &mut self,
        offer_id: &OfferId,
        tasks: Vec<TaskInfo>,
        refuse: Option<Duration>,
    ) -> Result<(), DriverError> {
        if tasks.is_empty() {
            return Err(DriverError::Empty("a launch names no task"));
        }
        let operations = vec![Operation::Launch(tasks)];
        self.accept(vec![offer_id.clone()], operations, refuse)
    }

    /// Uses offers (all from one agent) for `operations`; the rest is
    /// declined for `refuse`.
    pub fn accept(
        &mut self,
        offer_ids: Vec<OfferId>,
        operations: Vec<Operation>,
        refuse: Option<Duration>,
    ) -> Result<(), DriverError> {
        if offer_ids.is_empty() {
            return Err(DriverError::Empty("an accept names no offer"));
        }
        let master = self.leader()?;
        let mut named = std::collections::BTreeSet::new();
        for Operation::Launch(tasks) in &operations {
            for t in tasks {
                if self.core.live.contains_key(&t.task_id) || !named.insert(&t.task_id) {
                    return Err(DriverError::DuplicateTask(t.task_id.clone()));
                }
            }
        }
        for Operation::Launch(tasks) in &operations {
            for t in tasks {
                self.core.live.insert(t.task_id.clone(), TaskState::Staging);
            }
        }
        let accept = Accept {
            offer_ids,
            operations,
            refuse,
        };
        self.ctx.send(&master, accept);
        Ok(())
    }

    /// Gives offers back; their agents are not offered to this framework
    /// again for `refuse` (the master's default, 5 s, if None).
    pub fn decline(
        &mut self,
        offer_ids: Vec<OfferId>,
        refuse: Option<Duration>,
    ) -> Result<(), DriverError> {
        if offer_ids.is_empty() {
            return Err(DriverError::Empty("a decline names no offer"));
        }
        let master = self.leader()?;
        self.ctx.send(&master, Decline { offer_ids, refuse });
        Ok(())
    }

    /// Asks the master to kill a task; its end comes as an update.
    pub fn kill(&mut self, task_id: &TaskId) -> Result<(), DriverError> {
        let master = self.leader()?;
        let task_id = task_id.clone();
        self.ctx.send(&master, Kill { task_id });
        Ok(())
    }

    /// Asks for the latest state of `task_ids` (all the framework's tasks
    /// if empty); answers come as updates without a uuid.
    pub fn reconcile(&mut self, task_ids: Vec<TaskId>) -> Result<(), DriverError> {
        let master = self.leader()?;
        self.ctx.send(&master, Reconcile { task_ids });
        Ok(())
    }

    /// Sends `data` to the framework's executor `executor_id` on
    /// `agent_id`, through the master and that agent (Mesos's
    /// `sendFrameworkMessage`). Best effort: nothing acknowledges it, and
    /// it is dropped if the executor is not there. At most
    /// [`MAX_MESSAGE_DATA_BYTES`].
    pub fn send_framework_message(
        &mut self,
        agent_id: &AgentId,
        executor_id: &str,
        data: Vec<u8>,
    ) -> Result<(), DriverError> {
        if data.len() > MAX_MESSAGE_DATA_BYTES {
            return Err(DriverError::TooLarge(data.len()));
        }
        let master = self.leader()?;
        let message = FrameworkMessage {
            agent_id: agent_id.clone(),
            executor_id: executor_id.to_owned(),
            data,
        };
        self.ctx.send(&master, message);
        Ok(())
    }

    /// Stops offers until [`revive`](Driver::revive).
    pub fn suppress(&mut self) -> Result<(), DriverError> {
        let master = self.leader()?;
        self.ctx.send(&master, Suppress);
        Ok(())
    }

    /// Clears decline filters and resumes offers.
    pub fn revive(&mut self) -> Result<(), DriverError> {
        let master = self.leader()?;
        self.ctx.send(&master, Revive);
        Ok(())
    }

    /// Acknowledges `status` if it asks for it (it has a uuid). Needed only
    /// with [`Acks::Explicit`]; with automatic acknowledgements the driver
    /// does it, and a second one is ignored by the agent.
    pub fn acknowledge(&mut self, status: &TaskStatus) -> Result<(), DriverError> {
        let (Some(uuid), Some(agent_id)) = (status.uuid, status.agent_id.clone()) else {
            return Ok(());
        };
        let master = self.leader()?;
        let ack = Acknowledge {
            task_id: status.task_id.clone(),
            agent_id,
            uuid,
        };
        self.ctx.send(&master, ack);
        Ok(())
    }

    /// Tears the framework down (the master kills its tasks and forgets
    /// it) and stops following masters. Returns the master told, or
    /// `NotSubscribed` if none could be (a master that admits the
    /// framework later drops it when its link breaks, if its failover
    /// timeout is 0).
    pub fn teardown(&mut self) -> Result<Pid, DriverError> {
        let master = self.leader();
        self.leave();
        let master = master?;
        self.ctx.send(&master, Teardown);
        Ok(master)
    }

    /// Stops following any master without tearing the framework down: no
    /// Subscribe is sent again, and the master keeps its tasks for its
    /// failover timeout.
    pub fn leave(&mut self) {
        self.core.masters.handle_leave();
        for timer in [self.core.retry.take(), self.core.heartbeat.take()]
            .into_iter()
            .flatten()
        {
            self.ctx.cancel(timer);
        }
    }

    /// Sends any message to the master followed, subscribed or not: for
    /// requests this driver has no method for, and for tests that send bad
    /// ones on purpose.
    pub fn send_to_master<M: Message>(&mut self, msg: M) {
        let master = self.core.masters.current().clone();
        self.ctx.send(&master, msg);
    }

    /// Calls `f` with the scheduler after `after` (virtual time in the
    /// simulator).
    pub fn delay<F>(&mut self, after: Duration, f: F) -> TimerId
    where
        F: FnOnce(&mut S, &mut Driver<'_, '_, S>) + 'static,
    {
        self.ctx
            .delay(after, move |d: &mut SchedulerDriver<S>, ctx| d.with(ctx, f))
    }

    /// Cancels a timer of [`delay`](Driver::delay); false if it fired.
    pub fn cancel(&mut self, timer: TimerId) -> bool {
        self.ctx.cancel(timer)
    }

    /// The present time on the actor's clock.
    pub fn now(&self) -> Time {
        self.ctx.now()
    }

    /// The driver actor's pid.
    pub fn me(&self) -> &Pid {
        self.ctx.me()
    }

    /// The sender of the message being handled, if any.
    pub fn sender(&self) -> Option<&Pid> {
        self.ctx.sender()
    }

    /// The raw actor context, for what the driver does not wrap (asks,
    /// randomness, spawning). Its callbacks get the [`SchedulerDriver`];
    /// reach the scheduler with [`SchedulerDriver::with`].
    pub fn ctx(&mut self) -> &mut Ctx<'c, SchedulerDriver<S>> {
        self.ctx
    }
}
