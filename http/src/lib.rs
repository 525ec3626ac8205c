//! corral-http: what the master's and the agent's HTTP APIs share — an
//! actix-web server on a thread of its own beside the node ([`HttpServer`]),
//! JSON errors ([`ApiError`]), asking an actor from a handler
//! ([`ask::ask`]), the Prometheus text format ([`prometheus`]) with the
//! node's runtime counters ([`runtime_metrics`]), the JSON of one agent's
//! resources ([`ResourcesJson`]), and Mesos's JSON conventions for the
//! Mesos-shaped endpoints ([`mesos`]), the shapes of Mesos's v1 APIs
//! ([`v1`]), and who may call ([`access`], with bearer tokens from
//! [`token`]).
//!
//! Handlers never touch an actor's state: they ask the actor through the
//! node, as any other actor would, so a slow request never stalls it and
//! the actor never waits on a socket.

pub mod access;
pub mod ask;
mod errors;
pub mod files;
pub mod mesos;
pub mod prometheus;
mod resources_json;
pub mod runtime_metrics;
mod server;
pub mod token;
pub mod v1;

pub use self::access::HttpAccess;
pub use self::errors::{echo, ApiError, HttpError};
pub use self::resources_json::ResourcesJson;
pub use self::server::{
    app, get, get_tree, only, post, post_tree, read_body, HttpConfig, HttpServer, HttpsIdentity,
};
