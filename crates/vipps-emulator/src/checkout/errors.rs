//! Checkout's error answer (`CheckoutProblemDetails`) and its rendering.

use super::state::*;
use crate::core::error::{ApiError, Stored};
use crate::web::{timed_out, Rejection};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use std::collections::BTreeMap;
use vipps_types::{Problem, ValidationError};

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

/// A Checkout problem (`CheckoutProblemDetails`).
#[derive(Debug, Clone)]
pub(crate) struct CkError {
    pub(super) status: StatusCode,
    pub(super) code: String,
    pub(super) title: String,
    pub(super) detail: String,
    pub(super) errors: BTreeMap<String, Vec<String>>,
}

/// `transaction.amount.value` → `Transaction.Amount.Value`.
pub(super) fn pascal_field(field: &str) -> String {
    field
        .split('.')
        .map(|seg| {
            let mut c = seg.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl CkError {
    pub(super) fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        CkError {
            status,
            code: code.to_owned(),
            title: title.to_owned(),
            detail: detail.into(),
            errors: BTreeMap::new(),
        }
    }

    pub(super) fn validation(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = CkError::new(
            StatusCode::BAD_REQUEST,
            "Validation-00001",
            "One or more validation errors occurred.",
            format!("{field}: {message}"),
        );
        e.errors.insert(pascal_field(field), vec![message]);
        e
    }

    pub(super) fn not_found(reference: &str) -> Self {
        CkError::new(
            StatusCode::NOT_FOUND,
            "Session-00100",
            "Session not found",
            format!("Session expired or not known: no session with reference '{reference}' for this merchant"),
        )
    }

    pub(super) fn wrong_state(s: &Session, what: &str) -> Self {
        CkError::new(
            StatusCode::CONFLICT,
            "Session-00300",
            "Session is in the wrong state",
            format!("The session cannot be {what}: it is {}", s.state),
        )
    }

    pub(super) fn render(&self, instance: &str) -> Stored {
        let mut p = Problem::default();
        p.type_ = Some(format!("https://httpstatuses.io/{}", self.status.as_u16()));
        p.title = Some(self.title.clone());
        p.detail = Some(self.detail.clone());
        p.status = Some(self.status.as_u16());
        p.instance = (!instance.is_empty()).then(|| instance.to_owned());
        p.trace_id = Some(crate::core::error::trace_id());
        p.error_code = Some(self.code.clone());
        p.errors = Some(self.errors.clone());
        // The Checkout reference documents its problems as `application/json` (ePayment and
        // Webhooks use `application/problem+json`).
        Stored {
            status: self.status.as_u16(),
            content_type: "application/json",
            body: serde_json::to_vec(&p).unwrap_or_default().into(),
        }
    }
}

impl From<ValidationError> for CkError {
    fn from(e: ValidationError) -> Self {
        CkError::validation(&e.field, e.message)
    }
}

/// The shared plumbing's refusals in Checkout's format, by kind.
impl From<Rejection> for CkError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Header { name, reason, .. } => CkError::validation(&name, reason),
            Rejection::Body { path, reason, .. } => CkError::validation(&path, reason),
            Rejection::Unauthorized(d) => {
                CkError::new(StatusCode::UNAUTHORIZED, "Authentication-00001", "Unauthorized", d)
            }
            Rejection::Forbidden(d) => CkError::new(StatusCode::FORBIDDEN, "Authorization-00001", "Forbidden", d),
            Rejection::Unreadable(d) => CkError::new(StatusCode::BAD_REQUEST, "Validation-00001", "Bad Request", d),
            Rejection::TooLarge(limit) => CkError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Validation-00002",
                "Payload Too Large",
                format!("The request body is larger than {limit} bytes"),
            ),
            Rejection::TimedOut(ms) => CkError::new(
                StatusCode::REQUEST_TIMEOUT,
                "Validation-00004",
                "Request Timeout",
                timed_out(ms),
            ),
            Rejection::NotJson(d) => CkError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Validation-00003",
                "Unsupported Media Type",
                d,
            ),
        }
    }
}

impl From<ApiError> for CkError {
    fn from(e: ApiError) -> Self {
        let code = match e.status.as_u16() {
            400 => "Validation-00001",
            401 => "Authentication-00001",
            403 => "Authorization-00001",
            404 => "Session-00100",
            409 => "Conflict-00001",
            413 => "Validation-00002",
            415 => "Validation-00003",
            408 => "Validation-00004",
            _ => "Internal-00001",
        };
        let mut c = CkError::new(e.status, code, &e.title, e.detail.clone());
        for d in e.extra.iter().filter(|d| d.name != "ErrorCode") {
            c.errors
                .entry(pascal_field(&d.name))
                .or_default()
                .push(d.reason.clone());
        }
        c
    }
}

pub(super) fn respond(instance: &str, r: Result<Stored, CkError>) -> Response {
    match r {
        Ok(s) => s.into_response(),
        Err(e) => e.render(instance).into_response(),
    }
}
