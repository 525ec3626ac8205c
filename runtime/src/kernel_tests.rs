//! Kernel tests without I/O: two kernels wired back to back by handing each
//! one's outgoing frames to the other, on a manual clock.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codec::{self, Corr, Header};
use crate::kernel::{Kernel, KernelConfig};
use crate::metrics::Metrics;
use crate::{message, Actor, AskError, Ctx, Handler, Handlers, Pid, Time};

#[derive(Debug, Serialize, Deserialize)]
struct Ping(u64);
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Pong(u64);
#[derive(Debug, Serialize, Deserialize)]
struct Unhandled;
#[derive(Debug, Serialize, Deserialize)]
struct Quit;
message!(Ping = "test.Ping" => Pong);
message!(Pong = "test.Pong");
message!(Unhandled = "test.Unhandled" => Pong);
message!(Quit = "test.Quit");

type Log = Rc<RefCell<Vec<String>>>;
type Script = Box<dyn FnOnce(&mut Probe, &mut Ctx<'_, Probe>)>;

/// Answers pings; stops on Quit.
struct Ponger;
impl Actor for Ponger {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>().on::<Quit>();
    }
}
impl Handler<Ping> for Ponger {
    fn handle(&mut self, Ping(n): Ping, ctx: &mut Ctx<'_, Self>) {
        if !ctx.reply(Pong(n + 1)) {
            let to = ctx.sender().cloned();
            if let Some(to) = to {
                ctx.send(&to, Pong(n + 1));
            }
        }
    }
}
impl Handler<Quit> for Ponger {
    fn handle(&mut self, _: Quit, ctx: &mut Ctx<'_, Self>) {
        ctx.stop();
    }
}

/// Runs a script of steps on start and logs everything that happens to it.
struct Probe {
    log: Log,
    on_start: Option<Script>,
}
impl Actor for Probe {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Pong>();
    }
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some(f) = self.on_start.take() {
            f(self, ctx);
        }
    }
    fn exited(&mut self, pid: &Pid, _: &mut Ctx<'_, Self>) {
        self.log.borrow_mut().push(format!("exited {}", pid.name()));
    }
}
impl Handler<Pong> for Probe {
    fn handle(&mut self, Pong(n): Pong, _: &mut Ctx<'_, Self>) {
        self.log.borrow_mut().push(format!("pong {n}"));
    }
}

fn probe(log: &Log, f: impl FnOnce(&mut Probe, &mut Ctx<'_, Probe>) + 'static) -> Probe {
    Probe {
        log: log.clone(),
        on_start: Some(Box::new(f)),
    }
}

fn kernel(port: u16) -> Kernel {
    Kernel::new(
        KernelConfig {
            addr: SocketAddr::from(([10, 0, 0, 1], port)),
            seed: 7,
            unix_epoch_ms: 0,
            max_message_bytes: 1 << 20,
            max_backlog_bytes: 1 << 22,
            encode_local: false,
        },
        Arc::new(Metrics::default()),
    )
}

/// Runs both kernels and carries frames between them until nothing moves.
fn settle(a: &mut Kernel, b: &mut Kernel) {
    loop {
        let ran = a.run(usize::MAX) + b.run(usize::MAX);
        let moved = carry(a, b) + carry(b, a);
        if ran == 0 && moved == 0 {
            return;
        }
    }
}

fn carry(from: &mut Kernel, to: &mut Kernel) -> usize {
    let mut moved = 0;
    let src = from.addr();
    for out in from.take_outgoing() {
        if out.addr != to.addr() {
            continue; // a node nobody runs: the frames are lost
        }
        let mut r = codec::FrameReader::new(1 << 20);
        r.push(&out.bytes);
        while let Some(codec::Frame::Whole(p)) = r.next_frame() {
            to.handle_frame(src, None, p).unwrap();
            moved += 1;
        }
        from.note_written(out.addr, out.bytes.len());
    }
    moved
}

fn advance(k: &mut Kernel, by: Duration) {
    let t = k.now() + by;
    k.set_now(t);
    k.fire_timers();
}

#[test]
fn local_tell_and_ask_reach_typed_handlers() {
    let mut k = kernel(1);
    let log = Log::default();
    let pong = k.spawn_actor("pong", Ponger).unwrap();
    let p2 = pong.clone();
    let l2 = log.clone();
    k.spawn_actor(
        "probe",
        probe(&log, move |_, ctx| {
            ctx.send(&p2, Ping(1));
            ctx.ask(&p2, Ping(10), Duration::from_secs(1), move |_, r, _| {
                l2.borrow_mut().push(format!("asked {:?}", r));
            });
        }),
    )
    .unwrap();
    k.run(usize::MAX);
    assert_eq!(*log.borrow(), vec!["pong 2", "asked Ok(Pong(11))"]);
}

#[test]
fn remote_ask_reply_and_tell_cross_kernels() {
    let (mut a, mut b) = (kernel(1), kernel(2));
    let log = Log::default();
    let pong = b.spawn_actor("pong", Ponger).unwrap();
    let l2 = log.clone();
    a.spawn_actor(
        "probe",
        probe(&log, move |_, ctx| {
            ctx.send(&pong, Ping(1));
            ctx.ask(&pong, Ping(5), Duration::from_secs(1), move |_, r, _| {
                l2.borrow_mut().push(format!("asked {:?}", r));
            });
        }),
    )
    .unwrap();
    settle(&mut a, &mut b);
    assert_eq!(*log.borrow(), vec!["pong 2", "asked Ok(Pong(6))"]);
    assert_eq!(b.metrics().snapshot().delivered, 2);
}

#[test]
fn ask_errors_are_values_not_hangs() {
    let (mut a, mut b) = (kernel(1), kernel(2));
    let log = Log::default();
    let pong = b.spawn_actor("pong", Ponger).unwrap();
    let ghost: Pid = "ghost@10.0.0.1:2".parse().unwrap();
    let nowhere: Pid = "pong@10.0.0.9:9".parse().unwrap();
    let l = log.clone();
    a.spawn_actor(
        "probe",
        probe(&log, move |_, ctx| {
            let r = |tag: &'static str, l: &Log| {
                let l = l.clone();
                move |_: &mut Probe, r: Result<Pong, AskError>, _: &mut Ctx<'_, Probe>| {
                    l.borrow_mut().push(format!("{tag} {r:?}"))
                }
            };
            ctx.ask(&ghost, Ping(0), Duration::from_secs(5), r("ghost", &l));
            ctx.ask(&pong, Unhandled, Duration::from_secs(5), r("unhandled", &l));
            ctx.ask(&nowhere, Ping(0), Duration::from_secs(2), r("nowhere", &l));
        }),
    )
    .unwrap();
    settle(&mut a, &mut b);
    assert_eq!(
        *log.borrow(),
        vec!["ghost Err(NoSuchActor)", "unhandled Err(NoHandler)"]
    );
    // Nothing answers for the unreachable node: the timeout does.
    advance(&mut a, Duration::from_millis(1999));
    settle(&mut a, &mut b);
    assert_eq!(log.borrow().len(), 2);
    advance(&mut a, Duration::from_millis(1));
    settle(&mut a, &mut b);
    assert_eq!(log.borrow()[2], "nowhere Err(Timeout)");
    assert_eq!(b.metrics().snapshot().dropped_no_actor, 1);
    assert_eq!(b.metrics().snapshot().dropped_no_handler, 1);
}

#[test]
fn losing_the_peer_fails_its_pending_asks_at_once() {
    // The peer never answers: its frames are never carried.
    let mut a = kernel(1);
    let log = Log::default();
    let l = log.clone();
    a.spawn_actor(
        "probe",
        probe(&log, move |_, ctx| {
            let far: Pid = "pong@10.0.0.1:2".parse().unwrap();
            ctx.ask(&far, Ping(1), Duration::from_secs(60), move |_, r, _| {
                l.borrow_mut().push(format!("{r:?}"));
            });
        }),
    )
    .unwrap();
    a.run(usize::MAX);
    assert!(log.borrow().is_empty());
    a.handle_peer_down("10.0.0.1:2".parse().unwrap());
    a.run(usize::MAX);
    assert_eq!(*log.borrow(), vec!["Err(Unreachable)"]);
    // The timeout that would have fired later finds nothing to do.
    advance(&mut a, Duration::from_secs(61));
    a.run(usize::MAX);
    assert_eq!(log.borrow().len(), 1);
}

#[test]
fn unknown_message_name_from_the_wire_is_counted_and_dropped() {
    let mut k = kernel(1);
    k.spawn_actor("pong", Ponger).unwrap();
    k.run(usize::MAX);
    let from: Pid = "x@10.0.0.2:1".parse().unwrap();
    let mut buf = Vec::new();
    let header = Header::Msg {
        to: "pong",
        from,
        name: "test.NoSuchMessage",
        corr: Corr::Ask(3),
    };
    codec::append_frame(&mut buf, &header, Some(&1u8), 1 << 20).unwrap();
    let mut r = codec::FrameReader::new(1 << 20);
    r.push(&buf);
    let Some(codec::Frame::Whole(p)) = r.next_frame() else {
        panic!("no frame")
    };
    k.handle_frame("10.0.0.2:1".parse().unwrap(), None, p)
        .unwrap();
    k.run(usize::MAX);
    assert_eq!(k.metrics().snapshot().dropped_no_handler, 1);
    assert_eq!(k.metrics().snapshot().delivered, 0);
    // The asker is told, rather than left to time out.
    let out = k.take_outgoing();
    assert_eq!(out.len(), 1);
    let mut r = codec::FrameReader::new(1 << 20);
    r.push(&out[0].bytes);
    let Some(codec::Frame::Whole(p)) = r.next_frame() else {
        panic!("no frame")
    };
    assert!(matches!(
        codec::split_frame(p).unwrap().0,
        Header::AskFailed {
            to: "x",
            id: 3,
            failure: codec::AskFailure::NoHandler
        }
    ));
}

#[test]
fn garbage_frames_and_bad_bodies_leave_the_actor_working() {
    let mut k = kernel(1);
    k.spawn_actor("pong", Ponger).unwrap();
    let src: SocketAddr = "10.0.0.2:1".parse().unwrap();
    assert!(k
        .handle_frame(src, None, &[0xff, 0xff, 0xff, 0x01])
        .is_err());
    let mut buf = Vec::new();
    let from: Pid = "x@10.0.0.2:1".parse().unwrap();
    let header = Header::Msg {
        to: "pong",
        from,
        name: "test.Ping",
        corr: Corr::Tell,
    };
    codec::append_frame(&mut buf, &header, Some(&"not a number"), 1 << 20).unwrap();
    let mut r = codec::FrameReader::new(1 << 20);
    r.push(&buf);
    let Some(codec::Frame::Whole(p)) = r.next_frame() else {
        panic!("no frame")
    };
    k.handle_frame(src, None, p).unwrap();
    k.run(usize::MAX);
    assert_eq!(k.metrics().snapshot().decode_errors, 1);
    assert!(k.has_actor("pong"));
}

#[test]
fn links_fire_on_stop_on_missing_actor_and_on_peer_down() {
    let (mut a, mut b) = (kernel(1), kernel(2));
    let log = Log::default();
    let local = a.spawn_actor("local", Ponger).unwrap();
    let remote = b.spawn_actor("remote", Ponger).unwrap();
    let remote2 = b.spawn_actor("remote2", Ponger).unwrap();
    let missing: Pid = "missing@10.0.0.1:2".parse().unwrap();
    let (l2, r1, r2) = (local.clone(), remote.clone(), remote2.clone());
    a.spawn_actor(
        "probe",
        probe(&log, move |_, ctx| {
            ctx.link(&l2);
            ctx.link(&r1);
            ctx.link(&r2);
            ctx.link(&missing);
        }),
    )
    .unwrap();
    settle(&mut a, &mut b);
    assert_eq!(*log.borrow(), vec!["exited missing"]);
    a.send(local.clone(), &local, Quit);
    b.send(remote.clone(), &remote, Quit);
    settle(&mut a, &mut b);
    assert_eq!(
        *log.borrow(),
        vec!["exited missing", "exited local", "exited remote"]
    );
    a.handle_peer_down(b.addr());
    settle(&mut a, &mut b);
    assert_eq!(log.borrow().last().unwrap(), "exited remote2");
    assert_eq!(log.borrow().len(), 4);
}

#[test]
fn stopped_actor_frees_its_name_and_drops_its_timers() {
    let mut k = kernel(1);
    let log = Log::default();
    let l = log.clone();
    k.spawn_actor(
        "t",
        probe(&log, move |_, ctx| {
            let l1 = l.clone();
            ctx.delay(Duration::from_millis(10), move |_, _| {
                l1.borrow_mut().push("fired".into())
            });
            let id = ctx.delay(Duration::from_millis(5), |_, _| {
                panic!("cancelled timer ran")
            });
            assert!(ctx.cancel(id));
            let l2 = l.clone();
            ctx.delay(Duration::from_millis(20), move |_, ctx| {
                l2.borrow_mut().push("stopping".into());
                ctx.stop();
            });
            ctx.delay(Duration::from_millis(30), |_, _| {
                panic!("timer of a stopped actor ran")
            });
        }),
    )
    .unwrap();
    k.run(usize::MAX);
    for _ in 0..4 {
        advance(&mut k, Duration::from_millis(10));
        k.run(usize::MAX);
    }
    assert_eq!(*log.borrow(), vec!["fired", "stopping"]);
    assert!(!k.has_actor("t"));
    assert_eq!(k.next_deadline(), None);
    assert!(k.spawn_actor("t", Ponger).is_ok());
}

#[test]
fn encode_local_mode_round_trips_local_messages() {
    let mut k = Kernel::new(
        KernelConfig {
            addr: SocketAddr::from(([10, 0, 0, 1], 1)),
            seed: 1,
            unix_epoch_ms: 0,
            max_message_bytes: 1 << 20,
            max_backlog_bytes: 1 << 22,
            encode_local: true,
        },
        Arc::new(Metrics::default()),
    );
    let log = Log::default();
    let pong = k.spawn_actor("pong", Ponger).unwrap();
    let l = log.clone();
    k.spawn_actor(
        "probe",
        probe(&log, move |_, ctx| {
            ctx.ask(&pong, Ping(41), Duration::from_secs(1), move |_, r, _| {
                l.borrow_mut().push(format!("{r:?}"));
            });
        }),
    )
    .unwrap();
    k.run(usize::MAX);
    assert_eq!(*log.borrow(), vec!["Ok(Pong(42))"]);
}

#[test]
fn backlog_limit_drops_and_counts() {
    let mut k = Kernel::new(
        KernelConfig {
            addr: SocketAddr::from(([10, 0, 0, 1], 1)),
            seed: 1,
            unix_epoch_ms: 0,
            max_message_bytes: 1 << 20,
            max_backlog_bytes: 4096,
            encode_local: false,
        },
        Arc::new(Metrics::default()),
    );
    let far: Pid = "x@10.0.0.2:1".parse().unwrap();
    let me: Pid = "me@10.0.0.1:1".parse().unwrap();
    for i in 0..1000 {
        k.send(me.clone(), &far, Pong(i));
    }
    let taken: usize = k.take_outgoing().iter().map(|o| o.bytes.len()).sum();
    assert!(
        taken <= 4096 + 64,
        "backlog stays near the limit, got {taken}"
    );
    assert!(k.metrics().snapshot().dropped_backlog > 0);
    // Written bytes free the backlog again.
    k.note_written(far.addr(), taken);
    k.send(me, &far, Pong(1));
    assert_eq!(k.take_outgoing().len(), 1);
}

#[test]
fn time_never_goes_backwards() {
    let mut k = kernel(1);
    k.set_now(Time::from_nanos(100));
    k.set_now(Time::from_nanos(50));
    assert_eq!(k.now(), Time::from_nanos(100));
}

#[test]
fn elapsed_clock_is_now_without_a_host_clock_and_the_clock_with_one() {
    let log: Log = Rc::new(RefCell::new(Vec::new()));
    let mut k = kernel(1);
    k.set_now(Time::from_nanos(500));
    let l = log.clone();
    k.spawn_actor(
        "a",
        probe(&log, move |_, ctx| {
            let reading = ctx.elapsed_clock().as_nanos();
            l.borrow_mut().push(format!("first {reading}"));
        }),
    )
    .unwrap();
    k.run(usize::MAX);
    // A clock behind `now` (another epoch by mistake) never reads earlier.
    k.set_clock(Box::new(|| Time::from_nanos(100)));
    let l = log.clone();
    k.spawn_actor(
        "b",
        probe(&log, move |_, ctx| {
            let reading = ctx.elapsed_clock().as_nanos();
            l.borrow_mut().push(format!("behind {reading}"));
        }),
    )
    .unwrap();
    k.run(usize::MAX);
    let ticks = Arc::new(std::sync::atomic::AtomicU64::new(1_000));
    let t = ticks.clone();
    k.set_clock(Box::new(move || {
        Time::from_nanos(t.fetch_add(250, std::sync::atomic::Ordering::Relaxed))
    }));
    let l = log.clone();
    k.spawn_actor(
        "c",
        probe(&log, move |_, ctx| {
            let start = ctx.elapsed_clock();
            let end = ctx.elapsed_clock();
            l.borrow_mut()
                .push(format!("took {}", (end - start).as_nanos()));
        }),
    )
    .unwrap();
    k.run(usize::MAX);
    assert_eq!(*log.borrow(), ["first 500", "behind 500", "took 250"]);
}
