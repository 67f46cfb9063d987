//! The Recurring API's errors: RFC 7807 problems whose `type` is one of the documented problem
//! identifiers (`…/recurring-api-problems#validation-error`), with `contextId` and
//! `extraDetails: [{field, text}]` (recurring-v3.yaml `ErrorV3`).

use super::model::{Agreement, AgreementStatus};
use crate::core::error::{ApiError, Stored};
use crate::web::Rejection;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use vipps_types::ValidationError;

/// Where the problem identifiers are documented.
const TYPE_BASE: &str = "https://developer.vippsmobilepay.com/docs/APIs/recurring-api/recurring-api-problems#";

/// An error of the Recurring API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecError {
    pub(crate) status: StatusCode,
    /// The problem identifier (`validation-error`).
    pub(crate) kind: &'static str,
    pub(crate) title: String,
    pub(crate) detail: String,
    /// `extraDetails`: (field, text).
    pub(crate) extra: Vec<(String, String)>,
}

impl RecError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, title: &str, detail: impl Into<String>) -> Self {
        RecError {
            status,
            kind,
            title: title.to_owned(),
            detail: detail.into(),
            extra: Vec::new(),
        }
    }

    /// Adds an `extraDetails` entry.
    pub(crate) fn field(mut self, field: impl Into<String>, text: impl Into<String>) -> Self {
        self.extra.push((field.into(), text.into()));
        self
    }

    /// 400 `validation-error` naming a field.
    pub(crate) fn validation(field: &str, text: &str) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "validation-error",
            "Bad Request",
            format!("Input validation failed: {field} {text}"),
        )
        .field(field, text)
    }

    /// 404 for an agreement that is not the merchant's.
    pub(crate) fn agreement_not_found(id: &str) -> Self {
        RecError::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            "Not Found",
            format!("No agreement with id '{id}' exists for this merchant"),
        )
    }

    /// 404 for a charge that is not the merchant's (or not the agreement's).
    pub(crate) fn charge_not_found(id: &str) -> Self {
        RecError::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            "Not Found",
            format!("No charge with id '{id}' exists for this agreement and merchant"),
        )
    }

    /// 400 for an agreement id that cannot be one (`agr_` and letters or digits).
    pub(crate) fn invalid_agreement_id(id: &str) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "invalid-agreement-id",
            "Bad Request",
            format!("'{id}' is not an agreement id (agr_ followed by letters and digits)"),
        )
        .field("agreementId", "must be agr_ followed by letters and digits")
    }

    /// 400 `illegal-agreement-update`: the agreement is not in a state that allows it.
    pub(crate) fn illegal_update(a: &Agreement) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "illegal-agreement-update",
            "Illegal agreement update",
            format!("The agreement cannot be updated: it is {}", status_name(a.status)),
        )
    }

    /// 400: only a `PENDING` agreement can be accepted or rejected.
    pub(crate) fn not_pending(a: &Agreement) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "illegal-agreement-update",
            "Illegal agreement update",
            format!(
                "Only a PENDING agreement can be accepted or rejected: this one is {}",
                status_name(a.status)
            ),
        )
    }

    /// 400 `charge-creation-failed`.
    pub(crate) fn creation(detail: impl Into<String>) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "charge-creation-failed",
            "Could not create the charge",
            detail,
        )
    }

    /// 400 `charge-capture-failed`.
    pub(crate) fn capture(detail: String) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "charge-capture-failed",
            "Could not capture the charge",
            detail,
        )
    }

    /// 400 `cancel-charge-failed`.
    pub(crate) fn cancel(detail: String) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "cancel-charge-failed",
            "Could not cancel the charge",
            detail,
        )
    }

    /// 400 `refund-charge-failed` (an identifier the emulator chose: the list has none).
    pub(crate) fn refund(detail: String) -> Self {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "refund-charge-failed",
            "Could not refund the charge",
            detail,
        )
    }

    /// 409: the `Idempotency-Key` was used with another request.
    pub(crate) fn conflict(key: &str) -> Self {
        RecError::new(
            StatusCode::CONFLICT,
            "conflict",
            "Conflict",
            format!("Idempotency-Key '{key}' was already used with a different request"),
        )
    }

    /// The answer as stored and sent, for a request to `instance`.
    pub(crate) fn render(&self, instance: &str) -> Stored {
        let p = Problem {
            type_: format!("{TYPE_BASE}{}", self.kind),
            title: &self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            instance,
            context_id: uuid::Uuid::new_v4().to_string(),
            extra_details: self.extra.iter().map(|(field, text)| Extra { field, text }).collect(),
        };
        Stored {
            status: self.status.as_u16(),
            content_type: "application/problem+json",
            body: serde_json::to_vec(&p).unwrap_or_default().into(),
        }
    }
}

/// The Recurring `ErrorV3` problem body (recurring-v3.yaml): `vipps-types` has no type for it
/// (its `Problem` has `traceId` and `extraDetails: [{name, reason}]`, the ePayment shape), so
/// the emulator keeps this one, for writing only.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    instance: &'a str,
    context_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extra_details: Vec<Extra<'a>>,
}

/// One `extraDetails` entry of [`Problem`].
#[derive(serde::Serialize)]
struct Extra<'a> {
    field: &'a str,
    text: &'a str,
}

/// An agreement status as the API writes it.
pub(super) fn status_name(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::Pending => "PENDING",
        AgreementStatus::Active => "ACTIVE",
        AgreementStatus::Stopped => "STOPPED",
        AgreementStatus::Expired => "EXPIRED",
    }
}

impl From<ValidationError> for RecError {
    fn from(e: ValidationError) -> Self {
        RecError::validation(&e.field, &e.message)
    }
}

/// The shared plumbing's refusals as Recurring problems.
impl From<Rejection> for RecError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Header { name, reason, .. } if name.eq_ignore_ascii_case("Idempotency-Key") => RecError::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-header",
                "Bad Request",
                format!("Idempotency-Key: {reason}"),
            )
            .field(name, reason),
            Rejection::Header { name, reason, .. } => RecError::new(
                StatusCode::BAD_REQUEST,
                "missing-request-header",
                "Bad Request",
                format!("{name}: {reason}"),
            )
            .field(name, reason),
            Rejection::Body { path, reason, .. } => RecError::validation(&path, &reason),
            Rejection::Unauthorized(d) => RecError::new(StatusCode::UNAUTHORIZED, "not-authorized", "Unauthorized", d),
            Rejection::Forbidden(d) => RecError::new(StatusCode::FORBIDDEN, "invalid-sale-unit", "Forbidden", d),
            Rejection::Unreadable(d) => RecError::new(StatusCode::BAD_REQUEST, "invalid-json", "Bad Request", d),
            Rejection::TooLarge(limit) => RecError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "validation-error",
                "Payload Too Large",
                format!("The request body is larger than {limit} bytes"),
            ),
            Rejection::TimedOut(ms) => RecError::new(
                StatusCode::REQUEST_TIMEOUT,
                "invalid-request",
                "Request Timeout",
                crate::web::timed_out(ms),
            ),
            Rejection::NotJson(d) => RecError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported Media Type",
                d,
            ),
        }
    }
}

impl From<ApiError> for RecError {
    fn from(e: ApiError) -> Self {
        let kind = match e.status.as_u16() {
            401 => "not-authorized",
            403 => "invalid-sale-unit",
            404 => "resource-not-found",
            _ => "validation-error",
        };
        let mut r = RecError::new(e.status, kind, &e.title, e.detail.clone());
        r.extra = e.extra.iter().map(|d| (d.name.clone(), d.reason.clone())).collect();
        r
    }
}

/// The response for `r`.
pub(super) fn respond(instance: &str, r: Result<Stored, RecError>) -> Response {
    match r {
        Ok(s) => s.into_response(),
        Err(e) => e.render(instance).into_response(),
    }
}
