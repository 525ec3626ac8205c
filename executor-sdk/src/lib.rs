//! corral-executor-sdk: write a framework's own executor as an
//! [`Executor`] — how it runs and kills tasks — and let an
//! [`ExecutorDriver`] actor do the rest.
//!
//! A task names a custom executor with an `ExecutorInfo` (an id and a
//! command). The agent starts the command once per executor id, in a
//! sandbox of its own, with its address and the executor's identity in
//! the environment ([`corral_api::executor_env`]); [`run`] reads them,
//! starts a node and runs the driver, which registers with the agent,
//! hands over each task the agent sends, and sends each status update in
//! order until the agent holds it (the agent then owns it until the
//! framework acknowledges). A checkpointing framework's executor survives
//! its agent's restart and is taken back; otherwise its tasks are stopped
//! when the agent goes. The agent fails the executor's tasks if it does
//! not register, or exits while they run.
//!
//! ```no_run
//! use std::time::Duration;
//! use corral_api::ids::TaskId;
//! use corral_api::task::{TaskInfo, TaskState};
//! use corral_executor_sdk::{Control, Executor};
//!
//! /// Says hello for each task, at once.
//! struct Hello;
//!
//! impl Executor for Hello {
//!     fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo) {
//!         let id = task.task_id;
//!         let _ = ex.update(&id, TaskState::Running, "");
//!         let _ = ex.update(&id, TaskState::Finished, format!("hello, {}", task.name));
//!     }
//!
//!     fn kill(&mut self, ex: &mut Control<'_, '_, Self>, id: &TaskId, _: Duration) {
//!         let _ = ex.update(id, TaskState::Killed, "");
//!     }
//! }
//!
//! fn main() {
//!     if let Err(e) = corral_executor_sdk::run(|_| Hello) {
//!         eprintln!("hello executor: {e}");
//!         std::process::exit(1);
//!     }
//! }
//! ```
//!
//! `examples/examples/process_executor.rs` is a complete executor running
//! several tasks as processes; `docs/writing-an-executor.md` walks
//! through it.

mod config;
mod driver;
pub mod env;
mod executor;
mod run;
mod state;

pub use config::{
    ConfigError, ExecutorConfig, DEFAULT_RECOVERY_TIMEOUT, DEFAULT_REGISTRATION_TIMEOUT,
    DEFAULT_RETRY_INTERVAL,
};
pub use executor::{Control, Executor, ExecutorDriver, AGENT_LOST_GRACE};
pub use run::{actor_name, run, RunError, ACTOR_NAME};
pub use state::{ExecutorError, OnDone, Outcome, MAX_PENDING_PER_TASK};
