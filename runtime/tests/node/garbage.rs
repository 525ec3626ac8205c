//! Hostile input: raw UDP junk and a raw QUIC client writing bad frames.
//! The node must count and drop them, keep the connection's good traffic, and
//! keep every actor working.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use corral_runtime::codec::{append_frame, Corr, Header};
use corral_runtime::node::tls::{endpoint_configs, TlsConfig, TransportTuning, SERVER_NAME};
use corral_runtime::{Message, Pid};

use crate::actors::{GetStats, Ping, Pong, Report, Seq, Stats, WaitFor};
use crate::child::{Child, ChildOpts};
use crate::{parent, ASK};

fn raw_endpoint() -> quinn::Endpoint {
    let tuning = TransportTuning {
        idle_timeout: Duration::from_secs(5),
        keep_alive: Duration::from_secs(1),
    };
    // A node's own client config trusts any server without a CA: exactly what
    // a raw client needs.
    let (_, client) = endpoint_configs(&TlsConfig::default(), &tuning).unwrap();
    let mut ep = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    ep.set_default_client_config(client);
    ep
}

fn frame<B: serde::Serialize>(header: &Header<'_>, body: Option<&B>) -> Vec<u8> {
    let mut buf = Vec::new();
    append_frame(&mut buf, header, body, 1 << 20).unwrap();
    buf
}

async fn raw_session(node: SocketAddr) {
    let ep = raw_endpoint();
    // 1. A stream that does not start with a hello is refused.
    let conn = ep.connect(node, SERVER_NAME).unwrap().await.unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    send.write_all(b"\x05\x00\x00\x00hello world, not a frame")
        .await
        .unwrap();
    let _ = send.finish();
    let mut sink = Vec::new();
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        recv.read_to_end(1024).await.map(|b| sink = b)
    })
    .await;
    assert!(
        !matches!(refused, Ok(Ok(()))),
        "bad stream must be reset, got {sink:?}"
    );

    // 2. A stream with a valid hello, then bad frames around a good one.
    let (mut send, _recv) = conn.open_bi().await.unwrap();
    let me: SocketAddr = ep.local_addr().unwrap();
    send.write_all(&frame::<()>(
        &Header::Hello {
            addr: me,
            incarnation: 1,
        },
        None,
    ))
    .await
    .unwrap();
    // Oversized: announced 64 MiB (limit 16 MiB), followed by 100 KiB of it.
    let mut oversized = (64u32 << 20).to_le_bytes().to_vec();
    oversized.extend(std::iter::repeat_n(0xEE, 100 * 1024));
    send.write_all(&oversized).await.unwrap();
    // The rest of the announced 64 MiB, so the reader's skip ends exactly here.
    let rest = (64usize << 20) - 100 * 1024;
    let zeros = vec![0u8; 1 << 20];
    let mut left = rest;
    while left > 0 {
        let n = left.min(zeros.len());
        send.write_all(&zeros[..n]).await.unwrap();
        left -= n;
    }
    // Garbage inside a well-formed length.
    send.write_all(&[7, 0, 0, 0, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0xFA, 0xF9])
        .await
        .unwrap();
    // A message whose body does not decode as its type.
    let from = Pid::new("raw", me).unwrap();
    send.write_all(&seq_frame(&from, &"not a u64 at all, a string"))
        .await
        .unwrap();
    // A good message after all that.
    send.write_all(&seq_frame(&from, &Seq(0))).await.unwrap();
    // A frame cut short by the end of the stream.
    send.write_all(&[200, 0, 0, 0, 1, 2, 3]).await.unwrap();
    let _ = send.finish();
    let _ = tokio::time::timeout(Duration::from_secs(5), send.stopped()).await;
    conn.close(0u32.into(), b"done");
    ep.wait_idle().await;
}

/// A frame addressed to the child's sink as a `Seq`, with any body.
fn seq_frame(from: &Pid, body: &impl serde::Serialize) -> Vec<u8> {
    let h = Header::Msg {
        to: "sink",
        from: from.clone(),
        name: Seq::NAME,
        corr: Corr::Tell,
    };
    frame(&h, Some(body))
}

#[test]
fn garbage_from_raw_udp_and_raw_quic_does_not_crash_the_node() {
    let child = Child::start(ChildOpts::default());
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..200u32 {
        let len = (i as usize * 37) % 1400 + 1;
        let bytes: Vec<u8> = (0..len).map(|j| (i as usize * 31 + j * 7) as u8).collect();
        junk.send_to(&bytes, child.addr).unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(raw_session(child.addr));

    let node = parent(Duration::from_secs(5));
    // The good message between the bad ones arrived.
    let report: Report = node.ask(&child.pid("sink"), WaitFor(1), ASK).unwrap();
    assert_eq!(
        report,
        Report {
            count: 1,
            out_of_order: 0,
            last: Some(0)
        }
    );
    let stats: Stats = node.ask(&child.pid("stats"), GetStats, ASK).unwrap();
    assert_eq!(stats.bad_streams, 1, "{stats:?}");
    assert_eq!(stats.oversized_frames, 1, "{stats:?}");
    assert_eq!(
        stats.decode_errors, 2,
        "garbage frame + bad body: {stats:?}"
    );
    assert_eq!(stats.truncated_frames, 1, "{stats:?}");
    // And the node still serves everyone.
    assert_eq!(node.ask(&child.pid("pong"), Ping(9), ASK), Ok(Pong(10)));
}
