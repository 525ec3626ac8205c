//! Apache Mesos's v1 HTTP APIs as their JSON is written: the shapes
//! ([`shapes`], [`scheduler`]), the conversion to and from Corral's own
//! protocol types ([`convert`]), and the RecordIO framing of event
//! streams ([`recordio`]). The master serves the scheduler API with them;
//! clients (tests, benchmarks) read and write the same shapes.

pub mod convert;
pub mod recordio;
pub mod scheduler;
pub mod shapes;

/// The header naming a subscription's stream in every later call.
pub const STREAM_ID: &str = "Mesos-Stream-Id";
