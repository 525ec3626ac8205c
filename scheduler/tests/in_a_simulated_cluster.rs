//! The driver in a whole simulated cluster (real masters replicating
//! through Raft, real agents running the real executor): a framework's
//! work survives a leading master's crash, its own scheduler's failover,
//! and an agent's machine restarting, as the scheduler sees it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{TaskInfo, TaskState, TaskStatus};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};
use corral_simtests::harness::{ClusterBuilder, Node, SimCluster};

/// What the framework's scheduler instances did, kept outside them.
#[derive(Default)]
struct Record {
    /// The id the master gave, which a restarted scheduler keeps.
    framework_id: Option<FrameworkId>,
    /// Scheduler instances started (a failover starts another).
    instances: u32,
    /// `registered` calls: (instance, id).
    registered: Vec<(u32, FrameworkId)>,
    /// `reregistered` calls.
    reregistered: u32,
    /// Each task's states as heard: (instance, state).
    heard: BTreeMap<TaskId, Vec<(u32, TaskState)>>,
}

type Shared = Rc<RefCell<Record>>;

/// Runs jobs, one task per offer; a job whose task ends other than
/// FINISHED runs again under a new task id.
struct Jobs {
    instance: u32,
    todo: Vec<u32>,
    command: &'static str,
    record: Shared,
}

fn job_of(task: &TaskId) -> Option<u32> {
    task.0.strip_prefix("job-")?.split('.').next()?.parse().ok()
}

impl Scheduler for Jobs {
    fn registered(&mut self, _: &mut Driver<'_, '_, Self>, id: &FrameworkId) {
        let mut r = self.record.borrow_mut();
        r.framework_id = Some(id.clone());
        r.registered.push((self.instance, id.clone()));
    }

    fn reregistered(&mut self, _: &mut Driver<'_, '_, Self>, _: &FrameworkId) {
        self.record.borrow_mut().reregistered += 1;
    }

    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        let need = "cpus:0.5;mem:64".parse().expect("a valid resource text");
        for offer in offers {
            if self.todo.is_empty() || !offer.resources.contains(&need) {
                let _ = driver.decline(vec![offer.id], None);
                continue;
            }
            let Some(job) = self.todo.pop() else { continue };
            let n = self.record.borrow().heard.len();
            let id = TaskId(format!("job-{job}.{n}"));
            self.record
                .borrow_mut()
                .heard
                .insert(id.clone(), Vec::new());
            let task = TaskInfo::command(id, self.command, need.clone());
            if let Err(e) = driver.launch(&offer.id, vec![task], Some(Duration::ZERO)) {
                panic!("a launch on a fresh offer is refused: {e}");
            }
        }
    }

    fn update(&mut self, _: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        let mut r = self.record.borrow_mut();
        let states = r.heard.entry(status.task_id.clone()).or_default();
        let again = states.iter().any(|(_, s)| *s == status.state);
        states.push((self.instance, status.state));
        let ended = status.state.is_terminal() || status.state == TaskState::Lost;
        if ended && status.state != TaskState::Finished && !again {
            self.todo.extend(job_of(&status.task_id));
        }
    }
}

/// Adds the framework running `jobs` jobs of `command`; a restart of its
/// node starts a scheduler that fails over under the recorded id and
/// launches nothing new (it learns its tasks by reconciling).
fn add_jobs(c: &mut SimCluster, record: &Shared, jobs: u32, command: &'static str) {
    let (record, masters) = (record.clone(), c.masters());
    c.add_framework("jobs", move || {
        let mut r = record.borrow_mut();
        r.instances += 1;
        let mut info = FrameworkInfo::new("jobs", "*");
        info.failover_timeout = Duration::from_secs(3600);
        info.id = r.framework_id.clone();
        let todo = if info.id.is_some() {
            Vec::new()
        } else {
            (0..jobs).collect()
        };
        let jobs = Jobs {
            instance: r.instances,
            todo,
            command,
            record: record.clone(),
        };
        SchedulerDriver::new(DriverConfig::new(masters.clone(), info), jobs)
            .expect("masters and a valid name")
    })
    .expect("a framework node");
}

/// Jobs with a task heard FINISHED.
fn finished(record: &Shared) -> usize {
    let r = record.borrow();
    let mut jobs: Vec<u32> = r
        .heard
        .iter()
        .filter(|(_, states)| states.iter().any(|(_, s)| *s == TaskState::Finished))
        .filter_map(|(t, _)| job_of(t))
        .collect();
    jobs.sort();
    jobs.dedup();
    jobs.len()
}

/// Tasks heard FINISHED and then anything else.
fn unfinished_after_finished(record: &Shared) -> Vec<String> {
    let r = record.borrow();
    r.heard
        .iter()
        .filter_map(|(t, states)| {
            let at = states.iter().position(|(_, s)| *s == TaskState::Finished)?;
            let (_, then) = states[at..]
                .iter()
                .find(|(_, s)| *s != TaskState::Finished)?;
            Some(format!("{t}: FINISHED, then {then:?}"))
        })
        .collect()
}

/// Tasks last heard in `state`.
fn now_in(record: &Shared, state: TaskState) -> Vec<TaskId> {
    let r = record.borrow();
    r.heard
        .iter()
        .filter(|(_, states)| states.last().is_some_and(|(_, s)| *s == state))
        .map(|(t, _)| t.clone())
        .collect()
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn a_leading_masters_crash_loses_no_job() {
    for seed in 0..4 {
        let mut c = ClusterBuilder::new(seed)
            .masters(3)
            .agents(2, "cpus:2;mem:1024".parse().expect("resources"))
            .clock_drift_ppm(500)
            .build()
            .expect("a cluster");
        let record = Shared::default();
        add_jobs(&mut c, &record, 20, "sleep 2");
        c.run_until(MINUTE, "5 jobs finished", |_| finished(&record) >= 5)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let leader = c.leader().expect("a leader");
        c.crash(Node::Master(leader)).expect("the leader was up");
        c.run_until(2 * MINUTE, "all 20 jobs finished", |_| {
            finished(&record) == 20
        })
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let r = record.borrow();
        assert_eq!(r.registered.len(), 1, "seed {seed}: registered once");
        assert!(
            r.reregistered >= 1,
            "seed {seed}: never re-registered with the new leader"
        );
        drop(r);
        assert_eq!(
            unfinished_after_finished(&record),
            Vec::<String>::new(),
            "seed {seed}"
        );
    }
}

#[test]
fn a_failed_over_scheduler_gets_its_running_tasks_back() {
    for seed in 0..4 {
        let mut c = ClusterBuilder::new(seed)
            .masters(3)
            .agents(2, "cpus:2;mem:1024".parse().expect("resources"))
            .build()
            .expect("a cluster");
        let record = Shared::default();
        add_jobs(&mut c, &record, 6, "sleep 20");
        c.run_until(MINUTE, "6 tasks running", |_| {
            now_in(&record, TaskState::Running).len() == 6
        })
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let running = now_in(&record, TaskState::Running);
        c.crash(Node::Framework(0)).expect("the scheduler was up");
        c.run_for(Duration::from_secs(3)).expect("no violation");
        c.restart(Node::Framework(0))
            .expect("the scheduler was down");
        c.run_until(MINUTE, "the tasks finished", |_| finished(&record) == 6)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let r = record.borrow();
        let id = r.framework_id.clone().expect("an id");
        assert_eq!(
            r.registered,
            [(1, id.clone()), (2, id)],
            "seed {seed}: one id, kept"
        );
        // The second instance heard each task that ran through the crash
        // finish: none was killed or lost for the scheduler's absence.
        for t in &running {
            let heard = &r.heard[t];
            assert!(
                heard.contains(&(2, TaskState::Finished)),
                "seed {seed}: {t} heard {heard:?}"
            );
            assert!(
                heard
                    .iter()
                    .all(|(_, s)| !matches!(s, TaskState::Killed | TaskState::Lost)),
                "seed {seed}: {t} heard {heard:?}"
            );
        }
    }
}

#[test]
fn tasks_of_an_agent_whose_machine_restarted_end_and_run_again() {
    for seed in 0..4 {
        let mut c = ClusterBuilder::new(seed)
            .agents(2, "cpus:2;mem:1024".parse().expect("resources"))
            .build()
            .expect("a cluster");
        let record = Shared::default();
        add_jobs(&mut c, &record, 8, "sleep 20");
        c.run_until(MINUTE, "8 tasks running", |_| {
            now_in(&record, TaskState::Running).len() == 8
        })
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        c.crash(Node::Agent(0)).expect("the agent was up");
        c.run_for(Duration::from_secs(1)).expect("no violation");
        c.restart(Node::Agent(0)).expect("the agent was down");
        c.run_until(2 * MINUTE, "all 8 jobs finished", |_| {
            finished(&record) == 8
        })
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        // The crash ended the agent's four tasks; each was heard ending
        // and its job ran again.
        let r = record.borrow();
        let ended: Vec<&TaskId> = r
            .heard
            .iter()
            .filter(|(_, states)| {
                states.iter().any(|(_, s)| {
                    *s == TaskState::Lost || (*s != TaskState::Finished && s.is_terminal())
                })
            })
            .map(|(t, _)| t)
            .collect();
        assert_eq!(ended.len(), 4, "seed {seed}: {:?}", r.heard);
        assert_eq!(r.heard.len(), 12, "seed {seed}: 8 launches and 4 again");
        drop(r);
        assert_eq!(
            unfinished_after_finished(&record),
            Vec::<String>::new(),
            "seed {seed}"
        );
    }
}
