//! Pure leaves of the command executor: the process spec it launches for a
//! task, and what it reports when the command ends.

use std::path::Path;

use corral_api::ids::FrameworkId;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::{ExitStatus, ProcessSpec};

use crate::env;

/// Why the executor asked its command to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillCause {
    /// The agent forwarded a framework's kill ([`KillTask`](corral_api::executor::KillTask)).
    Framework,
    /// The agent shuts the executor down ([`ShutdownExecutor`](corral_api::executor::ShutdownExecutor)).
    Shutdown,
    /// The agent is gone (its link fired).
    AgentLost,
}

/// The process that runs `task` in `sandbox`: the task's environment plus the
/// sandbox and ids under Mesos's names and ours (which replace the task's own
/// values of those names), the sandbox as working directory, output appended
/// to `sandbox/stdout` and `sandbox/stderr`.
pub fn process_spec(task: &TaskInfo, framework_id: &FrameworkId, sandbox: &Path) -> ProcessSpec {
    let dir = sandbox.to_string_lossy().into_owned();
    let ours = [
        ("MESOS_SANDBOX", dir.clone()),
        ("MESOS_DIRECTORY", dir.clone()),
        (env::SANDBOX, dir),
        ("MESOS_TASK_ID", task.task_id.0.clone()),
        ("MESOS_FRAMEWORK_ID", framework_id.0.clone()),
    ];
    let mut env: Vec<(String, String)> = task
        .env
        .iter()
        .filter(|(k, _)| !ours.iter().any(|(name, _)| name == k))
        .cloned()
        .collect();
    env.extend(ours.map(|(k, v)| (k.to_owned(), v)));
    ProcessSpec {
        user: None,
        command: task.command.clone(),
        env,
        cwd: Some(sandbox.to_path_buf()),
        stdout: Some(sandbox.join("stdout")),
        stderr: Some(sandbox.join("stderr")),
    }
}

/// The terminal state, reason and message for a command that ended with
/// `status`, after a kill for `kill` if one was asked.
pub fn ending(status: &ExitStatus, kill: Option<KillCause>) -> (TaskState, StatusReason, String) {
    let how = status.to_string();
    match kill {
        Some(KillCause::Framework) => (
            TaskState::Killed,
            StatusReason::KilledByFramework,
            format!("Command killed on request: it {how}"),
        ),
        Some(KillCause::Shutdown) => (
            TaskState::Killed,
            StatusReason::KilledByFramework,
            format!("Command killed because its executor was shut down: it {how}"),
        ),
        // The executor reports nothing once the agent is gone; if it ever
        // does, the task was killed on the executor's own decision.
        Some(KillCause::AgentLost) => (
            TaskState::Killed,
            StatusReason::ExecutorTerminated,
            format!("Command killed because the agent was lost: it {how}"),
        ),
        None if status.success() => (
            TaskState::Finished,
            StatusReason::CommandExited,
            format!("Command {how}"),
        ),
        None => (
            TaskState::Failed,
            StatusReason::CommandExited,
            format!("Command {how}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::resources::Resources;

    #[test]
    fn exits_read_like_mesos_messages() {
        let end = |s, k| ending(&s, k);
        assert_eq!(
            end(ExitStatus::Exited(0), None),
            (
                TaskState::Finished,
                StatusReason::CommandExited,
                "Command exited with status 0".into()
            )
        );
        assert_eq!(
            end(ExitStatus::Exited(3), None).2,
            "Command exited with status 3"
        );
        assert_eq!(end(ExitStatus::Exited(3), None).0, TaskState::Failed);
        assert_eq!(
            end(ExitStatus::Signaled(9), None).2,
            "Command terminated by signal 9 (SIGKILL)"
        );
        assert_eq!(
            end(ExitStatus::Signaled(64), None).2,
            "Command terminated by signal 64"
        );
        assert_eq!(
            end(ExitStatus::FailedToStart("no shell".into()), None).2,
            "Command failed to start: no shell"
        );
        let (state, reason, message) = end(ExitStatus::Signaled(15), Some(KillCause::Framework));
        assert_eq!(
            (state, reason),
            (TaskState::Killed, StatusReason::KilledByFramework)
        );
        assert!(message.contains("SIGTERM"), "{message}");
        // A kill was asked: even a clean exit counts as killed.
        assert_eq!(
            end(ExitStatus::Exited(0), Some(KillCause::Shutdown)).0,
            TaskState::Killed
        );
    }

    #[test]
    fn the_spec_runs_in_the_sandbox_and_our_variables_replace_the_tasks() {
        let task = TaskInfo {
            task_id: "t1".into(),
            name: "t".into(),
            command: "echo hi".into(),
            env: vec![
                ("A".into(), "1".into()),
                ("MESOS_SANDBOX".into(), "/elsewhere".into()),
            ],
            resources: Resources::default(),
            container: None,
            executor: None,
        };
        let spec = process_spec(&task, &"fw".into(), Path::new("/sb"));
        assert_eq!(spec.command, "echo hi");
        assert_eq!(spec.cwd.as_deref(), Some(Path::new("/sb")));
        assert_eq!(spec.stdout.as_deref(), Some(Path::new("/sb/stdout")));
        assert_eq!(spec.stderr.as_deref(), Some(Path::new("/sb/stderr")));
        let get = |k: &str| {
            let found: Vec<&str> = spec
                .env
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect();
            assert!(found.len() <= 1, "{k} set twice: {found:?}");
            found.first().copied()
        };
        assert_eq!(get("A"), Some("1"));
        assert_eq!(get("MESOS_SANDBOX"), Some("/sb"));
        assert_eq!(get("MESOS_DIRECTORY"), Some("/sb"));
        assert_eq!(get("CORRAL_SANDBOX"), Some("/sb"));
        assert_eq!(get("MESOS_TASK_ID"), Some("t1"));
        assert_eq!(get("MESOS_FRAMEWORK_ID"), Some("fw"));
    }
}
