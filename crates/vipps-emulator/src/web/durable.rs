//! With a data dir, a change's answer waits until the change is on disk: a 2xx then means it
//! survives `kill -9`. Commits queued meanwhile by other requests are written in the same
//! group, so waiting costs one disk write per group, not per request.

use crate::core::error::ApiError;
use crate::core::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};

/// The layer: reads answer at once; anything else after the last commit made before its
/// answer is durable, or 503 when the data dir cannot be written.
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    // Every commit this request made happened before its answer, so it is at or below this.
    // (Waiting for the request's own last commit instead measured slower: fewer requests wait
    // for each group, so the groups written are smaller.)
    let seq = state.store().last_commit();
    match state.store().durable(seq).await {
        Ok(()) => resp,
        Err(e) => {
            tracing::error!(target: "vipps_emulator::persist", error = %e, "a change could not be written");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "The emulator could not write this change to its data dir",
            )
            .render(&path)
            .into_response()
        }
    }
}
