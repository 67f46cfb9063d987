//! The Order Management API's one error format: the spec's `ErrorResponse`
//! (`{type, title, detail, instance, invalidParams: [{name, reason}]}`) as
//! `application/problem+json`, for its own errors and for what the shared plumbing refuses.

use crate::core::error::{ApiError, Stored};
use crate::web::Rejection;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rand::RngCore;
use vipps_types::order_management::{ErrorResponse, InvalidParam};
use vipps_types::ValidationError;

/// An error of the Order Management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OmError {
    pub(crate) status: StatusCode,
    pub(crate) title: String,
    pub(crate) detail: String,
    /// `invalidParams`: (name, reason).
    pub(crate) invalid: Vec<(String, String)>,
}

impl OmError {
    pub(crate) fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        OmError {
            status,
            title: title.to_owned(),
            detail: detail.into(),
            invalid: Vec::new(),
        }
    }

    /// 400 naming the parameter (the spec's example title).
    pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        OmError {
            status: StatusCode::BAD_REQUEST,
            title: "One or more validation errors occurred.".to_owned(),
            detail: format!("{name}: {reason}"),
            invalid: vec![(name.to_owned(), reason)],
        }
    }

    /// 404.
    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        OmError::new(StatusCode::NOT_FOUND, "Not Found", detail)
    }

    /// 409.
    pub(crate) fn conflict(detail: impl Into<String>) -> Self {
        OmError::new(StatusCode::CONFLICT, "Conflict", detail)
    }

    /// The answer as stored and sent. `instance` is a trace id like the spec's example
    /// (`00-<32 hex>-<16 hex>-00`); the request's path is in `detail` where it matters.
    pub(crate) fn render(&self) -> Stored {
        let mut e = ErrorResponse::new(self.title.clone(), self.detail.clone(), trace_id());
        e.kind = Some(type_uri(self.status).to_owned());
        e.invalid_params = self
            .invalid
            .iter()
            .map(|(name, reason)| InvalidParam::new(name.clone(), reason.clone()))
            .collect();
        Stored {
            status: self.status.as_u16(),
            content_type: "application/problem+json",
            body: serde_json::to_vec(&e).unwrap_or_default().into(),
        }
    }
}

/// The RFC section of a status, as the spec's example names RFC 7231 §6.5.1 for 400.
fn type_uri(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1",
        401 => "https://datatracker.ietf.org/doc/html/rfc7235#section-3.1",
        403 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.3",
        404 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.4",
        405 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.5",
        408 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.7",
        409 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.8",
        413 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.11",
        415 => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.13",
        _ => "https://datatracker.ietf.org/doc/html/rfc7231#section-6.6.1",
    }
}

fn trace_id() -> String {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("00-{}-{}-00", &hex[..32], &hex[32..])
}

impl From<ValidationError> for OmError {
    fn from(e: ValidationError) -> Self {
        OmError::invalid(&e.field, e.message)
    }
}

/// The shared plumbing's refusals in this API's format.
impl From<Rejection> for OmError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Header { name, reason, .. } => OmError::invalid(&name, reason),
            Rejection::Body { path, reason, .. } => OmError::invalid(&path, reason),
            Rejection::Unauthorized(d) => OmError::new(StatusCode::UNAUTHORIZED, "Unauthorized", d),
            Rejection::Forbidden(d) => OmError::new(StatusCode::FORBIDDEN, "Forbidden", d),
            Rejection::Unreadable(d) => OmError::new(StatusCode::BAD_REQUEST, "Bad Request", d),
            Rejection::TooLarge(limit) => OmError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                format!("The request body is larger than {limit} bytes"),
            ),
            Rejection::TimedOut(ms) => OmError::new(
                StatusCode::REQUEST_TIMEOUT,
                "Request Timeout",
                crate::web::timed_out(ms),
            ),
            Rejection::NotJson(d) => OmError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type", d),
        }
    }
}

/// The core's errors (no route, wrong method) in this API's format.
impl From<ApiError> for OmError {
    fn from(e: ApiError) -> Self {
        let mut r = OmError::new(e.status, &e.title, e.detail.clone());
        r.invalid = e.extra.iter().map(|d| (d.name.clone(), d.reason.clone())).collect();
        r
    }
}

/// The response for `r`.
pub(crate) fn respond(r: Result<Stored, OmError>) -> Response {
    match r {
        Ok(s) => s.into_response(),
        Err(e) => e.render().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_spec_shape() {
        let s = OmError::invalid("orderId", "is too long").render();
        assert_eq!(s.status, 400);
        let e: ErrorResponse = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(e.invalid_params, [InvalidParam::new("orderId", "is too long")]);
        assert!(
            e.instance.starts_with("00-") && e.instance.len() == 55,
            "{}",
            e.instance
        );
        assert!(e.kind.unwrap().ends_with("6.5.1"));
    }
}
