//! `GET /_emulator/deliveries`: the log of webhook and callback deliveries.

use crate::core::state::AppState;
use crate::outbound::{Attempt, DeliveriesExt};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// Filters of `GET /_emulator/deliveries`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filter {
    kind: Option<String>,
    reference: Option<String>,
}

/// `GET /_emulator/deliveries`: every delivery attempt, oldest first (`?kind=`, `?reference=`).
pub(crate) async fn list(State(state): State<AppState>, Query(f): Query<Filter>) -> Response {
    let items: Vec<Attempt> = state
        .deliveries()
        .attempts()
        .into_iter()
        .filter(|a| f.kind.as_ref().is_none_or(|k| &a.kind == k))
        .filter(|a| f.reference.as_ref().is_none_or(|r| &a.reference == r))
        .collect();
    Json(serde_json::json!({ "deliveries": items })).into_response()
}
