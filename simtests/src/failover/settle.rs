//! Invariant 5, after healing: what the cluster must reach once faults
//! stop (`inv5-the-cluster-converges-after-healing`), that every framework
//! wanting work is offered some (`inv5-frameworks-that-want-work-get-offers`),
//! and that no task was killed by a failover.

use std::collections::{BTreeMap, BTreeSet};

use corral_api::ids::TaskId;
use corral_api::resources::Resources;
use corral_api::task::TaskState;
use corral_master::state::{AgentState, MasterState, TaskView};
use corral_runtime::Time;

use super::checks::Checks;
use super::framework::{FrameworkLog, SharedLog};
use super::notes::agent_index;
use super::shape::Behaviour;

/// Why the cluster has not converged yet, if it has not: a leader leads
/// (registrar and master agree, the probe heard its state since `since`),
/// every agent is registered with it, every framework still there is
/// subscribed to it, and every task a framework launched is running on an
/// agent the leader knows, or was reported terminal (or LOST) to the
/// framework, or — launched through a master that failed before the agent
/// got it — is unknown to the leader and to every agent, and the framework
/// was told so. Frameworks that quit are gone from the leader, their tasks
/// from the agents. And the leader's `used` of each agent is what the
/// tasks the agent runs (by its own events) hold.
pub fn converged(
    checks: &Checks,
    leader: Option<usize>,
    hostnames: &BTreeSet<String>,
    since: Time,
) -> Result<(), String> {
    let (master, state) = fresh_leader_state(checks, leader, since)?;
    let registered: BTreeMap<&str, &AgentState> = state
        .agents
        .iter()
        .filter(|a| a.reachable)
        .map(|a| (a.hostname.as_str(), &**a))
        .collect();
    for h in hostnames {
        if !registered.contains_key(h.as_str()) {
            return Err(format!("{h} is not registered with {master}"));
        }
    }
    let known: BTreeMap<&TaskId, &TaskView> = state.tasks.iter().map(|t| (&t.id, &**t)).collect();
    let agent_ids: BTreeSet<_> = state.agents.iter().map(|a| &a.id).collect();
    for (i, fw) in checks.frameworks.iter().enumerate() {
        let fw = fw.borrow();
        if fw.gone() {
            quitter_gone(checks, &fw, &state, i)?;
            continue;
        }
        if fw.subscribed_to.as_ref() != Some(&master) {
            return Err(format!(
                "framework {i} is subscribed to {:?}, not {master}",
                fw.subscribed_to
            ));
        }
        for id in fw.launched.keys() {
            task_accounted(checks, &fw, id, known.get(id).copied(), &agent_ids)
                .map_err(|e| format!("{e} at {master}"))?;
        }
    }
    used_is_what_agents_run(checks, &registered)
}

fn fresh_leader_state(
    checks: &Checks,
    leader: Option<usize>,
    since: Time,
) -> Result<(corral_runtime::Pid, MasterState), String> {
    let leader = leader.ok_or("no registrar leads")?;
    let master = super::cluster::master_pid(leader);
    let probe = checks.probe.borrow();
    match probe.leading.get(&master) {
        Some((at, true)) if *at >= since => {}
        other => return Err(format!("{master} does not say it leads ({other:?})")),
    }
    let Some((_, _, state)) = probe
        .state
        .as_ref()
        .filter(|(at, from, _)| *at >= since && *from == master)
    else {
        return Err(format!("no fresh state from {master}"));
    };
    Ok((master, state.clone()))
}

fn task_accounted(
    checks: &Checks,
    fw: &FrameworkLog,
    id: &TaskId,
    known: Option<&TaskView>,
    agent_ids: &BTreeSet<&corral_api::ids::AgentId>,
) -> Result<(), String> {
    if fw.terminal(id).is_some() {
        return Ok(());
    }
    let told_lost = fw.last_state(id) == Some(TaskState::Lost);
    match known {
        Some(t) if t.state == TaskState::Running && agent_ids.contains(&t.agent_id) => Ok(()),
        // LOST ends a task as in Mesos (`isTerminalState`), though
        // `TaskState::is_terminal` leaves it out.
        Some(t) if t.state == TaskState::Lost && told_lost => Ok(()),
        Some(t) => Err(format!("task {id} is {:?}", t.state)),
        None => {
            let on_agent = checks.agents.iter().any(|a| a.running.contains_key(id));
            let told = matches!(
                fw.last_state(id),
                Some(TaskState::Unknown | TaskState::Lost)
            );
            if on_agent || !told {
                return Err(format!(
                    "task {id} is unknown (on an agent: {on_agent}, framework heard {:?})",
                    fw.last_state(id)
                ));
            }
            Ok(())
        }
    }
}

/// A framework whose scheduler quit is torn down: unknown to the leader,
/// none of its tasks left there or on an agent.
fn quitter_gone(
    checks: &Checks,
    fw: &FrameworkLog,
    state: &MasterState,
    i: usize,
) -> Result<(), String> {
    if let Some(id) = &fw.framework_id {
        if state.frameworks.iter().any(|f| &f.id == id) {
            return Err(format!("framework {i} quit but is still at the leader"));
        }
        let live = state
            .tasks
            .iter()
            .find(|t| &t.framework_id == id && !t.state.is_terminal());
        if let Some(t) = live {
            return Err(format!(
                "framework {i} quit but its task {} is {:?}",
                t.id, t.state
            ));
        }
    }
    let left = fw
        .launched
        .keys()
        .find(|t| checks.agents.iter().any(|a| a.running.contains_key(*t)));
    match left {
        Some(t) => Err(format!("framework {i} quit but its task {t} still runs")),
        None => Ok(()),
    }
}

/// The leader's `used` of every agent equals what the tasks the agent runs
/// hold.
fn used_is_what_agents_run(
    checks: &Checks,
    registered: &BTreeMap<&str, &AgentState>,
) -> Result<(), String> {
    for (host, a) in registered {
        let Some(view) = agent_index(host).and_then(|i| checks.agents.get(i)) else {
            continue;
        };
        let runs = view
            .running
            .values()
            .fold(Resources::empty(), |sum, r| sum.plus(r));
        if a.used != runs {
            let tasks: Vec<&TaskId> = view.running.keys().collect();
            return Err(format!(
                "the leader counts {} used on {host}, but its tasks {tasks:?} hold {runs}",
                a.used
            ));
        }
    }
    Ok(())
}

/// The smallest task any framework asks for.
fn smallest_task() -> Resources {
    Resources::parse("cpus:0.5;mem:128").unwrap_or_else(|e| unreachable!("a fixed literal: {e}"))
}

/// Frameworks that want work and take offers: not hoarding, declining,
/// gone, suppressed, or out of batch jobs.
pub fn wanting(frameworks: &[SharedLog]) -> Vec<usize> {
    frameworks
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            let f = f.borrow();
            f.behaviour.takes_offers()
                && !f.gone()
                && !(f.behaviour == Behaviour::Batch && f.jobs_left == Some(0))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether some agent of `state` has room unoffered for the smallest task.
pub fn room_for_a_task(state: &MasterState) -> bool {
    let need = smallest_task();
    state.agents.iter().filter(|a| a.reachable).any(|a| {
        a.total
            .checked_minus(&a.used.plus(&a.offered))
            .is_some_and(|free| free.contains(&need))
    })
}

/// Which of `wanting` got no offer after `since`.
pub fn unoffered(frameworks: &[SharedLog], wanting: &[usize], since: Time) -> Vec<usize> {
    wanting
        .iter()
        .copied()
        .filter(|i| {
            let f = frameworks[*i].borrow();
            !f.offers.iter().any(|(t, _, _)| *t > since)
        })
        .collect()
}

/// Tasks that ended KILLED or FAILED though the framework did not kill
/// them, their command did not fail, and their agent's machine stayed up
/// since their launch: killed because a master failed over.
/// `crashed_since(hostname, t)` says whether that agent crashed at or
/// after `t`.
pub fn killed_by_failover(
    frameworks: &[SharedLog],
    crashed_since: impl Fn(&str, Time) -> bool,
) -> Vec<String> {
    let mut found = Vec::new();
    for fw in frameworks {
        let fw = fw.borrow();
        if fw.gone() {
            continue;
        }
        for (id, launch) in &fw.launched {
            let Some(end) = fw.terminal_update(id) else {
                continue;
            };
            let own_doing =
                fw.kills.contains(id) || (launch.fails && end.state == TaskState::Failed);
            if !matches!(end.state, TaskState::Killed | TaskState::Failed) || own_doing {
                continue;
            }
            if !crashed_since(&launch.hostname, launch.at) {
                found.push(format!(
                    "task {id} on {} ended {:?} ({}), not killed by the framework, its agent up",
                    launch.hostname, end.state, end.why
                ));
            }
        }
    }
    found
}
