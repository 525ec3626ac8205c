//! What a framework decides: the [`Scheduler`] trait, and the two types it
//! names: the [`SchedulerDriver`] actor that runs it and the [`Driver`]
//! handle it acts through (their behaviour is in `driver.rs`).

use corral_api::framework::Offer;
use corral_api::ids::{AgentId, FrameworkId, OfferId};
use corral_api::task::TaskStatus;
use corral_runtime::{Ctx, Handlers};

use crate::state::Core;

/// A framework's decisions. The [`SchedulerDriver`] calls these methods
/// on its actor's event loop and does everything else: subscribing,
/// following the leading master, heartbeats, acknowledgements and
/// reconciliation. Each method gets a [`Driver`] to act through.
///
/// Only [`offers`](Scheduler::offers) and [`update`](Scheduler::update)
/// must be written; the rest default to doing nothing.
pub trait Scheduler: Sized + 'static {
    /// The first subscription of this framework's life was accepted (or,
    /// for a scheduler started with a framework id, the first since it
    /// started): `framework_id` is its id, to keep for a failover.
    fn registered(&mut self, _driver: &mut Driver<'_, '_, Self>, _framework_id: &FrameworkId) {}

    /// Subscribed again after [`disconnected`](Scheduler::disconnected)
    /// (a new leader, or the link came back). The driver has already asked
    /// the master for the state of every task it knows to be live.
    fn reregistered(&mut self, _driver: &mut Driver<'_, '_, Self>, _framework_id: &FrameworkId) {}

    /// Offers from the leading master. Answer each with
    /// [`Driver::launch`], [`Driver::accept`] or [`Driver::decline`]; an
    /// offer left unanswered stays out of other frameworks' reach until the
    /// master's offer timeout, if it has one.
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>);

    /// Offers the driver dropped: they came from a master it does not
    /// follow now (a deposed leader that has not noticed yet, or one the
    /// framework moved away from), or while it was not subscribed, so they
    /// cannot be used. [`Driver::sender`] names the master that sent them.
    /// For logs, and for tests that check from outside which master offered
    /// what; nothing by default.
    fn ignored_offers(&mut self, _driver: &mut Driver<'_, '_, Self>, _offers: &[Offer]) {}

    /// An offer was withdrawn (its agent left, or it timed out): launches
    /// on it will fail.
    fn rescinded(&mut self, _driver: &mut Driver<'_, '_, Self>, _offer_id: &OfferId) {}

    /// A task's status changed, or a reconciliation answered. In automatic
    /// mode (the default) the driver acknowledges it after this returns;
    /// otherwise call [`Driver::acknowledge`].
    fn update(&mut self, driver: &mut Driver<'_, '_, Self>, status: &TaskStatus);

    /// The master refused a request, in words; or it removed the framework
    /// (an operator tore it down), when [`Driver::has_left`] says so after.
    fn error(&mut self, _driver: &mut Driver<'_, '_, Self>, _message: &str) {}

    /// The framework lost the master it was subscribed to; the driver is
    /// subscribing again (offers and acknowledgements wait until then).
    fn disconnected(&mut self, _driver: &mut Driver<'_, '_, Self>) {}

    /// Executor `executor_id` on `agent_id` sent `data` (see
    /// [`Driver::send_framework_message`]). Best effort, as in Mesos:
    /// messages sent while the framework was not connected are lost.
    fn framework_message(
        &mut self,
        _driver: &mut Driver<'_, '_, Self>,
        _agent_id: &AgentId,
        _executor_id: &str,
        _data: &[u8],
    ) {
    }

    /// The framework's own executor `executor_id` ended on `agent_id`,
    /// with its Unix wait `status` when known. Its tasks' ends come as
    /// updates of their own; this is for the executor's own state.
    fn executor_lost(
        &mut self,
        _driver: &mut Driver<'_, '_, Self>,
        _agent_id: &AgentId,
        _executor_id: &str,
        _status: Option<i32>,
    ) {
    }

    /// Agent `agent_id` stopped answering the master (its tasks' updates
    /// come first: TASK_UNREACHABLE or TASK_LOST).
    fn agent_lost(&mut self, _driver: &mut Driver<'_, '_, Self>, _agent_id: &AgentId) {}

    /// Declares the framework's own messages (`h.on::<M>()`), each handled
    /// by an `impl Handler<M> for SchedulerDriver<Self>` that calls
    /// [`SchedulerDriver::with`]. None by default.
    fn handlers(_h: &mut Handlers<SchedulerDriver<Self>>) {}
}

/// The actor that runs scheduler `S`; spawn it like any actor.
pub struct SchedulerDriver<S: Scheduler> {
    pub(crate) scheduler: S,
    pub(crate) core: Core,
}

/// What a scheduler acts through, inside its methods: requests to the
/// leading master, timers, and the raw actor context for anything else.
/// Every request returns [`DriverError`](crate::DriverError) instead of sending when it cannot
/// be served (not subscribed, torn down, a malformed launch).
pub struct Driver<'a, 'c, S: Scheduler> {
    pub(crate) core: &'a mut Core,
    pub(crate) ctx: &'a mut Ctx<'c, SchedulerDriver<S>>,
}
