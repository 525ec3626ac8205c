//! The executor of `docs/writing-an-executor.md` at work: a local cluster,
//! a framework that runs three tasks on one `process_executor` (the
//! framework's own executor, built beside this example if missing), and
//! an exit 0 once all three have finished.
//!
//! `cargo run --release -p corral-examples --example hello_executor`

// A program's main, not an actor: it removes its scratch directory.
#![allow(clippy::disallowed_methods)]

use std::sync::mpsc::{channel, Sender};
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::TaskId;
use corral_api::task::{ExecutorInfo, TaskInfo, TaskState, TaskStatus};
use corral_examples::local::{
    find_or_build_example, find_or_build_executor, start_framework, LocalCluster, LocalConfig,
};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};

/// Launches all its tasks on the first offer that holds them.
struct Hello {
    tasks: Vec<TaskInfo>,
    ended: Sender<TaskStatus>,
}

impl Scheduler for Hello {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        for offer in offers {
            let tasks = std::mem::take(&mut self.tasks);
            if tasks.is_empty() {
                let _ = driver.decline(vec![offer.id], None);
            } else if let Err(e) = driver.launch(&offer.id, tasks, Some(Duration::ZERO)) {
                eprintln!("cannot launch: {e}");
            }
        }
    }

    fn update(&mut self, _: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        println!(
            "{} is {:?} {}",
            status.task_id, status.state, status.message
        );
        if status.state.is_terminal() {
            let _ = self.ended.send(status.clone());
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work_dir = std::env::temp_dir().join(format!("corral-hello-ex-{}", std::process::id()));
    let mut cfg = LocalConfig::new(
        1,
        "cpus:2;mem:512".parse()?,
        &work_dir,
        &find_or_build_executor()?,
    );
    cfg.master_addr = "127.0.0.1:0".parse()?;
    let cluster = LocalCluster::start(cfg)?;

    // The three tasks name one executor: the agent starts it once.
    let executor = ExecutorInfo {
        executor_id: "hello-executor".into(),
        command: find_or_build_example("process_executor")?
            .display()
            .to_string(),
        env: Vec::new(),
    };
    let tasks = (0..3)
        .map(|i| {
            let id = TaskId(format!("hello-{i}"));
            let mut task =
                TaskInfo::command(id, &format!("echo hello {i}"), "cpus:0.1;mem:16".parse()?);
            task.executor = Some(executor.clone());
            Ok(task)
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error>>>()?;
    let (tx, ended) = channel();
    let hello = Hello { tasks, ended: tx };
    let info = FrameworkInfo::new("hello-executor", "*");
    let driver = SchedulerDriver::new(
        DriverConfig::new(vec![cluster.master().clone()], info),
        hello,
    )?;
    let (_node, _pid) = start_framework(driver)?;

    let mut failed = 0;
    for _ in 0..3 {
        let status = ended
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "no task ended within 60 s")?;
        failed += usize::from(status.state != TaskState::Finished);
    }
    cluster.shutdown();
    let _ = std::fs::remove_dir_all(&work_dir);
    if failed > 0 {
        return Err(format!("{failed} of 3 tasks did not finish").into());
    }
    println!("all 3 tasks finished on one executor");
    Ok(())
}
