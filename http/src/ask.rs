//! How HTTP handlers reach actors: by asking them through the node, never
//! by touching their state. `Node::ask` blocks its thread until the answer
//! comes, so it runs on actix-web's blocking pool, leaving the server's one
//! worker free for other requests meanwhile.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use corral_runtime::{AskError, Node, Pid, Request};

use crate::errors::ApiError;

/// How long a handler waits for an actor. A master that does not answer
/// within this is stuck or gone; 503 says so rather than hanging the
/// browser.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks `to` (called `who` in error messages) through `node` and waits, off
/// the server's worker, for the reply; 503 if none comes within
/// [`ASK_TIMEOUT`].
pub async fn ask<M: Request>(
    node: &Arc<Node>,
    to: &Pid,
    msg: M,
    who: &str,
) -> Result<M::Reply, ApiError> {
    let node = node.clone();
    let target = to.clone();
    let answer = web::block(move || node.ask(&target, msg, ASK_TIMEOUT))
        .await
        .map_err(|e| ApiError::internal(format!("cannot wait for the {who}: {e}")))?;
    answer.map_err(|e| unanswered(who, &e))
}

fn unanswered(who: &str, e: &AskError) -> ApiError {
    let why = match e {
        AskError::Timeout => format!("did not answer within {} s", ASK_TIMEOUT.as_secs()),
        AskError::NoSuchActor => "is not running on this node (yet)".to_owned(),
        other => format!("could not answer: {other}"),
    };
    ApiError::unavailable(format!("the {who} {why}"))
}
