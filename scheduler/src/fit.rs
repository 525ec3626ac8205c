//! Fitting tasks into offers: take tasks while they fit ([`fill`]), place
//! a container task's published ports on offered host ports
//! ([`ContainerTemplate`]), and tell what no offer seen could hold
//! ([`OfferSizes`]).

use std::collections::BTreeMap;

use corral_api::container::{ContainerInfo, PortMapping, PortProtocol};
use corral_api::framework::{Offer, Operation};
use corral_api::resources::{RangeSet, Resources, Scalar};
use corral_api::task::TaskInfo;

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

/// The most of each scalar resource that any one offer had: what a
/// framework, which sees only offers, knows of the agents' sizes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferSizes {
    largest: BTreeMap<String, Scalar>,
}

/// A resource a task asks more of than any offer had.
#[derive(Clone, Debug, PartialEq)]
pub struct Shortfall {
    /// The resource, e.g. `cpus`.
    pub name: String,
    /// What the task asks.
    pub need: Scalar,
    /// The most any one offer had (0 if none had it).
    pub largest: Scalar,
}

impl OfferSizes {
    /// Takes one offer's resources into account.
    pub fn note(&mut self, offered: &Resources) {
        for name in offered.scalar_names() {
            let amount = offered.amount(name);
            let most = self.largest.entry(name.to_owned()).or_default();
            *most = (*most).max(amount);
        }
    }

    /// The scalars of `need` that exceed every offer seen (empty if each
    /// was reached by some offer).
    pub fn short_of(&self, need: &Resources) -> Vec<Shortfall> {
        need.scalar_names()
            .filter_map(|name| {
                let largest = self.largest.get(name).copied().unwrap_or_default();
                let need = need.amount(name);
                (need > largest).then(|| Shortfall {
                    name: name.to_owned(),
                    need,
                    largest,
                })
            })
            .collect()
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

    fn res(text: &str) -> Resources {
        text.parse().unwrap()
    }

    #[test]
    fn a_task_is_short_of_what_no_single_offer_had() {
        let mut sizes = OfferSizes::default();
        sizes.note(&res("cpus:2;mem:1024;ports:[31000-32000]"));
        sizes.note(&res("cpus:1;mem:4096"));
        assert!(sizes.short_of(&res("cpus:2;mem:4096")).is_empty());
        let short = sizes.short_of(&res("cpus:4096;mem:512;gpus:1"));
        let named: Vec<(&str, String, String)> = short
            .iter()
            .map(|s| (s.name.as_str(), s.need.to_string(), s.largest.to_string()))
            .collect();
        assert_eq!(
            named,
            [
                ("cpus", "4096".to_owned(), "2".to_owned()),
                ("gpus", "1".to_owned(), "0".to_owned())
            ]
        );
    }
}
