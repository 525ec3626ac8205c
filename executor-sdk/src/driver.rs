//! The driver actor: everything an executor does besides deciding.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use corral_api::executor::{
    ExecutorMessage, ExecutorReregistered, ExecutorUpdate, FrameworkMessage, KillTask,
    RegisterExecutor, ReregisterExecutor, RunTask, ShutdownExecutor, UpdateAck,
};
use corral_api::framework::MAX_MESSAGE_DATA_BYTES;
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{uuid_v4, StatusReason, StatusSource, TaskState, TaskStatus};
use corral_runtime::{
    Actor, Ctx, ExitStatus, Handler, Handlers, Message, Pid, ProcessId, ProcessSpec, Signal, Time,
    TimerId,
};

use crate::config::{ConfigError, ExecutorConfig};
use crate::executor::{Control, Executor, ExecutorDriver};
use crate::state::{Core, ExecutorError, OnDone, Outcome, Phase, MAX_PENDING_PER_TASK};

impl<E: Executor> ExecutorDriver<E> {
    /// A driver running `executor` as `cfg` says; `on_done` is called once
    /// when it stops by itself.
    pub fn new(
        cfg: ExecutorConfig,
        executor: E,
        on_done: OnDone,
    ) -> Result<ExecutorDriver<E>, ConfigError> {
        cfg.validate()?;
        Ok(ExecutorDriver {
            executor,
            core: Core {
                cfg,
                phase: Phase::Registering(Time::ZERO),
                live: BTreeMap::new(),
                ended: BTreeSet::new(),
                pending: BTreeMap::new(),
                shutting_down: false,
                finishing: false,
                on_done: Some(on_done),
                stopped: false,
            },
        })
    }

    /// The executor.
    pub fn executor(&self) -> &E {
        &self.executor
    }

    /// Runs `f` with the executor and a [`Control`]: how a handler of the
    /// executor's own messages reaches it.
    pub fn with<R>(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        f: impl FnOnce(&mut E, &mut Control<'_, '_, E>) -> R,
    ) -> R {
        let mut control = Control {
            core: &mut self.core,
            ctx,
        };
        let r = f(&mut self.executor, &mut control);
        self.maybe_stop(ctx);
        r
    }

    /// Whether the current message comes from the agent (logged if not).
    fn sent_by_agent<M: Message>(&self, ctx: &Ctx<'_, Self>) -> bool {
        let ok = ctx.sender() == Some(&self.core.cfg.agent);
        if !ok {
            tracing::warn!(sender = ?ctx.sender(), message = M::NAME, "dropping a message that does not come from our agent");
        }
        ok
    }

    fn register(&self, ctx: &mut Ctx<'_, Self>) {
        let agent = self.core.cfg.agent.clone();
        // Linking again is a no-op while the link holds; after the agent
        // restarted it watches the new one.
        ctx.link(&agent);
        let (framework_id, executor_id) = self.ids();
        match self.core.phase {
            Phase::Registering(_) => ctx.send(
                &agent,
                RegisterExecutor {
                    framework_id,
                    executor_id,
                },
            ),
            Phase::Reregistering(_) => ctx.send(
                &agent,
                ReregisterExecutor {
                    framework_id,
                    executor_id,
                    task_id: self.core.live.keys().next().cloned(),
                },
            ),
            Phase::Registered | Phase::Lost => {}
        }
    }

    fn ids(&self) -> (FrameworkId, String) {
        (
            self.core.cfg.framework_id.clone(),
            self.core.cfg.executor_id.clone(),
        )
    }

    /// Every `retry_interval`: registers again if not taken yet, resends
    /// each task's oldest unacknowledged update, gives up when waited too
    /// long.
    fn tick(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.core.stopped {
            return;
        }
        let every = self.core.cfg.retry_interval;
        ctx.delay(every, |d: &mut Self, ctx| d.tick(ctx));
        let now = ctx.now();
        match self.core.phase {
            Phase::Registering(since)
                if now.saturating_since(since) >= self.core.cfg.registration_timeout =>
            {
                tracing::warn!("the agent did not take the executor in time");
                self.stop(Outcome::RegistrationTimedOut, ctx);
            }
            Phase::Reregistering(since)
                if now.saturating_since(since) >= self.core.cfg.recovery_timeout =>
            {
                tracing::warn!("the agent did not come back in time");
                self.lose_agent(ctx);
            }
            Phase::Registering(_) | Phase::Reregistering(_) => self.register(ctx),
            Phase::Registered => self.resend(ctx),
            Phase::Lost => {}
        }
    }

    fn resend(&self, ctx: &mut Ctx<'_, Self>) {
        for queue in self.core.pending.values() {
            if let Some(status) = queue.front() {
                let status = status.clone();
                ctx.send(&self.core.cfg.agent, ExecutorUpdate { status });
            }
        }
    }

    /// The agent is gone for good: nothing will be delivered.
    fn lose_agent(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.core.phase = Phase::Lost;
        self.core.pending.clear();
        self.with(ctx, |e, ex| e.agent_lost(ex));
    }

    fn maybe_stop(&mut self, ctx: &mut Ctx<'_, Self>) {
        let quiet = self.core.live.is_empty() && self.core.pending.is_empty();
        if self.core.phase == Phase::Lost && self.core.live.is_empty() {
            self.stop(Outcome::AgentLost, ctx);
        } else if self.core.shutting_down && quiet {
            self.stop(Outcome::Shutdown, ctx);
        } else if self.core.finishing && quiet {
            self.stop(Outcome::Finished, ctx);
        }
    }

    fn stop(&mut self, outcome: Outcome, ctx: &mut Ctx<'_, Self>) {
        if self.core.stopped {
            return;
        }
        self.core.stopped = true;
        tracing::info!(%outcome, "executor stopping");
        if let Some(on_done) = self.core.on_done.take() {
            on_done(outcome);
        }
        ctx.stop();
    }
}

impl<E: Executor> Actor for ExecutorDriver<E> {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<RunTask>()
            .on::<KillTask>()
            .on::<ShutdownExecutor>()
            .on::<UpdateAck>()
            .on::<ExecutorReregistered>()
            .on::<FrameworkMessage>();
        E::handlers(h);
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.core.phase = Phase::Registering(ctx.now());
        self.register(ctx);
        let every = self.core.cfg.retry_interval;
        ctx.delay(every, |d: &mut Self, ctx| d.tick(ctx));
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        if *pid != self.core.cfg.agent || self.core.phase == Phase::Lost {
            return;
        }
        if self.core.cfg.checkpoint {
            tracing::warn!(agent = %pid, "the agent is gone; waiting for it to come back");
            if !matches!(self.core.phase, Phase::Reregistering(_)) {
                self.core.phase = Phase::Reregistering(ctx.now());
            }
            self.register(ctx);
        } else {
            tracing::warn!(agent = %pid, "the agent is gone; stopping the tasks");
            self.lose_agent(ctx);
        }
    }

    fn process_exited(&mut self, id: ProcessId, status: ExitStatus, ctx: &mut Ctx<'_, Self>) {
        self.with(ctx, |e, ex| e.process_exited(ex, id, status));
    }
}

impl<E: Executor> Handler<RunTask> for ExecutorDriver<E> {
    fn handle(&mut self, msg: RunTask, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_agent::<RunTask>(ctx) || self.core.phase == Phase::Lost {
            return;
        }
        let first = matches!(self.core.phase, Phase::Registering(_));
        self.core.phase = Phase::Registered;
        if first {
            self.with(ctx, |e, ex| e.registered(ex));
        }
        let id = msg.task.task_id.clone();
        // The agent sends a task again when a registration repeats (its
        // first answer may have been lost): run each once.
        if self.core.live.contains_key(&id) || self.core.ended.contains(&id) {
            return;
        }
        if msg.framework_id != self.core.cfg.framework_id {
            tracing::warn!(framework = %msg.framework_id, task = %id, "dropping a task of another framework");
            return;
        }
        self.core.live.insert(id, TaskState::Staging);
        self.with(ctx, |e, ex| e.launch(ex, msg.task));
    }
}

impl<E: Executor> Handler<KillTask> for ExecutorDriver<E> {
    fn handle(&mut self, msg: KillTask, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_agent::<KillTask>(ctx) || !self.core.live.contains_key(&msg.task_id) {
            return;
        }
        self.with(ctx, |e, ex| e.kill(ex, &msg.task_id, msg.grace));
    }
}

impl<E: Executor> Handler<ShutdownExecutor> for ExecutorDriver<E> {
    fn handle(&mut self, msg: ShutdownExecutor, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_agent::<ShutdownExecutor>(ctx) || self.core.shutting_down {
            return;
        }
        self.core.shutting_down = true;
        self.with(ctx, |e, ex| e.shutdown(ex, msg.grace));
    }
}

impl<E: Executor> Handler<UpdateAck> for ExecutorDriver<E> {
    fn handle(&mut self, msg: UpdateAck, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_agent::<UpdateAck>(ctx) {
            return;
        }
        let Some(queue) = self.core.pending.get_mut(&msg.task_id) else {
            return;
        };
        if queue.front().and_then(|s| s.uuid) != Some(msg.uuid) {
            return;
        }
        queue.pop_front();
        match queue.front() {
            Some(next) => {
                let status = next.clone();
                ctx.send(&self.core.cfg.agent, ExecutorUpdate { status });
            }
            None => {
                self.core.pending.remove(&msg.task_id);
            }
        }
        self.maybe_stop(ctx);
    }
}

impl<E: Executor> Handler<ExecutorReregistered> for ExecutorDriver<E> {
    fn handle(&mut self, _: ExecutorReregistered, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_agent::<ExecutorReregistered>(ctx)
            || !matches!(self.core.phase, Phase::Reregistering(_))
        {
            return;
        }
        tracing::info!("the agent took the executor back");
        self.core.phase = Phase::Registered;
        self.resend(ctx);
        self.with(ctx, |e, ex| e.reregistered(ex));
    }
}

impl<E: Executor> Handler<FrameworkMessage> for ExecutorDriver<E> {
    fn handle(&mut self, msg: FrameworkMessage, ctx: &mut Ctx<'_, Self>) {
        if self.sent_by_agent::<FrameworkMessage>(ctx) {
            self.with(ctx, |e, ex| e.framework_message(ex, &msg.data));
        }
    }
}

impl<'c, E: Executor> Control<'_, 'c, E> {
    /// Sends `data` to the executor's framework, through the agent and
    /// the master (Mesos's `sendFrameworkMessage`). Best effort: nothing
    /// acknowledges it, and it is dropped if the framework is not
    /// connected. At most [`MAX_MESSAGE_DATA_BYTES`].
    pub fn send_framework_message(&mut self, data: Vec<u8>) -> Result<(), ExecutorError> {
        if data.len() > MAX_MESSAGE_DATA_BYTES {
            return Err(ExecutorError::TooLarge(data.len()));
        }
        if self.core.phase != Phase::Registered {
            return Err(ExecutorError::NotRegistered);
        }
        let message = ExecutorMessage {
            framework_id: self.core.cfg.framework_id.clone(),
            executor_id: self.core.cfg.executor_id.clone(),
            data,
        };
        self.ctx.send(&self.core.cfg.agent, message);
        Ok(())
    }

    /// Reports that task `task_id` is now in `state` (one of STARTING,
    /// RUNNING, KILLING, FINISHED, FAILED, KILLED, ERROR), with `message`
    /// for people. The agent gets it in order after the task's earlier
    /// updates, resent until it holds it.
    pub fn update(
        &mut self,
        task_id: &TaskId,
        state: TaskState,
        message: impl Into<String>,
    ) -> Result<(), ExecutorError> {
        self.update_because(task_id, state, None, message)
    }

    /// [`update`](Control::update) with the reason it happened.
    pub fn update_because(
        &mut self,
        task_id: &TaskId,
        state: TaskState,
        reason: Option<StatusReason>,
        message: impl Into<String>,
    ) -> Result<(), ExecutorError> {
        use TaskState::*;
        if !matches!(
            state,
            Starting | Running | Killing | Finished | Failed | Killed | Error
        ) {
            return Err(ExecutorError::NotAnExecutorState(state));
        }
        if self.core.ended.contains(task_id) {
            return Err(ExecutorError::Ended(task_id.clone()));
        }
        if !self.core.live.contains_key(task_id) {
            return Err(ExecutorError::UnknownTask(task_id.clone()));
        }
        let queue = self.core.pending.entry(task_id.clone()).or_default();
        if queue.len() >= MAX_PENDING_PER_TASK {
            return Err(ExecutorError::Backlog(task_id.clone()));
        }
        if state.is_terminal() {
            self.core.live.remove(task_id);
            self.core.ended.insert(task_id.clone());
        } else {
            self.core.live.insert(task_id.clone(), state);
        }
        // With the agent gone for good nobody will hear it.
        if self.core.phase == Phase::Lost {
            self.core.pending.remove(task_id);
            return Ok(());
        }
        let mut random = [0u8; 16];
        self.ctx.rng().fill_bytes(&mut random);
        let status = TaskStatus {
            task_id: task_id.clone(),
            framework_id: self.core.cfg.framework_id.clone(),
            agent_id: self.core.cfg.agent_id.clone(),
            state,
            source: StatusSource::Executor,
            reason,
            message: message.into(),
            timestamp_ms: self.ctx.unix_time_ms(),
            uuid: Some(uuid_v4(random)),
        };
        queue.push_back(status.clone());
        if queue.len() == 1 && self.core.phase == Phase::Registered {
            self.ctx
                .send(&self.core.cfg.agent, ExecutorUpdate { status });
        }
        Ok(())
    }

    /// Says the executor's work is done: the driver stops with
    /// [`Outcome::Finished`] once every task has ended and the agent holds
    /// every update (at once if that is so already). Tasks given later are
    /// still handed to [`Executor::launch`] until then. An executor that
    /// runs a single task calls it after reporting that task's end.
    pub fn finish(&mut self) {
        self.core.finishing = true;
    }

    /// The tasks given and not ended yet.
    pub fn live_tasks(&self) -> Vec<TaskId> {
        self.core.live.keys().cloned().collect()
    }

    /// The latest state reported for a live task (STAGING before any).
    pub fn state_of(&self, task_id: &TaskId) -> Option<TaskState> {
        self.core.live.get(task_id).copied()
    }

    /// Starts a process; [`Executor::process_exited`] hears of its end.
    pub fn launch(&mut self, spec: ProcessSpec) -> ProcessId {
        self.ctx.launch(spec)
    }

    /// Sends a signal to a process started with [`launch`](Control::launch).
    pub fn signal(&mut self, id: ProcessId, signal: Signal) {
        self.ctx.signal(id, signal);
    }

    /// Calls `f` with the executor after `after` (virtual time in the
    /// simulator).
    pub fn delay<F>(&mut self, after: Duration, f: F) -> TimerId
    where
        F: FnOnce(&mut E, &mut Control<'_, '_, E>) + 'static,
    {
        self.ctx
            .delay(after, move |d: &mut ExecutorDriver<E>, ctx| d.with(ctx, f))
    }

    /// Cancels a timer of [`delay`](Control::delay); false if it fired.
    pub fn cancel(&mut self, timer: TimerId) -> bool {
        self.ctx.cancel(timer)
    }

    /// The present time on the actor's clock.
    pub fn now(&self) -> Time {
        self.ctx.now()
    }

    /// The executor's sandbox.
    pub fn sandbox(&self) -> &Path {
        &self.core.cfg.sandbox
    }

    /// The framework the executor belongs to.
    pub fn framework_id(&self) -> &FrameworkId {
        &self.core.cfg.framework_id
    }

    /// The executor's id.
    pub fn executor_id(&self) -> &str {
        &self.core.cfg.executor_id
    }

    /// The raw actor context, for what the driver does not wrap. Its
    /// callbacks get the [`ExecutorDriver`]; reach the executor with
    /// [`ExecutorDriver::with`].
    pub fn ctx(&mut self) -> &mut Ctx<'c, ExecutorDriver<E>> {
        self.ctx
    }
}
