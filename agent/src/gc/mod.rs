//! Sandbox garbage collection: a finished task's sandbox (its output, its
//! files) stays on disk for operators to read, and is removed once it has
//! not changed for `--gc-delay`, sooner as the disk fills.
//!
//! The rule is Mesos's: a sandbox may grow as old as
//! `delay × (1 − headroom − usage)` (never less than zero), where `usage`
//! is the used fraction of the work directory's file system and
//! `headroom` the fraction to keep free; at `usage ≥ 1 − headroom` every
//! finished sandbox goes at the next sweep. This module holds the rule;
//! [`sweeper`] applies it on a thread of its own beside the agent (file
//! system I/O does not belong in the actor), asking the agent which
//! sandboxes its live tasks use, which are never removed.

pub mod sweeper;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How sandboxes are collected.
#[derive(Clone, Debug, PartialEq)]
pub struct GcConfig {
    /// How long an unchanged finished sandbox is kept on a disk with room
    /// to spare (Mesos's `--gc_delay`, 1 week).
    pub delay: Duration,
    /// The fraction of the disk to keep free (Mesos's `--gc_disk_headroom`,
    /// 0.1): the fuller the disk past `1 − headroom`, the sooner sandboxes
    /// go.
    pub disk_headroom: f64,
    /// Time between sweeps (Mesos's `--disk_watch_interval`, 1 min).
    pub interval: Duration,
}

impl Default for GcConfig {
    fn default() -> GcConfig {
        GcConfig {
            delay: Duration::from_secs(7 * 24 * 3600),
            disk_headroom: 0.1,
            interval: Duration::from_secs(60),
        }
    }
}

/// A collection setting that cannot work.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GcConfigError {
    /// The headroom is not a fraction.
    #[error("the gc disk headroom must be between 0 and 1, not {0}")]
    Headroom(f64),
    /// Sweeping with no pause would busy the disk.
    #[error("the disk watch interval must be above zero")]
    ZeroInterval,
}

impl GcConfig {
    /// Whether the setting can work.
    pub fn validate(&self) -> Result<(), GcConfigError> {
        if !(0.0..=1.0).contains(&self.disk_headroom) {
            return Err(GcConfigError::Headroom(self.disk_headroom));
        }
        if self.interval.is_zero() {
            return Err(GcConfigError::ZeroInterval);
        }
        Ok(())
    }

    /// How old a finished sandbox may grow on a disk `usage` full (0 to 1).
    pub fn max_age(&self, usage: f64) -> Duration {
        let left = (1.0 - self.disk_headroom - usage).clamp(0.0, 1.0);
        self.delay.mul_f64(left)
    }
}

/// A sandbox on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its directory.
    pub dir: PathBuf,
    /// How long since anything at its top level last changed.
    pub age: Duration,
}

/// The sandboxes to remove: older than `max_age`, and not used by a live
/// task (those stay whatever their age: a quiet service's output does not
/// change for weeks).
pub fn expired<'a>(
    found: &'a [Found],
    in_use: &BTreeSet<PathBuf>,
    max_age: Duration,
) -> Vec<&'a Path> {
    found
        .iter()
        .filter(|f| f.age > max_age && !in_use.contains(&f.dir))
        .map(|f| f.dir.as_path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(h: u64) -> Duration {
        Duration::from_secs(h * 3600)
    }

    #[test]
    fn sandboxes_may_grow_older_the_more_room_the_disk_has() {
        let cfg = GcConfig {
            delay: hours(100),
            ..GcConfig::default()
        };
        assert_eq!(cfg.max_age(0.0), hours(90));
        assert_eq!(cfg.max_age(0.5), hours(40));
        // Past 1 − headroom, every finished sandbox is due.
        assert_eq!(cfg.max_age(0.9), Duration::ZERO);
        assert_eq!(cfg.max_age(0.97), Duration::ZERO);
        let none = GcConfig {
            disk_headroom: 0.0,
            ..cfg
        };
        assert_eq!(none.max_age(0.0), hours(100));
    }

    #[test]
    fn only_old_sandboxes_of_ended_tasks_are_removed() {
        let found = |dir: &str, h| Found {
            dir: PathBuf::from(dir),
            age: hours(h),
        };
        let found = [
            found("/w/frameworks/f/tasks/old", 50),
            found("/w/frameworks/f/tasks/young", 5),
            found("/w/frameworks/f/tasks/quiet-service", 500),
            found("/w/frameworks/f/tasks/at-the-limit", 10),
        ];
        let in_use = BTreeSet::from([PathBuf::from("/w/frameworks/f/tasks/quiet-service")]);
        assert_eq!(
            expired(&found, &in_use, hours(10)),
            [Path::new("/w/frameworks/f/tasks/old")]
        );
        assert!(expired(&found, &in_use, hours(1000)).is_empty());
    }

    #[test]
    fn settings_that_cannot_work_are_named() {
        assert_eq!(GcConfig::default().validate(), Ok(()));
        let bad = |cfg: GcConfig| cfg.validate().unwrap_err();
        let headroom = |h| GcConfig {
            disk_headroom: h,
            ..GcConfig::default()
        };
        assert_eq!(bad(headroom(1.5)), GcConfigError::Headroom(1.5));
        assert!(matches!(
            bad(headroom(f64::NAN)),
            GcConfigError::Headroom(_)
        ));
        let never = GcConfig {
            interval: Duration::ZERO,
            ..GcConfig::default()
        };
        assert_eq!(bad(never), GcConfigError::ZeroInterval);
    }
}
