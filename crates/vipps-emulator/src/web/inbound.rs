//! The one request pipeline every API's handlers start with: the `Vipps-System-*` headers, the
//! caller's credentials, where asked the idempotency key, and only then the body (within the
//! limit), in that order.

use super::{
    authenticate, check_system_headers, header_str, idempotency_key, read_body, secure_eq, KeyRule, Rejection,
};
use crate::core::config::Merchant;
use crate::core::state::AppState;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

/// How a caller proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// `Authorization: Bearer <access token>`, the subscription key and `Merchant-Serial-Number`
    /// (ePayment).
    Token,
    /// The same, with `Merchant-Serial-Number` optional: the token's sales unit when it is
    /// absent (Webhooks, eCom).
    TokenMsnOptional,
    /// `client_id`, `client_secret`, the subscription key and `Merchant-Serial-Number`
    /// (Checkout).
    ClientSecret,
}

/// What the pipeline found.
#[derive(Debug)]
pub(crate) struct Inbound<'s> {
    /// The merchant the credentials belong to.
    pub(crate) merchant: &'s Merchant,
    /// The body, whole.
    pub(crate) body: Bytes,
    /// The idempotency key, when one was asked for and sent.
    pub(crate) key: Option<String>,
}

/// Runs the pipeline: system headers, credentials, the idempotency key when `key` says how to
/// read it, then the body.
pub(crate) async fn inbound<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
    body: Body,
    credentials: Credentials,
    key: Option<KeyRule>,
) -> Result<Inbound<'s>, Rejection> {
    inbound_up_to(state, headers, body, credentials, key, 0).await
}

/// [`inbound`] for a route that takes larger bodies: at most `max_bytes`, or the configured
/// limit when that is larger (Order Management's image upload).
pub(crate) async fn inbound_up_to<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
    body: Body,
    credentials: Credentials,
    key: Option<KeyRule>,
    max_bytes: usize,
) -> Result<Inbound<'s>, Rejection> {
    check_system_headers(headers)?;
    let merchant = match credentials {
        Credentials::Token => authenticate(state, headers)?,
        Credentials::TokenMsnOptional => authenticate_msn_optional(state, headers)?,
        Credentials::ClientSecret => authenticate_client_secret(state, headers)?,
    };
    let key = match key {
        Some(rule) => idempotency_key(headers, rule)?,
        None => None,
    };
    // Read last: a stranger's body is never read (nor `Expect: 100-continue` answered, which
    // hyper does only once the body is polled).
    let mut limits = state.config().body_limits();
    limits.max_bytes = limits.max_bytes.max(max_bytes);
    let body = read_body(body, headers, limits).await?;
    Ok(Inbound { merchant, body, key })
}

/// [`authenticate`] with `Merchant-Serial-Number` filled in from a valid token when absent,
/// so the same checks (token, subscription key, MSN) apply unchanged.
fn authenticate_msn_optional<'s>(state: &'s AppState, headers: &HeaderMap) -> Result<&'s Merchant, Rejection> {
    if header_str(headers, "merchant-serial-number").is_some() {
        return authenticate(state, headers);
    }
    let mut with_msn = headers.clone();
    let token = header_str(headers, "authorization").and_then(|a| a.strip_prefix("Bearer "));
    if let Some(Ok(claims)) = token.map(|t| state.signer().verify(t.trim(), state.clock().now())) {
        if let Ok(v) = HeaderValue::from_str(&claims.msn) {
            with_msn.insert("merchant-serial-number", v);
        }
    }
    authenticate(state, &with_msn)
}

/// Checkout's credentials: `client_id` and `client_secret` instead of a token. A wrong
/// subscription key or MSN for valid credentials is 403 here, as the Checkout API answers.
fn authenticate_client_secret<'s>(state: &'s AppState, headers: &HeaderMap) -> Result<&'s Merchant, Rejection> {
    let id = header_str(headers, "client_id").ok_or_else(|| Rejection::unauthorized("Missing client_id header"))?;
    let secret =
        header_str(headers, "client_secret").ok_or_else(|| Rejection::unauthorized("Missing client_secret header"))?;
    let m = state
        .merchant_by_client_id(id)
        .filter(|m| secure_eq(secret, &m.client_secret))
        .ok_or_else(|| Rejection::unauthorized("Invalid client_id or client_secret"))?;
    let key = header_str(headers, "ocp-apim-subscription-key").ok_or_else(|| {
        Rejection::unauthorized(
            "Access denied due to missing subscription key. Send the Ocp-Apim-Subscription-Key header.",
        )
    })?;
    if !secure_eq(key, &m.subscription_key) {
        return Err(Rejection::forbidden("Invalid subscription key for these credentials"));
    }
    let msn = header_str(headers, "merchant-serial-number")
        .ok_or_else(|| Rejection::header("Merchant-Serial-Number", "the header is required", None))?;
    if msn != m.msn {
        return Err(Rejection::forbidden(format!(
            "The credentials are not valid for Merchant-Serial-Number {msn}"
        )));
    }
    Ok(m)
}
