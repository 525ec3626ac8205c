//! Container tasks end to end, with real Docker: a local cluster whose
//! agents offer the docker containerizer, tasks in containers of the test
//! image `corral/busybox:test` (built without a registry by
//! `scripts/build-test-image.sh`, run once per test binary).
//!
//! These tests need a Docker daemon. Without one they fail, saying so; they
//! never pass silently.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::sync::OnceLock;
use std::time::Duration;

use common::http::get;
use common::{clock, cluster, eventually, res, Call, ProbeHandle, Seen};
use corral_agent::Containerizer;
use corral_api::container::{ContainerInfo, NetworkMode, PortMapping, PortProtocol};
use corral_api::framework::{Accept, FrameworkInfo, Kill, Operation};
use corral_api::ids::{OfferId, TaskId};
use corral_api::resources::RangeSet;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, TaskState, TaskStatus};
use corral_examples::local::{start_framework, LocalConfig};
use corral_examples::service::{Service, ServiceConfig, ServiceEvent};
use corral_executor::container::labels;
use corral_executor::docker::host;
use corral_scheduler::fit::ContainerTemplate;

/// The test image.
const IMAGE: &str = "corral/busybox:test";

/// Builds the test image once per test binary, or fails the test saying
/// why (no Docker, no daemon, no apt-get).
fn require_docker() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        host::probe(host::PROBE_TIMEOUT).map_err(|e| {
            format!("Docker is not available on this machine ({e}); these tests need it")
        })?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-test-image.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg(IMAGE)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    });
    if let Err(why) = ready {
        panic!("{why}");
    }
}

/// Removes every container of the test's agents when dropped, passed or
/// failed.
struct Cleanup {
    work_dirs: Vec<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for dir in &self.work_dirs {
            let _ = host::remove_orphans(dir);
        }
    }
}

/// A cluster of `agents` agents offering docker and process (kill grace
/// 1 s), Docker checked first; `tune` adjusts it further.
fn docker_cluster(
    test: &str,
    agents: usize,
    resources: &str,
    tune: impl FnOnce(&mut LocalConfig),
) -> (corral_examples::local::LocalCluster, Cleanup) {
    require_docker();
    let base = common::work_dir(test);
    let cleanup = Cleanup {
        work_dirs: (0..agents)
            .map(|i| base.join(format!("agent-{i}")))
            .collect(),
    };
    let c = cluster(test, agents, resources, |cfg| {
        cfg.tune_agent = |a| {
            a.containerizers = vec![Containerizer::Docker, Containerizer::Process];
            a.kill_grace = Duration::from_secs(1);
        };
        tune(cfg);
    });
    (c, cleanup)
}

fn container_task(id: &str, command: &str, resources: &str, info: ContainerInfo) -> TaskInfo {
    TaskInfo {
        task_id: TaskId(id.to_owned()),
        name: id.to_owned(),
        command: command.to_owned(),
        env: vec![("GREETING".to_owned(), "hello".to_owned())],
        resources: res(resources),
        container: Some(info),
        executor: None,
    }
}

fn launch(p: &ProbeHandle, offer: &OfferId, task: TaskInfo) {
    p.call(Call::Accept(Accept {
        offer_ids: vec![offer.clone()],
        operations: vec![Operation::Launch(vec![task])],
        refuse: Some(Duration::ZERO),
    }));
}

fn states(updates: &[TaskStatus]) -> Vec<TaskState> {
    updates.iter().map(|u| u.state).collect()
}

/// Containers of `task` under `work_dir` (the test's own agents only).
fn containers_of(work_dir: &Path, task: &str) -> Vec<String> {
    let dir = work_dir.to_string_lossy().into_owned();
    let of_agent =
        host::containers_labelled(labels::WORK_DIR, &dir).expect("docker lists containers");
    let of_task =
        host::containers_labelled(labels::TASK_ID, task).expect("docker lists containers");
    of_agent
        .into_iter()
        .filter(|n| of_task.contains(n))
        .collect()
}

fn sandbox(c: &Cleanup, agent: usize, framework: &str, task: &str) -> PathBuf {
    c.work_dirs[agent]
        .join("frameworks")
        .join(framework)
        .join("tasks")
        .join(task)
}

/// Waits until `task` has a RUNNING update (returns the updates seen).
fn until_running(p: &ProbeHandle, task: &str) -> Vec<TaskStatus> {
    let mut seen = Vec::new();
    loop {
        let u = p.update_of(task);
        let state = u.state;
        seen.push(u);
        assert!(
            !state.is_terminal(),
            "{task} ended before running: {seen:?}"
        );
        if state == TaskState::Running {
            return seen;
        }
    }
}

#[test]
fn a_container_task_runs_and_finishes_with_its_output_in_the_sandbox() {
    let (c, cleanup) = docker_cluster("d-finish", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    let fw = p.subscribe(FrameworkInfo::new("d-finish", "*"));
    let offer = p.next_offers().remove(0);
    let command = "echo $GREETING from $MESOS_TASK_ID in $(pwd); echo oops >&2";
    launch(
        &p,
        &offer.id,
        container_task(
            "c1",
            command,
            "cpus:0.5;mem:64",
            ContainerInfo::docker(IMAGE),
        ),
    );
    let updates = p.updates_until_end("c1");
    assert_eq!(
        states(&updates),
        [TaskState::Starting, TaskState::Running, TaskState::Finished],
        "{updates:?}"
    );
    let end = updates.last().expect("an update");
    assert_eq!(end.message, "Container exited with status 0");
    let dir = sandbox(&cleanup, 0, &fw.0, "c1");
    let stdout = std::fs::read_to_string(dir.join("stdout")).expect("stdout in the sandbox");
    assert!(
        stdout.contains("hello from c1 in /mnt/mesos/sandbox"),
        "stdout: {stdout:?}"
    );
    let stderr = std::fs::read_to_string(dir.join("stderr")).expect("stderr in the sandbox");
    assert!(stderr.contains("oops"), "stderr: {stderr:?}");
    assert_eq!(
        containers_of(&cleanup.work_dirs[0], "c1"),
        Vec::<String>::new()
    );
}

#[test]
fn a_container_over_its_memory_limit_is_oom_killed_and_fails_saying_so() {
    let (c, _cleanup) = docker_cluster("d-oom", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-oom", "*"));
    let offer = p.next_offers().remove(0);
    // `tail` keeps its whole (newline-free) input in memory: 100 MB > 32 MB.
    let command = "head -c 100m /dev/zero | tail";
    launch(
        &p,
        &offer.id,
        container_task(
            "oom",
            command,
            "cpus:0.5;mem:32",
            ContainerInfo::docker(IMAGE),
        ),
    );
    // The kernel's OOM kill itself takes from under a second to about 20 s
    // here (cgroup v1 reclaims before it kills; `docker run -m 32m` of the
    // same command alone took 0.4 s to 16 s): wait for the end that long.
    let end = p
        .next_within(
            Duration::from_secs(120),
            |s| matches!(s, Seen::Update(u) if u.task_id.0 == "oom" && u.state.is_terminal()),
        )
        .expect("the container's end within 120 s");
    let Seen::Update(end) = end else {
        unreachable!("only an update is accepted")
    };
    assert_eq!(end.state, TaskState::Failed, "{end:?}");
    assert_eq!(
        end.reason,
        Some(StatusReason::ContainerMemoryLimit),
        "{end:?}"
    );
    assert!(end.message.contains("OOM"), "{}", end.message);
}

#[test]
fn kill_gives_killed_and_the_container_is_gone() {
    let (c, cleanup) = docker_cluster("d-kill", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-kill", "*"));
    let offer = p.next_offers().remove(0);
    launch(
        &p,
        &offer.id,
        container_task(
            "k",
            "sleep 600",
            "cpus:0.5;mem:64",
            ContainerInfo::docker(IMAGE),
        ),
    );
    until_running(&p, "k");
    assert_eq!(
        containers_of(&cleanup.work_dirs[0], "k").len(),
        1,
        "the container runs, labelled with its agent and task"
    );
    let asked = clock();
    p.call(Call::Kill(Kill {
        task_id: TaskId("k".to_owned()),
    }));
    let end = p.updates_until_end("k").pop().expect("an update");
    assert_eq!(end.state, TaskState::Killed, "{end:?}");
    assert_eq!(end.reason, Some(StatusReason::KilledByFramework));
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        containers_of(&cleanup.work_dirs[0], "k"),
        Vec::<String>::new()
    );
}

#[test]
fn a_running_containers_usage_is_what_docker_measures() {
    let (c, cleanup) = docker_cluster("d-monitor", 1, "cpus:1;mem:256", |cfg| cfg.http = true);
    let agent = c.agent_http_urls().pop().expect("the agent serves HTTP");
    let p = ProbeHandle::start(c.master());
    let fw = p.subscribe(FrameworkInfo::new("d-monitor", "*"));
    let offer = p.next_offers().remove(0);
    let busy = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo busy-done; sleep 600";
    launch(
        &p,
        &offer.id,
        container_task("m", busy, "cpus:0.5;mem:64", ContainerInfo::docker(IMAGE)),
    );
    until_running(&p, "m");
    let stdout = sandbox(&cleanup, 0, &fw.0, "m").join("stdout");
    eventually("the container's loop done", || {
        let text = std::fs::read_to_string(&stdout).ok()?;
        text.contains("busy-done").then_some(())
    });
    let all = get(&agent, "/monitor/statistics").json();
    let all = all.as_array().unwrap_or_else(|| panic!("a list: {all}"));
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["executor_id"], "m");
    let s = &all[0]["statistics"];
    assert_eq!(s["cpus_limit"], 0.5);
    assert_eq!(s["mem_limit_bytes"], 64 * 1024 * 1024);
    let cpu = s["cpus_user_time_secs"].as_f64().unwrap_or(0.0)
        + s["cpus_system_time_secs"].as_f64().unwrap_or(0.0);
    assert!(cpu > 0.0, "the loop in the container is counted: {s}");
    assert!(s["mem_rss_bytes"].as_u64() > Some(0), "{s}");
    assert!(
        s["mem_total_bytes"].as_u64() >= s["mem_rss_bytes"].as_u64(),
        "{s}"
    );
    assert!(s["processes"].as_u64() >= Some(1), "{s}");
    assert!(
        s.get("threads").is_none(),
        "Docker gives no thread count: {s}"
    );
}

/// A GET of `/` on `127.0.0.1:port`, retried for up to 20 s; the body.
fn http_get(port: u16) -> String {
    let start = clock();
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        })();
        match attempt {
            Ok(text) if text.contains("200 OK") => {
                return text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned()
            }
            other => {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "no HTTP answer on port {port}: {other:?}"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// Serves `$1` as /index.html on port 8080 with busybox httpd.
fn httpd(body: &str) -> String {
    format!("mkdir -p /tmp/www && echo {body} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www")
}

#[test]
fn a_port_mapping_is_reachable_from_the_host() {
    let (c, _cleanup) = docker_cluster("d-port", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-port", "*"));
    let offer = p.next_offers().remove(0);
    let offered = offer.resources.ranges("ports");
    let host_port = offered
        .iter()
        .flatten()
        .next()
        .expect("the agent offers ports");
    let host_port = u16::try_from(host_port).expect("a port number");
    let info = ContainerInfo {
        network: NetworkMode::Bridge,
        port_mappings: vec![PortMapping {
            host_port,
            container_port: 8080,
            protocol: PortProtocol::Tcp,
        }],
        ..ContainerInfo::docker(IMAGE)
    };
    let ports =
        RangeSet::from_pairs([(u64::from(host_port), u64::from(host_port))]).expect("range");
    let mut task = container_task("web", &httpd("corral-port-test"), "cpus:0.5;mem:64", info);
    task.resources = task.resources.with_ranges("ports", ports).expect("ports");
    launch(&p, &offer.id, task);
    until_running(&p, "web");
    assert_eq!(http_get(host_port).trim(), "corral-port-test");
    p.call(Call::Kill(Kill {
        task_id: TaskId("web".to_owned()),
    }));
    assert_eq!(
        p.updates_until_end("web").pop().map(|u| u.state),
        Some(TaskState::Killed)
    );
}

#[test]
fn a_port_mapping_outside_the_tasks_ports_is_refused_by_the_master() {
    let (c, _cleanup) = docker_cluster("d-badport", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-badport", "*"));
    let offer = p.next_offers().remove(0);
    let info = ContainerInfo {
        network: NetworkMode::Bridge,
        port_mappings: vec![PortMapping {
            host_port: 80,
            container_port: 8080,
            protocol: PortProtocol::Tcp,
        }],
        ..ContainerInfo::docker(IMAGE)
    };
    launch(
        &p,
        &offer.id,
        container_task("bad", "true", "cpus:0.5;mem:64", info),
    );
    let end = p.update_of("bad");
    assert_eq!(end.state, TaskState::Error, "{end:?}");
    assert!(end.message.contains("host port 80"), "{}", end.message);
}

#[test]
fn two_containers_on_one_agent_get_distinct_offered_ports() {
    let (c, _cleanup) = docker_cluster("d-two", 1, "cpus:2;mem:512", |_| {});
    let (tx, rx) = channel();
    let cfg = ServiceConfig {
        master: c.master().clone(),
        info: FrameworkInfo::new("d-two", "*"),
        name: "web".to_owned(),
        command: httpd("instance-$INSTANCE"),
        resources: res("cpus:0.5;mem:64"),
        instances: 2,
        refuse: Duration::from_secs(5),
        tasks_per_offer: 0,
    };
    let template = ContainerTemplate {
        info: ContainerInfo {
            network: NetworkMode::Bridge,
            ..ContainerInfo::docker(IMAGE)
        },
        ports: vec![8080],
    };
    let service = Service::new(
        cfg,
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    )
    .with_container(template)
    .into_framework();
    let (_node, _pid) = start_framework(service).expect("the service starts");
    let mut running = std::collections::BTreeSet::new();
    while running.len() < 2 {
        match rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the service makes progress")
        {
            ServiceEvent::Status(s) if s.state == TaskState::Running => {
                running.insert(s.task_id);
            }
            ServiceEvent::Status(s) if s.state.is_terminal() => panic!("an instance ended: {s:?}"),
            _ => {}
        }
    }
    let state = c.state().expect("the master answers");
    let mut ports = Vec::new();
    for t in state.tasks.iter().filter(|t| running.contains(&t.id)) {
        let held: Vec<u64> = t.resources.ranges("ports").iter().flatten().collect();
        assert_eq!(held.len(), 1, "{}: {held:?}", t.id);
        ports.push(held[0]);
    }
    assert_eq!(ports.len(), 2);
    assert_ne!(ports[0], ports[1], "both instances got their own host port");
    let mut bodies: Vec<String> = ports
        .iter()
        .map(|&p| {
            http_get(u16::try_from(p).expect("a port"))
                .trim()
                .to_owned()
        })
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["instance-0", "instance-1"]);
}

#[test]
fn a_missing_image_fails_the_task_plainly() {
    let (c, _cleanup) = docker_cluster("d-noimage", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-noimage", "*"));
    let offer = p.next_offers().remove(0);
    let info = ContainerInfo::docker("corral/no-such-image:test");
    launch(
        &p,
        &offer.id,
        container_task("m", "true", "cpus:0.5;mem:64", info),
    );
    let end = p.updates_until_end("m").pop().expect("an update");
    assert_eq!(end.state, TaskState::Failed, "{end:?}");
    assert_eq!(end.reason, Some(StatusReason::ContainerLaunchFailed));
    assert!(
        end.message
            .contains("image 'corral/no-such-image:test' is not on this agent"),
        "{}",
        end.message
    );
}

#[test]
fn a_forced_pull_without_a_registry_fails_the_task_plainly() {
    let (c, _cleanup) = docker_cluster("d-pull", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-pull", "*"));
    let offer = p.next_offers().remove(0);
    let info = ContainerInfo {
        force_pull_image: true,
        ..ContainerInfo::docker("corral/never-published:1")
    };
    launch(
        &p,
        &offer.id,
        container_task("pull", "true", "cpus:0.5;mem:64", info),
    );
    let end = p.updates_until_end("pull").pop().expect("an update");
    assert_eq!(end.state, TaskState::Failed, "{end:?}");
    assert_eq!(end.reason, Some(StatusReason::ContainerLaunchFailed));
    assert!(
        end.message
            .contains("cannot pull image 'corral/never-published:1'"),
        "{}",
        end.message
    );
}

#[test]
fn an_unreachable_docker_daemon_fails_the_task_plainly() {
    // The daemon answered when the agent started, but its executors find
    // none (as when it stops later).
    let (c, _cleanup) = docker_cluster("d-nodaemon", 1, "cpus:1;mem:256", |cfg| {
        cfg.tune_agent = |a| {
            a.containerizers = vec![Containerizer::Docker, Containerizer::Process];
            a.docker_host = Some("unix:///nonexistent/corral-test-docker.sock".to_owned());
        };
    });
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-nodaemon", "*"));
    let offer = p.next_offers().remove(0);
    launch(
        &p,
        &offer.id,
        container_task("u", "true", "cpus:0.5;mem:64", ContainerInfo::docker(IMAGE)),
    );
    let end = p.updates_until_end("u").pop().expect("an update");
    assert_eq!(end.state, TaskState::Failed, "{end:?}");
    assert!(
        end.message.contains(
            "cannot reach the Docker daemon at unix:///nonexistent/corral-test-docker.sock"
        ),
        "{}",
        end.message
    );
}

#[test]
fn an_agent_without_docker_refuses_docker_tasks_with_task_error() {
    // Needs no Docker: the agent is told Docker is missing, as the binary
    // edge tells it on a machine without Docker.
    let c = cluster("d-nodocker", 2, "cpus:1;mem:256", |cfg| {
        cfg.tune_agent = |a| {
            if a.hostname == "local-0" {
                a.containerizers = vec![Containerizer::Docker, Containerizer::Process];
                a.docker_unavailable = Some("no socket at /var/run/docker.sock".to_owned());
            }
        };
    });
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("d-nodocker", "*"));
    let mut offers = p.next_offers();
    while offers.len() < 2 {
        offers.extend(p.next_offers());
    }
    offers.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    let info = ContainerInfo::docker(IMAGE);
    launch(
        &p,
        &offers[0].id,
        container_task("absent", "true", "cpus:0.5;mem:64", info.clone()),
    );
    let end = p.update_of("absent");
    assert_eq!(end.state, TaskState::Error, "{end:?}");
    assert_eq!(
        end.message,
        "Docker is not available on this agent: no socket at /var/run/docker.sock"
    );
    launch(
        &p,
        &offers[1].id,
        container_task("off", "true", "cpus:0.5;mem:64", info),
    );
    let end = p.update_of("off");
    assert_eq!(end.state, TaskState::Error, "{end:?}");
    assert!(
        end.message.contains("--containerizers=process"),
        "{}",
        end.message
    );
}

#[test]
fn restarting_the_agent_recovers_a_running_container_task() {
    // A checkpointing framework's container task runs; the agent's node is
    // restarted over the same work directory and address; the task is
    // taken back by the new agent (its executor re-registers), still
    // RUNNING (no terminal update), its container is the same one, and a
    // kill still reaches it.
    let (mut c, cleanup) = docker_cluster("d-recover", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    let mut info = FrameworkInfo::new("d-recover", "*");
    info.checkpoint = true;
    p.subscribe(info);
    let offer = p.next_offers().remove(0);
    launch(
        &p,
        &offer.id,
        container_task(
            "r",
            "sleep 600",
            "cpus:0.5;mem:64",
            ContainerInfo::docker(IMAGE),
        ),
    );
    until_running(&p, "r");
    let before = containers_of(&cleanup.work_dirs[0], "r");
    assert_eq!(before.len(), 1, "the container runs");
    c.restart_agent(0).expect("the agent restarts");
    // The restarted agent took the task back: its executor re-registered
    // (it retries every second; the agent would otherwise fail the task at
    // its recovery timeout).
    c.wait_for_agent(
        0,
        Duration::from_secs(20),
        "the executor of r to re-register with the restarted agent",
        |s| {
            s.tasks.iter().any(|t| {
                t.task_id.0 == "r" && t.state == TaskState::Running && t.executor_connected
            })
        },
    )
    .expect("the restarted agent takes its task back");
    let ended: Vec<_> = p
        .seen
        .try_iter()
        .filter(|s| matches!(s, common::Seen::Update(u) if u.state.is_terminal()))
        .collect();
    assert_eq!(ended, [], "the restart must not end the task");
    let state = c.state().expect("master state");
    assert!(
        state
            .tasks
            .iter()
            .any(|t| t.id.0 == "r" && t.state == TaskState::Running),
        "{:?}",
        state.tasks
    );
    assert_eq!(
        containers_of(&cleanup.work_dirs[0], "r"),
        before,
        "the same container"
    );
    p.call(Call::Kill(Kill {
        task_id: TaskId("r".to_owned()),
    }));
    let end = p.updates_until_end("r").pop().expect("an update");
    assert_eq!(end.state, TaskState::Killed, "{end:?}");
    c.shutdown();
}
