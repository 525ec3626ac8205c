//! Testing a framework in the simulator (`docs/testing-a-framework.md`):
//! a scheduler that runs 20 jobs on three replicated masters and two
//! agents, relaunching a job whose task is lost, with the leading master
//! crashed mid-run. It checks that every job finishes, and that no task
//! is reported FINISHED and then anything else; the same seed gives the
//! same run.
//!
//! `cargo run --release -p corral-examples --example simulate_framework [SEED]`

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::TaskId;
use corral_api::task::{TaskInfo, TaskState, TaskStatus};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};
use corral_simtests::harness::{ClusterBuilder, Node};

/// Each task's states, as the framework heard them.
type Heard = Rc<RefCell<BTreeMap<TaskId, Vec<TaskState>>>>;

/// Runs jobs 0..20, one task per offer; a job whose task ends other than
/// FINISHED runs again under a new task id.
struct Jobs {
    todo: Vec<u32>,
    launches: u32,
    heard: Heard,
}

impl Scheduler for Jobs {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        let need = "cpus:0.5;mem:64".parse().expect("a valid resource text");
        for offer in offers {
            if !offer.resources.contains(&need) || self.todo.is_empty() {
                let _ = driver.decline(vec![offer.id], None);
                continue;
            }
            let Some(job) = self.todo.pop() else { continue };
            self.launches += 1;
            let id = TaskId(format!("job-{job}.{}", self.launches));
            let task = TaskInfo::command(id, "sleep 2", need.clone());
            if driver
                .launch(&offer.id, vec![task], Some(Duration::ZERO))
                .is_err()
            {
                self.todo.push(job);
            }
        }
    }

    fn update(&mut self, _: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        let mut heard = self.heard.borrow_mut();
        let states = heard.entry(status.task_id.clone()).or_default();
        let again = states.contains(&status.state);
        states.push(status.state);
        let ended = status.state.is_terminal() || status.state == TaskState::Lost;
        if ended && status.state != TaskState::Finished && !again {
            let job = status.task_id.0[4..]
                .split('.')
                .next()
                .and_then(|j| j.parse::<u32>().ok());
            self.todo.extend(job);
        }
    }
}

/// Jobs finished (each counted once), and a task heard FINISHED and then
/// something else, if any.
fn tally(heard: &Heard) -> (usize, Option<String>) {
    let heard = heard.borrow();
    let mut jobs: Vec<&str> = Vec::new();
    for (task, states) in heard.iter() {
        if let Some(at) = states.iter().position(|s| *s == TaskState::Finished) {
            if let Some(s) = states[at..].iter().find(|s| **s != TaskState::Finished) {
                return (0, Some(format!("{task} was FINISHED, then {s:?}")));
            }
            jobs.extend(task.0.split('.').next());
        }
    }
    jobs.dedup();
    (jobs.len(), None)
}

fn main() -> std::process::ExitCode {
    let seed = std::env::args().nth(1).map_or(Ok(1), |s| s.parse());
    match seed.map_err(|e| format!("SEED: {e}").into()).and_then(run) {
        Ok(said) => {
            println!("{said}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("simulate_framework: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One simulated run from `seed`: what happened, or what went wrong.
fn run(seed: u64) -> Result<String, Box<dyn std::error::Error>> {
    let mut c = ClusterBuilder::new(seed)
        .masters(3)
        .agents(2, "cpus:2;mem:1024".parse()?)
        .clock_drift_ppm(500)
        .build()?;
    let heard = Heard::default();
    let (log, masters) = (heard.clone(), c.masters());
    c.add_framework("jobs", move || {
        let jobs = Jobs {
            todo: (0..20).collect(),
            launches: 0,
            heard: log.clone(),
        };
        let cfg = DriverConfig::new(masters.clone(), FrameworkInfo::new("jobs", "*"));
        SchedulerDriver::new(cfg, jobs).expect("three masters and a valid name")
    })?;
    let finished = |c: &Heard| tally(c).0;
    c.run_until(Duration::from_secs(60), "5 jobs finished", |_| {
        finished(&heard) >= 5
    })?;
    let leader = c.leader().ok_or("no leading master")?;
    c.crash(Node::Master(leader))?;
    let took = c.run_until(Duration::from_secs(120), "all 20 jobs finished", |_| {
        finished(&heard) == 20 || tally(&heard).1.is_some()
    })?;
    if let (_, Some(why)) = tally(&heard) {
        return Err(format!("seed {seed}: {why}").into());
    }
    Ok(format!(
        "seed {seed}: master {leader} crashed; all 20 jobs finished {took:.1?} later"
    ))
}
