//! `POST /accesstoken/get`.

use crate::config::is_msn;
use crate::error::{ApiError, Stored};
use crate::http::{header_str, respond, secure_eq};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};

/// Issues an access token for `client_id` + `client_secret` + `Ocp-Apim-Subscription-Key`.
/// Any content type and body are accepted (and ignored).
pub async fn get_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    respond("/accesstoken/get", issue(&state, &headers))
}

fn issue(state: &AppState, headers: &HeaderMap) -> Result<Stored, ApiError> {
    let unauthorized = |m: &str| ApiError::apim(StatusCode::UNAUTHORIZED, m);
    for name in [
        "vipps-system-name",
        "vipps-system-version",
        "vipps-system-plugin-name",
        "vipps-system-plugin-version",
    ] {
        if header_str(headers, name).is_some_and(|v| v.chars().count() > 30) {
            return Err(ApiError::apim(
                StatusCode::BAD_REQUEST,
                format!("Header {name} must be at most 30 characters"),
            ));
        }
    }
    let Some(key) = header_str(headers, "ocp-apim-subscription-key") else {
        return Err(unauthorized(
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
        ));
    };
    let (Some(id), Some(secret)) = (header_str(headers, "client_id"), header_str(headers, "client_secret")) else {
        return Err(unauthorized("The client_id and client_secret headers are required."));
    };
    let Some(merchant) = state.merchant_by_client_id(id) else {
        return Err(unauthorized("Invalid client_id or client_secret."));
    };
    // Check both even if the first fails, so timing does not tell which one was wrong.
    let secret_ok = secure_eq(secret, &merchant.client_secret);
    let key_ok = secure_eq(key, &merchant.subscription_key);
    if !secret_ok {
        return Err(unauthorized("Invalid client_id or client_secret."));
    }
    if !key_ok {
        return Err(unauthorized(
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
        ));
    }
    if let Some(msn) = header_str(headers, "merchant-serial-number") {
        if !is_msn(msn) {
            return Err(ApiError::apim(
                StatusCode::BAD_REQUEST,
                "Merchant-Serial-Number must match ^[0-9]{4,6}$",
            ));
        }
        if msn != merchant.msn {
            return Err(unauthorized(
                "The Merchant-Serial-Number does not belong to these credentials.",
            ));
        }
    }
    let token = state.issue_token(merchant);
    Ok(Stored::json(StatusCode::OK, &token))
}
