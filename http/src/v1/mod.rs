//! Apache Mesos's v1 HTTP APIs as their JSON is written: the shapes
//! ([`shapes`], [`scheduler`]), the conversion to and from Corral's own
//! protocol types ([`convert`]), the same messages as protobuf
//! ([`protobuf`], read into and written from the shapes), and the RecordIO
//! framing of event streams ([`recordio`]), and how a request names its
//! encoding ([`media`]). The master serves the scheduler API with them;
//! clients (tests, benchmarks) read and write the same shapes.

pub mod convert;
pub mod executor;
pub mod media;
pub mod protobuf;
pub mod recordio;
pub mod scheduler;
pub mod shapes;
pub mod stream;

/// The header naming a subscription's stream in every later call.
pub const STREAM_ID: &str = "Mesos-Stream-Id";

/// The media type of JSON bodies and records.
pub const JSON: &str = "application/json";

/// The media type of protobuf bodies and records.
pub const PROTOBUF: &str = "application/x-protobuf";
