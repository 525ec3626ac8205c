//! The environment the agent gives an executor process: defined with the
//! executor protocol in [`corral_api::executor_env`].

pub use corral_api::executor_env::*;
