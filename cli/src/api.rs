//! The master's and agents' HTTP APIs as the CLI reads them: `/state`, the
//! sandbox file reads and the operator kill.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use corral_api::auth::Credential;
use corral_runtime::node::tls::https_client_config;
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

/// Amounts summed over agents, as `/state` shows them (ports counted).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Amounts {
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
    pub ports: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Agent {
    pub id: String,
    pub hostname: String,
    /// `agent@ip:port`.
    #[serde(default)]
    pub pid: String,
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
    pub used: Amounts,
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
    pub total: Amounts,
    pub used: Amounts,
    pub offered: Amounts,
    /// What unreachable agents have (in none of the above); absent from
    /// older masters.
    #[serde(default)]
    pub unreachable: Amounts,
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

/// A client of the masters' HTTP API. Given several masters it asks them
/// in order until one answers: a master that does not lead answers 307
/// with the leader's URL (followed once, whatever the method), or 503 when
/// no leader is known yet (then the next master is asked), as is one that
/// cannot be reached. Any other answer, success or refusal, is the answer.
pub struct Master {
    bases: Vec<String>,
    agent: ureq::Agent,
    /// For the agents' sandbox files, which follows redirects.
    files: ureq::Agent,
    /// Sent with every request (to masters and agents): a credential as
    /// HTTP Basic, or a bearer token.
    authorization: Option<String>,
}

/// A client trusting `tls` for HTTPS (ureq's built-in public roots when
/// none).
fn client(tls: Option<&Arc<rustls::ClientConfig>>) -> ureq::AgentBuilder {
    let builder = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(30));
    match tls {
        Some(tls) => builder.tls_config(tls.clone()),
        None => builder,
    }
}

/// A client that returns redirects instead of following them: ureq 2
/// follows a 307 for GET but returns it for POST, and the kill must reach
/// the leader too, so [`Master`] follows both itself.
fn master_client(tls: Option<&Arc<rustls::ClientConfig>>) -> ureq::Agent {
    client(tls).redirects(0).build()
}

/// Turns ureq's errors into one plain sentence.
fn plain(url: &str, e: ureq::Error) -> anyhow::Error {
    match e {
        ureq::Error::Status(code, response) => {
            let body = response.into_string().unwrap_or_default();
            anyhow!("{url} answered {code}: {}", body.trim())
        }
        ureq::Error::Transport(t) => match untrusted_certificate(&t) {
            Some(e) => anyhow!(
                "{url} showed a certificate this client does not trust ({e}); {}",
                certificate_fix(&e)
            ),
            None => {
                let reason = transport_reason(&t);
                if url.starts_with("http://") && answered_in_tls(&reason) {
                    anyhow!(
                        "{url} answered in TLS, not plain HTTP: it serves HTTPS; ask for \
                         https://HOST:PORT, or give the cluster CA with --tls-ca"
                    )
                } else {
                    anyhow!("cannot reach {url}: {reason}")
                }
            }
        },
    }
}

/// What the operator can do about a certificate the CLI refused.
fn certificate_fix(e: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as E;
    match e {
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "ask by a name or IP the certificate carries, or issue the node one with \
             `corral certs node --san`"
        }
        E::UnknownIssuer | E::BadSignature => "give the cluster CA with --tls-ca or CORRAL_TLS_CA",
        _ => "check the node's certificate and the CA given with --tls-ca",
    }
}

/// Whether a plain HTTP request failed on a TLS answer: a TLS server sends
/// an alert record (type 21, version 3.x) to bytes that are not a
/// handshake, which ureq quotes as the header line it could not read.
fn answered_in_tls(reason: &str) -> bool {
    reason.contains("[21, 3, ")
}

/// The TLS refusal of the server's certificate behind a failed request, if
/// that is why it failed: what an operator must fix is the CA the CLI
/// trusts, not the network.
fn untrusted_certificate(t: &ureq::Transport) -> Option<rustls::CertificateError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(c) = cause {
        // rustls reports through the stream as an io::Error wrapping its
        // own, which io::Error does not give as a source.
        let inner = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|e| e.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(e)) = inner {
            return Some(e.clone());
        }
        cause = c.source();
    }
    None
}

/// Why a request did not get through, once: the innermost cause (e.g.
/// "Connection refused (os error 111)"), as ureq's own text repeats the URL
/// and wraps the cause twice.
fn transport_reason(t: &ureq::Transport) -> String {
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(t);
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    innermost
        .or_else(|| t.message().map(str::to_owned))
        .unwrap_or_else(|| t.kind().to_string())
}

/// How one master's answer (after at most one redirect) turned out.
enum Outcome {
    /// The answer, to return (a success or a refusal from the leader);
    /// boxed, as a response is large.
    Answer(Result<Box<ureq::Response>>),
    /// This master could not answer: ask the next one. Says why.
    Next(String),
}

/// The URL a redirect's `Location` names, from the URL that was asked:
/// absolute http(s) URLs as they are, absolute paths on the same origin.
fn redirect_target(asked: &str, location: &str) -> Option<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_owned());
    }
    if !location.starts_with('/') {
        return None;
    }
    let after_scheme = asked.find("://")? + 3;
    let origin_end = asked[after_scheme..]
        .find('/')
        .map_or(asked.len(), |i| after_scheme + i);
    Some(format!("{}{location}", &asked[..origin_end]))
}

/// Whether a master answering `code` leaves the question to the next one:
/// it knows no leader (503) or fails (other 5xx).
fn try_next(code: u16) -> bool {
    (500..600).contains(&code)
}

impl Master {
    /// A client of the masters at `list` trusting no cluster CA.
    #[cfg(test)]
    pub fn new(list: &str) -> Result<Master> {
        Master::trusting(list, None)
    }

    /// A client of the masters at `list`: `HOST:PORT` (their HTTP port),
    /// `http://HOST:PORT` or `https://HOST:PORT`, several separated by
    /// commas, trusting the cluster CA in the PEM file `ca` for HTTPS.
    /// With a CA, a bare `HOST:PORT` means HTTPS: a cluster whose CA the
    /// operator holds serves its HTTP ports with TLS (docs/security.md).
    pub fn trusting(list: &str, ca: Option<&Path>) -> Result<Master> {
        let scheme = if ca.is_some() { "https" } else { "http" };
        let bases = crate::flags::split_list(list)
            .with_context(|| format!("bad --master '{list}'"))?
            .into_iter()
            .map(|addr| {
                if addr.starts_with("http://") || addr.starts_with("https://") {
                    addr.trim_end_matches('/').to_owned()
                } else {
                    format!("{scheme}://{addr}")
                }
            })
            .collect();
        let tls = match ca {
            Some(ca) => {
                Some(Arc::new(https_client_config(ca).with_context(|| {
                    format!("cannot use --tls-ca {}", ca.display())
                })?))
            }
            None => None,
        };
        Ok(Master {
            bases,
            agent: master_client(tls.as_ref()),
            files: client(tls.as_ref()).build(),
            authorization: None,
        })
    }

    /// This client, proving `credential` to masters and agents that
    /// authenticate HTTP calls.
    pub fn with_credential(mut self, credential: Option<Credential>) -> Master {
        if let Some(c) = credential {
            self.authorization = Some(c.basic_header());
        }
        self
    }

    /// This client, proving the principal of bearer `token` (`corral
    /// token`) to masters and agents that authenticate HTTP calls.
    pub fn with_token(mut self, token: Option<&str>) -> Master {
        if let Some(t) = token {
            self.authorization = Some(format!("Bearer {}", t.trim()));
        }
        self
    }

    /// `request` with the credential or token, if any.
    fn authorized(&self, request: ureq::Request) -> ureq::Request {
        match &self.authorization {
            Some(a) => request.set("Authorization", a),
            None => request,
        }
    }

    /// Sends `method` to `path` on each master in turn until one answers.
    fn call(&self, method: &str, path: &str) -> Result<ureq::Response> {
        let mut why = Vec::new();
        for base in &self.bases {
            match self.ask(method, &format!("{base}{path}")) {
                Outcome::Answer(answer) => return answer.map(|r| *r),
                Outcome::Next(reason) => why.push(reason),
            }
        }
        match why.as_slice() {
            [one] => bail!("{one}"),
            all => bail!("no master answered: {}", all.join("; ")),
        }
    }

    /// A request; a POST says it is JSON, as the master takes
    /// state-changing calls only so (a guard against cross-site forms).
    fn request(&self, method: &str, url: &str) -> ureq::Request {
        let request = self.authorized(self.agent.request(method, url));
        match method {
            "POST" => request.set("Content-Type", "application/json"),
            _ => request,
        }
    }

    /// One master's answer, following one redirect to the leader.
    fn ask(&self, method: &str, url: &str) -> Outcome {
        let response = match self.request(method, url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r)) if try_next(code) => {
                return Outcome::Next(plain(url, ureq::Error::Status(code, r)).to_string())
            }
            Err(ureq::Error::Status(code, r)) => {
                return Outcome::Answer(Err(plain(url, ureq::Error::Status(code, r))))
            }
            Err(e) => return Outcome::Next(plain(url, e).to_string()),
        };
        if !matches!(response.status(), 307 | 308) {
            return match response.status() {
                200..=299 => Outcome::Answer(Ok(Box::new(response))),
                code => Outcome::Next(format!(
                    "{url} answered {code}, neither an answer nor a redirect"
                )),
            };
        }
        let Some(leader) = response
            .header("location")
            .and_then(|l| redirect_target(url, l))
        else {
            return Outcome::Next(format!("{url} redirected to no usable Location"));
        };
        match self.request(method, &leader).call() {
            Ok(r) if (200..300).contains(&r.status()) => Outcome::Answer(Ok(Box::new(r))),
            Ok(r) => Outcome::Next(format!(
                "{url} redirected to {leader}, which answered {} (one redirect is followed)",
                r.status()
            )),
            Err(ureq::Error::Status(code, r)) if !try_next(code) => {
                Outcome::Answer(Err(plain(&leader, ureq::Error::Status(code, r))))
            }
            Err(e) => Outcome::Next(format!("{url} redirected: {}", plain(&leader, e))),
        }
    }

    /// The raw `/state` JSON.
    pub fn state_json(&self) -> Result<serde_json::Value> {
        let response = self.call("GET", "/state")?;
        let url = response.get_url().to_owned();
        response
            .into_json()
            .with_context(|| format!("{url} did not answer JSON"))
    }

    /// `/state`, parsed.
    pub fn state(&self) -> Result<State> {
        serde_json::from_value(self.state_json()?)
            .context("the master's /state has an unexpected shape")
    }

    /// Asks the leading master to kill a task as an operator.
    pub fn kill(&self, framework_id: &str, task_id: &str) -> Result<()> {
        self.call("POST", &format!("/tasks/{framework_id}/{task_id}/kill"))?;
        Ok(())
    }

    /// Reads `length` bytes of `path` (relative to the agent's work dir)
    /// from `offset`, from the agent at `agent_http`.
    pub fn read_file(
        &self,
        agent_http: &str,
        path: &str,
        offset: u64,
        length: u64,
    ) -> Result<Chunk> {
        let url = format!("{}/files/read", agent_http.trim_end_matches('/'));
        let response = self
            .authorized(self.files.get(&url))
            .query("path", path)
            .query("offset", &offset.to_string())
            .query("length", &length.to_string())
            .call()
            .map_err(|e| plain(&url, e))?;
        response
            .into_json()
            .with_context(|| format!("{url} did not answer JSON"))
    }
}

/// A chunk of a sandbox file, from an agent's `/files/read`.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    pub data: String,
    pub offset: u64,
}

/// The task with this id: the only one, or else the only live one (an id
/// may repeat across frameworks, as `corral execute` names its tasks alike
/// in every job and removed frameworks' tasks stay listed; when that does
/// not settle it the caller must say which framework).
pub fn find_task<'a>(state: &'a State, task_id: &str, framework: Option<&str>) -> Result<&'a Task> {
    let matches: Vec<&Task> = state
        .tasks
        .iter()
        .filter(|t| t.id == task_id && framework.is_none_or(|f| t.framework_id == f))
        .collect();
    let live: Vec<&Task> = matches
        .iter()
        .copied()
        .filter(|t| !has_ended(&t.state))
        .collect();
    if let ([_, _, ..], [one]) = (matches.as_slice(), live.as_slice()) {
        return Ok(one);
    }
    match matches.as_slice() {
        [one] => Ok(one),
        [] => bail!("no task '{task_id}' on this cluster"),
        several => {
            let frameworks: Vec<&str> = several.iter().map(|t| t.framework_id.as_str()).collect();
            bail!(
                "task id '{task_id}' is used by several frameworks ({}); say which with --framework",
                frameworks.join(", ")
            )
        }
    }
}

/// Whether a task in `state` (Mesos's name) has ended for good.
pub fn has_ended(state: &str) -> bool {
    matches!(
        state,
        "TASK_FINISHED"
            | "TASK_FAILED"
            | "TASK_KILLED"
            | "TASK_ERROR"
            | "TASK_DROPPED"
            | "TASK_GONE"
            | "TASK_GONE_BY_OPERATOR"
            | "TASK_LOST"
    )
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
