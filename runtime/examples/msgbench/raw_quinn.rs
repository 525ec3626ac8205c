//! Raw quinn baseline: no framing library, just a `u32` little-endian length prefix followed by
//! the payload, over plain quinn streams with a real TLS 1.3 handshake (ring provider).
//!
//! Per bidirectional stream the first byte selects the server's mode:
//! - `b'T'` (throughput): the server counts frames until the client finishes the stream, then
//!   writes the count as `u64` LE and finishes its side;
//! - `b'E'` (echo): the server writes every frame straight back, one write per frame.

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context as _};
use bytes::{BufMut as _, BytesMut};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ConnectionError, Endpoint, ReadExactError, RecvStream, SendStream, VarInt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::sync::oneshot;

/// ALPN protocol both sides insist on.
const ALPN: &[u8] = b"corral-bench";
/// Server name the client asks for (the self-signed certificate is issued for it).
const SERVER_NAME: &str = "localhost";
/// Target size of one `write_chunk` in throughput mode.
const CHUNK_BYTES: usize = 64 * 1024;
/// Largest frame the echo server will buffer.
const MAX_ECHO_FRAME: usize = 16 << 20;
/// Payload size of an rtt probe.
const RTT_PAYLOAD: usize = 64;
/// Round trips done before rtt samples are recorded.
const RTT_WARMUP: usize = 1_000;

/// Runs a raw quinn server on `listen` (current thread, blocks until the process is killed or
/// stdin closes).
///
/// Prints exactly one line `ready <socket addr>` to stdout (flushed) once listening.
/// Per bidirectional stream, the first byte selects the mode:
/// - `b'T'` throughput: read length-prefixed frames until the peer finishes the stream, count
///   them, then write the count as `u64` LE and finish;
/// - `b'E'` echo: read length-prefixed frames and write each one straight back (one write per
///   frame).
///
/// Note: stdin reaching EOF shuts the server down, so a parent process should spawn it with
/// `Stdio::piped()` stdin (closing it, or dying, then stops the server) rather than
/// `Stdio::null()`.
pub fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the raw quinn server runtime")?;
    rt.block_on(serve_async(listen))
}

async fn serve_async(listen: SocketAddr) -> anyhow::Result<()> {
    let endpoint = Endpoint::server(server_config()?, listen)
        .with_context(|| format!("binding raw quinn server on {listen}"))?;
    let local = endpoint
        .local_addr()
        .context("raw quinn server local address")?;
    let mut stdin_closed = stdin_eof()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {local}").context("writing the ready line")?;
        out.flush().context("flushing the ready line")?;
    }

    loop {
        tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => {
                    tokio::spawn(async move {
                        if let Err(e) = handle_connection(incoming).await {
                            eprintln!("raw quinn server: {e:#}");
                        }
                    });
                }
                None => break,
            },
            _ = &mut stdin_closed => break,
        }
    }

    endpoint.close(VarInt::from_u32(0), b"server shutting down");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    Ok(())
}

/// Resolves once stdin reaches EOF (or fails). Blocking stdin reads happen on a detached thread,
/// since the workspace's tokio has no `io-std`.
fn stdin_eof() -> anyhow::Result<oneshot::Receiver<()>> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("raw-quinn-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 256];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        })
        .context("spawning the stdin watcher")?;
    Ok(rx)
}

async fn handle_connection(incoming: quinn::Incoming) -> anyhow::Result<()> {
    let remote = incoming.remote_address();
    let conn = incoming
        .await
        .with_context(|| format!("handshake with {remote}"))?;
    loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                tokio::spawn(async move {
                    if let Err(e) = handle_stream(send, recv).await {
                        eprintln!("raw quinn server: stream from {remote}: {e:#}");
                    }
                });
            }
            Err(ConnectionError::ApplicationClosed(_)) | Err(ConnectionError::LocallyClosed) => {
                return Ok(());
            }
            Err(e) => return Err(e).with_context(|| format!("accepting a stream from {remote}")),
        }
    }
}

async fn handle_stream(mut send: SendStream, mut recv: RecvStream) -> anyhow::Result<()> {
    let mut mode = [0u8; 1];
    recv.read_exact(&mut mode)
        .await
        .context("reading the mode byte")?;
    match mode[0] {
        b'T' => count_frames(send, recv).await,
        b'E' => echo_frames(send, recv).await,
        other => {
            let _ = send.reset(VarInt::from_u32(1));
            let _ = recv.stop(VarInt::from_u32(1));
            bail!("unknown stream mode byte {other:#04x}")
        }
    }
}

/// Throughput mode: count frames until the peer finishes, reply with the count.
async fn count_frames(mut send: SendStream, mut recv: RecvStream) -> anyhow::Result<()> {
    let mut counter = FrameCounter::default();
    while let Some(chunk) = recv
        .read_chunk(usize::MAX, true)
        .await
        .context("reading throughput frames")?
    {
        counter.feed(&chunk.bytes);
    }
    let frames = counter.finish()?;
    send.write_all(&frames.to_le_bytes())
        .await
        .context("writing the frame count")?;
    send.finish().context("finishing the count stream")?;
    Ok(())
}

/// Echo mode: write every frame straight back, one write per frame.
async fn echo_frames(mut send: SendStream, mut recv: RecvStream) -> anyhow::Result<()> {
    let mut header = [0u8; 4];
    let mut frame = Vec::new();
    loop {
        match recv.read_exact(&mut header).await {
            Ok(()) => {}
            Err(ReadExactError::FinishedEarly(0)) => break,
            Err(e) => return Err(e).context("reading an echo frame header"),
        }
        let len = u32::from_le_bytes(header) as usize;
        ensure!(
            len <= MAX_ECHO_FRAME,
            "echo frame of {len} bytes exceeds {MAX_ECHO_FRAME}"
        );
        frame.clear();
        frame.extend_from_slice(&header);
        frame.resize(4 + len, 0);
        recv.read_exact(&mut frame[4..])
            .await
            .context("reading an echo frame payload")?;
        send.write_all(&frame).await.context("echoing a frame")?;
    }
    send.finish().context("finishing the echo stream")?;
    Ok(())
}

/// Incremental parser counting `u32` LE length-prefixed frames across arbitrary chunk splits.
#[derive(Default)]
struct FrameCounter {
    header: [u8; 4],
    header_len: usize,
    payload_left: u64,
    frames: u64,
}

impl FrameCounter {
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let take = self.payload_left.min(data.len() as u64);
                data = &data[take as usize..];
                self.payload_left -= take;
                if self.payload_left == 0 {
                    self.frames += 1;
                }
                continue;
            }
            let take = (4 - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
            self.header_len += take;
            data = &data[take..];
            if self.header_len == 4 {
                self.header_len = 0;
                let len = u32::from_le_bytes(self.header);
                if len == 0 {
                    self.frames += 1;
                } else {
                    self.payload_left = u64::from(len);
                }
            }
        }
    }

    fn finish(&self) -> anyhow::Result<u64> {
        ensure!(
            self.header_len == 0 && self.payload_left == 0,
            "throughput stream ended in the middle of frame {}",
            self.frames + 1
        );
        Ok(self.frames)
    }
}

/// Best raw quinn throughput: `n` frames of `size` bytes on one long-lived bi stream, frames
/// packed into ~64 KiB chunks (`Bytes`) written with `SendStream::write_chunk`; returns msgs/s
/// measured from the first write until the server's count comes back (and checks count == n).
pub fn throughput(server: SocketAddr, n: u64, size: usize) -> anyhow::Result<f64> {
    ensure!(n > 0, "throughput: n must be > 0");
    let size32 = u32::try_from(size).context("throughput: frame size must fit in a u32")?;
    on_client_runtime("raw-quinn-throughput", move || {
        throughput_async(server, n, size32)
    })
}

#[allow(clippy::disallowed_methods)]
async fn throughput_async(server: SocketAddr, n: u64, size: u32) -> anyhow::Result<f64> {
    let (endpoint, conn) = connect(server).await?;
    let (mut send, mut recv) = conn.open_bi().await.context("opening the stream")?;

    let payload = vec![0xA5u8; size as usize];
    let frame_len = 4 + size as usize;
    let per_chunk = (CHUNK_BYTES / frame_len).max(1) as u64;

    let start = Instant::now();
    let mut remaining = n;
    let mut first = true;
    while remaining > 0 {
        let frames = remaining.min(per_chunk);
        let mut chunk = BytesMut::with_capacity(frames as usize * frame_len + 1);
        if first {
            chunk.put_u8(b'T');
            first = false;
        }
        for _ in 0..frames {
            chunk.put_u32_le(size);
            chunk.put_slice(&payload);
        }
        send.write_chunk(chunk.freeze())
            .await
            .context("writing frames")?;
        remaining -= frames;
    }
    send.finish().context("finishing the frame stream")?;
    let mut count = [0u8; 8];
    recv.read_exact(&mut count)
        .await
        .context("reading the server's frame count")?;
    let elapsed = start.elapsed();

    let count = u64::from_le_bytes(count);
    ensure!(count == n, "server counted {count} frames, sent {n}");
    close(endpoint, conn).await;
    Ok(n as f64 / elapsed.as_secs_f64().max(1e-9))
}

/// Round trips at light load on one bi stream in echo mode: `samples` sequential 64-byte frames
/// (after 1,000 warm-up), returns `(p50_us, p99_us)`.
pub fn rtt(server: SocketAddr, samples: usize) -> anyhow::Result<(f64, f64)> {
    ensure!(samples > 0, "rtt: samples must be > 0");
    on_client_runtime("raw-quinn-rtt", move || rtt_async(server, samples))
}

#[allow(clippy::disallowed_methods)]
async fn rtt_async(server: SocketAddr, samples: usize) -> anyhow::Result<(f64, f64)> {
    let (endpoint, conn) = connect(server).await?;
    let (mut send, mut recv) = conn.open_bi().await.context("opening the stream")?;
    send.write_all(b"E")
        .await
        .context("writing the mode byte")?;

    let mut frame = [0u8; 4 + RTT_PAYLOAD];
    frame[..4].copy_from_slice(&(RTT_PAYLOAD as u32).to_le_bytes());
    let mut echoed = [0u8; 4 + RTT_PAYLOAD];
    let mut rtts = Vec::with_capacity(samples);
    for i in 0..RTT_WARMUP + samples {
        frame[4..12].copy_from_slice(&(i as u64).to_le_bytes());
        let t0 = Instant::now();
        send.write_all(&frame)
            .await
            .context("writing an echo frame")?;
        recv.read_exact(&mut echoed)
            .await
            .context("reading an echoed frame")?;
        let rtt = t0.elapsed();
        ensure!(echoed == frame, "echo mismatch on round trip {i}");
        if i >= RTT_WARMUP {
            rtts.push(rtt);
        }
    }
    send.finish().context("finishing the echo stream")?;
    // Let the server see our FIN and finish its side before the connection goes away.
    recv.read_to_end(0)
        .await
        .context("waiting for the server to finish the echo stream")?;
    close(endpoint, conn).await;

    rtts.sort_unstable();
    Ok((percentile_us(&rtts, 0.50), percentile_us(&rtts, 0.99)))
}

/// Nearest-rank percentile of sorted samples, in microseconds.
fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e6
}

/// Runs a client future on a fresh current-thread tokio runtime in its own OS thread, so the
/// caller may be anywhere (including inside another runtime).
fn on_client_runtime<T, F, Fut>(name: &str, f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>>,
{
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building the raw quinn client runtime")?;
            rt.block_on(f())
        })
        .context("spawning the raw quinn client thread")?
        .join()
        .map_err(|_| anyhow!("raw quinn client thread panicked"))?
}

async fn connect(server: SocketAddr) -> anyhow::Result<(Endpoint, quinn::Connection)> {
    let bind: SocketAddr = if server.is_ipv6() {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let mut endpoint = Endpoint::client(bind).context("binding the raw quinn client")?;
    endpoint.set_default_client_config(client_config()?);
    let conn = endpoint
        .connect(server, SERVER_NAME)
        .with_context(|| format!("starting a connection to {server}"))?
        .await
        .with_context(|| format!("connecting to {server}"))?;
    Ok((endpoint, conn))
}

async fn close(endpoint: Endpoint, conn: quinn::Connection) {
    conn.close(VarInt::from_u32(0), b"done");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn transport() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.stream_receive_window(VarInt::from_u32(8 << 20))
        .receive_window(VarInt::from_u32(16 << 20))
        .send_window(16 << 20)
        .max_idle_timeout(Some(VarInt::from_u32(60_000).into()))
        .keep_alive_interval(Some(Duration::from_secs(5)));
    Arc::new(t)
}

fn server_config() -> anyhow::Result<quinn::ServerConfig> {
    let certified = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()])
        .context("generating a self-signed certificate")?;
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("server TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .context("server certificate")?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicServerConfig::try_from(tls).context("server QUIC crypto config")?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport());
    Ok(config)
}

fn client_config() -> anyhow::Result<quinn::ClientConfig> {
    let provider = provider();
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("client TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicClientConfig::try_from(tls).context("client QUIC crypto config")?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport());
    Ok(config)
}

/// Benchmark-only verifier: trusts any server certificate, but still checks the handshake
/// signatures against it, so the TLS 1.3 handshake does its real work.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
