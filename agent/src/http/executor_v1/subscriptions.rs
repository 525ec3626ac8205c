//! Which session serves each v1 executor on this agent, by framework and
//! executor id: the table an executor's call is checked against.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use corral_runtime::Pid;

use corral_api::executor::ExecutorUpdate;
use corral_http::v1::stream;

/// The inbox of an executor's status updates, in Corral's words.
pub(super) type SharedInbox = stream::SharedInbox<ExecutorUpdate>;

/// The subscription of one executor.
#[derive(Clone)]
pub(super) struct Subscription {
    pub session: Pid,
    pub inbox: SharedInbox,
    pub agent_id: String,
}

/// (framework id, executor id) → its current subscription, shared by the
/// handlers and the sessions.
#[derive(Clone, Default)]
pub(in crate::http) struct Subscriptions(Arc<Mutex<BTreeMap<(String, String), Subscription>>>);

impl Subscriptions {
    pub(super) fn get(&self, framework_id: &str, executor_id: &str) -> Option<Subscription> {
        let key = (framework_id.to_owned(), executor_id.to_owned());
        self.0.lock().ok()?.get(&key).cloned()
    }

    /// Makes `sub` the executor's subscription, in place of an earlier one
    /// (an executor that re-subscribes).
    pub(super) fn insert(&self, framework_id: &str, executor_id: &str, sub: Subscription) {
        if let Ok(mut m) = self.0.lock() {
            m.insert((framework_id.to_owned(), executor_id.to_owned()), sub);
        }
    }

    /// Forgets the executor's subscription if it is still `session`'s.
    pub(super) fn remove(&self, framework_id: &str, executor_id: &str, session: &Pid) {
        if let Ok(mut m) = self.0.lock() {
            let key = (framework_id.to_owned(), executor_id.to_owned());
            if m.get(&key).is_some_and(|s| &s.session == session) {
                m.remove(&key);
            }
        }
    }
}
