//! `corral` daemons as real OS processes: start them on free loopback
//! ports, signal them, wait on what they serve.

// Real processes run on real time: the waits here read the clock.
#![allow(clippy::disallowed_methods)]

use std::fs::File;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A `corral` process, logging to `DIR/NAME.log`; SIGKILLed when dropped.
pub struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    /// Starts `corral ARGS` in its own process group.
    pub fn spawn(name: &str, dir: &Path, args: &[&str]) -> Proc {
        let log = File::create(dir.join(format!("{name}.log"))).expect("log file");
        let err = log.try_clone().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("corral starts");
        Proc {
            child,
            name: name.to_owned(),
        }
    }

    /// SIGKILL, as a machine that dies.
    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its exit status, once it exits within `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.sigkill();
    }
}

/// Runs `corral ARGS` to its end (at most a minute) and returns its output.
pub fn corral_output(args: &[&str]) -> Output {
    let dir = tempdir("out");
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("stdout file"))
        .stderr(File::create(&err).expect("stderr file"))
        .spawn()
        .expect("corral starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("corral {args:?} did not exit within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = Output {
        status,
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: std::fs::read(&err).unwrap_or_default(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    output
}

fn tempdir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("corral-cli-{}-{name}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `corral master --ip IP --work-dir DIR/master` (the README's lone
/// master) with `flags` added, logging to `DIR/NAME.log`.
pub fn lone_master(dir: &Path, name: &str, ip: IpAddr, flags: &[&str]) -> Proc {
    let (ip, work) = (
        ip.to_string(),
        dir.join("master").to_string_lossy().into_owned(),
    );
    let mut args = vec!["master", "--ip", &ip, "--work-dir", &work];
    args.extend_from_slice(flags);
    Proc::spawn(name, dir, &args)
}

/// `corral agent --master MASTER --ip IP --work-dir DIR/WORK` with `flags`
/// added, every other flag at its default, logging to `DIR/NAME.log`.
pub fn agent_at(
    dir: &Path,
    name: &str,
    work: &str,
    master: &str,
    ip: IpAddr,
    flags: &[&str],
) -> Proc {
    let (ip, work) = (
        ip.to_string(),
        dir.join(work).to_string_lossy().into_owned(),
    );
    let mut args = vec![
        "agent",
        "--master",
        master,
        "--ip",
        &ip,
        "--work-dir",
        &work,
    ];
    args.extend_from_slice(flags);
    Proc::spawn(name, dir, &args)
}

/// Fails the test with `out`'s output unless the command succeeded.
#[track_caller]
pub fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh directory for one test's logs and work dirs.
pub fn test_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

/// A UDP port free on loopback now (QUIC listens on UDP).
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// A TCP port free on loopback now (HTTP).
pub fn free_tcp_port() -> u16 {
    let s = TcpListener::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// An agent offering `cpus:2;mem:1024`, registering with any of `masters`
/// (a HOST:PORT list), its work dir under `dir`.
pub fn agent(dir: &Path, i: usize, masters: &str) -> Proc {
    let work = dir.join(format!("agent{i}"));
    agent_in(dir, i, &work, masters, free_udp_port(), free_tcp_port())
}

/// [`agent`] on given ports and a given work dir (to restart one where it
/// was); its log is `agent{i}.log`.
pub fn agent_on(dir: &Path, i: usize, masters: &str, port: u16, http: u16) -> Proc {
    agent_in(dir, i, &dir.join("agent-work"), masters, port, http)
}

fn agent_in(dir: &Path, i: usize, work: &Path, masters: &str, port: u16, http: u16) -> Proc {
    let (port, http) = (port.to_string(), http.to_string());
    let work = work.to_string_lossy().into_owned();
    Proc::spawn(
        &format!("agent{i}"),
        dir,
        &[
            "agent",
            "--master",
            masters,
            "--port",
            &port,
            "--http-port",
            &http,
            "--work-dir",
            &work,
            "--resources",
            "cpus:2;mem:1024",
        ],
    )
}

/// Polls `check` every 50 ms until it gives a value; panics naming `what`
/// after `within`.
pub fn wait_for<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What process `name` (see [`Proc::spawn`]) has logged so far in `dir`.
pub fn log_of(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

/// Whether process `name`'s log in `dir` has `needle`.
pub fn log_has(dir: &Path, name: &str, needle: &str) -> bool {
    log_of(dir, name).contains(needle)
}

/// The Docker image the tests run containers of, built locally by the
/// project's script (no registry), or why it could not be.
pub fn docker_test_image() -> Result<&'static str, String> {
    let image = "corral/busybox:test";
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-test-image.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(image)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(image)
}
