//! Node configuration: addresses, TLS identity, limits, timeouts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::tls::TlsConfig;
use crate::codec::DEFAULT_MAX_MESSAGE_BYTES;

/// Everything a node needs to start. `NodeConfig::default()` listens on an
/// ephemeral port of 127.0.0.1 with a generated self-signed certificate.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// UDP address the QUIC endpoint binds. Default `127.0.0.1:0` (any free port).
    pub listen: SocketAddr,
    /// Address other nodes reach this one at (the host:port part of its pids).
    /// Default: `listen`, with the bound port. Required when `listen` is a
    /// wildcard address such as `0.0.0.0`.
    pub advertise: Option<SocketAddr>,
    /// Certificates: generated when unset; with a CA, mutual TLS.
    pub tls: TlsConfig,
    /// Largest message (frame) sent or accepted, in bytes. Default 16 MiB.
    /// Larger ones are refused at the sender and skipped at the receiver.
    pub max_message_bytes: usize,
    /// Largest backlog of unsent bytes to one peer node. Default 64 MiB.
    /// Messages past it are dropped and counted (`dropped_backlog`).
    pub max_backlog_bytes: usize,
    /// Run-queue length at which the node stops reading from the network
    /// until its actors catch up (QUIC flow control then slows the senders).
    /// Default 65,536 events.
    pub max_run_queue: usize,
    /// How long a peer node may stay silent before it is considered dead: its
    /// connection closes and links to its actors fire `exited`. Keep-alives go
    /// every third of it. Default 10 s; costs one small packet per peer per
    /// third of it.
    pub link_timeout: Duration,
    /// Seed of the random source actors get. Default: drawn from the OS.
    pub seed: Option<u64>,
    /// Directory for the node's durable store, `node.redb` inside (created
    /// if missing). None: actors' [`Ctx::store`](crate::Ctx::store) calls
    /// fail with [`StorageError::NotConfigured`](crate::StorageError::NotConfigured).
    /// Default None. Costs one fsync per `sync` an actor asks for.
    pub data_dir: Option<PathBuf>,
    /// File of the node's QUIC stateless-reset key (64 bytes; created,
    /// readable by its owner only, when missing). A node restarted on its
    /// address with the same key closes the connections its earlier run
    /// had as soon as their packets arrive, so peers notice the restart at
    /// once (links fire `exited`) instead of after `link_timeout`. Default
    /// None: `{data_dir}/reset.key` when `data_dir` is set, else a new
    /// random key each start. Costs one 64-byte read at start.
    pub reset_key_file: Option<PathBuf>,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            tls: TlsConfig::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_backlog_bytes: 64 << 20,
            max_run_queue: 65_536,
            link_timeout: Duration::from_secs(10),
            seed: None,
            data_dir: None,
            reset_key_file: None,
        }
    }
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `max_message_bytes` is below 1 KiB or above 1 GiB.
    #[error("max_message_bytes must be between 1 KiB and 1 GiB, got {0}")]
    MaxMessageBytes(usize),
    /// `max_backlog_bytes` is smaller than one largest message.
    #[error("max_backlog_bytes ({backlog}) must be at least max_message_bytes ({message})")]
    MaxBacklogBytes {
        /// The backlog limit given.
        backlog: usize,
        /// The message limit given.
        message: usize,
    },
    /// `max_run_queue` is zero.
    #[error("max_run_queue must be at least 1")]
    MaxRunQueue,
    /// `link_timeout` is below 100 ms or above 1 hour.
    #[error("link_timeout must be between 100 ms and 1 h, got {0:?}")]
    LinkTimeout(Duration),
    /// The node listens on a wildcard address but advertises none.
    #[error("listen address {0} is a wildcard: set an advertise address peers can reach")]
    WildcardWithoutAdvertise(SocketAddr),
    /// The advertised address is a wildcard or has port 0.
    #[error("advertise address {0} must be a concrete ip:port")]
    BadAdvertise(SocketAddr),
}

impl NodeConfig {
    /// Where the stateless-reset key is kept: `reset_key_file`, else
    /// `{data_dir}/reset.key`; None for a node that keeps none.
    pub fn reset_key_path(&self) -> Option<PathBuf> {
        self.reset_key_file.clone().or_else(|| {
            self.data_dir
                .as_ref()
                .map(|d| d.join(super::RESET_KEY_FILE))
        })
    }

    /// Checks every limit; [`Node::start`](super::Node::start) calls it first.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1024..=1 << 30).contains(&self.max_message_bytes) {
            return Err(ConfigError::MaxMessageBytes(self.max_message_bytes));
        }
        if self.max_backlog_bytes < self.max_message_bytes {
            return Err(ConfigError::MaxBacklogBytes {
                backlog: self.max_backlog_bytes,
                message: self.max_message_bytes,
            });
        }
        if self.max_run_queue == 0 {
            return Err(ConfigError::MaxRunQueue);
        }
        if self.link_timeout < Duration::from_millis(100)
            || self.link_timeout > Duration::from_secs(3600)
        {
            return Err(ConfigError::LinkTimeout(self.link_timeout));
        }
        match self.advertise {
            Some(a) if a.ip().is_unspecified() || a.port() == 0 => {
                Err(ConfigError::BadAdvertise(a))
            }
            None if self.listen.ip().is_unspecified() => {
                Err(ConfigError::WildcardWithoutAdvertise(self.listen))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        assert_eq!(NodeConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut NodeConfig)| {
            let mut c = NodeConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert_eq!(
            bad(|c| c.max_message_bytes = 10),
            ConfigError::MaxMessageBytes(10)
        );
        assert!(matches!(
            bad(|c| c.max_backlog_bytes = 2048),
            ConfigError::MaxBacklogBytes { .. }
        ));
        assert_eq!(bad(|c| c.max_run_queue = 0), ConfigError::MaxRunQueue);
        assert!(matches!(
            bad(|c| c.link_timeout = Duration::ZERO),
            ConfigError::LinkTimeout(_)
        ));
        assert!(matches!(
            bad(|c| c.listen = "0.0.0.0:5050".parse().unwrap()),
            ConfigError::WildcardWithoutAdvertise(_)
        ));
        assert!(matches!(
            bad(|c| c.advertise = Some("10.0.0.1:0".parse().unwrap())),
            ConfigError::BadAdvertise(_)
        ));
    }
}
