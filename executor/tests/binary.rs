//! The `corral-executor` binary with real processes: a fake agent on a real
//! node in this test process, the executor launched as the agent would
//! launch it, its command run by `/bin/sh` in a fresh sandbox.

// Tests of the binary start it and read its sandbox: real processes and
// files (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use corral_api::executor::{ExecutorUpdate, KillTask, RegisterExecutor, RunTask, UpdateAck};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, TaskState, TaskStatus};
use corral_executor::env;
use corral_runtime::{Actor, Ctx, Handler, Handlers, Node, NodeConfig};

/// Long enough for a loaded machine; the tests only wait this long on failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// Answers the registration with a task, forwards each update once to the
/// test, acknowledges every copy; kills the task once it runs, if asked.
struct FakeAgent {
    command: String,
    kill_grace: Option<Duration>,
    updates: Sender<TaskStatus>,
    acked: BTreeSet<[u8; 16]>,
}

impl Actor for FakeAgent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<RegisterExecutor>().on::<ExecutorUpdate>();
    }
}

impl Handler<RegisterExecutor> for FakeAgent {
    fn handle(&mut self, msg: RegisterExecutor, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let task = TaskInfo {
            task_id: msg.executor_id.as_str().into(),
            name: "binary-test".into(),
            command: self.command.clone(),
            env: vec![],
            resources: Resources::default(),
            container: None,
            executor: None,
        };
        let framework_id = msg.framework_id;
        ctx.send(&from, RunTask { framework_id, task });
    }
}

impl Handler<ExecutorUpdate> for FakeAgent {
    fn handle(&mut self, msg: ExecutorUpdate, ctx: &mut Ctx<'_, Self>) {
        let (Some(from), Some(uuid)) = (ctx.sender().cloned(), msg.status.uuid) else {
            return;
        };
        let task_id = msg.status.task_id.clone();
        if self.acked.insert(uuid) {
            if let (TaskState::Running, Some(grace)) = (msg.status.state, self.kill_grace) {
                let task_id = task_id.clone();
                ctx.send(&from, KillTask { task_id, grace });
            }
            let _ = self.updates.send(msg.status);
        }
        ctx.send(&from, UpdateAck { task_id, uuid });
    }
}

/// One executor run: the agent's node, the updates it saw, the process.
struct Run {
    _node: Node,
    updates: Receiver<TaskStatus>,
    child: Option<Child>,
    sandbox: PathBuf,
}

impl Run {
    fn start(name: &str, command: &str, kill_grace: Option<Duration>) -> Run {
        Run::start_with(name, command, kill_grace, &[])
    }

    /// As [`Run::start`], with more variables in the executor's environment.
    fn start_with(
        name: &str,
        command: &str,
        kill_grace: Option<Duration>,
        extra_env: &[(&str, &str)],
    ) -> Run {
        let node = Node::start(NodeConfig::default()).expect("the agent's node starts");
        let (tx, updates) = mpsc::channel();
        let agent = FakeAgent {
            command: command.into(),
            kill_grace,
            updates: tx,
            acked: BTreeSet::new(),
        };
        let agent = node.spawn("agent", agent).expect("the fake agent spawns");
        let sandbox = std::env::temp_dir().join(format!(
            "corral-executor-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&sandbox);
        let child = executor()
            .envs(extra_env.iter().copied())
            .env(env::AGENT_PID, agent.to_string())
            .env(env::FRAMEWORK_ID, "fw-1")
            .env(env::EXECUTOR_ID, name)
            .env(env::AGENT_ID, "agent-1")
            .env(env::SANDBOX, &sandbox)
            .env(env::LISTEN_IP, "127.0.0.1")
            .env(env::LOG, "warn")
            .spawn()
            .expect("the executor binary starts");
        Run {
            _node: node,
            updates,
            child: Some(child),
            sandbox,
        }
    }

    fn next(&self) -> TaskStatus {
        self.updates
            .recv_timeout(PATIENCE)
            .expect("an update within the patience")
    }

    /// The three updates of a task that ran, checked in order.
    fn three_updates(&self, terminal: TaskState) -> TaskStatus {
        assert_eq!(self.next().state, TaskState::Starting);
        assert_eq!(self.next().state, TaskState::Running);
        let end = self.next();
        assert_eq!(end.state, terminal, "{end:?}");
        assert_eq!(end.agent_id, Some("agent-1".into()));
        end
    }

    fn wait(&mut self) -> ExitStatus {
        let child = self.child.take().expect("waited once");
        wait_within(child, PATIENCE)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.sandbox.join(file)).unwrap_or_default()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.sandbox);
    }
}

/// The binary with an empty environment but for `PATH`.
fn executor() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_corral-executor"));
    cmd.env_clear().stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// Waits for `child` on a helper thread; kills it and fails past `within`.
fn wait_within(mut child: Child, within: Duration) -> ExitStatus {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(within) {
        Ok(Ok(status)) => status,
        other => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the executor (pid {pid}) did not exit within {within:?}: {other:?}");
        }
    }
}

#[test]
fn a_command_that_succeeds_finishes_with_its_output_in_the_sandbox() {
    let command =
        "echo hello; echo oops >&2; echo \"task=$MESOS_TASK_ID sandbox=$MESOS_SANDBOX cwd=$(pwd)\"";
    let mut run = Run::start("echo", command, None);
    let end = run.three_updates(TaskState::Finished);
    assert_eq!(end.message, "Command exited with status 0");
    assert!(run.wait().success(), "the executor exits 0 once acked");
    assert!(
        run.read("stdout").contains("hello"),
        "{:?}",
        run.read("stdout")
    );
    assert!(
        run.read("stderr").contains("oops"),
        "{:?}",
        run.read("stderr")
    );
}

#[test]
fn a_command_that_exits_7_fails_with_its_status() {
    let mut run = Run::start("exit7", "exit 7", None);
    let end = run.three_updates(TaskState::Failed);
    assert!(end.message.contains("status 7"), "{}", end.message);
    assert_eq!(end.reason, Some(StatusReason::CommandExited));
    assert!(run.wait().success());
}

#[test]
fn a_killed_sleep_is_reported_killed_long_before_it_would_end() {
    // PATIENCE (20 s) is below the sleep's 30 s: KILLED arriving at all
    // shows the kill worked.
    let mut run = Run::start("kill", "sleep 30", Some(Duration::from_secs(1)));
    let end = run.three_updates(TaskState::Killed);
    assert_eq!(end.reason, Some(StatusReason::KilledByFramework));
    assert!(run.wait().success());
}

#[test]
fn a_command_task_never_connects_to_docker_even_when_killed() {
    // Every executor starts a container driver; for a command task it must
    // stay idle, so agents without Docker run command tasks. The test owns
    // the daemon socket the executor is pointed at, and counts connections.
    let dir = std::env::temp_dir().join(format!("corral-executor-docker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("docker.sock");
    let _ = std::fs::remove_file(&socket);
    let daemon = UnixListener::bind(&socket).unwrap();
    daemon.set_nonblocking(true).unwrap();
    let host = format!("unix://{}", socket.display());
    let mut run = Run::start_with(
        "nodocker",
        "sleep 30",
        Some(Duration::from_secs(1)),
        &[(env::DOCKER_HOST, &host)],
    );
    let no_connection = |when: &str| match daemon.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the executor connected to the Docker socket {when}: {other:?}"),
    };
    run.three_updates(TaskState::Killed);
    no_connection("while its task ran");
    assert!(run.wait().success());
    no_connection("while it stopped");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_an_agent_pid_it_says_so_in_one_line_and_exits_1() {
    let out = executor()
        .env(env::FRAMEWORK_ID, "fw-1")
        .output()
        .expect("the executor binary runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "corral-executor: CORRAL_AGENT_PID is not set: an executor is started \
         by a Corral agent\n"
    );
}
