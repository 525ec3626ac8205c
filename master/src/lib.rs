//! corral-master: the master node's actors — the master (agents, frameworks,
//! offers, tasks), the DRF allocator and the replicated registrar — and the
//! cluster vocabulary they share with agents and frameworks: ids and
//! resources.
//!
//! Built so far: [`ids`], [`resources`] (Mesos's syntax and arithmetic),
//! [`task`] states, the wire [`protocol`], the [`allocator`]'s pure core
//! (hierarchical DRF) and the [`offers`] book with Mesos's accept validation;
//! the master actor arrives with the scheduling milestone.

pub mod allocator;
pub mod ids;
pub mod offers;
pub mod protocol;
pub mod resources;
pub mod task;
