//! Why the shared plumbing refused a request, before any rule of an API: neutral, so that
//! each API renders it in its own error format (`From<Rejection>` for its error type) by kind,
//! not by guessing from an HTTP status.

use crate::core::error::ApiError;
use http::StatusCode;

/// A refusal of the shared plumbing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No usable credentials (401).
    Unauthorized(String),
    /// Credentials that are not valid for what was asked (403).
    Forbidden(String),
    /// A header is missing or malformed (400). `code`: ePayment's numeric code, where it has one.
    Header {
        name: String,
        reason: String,
        code: Option<u32>,
    },
    /// The body could not be read (400).
    Unreadable(String),
    /// The body is larger than the limit (413).
    TooLarge(usize),
    /// The body did not arrive whole within this many milliseconds (408).
    TimedOut(u64),
    /// The body is not declared as JSON (415).
    NotJson(String),
    /// The body is not the request: the JSON path of the first problem (`body` for the whole).
    Body {
        path: String,
        reason: String,
        code: Option<u32>,
    },
}

impl Rejection {
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Rejection::Unauthorized(detail.into())
    }

    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        Rejection::Forbidden(detail.into())
    }

    pub(crate) fn header(name: impl Into<String>, reason: impl Into<String>, code: Option<u32>) -> Self {
        Rejection::Header {
            name: name.into(),
            reason: reason.into(),
            code,
        }
    }

    pub(crate) fn body(path: impl Into<String>, reason: impl Into<String>, code: Option<u32>) -> Self {
        Rejection::Body {
            path: path.into(),
            reason: reason.into(),
            code,
        }
    }
}

/// The problem (RFC 7807) shape of ePayment, Webhooks, the token endpoints and the control plane.
impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Unauthorized(d) => ApiError::unauthorized(d),
            Rejection::Forbidden(d) => ApiError::forbidden(d),
            Rejection::Header { name, reason, code } => ApiError::validation(&name, &reason, code),
            Rejection::Body { path, reason, code } => ApiError::validation(&path, &reason, code),
            Rejection::Unreadable(d) => ApiError::new(StatusCode::BAD_REQUEST, "Bad Request", d),
            Rejection::TooLarge(limit) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                format!("The request body is larger than {limit} bytes"),
            ),
            Rejection::TimedOut(ms) => ApiError::new(StatusCode::REQUEST_TIMEOUT, "Request Timeout", timed_out(ms)),
            Rejection::NotJson(d) => ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type", d),
        }
    }
}

/// The detail of a body that took too long.
pub(crate) fn timed_out(ms: u64) -> String {
    format!("The request body did not arrive within {ms} ms")
}
