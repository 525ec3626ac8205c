//! Running a batch framework from the command line and showing its
//! progress: shared by `corral execute` and the `corral local` demo.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Result};
use corral_examples::batch::{BatchConfig, BatchEvent, BatchFramework, Progress};
use corral_examples::local::start_framework_on;
use corral_master::ids::TaskId;
use corral_master::task::{TaskState, TaskStatus};
use corral_runtime::{NodeConfig, Pid};

/// How a batch ended.
pub struct BatchSummary {
    /// Final status of each task.
    pub statuses: BTreeMap<TaskId, TaskStatus>,
    /// Wall time from start to the last task's end.
    pub elapsed: Duration,
}

impl BatchSummary {
    /// Tasks that did not finish cleanly.
    pub fn failures(&self) -> Vec<&TaskStatus> {
        self.statuses
            .values()
            .filter(|s| s.state != TaskState::Finished)
            .collect()
    }
}

#[allow(clippy::disallowed_methods)] // the binary edge: a real stopwatch
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Runs `cfg` on a framework node of its own, printing a progress line at
/// most every `every`, until every task has ended. The framework follows
/// whichever of `masters` leads (empty: just `cfg.master`). Fails if no
/// master accepts the subscription within `subscribe_timeout`.
pub fn run_batch(
    cfg: BatchConfig,
    masters: Vec<Pid>,
    node_cfg: NodeConfig,
    every: Duration,
    subscribe_timeout: Duration,
) -> Result<BatchSummary> {
    let total = cfg.tasks.len();
    let (one, list) = match masters.as_slice() {
        [] => (true, cfg.master.addr().to_string()),
        [m] => (true, m.addr().to_string()),
        many => {
            let addrs: Vec<String> = many.iter().map(|m| m.addr().to_string()).collect();
            (false, addrs.join(", "))
        }
    };
    let subscribed_to = if one {
        list.clone()
    } else {
        format!("the leader of {list}")
    };
    let (tx, rx) = mpsc::channel();
    let framework = BatchFramework::new(
        cfg,
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    )
    .with_masters(masters);
    let started = now();
    let (node, _pid) = start_framework_on(node_cfg, framework)?;
    match rx.recv_timeout(subscribe_timeout) {
        Ok(BatchEvent::Subscribed(id)) => println!("framework {id} subscribed to {subscribed_to}"),
        Ok(BatchEvent::Error(e)) => bail!("the master refused the framework: {e}"),
        Ok(other) => bail!("unexpected first event from the framework: {other:?}"),
        Err(_) => bail!(
            "cannot reach the master at {list}: no answer within {} s",
            subscribe_timeout.as_secs()
        ),
    }
    let mut progress = Progress::default();
    let mut states = BTreeMap::new();
    let mut shown = now();
    let statuses = loop {
        let event = match rx.recv_timeout(every) {
            Ok(e) => e,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                show(&progress, total);
                shown = now();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the framework stopped"),
        };
        progress.note(&mut states, &event);
        match event {
            BatchEvent::Done(statuses) => break statuses,
            BatchEvent::Error(e) => eprintln!("master: {e}"),
            _ => {}
        }
        if shown.elapsed() >= every {
            show(&progress, total);
            shown = now();
        }
    };
    show(&progress, total);
    println!();
    node.shutdown();
    Ok(BatchSummary {
        statuses,
        elapsed: started.elapsed(),
    })
}

fn show(p: &Progress, total: usize) {
    print!(
        "\rtasks: {total} | launched {} | running {} | finished {} | failed {}   ",
        p.launched, p.running, p.finished, p.failed
    );
    let _ = std::io::stdout().flush();
}

/// Prints the end of a batch: counts, time, and each failure's reason.
pub fn print_summary(s: &BatchSummary) {
    let failures = s.failures();
    let n = s.statuses.len();
    println!(
        "{} of {n} tasks finished, {} did not, in {:.1} s",
        n - failures.len(),
        failures.len(),
        s.elapsed.as_secs_f64()
    );
    for f in failures.iter().take(20) {
        println!("  {} {:?}: {}", f.task_id, f.state, f.message);
    }
    if failures.len() > 20 {
        println!("  ... and {} more", failures.len() - 20);
    }
}
