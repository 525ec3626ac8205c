//! A replicated master group member: the registrar and the master on one
//! node, as `corral master --masters …` and the failover benchmark run them.

use std::net::SocketAddr;

use corral_runtime::{Node, Pid, PidError, SpawnError};
use thiserror::Error;

use crate::board::StateBoard;
use crate::master::{Master, MasterConfig};
use crate::registrar::{Registrar, RegistrarConfig, RegistrarError};

/// The name registrars run under, next to their master.
pub const REGISTRAR: &str = "registrar";

/// Why a group member cannot start.
#[derive(Debug, Error)]
pub enum GroupError {
    /// The group does not list this member's own address.
    #[error("the master group must list this master's own address {0}")]
    NotListed(SocketAddr),
    /// The same address is listed twice.
    #[error("the master group lists {0} twice")]
    Duplicate(SocketAddr),
    /// An address cannot make a pid.
    #[error(transparent)]
    Pid(#[from] PidError),
    /// The registrar's settings are invalid.
    #[error(transparent)]
    Registrar(#[from] RegistrarError),
    /// An actor could not be spawned.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

/// The registrar settings of the member at `me` in `group` (Raft ids are
/// positions in the list, from 1, so every member must list the same
/// addresses in the same order).
pub fn registrar_config(
    group: &[SocketAddr],
    me: SocketAddr,
) -> Result<RegistrarConfig, GroupError> {
    for (i, a) in group.iter().enumerate() {
        if group[..i].contains(a) {
            return Err(GroupError::Duplicate(*a));
        }
    }
    let id = group
        .iter()
        .position(|a| *a == me)
        .ok_or(GroupError::NotListed(me))? as u64
        + 1;
    let peers = group
        .iter()
        .enumerate()
        .map(|(i, a)| Ok((i as u64 + 1, Pid::new(REGISTRAR, *a)?)))
        .collect::<Result<Vec<_>, PidError>>()?;
    let cfg = RegistrarConfig::new(id, peers);
    cfg.validate()?;
    Ok(cfg)
}

/// Spawns this node's registrar and replicated master, publishing its
/// state on `board` if given (for its HTTP server); the node needs a data
/// dir (the registrar's log is kept there). Returns the master's pid.
pub fn spawn_member(
    node: &Node,
    cfg: MasterConfig,
    group: &[SocketAddr],
    board: Option<StateBoard>,
) -> Result<Pid, GroupError> {
    let rcfg = registrar_config(group, node.addr())?;
    let registrar = node.spawn_with(REGISTRAR, move || Registrar::new(rcfg))?;
    let master = Master::replicated(cfg, registrar);
    let master = match board {
        Some(board) => master.publishing_to(board),
        None => master,
    };
    Ok(node.spawn(Master::NAME, master)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(n: u8) -> Vec<SocketAddr> {
        (1..=n)
            .map(|i| SocketAddr::from(([10, 0, 0, i], 5050)))
            .collect()
    }

    #[test]
    fn raft_ids_are_list_positions_and_bad_groups_are_refused() {
        let group = addrs(3);
        let cfg = registrar_config(&group, group[1]).unwrap();
        assert_eq!(cfg.id, 2);
        assert_eq!(cfg.pid_of(3).map(Pid::addr), Some(group[2]));
        let stranger = SocketAddr::from(([10, 0, 0, 9], 5050));
        assert!(matches!(
            registrar_config(&group, stranger),
            Err(GroupError::NotListed(_))
        ));
        let twice = vec![group[0], group[1], group[0]];
        assert!(matches!(
            registrar_config(&twice, group[1]),
            Err(GroupError::Duplicate(_))
        ));
    }
}
