//! Payment events handed on after the transaction that recorded them.

#[allow(unused_imports)]
use super::{consents::*, idempotency::*, ledger::*, payment::*, sharded::*};
use time::OffsetDateTime;
use vipps_types::epayment::{PaymentEvent, UserDetails};

/// A payment event handed on (to webhooks) after the transaction that recorded it.
#[derive(Debug, Clone)]
pub(crate) struct PublishedEvent {
    /// The merchant.
    pub(crate) msn: String,
    /// The event, as in the payment's event log.
    pub(crate) event: PaymentEvent,
    /// For `AUTHORIZED`: what the 2026 webhook payload adds (shared data, `sub`, capture
    /// guarantee).
    pub(crate) authorized: Option<Box<AuthorizedDetails>>,
}

/// What an `AUTHORIZED` webhook carries besides the event.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthorizedDetails {
    /// The customer data the scope asked for.
    pub(crate) user_details: Option<UserDetails>,
    /// The user id, when a scope was asked for.
    pub(crate) sub: Option<String>,
    /// Until when a capture is guaranteed.
    pub(crate) capture_guaranteed_until: Option<OffsetDateTime>,
}
