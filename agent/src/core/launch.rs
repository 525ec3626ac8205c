//! Running tasks: checking what the master sent, starting executor
//! processes, and failing tasks whose executor never registers.
//!
//! **Command tasks launched together share one command executor.** The
//! command tasks (no executor, no container) of one `RunTasks` are run by
//! one `corral-executor` process, named for the first of them, each task
//! in its own sandbox and process group as before. An executor process, its
//! runtime node and its connection cost more than the task `true` itself
//! (sharing it made `launchbench` three to five times faster; the figures
//! are in README.md), and a framework
//! that launches many tasks per offer launches them in one `RunTasks`. Such
//! an executor gets its tasks once, when it registers, and never a later
//! one: it ends with its last task, so no task can join an executor on its
//! way out. A kill stops one task; the executor's own failure ends all of
//! its tasks, as for Mesos's default executor. Container tasks keep an
//! executor each (their driver runs one container).

use std::time::Duration;

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::executor_env as env;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::{Pid, ProcessSpec, Signal};

use super::phase::Phase;
use super::tasks::{AgentStatus, Task};
use super::{Action, AgentCore, LaunchId, Now, Outgoing, Timer};
use crate::containerizers::refusal;
use crate::sandbox::Sandbox;
use crate::updates::TaskKey;

/// Where the command executor's own output goes, in its task's sandbox.
pub const EXECUTOR_LOG: &str = "executor.log";

impl AgentCore {
    /// The master places tasks here (obeyed only from the master, once
    /// registered: see below).
    pub fn handle_run_tasks(
        &mut self,
        now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::RunTasks,
    ) {
        if !self.sent_by_master("RunTasks", from) {
            return;
        }
        let Some(agent_id) = self.agent_id.clone() else {
            tracing::warn!(framework = %msg.framework_id, "ignoring RunTasks before the first registration");
            return;
        };
        // While (re-)registering, the sender may be a deposed leader whose
        // launch the next leader never learns of (seed 35582: it took the
        // agent's earlier report and ignored the later one naming the
        // task). Mesos's agent drops launches until it is registered too;
        // a master that still expects the task lists it in its answer to
        // the registration, and the agent then reports it DROPPED.
        if !self.is_registered() {
            tracing::warn!(framework = %msg.framework_id, "ignoring RunTasks while registering");
            return;
        }
        // The master knows the framework: if it was shut down here before,
        // it is back (the master is the authority on frameworks).
        if self.removed_frameworks.remove(&msg.framework_id) {
            self.removed_order.retain(|f| *f != msg.framework_id);
        }
        let mut shared = None;
        for task in msg.tasks {
            self.run_task(
                now,
                &msg.framework_id,
                &msg.framework,
                task,
                &agent_id,
                &mut shared,
            );
        }
        self.flush(now.time);
    }

    /// Launches one task's executor (or gives the task to the command
    /// executor `shared` of the tasks launched before it in the same
    /// `RunTasks`), or refuses the task with TASK_ERROR.
    fn run_task(
        &mut self,
        now: &mut Now<'_>,
        framework_id: &FrameworkId,
        framework: &FrameworkInfo,
        info: TaskInfo,
        agent_id: &AgentId,
        shared: &mut Option<SharedExecutor>,
    ) {
        let key = (framework_id.clone(), info.task_id.clone());
        // A task id whose terminal update is still on its way counts as in
        // use too: a new task under it could never report.
        if self.tasks.contains_key(&key) || self.updates.is_terminated(&key) {
            self.refuse_duplicate(now, &key);
            return;
        }
        let Some(used) = self.used.checked_plus(&info.resources) else {
            self.refuse(now, &key, "its resources overlap those of a running task");
            return;
        };
        if let Some(why) = refusal(&info, &self.cfg) {
            self.refuse(now, &key, &why);
            return;
        }
        // A task of a custom executor that runs here already joins it.
        let executor = match self.executor_of(framework_id, &info) {
            Ok(e) => e,
            Err(why) => {
                self.refuse(now, &key, &why);
                return;
            }
        };
        let shares = info.executor.is_none() && info.container.is_none();
        let mut shared_executor = None;
        let (sandbox, process, executor_pid) = match executor {
            Some(running) => running,
            None => {
                let Some(sandbox) = executor_sandbox(&self.cfg.work_dir, framework_id, &info)
                else {
                    let why = "framework, task or executor id is not a safe name \
                               (1-255 of A-Z a-z 0-9 . _ -, not . or ..)";
                    self.refuse(now, &key, why);
                    return;
                };
                if let Some(joined) = shared.as_ref().filter(|_| shares) {
                    // The executor reads this task's sandbox off its own
                    // (see `corral_executor::config::Site::for_task`).
                    tracing::info!(framework = %key.0, task = %key.1, executor = %joined.executor_id, launch = joined.launch.0, "sharing the command executor launched with an earlier task");
                    shared_executor = Some(joined.executor_id.clone());
                    (sandbox, joined.launch, None)
                } else {
                    let Some(me) = self.me.clone() else {
                        debug_assert!(false, "launching before handle_start");
                        return;
                    };
                    let spec =
                        self.executor_spec(&me, agent_id, framework_id, framework, &info, &sandbox);
                    let process = LaunchId(self.next_launch);
                    self.next_launch += 1;
                    self.act(Action::Launch {
                        launch: process,
                        spec,
                    });
                    tracing::info!(framework = %key.0, task = %key.1, executor = info.executor_id(), launch = process.0, "launching executor");
                    if info.executor.is_some() {
                        self.note_custom_executor(process, framework_id, info.executor_id());
                    }
                    if shares && shared.is_none() {
                        *shared = Some(SharedExecutor {
                            executor_id: info.executor_id().to_owned(),
                            launch: process,
                        });
                    }
                    (sandbox, process, None)
                }
            }
        };
        let launch_seq = self.next_launch_seq;
        self.next_launch_seq += 1;
        // Until the executor registers; one that has gets the task now.
        match &executor_pid {
            Some(pid) => {
                let run = exec::RunTask {
                    framework_id: framework_id.clone(),
                    task: info.clone(),
                };
                self.send(pid, Outgoing::RunTask(run));
            }
            None => {
                let timer = Timer::ExecutorRegistration(key.clone(), launch_seq);
                self.set_timer(timer, self.cfg.executor_registration_timeout);
            }
        }
        self.used = used;
        self.processes
            .entry(process)
            .or_default()
            .insert(key.clone());
        self.dirty.insert(key.clone());
        self.tasks.insert(
            key.clone(),
            Task {
                framework_id: framework_id.clone(),
                framework: framework.clone(),
                info,
                sandbox,
                process: Some(process),
                phase: Phase::launched(executor_pid),
                state: TaskState::Staging,
                launch_seq,
                shared_executor,
            },
        );
        self.act(Action::NotifyLaunched {
            key,
            launch: process,
        });
    }

    /// The running custom executor `info` joins: its sandbox, process and
    /// (once registered) pid; None if it must be started. An error when
    /// the executor id is taken by another executor.
    fn executor_of(
        &self,
        framework_id: &FrameworkId,
        info: &TaskInfo,
    ) -> Result<Option<(Sandbox, LaunchId, Option<Pid>)>, String> {
        let Some(custom) = &info.executor else {
            return Ok(None);
        };
        let peer = self
            .tasks_of(framework_id)
            .map(|(_, t)| t)
            .find(|t| !t.phase.is_ended() && t.executor_id() == custom.executor_id);
        let Some(peer) = peer else {
            return Ok(None);
        };
        if peer.info.executor.as_ref() != Some(custom) {
            return Err(format!(
                "executor {} runs here with another command or environment",
                custom.executor_id
            ));
        }
        // One recovered from an earlier run cannot be watched for its exit.
        let Some(process) = peer.process else {
            return Err(format!(
                "executor {} is being taken back after the agent restarted; launch again later",
                custom.executor_id
            ));
        };
        Ok(Some((
            peer.sandbox.clone(),
            process,
            peer.phase.executor().cloned(),
        )))
    }

    /// TASK_ERROR for a task that was never launched.
    fn refuse(&mut self, now: &mut Now<'_>, key: &TaskKey, why: &str) {
        tracing::warn!(framework = %key.0, task = %key.1, "refusing task: {why}");
        let status = AgentStatus::new(TaskState::Error, StatusReason::InvalidTask, why);
        self.push_agent_status(now, key, status);
    }

    /// A task id already in use here. The master now takes the id as ended
    /// (it reused it), so a live task holding it is stopped and the id gets
    /// TASK_ERROR; if that task already ended, its own terminal update, still
    /// pending, is what the master sees for the id, and nothing is added.
    fn refuse_duplicate(&mut self, now: &mut Now<'_>, key: &TaskKey) {
        let why = "the task id is already in use on this agent";
        tracing::warn!(framework = %key.0, task = %key.1, "refusing task: {why}");
        if let Some(process) = self
            .tasks
            .get(key)
            .filter(|t| !t.phase.is_ended())
            .and_then(|t| t.process)
        {
            self.act(Action::Signal {
                process,
                signal: Signal::Kill,
            });
        }
        let status = AgentStatus::new(TaskState::Error, StatusReason::InvalidTask, why);
        self.end_task(now, key, status);
    }

    /// What to run for the executor of `info`: its command, with its
    /// output in the sandbox and its environment.
    fn executor_spec(
        &self,
        me: &Pid,
        agent_id: &AgentId,
        framework_id: &FrameworkId,
        framework: &FrameworkInfo,
        info: &TaskInfo,
        sandbox: &Sandbox,
    ) -> ProcessSpec {
        // A framework's own executor writes to the sandbox's stdout and
        // stderr; the command executor's own lines go apart, so that those
        // files hold the task's output alone.
        let (command, stdout, stderr) = match &info.executor {
            Some(custom) => (
                custom.command.clone(),
                sandbox.stdout.clone(),
                sandbox.stderr.clone(),
            ),
            None => {
                let log = sandbox.dir.join(EXECUTOR_LOG);
                (self.cfg.executor_command.clone(), log.clone(), log)
            }
        };
        let mut vars = self.executor_env(me, agent_id, framework_id, framework, info, sandbox);
        // As the framework's user where it names one (the host refuses a
        // user it cannot switch to, and the task fails saying so). A
        // container task's executor stays the agent's user, which may reach
        // the Docker daemon, and runs the container as the framework's.
        let mut user =
            (self.cfg.switch_user && !framework.user.is_empty()).then(|| framework.user.clone());
        if info.container.is_some() && info.executor.is_none() {
            if let Some(name) = user.take() {
                vars.push((env::CONTAINER_USER.to_owned(), name));
            }
        }
        ProcessSpec {
            user,
            command,
            env: vars,
            cwd: Some(sandbox.dir.clone()),
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// The executor's environment: ours and Mesos's names.
    fn executor_env(
        &self,
        me: &Pid,
        agent_id: &AgentId,
        framework_id: &FrameworkId,
        framework: &FrameworkInfo,
        info: &TaskInfo,
        sandbox: &Sandbox,
    ) -> Vec<(String, String)> {
        let executor_id = info.executor_id().to_owned();
        let dir = sandbox.dir.to_string_lossy().into_owned();
        let checkpoint = if framework.checkpoint { "1" } else { "0" };
        let mut vars = vec![
            (env::AGENT_PID, me.to_string()),
            (env::FRAMEWORK_ID, framework_id.0.clone()),
            (env::EXECUTOR_ID, executor_id.clone()),
            (env::SANDBOX, dir.clone()),
            (env::AGENT_ID, agent_id.0.clone()),
            (env::LISTEN_IP, me.addr().ip().to_string()),
            (
                env::WORK_DIR,
                self.cfg.work_dir.to_string_lossy().into_owned(),
            ),
            ("MESOS_FRAMEWORK_ID", framework_id.0.clone()),
            ("MESOS_EXECUTOR_ID", executor_id),
            ("MESOS_SANDBOX", dir.clone()),
            ("MESOS_DIRECTORY", dir),
            ("MESOS_SLAVE_ID", agent_id.0.clone()),
            ("MESOS_AGENT_ID", agent_id.0.clone()),
            ("MESOS_CHECKPOINT", checkpoint.to_owned()),
            (
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                mesos_duration(self.cfg.kill_grace),
            ),
        ];
        if framework.checkpoint {
            vars.push((
                "MESOS_RECOVERY_TIMEOUT",
                mesos_duration(self.cfg.recovery_timeout),
            ));
        }
        if let Some(url) = &self.cfg.http_url {
            // Where an executor written against Mesos's v1 API calls
            // (`host:port`, as Mesos writes it).
            let endpoint = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
            vars.push((
                "MESOS_AGENT_ENDPOINT",
                endpoint.trim_end_matches('/').to_owned(),
            ));
        }
        if let Some(log) = &self.cfg.executor_log {
            vars.push((env::LOG, log.clone()));
        }
        if let Some(host) = &self.cfg.docker_host {
            vars.push((env::DOCKER_HOST, host.clone()));
        }
        let tls = &self.cfg.executor_tls;
        for (name, path) in [
            (env::TLS_CERT, &tls.cert_pem),
            (env::TLS_KEY, &tls.key_pem),
            (env::TLS_CA, &tls.ca_pem),
        ] {
            if let Some(path) = path {
                vars.push((name, path.display().to_string()));
            }
        }
        let mut vars: Vec<(String, String)> =
            vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        match &info.executor {
            Some(custom) => vars.extend(custom.env.iter().cloned()),
            // The command executor finds the sandboxes of the tasks it
            // shares there, side by side with its own.
            None => {
                if let Some(tasks) = sandbox.dir.parent() {
                    vars.push((env::TASKS_DIR.to_owned(), tasks.display().to_string()));
                }
            }
        }
        vars
    }

    /// The executor of `key` (launch `launch_seq`) had its time to register.
    pub(super) fn registration_timed_out(
        &mut self,
        now: &mut Now<'_>,
        key: &TaskKey,
        launch_seq: u64,
    ) {
        let Some(task) = self.tasks.get(key) else {
            return;
        };
        if task.launch_seq != launch_seq || task.phase != Phase::Launching {
            return;
        }
        if let Some(process) = task.process {
            self.act(Action::Signal {
                process,
                signal: Signal::Kill,
            });
        }
        let secs = self.cfg.executor_registration_timeout.as_secs_f64();
        let why = format!("executor did not register within {secs} s");
        let status = AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why);
        self.end_task(now, key, status);
        self.flush(now.time);
    }
}

/// The command executor the command tasks of one `RunTasks` share.
pub(super) struct SharedExecutor {
    /// Its id: its first task's.
    executor_id: String,
    /// Its process.
    launch: LaunchId,
}

/// The sandbox of the executor that runs `info`: the task's own for the
/// command executor, the executor's (shared by its tasks) for a custom
/// one. None if a name is not safe.
pub(super) fn executor_sandbox(
    work_dir: &std::path::Path,
    framework_id: &FrameworkId,
    info: &TaskInfo,
) -> Option<Sandbox> {
    match &info.executor {
        None => Sandbox::new(work_dir, &framework_id.0, &info.task_id.0),
        Some(custom) => Sandbox::of_executor(work_dir, &framework_id.0, &custom.executor_id),
    }
}

/// A duration as Mesos prints it for executors (`5secs`, `0.5secs`).
fn mesos_duration(d: Duration) -> String {
    format!("{}secs", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_reads_like_mesos() {
        assert_eq!(mesos_duration(Duration::from_secs(5)), "5secs");
        assert_eq!(mesos_duration(Duration::from_millis(500)), "0.5secs");
    }
}
