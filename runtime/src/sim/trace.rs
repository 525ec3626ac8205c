//! The trace hash: every simulated event folded into one number, so two runs
//! of a seed can be compared in O(1) memory; optionally a readable log.

use std::net::SocketAddr;

use crate::time::Time;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[derive(Debug)]
pub(crate) struct Trace {
    hash: u64,
    lines: Option<Vec<String>>,
}

impl Default for Trace {
    fn default() -> Trace {
        Trace {
            hash: FNV_OFFSET,
            lines: None,
        }
    }
}

impl Trace {
    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    pub(crate) fn record(&mut self, on: bool) {
        self.lines = on.then(Vec::new);
    }

    pub(crate) fn lines(&self) -> &[String] {
        self.lines.as_deref().unwrap_or(&[])
    }

    /// Folds an event into the hash; `detail` (computed only when recording)
    /// makes its trace line readable.
    pub(crate) fn note(
        &mut self,
        at: Time,
        kind: &str,
        node: SocketAddr,
        data: &[u8],
        detail: impl FnOnce() -> String,
    ) {
        self.fold(&at.as_nanos().to_le_bytes());
        self.fold(kind.as_bytes());
        match node.ip() {
            std::net::IpAddr::V4(ip) => self.fold(&ip.octets()),
            std::net::IpAddr::V6(ip) => self.fold(&ip.octets()),
        }
        self.fold(&node.port().to_le_bytes());
        self.fold(data);
        if let Some(lines) = &mut self.lines {
            lines.push(format!(
                "{:>10.6}s {kind:<9} {node:<16} {:016x} {}",
                at.as_nanos() as f64 / 1e9,
                self.hash,
                detail()
            ));
        }
    }

    /// FNV-1a over 8-byte words (then the tail bytes): the trace only needs
    /// to be a deterministic fingerprint, and words keep it cheap per event.
    fn fold(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            self.hash ^= u64::from_le_bytes(word);
            self.hash = self.hash.wrapping_mul(FNV_PRIME);
        }
        for b in words.remainder() {
            self.hash ^= u64::from(*b);
            self.hash = self.hash.wrapping_mul(FNV_PRIME);
        }
    }
}
