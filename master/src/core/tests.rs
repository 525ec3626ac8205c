//! Table-driven tests of the master core: given this state and this input,
//! these actions. No simulator, no runtime: each test builds a core, feeds
//! it events with a hand-set clock and reads the actions it answers with.

use corral_runtime::{Pid, Time};

use super::config::MasterConfig;
use super::effects::Clock;
use super::MasterCore;

/// A pid for actor `name` on a host of its own.
pub(crate) fn pid(name: &str, port: u16) -> Pid {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    Pid::new(name, addr).expect("a valid test pid")
}

/// A lone master's core with `cfg`, not started.
pub(crate) fn new_core(cfg: MasterConfig) -> MasterCore {
    MasterCore::new(cfg, None, pid("master", 5050), [0xab, 0xcd, 0xef, 0x01])
}

/// The clock `ms` milliseconds after the start.
pub(crate) fn at(ms: u64) -> Clock {
    Clock {
        now: Time::ZERO + std::time::Duration::from_millis(ms),
        unix_ms: 1_700_000_000_000 + ms,
    }
}
