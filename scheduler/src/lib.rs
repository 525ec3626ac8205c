//! corral-scheduler: write a framework as a [`Scheduler`] — what it decides
//! about offers and task updates — and let a [`SchedulerDriver`] actor do
//! the rest.
//!
//! The driver subscribes through a list of masters and follows the leader
//! (`NotLeader` hints, `LeaderElected`, broken links, masters that stop
//! sending heartbeats, deposed leaders told apart by their Raft term),
//! re-subscribes under the framework id so the master gives its tasks
//! back, reconciles the tasks it knows after every re-subscription,
//! acknowledges updates (automatically unless asked not to), and drops
//! offers and updates from masters it does not follow (showing the offers
//! to [`Scheduler::ignored_offers`]). A request the
//! driver cannot serve returns a [`DriverError`] and sends nothing.
//!
//! ```
//! use corral_api::framework::{FrameworkInfo, Offer};
//! use corral_api::task::TaskStatus;
//! use corral_runtime::{Node, Pid};
//! use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};
//!
//! struct Decliner;
//!
//! impl Scheduler for Decliner {
//!     fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
//!         let ids = offers.into_iter().map(|o| o.id).collect();
//!         if let Err(e) = driver.decline(ids, None) {
//!             eprintln!("cannot decline: {e}");
//!         }
//!     }
//!
//!     fn update(&mut self, _driver: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
//!         println!("{} is {:?}", status.task_id, status.state);
//!     }
//! }
//!
//! /// Starts the framework on `node`, following `master`.
//! fn start(node: &Node, master: Pid) -> Result<Pid, Box<dyn std::error::Error>> {
//!     let cfg = DriverConfig::new(vec![master], FrameworkInfo::new("decliner", "*"));
//!     let driver = SchedulerDriver::new(cfg, Decliner)?;
//!     Ok(node.spawn("decliner", driver)?)
//! }
//! ```
//!
//! The framework's own messages (a stop request, a timer's work) are
//! declared in [`Scheduler::handlers`] and handled by
//! `impl Handler<M> for SchedulerDriver<MyScheduler>`, which reaches the
//! scheduler through [`SchedulerDriver::with`]. [`fit`] helps fit tasks
//! into offers.

mod driver;
#[cfg(test)]
mod driver_tests;
pub mod fit;
mod masters;
mod scheduler;
mod state;

pub use driver::{MISSED_HEARTBEATS, SUBSCRIBE_RETRY};
pub use masters::{Joined, Masters, Next};
pub use scheduler::{Driver, Scheduler, SchedulerDriver};
pub use state::{Acks, DriverConfig, DriverError};
