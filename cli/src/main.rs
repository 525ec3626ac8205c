//! `corral`: the one operator binary. Today it runs simulations
//! (`corral sim`); the cluster subcommands (master, agent, local, execute,
//! state) arrive with the issues that build them.

mod sim;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Corral: a cluster manager with resource offers, on location-transparent actors.
#[derive(Parser, Debug)]
#[command(name = "corral", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a simulated cluster over many seeds, or replay one seed.
    Sim(sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(args) => sim::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("corral: {e:#}");
            ExitCode::from(2)
        }
    }
}
