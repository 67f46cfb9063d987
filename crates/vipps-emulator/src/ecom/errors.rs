//! eCom's error answer: a JSON array `[{errorGroup, errorCode, errorMessage, contextId}]`.
//!
//! HTTP statuses (BEHAVIOUR §6.4, EMULATOR CHOICE): Merchant 35 ⇒ 404, Merchant 34 ⇒ 400, other
//! Merchant codes ⇒ 403, Payment ⇒ 400, VippsError 94 ⇒ 423, 98 ⇒ 429, 99 ⇒ 500, other
//! VippsError ⇒ 400, User ⇒ 400, InvalidRequest (the field name is the code) ⇒ 400,
//! Authentication ⇒ 401/403.

use crate::core::error::{ApiError, Stored};
use crate::web::{timed_out, Rejection};
use http::StatusCode;
use vipps_types::ecom::EcomError;
use vipps_types::ValidationError;

/// An eCom error (one entry of the array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EcomErr {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// `Authentication`, `Payment`, `InvalidRequest`, `VippsError`, `User`, `Merchant`.
    pub(crate) group: &'static str,
    /// The code (a number as a string, or the field name for InvalidRequest).
    pub(crate) code: String,
    /// Message.
    pub(crate) message: String,
}

impl EcomErr {
    fn new(status: StatusCode, group: &'static str, code: impl Into<String>, message: impl Into<String>) -> Self {
        EcomErr {
            status,
            group,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A `Payment` error (400).
    pub(crate) fn payment(code: u32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Payment", code.to_string(), message)
    }

    /// A `Merchant` error: 35 ⇒ 404, 34 ⇒ 400, others 403.
    pub(crate) fn merchant(code: u32, message: impl Into<String>) -> Self {
        let status = match code {
            35 => StatusCode::NOT_FOUND,
            34 => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        };
        Self::new(status, "Merchant", code.to_string(), message)
    }

    /// A `VippsError`: 94 ⇒ 423, 98 ⇒ 429, 99 ⇒ 500, others 400.
    pub(crate) fn vipps(code: u32, message: impl Into<String>) -> Self {
        let status = match code {
            94 => StatusCode::LOCKED,
            98 => StatusCode::TOO_MANY_REQUESTS,
            99 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, "VippsError", code.to_string(), message)
    }

    /// A `User` error (400).
    pub(crate) fn user(code: u32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "User", code.to_string(), message)
    }

    /// An `InvalidRequest` error: the field name is the code (400).
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", field, message)
    }

    /// Overrides the status.
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The unknown-order error (Merchant 35, 404).
    pub(crate) fn not_found(order_id: &str) -> Self {
        Self::merchant(
            35,
            format!("Requested order id '{order_id}' not found for this merchant serial number"),
        )
    }

    /// The error array as a stored answer.
    pub(crate) fn render(&self) -> Stored {
        let mut error = EcomError::new(self.group, self.code.clone(), self.message.clone());
        error.context_id = uuid::Uuid::new_v4().to_string();
        let body = vec![error];
        let mut s = Stored::json(self.status, &body);
        s.status = self.status.as_u16();
        s
    }

    /// As a problem (for the control plane, which answers problems).
    pub(crate) fn to_api(&self) -> ApiError {
        ApiError::new(
            self.status,
            format!("{} {}", self.group, self.code),
            self.message.clone(),
        )
    }
}

impl From<ValidationError> for EcomErr {
    fn from(e: ValidationError) -> Self {
        EcomErr::invalid(e.field, e.message)
    }
}

/// The shared plumbing's refusals in eCom's format, by kind.
impl From<Rejection> for EcomErr {
    fn from(r: Rejection) -> Self {
        let invalid = |status: StatusCode, field: &str, message: String| {
            EcomErr::new(
                status,
                "InvalidRequest",
                field.trim_start_matches('.').to_owned(),
                message,
            )
        };
        match r {
            Rejection::Unauthorized(d) => EcomErr::new(StatusCode::UNAUTHORIZED, "Authentication", "401", d),
            Rejection::Forbidden(d) => EcomErr::new(StatusCode::FORBIDDEN, "Authentication", "403", d),
            Rejection::NotJson(d) => invalid(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type", d),
            Rejection::TooLarge(limit) => invalid(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
                format!("The request body is larger than {limit} bytes"),
            ),
            Rejection::Unreadable(d) => invalid(StatusCode::BAD_REQUEST, "body", d),
            Rejection::TimedOut(ms) => invalid(StatusCode::REQUEST_TIMEOUT, "body", timed_out(ms)),
            // serde paths look like `.transaction.amount`: the leading dot goes.
            Rejection::Header { name, reason, .. } => {
                invalid(StatusCode::BAD_REQUEST, &name, format!("{name}: {reason}"))
            }
            Rejection::Body { path, reason, .. } => {
                invalid(StatusCode::BAD_REQUEST, &path, format!("{path}: {reason}"))
            }
        }
    }
}
