//! `corral-executor`: the command executor a Corral agent launches for each
//! command task. Everything it needs comes from the environment the agent
//! sets (see `corral_executor::env`).
//!
//! Exit codes: 0 once the executor has stopped on its own (its task's last
//! status acknowledged, or it gave up waiting for its agent; the log says
//! which), 1 when it could not run at all.

use std::process::ExitCode;

fn main() -> ExitCode {
    match corral_executor::run::run_from_env() {
        // The executor logged how it ended (at warn when it gave up).
        Ok(_outcome) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corral-executor: {e}");
            ExitCode::from(1)
        }
    }
}
