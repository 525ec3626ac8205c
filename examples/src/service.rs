//! A long-running service framework: keeps `instances` copies of a command
//! running, relaunching (under a new task id) any that ends, the way
//! Marathon keeps an app at its instance count. With
//! [`ServiceFramework::with_container`] the instances run in Docker
//! containers, each publishing its ports on host ports of its own taken
//! from the offers.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::framework::{
    Accept, Decline, FrameworkError, FrameworkInfo, Heartbeat, Kill, Offers, Operation, Rescind,
    Revive, Subscribed, Suppress, Update,
};
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::leader::{LeaderElected, NotLeader};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{TaskState, TaskStatus};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid};

use crate::batch::Observer;
use crate::framework::{
    acknowledge, fill, on_exited, on_leader_elected, on_not_leader, on_subscribed,
    start_subscribing, ContainerTemplate, FollowsLeader, Joined, Masters,
};

/// What the service runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    /// The master (the first one tried; see
    /// [`ServiceFramework::with_masters`] for several).
    pub master: Pid,
    /// How the framework introduces itself.
    pub info: FrameworkInfo,
    /// Instance task ids read `{name}-{instance}-{generation}`.
    pub name: String,
    /// Shell command of every instance.
    pub command: String,
    /// What each instance needs.
    pub resources: Resources,
    /// How many should run.
    pub instances: usize,
    /// Decline filter for offers it cannot use (5 s).
    pub refuse: Duration,
    /// Most tasks launched from one offer (0: as many as fit). Taking one
    /// at a time and declining the rest lets DRF share agents finely.
    pub tasks_per_offer: usize,
}

/// What the service tells its observer.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceEvent {
    /// The master accepted the subscription.
    Subscribed(FrameworkId),
    /// An instance's task changed state.
    Status(TaskStatus),
    /// An instance ended and will be launched again.
    Relaunching {
        /// The instance number.
        instance: usize,
        /// The task that ended.
        ended: TaskId,
    },
}

/// One instance slot: the task filling it, if any, and its state.
#[derive(Clone, Debug, Default)]
struct Slot {
    task: Option<TaskId>,
    state: Option<TaskState>,
    generation: u64,
}

/// Keeps the instances running. See the module doc.
pub struct ServiceFramework {
    cfg: ServiceConfig,
    observe: Observer<ServiceEvent>,
    slots: Vec<Slot>,
    by_task: BTreeMap<TaskId, usize>,
    masters: Masters,
    suppressed: bool,
    container: Option<ContainerTemplate>,
}

impl ServiceFramework {
    /// A service that reports to `observe`.
    pub fn new(cfg: ServiceConfig, observe: Observer<ServiceEvent>) -> ServiceFramework {
        ServiceFramework {
            slots: vec![Slot::default(); cfg.instances],
            masters: Masters::new(vec![cfg.master.clone()], cfg.info.clone()),
            cfg,
            observe,
            by_task: BTreeMap::new(),
            suppressed: false,
            container: None,
        }
    }

    /// This service, following whichever of `masters` leads (tried in
    /// order) instead of only the config's master. An empty list keeps the
    /// config's master. Call before the framework starts.
    pub fn with_masters(mut self, masters: Vec<Pid>) -> ServiceFramework {
        if !masters.is_empty() {
            self.masters = Masters::new(masters, self.cfg.info.clone());
        }
        self
    }

    /// This service, running every instance in `container` (its published
    /// ports taken from each offer, so instances on one agent never share
    /// a host port).
    pub fn with_container(mut self, container: ContainerTemplate) -> ServiceFramework {
        self.container = Some(container);
        self
    }

    /// The next empty slot's task, if one is empty and it fits in `left`.
    fn next_task(&mut self, left: &Resources) -> Option<TaskInfo> {
        let need = &self.cfg.resources;
        let (resources, container) = match &self.container {
            None => (need.clone(), None),
            Some(c) => c.place(need, left).map(|(r, info)| (r, Some(info)))?,
        };
        if !left.contains(&resources) {
            return None;
        }
        let (n, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.task.is_none())?;
        slot.generation += 1;
        let id = TaskId(format!("{}-{n}-{}", self.cfg.name, slot.generation));
        slot.task = Some(id.clone());
        slot.state = Some(TaskState::Staging);
        self.by_task.insert(id.clone(), n);
        Some(TaskInfo {
            task_id: id,
            name: format!("{} #{n}", self.cfg.name),
            command: self.cfg.command.clone(),
            env: vec![("INSTANCE".to_owned(), n.to_string())],
            resources,
            container,
        })
    }

    fn has_empty_slot(&self) -> bool {
        self.slots.iter().any(|s| s.task.is_none())
    }

    /// Kills the instance in slot `n` (for operators and tests: the
    /// service then relaunches it).
    pub fn kill_instance(&mut self, n: usize, ctx: &mut Ctx<'_, Self>) {
        if let Some(task_id) = self.slots.get(n).and_then(|s| s.task.clone()) {
            ctx.send(&self.masters.current().clone(), Kill { task_id });
        }
    }
}

impl Actor for ServiceFramework {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribed>()
            .on::<Offers>()
            .on::<Rescind>()
            .on::<Update>()
            .on::<Heartbeat>()
            .on::<FrameworkError>()
            .on::<NotLeader>()
            .on::<LeaderElected>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        start_subscribing(self, ctx);
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        on_exited(self, pid, ctx);
    }
}

impl FollowsLeader for ServiceFramework {
    fn masters(&mut self) -> &mut Masters {
        &mut self.masters
    }
}

impl Handler<Subscribed> for ServiceFramework {
    fn handle(&mut self, m: Subscribed, ctx: &mut Ctx<'_, Self>) {
        match on_subscribed(self, m, ctx) {
            Some(Joined::First(id)) => (self.observe)(ServiceEvent::Subscribed(id)),
            // A new leader offers until told otherwise: suppress again at
            // its first offers if no slot is empty.
            Some(Joined::Again(_)) => self.suppressed = false,
            None => {}
        }
    }
}

impl Handler<NotLeader> for ServiceFramework {
    fn handle(&mut self, m: NotLeader, ctx: &mut Ctx<'_, Self>) {
        on_not_leader(self, m, ctx);
    }
}

impl Handler<LeaderElected> for ServiceFramework {
    fn handle(&mut self, m: LeaderElected, ctx: &mut Ctx<'_, Self>) {
        on_leader_elected(self, m, ctx);
    }
}

impl Handler<Offers> for ServiceFramework {
    fn handle(&mut self, m: Offers, ctx: &mut Ctx<'_, Self>) {
        // Offers of a master not followed (any more) cannot be used.
        if !self.masters.is_current(ctx.sender()) {
            return;
        }
        let master = self.masters.current().clone();
        let cap = match self.cfg.tasks_per_offer {
            0 => usize::MAX,
            n => n,
        };
        for offer in m.offers {
            let mut taken = 0;
            let op = fill(&offer, |left| {
                if taken >= cap {
                    return None;
                }
                let task = self.next_task(left)?;
                taken += 1;
                Some(task)
            });
            match op {
                Some(op @ Operation::Launch(_)) => {
                    let refuse = if self.has_empty_slot() {
                        Duration::ZERO
                    } else {
                        self.cfg.refuse
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
        if !self.has_empty_slot() && !self.suppressed {
            self.suppressed = true;
            ctx.send(&master, Suppress);
        }
    }
}

impl Handler<Update> for ServiceFramework {
    fn handle(&mut self, m: Update, ctx: &mut Ctx<'_, Self>) {
        // Not acknowledged when relayed by a master not followed: the agent
        // resends it until the leader forwards an acknowledgement.
        if !self.masters.is_current(ctx.sender()) {
            return;
        }
        let status = m.status;
        let master = self.masters.current().clone();
        acknowledge(ctx, &master, &status);
        let Some(&n) = self.by_task.get(&status.task_id) else {
            return;
        };
        let Some(slot) = self.slots.get_mut(n) else {
            return;
        };
        if slot.task.as_ref() != Some(&status.task_id) {
            return;
        }
        slot.state = Some(status.state);
        let over = status.state.is_terminal() || status.state == TaskState::Lost;
        (self.observe)(ServiceEvent::Status(status.clone()));
        if over {
            slot.task = None;
            slot.state = None;
            self.by_task.remove(&status.task_id);
            (self.observe)(ServiceEvent::Relaunching {
                instance: n,
                ended: status.task_id,
            });
            if self.suppressed {
                self.suppressed = false;
                ctx.send(&master, Revive);
            }
        }
    }
}

impl Handler<Rescind> for ServiceFramework {
    fn handle(&mut self, _: Rescind, _ctx: &mut Ctx<'_, Self>) {}
}

impl Handler<Heartbeat> for ServiceFramework {
    fn handle(&mut self, _: Heartbeat, _ctx: &mut Ctx<'_, Self>) {}
}

impl Handler<FrameworkError> for ServiceFramework {
    fn handle(&mut self, m: FrameworkError, ctx: &mut Ctx<'_, Self>) {
        if !self.masters.is_current(ctx.sender()) {
            return;
        }
        tracing::warn!(message = %m.message, "master refused a request");
    }
}
