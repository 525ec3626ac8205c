//! Configuration from a TOML file under flags and environment variables.
//!
//! Precedence: a flag on the command line wins over its `CORRAL_*`
//! environment variable, which wins over the file given with `--config`,
//! which wins over the default. clap handles the first two; this module
//! adds the file by re-parsing the command line with the file's values
//! appended for every flag that is still at its default. Keys are the long
//! flag names (`allocation-interval = "1s"`); an unknown key is an error
//! that names it.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

/// The flags a subcommand runs with, by name (`work_dir`), each as
/// given or defaulted, for a daemon to show (`/flags`, `GET_FLAGS`).
pub type Flags = Vec<(String, String)>;

/// Parses the command line of `C`, layering in the TOML file that the
/// subcommand's `--config` names, if any; with the subcommand's flags.
pub fn parse<C: CommandFactory + FromArgMatches>() -> Result<(C, Flags)> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let matches = C::command().get_matches_from(&args);
    let Some((name, sub)) = matches.subcommand() else {
        return Ok((C::from_arg_matches(&matches)?, Flags::new()));
    };
    let path = sub
        .try_get_one::<std::path::PathBuf>("config")
        .ok()
        .flatten()
        .cloned();
    let Some(path) = path else {
        let flags = flags_of::<C>(name, sub);
        return Ok((C::from_arg_matches(&matches)?, flags));
    };
    let command = C::command();
    let known: Vec<String> = command
        .find_subcommand(name)
        .map(|c| {
            c.get_arguments()
                .map(|a| a.get_id().as_str().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let extra = file_args(&path, sub, &known)?;
    let mut all = args;
    all.extend(extra);
    let matches = C::command().try_get_matches_from(&all)?;
    let flags = matches
        .subcommand()
        .map(|(name, sub)| flags_of::<C>(name, sub))
        .unwrap_or_default();
    Ok((C::from_arg_matches(&matches)?, flags))
}

/// Subcommand `name`'s flags that have a value in `sub`, in the order
/// `--help` lists them; several values are joined with commas.
fn flags_of<C: CommandFactory>(name: &str, sub: &ArgMatches) -> Flags {
    let command = C::command();
    let Some(c) = command.find_subcommand(name) else {
        return Flags::new();
    };
    c.get_arguments()
        .filter(|a| !a.is_positional())
        .filter_map(|a| {
            let id = a.get_id().as_str();
            let values = sub.try_get_raw(id).ok().flatten()?;
            let values: Vec<String> = values.map(|v| v.to_string_lossy().into_owned()).collect();
            Some((id.to_owned(), values.join(",")))
        })
        .collect()
}

/// The file's settings as extra `--flag value` arguments, for the flags the
/// command line and the environment left at their defaults.
fn file_args(path: &Path, sub: &ArgMatches, known: &[String]) -> Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let mut out = Vec::new();
    for (key, value) in table {
        let id = key.replace('-', "_");
        if id == "config" || !known.contains(&id) {
            bail!("unknown key '{key}' in {}", path.display());
        }
        let from_default = matches!(
            sub.try_get_raw(&id).ok().and(sub.value_source(&id)),
            Some(ValueSource::DefaultValue) | None
        );
        if !from_default {
            continue;
        }
        let flag = format!("--{}", id.replace('_', "-"));
        match value {
            toml::Value::Boolean(true) => out.push(flag.into()),
            toml::Value::Boolean(false) => {}
            toml::Value::String(s) => {
                out.push(flag.into());
                out.push(s.into());
            }
            toml::Value::Integer(n) => {
                out.push(flag.into());
                out.push(n.to_string().into());
            }
            toml::Value::Float(x) => {
                out.push(flag.into());
                out.push(x.to_string().into());
            }
            other => bail!(
                "key '{key}' in {}: expected a string, number or boolean, got {}",
                path.display(),
                other.type_str()
            ),
        }
    }
    Ok(out)
}
