//! All emulator state behind one [`Store`]: payments with their event logs, landing-page tokens
//! and idempotency records. The domain rules (state machine, amounts) live on [`Payment`].

use parking_lot::Mutex;

mod consents;
mod events;
mod idempotency;
mod ledger;
mod payment;
mod sharded;
#[allow(unused_imports)]
pub use self::{consents::*, events::*, idempotency::*, ledger::*, payment::*, sharded::*};

/// The emulator's state store. Every operation runs as one transaction under a single lock,
/// which makes idempotency checks and state changes atomic (two identical concurrent requests
/// have exactly one effect).
///
/// The payment events a transaction records are handed to the [`EventSink`]s at its end, in
/// order, which is how webhooks see every event whatever produced it (API call, landing page,
/// control plane, lazy expiry).
#[derive(Debug, Default)]
pub struct Store {
    data: Mutex<Ledger>,
    sinks: Sinks,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    /// Runs `f` with exclusive access to the data. `f` must not block or await. The payment
    /// events `f` recorded then go to the event sink, still under the lock (so in order).
    pub fn transaction<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        let mut guard = self.data.lock();
        let r = f(&mut guard);
        if !guard.touched.is_empty() {
            guard.note_consents();
            let sinks = self.sinks.0.read();
            if sinks.is_empty() {
                // Nobody listens (no sink yet): no bookkeeping; `add_event_sink` takes a baseline.
                guard.touched.clear();
            } else {
                let events = guard.take_new_events();
                if !events.is_empty() {
                    for (_, sink) in sinks.iter() {
                        sink(&events);
                    }
                }
            }
        }
        r
    }

    /// Adds a receiver of payment events under `name`; false (and nothing changes) when one
    /// with that name exists already. Events recorded before are not replayed.
    pub fn add_event_sink(&self, name: &'static str, sink: EventSink) -> bool {
        let mut data = self.data.lock();
        let mut sinks = self.sinks.0.write();
        if sinks.iter().any(|(n, _)| *n == name) {
            return false;
        }
        if sinks.is_empty() {
            // Events recorded while nobody listened are never published.
            data.mark_all_published();
        }
        sinks.push((name, sink));
        true
    }

    /// Whether an event sink named `name` is set.
    pub fn has_event_sink(&self, name: &str) -> bool {
        self.sinks.0.read().iter().any(|(n, _)| *n == name)
    }

    /// Forgets all payments, tokens and idempotency keys.
    pub fn reset(&self) {
        self.data.lock().clear();
    }

    /// Number of payments stored.
    pub fn payment_count(&self) -> usize {
        self.data.lock().payment_count()
    }
}

#[cfg(test)]
mod tests;
