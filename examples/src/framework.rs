//! What every example framework does the same way: follow the leading
//! master (subscribe, keep trying through the list of masters until one
//! answers, re-subscribe when a new leader is elected or the link breaks),
//! acknowledge updates, fit tasks into offers, and place container tasks'
//! published ports on offered ports.

use std::time::Duration;

use corral_api::container::{ContainerInfo, PortMapping, PortProtocol};
use corral_api::framework::{Acknowledge, Offer, Operation, Subscribed};
use corral_api::leader::{LeaderElected, NotLeader};
use corral_api::resources::{RangeSet, Resources};
use corral_api::task::TaskInfo;
use corral_api::task::TaskStatus;
use corral_runtime::{Actor, Ctx, Pid};

mod masters;
#[cfg(test)]
mod sim_tests;

pub use masters::{Joined, Masters, Next};

/// How often an unanswered Subscribe is sent again (to the next master of
/// the list).
pub const SUBSCRIBE_RETRY: Duration = Duration::from_secs(2);

/// A framework actor that follows the leading master with a [`Masters`].
/// Its handlers of `Subscribed`, `NotLeader` and `LeaderElected`, its
/// `started` and `exited` call the functions below; everything else it
/// gets from a master counts only if [`Masters::is_current`] says so.
pub trait FollowsLeader: Actor {
    /// The framework's master tracker.
    fn masters(&mut self) -> &mut Masters;
}

/// Starts subscribing (from `started`).
pub fn start_subscribing<A: FollowsLeader>(a: &mut A, ctx: &mut Ctx<'_, A>) {
    let next = a.masters().handle_start();
    step(a, ctx, next);
}

/// Handles `Subscribed`: Some when it comes from the master followed.
pub fn on_subscribed<A: FollowsLeader>(
    a: &mut A,
    m: Subscribed,
    ctx: &mut Ctx<'_, A>,
) -> Option<Joined> {
    let now = ctx.now();
    let joined = a
        .masters()
        .handle_subscribed(ctx.sender(), m.framework_id, m.term, now)?;
    if let Some(timer) = a.masters().retry.take() {
        ctx.cancel(timer);
    }
    Some(joined)
}

/// Handles `NotLeader`: follows its hint, or moves on at the next retry.
pub fn on_not_leader<A: FollowsLeader>(a: &mut A, m: NotLeader, ctx: &mut Ctx<'_, A>) {
    let next = a
        .masters()
        .handle_not_leader(ctx.sender(), m.leader.as_ref());
    if next != Next::Nothing {
        let sender = ctx.sender();
        tracing::info!(?sender, leader = ?m.leader, "a master says it does not lead");
    }
    step(a, ctx, next);
}

/// Handles `LeaderElected`: re-subscribes to the new leader at once.
pub fn on_leader_elected<A: FollowsLeader>(a: &mut A, m: LeaderElected, ctx: &mut Ctx<'_, A>) {
    let next = a
        .masters()
        .handle_leader_elected(ctx.sender(), &m.leader, m.term);
    if next == Next::Nothing && !a.masters().has_left() {
        let sender = ctx.sender();
        tracing::warn!(?sender, leader = %m.leader, "ignoring a leader announcement: sender or leader not a listed master");
    }
    step(a, ctx, next);
}

/// Handles a broken link (from `exited`): re-subscribes if it was the
/// master followed.
pub fn on_exited<A: FollowsLeader>(a: &mut A, pid: &Pid, ctx: &mut Ctx<'_, A>) {
    let next = a.masters().handle_exited(pid);
    if next != Next::Nothing {
        tracing::warn!(master = %pid, "lost the master; subscribing again");
    }
    step(a, ctx, next);
}

/// Stops following any master (after a teardown): no Subscribe is sent
/// again.
pub fn leave<A: FollowsLeader>(a: &mut A, ctx: &mut Ctx<'_, A>) {
    a.masters().handle_leave();
    if let Some(timer) = a.masters().retry.take() {
        ctx.cancel(timer);
    }
}

/// Carries out what the tracker decided.
fn step<A: FollowsLeader>(a: &mut A, ctx: &mut Ctx<'_, A>, next: Next) {
    match next {
        Next::Nothing => {}
        Next::Wait => {
            if a.masters().retry.is_none() {
                arm_retry(a, ctx);
            }
        }
        Next::Subscribe => {
            let (master, subscribe) = a.masters().attempt();
            tracing::debug!(%master, "subscribing");
            ctx.link(&master);
            ctx.send(&master, subscribe);
            if let Some(timer) = a.masters().retry.take() {
                ctx.cancel(timer);
            }
            arm_retry(a, ctx);
        }
    }
}

fn arm_retry<A: FollowsLeader>(a: &mut A, ctx: &mut Ctx<'_, A>) {
    let timer = ctx.delay(SUBSCRIBE_RETRY, |a: &mut A, ctx| {
        a.masters().retry = None;
        let next = a.masters().handle_retry();
        step(a, ctx, next);
    });
    a.masters().retry = Some(timer);
}

/// Acknowledges `status` to `master` if it asks for it.
pub fn acknowledge<A: Actor>(ctx: &mut Ctx<'_, A>, master: &Pid, status: &TaskStatus) {
    if let (Some(uuid), Some(agent_id)) = (status.uuid, status.agent_id.clone()) {
        let ack = Acknowledge {
            task_id: status.task_id.clone(),
            agent_id,
            uuid,
        };
        ctx.send(master, ack);
    }
}

/// Takes tasks from `next` while they fit in what `offer` has left; returns
/// the Launch operation (None if nothing fits).
pub fn fill(
    offer: &Offer,
    mut next: impl FnMut(&Resources) -> Option<TaskInfo>,
) -> Option<Operation> {
    let mut left = offer.resources.clone();
    let mut tasks = Vec::new();
    while let Some(task) = next(&left) {
        match left.checked_minus(&task.resources) {
            Some(rest) => {
                left = rest;
                tasks.push(task);
            }
            None => break,
        }
    }
    (!tasks.is_empty()).then_some(Operation::Launch(tasks))
}

/// The container a framework runs each of its tasks in, and the container
/// ports it publishes: each task takes one offered host port per entry of
/// `ports` (bridge network), so tasks on one agent never share a host port.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerTemplate {
    /// The container (its own port mappings, if any, are kept).
    pub info: ContainerInfo,
    /// Container ports to publish (TCP), each on a host port from the offer.
    pub ports: Vec<u16>,
}

impl ContainerTemplate {
    /// `info`, publishing no ports.
    pub fn new(info: ContainerInfo) -> ContainerTemplate {
        ContainerTemplate {
            info,
            ports: Vec::new(),
        }
    }

    /// One task's resources and container, for a task needing `need` from
    /// what an offer has `left`: `need` plus the host ports taken (the
    /// lowest free ones), and the container with those ports mapped. None
    /// when `left` lacks `need` or enough ports.
    pub fn place(&self, need: &Resources, left: &Resources) -> Option<(Resources, ContainerInfo)> {
        if !left.contains(need) {
            return None;
        }
        let free = left.ranges("ports");
        let taken_by_need = need.ranges("ports");
        let hosts: Vec<u16> = free
            .iter()
            .flatten()
            .filter(|p| !taken_by_need.contains_value(*p))
            .filter_map(|p| u16::try_from(p).ok())
            .take(self.ports.len())
            .collect();
        if hosts.len() < self.ports.len() {
            return None;
        }
        let chosen = RangeSet::from_pairs(hosts.iter().map(|&p| (u64::from(p), u64::from(p))))?;
        let resources = need.clone().with_ranges("ports", chosen).ok()?;
        let mut info = self.info.clone();
        info.port_mappings.extend(hosts.iter().zip(&self.ports).map(
            |(&host_port, &container_port)| PortMapping {
                host_port,
                container_port,
                protocol: PortProtocol::Tcp,
            },
        ));
        Some((resources, info))
    }
}

#[cfg(test)]
mod tests {
    use corral_api::container::NetworkMode;

    use super::*;

    #[test]
    fn each_placement_takes_fresh_offered_ports() {
        let template = ContainerTemplate {
            info: ContainerInfo {
                network: NetworkMode::Bridge,
                ..ContainerInfo::docker("img")
            },
            ports: vec![8080, 9090],
        };
        let need: Resources = "cpus:0.5;mem:32".parse().unwrap();
        let mut left: Resources = "cpus:1;mem:64;ports:[31000-31002]".parse().unwrap();
        let (first, info) = template.place(&need, &left).unwrap();
        assert_eq!(
            first.ranges("ports"),
            RangeSet::from_pairs([(31000, 31001)]).unwrap()
        );
        assert_eq!(info.port_mappings[0].host_port, 31000);
        assert_eq!(info.port_mappings[1].container_port, 9090);
        assert_eq!(info.validate(&first), Ok(()));
        left = left.checked_minus(&first).unwrap();
        // One port left: not enough for two.
        assert_eq!(template.place(&need, &left), None);
        let one = ContainerTemplate {
            ports: vec![8080],
            ..template
        };
        let (second, _) = one.place(&need, &left).unwrap();
        assert_eq!(
            second.ranges("ports"),
            RangeSet::from_pairs([(31002, 31002)]).unwrap()
        );
    }
}
