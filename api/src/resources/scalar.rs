//! Fixed-point scalar amounts: thousandths of a unit in a `u64`.
//!
//! Mesos rounds scalars to three decimals so that adding and subtracting
//! offers and tasks never drifts; we store the thousandths as an integer so
//! the arithmetic is exact rather than merely rounded, and we read and write
//! decimal text without going through `f64`, so `0.1` is exactly 100
//! thousandths and prints back as `0.1`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Thousandths of a unit: 1 cpu = 1000, 0.1 cpu = 100.
const MILLIS_PER_UNIT: u64 = 1000;

/// The largest amount accepted from an `f64`, in units. Far above any real
/// machine, and small enough that a handful of sums cannot reach `u64::MAX`.
const MAX_F64_UNITS: f64 = 1e15;

/// A non-negative scalar amount with three exact decimals.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Scalar(u64);

impl Scalar {
    /// Zero.
    pub const ZERO: Scalar = Scalar(0);

    /// The amount `millis` thousandths of a unit.
    pub const fn from_millis(millis: u64) -> Scalar {
        Scalar(millis)
    }

    /// The amount in thousandths of a unit.
    pub const fn millis(self) -> u64 {
        self.0
    }

    /// `amount` rounded to the nearest thousandth, or None if it is negative,
    /// not finite, or above 10^15 (far beyond any machine; a guard against
    /// garbage rather than a limit anyone should meet).
    pub fn from_f64(amount: f64) -> Option<Scalar> {
        if !amount.is_finite() || !(0.0..=MAX_F64_UNITS).contains(&amount) {
            return None;
        }
        Some(Scalar((amount * MILLIS_PER_UNIT as f64).round() as u64))
    }

    /// The amount as a float, for display and ratios; arithmetic should stay
    /// on `Scalar` to remain exact.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / MILLIS_PER_UNIT as f64
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Scalar {
    /// Up to three decimals and no trailing zeros: `4`, `0.5`, `0.125`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / MILLIS_PER_UNIT;
        let frac = self.0 % MILLIS_PER_UNIT;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:03}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// Why a text is not a decimal amount; the caller adds the resource name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DecimalError {
    /// Not of the form `digits[.digits]` (or `.digits`).
    Malformed,
    /// A well-formed number with a leading minus sign.
    Negative,
    /// Well-formed but above `u64::MAX` thousandths.
    TooLarge,
}

/// Reads a plain decimal such as `4`, `0.5`, `.25` or `8192.0`, rounding
/// half up to thousandths as Mesos does. Exponents, signs other than a
/// leading minus (reported as negative), and anything else are malformed:
/// the resource syntax is for people, and a strict reading catches typos.
pub(super) fn parse_decimal(text: &str) -> Result<Scalar, DecimalError> {
    if let Some(rest) = text.strip_prefix('-') {
        // Only call it negative when it is otherwise a number, so "-x" is
        // reported as not a number.
        return match parse_unsigned_decimal(rest) {
            Err(DecimalError::Malformed) => Err(DecimalError::Malformed),
            _ => Err(DecimalError::Negative),
        };
    }
    parse_unsigned_decimal(text)
}

fn parse_unsigned_decimal(text: &str) -> Result<Scalar, DecimalError> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !all_digits(whole) || !all_digits(frac) {
        return Err(DecimalError::Malformed);
    }
    let mut millis: u64 = 0;
    for b in whole.bytes() {
        millis = millis
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(b - b'0')))
            .ok_or(DecimalError::TooLarge)?;
    }
    let mut frac_digits = frac.bytes().map(|b| u64::from(b - b'0'));
    let mut frac_millis = 0;
    for _ in 0..3 {
        frac_millis = frac_millis * 10 + frac_digits.next().unwrap_or(0);
    }
    // The fourth decimal alone decides half-up rounding: later digits add
    // less than one ten-thousandth.
    let round_up = frac_digits.next().is_some_and(|d| d >= 5);
    millis
        .checked_mul(MILLIS_PER_UNIT)
        .and_then(|m| m.checked_add(frac_millis + u64::from(round_up)))
        .map(Scalar)
        .ok_or(DecimalError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_read_exactly_and_round_half_up() {
        let table: &[(&str, Result<u64, DecimalError>)] = &[
            ("4", Ok(4000)),
            ("0.5", Ok(500)),
            (".25", Ok(250)),
            ("8192.", Ok(8_192_000)),
            ("007.100", Ok(7100)),
            ("0.0004", Ok(0)),
            ("0.0005", Ok(1)),
            ("0.12349999", Ok(123)),
            ("1.9999", Ok(2000)),
            ("18446744073709551.615", Ok(u64::MAX)),
            ("18446744073709551.6149", Ok(u64::MAX)),
            ("18446744073709551.6155", Err(DecimalError::TooLarge)),
            ("18446744073709552", Err(DecimalError::TooLarge)),
            ("99999999999999999999999", Err(DecimalError::TooLarge)),
            ("-1", Err(DecimalError::Negative)),
            ("-0.5", Err(DecimalError::Negative)),
            ("-x", Err(DecimalError::Malformed)),
            ("", Err(DecimalError::Malformed)),
            (".", Err(DecimalError::Malformed)),
            ("1.2.3", Err(DecimalError::Malformed)),
            ("1e3", Err(DecimalError::Malformed)),
            ("+1", Err(DecimalError::Malformed)),
            (" 1", Err(DecimalError::Malformed)),
            ("NaN", Err(DecimalError::Malformed)),
            ("inf", Err(DecimalError::Malformed)),
            ("١", Err(DecimalError::Malformed)),
        ];
        for (text, want) in table {
            let got = parse_decimal(text).map(Scalar::millis);
            assert_eq!(got, *want, "parsing {text:?}");
        }
    }

    #[test]
    fn display_has_at_most_three_decimals_and_no_trailing_zeros() {
        let table = [
            (0, "0"),
            (4000, "4"),
            (500, "0.5"),
            (250, "0.25"),
            (125, "0.125"),
            (1, "0.001"),
            (8_192_010, "8192.01"),
            (u64::MAX, "18446744073709551.615"),
        ];
        for (millis, want) in table {
            assert_eq!(Scalar::from_millis(millis).to_string(), want);
        }
    }

    #[test]
    fn from_f64_rejects_what_is_not_an_amount() {
        assert_eq!(Scalar::from_f64(0.1), Some(Scalar::from_millis(100)));
        assert_eq!(Scalar::from_f64(-0.001), None);
        assert_eq!(Scalar::from_f64(f64::NAN), None);
        assert_eq!(Scalar::from_f64(f64::INFINITY), None);
        assert_eq!(Scalar::from_f64(1e16), None);
    }

    proptest! {
        #[test]
        fn display_reads_back(millis in any::<u64>()) {
            let s = Scalar::from_millis(millis);
            prop_assert_eq!(parse_decimal(&s.to_string()), Ok(s));
        }

        #[test]
        fn parsing_never_panics(text in any::<String>()) {
            let _ = parse_decimal(&text);
        }

        #[test]
        fn parsing_digit_soup_never_panics(text in "[-0-9.]{0,30}") {
            let _ = parse_decimal(&text);
        }
    }
}
