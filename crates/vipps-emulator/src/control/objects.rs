//! The dashboard's JSON: `GET /_emulator/objects` (a page of one kind of object, newest
//! first), `GET /_emulator/objects/{kind}/{id}` (one object in full) and
//! `GET /_emulator/changes` (a number that moves when anything may have changed).
//! Every API fills these in through its `Part` hooks; nothing here knows an API.

use crate::core::error::{ApiError, Stored};
use crate::core::objects::{ObjectKind, ObjectQuery};
use crate::core::state::AppState;
use crate::web::respond;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;

/// Objects per page unless `?limit=` says otherwise.
const DEFAULT_LIMIT: usize = 50;
/// The most objects one page may ask for.
const MAX_LIMIT: usize = 500;

/// `GET /_emulator/objects?kind=&reference=&state=&before=&limit=`: `{objects, next?}`.
pub(crate) async fn list(State(state): State<AppState>, RawQuery(query): RawQuery, uri: Uri) -> Response {
    let r = parse(&state, query.as_deref().unwrap_or("")).map(|q| Stored::json(StatusCode::OK, &state.objects(&q)));
    respond(uri.path(), r)
}

/// `GET /_emulator/objects/{kind}/{id}?msn=`: the object, or 404.
pub(crate) async fn detail(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
    uri: Uri,
) -> Response {
    let r = (|| {
        let Path((kind, id)) = path.map_err(|e| ApiError::validation("path", &e.body_text(), None))?;
        let kind = kind_of(&kind)?;
        let msn = param(query.as_deref(), "msn");
        state
            .object(kind, msn.as_deref(), &id)
            .map(|d| Stored::json(StatusCode::OK, &d))
            .ok_or_else(|| ApiError::no_route(format!("No {} object '{id}'", kind.as_str())))
    })();
    respond(uri.path(), r)
}

/// `GET /_emulator/changes`: `{"changes": n}`, where `n` grows with every store transaction
/// (see `Store::changes`); the dashboard refetches what it shows when `n` moved.
pub(crate) async fn changes(State(state): State<AppState>) -> Response {
    let n = state.store().changes();
    respond("", Ok(Stored::json(StatusCode::OK, &json!({ "changes": n }))))
}

fn kind_of(s: &str) -> Result<ObjectKind, ApiError> {
    ObjectKind::parse(s).ok_or_else(|| {
        ApiError::validation(
            "kind",
            "must be one of payment, checkout, ecom, agreement, charge, webhook",
            None,
        )
    })
}

fn param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.into_owned())
}

fn parse(state: &AppState, query: &str) -> Result<ObjectQuery, ApiError> {
    let mut q = ObjectQuery {
        kind: ObjectKind::Payment,
        reference: None,
        state: None,
        before: None,
        limit: DEFAULT_LIMIT,
        now: state.clock().now(),
    };
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        // An empty filter is no filter (what an empty form field sends).
        if v.is_empty() {
            continue;
        }
        match &*k {
            "kind" => q.kind = kind_of(&v)?,
            "reference" => q.reference = Some(v.into_owned()),
            "state" => q.state = Some(v.into_owned()),
            "before" => {
                let b = v
                    .parse()
                    .map_err(|_| ApiError::validation("before", "must be a non-negative integer", None))?;
                q.before = Some(b);
            }
            "limit" => {
                q.limit = v.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                    ApiError::validation("limit", &format!("must be an integer from 1 to {MAX_LIMIT}"), None)
                })?;
            }
            _ => {}
        }
    }
    Ok(q)
}
