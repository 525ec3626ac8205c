//! OS processes as actors see them: launched and signalled through `Ctx`,
//! their exit reported back as an event.
//!
//! The kernel only queues requests ([`ProcessRequest`]) and takes exits back
//! ([`Kernel::handle_process_exit`](crate::Kernel::handle_process_exit)); the
//! host does the work: the node host forks real processes, the simulator runs
//! simulated ones for a virtual duration. That is what lets an agent run its
//! tasks in simulation.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What to run: a shell command line with its environment and files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// Run with `/bin/sh -c`.
    pub command: String,
    /// Extra environment variables (the host's environment is not inherited).
    pub env: Vec<(String, String)>,
    /// Working directory, created (with its parents) if missing; the host's
    /// current one when unset.
    pub cwd: Option<PathBuf>,
    /// File to append the standard output to; discarded when unset.
    pub stdout: Option<PathBuf>,
    /// File to append the standard error to; discarded when unset.
    pub stderr: Option<PathBuf>,
}

/// A process launched by an actor of this node (unique per node run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessId(pub u64);

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal (by number) ended it.
    Signaled(i32),
    /// It never started (bad working directory, no shell, ...).
    FailedToStart(String),
}

impl ExitStatus {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        matches!(self, ExitStatus::Exited(0))
    }
}

/// Signals an actor may send to its processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// SIGTERM: asks the process (group) to stop.
    Term,
    /// SIGKILL: stops it at once.
    Kill,
}

impl Signal {
    /// The POSIX signal number.
    pub fn number(self) -> i32 {
        match self {
            Signal::Term => 15,
            Signal::Kill => 9,
        }
    }
}

/// Work the kernel asks its host to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessRequest {
    /// Start a process; report its end with `handle_process_exit(id, ..)`.
    Launch {
        /// The id the actor got.
        id: ProcessId,
        /// What to run.
        spec: ProcessSpec,
    },
    /// Send a signal to a running process (and its process group).
    Signal {
        /// Which process.
        id: ProcessId,
        /// Which signal.
        signal: Signal,
    },
}
