//! Removed frameworks kept for display: what `/state` shows of a framework
//! that is gone, and where `corral task log` still finds its tasks.

use std::collections::VecDeque;

use super::records::{keep_latest, FrameworkRec, TaskRec};
use super::MasterCore;
use crate::state::FrameworkState;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::resources::Quantities;
use corral_api::task::TaskState;

/// A framework the master removed, with its latest tasks.
pub(super) struct CompletedFramework {
    pub id: FrameworkId,
    pub info: FrameworkInfo,
    pub role: String,
    /// When it subscribed, Unix ms.
    pub registered_ms: u64,
    /// When it was removed, Unix ms.
    pub removed_ms: u64,
    /// Its latest tasks, oldest first, each in its last state.
    pub tasks: VecDeque<(TaskId, TaskRec)>,
}

impl MasterCore {
    /// Keeps removed framework `id` for display, with its completed tasks
    /// and `last`, the tasks the master still held for it. Those still
    /// live end here as KILLED: their agents are told to kill them, and
    /// the master will not follow them further.
    pub(super) fn keep_completed(
        &mut self,
        id: FrameworkId,
        rec: FrameworkRec,
        last: Vec<(TaskId, TaskRec)>,
        now_ms: u64,
    ) {
        let max_frameworks = self.cfg.max_completed_frameworks;
        if max_frameworks == 0 {
            return;
        }
        let mut tasks = rec.completed;
        for (task_id, mut task) in last {
            task.transition(TaskState::Killed, now_ms);
            tasks.push_back((task_id, task));
        }
        keep_latest(&mut tasks, self.cfg.max_completed_tasks);
        self.completed_frameworks.push_back(CompletedFramework {
            id,
            info: rec.info,
            role: rec.role,
            registered_ms: rec.registered_ms,
            removed_ms: now_ms,
            tasks,
        });
        keep_latest(&mut self.completed_frameworks, max_frameworks);
    }

    /// The removed frameworks kept, oldest first (their tasks are in
    /// `completed_frameworks`).
    pub(super) fn completed_framework_views(&self) -> Vec<FrameworkState> {
        self.completed_frameworks
            .iter()
            .map(|f| FrameworkState {
                id: f.id.clone(),
                name: f.info.name.clone(),
                role: f.role.clone(),
                connected: false,
                used: Quantities::empty(),
                offered: Quantities::empty(),
                removed_ms: Some(f.removed_ms),
                registered_ms: f.registered_ms,
                pid: None,
                info: f.info.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::core::config::MasterConfig;
    use crate::core::tests::new_core;
    use corral_api::framework::FrameworkInfo;

    fn task(state: TaskState) -> TaskRec {
        TaskRec {
            name: "t".into(),
            agent: "a1".into(),
            resources: "cpus:1".parse().expect("resources"),
            state,
            history: vec![(TaskState::Staging, 1), (state, 2)],
            terminal_uuid: None,
            published: Default::default(),
        }
    }

    fn framework(name: &str, completed: &[(&str, TaskState)]) -> FrameworkRec {
        FrameworkRec {
            info: FrameworkInfo::new(name, "web"),
            role: "web".into(),
            pid: None,
            failover: None,
            registered_ms: 0,
            completed: completed
                .iter()
                .map(|(id, s)| (TaskId::from(*id), task(*s)))
                .collect::<VecDeque<_>>(),
        }
    }

    fn master(frameworks: usize, tasks: usize) -> MasterCore {
        new_core(MasterConfig {
            max_completed_frameworks: frameworks,
            max_completed_tasks: tasks,
            ..MasterConfig::default()
        })
    }

    #[test]
    fn a_removed_framework_is_shown_with_its_tasks_and_live_ones_end_killed() {
        let mut m = master(50, 1000);
        let rec = framework("batch", &[("done", TaskState::Finished)]);
        let last = vec![
            ("running".into(), task(TaskState::Running)),
            ("failed".into(), task(TaskState::Failed)),
        ];
        m.keep_completed("fw-1".into(), rec, last, 500);
        let (frameworks, tasks) = (m.completed_framework_views(), m.snapshot().tasks);
        assert_eq!(frameworks.len(), 1);
        let f = &frameworks[0];
        assert_eq!((f.name.as_str(), f.role.as_str()), ("batch", "web"));
        assert_eq!((f.connected, f.removed_ms), (false, Some(500)));
        assert_eq!(f.used, Quantities::empty());
        let states: Vec<(&str, TaskState)> =
            tasks.iter().map(|t| (t.id.0.as_str(), t.state)).collect();
        assert_eq!(
            states,
            [
                ("done", TaskState::Finished),
                ("running", TaskState::Killed),
                ("failed", TaskState::Failed),
            ]
        );
        assert!(tasks.iter().all(|t| t.framework_id.0 == "fw-1"));
        // The kill is in the task's history, at the removal.
        assert_eq!(tasks[1].history.last(), Some(&(TaskState::Killed, 500)));
    }

    #[test]
    fn only_the_latest_frameworks_and_tasks_are_kept_and_zero_keeps_none() {
        let mut m = master(2, 2);
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            let done = [
                ("t1", TaskState::Finished),
                ("t2", TaskState::Finished),
                ("t3", TaskState::Failed),
            ];
            let id = FrameworkId::from(name);
            m.keep_completed(id, framework(name, &done), Vec::new(), i as u64);
        }
        let (frameworks, tasks) = (m.completed_framework_views(), m.snapshot().tasks);
        let names: Vec<&str> = frameworks.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["b", "c"], "the oldest removal goes first");
        let ids: Vec<&str> = tasks.iter().map(|t| t.id.0.as_str()).collect();
        assert_eq!(ids, ["t2", "t3", "t2", "t3"], "each keeps its latest two");

        let mut none = master(0, 2);
        none.keep_completed("x".into(), framework("x", &[]), Vec::new(), 0);
        assert_eq!(none.completed_framework_views(), Vec::new());
        assert_eq!(none.snapshot().tasks, Vec::new());
    }
}
