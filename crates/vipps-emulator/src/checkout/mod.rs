//! Checkout API v3 emulation: sessions, their lifecycle, the Checkout page, the frontend SDK
//! script, the "payment completed" callback, dynamic shipping and a control plane.
//!
//! Routes:
//! - `POST /checkout/v3/session`, `GET|PATCH /checkout/v3/session/{reference}`,
//!   `POST /checkout/v3/session/{reference}/expire` (headers `client_id`, `client_secret`,
//!   `Ocp-Apim-Subscription-Key`, `Merchant-Serial-Number`; no access token; an
//!   `Authorization` header is ignored; optional `Idempotency-Key`)
//! - `GET /checkout/v3/frontend?token=…` (the Checkout page, `checkoutFrontendUrl`) and its
//!   JSON calls under `/checkout/v3/frontend/api/…?token=…`
//! - `GET /vippsCheckoutSDK.js` (also `/checkout/v3/vippsCheckoutSDK.js`): the frontend SDK
//! - control plane (no auth): `POST /_emulator/checkout/{reference}/complete|initiate|abort`,
//!   `GET /_emulator/checkout/{reference}` (the session with emulator internals)
//!
//! Emulator choices (BEHAVIOUR §5, §10.5–6):
//! - Lifecycle on the emulator clock: `SessionCreated` → `PaymentInitiated` (the customer
//!   presses Pay, or `initiate`) → `PaymentSuccessful` / `PaymentTerminated`. A session not
//!   paid within one hour becomes `SessionExpired` (evaluated lazily on every read, and by a
//!   background sweep every second so the callback goes out without a read). An expired
//!   session stays readable for 24 hours after it ended, then GET answers 404 `Session-00100`.
//! - The payment behind a session is a real ePayment payment (same reference and MSN),
//!   created when the session becomes `PaymentInitiated`, with the transaction amount plus the
//!   chosen shipping, expiring with the session. Capture/cancel/refund it through
//!   `/epayment/v1`; force approve and `/_emulator/payments/{reference}/approve|reject` also
//!   work on it and the session follows. Magic decline amounts end in `PaymentTerminated`.
//!   A session's reference must not be used by another session or ePayment payment (409).
//! - PATCH works only while `SessionCreated` (else 409 `Session-00300`); it answers 200 with
//!   the session. Expire ends a `SessionCreated`/`PaymentInitiated` session (an in-flight
//!   payment is cancelled: TERMINATED) and answers 200 with the session; on a session that
//!   already ended it is a no-op 200.
//! - The callback (`POST merchantInfo.callbackUrl`, `Authorization` =
//!   `callbackAuthorizationToken`, body = the session as GET returns it) is sent once, when
//!   the session reaches `PaymentSuccessful`, `PaymentTerminated` or `SessionExpired`, retried
//!   on non-2xx/timeouts (4 attempts in all, compressed backoff). See `GET /_emulator/deliveries`.
//! - Dynamic shipping: the Checkout page (server side) posts `{streetAddress, postalCode,
//!   region, country}` to `logistics.dynamicOptionsCallback` with the
//!   `callbackAuthorizationToken` as `Authorization`, and falls back to `fixedOptions` on a
//!   timeout (8 s, [`CheckoutSettings::dynamic_shipping_timeout`]), an error, an invalid or an
//!   empty/`null` answer.
//! - `SUBSCRIPTION` sessions (BEHAVIOUR §5.2–5.3; the documents say little about their
//!   lifecycle): the session carries a Recurring agreement from the start
//!   (`subscriptionDetails {state, agreementId}`), drafted in the Recurring API when the session
//!   is created (`agreement.rs`, through the core's agreement hooks): `LEGACY` pricing of the
//!   subscription's amount, its interval, product name and description, agreement URL and
//!   campaign, the session's `returnUrl` as `merchantRedirectUrl`, the prefilled phone number.
//!   It stays `PENDING` while the session is open (no 10-minute expiry; Recurring's accept and
//!   reject refuse it), then becomes `ACTIVE` (`PaymentSuccessful`), `STOPPED`
//!   (`PaymentTerminated`, as a rejection) or `EXPIRED` (`SessionExpired`), with the Recurring
//!   webhooks. From then on it is read, charged and stopped through `/recurring/v3`, and
//!   `subscriptionDetails.state` shows its real state (a stop through Recurring shows).
//!   With a `transaction` the initial payment is an ePayment payment as for `PAYMENT`
//!   sessions (not a Recurring initial charge); without one there is no payment
//!   (`paymentDetails` is left out) and the customer's accept or reject ends the session; only
//!   the Checkout page and `/_emulator/checkout/{reference}/complete|abort` drive it (there is
//!   no payment for `/_emulator/payments/…` to act on). Shipping is charged with the initial
//!   payment, so `logistics` needs a `transaction`, and PATCH cannot add a transaction to a
//!   session that has none. The agreement's amount must be in the merchant's currency. An
//!   agreement the merchant stops through Recurring while the session is open stays `STOPPED`
//!   whatever the customer does next.
//! - A sales unit set up for direct capture (the emulator merchant's `direct_capture`) cannot
//!   pay through Checkout: "transactions will fail" (Checkout API guide), so the customer's
//!   approval ends the session `PaymentTerminated` with the payment ABORTED.
//! - Error bodies are Checkout problems: `errorCode` (`Validation-00001`, `Session-00100`, …)
//!   and an `errors` map keyed by field (`Transaction.Reference`).

mod agreement;
mod frontend;

use crate::core::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub(crate) mod control;
mod customer;
mod errors;
mod handlers;
mod lifecycle;
mod objects;
mod persist;
mod request;
mod state;
pub(crate) use self::state::{CheckoutExt, CheckoutState, Sessions};
use self::{customer::*, errors::*, handlers::*, lifecycle::*};

/// The routes of this API.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkout/v3/session", post(create))
        .route(
            "/checkout/v3/session/{reference}",
            get(get_session).patch(update_session),
        )
        .route("/checkout/v3/session/{reference}/expire", post(expire_session))
        .merge(frontend::routes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipps_types::Problem;

    #[test]
    fn field_names_are_pascal_cased() {
        assert_eq!(pascal_field("transaction.reference"), "Transaction.Reference");
        assert_eq!(
            pascal_field("logistics.fixedOptions[0].id"),
            "Logistics.FixedOptions[0].Id"
        );
        let e = CkError::validation("transaction.amount.value", "too small").render("/x");
        let p: Problem = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(p.error_code.as_deref(), Some("Validation-00001"));
        assert_eq!(
            p.errors.unwrap()["Transaction.Amount.Value"],
            vec!["too small".to_owned()]
        );
    }
}
