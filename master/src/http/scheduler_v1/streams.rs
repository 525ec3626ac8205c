//! Which session serves each HTTP framework, and with which stream id:
//! the table a call is checked against before it reaches a session.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use corral_runtime::Pid;

use corral_http::v1::stream;

use super::calls::Relay;

/// The inbox of a framework's calls.
pub(super) type SharedInbox = stream::SharedInbox<Relay>;

/// The subscription serving one framework.
#[derive(Clone)]
pub(super) struct Stream {
    pub stream_id: String,
    pub session: Pid,
    pub inbox: SharedInbox,
}

/// Framework id → its current subscription, shared by the handlers and
/// the sessions.
#[derive(Clone, Default)]
pub(in crate::http) struct Streams(Arc<Mutex<BTreeMap<String, Stream>>>);

impl Streams {
    /// The current subscription of `framework_id`.
    pub(super) fn get(&self, framework_id: &str) -> Option<Stream> {
        self.0.lock().ok()?.get(framework_id).cloned()
    }

    /// Makes `stream_id` (of `session`) the framework's subscription, in
    /// place of any earlier one.
    pub(super) fn insert(
        &self,
        framework_id: &str,
        stream_id: &str,
        session: Pid,
        inbox: SharedInbox,
    ) {
        if let Ok(mut m) = self.0.lock() {
            let stream = Stream {
                stream_id: stream_id.to_owned(),
                session,
                inbox,
            };
            m.insert(framework_id.to_owned(), stream);
        }
    }

    /// Forgets the framework's subscription if it is still `stream_id` (a
    /// newer one stays).
    pub(super) fn remove(&self, framework_id: &str, stream_id: &str) {
        if let Ok(mut m) = self.0.lock() {
            if m.get(framework_id)
                .is_some_and(|s| s.stream_id == stream_id)
            {
                m.remove(framework_id);
            }
        }
    }
}
