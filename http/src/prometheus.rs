//! Prometheus's text exposition format (0.0.4): `# HELP` and `# TYPE` once
//! per metric family, then one `name{label="value"} number` line per sample.
//! Enough of it for counters, gauges and histograms, with the escaping the
//! format asks for, so label values from the cluster (states, reasons) can
//! never break a line.

use std::fmt::Write;

/// The `Content-Type` of a Prometheus text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a metric family is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (resets when the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted in cumulative `le` buckets, with `_sum` and
    /// `_count`.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample's value: counts print exactly, measurements as decimals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A count.
    Int(u64),
    /// A measurement.
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

/// A text exposition being written. Call [`family`](Exposition::family)
/// before the samples of each family.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    ///
    /// # Panics
    /// If `name` is not a valid metric name (a programmer error: names are
    /// constants).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        assert!(valid_name(name), "invalid metric name {name:?}");
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the current family (or of its `_bucket`, `_sum` and
    /// `_count` series).
    ///
    /// # Panics
    /// If `name` or a label name is not valid (programmer errors).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        assert!(valid_name(name), "invalid metric name {name:?}");
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                assert!(valid_label(label), "invalid label name {label:?}");
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(value));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&format_value(value.into()));
        self.out.push('\n');
    }

    /// A family of one unlabelled counter.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, Kind::Counter, help);
        self.sample(name, &[], value);
    }

    /// A family of one unlabelled gauge.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl Into<Value>) {
        self.family(name, Kind::Gauge, help);
        self.sample(name, &[], value);
    }

    /// A histogram family: `buckets` are (upper bound, cumulative count),
    /// ending with `+Inf`; `sum` is of all observations, `count` their
    /// number.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        buckets: &[(f64, u64)],
        sum: f64,
        count: u64,
    ) {
        self.family(name, Kind::Histogram, help);
        let bucket = format!("{name}_bucket");
        for (le, n) in buckets {
            let le = format_value(Value::Float(*le));
            self.sample(&bucket, &[("le", &le)], *n);
        }
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], count);
    }

    /// The exposition's text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
fn valid_label(name: &str) -> bool {
    valid_name(name) && !name.contains(':')
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', r#"\""#)
        .replace('\n', r"\n")
}

fn format_value(value: Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Float(f) if f.is_nan() => "NaN".to_owned(),
        Value::Float(f) if f == f64::INFINITY => "+Inf".to_owned(),
        Value::Float(f) if f == f64::NEG_INFINITY => "-Inf".to_owned(),
        // Rust prints floats without exponents, which the format accepts.
        Value::Float(f) => f.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_help_type_and_samples() {
        let mut e = Exposition::new();
        e.counter("corral_x_total", "Xs seen.\nSecond line \\ here", 7);
        e.family("corral_tasks", Kind::Gauge, "Tasks by state.");
        e.sample("corral_tasks", &[("state", "TASK_RUNNING")], 2);
        e.sample("corral_tasks", &[("state", "a\"b\\c\nd")], 0.5);
        let text = e.finish();
        assert_eq!(
            text,
            "# HELP corral_x_total Xs seen.\\nSecond line \\\\ here\n\
             # TYPE corral_x_total counter\n\
             corral_x_total 7\n\
             # HELP corral_tasks Tasks by state.\n\
             # TYPE corral_tasks gauge\n\
             corral_tasks{state=\"TASK_RUNNING\"} 2\n\
             corral_tasks{state=\"a\\\"b\\\\c\\nd\"} 0.5\n"
        );
    }

    #[test]
    fn histograms_end_with_inf_sum_and_count() {
        let mut e = Exposition::new();
        let buckets = [(0.001, 1), (0.01, 3), (f64::INFINITY, 4)];
        e.histogram("corral_h_seconds", "H.", &buckets, 0.0000001, 4);
        let text = e.finish();
        assert!(
            text.contains("# TYPE corral_h_seconds histogram\n"),
            "{text}"
        );
        assert!(
            text.contains("corral_h_seconds_bucket{le=\"0.001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("corral_h_seconds_bucket{le=\"+Inf\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("corral_h_seconds_sum 0.0000001\n"), "{text}");
        assert!(text.ends_with("corral_h_seconds_count 4\n"), "{text}");
    }

    #[test]
    fn names_follow_the_format() {
        assert!(valid_name("corral_runtime_delivered_total"));
        assert!(valid_name("a:b"));
        for bad in ["", "1x", "a-b", "a b", "é"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(!valid_label("a:b"));
        assert_eq!(format_value(Value::Float(f64::NAN)), "NaN");
        assert_eq!(format_value(Value::Float(f64::NEG_INFINITY)), "-Inf");
        assert_eq!(format_value(Value::Float(2.0)), "2");
    }

    #[test]
    #[should_panic(expected = "invalid metric name")]
    fn a_bad_name_is_a_programmer_error() {
        Exposition::new().counter("bad-name", "x", 1);
    }
}
