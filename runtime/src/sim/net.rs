//! One direction of a simulated connection: ordered, delayed, cuttable.

use std::time::Duration;

use rand::{Rng, RngCore};

use crate::time::Time;

/// A distribution of one-way delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Every value between `min` and `max` equally likely.
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
    /// `min` plus an exponential tail of mean `mean`: mostly fast, now and
    /// then slow (capped at 50 means so one draw cannot stall a run).
    Exponential {
        /// Shortest delay.
        min: Duration,
        /// Mean of the tail above `min`.
        mean: Duration,
    },
}

impl Latency {
    /// Draws one delay.
    pub fn sample(&self, rng: &mut dyn RngCore) -> Duration {
        match *self {
            Latency::Uniform { min, max } => {
                let span = max.saturating_sub(min).as_nanos() as u64;
                min + Duration::from_nanos(if span == 0 {
                    0
                } else {
                    rng.random_range(0..=span)
                })
            }
            Latency::Exponential { min, mean } => {
                let u: f64 = rng.random_range(0.0..1.0);
                let tail = (-(1.0 - u).ln()).min(50.0) * mean.as_secs_f64();
                min + Duration::from_secs_f64(tail)
            }
        }
    }
}

/// Whether a pipe carries frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PipeState {
    /// Frames flow, in order.
    #[default]
    Up,
    /// Frames are held (a partition); the connection dies if it lasts.
    Cut,
}

/// What happens to a batch handed to a pipe.
pub(crate) enum Ship {
    /// It arrives at this time, on this connection epoch.
    At(Time, u64, Vec<u8>),
    /// It is held behind a cut; schedule a timeout for this cut epoch if given.
    Held(Option<u64>),
}

/// One direction between two nodes.
#[derive(Debug, Default)]
pub(crate) struct Pipe {
    /// Bumped whenever the connection dies: frames of older epochs are lost.
    epoch: u64,
    last_arrival: Time,
    clogged_until: Time,
    state: PipeState,
    held: Vec<(u64, Vec<u8>)>,
    cut_epoch: u64,
    timeout_pending: bool,
    latency: Option<Latency>,
}

impl Pipe {
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// This link's own latency, if set.
    pub(crate) fn latency(&self) -> Option<Latency> {
        self.latency
    }

    pub(crate) fn set_latency(&mut self, latency: Latency) {
        self.latency = Some(latency);
    }

    /// The connection died: in-flight and held frames are lost.
    pub(crate) fn reset(&mut self) {
        self.epoch += 1;
        self.held.clear();
    }

    /// Starts a cut; returns the cut epoch to time out, or None if already cut.
    pub(crate) fn cut(&mut self) -> Option<u64> {
        if self.state == PipeState::Cut {
            return None;
        }
        self.state = PipeState::Cut;
        self.cut_epoch += 1;
        self.timeout_pending = true;
        Some(self.cut_epoch)
    }

    /// Ends a cut; returns the held frames (incarnation, bytes) in order.
    pub(crate) fn heal(&mut self) -> Vec<(u64, Vec<u8>)> {
        if self.state == PipeState::Up {
            return Vec::new();
        }
        self.state = PipeState::Up;
        self.timeout_pending = false;
        std::mem::take(&mut self.held)
    }

    /// The cut `cut_epoch` lasted the link timeout: true if it still holds
    /// (the connection is then dead).
    pub(crate) fn time_out(&mut self, cut_epoch: u64) -> bool {
        if self.state != PipeState::Cut || self.cut_epoch != cut_epoch || !self.timeout_pending {
            return false;
        }
        self.timeout_pending = false;
        self.cut_epoch += 1;
        true
    }

    /// Frames arrive no earlier than `until`.
    pub(crate) fn clog(&mut self, until: Time) {
        self.clogged_until = self.clogged_until.max(until);
    }

    /// Hands a batch to the pipe, which would arrive at `earliest` on its own.
    pub(crate) fn ship(&mut self, earliest: Time, incarnation: u64, bytes: Vec<u8>) -> Ship {
        if self.state == PipeState::Cut {
            self.held.push((incarnation, bytes));
            if self.timeout_pending {
                return Ship::Held(None);
            }
            // A new connection attempt across the cut: it times out too.
            self.timeout_pending = true;
            return Ship::Held(Some(self.cut_epoch));
        }
        let at = earliest.max(self.last_arrival).max(self.clogged_until);
        self.last_arrival = at;
        Ship::At(at, self.epoch, bytes)
    }
}
