//! eCom API v2 (legacy) emulation (`/ecomm/v2`).
//!
//! Routes: `POST /ecomm/v2/payments`, `POST …/{orderId}/capture`, `PUT …/{orderId}/cancel`,
//! `POST …/{orderId}/refund`, `GET …/{orderId}/details`, `GET …/{orderId}/status` (deprecated),
//! `POST /ecomm/v2/integration-test/payments/{orderId}/approve` (force approve).
//! The landing page (`/landing?v=2&token=…`) and the control plane
//! (`POST /_emulator/payments/{orderId}/approve|reject`) act on eCom orders too.
//!
//! Emulator choices (BEHAVIOUR §6, §10.7):
//! - Authentication as ePayment (bearer token + subscription key); the `Merchant-Serial-Number`
//!   header is optional, but `merchantInfo.merchantSerialNumber` must be the token's merchant
//!   (else 403, `InvalidRequest`/`merchantSerialNumber`).
//! - Errors are eCom's array `[{errorGroup, errorCode, errorMessage, contextId}]`; statuses in
//!   [`errors`].
//! - `X-Request-Id` (≤ 40 characters) is required on a partial capture or refund, optional on
//!   a full one (amount absent, null or 0), on cancel and on force approve. Scope: (MSN, orderId, endpoint, requestId). The same body replays the first
//!   answer (errors included) without a second effect; another amount gives Payment 93, another
//!   body with the same amount VippsError 93 (both 400).
//! - The landing-page link works for 5 minutes (then 410, "expired"); the control plane (the
//!   customer in the app) may approve until the order times out.
//! - Timeout: an INITIATE order nobody acts on for `payment_expiry_secs` (emulator clock;
//!   ended by the next read or by the background sweep, within a second, whichever comes
//!   first) gets a `CANCEL` log entry at the deadline, `/status` `REJECTED`, and a `REJECTED`
//!   callback. A merchant cancel sends no callback.
//! - Express: on approval the shipping option is `staticShippingDetails` or fetched from
//!   `{shippingDetailsPrefix}/v2/payments/{orderId}/shippingDetails` (10 s timeout,
//!   `Authorization: <authToken>`); the `isDefault: "Y"` option (else the lowest priority, else
//!   the first) is chosen and **its cost is added to the reserved amount** (the customer pays
//!   goods plus shipping; capture "everything" includes it). If the merchant does not answer
//!   with at least one option, the approval fails and the order stays in INITIATE.
//! - Magic amounts (151, 182–187, 197) make a customer approval fail: a RESERVE entry with
//!   `operationSuccess: false`, `/status` FAILED, and a `RESERVE_FAILED` callback with
//!   `errorInfo`. Force approve ignores them.
//! - Force approve refuses express and `skipLandingPage` orders (VippsError 91);
//!   `skipLandingPage` needs `customerInfo.mobileNumber` (else Merchant 38).
//! - Callbacks: `POST {callbackPrefix}/v2/payments/{orderId}`, one attempt, 3 s timeout,
//!   `Authorization: <authToken>` when given, logged at `GET /_emulator/deliveries`
//!   (kind `ecom-callback`).

mod bridge;
pub(crate) mod errors;
pub(crate) mod order;

use crate::core::state::AppState;
use axum::routing::{get, post, put};
use axum::Router;

mod consent;
mod customer;
mod handlers;
mod objects;
mod persist;
mod request;
mod state;
pub(crate) use self::consent::remove_consent;
pub(crate) use self::customer::{customer_action, view_by_token, Target, View};
pub(crate) use self::state::{Data, EcomState};
use self::{handlers::*, state::*};

/// The routes of this API.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ecomm/v2/payments", post(initiate))
        // The official Postman collection initiates with a trailing slash.
        .route("/ecomm/v2/payments/", post(initiate))
        .route("/ecomm/v2/payments/{order_id}/capture", post(capture))
        .route("/ecomm/v2/payments/{order_id}/cancel", put(cancel))
        .route("/ecomm/v2/payments/{order_id}/refund", post(refund))
        .route("/ecomm/v2/payments/{order_id}/details", get(details))
        .route("/ecomm/v2/payments/{order_id}/status", get(status))
        .route(
            "/ecomm/v2/integration-test/payments/{order_id}/approve",
            post(force_approve),
        )
}
