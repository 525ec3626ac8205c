//! The node's event loop: one actix-rt (tokio current-thread) loop that turns
//! the kernel, carries its outgoing frames to connections and sleeps until
//! the next input or timer.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};

use super::{reset_key, socket};
use std::rc::Rc;
use std::sync::{mpsc, Arc};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::Notify;

use super::conn;
use super::host::Host;
use super::tls::{self, TransportTuning};
use super::{Control, NodeConfig, NodeError};
use crate::kernel::{Kernel, KernelConfig};
use crate::metrics::Metrics;
use crate::time::Time;

/// Events run per turn before the loop lets I/O tasks in.
const RUN_BUDGET: usize = 4096;

/// Thread body of a node: bind, report readiness, serve until shut down.
pub(crate) fn run(
    cfg: NodeConfig,
    metrics: Arc<Metrics>,
    control: UnboundedReceiver<Control>,
    ready: mpsc::Sender<Result<SocketAddr, NodeError>>,
) {
    actix_rt::System::new().block_on(async move {
        match bind(cfg, metrics) {
            Ok(host) => {
                let _ = ready.send(Ok(host.addr));
                serve(Rc::new(host), control).await;
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        }
    });
}

// The node host is the seam: the only place that reads the OS clock and
// entropy, handing them to the kernel as plain values.
#[allow(clippy::disallowed_methods)]
fn bind(cfg: NodeConfig, metrics: Arc<Metrics>) -> Result<Host, NodeError> {
    let tuning = TransportTuning {
        idle_timeout: cfg.link_timeout,
        keep_alive: cfg.link_timeout / 3,
    };
    let (server, client) = tls::endpoint_configs(&cfg.tls, &tuning)?;
    let mut fresh_key = [0u8; reset_key::RESET_KEY_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh_key);
    let key = match cfg.reset_key_path() {
        Some(path) => reset_key::load_or_create(&path, &fresh_key)
            .map_err(|error| NodeError::ResetKey { path, error })?,
        None => fresh_key,
    };
    let socket = UdpSocket::bind(cfg.listen).map_err(|source| NodeError::Bind {
        addr: cfg.listen,
        source,
    })?;
    socket::grow_receive_buffer(&socket, socket::RECEIVE_BUFFER_BYTES);
    let bound = socket.local_addr().map_err(|source| NodeError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let runtime = quinn::default_runtime()
        .ok_or_else(|| NodeError::Thread("no async runtime for quinn".into()))?;
    let mut endpoint = quinn::Endpoint::new(
        reset_key::endpoint_config(&key),
        Some(server),
        socket,
        runtime,
    )
    .map_err(|source| NodeError::Bind {
        addr: cfg.listen,
        source,
    })?;
    endpoint.set_default_client_config(client);
    let addr = cfg.advertise.unwrap_or(bound);
    let clock_start = std::time::Instant::now();
    let unix_epoch_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut kernel = Kernel::new(
        KernelConfig {
            addr,
            seed: cfg.seed.unwrap_or_else(rand::random),
            unix_epoch_ms,
            max_message_bytes: cfg.max_message_bytes,
            max_backlog_bytes: cfg.max_backlog_bytes,
            encode_local: false,
        },
        metrics.clone(),
    );
    // Ctx::elapsed_clock: the real clock, on the epoch of `Host::now`.
    kernel.set_clock(Box::new(move || since(clock_start)));
    if let Some(dir) = &cfg.data_dir {
        let path = dir.join("node.redb");
        let store =
            super::RedbStorage::open(&path).map_err(|error| NodeError::Storage { path, error })?;
        kernel.set_storage(Box::new(store));
    }
    Ok(Host {
        kernel: RefCell::new(kernel),
        peers: RefCell::new(BTreeMap::new()),
        wake: Notify::new(),
        drained: Notify::new(),
        endpoint,
        addr,
        incarnation: rand::random(),
        cfg,
        metrics,
        processes: RefCell::new(BTreeMap::new()),
        clock_start,
    })
}

/// Time since `start` on the kernel's clock.
fn since(start: std::time::Instant) -> Time {
    let nanos = start.elapsed().as_nanos();
    Time::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Host {
    fn now(&self) -> Time {
        since(self.clock_start)
    }

    fn deadline(&self, at: Time) -> tokio::time::Instant {
        let offset = std::time::Duration::from_nanos(at.as_nanos());
        tokio::time::Instant::from_std(self.clock_start + offset)
    }

    /// One turn: advance time, run actors, hand their frames to connections
    /// and their process requests to the OS.
    fn turn(self: &Rc<Self>) -> bool {
        let (outgoing, processes, more) = {
            let mut k = self.kernel.borrow_mut();
            k.set_now(self.now());
            k.fire_timers();
            k.run(RUN_BUDGET);
            let more = k.queue_len() > 0;
            if k.queue_len() <= self.cfg.max_run_queue / 2 {
                self.drained.notify_waiters();
            }
            (k.take_outgoing(), k.take_process_requests(), more)
        };
        for out in outgoing {
            conn::route(self, out);
        }
        for req in processes {
            super::process::handle(self, req);
        }
        more
    }
}

async fn serve(host: Rc<Host>, mut control: UnboundedReceiver<Control>) {
    actix_rt::spawn(conn::accept_loop(host.clone()));
    'serve: loop {
        loop {
            match control.try_recv() {
                Ok(Control::Run(f)) => f(&mut host.kernel.borrow_mut()),
                Ok(Control::Shutdown) => break 'serve,
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => break 'serve,
            }
        }
        if host.turn() {
            // More to run: let connection tasks read and write first.
            tokio::task::yield_now().await;
            continue;
        }
        let deadline = host.kernel.borrow().next_deadline();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(host.deadline(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            c = control.recv() => match c {
                Some(Control::Run(f)) => f(&mut host.kernel.borrow_mut()),
                Some(Control::Shutdown) | None => break 'serve,
            },
            _ = host.wake.notified() => {}
            _ = sleep => {}
        }
    }
    host.endpoint.close(0u32.into(), b"node shut down");
    // Give the close frames a moment to leave so peers learn at once.
    let _ = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        host.endpoint.wait_idle(),
    )
    .await;
}
