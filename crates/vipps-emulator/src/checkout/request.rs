//! What every Checkout call checks first: the merchant's credentials, the body, the session reference.

use super::errors::*;
use crate::core::state::AppState;
use crate::web::{inbound, Credentials, Inbound, KeyRule};
use axum::body::Body;
use axum::extract::Path;
use axum::response::Response;
use http::HeaderMap;
use vipps_types::checkout::check_reference;

// ------------------------------------------------------------------------------------------
// Authentication
// ------------------------------------------------------------------------------------------

/// The shared pipeline with Checkout's credentials (`client_id`, `client_secret`) and its
/// optional `Idempotency-Key`.
pub(super) async fn begin<'s>(state: &'s AppState, headers: &HeaderMap, body: Body) -> Result<Inbound<'s>, CkError> {
    Ok(inbound(state, headers, body, Credentials::ClientSecret, Some(KeyRule::Optional)).await?)
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
