//! Master failover time with real processes: three replicated masters and
//! one agent, each its own OS process (this binary started again in a
//! member or agent role), and a framework in this process that declines
//! every offer so that offers keep coming. Each round SIGKILLs the master
//! whose offers arrive, and times how long until the first offer from
//! another master; the killed master is then restarted on its old address
//! and work dir before the next round.
//!
//! Prints `figure failover_s_real <median> s` (and the maximum), with the
//! default timeouts: Raft ticks of 100 ms with an election after 10, the
//! master's 100 ms leadership poll, a 1 s allocation interval.
//!
//! `cargo run --release -p corral-examples --bin failoverbench [-- --rounds N]`

// A benchmark measures real time.
#![allow(clippy::disallowed_methods)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use corral_agent::{Agent, AgentConfig};
use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::task::TaskStatus;
use corral_master::group::spawn_member;
use corral_master::master::{Master, MasterConfig};
use corral_master::state::GetLeadership;
use corral_runtime::{Node, NodeConfig, Pid};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};

#[derive(Parser, Debug)]
struct Args {
    #[command(subcommand)]
    role: Option<Role>,
    /// Leader kills to time.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// (internal) One master of the group.
    Member {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, value_delimiter = ',')]
        group: Vec<SocketAddr>,
        #[arg(long)]
        dir: PathBuf,
    },
    /// (internal) The agent.
    Agent {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, value_delimiter = ',')]
        group: Vec<SocketAddr>,
        #[arg(long)]
        dir: PathBuf,
    },
}

fn main() -> Result<()> {
    let args = Args::parse();
    match args.role {
        Some(Role::Member { listen, group, dir }) => member(listen, &group, dir),
        Some(Role::Agent { listen, group, dir }) => agent(listen, &group, dir),
        None => drive(args.rounds),
    }
}

fn member(listen: SocketAddr, group: &[SocketAddr], dir: PathBuf) -> Result<()> {
    let node = Node::start(NodeConfig {
        listen,
        data_dir: Some(dir),
        ..NodeConfig::default()
    })?;
    spawn_member(&node, MasterConfig::default(), group, None)?;
    node.wait();
    Ok(())
}

fn agent(listen: SocketAddr, group: &[SocketAddr], dir: PathBuf) -> Result<()> {
    let masters = master_pids(group)?;
    let node = Node::start(NodeConfig {
        listen,
        data_dir: Some(dir.join("meta")),
        ..NodeConfig::default()
    })?;
    let resources = "cpus:4;mem:4096".parse()?;
    // No task runs: the executor command is never used.
    let cfg = AgentConfig::new(
        masters[0].clone(),
        "bench".into(),
        resources,
        dir,
        "false".into(),
    )
    .with_masters(masters);
    node.spawn(Agent::NAME, Agent::new(cfg))?;
    node.wait();
    Ok(())
}

fn master_pids(group: &[SocketAddr]) -> Result<Vec<Pid>> {
    Ok(group
        .iter()
        .map(|a| Pid::new(Master::NAME, *a))
        .collect::<Result<_, _>>()?)
}

/// A child process, SIGKILLed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(role: &str, listen: SocketAddr, group: &str, dir: &Path) -> Result<Proc> {
    std::fs::create_dir_all(dir)?;
    let log = std::fs::File::create(dir.with_extension("log"))?;
    let child = Command::new(std::env::current_exe()?)
        .args([role, "--listen", &listen.to_string(), "--group", group])
        .arg("--dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start the {role}"))?;
    Ok(Proc(child))
}

fn free_port() -> Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn drive(rounds: usize) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("failoverbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let group: Vec<SocketAddr> = (0..3)
        .map(|_| Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?))))
        .collect::<Result<_>>()?;
    let list = group
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let member_dir = |i: usize| dir.join(format!("master{i}"));
    let mut members: Vec<Option<Proc>> = Vec::new();
    for (i, addr) in group.iter().enumerate() {
        members.push(Some(spawn("member", *addr, &list, &member_dir(i))?));
    }
    let agent_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let _agent = spawn("agent", agent_addr, &list, &dir.join("agent"))?;

    let node = Node::start(NodeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..NodeConfig::default()
    })?;
    let (tx, offers) = channel();
    let masters = master_pids(&group)?;
    let info = FrameworkInfo::new("failoverbench", "*");
    let fw = SchedulerDriver::new(
        DriverConfig::new(masters.clone(), info),
        Bench { offers: tx },
    )?;
    node.spawn("failoverbench", fw)?;

    let mut took = Vec::new();
    for round in 0..rounds {
        let leader = next_offer_from(&offers, None, Duration::from_secs(60))
            .context("no offer from any master")?;
        let Some(i) = masters.iter().position(|m| *m == leader) else {
            bail!("an offer from {leader}, which is not a master of the group");
        };
        let killed_at = Instant::now();
        members[i] = None;
        let from = next_offer_from(&offers, Some(&leader), Duration::from_secs(60))
            .context("no offer from a new leader within 60 s")?;
        let t = killed_at.elapsed();
        println!("round {round}: killed {leader}; first offer from {from} after {t:?}");
        took.push(t.as_secs_f64());
        members[i] = Some(spawn("member", group[i], &list, &member_dir(i))?);
        wait_standby(&node, &masters[i])?;
    }
    took.sort_by(f64::total_cmp);
    let median = took[took.len() / 2];
    let max = took[took.len() - 1];
    println!("figure failover_s_real {median:.3} s");
    println!("figure failover_s_real_max {max:.3} s");
    drop(members);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The sender of the next offer that does not come from `not`.
fn next_offer_from(offers: &Receiver<Pid>, not: Option<&Pid>, within: Duration) -> Option<Pid> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let from = offers.recv_timeout(left).ok()?;
        if Some(&from) != not {
            return Some(from);
        }
    }
}

/// Waits until the restarted master answers (it then stands by).
fn wait_standby(node: &Node, master: &Pid) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if node
            .ask(master, GetLeadership, Duration::from_secs(1))
            .is_ok()
        {
            return Ok(());
        }
    }
    bail!("{master} did not come back within 30 s")
}

/// Declines every offer at once (so offers keep coming) and reports who
/// sent it.
struct Bench {
    offers: Sender<Pid>,
}

impl Scheduler for Bench {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        let _ = self.offers.send(driver.master().clone());
        let ids = offers.into_iter().map(|o| o.id).collect();
        if let Err(e) = driver.decline(ids, Some(Duration::from_millis(10))) {
            eprintln!("cannot decline: {e}");
        }
    }

    fn update(&mut self, _: &mut Driver<'_, '_, Self>, _: &TaskStatus) {}

    fn error(&mut self, _: &mut Driver<'_, '_, Self>, message: &str) {
        eprintln!("framework error: {message}");
    }
}
