//! How a command executor ends, and the uuids of its updates.

use std::fmt;

use corral_api::task::TaskState;

/// Why a command executor stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The task ended in this terminal state and the agent acknowledged it.
    Finished(TaskState),
    /// No task arrived within the registration timeout.
    RegistrationTimedOut,
    /// The agent went away; the command (if any) was killed and has exited.
    AgentLost,
    /// The agent shut the executor down before it had a task.
    Shutdown,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Finished(state) => {
                write!(f, "the task ended ({state:?}) and the agent has its status")
            }
            Outcome::RegistrationTimedOut => {
                f.write_str("no task arrived from the agent within the registration timeout")
            }
            Outcome::AgentLost => {
                f.write_str("the agent was lost; its command, if any, was killed")
            }
            Outcome::Shutdown => f.write_str("the agent shut the executor down before any task"),
        }
    }
}

/// Update uuids: random-looking (version 4 layout), distinct within one
/// executor, replayable from the seed (SplitMix64).
pub(crate) struct UuidSource(pub(crate) u64);

impl UuidSource {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn next(&mut self) -> [u8; 16] {
        let mut uuid = [0u8; 16];
        uuid[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        corral_api::task::uuid_v4(uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_replay_from_the_seed() {
        let mut a = UuidSource(42);
        let mut b = UuidSource(42);
        let xs: Vec<[u8; 16]> = (0..1000).map(|_| a.next()).collect();
        let ys: Vec<[u8; 16]> = (0..1000).map(|_| b.next()).collect();
        assert_eq!(xs, ys);
        let distinct: std::collections::BTreeSet<_> = xs.iter().collect();
        assert_eq!(distinct.len(), xs.len());
        assert!(xs.iter().all(|u| u[6] >> 4 == 4 && u[8] >> 6 == 0b10));
    }
}
