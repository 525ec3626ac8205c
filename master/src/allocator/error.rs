//! What the allocator refuses. Every refusal leaves its state unchanged.

use corral_api::ids::{AgentId, FrameworkId};

/// Why an allocator operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocatorError {
    /// The agent is not known to the allocator (never added, or removed).
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// The framework is not known to the allocator (never added, or removed).
    #[error("unknown framework {0}")]
    UnknownFramework(FrameworkId),
    /// A recover gave back more than the framework holds on that agent.
    #[error("framework {framework} does not hold those resources on agent {agent}")]
    NotAllocated {
        /// The framework giving resources back.
        framework: FrameworkId,
        /// The agent they are on.
        agent: AgentId,
    },
    /// Resources recorded as in use are more than the agent has free.
    #[error("agent {agent} does not have {resources} free")]
    Overcommit {
        /// The agent.
        agent: AgentId,
        /// What was to be recorded as used.
        resources: corral_api::resources::Resources,
    },
    /// Released resources were not held for tasks of removed frameworks.
    #[error("agent {agent} holds no {resources} for tasks of removed frameworks")]
    NotOrphaned {
        /// The agent.
        agent: AgentId,
        /// What was to be released.
        resources: corral_api::resources::Resources,
    },
    /// A role weight that is not a finite number above zero.
    #[error("role {role:?} cannot have weight {weight}")]
    BadWeight {
        /// The role.
        role: String,
        /// The weight given.
        weight: f64,
    },
    /// A role name that is empty, `.`, `..`, starts with `-`, or holds
    /// whitespace or control characters (Mesos's rules).
    #[error("invalid role name {0:?}")]
    BadRole(String),
    /// The agent was already added.
    #[error("agent {0} is already known")]
    DuplicateAgent(AgentId),
    /// The framework was already added.
    #[error("framework {0} is already known")]
    DuplicateFramework(FrameworkId),
    /// A configuration value that is not a finite number above zero.
    #[error("allocator config {field} = {value} must be a finite number above zero")]
    BadConfig {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: f64,
    },
}
