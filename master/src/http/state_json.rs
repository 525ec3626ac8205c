//! The JSON of the master's `GET /state`: the contract the web UI and the
//! CLI read. Field names are part of it; change them only with both.
//!
//! ```json
//! {"version": "0.1.0", "leader": "master@10.0.0.1:5050", "pid": "master@10.0.0.1:5050",
//!  "start_time_ms": 1700000000000,
//!  "agents": [{"id": "..", "hostname": "..", "pid": "agent@..", "http": "http://10.0.0.2:5051",
//!              "total": R, "used": R, "offered": R, "attributes": "rack:r1", "reachable": true}],
//!  "frameworks": [{"id": "..", "name": "..", "role": "*", "connected": true, "used": Q, "offered": Q,
//!                  "removed_time_ms": null}],
//!  "completed_frameworks": [{... as above, "connected": false, "removed_time_ms": 1700000009000}],
//!  "tasks": [{"id": "..", "name": "..", "framework_id": "..", "agent_id": "..",
//!             "state": "TASK_RUNNING", "resources": R,
//!             "history": [{"state": "TASK_STAGING", "time_ms": 1700000000100}]}],
//!  "outstanding_offers": 2,
//!  "totals": {"total": Q, "used": Q, "offered": Q, "unreachable": Q}}
//! ```
//!
//! where R is `{"cpus": 1.5, "mem": 1024, "disk": 0, "gpus": 0, "ports":
//! "[31000-31999]"}`: scalars absent from the resources are 0, and `ports`
//! is Mesos's range text, `""` when there are none: what one agent has or
//! one task uses. Q, a sum over agents, is `{"cpus": 8, "mem": 4096, "disk":
//! 0, "gpus": 0, "ports": 2002}`: `ports` is how many ports, since the same
//! range on two agents is two sets of ports. `http` is null for an
//! agent that serves no HTTP. Task states use Mesos's names.
//! `completed_frameworks` are frameworks the master removed, kept for
//! display (Mesos's `completed_frameworks`); their tasks are in `tasks`,
//! those still live at the removal as `TASK_KILLED`.

use serde::{Deserialize, Serialize};

use crate::state::{AgentState, FrameworkState, MasterState, TaskView};
use corral_api::resources::{Quantities, Resources};
use corral_api::task::task_state_name;
use corral_http::ResourcesJson;

/// Amounts summed over agents, as the UI shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuantitiesJson {
    /// CPUs.
    pub cpus: f64,
    /// Memory, MB.
    pub mem: f64,
    /// Disk, MB.
    pub disk: f64,
    /// GPUs.
    pub gpus: f64,
    /// How many ports.
    pub ports: u64,
}

impl From<&Quantities> for QuantitiesJson {
    fn from(q: &Quantities) -> QuantitiesJson {
        QuantitiesJson {
            cpus: q.get("cpus"),
            mem: q.get("mem"),
            disk: q.get("disk"),
            gpus: q.get("gpus"),
            ports: q.members("ports"),
        }
    }
}

/// The whole `/state` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateJson {
    /// The master's software version.
    pub version: String,
    /// The leading master's pid (this master, until masters replicate).
    pub leader: String,
    /// This master's pid.
    pub pid: String,
    /// When this master started, Unix ms.
    pub start_time_ms: u64,
    /// Admitted agents.
    pub agents: Vec<AgentJson>,
    /// Subscribed frameworks.
    pub frameworks: Vec<FrameworkJson>,
    /// Removed frameworks kept for display, oldest removal first.
    pub completed_frameworks: Vec<FrameworkJson>,
    /// Live tasks and the latest completed ones, completed frameworks'
    /// included.
    pub tasks: Vec<TaskJson>,
    /// Offers not yet answered.
    pub outstanding_offers: usize,
    /// Sums over the agents.
    pub totals: TotalsJson,
}

/// An agent in `/state`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentJson {
    /// Its id.
    pub id: String,
    /// Its host name.
    pub hostname: String,
    /// Its actor.
    pub pid: String,
    /// Base URL of its HTTP API, or null.
    pub http: Option<String>,
    /// Everything it has.
    pub total: ResourcesJson,
    /// What live tasks use.
    pub used: ResourcesJson,
    /// What is offered and not yet answered.
    pub offered: ResourcesJson,
    /// Its attributes, in Mesos's text.
    pub attributes: String,
    /// Whether it answers pings.
    pub reachable: bool,
}

/// A framework in `/state`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkJson {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// Whether it is connected (false while failing over).
    pub connected: bool,
    /// How much its live tasks use.
    pub used: QuantitiesJson,
    /// How much is offered to it.
    pub offered: QuantitiesJson,
    /// When the master removed it, Unix ms; null while subscribed.
    pub removed_time_ms: Option<u64>,
}

/// A task in `/state`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskJson {
    /// Its id, unique within its framework.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its framework.
    pub framework_id: String,
    /// Its agent.
    pub agent_id: String,
    /// Its latest state, Mesos's name (`TASK_RUNNING`).
    pub state: String,
    /// What it uses.
    pub resources: ResourcesJson,
    /// Every state it went through, oldest first.
    pub history: Vec<HistoryJson>,
}

/// One state a task went through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryJson {
    /// Mesos's name of the state.
    pub state: String,
    /// When the master learned of it, Unix ms.
    pub time_ms: u64,
}

/// Cluster-wide sums over the reachable agents (as Mesos's totals, which
/// leave unreachable agents out), and apart, what unreachable ones have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TotalsJson {
    /// Everything the reachable agents have.
    pub total: QuantitiesJson,
    /// What live tasks use on them.
    pub used: QuantitiesJson,
    /// What is offered of them and not yet answered.
    pub offered: QuantitiesJson,
    /// What the unreachable agents have: in none of the above.
    pub unreachable: QuantitiesJson,
}

impl StateJson {
    /// The document for `state`. `leader` is the leading master's pid.
    pub fn new(state: &MasterState, leader: &str) -> StateJson {
        StateJson {
            tasks: state.tasks.iter().map(|t| task(t)).collect(),
            ..StateJson::without_tasks(state, leader)
        }
    }

    /// The document for `state` with an empty `tasks` (`/state?tasks=false`).
    pub fn without_tasks(state: &MasterState, leader: &str) -> StateJson {
        let sum = |part: fn(&AgentState) -> &Resources, reachable: bool| {
            let mut total = Quantities::empty();
            for a in state.agents.iter().filter(|a| a.reachable == reachable) {
                total.add(part(a));
            }
            QuantitiesJson::from(&total)
        };
        StateJson {
            version: state.version.clone(),
            leader: leader.to_owned(),
            pid: state.pid.clone(),
            start_time_ms: state.start_time_ms,
            agents: state.agents.iter().map(|a| agent(a)).collect(),
            frameworks: state.frameworks.iter().map(framework).collect(),
            completed_frameworks: state.completed_frameworks.iter().map(framework).collect(),
            tasks: Vec::new(),
            outstanding_offers: state.outstanding_offers,
            totals: TotalsJson {
                total: sum(|a| &a.total, true),
                used: sum(|a| &a.used, true),
                offered: sum(|a| &a.offered, true),
                unreachable: sum(|a| &a.total, false),
            },
        }
    }
}

fn agent(a: &AgentState) -> AgentJson {
    AgentJson {
        id: a.id.0.clone(),
        hostname: a.hostname.clone(),
        pid: a.pid.clone(),
        http: a.http.clone(),
        total: (&a.total).into(),
        used: (&a.used).into(),
        offered: (&a.offered).into(),
        attributes: a.attributes.clone(),
        reachable: a.reachable,
    }
}

fn framework(f: &FrameworkState) -> FrameworkJson {
    FrameworkJson {
        id: f.id.0.clone(),
        name: f.name.clone(),
        role: f.role.clone(),
        connected: f.connected,
        used: (&f.used).into(),
        offered: (&f.offered).into(),
        removed_time_ms: f.removed_ms,
    }
}

/// A task as `/state` and `/tasks` show it.
pub(super) fn task(t: &TaskView) -> TaskJson {
    TaskJson {
        id: t.id.0.clone(),
        name: t.name.clone(),
        framework_id: t.framework_id.0.clone(),
        agent_id: t.agent_id.0.clone(),
        state: task_state_name(t.state).to_owned(),
        resources: (&t.resources).into(),
        history: t
            .history
            .iter()
            .map(|(state, time_ms)| HistoryJson {
                state: task_state_name(*state).to_owned(),
                time_ms: *time_ms,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use corral_api::ids::{AgentId, FrameworkId, TaskId};
    use corral_api::task::TaskState;

    fn r(text: &str) -> Resources {
        text.parse().unwrap()
    }

    fn sample() -> MasterState {
        let agent = |id: &str, total: &str, used: &str| AgentState {
            id: AgentId(id.into()),
            hostname: format!("host-{id}"),
            pid: format!("agent@127.0.0.1:{}", id.len()),
            total: r(total),
            used: r(used),
            offered: Resources::empty(),
            attributes: "rack:r1".into(),
            reachable: true,
            http: None,
            registered_ms: 1,
        };
        MasterState {
            version: "0.1.0".into(),
            start_time_ms: 5,
            elected_ms: Some(6),
            pid: "master@127.0.0.1:5050".into(),
            agents: vec![
                agent(
                    "a",
                    "cpus:2;mem:1024;ports:[31000-31999]",
                    "cpus:0.5;mem:64",
                ),
                agent("b", "cpus:1;mem:512;gpus:1", ""),
                // The same ports as `a`: another machine's, so they add up.
                agent("c", "cpus:1;mem:512;ports:[31000-31999]", ""),
                AgentState {
                    reachable: false,
                    ..agent("d", "cpus:8;mem:8192", "cpus:1")
                },
            ]
            .into_iter()
            .map(Arc::new)
            .collect(),
            frameworks: vec![FrameworkState {
                id: FrameworkId("fw".into()),
                name: "batch".into(),
                role: "*".into(),
                connected: true,
                used: Quantities::of(&r("cpus:0.5;mem:64;ports:[31000-31001]")),
                offered: Quantities::empty(),
                removed_ms: None,
                registered_ms: 7,
                pid: Some("scheduler@127.0.0.1:4000".into()),
                info: corral_api::framework::FrameworkInfo::new("batch", "*"),
            }],
            completed_frameworks: vec![FrameworkState {
                id: FrameworkId("gone".into()),
                name: "old".into(),
                role: "*".into(),
                connected: false,
                used: Quantities::empty(),
                offered: Quantities::empty(),
                removed_ms: Some(99),
                registered_ms: 8,
                pid: None,
                info: corral_api::framework::FrameworkInfo::new("old", "*"),
            }],
            tasks: vec![Arc::new(TaskView {
                id: TaskId("t1".into()),
                name: "t1".into(),
                framework_id: FrameworkId("fw".into()),
                agent_id: AgentId("a".into()),
                state: TaskState::Running,
                resources: r("cpus:0.5;mem:64"),
                history: vec![(TaskState::Staging, 10), (TaskState::Running, 20)],
            })]
            .into(),
            outstanding_offers: 1,
            role_weights: Vec::new(),
        }
    }

    #[test]
    fn the_document_keeps_the_contracts_field_names() {
        let doc = StateJson::new(&sample(), "master@127.0.0.1:5050");
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["version"], "0.1.0");
        assert_eq!(v["leader"], v["pid"]);
        assert_eq!(v["start_time_ms"], 5);
        assert_eq!(v["agents"][0]["http"], serde_json::Value::Null);
        assert_eq!(v["agents"][0]["total"]["ports"], "[31000-31999]");
        assert_eq!(v["agents"][1]["total"]["ports"], "");
        assert_eq!(v["agents"][1]["total"]["disk"], 0.0);
        assert_eq!(v["agents"][1]["total"]["gpus"], 1.0);
        assert_eq!(v["frameworks"][0]["connected"], true);
        assert_eq!(
            v["frameworks"][0]["removed_time_ms"],
            serde_json::Value::Null
        );
        assert_eq!(v["completed_frameworks"][0]["id"], "gone");
        assert_eq!(v["completed_frameworks"][0]["removed_time_ms"], 99);
        assert_eq!(v["tasks"][0]["state"], "TASK_RUNNING");
        assert_eq!(v["tasks"][0]["history"][0]["state"], "TASK_STAGING");
        assert_eq!(v["tasks"][0]["history"][1]["time_ms"], 20);
        assert_eq!(v["outstanding_offers"], 1);
        assert_eq!(v["frameworks"][0]["used"]["ports"], 2);
        assert_eq!(v["totals"]["total"]["cpus"], 4.0);
        assert_eq!(v["totals"]["total"]["mem"], 2048.0);
        assert_eq!(v["totals"]["used"]["cpus"], 0.5);
        assert_eq!(v["totals"]["total"]["ports"], 2000);
        assert_eq!(v["totals"]["used"]["ports"], 0);
        // The unreachable agent is counted apart, in nothing else.
        assert_eq!(v["totals"]["unreachable"]["cpus"], 8.0);
        assert_eq!(v["totals"]["unreachable"]["mem"], 8192.0);
        let back: StateJson = serde_json::from_value(v).unwrap();
        assert_eq!(back, doc);
    }
}
