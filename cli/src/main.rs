//! `corral`: the one operator binary. Subcommands (master, agent, local,
//! execute, state, sim) arrive with the issues that build them; for now it
//! only reports its version.

use clap::Parser;

/// Corral: a cluster manager with resource offers, on location-transparent actors.
#[derive(Parser, Debug)]
#[command(name = "corral", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!("corral {}", env!("CARGO_PKG_VERSION"));
}
