//! Unit and property tests of the status update manager.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{StatusSource, TaskState, TaskStatus};
use corral_runtime::Time;
use proptest::prelude::*;

use super::*;

const MIN: Duration = Duration::from_secs(10);
const MAX: Duration = Duration::from_secs(600);

fn status(task: &str, state: TaskState, uuid: u8) -> TaskStatus {
    TaskStatus {
        task_id: TaskId::from(task),
        framework_id: FrameworkId::from("fw"),
        agent_id: None,
        state,
        source: StatusSource::Executor,
        reason: None,
        message: String::new(),
        timestamp_ms: 0,
        uuid: Some([uuid; 16]),
    }
}

fn at(secs: u64) -> Time {
    Time::ZERO + Duration::from_secs(secs)
}

fn uuids(v: &[TaskStatus]) -> Vec<u8> {
    v.iter().map(|s| s.uuid.unwrap()[0]).collect()
}

fn fw() -> FrameworkId {
    FrameworkId::from("fw")
}

#[test]
fn one_update_in_flight_per_task_retried_with_doubling_backoff() {
    let mut m = UpdateManager::new(MIN, Duration::from_secs(40));
    assert_eq!(
        m.push(status("a", TaskState::Starting, 1), at(0)),
        PushResult::Queued
    );
    assert_eq!(
        m.push(status("a", TaskState::Running, 2), at(0)),
        PushResult::Queued
    );
    assert_eq!(uuids(&m.due(at(0))), vec![1]);
    assert!(m.due(at(9)).is_empty());
    assert_eq!(m.next_due(), Some(at(10)));
    assert_eq!(uuids(&m.due(at(10))), vec![1]);
    assert_eq!(m.next_due(), Some(at(30)));
    assert_eq!(uuids(&m.due(at(30))), vec![1]);
    assert_eq!(m.next_due(), Some(at(70)));
    assert_eq!(uuids(&m.due(at(70))), vec![1]);
    // Capped at 40 s.
    assert_eq!(m.next_due(), Some(at(110)));
    // A stale ack changes nothing; the head's ack sends the next at once.
    assert_eq!(m.ack(&fw(), &TaskId::from("a"), [2; 16]), AckResult::Stale);
    assert_eq!(m.ack(&fw(), &TaskId::from("a"), [1; 16]), AckResult::Acked);
    assert_eq!(uuids(&m.due(at(71))), vec![2]);
    assert_eq!(m.next_due(), Some(at(81)));
    assert_eq!(m.ack(&fw(), &TaskId::from("a"), [2; 16]), AckResult::Acked);
    assert!(m.is_empty_for(&(fw(), TaskId::from("a"))));
    assert_eq!(m.next_due(), None);
    assert_eq!(
        m.ack(&fw(), &TaskId::from("zz"), [2; 16]),
        AckResult::Unknown
    );
}

#[test]
fn duplicates_and_updates_after_terminal_are_dropped() {
    let mut m = UpdateManager::new(MIN, MAX);
    assert_eq!(
        m.push(status("a", TaskState::Running, 1), at(0)),
        PushResult::Queued
    );
    assert_eq!(
        m.push(status("a", TaskState::Running, 1), at(0)),
        PushResult::Duplicate
    );
    assert_eq!(
        m.push(status("a", TaskState::Finished, 2), at(0)),
        PushResult::Queued
    );
    assert_eq!(
        m.push(status("a", TaskState::Failed, 3), at(0)),
        PushResult::AfterTerminal
    );
    assert_eq!(
        m.push(status("a", TaskState::Finished, 2), at(0)),
        PushResult::Duplicate
    );
    let mut no_uuid = status("a", TaskState::Running, 4);
    no_uuid.uuid = None;
    assert_eq!(m.push(no_uuid, at(0)), PushResult::NoUuid);
    assert_eq!(m.pending_count(), 2);
    assert_eq!(m.pending_for(&(fw(), TaskId::from("a"))), 2);
}

#[test]
fn tasks_are_independent_and_resend_all_starts_over() {
    let mut m = UpdateManager::new(MIN, MAX);
    m.push(status("a", TaskState::Running, 1), at(0));
    assert_eq!(uuids(&m.due(at(0))), vec![1]);
    m.push(status("b", TaskState::Running, 2), at(5));
    assert_eq!(uuids(&m.due(at(5))), vec![2]);
    assert_eq!(uuids(&m.resend_all(at(6))), vec![1, 2]);
    assert_eq!(m.next_due(), Some(at(16)));
    m.remove_framework(&fw());
    assert_eq!(m.stream_count(), 0);
}

#[test]
fn a_full_stream_refuses_more() {
    let mut m = UpdateManager::new(MIN, MAX);
    for i in 0..MAX_PENDING_PER_TASK {
        let mut s = status("a", TaskState::Running, 0);
        s.uuid = Some(u128::try_from(i).unwrap().to_le_bytes());
        assert_eq!(m.push(s, at(0)), PushResult::Queued);
    }
    let mut s = status("a", TaskState::Running, 0);
    s.uuid = Some([0xff; 16]);
    assert_eq!(m.push(s, at(0)), PushResult::Full);
}

#[derive(Clone, Debug)]
enum Op {
    /// Push an update for task `task` with uuid from a small pool (so
    /// duplicates happen) and a state (terminal sometimes).
    Push { task: u8, uuid: u8, terminal: bool },
    /// Ack the head of `task` (or a wrong uuid when `stale`).
    Ack { task: u8, stale: bool },
    /// Advance the clock and poll.
    Tick { secs: u16 },
    /// Re-registration.
    ResendAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u8, 0..12u8, prop::bool::weighted(0.15))
            .prop_map(|(task, uuid, terminal)| Op::Push { task, uuid, terminal }),
        3 => (0..3u8, prop::bool::weighted(0.2)).prop_map(|(task, stale)| Op::Ack { task, stale }),
        3 => (0..1200u16).prop_map(|secs| Op::Tick { secs }),
        1 => Just(Op::ResendAll),
    ]
}

/// What the master saw, per task: uuids in order of first delivery.
#[derive(Default)]
struct Seen {
    first: BTreeMap<String, Vec<u8>>,
    terminal_at: BTreeMap<String, usize>,
    in_flight: BTreeMap<String, u8>,
}

impl Seen {
    fn record(&mut self, sent: Vec<TaskStatus>) -> Result<(), TestCaseError> {
        let mut tasks_this_poll = BTreeSet::new();
        for s in sent {
            let task = s.task_id.0.clone();
            prop_assert!(
                tasks_this_poll.insert(task.clone()),
                "two updates of one task at once"
            );
            let uuid = s.uuid.unwrap()[0];
            self.in_flight.insert(task.clone(), uuid);
            let first = self.first.entry(task.clone()).or_default();
            if !first.contains(&uuid) {
                prop_assert!(
                    !self.terminal_at.contains_key(&task),
                    "update {uuid} of {task} after its terminal update"
                );
                first.push(uuid);
                if s.state.is_terminal() {
                    self.terminal_at.insert(task, first.len());
                }
            }
        }
        Ok(())
    }
}

fn task_name(t: u8) -> String {
    format!("t{t}")
}

proptest! {
    #[test]
    fn updates_go_out_in_push_order_and_nothing_follows_a_terminal(
        ops in prop::collection::vec(op(), 1..120)
    ) {
        let mut m = UpdateManager::new(MIN, MAX);
        let mut now = Time::ZERO;
        let mut pushed: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut seen = Seen::default();
        for op in ops {
            match op {
                Op::Push { task, uuid, terminal } => {
                    let state = if terminal { TaskState::Finished } else { TaskState::Running };
                    let name = task_name(task);
                    let r = m.push(status(&name, state, uuid), now);
                    let list = pushed.entry(name).or_default();
                    prop_assert_eq!(r == PushResult::Duplicate, list.contains(&uuid));
                    if r == PushResult::Queued {
                        list.push(uuid);
                    }
                }
                Op::Ack { task, stale } => {
                    let name = task_name(task);
                    let head = seen.in_flight.get(&name).copied();
                    if let Some(h) = head {
                        let uuid = if stale { h.wrapping_add(1) } else { h };
                        m.ack(&fw(), &TaskId(name), [uuid; 16]);
                    }
                }
                Op::Tick { secs } => now = now + Duration::from_secs(u64::from(secs)),
                Op::ResendAll => seen.record(m.resend_all(now))?,
            }
            seen.record(m.due(now))?;
        }
        // Drain: ack every head until nothing is pending.
        for _ in 0..(MAX_PENDING_PER_TASK * 3) {
            if m.pending_count() == 0 {
                break;
            }
            now = now + MAX;
            let sent = m.due(now);
            for s in &sent {
                m.ack(&s.framework_id, &s.task_id, s.uuid.unwrap());
            }
            seen.record(sent)?;
        }
        prop_assert_eq!(m.pending_count(), 0);
        for (task, list) in &pushed {
            let empty = Vec::new();
            let first = seen.first.get(task).unwrap_or(&empty);
            prop_assert_eq!(first, list, "task {}", task);
        }
    }
}

#[test]
fn a_shut_down_frameworks_task_ends_are_kept_and_due_at_once() {
    let mut m = UpdateManager::new(MIN, MAX);
    m.push(status("a", TaskState::Running, 1), at(0));
    m.push(status("a", TaskState::Finished, 2), at(0));
    m.push(status("b", TaskState::Running, 3), at(0));
    assert_eq!(uuids(&m.due(at(0))), vec![1, 3]);
    m.remove_framework(&fw());
    assert_eq!(m.stream_count(), 1, "b had no end to keep");
    assert_eq!(uuids(&m.due(at(1))), vec![2], "a's end, without waiting");
}
