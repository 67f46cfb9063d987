//! What every Checkout call checks first: the merchant's credentials, the body, the session reference.

#[allow(unused_imports)]
use super::{control::*, customer::*, errors::*, handlers::*, lifecycle::*, state::*};
use crate::core::config::Merchant;
use crate::core::state::AppState;
use crate::web::{check_system_headers, header_str, idempotency_key, read_body, secure_eq, KeyRule};
use axum::body::Body;
use axum::extract::Path;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use vipps_types::checkout::check_reference;

// ------------------------------------------------------------------------------------------
// Authentication
// ------------------------------------------------------------------------------------------

/// `client_id`, `client_secret`, `Ocp-Apim-Subscription-Key`, `Merchant-Serial-Number`.
pub(super) fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Merchant, CkError> {
    let unauthorized = |d: &str| CkError::new(StatusCode::UNAUTHORIZED, "Authentication-00001", "Unauthorized", d);
    let id = header_str(headers, "client_id").ok_or_else(|| unauthorized("Missing client_id header"))?;
    let secret = header_str(headers, "client_secret").ok_or_else(|| unauthorized("Missing client_secret header"))?;
    let m = state
        .merchant_by_client_id(id)
        .filter(|m| secure_eq(secret, &m.client_secret))
        .ok_or_else(|| unauthorized("Invalid client_id or client_secret"))?;
    let key = header_str(headers, "ocp-apim-subscription-key").ok_or_else(|| {
        unauthorized("Access denied due to missing subscription key. Send the Ocp-Apim-Subscription-Key header.")
    })?;
    if !secure_eq(key, &m.subscription_key) {
        return Err(CkError::new(
            StatusCode::FORBIDDEN,
            "Authorization-00001",
            "Forbidden",
            "Invalid subscription key for these credentials",
        ));
    }
    let msn = header_str(headers, "merchant-serial-number")
        .ok_or_else(|| CkError::validation("Merchant-Serial-Number", "the header is required"))?;
    if msn != m.msn {
        return Err(CkError::new(
            StatusCode::FORBIDDEN,
            "Authorization-00001",
            "Forbidden",
            format!("The credentials are not valid for Merchant-Serial-Number {msn}"),
        ));
    }
    Ok(m.clone())
}

pub(super) struct Call {
    pub(super) merchant: Merchant,
    pub(super) body: bytes::Bytes,
    pub(super) key: Option<String>,
}

pub(super) async fn begin(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Call, CkError> {
    let body = read_body(body, headers, state.config().max_body_bytes).await?;
    check_system_headers(headers)?;
    let merchant = authenticate(state, headers)?;
    let key = idempotency_key(headers, KeyRule::Optional)?;
    Ok(Call { merchant, body, key })
}

/// The `{reference}` of a Checkout path. One the router cannot decode (invalid percent
/// encoding or UTF-8) is answered like any unknown session: 404 `Session-00100`, in the
/// Checkout problem format (axum's own rejection would be plain text).
pub(crate) struct SessionRef(pub(super) String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SessionRef {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(r)) => Ok(SessionRef(r)),
            Err(_) => {
                let path = parts.uri.path().to_owned();
                Err(respond(&path, Err(CkError::not_found("(not a valid reference)"))))
            }
        }
    }
}

/// A reference in the path that no session can have is simply not found (404): the reference
/// documents no pattern for the path parameter, only for the session's own reference.
pub(super) fn path_reference(r: &str) -> Result<(), CkError> {
    check_reference("reference", r).map_err(|_| CkError::not_found(r))
}
