//! The events of one subscription on their way from its session to the
//! HTTP response, bounded by bytes: the master can send a burst far
//! bigger than a client reads at once (a reconciliation of many tasks),
//! and that must not end the stream, while a client that stops reading
//! must not grow the master's memory without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// The most bytes of events queued for one client; past it the stream is
/// closed (the client re-subscribes and reconciles).
pub(super) const MAX_QUEUED_BYTES: usize = 128 << 20;

/// Why an event could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The client has not read [`MAX_QUEUED_BYTES`].
    Full,
    /// The client went away.
    Closed,
}

/// The session's end.
pub(super) struct EventSender {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
}

/// The response's end.
pub(super) struct EventReceiver {
    rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

/// A new, empty queue.
pub(super) fn queue() -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let sender = EventSender {
        tx,
        queued: queued.clone(),
    };
    (sender, EventReceiver { rx, queued })
}

impl EventSender {
    /// Queues one framed event.
    pub(super) fn send(&self, record: Bytes) -> Result<(), Refused> {
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
    pub(super) async fn recv(&mut self) -> Option<Bytes> {
        let record = self.rx.recv().await?;
        self.queued.fetch_sub(record.len(), Ordering::AcqRel);
        Some(record)
    }

    /// The next event if one is queued.
    pub(super) fn try_recv(&mut self) -> Option<Bytes> {
        let record = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(record.len(), Ordering::AcqRel);
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_not_events_are_bounded_and_reading_frees_them() {
        let (tx, mut rx) = queue();
        let big = Bytes::from(vec![0u8; MAX_QUEUED_BYTES / 2]);
        assert_eq!(tx.send(big.clone()), Ok(()));
        assert_eq!(tx.send(big.clone()), Ok(()));
        assert_eq!(tx.send(Bytes::from_static(b"x")), Err(Refused::Full));
        assert_eq!(rx.try_recv().map(|b| b.len()), Some(big.len()));
        assert_eq!(tx.send(Bytes::from_static(b"x")), Ok(()));
        drop(rx);
        assert_eq!(tx.send(Bytes::from_static(b"y")), Err(Refused::Closed));
    }
}
