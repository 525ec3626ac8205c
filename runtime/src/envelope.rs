//! Messages in flight inside a node: who, to whom, which exchange, and the
//! body, and why one could not be given to its handler.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use crate::codec::{self, CodecError, Corr};
use crate::message::Message;
use crate::pid::Pid;

/// A message body: the value itself for local sends (no encoding), or bytes
/// that came over the wire.
pub(crate) enum Body {
    Local(Box<dyn Any + Send>),
    Wire(Vec<u8>),
}

impl Body {
    pub(crate) fn open<M: Message>(self, max_bytes: usize) -> Result<M, DispatchError> {
        match self {
            Body::Local(b) => b
                .downcast::<M>()
                .map(|m| *m)
                .map_err(|_| DispatchError::TypeMismatch(M::NAME.to_owned())),
            Body::Wire(bytes) => {
                codec::decode(&bytes, max_bytes).map_err(|error| DispatchError::Undecodable {
                    name: M::NAME.to_owned(),
                    error,
                })
            }
        }
    }
}

/// Why a message could not be given to a handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The actor declares no handler for this wire name.
    #[error("no handler for message {0:?}")]
    NoHandler(String),
    /// The bytes did not decode as the handler's message type.
    #[error("message {name:?} did not decode: {error}")]
    Undecodable {
        /// The wire name.
        name: String,
        /// What the codec said.
        error: CodecError,
    },
    /// A local message's Rust type differs from the handler's: two message
    /// types share one wire name (a programmer error).
    #[error("message {0:?} has a different Rust type than its handler expects")]
    TypeMismatch(String),
}

/// One message addressed to a local actor.
pub(crate) struct Envelope {
    pub(crate) to: Arc<str>,
    pub(crate) from: Pid,
    pub(crate) corr: Corr,
    pub(crate) name: Cow<'static, str>,
    pub(crate) body: Body,
    /// The principal the sending node's certificate proved, for a message
    /// that came over a mutual-TLS connection (see [`crate::Ctx::certified`]).
    pub(crate) certified: Option<Arc<str>>,
}
