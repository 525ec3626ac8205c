//! Real OS processes launched by actors on a node.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use corral_runtime::{
    message, Actor, Ctx, ExitStatus, Handler, Handlers, Node, NodeConfig, Pid, ProcessId,
    ProcessSpec, Signal,
};
use serde::{Deserialize, Serialize};

/// Generous: a `sleep 30` that ends within this was ended by the signal.
const EXIT: Duration = Duration::from_secs(10);

/// Tells a [`Launcher`] to signal its process.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct SendSignal(pub Signal);
message!(SendSignal = "test.SendSignal");

/// Launches one process on start (signalling it at once if asked) and hands
/// its exit to the test thread.
pub struct Launcher {
    spec: ProcessSpec,
    signal_at_start: Option<Signal>,
    exits: Sender<ExitStatus>,
    id: Option<ProcessId>,
}
impl Actor for Launcher {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<SendSignal>();
    }
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let id = ctx.launch(self.spec.clone());
        self.id = Some(id);
        if let Some(signal) = self.signal_at_start {
            assert!(ctx.signal(id, signal), "a just-launched process is running");
        }
    }
    fn process_exited(&mut self, id: ProcessId, status: ExitStatus, _: &mut Ctx<'_, Self>) {
        assert_eq!(Some(id), self.id);
        let _ = self.exits.send(status);
    }
}
impl Handler<SendSignal> for Launcher {
    fn handle(&mut self, SendSignal(signal): SendSignal, ctx: &mut Ctx<'_, Self>) {
        let id = self.id.expect("launched on start");
        assert!(ctx.signal(id, signal), "the process is still running");
    }
}

/// A node running one [`Launcher`] for `spec`.
struct Launched {
    node: Node,
    launcher: Pid,
    exits: Receiver<ExitStatus>,
}

fn launch(spec: ProcessSpec, signal_at_start: Option<Signal>) -> Launched {
    crate::init_logs();
    let node = Node::start(NodeConfig::default()).expect("node starts");
    let (tx, exits) = mpsc::channel();
    let launcher = Launcher {
        spec,
        signal_at_start,
        exits: tx,
        id: None,
    };
    let launcher = node.spawn("launcher", launcher).unwrap();
    Launched {
        node,
        launcher,
        exits,
    }
}

impl Launched {
    fn exit(&self) -> ExitStatus {
        self.exits.recv_timeout(EXIT).expect("the process ends")
    }
}

/// A fresh directory, removed when dropped.
struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = crate::child::temp_dir(&format!("process-{tag}"));
        TempDir(dir)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn exit_code_and_stdout_come_back() {
    let dir = TempDir::new("exit");
    let out = dir.join("out");
    let p = launch(
        ProcessSpec {
            command: "echo hi; exit 3".into(),
            stdout: Some(out.clone()),
            ..ProcessSpec::default()
        },
        None,
    );
    assert_eq!(p.exit(), ExitStatus::Exited(3));
    assert_eq!(read(&out), "hi\n");
}

#[test]
fn the_spec_environment_and_no_other_is_visible() {
    let dir = TempDir::new("env");
    let out = dir.join("out");
    let p = launch(
        ProcessSpec {
            // HOME is set for the test process but not passed on; PATH is.
            command: "echo \"$FOO ${HOME-unset}\"; ls -d / >&2".into(),
            env: vec![("FOO".into(), "bar baz".into())],
            stdout: Some(out.clone()),
            stderr: Some(dir.join("err")),
            ..ProcessSpec::default()
        },
        None,
    );
    assert_eq!(p.exit(), ExitStatus::Exited(0), "ls resolves through PATH");
    assert_eq!(read(&out), "bar baz unset\n");
    assert_eq!(read(&dir.join("err")), "/\n");
}

#[test]
fn a_missing_working_directory_is_created() {
    let dir = TempDir::new("cwd");
    let cwd = dir.join("made").join("here");
    let p = launch(
        ProcessSpec {
            command: "pwd".into(),
            cwd: Some(cwd.clone()),
            stdout: Some(cwd.join("out")),
            ..ProcessSpec::default()
        },
        None,
    );
    assert_eq!(p.exit(), ExitStatus::Exited(0));
    assert_eq!(read(&cwd.join("out")).trim_end(), cwd.display().to_string());
}

#[test]
fn a_working_directory_that_cannot_be_made_fails_to_start() {
    let dir = TempDir::new("cwd");
    let file = dir.join("file");
    std::fs::write(&file, "not a directory").expect("write a file");
    let p = launch(
        ProcessSpec {
            command: "true".into(),
            cwd: Some(file.join("sub")),
            ..ProcessSpec::default()
        },
        None,
    );
    match p.exit() {
        ExitStatus::FailedToStart(message) => {
            assert!(message.contains("cannot create"), "{message}")
        }
        other => panic!("expected FailedToStart, got {other:?}"),
    }
}

#[test]
fn term_right_after_launch_ends_the_process() {
    let started = Instant::now();
    let p = launch(
        ProcessSpec {
            command: "sleep 30".into(),
            ..ProcessSpec::default()
        },
        Some(Signal::Term),
    );
    assert_eq!(p.exit(), ExitStatus::Signaled(15));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "ended after {took:?}");
}

#[test]
fn kill_reaches_the_whole_process_group() {
    let dir = TempDir::new("group");
    // The shell blocks writing the background pid into this fifo until the
    // test reads it: by then the background child exists.
    let fifo = make_fifo(&dir.join("bg.pid"));
    let p = launch(
        ProcessSpec {
            command: "sleep 30 & echo $! > bg.pid; sleep 30; wait".into(),
            cwd: Some(dir.0.clone()),
            ..ProcessSpec::default()
        },
        None,
    );
    let bg = read_in_background(fifo)
        .recv_timeout(EXIT)
        .expect("the shell writes the background pid");
    let bg: u32 = bg.trim().parse().expect("a pid");
    let born = running_since(bg).expect("the background child runs");
    p.node.send(&p.launcher, SendSignal(Signal::Kill));
    assert_eq!(p.exit(), ExitStatus::Signaled(9));
    // The kill hit the group at once, but the child dies when it next runs.
    let deadline = Instant::now() + EXIT;
    while running_since(bg) == Some(born) {
        assert!(Instant::now() < deadline, "background child {bg} survived");
        std::thread::yield_now();
    }
}

#[test]
fn processes_outlive_the_node() {
    let dir = TempDir::new("outlive");
    let fifo = make_fifo(&dir.join("pid"));
    let p = launch(
        ProcessSpec {
            command: "echo $$ > pid; exec sleep 30".into(),
            cwd: Some(dir.0.clone()),
            ..ProcessSpec::default()
        },
        None,
    );
    let pid = read_in_background(fifo)
        .recv_timeout(EXIT)
        .expect("the shell writes its pid");
    let pid = pid.trim().to_owned();
    let born = running_since(pid.parse().unwrap()).expect("the process runs");
    p.node.shutdown();
    let still = running_since(pid.parse().unwrap());
    // Clean up before asserting: the node no longer owns the process.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status()
        .expect("kill runs");
    assert_eq!(still, Some(born), "the process survived the node");
    assert!(killed.success());
}

fn make_fifo(path: &Path) -> PathBuf {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
    path.to_owned()
}

/// Reads `path` (a fifo: blocks until a writer opens it) on another thread.
fn read_in_background(path: PathBuf) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok(text) = std::fs::read_to_string(path) {
            let _ = tx.send(text);
        }
    });
    rx
}

/// When process `pid` started (in clock ticks since boot), if it is running:
/// None once it is gone or a zombie. Comparing start times tells a reused
/// pid apart.
fn running_since(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "<pid> (<comm>) <state> <ppid> ...": field 22 is the start time.
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&("Z" | "X"))) {
        return None;
    }
    fields.get(22 - 3)?.parse().ok()
}
