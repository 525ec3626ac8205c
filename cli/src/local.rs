//! `corral local`: a master and N agents in this process (mesos-local),
//! optionally running a demo batch workload and exiting with its result.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use corral_agent::containerizers::{containerizers_text, docker_answers, parse_containerizers};
use corral_agent::Containerizer;
use corral_api::framework::FrameworkInfo;
use corral_api::resources::Resources;
use corral_examples::batch::BatchConfig;
use corral_examples::local::{LocalCluster, LocalConfig};

use crate::daemons::{announce, MasterArgs};
use crate::flags::{executor_command, init_logs_as};
use crate::run_batch::{print_summary, run_batch};

/// Flags of `corral local`.
#[derive(Args, Debug)]
pub struct LocalArgs {
    /// How many agents.
    #[arg(long, default_value_t = 3)]
    agents: usize,
    /// What each agent offers (ports are added per agent).
    #[arg(long, default_value = "cpus:2;mem:2048;disk:4096")]
    resources: String,
    /// Where the agents' sandboxes live (default: a fresh directory under
    /// the system's temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The command executor binary (default: corral-executor next to this
    /// binary, else this binary's `executor` subcommand).
    #[arg(long)]
    executor: Option<PathBuf>,
    /// Run a demo batch of this many tasks, show progress, print a summary
    /// and exit (0 if every task finished).
    #[arg(long)]
    demo: Option<usize>,
    /// The demo tasks' command.
    #[arg(long, default_value = "sleep 0.3")]
    demo_command: String,
    /// How the agents may run tasks: `process`, `docker` or both, in order
    /// of preference (e.g. `docker,process`); `auto` adds `docker` when
    /// the Docker engine answers.
    #[arg(long, env = "CORRAL_CONTAINERIZERS", default_value = "auto")]
    containerizers: String,
    #[command(flatten)]
    master: MasterArgs,
}

/// Runs `corral local`.
pub fn local(args: LocalArgs) -> Result<ExitCode> {
    // The demo's progress line reads better without info logs around it.
    let level = match (args.demo, args.master.log_level()) {
        (Some(_), "info") => "warn",
        (_, level) => level,
    };
    init_logs_as(level, args.master.log_format());
    if args.master.tls_given() {
        // Taken silently, they would leave an operator believing the
        // cluster is on TLS.
        bail!(
            "corral local runs its nodes in one process on loopback, without TLS: \
             --tls-cert, --tls-key and --tls-ca (or CORRAL_TLS_*) are for corral master, \
             agent and execute"
        );
    }
    let resources: Resources = args
        .resources
        .parse()
        .with_context(|| format!("bad --resources '{}'", args.resources))?;
    let work_dir = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("corral-local-{}", std::process::id())),
    };
    let containerizers = match args.containerizers.as_str() {
        "auto" if docker_answers() => vec![Containerizer::Docker, Containerizer::Process],
        "auto" => vec![Containerizer::Process],
        text => {
            parse_containerizers(text).with_context(|| format!("bad --containerizers '{text}'"))?
        }
    };
    let mut cfg = LocalConfig::new(args.agents, resources, &work_dir, std::path::Path::new("/"));
    cfg.containerizers = containerizers.clone();
    cfg.executor_command = executor_command(args.executor.clone())?;
    cfg.master = args.master.config()?;
    cfg.master_addr = SocketAddr::new(args.master.ip(), args.master.port());
    cfg.http = true;
    cfg.http_port = Some(args.master.http_port());
    let cluster = LocalCluster::start(cfg)?;
    let agents = match cluster.agents() {
        1 => "1 agent".to_owned(),
        n => format!("{n} agents"),
    };
    announce(format_args!(
        "local cluster: master {} with {agents} running {}; sandboxes under {}",
        cluster.master(),
        containerizers_text(&containerizers),
        work_dir.display()
    ));
    if let Some(url) = cluster.http_url() {
        announce(format_args!("web UI: {url}/"));
    }
    let Some(n) = args.demo else {
        announce(format_args!("running until interrupted (Ctrl-C)"));
        loop {
            std::thread::park();
        }
    };
    let info = FrameworkInfo::new("corral-local-demo", "*");
    let task = "cpus:0.1;mem:32"
        .parse::<Resources>()
        .context("demo task resources")?;
    let batch = BatchConfig::uniform(
        cluster.master().clone(),
        info,
        "demo",
        n,
        &args.demo_command,
        task,
    );
    let node_cfg = corral_runtime::NodeConfig::default();
    let summary = run_batch(
        batch,
        Vec::new(),
        node_cfg,
        Duration::from_millis(250),
        Duration::from_secs(10),
    )?;
    print_summary(&summary);
    cluster.shutdown();
    if args.work_dir.is_none() {
        // The demo's sandboxes were ours alone; leave no litter in /tmp.
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    let ok = summary.failures().is_empty();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
