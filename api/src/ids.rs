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

/// Why `id` cannot name a task, framework or agent, if it cannot. Ids
/// become directory names on agents (sandboxes), so, as in Mesos, they are
/// non-empty, at most 255 bytes, of `[A-Za-z0-9._-]`, and not `.` or `..`.
pub fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("the id is empty".to_owned());
    }
    if id.len() > MAX_ID_BYTES {
        return Some(format!("the id is longer than {MAX_ID_BYTES} bytes"));
    }
    if id == "." || id == ".." {
        return Some(format!("'{id}' is not a valid id"));
    }
    let bad = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
    bad.map(|c| {
        format!(
            "the id '{}' holds {c:?}; ids use only letters, digits, '.', '_' and '-'",
            id.escape_default()
        )
    })
}

/// The longest id, in bytes.
pub const MAX_ID_BYTES: usize = 255;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_escape_a_sandbox_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a b",
            "tab\t",
            "é",
            &"x".repeat(256),
        ] {
            assert!(id_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["t1", "task-1.retry_2", "...", "A", &"x".repeat(255)] {
            assert_eq!(id_problem(good), None, "{good:?}");
        }
    }
}
