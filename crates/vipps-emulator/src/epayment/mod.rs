//! The ePayment API v1 (`/epayment/v1`): payments, their event logs, captures, refunds,
//! cancels, the test approval, and Express checkout's shipping choice.

pub(crate) mod express;
mod handlers;

use crate::core::state::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The routes of the ePayment API.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/epayment/v1/payments", post(handlers::create))
        .route("/epayment/v1/payments/{reference}", get(handlers::get_payment))
        .route("/epayment/v1/payments/{reference}/events", get(handlers::get_events))
        .route("/epayment/v1/payments/{reference}/cancel", post(handlers::cancel))
        .route("/epayment/v1/payments/{reference}/capture", post(handlers::capture))
        .route("/epayment/v1/payments/{reference}/refund", post(handlers::refund))
        .route(
            "/epayment/v1/payments/{reference}/approve",
            post(handlers::force_approve),
        )
        .route(
            "/epayment/v1/test/payments/{reference}/approve",
            post(handlers::force_approve),
        )
}
