//! A replicated group of `corral master` processes: started, found
//! leading, killed.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::procs::{free_tcp_port, free_udp_port, Proc};
use super::state::state_at;

/// `corral master --masters ...` processes, each logging to `master{i}.log`
/// with its work dir `master{i}` under the test's directory.
pub struct Masters {
    procs: Vec<Option<Proc>>,
    quic: Vec<SocketAddr>,
    http: Vec<SocketAddr>,
    /// Whether `--port` and `--http-port` are given (else the defaults).
    ports_given: bool,
    extra: Vec<String>,
    dir: PathBuf,
}

impl Masters {
    /// `n` masters on free ports of 127.0.0.1, each also given `extra`.
    pub fn on_free_ports(n: usize, dir: &Path, extra: &[&str]) -> Masters {
        let at = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let quic = (0..n).map(|_| at(free_udp_port())).collect();
        let http = (0..n).map(|_| at(free_tcp_port())).collect();
        Masters::start(quic, http, true, dir, extra)
    }

    /// One master on each of `ips` with every flag but `--ip`, `--masters`
    /// and `--work-dir` left at its default (Mesos's port 5050).
    pub fn on_ips(ips: &[IpAddr], dir: &Path) -> Masters {
        let quic: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, 5050)).collect();
        Masters::start(quic.clone(), quic, false, dir, &[])
    }

    fn start(
        quic: Vec<SocketAddr>,
        http: Vec<SocketAddr>,
        ports_given: bool,
        dir: &Path,
        extra: &[&str],
    ) -> Masters {
        let mut m = Masters {
            procs: Vec::new(),
            quic,
            http,
            ports_given,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            dir: dir.to_owned(),
        };
        for i in 0..m.quic.len() {
            let p = m.spawn(i);
            m.procs.push(Some(p));
        }
        m
    }

    /// The group as `--masters` takes it.
    pub fn group(&self) -> String {
        let addrs: Vec<String> = self.quic.iter().map(ToString::to_string).collect();
        addrs.join(",")
    }

    /// Every master's HTTP URL, as `corral kill --master` takes them.
    pub fn http_list(&self) -> String {
        let urls: Vec<String> = self.http.iter().map(|a| format!("http://{a}")).collect();
        urls.join(",")
    }

    /// Master `i`'s HTTP address, HOST:PORT.
    pub fn http(&self, i: usize) -> String {
        self.http[i].to_string()
    }

    /// Starts master `i` (again, on its work dir).
    pub fn spawn(&self, i: usize) -> Proc {
        let ip = self.quic[i].ip().to_string();
        let work = self.dir.join(format!("master{i}"));
        let work = work.to_string_lossy().into_owned();
        let mut args = vec!["master".to_owned(), "--ip".to_owned(), ip];
        if self.ports_given {
            args.extend([
                "--port".to_owned(),
                self.quic[i].port().to_string(),
                "--http-port".to_owned(),
                self.http[i].port().to_string(),
            ]);
        }
        args.extend(["--masters".to_owned(), self.group()]);
        args.extend(["--work-dir".to_owned(), work]);
        args.extend(self.extra.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Proc::spawn(&format!("master{i}"), &self.dir, &args)
    }

    /// The index of the live master whose `/state` answers 200 (the
    /// leader).
    pub fn leader(&self) -> Option<usize> {
        (0..self.http.len()).find(|&i| self.procs[i].is_some() && self.state(i).is_some())
    }

    /// Master `i`'s `/state`, if it leads.
    pub fn state(&self, i: usize) -> Option<Value> {
        state_at(&self.http(i))
    }

    /// SIGKILLs master `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut p) = self.procs[i].take() {
            p.sigkill();
        }
    }
}
