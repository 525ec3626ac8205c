//! Acknowledgements from the framework, forwarded by the master: the end of
//! an update's journey, and of a task's once its last update is through.

use corral_api::agent as master;
use corral_runtime::Pid;

use super::{AgentCore, Now};
use crate::updates::AckResult;

impl AgentCore {
    /// The framework acknowledged an update (if `from` is the master).
    pub fn handle_status_ack(&mut self, now: &Now<'_>, from: Option<&Pid>, msg: master::StatusAck) {
        if !self.sent_by_master("StatusAck", from) {
            return;
        }
        let key = (msg.framework_id, msg.task_id);
        match self.updates.ack(&key.0, &key.1, msg.uuid) {
            AckResult::Acked => {
                self.dirty.insert(key.clone());
                self.maybe_forget(&key);
                // The task's next update goes out at once.
                self.flush(now.time);
            }
            result => {
                tracing::debug!(framework = %key.0, task = %key.1, ?result, "ignoring an acknowledgement");
            }
        }
    }
}
