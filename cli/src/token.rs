//! `corral token`: mints a bearer token for the HTTP APIs of masters and
//! agents that take tokens signed with the same `--jwt-secret-key`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;

use crate::flags::{duration, read_jwt_key};

/// Flags of `corral token`.
#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The file holding the key the masters and agents check tokens with.
    #[arg(long, env = "CORRAL_JWT_SECRET_KEY")]
    jwt_secret_key: PathBuf,
    /// The principal the token proves (ACLs decide what it may do).
    #[arg(long)]
    principal: String,
    /// How long the token is valid.
    #[arg(long, default_value = "1h", value_parser = duration)]
    ttl: Duration,
}

/// Prints a token for `--principal`, valid for `--ttl` from now.
// A token's times are wall-clock times.
#[allow(clippy::disallowed_methods)]
pub fn token(args: TokenArgs) -> Result<ExitCode> {
    if args.principal.trim().is_empty() {
        bail!("--principal is empty");
    }
    if args.ttl.is_zero() {
        bail!("--ttl is zero: the token would be expired already");
    }
    let key = read_jwt_key(&args.jwt_secret_key)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    println!(
        "{}",
        key.mint(&args.principal, now, args.ttl.as_secs().max(1))
    );
    Ok(ExitCode::SUCCESS)
}
