//! Flag values shared by the cluster subcommands: durations like `1s` or
//! `500ms`, host:port addresses, and where the command executor lives.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use corral_api::auth::{Credential, Credentials};
use corral_http::token::JwtKey;
use corral_master::master::Master;
use corral_runtime::Pid;

/// Parses `250ms`, `1s`, `1.5s`, `2m`, `1h` (a bare number is seconds).
pub fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (try 500ms, 1s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" | "secs" => n,
        "m" | "mins" => n * 60.0,
        "h" | "hrs" => n * 3600.0,
        "d" | "days" => n * 86_400.0,
        "w" | "weeks" => n * 604_800.0,
        _ => {
            return Err(format!(
                "'{text}': unknown unit '{unit}' (use ms, s, m, h, d or w)"
            ))
        }
    };
    if !(0.0..1e9).contains(&secs) {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A duration the way [`duration`] reads them: `500ms`, `3s`, `1.5s`.
pub fn show_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let s = format!("{:.3}", d.as_secs_f64());
    format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
}

/// Resolves `host:port` to one address, preferring IPv4.
pub fn resolve(text: &str) -> Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve '{text}' (expected HOST:PORT)"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| anyhow!("'{text}' resolves to no address"))
}

/// Parses `--{flag}`'s comma-separated `HOST:PORT` entries (spaces around
/// them allowed) into the pids of the masters there, in order. An empty,
/// unresolvable or repeated entry is an error naming it.
pub fn master_pids(flag: &str, text: &str) -> Result<Vec<Pid>> {
    let mut pids: Vec<(Pid, &str)> = Vec::new();
    for entry in split_list(text).with_context(|| format!("bad --{flag}"))? {
        let addr = resolve(entry).with_context(|| format!("bad --{flag} entry '{entry}'"))?;
        let pid = Pid::new(Master::NAME, addr)?;
        if let Some((_, earlier)) = pids.iter().find(|(p, _)| *p == pid) {
            bail!("--{flag} entries '{earlier}' and '{entry}' are the same master ({addr})");
        }
        pids.push((pid, entry));
    }
    Ok(pids.into_iter().map(|(pid, _)| pid).collect())
}

/// The entries of a comma-separated list, trimmed; an empty entry (or an
/// empty list) is an error naming the list.
pub fn split_list(text: &str) -> Result<Vec<&str>> {
    let entries: Vec<&str> = text.split(',').map(str::trim).collect();
    if entries.iter().any(|e| e.is_empty()) {
        bail!("'{text}' has an empty entry (expected HOST:PORT[,HOST:PORT...])");
    }
    Ok(entries)
}

/// The shell words an agent runs to start the command executor: the given
/// path, else `corral-executor` next to this binary, else this binary's own
/// `executor` subcommand (the same code, so one binary is enough).
pub fn executor_command(flag: Option<PathBuf>) -> Result<String> {
    if let Some(path) = flag {
        if !path.is_file() {
            bail!("no executor at {}", path.display());
        }
        return Ok(corral_examples::local::executor_command(&path));
    }
    if let Some(path) = corral_examples::local::find_executor() {
        return Ok(corral_examples::local::executor_command(&path));
    }
    let me = std::env::current_exe().context("cannot find this binary's path")?;
    Ok(format!(
        "{} executor",
        corral_examples::local::executor_command(&me)
    ))
}

/// Reads the file `--{flag}` names and parses it with `parse`; either
/// failure names the flag and the file.
pub fn read_flag_file<T, E>(
    flag: &str,
    path: &Path,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --{flag} {}", path.display()))?;
    parse(&text).with_context(|| format!("bad --{flag} {}", path.display()))
}

/// Reads one principal and secret (`--credential`) from `path`.
pub fn read_credential(flag: &str, path: &Path) -> Result<Credential> {
    read_flag_file(flag, path, Credential::parse)
}

/// Reads the key bearer tokens are signed with (`--jwt-secret-key`).
pub fn read_jwt_key(path: &Path) -> Result<JwtKey> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read --jwt-secret-key {}", path.display()))?;
    JwtKey::new(&bytes).with_context(|| format!("bad --jwt-secret-key {}", path.display()))
}

/// Reads a list of principals and secrets (`--credentials`,
/// `--http-credentials`) from `path`.
pub fn read_credentials(flag: &str, path: &Path) -> Result<Credentials> {
    read_flag_file(flag, path, Credentials::parse)
}

/// Logs to stderr through tracing, as text, at `level` unless `CORRAL_LOG`
/// says otherwise.
pub fn init_logs(level: &str) {
    init_logs_as(level, LogFormat::Text);
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The log directive that drops the HTTP library's report of each
/// malformed request.
const QUIET_MALFORMED_REQUESTS: &str = "actix_http::h1::dispatcher=off";

/// The log directive that keeps the HTTP server's start-up chatter out.
const QUIET_SERVER_START: &str = "actix_server=warn";

/// Logs to stderr through tracing in `format`, at `level` unless
/// `CORRAL_LOG` says otherwise.
pub fn init_logs_as(level: &str, format: LogFormat) {
    // Without a file there is nothing that can fail.
    let _ = init_logs_to(level, format, None);
}

/// [`init_logs_as`], and to `file` too if given (appended to, without
/// colour).
pub fn init_logs_to(level: &str, format: LogFormat, file: Option<&Path>) -> Result<()> {
    let wanted = std::env::var("CORRAL_LOG").unwrap_or_else(|_| level.to_owned());
    let mut filter = tracing_subscriber::EnvFilter::new(&wanted);
    // The HTTP library logs every malformed request at ERROR: the client's
    // mistake, already answered 400, and a way for anyone to flood the
    // log. Silenced unless the filter names the library itself.
    if !wanted.contains("actix_http") {
        if let Ok(quiet) = QUIET_MALFORMED_REQUESTS.parse() {
            filter = filter.add_directive(quiet);
        }
    }
    // Its server says "starting 1 workers" three times per HTTP port at
    // INFO; the node's own line says where it serves.
    if !wanted.contains("actix_server") {
        if let Ok(quiet) = QUIET_SERVER_START.parse() {
            filter = filter.add_directive(quiet);
        }
    }
    let file = match file {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot write the log file {}", path.display()))?,
        ),
        None => None,
    };
    // Colour only for a person at a terminal, not in a log file.
    let ansi = file.is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let file = file.map(std::sync::Arc::new);
    let writer = move || -> Box<dyn std::io::Write> {
        match &file {
            Some(f) => Box::new(Tee(f.clone())),
            None => Box::new(std::io::stderr()),
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

/// Writes each log line to stderr and to the log file. A failed write to
/// either is not the other's failure: stderr may be closed (a daemon
/// started with `2>&-`) while its file still takes the log.
struct Tee(std::sync::Arc<std::fs::File>);

impl std::io::Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        (&*self.0).write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        (&*self.0).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1w"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(duration("2days"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(show_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show_duration(Duration::from_secs(3)), "3s");
        assert_eq!(show_duration(Duration::from_millis(250)), "250ms");
        for bad in ["", "x", "1x", "-1s", "1e30s", "NaN"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn master_lists_name_their_bad_entry() {
        let two = master_pids("master", "127.0.0.1:5050, 127.0.0.2:5051").unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].addr().port(), 5051);
        assert_eq!(two[0].name(), Master::NAME);
        for bad in ["", "127.0.0.1:5050,", "127.0.0.1:5050,,127.0.0.2:1"] {
            let e = format!("{:#}", master_pids("master", bad).unwrap_err());
            assert!(e.contains("empty entry"), "{bad}: {e}");
        }
        let e = format!(
            "{:#}",
            master_pids("master", "127.0.0.1:5050,nonsense").unwrap_err()
        );
        assert!(e.contains("bad --master entry 'nonsense'"), "{e}");
        let e = master_pids("masters", "127.0.0.1:1,127.0.0.1:1").unwrap_err();
        assert!(e.to_string().contains("the same master"), "{e}");
    }
}
