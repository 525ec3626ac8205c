//! The framework of `docs/writing-a-framework.md`: it runs three tasks on a
//! local cluster it starts itself, prints their updates, and exits 0 once
//! all three have finished.
//!
//! `cargo run --release -p corral-examples --example hello_framework`

// A program's main, not an actor: it removes its scratch directory.
#![allow(clippy::disallowed_methods)]

use std::sync::mpsc::{channel, Sender};
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::TaskId;
use corral_api::task::{TaskInfo, TaskState, TaskStatus};
use corral_examples::local::{find_or_build_executor, start_framework, LocalCluster, LocalConfig};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};

/// Launches `hello-0` .. `hello-{n-1}`, one per offer that has room.
struct Hello {
    to_launch: Vec<TaskId>,
    running: usize,
    finished: Sender<TaskStatus>,
}

impl Scheduler for Hello {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        for offer in offers {
            let need = "cpus:0.1;mem:32".parse().expect("a valid resource text");
            let task_id = match self.to_launch.last() {
                Some(id) if offer.resources.contains(&need) => id.clone(),
                _ => {
                    let _ = driver.decline(vec![offer.id], None);
                    continue;
                }
            };
            let command = format!("echo hello from {task_id}");
            let task = TaskInfo::command(task_id, &command, need);
            match driver.launch(&offer.id, vec![task], Some(Duration::ZERO)) {
                Ok(()) => {
                    self.to_launch.pop();
                    self.running += 1;
                }
                Err(e) => eprintln!("cannot launch: {e}"),
            }
        }
    }

    fn update(&mut self, driver: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        println!("{} is {:?}", status.task_id, status.state);
        if status.state.is_terminal() {
            let _ = self.finished.send(status.clone());
            self.running -= 1;
            if self.to_launch.is_empty() && self.running == 0 {
                let _ = driver.teardown();
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work_dir = std::env::temp_dir().join(format!("corral-hello-{}", std::process::id()));
    let executor = find_or_build_executor()?;
    let mut cfg = LocalConfig::new(2, "cpus:1;mem:256".parse()?, &work_dir, &executor);
    cfg.master_addr = "127.0.0.1:0".parse()?;
    let cluster = LocalCluster::start(cfg)?;

    let (tx, done) = channel();
    let hello = Hello {
        to_launch: (0..3).map(|i| TaskId(format!("hello-{i}"))).collect(),
        running: 0,
        finished: tx,
    };
    let info = FrameworkInfo::new("hello", "*");
    let driver = SchedulerDriver::new(
        DriverConfig::new(vec![cluster.master().clone()], info),
        hello,
    )?;
    let (_node, _pid) = start_framework(driver)?;

    let mut failed = 0;
    for _ in 0..3 {
        let status = done
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "no task ended within 60 s")?;
        failed += usize::from(status.state != TaskState::Finished);
    }
    cluster.shutdown();
    let _ = std::fs::remove_dir_all(&work_dir);
    if failed > 0 {
        return Err(format!("{failed} of 3 tasks did not finish").into());
    }
    println!("all 3 tasks finished");
    Ok(())
}
