//! A whole cluster in one process (Mesos's `mesos-local`): a master node and
//! N agent nodes on loopback, each a real QUIC node, running real task
//! processes through the command executor. `corral local`, the end-to-end
//! tests and `launchbench` stand on it. With [`LocalConfig::http`] the
//! master serves its HTTP API and web UI and every agent its own API, as
//! `corral master` and `corral agent` do.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use corral_agent::state::{AgentSnapshot, GetAgentState};
pub use corral_agent::RecoverMode;
use corral_agent::{Agent, AgentConfig, Containerizer};
use corral_api::resources::{RangeSet, Resources};
use corral_master::board::StateBoard;
use corral_master::http::{HttpConfig, HttpError, HttpServer};
use corral_master::master::{Master, MasterConfig};
use corral_master::state::{GetState, MasterState};
use corral_runtime::{Actor, AskError, Node, NodeConfig, NodeError, Pid, SpawnError};
use thiserror::Error;

/// What a local cluster looks like.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// How many agents (3).
    pub agents: usize,
    /// Where the master listens (127.0.0.1:5050, Mesos's port; port 0 picks
    /// a free one).
    pub master_addr: SocketAddr,
    /// What each agent offers. Agent `i` gets the ports `[31000 + 1000 i,
    /// 31999 + 1000 i]` on top, so ports never overlap between agents.
    pub agent_resources: Resources,
    /// Agent `i` keeps its sandboxes under `work_dir/agent-i` and its
    /// checkpoint (the node's store) under `work_dir/agent-i/meta`.
    pub work_dir: PathBuf,
    /// Shell words that start the command executor.
    pub executor_command: String,
    /// The master's settings.
    pub master: MasterConfig,
    /// How the agents may run tasks (default: plain processes only).
    pub containerizers: Vec<Containerizer>,
    /// Agent settings applied to every agent after the defaults.
    pub tune_agent: fn(&mut AgentConfig),
    /// Serve HTTP: the master's API and UI on TCP at `master_addr`'s IP and
    /// [`http_port`](LocalConfig::http_port), each agent's API on a free
    /// port of its node's IP (default false).
    pub http: bool,
    /// The master's HTTP port when `http` is set; None (the default) uses
    /// `master_addr`'s port, as Mesos serves HTTP on its master port (0:
    /// any free port).
    pub http_port: Option<u16>,
}

impl LocalConfig {
    /// `agents` agents each offering `agent_resources`, sandboxes under
    /// `work_dir`, tasks run by the executor at `executor`.
    pub fn new(
        agents: usize,
        agent_resources: Resources,
        work_dir: &Path,
        executor: &Path,
    ) -> LocalConfig {
        LocalConfig {
            agents,
            master_addr: SocketAddr::from(([127, 0, 0, 1], 5050)),
            agent_resources,
            work_dir: work_dir.to_owned(),
            executor_command: executor_command(executor),
            master: MasterConfig::default(),
            containerizers: vec![Containerizer::Process],
            tune_agent: |_| {},
            http: false,
            http_port: None,
        }
    }
}

/// Why a local cluster could not start or answer.
#[derive(Debug, Error)]
pub enum LocalError {
    /// A node could not start.
    #[error("cannot start a node: {0}")]
    Node(#[from] NodeError),
    /// An actor could not be spawned.
    #[error("cannot start an actor: {0}")]
    Spawn(#[from] SpawnError),
    /// A configuration value does not work.
    #[error("{0}")]
    Config(String),
    /// The master did not answer.
    #[error("the master did not answer: {0}")]
    Ask(#[from] AskError),
    /// An HTTP server could not start.
    #[error("cannot serve HTTP: {0}")]
    Http(#[from] HttpError),
    /// What was waited for did not happen in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
}

/// A running local cluster; dropping it stops every node.
pub struct LocalCluster {
    master: Pid,
    // Fields drop in order: HTTP servers (which hold node handles) first.
    master_http: Option<HttpServer>,
    agent_http: Vec<HttpServer>,
    master_node: Arc<Node>,
    agent_nodes: Vec<Arc<Node>>,
    /// Each agent's configuration as started (for restarts).
    agent_cfgs: Vec<AgentConfig>,
    http: bool,
    /// What the cluster was started with (for agents added later).
    cfg: LocalConfig,
}

impl LocalCluster {
    /// Starts the master, then the agents, and waits until every agent has
    /// registered (up to 30 s).
    pub fn start(cfg: LocalConfig) -> Result<LocalCluster, LocalError> {
        cfg.master
            .validate()
            .map_err(|e| LocalError::Config(e.to_string()))?;
        let master_node = Arc::new(Node::start(NodeConfig {
            listen: cfg.master_addr,
            ..NodeConfig::default()
        })?);
        // HTTP first: the master records its URL when it takes the lead,
        // for redirects to it.
        let mut master_cfg = cfg.master.clone();
        let board = StateBoard::default();
        let master_http = if cfg.http {
            let port = cfg.http_port.unwrap_or(cfg.master_addr.port());
            let listen = SocketAddr::new(cfg.master_addr.ip(), port);
            let pid = master_node
                .pid(Master::NAME)
                .map_err(|e| LocalError::Config(e.to_string()))?;
            let server = corral_master::http::serve(
                HttpConfig::new(listen),
                master_node.clone(),
                pid,
                board.clone(),
                cfg.master.acls.clone(),
            )?;
            master_cfg.http_url = Some(server.url());
            Some(server)
        } else {
            None
        };
        // Only a master with HTTP readers publishes its state.
        let master = match master_http {
            Some(_) => Master::new(master_cfg).publishing_to(board),
            None => Master::new(master_cfg),
        };
        let master = master_node.spawn(Master::NAME, master)?;
        let agents = cfg.agents;
        let mut cluster = LocalCluster {
            master,
            master_http,
            agent_http: Vec::new(),
            master_node,
            agent_nodes: Vec::new(),
            agent_cfgs: Vec::new(),
            http: cfg.http,
            cfg,
        };
        for _ in 0..agents {
            cluster.start_agent()?;
        }
        cluster.wait_for(Duration::from_secs(30), "agents to register", |s| {
            s.agents.len() >= agents
        })?;
        Ok(cluster)
    }

    /// Starts one more agent, as the configuration describes the others,
    /// and waits until it has registered (up to 30 s); returns its index.
    pub fn add_agent(&mut self) -> Result<usize, LocalError> {
        let i = self.start_agent()?;
        self.wait_for(Duration::from_secs(30), "the new agent to register", |s| {
            s.agents.len() > i
        })?;
        Ok(i)
    }

    /// Starts agent number `agent_nodes.len()` (not waiting for it).
    fn start_agent(&mut self) -> Result<usize, LocalError> {
        let i = self.agent_nodes.len();
        let cfg = &self.cfg;
        let first = 31_000 + 1000 * i as u64;
        let ports = RangeSet::from_pairs([(first, first + 999)])
            .ok_or_else(|| LocalError::Config("bad port range".to_owned()))?;
        let resources = cfg
            .agent_resources
            .clone()
            .with_ranges("ports", ports)
            .map_err(|e| LocalError::Config(e.to_string()))?;
        let mut acfg = AgentConfig::new(
            self.master.clone(),
            format!("local-{i}"),
            resources,
            cfg.work_dir.join(format!("agent-{i}")),
            cfg.executor_command.clone(),
        );
        acfg.containerizers = cfg.containerizers.clone();
        (cfg.tune_agent)(&mut acfg);
        // Docker, when the agent offers it: checked once (leftovers of
        // an earlier run are kept: their executors re-register).
        corral_agent::prepare_docker(&mut acfg);
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let (node, server) = start_agent(listen, &mut acfg, self.http)?;
        self.agent_http.extend(server);
        self.agent_nodes.push(node);
        self.agent_cfgs.push(acfg);
        Ok(i)
    }

    /// The master's pid, for frameworks.
    pub fn master(&self) -> &Pid {
        &self.master
    }

    /// How many agents run.
    pub fn agents(&self) -> usize {
        self.agent_nodes.len()
    }

    /// The master's HTTP base URL (`http://ip:port`, the web UI), when the
    /// cluster serves HTTP.
    pub fn http_url(&self) -> Option<String> {
        self.master_http.as_ref().map(HttpServer::url)
    }

    /// Each agent's HTTP base URL, in agent order (empty without HTTP).
    pub fn agent_http_urls(&self) -> Vec<String> {
        self.agent_http.iter().map(HttpServer::url).collect()
    }

    /// The master's current state.
    pub fn state(&self) -> Result<MasterState, LocalError> {
        Ok(self
            .master_node
            .ask(&self.master, GetState, Duration::from_secs(5))?)
    }

    /// Asks the master for its state until `done` holds, for up to
    /// `timeout`; returns the state that satisfied it.
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&MasterState) -> bool,
    ) -> Result<MasterState, LocalError> {
        poll(timeout, what, || self.state(), done)
    }

    /// Agent `i`'s view of itself (what its HTTP `/state` shows).
    pub fn agent_state(&self, i: usize) -> Result<AgentSnapshot, LocalError> {
        let node = self
            .agent_nodes
            .get(i)
            .ok_or_else(|| LocalError::Config(format!("there is no agent {i}")))?;
        let agent = node
            .pid(Agent::NAME)
            .map_err(|e| LocalError::Config(e.to_string()))?;
        Ok(node.ask(&agent, GetAgentState, Duration::from_secs(5))?)
    }

    /// Asks agent `i` for its state until `done` holds, for up to
    /// `timeout`; returns the state that satisfied it.
    pub fn wait_for_agent(
        &self,
        i: usize,
        timeout: Duration,
        what: &str,
        done: impl Fn(&AgentSnapshot) -> bool,
    ) -> Result<AgentSnapshot, LocalError> {
        poll(timeout, what, || self.agent_state(i), done)
    }

    /// Restarts agent `i` as `corral agent` restarted on the same work
    /// directory and port would be: its node shuts down (its executors and
    /// tasks keep running), and a new node on the same address and store
    /// starts a new agent actor, which recovers from its checkpoint. The
    /// other agents are untouched. Returns once the new agent runs; wait
    /// on the master's state for it to have re-registered.
    pub fn restart_agent(&mut self, i: usize) -> Result<(), LocalError> {
        self.restart_agent_with(i, |_| {})
    }

    /// [`restart_agent`](Self::restart_agent), with `tune` applied to the
    /// agent's configuration first (e.g. `recover = RecoverMode::Cleanup`).
    pub fn restart_agent_with(
        &mut self,
        i: usize,
        tune: impl FnOnce(&mut AgentConfig),
    ) -> Result<(), LocalError> {
        let (Some(node), Some(cfg)) = (self.agent_nodes.get(i), self.agent_cfgs.get(i)) else {
            return Err(LocalError::Config(format!("there is no agent {i}")));
        };
        let listen = node.addr();
        let mut acfg = cfg.clone();
        tune(&mut acfg);
        let has_http = i < self.agent_http.len();
        if has_http {
            self.agent_http.remove(i).stop();
        }
        let old = self.agent_nodes.remove(i);
        stop_node(old);
        let (node, server) = start_agent(listen, &mut acfg, self.http)?;
        self.agent_nodes.insert(i, node);
        if let (Some(server), true) = (server, has_http) {
            self.agent_http.insert(i, server);
        }
        self.agent_cfgs[i] = acfg;
        Ok(())
    }

    /// Stops the HTTP servers, then every node.
    pub fn shutdown(self) {
        if let Some(http) = self.master_http {
            http.stop();
        }
        for http in self.agent_http {
            http.stop();
        }
        for node in self.agent_nodes {
            stop_node(node);
        }
        stop_node(self.master_node);
    }
}

/// Starts an agent node on `listen` with its store under
/// `{work_dir}/meta`, its HTTP API when `http`, and the agent actor.
fn start_agent(
    listen: SocketAddr,
    acfg: &mut AgentConfig,
    http: bool,
) -> Result<(Arc<Node>, Option<HttpServer>), LocalError> {
    let node = Arc::new(Node::start(NodeConfig {
        listen,
        data_dir: Some(acfg.work_dir.join(corral_agent::checkpoint::META_DIR)),
        ..NodeConfig::default()
    })?);
    let server = if http {
        let server = serve_agent(&node, &acfg.work_dir)?;
        acfg.http_url = Some(server.url());
        Some(server)
    } else {
        None
    };
    acfg.validate()
        .map_err(|e| LocalError::Config(e.to_string()))?;
    node.spawn(Agent::NAME, Agent::new(acfg.clone()))?;
    Ok((node, server))
}

/// Starts an agent's HTTP API on a free port of its node's IP, before the
/// agent itself, so the agent can tell the master its URL when it
/// registers (requests until then get 503).
fn serve_agent(node: &Arc<Node>, work_dir: &Path) -> Result<HttpServer, LocalError> {
    let pid = node
        .pid(Agent::NAME)
        .map_err(|e| LocalError::Config(e.to_string()))?;
    let listen = SocketAddr::new(node.addr().ip(), 0);
    let server = corral_agent::http::serve(
        HttpConfig::new(listen),
        node.clone(),
        pid,
        work_dir.to_owned(),
        corral_api::acls::Acls::default(),
    )?;
    Ok(server)
}

/// Shuts a node down now if this is its last handle; otherwise it stops
/// when the last one (an HTTP worker finishing a request) is dropped.
fn stop_node(node: Arc<Node>) {
    if let Ok(node) = Arc::try_unwrap(node) {
        node.shutdown();
    }
}

/// Calls `ask` until what it answers satisfies `done`, for up to `timeout`.
fn poll<T>(
    timeout: Duration,
    what: &str,
    ask: impl Fn() -> Result<T, LocalError>,
    done: impl Fn(&T) -> bool,
) -> Result<T, LocalError> {
    let deadline = deadline(timeout);
    loop {
        let state = ask()?;
        if done(&state) {
            return Ok(state);
        }
        if past(deadline) {
            return Err(LocalError::Timeout(timeout, what.to_owned()));
        }
        // Polling the state is the event here: there is no push channel
        // for "the cluster looks like this" yet.
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[allow(clippy::disallowed_methods)] // the binary edge: a real deadline
fn deadline(timeout: Duration) -> std::time::Instant {
    std::time::Instant::now() + timeout
}

#[allow(clippy::disallowed_methods)] // the binary edge: a real deadline
fn past(deadline: std::time::Instant) -> bool {
    std::time::Instant::now() >= deadline
}

/// Starts a framework actor on a node of its own on loopback, the way a
/// framework process would run; keep the node alive as long as the
/// framework should run.
pub fn start_framework<A: Actor + Send>(actor: A) -> Result<(Node, Pid), LocalError> {
    start_framework_on(NodeConfig::default(), actor)
}

/// As [`start_framework`], on a node configured by `cfg` (e.g. with the
/// cluster's TLS identity).
pub fn start_framework_on<A: Actor + Send>(
    cfg: NodeConfig,
    actor: A,
) -> Result<(Node, Pid), LocalError> {
    let node = Node::start(cfg)?;
    let pid = node.spawn("framework", actor)?;
    Ok((node, pid))
}

/// The shell words that run the executor at `path`.
pub fn executor_command(path: &Path) -> String {
    let quoted = path.display().to_string().replace('\'', r"'\''");
    format!("exec '{quoted}'")
}

/// Finds the `corral-executor` binary: `$CORRAL_EXECUTOR`, else next to the
/// running binary, else one directory up (where cargo puts binaries when the
/// running one is a test in `deps/`).
pub fn find_executor() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CORRAL_EXECUTOR") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("corral-executor"),
        dir.parent()?.join("corral-executor"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Finds the `corral-executor` binary ([`find_executor`]), building it
/// with cargo (in the running binary's profile) when it is not there yet,
/// as on a fresh clone where only an example was built.
pub fn find_or_build_executor() -> Result<PathBuf, LocalError> {
    if let Some(found) = find_executor() {
        return Ok(found);
    }
    build(
        "corral-executor (the program that runs tasks)",
        &["-p", "corral-executor"],
    )?;
    find_executor().ok_or_else(|| {
        LocalError::Config("corral-executor was built but is not next to this binary".to_owned())
    })
}

/// Finds example `name` of this package beside the running binary (in
/// `target/<profile>/examples`), building it with cargo (in the running
/// binary's profile) when it is not there yet.
pub fn find_or_build_example(name: &str) -> Result<PathBuf, LocalError> {
    let beside = || -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        let dir = exe.parent()?;
        [dir.join(name), dir.parent()?.join("examples").join(name)]
            .into_iter()
            .find(|p| p.is_file())
    };
    if let Some(found) = beside() {
        return Ok(found);
    }
    build(name, &["-p", "corral-examples", "--example", name])?;
    beside().ok_or_else(|| {
        LocalError::Config(format!("{name} was built but is not beside this binary"))
    })
}

/// Runs `cargo build ARGS` in the running binary's profile, saying what
/// it builds and why it failed. Not actor code: the process that starts a
/// local cluster builds what it lacks before any node runs.
#[allow(clippy::disallowed_methods)]
fn build(what: &str, args: &[&str]) -> Result<(), LocalError> {
    let exe = std::env::current_exe().map_err(|e| LocalError::Config(e.to_string()))?;
    let release = exe.ancestors().any(|d| d.ends_with("release"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.arg("build").args(args);
    if release {
        command.arg("--release");
    }
    eprintln!("building {what} ...");
    let status = command
        .status()
        .map_err(|e| LocalError::Config(format!("cannot run cargo to build {what}: {e}")))?;
    if !status.success() {
        return Err(LocalError::Config(format!(
            "cargo build {} failed ({status})",
            args.join(" ")
        )));
    }
    Ok(())
}

/// What a benchmark binary sets up first: its log (to stderr, at the
/// level `CORRAL_LOG` asks, errors only by default) and its scratch
/// directory `corral-NAME-PID` under the temp dir.
pub fn bench_start(name: &str) -> PathBuf {
    let filter = std::env::var("CORRAL_LOG").unwrap_or_else(|_| "error".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    std::env::temp_dir().join(format!("corral-{name}-{}", std::process::id()))
}
