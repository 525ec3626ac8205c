//! Time as actors see it: a monotonic instant given by the host.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the host's monotonic clock, in nanoseconds since the host's epoch.
///
/// The node host's epoch is the node's start; the simulator's is virtual time
/// zero. Actors compare and add `Time`s but never learn where the epoch is,
/// which is what lets the simulator run them on a virtual clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

impl Time {
    /// The host's epoch.
    pub const ZERO: Time = Time(0);

    /// A time `nanos` after the epoch.
    pub const fn from_nanos(nanos: u64) -> Time {
        Time(nanos)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    fn add(self, d: Duration) -> Time {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Time(self.0.saturating_add(nanos))
    }
}

impl Sub<Time> for Time {
    type Output = Duration;

    fn sub(self, earlier: Time) -> Duration {
        self.saturating_since(earlier)
    }
}
