//! The agent's checkpoint writes, in its node's store through `Ctx`: what
//! the core's checkpoint actions mean on disk (see [`crate::checkpoint`]).

use std::collections::BTreeMap;

use corral_api::ids::AgentId;
use corral_runtime::Ctx;

use super::Agent;
use crate::checkpoint::{self, CheckpointError, TaskRecord};
use crate::updates::TaskKey;

/// Writes `records` in key order, unsynced (see `commit`). True when they
/// are all written (nothing to write is written too).
pub(super) fn write_tasks(
    ctx: &mut Ctx<'_, Agent>,
    records: &BTreeMap<TaskKey, TaskRecord>,
) -> bool {
    if records.is_empty() {
        return true;
    }
    let mut store = ctx.store();
    let result = records
        .values()
        .try_for_each(|r| checkpoint::save_task(&mut store, r));
    match result {
        Ok(()) => true,
        Err(e) => {
            // The core keeps them dirty: the next write tries again.
            tracing::warn!("cannot checkpoint tasks: {e}");
            false
        }
    }
}

/// Makes every write so far durable. True when it did.
pub(super) fn sync(ctx: &mut Ctx<'_, Agent>) -> bool {
    match ctx.store().sync() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("cannot sync the checkpoint: {e}");
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
