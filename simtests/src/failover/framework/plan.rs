//! What a framework asks for: task resources (cpus and memory varied,
//! sometimes a port or a disk taken from the offer) and commands with
//! random durations and exit codes, run by the simulated processes.

use corral_api::resources::{RangeSet, Resources, StringSet};
use rand::{Rng, RngCore};

/// One task to launch.
pub struct Ask {
    /// What it holds.
    pub resources: Resources,
    /// Its command.
    pub command: String,
    /// Runs until killed.
    pub long: bool,
    /// Its command exits non-zero (it ends FAILED by itself).
    pub fails: bool,
}

/// The resources the original chaos framework gives every task.
pub fn classic_resources() -> Resources {
    Resources::parse("cpus:1;mem:256").unwrap_or_else(|e| unreachable!("a fixed literal: {e}"))
}

fn scalars(rng: &mut dyn RngCore) -> Resources {
    let cpus = [0.5, 1.0, 2.0][rng.random_range(0..3)];
    let mem = [128.0, 256.0, 512.0][rng.random_range(0..3)];
    Resources::empty()
        .with_scalar("cpus", cpus)
        .and_then(|r| r.with_scalar("mem", mem))
        .unwrap_or_else(|e| unreachable!("positive amounts: {e}"))
}

/// A port (sometimes) and a disk (sometimes) out of `left`, on top of
/// varied cpus and memory.
pub fn resources(left: &Resources, rng: &mut dyn RngCore) -> Resources {
    let mut r = scalars(rng);
    let ports: Vec<_> = left.ranges("ports").iter().collect();
    if !ports.is_empty() && rng.random_bool(0.4) {
        let range = &ports[rng.random_range(0..ports.len())];
        let port = rng.random_range(*range.start()..=*range.end());
        if let Some(one) = RangeSet::from_pairs([(port, port)]) {
            let base = r.clone();
            r = r.with_ranges("ports", one).unwrap_or(base);
        }
    }
    let disks: Vec<String> = left.set("disks").iter().map(str::to_owned).collect();
    if !disks.is_empty() && rng.random_bool(0.3) {
        let mut one = StringSet::new();
        one.insert(disks[rng.random_range(0..disks.len())].clone());
        let base = r.clone();
        r = r.with_set("disks", one).unwrap_or(base);
    }
    r
}

/// A short job: runs 1-15 s and mostly exits 0.
pub fn short_job(left: &Resources, rng: &mut dyn RngCore) -> Ask {
    let secs = rng.random_range(1..15);
    let code = if rng.random_bool(0.8) {
        0
    } else {
        rng.random_range(1..4)
    };
    Ask {
        resources: resources(left, rng),
        command: format!("sleep {secs}; exit {code}"),
        long: false,
        fails: code != 0,
    }
}

/// A service instance: runs until killed, or (sometimes) crashes after a
/// while and is relaunched.
pub fn service(left: &Resources, rng: &mut dyn RngCore) -> Ask {
    let crashes = rng.random_bool(0.2);
    let command = if crashes {
        format!("sleep {}; exit 1", rng.random_range(5..30))
    } else {
        "sleep 100000".to_owned()
    };
    Ask {
        resources: resources(left, rng),
        command,
        long: !crashes,
        fails: crashes,
    }
}
