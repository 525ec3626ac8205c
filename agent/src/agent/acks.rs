//! Acknowledgements from the framework, forwarded by the master: the end of
//! an update's journey, and of a task's once its last update is through.

use corral_api::agent as master;
use corral_runtime::{Ctx, Handler};

use super::Agent;
use crate::updates::AckResult;

impl Handler<master::StatusAck> for Agent {
    fn handle(&mut self, msg: master::StatusAck, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_master("StatusAck", ctx) {
            return;
        }
        let key = (msg.framework_id, msg.task_id);
        match self.updates.ack(&key.0, &key.1, msg.uuid) {
            AckResult::Acked => {
                self.dirty.insert(key.clone());
                self.maybe_forget(&key, ctx);
                // The task's next update goes out at once.
                self.flush(ctx);
            }
            result => {
                tracing::debug!(framework = %key.0, task = %key.1, ?result, "ignoring an acknowledgement");
            }
        }
    }
}
