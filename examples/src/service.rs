//! A long-running service framework: keeps `instances` copies of a command
//! running, relaunching (under a new task id) any that ends, the way
//! Marathon keeps an app at its instance count. With
//! [`Service::with_container`] the instances run in Docker
//! containers, each publishing its ports on host ports of its own taken
//! from the offers.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Offer, Operation};
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::{TaskInfo, TaskState, TaskStatus};
use corral_runtime::Pid;
use corral_scheduler::fit::{fill, ContainerTemplate};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};

use crate::batch::Observer;

#[cfg(test)]
mod leader_tests;

/// What the service runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    /// The master (the first one tried; see
    /// [`Service::with_masters`] for several).
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

/// The service as an actor: [`Service`] run by the scheduler driver.
pub type ServiceFramework = SchedulerDriver<Service>;

type ServiceDriver<'a, 'c> = Driver<'a, 'c, Service>;

/// Keeps the instances running. See the module doc.
pub struct Service {
    cfg: ServiceConfig,
    observe: Observer<ServiceEvent>,
    slots: Vec<Slot>,
    by_task: BTreeMap<TaskId, usize>,
    masters: Vec<Pid>,
    suppressed: bool,
    container: Option<ContainerTemplate>,
}

impl Service {
    /// A service that follows `cfg.master` and reports to `observe`.
    pub fn new(cfg: ServiceConfig, observe: Observer<ServiceEvent>) -> Service {
        Service {
            slots: vec![Slot::default(); cfg.instances],
            masters: vec![cfg.master.clone()],
            cfg,
            observe,
            by_task: BTreeMap::new(),
            suppressed: false,
            container: None,
        }
    }

    /// This service, following whichever of `masters` leads (tried in
    /// order) instead of only the config's master. An empty list keeps the
    /// config's master.
    pub fn with_masters(mut self, masters: Vec<Pid>) -> Service {
        if !masters.is_empty() {
            self.masters = masters;
        }
        self
    }

    /// This service, running every instance in `container` (its published
    /// ports taken from each offer, so instances on one agent never share
    /// a host port).
    pub fn with_container(mut self, container: ContainerTemplate) -> Service {
        self.container = Some(container);
        self
    }

    /// The framework actor that runs this service.
    pub fn into_framework(mut self) -> ServiceFramework {
        let masters = std::mem::take(&mut self.masters);
        let cfg = DriverConfig::new(masters, self.cfg.info.clone());
        match SchedulerDriver::new(cfg, self) {
            Ok(driver) => driver,
            Err(e) => unreachable!("the master list is never empty: {e}"),
        }
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
            executor: None,
        })
    }

    fn has_empty_slot(&self) -> bool {
        self.slots.iter().any(|s| s.task.is_none())
    }
}

impl Scheduler for Service {
    fn registered(&mut self, _driver: &mut ServiceDriver<'_, '_>, id: &FrameworkId) {
        (self.observe)(ServiceEvent::Subscribed(id.clone()));
    }

    fn reregistered(&mut self, _driver: &mut ServiceDriver<'_, '_>, _id: &FrameworkId) {
        // A new leader offers until told otherwise: suppress again at its
        // first offers if no slot is empty.
        self.suppressed = false;
    }

    fn error(&mut self, _driver: &mut ServiceDriver<'_, '_>, message: &str) {
        tracing::warn!(%message, "master refused a request");
    }

    fn offers(&mut self, driver: &mut ServiceDriver<'_, '_>, offers: Vec<Offer>) {
        let cap = match self.cfg.tasks_per_offer {
            0 => usize::MAX,
            n => n,
        };
        for offer in offers {
            let mut taken = 0;
            let op = fill(&offer, |left| {
                if taken >= cap {
                    return None;
                }
                let task = self.next_task(left)?;
                taken += 1;
                Some(task)
            });
            let sent = match op {
                Some(Operation::Launch(tasks)) => {
                    let refuse = if self.has_empty_slot() {
                        Duration::ZERO
                    } else {
                        self.cfg.refuse
                    };
                    driver.launch(&offer.id, tasks, Some(refuse))
                }
                None => driver.decline(vec![offer.id], Some(self.cfg.refuse)),
            };
            if let Err(e) = sent {
                tracing::warn!("cannot answer an offer: {e}");
            }
        }
        if !self.has_empty_slot() && !self.suppressed && driver.suppress().is_ok() {
            self.suppressed = true;
        }
    }

    fn update(&mut self, driver: &mut ServiceDriver<'_, '_>, status: &TaskStatus) {
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
                ended: status.task_id.clone(),
            });
            if self.suppressed && driver.revive().is_ok() {
                self.suppressed = false;
            }
        }
    }
}
