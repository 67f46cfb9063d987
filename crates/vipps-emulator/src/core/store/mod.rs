//! All emulator state behind one [`Store`]: payments with their event logs, landing-page tokens
//! and idempotency records. The domain rules (state machine, amounts) live on [`Payment`].

use crate::core::outbox::{Message, Outbound, Outbox};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

mod consents;
mod idempotency;
mod ledger;
mod payment;
mod sharded;
mod views;
pub(crate) use self::{consents::*, idempotency::*, ledger::*, payment::*};
pub(crate) use crate::core::outbox::{ApiEvent, PublishedEvent};

/// The emulator's one store: every table of every API behind a single lock. Every operation
/// runs as one transaction ([`Store::transact`]), which makes idempotency checks and state
/// changes atomic (two identical concurrent requests have exactly one effect) and leaves no lock
/// order to get wrong.
///
/// What a transaction causes (deliveries, and the payment events it recorded once somebody
/// listens) is queued in the [`Outbox`] when it commits, in commit order, and acted on by the
/// outbox's consumer after the lock is released.
#[derive(Debug)]
pub(crate) struct Store {
    data: Mutex<Tables>,
    outbox: Arc<Outbox>,
    /// How many transactions have run (see [`Store::changes`]).
    changes: AtomicU64,
}

/// The data behind the store's lock: the ePayment ledger (payments, tokens, consents), the
/// idempotency records of every API, and one table per API that keeps more (Checkout sessions,
/// eCom orders, webhook registrations), which the core knows only as [`Table`]s.
pub(crate) struct Tables {
    /// Payments, landing tokens, consents.
    pub(crate) ledger: Ledger,
    /// Every API's idempotency records.
    pub(crate) idempotency: Idempotency,
    /// What this transaction hands on when it commits.
    outbox: Vec<Message>,
    /// Whether payment events are published (from the first webhook registration on; until
    /// then nobody could receive them, so no bookkeeping is done).
    publishing: bool,
    /// The other APIs' events recorded in this transaction (only while publishing).
    api_events: Vec<ApiEvent>,
    ext: Vec<Box<dyn AnyTable>>,
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tables")
            .field("payments", &self.ledger.payment_count())
            .field("tables", &self.ext.len())
            .finish_non_exhaustive()
    }
}

/// An API's table in the store.
pub(crate) trait Table: Send + Sync + 'static {
    /// Forgets everything (`POST /_emulator/reset`).
    fn clear(&mut self);
}

/// A [`Table`] the store can hold without knowing its type.
pub(crate) trait AnyTable: Send + Sync {
    fn clear(&mut self);
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Table> AnyTable for T {
    fn clear(&mut self) {
        Table::clear(self);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

const UNREGISTERED: &str = "the composition root registers every API's table";

/// The registered table of type `T` (borrowing only the API tables, so the ledger stays free).
fn find_mut<T: Table>(ext: &mut [Box<dyn AnyTable>]) -> &mut T {
    ext.iter_mut()
        .find_map(|t| t.as_any_mut().downcast_mut::<T>())
        .expect(UNREGISTERED)
}

impl Tables {
    /// The table of type `T`.
    pub(crate) fn get<T: Table>(&self) -> &T {
        self.ext
            .iter()
            .find_map(|t| t.as_any().downcast_ref::<T>())
            .expect(UNREGISTERED)
    }

    /// The table of type `T`, to change.
    pub(crate) fn get_mut<T: Table>(&mut self) -> &mut T {
        find_mut(&mut self.ext)
    }

    /// The ledger and the table of type `T` at once.
    pub(crate) fn ledger_and<T: Table>(&mut self) -> (&mut Ledger, &mut T) {
        (&mut self.ledger, find_mut(&mut self.ext))
    }

    /// Sends `o` once this transaction commits.
    pub(crate) fn deliver(&mut self, o: Outbound) {
        self.outbox.push(Message::Deliver(Box::new(o)));
    }

    /// Publishes payment events from now on (events recorded before are never published).
    pub(crate) fn start_publishing(&mut self) {
        if !self.publishing {
            self.ledger.mark_all_published();
            self.publishing = true;
        }
    }

    /// Whether events are published (somebody registered a webhook): an API renders its
    /// events only then.
    pub(crate) fn publishing(&self) -> bool {
        self.publishing
    }

    /// Hands `event` on to webhooks once this transaction commits, if events are published.
    pub(crate) fn publish(&mut self, event: ApiEvent) {
        if self.publishing {
            self.api_events.push(event);
        }
    }

    /// Ends the transaction: records the consents it gave and queues what it hands on.
    /// Answers whether anything was queued.
    fn commit(&mut self, outbox: &Outbox) -> bool {
        if !self.ledger.touched.is_empty() {
            self.ledger.note_consents();
            if self.publishing {
                let events = self.ledger.take_new_events();
                if !events.is_empty() {
                    self.outbox.push(Message::PaymentEvents(events));
                }
            } else {
                self.ledger.touched.clear();
            }
        }
        if !self.api_events.is_empty() {
            let events = std::mem::take(&mut self.api_events);
            self.outbox.push(Message::ApiEvents(events));
        }
        if self.outbox.is_empty() {
            return false;
        }
        outbox.push(self.outbox.drain(..));
        true
    }
}

impl Store {
    /// An empty store with these API tables.
    pub(crate) fn new(ext: Vec<Box<dyn AnyTable>>) -> Self {
        Store {
            data: Mutex::new(Tables {
                ledger: Ledger::default(),
                idempotency: Idempotency::default(),
                outbox: Vec::new(),
                publishing: false,
                api_events: Vec::new(),
                ext,
            }),
            outbox: Arc::new(Outbox::default()),
            changes: AtomicU64::new(0),
        }
    }

    /// Runs `f` with exclusive access to every table. `f` must not block or await. What it
    /// caused is queued in the outbox before the lock is released (so in commit order), and
    /// the outbox's consumer is woken after.
    pub(crate) fn transact<R>(&self, f: impl FnOnce(&mut Tables) -> R) -> R {
        self.run(f, false)
    }

    /// [`Store::transact`] for background work that runs many transactions in a row (the
    /// clock's sweeps): the lock goes to a waiting request when it ends (a fair unlock), so the
    /// sweep's next chunk cannot take it straight back and starve the requests.
    pub(crate) fn transact_in_background<R>(&self, f: impl FnOnce(&mut Tables) -> R) -> R {
        self.run(f, true)
    }

    /// One transaction: `f` under the lock, its outbox entries committed, the lock released
    /// (to a waiting thread first when `fair`), then the outbox's consumer woken.
    fn run<R>(&self, f: impl FnOnce(&mut Tables) -> R, fair: bool) -> R {
        let mut tables = self.data.lock();
        let r = f(&mut tables);
        let queued = tables.commit(&self.outbox);
        self.changes.fetch_add(1, Ordering::Relaxed);
        if fair {
            parking_lot::MutexGuard::unlock_fair(tables);
        } else {
            drop(tables);
        }
        if queued {
            self.outbox.wake();
        }
        r
    }

    /// Runs `f` on every table without changing anything: no commit, and the change count
    /// stays (a page that polls it must not see its own reads as changes).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        f(&self.data.lock())
    }

    /// A number that grows with every transaction (reads through the APIs and the clock's
    /// sweeps included; [`Store::read`] excluded) and after a reset: when it has not moved,
    /// nothing has changed. The dashboard polls it.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// [`Store::transact`] on the ePayment ledger alone.
    pub(crate) fn transaction<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        self.transact(|t| f(&mut t.ledger))
    }

    /// The queue of what committed transactions hand on.
    pub(crate) fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Forgets every payment, session, order, registration and idempotency key.
    pub(crate) fn reset(&self) {
        let mut t = self.data.lock();
        t.ledger.clear();
        t.idempotency.clear();
        t.outbox.clear();
        t.api_events.clear();
        for table in &mut t.ext {
            table.clear();
        }
        drop(t);
        self.changes.fetch_add(1, Ordering::Relaxed);
        self.outbox.clear();
    }

    /// Number of payments stored.
    pub(crate) fn payment_count(&self) -> usize {
        self.data.lock().ledger.payment_count()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // The consumer holds the outbox, not the store: tell it there is nothing more to come.
        self.outbox.close();
    }
}

#[cfg(test)]
mod tests;
