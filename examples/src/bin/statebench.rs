//! `/state` at scale: a real master with many agents and tasks, polled by
//! HTTP clients, while a probe measures how long the master's event loop
//! stalls.
//!
//! The agents are light actors (many on one node) that speak the agent
//! protocol the master expects: they register, answer pings and report
//! every task they are sent as TASK_RUNNING. A framework on the scheduler
//! SDK fills them through real offers. So every task is a task the master
//! launched and heard of, not one put into its structs.
//!
//! Figures: `state_p50_ms`, `state_p99_ms` (latency of a whole `/state`
//! answer, body read, with `--clients` polling at once), `state_bytes`,
//! `master_stall_max_ms` (the longest round trip of a probe on the
//! master's node asking the master every 5 ms, counted from when the ask
//! was due, while polled) and
//! `master_stall_max_ms_idle` (the same before polling starts),
//! `offers_during_polling` (offers the framework received while polled:
//! allocation goes on), `getstate_full_build_ms` (an ask for the state,
//! which the master builds afresh: what every `/state` cost it before it
//! published) and `publish_ms_max` (the longest publication seen while
//! polled).
//!
//! `cargo run --release -p corral-examples --bin statebench [-- AGENTS TASKS]`
//! (default 10,000 agents, 100,000 tasks).

// A benchmark's main, not actor code: it reads the clock and runs client
// threads.
#![allow(clippy::disallowed_methods)]

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use corral_api::agent::{
    AgentRegistered, Ping, Pong, RegisterAgent, RunTasks, StatusAck, StatusUpdate,
};
use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::TaskId;
use corral_api::resources::Resources;
use corral_api::task::{uuid_v4, StatusSource, TaskInfo, TaskState, TaskStatus};
use corral_examples::local::bench_start;
use corral_master::board::{StateBoard, DEFAULT_PUBLISH_EVERY};
use corral_master::http::HttpConfig;
use corral_master::master::{Master, MasterConfig};
use corral_master::state::{GetLeadership, GetState};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Node, NodeConfig, Pid};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};

/// Measures `/state` and the master's stalls at a cluster's size.
#[derive(Parser, Debug)]
struct Args {
    /// Agents.
    #[arg(default_value_t = 10_000)]
    agents: usize,
    /// Tasks, spread evenly over the agents.
    #[arg(default_value_t = 100_000)]
    tasks: usize,
    /// HTTP clients polling `/state` at once.
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// How long they poll, seconds.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// The master publishes its state at most this often, ms.
    #[arg(long, default_value_t = DEFAULT_PUBLISH_EVERY.as_millis() as u64)]
    publish_every_ms: u64,
}

/// How long loading the cluster may take before the run fails.
const LOAD_WAIT: Duration = Duration::from_secs(600);

/// How often the probe asks the master.
const PROBE_EVERY: Duration = Duration::from_millis(5);

fn main() -> Result<()> {
    let args = Args::parse();
    let _ = bench_start("statebench");
    if args.agents == 0 || args.tasks < args.agents {
        bail!("give at least one agent and at least one task per agent");
    }
    let master_node = Arc::new(Node::start(NodeConfig {
        listen: "127.0.0.1:0".parse()?,
        ..NodeConfig::default()
    })?);
    let master = master_node.pid(Master::NAME)?;
    let board = StateBoard::new(Duration::from_millis(args.publish_every_ms));
    let server = corral_master::http::serve(
        HttpConfig::new("127.0.0.1:0".parse()?),
        master_node.clone(),
        master.clone(),
        board.clone(),
        Default::default(),
    )?;
    let cfg = MasterConfig {
        http_url: Some(server.url()),
        ..MasterConfig::default()
    };
    let publishing = Master::new(cfg).publishing_to(board.clone());
    master_node.spawn(Master::NAME, publishing)?;
    let probe = Arc::new(ProbeStats::default());
    master_node.spawn(
        "probe",
        Probe {
            master: master.clone(),
            stats: probe.clone(),
        },
    )?;

    let start = Instant::now();
    let agents_node = Node::start(NodeConfig::default())?;
    let registered = Arc::new(AtomicU64::new(0));
    let per_agent = args.tasks.div_ceil(args.agents);
    // One cpu more than the tasks fill, so offers go on once it is full.
    let total: Resources =
        format!("cpus:{};mem:{}", per_agent + 1, (per_agent + 1) * 32).parse()?;
    for i in 0..args.agents {
        let agent = LightAgent {
            master: master.clone(),
            hostname: format!("host-{i}"),
            total: total.clone(),
            registered: registered.clone(),
        };
        agents_node.spawn(&format!("agent-{i}"), agent)?;
    }
    wait_until(
        || registered.load(Ordering::Relaxed) >= args.agents as u64,
        "agents to register",
    )?;
    println!(
        "{} agents registered in {:.1} s",
        args.agents,
        start.elapsed().as_secs_f64()
    );

    let counts = Arc::new(FillCounts::default());
    let filler = Filler {
        target: args.tasks,
        per_offer: per_agent,
        launched: 0,
        counts: counts.clone(),
    };
    let info = FrameworkInfo::new("statebench", "*");
    let driver = SchedulerDriver::new(DriverConfig::new(vec![master.clone()], info), filler)?;
    let framework_node = Node::start(NodeConfig::default())?;
    framework_node.spawn("framework", driver)?;
    let launch = Instant::now();
    wait_until(
        || counts.running.load(Ordering::Relaxed) >= args.tasks as u64,
        "tasks to run",
    )?;
    println!(
        "{} tasks running in {:.1} s",
        args.tasks,
        launch.elapsed().as_secs_f64()
    );

    // A quiet moment first: the stalls the cluster has without polling.
    probe.max_us.store(0, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(3));
    let idle_stall = probe.max_us.swap(0, Ordering::Relaxed);

    // What a full build costs the master: the state it answers an ask
    // with is built afresh.
    let asked = Instant::now();
    master_node.ask(&master, GetState, Duration::from_secs(60))?;
    let full_build = asked.elapsed();
    // The probe's ask queued behind that build comes back after it: let
    // it, so the polling's figure does not count the build.
    std::thread::sleep(Duration::from_millis(200));
    probe.max_us.store(0, Ordering::Relaxed);

    let offers_before = counts.offers.load(Ordering::Relaxed);
    let sampler = Sampler::start(board.clone());
    let polled = poll(&server.url(), args.clients, Duration::from_secs(args.secs))?;
    let stall = probe.max_us.load(Ordering::Relaxed);
    let offers = counts.offers.load(Ordering::Relaxed) - offers_before;
    let (publications, publish_max) = sampler.stop();

    let mut latencies = polled.latencies;
    latencies.sort();
    println!(
        "{} answers from {} clients over {} s",
        latencies.len(),
        args.clients,
        args.secs
    );
    println!("figure state_p50_ms {:.1} ms", quantile(&latencies, 0.5));
    println!("figure state_p99_ms {:.1} ms", quantile(&latencies, 0.99));
    println!("figure state_bytes {} bytes", polled.bytes);
    println!("figure master_stall_max_ms {:.1} ms", stall as f64 / 1000.0);
    println!(
        "figure master_stall_max_ms_idle {:.1} ms",
        idle_stall as f64 / 1000.0
    );
    println!("figure offers_during_polling {offers} offers");
    println!(
        "figure getstate_full_build_ms {:.1} ms",
        full_build.as_secs_f64() * 1000.0
    );
    println!(
        "figure publish_ms_max {:.1} ms (of {publications} publications seen while polled)",
        publish_max.as_secs_f64() * 1000.0
    );
    if offers == 0 {
        bail!("no offer was made while /state was polled");
    }
    drop(server);
    framework_node.shutdown();
    agents_node.shutdown();
    Ok(())
}

/// Waits for `done`, failing after [`LOAD_WAIT`].
fn wait_until(done: impl Fn() -> bool, what: &str) -> Result<()> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > LOAD_WAIT {
            bail!("gave up waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The `q` quantile of sorted `d`, in ms.
fn quantile(d: &[Duration], q: f64) -> f64 {
    if d.is_empty() {
        return 0.0;
    }
    let i = ((d.len() as f64 * q) as usize).min(d.len() - 1);
    d[i].as_secs_f64() * 1000.0
}

/// What the pollers saw.
struct Polled {
    latencies: Vec<Duration>,
    /// The size of the last answer.
    bytes: usize,
}

/// `clients` threads GET `/state` one after another for `secs`.
fn poll(url: &str, clients: usize, secs: Duration) -> Result<Polled> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (url, stop) = (format!("{url}/state"), stop.clone());
            std::thread::spawn(move || -> Result<(Vec<Duration>, usize)> {
                let agent = ureq::AgentBuilder::new().build();
                let (mut latencies, mut bytes) = (Vec::new(), 0);
                let mut body = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    body.clear();
                    agent
                        .get(&url)
                        .call()
                        .context("GET /state")?
                        .into_reader()
                        .read_to_end(&mut body)?;
                    latencies.push(t.elapsed());
                    bytes = body.len();
                }
                Ok((latencies, bytes))
            })
        })
        .collect();
    std::thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    let mut polled = Polled {
        latencies: Vec::new(),
        bytes: 0,
    };
    for t in threads {
        let (l, b) = t
            .join()
            .map_err(|_| anyhow::anyhow!("a client panicked"))??;
        polled.latencies.extend(l);
        polled.bytes = polled.bytes.max(b);
    }
    Ok(polled)
}

/// Watches the board while `/state` is polled: how many publications it
/// saw and the longest build among them.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, Duration)>,
}

impl Sampler {
    fn start(board: StateBoard) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        // Only publications made from now on: the latest may be older.
        let mut last = board.latest().map_or(0, |p| p.seq);
        let thread = std::thread::spawn(move || {
            let (mut seen, mut longest) = (0, Duration::ZERO);
            while !done.load(Ordering::Relaxed) {
                if let Some(p) = board.wait_past(last, Duration::from_millis(100)) {
                    seen += 1;
                    longest = longest.max(p.took);
                    last = p.seq;
                }
            }
            (seen, longest)
        });
        Sampler { stop, thread }
    }

    fn stop(self) -> (u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The longest round trip the probe saw, µs.
#[derive(Default)]
struct ProbeStats {
    max_us: AtomicU64,
}

/// Asks the master every [`PROBE_EVERY`] and keeps the longest round
/// trip: how long the master's node was busy before it could answer.
struct Probe {
    master: Pid,
    stats: Arc<ProbeStats>,
}

impl Probe {
    /// Asks the master; `due` is when this ask was meant to go. A stall
    /// also delays the probe's own timer (it shares the master's thread),
    /// so the round trip counts from then, not from the late send.
    fn probe(&mut self, due: Instant, ctx: &mut Ctx<'_, Self>) {
        let timeout = Duration::from_secs(30);
        ctx.ask(
            &self.master,
            GetLeadership,
            timeout,
            move |p: &mut Self, _, ctx| {
                let us = due.elapsed().as_micros() as u64;
                p.stats.max_us.fetch_max(us, Ordering::Relaxed);
                let next = Instant::now() + PROBE_EVERY;
                ctx.delay(PROBE_EVERY, move |p: &mut Self, ctx| p.probe(next, ctx));
            },
        );
    }
}

impl Actor for Probe {
    fn handlers(_: &mut Handlers<Self>) {}

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.probe(Instant::now(), ctx);
    }
}

/// An agent without executors: it registers, answers pings, and reports
/// each task it is sent running.
struct LightAgent {
    master: Pid,
    hostname: String,
    total: Resources,
    registered: Arc<AtomicU64>,
}

impl Actor for LightAgent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<AgentRegistered>()
            .on::<Ping>()
            .on::<RunTasks>()
            .on::<StatusAck>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let msg = RegisterAgent::first(self.hostname.clone(), self.total.clone(), ctx.me().clone());
        ctx.send(&self.master, msg);
    }
}

impl Handler<AgentRegistered> for LightAgent {
    fn handle(&mut self, _: AgentRegistered, _: &mut Ctx<'_, Self>) {
        self.registered.fetch_add(1, Ordering::Relaxed);
    }
}

impl Handler<Ping> for LightAgent {
    fn handle(&mut self, _: Ping, ctx: &mut Ctx<'_, Self>) {
        ctx.reply(Pong);
    }
}

impl Handler<RunTasks> for LightAgent {
    fn handle(&mut self, m: RunTasks, ctx: &mut Ctx<'_, Self>) {
        for t in m.tasks {
            let mut random = [0u8; 16];
            ctx.rng().fill_bytes(&mut random);
            let status = TaskStatus {
                task_id: t.task_id,
                framework_id: m.framework_id.clone(),
                agent_id: None,
                state: TaskState::Running,
                source: StatusSource::Executor,
                reason: None,
                message: String::new(),
                timestamp_ms: ctx.unix_time_ms(),
                uuid: Some(uuid_v4(random)),
            };
            ctx.send(&self.master, StatusUpdate { status });
        }
    }
}

impl Handler<StatusAck> for LightAgent {
    fn handle(&mut self, _: StatusAck, _: &mut Ctx<'_, Self>) {}
}

/// What the framework has seen.
#[derive(Default)]
struct FillCounts {
    running: AtomicU64,
    offers: AtomicU64,
}

/// Fills each offer with `per_offer` tasks until `target` are launched,
/// then declines what is offered.
struct Filler {
    target: usize,
    per_offer: usize,
    launched: usize,
    counts: Arc<FillCounts>,
}

impl Scheduler for Filler {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        self.counts
            .offers
            .fetch_add(offers.len() as u64, Ordering::Relaxed);
        let task: Resources = "cpus:1;mem:32".parse().expect("fixed resources");
        let mut spare = Vec::new();
        for o in offers {
            let n = self.per_offer.min(self.target - self.launched);
            if n == 0 {
                spare.push(o.id);
                continue;
            }
            let tasks = (self.launched..self.launched + n)
                .map(|i| TaskInfo::command(TaskId(format!("task-{i}")), "true", task.clone()))
                .collect();
            self.launched += n;
            if let Err(e) = driver.launch(&o.id, tasks, None) {
                eprintln!("cannot launch: {e}");
            }
        }
        if !spare.is_empty() {
            if let Err(e) = driver.decline(spare, Some(Duration::from_secs(5))) {
                eprintln!("cannot decline: {e}");
            }
        }
    }

    fn update(&mut self, _: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        if status.state == TaskState::Running {
            self.counts.running.fetch_add(1, Ordering::Relaxed);
        }
    }
}
