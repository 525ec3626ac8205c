//! A probe framework for end-to-end tests: it reports everything the master
//! sends to a channel and sends whatever the test tells it to, so a test can
//! play any framework, well-behaved or not.

#![allow(dead_code)] // each test binary uses part of it

pub mod http;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkError, FrameworkInfo, Heartbeat, Kill, Offer, Offers,
    Operation, Reconcile, Rescind, Revive, Subscribe, Subscribed, Suppress, Teardown, Update,
};
use corral_api::ids::{FrameworkId, OfferId};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::TaskStatus;
use corral_examples::local::{find_executor, start_framework, LocalCluster, LocalConfig};
use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Node, Pid};
use serde::{Deserialize, Serialize};

/// What the test tells the probe to send to the master.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Call {
    Subscribe(FrameworkInfo),
    Accept(Accept),
    Decline(Decline),
    Kill(Kill),
    Reconcile(Reconcile),
    Revive,
    Suppress,
    Teardown,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Relay(pub Call);
message!(Relay = "test.Relay");

/// What the probe saw from the master.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    Subscribed(FrameworkId),
    Offers(Vec<Offer>),
    Rescind(OfferId),
    Update(TaskStatus),
    Error(String),
}

pub struct Probe {
    master: Pid,
    tx: Sender<Seen>,
}

impl Actor for Probe {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Relay>()
            .on::<Subscribed>()
            .on::<Offers>()
            .on::<Rescind>()
            .on::<Update>()
            .on::<Heartbeat>()
            .on::<FrameworkError>();
    }
}

impl Handler<Relay> for Probe {
    fn handle(&mut self, Relay(call): Relay, ctx: &mut Ctx<'_, Self>) {
        let m = self.master.clone();
        match call {
            Call::Subscribe(info) => ctx.send(
                &m,
                Subscribe {
                    credential: None,
                    info,
                },
            ),
            Call::Accept(x) => ctx.send(&m, x),
            Call::Decline(x) => ctx.send(&m, x),
            Call::Kill(x) => ctx.send(&m, x),
            Call::Reconcile(x) => ctx.send(&m, x),
            Call::Revive => ctx.send(&m, Revive),
            Call::Suppress => ctx.send(&m, Suppress),
            Call::Teardown => ctx.send(&m, Teardown),
        }
    }
}

impl Handler<Subscribed> for Probe {
    fn handle(&mut self, m: Subscribed, _: &mut Ctx<'_, Self>) {
        let _ = self.tx.send(Seen::Subscribed(m.framework_id));
    }
}
impl Handler<Offers> for Probe {
    fn handle(&mut self, m: Offers, _: &mut Ctx<'_, Self>) {
        let _ = self.tx.send(Seen::Offers(m.offers));
    }
}
impl Handler<Rescind> for Probe {
    fn handle(&mut self, m: Rescind, _: &mut Ctx<'_, Self>) {
        let _ = self.tx.send(Seen::Rescind(m.offer_id));
    }
}
impl Handler<Heartbeat> for Probe {
    fn handle(&mut self, _: Heartbeat, _: &mut Ctx<'_, Self>) {}
}
impl Handler<FrameworkError> for Probe {
    fn handle(&mut self, m: FrameworkError, _: &mut Ctx<'_, Self>) {
        let _ = self.tx.send(Seen::Error(m.message));
    }
}
impl Handler<Update> for Probe {
    fn handle(&mut self, m: Update, ctx: &mut Ctx<'_, Self>) {
        if let (Some(uuid), Some(agent_id)) = (m.status.uuid, m.status.agent_id.clone()) {
            let ack = Acknowledge {
                task_id: m.status.task_id.clone(),
                agent_id,
                uuid,
            };
            ctx.send(&self.master.clone(), ack);
        }
        let _ = self.tx.send(Seen::Update(m.status));
    }
}

/// A probe on its own node, with the channel of what it sees.
pub struct ProbeHandle {
    pub node: Node,
    pub pid: Pid,
    pub seen: Receiver<Seen>,
    /// Offers `next` skipped while it awaited something else, less those
    /// rescinded since: still outstanding at the master.
    passed_over: RefCell<Vec<Offer>>,
}

impl ProbeHandle {
    pub fn start(master: &Pid) -> ProbeHandle {
        let (tx, seen) = channel();
        let probe = Probe {
            master: master.clone(),
            tx,
        };
        let (node, pid) = start_framework(probe).expect("probe node starts");
        ProbeHandle {
            node,
            pid,
            seen,
            passed_over: RefCell::default(),
        }
    }

    pub fn call(&self, call: Call) {
        self.node.send(&self.pid, Relay(call));
    }

    /// Subscribes and returns the framework id.
    pub fn subscribe(&self, info: FrameworkInfo) -> FrameworkId {
        self.call(Call::Subscribe(info));
        match self.next(|s| matches!(s, Seen::Subscribed(_))) {
            Seen::Subscribed(id) => id,
            other => panic!("expected Subscribed, saw {other:?}"),
        }
    }

    /// The next thing seen that `want` accepts (others are skipped), within
    /// 30 s.
    pub fn next(&self, want: impl Fn(&Seen) -> bool) -> Seen {
        self.next_within(Duration::from_secs(30), want)
            .expect("the awaited message arrives within 30 s")
    }

    pub fn next_within(&self, timeout: Duration, want: impl Fn(&Seen) -> bool) -> Option<Seen> {
        let deadline = clock() + timeout;
        loop {
            let left = deadline.saturating_duration_since(clock());
            match self.seen.recv_timeout(left) {
                Ok(s) if want(&s) => return Some(s),
                Ok(Seen::Offers(offers)) => self.passed_over.borrow_mut().extend(offers),
                Ok(Seen::Rescind(id)) => self.passed_over.borrow_mut().retain(|o| o.id != id),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The offers skipped so far by waits for something else, which the
    /// master still holds out to this framework.
    pub fn take_passed_over_offers(&self) -> Vec<Offer> {
        std::mem::take(&mut *self.passed_over.borrow_mut())
    }

    pub fn next_offers(&self) -> Vec<Offer> {
        match self.next(|s| matches!(s, Seen::Offers(_))) {
            Seen::Offers(o) => o,
            _ => unreachable!(),
        }
    }

    /// The next update for `task`.
    pub fn update_of(&self, task: &str) -> TaskStatus {
        match self.next(|s| matches!(s, Seen::Update(u) if u.task_id.0 == task)) {
            Seen::Update(u) => u,
            _ => unreachable!(),
        }
    }

    /// Updates for `task` until a terminal (or LOST) one; returns them all.
    pub fn updates_until_end(&self, task: &str) -> Vec<TaskStatus> {
        let mut all = Vec::new();
        loop {
            let u = self.update_of(task);
            let end = u.state.is_terminal() || u.state == corral_api::task::TaskState::Lost;
            all.push(u);
            if end {
                return all;
            }
        }
    }
}

#[allow(clippy::disallowed_methods)] // tests wait on real time
pub fn clock() -> std::time::Instant {
    std::time::Instant::now()
}

/// An accept of `offer` launching `tasks`, leaving the rest with no filter.
pub fn launch(offer: &OfferId, tasks: Vec<TaskInfo>) -> Call {
    Call::Accept(Accept {
        offer_ids: vec![offer.clone()],
        operations: vec![Operation::Launch(tasks)],
        refuse: Some(Duration::ZERO),
    })
}

pub fn res(text: &str) -> Resources {
    text.parse().expect("test resources parse")
}

pub fn executor() -> PathBuf {
    find_executor().expect(
        "corral-executor is built next to the test binaries: run `cargo test --workspace` \
         (or build it with `cargo build -p corral-executor`)",
    )
}

/// A fresh, empty directory for this test's sandboxes.
pub fn work_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-e2e-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A local cluster on free ports with a fast allocation interval.
pub fn cluster(
    test: &str,
    agents: usize,
    resources: &str,
    tune: impl FnOnce(&mut LocalConfig),
) -> LocalCluster {
    let mut cfg = LocalConfig::new(agents, res(resources), &work_dir(test), &executor());
    cfg.master_addr = "127.0.0.1:0".parse().expect("address");
    cfg.master.allocator.interval = Duration::from_millis(100);
    tune(&mut cfg);
    LocalCluster::start(cfg).expect("local cluster starts")
}

/// The next event `want` accepts, within 60 s.
pub fn next_event<E>(rx: &Receiver<E>, want: impl Fn(&E) -> bool) -> E {
    let deadline = clock() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(clock());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return e,
            Ok(_) => continue,
            Err(e) => panic!("the awaited event did not come: {e}"),
        }
    }
}

/// Polls `f` until it gives a value, for up to 30 s.
pub fn eventually<T>(what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = clock() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(clock() < deadline, "timed out waiting for {what}");
        // Polling an HTTP endpoint is the event here: it has no push.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A batch framework running `command` as tasks `{name}-0..count` of
/// `cpus:0.1;mem:32` each; `stay`: it stays subscribed once its tasks end
/// (else it tears itself down). Its node, its pid, and its events.
pub fn batch(
    c: &LocalCluster,
    name: &str,
    count: usize,
    command: &str,
    stay: bool,
) -> (Node, Pid, Receiver<corral_examples::batch::BatchEvent>) {
    use corral_examples::batch::{Batch, BatchConfig};
    let (tx, rx) = channel();
    let mut cfg = BatchConfig::uniform(
        c.master().clone(),
        FrameworkInfo::new(name, "*"),
        name,
        count,
        command,
        res("cpus:0.1;mem:32"),
    );
    cfg.teardown_when_done = !stay;
    let observe = Box::new(move |e| {
        let _ = tx.send(e);
    });
    let (node, pid) =
        start_framework(Batch::new(cfg, observe).into_framework()).expect("framework starts");
    (node, pid, rx)
}
