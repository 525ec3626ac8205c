//! Invariant hooks: checks that run after every event, and liveness waits
//! that fail (never hang) when the system does not converge in time.

use std::time::Duration;

use super::Sim;
use crate::time::Time;

/// A check over the whole simulated world, run after every event.
pub type Invariant = Box<dyn FnMut(&Sim) -> Result<(), String>>;

/// An invariant or liveness check that failed, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Virtual time of the failure.
    pub at: Time,
    /// Events applied when it failed.
    pub step: u64,
    /// The check's name.
    pub check: String,
    /// What the check said.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} violated at {:.6}s (step {}): {}",
            self.check,
            self.at.as_nanos() as f64 / 1e9,
            self.step,
            self.detail
        )
    }
}

impl Sim {
    /// Registers a check to run after every event from now on.
    pub fn add_invariant(
        &mut self,
        name: &'static str,
        check: impl FnMut(&Sim) -> Result<(), String> + 'static,
    ) {
        self.invariants.push((name, Box::new(check)));
    }

    fn check_all(&mut self) -> Result<(), Violation> {
        let mut checks = std::mem::take(&mut self.invariants);
        let mut result = Ok(());
        for (name, check) in checks.iter_mut() {
            if let Err(detail) = check(self) {
                result = Err(self.violation(name, detail));
                break;
            }
        }
        self.invariants = checks;
        result
    }

    fn violation(&self, check: &str, detail: String) -> Violation {
        Violation {
            at: self.now,
            step: self.steps,
            check: check.to_owned(),
            detail,
        }
    }

    /// Like [`run_until`](Sim::run_until), checking invariants after every event.
    pub fn run_until_checked(&mut self, until: Time) -> Result<(), Violation> {
        while self.next_event_time().is_some_and(|t| t <= until) {
            self.step();
            self.check_all()?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Runs (checking invariants) until `goal` holds, failing if it does not
    /// within `within` of virtual time, or if nothing is left to happen first.
    pub fn await_liveness(
        &mut self,
        name: &'static str,
        within: Duration,
        mut goal: impl FnMut(&Sim) -> Result<(), String>,
    ) -> Result<(), Violation> {
        let deadline = self.now + within;
        loop {
            let last = match goal(self) {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            match self.next_event_time() {
                Some(t) if t <= deadline => {
                    self.step();
                    self.check_all()?;
                }
                Some(_) => {
                    self.now = deadline;
                    return Err(
                        self.violation(name, format!("not reached within {within:?}: {last}"))
                    );
                }
                None => return Err(self.violation(name, format!("nothing left to happen: {last}"))),
            }
        }
    }
}
