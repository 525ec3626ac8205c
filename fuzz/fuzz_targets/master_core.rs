//! Sequences of what frameworks and agents may send a lone master, fed to
//! its sans-IO core (`MasterCore`) as the master actor would after
//! decoding them: every untrusted message type (all of `Incoming` but the
//! allocator's `Allocations`, which the shell takes only from its own
//! allocator), the end of a sender, the timers the core set, and pongs.
//!
//! The input is records of `[sender, kind, step, len_lo, len_hi, body..]`:
//! `sender` picks one of four actors (two frameworks, two agents), `kind`
//! the message type (or 11: the sender exited; 12: time passes `step`
//! tenths of a second and due timers fire; 13: the oldest ping is
//! answered), and the body is the message's postcard bytes. Seeds are a
//! real exchange (`fuzz/corpus/master_core`, written by corral-master's
//! `fuzz_seeds` test).
//!
//! Holds: nothing a peer sends makes the master panic.
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::agent::{Pong, RegisterAgent, StatusUpdate};
use corral_api::framework::{
    Accept, Acknowledge, Decline, Kill, Reconcile, Revive, Subscribe, Suppress, Teardown,
};
use corral_master::core::effects::{Action, Answer, Clock, Input, Question, Then, Timer};
use corral_master::core::MasterCore;
use corral_master::master::MasterConfig;
use corral_runtime::codec;
use corral_runtime::{Message, Pid, Time};
use libfuzzer_sys::fuzz_target;

/// The actors a record can come from.
fn senders() -> [Pid; 4] {
    let at = |name: &str, port: u16| {
        Pid::new(name, ([127, 0, 0, 1], port).into()).expect("a constant pid is valid")
    };
    [
        at("scheduler", 6000),
        at("scheduler", 6001),
        at("agent", 5051),
        at("agent", 5052),
    ]
}

/// Decodes `body` as message type `kind`, if it is one.
fn decode(kind: u8, body: &[u8]) -> Option<Input> {
    fn de<M: Message>(body: &[u8]) -> Option<M> {
        codec::decode(body, codec::DEFAULT_MAX_MESSAGE_BYTES).ok()
    }
    Some(match kind {
        0 => Input::message(de::<Subscribe>(body)?),
        1 => Input::message(de::<Accept>(body)?),
        2 => Input::message(de::<Decline>(body)?),
        3 => Input::message(de::<Revive>(body)?),
        4 => Input::message(de::<Suppress>(body)?),
        5 => Input::message(de::<Kill>(body)?),
        6 => Input::message(de::<Acknowledge>(body)?),
        7 => Input::message(de::<Reconcile>(body)?),
        8 => Input::message(de::<Teardown>(body)?),
        9 => Input::message(de::<RegisterAgent>(body)?),
        10 => Input::message(de::<StatusUpdate>(body)?),
        _ => return None,
    })
}

/// The core with its clock, timers and pending pings, as the actor keeps them.
struct Harness {
    core: MasterCore,
    now_ms: u64,
    timers: BTreeMap<(Time, u64), Timer>,
    pings: Vec<Then>,
}

impl Harness {
    fn clock(&self) -> Clock {
        Clock {
            now: Time::ZERO + Duration::from_millis(self.now_ms),
            unix_ms: 1_700_000_000_000 + self.now_ms,
        }
    }

    fn apply(&mut self, actions: Vec<Action>) {
        let now = self.clock().now;
        for action in actions {
            match action {
                Action::SetTimer { key, after, timer } => {
                    self.timers.insert((now + after, key.0), timer);
                }
                Action::CancelTimer(key) => self.timers.retain(|(_, k), _| *k != key.0),
                Action::Ask {
                    question: Question::Ping,
                    then,
                    ..
                } => self.pings.push(then),
                _ => {}
            }
        }
    }

    fn handle(&mut self, from: Option<&Pid>, input: Input) {
        let actions = self.core.handle(self.clock(), from, input);
        self.apply(actions);
    }

    /// Time passes `ms`; every timer due by then fires, in order.
    fn pass(&mut self, ms: u64) {
        self.now_ms += ms;
        let now = self.clock().now;
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            self.handle(None, Input::Timer(timer));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let who = senders();
    let me = Pid::new("master", ([127, 0, 0, 1], 5050).into()).expect("a constant pid is valid");
    let mut h = Harness {
        core: MasterCore::new(MasterConfig::default(), None, me, [0xab, 0xcd, 0xef, 0x01]),
        now_ms: 0,
        timers: BTreeMap::new(),
        pings: Vec::new(),
    };
    let started = h.core.handle_started(h.clock());
    h.apply(started);
    let mut rest = data;
    while let [sender, kind, step, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (body, after) = tail.split_at(len);
        rest = after;
        let from = &who[usize::from(*sender) % who.len()];
        h.now_ms += 1;
        match kind % 14 {
            11 => h.handle(None, Input::Exited(from.clone())),
            12 => h.pass(u64::from(*step) * 100),
            13 => {
                if !h.pings.is_empty() {
                    let then = h.pings.remove(0);
                    h.handle(None, Input::Answer(then, Answer::Pong(Ok(Pong))));
                }
            }
            k => {
                if let Some(input) = decode(k, body) {
                    h.handle(Some(from), input);
                }
            }
        }
    }
});
