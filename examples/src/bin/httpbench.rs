//! Mesos's v1 scheduler API against Corral's own actor protocol, in one
//! run on one local cluster (one agent, HTTP on):
//!
//! - `http_offer_cycle_ms_p50`: from an OFFERS event to the TASK_RUNNING
//!   update of the task its ACCEPT launched, over the v1 API (JSON), one
//!   task at a time; `actor_offer_cycle_ms_p50` the same for a framework
//!   actor on the scheduler SDK.
//! - `http_events_per_s`: status updates streamed to one subscriber,
//!   received and parsed (the master's answers to RECONCILE calls naming
//!   ended tasks); `actor_events_per_s` the same as messages.
//!
//! `cargo run --release -p corral-examples --bin httpbench [-- --cycles N --events N]`

// A benchmark's main, not actor code: it reads the clock and cleans its
// scratch directory.
#![allow(clippy::disallowed_methods)]

use std::io::Read;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::TaskId;
use corral_api::task::{StatusReason, TaskInfo, TaskState, TaskStatus};
use corral_examples::local::{
    bench_start, find_or_build_executor, start_framework, LocalCluster, LocalConfig,
};
use corral_http::v1::recordio::Records;
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};
use serde_json::{json, Value};

/// Compares the v1 HTTP scheduler API with the actor protocol.
#[derive(Parser, Debug)]
struct Args {
    /// Offer cycles of each kind.
    #[arg(long, default_value_t = 30)]
    cycles: usize,
    /// Events streamed to each subscriber.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
}

/// Task ids per RECONCILE call: their JSON fits the master's 64 KiB body
/// limit.
const IDS_PER_CALL: usize = 1_500;

/// How long any one wait may take.
const WAIT: Duration = Duration::from_secs(60);

fn main() -> Result<()> {
    let args = Args::parse();
    let work_dir = bench_start("httpbench");
    let executor = find_or_build_executor()?;
    let result = bench(&args, &work_dir, &executor);
    let _ = std::fs::remove_dir_all(&work_dir);
    result
}

fn bench(args: &Args, work_dir: &std::path::Path, executor: &std::path::Path) -> Result<()> {
    // One task fills the agent, so each cycle is a lone task's.
    let mut cfg = LocalConfig::new(1, "cpus:1;mem:256".parse()?, work_dir, executor);
    cfg.master_addr = "127.0.0.1:0".parse()?;
    cfg.http = true;
    cfg.http_port = Some(0);
    cfg.master.allocator.interval = Duration::from_millis(50);
    let cluster = LocalCluster::start(cfg)?;
    let url = cluster.http_url().context("the master serves HTTP")?;

    let http = Http::subscribe(&url)?;
    let http_cycles = http.cycles(args.cycles)?;
    let http_rate = http.events(args.events, args.cycles)?;
    http.teardown()?;

    let (actor_cycles, actor_rate) = actor(&cluster, args)?;

    println!("figure http_offer_cycle_ms_p50 {:.1} ms", p50(http_cycles));
    println!(
        "figure actor_offer_cycle_ms_p50 {:.1} ms",
        p50(actor_cycles)
    );
    println!("figure http_events_per_s {http_rate:.0} events/s");
    println!("figure actor_events_per_s {actor_rate:.0} events/s");
    cluster.shutdown();
    Ok(())
}

/// The median, in ms.
fn p50(mut d: Vec<Duration>) -> f64 {
    d.sort();
    d.get(d.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// `n` task ids naming the `cycles` tasks the offer cycles ran (and
/// ended) over and over, in calls' worth. The master answers those at
/// once; it may hold back answers about tasks it does not know while
/// agents could still bring them back.
fn ended_ids(n: usize, cycles: usize) -> Vec<Vec<String>> {
    let ids: Vec<String> = (0..n)
        .map(|i| format!("cycle-{}", i % cycles.max(1)))
        .collect();
    ids.chunks(IDS_PER_CALL).map(<[String]>::to_vec).collect()
}

/// A v1 subscription: its events as they arrive, and its calls.
struct Http {
    url: String,
    stream_id: String,
    framework_id: String,
    events: Receiver<(Instant, Value)>,
    calls: ureq::Agent,
}

impl Http {
    fn subscribe(url: &str) -> Result<Http> {
        let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": "", "name": "httpbench", "capabilities": [{"type": "PARTITION_AWARE"}]}}});
        let resp = ureq::AgentBuilder::new()
            .build()
            .post(&format!("{url}/api/v1/scheduler"))
            .set("Content-Type", "application/json")
            .set("Accept", "application/json")
            .send_string(&body.to_string())
            .context("SUBSCRIBE")?;
        let stream_id = resp
            .header("Mesos-Stream-Id")
            .context("no Mesos-Stream-Id")?
            .to_owned();
        let (tx, events) = channel();
        let reader = resp.into_reader();
        std::thread::spawn(move || read_events(reader, &tx));
        let mut http = Http {
            url: url.to_owned(),
            stream_id,
            framework_id: String::new(),
            events,
            calls: ureq::AgentBuilder::new().build(),
        };
        let (_, first) = http.next()?;
        http.framework_id = first["subscribed"]["framework_id"]["value"]
            .as_str()
            .context("SUBSCRIBED first")?
            .to_owned();
        Ok(http)
    }

    fn next(&self) -> Result<(Instant, Value)> {
        loop {
            let (at, e) = self.events.recv_timeout(WAIT).context("no event")?;
            if e["type"] != "HEARTBEAT" {
                return Ok((at, e));
            }
        }
    }

    fn call(&self, mut call: Value) -> Result<()> {
        call["framework_id"] = json!({"value": self.framework_id});
        let resp = self
            .calls
            .post(&format!("{}/api/v1/scheduler", self.url))
            .set("Content-Type", "application/json")
            .set("Mesos-Stream-Id", &self.stream_id)
            .send_string(&call.to_string())?;
        if resp.status() != 202 {
            bail!("{} answered {}", call["type"], resp.status());
        }
        Ok(())
    }

    /// `n` offer cycles: each offer is accepted with one `sleep` task,
    /// killed once running (its end returns the resources).
    fn cycles(&self, n: usize) -> Result<Vec<Duration>> {
        let mut took = Vec::new();
        while took.len() < n {
            let (offered, e) = self.next()?;
            if e["type"] != "OFFERS" {
                self.ack(&e)?;
                continue;
            }
            let offer = &e["offers"]["offers"][0];
            let task = format!("cycle-{}", took.len());
            self.call(json!({"type": "ACCEPT", "accept": {
                "offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0},
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                    "name": task, "task_id": {"value": task}, "agent_id": offer["agent_id"],
                    "resources": offer["resources"], "command": {"value": "sleep 60"}}]}}]}}))?;
            loop {
                let (at, e) = self.next()?;
                self.ack(&e)?;
                let status = &e["update"]["status"];
                if status["task_id"]["value"] == task.as_str() && status["state"] == "TASK_RUNNING"
                {
                    took.push(at.duration_since(offered));
                    self.call(json!({"type": "KILL", "kill": {"task_id": {"value": task}}}))?;
                    break;
                }
            }
        }
        Ok(took)
    }

    fn ack(&self, e: &Value) -> Result<()> {
        let status = &e["update"]["status"];
        if let Some(uuid) = status.get("uuid") {
            self.call(json!({"type": "ACKNOWLEDGE", "acknowledge": {
                "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": uuid}}))?;
        }
        Ok(())
    }

    /// Events per second: the master's answers to reconciling ended
    /// tasks `n` times, from the first call to the last answer parsed.
    fn events(&self, n: usize, cycles: usize) -> Result<f64> {
        self.call(json!({"type": "SUPPRESS"}))?;
        let start = Instant::now();
        for ids in ended_ids(n, cycles) {
            let tasks: Vec<Value> = ids
                .iter()
                .map(|id| json!({"task_id": {"value": id}}))
                .collect();
            self.call(json!({"type": "RECONCILE", "reconcile": {"tasks": tasks}}))?;
        }
        let mut seen = 0;
        let mut last = start;
        while seen < n {
            let (at, e) = self.next()?;
            if e["update"]["status"]["reason"] == "REASON_RECONCILIATION" {
                seen += 1;
                last = at;
            } else {
                self.ack(&e)?;
            }
        }
        Ok(n as f64 / last.duration_since(start).as_secs_f64())
    }

    fn teardown(&self) -> Result<()> {
        self.call(json!({"type": "TEARDOWN"}))
    }
}

/// Reads a subscription's stream into `tx`, stamping each event as it is
/// parsed.
fn read_events(mut reader: impl Read, tx: &Sender<(Instant, Value)>) {
    let mut records = Records::new();
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = reader.read(&mut buf) {
        let Ok(got) = records.push(&buf[..n]) else {
            return;
        };
        for r in got {
            let Ok(event) = serde_json::from_slice::<Value>(&r) else {
                return;
            };
            if tx.send((Instant::now(), event)).is_err() {
                return;
            }
        }
    }
}

/// What the actor framework reports to the bench.
enum Seen {
    Cycle(Duration),
    Events(f64),
}

/// The same two measurements by a framework actor on the scheduler SDK.
struct Cycles {
    cycles: usize,
    events: usize,
    offered: Option<Instant>,
    launched: usize,
    reconcile_start: Option<Instant>,
    answers: usize,
    report: Sender<Seen>,
}

impl Scheduler for Cycles {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        for offer in offers {
            if self.launched >= self.cycles || self.offered.is_some() {
                let _ = driver.decline(vec![offer.id], None);
                continue;
            }
            self.offered = Some(Instant::now());
            let id = TaskId(format!("cycle-{}", self.launched));
            let task = TaskInfo::command(id, "sleep 60", offer.resources.clone());
            let _ = driver.launch(&offer.id, vec![task], Some(Duration::ZERO));
            self.launched += 1;
        }
    }

    fn update(&mut self, driver: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        if status.reason == Some(StatusReason::Reconciliation) {
            self.answers += 1;
            if self.answers == self.events {
                if let Some(start) = self.reconcile_start {
                    let rate = self.events as f64 / start.elapsed().as_secs_f64();
                    let _ = self.report.send(Seen::Events(rate));
                }
            }
            return;
        }
        if status.state != TaskState::Running {
            return;
        }
        if let Some(offered) = self.offered.take() {
            let _ = self.report.send(Seen::Cycle(offered.elapsed()));
        }
        let _ = driver.kill(&status.task_id);
        if self.launched == self.cycles {
            let _ = driver.suppress();
            self.reconcile_start = Some(Instant::now());
            for ids in ended_ids(self.events, self.cycles) {
                let _ = driver.reconcile(ids.into_iter().map(TaskId).collect());
            }
        }
    }
}

fn actor(cluster: &LocalCluster, args: &Args) -> Result<(Vec<Duration>, f64)> {
    let (report, seen) = channel();
    let cycles = Cycles {
        cycles: args.cycles,
        events: args.events,
        offered: None,
        launched: 0,
        reconcile_start: None,
        answers: 0,
        report,
    };
    let mut info = FrameworkInfo::new("httpbench-actor", "*");
    info.partition_aware = true;
    let driver = SchedulerDriver::new(
        DriverConfig::new(vec![cluster.master().clone()], info),
        cycles,
    )?;
    let (_node, _pid) = start_framework(driver)?;
    let mut took = Vec::new();
    loop {
        match seen
            .recv_timeout(WAIT)
            .context("the actor framework stalled")?
        {
            Seen::Cycle(d) => took.push(d),
            Seen::Events(rate) => return Ok((took, rate)),
        }
    }
}
