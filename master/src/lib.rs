//! corral-master: the master node's actors — the master (agents, frameworks,
//! offers, tasks), the DRF allocator and the replicated registrar — and the
//! cluster vocabulary they share with agents and frameworks: ids and
//! resources.
//!
//! Built so far: [`ids`] and [`resources`]. The allocator's pure core and the
//! master actor arrive with the scheduling milestone.

pub mod ids;
pub mod resources;
