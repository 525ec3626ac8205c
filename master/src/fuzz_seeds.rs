//! The seeds of the wire fuzz targets (`fuzz/corpus/messages`,
//! `fuzz/corpus/wire_frames` and `fuzz/corpus/master_core`): real messages
//! of the protocols a master speaks, encoded as a peer sends them. This
//! crate sees every message type the targets register, so the seeds are
//! made here.
//!
//! The test checks that the committed seeds are still what these
//! messages encode to, so a change to a message's shape says to rewrite
//! them: `CORRAL_WRITE_FUZZ_SEEDS=1 cargo test -p corral-master fuzz_seeds`.

// The test reads and writes the corpus files, which actor code may not
// (clippy.toml); this module is test-only.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use corral_api::agent::{AgentTask, KillTask, Ping, Pong, RegisterAgent, RunTasks, StatusUpdate};
use corral_api::framework::{
    Accept, Decline, FrameworkInfo, Kill, Operation, Reconcile, Subscribe, Teardown,
};
use corral_api::ids::{AgentId, FrameworkId, OfferId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::{StatusSource, TaskInfo, TaskState, TaskStatus};
use corral_runtime::codec::{self, AskFailure, Corr, Header};
use corral_runtime::{Message, Pid};

use crate::registrar::GetLeader;
use crate::state::{GetState, OperatorKill, OperatorTeardown};

/// The name of the actor the fuzz targets deliver to.
const SINK: &str = "sink";

fn pid(name: &str, port: u16) -> Pid {
    Pid::new(name, ([10, 0, 0, 2], port).into()).expect("a valid pid")
}

fn res(text: &str) -> Resources {
    Resources::parse(text).expect("valid resources")
}

fn body<M: Message>(m: &M) -> (&'static str, Vec<u8>) {
    (M::NAME, codec::encode(m).expect("a message encodes"))
}

/// Real messages: (wire name, encoded body).
fn messages() -> Vec<(&'static str, Vec<u8>)> {
    let fw = FrameworkId("fw-1".into());
    let task = TaskId("task-1".into());
    let agent = AgentId("agent-1".into());
    let info = FrameworkInfo::new("batch", "*");
    let task_info = TaskInfo::command(task.clone(), "echo hi", res("cpus:0.5;mem:32"));
    vec![
        body(&Ping),
        body(&Pong),
        body(&RegisterAgent {
            hostname: "node-1".into(),
            resources: res("cpus:4;mem:8192;disk:10240;ports:[31000-32000];zones:{a,b}"),
            attributes: "rack:r1;zone:us-east".into(),
            id: Some(agent.clone()),
            pid: pid("agent", 5051),
            http: Some("http://10.0.0.2:5051".into()),
            frameworks: vec![info.clone()],
            tasks: vec![AgentTask {
                framework_id: fw.clone(),
                task_id: task.clone(),
                name: "t".into(),
                resources: res("cpus:0.5;mem:32"),
                state: TaskState::Running,
            }],
            credential: None,
        }),
        body(&Subscribe {
            info: info.clone(),
            credential: None,
        }),
        body(&Accept {
            offer_ids: vec![OfferId("offer-1".into())],
            operations: vec![Operation::Launch(vec![task_info.clone()])],
            refuse: Some(Duration::from_secs(5)),
        }),
        body(&Decline {
            offer_ids: vec![OfferId("offer-2".into())],
            refuse: None,
        }),
        body(&Kill {
            task_id: task.clone(),
        }),
        body(&RunTasks {
            framework_id: fw.clone(),
            framework: info,
            tasks: vec![task_info],
        }),
        body(&KillTask {
            framework_id: fw.clone(),
            task_id: task.clone(),
        }),
        body(&StatusUpdate {
            status: TaskStatus {
                task_id: task.clone(),
                framework_id: fw.clone(),
                agent_id: Some(agent),
                state: TaskState::Running,
                source: StatusSource::Executor,
                reason: None,
                message: "started".into(),
                timestamp_ms: 1_700_000_000_000,
                uuid: Some([7; 16]),
            },
        }),
        body(&GetLeader),
        body(&GetState),
        body(&OperatorKill {
            framework_id: fw.clone(),
            task_id: task,
            principal: Some("ops".into()),
        }),
        body(&OperatorTeardown {
            framework_id: fw,
            principal: Some("ops".into()),
        }),
    ]
}

/// A `master_core` record: sender (0, 1 frameworks; 2, 3 agents), kind
/// (the message type, or 11 exited, 12 time passes, 13 pong), step.
fn record(sender: u8, kind: u8, step: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len()).expect("a seed body fits a record");
    let mut out = vec![sender, kind, step];
    out.extend(len.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// An agent registers, a framework subscribes, time passes and pings are
/// answered, the framework asks about and kills a task the agent reports,
/// and both go away.
fn exchange() -> Vec<u8> {
    let all: BTreeMap<&str, Vec<u8>> = messages().into_iter().collect();
    let of = |name: &str| all.get(name).cloned().expect("a seed message");
    let reconcile = codec::encode(&Reconcile {
        task_ids: vec![TaskId("task-1".into())],
    })
    .expect("encodes");
    let teardown = codec::encode(&Teardown).expect("encodes");
    [
        record(2, 9, 0, &of(RegisterAgent::NAME)),
        record(0, 0, 0, &of(Subscribe::NAME)),
        record(0, 12, 20, &[]),
        record(0, 13, 0, &[]),
        record(0, 7, 0, &reconcile),
        record(2, 10, 0, &of(StatusUpdate::NAME)),
        record(0, 1, 0, &of(Accept::NAME)),
        record(0, 5, 0, &of(Kill::NAME)),
        record(0, 8, 0, &teardown),
        record(2, 11, 0, &[]),
        record(0, 12, 255, &[]),
    ]
    .concat()
}

/// One frame, length prefix included.
fn frame(header: &Header<'_>, body: &[u8]) -> Vec<u8> {
    let mut payload = codec::encode(header).expect("a header encodes");
    payload.extend_from_slice(body);
    let mut out = u32::try_from(payload.len())
        .expect("a seed fits a frame")
        .to_le_bytes()
        .to_vec();
    out.extend_from_slice(&payload);
    out
}

/// Every seed file: target -> file name -> contents.
fn seeds() -> BTreeMap<&'static str, BTreeMap<String, Vec<u8>>> {
    let peer = pid("peer", 5051);
    let mut messages_seeds = BTreeMap::new();
    let mut stream = Vec::new();
    for (i, (name, bytes)) in messages().into_iter().enumerate() {
        let mut seed = name.as_bytes().to_vec();
        seed.push(0);
        seed.extend_from_slice(&bytes);
        messages_seeds.insert(name.to_owned(), seed);
        let corr = if i % 2 == 0 {
            Corr::Tell
        } else {
            Corr::Ask(i as u64)
        };
        let header = Header::Msg {
            to: SINK,
            from: peer.clone(),
            name,
            corr,
        };
        stream.extend(frame(&header, &bytes));
    }
    let mut frames = BTreeMap::new();
    // The first byte of a wire_frames input is the read size less one.
    let with_chunk = |chunk: u8, bytes: &[u8]| [&[chunk][..], bytes].concat();
    frames.insert("messages".to_owned(), with_chunk(255, &stream));
    frames.insert("messages-split".to_owned(), with_chunk(6, &stream));
    let control = [
        Header::Link {
            watcher: peer.clone(),
            target: SINK,
        },
        Header::Link {
            watcher: peer.clone(),
            target: "nobody",
        },
        Header::Unlink {
            watcher: peer.clone(),
            target: SINK,
        },
        Header::Exited {
            target: "peer",
            watcher: SINK,
        },
        Header::AskFailed {
            to: SINK,
            id: 1,
            failure: AskFailure::NoHandler,
        },
        Header::Hello {
            addr: peer.addr(),
            incarnation: 42,
        },
    ];
    let control: Vec<u8> = control.iter().flat_map(|h| frame(h, &[])).collect();
    frames.insert("control".to_owned(), with_chunk(255, &control));
    let mut oversized = 5000u32.to_le_bytes().to_vec();
    oversized.extend([0xAB; 5000]);
    oversized.extend(frame(
        &Header::Msg {
            to: SINK,
            from: peer,
            name: Ping::NAME,
            corr: Corr::Tell,
        },
        &[],
    ));
    frames.insert("oversized".to_owned(), with_chunk(99, &oversized));
    let core = BTreeMap::from([("exchange".to_owned(), exchange())]);
    BTreeMap::from([
        ("messages", messages_seeds),
        ("wire_frames", frames),
        ("master_core", core),
    ])
}

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn fuzz_seeds_are_the_current_encodings() {
    let write = std::env::var_os("CORRAL_WRITE_FUZZ_SEEDS").is_some();
    for (target, files) in seeds() {
        let dir = corpus_dir(target);
        for (name, bytes) in files {
            let path = dir.join(format!("seed-{name}"));
            if write {
                std::fs::create_dir_all(&dir).expect("the corpus directory");
                std::fs::write(&path, &bytes).expect("a seed is written");
                continue;
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == bytes,
                "{} is not what the message encodes to now; rewrite the seeds: \
                 CORRAL_WRITE_FUZZ_SEEDS=1 cargo test -p corral-master fuzz_seeds",
                path.display()
            );
        }
    }
}
