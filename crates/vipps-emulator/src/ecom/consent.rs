//! The customer withdraws a consent: the merchant's consent-removal callback.

use super::state::*;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::outbound::{DeliveriesExt, Outbound, RetrySchedule};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;

/// `POST /_emulator/ecom/{orderId}/remove-consent[?msn=…]`: the customer withdraws the consent
/// to share their data with the merchant, and Vipps tells the merchant with
/// `DELETE {consentRemovalPrefix}/v2/consents/{userId}` (`Authorization: <authToken>` when
/// given; one attempt, 3 s timeout; logged at `GET /_emulator/deliveries`, kind
/// `ecom-consent-removal`). Answers 202 with where it was sent; 404 for an unknown order; 400
/// when the order has no `consentRemovalPrefix` or no user data was shared.
pub(crate) async fn remove_consent(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    uri: http::Uri,
) -> Response {
    let r = remove_consent_inner(&state, order_id, query.as_deref());
    crate::web::respond(uri.path(), r)
}

pub(super) fn remove_consent_inner(
    state: &AppState,
    order_id: Result<Path<String>, PathRejection>,
    query: Option<&str>,
) -> Result<Stored, crate::core::error::ApiError> {
    use crate::core::error::ApiError;
    let Path(order_id) = order_id.map_err(|e| ApiError::validation("orderId", &e.body_text(), None))?;
    let msn = crate::web::target_msn(state, query, None)?;
    let (prefix, auth, user_id) = state.store().transact(|t| {
        let d = t.get::<Data>();
        let o = d
            .orders
            .get(&(msn.clone(), order_id.clone()))
            .ok_or_else(|| ApiError::no_route(format!("No eCom order {order_id} for MSN {msn}")))?;
        let prefix =
            o.request.merchant_info.consent_removal_prefix.clone().ok_or_else(|| {
                ApiError::validation("consentRemovalPrefix", "the order was initiated without one", None)
            })?;
        let user = o.user.as_ref().ok_or_else(|| {
            ApiError::validation(
                "userId",
                "no user data was shared with the merchant for this order",
                None,
            )
        })?;
        Ok::<_, ApiError>((prefix, o.request.merchant_info.auth_token.clone(), user.user_id.clone()))
    })?;
    let url = format!("{}/v2/consents/{user_id}", prefix.trim_end_matches('/'));
    let headers = auth.map(|a| vec![("Authorization".to_owned(), a)]).unwrap_or_default();
    state.deliveries().send(Outbound {
        kind: "ecom-consent-removal",
        msn: msn.clone(),
        reference: order_id.clone(),
        event: None,
        url: url.clone(),
        method: "DELETE",
        headers,
        body: bytes::Bytes::new(),
        schedule: RetrySchedule::once(3000),
        sign: None,
        ordering_key: format!("ecom-consent:{msn}:{user_id}"),
        on_attempt: None,
        blocks_later: false,
        guard: None,
    });
    Ok(Stored::json(
        StatusCode::ACCEPTED,
        &serde_json::json!({"orderId": order_id, "msn": msn, "userId": user_id, "url": url}),
    ))
}
