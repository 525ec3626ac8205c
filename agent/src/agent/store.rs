//! The agent's checkpoint writes, in its node's store through `Ctx`: what
//! the core's checkpoint actions mean on disk (see [`crate::checkpoint`]).

use std::collections::BTreeMap;

use corral_api::ids::AgentId;
use corral_runtime::Ctx;

use super::Agent;
use crate::checkpoint::{self, CheckpointError, TaskRecord};
use crate::updates::TaskKey;

/// Writes `records` in key order, then syncs. True when they are durable
/// (nothing to write is durable too).
pub(super) fn save_tasks(
    ctx: &mut Ctx<'_, Agent>,
    records: &BTreeMap<TaskKey, TaskRecord>,
) -> bool {
    if records.is_empty() {
        return true;
    }
    let mut store = ctx.store();
    let result = records
        .values()
        .try_for_each(|r| checkpoint::save_task(&mut store, r))
        .and_then(|()| store.sync().map_err(CheckpointError::from));
    match result {
        Ok(()) => true,
        Err(e) => {
            // The core keeps them dirty: the next write tries again.
            tracing::warn!("cannot checkpoint tasks: {e}");
            false
        }
    }
}

/// Writes the agent's id and its master's term, then syncs.
pub(super) fn save_registration(ctx: &mut Ctx<'_, Agent>, id: &AgentId, term: Option<u64>) {
    let mut store = ctx.store();
    let result = checkpoint::save_registration(&mut store, id, term)
        .and_then(|()| store.sync().map_err(CheckpointError::from));
    if let Err(e) = result {
        tracing::warn!("cannot checkpoint the agent id: {e}");
    }
}

/// Deletes the whole checkpoint, then syncs.
pub(super) fn clear(ctx: &mut Ctx<'_, Agent>) {
    let mut store = ctx.store();
    let result =
        checkpoint::clear(&mut store).and_then(|()| store.sync().map_err(CheckpointError::from));
    if let Err(e) = result {
        tracing::warn!("cannot clear the checkpoint: {e}");
    }
}
