//! A framework's own executor, end to end with real processes: the
//! agent starts `examples/process_executor` once for several tasks that
//! name it, sends it each, kills one through it, and fails the rest
//! clearly when the executor process dies under them.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{clock, cluster, launch, res, Call, ProbeHandle};
use corral_api::framework::{FrameworkInfo, Kill};
use corral_api::ids::TaskId;
use corral_api::task::{ExecutorInfo, TaskInfo, TaskState};

/// The example executor, which `cargo test` builds beside the tests.
fn process_executor() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests live in target/<profile>/deps");
    let path = profile.join("examples").join("process_executor");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it (or `cargo build -p corral-examples --example process_executor`)",
        path.display()
    );
    path
}

fn task(id: &str, command: &str) -> TaskInfo {
    let mut t = TaskInfo::command(TaskId(id.to_owned()), command, res("cpus:0.1;mem:16"));
    t.executor = Some(ExecutorInfo {
        executor_id: "procs".to_owned(),
        command: process_executor().display().to_string(),
        env: Vec::new(),
    });
    t
}

/// Waits for `path` to hold a line, for up to 30 s.
fn read_when_written(path: &Path) -> String {
    let deadline = clock() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_owned();
            }
        }
        assert!(
            clock() < deadline,
            "{} not written within 30 s",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_executor_runs_several_tasks_kills_one_and_its_death_fails_the_rest() {
    let test = "custom-executor";
    let c = cluster(test, 1, "cpus:2;mem:512", |_| {});
    let p = ProbeHandle::start(c.master());
    let fw = p.subscribe(FrameworkInfo::new("custom", "*"));
    let offer = p.next_offers().remove(0);
    let tasks = ["a", "b", "c"].map(|t| task(t, &format!("echo $PPID > {t}.parent; sleep 60")));
    p.call(launch(&offer.id, tasks.to_vec()));
    for t in ["a", "b", "c"] {
        let states: Vec<TaskState> = std::iter::from_fn(|| Some(p.update_of(t).state))
            .take_while(|s| *s != TaskState::Running)
            .collect();
        assert!(
            states.iter().all(|s| *s == TaskState::Starting),
            "{t} went {states:?} before RUNNING"
        );
    }
    // One executor process is the parent of all three.
    let sandbox = std::env::temp_dir()
        .join(format!("corral-e2e-{}-{test}", std::process::id()))
        .join("agent-0/frameworks")
        .join(&fw.0)
        .join("executors/procs");
    let parents = ["a", "b", "c"].map(|t| read_when_written(&sandbox.join(format!("{t}.parent"))));
    assert!(
        parents.iter().all(|p| *p == parents[0]),
        "tasks ran under different executors: {parents:?}"
    );

    // A kill goes through the executor and ends that task alone.
    p.call(Call::Kill(Kill {
        task_id: TaskId("a".into()),
    }));
    let ends = p.updates_until_end("a");
    assert_eq!(
        ends.last().map(|u| u.state),
        Some(TaskState::Killed),
        "{ends:?}"
    );

    // The executor dies: its other tasks fail, saying so.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &parents[0]])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "cannot kill the executor {}", parents[0]);
    for t in ["b", "c"] {
        let end = p.updates_until_end(t).pop().expect("an update");
        assert_eq!(end.state, TaskState::Failed, "{t}: {end:?}");
        assert!(end.message.contains("executor"), "{t}: {}", end.message);
    }
    let state = c
        .wait_for(Duration::from_secs(10), "no resources held", |s| {
            s.agents[0].used.is_empty()
        })
        .expect("nothing held after the executor died");
    assert_eq!(state.agents[0].total.cpus(), 2.0);
}

#[test]
fn a_checkpointing_frameworks_executor_is_taken_back_by_a_restarted_agent() {
    let test = "custom-executor-restart";
    let mut c = cluster(test, 1, "cpus:2;mem:512", |cfg| {
        cfg.tune_agent = |a| a.recovery_timeout = Duration::from_secs(30);
    });
    let p = ProbeHandle::start(c.master());
    let mut info = FrameworkInfo::new(test, "*");
    info.checkpoint = true;
    p.subscribe(info);
    let offer = p.next_offers().remove(0);
    p.call(launch(
        &offer.id,
        vec![task("a", "sleep 600"), task("b", "sleep 600")],
    ));
    for t in ["a", "b"] {
        let states: Vec<TaskState> = std::iter::from_fn(|| Some(p.update_of(t).state))
            .take_while(|s| *s != TaskState::Running)
            .collect();
        assert!(
            states.iter().all(|s| *s == TaskState::Starting),
            "{t}: {states:?}"
        );
    }
    c.restart_agent(0).expect("the agent restarts");
    // The one executor re-registers (every second) and is given back both
    // tasks, well within the agent's 30 s recovery timeout.
    c.wait_for_agent(
        0,
        Duration::from_secs(20),
        "the executor of a and b to re-register with the restarted agent",
        |s| {
            ["a", "b"].iter().all(|id| {
                s.tasks.iter().any(|t| {
                    t.task_id.0 == *id && t.state == TaskState::Running && t.executor_connected
                })
            })
        },
    )
    .expect("the restarted agent takes the executor back");
    let ended: Vec<_> = p
        .seen
        .try_iter()
        .filter(|s| matches!(s, common::Seen::Update(u) if u.state.is_terminal()))
        .collect();
    assert_eq!(ended, [], "no task may end because the agent restarted");
    // The restarted agent commands the executor it took back.
    for t in ["a", "b"] {
        p.call(Call::Kill(Kill {
            task_id: TaskId(t.into()),
        }));
        let end = p.updates_until_end(t).pop().expect("an update");
        assert_eq!(end.state, TaskState::Killed, "{t}: {end:?}");
    }
    c.shutdown();
}
