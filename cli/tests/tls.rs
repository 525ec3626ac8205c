//! A cluster on mutual TLS with real processes: `corral certs` makes the CA
//! and node certificates, master and agent require them, the agent hands its
//! identity to its executors, and a framework without a certificate is
//! refused. Their HTTP ports serve HTTPS with the same certificates: the CLI
//! reads them trusting the CA, and is refused, saying why, without it or
//! over plain HTTP; a standby master redirects to the leader's https URL.
//! A certificate made with `--principal` proves that principal to a master
//! that requires authentication, with no secret.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::masters::Masters;
use common::procs::{assert_succeeded, test_dir, wait_for};
use corral_runtime::node::tls::https_client_config;

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

/// An agent of the master at `master` with the certificate in `certs`,
/// working in `work`, and the first line it prints.
fn tls_agent(master: &str, certs: &Path, work: &Path) -> (Daemon, String) {
    let work = work.display().to_string();
    let mut args: Vec<String> = [
        "agent",
        "--master",
        master,
        "--port",
        "0",
        "--http-port",
        "0",
        "--work-dir",
        &work,
        "--resources",
        "cpus:1;mem:256",
    ]
    .map(String::from)
    .to_vec();
    args.extend(tls_flags(certs));
    daemon(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Makes a cluster CA in `dir/ca` and, for each `(node, flags)`, a node
/// certificate in `dir/node` (`corral certs node` with `flags` added);
/// answers the CA's directory.
fn certs(dir: &Path, nodes: &[(&str, &[&str])]) -> PathBuf {
    let ca = dir.join("ca");
    let ca_dir = ca.display().to_string();
    assert_succeeded(&run(&["certs", "ca", "--out", &ca_dir]));
    for (node, flags) in nodes {
        let out_dir = dir.join(node).display().to_string();
        let mut args = vec!["certs", "node", "--ca", &ca_dir, "--out", &out_dir];
        args.extend_from_slice(flags);
        assert_succeeded(&run(&args));
    }
    ca
}

#[test]
fn a_mutual_tls_cluster_runs_tasks_and_refuses_strangers() {
    let base = std::env::temp_dir().join(format!("corral-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let s = |p: &Path| p.display().to_string();
    let san: &[&str] = &["--san", "127.0.0.1"];
    let ca = certs(&base, &[("master", san), ("agent", san), ("client", san)]);

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
    // Its HTTP port serves HTTPS with the master's certificate.
    let http = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("https://"))
        .map(|w| w.trim_end_matches(';').to_owned())
        .unwrap_or_else(|| panic!("the master says its HTTPS address: {line:?}"));

    let (_agent, line) = tls_agent(&addr, &base.join("agent"), &base.join("work"));
    assert!(line.contains("agent running"), "{line:?}");
    assert!(line.contains("(HTTP at https://"), "{line:?}");

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

    // The CLI trusting the CA reads the master over HTTPS (a bare
    // HOST:PORT means https then), and the task's sandbox from the agent's
    // https URL the master names.
    let ca_pem = s(&ca.join("ca.pem"));
    let out = run(&["tasks", "--master", &http, "--tls-ca", &ca_pem]);
    assert_succeeded(&out);
    let tasks = String::from_utf8_lossy(&out.stdout);
    assert!(tasks.contains("corral-execute-0"), "{tasks}");
    let out = run(&[
        "task",
        "log",
        "corral-execute-0",
        "--master",
        &http,
        "--tls-ca",
        &ca_pem,
    ]);
    assert_succeeded(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "secure");

    // Plain HTTP to the same port is refused, and told it speaks HTTPS.
    let out = run(&["state", "--master", &format!("http://{http}")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("answered in TLS, not plain HTTP"),
        "{stderr}"
    );

    // A client without the CA refuses the master's certificate, and says so.
    let out = run(&["state", "--master", &format!("https://{http}")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("certificate this client does not trust")
            && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );

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

/// Generous: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);

/// An HTTP client trusting the CA at `ca`.
fn https_client(ca: &Path) -> ureq::AgentBuilder {
    let tls = https_client_config(ca).expect("the CA reads");
    ureq::AgentBuilder::new().tls_config(Arc::new(tls))
}

/// The status and `Location` of `GET url` from a client trusting the CA at
/// `ca`, redirects not followed; None if nothing answered.
fn https_answer(ca: &Path, url: &str) -> Option<(u16, Option<String>)> {
    let client = https_client(ca)
        .redirects(0)
        .timeout(Duration::from_secs(2))
        .build();
    let response = match client.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    Some((
        response.status(),
        response.header("location").map(str::to_owned),
    ))
}

#[test]
fn a_standby_master_redirects_to_the_leaders_https_url() {
    let dir = test_dir("https-group");
    let s = |p: &Path| p.display().to_string();
    let ca = certs(&dir, &[("master", &[])]);
    let flags = tls_flags(&dir.join("master"));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let masters = Masters::on_free_ports(3, &dir, &flags);

    let ca_pem = ca.join("ca.pem");
    let (standby, location) = wait_for(START, "a standby to redirect to the leader", || {
        (0..3).find_map(|i| {
            let url = format!("https://{}/state", masters.http(i));
            match https_answer(&ca_pem, &url) {
                Some((307, Some(location))) => Some((i, location)),
                _ => None,
            }
        })
    });
    assert!(
        location.starts_with("https://127.0.0.1:") && location.ends_with("/state"),
        "{location}"
    );
    // The leader answers there once it has recovered the registry.
    wait_for(START, "the leader to answer at its https URL", || {
        (https_answer(&ca_pem, &location)?.0 == 200).then_some(())
    });

    // The CLI follows it, asked at the standby by its bare address.
    let out = run(&[
        "state",
        "--master",
        &masters.http(standby),
        "--tls-ca",
        &s(&ca_pem),
    ]);
    assert_succeeded(&out);
    drop(masters);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The body of `GET url` from a client trusting the CA at `ca`.
fn https_body(ca: &Path, url: &str) -> String {
    let client = https_client(ca).timeout(Duration::from_secs(5)).build();
    let response = client.get(url).call().expect("GET answers");
    response.into_string().expect("a text body")
}

#[test]
fn certificates_prove_principals_to_an_authenticating_master() {
    let dir = test_dir("tls-principals");
    let s = |p: &Path| p.display().to_string();
    // The master's certificate names no one; the agent's and team-a's
    // name their principals; "member" is a cluster member naming no one.
    let ca = certs(
        &dir,
        &[
            ("master", &[]),
            ("agent", &["--principal", "node-1"]),
            ("team-a", &["--principal", "team-a"]),
            ("member", &[]),
        ],
    );
    // Only team-a may register frameworks: the ACL sees the principal the
    // certificate proved.
    let acls = dir.join("acls.json");
    std::fs::write(
        &acls,
        r#"{"permissive": false, "register_frameworks": [
              {"principals": {"values": ["team-a"]}, "roles": {"type": "ANY"}}],
            "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
            "view_frameworks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}"#,
    )
    .expect("write the ACLs");

    // No --credentials: certificates are the only way to prove a principal.
    let mut args: Vec<String> = [
        "master",
        "--port",
        "0",
        "--http-port",
        "0",
        "--authenticate-frameworks",
        "--authenticate-agents",
        "--acls",
        &s(&acls),
    ]
    .map(String::from)
    .to_vec();
    args.extend(tls_flags(&dir.join("master")));
    let (_master, line) = daemon(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let word = |prefix: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(prefix))
            .map(|w| w.trim_end_matches(';').to_owned())
            .unwrap_or_else(|| panic!("the master says where it runs: {line:?}"))
    };
    let (addr, http) = (word("master@"), word("https://"));

    let (_agent, line) = tls_agent(&addr, &dir.join("agent"), &dir.join("work"));
    assert!(line.contains("agent running"), "{line:?}");

    let execute = |who: &str| {
        let mut args: Vec<String> = [
            "execute",
            "--master",
            &addr,
            "--command",
            "true",
            "--connect-timeout",
            "20s",
        ]
        .map(String::from)
        .to_vec();
        args.extend(tls_flags(&dir.join(who)));
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // team-a proves its principal with no secret, and its task runs on the
    // agent its certificate admitted.
    let out = execute("team-a");
    assert_succeeded(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 of 1 tasks finished"), "{stdout}");
    let ca_pem = ca.join("ca.pem");
    let frameworks = https_body(&ca_pem, &format!("https://{http}/master/frameworks"));
    assert!(
        frameworks.contains(r#""principal":"team-a""#),
        "{frameworks}"
    );

    // A member of the cluster whose certificate names no one proves no
    // principal, and is refused in words.
    let out = execute("member");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("subscription refused: authentication required"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
