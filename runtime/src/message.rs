//! Typed messages and their stable wire names.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A message actors exchange: a serde type with a stable wire name.
///
/// The name, not the Rust type path, identifies the message on the wire, so a
/// type can be renamed or moved without breaking peers. Names are conventionally
/// `crate.Type` (e.g. `master.RegisterAgent`) and must be unique among the
/// messages one actor handles. Use [`message!`](crate::message) to implement it.
pub trait Message: Serialize + DeserializeOwned + Send + 'static {
    /// The stable wire name.
    const NAME: &'static str;
}

/// A message that expects an answer of type `Reply` when sent with
/// [`Ctx::ask`](crate::Ctx::ask).
pub trait Request: Message {
    /// What the receiver answers with [`Ctx::reply`](crate::Ctx::reply).
    type Reply: Message;
}

/// Implements [`Message`] (and optionally [`Request`]) for types.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize)]
/// struct Ping(u64);
/// #[derive(Serialize, Deserialize)]
/// struct Pong(u64);
/// corral_runtime::message!(Ping = "doc.Ping" => Pong);
/// corral_runtime::message!(Pong = "doc.Pong");
/// ```
#[macro_export]
macro_rules! message {
    ($ty:ty = $name:literal) => {
        impl $crate::Message for $ty {
            const NAME: &'static str = $name;
        }
    };
    ($ty:ty = $name:literal => $reply:ty) => {
        impl $crate::Message for $ty {
            const NAME: &'static str = $name;
        }
        impl $crate::Request for $ty {
            type Reply = $reply;
        }
    };
}
