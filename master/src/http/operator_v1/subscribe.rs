//! The operator API's `SUBSCRIBE`: a RecordIO stream of JSON events that
//! starts with `SUBSCRIBED` (the whole `GET_STATE` of one publication)
//! and goes on with each change the master made since
//! ([`crate::events`]), and a `HEARTBEAT` every
//! [`HEARTBEAT_EVERY`].
//!
//! A reader whose view the ACLs restrict (`view_frameworks`,
//! `view_tasks`) starts from what it may view and hears only the events
//! of frameworks and tasks it may view, by each framework's `user`.
//!
//! The stream ends when the master stops leading (Mesos's master exits
//! then; the operator subscribes to the new leader), when the subscriber
//! falls further behind than the master keeps events for, or when the
//! client goes away (noticed at the next write, a heartbeat at most).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::HttpResponse;
use futures_util::stream::{self, Stream};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::super::visible;
use super::views;
use crate::acls::Acls;
use crate::board::{Published, StateBoard};
use crate::events::OperatorEvent;
use corral_api::task::task_state_name;
use corral_http::v1::{convert, recordio};

/// How often a subscriber hears a `HEARTBEAT` (Mesos's default).
pub(super) const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

/// The subscription's response: `p` is a publication read after `rx`
/// subscribed, so every event after it is kept for this stream, and as
/// `viewer` may see it.
pub(super) fn stream(
    board: StateBoard,
    rx: watch::Receiver<u64>,
    p: &Published,
    viewer: Viewer,
) -> HttpResponse {
    let subscribed = json!({
        "type": "SUBSCRIBED",
        "subscribed": {
            "get_state": views::state(&p.state),
            "heartbeat_interval_seconds": HEARTBEAT_EVERY.as_secs_f64(),
        },
    });
    let mut pending = VecDeque::new();
    pending.push_back(record(&subscribed));
    pending.push_back(record(&json!({"type": "HEARTBEAT"})));
    let users = visible::users(&p.state)
        .into_iter()
        .map(|(id, user)| (id.to_owned(), user.to_owned()))
        .collect();
    let sub = Subscriber {
        board,
        rx,
        last: p.seq,
        pending,
        heartbeat: None,
        viewer,
        users,
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(events(sub))
}

struct Subscriber {
    board: StateBoard,
    rx: watch::Receiver<u64>,
    /// The last publication whose events were queued.
    last: u64,
    /// Records to write, oldest first.
    pending: VecDeque<Bytes>,
    /// Started with the stream's first poll (it needs the runtime).
    heartbeat: Option<tokio::time::Interval>,
    viewer: Viewer,
    /// Each framework's `user`, kept by the events, for the view ACLs.
    users: BTreeMap<String, String>,
}

/// Who reads a stream, and the rules of what it may view.
pub(super) struct Viewer {
    pub acls: Acls,
    pub principal: Option<String>,
}

impl Subscriber {
    /// Whether the viewer may hear `e`, learning framework users from it.
    fn may_hear(&mut self, e: &OperatorEvent) -> bool {
        let (acls, who) = (&self.viewer.acls, self.viewer.principal.as_deref());
        if !acls.restricts_views() {
            return true;
        }
        let user_of =
            |users: &BTreeMap<String, String>, id: &str| users.get(id).cloned().unwrap_or_default();
        match e {
            OperatorEvent::TaskAdded { task, .. } => {
                acls.may_view_task(who, &user_of(&self.users, &task.framework_id.0))
            }
            OperatorEvent::TaskUpdated { framework_id, .. } => {
                acls.may_view_task(who, &user_of(&self.users, &framework_id.0))
            }
            OperatorEvent::AgentAdded(_) | OperatorEvent::AgentRemoved(_) => true,
            OperatorEvent::FrameworkAdded(f) | OperatorEvent::FrameworkUpdated(f) => {
                self.users.insert(f.id.0.clone(), f.info.user.clone());
                acls.may_view_framework(who, &f.info.user)
            }
            OperatorEvent::FrameworkRemoved(f) => acls.may_view_framework(who, &f.info.user),
        }
    }
}

/// What to do after waiting.
enum Woke {
    Published,
    Heartbeat,
    End,
}

impl Subscriber {
    /// Waits for a publication or the next heartbeat.
    async fn wait(&mut self) -> Woke {
        let heartbeat = self.heartbeat.get_or_insert_with(|| {
            let start = tokio::time::Instant::now() + HEARTBEAT_EVERY;
            tokio::time::interval_at(start, HEARTBEAT_EVERY)
        });
        tokio::select! {
            biased;
            changed = self.rx.changed() => match changed {
                Ok(()) => Woke::Published,
                // The board is gone: its master with it.
                Err(_) => Woke::End,
            },
            _ = heartbeat.tick() => Woke::Heartbeat,
        }
    }

    /// Queues the events published since the last; false when the stream
    /// must end.
    fn catch_up(&mut self) -> bool {
        let seq = *self.rx.borrow_and_update();
        let leading = self.board.latest().is_some_and(|p| p.leadership.leading);
        if !leading {
            return false;
        }
        let batches = match self.board.events_after(self.last) {
            Ok(b) => b,
            Err(e) => {
                tracing::info!(error = %e, "operator subscriber fell behind; ending its stream");
                return false;
            }
        };
        self.last = self.last.max(seq);
        for b in batches {
            for e in b.events.iter() {
                if self.may_hear(e) {
                    self.pending.push_back(record(&event(e)));
                }
            }
            self.last = self.last.max(b.seq);
        }
        true
    }
}

/// The events of `sub` as the body's chunks: what is queued at once,
/// else what the next wake-up brings.
fn events(sub: Subscriber) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    stream::unfold(sub, |mut sub| async move {
        loop {
            if !sub.pending.is_empty() {
                let chunk: Vec<u8> = sub.pending.drain(..).flat_map(|b| b.to_vec()).collect();
                return Some((Ok(Bytes::from(chunk)), sub));
            }
            match sub.wait().await {
                Woke::Published => {
                    if !sub.catch_up() {
                        return None;
                    }
                }
                Woke::Heartbeat => sub.pending.push_back(record(&json!({"type": "HEARTBEAT"}))),
                Woke::End => return None,
            }
        }
    })
}

fn record(event: &Value) -> Bytes {
    Bytes::from(recordio::frame(event.to_string().as_bytes()))
}

/// `e` in the shape of Mesos's `master.proto` `Event`.
fn event(e: &OperatorEvent) -> Value {
    match e {
        OperatorEvent::TaskAdded { task, role } => json!({
            "type": "TASK_ADDED",
            "task_added": {"task": views::task(task, role)},
        }),
        OperatorEvent::TaskUpdated {
            framework_id,
            status,
            state,
        } => json!({
            "type": "TASK_UPDATED",
            "task_updated": {
                "framework_id": {"value": framework_id.0},
                "status": convert::status(status),
                "state": task_state_name(*state),
            },
        }),
        OperatorEvent::AgentAdded(a) => json!({
            "type": "AGENT_ADDED",
            "agent_added": {"agent": views::agent(a)},
        }),
        OperatorEvent::AgentRemoved(id) => json!({
            "type": "AGENT_REMOVED",
            "agent_removed": {"agent_id": {"value": id.0}},
        }),
        OperatorEvent::FrameworkAdded(f) => json!({
            "type": "FRAMEWORK_ADDED",
            "framework_added": {"framework": views::framework(f, true)},
        }),
        OperatorEvent::FrameworkUpdated(f) => json!({
            "type": "FRAMEWORK_UPDATED",
            "framework_updated": {"framework": views::framework(f, true)},
        }),
        OperatorEvent::FrameworkRemoved(f) => json!({
            "type": "FRAMEWORK_REMOVED",
            "framework_removed": {"framework_info": views::framework_info(f)},
        }),
    }
}

#[cfg(test)]
#[path = "subscribe_tests.rs"]
mod tests;
