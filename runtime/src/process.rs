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
    /// The OS user to run as (its uid and primary group, with `HOME`,
    /// `USER` and `LOGNAME` set unless `env` sets them); the working
    /// directory and the output files are made its own. The host must run
    /// as root to switch to another user; a user it cannot find or switch
    /// to fails the launch ([`ExitStatus::FailedToStart`], saying why).
    /// Unset: the host's own user. The simulator runs every process as if
    /// the user existed.
    pub user: Option<String>,
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

/// "exited with status 3", "terminated by signal 9 (SIGKILL)", "failed
/// to start: ...": how every component says how a process ended.
impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with status {code}"),
            ExitStatus::Signaled(n) => match signal_name(*n) {
                Some(name) => write!(f, "terminated by signal {n} ({name})"),
                None => write!(f, "terminated by signal {n}"),
            },
            ExitStatus::FailedToStart(why) => write!(f, "failed to start: {why}"),
        }
    }
}

/// The POSIX name of a common signal number (Linux numbering).
pub fn signal_name(n: i32) -> Option<&'static str> {
    Some(match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return None,
    })
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

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn an_exit_reads_as_words_with_the_signals_name() {
        assert_eq!(ExitStatus::Exited(3).to_string(), "exited with status 3");
        assert_eq!(
            ExitStatus::Signaled(9).to_string(),
            "terminated by signal 9 (SIGKILL)"
        );
        assert_eq!(
            ExitStatus::Signaled(64).to_string(),
            "terminated by signal 64"
        );
        assert_eq!(
            ExitStatus::FailedToStart("no sh".into()).to_string(),
            "failed to start: no sh"
        );
    }
}
