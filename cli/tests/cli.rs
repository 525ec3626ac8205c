//! The `corral` binary as users run it: `corral execute` against a real
//! local cluster, and bad flags or an unreachable master answered in one
//! plain sentence.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::procs::{assert_succeeded, docker_test_image};
use corral_examples::local::{find_executor, LocalCluster, LocalConfig};

fn corral(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(args)
        .env("CORRAL_LOG", "error")
        .output()
        .expect("corral runs")
}

fn cluster(test: &str) -> LocalCluster {
    let executor = find_executor().expect("corral-executor is built (cargo test --workspace)");
    let dir = std::env::temp_dir().join(format!("corral-cli-{}-{test}", std::process::id()));
    let resources = "cpus:1;mem:512".parse().expect("resources");
    let mut cfg = LocalConfig::new(2, resources, &dir, &executor);
    cfg.master_addr = "127.0.0.1:0".parse().expect("address");
    cfg.master.allocator.interval = Duration::from_millis(100);
    LocalCluster::start(cfg).expect("cluster starts")
}

#[allow(clippy::disallowed_methods)] // tests wait on real time
fn clock() -> std::time::Instant {
    std::time::Instant::now()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A TCP port nobody listens on now (a master's default port would clash
/// between tests running side by side).
fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string()
}

/// This test run's scratch path for `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("corral-cli-{}-{name}", std::process::id()))
}

#[test]
fn execute_runs_instances_and_exits_zero_when_all_finish() {
    let c = cluster("ok");
    let master = c.master().addr().to_string();
    let out = corral(&[
        "execute",
        "--master",
        &master,
        "--command",
        "true",
        "--instances",
        "3",
    ]);
    assert_succeeded(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("3 of 3 tasks finished"), "{stdout}");
    // Into a pipe, progress comes as whole lines, each a change.
    assert!(!stdout.contains('\r'), "{stdout:?}");
    let progress: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("tasks: 3 |"))
        .collect();
    assert!(
        progress.contains(&"tasks: 3 | launched 3 | running 0 | finished 3 | failed 0"),
        "{stdout}"
    );
    assert!(progress.windows(2).all(|w| w[0] != w[1]), "{stdout}");
}

#[test]
fn execute_exits_nonzero_and_says_why_when_the_command_fails() {
    let c = cluster("fail");
    let master = c.master().addr().to_string();
    let out = corral(&["execute", "--master", &master, "--command", "exit 3"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("0 of 1 tasks finished"), "{stdout}");
    assert!(stdout.contains("status 3"), "{stdout}");
}

#[test]
fn an_unreachable_master_gets_one_plain_sentence() {
    let out = corral(&[
        "execute",
        "--master",
        "127.0.0.1:9",
        "--command",
        "true",
        "--connect-timeout",
        "1s",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot reach the master at 127.0.0.1:9"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_flags_get_one_plain_sentence() {
    for args in [
        vec![
            "execute",
            "--master",
            "127.0.0.1:5050",
            "--command",
            "true",
            "--instances",
            "0",
        ],
        vec!["execute", "--master", "not an address", "--command", "true"],
        vec!["master", "--allocation-interval", "fast"],
        vec!["master", "--weights", "web=-1"],
        vec![
            "agent",
            "--master",
            "127.0.0.1:5050",
            "--resources",
            "cpus:many",
        ],
        vec!["agent", "--master", "127.0.0.1:5050,not an address"],
        vec!["agent", "--masters", "127.0.0.1:5050,127.0.0.1:5050"],
    ] {
        let out = corral(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("error") || l.starts_with("corral:")),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn execute_follows_a_list_of_masters_past_one_that_is_down() {
    let c = cluster("list");
    let master = c.master().addr().to_string();
    // A loopback port nothing listens on: Subscribe goes unanswered there.
    let down = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port");
    let list = format!("{down},{master}");
    let out = corral(&["execute", "--masters", &list, "--command", "true"]);
    assert_succeeded(&out);
    assert!(text(&out.stdout).contains("1 of 1 tasks finished"));
}

#[test]
fn a_bad_entry_in_a_master_list_is_named() {
    let out = corral(&[
        "execute",
        "--master",
        "127.0.0.1:5050,nonsense",
        "--command",
        "true",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad --master entry 'nonsense'"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// The README's first command, on free ports and fewer tasks.
#[test]
fn corral_local_runs_its_demo_to_the_end() {
    let out = corral(&["local", "--agents", "2", "--demo", "5", "--port", "0"]);
    assert_succeeded(&out);
    assert!(
        text(&out.stdout).contains("5 of 5 tasks finished"),
        "{}",
        text(&out.stdout)
    );
}

/// `corral local` runs no TLS: its TLS flags are refused, not ignored.
#[test]
fn corral_local_refuses_tls_flags_it_would_ignore() {
    // With --demo, a regression ends (and fails) rather than serving on.
    let out = corral(&[
        "local",
        "--port",
        "0",
        "--demo",
        "1",
        "--tls-cert",
        "x.pem",
        "--tls-key",
        "x-key.pem",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("corral local runs its nodes in one process on loopback, without TLS"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn logs_into_a_file_or_pipe_carry_no_colour_codes() {
    let c = cluster("nocolour");
    let master = c.master().addr().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["execute", "--master", &master, "--command", "true"])
        .env("CORRAL_LOG", "debug")
        .output()
        .expect("corral runs");
    let stderr = text(&out.stderr);
    assert!(stderr.lines().count() > 3, "debug logs expected: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in {stderr:?}");
}

#[test]
fn malformed_http_requests_are_answered_400_and_not_logged_as_errors() {
    let (port, dir) = (free_port(), scratch("quiet"));
    let log = dir.with_extension("log");
    let _ = std::fs::remove_dir_all(&dir);
    // Its banner (stdout) and logs (stderr) in one file: the banner shows
    // the file was written, so no ERROR in it means something.
    let out = std::fs::File::create(&log).expect("a log file");
    let err = out.try_clone().expect("a log file");
    let mut master = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["master", "--port", &port, "--work-dir"])
        .arg(&dir)
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("corral master starts");
    let ask = |request: &[u8]| -> String {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(format!("127.0.0.1:{port}")) else {
            return String::new();
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(request);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        text(&answer)
    };
    let deadline = clock() + Duration::from_secs(20);
    while !ask(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").ends_with("ok") {
        assert!(clock() < deadline, "the master's HTTP API did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    for bad in [
        &b"NOT HTTP\r\n\r\n"[..],
        b"GET /state HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
    ] {
        let answer = ask(bad);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    }
    let _ = master.kill();
    let _ = master.wait();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.contains("ERROR"), "{logged}");
    assert!(logged.contains("master running"), "{logged}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log);
}

/// Builds the Docker test image (the project's script), or says why not.
/// `corral local | head -1`: the reader of its banner goes away before
/// the banner is printed, and the cluster must run on (it once died of
/// the broken pipe, taking a running job's master with it).
#[test]
fn corral_local_outlives_the_reader_of_its_output() {
    let (port, dir) = (free_port(), scratch("local-pipe"));
    std::fs::create_dir_all(&dir).expect("a test directory");
    let errors = dir.join("stderr");
    let mut local = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["local", "--agents", "1", "--containerizers", "process"])
        .args(["--port", &port, "--work-dir"])
        .arg(dir.join("work"))
        .env("CORRAL_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&errors).expect("a log file"))
        .spawn()
        .expect("corral local starts");
    drop(local.stdout.take());
    let master = format!("127.0.0.1:{port}");
    let out = corral(&["execute", "--master", &master, "--command", "true"]);
    let alive = local.try_wait().map(|s| s.is_none());
    let _ = local.kill();
    let _ = local.wait();
    let logged = std::fs::read_to_string(&errors).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert_succeeded(&out);
    // The broken pipe panicked the main thread, and the cluster went on
    // only until its shutdown, which unwinding had begun, was done.
    assert!(!logged.contains("panicked"), "{logged}");
    assert!(matches!(alive, Ok(true)), "corral local died: {alive:?}");
}

#[test]
fn corral_local_runs_docker_tasks_when_the_engine_is_there() {
    let image = docker_test_image().unwrap_or_else(|why| panic!("this test needs Docker: {why}"));
    let (port, dir) = (free_port(), scratch("local-docker"));
    let mut local = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["local", "--agents", "1", "--port", &port, "--work-dir"])
        .arg(&dir)
        .env("CORRAL_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("corral local starts");
    let mut first = String::new();
    if let Some(out) = local.stdout.take() {
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut first);
    }
    assert!(first.contains("running docker,process"), "{first}");
    let master = format!("127.0.0.1:{port}");
    let out = corral(&[
        "execute",
        "--master",
        &master,
        "--docker-image",
        image,
        "--command",
        "echo hi",
        "--timeout",
        "60s",
    ]);
    let _ = local.kill();
    let _ = local.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_succeeded(&out);
    assert!(
        text(&out.stdout).contains("1 of 1 tasks finished"),
        "{}",
        text(&out.stdout)
    );
}
