//! `/_emulator/snapshot`: the whole state as one JSON document, and back (a test suite starts
//! every test from the same known state).

use crate::core::error::{ApiError, Stored};
use crate::core::state::AppState;
use crate::web::{read_body, respond};
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};

/// The largest snapshot `POST` takes (a million payments are about 1 GB; tests use far less).
const MAX_SNAPSHOT_BYTES: usize = 512 << 20;

const PATH: &str = "/_emulator/snapshot";

/// `GET /_emulator/snapshot` → 200, the snapshot.
pub(crate) async fn get(State(state): State<AppState>) -> Response {
    let s = state.clone();
    // Rendering a big state takes a while: not on a request worker.
    let body = tokio::task::spawn_blocking(move || Stored::json(StatusCode::OK, &s.snapshot())).await;
    respond(
        PATH,
        body.map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "the snapshot failed",
            )
        }),
    )
}

/// `POST /_emulator/snapshot` → 204 once the state is the snapshot's; 400 (and nothing
/// changed) for a document that is not one.
pub(crate) async fn put(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let r = async {
        let mut limits = state.config().body_limits();
        limits.max_bytes = limits.max_bytes.max(MAX_SNAPSHOT_BYTES);
        let body = read_body(body, &headers, limits).await?;
        let s = state.clone();
        tokio::task::spawn_blocking(move || s.restore(&body))
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "the restore failed",
                )
            })?
            .map_err(|e| ApiError::validation("body", &e.to_string(), None))?;
        Ok(Stored::empty(StatusCode::NO_CONTENT))
    }
    .await;
    respond(PATH, r)
}
