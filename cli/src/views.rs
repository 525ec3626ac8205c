//! `corral state | agents | frameworks | tasks | task log | kill`: the
//! cluster as an operator reads it, from the master's HTTP API. Tables for
//! people by default, `--json` for scripts.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use crate::api::{find_task, has_ended, Master, State};
use crate::table::Table;

/// Where the master is, and how to print.
#[derive(Args, Debug)]
pub struct Common {
    #[command(flatten)]
    target: Target,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Where the masters are, and how to prove who one is to masters and
/// agents that authenticate HTTP calls.
#[derive(Args, Debug)]
pub struct Target {
    /// The master's HTTP address, as HOST:PORT, or every master's as
    /// HOST:PORT,HOST:PORT,... (asked in order; one that does not lead
    /// redirects to the leader).
    #[arg(
        long,
        visible_alias = "masters",
        env = "CORRAL_MASTER",
        default_value = "127.0.0.1:5050"
    )]
    master: String,
    /// A principal and secret for masters and agents that authenticate
    /// HTTP calls (sent with HTTP Basic authentication): JSON
    /// `{"principal": .., "secret": ..}`, TOML, or `PRINCIPAL SECRET`.
    #[arg(long, env = "CORRAL_CREDENTIAL", conflicts_with = "token")]
    credential: Option<std::path::PathBuf>,
    /// A bearer token (from `corral token`) for masters and agents that
    /// authenticate HTTP calls and take tokens (`--jwt-secret-key`).
    #[arg(long, env = "CORRAL_TOKEN")]
    token: Option<String>,
    /// The cluster CA (PEM) to trust for masters and agents that serve
    /// HTTPS; with it, a bare HOST:PORT master is asked over HTTPS
    /// (default: the public CAs built in, and plain HTTP for HOST:PORT).
    #[arg(long, env = "CORRAL_TLS_CA")]
    tls_ca: Option<std::path::PathBuf>,
}

impl Target {
    /// A client of these masters, with the credential if one was given.
    fn master(&self) -> Result<Master> {
        let credential = match &self.credential {
            Some(path) => Some(crate::flags::read_credential("credential", path)?),
            None => None,
        };
        Ok(Master::trusting(&self.master, self.tls_ca.as_deref())?
            .with_credential(credential)
            .with_token(self.token.as_deref()))
    }
}

/// Flags of `corral tasks`.
#[derive(Args, Debug)]
pub struct TasksArgs {
    #[command(flatten)]
    common: Common,
    /// Only this framework's tasks.
    #[arg(long)]
    framework: Option<String>,
    /// Only tasks in this state (e.g. running or TASK_RUNNING).
    #[arg(long)]
    state: Option<String>,
}

/// `corral task ...`
#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// Print a task's stdout (or stderr) from its sandbox.
    Log(LogArgs),
}

/// Flags of `corral task log`.
#[derive(Args, Debug)]
pub struct LogArgs {
    /// The task's id.
    task_id: String,
    /// Print stderr instead of stdout.
    #[arg(long)]
    stderr: bool,
    /// Keep printing as the task writes, until it ends.
    #[arg(long)]
    follow: bool,
    /// The task's framework, when several use the id.
    #[arg(long)]
    framework: Option<String>,
    #[command(flatten)]
    target: Target,
}

/// Flags of `corral kill`.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// The task's id.
    task_id: String,
    /// The task's framework, when several use the id.
    #[arg(long)]
    framework: Option<String>,
    #[command(flatten)]
    target: Target,
}

/// How an agent is named in tables: its hostname, with its address
/// (`ip:port`) when other agents share the hostname, as several agents on
/// one machine do.
fn agent_name(all: &[crate::api::Agent], a: &crate::api::Agent) -> String {
    let shared = all.iter().any(|o| o.id != a.id && o.hostname == a.hostname);
    match a.pid.split_once('@') {
        Some((_, addr)) if shared => format!("{} ({addr})", a.hostname),
        _ => a.hostname.clone(),
    }
}

fn fmt_res(used: f64, total: f64) -> String {
    format!("{}/{}", trim(used), trim(total))
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// How long ago `ms` (Unix milliseconds) was, in words ("42s", "3m").
fn age(ms: u64) -> String {
    #[allow(clippy::disallowed_methods)] // the binary edge: a real clock
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let secs = now.saturating_sub(ms) / 1000;
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}

fn short_state(s: &str) -> &str {
    s.strip_prefix("TASK_").unwrap_or(s)
}

/// `corral state`.
pub fn state(c: Common) -> Result<ExitCode> {
    let master = c.target.master()?;
    if c.json {
        println!("{}", serde_json::to_string_pretty(&master.state_json()?)?);
        return Ok(ExitCode::SUCCESS);
    }
    let s = master.state()?;
    let running = s.tasks.iter().filter(|t| t.state == "TASK_RUNNING").count();
    let (t, u) = (&s.totals.total, &s.totals.used);
    println!("leader      {}", s.leader);
    println!("version     {}", s.version);
    println!("uptime      {}", age(s.start_time_ms));
    println!(
        "agents      {} ({} unreachable)",
        s.agents.len(),
        s.agents.iter().filter(|a| !a.reachable).count()
    );
    println!("frameworks  {}", s.frameworks.len());
    println!("tasks       {} ({running} running)", s.tasks.len());
    println!("offers      {}", s.outstanding_offers);
    println!(
        "cpus        {} (offered {})",
        fmt_res(u.cpus, t.cpus),
        trim(s.totals.offered.cpus)
    );
    println!("mem (MB)    {}", fmt_res(u.mem, t.mem));
    println!("disk (MB)   {}", fmt_res(u.disk, t.disk));
    let away = &s.totals.unreachable;
    if away.cpus > 0.0 || away.mem > 0.0 || away.disk > 0.0 {
        println!(
            "not counted cpus {}, mem {} MB, disk {} MB on unreachable agents",
            trim(away.cpus),
            trim(away.mem),
            trim(away.disk)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `corral agents`.
pub fn agents(c: Common) -> Result<ExitCode> {
    let s = c.target.master()?.state()?;
    if c.json {
        print_json(&s, |v| v.get("agents").cloned(), &c.target)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        "ID",
        "HOSTNAME",
        "REACHABLE",
        "CPUS",
        "MEM (MB)",
        "HTTP",
        "ATTRIBUTES",
    ]);
    for a in &s.agents {
        t.row(vec![
            a.id.clone(),
            agent_name(&s.agents, a),
            a.reachable.to_string(),
            fmt_res(a.used.cpus, a.total.cpus),
            fmt_res(a.used.mem, a.total.mem),
            a.http.clone().unwrap_or_default(),
            a.attributes.clone(),
        ]);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}

/// `corral frameworks`.
pub fn frameworks(c: Common) -> Result<ExitCode> {
    let s = c.target.master()?.state()?;
    if c.json {
        print_json(&s, |v| v.get("frameworks").cloned(), &c.target)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "ROLE",
        "CONNECTED",
        "CPUS",
        "MEM (MB)",
        "TASKS",
    ]);
    for f in &s.frameworks {
        let tasks = s.tasks.iter().filter(|x| x.framework_id == f.id).count();
        t.row(vec![
            f.id.clone(),
            f.name.clone(),
            f.role.clone(),
            f.connected.to_string(),
            trim(f.used.cpus),
            trim(f.used.mem),
            tasks.to_string(),
        ]);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}

/// `corral tasks`.
pub fn tasks(a: TasksArgs) -> Result<ExitCode> {
    let s = a.common.target.master()?.state()?;
    let want_state = a.state.as_deref().map(|x| {
        let x = x.to_ascii_uppercase();
        if x.starts_with("TASK_") {
            x
        } else {
            format!("TASK_{x}")
        }
    });
    let keep = |t: &&crate::api::Task| {
        a.framework.as_deref().is_none_or(|f| t.framework_id == f)
            && want_state.as_deref().is_none_or(|st| t.state == st)
    };
    if a.common.json {
        let ids: Vec<(String, String)> = s
            .tasks
            .iter()
            .filter(keep)
            .map(|t| (t.framework_id.clone(), t.id.clone()))
            .collect();
        let all = a.common.target.master()?.state_json()?;
        let picked: Vec<serde_json::Value> = all
            .get("tasks")
            .and_then(|v| v.as_array())
            .map(|v| {
                v.iter()
                    .filter(|t| {
                        let fw = t
                            .get("framework_id")
                            .and_then(|x| x.as_str())
                            .unwrap_or_default();
                        let id = t.get("id").and_then(|x| x.as_str()).unwrap_or_default();
                        ids.iter().any(|(f, i)| f == fw && i == id)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        println!("{}", serde_json::to_string_pretty(&picked)?);
        return Ok(ExitCode::SUCCESS);
    }
    let host = |id: &str| {
        s.agents
            .iter()
            .find(|x| x.id == id)
            .map_or_else(|| id.to_owned(), |x| agent_name(&s.agents, x))
    };
    let mut t = Table::new(&[
        "ID",
        "STATE",
        "SINCE",
        "FRAMEWORK",
        "AGENT",
        "CPUS",
        "MEM (MB)",
        "NAME",
    ]);
    for task in s.tasks.iter().filter(keep) {
        let since = task
            .history
            .iter()
            .rev()
            .find(|h| h.state == task.state)
            .map_or_else(String::new, |h| age(h.time_ms));
        t.row(vec![
            task.id.clone(),
            short_state(&task.state).to_owned(),
            since,
            task.framework_id.clone(),
            host(&task.agent_id),
            trim(task.resources.cpus),
            trim(task.resources.mem),
            task.name.clone(),
        ]);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}

fn print_json(
    _parsed: &State,
    pick: impl Fn(&serde_json::Value) -> Option<serde_json::Value>,
    target: &Target,
) -> Result<()> {
    let raw = target.master()?.state_json()?;
    let part = pick(&raw).unwrap_or(serde_json::Value::Null);
    println!("{}", serde_json::to_string_pretty(&part)?);
    Ok(())
}

/// `corral task log`.
pub fn task_log(a: LogArgs) -> Result<ExitCode> {
    const CHUNK: u64 = 64 * 1024;
    let master = a.target.master()?;
    let s = master.state()?;
    let task = find_task(&s, &a.task_id, a.framework.as_deref())?.clone();
    let Some(http) = s
        .agents
        .iter()
        .find(|x| x.id == task.agent_id)
        .and_then(|x| x.http.clone())
    else {
        bail!(
            "the agent of task '{}' has no HTTP address to read its sandbox from",
            task.id
        );
    };
    let file = if a.stderr { "stderr" } else { "stdout" };
    let path = format!("frameworks/{}/tasks/{}/{file}", task.framework_id, task.id);
    let mut offset = 0;
    let mut out = std::io::stdout();
    loop {
        let chunk = master.read_file(&http, &path, offset, CHUNK)?;
        let n = chunk.data.len() as u64;
        out.write_all(chunk.data.as_bytes())?;
        out.flush()?;
        offset = chunk.offset + n;
        if n == CHUNK {
            continue;
        }
        if !a.follow {
            break;
        }
        let now = master.state()?;
        let done = find_task(&now, &task.id, Some(&task.framework_id))
            .map_or(true, |t| has_ended(&t.state));
        if done {
            // One last read: what it wrote just before it ended.
            let last = master.read_file(&http, &path, offset, CHUNK)?;
            out.write_all(last.data.as_bytes())?;
            break;
        }
        // Following a file means polling it; a second between reads is
        // what `tail -f` does too.
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `corral kill`.
pub fn kill(a: KillArgs) -> Result<ExitCode> {
    let master = a.target.master()?;
    let s = master.state()?;
    let task = find_task(&s, &a.task_id, a.framework.as_deref())?;
    if has_ended(&task.state) {
        bail!(
            "task '{}' has already ended ({})",
            task.id,
            short_state(&task.state)
        );
    }
    master.kill(&task.framework_id, &task.id)?;
    println!("kill of task {} sent", task.id);
    Ok(ExitCode::SUCCESS)
}
