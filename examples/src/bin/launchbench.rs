//! End-to-end launch throughput: a local cluster of 3 agents runs N trivial
//! tasks (`true`) through the real command executor, and the time from the
//! framework's subscription to the last task's end gives
//! `launch_tasks_per_s`. Also prints the median and 99th percentile time
//! from launch (accept sent) to TASK_RUNNING.
//!
//! With `--latency`, it measures launch latency instead, one task at a time
//! on one agent so nothing queues: `--latency-tasks` process tasks of `true`,
//! printing the median time from accept to TASK_RUNNING as
//! `launch_ms_process_p50`. `--docker` adds as many container tasks (the
//! test image `corral/busybox:test`, built by `scripts/build-test-image.sh`)
//! and prints `launch_ms_docker_p50`.
//!
//! `cargo run --release -p corral-examples --bin launchbench [-- --tasks N]`
//! `cargo run --release -p corral-examples --bin launchbench -- --latency`
//! `cargo run --release -p corral-examples --bin launchbench -- --docker`

// A benchmark's main, not actor code: it cleans its scratch directory.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use corral_agent::Containerizer;
use corral_api::container::ContainerInfo;
use corral_api::framework::FrameworkInfo;
use corral_api::resources::Resources;
use corral_api::task::{TaskState, TaskStatus};
use corral_examples::batch::{Batch, BatchConfig, BatchEvent};
use corral_examples::local::{
    bench_start, find_or_build_executor, start_framework, LocalCluster, LocalConfig,
};
use corral_scheduler::fit::ContainerTemplate;

/// Measures end-to-end task launch throughput on a local cluster.
#[derive(Parser, Debug)]
struct Args {
    /// Tasks to run.
    #[arg(long, default_value_t = 1000)]
    tasks: usize,
    /// Agents in the local cluster.
    #[arg(long, default_value_t = 3)]
    agents: usize,
    /// Measure the launch latency of lone process tasks instead of
    /// throughput.
    #[arg(long)]
    latency: bool,
    /// With the latency of lone process tasks, that of container tasks
    /// (needs Docker and the test image).
    #[arg(long)]
    docker: bool,
    /// Tasks of each kind in the latency run.
    #[arg(long, default_value_t = 20)]
    latency_tasks: usize,
    /// The image of the latency run's container tasks.
    #[arg(long, default_value = "corral/busybox:test")]
    image: String,
}

/// What one batch run saw.
struct Run {
    /// From subscription to the last task's end.
    elapsed: Duration,
    /// From accept to TASK_RUNNING, per task, sorted.
    to_running: Vec<Duration>,
}

impl Run {
    /// The `p` quantile of `to_running`, in ms.
    fn ms(&self, p: f64) -> f64 {
        let n = self.to_running.len();
        let i = ((n as f64 * p) as usize).min(n.saturating_sub(1));
        self.to_running
            .get(i)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

#[allow(clippy::disallowed_methods)] // a benchmark reads the wall clock
fn now() -> Instant {
    Instant::now()
}

fn main() -> Result<()> {
    let args = Args::parse();
    let work_dir = bench_start("launchbench");
    let executor = find_or_build_executor()?;
    let result = if args.latency || args.docker {
        latency(&args, &work_dir, &executor)
    } else {
        throughput(&args, &work_dir, &executor)
    };
    if std::env::var_os("CORRAL_EXECUTOR_LOG").is_none() {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    result
}

/// The default run: `--tasks` tasks at once over `--agents` agents.
fn throughput(args: &Args, work_dir: &std::path::Path, executor: &std::path::Path) -> Result<()> {
    let agent: Resources = "cpus:64;mem:65536;disk:65536".parse()?;
    let mut cfg = LocalConfig::new(args.agents, agent, work_dir, executor);
    cfg.master_addr = "127.0.0.1:0".parse()?;
    // Executors log at the level CORRAL_EXECUTOR_LOG asks (into their
    // sandbox's stderr), to see where launch time goes.
    cfg.tune_agent = |a| a.executor_log = std::env::var("CORRAL_EXECUTOR_LOG").ok();
    let cluster = LocalCluster::start(cfg)?;
    let per_task: Resources = "cpus:0.01;mem:1".parse()?;
    let batch = BatchConfig::uniform(
        cluster.master().clone(),
        FrameworkInfo::new("launchbench", "*"),
        "b",
        args.tasks,
        "true",
        per_task,
    );
    let run = run(batch)?;
    println!(
        "figure launch_tasks_per_s {:.0} tasks/s",
        args.tasks as f64 / run.elapsed.as_secs_f64()
    );
    println!("figure launch_ms_process_p50 {:.1} ms", run.ms(0.5));
    println!("figure launch_ms_process_p99 {:.1} ms", run.ms(0.99));
    cluster.shutdown();
    Ok(())
}

/// `--latency`: process tasks (then, with `--docker`, container tasks), one
/// at a time on one agent.
fn latency(args: &Args, work_dir: &std::path::Path, executor: &std::path::Path) -> Result<()> {
    // One task fills the agent (cpus:1), so tasks run one after another
    // and each latency is a lone task's.
    let agent: Resources = "cpus:1;mem:1024;disk:1024".parse()?;
    let mut cfg = LocalConfig::new(1, agent, work_dir, executor);
    cfg.master_addr = "127.0.0.1:0".parse()?;
    cfg.master.allocator.interval = Duration::from_millis(50);
    cfg.tune_agent = if args.docker {
        |a| {
            a.containerizers = vec![Containerizer::Docker, Containerizer::Process];
            a.executor_log = std::env::var("CORRAL_EXECUTOR_LOG").ok();
        }
    } else {
        |a| a.executor_log = std::env::var("CORRAL_EXECUTOR_LOG").ok()
    };
    let cluster = LocalCluster::start(cfg)?;
    let per_task: Resources = "cpus:1;mem:64".parse()?;
    let batch = |name: &str| {
        BatchConfig::uniform(
            cluster.master().clone(),
            FrameworkInfo::new(name, "*"),
            name,
            args.latency_tasks,
            "true",
            per_task.clone(),
        )
    };
    let process = run(batch("process"))?;
    println!("figure launch_ms_process_p50 {:.1} ms", process.ms(0.5));
    println!(
        "process launch latency over {} tasks (accept -> TASK_RUNNING, one at a time): p99 {:.1} ms",
        args.latency_tasks,
        process.ms(0.99),
    );
    if args.docker {
        let container = ContainerTemplate::new(ContainerInfo::docker(&args.image));
        let docker = run(batch("docker").with_container(container))?;
        println!("figure launch_ms_docker_p50 {:.1} ms", docker.ms(0.5));
        println!(
            "container launch latency over {} tasks: p99 {:.1} ms",
            args.latency_tasks,
            docker.ms(0.99)
        );
    }
    cluster.shutdown();
    Ok(())
}

/// Runs one batch framework to its end; fails unless every task finished.
fn run(batch: BatchConfig) -> Result<Run> {
    let (tx, rx) = channel();
    let (node, _) = start_framework(
        Batch::new(
            batch,
            Box::new(move |e| {
                let _ = tx.send((now(), e));
            }),
        )
        .into_framework(),
    )?;
    let mut start = None;
    let mut launched = BTreeMap::new();
    let mut to_running = Vec::new();
    let (end, statuses) = loop {
        let (at, e) = rx
            .recv_timeout(Duration::from_secs(120))
            .context("no progress for 120 s")?;
        match e {
            BatchEvent::Subscribed(_) => start = Some(at),
            BatchEvent::Launched(id, _) => {
                launched.insert(id, at);
            }
            BatchEvent::Status(s) if s.state == TaskState::Running => {
                if let Some(t) = launched.get(&s.task_id) {
                    to_running.push(at.duration_since(*t));
                }
            }
            BatchEvent::Done(statuses) => break (at, statuses),
            BatchEvent::Error(e) => bail!("master refused: {e}"),
            _ => {}
        }
    };
    node.shutdown();
    let start = start.context("never subscribed")?;
    let failed: Vec<&TaskStatus> = statuses
        .values()
        .filter(|s| s.state != TaskState::Finished)
        .collect();
    for s in failed.iter().take(5) {
        eprintln!("{} {:?} {:?}: {}", s.task_id, s.state, s.source, s.message);
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} tasks did not finish",
            failed.len(),
            statuses.len()
        );
    }
    to_running.sort();
    Ok(Run {
        elapsed: end.duration_since(start),
        to_running,
    })
}
