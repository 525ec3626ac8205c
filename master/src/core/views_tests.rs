//! The publication built from the last one is the state built afresh,
//! whatever happened between: random runs of what agents, frameworks and
//! time do to a lone master's core, published now and then. And the
//! events published with each publication, applied to what the earlier
//! ones said, give what it shows ([`Ledger`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::super::effects::{Action, Answer, Input, Outgoing, Question, Then, Timer};
use super::super::tests::{at, new_core, pid};
use super::super::MasterCore;
use super::ViewCache;
use crate::allocator::messages::Allocations;
use crate::allocator::Allocation;
use crate::events::OperatorEvent;
use crate::master::MasterConfig;
use corral_api::agent::{Pong, RegisterAgent, StatusUpdate};
use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkInfo, Kill, Offer, Operation, Subscribe, Teardown,
};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::{StatusSource, TaskInfo, TaskState, TaskStatus};
use corral_runtime::{AskError, Pid, Time};

/// One thing that happens to the master.
#[derive(Clone, Debug)]
enum Step {
    /// The allocator offers agent `agent` to framework `fw`.
    Offer { fw: usize, agent: usize },
    /// The framework of the oldest outstanding offer launches `n` tasks
    /// on it (ids from a small range, so ids come back after they end).
    Launch { n: usize, first: u16 },
    /// The oldest outstanding offer is declined.
    Decline,
    /// The agent of the `task`th live task reports it in `state`.
    Report { task: usize, state: TaskState },
    /// The framework acknowledges the last update of the `task`th task.
    Ack { task: usize },
    /// The framework kills the `task`th live task.
    Kill { task: usize },
    /// Framework `fw` tears itself down (and subscribes again later).
    Teardown { fw: usize },
    /// Framework `fw` subscribes, if it is not.
    Subscribe { fw: usize },
    /// Agent `agent`'s actor ends.
    AgentExit { agent: usize },
    /// Framework `fw`'s actor ends (it subscribes again later).
    FrameworkExit { fw: usize },
    /// Agent `agent` registers (again, after it was removed).
    Register { agent: usize },
    /// Time passes, timers fire; pings are answered or not.
    Pass { tenths: u64, answer: bool },
    /// The master publishes.
    Publish,
}

fn step() -> impl Strategy<Value = Step> {
    let state = prop_oneof![
        Just(TaskState::Running),
        Just(TaskState::Finished),
        Just(TaskState::Failed),
        Just(TaskState::Killed),
        Just(TaskState::Lost),
    ];
    prop_oneof![
        3 => (0..3usize, 0..3usize).prop_map(|(fw, agent)| Step::Offer { fw, agent }),
        3 => (1..300usize, 0..2000u16).prop_map(|(n, first)| Step::Launch { n, first }),
        1 => Just(Step::Decline),
        6 => (any::<usize>(), state).prop_map(|(task, state)| Step::Report { task, state }),
        2 => any::<usize>().prop_map(|task| Step::Ack { task }),
        1 => any::<usize>().prop_map(|task| Step::Kill { task }),
        1 => (0..3usize).prop_map(|fw| Step::Teardown { fw }),
        1 => (0..3usize).prop_map(|fw| Step::Subscribe { fw }),
        1 => (0..3usize).prop_map(|agent| Step::AgentExit { agent }),
        1 => (0..3usize).prop_map(|fw| Step::FrameworkExit { fw }),
        1 => (0..3usize).prop_map(|agent| Step::Register { agent }),
        1 => (0..100u64, any::<bool>()).prop_map(|(tenths, answer)| Step::Pass { tenths, answer }),
        4 => Just(Step::Publish),
    ]
}

/// The core and what its peers know, as a shell and peers would keep it.
struct World {
    core: MasterCore,
    now_ms: u64,
    timers: BTreeMap<(Time, u64), Timer>,
    pings: Vec<Then>,
    agents: Vec<Pid>,
    agent_ids: BTreeMap<Pid, AgentId>,
    frameworks: Vec<Pid>,
    framework_ids: BTreeMap<Pid, FrameworkId>,
    /// Outstanding offers, with the framework they went to.
    offers: Vec<(Pid, Offer)>,
    /// Each task's last update: its framework, agent and uuid.
    updates: BTreeMap<(FrameworkId, TaskId), (AgentId, [u8; 16])>,
    next_uuid: u16,
    cache: ViewCache,
    /// What the operator events said, applied in order.
    ledger: Ledger,
    /// The id each framework whose actor ended subscribes again with.
    failed_over: BTreeMap<usize, FrameworkId>,
}

/// The cluster as a subscribed operator learns it from the events alone.
#[derive(Default)]
struct Ledger {
    tasks: BTreeMap<(FrameworkId, TaskId), TaskState>,
    agents: BTreeSet<AgentId>,
    /// Subscribed frameworks, and whether each is connected.
    frameworks: BTreeMap<FrameworkId, bool>,
}

impl Ledger {
    fn apply(&mut self, e: OperatorEvent) {
        match e {
            OperatorEvent::TaskAdded { task, .. } => {
                let key = (task.framework_id.clone(), task.id.clone());
                self.tasks.insert(key, task.state);
            }
            OperatorEvent::TaskUpdated {
                framework_id,
                status,
                state,
            } => {
                assert_eq!(status.state, state, "an update's status is its state");
                let known = self.tasks.insert((framework_id, status.task_id), state);
                assert!(known.is_some(), "an update of a task never added");
            }
            OperatorEvent::AgentAdded(a) => {
                assert!(self.agents.insert(a.id.clone()), "agent added twice");
            }
            OperatorEvent::AgentRemoved(id) => {
                assert!(self.agents.remove(&id), "removed agent never added");
            }
            OperatorEvent::FrameworkAdded(f) => {
                let was = self.frameworks.insert(f.id.clone(), f.connected);
                assert!(was.is_none(), "framework added twice");
            }
            OperatorEvent::FrameworkUpdated(f) => {
                let was = self.frameworks.insert(f.id.clone(), f.connected);
                assert!(was.is_some(), "update of a framework never added");
            }
            OperatorEvent::FrameworkRemoved(f) => {
                assert!(
                    self.frameworks.remove(&f.id).is_some(),
                    "removed framework never added"
                );
            }
        }
    }

    /// Checks what the ledger says against the core after a publication.
    fn check(&self, core: &MasterCore, published: &crate::state::MasterState) {
        let agents: BTreeSet<AgentId> = published.agents.iter().map(|a| a.id.clone()).collect();
        assert_eq!(self.agents, agents, "the agents the events told of");
        let frameworks: BTreeMap<FrameworkId, bool> = published
            .frameworks
            .iter()
            .map(|f| (f.id.clone(), f.connected))
            .collect();
        assert_eq!(
            self.frameworks, frameworks,
            "the frameworks the events told of"
        );
        for (key, t) in core.tasks.iter() {
            assert_eq!(self.tasks.get(key), Some(&t.state), "live task {key:?}");
        }
        // A task the events leave live is still the master's: none ended
        // or went away unannounced.
        for (key, state) in &self.tasks {
            if !state.holds_nothing() {
                let live = core.tasks.get(key).map(|t| t.state);
                assert_eq!(live, Some(*state), "task {key:?} the events leave live");
            }
        }
    }
}

fn total() -> Resources {
    Resources::parse("cpus:1000;mem:64000").expect("valid resources")
}

impl World {
    fn new() -> World {
        // Pings time out within a few steps of unanswered time, so that
        // agents become unreachable and are removed.
        let cfg = MasterConfig {
            max_completed_tasks: 20,
            max_completed_frameworks: 2,
            agent_ping_timeout: Duration::from_secs(1),
            max_missed_pings: 2,
            agent_removal_timeout: Duration::from_secs(5),
            ..MasterConfig::default()
        };
        let mut w = World {
            core: new_core(cfg),
            now_ms: 0,
            timers: BTreeMap::new(),
            pings: Vec::new(),
            agents: (0..3).map(|i| pid("agent", 5051 + i)).collect(),
            agent_ids: BTreeMap::new(),
            frameworks: (0..3).map(|i| pid("scheduler", 6000 + i)).collect(),
            framework_ids: BTreeMap::new(),
            offers: Vec::new(),
            updates: BTreeMap::new(),
            next_uuid: 0,
            cache: ViewCache::default(),
            ledger: Ledger::default(),
            failed_over: BTreeMap::new(),
        };
        w.core.record_operator_events();
        let started = w.core.handle_started(at(0));
        w.apply(started);
        for i in 0..3 {
            w.run(Step::Register { agent: i });
            w.run(Step::Subscribe { fw: i });
        }
        w
    }

    fn handle(&mut self, from: Option<&Pid>, input: Input) {
        self.now_ms += 1;
        let actions = self.core.handle(at(self.now_ms), from, input);
        self.apply(actions);
    }

    fn apply(&mut self, actions: Vec<Action>) {
        let now = at(self.now_ms).now;
        for action in actions {
            match action {
                Action::SetTimer { key, after, timer } => {
                    self.timers.insert((now + after, key.0), timer);
                }
                Action::CancelTimer(key) => self.timers.retain(|(_, k), _| *k != key.0),
                Action::Ask {
                    question: Question::Ping,
                    then,
                    ..
                } => self.pings.push(then),
                Action::Send(to, Outgoing::AgentRegistered(r)) => {
                    self.agent_ids.insert(to, r.agent_id);
                }
                Action::Send(to, Outgoing::Subscribed(s)) => {
                    self.framework_ids.insert(to, s.framework_id);
                }
                Action::Send(to, Outgoing::Offers(o)) => {
                    self.offers
                        .extend(o.offers.into_iter().map(|o| (to.clone(), o)));
                }
                Action::Send(_, Outgoing::Update(u)) => {
                    let s = u.status;
                    if let (Some(agent), Some(uuid)) = (s.agent_id, s.uuid) {
                        self.updates
                            .insert((s.framework_id, s.task_id), (agent, uuid));
                    }
                }
                _ => {}
            }
        }
    }

    /// The live tasks' keys and agents, in order.
    fn live(&self) -> Vec<((FrameworkId, TaskId), AgentId)> {
        self.core
            .tasks
            .iter()
            .map(|(k, t)| (k.clone(), t.agent.clone()))
            .collect()
    }

    fn framework_pid(&self, fw: &FrameworkId) -> Option<Pid> {
        self.framework_ids
            .iter()
            .find(|(_, id)| *id == fw)
            .map(|(p, _)| p.clone())
    }

    fn run(&mut self, step: Step) {
        match step {
            Step::Offer { fw, agent } => {
                let (Some(fw), Some(agent)) = (
                    self.framework_ids.get(&self.frameworks[fw]).cloned(),
                    self.agent_ids.get(&self.agents[agent]).cloned(),
                ) else {
                    return;
                };
                let allocations = Allocations {
                    allocations: vec![Allocation {
                        framework: fw,
                        agent,
                        resources: Resources::parse("cpus:300;mem:9600").expect("valid"),
                    }],
                };
                self.handle(None, Input::message(allocations));
            }
            Step::Launch { n, first } => {
                if self.offers.is_empty() {
                    return;
                }
                let (fw, offer) = self.offers.remove(0);
                let each = Resources::parse("cpus:1;mem:32").expect("valid");
                let tasks = (0..n as u16)
                    .map(|i| {
                        let id = TaskId(format!("t{}", (first + i) % 2000));
                        TaskInfo::command(id, "true", each.clone())
                    })
                    .collect();
                let accept = Accept {
                    offer_ids: vec![offer.id],
                    operations: vec![Operation::Launch(tasks)],
                    refuse: None,
                };
                self.handle(Some(&fw), Input::message(accept));
            }
            Step::Decline => {
                if self.offers.is_empty() {
                    return;
                }
                let (fw, offer) = self.offers.remove(0);
                let decline = Decline {
                    offer_ids: vec![offer.id],
                    refuse: None,
                };
                self.handle(Some(&fw), Input::message(decline));
            }
            Step::Report { task, state } => {
                let live = self.live();
                if live.is_empty() {
                    return;
                }
                let ((fw, id), agent) = live[task % live.len()].clone();
                let Some(from) = self
                    .agent_ids
                    .iter()
                    .find(|(_, a)| **a == agent)
                    .map(|(p, _)| p.clone())
                else {
                    return;
                };
                self.next_uuid += 1;
                let mut uuid = [0; 16];
                uuid[..2].copy_from_slice(&self.next_uuid.to_le_bytes());
                let status = TaskStatus {
                    task_id: id,
                    framework_id: fw,
                    agent_id: Some(agent),
                    state,
                    source: StatusSource::Executor,
                    reason: None,
                    message: String::new(),
                    timestamp_ms: self.now_ms,
                    uuid: Some(uuid),
                };
                self.handle(Some(&from), Input::message(StatusUpdate { status }));
            }
            Step::Ack { task } => {
                if self.updates.is_empty() {
                    return;
                }
                let i = task % self.updates.len();
                let Some(((fw, id), (agent, uuid))) = self.updates.iter().nth(i) else {
                    return;
                };
                let Some(from) = self.framework_pid(fw) else {
                    return;
                };
                let ack = Acknowledge {
                    task_id: id.clone(),
                    agent_id: agent.clone(),
                    uuid: *uuid,
                };
                self.handle(Some(&from), Input::message(ack));
            }
            Step::Kill { task } => {
                let live = self.live();
                if live.is_empty() {
                    return;
                }
                let ((fw, id), _) = live[task % live.len()].clone();
                let Some(from) = self.framework_pid(&fw) else {
                    return;
                };
                self.handle(Some(&from), Input::message(Kill { task_id: id }));
            }
            Step::Teardown { fw } => {
                let from = self.frameworks[fw].clone();
                if self.framework_ids.remove(&from).is_some() {
                    self.handle(Some(&from), Input::message(Teardown));
                }
            }
            Step::Subscribe { fw } => {
                let from = self.frameworks[fw].clone();
                if !self.framework_ids.contains_key(&from) {
                    let mut info = FrameworkInfo::new(&format!("fw-{fw}"), "*");
                    // One whose actor ended fails over to its old id.
                    info.id = self.failed_over.remove(&fw);
                    let subscribe = Subscribe {
                        credential: None,
                        info,
                    };
                    self.handle(Some(&from), Input::message(subscribe));
                }
            }
            Step::AgentExit { agent } => {
                let from = self.agents[agent].clone();
                self.handle(None, Input::Exited(from));
            }
            Step::FrameworkExit { fw } => {
                let from = self.frameworks[fw].clone();
                if let Some(id) = self.framework_ids.remove(&from) {
                    self.failed_over.insert(fw, id);
                    self.handle(None, Input::Exited(from));
                }
            }
            Step::Register { agent } => {
                let from = self.agents[agent].clone();
                let m = RegisterAgent::first(format!("node-{agent}"), total(), from.clone());
                self.handle(Some(&from), Input::message(m));
            }
            Step::Pass { tenths, answer } => {
                // Pings asked before are answered, or time out.
                for then in std::mem::take(&mut self.pings) {
                    let pong = if answer {
                        Ok(Pong)
                    } else {
                        Err(AskError::Timeout)
                    };
                    self.handle(None, Input::Answer(then, Answer::Pong(pong)));
                }
                self.now_ms += tenths * 100;
                let now = at(self.now_ms).now;
                while let Some(entry) = self.timers.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    let timer = entry.remove();
                    self.handle(None, Input::Timer(timer));
                }
            }
            Step::Publish => self.publish(),
        }
    }

    /// Publishes and checks the publication against the state built
    /// afresh, and that it shares the chunks that did not change.
    fn publish(&mut self) {
        let published = self.core.publication(&mut self.cache);
        assert_eq!(
            published,
            self.core.snapshot(),
            "the publication is the snapshot"
        );
        for e in self.core.take_operator_events() {
            self.ledger.apply(e);
        }
        self.ledger.check(&self.core, &published);
        assert_eq!(
            self.core.published_metrics(&self.cache, &published),
            self.core.metrics(),
            "the published metrics are the master's"
        );
        let again = self.core.publication(&mut self.cache);
        assert_eq!(published.tasks.chunks().len(), again.tasks.chunks().len());
        for (a, b) in published.tasks.chunks().iter().zip(again.tasks.chunks()) {
            assert!(Arc::ptr_eq(a, b), "nothing changed: every chunk is shared");
        }
        for (a, b) in published.agents.iter().zip(&again.agents) {
            assert!(Arc::ptr_eq(a, b), "nothing changed: every agent is shared");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_publication_built_from_the_last_one_is_the_state_built_afresh(
        steps in prop::collection::vec(step(), 1..120),
    ) {
        let mut w = World::new();
        for s in steps {
            w.run(s);
        }
        w.publish();
    }
}

#[test]
fn chunks_split_and_a_cleared_table_publishes_whole() {
    let mut w = World::new();
    for s in [
        Step::Offer { fw: 0, agent: 0 },
        Step::Launch { n: 300, first: 0 },
        Step::Publish,
        Step::Offer { fw: 0, agent: 1 },
        Step::Launch { n: 300, first: 150 },
        Step::Publish,
    ] {
        w.run(s);
    }
    let published = w.core.publication(&mut w.cache);
    assert!(published.tasks.len() >= 300);
    let longest = published.tasks.chunks().iter().map(|c| c.len()).max();
    assert!(longest <= Some(2 * super::CHUNK), "inserts split chunks");
    w.core.tasks.clear();
    // Not a change the master makes: nothing announces it.
    w.ledger.tasks.clear();
    w.publish();
    assert!(w.core.snapshot().tasks.is_empty());
}
