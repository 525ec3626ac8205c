//! corral-master: the master node's actors — the master (agents, frameworks,
//! offers, tasks), the DRF allocator and the replicated registrar.
//!
//! Placeholder: the scheduling milestone builds it on `corral-runtime`.
