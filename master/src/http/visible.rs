//! What one reader of the master's views may see: the frameworks and
//! tasks the `view_frameworks` and `view_tasks` ACLs let its principal
//! see (`crate::acls`), by each framework's `user`. Agents, offers, totals
//! and metrics are every reader's, as in Mesos.
//!
//! Without view rules and with `permissive` ACLs (the default) every
//! reader is served the publication itself, rendered once for all;
//! otherwise each request gets a copy of its own (of the same `seq`, so a
//! subscriber reads the events after it), never cached: only the board's
//! own publication is (`MasterApi::rendered`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::acls::Acls;
use crate::board::Published;
use crate::state::{FrameworkState, MasterState, TaskList};

/// `p` as `principal` (None: unauthenticated) may see it under `acls`.
pub(super) fn for_viewer(
    p: &Arc<Published>,
    acls: &Acls,
    principal: Option<&str>,
) -> Arc<Published> {
    if !acls.restricts_views() {
        return p.clone();
    }
    let s = &p.state;
    let users = users(s);
    let shown = |f: &&FrameworkState| acls.may_view_framework(principal, &f.info.user);
    let tasks: TaskList = s
        .tasks
        .iter()
        .filter(|t| {
            let user = users.get(t.framework_id.0.as_str()).copied().unwrap_or("");
            acls.may_view_task(principal, user)
        })
        .cloned()
        .collect();
    let state = MasterState {
        frameworks: s.frameworks.iter().filter(shown).cloned().collect(),
        completed_frameworks: s
            .completed_frameworks
            .iter()
            .filter(shown)
            .cloned()
            .collect(),
        tasks,
        ..s.clone()
    };
    Arc::new(Published {
        seq: p.seq,
        state,
        metrics: p.metrics.clone(),
        leadership: p.leadership.clone(),
        took: p.took,
    })
}

/// Each framework's `user`, subscribed and completed, by id.
pub(super) fn users(s: &MasterState) -> BTreeMap<&str, &str> {
    s.frameworks
        .iter()
        .chain(&s.completed_frameworks)
        .map(|f| (f.id.0.as_str(), f.info.user.as_str()))
        .collect()
}
