//! `GET /monitor/statistics`: what each running executor uses, Mesos's
//! shape, measured from `/proc`.
//!
//! Every executor runs as the leader of its own process group with its
//! sandbox as working directory (`corral_runtime`'s process host), so its
//! processes are found without the agent's actor: the group leaders whose
//! `cwd` is the sandbox, everything in their groups and every descendant
//! (a task started in a group of its own still has the executor as
//! ancestor). CPU times are those processes' own and their reaped
//! children's, from `/proc/PID/stat`; memory is the sum of their `VmRSS`.
//!
//! A Docker task's processes are the Docker daemon's children, not its
//! executor's: its container is measured instead, by the daemon from the
//! container's cgroup (`corral_executor::docker::host::sandbox_usage`),
//! which also gives `mem_total_bytes` (page cache included) but no thread
//! count.
//!
//! What is not measured is left out rather than written 0: throttling,
//! disk and network statistics always, and every measured field of an
//! executor whose processes (or container) are not found — it is just
//! starting or has ended, runs as a user whose `/proc` entries the agent
//! cannot read, or the Docker daemon does not answer. Such an entry has its
//! limits only.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use crate::state::AgentSnapshot;
use corral_api::resources::Resources;
use corral_api::task::TaskState;

/// One executor's entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutorStatistics {
    /// Its id.
    pub executor_id: String,
    /// Its name (its id: the agent keeps no other).
    pub executor_name: String,
    /// Its framework.
    pub framework_id: String,
    /// Its `source` (empty: the agent keeps none).
    pub source: String,
    /// What it uses and may use.
    pub statistics: Statistics,
}

/// Mesos's `ResourceStatistics`, the fields measured here.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statistics {
    /// When it was measured, seconds since the epoch.
    pub timestamp: f64,
    /// CPUs its tasks were given.
    pub cpus_limit: f64,
    /// Memory its tasks were given, bytes.
    pub mem_limit_bytes: u64,
    /// CPU time in user mode, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus_user_time_secs: Option<f64>,
    /// CPU time in the kernel, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus_system_time_secs: Option<f64>,
    /// Resident memory, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_rss_bytes: Option<u64>,
    /// All memory charged to its container, page cache included, bytes
    /// (Docker tasks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_total_bytes: Option<u64>,
    /// How many processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processes: Option<u32>,
    /// How many threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
}

/// A process, from its `/proc/PID/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proc {
    /// Its id.
    pub pid: u32,
    /// Its parent's.
    pub ppid: u32,
    /// Its process group's.
    pub pgrp: u32,
    /// Its user time and that of its reaped children, clock ticks.
    pub user_ticks: u64,
    /// Its system time and that of its reaped children, clock ticks.
    pub system_ticks: u64,
    /// Its threads.
    pub threads: u32,
}

/// A process from the text of its `/proc/PID/stat`, None if it does not
/// parse. The name, in parentheses, may hold spaces and parentheses: the
/// fields start after the last `)`.
pub fn parse_stat(text: &str) -> Option<Proc> {
    let (head, rest) = text.rsplit_once(')')?;
    let pid = head.split_once(" (")?.0.trim().parse().ok()?;
    // Fields from the state on: 0 state, 1 ppid, 2 pgrp, 11 utime,
    // 12 stime, 13 cutime, 14 cstime, 17 num_threads (proc(5), from 3).
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(Proc {
        pid,
        ppid: u32::try_from(num(1)?).ok()?,
        pgrp: u32::try_from(num(2)?).ok()?,
        user_ticks: num(11)? + num(13)?,
        system_ticks: num(12)? + num(14)?,
        threads: u32::try_from(num(17)?).ok()?,
    })
}

/// `VmRSS` of a `/proc/PID/status` text, bytes; None when absent (a
/// zombie, a kernel thread).
pub fn parse_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The processes of the groups led by `leaders`, and every descendant of
/// them, as indexes into `procs`.
pub fn members(procs: &[Proc], leaders: &[u32]) -> Vec<usize> {
    let mut children: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, p) in procs.iter().enumerate() {
        children.entry(p.ppid).or_default().push(i);
    }
    let mut seen = BTreeSet::new();
    let mut todo: Vec<usize> = procs
        .iter()
        .enumerate()
        .filter(|(_, p)| leaders.contains(&p.pgrp))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = todo.pop() {
        if seen.insert(i) {
            todo.extend(children.get(&procs[i].pid).into_iter().flatten());
        }
    }
    seen.into_iter().collect()
}

/// One live executor, from the agent's snapshot.
struct Executor<'a> {
    /// Its sandbox (its first task's: an executor's tasks share it).
    sandbox: &'a str,
    /// What its live tasks were given.
    given: Resources,
    /// Whether a task of it runs in a Docker container.
    in_container: bool,
}

/// The live executors of `s`, by framework and executor id.
fn executors(s: &AgentSnapshot) -> BTreeMap<(&str, &str), Executor<'_>> {
    let mut out: BTreeMap<(&str, &str), Executor<'_>> = BTreeMap::new();
    let live = s
        .tasks
        .iter()
        .filter(|t| !t.state.is_terminal() && t.state != TaskState::Lost);
    for t in live {
        let e = out
            .entry((t.framework_id.0.as_str(), t.executor_id.as_str()))
            .or_insert_with(|| Executor {
                sandbox: &t.sandbox,
                given: Resources::empty(),
                in_container: false,
            });
        e.given = e.given.plus(&t.resources);
        e.in_container |= t.in_container;
    }
    out
}

/// The running processes, as `/proc` lists them now (those that end while
/// it is read are left out).
fn processes() -> Vec<Proc> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|text| parse_stat(&text))
        .collect()
}

/// Clock ticks per second, the unit of `/proc/PID/stat`'s times.
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf reads a constant and touches no memory of ours.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0 // USER_HZ on every Linux that has /proc
    }
}

/// The process group leaders by working directory (those whose
/// directory the agent may not read are left out).
fn leaders_by_cwd(procs: &[Proc]) -> BTreeMap<PathBuf, Vec<u32>> {
    let mut out: BTreeMap<PathBuf, Vec<u32>> = BTreeMap::new();
    for p in procs.iter().filter(|p| p.pid == p.pgrp) {
        if let Ok(cwd) = fs::read_link(format!("/proc/{}/cwd", p.pid)) {
            out.entry(cwd).or_default().push(p.pid);
        }
    }
    out
}

/// What the processes of the groups `leaders` lead, and their
/// descendants, use.
fn measure(procs: &[Proc], leaders: &[u32], ticks_per_sec: f64) -> Measured {
    let (mut user, mut system, mut rss_bytes, mut processes, mut threads) = (0, 0, 0, 0, 0);
    for i in members(procs, leaders) {
        let p = &procs[i];
        user += p.user_ticks;
        system += p.system_ticks;
        threads += p.threads;
        processes += 1;
        rss_bytes += fs::read_to_string(format!("/proc/{}/status", p.pid))
            .ok()
            .and_then(|s| parse_rss_bytes(&s))
            .unwrap_or(0);
    }
    Measured {
        user_secs: Some(user as f64 / ticks_per_sec),
        system_secs: Some(system as f64 / ticks_per_sec),
        rss_bytes: Some(rss_bytes),
        total_bytes: None,
        processes: Some(processes),
        threads: Some(threads),
    }
}

/// What the Docker container of the task in `sandbox` uses, None if the
/// daemon does not say. Once the daemon has failed, `docker_failed` is set
/// and later containers of the same request are not asked for, so a
/// daemon that is down costs one timeout, not one per container.
fn measure_container(sandbox: &str, docker_failed: &mut bool) -> Option<Measured> {
    if *docker_failed {
        return None;
    }
    let usage = match corral_executor::docker::host::sandbox_usage(sandbox) {
        Ok(usage) => usage?,
        Err(e) => {
            tracing::debug!(sandbox, error = %e, "cannot measure a container");
            *docker_failed = true;
            return None;
        }
    };
    Some(Measured {
        user_secs: usage.user_secs,
        system_secs: usage.system_secs,
        rss_bytes: usage.rss_bytes,
        total_bytes: usage.total_bytes,
        processes: usage.processes.and_then(|n| u32::try_from(n).ok()),
        threads: None,
    })
}

/// What an executor uses, each as far as it was measured.
#[derive(Default)]
struct Measured {
    user_secs: Option<f64>,
    system_secs: Option<f64>,
    rss_bytes: Option<u64>,
    total_bytes: Option<u64>,
    processes: Option<u32>,
    threads: Option<u32>,
}

/// `GET /monitor/statistics`: an entry for each live executor of `s`, at
/// `now_secs` (seconds since the epoch).
pub fn statistics(s: &AgentSnapshot, now_secs: f64) -> Vec<ExecutorStatistics> {
    let procs = processes();
    let leaders = leaders_by_cwd(&procs);
    let ticks = ticks_per_sec();
    let mut docker_failed = false;
    executors(s)
        .into_iter()
        .map(|((framework_id, executor_id), e)| {
            let m = if e.in_container {
                measure_container(e.sandbox, &mut docker_failed)
            } else {
                let sandbox = PathBuf::from(e.sandbox);
                let sandbox = fs::canonicalize(&sandbox).unwrap_or(sandbox);
                leaders.get(&sandbox).map(|l| measure(&procs, l, ticks))
            }
            .unwrap_or_default();
            ExecutorStatistics {
                executor_id: executor_id.to_owned(),
                executor_name: executor_id.to_owned(),
                framework_id: framework_id.to_owned(),
                source: String::new(),
                statistics: Statistics {
                    timestamp: now_secs,
                    cpus_limit: e.given.get("cpus"),
                    mem_limit_bytes: (e.given.get("mem") * 1024.0 * 1024.0) as u64,
                    cpus_user_time_secs: m.user_secs,
                    cpus_system_time_secs: m.system_secs,
                    mem_rss_bytes: m.rss_bytes,
                    mem_total_bytes: m.total_bytes,
                    processes: m.processes,
                    threads: m.threads,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TaskSummary;

    #[test]
    fn stat_lines_parse_whatever_the_name() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 30 7 3 20 0 3 0 12345 1000000 200 18446744073709551615";
        let p = parse_stat(line).expect("parses");
        assert_eq!(
            p,
            Proc {
                pid: 4242,
                ppid: 1,
                pgrp: 4242,
                user_ticks: 257,
                system_ticks: 33,
                threads: 3,
            }
        );
        assert_eq!(parse_stat("nonsense"), None);
        assert_eq!(parse_stat("1 (x) S 0"), None, "cut short");
    }

    #[test]
    fn rss_is_read_in_bytes() {
        let status = "Name:\tsleep\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_rss_bytes(status), Some(1234 * 1024));
        assert_eq!(parse_rss_bytes("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn members_are_the_groups_and_their_descendants() {
        let p = |pid, ppid, pgrp| Proc {
            pid,
            ppid,
            pgrp,
            user_ticks: 0,
            system_ticks: 0,
            threads: 1,
        };
        let procs = [
            p(10, 1, 10),  // the executor, leading its group
            p(11, 10, 11), // its task, in a group of its own
            p(12, 11, 11), // the task's child
            p(13, 1, 10),  // in the group, re-parented to init
            p(20, 1, 20),  // another executor
            p(21, 20, 20),
        ];
        let pids = |leaders: &[u32]| -> Vec<u32> {
            members(&procs, leaders)
                .into_iter()
                .map(|i| procs[i].pid)
                .collect()
        };
        assert_eq!(pids(&[10]), vec![10, 11, 12, 13]);
        assert_eq!(pids(&[20]), vec![20, 21]);
        assert!(pids(&[99]).is_empty());
    }

    #[test]
    fn this_process_is_measured() {
        // The test binary leads no group of its own, but its own stat
        // parses and its memory is there.
        let me = std::process::id();
        let stat = fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let p = parse_stat(&stat).unwrap();
        assert_eq!(p.pid, me);
        assert!(p.threads >= 1);
        let status = fs::read_to_string(format!("/proc/{me}/status")).unwrap();
        assert!(parse_rss_bytes(&status).unwrap() > 0);
        assert!(ticks_per_sec() > 0.0);
    }

    /// A task of executor `executor` in state `state` with `resources`.
    fn task(id: &str, executor: &str, state: TaskState, resources: &str) -> TaskSummary {
        use corral_api::ids::{FrameworkId, TaskId};
        TaskSummary {
            framework_id: FrameworkId("fw".into()),
            task_id: TaskId(id.into()),
            name: id.into(),
            state,
            resources: resources.parse().unwrap(),
            sandbox: format!("/w/frameworks/fw/executors/{executor}"),
            executor_connected: true,
            executor_id: executor.into(),
            framework: corral_api::framework::FrameworkInfo::new("f", "*"),
            in_container: false,
        }
    }

    #[test]
    fn limits_are_the_sums_of_live_tasks() {
        let snapshot = AgentSnapshot {
            id: None,
            hostname: "h".into(),
            pid: "agent@127.0.0.1:1".into(),
            master: "master@127.0.0.1:2".into(),
            registered: true,
            resources: "cpus:4;mem:1024".parse().unwrap(),
            used: Resources::empty(),
            work_dir: "/w".into(),
            attributes: String::new(),
            tasks: vec![
                task("a", "e", TaskState::Running, "cpus:0.5;mem:64"),
                task("b", "e", TaskState::Staging, "cpus:0.25;mem:32"),
                task("c", "e", TaskState::Finished, "cpus:1;mem:512"),
                task("d", "gone", TaskState::Lost, "cpus:1;mem:512"),
            ],
            completed: vec![],
            pending_updates: 0,
        };
        let all = executors(&snapshot);
        assert_eq!(all.len(), 1, "ended tasks' executors are not listed");
        let e = &all[&("fw", "e")];
        assert_eq!(e.given.get("cpus"), 0.75);
        assert_eq!(e.given.get("mem"), 96.0);
        assert_eq!(e.sandbox, "/w/frameworks/fw/executors/e");
        // Nothing runs in /w here: the limits alone are written.
        let stats = statistics(&snapshot, 1.5);
        assert_eq!(stats.len(), 1);
        let v = serde_json::to_value(&stats[0]).unwrap();
        assert_eq!(
            v["statistics"],
            serde_json::json!({"timestamp": 1.5, "cpus_limit": 0.75, "mem_limit_bytes": 96 * 1024 * 1024})
        );
    }
}
