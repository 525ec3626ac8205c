//! A framework's own executor, written on the executor SDK, in a whole
//! simulated cluster through the public harness: the agent starts it once
//! for the tasks that name it, hands it each, and a kill reaches it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Kill, Offer};
use corral_api::ids::TaskId;
use corral_api::task::{ExecutorInfo, TaskInfo, TaskState, TaskStatus};
use corral_executor_sdk::{Control, Executor, ExecutorError};
use corral_runtime::{ExitStatus, ProcessId, ProcessSpec, Signal};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};
use corral_simtests::harness::ClusterBuilder;

/// Runs each task's command as a (simulated) process.
#[derive(Default)]
struct Processes {
    running: BTreeMap<ProcessId, TaskId>,
    of_task: BTreeMap<TaskId, ProcessId>,
    /// What the driver refused, for the test to see.
    refused: Rc<RefCell<Vec<ExecutorError>>>,
}

impl Executor for Processes {
    fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo) {
        let id = task.task_id.clone();
        let spec = ProcessSpec {
            command: task.command.clone(),
            ..ProcessSpec::default()
        };
        let p = ex.launch(spec);
        self.running.insert(p, id.clone());
        self.of_task.insert(id.clone(), p);
        let _ = ex.update(&id, TaskState::Running, "");
        // Bad requests get an error value and change nothing.
        let stranger = TaskId("never-given".into());
        let errors = [
            ex.update(&stranger, TaskState::Running, ""),
            ex.update(&id, TaskState::Lost, ""),
        ];
        self.refused
            .borrow_mut()
            .extend(errors.into_iter().filter_map(Result::err));
    }

    fn kill(&mut self, ex: &mut Control<'_, '_, Self>, id: &TaskId, _: Duration) {
        if let Some(p) = self.of_task.get(id) {
            ex.signal(*p, Signal::Kill);
        }
    }

    fn process_exited(&mut self, ex: &mut Control<'_, '_, Self>, p: ProcessId, s: ExitStatus) {
        let Some(id) = self.running.remove(&p) else {
            return;
        };
        let state = match s {
            ExitStatus::Exited(0) => TaskState::Finished,
            ExitStatus::Signaled(_) => TaskState::Killed,
            _ => TaskState::Failed,
        };
        let _ = ex.update(&id, state, format!("{s:?}"));
        // Nothing may follow a terminal state.
        if let Err(e) = ex.update(&id, TaskState::Running, "") {
            self.refused.borrow_mut().push(e);
        }
    }
}

/// Launches its tasks on the first offer that holds them all.
struct Launcher {
    tasks: Vec<TaskInfo>,
    heard: Rc<RefCell<BTreeMap<TaskId, Vec<TaskState>>>>,
}

impl Scheduler for Launcher {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        for offer in offers {
            let tasks = std::mem::take(&mut self.tasks);
            if tasks.is_empty() {
                let _ = driver.decline(vec![offer.id], None);
            } else if let Err(e) = driver.launch(&offer.id, tasks, None) {
                panic!("launch refused: {e}");
            }
        }
    }

    fn update(&mut self, _: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        let mut heard = self.heard.borrow_mut();
        heard
            .entry(status.task_id.clone())
            .or_default()
            .push(status.state);
    }
}

#[test]
fn one_executor_runs_the_tasks_that_name_it_and_is_killed_through() {
    let starts = Rc::new(Cell::new(0));
    let refused = Rc::new(RefCell::new(Vec::new()));
    let (n, r) = (starts.clone(), refused.clone());
    let mut c = ClusterBuilder::new(3)
        .agent("cpus:2;mem:1024".parse().expect("resources"))
        .executor("procs-executor", move |_| {
            n.set(n.get() + 1);
            Processes {
                refused: r.clone(),
                ..Processes::default()
            }
        })
        .build()
        .expect("a cluster");
    let executor = ExecutorInfo {
        executor_id: "procs".into(),
        command: "procs-executor".into(),
        env: Vec::new(),
    };
    let tasks: Vec<TaskInfo> = [("a", "sleep 5"), ("b", "sleep 6"), ("c", "sleep 600")]
        .into_iter()
        .map(|(id, cmd)| {
            let mut t = TaskInfo::command(
                TaskId(id.into()),
                cmd,
                "cpus:0.5;mem:64".parse().expect("r"),
            );
            t.executor = Some(executor.clone());
            t
        })
        .collect();
    let heard = Rc::new(RefCell::new(BTreeMap::new()));
    let (log, masters) = (heard.clone(), c.masters());
    c.add_framework("launcher", move || {
        let l = Launcher {
            tasks: tasks.clone(),
            heard: log.clone(),
        };
        SchedulerDriver::new(
            DriverConfig::new(masters.clone(), FrameworkInfo::new("l", "*")),
            l,
        )
        .expect("a driver")
    })
    .expect("a framework");
    let state = |t: &str| {
        heard
            .borrow()
            .get(&TaskId(t.into()))
            .and_then(|s| s.last().copied())
    };
    c.run_until(
        Duration::from_secs(30),
        "a and b finished, c running",
        |_| {
            state("a") == Some(TaskState::Finished)
                && state("b") == Some(TaskState::Finished)
                && state("c") == Some(TaskState::Running)
        },
    )
    .expect("the executor runs the tasks");
    assert_eq!(starts.get(), 1, "one executor for the three tasks");
    // The framework's kill, sent as the framework's node would.
    let framework = c.framework(0).expect("the framework").clone();
    c.sim()
        .send(
            framework.clone(),
            &corral_simtests::nodes::master_pid(0),
            Kill {
                task_id: TaskId("c".into()),
            },
        )
        .expect("the master's node is up");
    c.run_until(Duration::from_secs(30), "c killed", |_| {
        state("c") == Some(TaskState::Killed)
    })
    .expect("the kill reaches the executor");
    let refused = refused.borrow();
    assert!(
        refused.contains(&ExecutorError::UnknownTask(TaskId("never-given".into()))),
        "{refused:?}"
    );
    assert!(
        refused.contains(&ExecutorError::NotAnExecutorState(TaskState::Lost)),
        "{refused:?}"
    );
    assert!(
        refused.contains(&ExecutorError::Ended(TaskId("a".into()))),
        "{refused:?}"
    );
}
