//! `corral execute`: run a command on the cluster (like mesos-execute),
//! wait for it, and exit with its result; with `--docker-image`, in a Docker
//! container on an agent that offers the docker containerizer. Interrupted
//! (SIGINT, SIGTERM) or out of `--timeout`, it tears its framework down so
//! that its tasks are killed and their resources offered again at once.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use corral_api::container::{ContainerInfo, NetworkMode};
use corral_api::framework::FrameworkInfo;
use corral_api::resources::Resources;
use corral_examples::batch::BatchConfig;
use corral_scheduler::fit::ContainerTemplate;

use crate::flags::{duration, init_logs, master_pids};
use crate::run_batch::{print_summary, run_batch_watched, Ending, Watch};

/// Flags of `corral execute`.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit status: 0 if every instance finished; 1 if one did not, or \
--timeout passed; 2 on an error (e.g. no master within --connect-timeout); 130 on \
SIGINT and 143 on SIGTERM. Interrupted or timed out, the framework is torn down first: \
its tasks are killed and their resources offered again at once."
)]
pub struct ExecuteArgs {
    /// The master, as HOST:PORT, or every master of the cluster as
    /// HOST:PORT,HOST:PORT,... (the framework follows whichever leads),
    /// each as the masters advertise themselves to agents.
    #[arg(long, visible_alias = "masters")]
    master: String,
    /// The shell command to run (with --docker-image it may be empty: the
    /// image's default command runs).
    #[arg(long)]
    command: String,
    /// Run the command in a Docker container of this image (it must be on
    /// the agent unless --force-pull-image).
    #[arg(long)]
    docker_image: Option<String>,
    /// Pull the image before launching (needs a reachable registry).
    #[arg(long, requires = "docker_image")]
    force_pull_image: bool,
    /// The container's network: host, bridge or none.
    #[arg(long, default_value = "host", value_parser = network, requires = "docker_image")]
    docker_network: NetworkMode,
    /// Container ports to publish (bridge network), each on a port taken
    /// from the offer, e.g. `--docker-port 8080`.
    #[arg(long = "docker-port", requires = "docker_image")]
    docker_ports: Vec<u16>,
    /// An extra `docker run` option from the allow-list, as NAME=VALUE
    /// (e.g. `hostname=web`); repeatable.
    #[arg(long = "docker-parameter", requires = "docker_image")]
    docker_parameters: Vec<String>,
    /// CPUs per instance.
    #[arg(long, default_value_t = 0.1)]
    cpus: f64,
    /// Memory per instance, in MB.
    #[arg(long, default_value_t = 32.0)]
    mem: f64,
    /// How many instances.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Task and framework name.
    #[arg(long, default_value = "corral-execute")]
    name: String,
    /// The framework's role.
    #[arg(long, default_value = "*")]
    role: String,
    /// The OS user the tasks run as, on agents that switch users (the
    /// default for agents running as root). Default: the agent's user.
    #[arg(long)]
    user: Option<String>,
    /// Ask agents to checkpoint the tasks, so that they keep running
    /// through an agent restart.
    #[arg(long)]
    checkpoint: bool,
    /// Understand TASK_UNREACHABLE and TASK_GONE (otherwise tasks on a lost
    /// agent are reported TASK_LOST).
    #[arg(long)]
    partition_aware: bool,
    /// How long the framework may be without a master (a duration: 500ms,
    /// 1s, 2m): to wait for one to answer at the start, and for one to take
    /// it back after the link to its master breaks. Then execute gives up.
    /// A silent master counts as gone after this long, or after the
    /// master's own link timeout (10 s) if that is shorter.
    #[arg(long, default_value = "10s", value_parser = duration)]
    connect_timeout: Duration,
    /// Give up if the instances have not all ended within this time (a
    /// duration: 30s, 5m): the framework is torn down, its tasks killed,
    /// and execute exits 1. Default: wait for ever (a task that no agent
    /// can hold is reported after a few seconds either way).
    #[arg(long, value_parser = duration)]
    timeout: Option<Duration>,
    /// The principal and secret the framework proves itself with to masters
    /// that authenticate frameworks: JSON `{"principal": .., "secret": ..}`,
    /// TOML, or Mesos's plain `PRINCIPAL SECRET`.
    #[arg(long, env = "CORRAL_CREDENTIAL")]
    credential: Option<std::path::PathBuf>,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, default_value = "warn")]
    log_level: String,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
}

/// Runs `corral execute`; exit code 0 only if every instance finished.
pub fn execute(args: ExecuteArgs) -> Result<ExitCode> {
    init_logs(&args.log_level);
    if args.instances == 0 {
        bail!("--instances must be at least 1");
    }
    if args.command.trim().is_empty() && args.docker_image.is_none() {
        bail!("--command is empty");
    }
    let container = container(&args)?;
    let resources = Resources::empty()
        .with_scalar("cpus", args.cpus)
        .and_then(|r| r.with_scalar("mem", args.mem))
        .map_err(|e| anyhow::anyhow!("bad --cpus/--mem: {e}"))?;
    let masters = master_pids("master", &args.master)?;
    let Some(first) = masters.first().cloned() else {
        bail!("--master names no master");
    };
    let mut info = FrameworkInfo::new(&args.name, &args.role);
    info.checkpoint = args.checkpoint;
    if let Some(user) = &args.user {
        if user.trim().is_empty() {
            bail!("--user is empty");
        }
        info.user = user.clone();
    }
    info.partition_aware = args.partition_aware;
    let mut batch = BatchConfig::uniform(
        first,
        info,
        &args.name,
        args.instances,
        &args.command,
        resources,
    );
    batch.container = container;
    if let Some(path) = &args.credential {
        batch.credential = Some(crate::flags::read_credential("credential", path)?);
    }
    let node_cfg = corral_runtime::NodeConfig {
        tls: args.tls.config()?,
        // A master silent for --connect-timeout is gone: its link breaks
        // and the framework looks for a master again.
        link_timeout: args
            .connect_timeout
            .clamp(Duration::from_millis(100), Duration::from_secs(3600)),
        ..corral_runtime::NodeConfig::default()
    };
    let watch = Watch {
        every: Duration::from_millis(500),
        connect_timeout: args.connect_timeout,
        timeout: args.timeout,
        stop_on_signals: true,
    };
    let summary = run_batch_watched(batch, masters, node_cfg, &watch)?;
    print_summary(&summary);
    Ok(match summary.ending {
        Ending::Done if summary.all_finished() => ExitCode::SUCCESS,
        Ending::Done | Ending::TimedOut => ExitCode::FAILURE,
        // The shells' convention: 128 plus the signal's number.
        Ending::Interrupted(signal) => ExitCode::from(128 + (signal & 0x7f) as u8),
    })
}

/// The container asked for with `--docker-*`, if any.
fn container(args: &ExecuteArgs) -> Result<Option<ContainerTemplate>> {
    let Some(image) = &args.docker_image else {
        return Ok(None);
    };
    if image.trim().is_empty() {
        bail!("--docker-image is empty");
    }
    if !args.docker_ports.is_empty() && args.docker_network != NetworkMode::Bridge {
        bail!("--docker-port needs --docker-network bridge");
    }
    let parameters = args
        .docker_parameters
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
            None => Err(anyhow::anyhow!(
                "--docker-parameter '{p}' is not NAME=VALUE"
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    let info = ContainerInfo {
        network: args.docker_network,
        parameters,
        force_pull_image: args.force_pull_image,
        ..ContainerInfo::docker(image)
    };
    Ok(Some(ContainerTemplate {
        info,
        ports: args.docker_ports.clone(),
    }))
}

/// Parses `host`, `bridge` or `none`.
fn network(text: &str) -> Result<NetworkMode, String> {
    match text {
        "host" => Ok(NetworkMode::Host),
        "bridge" => Ok(NetworkMode::Bridge),
        "none" => Ok(NetworkMode::None),
        other => Err(format!("'{other}' is not host, bridge or none")),
    }
}
