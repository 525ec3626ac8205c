//! Running a peer node in another OS process: this same test executable,
//! re-entered through the ignored `child_node` entry.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use corral_runtime::node::tls::TlsConfig;
use corral_runtime::{Node, NodeConfig, Pid};

use crate::actors::{Ponger, Silent, Sink, StatsActor};

const CHILD_ENV: &str = "CORRAL_TEST_CHILD";
const READY: &str = "corral-child-ready ";

#[derive(Default, Clone)]
pub struct ChildOpts {
    /// 0: any free port.
    pub port: u16,
    pub tls: Option<TlsConfig>,
    /// The child node's `data_dir` (its reset key lives there).
    pub data_dir: Option<PathBuf>,
    /// The child node's link timeout; default 2 s. A connection's idle
    /// timeout is the shorter of its two nodes'.
    pub link_timeout: Option<Duration>,
}

/// A peer node process, killed when dropped.
pub struct Child {
    proc: std::process::Child,
    pub addr: SocketAddr,
}

impl Child {
    pub fn start(opts: ChildOpts) -> Child {
        let exe = std::env::current_exe().expect("test executable path");
        let mut cmd = Command::new(exe);
        cmd.args([
            "--ignored",
            "--exact",
            "child_node",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, "1")
        .env("CORRAL_TEST_PORT", opts.port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        if let Some(t) = opts.link_timeout {
            cmd.env("CORRAL_TEST_LINK_TIMEOUT_MS", t.as_millis().to_string());
        }
        if let Some(dir) = &opts.data_dir {
            cmd.env("CORRAL_TEST_DATA_DIR", dir);
        }
        if let Some(tls) = &opts.tls {
            for (k, v) in [
                ("CORRAL_TEST_CERT", &tls.cert_pem),
                ("CORRAL_TEST_KEY", &tls.key_pem),
                ("CORRAL_TEST_CA", &tls.ca_pem),
            ] {
                if let Some(p) = v {
                    cmd.env(k, p);
                }
            }
        }
        let mut proc = cmd.spawn().expect("child process starts");
        let stdout = proc.stdout.take().expect("child stdout");
        let addr = read_ready(stdout).expect("child prints its address");
        Child { proc, addr }
    }

    pub fn pid(&self, name: &str) -> Pid {
        Pid::new(name, self.addr).unwrap()
    }

    /// SIGKILL: the process gets no chance to close its connections.
    pub fn kill(&mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_ready(stdout: std::process::ChildStdout) -> Option<SocketAddr> {
    let mut lines = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).ok()? == 0 {
            return None;
        }
        // libtest may have printed "test child_node ... " on the same line.
        if let Some((_, addr)) = line.trim().split_once(READY) {
            let addr = addr.trim().parse().ok();
            // Keep draining the child's stdout so it never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = lines.read_to_end(&mut sink);
            });
            return addr;
        }
    }
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the child node until the parent closes its stdin, then exits the
/// process.
pub fn run_child() {
    // Run by hand (`--include-ignored`), there is no parent to serve: say so
    // rather than pass having checked nothing.
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "child_node is the peer-process entry of Child::start, not a test; it needs {CHILD_ENV}"
    );
    let port: u16 = std::env::var("CORRAL_TEST_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let path = |k: &str| std::env::var_os(k).map(PathBuf::from);
    let cfg = NodeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        link_timeout: Duration::from_millis(
            std::env::var("CORRAL_TEST_LINK_TIMEOUT_MS")
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(2000),
        ),
        tls: TlsConfig {
            cert_pem: path("CORRAL_TEST_CERT"),
            key_pem: path("CORRAL_TEST_KEY"),
            ca_pem: path("CORRAL_TEST_CA"),
        },
        data_dir: path("CORRAL_TEST_DATA_DIR"),
        ..NodeConfig::default()
    };
    crate::init_logs();
    let node = Node::start(cfg).expect("child node starts");
    node.spawn("pong", Ponger).unwrap();
    node.spawn("silent", Silent).unwrap();
    node.spawn("sink", Sink::default()).unwrap();
    node.spawn("stats", StatsActor(node.metrics_handle()))
        .unwrap();
    println!("{READY}{}", node.addr());
    let _ = std::io::stdout().flush();
    // Live until the parent goes away (it holds our stdin).
    let mut buf = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut buf);
    std::process::exit(0);
}
