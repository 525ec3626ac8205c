//! The offer traffic every framework sees and sends, in the order it
//! happens, for the offer ledger (invariant 2): the ledger is built from
//! this, not from what any master reports about itself.

use std::cell::RefCell;
use std::rc::Rc;

use corral_api::framework::Offer;
use corral_api::ids::{OfferId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskState;
use corral_runtime::Pid;

/// One thing a framework saw or did about offers and tasks.
#[derive(Debug, Clone)]
pub enum Seen {
    /// Framework `fw` subscribed with `master`: offers it holds from other
    /// masters are void.
    Subscribed {
        /// The framework's index.
        fw: usize,
        /// Its new master.
        master: Pid,
    },
    /// Framework `fw` received an offer.
    Offered {
        /// The framework's index.
        fw: usize,
        /// The master that sent it.
        from: Pid,
        /// From the master it follows (the driver drops others' offers).
        current: bool,
        /// The offer.
        offer: Offer,
    },
    /// Framework `fw` accepted offers, launching these (valid) tasks.
    Accepted {
        /// The framework's index.
        fw: usize,
        /// The offers named.
        offer_ids: Vec<OfferId>,
        /// The tasks it launched and what they hold.
        tasks: Vec<(TaskId, Resources)>,
    },
    /// Framework `fw` declined offers.
    Declined {
        /// The framework's index.
        fw: usize,
        /// The offers.
        offer_ids: Vec<OfferId>,
    },
    /// An offer to framework `fw` was rescinded.
    Rescinded {
        /// The framework's index.
        fw: usize,
        /// The offer.
        offer_id: OfferId,
    },
    /// Framework `fw` heard a task's state.
    Updated {
        /// The framework's index.
        fw: usize,
        /// The task.
        task_id: TaskId,
        /// Its state.
        state: TaskState,
        /// The producer's uuid (None: made by a master).
        uuid: Option<[u8; 16]>,
    },
    /// Framework `fw`'s scheduler's machine went down: the offers it held
    /// stay with the master until it rescinds or recovers them, and the
    /// launches it sent last may have gone down with it.
    Down {
        /// The framework's index.
        fw: usize,
    },
    /// Framework `fw`'s scheduler quit for good: the offers it held stay
    /// with the master until it rescinds or recovers them; what it sent
    /// before still arrives.
    Left {
        /// The framework's index.
        fw: usize,
    },
    /// A master's machine crashed: the offers it made and the launches
    /// sent to it are gone with its memory, and no rescind of them will
    /// ever come (seed 89950: a lone master down for longer than the
    /// rescind grace while its offers' framework still held them).
    MasterDown {
        /// The master.
        master: Pid,
    },
}

/// The shared feed, in order.
pub type Traffic = Rc<RefCell<Vec<Seen>>>;
