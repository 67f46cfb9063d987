//! The control plane: every `/_emulator` route in one place (no Vipps authentication). Tests
//! and tools use it to act as the customer, move the clock, inject faults, seed data and read
//! the delivery log.

mod deliveries;
mod faults;
mod guard;
mod objects;
mod plane;
mod seed;

use crate::core::state::AppState;
use crate::recurring;
use axum::routing::{get, post};
use axum::Router;

/// The control plane's routes, behind the Host and Origin check (`guard`).
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/_emulator/health", get(plane::health))
        .route("/_emulator/reset", post(plane::reset))
        .route("/_emulator/clock", get(plane::clock))
        .route("/_emulator/clock/advance", post(plane::advance))
        .route("/_emulator/payments/{reference}/approve", post(plane::approve))
        .route("/_emulator/payments/{reference}/reject", post(plane::reject))
        .route("/_emulator/deliveries", get(deliveries::list))
        .route("/_emulator/objects", get(objects::list))
        .route("/_emulator/objects/{kind}/{id}", get(objects::detail))
        .route("/_emulator/changes", get(objects::changes))
        .merge(crate::dashboard::routes())
        .route("/_emulator/seed", post(seed::seed))
        .route(
            "/_emulator/ecom/{order_id}/remove-consent",
            post(crate::ecom::remove_consent),
        )
        .route("/_emulator/checkout/{reference}", get(crate::checkout::control::view))
        .route(
            "/_emulator/checkout/{reference}/complete",
            post(crate::checkout::control::complete),
        )
        .route(
            "/_emulator/checkout/{reference}/initiate",
            post(crate::checkout::control::initiate),
        )
        .route(
            "/_emulator/checkout/{reference}/abort",
            post(crate::checkout::control::abort),
        )
        .route(
            "/_emulator/agreements/{agreement_id}/accept",
            post(recurring::control_accept),
        )
        .route(
            "/_emulator/agreements/{agreement_id}/reject",
            post(recurring::control_reject),
        )
        .route(
            "/_emulator/agreements/{agreement_id}/stop",
            post(recurring::control_stop),
        )
        .route(
            "/_emulator/agreements/{agreement_id}/card",
            post(recurring::control_card),
        )
        .route(
            "/_emulator/agreements/{agreement_id}/max-amount",
            post(recurring::control_max_amount),
        )
        .route(
            "/_emulator/customers/{phone_number}/card",
            post(recurring::control_phone_card),
        )
        .route(
            "/_emulator/faults",
            get(faults::get).post(faults::set).delete(faults::clear),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard::layer))
}
