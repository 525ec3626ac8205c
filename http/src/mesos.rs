//! What the master's and the agent's Mesos-shaped (v0) endpoints share:
//! Mesos's way of writing times, resources and attributes in JSON, and
//! its JSONP answers.
//!
//! Shapes follow Apache Mesos 1.11 (`src/common/http.cpp`): times are
//! seconds since the epoch with a fraction, resource objects always carry
//! `cpus`, `gpus`, `mem` and `disk` (MB), ranges read `"[a-b, c-d]"` and
//! sets `"{a, b}"`.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use corral_api::resources::{AttrValue, Attributes, Resources};
use serde_json::{json, Map, Value};

use crate::ApiError;

/// A request's query parameters.
pub type Query = web::Query<BTreeMap<String, String>>;

/// Seconds since the epoch, from milliseconds.
pub fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// One agent's resources: the four common scalars always, then every
/// other scalar, range and set by name.
pub fn resources(r: &Resources) -> Value {
    let mut m = Map::new();
    for name in ["cpus", "gpus", "mem", "disk"] {
        m.insert(name.into(), json!(r.get(name)));
    }
    for name in r.scalar_names() {
        m.insert(name.into(), json!(r.get(name)));
    }
    for name in r.range_names() {
        m.insert(name.into(), json!(spaced(&r.ranges(name).to_string())));
    }
    for name in r.set_names() {
        m.insert(name.into(), json!(spaced(&r.set(name).to_string())));
    }
    Value::Object(m)
}

/// The host of an actor address `name@host:port`.
pub fn host_of(pid: &str) -> &str {
    let addr = pid.split_once('@').map_or(pid, |(_, a)| a);
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

/// The port of an actor address `name@host:port` (0 if it has none).
pub fn port_of(pid: &str) -> u16 {
    pid.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// Mesos's usage gauges of the four common resources, as `put` takes
/// them: `{name}_total`, `{name}_used` and `{name}_percent` (a fraction
/// from 0 to 1, 0 when there is none), from the amounts `total` and
/// `used` give by name.
pub fn usage_gauges(
    total: impl Fn(&str) -> f64,
    used: impl Fn(&str) -> f64,
    mut put: impl FnMut(&str, f64),
) {
    for name in ["cpus", "gpus", "mem", "disk"] {
        let (total, used) = (total(name), used(name));
        put(&format!("{name}_total"), total);
        put(&format!("{name}_used"), used);
        let percent = if total > 0.0 { used / total } else { 0.0 };
        put(&format!("{name}_percent"), percent);
    }
}

/// Mesos writes `[1-2, 5-6]` and `{a, b}` where resource text has no space.
fn spaced(text: &str) -> String {
    text.replace(',', ", ")
}

/// Attributes (Mesos's text) as an object: numbers as numbers, the rest as
/// text; nothing for text that does not parse.
pub fn attributes(text: &str) -> Value {
    let mut m = Map::new();
    if let Ok(attrs) = Attributes::parse(text) {
        for (name, value) in attrs.iter() {
            let v = match value {
                AttrValue::Scalar(_) => value
                    .to_string()
                    .parse::<f64>()
                    .map_or_else(|_| json!(value.to_string()), |n| json!(n)),
                _ => json!(spaced(&value.to_string())),
            };
            m.insert(name.into(), v);
        }
    }
    Value::Object(m)
}

/// `body` as JSON, or as `callback(JSON);` JavaScript when the query has
/// `jsonp=callback` (Mesos's JSONP); a callback that is not a name
/// (`[A-Za-z0-9_$.]`) is refused, as it is echoed into a script.
pub fn answer(query: &Query, body: &impl serde::Serialize) -> Result<HttpResponse, ApiError> {
    answer_jsonp(query.get("jsonp").map(String::as_str), body)
}

/// [`answer`] with the `jsonp` parameter given apart, for endpoints that
/// parse their query into a struct of their own.
pub fn answer_jsonp(
    jsonp: Option<&str>,
    body: &impl serde::Serialize,
) -> Result<HttpResponse, ApiError> {
    let text = serde_json::to_string(body)
        .map_err(|e| ApiError::internal(format!("cannot write JSON: {e}")))?;
    match jsonp {
        Some(callback) => {
            let name_ok = !callback.is_empty()
                && callback
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'));
            if !name_ok {
                return Err(ApiError::bad_request(
                    "jsonp must name a function ([A-Za-z0-9_$.])",
                ));
            }
            Ok(HttpResponse::Ok()
                .content_type("text/javascript")
                .body(format!("{callback}({text});")))
        }
        None => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(text)),
    }
}

/// `/flags`: `{"flags": {name: value}}`.
pub fn flags_v0(flags: &[(String, String)]) -> Value {
    let m: Map<String, Value> = flags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({ "flags": m })
}

/// The operator API's `GET_FLAGS` answer: `{"flags": [{name, value}]}`.
pub fn flags_v1(flags: &[(String, String)]) -> Value {
    let list: Vec<Value> = flags
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({ "flags": list })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_mesos_writes_them() {
        let r: Resources = "cpus:2;mem:64;ports:[1-2,5-6];disks:{a,b};bandwidth:10"
            .parse()
            .expect("resources");
        let v = resources(&r);
        assert_eq!(v["cpus"], 2.0);
        assert_eq!(v["gpus"], 0.0, "the four scalars are always there");
        assert_eq!(v["disk"], 0.0);
        assert_eq!(v["bandwidth"], 10.0);
        assert_eq!(v["ports"], "[1-2, 5-6]");
        assert_eq!(v["disks"], "{a, b}");
        let a = attributes("rack:r1;level:3;slots:[1-4]");
        assert_eq!(a, json!({"rack": "r1", "level": 3.0, "slots": "[1-4]"}));
        assert_eq!(attributes(""), json!({}));
        assert_eq!(secs(1_500), 1.5);
        assert_eq!(host_of("master@10.0.0.1:5050"), "10.0.0.1");
        assert_eq!(port_of("master@10.0.0.1:5050"), 5050);
        assert_eq!(port_of("nonsense"), 0);
        let mut g = BTreeMap::new();
        usage_gauges(
            |n| if n == "cpus" { 4.0 } else { 0.0 },
            |_| 1.0,
            |k, v| {
                g.insert(k.to_owned(), v);
            },
        );
        assert_eq!(g["cpus_percent"], 0.25);
        assert_eq!(g["mem_percent"], 0.0, "nothing at all is 0");
        assert_eq!(g.len(), 12);
    }
}
