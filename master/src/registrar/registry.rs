//! The registry: what the masters agree on through the replicated log.
//!
//! Admitted and removed agents, role weights, and the frameworks the
//! cluster knows (their description and latest address, so that a new
//! leader can tell them where it is and keep their failover timeouts).
//! Each change is an [`Op`], encoded into a Raft entry; every master applies
//! the committed ops in log order with [`Registry::apply`], a deterministic
//! function of the registry and the op (no I/O, no time, no randomness), so
//! every master that applied the same prefix holds the same registry.

use std::collections::{BTreeMap, BTreeSet};

use corral_runtime::Pid;
use serde::{Deserialize, Serialize};

use super::error::RegistrarError;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId};

/// Largest encoded op accepted, in bytes.
pub const MAX_OP_BYTES: usize = 64 * 1024;

/// An admitted agent, as the registry keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentEntry {
    /// The agent's hostname.
    pub hostname: String,
    /// The agent actor's address.
    pub pid: Pid,
}

/// A framework, as the registry keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkEntry {
    /// What it said when it last subscribed (its id set).
    pub info: FrameworkInfo,
    /// Its scheduler actor's latest address.
    pub pid: Pid,
}

/// The master elected last, as the registry keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderEntry {
    /// The master actor.
    pub master: Pid,
    /// Base URL of its HTTP API, if any.
    pub http: Option<String>,
}

/// One change to the registry: the payload of a Raft entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Admits (or re-admits with a new address) an agent.
    AdmitAgent {
        /// The agent's id.
        id: AgentId,
        /// Its hostname.
        hostname: String,
        /// Its actor's address.
        pid: Pid,
    },
    /// Removes an agent (gone, or unreachable for good); it is remembered
    /// as removed, so that if it comes back it is told to shut down.
    RemoveAgent {
        /// The agent's id.
        id: AgentId,
    },
    /// Sets a role's weight; a weight of 1 (the default) removes the entry.
    SetWeight {
        /// The role.
        role: String,
        /// Its weight, positive and finite.
        weight: f64,
    },
    /// Records a framework (or its new address after a failover).
    AddFramework {
        /// The framework's id.
        id: FrameworkId,
        /// What it subscribed with.
        info: FrameworkInfo,
        /// Its scheduler actor.
        pid: Pid,
    },
    /// Forgets a framework id (torn down).
    RemoveFramework {
        /// The framework's id.
        id: FrameworkId,
    },
    /// A master took the lead. A new leader commits one before it reads the
    /// registry (once it is applied, so is every entry before it), and the
    /// other masters learn from it where to send operators.
    Elected {
        /// The leading master actor.
        master: Pid,
        /// Base URL of its HTTP API, if it serves one.
        http: Option<String>,
    },
}

impl Op {
    /// The op's bytes for a Raft entry (postcard).
    pub fn encode(&self) -> Result<Vec<u8>, RegistrarError> {
        let bytes = postcard::to_stdvec(self).map_err(|e| RegistrarError::Codec(e.to_string()))?;
        if bytes.len() > MAX_OP_BYTES {
            return Err(RegistrarError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// Decodes an entry's bytes; never panics on bad input.
    pub fn decode(bytes: &[u8]) -> Result<Op, RegistrarError> {
        if bytes.len() > MAX_OP_BYTES {
            return Err(RegistrarError::TooLarge(bytes.len()));
        }
        postcard::from_bytes(bytes).map_err(|e| RegistrarError::Codec(e.to_string()))
    }

    /// Checks what the state machine cannot fix later (a bad weight), before
    /// the op is proposed.
    pub fn validate(&self) -> Result<(), RegistrarError> {
        match self {
            Op::SetWeight { weight, .. } if !(weight.is_finite() && *weight > 0.0) => {
                Err(RegistrarError::Invalid(format!(
                    "a weight must be positive and finite, not {weight}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// The replicated registry (the applied state of the log).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// Admitted agents by id.
    pub agents: BTreeMap<AgentId, AgentEntry>,
    /// Agents removed after they became unreachable.
    pub removed: BTreeSet<AgentId>,
    /// Role weights that differ from the default of 1.
    pub weights: BTreeMap<String, f64>,
    /// Frameworks the cluster knows.
    pub frameworks: BTreeMap<FrameworkId, FrameworkEntry>,
    /// The master elected last.
    pub leader: Option<LeaderEntry>,
}

impl Registry {
    /// The registry's bytes, for a snapshot (postcard).
    pub fn encode(&self) -> Result<Vec<u8>, RegistrarError> {
        postcard::to_stdvec(self).map_err(|e| RegistrarError::Codec(e.to_string()))
    }

    /// A registry from a snapshot's bytes; never panics on bad input.
    pub fn decode(bytes: &[u8]) -> Result<Registry, RegistrarError> {
        postcard::from_bytes(bytes).map_err(|e| RegistrarError::Codec(e.to_string()))
    }

    /// Applies one committed op. Deterministic; ops that change nothing
    /// (removing an unknown agent, an invalid weight that slipped through)
    /// leave the registry as it was.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::AdmitAgent { id, hostname, pid } => {
                let entry = AgentEntry {
                    hostname: hostname.clone(),
                    pid: pid.clone(),
                };
                self.agents.insert(id.clone(), entry);
                self.removed.remove(id);
            }
            Op::RemoveAgent { id } => {
                if self.agents.remove(id).is_some() {
                    self.removed.insert(id.clone());
                }
            }
            Op::SetWeight { role, weight } => {
                if op.validate().is_err() {
                    return;
                }
                if *weight == 1.0 {
                    self.weights.remove(role);
                } else {
                    self.weights.insert(role.clone(), *weight);
                }
            }
            Op::AddFramework { id, info, pid } => {
                let entry = FrameworkEntry {
                    info: info.clone(),
                    pid: pid.clone(),
                };
                self.frameworks.insert(id.clone(), entry);
            }
            Op::RemoveFramework { id } => {
                self.frameworks.remove(id);
            }
            Op::Elected { master, http } => {
                self.leader = Some(LeaderEntry {
                    master: master.clone(),
                    http: http.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(name: &str) -> Pid {
        Pid::new(name, "10.0.0.1:5051".parse().unwrap()).unwrap()
    }

    fn admit(id: &str, host: &str) -> Op {
        Op::AdmitAgent {
            id: id.into(),
            hostname: host.to_owned(),
            pid: pid("agent"),
        }
    }

    #[test]
    fn ops_apply_in_order_and_replaying_them_gives_the_same_registry() {
        let ops = vec![
            admit("a1", "h1"),
            admit("a2", "h2"),
            Op::AddFramework {
                id: "f1".into(),
                info: FrameworkInfo::new("f", "*"),
                pid: pid("scheduler"),
            },
            Op::Elected {
                master: pid("master"),
                http: None,
            },
            Op::SetWeight {
                role: "web".into(),
                weight: 2.5,
            },
            Op::RemoveAgent { id: "a1".into() },
            admit("a2", "h2-new"),
            Op::SetWeight {
                role: "web".into(),
                weight: 1.0,
            },
            Op::RemoveFramework { id: "nope".into() },
        ];
        let mut a = Registry::default();
        let mut b = Registry::default();
        for op in &ops {
            a.apply(op);
            b.apply(&Op::decode(&op.encode().unwrap()).unwrap());
        }
        assert_eq!(a, b);
        assert_eq!(a.agents.len(), 1);
        assert_eq!(a.agents[&AgentId::from("a2")].hostname, "h2-new");
        let removed: Vec<&AgentId> = a.removed.iter().collect();
        assert_eq!(
            removed,
            [&AgentId::from("a1")],
            "a removed agent is remembered"
        );
        assert!(a.weights.is_empty(), "weight 1 is the default");
        assert!(a.frameworks.contains_key(&FrameworkId::from("f1")));
        assert_eq!(a.leader.as_ref().map(|l| &l.master), Some(&pid("master")));
    }

    #[test]
    fn bad_weights_are_refused_and_never_applied() {
        for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let op = Op::SetWeight {
                role: "r".into(),
                weight: w,
            };
            assert!(op.validate().is_err(), "{w}");
            let mut r = Registry::default();
            r.apply(&op);
            assert_eq!(r, Registry::default());
        }
    }

    #[test]
    fn garbage_bytes_do_not_decode_and_do_not_panic() {
        assert!(Op::decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(Op::decode(&[]).is_err());
        assert!(Op::decode(&vec![0; MAX_OP_BYTES + 1]).is_err());
    }
}
