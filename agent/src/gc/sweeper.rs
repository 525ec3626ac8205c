//! The sweeper: a thread beside the agent's node that applies the
//! collection rule every `interval`. It measures the disk, lists the
//! sandboxes under `{work_dir}/frameworks`, asks the agent which ones its
//! live tasks use, and removes the others that are too old. When the
//! agent does not answer it removes nothing that sweep.

// The sweeper is an edge beside the node: it reads the disk, removes
// sandboxes and reads the wall clock, which the agent's actor may not.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use corral_runtime::{Node, Pid};

use super::{expired, Found, GcConfig};
use crate::detect::disk_space;
use crate::sandbox::{EXECUTORS_DIR, FRAMEWORKS_DIR, TASKS_DIR};
use crate::state::GetAgentState;

/// How long a sweep waits for the agent's list of live tasks.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// The running sweeper; dropping it stops the thread (and waits for a
/// sweep under way).
pub struct Sweeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Starts sweeping `work_dir`'s sandboxes of the agent `agent` on
    /// `node`, as `cfg` says (which must validate).
    pub fn start(
        node: Arc<Node>,
        agent: Pid,
        work_dir: PathBuf,
        cfg: GcConfig,
    ) -> io::Result<Sweeper> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("corral-gc".into())
            .spawn(move || loop {
                match stopped.recv_timeout(cfg.interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(e) = sweep(&node, &agent, &work_dir, &cfg) {
                            tracing::warn!("sandbox collection skipped: {e}");
                        }
                    }
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })?;
        Ok(Sweeper {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One sweep; how many sandboxes it removed.
fn sweep(node: &Node, agent: &Pid, work_dir: &Path, cfg: &GcConfig) -> Result<usize, String> {
    let usage = disk_space(work_dir)?.usage();
    let max_age = cfg.max_age(usage);
    let found = sandboxes(work_dir, SystemTime::now());
    if found.iter().all(|f| f.age <= max_age) {
        return Ok(0);
    }
    let state = node
        .ask(agent, GetAgentState, ASK_TIMEOUT)
        .map_err(|e| format!("the agent did not say which sandboxes are in use: {e}"))?;
    let in_use: BTreeSet<PathBuf> = state
        .tasks
        .iter()
        .map(|t| PathBuf::from(&t.sandbox))
        .collect();
    let mut removed = 0;
    for dir in expired(&found, &in_use, max_age) {
        match fs::remove_dir_all(dir) {
            Ok(()) => {
                removed += 1;
                tracing::info!(sandbox = %dir.display(), ?max_age, usage, "removed a finished task's sandbox");
            }
            Err(e) => tracing::warn!(sandbox = %dir.display(), "cannot remove a sandbox: {e}"),
        }
        // Its framework's directories go once empty (removing a directory
        // that is not empty fails, and is meant to).
        for parent in dir.ancestors().skip(1).take(2) {
            let _ = fs::remove_dir(parent);
        }
    }
    Ok(removed)
}

/// Every sandbox under `{work_dir}/frameworks/*/{tasks,executors}/*`,
/// aged by the newest change at its top level (what a task last wrote to
/// its output files, or the directory's own entries).
fn sandboxes(work_dir: &Path, now: SystemTime) -> Vec<Found> {
    let mut found = Vec::new();
    for framework in subdirs(&work_dir.join(FRAMEWORKS_DIR)) {
        for kind in [TASKS_DIR, EXECUTORS_DIR] {
            for dir in subdirs(&framework.join(kind)) {
                if let Some(changed) = last_change(&dir) {
                    let age = now.duration_since(changed).unwrap_or(Duration::ZERO);
                    found.push(Found { dir, age });
                }
            }
        }
    }
    found
}

/// The directories in `dir` (not following links); none if it cannot be
/// read.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// When `dir` or anything directly in it last changed.
fn last_change(dir: &Path) -> Option<SystemTime> {
    let own = fs::symlink_metadata(dir).and_then(|m| m.modified()).ok()?;
    let entries = fs::read_dir(dir).ok()?;
    let newest = entries
        .flatten()
        .filter_map(|e| e.metadata().and_then(|m| m.modified()).ok())
        .max();
    Some(newest.map_or(own, |n| n.max(own)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandboxes_of_tasks_and_executors_are_found_and_nothing_else() {
        let w = std::env::temp_dir().join(format!("corral-gc-scan-{}", std::process::id()));
        let _ = fs::remove_dir_all(&w);
        let dirs = [
            "frameworks/f1/tasks/t1",
            "frameworks/f1/executors/e1",
            "frameworks/f2/tasks/t2",
            "meta/slaves",
        ];
        for d in dirs {
            fs::create_dir_all(w.join(d)).expect("a test directory");
        }
        fs::write(w.join("frameworks/f1/tasks/t1/stdout"), "hi").expect("a file");
        fs::write(w.join("frameworks/f1/tasks/not-a-dir"), "x").expect("a file");
        let later = SystemTime::now() + Duration::from_secs(3600);
        let mut found: Vec<String> = sandboxes(&w, later)
            .into_iter()
            .map(|f| {
                assert!(f.age >= Duration::from_secs(3590), "{f:?}");
                f.dir
                    .strip_prefix(&w)
                    .expect("under the work dir")
                    .display()
                    .to_string()
            })
            .collect();
        found.sort();
        let _ = fs::remove_dir_all(&w);
        assert_eq!(
            found,
            [
                "frameworks/f1/executors/e1",
                "frameworks/f1/tasks/t1",
                "frameworks/f2/tasks/t2"
            ]
        );
    }
}
