//! Process identifiers: the location-transparent address of an actor.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The longest actor name a `Pid` accepts, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// The address of an actor: `name@host:port`, like libprocess's UPID.
///
/// `addr` is the node's advertised QUIC address; `name` is unique within that
/// node. A `Pid` is cheap to clone (the name is shared) and serializable, so it
/// can travel inside messages; sending to it is the same call whether the actor
/// lives in this process or on another machine.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "WirePid")]
pub struct Pid {
    name: Arc<str>,
    addr: SocketAddr,
}

/// Why a string is not a valid `Pid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidError {
    /// The string has no `@` separating name and address.
    #[error("pid {0:?} has no '@' (expected name@host:port)")]
    MissingAt(String),
    /// The name part is empty, too long, or holds a character outside `[A-Za-z0-9._-$]`.
    #[error("pid name {0:?} is not valid: use 1-255 of A-Z a-z 0-9 . _ - $")]
    BadName(String),
    /// The address part is not an `ip:port` socket address.
    #[error("pid address {0:?} is not ip:port")]
    BadAddr(String),
}

impl Pid {
    /// Builds a pid after checking the name (see [`PidError::BadName`]).
    pub fn new(name: &str, addr: SocketAddr) -> Result<Pid, PidError> {
        validate_name(name)?;
        Ok(Pid {
            name: Arc::from(name),
            addr,
        })
    }

    /// The actor's name within its node.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's advertised address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
    }
}

/// Checks an actor name: 1-255 bytes of `[A-Za-z0-9._-$]`.
///
/// `$` is reserved for names the runtime itself makes (proxies for asks from
/// outside the node), so user actors cannot collide with them by accident.
pub fn validate_name(name: &str) -> Result<(), PidError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'$'));
    if ok {
        Ok(())
    } else {
        Err(PidError::BadName(name.to_owned()))
    }
}

/// The wire form of a pid; decoding goes through [`Pid::new`] so a peer
/// cannot smuggle in a malformed name.
#[derive(Deserialize)]
struct WirePid {
    name: String,
    addr: SocketAddr,
}

impl TryFrom<WirePid> for Pid {
    type Error = PidError;

    fn try_from(w: WirePid) -> Result<Pid, PidError> {
        Pid::new(&w.name, w.addr)
    }
}

impl Serialize for Pid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("WirePid", 2)?;
        st.serialize_field("name", &*self.name)?;
        st.serialize_field("addr", &self.addr)?;
        st.end()
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.addr)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Pid {
    type Err = PidError;

    fn from_str(s: &str) -> Result<Pid, PidError> {
        // The name never holds '@', the address may (it never does for ip:port,
        // but splitting at the first '@' keeps the rule simple to state).
        let (name, addr) = s
            .split_once('@')
            .ok_or_else(|| PidError::MissingAt(s.to_owned()))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| PidError::BadAddr(addr.to_owned()))?;
        Pid::new(name, addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_ipv4_and_ipv6() {
        for s in [
            "master@127.0.0.1:5050",
            "agent-1.x_y@[::1]:5051",
            "$ask-3@10.0.0.1:1",
        ] {
            let pid: Pid = s.parse().unwrap();
            assert_eq!(pid.to_string(), s);
        }
        let pid: Pid = "a@127.0.0.1:9".parse().unwrap();
        assert_eq!(pid.name(), "a");
        assert_eq!(pid.addr(), "127.0.0.1:9".parse().unwrap());
    }

    #[test]
    fn rejects_bad_strings() {
        let cases = [
            ("master", PidError::MissingAt("master".into())),
            ("@127.0.0.1:1", PidError::BadName("".into())),
            ("a b@127.0.0.1:1", PidError::BadName("a b".into())),
            ("a@localhost", PidError::BadAddr("localhost".into())),
            ("a@127.0.0.1", PidError::BadAddr("127.0.0.1".into())),
            (
                "a@127.0.0.1:70000",
                PidError::BadAddr("127.0.0.1:70000".into()),
            ),
            ("a@b@127.0.0.1:1", PidError::BadAddr("b@127.0.0.1:1".into())),
        ];
        for (s, want) in cases {
            assert_eq!(s.parse::<Pid>().unwrap_err(), want, "{s}");
        }
        let long = format!("{}@127.0.0.1:1", "x".repeat(MAX_NAME_BYTES + 1));
        assert!(matches!(long.parse::<Pid>(), Err(PidError::BadName(_))));
    }

    #[test]
    fn decoding_validates_the_name() {
        #[derive(Serialize)]
        struct Raw<'a> {
            name: &'a str,
            addr: SocketAddr,
        }
        let bytes = crate::codec::encode(&Raw {
            name: "no spaces",
            addr: "127.0.0.1:1".parse().unwrap(),
        })
        .unwrap();
        assert!(crate::codec::decode::<Pid>(&bytes, 1024).is_err());
    }

    #[test]
    fn round_trips_through_the_codec() {
        let pid: Pid = "sched@[::1]:5050".parse().unwrap();
        let bytes = crate::codec::encode(&pid).unwrap();
        let back: Pid = crate::codec::decode(&bytes, 1024).unwrap();
        assert_eq!(back, pid);
    }
}
