//! The allocator actor: the thin shell that feeds [`Allocator`] the master's
//! changes and the clock, and runs a pass once per allocation interval, or
//! soon after an event that may make new offers worthwhile (an agent or a
//! framework added, a framework revived), never more than one pending. It
//! times each pass ([`CycleTimes`]) for the master's metrics.
//!
//! A pass's decisions reach the master in slices of at most
//! [`ALLOCATIONS_PER_MESSAGE`], each sent after what is queued by then: the
//! master turns each slice into offers as an event of its own, so at ten
//! thousand agents nothing on the master's loop (an agent's update, a
//! framework's call, an HTTP read) waits for a whole pass's offers.

use std::time::Duration;
use std::vec::IntoIter;

use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid};

use super::cycles::CycleTimes;
use super::messages::{
    AddAgent, AddFramework, Allocations, GetCycleTimes, HoldOrphaned, Recover, ReleaseOrphaned,
    RemoveAgent, RemoveFramework, ReviveOffers, SuppressOffers,
};
use super::{Allocation, Allocator, AllocatorConfig, AllocatorError};

/// The most decisions one [`Allocations`] message carries. The master makes
/// an offer of each in a few microseconds, so a slice costs its loop a few
/// milliseconds.
pub const ALLOCATIONS_PER_MESSAGE: usize = 1_000;

/// How the allocator actor runs.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocatorActorConfig {
    /// Time between batched passes (Mesos's `--allocation_interval`, 1 s).
    pub interval: Duration,
    /// Role weights, `(role, weight)`; roles not listed weigh 1.
    pub weights: Vec<(String, f64)>,
    /// Thresholds for what is worth offering.
    pub allocator: AllocatorConfig,
}

impl Default for AllocatorActorConfig {
    fn default() -> Self {
        AllocatorActorConfig {
            interval: Duration::from_secs(1),
            weights: Vec::new(),
            allocator: AllocatorConfig::default(),
        }
    }
}

impl AllocatorActorConfig {
    /// Rejects a zero interval, bad thresholds and weights that are not
    /// finite numbers above zero.
    pub fn validate(&self) -> Result<(), AllocatorError> {
        if self.interval.is_zero() {
            return Err(AllocatorError::BadConfig {
                field: "allocation_interval",
                value: 0.0,
            });
        }
        self.allocator.validate()?;
        let mut probe = Allocator::new(self.allocator.clone());
        for (role, weight) in &self.weights {
            probe.set_weight(role, *weight)?;
        }
        Ok(())
    }
}

/// Runs the DRF [`Allocator`] for one master, sending each pass's decisions
/// to it as [`Allocations`].
pub struct AllocatorActor {
    master: Pid,
    interval: Duration,
    core: Allocator,
    pass_pending: bool,
    cycles: CycleTimes,
}

impl AllocatorActor {
    /// An allocator working for `master`. Panics if `cfg` does not validate
    /// (a programmer error: binaries validate flags first).
    pub fn new(master: Pid, cfg: AllocatorActorConfig) -> AllocatorActor {
        if let Err(e) = cfg.validate() {
            panic!("invalid allocator config: {e}");
        }
        let mut core = Allocator::new(cfg.allocator);
        for (role, weight) in &cfg.weights {
            // Validated above.
            let _ = core.set_weight(role, *weight);
        }
        AllocatorActor {
            master,
            interval: cfg.interval,
            core,
            pass_pending: false,
            cycles: CycleTimes::default(),
        }
    }

    fn pass(&mut self, ctx: &mut Ctx<'_, Self>) {
        let start = ctx.elapsed_clock();
        let allocations = self.core.allocate(ctx.now());
        self.cycles.record(ctx.elapsed_clock() - start);
        self.send_in_slices(allocations.into_iter(), ctx);
    }

    /// Sends the first slice of `allocations` now and the rest after what
    /// is queued by then (a zero delay runs behind the queued events).
    /// The allocator counts them all as offered already, so a removal or
    /// a pass in between changes nothing of theirs: the master gives back
    /// what it can no longer offer, as for any allocation in flight. Each
    /// slice is taken from the front of the one iterator, so the rest is
    /// never copied.
    fn send_in_slices(&mut self, mut allocations: IntoIter<Allocation>, ctx: &mut Ctx<'_, Self>) {
        let slice: Vec<Allocation> = allocations.by_ref().take(ALLOCATIONS_PER_MESSAGE).collect();
        if slice.is_empty() {
            return;
        }
        ctx.send(&self.master, Allocations { allocations: slice });
        if allocations.len() > 0 {
            ctx.delay(Duration::ZERO, move |a: &mut Self, ctx| {
                a.send_in_slices(allocations, ctx)
            });
        }
    }

    /// Runs a pass as soon as the current message is done, unless one is
    /// already pending: events arriving together share one pass.
    fn pass_soon(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.pass_pending {
            self.pass_pending = true;
            ctx.delay(Duration::ZERO, |a: &mut Self, ctx| {
                a.pass_pending = false;
                a.pass(ctx);
            });
        }
    }

    fn tick(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.pass(ctx);
        ctx.delay(self.interval, |a: &mut Self, ctx| a.tick(ctx));
    }
}

/// The master only sends changes that make sense to it; one that does not
/// fit the allocator's state (a race with a removal) is dropped and logged.
fn note(what: &str, r: Result<(), AllocatorError>) {
    if let Err(e) = r {
        tracing::debug!(%e, "allocator ignored {what}");
    }
}

impl Actor for AllocatorActor {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<AddAgent>()
            .on::<RemoveAgent>()
            .on::<AddFramework>()
            .on::<RemoveFramework>()
            .on::<Recover>()
            .on::<HoldOrphaned>()
            .on::<ReleaseOrphaned>()
            .on::<SuppressOffers>()
            .on::<ReviveOffers>()
            .on::<GetCycleTimes>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.delay(self.interval, |a: &mut Self, ctx| a.tick(ctx));
    }
}

impl Handler<AddAgent> for AllocatorActor {
    fn handle(&mut self, m: AddAgent, ctx: &mut Ctx<'_, Self>) {
        let agent = m.agent.clone();
        note("add agent", self.core.add_agent(m.agent, m.total));
        for (fw, used) in &m.used {
            note("add used", self.core.add_used(fw, &agent, used));
        }
        note(
            "hold orphaned",
            self.core.hold_orphaned(&agent, &m.orphaned),
        );
        self.pass_soon(ctx);
    }
}

impl Handler<RemoveAgent> for AllocatorActor {
    fn handle(&mut self, m: RemoveAgent, _ctx: &mut Ctx<'_, Self>) {
        note("remove agent", self.core.remove_agent(&m.agent));
    }
}

impl Handler<AddFramework> for AllocatorActor {
    fn handle(&mut self, m: AddFramework, ctx: &mut Ctx<'_, Self>) {
        note(
            "add framework",
            self.core.add_framework(m.framework, &m.role),
        );
        self.pass_soon(ctx);
    }
}

impl Handler<RemoveFramework> for AllocatorActor {
    fn handle(&mut self, m: RemoveFramework, ctx: &mut Ctx<'_, Self>) {
        // One handler, so no pass sees the live tasks' resources free.
        for (agent, used) in &m.still_running {
            let moved = self
                .core
                .recover(&m.framework, agent, used, None, ctx.now())
                .and_then(|()| self.core.hold_orphaned(agent, used));
            note("hold a removed framework's tasks", moved);
        }
        note("remove framework", self.core.remove_framework(&m.framework));
    }
}

impl Handler<HoldOrphaned> for AllocatorActor {
    fn handle(&mut self, m: HoldOrphaned, _ctx: &mut Ctx<'_, Self>) {
        note(
            "hold orphaned",
            self.core.hold_orphaned(&m.agent, &m.resources),
        );
    }
}

impl Handler<ReleaseOrphaned> for AllocatorActor {
    fn handle(&mut self, m: ReleaseOrphaned, ctx: &mut Ctx<'_, Self>) {
        note(
            "release orphaned",
            self.core.release_orphaned(&m.agent, &m.resources),
        );
        self.pass_soon(ctx);
    }
}

impl Handler<Recover> for AllocatorActor {
    fn handle(&mut self, m: Recover, ctx: &mut Ctx<'_, Self>) {
        let r = self
            .core
            .recover(&m.framework, &m.agent, &m.resources, m.refuse, ctx.now());
        note("recover", r);
    }
}

impl Handler<SuppressOffers> for AllocatorActor {
    fn handle(&mut self, m: SuppressOffers, _ctx: &mut Ctx<'_, Self>) {
        note("suppress", self.core.suppress(&m.framework));
    }
}

impl Handler<ReviveOffers> for AllocatorActor {
    fn handle(&mut self, m: ReviveOffers, ctx: &mut Ctx<'_, Self>) {
        note("revive", self.core.revive(&m.framework));
        self.pass_soon(ctx);
    }
}

impl Handler<GetCycleTimes> for AllocatorActor {
    fn handle(&mut self, _: GetCycleTimes, ctx: &mut Ctx<'_, Self>) {
        ctx.reply(self.cycles.clone());
    }
}
