//! Resources: what agents have, frameworks are offered and tasks use.
//!
//! Scalars (cpus, mem, disk, gpus, or any name) are fixed-point with three
//! decimals, as in Mesos, so sums and differences are exact and a value can
//! never drift below zero through rounding. Arithmetic is checked: taking
//! more than is there is an error value, never a negative amount.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Thousandths of a unit: 1 cpu = 1000, 0.1 cpu = 100.
const MILLIS_PER_UNIT: f64 = 1000.0;

/// A bundle of named resources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Scalar amounts in thousandths; zero amounts are not stored.
    scalars: BTreeMap<String, u64>,
}

/// Why resources could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// A scalar was negative, not a number, or too large.
    #[error("resource {name:?} has an invalid amount {value}")]
    BadAmount {
        /// The resource name.
        name: String,
        /// The amount given.
        value: String,
    },
}

impl Resources {
    /// No resources.
    pub fn empty() -> Resources {
        Resources::default()
    }

    /// One scalar resource, e.g. `Resources::scalar("cpus", 0.5)`.
    pub fn scalar(name: &str, amount: f64) -> Result<Resources, ResourceError> {
        Resources::empty().with_scalar(name, amount)
    }

    /// This bundle plus `amount` of scalar `name`.
    pub fn with_scalar(mut self, name: &str, amount: f64) -> Result<Resources, ResourceError> {
        let millis = to_millis(amount).ok_or_else(|| ResourceError::BadAmount {
            name: name.to_owned(),
            value: amount.to_string(),
        })?;
        if millis > 0 {
            *self.scalars.entry(name.to_owned()).or_default() += millis;
        }
        Ok(self)
    }

    /// The amount of scalar `name` (0 if absent).
    pub fn get(&self, name: &str) -> f64 {
        self.scalars
            .get(name)
            .map_or(0.0, |m| *m as f64 / MILLIS_PER_UNIT)
    }

    /// CPUs.
    pub fn cpus(&self) -> f64 {
        self.get("cpus")
    }

    /// Memory in MB.
    pub fn mem_mb(&self) -> f64 {
        self.get("mem")
    }

    /// Scalar names with a non-zero amount, in order.
    pub fn scalar_names(&self) -> impl Iterator<Item = &str> {
        self.scalars.keys().map(String::as_str)
    }

    /// Whether there is nothing in the bundle.
    pub fn is_empty(&self) -> bool {
        self.scalars.is_empty()
    }

    /// Whether every amount in `other` is available here.
    pub fn contains(&self, other: &Resources) -> bool {
        other
            .scalars
            .iter()
            .all(|(k, v)| self.scalars.get(k).is_some_and(|have| have >= v))
    }

    /// This bundle plus `other`.
    pub fn plus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for (k, v) in &other.scalars {
            let e = out.scalars.entry(k.clone()).or_default();
            *e = e.saturating_add(*v);
        }
        out
    }

    /// This bundle minus `other`, or None if `other` is not contained.
    pub fn checked_minus(&self, other: &Resources) -> Option<Resources> {
        if !self.contains(other) {
            return None;
        }
        let mut out = self.clone();
        for (k, v) in &other.scalars {
            if let Some(have) = out.scalars.get_mut(k) {
                *have -= v;
                if *have == 0 {
                    out.scalars.remove(k);
                }
            }
        }
        Some(out)
    }

    /// The largest fraction of `total` that this bundle holds of any scalar
    /// kind present in `total` (Dominant Resource Fairness's share).
    pub fn dominant_share(&self, total: &Resources) -> f64 {
        self.scalars
            .iter()
            .filter_map(|(k, v)| {
                let t = *total.scalars.get(k)?;
                (t > 0).then(|| *v as f64 / t as f64)
            })
            .fold(0.0, f64::max)
    }
}

fn to_millis(amount: f64) -> Option<u64> {
    if !amount.is_finite() || !(0.0..=1e15).contains(&amount) {
        return None;
    }
    Some((amount * MILLIS_PER_UNIT).round() as u64)
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, v) in &self.scalars {
            if !first {
                f.write_str(";")?;
            }
            first = false;
            write!(f, "{k}:{}", *v as f64 / MILLIS_PER_UNIT)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cpus: f64, mem: f64) -> Resources {
        Resources::scalar("cpus", cpus)
            .and_then(|r| r.with_scalar("mem", mem))
            .unwrap()
    }

    #[test]
    fn arithmetic_is_exact_and_never_negative() {
        let total = r(4.0, 8192.0);
        let used = r(0.1, 32.0).plus(&r(0.2, 0.0));
        let left = total.checked_minus(&used).unwrap();
        assert_eq!(left.cpus(), 3.7);
        assert_eq!(left.mem_mb(), 8160.0);
        assert_eq!(left.plus(&used), total);
        assert_eq!(used.checked_minus(&total), None);
        assert!(Resources::scalar("cpus", -1.0).is_err());
        assert!(Resources::scalar("cpus", f64::NAN).is_err());
    }

    #[test]
    fn dominant_share_is_the_largest_fraction() {
        let total = r(9.0, 18.0);
        assert_eq!(r(1.0, 4.0).dominant_share(&total), 4.0 / 18.0);
        assert_eq!(r(3.0, 1.0).dominant_share(&total), 3.0 / 9.0);
        assert_eq!(Resources::empty().dominant_share(&total), 0.0);
    }
}
