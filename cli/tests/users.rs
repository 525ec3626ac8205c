//! Tasks run as their framework's user: a `corral agent` running as root
//! (as CI does) with its default `--switch-user`, and `corral execute
//! --user`. Each process has a loopback address of its own, 127.12.13.N,
//! so default ports never clash between tests.

// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::procs::{
    agent_at, assert_succeeded, corral_output, lone_master, test_dir, wait_for, Proc,
};
use common::state::{agents_of, state_at};

/// Generous: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A master at 127.12.13.`n` with `master_flags` and an agent at
/// 127.12.13.`n + 1` with `agent_flags`, once the agent is admitted;
/// returns the master's address.
fn cluster(dir: &Path, n: u8, master_flags: &[&str], agent_flags: &[&str]) -> (String, Vec<Proc>) {
    let ip = |n: u8| IpAddr::V4(Ipv4Addr::new(127, 12, 13, n));
    let master = format!("{}:5050", ip(n));
    let m = lone_master(dir, "master", ip(n), master_flags);
    let a = agent_at(dir, "agent", "agent", &master, ip(n + 1), agent_flags);
    wait_for(START, "the agent to be admitted", || {
        state_at(&master).filter(|s| agents_of(s) == 1)
    });
    (master, vec![m, a])
}

/// `corral execute --master MASTER --command COMMAND`, as `user` if given.
fn execute(master: &str, user: Option<&str>, command: &str) -> Output {
    let mut args = vec!["execute", "--master", master, "--command", command];
    if let Some(u) = user {
        args.extend(["--user", u]);
    }
    corral_output(&args)
}

fn needs_root() {
    // SAFETY: geteuid(2) takes nothing and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "these tests start an agent that switches users: run them as root (CI does)"
    );
}

#[test]
fn a_task_runs_as_its_frameworks_user_in_a_sandbox_it_owns() {
    needs_root();
    let dir = test_dir("users");
    let (master, _procs) = cluster(&dir, 1, &[], &[]);
    let out = execute(
        &master,
        Some("nobody"),
        "id -un; touch mine; stat -c '%U' . mine",
    );
    assert_succeeded(&out);
    let log = corral_output(&["task", "log", "corral-execute-0", "--master", &master]);
    assert_eq!(
        String::from_utf8_lossy(&log.stdout),
        "nobody\nnobody\nnobody\n"
    );
    // A user the machine does not have fails the task, saying so.
    let out = execute(&master, Some("no-such-user-corral"), "true");
    assert!(!out.status.success());
    assert!(
        text(&out)
            .contains("executor failed to start: no user \"no-such-user-corral\" on this machine"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_agent_that_does_not_switch_users_runs_tasks_as_itself() {
    needs_root();
    let dir = test_dir("users-off");
    let (master, _procs) = cluster(&dir, 3, &[], &["--switch-user", "false"]);
    assert_succeeded(&execute(&master, Some("nobody"), "id -un"));
    let log = corral_output(&["task", "log", "corral-execute-0", "--master", &master]);
    assert_eq!(String::from_utf8_lossy(&log.stdout), "root\n");
}

#[test]
fn acls_say_which_users_a_principal_may_run_tasks_as() {
    needs_root();
    let dir = test_dir("users-acls");
    let acls = dir.join("acls.json");
    std::fs::write(
        &acls,
        r#"{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}},
                          {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#,
    )
    .expect("write the ACLs");
    let acls = acls.to_string_lossy().into_owned();
    let (master, _procs) = cluster(&dir, 5, &["--acls", &acls], &[]);
    assert_succeeded(&execute(&master, Some("nobody"), "id -un"));
    // Root (the agent's own user, when the framework names none) is not
    // allowed: the task is an error saying why, and nothing runs.
    for user in [Some("root"), None] {
        let out = execute(&master, user, "id -un");
        assert!(!out.status.success(), "{user:?}: {}", text(&out));
        assert!(
            text(&out).contains("may not run tasks as"),
            "{user:?}: {}",
            text(&out)
        );
    }
}

#[test]
fn a_docker_task_runs_as_its_frameworks_user_in_its_container() {
    needs_root();
    let image = common::procs::docker_test_image()
        .unwrap_or_else(|why| panic!("this test needs Docker: {why}"));
    let dir = test_dir("users-docker");
    let docker = ["--containerizers", "docker,process"];
    let (master, _procs) = cluster(&dir, 7, &[], &docker);
    // The executor reaches the Docker daemon as the agent's user; the
    // container runs as nobody (uid 65534 on the host), who owns the
    // sandbox it writes in.
    let run = |user: &str, extra: &[&str]| {
        let mut args = vec![
            "execute",
            "--master",
            &master,
            "--docker-image",
            image,
            "--user",
            user,
            "--timeout",
            "60s",
            "--command",
            "id -u; touch /mnt/mesos/sandbox/mine && echo wrote",
        ];
        args.extend_from_slice(extra);
        corral_output(&args)
    };
    let out = run("nobody", &[]);
    assert_succeeded(&out);
    let log = corral_output(&["task", "log", "corral-execute-0", "--master", &master]);
    assert_eq!(String::from_utf8_lossy(&log.stdout), "65534\nwrote\n");
    // A parameter cannot pick another user than the framework's.
    let out = run("nobody", &["--docker-parameter", "user=0"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("`user` cannot be given"),
        "{}",
        text(&out)
    );
}
