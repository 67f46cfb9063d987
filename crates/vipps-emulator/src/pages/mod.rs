//! What the customer sees: the landing page (approve or reject a payment or an eCom order)
//! and the QR code that leads to it.

mod landing;
mod qr;
mod receipt;

use crate::core::state::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The landing page's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/landing", get(landing::landing))
        .route("/landing/approve", post(landing::approve))
        .route("/landing/reject", post(landing::reject))
        .route("/qr", get(qr::qr))
}
