//! The composition root: which parts the emulator is made of, and how their routes and the
//! shared layers fit together. The only module that names every API.

use crate::checkout::CheckoutExt;
use crate::core::clock::Clock;
use crate::core::config::{EmulatorConfig, RetrySchedule};
use crate::core::error::ApiError;
use crate::core::jwt::TokenSigner;
use crate::core::persist::{DataDir, PersistError, Row};
use crate::core::state::{AppState, Registered};
use crate::core::store::{Meta, CLOCK_OFFSET_MS, FAULTS, META_TABLE, TOKEN_KEY};
use crate::webhooks::WebhooksExt;
use crate::{auth, checkout, control, ecom, epayment, order_management, outbound, pages, recurring, web, webhooks};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::StatusCode;

impl AppState {
    /// State for a configuration, with a real-time clock. An empty merchant list gets the default
    /// test merchant.
    pub fn new(config: EmulatorConfig) -> Self {
        Self::with_clock(config, Clock::new())
    }

    /// State with a given (possibly shared) clock.
    pub fn with_clock(config: EmulatorConfig, clock: Clock) -> Self {
        Self::assembled(config, clock, TokenSigner::random())
    }

    /// State kept in the data dir `dir`, continuing from what it holds: what the emulator does
    /// from now on is written there, and a 2xx answer waits until it is (see
    /// [`crate::router`]). Refused while another emulator uses `dir`, and for a file that is
    /// not the emulator's, is damaged, or was written by a newer emulator.
    pub fn open(config: EmulatorConfig, clock: Clock, dir: &std::path::Path) -> Result<Self, PersistError> {
        let data_dir = DataDir::open(dir)?;
        let saved = saved_meta(&data_dir.rows_of(META_TABLE)?);
        let signer = saved.signer.unwrap_or_else(TokenSigner::random);
        let state = Self::assembled(config, clock.clone(), signer);
        if let Some(ms) = saved.clock_offset_ms {
            let behind = ms.saturating_sub(i64::try_from(clock.offset().as_millis()).unwrap_or(i64::MAX));
            clock.advance(std::time::Duration::from_millis(behind.max(0) as u64));
        }
        if let Some(f) = saved.faults {
            state.faults().set(f);
        }
        state.store().attach(data_dir, clock)?;
        state.keep_for_retention();
        let key = state.signer().saved();
        state
            .store()
            .transact(|t| t.get_mut::<Meta>().set(TOKEN_KEY, key.into()));
        Ok(state)
    }

    /// Turns retention on when the configuration asks for it (again after loading a data dir:
    /// the loaded idempotency records join the order they are forgotten in).
    fn keep_for_retention(&self) {
        if let Some(secs) = self.config().retention_secs {
            // `check` refuses less in a file; a config built in Rust gets the minimum.
            let secs = secs.max(crate::core::config::MIN_RETENTION_SECS);
            let keep = time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX));
            self.store().set_retention(self.clock().clone(), keep);
        }
    }

    fn assembled(config: EmulatorConfig, clock: Clock, signer: TokenSigner) -> Self {
        let webhooks = webhooks::WebhooksState::default();
        if let Some(schedule) = config.webhook_retry.clone() {
            webhooks.set_retry_schedule(schedule);
        }
        // Timeouts are settled in this order: eCom orders, Checkout sessions, Recurring agreements
        // and charges.
        let parts = vec![
            Registered::new(ecom::EcomState).with_table(ecom::Data::default()),
            Registered::new(checkout::CheckoutState::default()).with_table(checkout::Sessions::default()),
            Registered::new(recurring::RecurringState).with_table(recurring::Recurring::default()),
            Registered::new(webhooks).with_table(webhooks::Registry::default()),
            Registered::new(order_management::OrderManagementState).with_table(order_management::Orders::default()),
            Registered::new(outbound::Engine::new(
                config.max_deliveries_in_flight,
                config.max_deliveries_per_host,
            )),
        ];
        let state = AppState::assemble(config, clock, signer, parts);
        state.keep_for_retention();
        // Inside a Tokio runtime the background work starts now; outside one, with the first
        // request that creates something.
        state.ensure_background();
        state
    }

    /// The retry schedule of webhook deliveries (default: 4 attempts, 200 ms doubling backoff,
    /// 10 s timeout per attempt; `webhook_retry` in the configuration).
    pub fn webhook_retry_schedule(&self) -> RetrySchedule {
        self.webhooks().retry_schedule()
    }

    /// Sets the retry schedule of webhook deliveries queued from now on.
    pub fn set_webhook_retry_schedule(&self, schedule: RetrySchedule) {
        self.webhooks().set_retry_schedule(schedule);
    }

    /// Sets how long Checkout waits for the merchant's dynamic shipping callback before it
    /// offers the session's fixed options (8 s by default).
    pub fn set_checkout_dynamic_shipping_timeout(&self, timeout: std::time::Duration) {
        self.checkout().set_dynamic_shipping_timeout(timeout);
    }
}

/// The settings a data dir saved (read before the state is assembled: the token key is part
/// of it).
#[derive(Default)]
struct SavedMeta {
    signer: Option<TokenSigner>,
    clock_offset_ms: Option<i64>,
    faults: Option<crate::core::config::FaultConfig>,
}

fn saved_meta(rows: &[Row]) -> SavedMeta {
    let mut saved = SavedMeta::default();
    let mut meta = Meta::default();
    for row in rows {
        // Rows of other tables, and unreadable ones, are the store's to report.
        let _ = crate::core::store::Table::load(&mut meta, row);
    }
    saved.signer = meta
        .get(TOKEN_KEY)
        .and_then(|v| v.as_str())
        .and_then(TokenSigner::from_saved);
    saved.clock_offset_ms = meta.get(CLOCK_OFFSET_MS).and_then(|v| v.as_i64());
    saved.faults = meta.get(FAULTS).and_then(|v| serde_json::from_value(v.clone()).ok());
    saved
}

/// The emulator's routes, without a socket (use with `tower::ServiceExt::oneshot` or your own server).
///
/// Requests are logged (target `vipps_emulator::http`, level `info`) only if that level is
/// enabled when the router is built: install a `tracing` subscriber first.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(auth::routes())
        .merge(epayment::routes())
        .merge(pages::routes())
        .merge(control::routes(&state))
        .merge(webhooks::routes())
        .merge(checkout::routes())
        .merge(ecom::routes())
        .merge(recurring::routes())
        .merge(order_management::routes())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::faults::layer));
    // Only with a data dir: a layer that does nothing still costs a little per request.
    let routes = if state.store().persists() {
        routes.layer(axum::middleware::from_fn_with_state(state.clone(), web::durable::layer))
    } else {
        routes
    };
    // Strict is the default and costs no layer: only lenient mode marks its requests.
    let routes = if state.config().lenient_fields {
        routes.layer(axum::middleware::from_fn(web::lenient_fields))
    } else {
        routes
    };
    with_layers(routes).with_state(state)
}

/// Panic catching (a 500 problem instead of a dropped connection) inside request logging.
/// The request log is only layered on when its level is enabled when the router is built
/// (install the tracing subscriber first): a layer that does nothing still costs a few
/// percent of the emulator's throughput.
fn with_layers(routes: Router<AppState>) -> Router<AppState> {
    let routes = routes.layer(tower_http::catch_panic::CatchPanicLayer::custom(web::panic_response));
    if tracing::enabled!(target: "vipps_emulator::http", tracing::Level::INFO) {
        routes.layer(axum::middleware::from_fn(web::observe))
    } else {
        routes
    }
}

/// Whether `path` belongs to the eCom API, whose errors are an array, not a problem.
fn is_ecom(path: &str) -> bool {
    path.starts_with("/ecomm/")
}

/// 404 problem for unknown routes (the error array under `/ecomm/`).
pub(crate) async fn no_route(uri: http::Uri) -> Response {
    let message = format!("No route for {}", uri.path());
    if is_ecom(uri.path()) {
        return ecom::errors::EcomErr::invalid("404", message)
            .with_status(StatusCode::NOT_FOUND)
            .render()
            .into_response();
    }
    if order_management::owns(uri.path()) {
        return order_management::OmError::from(ApiError::no_route(message))
            .render()
            .into_response();
    }
    ApiError::no_route(message).render(uri.path()).into_response()
}

/// 405 problem (the error array under `/ecomm/`).
pub(crate) async fn method_not_allowed(method: http::Method, uri: http::Uri) -> Response {
    if is_ecom(uri.path()) {
        return ecom::errors::EcomErr::invalid("405", format!("{method} is not allowed on {}", uri.path()))
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .render()
            .into_response();
    }
    let e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        format!("{method} is not allowed on {}", uri.path()),
    );
    if order_management::owns(uri.path()) {
        return order_management::OmError::from(e).render().into_response();
    }
    e.render(uri.path()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
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
