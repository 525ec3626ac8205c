//! Connections between nodes: dialing, accepting, the hello exchange, and
//! the reader and writer task of each connection.
//!
//! Each side of a peer pair sends on exactly one bidirectional stream of one
//! connection, which is what keeps per-sender order. A node dials a peer the
//! first time it has something for it; an accepted connection is adopted for
//! sending too when the node has none to that peer, so a pair normally shares
//! one connection. Every stream starts with a hello frame naming the sender's
//! advertised address and incarnation (a random number per process start): a
//! new incarnation means the peer restarted, so links to its old actors fire
//! `exited` at once instead of after the link timeout.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use quinn::{Connection, RecvStream, SendStream};
use tokio::sync::Notify;

use super::host::{Host, Peer};
use super::tls::{self, SERVER_NAME};
use crate::codec::{self, Frame, FrameReader, Header};
use crate::kernel::Outgoing;
use crate::metrics::Metrics;

/// Largest read from a stream at once.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Application error codes on QUIC streams and connections.
const CODE_BAD_STREAM: u32 = 1;
const CODE_PEER_FAILED: u32 = 2;

/// Queues frames for a peer, dialing it if this node has no connection.
pub(crate) fn route(host: &Rc<Host>, out: Outgoing) {
    let mut peers = host.peers.borrow_mut();
    if let Some(peer) = peers.get_mut(&out.addr) {
        peer.queue.push_back(out);
        peer.writer.notify_one();
        return;
    }
    let addr = out.addr;
    let mut peer = Peer::new();
    peer.queue.push_back(out);
    peers.insert(addr, peer);
    actix_rt::spawn(dial(host.clone(), addr));
}

fn hello(host: &Host) -> Vec<u8> {
    let mut buf = Vec::new();
    let header = Header::Hello {
        addr: host.addr,
        incarnation: host.incarnation,
    };
    // A hello is a few dozen bytes; it always fits.
    let _ = codec::append_frame::<()>(&mut buf, &header, None, host.cfg.max_message_bytes);
    buf
}

async fn dial(host: Rc<Host>, addr: SocketAddr) {
    let result = async {
        let conn = host.endpoint.connect(addr, SERVER_NAME)?.await?;
        let (mut send, recv) = conn.open_bi().await?;
        send.write_all(&hello(&host)).await?;
        Ok::<_, DialError>((conn, send, recv))
    }
    .await;
    match result {
        Ok((conn, send, recv)) => {
            Metrics::inc(&host.metrics.connections_opened);
            tracing::debug!(peer = %addr, "connected");
            let attached = {
                let mut peers = host.peers.borrow_mut();
                match peers.get_mut(&addr) {
                    Some(peer) if peer.conn.is_none() => {
                        peer.conn = Some(conn.clone());
                        Some(peer.writer.clone())
                    }
                    _ => None,
                }
            };
            let Some(writer) = attached else {
                // The peer entry went away (failed or replaced) while dialing.
                conn.close(CODE_PEER_FAILED.into(), b"superseded");
                return;
            };
            actix_rt::spawn(write_loop(host.clone(), addr, conn.clone(), send, writer));
            let certified = certified(&host, &conn);
            actix_rt::spawn(watch(host.clone(), addr, conn));
            actix_rt::spawn(read_dialed(host, addr, certified, recv));
        }
        Err(e) => {
            tracing::warn!(peer = %addr, error = %e, "cannot connect");
            peer_failed(&host, addr, None);
        }
    }
}

/// What can fail while dialing a peer and sending the hello.
#[derive(Debug, thiserror::Error)]
enum DialError {
    #[error(transparent)]
    Connect(#[from] quinn::ConnectError),
    #[error(transparent)]
    Connection(#[from] quinn::ConnectionError),
    #[error(transparent)]
    Write(#[from] quinn::WriteError),
}

/// The peer at `addr` is gone (or the connection `conn_id` to it is): forget
/// it, drop what was queued, and let the kernel fire links.
fn peer_failed(host: &Rc<Host>, addr: SocketAddr, conn_id: Option<usize>) {
    let peer = {
        let mut peers = host.peers.borrow_mut();
        match peers.get(&addr) {
            Some(p) if p.conn_id() == conn_id => peers.remove(&addr),
            _ => None,
        }
    };
    let Some(peer) = peer else {
        return;
    };
    Metrics::inc(&host.metrics.connections_lost);
    let dropped: u64 = peer.queue.iter().map(|o| o.msgs).sum();
    Metrics::add(&host.metrics.dropped_unreachable, dropped);
    if let Some(conn) = &peer.conn {
        conn.close(CODE_PEER_FAILED.into(), b"peer failed");
    }
    // Wake the old writer so it sees it is no longer current and exits.
    peer.writer.notify_one();
    tracing::info!(peer = %addr, dropped, "peer down");
    host.kernel.borrow_mut().handle_peer_down(addr);
    host.wake.notify_one();
}

async fn watch(host: Rc<Host>, addr: SocketAddr, conn: Connection) {
    let reason = conn.closed().await;
    tracing::debug!(peer = %addr, %reason, "connection closed");
    peer_failed(&host, addr, Some(conn.stable_id()));
}

async fn write_loop(
    host: Rc<Host>,
    addr: SocketAddr,
    conn: Connection,
    mut send: SendStream,
    wake: Rc<Notify>,
) {
    let conn_id = Some(conn.stable_id());
    loop {
        let batch: Vec<Outgoing> = {
            let mut peers = host.peers.borrow_mut();
            match peers.get_mut(&addr) {
                Some(p) if p.conn_id() == conn_id => p.queue.drain(..).collect(),
                _ => return,
            }
        };
        if batch.is_empty() {
            wake.notified().await;
            continue;
        }
        let bytes: usize = batch.iter().map(|o| o.bytes.len()).sum();
        let msgs: u64 = batch.iter().map(|o| o.msgs).sum();
        let mut chunks: Vec<Bytes> = batch.into_iter().map(|o| Bytes::from(o.bytes)).collect();
        match send.write_all_chunks(&mut chunks).await {
            Ok(()) => {
                Metrics::add(&host.metrics.bytes_sent, bytes as u64);
                host.kernel.borrow_mut().note_written(addr, bytes);
            }
            Err(e) => {
                tracing::debug!(peer = %addr, error = %e, "write failed");
                Metrics::add(&host.metrics.dropped_unreachable, msgs);
                peer_failed(&host, addr, conn_id);
                return;
            }
        }
    }
}

pub(crate) async fn accept_loop(host: Rc<Host>) {
    while let Some(incoming) = host.endpoint.accept().await {
        actix_rt::spawn(accept_conn(host.clone(), incoming));
    }
}

async fn accept_conn(host: Rc<Host>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            Metrics::inc(&host.metrics.handshakes_refused);
            tracing::warn!(%remote, error = %e, "refused connection");
            return;
        }
    };
    Metrics::inc(&host.metrics.connections_opened);
    while let Ok((send, recv)) = conn.accept_bi().await {
        actix_rt::spawn(serve_accepted(host.clone(), conn.clone(), send, recv));
    }
}

/// Reads the hello a stream must start with; None if it does not.
async fn read_hello(
    host: &Host,
    recv: &mut RecvStream,
    reader: &mut FrameReader,
) -> Option<(SocketAddr, u64)> {
    let wait = async {
        loop {
            if let Some(frame) = reader.next_frame() {
                return match frame {
                    Frame::Whole(payload) => match codec::split_frame(payload) {
                        Ok((Header::Hello { addr, incarnation }, _)) => Some((addr, incarnation)),
                        _ => None,
                    },
                    Frame::Oversized { .. } => None,
                };
            }
            match recv.read_chunk(READ_CHUNK_BYTES, true).await {
                Ok(Some(chunk)) => reader.push(&chunk.bytes),
                _ => return None,
            }
        }
    };
    tokio::time::timeout(host.cfg.link_timeout, wait)
        .await
        .ok()
        .flatten()
}

async fn serve_accepted(
    host: Rc<Host>,
    conn: Connection,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let mut reader = FrameReader::new(host.cfg.max_message_bytes);
    let Some((peer, incarnation)) = read_hello(&host, &mut recv, &mut reader).await else {
        Metrics::inc(&host.metrics.bad_streams);
        tracing::warn!(remote = %conn.remote_address(), "stream without a valid hello; refused");
        let _ = recv.stop(CODE_BAD_STREAM.into());
        let _ = send.reset(CODE_BAD_STREAM.into());
        return;
    };
    if send.write_all(&hello(&host)).await.is_err() {
        return;
    }
    adopt(&host, peer, incarnation, &conn, send);
    let certified = certified(&host, &conn);
    read_frames(host, peer, certified, recv, reader).await;
}

/// The principal the peer on `conn` proved with its certificate, if this
/// node runs mutual TLS (only then did the cluster CA vouch for it).
fn certified(host: &Host, conn: &Connection) -> Option<Arc<str>> {
    host.cfg.tls.ca_pem.as_ref()?;
    tls::certified_principal(conn)
}

/// Decides whether an accepted stream becomes this node's way to send to `peer`.
fn adopt(host: &Rc<Host>, peer: SocketAddr, incarnation: u64, conn: &Connection, send: SendStream) {
    let restarted = {
        let peers = host.peers.borrow();
        match peers.get(&peer) {
            None => false,
            Some(p) if p.incarnation.is_some_and(|i| i != incarnation) => true,
            // Dialing or already connected to this run of the peer: keep ours.
            Some(_) => return,
        }
    };
    if restarted {
        tracing::info!(%peer, "peer restarted");
        let old = host.peers.borrow().get(&peer).and_then(Peer::conn_id);
        peer_failed(host, peer, old);
    }
    let mut p = Peer::new();
    p.conn = Some(conn.clone());
    p.incarnation = Some(incarnation);
    let writer = p.writer.clone();
    host.peers.borrow_mut().insert(peer, p);
    actix_rt::spawn(write_loop(host.clone(), peer, conn.clone(), send, writer));
    actix_rt::spawn(watch(host.clone(), peer, conn.clone()));
}

async fn read_dialed(
    host: Rc<Host>,
    addr: SocketAddr,
    certified: Option<Arc<str>>,
    mut recv: RecvStream,
) {
    let mut reader = FrameReader::new(host.cfg.max_message_bytes);
    let Some((said, incarnation)) = read_hello(&host, &mut recv, &mut reader).await else {
        Metrics::inc(&host.metrics.bad_streams);
        tracing::warn!(peer = %addr, "peer answered without a valid hello");
        return;
    };
    if said != addr {
        tracing::warn!(peer = %addr, said = %said, "peer advertises another address");
    }
    if let Some(p) = host.peers.borrow_mut().get_mut(&addr) {
        p.incarnation = Some(incarnation);
    }
    read_frames(host, addr, certified, recv, reader).await;
}

/// Reads `peer`'s frames to the stream's end; `certified` is the principal
/// its certificate proved, which each of its messages carries.
async fn read_frames(
    host: Rc<Host>,
    peer: SocketAddr,
    certified: Option<Arc<str>>,
    mut recv: RecvStream,
    mut reader: FrameReader,
) {
    let certified = certified.as_ref();
    process_frames(&host, peer, certified, &mut reader);
    loop {
        match recv.read_chunk(READ_CHUNK_BYTES, true).await {
            Ok(Some(chunk)) => {
                Metrics::add(&host.metrics.bytes_received, chunk.bytes.len() as u64);
                reader.push(&chunk.bytes);
                process_frames(&host, peer, certified, &mut reader);
            }
            Ok(None) => {
                if reader.leftover_bytes() > 0 {
                    Metrics::inc(&host.metrics.truncated_frames);
                    tracing::warn!(%peer, bytes = reader.leftover_bytes(), "stream ended inside a frame");
                }
                return;
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "stream read ended");
                return;
            }
        }
        // Backpressure: stop reading (QUIC flow control then holds the
        // sender) until the actors have caught up.
        while host.kernel.borrow().queue_len() > host.cfg.max_run_queue {
            host.drained.notified().await;
        }
    }
}

fn process_frames(
    host: &Host,
    peer: SocketAddr,
    certified: Option<&Arc<str>>,
    reader: &mut FrameReader,
) {
    let mut kernel = host.kernel.borrow_mut();
    let mut any = false;
    while let Some(frame) = reader.next_frame() {
        any = true;
        match frame {
            Frame::Whole(payload) => {
                if let Err(e) = kernel.handle_frame(peer, certified, payload) {
                    Metrics::inc(&host.metrics.decode_errors);
                    tracing::warn!(%peer, error = %e, "frame dropped");
                }
            }
            Frame::Oversized { size_bytes } => {
                Metrics::inc(&host.metrics.oversized_frames);
                tracing::error!(%peer, size_bytes, max_bytes = host.cfg.max_message_bytes, "oversized frame skipped");
            }
        }
    }
    if any {
        host.wake.notify_one();
    }
}
