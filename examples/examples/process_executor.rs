//! A framework's own executor (`docs/writing-an-executor.md`): it runs
//! each task it is given as a shell command in its sandbox, several at
//! once in one process, and reports how each ends. A kill sends SIGTERM,
//! then SIGKILL after the grace.
//!
//! The agent starts it for a task whose `ExecutorInfo` names its binary:
//! `cargo build -p corral-examples --example process_executor` builds
//! `target/debug/examples/process_executor`.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::ids::TaskId;
use corral_api::task::{TaskInfo, TaskState};
use corral_executor_sdk::{Control, Executor};
use corral_runtime::{ExitStatus, ProcessId, ProcessSpec, Signal};

/// The tasks' processes, both ways, and which tasks are being killed.
#[derive(Default)]
struct Processes {
    of_task: BTreeMap<TaskId, ProcessId>,
    task_of: BTreeMap<ProcessId, TaskId>,
    killing: BTreeMap<TaskId, bool>,
}

impl Executor for Processes {
    fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo) {
        let id = task.task_id.clone();
        let _ = ex.update(&id, TaskState::Starting, "");
        let spec = ProcessSpec {
            user: None,
            command: task.command.clone(),
            env: task.env.clone(),
            cwd: Some(ex.sandbox().to_path_buf()),
            stdout: Some(ex.sandbox().join(format!("{id}.stdout"))),
            stderr: Some(ex.sandbox().join(format!("{id}.stderr"))),
        };
        let process = ex.launch(spec);
        self.of_task.insert(id.clone(), process);
        self.task_of.insert(process, id.clone());
        let _ = ex.update(&id, TaskState::Running, "");
    }

    fn kill(&mut self, ex: &mut Control<'_, '_, Self>, id: &TaskId, grace: Duration) {
        let Some(&process) = self.of_task.get(id) else {
            let _ = ex.update(id, TaskState::Killed, "killed before it started");
            return;
        };
        if self.killing.insert(id.clone(), true).is_some() {
            return;
        }
        let _ = ex.update(id, TaskState::Killing, "");
        ex.signal(process, Signal::Term);
        ex.delay(grace, move |me: &mut Self, ex| {
            if me.task_of.contains_key(&process) {
                ex.signal(process, Signal::Kill);
            }
        });
    }

    fn process_exited(
        &mut self,
        ex: &mut Control<'_, '_, Self>,
        id: ProcessId,
        status: ExitStatus,
    ) {
        let Some(task) = self.task_of.remove(&id) else {
            return;
        };
        self.of_task.remove(&task);
        let (state, how) = match (self.killing.remove(&task).is_some(), &status) {
            (true, _) => (TaskState::Killed, format!("{status} after the kill")),
            (false, ExitStatus::Exited(0)) => (TaskState::Finished, status.to_string()),
            (false, _) => (TaskState::Failed, status.to_string()),
        };
        let _ = ex.update(&task, state, how);
    }
}

fn main() {
    if let Err(e) = corral_executor_sdk::run(|_| Processes::default()) {
        eprintln!("process_executor: {e}");
        std::process::exit(1);
    }
}
