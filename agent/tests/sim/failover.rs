//! Master failover from the agent's side: an agent given several masters
//! finds the leader through `NotLeader` hints, skips a master that does not
//! answer, follows `LeaderElected` with a full report of its tasks, and
//! believes none of this from strangers.

use super::*;

use corral_api::agent::AgentTask;
use corral_api::leader::STALE_TERM_PATIENCE;

/// The second master double (node 4).
fn master_b() -> Pid {
    Pid::new("master", addr(4)).unwrap()
}

/// The earliest a scheduled registration attempt can go out: half the
/// first backoff (1 s). Anything sent before it was sent at once.
const FIRST_SCHEDULED_ATTEMPT: Duration = Duration::from_millis(500);

impl World {
    /// Runs until `cond` holds on `log` (another master's), failing after
    /// `within`.
    fn wait_on(
        &mut self,
        log: &Shared<Log>,
        what: &'static str,
        within: Duration,
        cond: impl Fn(&Log) -> bool + 'static,
    ) {
        let log = log.clone();
        let seed = self.seed;
        self.sim
            .await_liveness(what, within, move |_| {
                if cond(&log.borrow()) {
                    Ok(())
                } else {
                    Err("not yet".into())
                }
            })
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    }

    /// The log of master B.
    fn b_log(&self) -> Shared<Log> {
        self.others[0].log.clone()
    }

    /// The controls of master B.
    fn b_control(&self) -> Shared<Control> {
        self.others[0].control.clone()
    }

    /// Sends RunTasks for one task from `master` and waits for its launch.
    fn run_task_from(&mut self, master: Pid, id: &str) {
        let before = self.log.borrow().launched.len();
        let msg = master::RunTasks {
            framework_id: fw(),
            framework: framework(true),
            tasks: vec![task(id)],
        };
        self.from(master, msg);
        self.wait("executor launched", secs(1), move |l| {
            l.launched.len() > before
        });
    }

    fn ack_from(&mut self, master: Pid, task: &str, uuid: [u8; 16]) {
        let msg = master::StatusAck {
            framework_id: fw(),
            task_id: TaskId::from(task),
            uuid,
        };
        self.from(master, msg);
    }

    /// Runs until the agent has registered `n` times in all.
    fn wait_registered(&mut self, n: usize, within: Duration) {
        let events = self.events.clone();
        let seed = self.seed;
        self.sim
            .await_liveness("registrations", within, move |_| {
                let count = events
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|e| matches!(e, AgentEvent::Registered { .. }))
                    .count();
                if count >= n {
                    Ok(())
                } else {
                    Err(format!("{count} registrations"))
                }
            })
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    }

    fn disconnections(&self) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| **e == AgentEvent::Disconnected)
            .count()
    }
}

fn times(log: &Shared<Log>) -> Vec<Time> {
    log.borrow().registrations.iter().map(|(t, _)| *t).collect()
}

#[test]
fn a_master_that_does_not_lead_sends_the_agent_to_the_leader_at_once() {
    let mut w = world_with_masters(41, runs_forever(), &[master_b()]);
    w.control.borrow_mut().not_leader = Some(Some(master_b()));
    w.registered();
    let b = w.b_log();
    let at_b = times(&b);
    assert_eq!(at_b.len(), 1, "one attempt at B");
    assert!(
        at_b[0] < Time::ZERO + FIRST_SCHEDULED_ATTEMPT,
        "B was tried right after A's answer, not at the next scheduled attempt: {:?}",
        at_b[0]
    );
    assert_eq!(times(&w.log).len(), 1, "one attempt at A");
    // B is the master now: its tasks run, and updates go to it.
    w.run_task_from(master_b(), "t1");
    w.register_executor("t1");
    w.executor_update("t1", TaskState::Running, 7);
    w.wait_on(&b, "RUNNING at B", secs(1), |l| {
        l.has_state("t1", TaskState::Running)
    });
    w.run_for(secs(100));
    assert!(w.log.borrow().updates.is_empty(), "nothing went to A");
    assert_eq!(times(&w.log).len(), 1, "A was not tried again");
    assert_eq!(times(&b).len(), 1, "no attempts once registered");
}

#[test]
fn an_agent_whose_first_master_is_down_registers_with_the_second() {
    let mut w = world_with_masters(42, runs_forever(), &[master_b()]);
    w.sim.crash(addr(1)).unwrap();
    w.registered();
    let b = w.b_log();
    let at_b = times(&b);
    assert_eq!(at_b.len(), 1);
    assert!(
        at_b[0] >= Time::ZERO + FIRST_SCHEDULED_ATTEMPT && at_b[0] <= Time::ZERO + secs(2),
        "B was tried at the first scheduled attempt: {:?}",
        at_b[0]
    );
    assert_eq!(b.borrow().registrations[0].1.id, None);
    w.run_task_from(master_b(), "t1");
    w.register_executor("t1");
    w.executor_update("t1", TaskState::Running, 7);
    w.wait_on(&b, "RUNNING at B", secs(1), |l| {
        l.has_state("t1", TaskState::Running)
    });
}

#[test]
fn a_master_that_names_no_leader_is_left_at_the_next_scheduled_attempt() {
    let mut w = world_with_masters(43, runs_forever(), &[master_b()]);
    w.control.borrow_mut().not_leader = Some(None);
    w.registered();
    let at_b = times(&w.b_log());
    assert_eq!(at_b.len(), 1);
    assert!(
        at_b[0] >= Time::ZERO + FIRST_SCHEDULED_ATTEMPT,
        "{:?}",
        at_b[0]
    );
    assert_eq!(times(&w.log).len(), 1);
}

#[test]
fn leader_elected_moves_a_registered_agent_and_a_report_of_its_tasks_to_the_new_leader() {
    let mut w = world_with_masters(44, runs_forever(), &[master_b()]);
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    w.executor_update("t1", TaskState::Running, 7);
    w.wait("RUNNING at A", secs(1), |l| {
        l.has_state("t1", TaskState::Running)
    });
    let updates_at_a = w.log.borrow().updates.len();
    let b = w.b_log();
    w.from(
        master_b(),
        master::LeaderElected {
            leader: master_b(),
            term: 0,
        },
    );
    w.wait_on(&b, "registration at B", secs(1), |l| {
        !l.registrations.is_empty()
    });
    let report = b.borrow().registrations[0].1.clone();
    assert_eq!(report.id, Some(AgentId::from(AGENT_ID)));
    assert_eq!(
        report.tasks,
        vec![AgentTask {
            framework_id: fw(),
            task_id: TaskId::from("t1"),
            name: "task t1".into(),
            resources: task("t1").resources,
            state: TaskState::Running,
        }]
    );
    assert_eq!(report.frameworks, vec![framework(true)]);
    assert_eq!(report.frameworks[0].id, Some(fw()));
    // B admits the agent: the unacknowledged RUNNING goes to B.
    w.wait_on(&b, "RUNNING resent to B", secs(1), |l| {
        l.has_state("t1", TaskState::Running)
    });
    assert_eq!(w.disconnections(), 1);
    // A is not the master any more: its acknowledgement is ignored, B's
    // lets the next update (FINISHED) out, to B.
    w.executor_update("t1", TaskState::Finished, 8);
    w.ack_from(master_pid(), "t1", [7; 16]);
    w.run_for(secs(1));
    assert!(!b.borrow().has_state("t1", TaskState::Finished));
    w.ack_from(master_b(), "t1", [7; 16]);
    w.wait_on(&b, "FINISHED at B", secs(1), |l| {
        l.has_state("t1", TaskState::Finished)
    });
    assert_eq!(
        w.log.borrow().updates.len(),
        updates_at_a,
        "nothing more to A"
    );
    assert_eq!(times(&w.log).len(), 1, "A was not asked again");
}

#[test]
fn leader_elected_from_the_current_master_registers_again_with_it() {
    let mut w = world_with_masters(45, runs_forever(), &[master_b()]);
    w.registered();
    w.run_tasks(&["t1"]);
    // A restarted process at the same address knows the agent only from
    // its registry: it needs the report again.
    w.from(
        master_pid(),
        master::LeaderElected {
            leader: master_pid(),
            term: 0,
        },
    );
    w.wait("second registration at A", secs(1), |l| {
        l.registrations.len() == 2
    });
    let again = w.log.borrow().registrations[1].1.clone();
    assert_eq!(again.id, Some(AgentId::from(AGENT_ID)));
    assert_eq!(again.tasks.len(), 1);
    assert_eq!(again.tasks[0].state, TaskState::Staging);
    assert!(times(&w.b_log()).is_empty());
}

#[test]
fn leader_news_from_strangers_or_about_strangers_change_nothing() {
    let mut w = world_with_masters(46, runs_forever(), &[master_b()]);
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    let b = master_b();
    w.from(
        stranger_pid(),
        master::LeaderElected {
            leader: b.clone(),
            term: 0,
        },
    );
    w.from(
        stranger_pid(),
        master::NotLeader {
            leader: Some(b.clone()),
        },
    );
    // Masters of the list naming a leader outside it.
    w.from(
        master_pid(),
        master::LeaderElected {
            leader: stranger_pid(),
            term: 0,
        },
    );
    w.from(
        b.clone(),
        master::LeaderElected {
            leader: stranger_pid(),
            term: 0,
        },
    );
    // B is not the agent's master: its NotLeader is stale news.
    w.from(
        b.clone(),
        master::NotLeader {
            leader: Some(b.clone()),
        },
    );
    w.run_for(secs(100));
    assert!(times(&w.b_log()).is_empty(), "B was never tried");
    assert_eq!(times(&w.log).len(), 1, "A was not asked again");
    assert_eq!(w.disconnections(), 0);
    // A is still the master: updates go to it.
    w.executor_update("t1", TaskState::Running, 7);
    w.wait("RUNNING at A", secs(1), |l| {
        l.has_state("t1", TaskState::Running)
    });
}

#[test]
fn a_stranger_cannot_redirect_a_registering_agent() {
    let mut w = world_with_masters(47, runs_forever(), &[master_b()]);
    w.control.borrow_mut().answer_registrations = false;
    w.from(
        stranger_pid(),
        master::NotLeader {
            leader: Some(master_b()),
        },
    );
    let b = w.b_log();
    w.wait_on(&b, "attempt at B", secs(2), |l| !l.registrations.is_empty());
    let at_b = times(&b);
    assert!(
        at_b[0] >= Time::ZERO + FIRST_SCHEDULED_ATTEMPT,
        "B was tried only by rotation: {:?}",
        at_b[0]
    );
}

#[test]
fn masters_that_name_each_other_cannot_make_the_agent_send_without_pause() {
    let mut w = world_with_masters(48, runs_forever(), &[master_b()]);
    w.control.borrow_mut().not_leader = Some(Some(master_b()));
    w.others[0].control.borrow_mut().not_leader = Some(Some(master_pid()));
    w.run_for(secs(100));
    let (at_a, at_b) = (times(&w.log), times(&w.b_log()));
    // At most 9 scheduled attempts fit in 100 s (gaps of at least 0.5, 1,
    // 2, 4, 8, 16 and 30 s); each may add one redirect (2 masters).
    assert!(at_a.len() + at_b.len() <= 18, "{at_a:?} {at_b:?}");
    assert!(!at_b.is_empty());
    assert!(!w
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, AgentEvent::Registered { .. })));
}

#[test]
fn an_agent_that_loses_its_master_registers_with_the_next_one() {
    let mut w = world_with_masters(49, runs_forever(), &[master_b()]);
    w.registered();
    w.run_tasks(&["t1"]);
    w.sim.crash(addr(1)).unwrap();
    let b = w.b_log();
    // The loss shows after the link timeout (10 s).
    w.wait_on(&b, "registration at B", secs(15), |l| {
        !l.registrations.is_empty()
    });
    let report = b.borrow().registrations[0].1.clone();
    assert_eq!(report.id, Some(AgentId::from(AGENT_ID)));
    assert_eq!(report.tasks.len(), 1);
    assert_eq!(w.disconnections(), 1);
    w.wait_registered(2, secs(1));
}

#[test]
fn a_master_that_steps_down_sends_the_agent_to_the_leader_it_names() {
    let mut w = world_with_masters(50, runs_forever(), &[master_b()]);
    w.registered();
    w.from(
        master_pid(),
        master::NotLeader {
            leader: Some(master_b()),
        },
    );
    let b = w.b_log();
    w.wait_on(&b, "registration at B", secs(1), |l| {
        !l.registrations.is_empty()
    });
    assert_eq!(
        b.borrow().registrations[0].1.id,
        Some(AgentId::from(AGENT_ID))
    );
    assert_eq!(w.disconnections(), 1);
}

#[test]
fn a_deposed_leader_of_an_older_term_is_not_followed_until_the_masters_look_reset() {
    let mut w = world_with_masters(47, runs_forever(), &[master_b()]);
    w.control.borrow_mut().term = 5;
    w.b_control().borrow_mut().term = 4;
    w.registered();
    w.run_tasks(&["t1"]);
    let b = w.b_log();
    // B led in term 4 and has not noticed it was deposed.
    w.from(
        master_b(),
        master::LeaderElected {
            leader: master_b(),
            term: 4,
        },
    );
    w.run_for(secs(1));
    assert!(
        times(&b).is_empty(),
        "an older term's announcement is ignored"
    );
    // A steps down naming B: the agent asks B, and refuses its admission.
    w.control.borrow_mut().answer_registrations = false;
    w.from(
        master_pid(),
        master::NotLeader {
            leader: Some(master_b()),
        },
    );
    w.wait_on(&b, "registration at B", secs(1), |l| {
        !l.registrations.is_empty()
    });
    w.run_for(secs(10));
    let admissions = w
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, AgentEvent::Registered { .. }))
        .count();
    assert_eq!(admissions, 1, "B's admission in term 4 was refused");
    // Refused for longer than the patience, term 4 is taken to be a
    // cluster started afresh.
    w.wait_registered(2, STALE_TERM_PATIENCE * 4);
    assert!(
        w.sim.now() >= Time::ZERO + STALE_TERM_PATIENCE,
        "not before the patience ran out"
    );
}
