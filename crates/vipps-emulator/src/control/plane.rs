//! The control plane under `/_emulator/` (no authentication): reset, clock, customer actions,
//! health.

use crate::core::error::{ApiError, Stored};
use crate::core::state::AppState;
use crate::core::store::CustomerOutcome;
use crate::web::{read_body, respond, target_msn};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

/// The largest single clock advance accepted (10 years).
const MAX_ADVANCE_SECS: i64 = 10 * 366 * 24 * 3600;

fn now_json(state: &AppState) -> serde_json::Value {
    let now = state.clock().now();
    json!({
        "now": now.format(&Rfc3339).unwrap_or_default(),
        "offsetSeconds": state.clock().offset().as_secs(),
    })
}

/// Parses an optional JSON object body leniently (any content type).
fn json_object(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Default::default());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::validation("body", "must be a JSON object", None)),
        Err(e) => Err(ApiError::validation("body", &format!("not valid JSON: {e}"), None)),
    }
}

/// `GET /_emulator/health`.
pub(crate) async fn health() -> Response {
    respond("", Ok(Stored::json(StatusCode::OK, &json!({"status": "ok"}))))
}

/// `POST /_emulator/reset`: forgets every payment, token link and idempotency key.
/// Access tokens stay valid.
pub(crate) async fn reset(State(state): State<AppState>) -> Response {
    state.reset();
    respond("", Ok(Stored::json(StatusCode::OK, &json!({"reset": true}))))
}

/// `GET /_emulator/clock`.
pub(crate) async fn clock(State(state): State<AppState>) -> Response {
    respond("", Ok(Stored::json(StatusCode::OK, &now_json(&state))))
}

/// `POST /_emulator/clock/advance` with `{"seconds": N}`.
pub(crate) async fn advance(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let r = async {
        let body = read_body(body, &headers, state.config().body_limits()).await?;
        let obj = json_object(&body)?;
        let secs = match obj.get("seconds") {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| ApiError::validation("seconds", "must be an integer", None))?,
            None => return Err(ApiError::validation("seconds", "is required", None)),
        };
        if !(0..=MAX_ADVANCE_SECS).contains(&secs) {
            return Err(ApiError::validation(
                "seconds",
                &format!("must be between 0 and {MAX_ADVANCE_SECS}"),
                None,
            ));
        }
        state.clock().advance_secs(secs);
        // What ran out goes now, not at the next tick of the background sweep.
        state.settle_due_off_thread().await;
        Ok(Stored::json(StatusCode::OK, &now_json(&state)))
    }
    .await;
    respond(uri.path(), r)
}

/// `POST /_emulator/payments/{reference}/approve`: the customer approves in the app
/// (magic test amounts make it fail and abort the payment).
pub(crate) async fn approve(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = customer(&state, reference, query, &headers, body, true).await;
    respond(uri.path(), r)
}

/// `POST /_emulator/payments/{reference}/reject`: the customer rejects in the app.
pub(crate) async fn reject(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = customer(&state, reference, query, &headers, body, false).await;
    respond(uri.path(), r)
}

async fn customer(
    state: &AppState,
    reference: Result<Path<String>, PathRejection>,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
    approve: bool,
) -> Result<Stored, ApiError> {
    let Path(reference) = reference.map_err(|e| ApiError::validation("reference", &e.body_text(), None))?;
    let body = read_body(body, headers, state.config().body_limits()).await?;
    let obj = json_object(&body)?;
    let from_body = obj.get("msn").and_then(|v| v.as_str()).map(str::to_owned);
    let msn = target_msn(state, query.as_deref(), from_body)?;
    let now = state.clock().now();
    let known = state
        .store()
        .transaction(|ledger| ledger.payment(&msn, &reference, now).is_ok());
    if !known {
        // Not an ePayment reference: an eCom order id?
        let target = crate::ecom::Target::Order {
            msn: msn.clone(),
            order_id: reference.clone(),
        };
        if let Some(r) = crate::ecom::customer_action(state, target, approve).await {
            let o = r.map_err(|e| e.to_api())?;
            return Ok(Stored::json(
                StatusCode::OK,
                &json!({
                    "reference": o.view.order_id,
                    "orderId": o.view.order_id,
                    "msn": o.view.msn,
                    "state": o.view.state,
                    "approved": o.approved,
                    "reason": o.reason,
                }),
            ));
        }
    }
    let (outcome, p) = if approve {
        let choice: crate::epayment::express::CustomerChoice =
            serde_json::from_value(serde_json::Value::Object(obj))
                .map_err(|e| ApiError::validation("body", &e.to_string(), None))?;
        crate::epayment::express::approve(state, &msn, &reference, &choice).await?
    } else {
        state.store().transaction(|ledger| {
            let p = ledger.payment(&msn, &reference, now)?;
            Ok::<_, ApiError>((p.customer_reject(now)?, p.clone()))
        })?
    };
    {
        let (approved, reason) = match outcome {
            CustomerOutcome::Approved => (true, None),
            CustomerOutcome::Rejected => (false, Some("rejected by the customer".to_owned())),
            CustomerOutcome::Declined(why) => (false, Some(why.to_owned())),
            CustomerOutcome::Unknown => (
                false,
                Some(
                    "unknown result for 1 hour (magic test amount): the payment stays CREATED, then expires".to_owned(),
                ),
            ),
        };
        Ok(Stored::json(
            StatusCode::OK,
            &json!({
                "reference": p.reference,
                "msn": p.msn,
                "state": p.state,
                "amount": p.amount,
                "approved": approved,
                "reason": reason,
            }),
        ))
    }
}
