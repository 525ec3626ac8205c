//! corral-examples: example frameworks written as actors, the in-process
//! local cluster they run on, and the end-to-end benchmarks that drive them.
//!
//! - [`batch`]: run a list of tasks once each (`corral execute` and the
//!   `corral local` demo);
//! - [`service`]: keep N instances of a command running, relaunching any
//!   that ends;
//! - [`local`]: master and agents in one process on loopback (mesos-local);
//! - [`framework`]: what every framework here does alike (follow the
//!   leading master among several, acknowledge, fit tasks into offers).
//!
//! A framework is an actor: offers and status updates arrive as messages,
//! accepts and kills leave as messages; there is no RPC client and no
//! polling.

#![warn(missing_docs)]

pub mod batch;
pub mod framework;
pub mod local;
pub mod service;
