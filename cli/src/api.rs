//! The master's and agents' HTTP APIs as the CLI reads them: `/state`, the
//! sandbox file reads and the operator kill.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

/// Resources as `/state` shows them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Res {
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
    pub ports: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Agent {
    pub id: String,
    pub hostname: String,
    pub http: Option<String>,
    pub total: Res,
    pub used: Res,
    #[serde(default)]
    pub attributes: String,
    pub reachable: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Framework {
    pub id: String,
    pub name: String,
    pub role: String,
    pub connected: bool,
    pub used: Res,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Transition {
    pub state: String,
    pub time_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Task {
    pub id: String,
    pub name: String,
    pub framework_id: String,
    pub agent_id: String,
    pub state: String,
    pub resources: Res,
    #[serde(default)]
    pub history: Vec<Transition>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Totals {
    pub total: Res,
    pub used: Res,
    pub offered: Res,
}

/// The master's `/state`.
#[derive(Clone, Debug, Deserialize)]
pub struct State {
    pub version: String,
    pub leader: String,
    pub start_time_ms: u64,
    pub agents: Vec<Agent>,
    pub frameworks: Vec<Framework>,
    pub tasks: Vec<Task>,
    pub outstanding_offers: usize,
    pub totals: Totals,
}

/// A client of one master's HTTP API.
pub struct Master {
    base: String,
    agent: ureq::Agent,
}

fn client() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
}

/// Turns ureq's errors into one plain sentence.
fn plain(url: &str, e: ureq::Error) -> anyhow::Error {
    match e {
        ureq::Error::Status(code, response) => {
            let body = response.into_string().unwrap_or_default();
            anyhow!("{url} answered {code}: {}", body.trim())
        }
        ureq::Error::Transport(t) => anyhow!("cannot reach {url}: {t}"),
    }
}

impl Master {
    /// A client of the master at `host:port` (its HTTP port).
    pub fn new(addr: &str) -> Master {
        let base = if addr.starts_with("http://") {
            addr.trim_end_matches('/').to_owned()
        } else {
            format!("http://{addr}")
        };
        Master {
            base,
            agent: client(),
        }
    }

    /// The raw `/state` JSON.
    pub fn state_json(&self) -> Result<serde_json::Value> {
        let url = format!("{}/state", self.base);
        let response = self.agent.get(&url).call().map_err(|e| plain(&url, e))?;
        response
            .into_json()
            .with_context(|| format!("{url} did not answer JSON"))
    }

    /// `/state`, parsed.
    pub fn state(&self) -> Result<State> {
        serde_json::from_value(self.state_json()?)
            .context("the master's /state has an unexpected shape")
    }

    /// Asks the master to kill a task as an operator.
    pub fn kill(&self, framework_id: &str, task_id: &str) -> Result<()> {
        let url = format!("{}/tasks/{framework_id}/{task_id}/kill", self.base);
        self.agent.post(&url).call().map_err(|e| plain(&url, e))?;
        Ok(())
    }
}

/// A chunk of a sandbox file, from an agent's `/files/read`.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    pub data: String,
    pub offset: u64,
}

/// Reads `length` bytes of `path` (relative to the agent's work dir) from
/// `offset`.
pub fn read_file(agent_http: &str, path: &str, offset: u64, length: u64) -> Result<Chunk> {
    let url = format!("{}/files/read", agent_http.trim_end_matches('/'));
    let response = client()
        .get(&url)
        .query("path", path)
        .query("offset", &offset.to_string())
        .query("length", &length.to_string())
        .call()
        .map_err(|e| plain(&url, e))?;
    response
        .into_json()
        .with_context(|| format!("{url} did not answer JSON"))
}

/// The one task with this id (an id may repeat across frameworks: then the
/// caller must say which).
pub fn find_task<'a>(state: &'a State, task_id: &str, framework: Option<&str>) -> Result<&'a Task> {
    let matches: Vec<&Task> = state
        .tasks
        .iter()
        .filter(|t| t.id == task_id && framework.is_none_or(|f| t.framework_id == f))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => bail!("no task '{task_id}' on this cluster"),
        _ => bail!("task id '{task_id}' is used by several frameworks; say which with --framework"),
    }
}
