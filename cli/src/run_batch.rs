//! Running a batch framework from the command line and showing its
//! progress: shared by `corral execute` and the `corral local` demo.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{TaskState, TaskStatus};
use corral_examples::batch::{Batch, BatchConfig, BatchEvent, Progress, Stop};
use corral_examples::local::start_framework_on;
use corral_runtime::{Node, NodeConfig, Pid};
use corral_scheduler::fit::Shortfall;

use crate::flags::show_duration;
use stop_signals::StopSignals;

mod stop_signals;

/// How long a stopping framework waits for its master to confirm the
/// teardown (its own question times out after a second).
const TEARDOWN_WAIT: Duration = Duration::from_secs(3);

/// How a batch ended.
pub struct BatchSummary {
    /// The latest status of each task that got one (every task's final
    /// one when [`Ending::Done`]).
    pub statuses: BTreeMap<TaskId, TaskStatus>,
    /// How many tasks the batch has.
    pub total: usize,
    /// Wall time from start to the end.
    pub elapsed: Duration,
    /// Why it ended.
    pub ending: Ending,
}

/// Why a batch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every task ended.
    Done,
    /// This signal (SIGINT, SIGTERM) arrived; the framework was torn down.
    Interrupted(i32),
    /// [`Watch::timeout`] passed first; the framework was torn down.
    TimedOut,
}

impl BatchSummary {
    /// Tasks that did not finish cleanly (of those that got a status).
    pub fn failures(&self) -> Vec<&TaskStatus> {
        self.statuses
            .values()
            .filter(|s| s.state != TaskState::Finished)
            .collect()
    }

    fn finished(&self) -> usize {
        self.statuses.len() - self.failures().len()
    }

    /// Whether every task finished.
    pub fn all_finished(&self) -> bool {
        self.ending == Ending::Done && self.finished() == self.total
    }
}

/// How [`run_batch_watched`] watches a batch.
#[derive(Clone, Debug)]
pub struct Watch {
    /// A progress line at most this often.
    pub every: Duration,
    /// How long no master may have the framework subscribed: before the
    /// first subscription, and after it loses its master.
    pub connect_timeout: Duration,
    /// Give up (tear the framework down) after this long; None: never.
    pub timeout: Option<Duration>,
    /// Tear the framework down on SIGINT or SIGTERM, then return.
    pub stop_on_signals: bool,
}

#[allow(clippy::disallowed_methods)] // the binary edge: a real stopwatch
fn now() -> Instant {
    Instant::now()
}

/// Runs `cfg` on a framework node of its own, printing a progress line at
/// most every `every`, until every task has ended. The framework follows
/// whichever of `masters` leads (empty: just `cfg.master`). Fails if no
/// master has it subscribed for `subscribe_timeout`.
pub fn run_batch(
    cfg: BatchConfig,
    masters: Vec<Pid>,
    node_cfg: NodeConfig,
    every: Duration,
    subscribe_timeout: Duration,
) -> Result<BatchSummary> {
    let watch = Watch {
        every,
        connect_timeout: subscribe_timeout,
        timeout: None,
        stop_on_signals: false,
    };
    run_batch_watched(cfg, masters, node_cfg, &watch)
}

/// What the main thread hears.
enum Event {
    Batch(BatchEvent),
    Signal(i32),
}

/// [`run_batch`] with a timeout and signal handling as `watch` says.
pub fn run_batch_watched(
    cfg: BatchConfig,
    masters: Vec<Pid>,
    node_cfg: NodeConfig,
    watch: &Watch,
) -> Result<BatchSummary> {
    let total = cfg.tasks.len();
    let list = master_list(&cfg, &masters);
    // Before the node's thread starts, which inherits the blocked mask.
    let signals = if watch.stop_on_signals {
        Some(StopSignals::block().context("cannot block SIGINT and SIGTERM")?)
    } else {
        None
    };
    let (tx, rx) = mpsc::channel();
    let events = tx.clone();
    let framework = Batch::new(
        cfg,
        Box::new(move |e| {
            let _ = events.send(Event::Batch(e));
        }),
    )
    .with_masters(masters)
    .into_framework();
    let started = now();
    let (node, pid) = start_framework_on(node_cfg, framework)?;
    if let Some(signals) = signals {
        signals
            .forward(move |s| tx.send(Event::Signal(s)).is_ok())
            .context("cannot watch for SIGINT and SIGTERM")?;
    }
    let mut run = Run {
        node,
        pid,
        rx,
        started,
        total,
        statuses: BTreeMap::new(),
        progress: Progress::default(),
        states: BTreeMap::new(),
        terminal: std::io::stdout().is_terminal(),
        shown_line: String::new(),
    };
    let subscribed_to = match masters_shown(&list) {
        (true, one) => one,
        (false, many) => format!("the leader of {many}"),
    };
    match run.subscribe(watch.connect_timeout, &list)? {
        Ok(id) => println!("framework {id} subscribed to {subscribed_to}"),
        Err(ending) => return Ok(run.stop(ending, false)),
    }
    let ending = run.follow(watch)?;
    Ok(run.stop(ending, true))
}

/// The masters' addresses as a user gave them, and whether there is one.
fn master_list(cfg: &BatchConfig, masters: &[Pid]) -> Vec<String> {
    if masters.is_empty() {
        return vec![cfg.master.addr().to_string()];
    }
    masters.iter().map(|m| m.addr().to_string()).collect()
}

fn masters_shown(list: &[String]) -> (bool, String) {
    (list.len() == 1, list.join(", "))
}

/// One batch being watched from the main thread.
struct Run {
    node: Node,
    pid: Pid,
    rx: mpsc::Receiver<Event>,
    started: Instant,
    total: usize,
    statuses: BTreeMap<TaskId, TaskStatus>,
    progress: Progress,
    states: BTreeMap<TaskId, TaskState>,
    /// Progress goes on one line rewritten in place on a terminal, and
    /// as a new line when it changed into a file or pipe (no `\r`).
    terminal: bool,
    /// The progress line shown last.
    shown_line: String,
}

impl Run {
    /// Waits for the first subscription: the framework's id, or how the
    /// batch ends if a signal comes first.
    fn subscribe(
        &mut self,
        within: Duration,
        list: &[String],
    ) -> Result<std::result::Result<FrameworkId, Ending>> {
        let deadline = self.started + within;
        loop {
            let left = deadline.saturating_duration_since(now());
            match self.rx.recv_timeout(left) {
                Ok(Event::Batch(BatchEvent::Subscribed(id))) => return Ok(Ok(id)),
                Ok(Event::Batch(BatchEvent::Error(e))) => {
                    bail!("the master refused the framework: {e}")
                }
                Ok(Event::Batch(_)) => {}
                Ok(Event::Signal(s)) => return Ok(Err(Ending::Interrupted(s))),
                Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                    "cannot reach the master at {}: no answer within {}",
                    masters_shown(list).1,
                    show_duration(within)
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the framework stopped"),
            }
        }
    }

    /// Follows the batch until every task has ended, the timeout passes or
    /// a signal comes; fails when no master has had the framework for
    /// `watch.connect_timeout`.
    fn follow(&mut self, watch: &Watch) -> Result<Ending> {
        let mut lost: Option<(Instant, Pid)> = None;
        let mut shown = now();
        loop {
            let at = now();
            if watch.timeout.is_some_and(|t| at >= self.started + t) {
                return Ok(Ending::TimedOut);
            }
            if let Some((since, master)) = &lost {
                if at >= *since + watch.connect_timeout {
                    bail!(
                        "lost the master at {}: no master took the framework back within {}",
                        master.addr(),
                        show_duration(watch.connect_timeout)
                    );
                }
            }
            let mut wait = watch.every;
            if let Some(t) = watch.timeout {
                wait = wait.min((self.started + t).saturating_duration_since(at));
            }
            if let Some((since, _)) = &lost {
                wait = wait.min((*since + watch.connect_timeout).saturating_duration_since(at));
            }
            let event = match self.rx.recv_timeout(wait) {
                Ok(Event::Batch(e)) => e,
                Ok(Event::Signal(s)) => return Ok(Ending::Interrupted(s)),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if shown.elapsed() >= watch.every {
                        self.show();
                        shown = now();
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the framework stopped"),
            };
            self.progress.note(&mut self.states, &event);
            match event {
                BatchEvent::Done(statuses) => {
                    self.statuses = statuses;
                    return Ok(Ending::Done);
                }
                BatchEvent::Status(s) => {
                    self.statuses.insert(s.task_id.clone(), s);
                }
                BatchEvent::Error(e) => eprintln!("\nmaster: {e}"),
                BatchEvent::Removed(e) => bail!("the master removed the framework: {e}"),
                BatchEvent::Disconnected(master) => lost = Some((now(), master)),
                BatchEvent::Resubscribed(_) => lost = None,
                BatchEvent::NoFit(short) => eprintln!("\n{}", no_fit(&short)),
                _ => {}
            }
            if shown.elapsed() >= watch.every {
                self.show();
                shown = now();
            }
        }
    }

    /// Tears the framework down unless it is done (`subscribed`: whether a
    /// master ever had it), shuts its node down, and sums up.
    fn stop(mut self, ending: Ending, subscribed: bool) -> BatchSummary {
        self.show();
        if self.terminal {
            println!();
        }
        if ending != Ending::Done {
            self.node.send(&self.pid, Stop);
            let confirmed = self.torn_down();
            let why = match ending {
                Ending::Interrupted(s) => format!("interrupted by {}", signal_name(s)),
                _ => "gave up: --timeout passed".to_owned(),
            };
            match (subscribed, confirmed) {
                (false, _) => eprintln!("{why} before a master answered"),
                (true, true) => {
                    eprintln!("{why}; the framework was torn down and its tasks killed")
                }
                (true, false) => {
                    eprintln!("{why}; the master did not confirm the framework's teardown")
                }
            }
        }
        self.node.shutdown();
        BatchSummary {
            statuses: self.statuses,
            total: self.total,
            elapsed: self.started.elapsed(),
            ending,
        }
    }

    /// Waits (boundedly) for the framework to report its teardown; a
    /// second signal stops waiting.
    fn torn_down(&self) -> bool {
        let deadline = now() + TEARDOWN_WAIT;
        loop {
            let left = deadline.saturating_duration_since(now());
            match self.rx.recv_timeout(left) {
                Ok(Event::Batch(BatchEvent::TornDown { confirmed })) => return confirmed,
                Ok(Event::Batch(_)) => {}
                Ok(Event::Signal(_)) | Err(_) => return false,
            }
        }
    }

    fn show(&mut self) {
        let p = &self.progress;
        let line = format!(
            "tasks: {} | launched {} | running {} | finished {} | failed {}",
            self.total, p.launched, p.running, p.finished, p.failed
        );
        if self.terminal {
            print!("\r{line}   ");
        } else if line != self.shown_line {
            println!("{line}");
        }
        self.shown_line = line;
        let _ = std::io::stdout().flush();
    }
}

/// The sentence for a task that no offer can hold, e.g. `no agent offers
/// enough for a task of cpus:4096: the largest offer had cpus:2`.
pub fn no_fit(short: &[Shortfall]) -> String {
    let need: Vec<String> = short
        .iter()
        .map(|s| format!("{}:{}", s.name, s.need))
        .collect();
    let had: Vec<String> = short
        .iter()
        .map(|s| format!("{}:{}", s.name, s.largest))
        .collect();
    format!(
        "no agent offers enough for a task of {}: the largest offer had {}",
        need.join(", "),
        had.join(", ")
    )
}

fn signal_name(signal: i32) -> String {
    match corral_runtime::signal_name(signal) {
        Some(name) => name.to_owned(),
        None => format!("signal {signal}"),
    }
}

/// Prints the end of a batch: counts, time, and each failure's reason.
pub fn print_summary(s: &BatchSummary) {
    let failures = s.failures();
    let finished = s.finished();
    println!(
        "{finished} of {} tasks finished, {} did not, in {:.1} s",
        s.total,
        s.total - finished,
        s.elapsed.as_secs_f64()
    );
    for f in failures.iter().take(20) {
        println!("  {} {:?}: {}", f.task_id, f.state, f.message);
    }
    if failures.len() > 20 {
        println!("  ... and {} more", failures.len() - 20);
    }
}
