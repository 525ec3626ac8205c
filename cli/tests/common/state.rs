//! Reading what `corral master` and `corral agent` serve over HTTP.

use std::time::Duration;

use serde_json::Value;

/// The `/state` served at `addr` (HOST:PORT), if it answers 200: a
/// standby master answers 307, which this deliberately does not follow.
pub fn state_at(addr: &str) -> Option<Value> {
    json_at(addr, "/state")
}

/// The JSON served at `path` of `addr` (HOST:PORT), if it answers 200
/// (redirects not followed).
#[allow(dead_code)] // not every test binary reads other documents
pub fn json_at(addr: &str, path: &str) -> Option<Value> {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(2))
        .build();
    let resp = agent.get(&format!("http://{addr}{path}")).call().ok()?;
    if resp.status() != 200 {
        return None;
    }
    resp.into_json().ok()
}

/// The status and `Location` header of `GET path` at `addr` (HOST:PORT),
/// redirects not followed; None if nothing answered.
pub fn answer_at(addr: &str, path: &str) -> Option<(u16, Option<String>)> {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(2))
        .build();
    let resp = match agent.get(&format!("http://{addr}{path}")).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    Some((resp.status(), resp.header("location").map(str::to_owned)))
}

/// The (id, agent id) of each task a master's state shows running, sorted.
pub fn running_tasks(state: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = tasks(state)
        .filter(|t| t["state"] == "TASK_RUNNING")
        .map(|t| (text(&t["id"]), text(&t["agent_id"])))
        .collect();
    out.sort();
    out
}

/// How many agents a master's state shows.
pub fn agents_of(state: &Value) -> usize {
    state["agents"].as_array().map_or(0, Vec::len)
}

/// How many frameworks a master's state shows.
pub fn frameworks_of(state: &Value) -> usize {
    state["frameworks"].as_array().map_or(0, Vec::len)
}

/// The state of task `id` in a master's state.
pub fn task_state(state: &Value, id: &str) -> Option<String> {
    tasks(state)
        .find(|t| t["id"] == id)
        .and_then(|t| t["state"].as_str())
        .map(str::to_owned)
}

fn tasks(state: &Value) -> impl Iterator<Item = &Value> {
    state["tasks"].as_array().into_iter().flatten()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
