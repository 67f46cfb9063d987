//! The Webhooks API's data: the registrations (a table of the store), the retry schedule, the limits.

use crate::core::persist::{Saved, Touched};
use crate::core::state::AppState;
use crate::outbound::RetrySchedule;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Deref, Index, IndexMut};
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::webhooks::{Webhook, WebhookEventType};

/// At most this many registrations per event type and merchant (2026 overview).
pub(crate) const MAX_PER_EVENT: usize = 25;

/// At most this many registrations for the QR `user.checked-in.v1` event per merchant.
pub(crate) const MAX_PER_EVENT_QR: usize = 1;

/// A registration whose deliveries have failed for this long, with none delivered since, is
/// deleted (2026 overview: "unresponsive for 2 weeks"). Counted on the emulator's clock, so a
/// test can advance it.
pub(crate) const UNRESPONSIVE_DELETION: time::Duration = time::Duration::days(14);

/// State of the Webhooks emulation, kept in [`AppState`]: the registrations and the retry
/// schedule of deliveries.
#[derive(Debug, Default)]
pub(crate) struct WebhooksState {
    /// `None`: the default schedule. A leaf lock (nothing is locked while it is held).
    pub(super) schedule: Mutex<Option<RetrySchedule>>,
}

/// The registrations, a table of the store.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Oldest first (in `seq` order).
    pub(super) hooks: Hooks,
    /// The `seq` of the last registration (the dashboard's cursor).
    pub(super) last_seq: u64,
    /// What the data dir holds (see `persist.rs`).
    pub(super) saved: Saved<u64>,
    pub(super) saved_last_seq: u64,
}

impl Registry {
    /// Adds a registration, numbering it.
    pub(super) fn add(&mut self, mut r: Registration) {
        self.last_seq += 1;
        r.seq = self.last_seq;
        self.hooks.push(r);
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Registration {
    pub(super) id: String,
    pub(super) msn: String,
    pub(super) url: String,
    pub(super) events: Vec<WebhookEventType>,
    /// Persisted: a restarted emulator signs with the secret the merchant was given.
    #[serde(with = "crate::core::persist::serde_arc_str")]
    pub(super) secret: Arc<str>,
    /// When the first delivery attempt failed since the last one that succeeded.
    pub(super) failing_since: Option<OffsetDateTime>,
    /// When it was registered.
    pub(super) created: OffsetDateTime,
    /// Its place in registration order (1, 2, …; never reused until a reset). The key of its
    /// row, so not in the row's value.
    #[serde(skip)]
    pub(super) seq: u64,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("msn", &self.msn)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<redacted>")
            .field("failing_since", &self.failing_since)
            .finish()
    }
}

impl Registration {
    pub(super) fn public(&self) -> Webhook {
        Webhook::new(self.id.clone(), self.url.clone(), self.events.clone())
    }
}

impl WebhooksState {
    /// The retry schedule of webhook deliveries (default: 4 attempts, 200 ms doubling backoff,
    /// 10 s timeout per attempt).
    pub(crate) fn retry_schedule(&self) -> RetrySchedule {
        self.schedule.lock().clone().unwrap_or_default()
    }

    /// Sets the retry schedule of deliveries queued from now on.
    pub(crate) fn set_retry_schedule(&self, schedule: RetrySchedule) {
        *self.schedule.lock() = Some(schedule);
    }
}

/// The Webhooks state of an emulator.
pub(crate) trait WebhooksExt {
    /// The registrations and the retry schedule.
    fn webhooks(&self) -> &WebhooksState;
}

impl WebhooksExt for AppState {
    fn webhooks(&self) -> &WebhooksState {
        self.part::<WebhooksState>()
            .expect("the composition root registers the Webhooks state")
    }
}

/// The registrations, oldest first. Changing one goes through `IndexMut`, `push` or `remove`,
/// which record its `seq`; reads go through `Deref`.
#[derive(Debug, Default)]
pub(super) struct Hooks {
    pub(super) list: Vec<Registration>,
    pub(super) touched: Touched<u64>,
}

impl Hooks {
    /// Appends a registration (numbered already).
    pub(super) fn push(&mut self, r: Registration) {
        self.touched.touch(r.seq);
        self.list.push(r);
    }

    /// Removes the registration at `i`.
    pub(super) fn remove(&mut self, i: usize) -> Registration {
        let r = self.list.remove(i);
        self.touched.touch(r.seq);
        r
    }
}

impl Deref for Hooks {
    type Target = [Registration];
    fn deref(&self) -> &[Registration] {
        &self.list
    }
}

impl Index<usize> for Hooks {
    type Output = Registration;
    fn index(&self, i: usize) -> &Registration {
        &self.list[i]
    }
}

impl IndexMut<usize> for Hooks {
    fn index_mut(&mut self, i: usize) -> &mut Registration {
        self.touched.touch(self.list[i].seq);
        &mut self.list[i]
    }
}
