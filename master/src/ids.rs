//! Typed ids of the cluster's things, so an agent id is never passed where a
//! framework id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_owned())
            }
        }
    };
}

id!(
    /// An agent (a machine offering resources), stable across its restarts
    /// until the master removes it.
    AgentId
);
id!(
    /// A registered framework (scheduler), kept across its failovers.
    FrameworkId
);
id!(
    /// A task, unique within its framework.
    TaskId
);
id!(
    /// An offer of one agent's resources to one framework.
    OfferId
);
