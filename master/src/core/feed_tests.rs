//! What a restarted lone master tells subscribed operators as its agents
//! and frameworks come back (the random runs of `views_tests` check the
//! rest against a ledger of the events).

use super::super::effects::{Input, Outgoing};
use super::super::tests::{at, new_core, pid};
use crate::events::OperatorEvent;
use crate::master::MasterConfig;
use corral_api::agent::{AgentTask, RegisterAgent};
use corral_api::framework::{FrameworkInfo, Subscribe};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskState;

fn res(text: &str) -> Resources {
    Resources::parse(text).expect("valid test resources")
}

#[test]
fn a_restarted_master_announces_what_its_agents_bring_back_and_the_framework_s_return() {
    let mut core = new_core(MasterConfig::default());
    core.record_operator_events();
    core.handle_started(at(0));
    assert_eq!(core.take_operator_events(), []);

    let fw = FrameworkId("fw-1".into());
    let mut info = FrameworkInfo::new("old", "*");
    info.id = Some(fw.clone());
    let agent = pid("agent", 5051);
    let mut m = RegisterAgent::first("node-1", res("cpus:4;mem:1024"), agent.clone());
    m.id = Some(AgentId("agent-7".into()));
    m.frameworks = vec![info.clone()];
    m.tasks = vec![AgentTask {
        framework_id: fw.clone(),
        task_id: TaskId("t1".into()),
        name: "t1".into(),
        resources: res("cpus:1;mem:64"),
        state: TaskState::Running,
    }];
    let actions = core.handle(at(1), Some(&agent), Input::message(m));
    assert!(
        actions.iter().any(|a| matches!(
            a,
            super::super::Action::Send(_, Outgoing::AgentRegistered(_))
        )),
        "{actions:?}"
    );
    let events = core.take_operator_events();
    let [OperatorEvent::FrameworkAdded(f), OperatorEvent::AgentAdded(a), OperatorEvent::TaskAdded { task, role }] =
        events.as_slice()
    else {
        panic!("a framework, then its agent, then its task: {events:#?}");
    };
    assert_eq!(
        (&f.id, f.connected),
        (&fw, false),
        "recovered, not connected"
    );
    assert_eq!(a.id, AgentId("agent-7".into()));
    assert_eq!(a.used, res("cpus:1;mem:64"), "what its task holds");
    assert_eq!(
        (&task.id, task.state),
        (&TaskId("t1".into()), TaskState::Running)
    );
    assert_eq!(role, "*");

    let scheduler = pid("scheduler", 6000);
    let subscribe = Subscribe {
        credential: None,
        info,
    };
    core.handle(at(2), Some(&scheduler), Input::message(subscribe));
    let events = core.take_operator_events();
    let [OperatorEvent::FrameworkUpdated(f)] = events.as_slice() else {
        panic!("the framework's return: {events:#?}");
    };
    assert_eq!((&f.id, f.connected), (&fw, true));
    assert_eq!(f.used.get("cpus"), 1.0, "its task's share");
}
