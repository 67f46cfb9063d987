//! An axum extractor that verifies and parses a webhook delivery (feature `axum`).

use super::verify::{WebhookError, WebhookVerifier};
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use vipps_types::epayment::WebhookEvent;

/// A verified webhook delivery, parsed as `T` (by default an ePayment [`WebhookEvent`];
/// use `serde_json::Value` or your own type for other APIs' events).
///
/// The [`WebhookVerifier`] comes from the router state (via [`FromRef`]). The raw body is
/// read (subject to axum's body limit), the signature checked against the request's method,
/// original path and query (also inside nested routers), `Host` header and body, and only
/// then parsed. Rejections: **401** when verification fails, **400** when the verified body
/// is not a `T`, the body reader's own status when the body cannot be read.
///
/// ```no_run
/// use axum::{routing::post, Router};
/// use vipps::webhooks::{VerifiedWebhook, WebhookVerifier};
///
/// async fn hook(VerifiedWebhook(event): VerifiedWebhook) -> &'static str {
///     println!("{} {} success={}", event.reference, event.name, event.success);
///     "ok"
/// }
///
/// let app: Router = Router::new()
///     .route("/hooks/vipps", post(hook))
///     .with_state(WebhookVerifier::new("secret-from-registration").unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedWebhook<T = WebhookEvent>(pub T);

/// Why [`VerifiedWebhook`] rejected a request.
#[derive(Debug)]
pub enum WebhookRejection {
    /// Verification failed: answered with 401.
    Unverified(WebhookError),
    /// The body is genuine but not the expected JSON: answered with 400.
    BadBody(serde_json::Error),
    /// The body could not be read (too large, broken connection).
    Body(axum::extract::rejection::BytesRejection),
}

impl std::fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookRejection::Unverified(e) => write!(f, "webhook verification failed: {e}"),
            WebhookRejection::BadBody(e) => write!(f, "webhook body is not valid: {e}"),
            WebhookRejection::Body(e) => write!(f, "webhook body could not be read: {e}"),
        }
    }
}

impl std::error::Error for WebhookRejection {}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        match self {
            WebhookRejection::Unverified(_) => (StatusCode::UNAUTHORIZED, self.to_string()).into_response(),
            WebhookRejection::BadBody(_) => (StatusCode::BAD_REQUEST, self.to_string()).into_response(),
            WebhookRejection::Body(e) => e.into_response(),
        }
    }
}

impl<S, T> FromRequest<S> for VerifiedWebhook<T>
where
    WebhookVerifier: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = WebhookVerifier::from_ref(state);
        let method = req.method().clone();
        let uri = match req.extensions().get::<OriginalUri>() {
            Some(OriginalUri(u)) => u.clone(),
            None => req.uri().clone(),
        };
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state).await.map_err(WebhookRejection::Body)?;
        verifier
            .verify_http(&method, &uri, &headers, &body)
            .map_err(WebhookRejection::Unverified)?;
        serde_json::from_slice(&body)
            .map(VerifiedWebhook)
            .map_err(WebhookRejection::BadBody)
    }
}
