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

use anyhow::{bail, Context, Result};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};

/// The flags a subcommand runs with, by name (`work_dir`), each as
/// given or defaulted, for a daemon to show (`/flags`, `GET_FLAGS`).
pub type Flags = Vec<(String, String)>;

/// Parses the command line of `C`, layering in the TOML file that the
/// subcommand's `--config` names, if any; with the subcommand's flags.
pub fn parse<C: CommandFactory + FromArgMatches>() -> Result<(C, Flags)> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let matches = C::command().get_matches_from(&args);
    let path = matches.subcommand().and_then(|(_, sub)| {
        sub.try_get_one::<std::path::PathBuf>("config")
            .ok()
            .flatten()
            .cloned()
    });
    let matches = match path {
        None => matches,
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            // Built, so that each argument's action is known (and help's
            // is there to be refused).
            let mut command = C::command();
            command.build();
            layered(&command, args, &matches, &text, &path.display().to_string())?
        }
    };
    let flags = matches
        .subcommand()
        .map(|(name, sub)| flags_of::<C>(name, sub))
        .unwrap_or_default();
    Ok((C::from_arg_matches(&matches)?, flags))
}

/// `args` as `command` (built, [`Command::build`]) parses them, with the
/// settings of TOML `text` (the file `origin`) layered under them for
/// their subcommand; `matches` are `args`' without the file. The
/// `config` fuzz target drives this with a command of its own.
pub fn layered(
    command: &Command,
    args: Vec<OsString>,
    matches: &ArgMatches,
    text: &str,
    origin: &str,
) -> Result<ArgMatches> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(matches.clone());
    };
    let Some(subcommand) = command.find_subcommand(name) else {
        return Ok(matches.clone());
    };
    let extra = file_args(text, origin, subcommand, sub)?;
    let mut all = args;
    all.extend(extra);
    Ok(command.clone().try_get_matches_from(&all)?)
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

/// The argument of `subcommand` a file may set by `id`: a flag, but not
/// `--config` itself, nor `--help` or `--version`, which would stop the
/// program rather than set anything.
fn setting<'c>(subcommand: &'c Command, id: &str) -> Option<&'c Arg> {
    let arg = subcommand
        .get_arguments()
        .find(|a| a.get_id() == id && !a.is_positional())?;
    let stops = matches!(
        arg.get_action(),
        ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
    );
    (id != "config" && !stops).then_some(arg)
}

/// The settings of TOML `text` (the file `origin`) as extra `--flag=value`
/// arguments, for the flags of `subcommand` that the command line and the
/// environment left at their defaults in `sub` (its matches). Pure, so the
/// `config` fuzz target reaches it. A value is joined to its flag with `=`
/// so that clap never reads it as a flag of its own (`weights = "-x"`). A
/// boolean is `--flag` alone (or nothing, for `false`) where the flag
/// takes no value, `--flag=true` or `--flag=false` where it takes one
/// (`switch-user`). `subcommand` must be built ([`Command::build`]).
pub fn file_args(
    text: &str,
    origin: &str,
    subcommand: &Command,
    sub: &ArgMatches,
) -> Result<Vec<OsString>> {
    let table: toml::Table =
        toml::from_str(text).with_context(|| format!("{origin} is not valid TOML"))?;
    let mut out = Vec::new();
    for (key, value) in table {
        let id = key.replace('-', "_");
        let Some(arg) = setting(subcommand, &id) else {
            bail!("unknown key '{key}' in {origin}");
        };
        let takes_value = arg.get_action().takes_values();
        let from_default = matches!(
            sub.try_get_raw(&id).ok().and(sub.value_source(&id)),
            Some(ValueSource::DefaultValue) | None
        );
        if !from_default {
            continue;
        }
        let flag = format!("--{}", id.replace('_', "-"));
        let given = match value {
            toml::Value::Boolean(b) if takes_value => b.to_string(),
            toml::Value::Boolean(true) => {
                out.push(flag.into());
                continue;
            }
            toml::Value::Boolean(false) => continue,
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            other => bail!(
                "key '{key}' in {origin}: expected a string, number or boolean, got {}",
                other.type_str()
            ),
        };
        out.push(format!("{flag}={given}").into());
    }
    Ok(out)
}

/// A stand-in for `corral` with one subcommand, `daemon`, that has a flag
/// of each kind the daemons have: `--config`, a string (`--weights`), a
/// flag without a value (`--verbose`), a boolean that takes one
/// (`--switch-user`) and a number (`--port`). Built, as [`parse`] builds
/// the real one. For this module's tests and the `config` fuzz target.
#[doc(hidden)]
pub fn stand_in_command() -> Command {
    let daemon = Command::new("daemon")
        .arg(Arg::new("config").long("config"))
        .arg(Arg::new("weights").long("weights").default_value(""))
        .arg(
            Arg::new("verbose")
                .long("verbose")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("switch_user")
                .long("switch-user")
                .action(ArgAction::Set)
                .value_parser(clap::value_parser!(bool))
                .default_value("true"),
        )
        .arg(
            Arg::new("port")
                .long("port")
                .value_parser(clap::value_parser!(i64))
                .default_value("5050"),
        );
    let mut command = Command::new("corral").subcommand(daemon);
    command.build();
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon's matches for `flags` on its command line and `text` in
    /// its file.
    fn daemon(flags: &[&str], text: &str) -> Result<ArgMatches> {
        let command = stand_in_command();
        let args: Vec<OsString> = ["corral", "daemon"]
            .iter()
            .chain(flags)
            .map(OsString::from)
            .collect();
        let matches = command.clone().try_get_matches_from(&args)?;
        let all = layered(&command, args, &matches, text, "test.toml")?;
        Ok(all.subcommand_matches("daemon").cloned().unwrap())
    }

    #[test]
    fn the_file_sets_what_the_command_line_leaves_at_its_default() {
        let m = daemon(
            &["--port", "1"],
            "port = 2\nweights = \"a=2\"\nverbose = true",
        )
        .unwrap();
        assert_eq!(m.get_one::<i64>("port"), Some(&1));
        assert_eq!(m.get_one::<String>("weights").unwrap(), "a=2");
        assert!(m.get_flag("verbose"));
        assert!(!daemon(&[], "verbose = false").unwrap().get_flag("verbose"));
    }

    #[test]
    fn a_value_that_starts_with_a_dash_is_the_flags_value() {
        // Given apart from its flag, clap read "-x" as a flag of its own
        // and refused the file.
        let m = daemon(&[], "weights = \"-x\"\nport = -3").unwrap();
        assert_eq!(m.get_one::<String>("weights").unwrap(), "-x");
        assert_eq!(m.get_one::<i64>("port"), Some(&-3));
    }

    #[test]
    fn a_boolean_flag_that_takes_a_value_is_given_it() {
        // `switch-user = false` was dropped (and `true` refused) when
        // every boolean was taken for a flag without a value.
        let m = daemon(&[], "switch-user = false").unwrap();
        assert_eq!(m.get_one::<bool>("switch_user"), Some(&false));
        let m = daemon(&[], "switch-user = true").unwrap();
        assert_eq!(m.get_one::<bool>("switch_user"), Some(&true));
    }

    #[test]
    fn unknown_keys_help_and_tables_are_refused_in_words() {
        let cases = [
            ("prot = 1", "unknown key 'prot' in test.toml"),
            ("config = \"x\"", "unknown key 'config'"),
            ("help = true", "unknown key 'help'"),
            (
                "port = [1]",
                "key 'port' in test.toml: expected a string, number or boolean",
            ),
            ("port = ", "test.toml is not valid TOML"),
        ];
        for (text, expected) in cases {
            let e = format!("{:#}", daemon(&[], text).unwrap_err());
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
