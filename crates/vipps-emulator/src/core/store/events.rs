//! Payment events handed on after the transaction that recorded them.

#[allow(unused_imports)]
use super::{consents::*, idempotency::*, ledger::*, payment::*, sharded::*};
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::epayment::{PaymentEvent, UserDetails};

/// A payment event handed to the event sink (webhooks) after the transaction that recorded it.
#[derive(Debug, Clone)]
pub struct PublishedEvent {
    /// The merchant.
    pub msn: String,
    /// The event, as in the payment's event log.
    pub event: PaymentEvent,
    /// For `AUTHORIZED`: what the 2026 webhook payload adds (shared data, `sub`, capture
    /// guarantee).
    pub authorized: Option<Box<AuthorizedDetails>>,
}

/// What an `AUTHORIZED` webhook carries besides the event.
#[derive(Debug, Clone, Default)]
pub struct AuthorizedDetails {
    /// The customer data the scope asked for.
    pub user_details: Option<UserDetails>,
    /// The user id, when a scope was asked for.
    pub sub: Option<String>,
    /// Until when a capture is guaranteed.
    pub capture_guaranteed_until: Option<OffsetDateTime>,
}

/// Receives, after every store transaction and still under the store lock, the payment events
/// that transaction recorded, oldest first. Must be quick and must not block (queue, don't
/// send), and must not use the store.
pub type EventSink = Arc<dyn Fn(&[PublishedEvent]) + Send + Sync>;

/// The named event sinks of a store.
#[derive(Default)]
pub(super) struct Sinks(pub(super) parking_lot::RwLock<Vec<(&'static str, EventSink)>>);

impl std::fmt::Debug for Sinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.read().iter().map(|(n, _)| *n).collect();
        f.debug_tuple("Sinks").field(&names).finish()
    }
}
