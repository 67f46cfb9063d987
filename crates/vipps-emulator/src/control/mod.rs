//! The control plane: every `/_emulator` route in one place (no Vipps authentication). Tests
//! and tools use it to act as the customer, move the clock, inject faults, seed data and read
//! the delivery log.

mod deliveries;
mod faults;
mod guard;
mod objects;
mod plane;
mod seed;
mod snapshot;

use crate::core::error::ApiError;
use crate::core::state::AppState;
use crate::recurring;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, MethodRouter};
use axum::Router;

/// The control plane's routes, behind the Host, Origin and token check (`guard`).
///
/// The check is a layer over every route of this router, their 405 answers included (each
/// route gets its own method-not-allowed fallback before the layer, so the application's
/// does not replace it unchecked), and every other path under `/_emulator` is a route here
/// too, answering 404: no request learns anything, not even which routes exist, before its
/// token is checked, and a route added below is covered without opting in.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(guard::LOGIN_PATH, get(guard::login_form).post(guard::login))
        .route("/_emulator", any(unknown))
        // No method of its own: the dashboard's `get` merges with it.
        .route("/_emulator/", MethodRouter::new().fallback(unknown))
        .route("/_emulator/{*rest}", any(unknown))
        .route("/_emulator/health", get(plane::health))
        .route("/_emulator/snapshot", get(snapshot::get).post(snapshot::put))
        .route("/_emulator/reset", post(plane::reset))
        .route("/_emulator/clock", get(plane::clock))
        .route("/_emulator/clock/advance", post(plane::advance))
        .route("/_emulator/payments/{reference}/approve", post(plane::approve))
        .route("/_emulator/payments/{reference}/reject", post(plane::reject))
        .route("/_emulator/deliveries", get(deliveries::list))
        .route("/_emulator/deliveries/{id}/resend", post(deliveries::resend))
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
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::layer))
}

/// 405 problem for a method a control route does not take.
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let message = format!("{method} is not allowed on {}", uri.path());
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        message,
    )
    .render(uri.path())
    .into_response()
}

/// 404 problem for a path under `/_emulator` that is no control route.
async fn unknown(uri: axum::http::Uri) -> Response {
    let message = format!("No route for {}", uri.path());
    ApiError::no_route(message).render(uri.path()).into_response()
}
