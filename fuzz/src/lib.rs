//! What the fuzz targets share: one actor registered for every message a
//! Corral node decodes from its peers, on a real [`Kernel`], so frames go
//! through the same path as on a node (frame reader, header, handler
//! table, body decode).
//!
//! The list below is every `message!` of `corral-api` (the protocols
//! between masters, agents, executors and frameworks) and of
//! `corral-master` (the registrar's Raft traffic between masters, the
//! allocator's and the operator's). `corral-agent`'s and
//! `corral-executor`'s own messages are asked only inside their node, and
//! those crates would bring Docker's client into the build, so they are
//! left out.

pub mod http;

use std::net::SocketAddr;
use std::sync::Arc;

use corral_runtime::codec::{self, Corr, Frame, FrameReader, Header};
use corral_runtime::{
    Actor, Ctx, Handler, Handlers, Kernel, KernelConfig, Message, Metrics, MetricsSnapshot, Pid,
};

/// The name the sink actor runs under on the fuzzed kernel.
pub const SINK: &str = "sink";

/// The largest frame the fuzzed kernel accepts: small, so the oversized
/// path is reachable by inputs libFuzzer keeps (4 KiB by default).
pub const MAX_FRAME_BYTES: usize = 1024;

/// The limit when the message bodies themselves are fuzzed: larger than
/// any input libFuzzer makes, so none is cut off as oversized.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

macro_rules! wire_messages {
    ($($ty:path),* $(,)?) => {
        /// The wire name of every message the sink handles, in list order.
        pub const NAMES: &[&str] = &[$(<$ty as Message>::NAME),*];

        impl Actor for Sink {
            fn handlers(h: &mut Handlers<Self>) {
                $(h.on::<$ty>();)*
            }
        }
    };
}

wire_messages!(
    corral_api::framework::Subscribe,
    corral_api::framework::Accept,
    corral_api::framework::Decline,
    corral_api::framework::Revive,
    corral_api::framework::Suppress,
    corral_api::framework::Kill,
    corral_api::framework::Acknowledge,
    corral_api::framework::Reconcile,
    corral_api::framework::Teardown,
    corral_api::framework::Subscribed,
    corral_api::framework::Offers,
    corral_api::framework::Rescind,
    corral_api::framework::Update,
    corral_api::framework::Heartbeat,
    corral_api::framework::FrameworkError,
    corral_api::framework::FrameworkMessage,
    corral_api::framework::ExecutorMessage,
    corral_api::framework::Failure,
    corral_api::agent::RegisterAgent,
    corral_api::agent::RegistrationRefused,
    corral_api::agent::AgentRegistered,
    corral_api::agent::Ping,
    corral_api::agent::Pong,
    corral_api::agent::RunTasks,
    corral_api::agent::KillTask,
    corral_api::agent::StatusUpdate,
    corral_api::agent::StatusAck,
    corral_api::agent::ShutdownFramework,
    corral_api::agent::ShutdownAgent,
    corral_api::agent::FrameworkToExecutor,
    corral_api::agent::ExecutorToFramework,
    corral_api::agent::ExitedExecutor,
    corral_api::leader::NotLeader,
    corral_api::leader::LeaderElected,
    corral_api::executor::RegisterExecutor,
    corral_api::executor::ReregisterExecutor,
    corral_api::executor::ExecutorReregistered,
    corral_api::executor::RunTask,
    corral_api::executor::KillTask,
    corral_api::executor::ExecutorUpdate,
    corral_api::executor::UpdateAck,
    corral_api::executor::ShutdownExecutor,
    corral_api::executor::FrameworkMessage,
    corral_api::executor::ExecutorMessage,
    corral_master::registrar::Raft,
    corral_master::registrar::Propose,
    corral_master::registrar::Proposed,
    corral_master::registrar::GetLeader,
    corral_master::registrar::LeaderInfo,
    corral_master::registrar::GetRegistry,
    corral_master::registrar::RegistrySnapshot,
    corral_master::allocator::messages::AddAgent,
    corral_master::allocator::messages::RemoveAgent,
    corral_master::allocator::messages::AddFramework,
    corral_master::allocator::messages::RemoveFramework,
    corral_master::allocator::messages::Recover,
    corral_master::allocator::messages::HoldOrphaned,
    corral_master::allocator::messages::ReleaseOrphaned,
    corral_master::allocator::messages::SuppressOffers,
    corral_master::allocator::messages::ReviveOffers,
    corral_master::allocator::messages::Allocations,
    corral_master::allocator::messages::GetCycleTimes,
    corral_master::allocator::cycles::CycleTimes,
    corral_master::state::GetState,
    corral_master::state::MasterState,
    corral_master::state::GetMetrics,
    corral_master::state::MasterMetrics,
    corral_master::state::GetLeadership,
    corral_master::state::Leadership,
    corral_master::state::OperatorKill,
    corral_master::state::OperatorTeardown,
    corral_master::state::KillOutcome,
);

/// Handles every listed message by checking that what decoded encodes
/// again and reads back the same.
pub struct Sink;

impl<M: Message> Handler<M> for Sink {
    fn handle(&mut self, msg: M, _ctx: &mut Ctx<'_, Self>) {
        assert_round_trip(&msg);
    }
}

/// A decoded message must encode, and its encoding must decode to a value
/// that encodes the same (byte equality stands in for `PartialEq`, which
/// not every message has).
pub fn assert_round_trip<M: Message>(msg: &M) {
    let bytes = codec::encode(msg)
        .unwrap_or_else(|e| panic!("{} decoded but does not encode: {e}", M::NAME));
    let back: M = codec::decode(&bytes, usize::MAX)
        .unwrap_or_else(|e| panic!("{} re-encoded does not decode: {e}", M::NAME));
    let again = codec::encode(&back)
        .unwrap_or_else(|e| panic!("{} decoded twice does not encode: {e}", M::NAME));
    assert_eq!(bytes, again, "{} changed through a round trip", M::NAME);
}

/// The peer the fuzzed frames come from.
pub fn peer() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 5051))
}

/// A pid on the peer, as the sender of built frames.
pub fn peer_pid() -> Pid {
    match Pid::new("peer", peer()) {
        Ok(pid) => pid,
        Err(e) => panic!("a constant pid is valid: {e}"),
    }
}

/// A kernel at 10.0.0.1:5050 that takes frames of up to
/// `max_frame_bytes`, with the sink running.
pub fn kernel(max_frame_bytes: usize) -> Kernel {
    let cfg = KernelConfig {
        addr: SocketAddr::from(([10, 0, 0, 1], 5050)),
        seed: 0,
        unix_epoch_ms: 0,
        max_message_bytes: max_frame_bytes,
        max_backlog_bytes: 1 << 20,
        encode_local: false,
    };
    let mut k = Kernel::new(cfg, Arc::new(Metrics::default()));
    if let Err(e) = k.spawn_actor(SINK, Sink) {
        panic!("the sink spawns on an empty kernel: {e}");
    }
    k.run(usize::MAX);
    k
}

/// Feeds `stream` to a frame reader of frames up to `max_frame_bytes`, in
/// chunks of `chunk_bytes`, and every whole frame to `k`, running it after
/// each; returns the frames handed over. Nothing it is fed may panic;
/// errors are what bad frames get.
pub fn feed_stream(
    k: &mut Kernel,
    stream: &[u8],
    chunk_bytes: usize,
    max_frame_bytes: usize,
) -> usize {
    let mut reader = FrameReader::new(max_frame_bytes);
    let mut frames = 0;
    for chunk in stream.chunks(chunk_bytes.max(1)) {
        reader.push(chunk);
        while let Some(frame) = reader.next_frame() {
            if let Frame::Whole(payload) = frame {
                assert!(payload.len() <= max_frame_bytes, "a frame over the limit");
                frames += 1;
                let _ = k.handle_frame(peer(), None, payload);
                k.run(usize::MAX);
                // What the kernel would write back (exits, ask failures)
                // must be whole frames.
                for out in k.take_outgoing() {
                    check_outgoing(&out.bytes);
                    k.note_written(out.addr, out.bytes.len());
                }
            }
        }
    }
    frames
}

/// Every outgoing batch is whole frames, each with a header that decodes.
fn check_outgoing(bytes: &[u8]) {
    let mut reader = FrameReader::new(usize::MAX);
    reader.push(bytes);
    while let Some(frame) = reader.next_frame() {
        let Frame::Whole(payload) = frame else {
            panic!("an unlimited reader skipped a frame")
        };
        if let Err(e) = codec::split_frame(payload) {
            panic!("the kernel wrote a frame whose header does not decode: {e}");
        }
    }
    assert_eq!(
        reader.leftover_bytes(),
        0,
        "the kernel wrote part of a frame"
    );
}

/// One message frame (length prefix included) to the sink, named
/// `name`, with `body` as its encoded body.
pub fn message_frame(name: &str, corr: Corr, body: &[u8]) -> Vec<u8> {
    let from = peer_pid();
    let header = Header::Msg {
        to: SINK,
        from,
        name,
        corr,
    };
    let mut payload = match codec::encode(&header) {
        Ok(bytes) => bytes,
        Err(e) => panic!("a header encodes: {e}"),
    };
    payload.extend_from_slice(body);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut frame = len.to_le_bytes().to_vec();
    frame.extend_from_slice(&payload);
    frame
}

/// The kernel's counters, to check what became of the frames.
pub fn counters(k: &Kernel) -> MetricsSnapshot {
    k.metrics().snapshot()
}
