//! What a v1 event stream needs between the actor that produces its
//! events (a session: a framework's on the master, an executor's on an
//! agent) and the HTTP response that writes them:
//!
//! - a queue bounded by bytes ([`queue`]): a node can send a burst far
//!   bigger than a client reads at once (a reconciliation of many tasks),
//!   and that must not end the stream, while a client that stops reading
//!   must not grow the node's memory without bound;
//! - an in-process inbox of calls ([`Inbox`]) the HTTP handlers fill and
//!   the session drains when [`Poke`]d. Calls do not travel as messages:
//!   a frame's sender is what the sending node claims, so a message could
//!   be forged from outside the process; a poke carries nothing;
//! - the response body ([`event_body`]), which writes whatever is queued
//!   as one chunk and tells the session when the client goes away.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use corral_runtime::{message, Node, Pid};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The most bytes of events queued for one client; past it the stream is
/// closed (the client re-subscribes and reconciles).
pub const MAX_QUEUED_BYTES: usize = 128 << 20;

/// Why an event could not be queued; either way the session ends.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The client has not read [`MAX_QUEUED_BYTES`].
    #[error("the client is not reading")]
    Full,
    /// The client went away.
    #[error("the client went away")]
    Closed,
}

/// The session's end.
pub struct EventSender {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
}

/// The response's end.
pub struct EventReceiver {
    rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

/// A new, empty queue.
pub fn queue() -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let sender = EventSender {
        tx,
        queued: queued.clone(),
    };
    (sender, EventReceiver { rx, queued })
}

impl EventSender {
    /// Queues one encoded event (JSON or protobuf), framed as a RecordIO
    /// record.
    pub fn send(&self, event: &[u8]) -> Result<(), Refused> {
        let record = Bytes::from(super::recordio::frame(event));
        let len = record.len();
        if self.queued.load(Ordering::Acquire) + len > MAX_QUEUED_BYTES {
            return Err(Refused::Full);
        }
        self.queued.fetch_add(len, Ordering::AcqRel);
        self.tx.send(record).map_err(|_| Refused::Closed)
    }
}

impl EventReceiver {
    /// The next event, waiting for one; None once the session has ended.
    pub async fn recv(&mut self) -> Option<Bytes> {
        let record = self.rx.recv().await?;
        self.queued.fetch_sub(record.len(), Ordering::AcqRel);
        Some(record)
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        let record = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(record.len(), Ordering::AcqRel);
        Some(record)
    }
}

/// The most bytes of queued events written as one chunk.
const MAX_CHUNK_BYTES: usize = 256 * 1024;

/// What the HTTP side hands a session: calls, and whether the client went
/// away.
pub struct Inbox<T> {
    calls: VecDeque<T>,
    closed: bool,
}

/// An inbox shared by a session and the HTTP handlers.
pub type SharedInbox<T> = Arc<Mutex<Inbox<T>>>;

/// What a session finds in its inbox.
pub enum Next<T> {
    /// A call to carry out.
    Call(T),
    /// Nothing more for now.
    Empty,
    /// The client went away: the session ends.
    Closed,
}

impl<T> Inbox<T> {
    /// A new, empty inbox to share.
    pub fn shared() -> SharedInbox<T> {
        Arc::new(Mutex::new(Inbox {
            calls: VecDeque::new(),
            closed: false,
        }))
    }

    /// Queues a call (the caller then pokes the session).
    pub fn push(inbox: &SharedInbox<T>, call: T) {
        if let Ok(mut i) = inbox.lock() {
            i.calls.push_back(call);
        }
    }

    /// Marks the client gone (the caller then pokes the session); what
    /// was queued is dropped, as nobody will carry it out.
    pub fn close(inbox: &SharedInbox<T>) {
        if let Ok(mut i) = inbox.lock() {
            i.closed = true;
            i.calls.clear();
        }
    }

    /// Whether something is queued (a poisoned lock counts as nothing).
    pub fn is_pending(inbox: &SharedInbox<T>) -> bool {
        inbox.lock().is_ok_and(|i| !i.calls.is_empty())
    }

    /// The next thing for the session. A poisoned lock (a handler panicked
    /// mid-push) ends the session rather than guess what was queued.
    pub fn next(inbox: &SharedInbox<T>) -> Next<T> {
        match inbox.lock() {
            Ok(mut i) if !i.closed => i.calls.pop_front().map_or(Next::Empty, Next::Call),
            _ => Next::Closed,
        }
    }
}

/// "Look in your inbox."
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Poke;
message!(Poke = "v1.Poke");

/// Runs its closure when actix drops the response body (the connection
/// closed).
struct Hangup<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for Hangup<F> {
    fn drop(&mut self) {
        if let Some(tell) = self.0.take() {
            tell();
        }
    }
}

/// What a session whose stream is its whole life hears when its client
/// goes away: its `inbox` (on `node`) is closed and it is poked.
pub fn close_inbox<T: 'static>(
    node: Arc<Node>,
    session: Pid,
    inbox: SharedInbox<T>,
) -> impl FnOnce() + 'static {
    move || {
        Inbox::close(&inbox);
        node.send(&session, Poke);
    }
}

/// The response body of a subscription: the events `rx` gets, whatever is
/// queued written as one chunk; when actix drops it, `on_hangup` runs
/// (e.g. [`close_inbox`]).
pub fn event_body(
    rx: EventReceiver,
    on_hangup: impl FnOnce() + 'static,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let guard = Hangup(Some(on_hangup));
    stream::unfold((rx, guard), |(mut rx, guard)| async move {
        let mut chunk = rx.recv().await?.to_vec();
        while chunk.len() < MAX_CHUNK_BYTES {
            match rx.try_recv() {
                Some(record) => chunk.extend_from_slice(&record),
                None => break,
            }
        }
        Some((Ok(Bytes::from(chunk)), (rx, guard)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_not_events_are_bounded_and_reading_frees_them() {
        let (tx, mut rx) = queue();
        // Framed with its 8-digit length and a newline, half the bound.
        let half = vec![0u8; MAX_QUEUED_BYTES / 2 - 9];
        assert_eq!(tx.send(&half), Ok(()));
        assert_eq!(tx.send(&half), Ok(()));
        assert_eq!(tx.send(b"x"), Err(Refused::Full));
        assert_eq!(rx.try_recv().map(|b| b.len()), Some(MAX_QUEUED_BYTES / 2));
        assert_eq!(tx.send(b"x"), Ok(()));
        drop(rx);
        assert_eq!(tx.send(b"y"), Err(Refused::Closed));
    }
}
