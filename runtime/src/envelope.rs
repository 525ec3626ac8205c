//! Messages in flight inside a node: who, to whom, which exchange, and the body.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use crate::actor::DispatchError;
use crate::codec::{self, Corr};
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

/// One message addressed to a local actor.
pub(crate) struct Envelope {
    pub(crate) to: Arc<str>,
    pub(crate) from: Pid,
    pub(crate) corr: Corr,
    pub(crate) name: Cow<'static, str>,
    pub(crate) body: Body,
}
