//! The dashboard at `/_emulator/`: one HTML page, its stylesheet and its script, embedded in
//! the binary (nothing comes from the internet, so it works offline). The page reads the
//! control plane's JSON (`/_emulator/objects…`, `/_emulator/changes`, `/_emulator/deliveries`)
//! and acts through its routes; the control plane mounts these routes behind its guard.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header;

const PAGE: &str = include_str!("assets/index.html");
const STYLE: &str = include_str!("assets/dashboard.css");
const SCRIPT: &str = include_str!("assets/dashboard.js");

/// The dashboard's routes (state-agnostic, so any router can mount them).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/_emulator/", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route(
            "/_emulator/dashboard.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/_emulator/dashboard.js",
            get(|| async { asset("application/javascript; charset=utf-8", SCRIPT) }),
        )
}

/// An embedded file. `no-cache`: a new emulator build must not be shown an old script.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
