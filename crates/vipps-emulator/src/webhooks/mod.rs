//! Webhooks API v1 emulation (`/webhooks/v1/webhooks`) and the delivery of ePayment events to
//! the registered webhooks.
//!
//! - `POST /webhooks/v1/webhooks` → **201** `{id, secret}` (the secret is shown only then;
//!   an `Idempotency-Key` with the same body replays the same answer, with another body 409).
//! - `GET /webhooks/v1/webhooks` → **200** `{webhooks: [{id, url, events}]}`: the caller's
//!   merchant only, never the secret.
//! - `DELETE /webhooks/v1/webhooks/{id}` → **204**; an id that is not the merchant's → 404.
//!
//! Authentication: bearer token and subscription key as for ePayment; `Merchant-Serial-Number`
//! is optional (without it, the token's merchant). Validation errors are 400 problems whose
//! `extraDetails` name the field: `url` (absolute `https://`; `http://` only to a loopback
//! host), `events` (non-empty), `events[i]` (known types only, at most
//! [`MAX_PER_EVENT`] registrations per event type and merchant, [`MAX_PER_EVENT_QR`] for
//! `user.checked-in.v1`). Duplicate registrations of the same URL are allowed; duplicate event
//! types inside one registration are merged.
//!
//! Delivery: the store hands every payment event to this module right after the transaction
//! that recorded it ([`crate::core::store::Store::add_event_sink`]), whatever produced it (ePayment
//! API, landing page, control plane, lazy expiry). Each event goes to every webhook of that
//! merchant registered for its type *at that moment* (a deleted webhook gets nothing more;
//! already queued deliveries still finish), as a `POST` of the ePayment `WebhookEvent` signed
//! per the documented HMAC-SHA256 scheme with the real current time at each attempt. The
//! [`Deliveries`] engine queues it (never blocking the API call), keeps the order per webhook
//! and payment, retries on a non-2xx answer or a timeout with the compressed
//! [`RetrySchedule`] (see [`WebhooksState::set_retry_schedule`]) and logs every attempt at
//! `GET /_emulator/deliveries` (kind `webhook`).

use crate::core::state::AppState;
use axum::routing::{delete, get};
use axum::Router;

mod fan_out;
mod handlers;
mod objects;
mod persist;
mod state;
pub(crate) use self::fan_out::can_resend;
use self::handlers::*;
pub(crate) use self::state::{Registry, WebhooksExt, WebhooksState};

/// The routes of this API.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/v1/webhooks", get(list).post(register))
        .route("/webhooks/v1/webhooks/{id}", delete(remove))
}
