//! Which session serves each v1 executor on this agent, by framework and
//! executor id: the table an executor's calls are checked against, and
//! what the HTTP side hands a session.
//!
//! A session outlives its streams (an executor subscribes again after its
//! connection broke), so the table decides under one lock whether a
//! SUBSCRIBE joins the executor's session or claims a new one, and a
//! session leaves it only when nothing waits in its inbox: a SUBSCRIBE is
//! never handed to a session that is going away.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use corral_api::executor::{ExecutorMessage, ExecutorUpdate};
use corral_http::v1::media::Format;
use corral_http::v1::stream::{self, EventSender, Inbox};
use corral_runtime::Pid;

/// What the HTTP side hands an executor's session.
pub(super) enum FromExecutor {
    /// A SUBSCRIBE: the stream to write to from now on.
    Attach(Attach),
    /// Stream `0`'s client went away.
    Detach(u64),
    /// A status update to relay to the agent.
    Update(ExecutorUpdate),
    /// Bytes for the executor's framework, to relay to the agent.
    Message(ExecutorMessage),
}

/// A SUBSCRIBE, as its session takes it.
pub(super) struct Attach {
    /// Tells this stream from the executor's earlier ones.
    pub stream: u64,
    pub events: EventSender,
    /// How its events are written.
    pub format: Format,
    /// The tasks the executor holds without an acknowledged update: never
    /// launched on it again.
    pub tasks: BTreeSet<String>,
    /// Its updates not acknowledged: relayed once the agent takes it.
    pub updates: Vec<ExecutorUpdate>,
}

/// The inbox of an executor's session.
pub(super) type SharedInbox = stream::SharedInbox<FromExecutor>;

/// The subscription of one executor.
#[derive(Clone)]
pub(super) struct Subscription {
    pub session: Pid,
    pub inbox: SharedInbox,
    pub agent_id: String,
}

/// Where a SUBSCRIBE went.
pub(super) enum Joined {
    /// To the executor's running session.
    Session(Subscription),
    /// Nowhere yet: this new subscription is the executor's now, its
    /// inbox holds the SUBSCRIBE, and the caller starts its session.
    New(Subscription),
}

/// (framework id, executor id) → its current subscription, shared by the
/// handlers and the sessions.
#[derive(Clone, Default)]
pub(in crate::http) struct Subscriptions(Arc<Mutex<BTreeMap<(String, String), Subscription>>>);

fn key(framework_id: &str, executor_id: &str) -> (String, String) {
    (framework_id.to_owned(), executor_id.to_owned())
}

impl Subscriptions {
    pub(super) fn get(&self, framework_id: &str, executor_id: &str) -> Option<Subscription> {
        self.0
            .lock()
            .ok()?
            .get(&key(framework_id, executor_id))
            .cloned()
    }

    /// Hands `attach` to the executor's session, or makes `fresh` (whose
    /// session is not started yet) the executor's subscription with
    /// `attach` in its inbox. None: the table's lock is poisoned.
    pub(super) fn join(
        &self,
        framework_id: &str,
        executor_id: &str,
        attach: Attach,
        fresh: Subscription,
    ) -> Option<Joined> {
        let mut table = self.0.lock().ok()?;
        let sub = table
            .entry(key(framework_id, executor_id))
            .or_insert_with(|| fresh.clone());
        let joined = if Arc::ptr_eq(&sub.inbox, &fresh.inbox) {
            Joined::New(fresh)
        } else {
            Joined::Session(sub.clone())
        };
        Inbox::push(&sub.inbox, FromExecutor::Attach(attach));
        Some(joined)
    }

    /// Takes the subscription whose inbox is `inbox` out of the table
    /// (its session has stopped).
    pub(super) fn remove(&self, framework_id: &str, executor_id: &str, inbox: &SharedInbox) {
        if let Ok(mut table) = self.0.lock() {
            take(&mut table, framework_id, executor_id, inbox);
        }
    }

    /// Takes the subscription whose inbox is `inbox` out of the table,
    /// unless something waits in that inbox (a SUBSCRIBE the session has
    /// yet to see). True: gone, its session may stop.
    pub(super) fn retire(
        &self,
        framework_id: &str,
        executor_id: &str,
        inbox: &SharedInbox,
    ) -> bool {
        let Ok(mut table) = self.0.lock() else {
            return true;
        };
        if Inbox::is_pending(inbox) {
            return false;
        }
        take(&mut table, framework_id, executor_id, inbox);
        true
    }
}

/// Removes the executor's subscription from `table` if its inbox is
/// `inbox` (a later SUBSCRIBE's is left alone).
fn take(
    table: &mut BTreeMap<(String, String), Subscription>,
    framework_id: &str,
    executor_id: &str,
    inbox: &SharedInbox,
) {
    let key = key(framework_id, executor_id);
    if table
        .get(&key)
        .is_some_and(|s| Arc::ptr_eq(&s.inbox, inbox))
    {
        table.remove(&key);
    }
}
