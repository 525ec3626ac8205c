//! What the agent keeps in its node's store so that a restarted agent can
//! take its running tasks back (Mesos's agent checkpointing).
//!
//! Layout, under the agent actor's namespace of `ctx.store()`:
//! - [`AGENT_ID_KEY`]: the id the master gave (UTF-8);
//! - [`TASK_PREFIX`] + [`task_key`]: one [`TaskRecord`] per task the agent
//!   supervises or still holds updates for, rewritten whenever it changes
//!   and deleted once the task is forgotten.
//!
//! Records are postcard (the runtime's codec). A record that does not
//! decode is skipped with a warning: a damaged checkpoint loses that task,
//! never the agent. Postcard is positional and says nothing of a record's
//! shape, so records carry [`RECORD_V2`] in front; one without it was
//! written before tasks could share an executor and is read in that
//! earlier shape.

/// The directory under the agent's work dir that holds its node's store
/// (the checkpoint); binaries point `NodeConfig::data_dir` at it, and the
/// files API does not serve it.
pub const META_DIR: &str = "meta";

use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::task::TaskInfo;
use corral_api::task::{TaskState, TaskStatus};
use corral_runtime::codec::{self, CodecError};
use corral_runtime::{Pid, StorageError, Store};
use serde::{Deserialize, Serialize};

/// The key of the agent's id.
pub const AGENT_ID_KEY: &[u8] = b"agent_id";
/// The key of the latest term of the leading master the agent registered
/// with (8 bytes, big-endian): a restarted agent still refuses a deposed
/// leader (see [`corral_api::leader`]).
pub const LEADER_TERM_KEY: &[u8] = b"leader_term";
/// The prefix of task records.
pub const TASK_PREFIX: &[u8] = b"task/";
/// What every task record starts with since tasks can share a command
/// executor. As a postcard varint it would be a framework id of 2^28 - 1
/// bytes, more than any record holds, so no earlier record starts so.
pub const RECORD_V2: &[u8] = &[0xff, 0xff, 0xff, 0x7f, 2];
/// Largest record read back (a task and up to 1000 pending updates).
const MAX_RECORD_BYTES: usize = 64 << 20;

/// Why the checkpoint could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The store refused (or the node has none: `NotConfigured`).
    #[error("checkpoint storage: {0}")]
    Storage(#[from] StorageError),
    /// A record could not be encoded.
    #[error("checkpoint encoding: {0}")]
    Codec(#[from] CodecError),
}

/// A live task as checkpointed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskCheckpoint {
    /// Its framework's description (whether it checkpoints).
    pub framework: FrameworkInfo,
    /// The task as the master sent it.
    pub info: TaskInfo,
    /// The executor's actor, once it registered: where a restarted agent
    /// expects it to re-register from, and where `cleanup` sends its
    /// shutdown.
    pub executor: Option<Pid>,
    /// The latest state queued for the master.
    pub state: TaskState,
    /// A terminal update was queued.
    pub terminal: bool,
    /// A kill was asked for.
    pub kill_requested: bool,
    /// The command executor it shares with the tasks launched beside it
    /// (that executor's id, its first task's); None when its executor is
    /// its own, named by [`TaskInfo::executor_id`].
    pub shared_executor: Option<String>,
}

/// Everything kept about one task key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// The task, while the agent supervises it (None: only updates about
    /// it remain, e.g. the TASK_ERROR of a refused task).
    pub task: Option<TaskCheckpoint>,
    /// Its status updates not yet acknowledged by the framework, oldest
    /// first.
    pub pending: Vec<TaskStatus>,
}

/// What a restarted agent finds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    /// The id of the earlier run, if it had registered.
    pub agent_id: Option<AgentId>,
    /// The latest leader's term it registered under.
    pub leader_term: Option<u64>,
    /// Its tasks, in key order.
    pub tasks: Vec<TaskRecord>,
}

/// The store key (without [`TASK_PREFIX`]) of a task: the framework id's
/// length, the framework id, the task id — unique for any ids.
pub fn task_key(framework_id: &FrameworkId, task_id: &TaskId) -> Vec<u8> {
    let fw = framework_id.0.as_bytes();
    let len = u32::try_from(fw.len()).unwrap_or(u32::MAX);
    let mut key = TASK_PREFIX.to_vec();
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(fw);
    key.extend_from_slice(task_id.0.as_bytes());
    key
}

/// Reads the whole checkpoint.
pub fn load(store: &Store<'_>) -> Result<Checkpoint, CheckpointError> {
    let agent_id = store
        .get(AGENT_ID_KEY)?
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(AgentId);
    let leader_term = store
        .get(LEADER_TERM_KEY)?
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
        .map(u64::from_be_bytes);
    let mut tasks = Vec::new();
    for (key, value) in store.scan(TASK_PREFIX)? {
        let decoded = match value.strip_prefix(RECORD_V2) {
            Some(v2) => codec::decode::<TaskRecord>(v2, MAX_RECORD_BYTES),
            None => legacy::decode(&value, MAX_RECORD_BYTES),
        };
        match decoded {
            Ok(record) => tasks.push(record),
            Err(e) => {
                tracing::warn!(key = ?key, "skipping a checkpoint record that does not decode: {e}")
            }
        }
    }
    Ok(Checkpoint {
        agent_id,
        leader_term,
        tasks,
    })
}

/// Writes (or, with nothing left to keep, deletes) one task's record.
pub fn save_task(store: &mut Store<'_>, record: &TaskRecord) -> Result<(), CheckpointError> {
    let key = task_key(&record.framework_id, &record.task_id);
    if record.task.is_none() && record.pending.is_empty() {
        store.delete(&key)?;
    } else {
        let mut bytes = RECORD_V2.to_vec();
        bytes.extend_from_slice(&codec::encode(record)?);
        store.put(&key, &bytes)?;
    }
    Ok(())
}

/// Writes the agent's id and the term of the master that admitted it.
pub fn save_registration(
    store: &mut Store<'_>,
    id: &AgentId,
    leader_term: Option<u64>,
) -> Result<(), CheckpointError> {
    store.put(AGENT_ID_KEY, id.0.as_bytes())?;
    if let Some(term) = leader_term {
        store.put(LEADER_TERM_KEY, &term.to_be_bytes())?;
    }
    Ok(())
}

/// Deletes everything (the master removed the agent, or cleanup).
pub fn clear(store: &mut Store<'_>) -> Result<(), CheckpointError> {
    for (key, _) in store.scan(TASK_PREFIX)? {
        store.delete(&key)?;
    }
    store.delete(AGENT_ID_KEY)?;
    store.delete(LEADER_TERM_KEY)?;
    Ok(())
}

/// Records of agents from before tasks could share a command executor,
/// read so that an upgraded agent keeps the tasks it checkpointed.
mod legacy {
    use super::*;

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(Serialize))]
    pub(super) struct TaskCheckpointV1 {
        pub(super) framework: FrameworkInfo,
        pub(super) info: TaskInfo,
        pub(super) executor: Option<Pid>,
        pub(super) state: TaskState,
        pub(super) terminal: bool,
        pub(super) kill_requested: bool,
    }

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(Serialize))]
    pub(super) struct TaskRecordV1 {
        pub(super) framework_id: FrameworkId,
        pub(super) task_id: TaskId,
        pub(super) task: Option<TaskCheckpointV1>,
        pub(super) pending: Vec<TaskStatus>,
    }

    /// `bytes` as a record of the earlier shape.
    pub(super) fn decode(bytes: &[u8], max: usize) -> Result<TaskRecord, CodecError> {
        let old: TaskRecordV1 = codec::decode(bytes, max)?;
        Ok(TaskRecord {
            framework_id: old.framework_id,
            task_id: old.task_id,
            task: old.task.map(|t| TaskCheckpoint {
                framework: t.framework,
                info: t.info,
                executor: t.executor,
                state: t.state,
                terminal: t.terminal,
                kill_requested: t.kill_requested,
                shared_executor: None,
            }),
            pending: old.pending,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_do_not_collide_across_id_boundaries() {
        let a = task_key(&FrameworkId::from("ab"), &TaskId::from("c"));
        let b = task_key(&FrameworkId::from("a"), &TaskId::from("bc"));
        assert_ne!(a, b);
        assert!(a.starts_with(TASK_PREFIX));
    }

    #[test]
    fn records_round_trip_through_the_codec() {
        let record = TaskRecord {
            framework_id: "fw".into(),
            task_id: "t".into(),
            task: None,
            pending: vec![TaskStatus {
                task_id: "t".into(),
                framework_id: "fw".into(),
                agent_id: None,
                state: TaskState::Running,
                source: corral_api::task::StatusSource::Executor,
                reason: None,
                message: String::new(),
                timestamp_ms: 1,
                uuid: Some([1; 16]),
            }],
        };
        let bytes = codec::encode(&record).unwrap();
        let back: TaskRecord = codec::decode(&bytes, MAX_RECORD_BYTES).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn a_record_written_before_shared_executors_is_still_read() {
        let info = corral_api::task::TaskInfo {
            task_id: "t".into(),
            name: "t".into(),
            command: "true".into(),
            env: vec![],
            resources: "cpus:1".parse().unwrap(),
            container: None,
            executor: None,
        };
        let old = legacy::TaskRecordV1 {
            framework_id: "fw".into(),
            task_id: "t".into(),
            task: Some(legacy::TaskCheckpointV1 {
                framework: FrameworkInfo::new("f", "*"),
                info: info.clone(),
                executor: None,
                state: TaskState::Running,
                terminal: false,
                kill_requested: true,
            }),
            pending: vec![],
        };
        let bytes = codec::encode(&old).unwrap();
        assert!(!bytes.starts_with(RECORD_V2));
        let back = legacy::decode(&bytes, MAX_RECORD_BYTES).expect("the earlier shape");
        let task = back.task.expect("its task");
        assert_eq!(task.info, info);
        assert!(task.kill_requested);
        assert_eq!(task.shared_executor, None);
    }
}
