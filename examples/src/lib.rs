//! corral-examples: example frameworks written as actors, the in-process
//! local cluster they run on, and the end-to-end benchmarks that drive them.
//!
//! - [`batch`]: run a list of tasks once each (`corral execute` and the
//!   `corral local` demo);
//! - [`service`]: keep N instances of a command running, relaunching any
//!   that ends;
//! - [`local`]: master and agents in one process on loopback (mesos-local).
//!
//! Each framework is a `corral_scheduler::Scheduler`: it decides about
//! offers and updates, and the scheduler driver (an actor) does the rest —
//! following the leading master, acknowledging, reconciling.

#![warn(missing_docs)]

pub mod batch;
pub mod browser;
pub mod local;
pub mod service;
