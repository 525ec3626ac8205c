//! `corral`: the one operator binary. `corral master` and `corral agent`
//! run cluster nodes, `corral local` a whole cluster in one process,
//! `corral execute` one command on a cluster, and `corral sim` simulations.
//! `corral executor` is the command executor itself (what agents launch when
//! no `corral-executor` binary sits next to this one).

// A binary's edge, not actor code: it may use files, processes and threads
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod api;
mod counting_alloc;
mod daemons;
mod execute;
mod flags;
mod local;
mod run_batch;
mod sim;
mod table;
mod tls;
mod token;
mod views;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
// The --config layering lives in the package's library, for fuzzing.
use corral::config;

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

/// Corral: a cluster manager with resource offers, on location-transparent actors.
#[derive(Parser, Debug)]
#[command(name = "corral", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a master node (until killed).
    Master(daemons::MasterCommand),
    /// Run an agent node that offers this machine to a master (until killed).
    Agent(daemons::AgentArgs),
    /// Run a master and agents in this process, optionally with a demo
    /// workload.
    Local(local::LocalArgs),
    /// Run a command on the cluster and wait for its result.
    Execute(execute::ExecuteArgs),
    /// Show the cluster's state in brief.
    State(views::Common),
    /// List agents.
    Agents(views::Common),
    /// List frameworks.
    Frameworks(views::Common),
    /// List tasks.
    Tasks(views::TasksArgs),
    /// Look into one task.
    Task {
        #[command(subcommand)]
        command: views::TaskCommand,
    },
    /// Kill a task (as an operator).
    Kill(views::KillArgs),
    /// Mint a bearer token for masters and agents that take tokens
    /// (`--jwt-secret-key`).
    Token(token::TokenArgs),
    /// Make a cluster CA and node certificates for mutual TLS.
    Certs {
        #[command(subcommand)]
        command: tls::CertsCommand,
    },
    /// Run a simulated cluster over many seeds, or replay one seed.
    Sim(sim::SimArgs),
    /// The command executor (started by agents, not by people).
    #[command(hide = true)]
    Executor,
}

fn main() -> ExitCode {
    let (cli, flags) = match config::parse::<Cli>() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("corral: {e:#}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Master(args) => daemons::master(args, flags),
        Command::Agent(args) => daemons::agent(args, flags),
        Command::Local(args) => local::local(args),
        Command::Execute(args) => execute::execute(args),
        Command::State(c) => views::state(c),
        Command::Agents(c) => views::agents(c),
        Command::Frameworks(c) => views::frameworks(c),
        Command::Tasks(a) => views::tasks(a),
        Command::Task {
            command: views::TaskCommand::Log(a),
        } => views::task_log(a),
        Command::Kill(a) => views::kill(a),
        Command::Token(a) => token::token(a),
        Command::Certs { command } => tls::certs(command),
        Command::Sim(args) => sim::run(args),
        Command::Executor => corral_executor::run::run_from_env()
            .map(|_| ExitCode::SUCCESS)
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("corral: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Two flags with one name (e.g. a flattened group clashing with a
    /// command's own) are caught here rather than by a user.
    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
