//! A cluster on mutual TLS with real processes: `corral certs` makes the CA
//! and node certificates, master and agent require them, the agent hands its
//! identity to its executors, and a framework without a certificate is
//! refused.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn corral() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_corral"));
    c.env("CORRAL_LOG", "error");
    c
}

fn run(args: &[&str]) -> Output {
    corral().args(args).output().expect("corral runs")
}

/// Kills its child when dropped, so a failing test leaves no daemon behind.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a daemon and returns it with the first line it prints.
fn daemon(args: &[&str]) -> (Daemon, String) {
    let mut child = corral()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon starts");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    (Daemon(child), line)
}

fn tls_flags(dir: &Path) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        dir.join("node.pem").display().to_string(),
        "--tls-key".into(),
        dir.join("node-key.pem").display().to_string(),
        "--tls-ca".into(),
        dir.join("../ca/ca.pem").display().to_string(),
    ]
}

#[test]
fn a_mutual_tls_cluster_runs_tasks_and_refuses_strangers() {
    let base = std::env::temp_dir().join(format!("corral-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let ca = base.join("ca");
    let s = |p: &Path| p.display().to_string();
    assert!(run(&["certs", "ca", "--out", &s(&ca)]).status.success());
    for node in ["master", "agent", "client"] {
        let out = run(&[
            "certs",
            "node",
            "--ca",
            &s(&ca),
            "--out",
            &s(&base.join(node)),
            "--san",
            "127.0.0.1",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let mut args: Vec<String> = ["master", "--port", "0", "--http-port", "0"]
        .map(String::from)
        .to_vec();
    args.extend(tls_flags(&base.join("master")));
    let (_master, line) = daemon(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("master@"))
        .map(|w| w.trim_end_matches(';').to_owned())
        .unwrap_or_else(|| panic!("the master says where it runs: {line:?}"));

    let work = base.join("work");
    let mut args: Vec<String> = [
        "agent",
        "--master",
        &addr,
        "--port",
        "0",
        "--http-port",
        "0",
        "--work-dir",
        &s(&work),
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--resources".into(), "cpus:1;mem:256".into()]);
    args.extend(tls_flags(&base.join("agent")));
    let (_agent, line) = daemon(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(line.contains("agent running"), "{line:?}");

    // A framework with a certificate from the CA: its task runs, through an
    // executor that joined the agent with the agent's identity.
    let mut args: Vec<String> = [
        "execute",
        "--master",
        &addr,
        "--command",
        "echo secure",
        "--connect-timeout",
        "20s",
    ]
    .map(String::from)
    .to_vec();
    args.extend(tls_flags(&base.join("client")));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 of 1 tasks finished"), "{stdout}");

    // Without one, the master does not let it in.
    let out = run(&[
        "execute",
        "--master",
        &addr,
        "--command",
        "true",
        "--connect-timeout",
        "2s",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the master"), "{stderr}");
    let _ = std::fs::remove_dir_all(&base);
}
