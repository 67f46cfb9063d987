//! A stateful local emulator of the Vipps MobilePay Access Token API and ePayment API v1,
//! for tests and development.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = vipps_emulator::Emulator::start().await?; // 127.0.0.1, free port
//! println!("{} (MSN {})", emu.base_url(), emu.merchant().msn);
//! emu.advance(std::time::Duration::from_secs(11 * 60)); // expire waiting payments, now
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Routes:
//! - `POST /accesstoken/get` (also `/accessToken/get`), `POST /miami/v1/token` (client
//!   credentials, 15-minute tokens)
//! - `GET /vipps-userinfo-api/userinfo/{sub}` (the profile a customer shared; no subscription key)
//! - `POST /epayment/v1/payments`, `GET /epayment/v1/payments/{reference}`,
//!   `GET …/{reference}/events`, `POST …/{reference}/cancel|capture|refund`,
//!   `POST /epayment/v1/test/payments/{reference}/approve` (alias `…/payments/{reference}/approve`)
//! - `GET /landing?token=…`, `POST /landing/approve|reject`, `GET /qr?token=…`
//! - control plane (no auth): `POST /_emulator/reset`, `GET /_emulator/clock`,
//!   `POST /_emulator/clock/advance`, `POST /_emulator/payments/{reference}/approve|reject`,
//!   `GET /_emulator/health`

pub mod checkout;
pub mod clock;
pub mod config;
mod control;
pub mod customer;
pub mod deliveries;
pub mod ecom;
mod epayment;
pub mod error;
mod express;
pub mod faults;
mod http;
pub mod jwt;
mod landing;
mod seed;
pub mod server;
pub mod state;
pub mod store;
mod token;
mod userinfo;
pub mod webhooks;

pub use crate::clock::Clock;
pub use crate::config::{Approvals, ConfigError, EmulatorConfig, Merchant};
pub use crate::server::{Emulator, EmulatorBuilder, RunningEmulator};
pub use crate::state::AppState;
pub use crate::store::Store;

use axum::routing::{get, post};
use axum::Router;

/// The emulator's routes, without a socket (use with `tower::ServiceExt::oneshot` or your own server).
///
/// Requests are logged (target `vipps_emulator::http`, level `info`) only if that level is
/// enabled when the router is built: install a `tracing` subscriber first.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/accesstoken/get", post(token::get_token))
        // The official Postman collections spell it this way; the real gateway matches paths
        // without regard to case.
        .route("/accessToken/get", post(token::get_token))
        .route("/miami/v1/token", post(token::client_credentials))
        .route("/vipps-userinfo-api/userinfo/{sub}", get(userinfo::get))
        .route("/epayment/v1/payments", post(epayment::create))
        .route("/epayment/v1/payments/{reference}", get(epayment::get_payment))
        .route("/epayment/v1/payments/{reference}/events", get(epayment::get_events))
        .route("/epayment/v1/payments/{reference}/cancel", post(epayment::cancel))
        .route("/epayment/v1/payments/{reference}/capture", post(epayment::capture))
        .route("/epayment/v1/payments/{reference}/refund", post(epayment::refund))
        .route(
            "/epayment/v1/payments/{reference}/approve",
            post(epayment::force_approve),
        )
        .route(
            "/epayment/v1/test/payments/{reference}/approve",
            post(epayment::force_approve),
        )
        .route("/landing", get(landing::landing))
        .route("/landing/approve", post(landing::approve))
        .route("/landing/reject", post(landing::reject))
        .route("/qr", get(landing::qr))
        .route("/_emulator/health", get(control::health))
        .route("/_emulator/reset", post(control::reset))
        .route("/_emulator/clock", get(control::clock))
        .route("/_emulator/clock/advance", post(control::advance))
        .route("/_emulator/payments/{reference}/approve", post(control::approve))
        .route("/_emulator/payments/{reference}/reject", post(control::reject))
        .route("/_emulator/deliveries", get(deliveries::list))
        .route("/_emulator/seed", post(seed::seed))
        .route("/_emulator/ecom/{order_id}/remove-consent", post(ecom::remove_consent))
        .route(
            "/_emulator/faults",
            get(faults::get).post(faults::set).delete(faults::clear),
        )
        .merge(webhooks::routes())
        .merge(checkout::routes())
        .merge(ecom::routes())
        .fallback(http::no_route)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), faults::layer));
    with_layers(routes).with_state(state)
}

/// Panic catching (a 500 problem instead of a dropped connection) inside request logging.
/// The request log is only layered on when its level is enabled when the router is built
/// (install the tracing subscriber first): a layer that does nothing still costs a few
/// percent of the emulator's throughput.
fn with_layers(routes: Router<AppState>) -> Router<AppState> {
    let routes = routes.layer(tower_http::catch_panic::CatchPanicLayer::custom(http::panic_response));
    if tracing::enabled!(target: "vipps_emulator::http", tracing::Level::INFO) {
        routes.layer(axum::middleware::from_fn(http::observe))
    } else {
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem() {
        async fn boom() -> &'static str {
            panic!("deliberate test panic")
        }
        let routes: Router<AppState> = Router::new().route("/boom", get(boom));
        let app = with_layers(routes).with_state(AppState::new(EmulatorConfig::default()));
        let req = ::http::Request::get("/boom").body(axum::body::Body::empty()).unwrap();
        let resp = app.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 500);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let p: vipps_types::Problem = serde_json::from_slice(&body).unwrap();
        assert_eq!(p.status, Some(500));
    }
}
