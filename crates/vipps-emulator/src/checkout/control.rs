//! The control plane's Checkout routes: act as the customer without the page.

use super::{customer::*, errors::*, lifecycle::*, request::*};
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::web::read_body;
use axum::body::Body;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use time::OffsetDateTime;

// ------------------------------------------------------------------------------------------
// Control plane
// ------------------------------------------------------------------------------------------

pub(super) async fn control_input(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(String, CustomerInput), CkError> {
    let body = read_body(body, headers, state.config().body_limits()).await?;
    let input: CustomerInput = if body.iter().all(|b| b.is_ascii_whitespace()) {
        CustomerInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| CkError::validation("body", format!("not valid JSON: {e}")))?
    };
    let msn = match &input.msn {
        Some(m) => state
            .merchant_by_msn(m)
            .ok_or_else(|| CkError::validation("msn", format!("no merchant with MSN {m} is configured")))?
            .msn
            .clone(),
        None => state.default_merchant().msn.clone(),
    };
    Ok((msn, input))
}

pub(super) async fn control(
    state: AppState,
    reference: String,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    o: Outcome,
) -> Response {
    let r = async {
        let (msn, input) = control_input(&state, &headers, body).await?;
        let s = customer_act(&state, &msn, &reference, input, o).await?;
        Ok(Stored::json(StatusCode::OK, &s))
    }
    .await;
    respond(uri.path(), r)
}

pub(crate) async fn complete(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, reference, uri, headers, body, Outcome::Approve).await
}

pub(crate) async fn initiate(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, reference, uri, headers, body, Outcome::Initiate).await
}

pub(crate) async fn abort(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, reference, uri, headers, body, Outcome::Reject).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MsnQuery {
    pub(super) msn: Option<String>,
}

pub(crate) async fn view(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    axum::extract::Query(q): axum::extract::Query<MsnQuery>,
    uri: Uri,
) -> Response {
    let msn = q.msn.unwrap_or_else(|| state.default_merchant().msn.clone());
    let public = state.public_url();
    let r = with_session(&state, &msn, &reference, |s, ledger, now, _| {
        let fmt = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        Ok(Stored::json(
            StatusCode::OK,
            &serde_json::json!({
                "session": session_response(s, ledger, now),
                "token": s.token,
                "checkoutUrl": format!("{public}/checkout/v3/frontend?token={}", s.token),
                "createdAt": fmt(s.created_at),
                "expiresAt": fmt(s.expires_at),
                "endedAt": s.ended_at.map(fmt),
                "callbackSent": s.callback_sent,
                "offeredOptions": s.offered.as_ref().map(|(_, o, _)| o.clone()),
                "dynamicShippingUsed": s.offered.as_ref().map(|(_, _, d)| *d),
                "shippingLookups": s.shipping_lookups,
            }),
        ))
    });
    respond(uri.path(), r)
}
