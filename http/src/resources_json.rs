//! One agent's resources as the HTTP APIs and the web UI show them: the
//! master's `/state` and the agent's own `/state` share this shape.

use corral_api::resources::Resources;
use serde::{Deserialize, Serialize};

/// Resources as the UI shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourcesJson {
    /// CPUs.
    pub cpus: f64,
    /// Memory, MB.
    pub mem: f64,
    /// Disk, MB.
    pub disk: f64,
    /// GPUs.
    pub gpus: f64,
    /// Port ranges in Mesos's text, e.g. `[31000-31999]`; empty if none.
    pub ports: String,
}

impl From<&Resources> for ResourcesJson {
    fn from(r: &Resources) -> ResourcesJson {
        let ports = r.ranges("ports");
        ResourcesJson {
            cpus: r.get("cpus"),
            mem: r.get("mem"),
            disk: r.get("disk"),
            gpus: r.get("gpus"),
            ports: if ports.is_empty() {
                String::new()
            } else {
                ports.to_string()
            },
        }
    }
}
