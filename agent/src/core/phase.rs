//! Where one task's supervision stands: [`Phase`], with every transition
//! written here, and its mapping to the checkpoint's stored fields.
//!
//! ```text
//!   launch ──► Launching ──registered──► Running ──kill──► Killing
//!                 │                        │                 │
//!   restart ──► Reconnecting ─re-registered┴──(kill asked)───┘
//!                 │                        │                 │
//!                 └──────── end (any terminal update) ───────┴──► Ended
//! ```
//!
//! A task killed before its executor registered ends at once; a
//! reconnecting task may be killed too (the kill goes to the executor pid
//! of the checkpoint), and stays reconnecting until its executor is back.

use corral_runtime::Pid;

use crate::checkpoint::TaskCheckpoint;

/// Whether a kill was asked for a task whose executor is not back yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kill {
    /// No kill asked.
    NotAsked,
    /// Asked by an earlier run of the agent: no deadline of this run.
    Asked,
    /// Asked in this run: the task's kill deadline runs.
    Timed,
}

/// One task's supervision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Started by this run; its executor has not registered, and the
    /// registration deadline runs.
    Launching,
    /// Read back from an earlier run's checkpoint, before the agent decided
    /// whether to wait for its executor (only while the agent starts).
    Restored {
        /// The checkpointed executor.
        executor: Option<Pid>,
        /// Whether a kill was asked.
        kill: Kill,
    },
    /// Taken back after a restart; its executor (the pid it had registered
    /// from, if it had) has not come back to this run yet.
    Reconnecting {
        /// The checkpointed executor.
        executor: Option<Pid>,
        /// Whether a kill was asked.
        kill: Kill,
    },
    /// Its executor runs it.
    Running {
        /// The executor's actor.
        executor: Pid,
    },
    /// A kill was asked and its executor has it.
    Killing {
        /// The executor's actor.
        executor: Pid,
        /// This run's kill deadline runs (false for a kill asked by an
        /// earlier run, which is only passed on again).
        timed: bool,
    },
    /// A terminal update was queued: resources are free, nothing follows.
    Ended {
        /// The executor, if one registered: its late updates are still
        /// acknowledged, and it is stopped once the task is forgotten.
        executor: Option<Pid>,
        /// A kill had been asked (kept for the checkpoint).
        killed: bool,
        /// The executor was registered with this run when the task ended
        /// (shown to operators).
        connected: bool,
    },
}

/// What a kill does, from [`Phase::kill`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KillPath {
    /// No executor has the task: the caller ends it now, as killed.
    EndNow,
    /// Send the kill to this executor; its deadline starts.
    Executor(Pid),
}

/// Deadlines of this run that stop when a task ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Deadlines {
    /// The executor registration deadline.
    pub(crate) registration: bool,
    /// The kill deadline.
    pub(crate) kill: bool,
}

impl Phase {
    /// A task just launched: with its executor when that already
    /// registered (a framework's own executor other tasks share).
    pub(crate) fn launched(executor: Option<Pid>) -> Phase {
        match executor {
            Some(executor) => Phase::Running { executor },
            None => Phase::Launching,
        }
    }

    /// The phase of a checkpointed task (the inverse of [`Phase::stored`]).
    pub(crate) fn restored(saved: &TaskCheckpoint) -> Phase {
        let executor = saved.executor.clone();
        if saved.terminal {
            return Phase::Ended {
                connected: executor.is_some(),
                executor,
                killed: saved.kill_requested,
            };
        }
        let kill = if saved.kill_requested {
            Kill::Asked
        } else {
            Kill::NotAsked
        };
        Phase::Restored { executor, kill }
    }

    /// The checkpoint's fields: executor, terminal, kill requested.
    pub(crate) fn stored(&self) -> (Option<Pid>, bool, bool) {
        (
            self.executor().cloned(),
            self.is_ended(),
            self.kill_requested(),
        )
    }

    /// A restored task now waits for its executor to re-register.
    pub(crate) fn await_executor(&mut self) {
        if let Phase::Restored { executor, kill } = self {
            *self = Phase::Reconnecting {
                executor: executor.take(),
                kill: *kill,
            };
        }
    }

    /// The executor the task knows of (registered, or checkpointed).
    pub(crate) fn executor(&self) -> Option<&Pid> {
        match self {
            Phase::Launching => None,
            Phase::Restored { executor, .. }
            | Phase::Reconnecting { executor, .. }
            | Phase::Ended { executor, .. } => executor.as_ref(),
            Phase::Running { executor } | Phase::Killing { executor, .. } => Some(executor),
        }
    }

    /// Whether a terminal update was queued.
    pub(crate) fn is_ended(&self) -> bool {
        matches!(self, Phase::Ended { .. })
    }

    /// Whether a kill was asked.
    pub(crate) fn kill_requested(&self) -> bool {
        match self {
            Phase::Launching | Phase::Running { .. } => false,
            Phase::Restored { kill, .. } | Phase::Reconnecting { kill, .. } => {
                *kill != Kill::NotAsked
            }
            Phase::Killing { .. } => true,
            Phase::Ended { killed, .. } => *killed,
        }
    }

    /// Whether the task waits for its executor to come back after a restart.
    pub(crate) fn is_reconnecting(&self) -> bool {
        matches!(self, Phase::Reconnecting { .. })
    }

    /// Whether the executor is registered with this run (for a restored
    /// task not yet waiting: whether one had registered).
    pub(crate) fn executor_connected(&self) -> bool {
        match self {
            Phase::Launching | Phase::Reconnecting { .. } => false,
            Phase::Restored { executor, .. } => executor.is_some(),
            Phase::Running { .. } | Phase::Killing { .. } => true,
            Phase::Ended { connected, .. } => *connected,
        }
    }

    /// `executor` registered (or re-registered) for the live task. Returns
    /// whether the registration deadline stops.
    pub(crate) fn executor_registered(&mut self, executor: Pid) -> bool {
        let was = std::mem::replace(self, Phase::Launching);
        let (next, deadline) = match was {
            Phase::Launching => (Phase::Running { executor }, true),
            Phase::Restored { kill, .. } | Phase::Reconnecting { kill, .. } => {
                let next = match kill {
                    Kill::NotAsked => Phase::Running { executor },
                    Kill::Asked | Kill::Timed => Phase::Killing {
                        executor,
                        timed: kill == Kill::Timed,
                    },
                };
                (next, false)
            }
            Phase::Running { .. } => (Phase::Running { executor }, false),
            Phase::Killing { timed, .. } => (Phase::Killing { executor, timed }, false),
            Phase::Ended { killed, .. } => (
                Phase::Ended {
                    executor: Some(executor),
                    killed,
                    connected: true,
                },
                false,
            ),
        };
        *self = next;
        deadline
    }

    /// A kill is asked: where it goes. A task that no executor has is
    /// left as it is, for the caller to end as killed
    /// ([`end`](Self::end) with `killed`).
    pub(crate) fn kill(&mut self) -> KillPath {
        match self {
            Phase::Running { executor } | Phase::Killing { executor, .. } => {
                let executor = executor.clone();
                *self = Phase::Killing {
                    executor: executor.clone(),
                    timed: true,
                };
                KillPath::Executor(executor)
            }
            Phase::Restored {
                executor: Some(executor),
                kill,
            }
            | Phase::Reconnecting {
                executor: Some(executor),
                kill,
            } => {
                *kill = Kill::Timed;
                KillPath::Executor(executor.clone())
            }
            Phase::Launching
            | Phase::Restored { executor: None, .. }
            | Phase::Reconnecting { executor: None, .. }
            | Phase::Ended { .. } => KillPath::EndNow,
        }
    }

    /// The task ends (`killed`: by a kill that no executor had). Returns the
    /// deadlines that stop with it; an ended task stays as it is.
    pub(crate) fn end(&mut self, killed: bool) -> Deadlines {
        if self.is_ended() {
            return Deadlines::default();
        }
        let deadlines = Deadlines {
            registration: matches!(self, Phase::Launching),
            kill: matches!(
                self,
                Phase::Killing { timed: true, .. }
                    | Phase::Restored {
                        kill: Kill::Timed,
                        ..
                    }
                    | Phase::Reconnecting {
                        kill: Kill::Timed,
                        ..
                    }
            ),
        };
        *self = Phase::Ended {
            executor: self.executor().cloned(),
            killed: killed || self.kill_requested(),
            connected: self.executor_connected(),
        };
        deadlines
    }
}

#[cfg(test)]
mod tests {
    use corral_api::framework::FrameworkInfo;
    use corral_api::resources::Resources;
    use corral_api::task::{TaskInfo, TaskState};

    use super::*;

    fn executor() -> Pid {
        "executor@10.0.0.9:40000".parse().expect("pid")
    }

    fn saved(executor: Option<Pid>, terminal: bool, kill_requested: bool) -> TaskCheckpoint {
        TaskCheckpoint {
            framework: FrameworkInfo::new("fw", "*"),
            info: TaskInfo {
                task_id: "t".into(),
                name: "t".into(),
                command: "true".into(),
                env: vec![],
                resources: Resources::empty(),
                container: None,
                executor: None,
            },
            executor,
            state: TaskState::Running,
            terminal,
            kill_requested,
            shared_executor: None,
        }
    }

    /// Every combination an earlier run may have stored reads back as the
    /// same fields, before and after the agent decides to wait for the
    /// executor: old checkpoints stay readable and are rewritten unchanged.
    #[test]
    fn every_stored_combination_round_trips_through_the_phase() {
        for executor in [None, Some(executor())] {
            for terminal in [false, true] {
                for kill in [false, true] {
                    let fields = (executor.clone(), terminal, kill);
                    let mut phase = Phase::restored(&saved(executor.clone(), terminal, kill));
                    assert_eq!(phase.stored(), fields, "restored {phase:?}");
                    phase.await_executor();
                    assert_eq!(phase.stored(), fields, "waiting {phase:?}");
                    assert_eq!(phase.is_reconnecting(), !terminal);
                }
            }
        }
    }

    /// (from, input, to, what the input returns) for each transition.
    #[test]
    fn transitions() {
        let e = executor;
        let reconnecting = |kill| Phase::Reconnecting {
            executor: Some(e()),
            kill,
        };
        let registered = [
            (Phase::Launching, Phase::Running { executor: e() }, true),
            (
                reconnecting(Kill::NotAsked),
                Phase::Running { executor: e() },
                false,
            ),
            (
                reconnecting(Kill::Asked),
                Phase::Killing {
                    executor: e(),
                    timed: false,
                },
                false,
            ),
            (
                reconnecting(Kill::Timed),
                Phase::Killing {
                    executor: e(),
                    timed: true,
                },
                false,
            ),
        ];
        for (mut from, to, deadline) in registered {
            let was = from.clone();
            assert_eq!(from.executor_registered(e()), deadline, "{was:?}");
            assert_eq!(from, to, "{was:?} registered");
        }
        let kills = [
            (Phase::Launching, Phase::Launching, KillPath::EndNow),
            (
                Phase::Running { executor: e() },
                Phase::Killing {
                    executor: e(),
                    timed: true,
                },
                KillPath::Executor(e()),
            ),
            (
                reconnecting(Kill::NotAsked),
                reconnecting(Kill::Timed),
                KillPath::Executor(e()),
            ),
            (
                Phase::Reconnecting {
                    executor: None,
                    kill: Kill::NotAsked,
                },
                Phase::Reconnecting {
                    executor: None,
                    kill: Kill::NotAsked,
                },
                KillPath::EndNow,
            ),
        ];
        for (mut from, to, path) in kills {
            let was = from.clone();
            assert_eq!(from.kill(), path, "{was:?}");
            assert_eq!(from, to, "{was:?} killed");
        }
        let ends = [
            (
                Phase::Launching,
                true,
                Deadlines {
                    registration: true,
                    kill: false,
                },
                Phase::Ended {
                    executor: None,
                    killed: true,
                    connected: false,
                },
            ),
            (
                Phase::Killing {
                    executor: e(),
                    timed: true,
                },
                false,
                Deadlines {
                    registration: false,
                    kill: true,
                },
                Phase::Ended {
                    executor: Some(e()),
                    killed: true,
                    connected: true,
                },
            ),
            (
                reconnecting(Kill::NotAsked),
                false,
                Deadlines::default(),
                Phase::Ended {
                    executor: Some(e()),
                    killed: false,
                    connected: false,
                },
            ),
        ];
        for (mut from, killed, deadlines, to) in ends {
            let was = from.clone();
            assert_eq!(from.end(killed), deadlines, "{was:?}");
            assert_eq!(from, to, "{was:?} ended");
            assert_eq!(from.end(false), Deadlines::default(), "ending twice");
        }
    }
}
