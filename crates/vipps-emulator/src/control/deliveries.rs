//! `GET /_emulator/deliveries`: the log of webhook and callback deliveries, a page at a time;
//! `POST /_emulator/deliveries/{id}/resend`: one of them once more.

use crate::core::error::{ApiError, Stored};
use crate::core::state::AppState;
use crate::outbound::{DeliveriesExt, Page};
use crate::web::respond;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::Response;
use http::StatusCode;

/// Attempts per page unless `?limit=` says otherwise.
const DEFAULT_LIMIT: usize = 1000;
/// The most attempts one page may ask for.
const MAX_LIMIT: usize = 10_000;

/// `GET /_emulator/deliveries`: delivery attempts, oldest first (`?kind=`, `?reference=`),
/// `?limit=` (1–10000, default 1000) at a time; `next` is the `?after=` of the next page,
/// present when more follow.
pub(crate) async fn list(State(state): State<AppState>, RawQuery(query): RawQuery, uri: Uri) -> Response {
    let r = parse(query.as_deref().unwrap_or("")).map(|page| {
        let (items, more) = state.deliveries().attempts(&page);
        let mut body = serde_json::json!({ "deliveries": items });
        if more {
            body["next"] = items.last().map(|a| a.seq).into();
        }
        Stored::json(StatusCode::OK, &body)
    });
    respond(uri.path(), r)
}

/// `POST /_emulator/deliveries/{id}/resend`: 202 `{id, resendOf}` with the new delivery's id;
/// 404 for an id the emulator no longer keeps (or never had); 409 for a webhook event whose
/// registration was deleted (nothing could sign it).
pub(crate) async fn resend(State(state): State<AppState>, Path(id): Path<String>, uri: Uri) -> Response {
    let r = (|| {
        let not_found = || ApiError::no_route(format!("No delivery {id} (unknown, or no longer kept)"));
        let of: u64 = id.parse().map_err(|_| not_found())?;
        let original = state.deliveries().original(of).ok_or_else(not_found)?;
        if !crate::webhooks::can_resend(&state, &original) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!("delivery {of} was to a webhook that has been deleted: it cannot be signed any more"),
            ));
        }
        let new = state.deliveries().resend(of, original);
        Ok(Stored::json(
            StatusCode::ACCEPTED,
            &serde_json::json!({ "id": new, "resendOf": of }),
        ))
    })();
    respond(uri.path(), r)
}

fn parse(query: &str) -> Result<Page, ApiError> {
    let mut page = Page {
        limit: DEFAULT_LIMIT,
        ..Page::default()
    };
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "kind" => page.kind = Some(v.into_owned()),
            "reference" => page.reference = Some(v.into_owned()),
            "after" => {
                let after = v
                    .parse()
                    .map_err(|_| ApiError::validation("after", "must be a non-negative integer", None))?;
                page.after = Some(after);
            }
            "limit" => {
                page.limit = v.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                    ApiError::validation("limit", &format!("must be an integer from 1 to {MAX_LIMIT}"), None)
                })?;
            }
            _ => {}
        }
    }
    Ok(page)
}
