//! `corral master` and `corral agent`: one node each, running until killed.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use corral_agent::containerizers::parse_containerizers;
use corral_agent::gc::sweeper::Sweeper;
use corral_agent::gc::GcConfig;
use corral_agent::{
    detect_resources, hostname, prepare_docker, Agent, AgentConfig, DockerCheck, RecoverMode,
};
use corral_api::acls::Acls;
use corral_api::resources::Resources;
use corral_http::HttpsIdentity;
use corral_master::allocator::AllocatorActorConfig;
use corral_master::board::StateBoard;
use corral_master::group::spawn_member;
use corral_master::http::{HttpAccess, HttpConfig};
use corral_master::master::{Authentication, Master, MasterConfig};
use corral_runtime::node::RESET_KEY_FILE;
use corral_runtime::{Node, NodeConfig};

use crate::config::Flags;
use crate::flags::{
    duration, executor_command, init_logs_to, master_pids, read_credential, read_credentials,
    read_flag_file, read_jwt_key, resolve, show_duration, LogFormat,
};
use crate::tls::TlsArgs;

/// Flags every node command takes: logging and the config file.
#[derive(Args, Debug)]
pub struct NodeCommon {
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, env = "CORRAL_LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// Log line format.
    #[arg(long, env = "CORRAL_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// A TOML file of settings (keys are these flags' names); flags and
    /// CORRAL_* variables win over it.
    #[arg(long, env = "CORRAL_CONFIG")]
    config: Option<PathBuf>,
    /// Also write the log to a file in this directory
    /// (`corral-master.log`, `corral-agent.log`), which the node's
    /// `/files/*` serve as Mesos's `/master/log` and `/slave/log`.
    #[arg(long, env = "CORRAL_LOG_DIR")]
    log_dir: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsArgs,
}

impl NodeCommon {
    /// The certificate the node's HTTP port serves HTTPS with: the node's
    /// own, when it has one (docs/security.md).
    fn https(&self) -> Result<Option<HttpsIdentity>> {
        Ok(HttpsIdentity::of(&self.tls.config()?))
    }

    /// The scheme of the node's HTTP port: `https` with a certificate.
    fn http_scheme(&self) -> &'static str {
        if self.tls.has_cert() {
            "https"
        } else {
            "http"
        }
    }

    /// Starts logging as these flags say; the log file written, if any.
    fn init_logs(&self, name: &str) -> Result<Option<PathBuf>> {
        let file = match &self.log_dir {
            Some(dir) => Some(log_file_in(dir, name)?),
            None => None,
        };
        init_logs_to(&self.log_level, self.log_format, file.as_deref())?;
        Ok(file)
    }
}

/// `dir/corral-{name}.log`, the directory made if missing, as an absolute
/// path.
fn log_file_in(dir: &Path, name: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot make --log-dir {}", dir.display()))?;
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("cannot use --log-dir {}", dir.display()))?;
    Ok(dir.join(format!("corral-{name}.log")))
}

/// Flags of `corral master`.
#[derive(Args, Debug)]
pub struct MasterArgs {
    /// IP address to listen on (QUIC, UDP).
    #[arg(long, env = "CORRAL_IP", default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Port to listen on (Mesos's master port).
    #[arg(long, env = "CORRAL_PORT", default_value_t = 5050)]
    port: u16,
    /// TCP port of the HTTP API and web UI (default: the same number as
    /// --port, as Mesos serves both on 5050).
    #[arg(long, env = "CORRAL_HTTP_PORT")]
    http_port: Option<u16>,
    /// Time between batched allocation passes (a duration: 500ms, 1s, 2m).
    #[arg(long, env = "CORRAL_ALLOCATION_INTERVAL", default_value = "1s", value_parser = duration)]
    allocation_interval: Duration,
    /// Role weights, e.g. `analytics=3,web=1` (unlisted roles weigh 1).
    #[arg(long, env = "CORRAL_WEIGHTS", default_value = "")]
    weights: String,
    /// Rescind offers not answered within this time (a duration: 500ms, 1s, 2m; default: never).
    #[arg(long, env = "CORRAL_OFFER_TIMEOUT", value_parser = duration)]
    offer_timeout: Option<Duration>,
    /// How often agents are pinged (a duration: 500ms, 1s, 2m).
    #[arg(long, env = "CORRAL_AGENT_PING_TIMEOUT", default_value = "15s", value_parser = duration)]
    agent_ping_timeout: Duration,
    /// Pings an agent may miss in a row before it is removed.
    #[arg(long, env = "CORRAL_MAX_AGENT_PING_TIMEOUTS", default_value_t = 5)]
    max_agent_ping_timeouts: u32,
    /// After a failover, how long the new leader waits for agents to
    /// re-register before it removes them (a duration: 30s, 10m).
    #[arg(long, env = "CORRAL_AGENT_REREGISTER_TIMEOUT", default_value = "10m", value_parser = duration)]
    agent_reregister_timeout: Duration,
    /// How long an unreachable agent may take to come back before it is
    /// removed and its tasks are TASK_GONE (a duration: 30s, 10m).
    #[arg(long, env = "CORRAL_AGENT_REMOVAL_TIMEOUT", default_value = "10m", value_parser = duration)]
    agent_removal_timeout: Duration,
    /// Removed frameworks kept, with their last tasks, for /state, the web
    /// UI and `corral task log` (0: none).
    #[arg(long, env = "CORRAL_MAX_COMPLETED_FRAMEWORKS", default_value_t = 50)]
    max_completed_frameworks: usize,
    /// Ended tasks kept per framework, for reconciliation and display.
    #[arg(
        long,
        env = "CORRAL_MAX_COMPLETED_TASKS_PER_FRAMEWORK",
        default_value_t = 1000
    )]
    max_completed_tasks_per_framework: usize,
    #[command(flatten)]
    common: NodeCommon,
}

/// Flags of `corral master`: the master's own, and the replicated group
/// it belongs to (`corral local` takes the former only).
#[derive(Args, Debug)]
pub struct MasterCommand {
    #[command(flatten)]
    master: MasterArgs,
    /// Every master of a replicated group, this one included, as
    /// HOST:PORT,HOST:PORT,... (3 or 5; all masters list them in the same
    /// order). Empty: this master runs alone.
    #[arg(long, env = "CORRAL_MASTERS", default_value = "")]
    masters: String,
    /// Where a replicated master keeps its registry (the Raft log), and
    /// where any master keeps its connection reset key (`reset.key`), with
    /// which agents and frameworks notice a restart of the master within
    /// seconds rather than at their 10 s link timeout.
    #[arg(long, env = "CORRAL_WORK_DIR", default_value = "/tmp/corral/master")]
    work_dir: PathBuf,
    /// Principals and secrets that frameworks and agents may prove, in
    /// Mesos's JSON (`{"credentials": [{"principal": .., "secret": ..}]}`)
    /// or TOML (`[[credentials]]` tables). A framework or agent that sends
    /// a credential must prove it even when none is required.
    #[arg(long, env = "CORRAL_CREDENTIALS")]
    credentials: Option<PathBuf>,
    /// Frameworks must prove a principal to subscribe: one of
    /// --credentials, or one their certificate names (mutual TLS,
    /// --tls-ca; see `corral certs node --principal`).
    #[arg(long, env = "CORRAL_AUTHENTICATE_FRAMEWORKS")]
    authenticate_frameworks: bool,
    /// Agents must prove a principal to register: one of --credentials, or
    /// one their certificate names (mutual TLS).
    #[arg(long, env = "CORRAL_AUTHENTICATE_AGENTS")]
    authenticate_agents: bool,
    /// Who may do what, in Mesos's JSON ACL shape: register frameworks,
    /// run tasks, kill, tear down, view, read the master's log; see
    /// docs/security.md.
    #[arg(long, env = "CORRAL_ACLS")]
    acls: Option<PathBuf>,
    /// HTTP reads (GET, HEAD: /state, the web UI, ...) must prove a
    /// principal of --credentials with HTTP Basic authentication.
    #[arg(long, env = "CORRAL_AUTHENTICATE_HTTP_READONLY")]
    authenticate_http_readonly: bool,
    /// HTTP writes (POST: kills) must prove a principal of --credentials
    /// with HTTP Basic authentication.
    #[arg(long, env = "CORRAL_AUTHENTICATE_HTTP_READWRITE")]
    authenticate_http_readwrite: bool,
    /// A file holding the key (at least 32 bytes) that HTTP bearer tokens
    /// are signed with (HS256 JSON Web Tokens, `corral token`): a valid
    /// token proves its principal as HTTP Basic does.
    #[arg(long, env = "CORRAL_JWT_SECRET_KEY")]
    jwt_secret_key: Option<PathBuf>,
}

impl MasterCommand {
    /// Who must authenticate, over the actor protocol and over HTTP, from
    /// the flags.
    fn authentication(&self) -> Result<(Authentication, HttpAccess)> {
        let credentials = match &self.credentials {
            Some(path) => Some(read_credentials("credentials", path)?),
            None => None,
        };
        let http = HttpAccess {
            credentials: credentials.clone(),
            readonly: self.authenticate_http_readonly,
            readwrite: self.authenticate_http_readwrite,
            jwt: self
                .jwt_secret_key
                .as_deref()
                .map(read_jwt_key)
                .transpose()?,
        };
        let actors = Authentication {
            credentials,
            frameworks: self.authenticate_frameworks,
            agents: self.authenticate_agents,
            // Set from the TLS flags by the caller.
            certificates: false,
        };
        Ok((actors, http))
    }
}

/// Parses `--masters`: the group's addresses, in order. Empty: none.
pub fn master_group(text: &str) -> Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let addr = resolve(part).with_context(|| format!("bad entry '{part}' in --masters"))?;
        if out.contains(&addr) {
            bail!("--masters lists {addr} twice");
        }
        out.push(addr);
    }
    Ok(out)
}

/// Parses `role=weight,...`.
pub fn weights(text: &str) -> Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((role, w)) = part.split_once('=') else {
            bail!("weight '{part}' is not ROLE=WEIGHT");
        };
        let w: f64 = w
            .trim()
            .parse()
            .with_context(|| format!("weight of role '{role}' is not a number"))?;
        out.push((role.trim().to_owned(), w));
    }
    Ok(out)
}

impl MasterArgs {
    /// Whether any `--tls-*` flag (or its variable) is given.
    pub fn tls_given(&self) -> bool {
        self.common.tls.given()
    }

    /// The log level asked for.
    pub fn log_level(&self) -> &str {
        &self.common.log_level
    }

    /// The log format asked for.
    pub fn log_format(&self) -> LogFormat {
        self.common.log_format
    }

    /// The IP to listen on.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The port to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTP port: `--http-port`, else the same number as `--port`.
    pub fn http_port(&self) -> u16 {
        self.http_port.unwrap_or(self.port)
    }

    /// The master's settings from these flags, validated.
    pub fn config(&self) -> Result<MasterConfig> {
        let cfg = MasterConfig {
            allocator: AllocatorActorConfig {
                interval: self.allocation_interval,
                weights: weights(&self.weights)?,
                ..AllocatorActorConfig::default()
            },
            offer_timeout: self.offer_timeout,
            agent_ping_timeout: self.agent_ping_timeout,
            max_missed_pings: self.max_agent_ping_timeouts,
            agent_reregister_timeout: self.agent_reregister_timeout,
            agent_removal_timeout: self.agent_removal_timeout,
            max_completed_frameworks: self.max_completed_frameworks,
            max_completed_tasks: self.max_completed_tasks_per_framework,
            http_url: Some(format!(
                "{}://{}",
                self.common.http_scheme(),
                SocketAddr::new(self.ip, self.http_port())
            )),
            ..MasterConfig::default()
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Runs `corral master` until the process is killed.
pub fn master(command: MasterCommand, flags: Flags) -> Result<ExitCode> {
    let args = &command.master;
    let log_file = args.common.init_logs("master")?;
    let mut cfg = args.config()?;
    let (mut authentication, http_access) = command.authentication()?;
    authentication.certificates = args.common.tls.mutual();
    cfg.authentication = authentication;
    if let Some(path) = &command.acls {
        cfg.acls = read_flag_file("acls", path, Acls::parse)?;
    }
    cfg.validate()?;
    warn_if_open(args.ip, &cfg.authentication, &http_access);
    let addr = SocketAddr::new(args.ip, args.port);
    let group = master_group(&command.masters)?;
    let replicated = group.len() > 1 || group.first().is_some_and(|a| *a != addr);
    let node = Node::start(NodeConfig {
        listen: addr,
        tls: args.common.tls.config()?,
        data_dir: replicated.then(|| command.work_dir.clone()),
        // A lone master stores nothing else in its work dir; its key goes
        // where a replicated master's does, `{work-dir}/reset.key`.
        reset_key_file: Some(command.work_dir.join(RESET_KEY_FILE)),
        ..NodeConfig::default()
    })
    .with_context(|| format!("cannot start the master on {addr}"))?;
    let node = Arc::new(node);
    let board = StateBoard::default();
    let acls = cfg.acls.clone();
    let pid = if replicated {
        spawn_member(&node, cfg, &group, Some(board.clone()))?
    } else {
        let master = Master::new(cfg).publishing_to(board.clone());
        node.spawn(Master::NAME, master)?
    };
    let http = HttpConfig {
        access: http_access,
        flags,
        log_file,
        https: args.common.https()?,
        ..HttpConfig::new(SocketAddr::new(args.ip, args.http_port()))
    };
    let http = corral_master::http::serve(http, node.clone(), pid.clone(), board, acls)?;
    announce(format_args!(
        "master running at {pid}; web UI and API at {}; allocation interval {}",
        http.url(),
        show_duration(args.allocation_interval)
    ));
    run_until_stopped(&node)
}

/// Warns, loudly, of a master that anyone on the network may use: it
/// listens beyond this machine and asks no one to authenticate. Not refused,
/// as Mesos does not: a trusted network is a choice (docs/security.md).
fn warn_if_open(ip: IpAddr, auth: &Authentication, http: &HttpAccess) {
    if ip.is_loopback() {
        return;
    }
    if !http.readwrite {
        tracing::warn!(
            "the master listens on {ip} and does not authenticate HTTP writes: anyone who can \
             reach its HTTP port can kill tasks; see docs/security.md \
             (--authenticate-http-readwrite)"
        );
    }
    if auth.frameworks && auth.agents {
        return;
    }
    let open = match (auth.frameworks, auth.agents) {
        (false, false) => "frameworks and agents",
        (false, true) => "frameworks",
        _ => "agents",
    };
    tracing::warn!(
        "the master listens on {ip} and does not authenticate {open}: anyone who can reach it \
         can register them; see docs/security.md (--credentials, --authenticate-frameworks, \
         --authenticate-agents)"
    );
}

/// Prints a line about a running node to stdout. The node outlives its
/// reader (`corral local | head -1`), so a write that fails is ignored
/// rather than taking the node down.
pub(crate) fn announce(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Serves until the process is killed, or fails once the node's event loop
/// has ended, so that a supervisor (systemd) restarts a node that died
/// rather than keep a process that only serves HTTP. (`Node::wait` would
/// need the node's only handle; the HTTP server holds another.)
fn run_until_stopped(node: &Node) -> Result<ExitCode> {
    while !node.is_stopped() {
        // Checked once a second: a dead node is noticed quickly enough for
        // a supervisor, and the main thread has nothing else to do.
        std::thread::park_timeout(std::time::Duration::from_secs(1));
    }
    bail!("the node's event loop stopped (see the log above)")
}

/// Flags of `corral agent`.
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The masters, as HOST:PORT[,HOST:PORT...]: one, or every master of a
    /// replicated cluster (the agent finds the leader among them).
    #[arg(long, alias = "masters", env = "CORRAL_MASTER")]
    master: String,
    /// IP address to listen on (and to advertise to the master).
    #[arg(long, env = "CORRAL_IP", default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Port to listen on (Mesos's agent port).
    #[arg(long, env = "CORRAL_PORT", default_value_t = 5051)]
    port: u16,
    /// TCP port of the agent's HTTP API (state, sandbox files; default: the
    /// same number as --port, as Mesos serves both on 5051).
    #[arg(long, env = "CORRAL_HTTP_PORT")]
    http_port: Option<u16>,
    /// What to offer, e.g. `cpus:4;mem:8192;ports:[31000-32000]` (default:
    /// detected from the machine).
    #[arg(long, env = "CORRAL_RESOURCES")]
    resources: Option<String>,
    /// Attributes, e.g. `rack:r1;zone:a`.
    #[arg(long, env = "CORRAL_ATTRIBUTES", default_value = "")]
    attributes: String,
    /// Where sandboxes live.
    #[arg(long, env = "CORRAL_WORK_DIR", default_value = "/tmp/corral/agent")]
    work_dir: PathBuf,
    /// The command executor binary (default: corral-executor next to this
    /// binary, else this binary's `executor` subcommand).
    #[arg(long, env = "CORRAL_EXECUTOR")]
    executor: Option<PathBuf>,
    /// Time between SIGTERM and SIGKILL when a task is killed (a duration: 500ms, 1s, 2m).
    #[arg(long, env = "CORRAL_EXECUTOR_SHUTDOWN_GRACE_PERIOD", default_value = "5s", value_parser = duration)]
    executor_shutdown_grace_period: Duration,
    /// How tasks may run, in order of preference: `process` (plain
    /// commands) and `docker` (tasks with a Docker container), e.g.
    /// `docker,process`.
    #[arg(long, env = "CORRAL_CONTAINERIZERS", default_value = "process")]
    containerizers: String,
    /// What to do with the executors of an earlier run on this work
    /// directory: `reconnect` (take them back; their tasks keep running) or
    /// `cleanup` (kill them). The checkpoint lives in `{work-dir}/meta`.
    #[arg(long, env = "CORRAL_RECOVER", default_value = "reconnect", value_parser = recover_mode)]
    recover: RecoverMode,
    /// How long a restarted agent waits for its executors to re-register
    /// (a duration: 30s, 15m).
    #[arg(long, env = "CORRAL_RECOVERY_TIMEOUT", default_value = "15m", value_parser = duration)]
    recovery_timeout: Duration,
    /// How long a finished task's sandbox is kept once it stops changing,
    /// on a disk with room to spare (a duration: 12h, 3d, 1w).
    #[arg(long, env = "CORRAL_GC_DELAY", default_value = "1w", value_parser = duration)]
    gc_delay: Duration,
    /// The fraction of the work directory's disk to keep free: the fuller
    /// the disk past 1 minus this, the sooner sandboxes are removed.
    #[arg(long, env = "CORRAL_GC_DISK_HEADROOM", default_value_t = 0.1)]
    gc_disk_headroom: f64,
    /// How often the disk is measured and old sandboxes removed.
    #[arg(long, env = "CORRAL_DISK_WATCH_INTERVAL", default_value = "1m", value_parser = duration)]
    disk_watch_interval: Duration,
    /// The principal and secret this agent proves itself with to masters
    /// that authenticate agents: JSON `{"principal": .., "secret": ..}`,
    /// TOML, or Mesos's plain `PRINCIPAL SECRET`.
    #[arg(long, env = "CORRAL_CREDENTIAL")]
    credential: Option<PathBuf>,
    /// Run each framework's executors and tasks as the framework's user,
    /// when it names one (`true`, Mesos's default; the agent must run as
    /// root), or as the agent's own user (`false`).
    #[arg(long, env = "CORRAL_SWITCH_USER", default_value_t = true, action = clap::ArgAction::Set)]
    switch_user: bool,
    /// Principals and secrets that HTTP callers (sandbox readers) may
    /// prove with HTTP Basic authentication, as the master's --credentials
    /// (Mesos's `--http_credentials`).
    #[arg(long, env = "CORRAL_HTTP_CREDENTIALS")]
    http_credentials: Option<PathBuf>,
    /// Who may read which sandboxes (and the agent's log), in Mesos's
    /// JSON ACL shape (`access_sandboxes`, `access_mesos_logs`; the
    /// master's file serves as it is); see docs/security.md.
    #[arg(long, env = "CORRAL_ACLS")]
    acls: Option<PathBuf>,
    /// HTTP reads (/state, sandbox files) must prove a principal of
    /// --http-credentials.
    #[arg(long, env = "CORRAL_AUTHENTICATE_HTTP_READONLY")]
    authenticate_http_readonly: bool,
    /// HTTP writes must prove a principal of --http-credentials.
    #[arg(long, env = "CORRAL_AUTHENTICATE_HTTP_READWRITE")]
    authenticate_http_readwrite: bool,
    /// A file holding the key HTTP bearer tokens are signed with, as the
    /// master's --jwt-secret-key.
    #[arg(long, env = "CORRAL_JWT_SECRET_KEY")]
    jwt_secret_key: Option<PathBuf>,
    #[command(flatten)]
    common: NodeCommon,
}

/// Parses `--recover`.
fn recover_mode(text: &str) -> std::result::Result<RecoverMode, String> {
    match text {
        "reconnect" => Ok(RecoverMode::Reconnect),
        "cleanup" => Ok(RecoverMode::Cleanup),
        other => Err(format!("expected reconnect or cleanup, not '{other}'")),
    }
}

/// Runs `corral agent` until the process is killed.
pub fn agent(args: AgentArgs, flags: Flags) -> Result<ExitCode> {
    let log_file = args.common.init_logs("agent")?;
    let masters = master_pids("master", &args.master)?;
    let Some(master) = masters.first().cloned() else {
        bail!("--master names no master");
    };
    let resources = match &args.resources {
        Some(text) => text
            .parse::<Resources>()
            .with_context(|| format!("bad --resources '{text}'"))?,
        None => detect_resources(&args.work_dir)?,
    };
    let work_dir = if args.work_dir.is_absolute() {
        args.work_dir.clone()
    } else {
        std::env::current_dir()
            .context("cannot read the current directory")?
            .join(&args.work_dir)
    };
    let mut cfg = AgentConfig::new(
        master,
        hostname(),
        resources,
        work_dir,
        executor_command(args.executor.clone())?,
    )
    .with_masters(masters);
    cfg.attributes = args.attributes.clone();
    cfg.switch_user = args.switch_user;
    if let Some(path) = &args.credential {
        cfg.credential = Some(read_credential("credential", path)?);
    }
    let acls = match &args.acls {
        Some(path) => read_flag_file("acls", path, Acls::parse)?,
        None => Acls::default(),
    };
    cfg.kill_grace = args.executor_shutdown_grace_period;
    cfg.recover = args.recover;
    cfg.recovery_timeout = args.recovery_timeout;
    cfg.containerizers = parse_containerizers(&args.containerizers)
        .with_context(|| format!("bad --containerizers '{}'", args.containerizers))?;
    match prepare_docker(&mut cfg) {
        DockerCheck::NotEnabled => {}
        DockerCheck::Ready { version, removed } => announce(format_args!(
            "docker containerizer: {version}; removed {} container(s) left by an earlier run",
            removed.len()
        )),
        // prepare_docker has said so (once); the agent starts anyway.
        DockerCheck::Unavailable(_) => {}
    }
    let http_addr = SocketAddr::new(args.ip, args.http_port.unwrap_or(args.port));
    cfg.http_url = Some(format!("{}://{http_addr}", args.common.http_scheme()));
    // Executors join the agent with its own identity.
    cfg.executor_tls = args.common.tls.config()?;
    cfg.validate()?;
    let gc = GcConfig {
        delay: args.gc_delay,
        disk_headroom: args.gc_disk_headroom,
        interval: args.disk_watch_interval,
    };
    gc.validate()?;
    let addr = SocketAddr::new(args.ip, args.port);
    let node = Node::start(NodeConfig {
        listen: addr,
        tls: cfg.executor_tls.clone(),
        data_dir: Some(cfg.work_dir.join(corral_agent::checkpoint::META_DIR)),
        ..NodeConfig::default()
    })
    .with_context(|| format!("cannot start the agent on {addr}"))?;
    let node = Arc::new(node);
    // HTTP first: the agent tells the master its URL when it registers.
    let agent_pid = node.pid(Agent::NAME)?;
    let work_dir = cfg.work_dir.clone();
    let http = HttpConfig {
        access: HttpAccess {
            credentials: match &args.http_credentials {
                Some(path) => Some(read_credentials("http-credentials", path)?),
                None => None,
            },
            readonly: args.authenticate_http_readonly,
            readwrite: args.authenticate_http_readwrite,
            jwt: args
                .jwt_secret_key
                .as_deref()
                .map(read_jwt_key)
                .transpose()?,
        },
        flags,
        log_file,
        https: args.common.https()?,
        ..HttpConfig::new(http_addr)
    };
    let http = corral_agent::http::serve(
        http,
        node.clone(),
        agent_pid.clone(),
        work_dir.clone(),
        acls,
    )?;
    // The bound port, which `--http-port 0` leaves to the OS.
    cfg.http_url = Some(http.url());
    let _sweeper = Sweeper::start(node.clone(), agent_pid, work_dir, gc)
        .context("cannot start sandbox collection")?;
    let cfg_masters = cfg.masters.clone();
    let pid = node.spawn(Agent::NAME, Agent::new(cfg))?;
    let masters: Vec<String> = cfg_masters.iter().map(|m| m.addr().to_string()).collect();
    announce(format_args!(
        "agent running at {pid} (HTTP at {}), registering with {}",
        http.url(),
        masters.join(", ")
    ));
    run_until_stopped(&node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_takes_a_list_of_masters() {
        let pids = master_pids("master", "10.0.0.1:5050, 10.0.0.2:5050,10.0.0.3:5051").unwrap();
        let addrs: Vec<String> = pids.iter().map(|p| p.addr().to_string()).collect();
        assert_eq!(addrs, ["10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5051"]);
        assert!(pids.iter().all(|p| p.name() == Master::NAME));
        assert_eq!(master_pids("master", "10.0.0.1:5050").unwrap().len(), 1);
    }

    #[test]
    fn bad_master_entries_are_named() {
        for (text, named) in [
            ("10.0.0.1:5050,not-a-host", "not-a-host"),
            ("10.0.0.1:5050,,10.0.0.2:5050", "empty entry"),
            ("", "empty entry"),
            ("10.0.0.1:5050,10.0.0.1:5050", "same master"),
        ] {
            let err = format!("{:#}", master_pids("master", text).unwrap_err());
            assert!(err.contains(named), "{text}: {err}");
        }
    }
}
