//! Problem (RFC 7807) responses, the ePayment error catalogue, and stored responses.

use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde::Serialize;
use vipps_types::{ExtraDetail, Problem, ValidationError};

/// A finished response (status, content type, body) that can be stored for idempotent replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The content type, empty for no body.
    pub(crate) content_type: &'static str,
    /// The body.
    pub(crate) body: Bytes,
}

impl Stored {
    /// A JSON body.
    ///
    /// Rendered into a buffer this thread keeps, then copied once into a body of the exact
    /// size: `serde_json::to_vec` starts at 128 bytes and grows three times for a payment
    /// (about 550 bytes), and a stored answer (idempotent replay) would keep the unused room.
    pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Stored {
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let rendered = BUF.with(|buf| {
            // A re-entrant call (none today) gets a fresh buffer instead of a panic.
            let mut own = Vec::new();
            let mut guard = buf.try_borrow_mut();
            let out = match guard.as_deref_mut() {
                Ok(b) => b,
                Err(_) => &mut own,
            };
            out.clear();
            let r = serde_json::to_writer(&mut *out, value).map(|()| Bytes::copy_from_slice(out));
            // An unusually large answer (a long event log) does not stay with the thread.
            if out.capacity() > 64 * 1024 {
                *out = Vec::new();
            }
            r
        });
        match rendered {
            Ok(body) => Stored {
                status: status.as_u16(),
                content_type: "application/json",
                body,
            },
            Err(e) => ApiError::internal(format!("could not render the response: {e}")).render(""),
        }
    }

    /// No body.
    pub(crate) fn empty(status: StatusCode) -> Stored {
        Stored {
            status: status.as_u16(),
            content_type: "",
            body: Bytes::new(),
        }
    }
}

/// An error answer: rendered as `application/problem+json`, or in the Azure APIM shape
/// (`{"statusCode":401,"message":"…"}`) for the access-token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// Short summary.
    pub(crate) title: String,
    /// Explanation.
    pub(crate) detail: String,
    /// `extraDetails` entries.
    pub(crate) extra: Vec<ExtraDetail>,
    /// Render in the APIM gateway shape instead of a problem.
    pub(crate) apim: bool,
}

/// The HTTP status and title of a numeric ePayment error code (BEHAVIOUR §3.6 mapping).
pub(crate) fn catalogue(code: u32) -> (StatusCode, &'static str) {
    use StatusCode as S;
    let title = match code {
        3010 => "Internal error",
        4010 => "Capture idempotency conflict",
        4020 => "Idempotency error",
        4040 => "Invalid amount",
        4050 => "Invalid CustomerToken",
        4060 => "Invalid PersonalQr",
        4070 => "Invalid phone number",
        4080 => "Invalid scope",
        4090 => "Invalid URL",
        4100 => "Metadata capacity exceeded",
        4110 => "Metadata duplicate keys not allowed",
        4120 => "Metadata key length exceeded",
        4130 => "Metadata value length exceeded",
        4140 => "Missing required parameter",
        4150 => "Reference exists, or refund idempotency conflict",
        4160 => "Invalid payment method type",
        5010 => "Blocking sources not applicable",
        5020 => "Express payment not allowed",
        5030 => "Illegal scope",
        5040 => "Invalid currency for merchant",
        5050 => "Long-living payment not allowed",
        5060 => "Merchant bank account not verified",
        5070 => "Payment cannot be created",
        5080 => "PUSH_MESSAGE not allowed",
        5090 => "Reference not found",
        5100 => "Refund not possible",
        6010 => "Amount too small",
        6020 => "Attempted refund before reservation",
        6030 => "Cancel period expired",
        6040 => "Cannot cancel a captured payment",
        6050 => "Cannot cancel a non-reserved payment",
        6060 => "Cannot cancel authorized payment",
        6070 => "Cannot capture a cancelled payment",
        6080 => "Cannot capture before reservation",
        6090 => "Capture amount too high",
        6100 => "Capture period expired",
        6110 => "Expiration date is too late",
        6120 => "Expiration date is too soon",
        6130 => "Long living payments require a receipt",
        6140 => "Must capture full amount",
        6150 => "Not enough refundable",
        6160 => "Order processing",
        6170 => "Payment already captured",
        6180 => "Payment already refunded",
        6190 => "Payment cannot be cancelled",
        6200 => "Payment cannot be captured",
        6210 => "Payment cannot be refunded",
        6220 => "Refund period expired",
        6230 => "Payment is already reserved",
        6250 => "Cannot cancel processing payment",
        6260 => "Funds unavailable",
        6280 => "Capture failed, please try again later",
        7010 => "Customer not found",
        10010 => "Approve failed",
        10020 => "Approve not allowed",
        10030 => "Identification required",
        10040 => "Invalid payment source",
        10050 => "No cards",
        10060 => "Operation not supported",
        10070 => "Payment limit exceeded",
        _ => "Error",
    };
    let status = match code {
        4010 | 4020 | 4150 => S::CONFLICT,
        5090 => S::NOT_FOUND,
        5000..=5999 => S::FORBIDDEN,
        6160 => S::CONFLICT,
        3000..=3999 => S::INTERNAL_SERVER_ERROR,
        _ => S::BAD_REQUEST,
    };
    (status, title)
}

impl ApiError {
    /// An error with a status, title and detail.
    pub(crate) fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            title: title.into(),
            detail: detail.into(),
            extra: Vec::new(),
            apim: false,
        }
    }

    /// A domain error with its numeric code, status and title from the catalogue.
    pub(crate) fn code(code: u32, detail: impl Into<String>) -> Self {
        let (status, title) = catalogue(code);
        let mut e = ApiError::new(status, title, detail);
        e.extra.push(ExtraDetail::new("ErrorCode", code.to_string()));
        e
    }

    /// Overrides the title (where the documentation names a more specific one than the code's).
    pub(crate) fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Overrides the status.
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a field entry to `extraDetails`.
    pub(crate) fn field(mut self, name: impl Into<String>, reason: impl Into<String>) -> Self {
        self.extra.push(ExtraDetail::new(name, reason));
        self
    }

    /// A 400 naming a field, with an error code when the API documents one.
    pub(crate) fn validation(field: &str, message: &str, code: Option<u32>) -> Self {
        let detail = format!("{field}: {message}");
        let e = match code {
            Some(c) => ApiError::code(c, detail).with_status(StatusCode::BAD_REQUEST),
            None => ApiError::new(
                StatusCode::BAD_REQUEST,
                "One or more validation errors occurred",
                detail,
            ),
        };
        e.field(field, message)
    }

    /// 401 Unauthorized.
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }

    /// 403 Forbidden.
    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }

    /// 404 for a route that does not exist.
    pub(crate) fn no_route(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not Found", detail)
    }

    /// 404 Reference not found (5090).
    pub(crate) fn reference_not_found(reference: &str) -> Self {
        ApiError::code(
            5090,
            format!("No payment with reference '{reference}' exists for this merchant serial number"),
        )
    }

    /// 500 Internal error.
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", detail)
    }

    /// An error in the Azure APIM gateway shape.
    pub(crate) fn apim(status: StatusCode, message: impl Into<String>) -> Self {
        let mut e = ApiError::new(status, "", message);
        e.apim = true;
        e
    }

    /// The numeric error code, if any.
    #[cfg(test)]
    pub(crate) fn error_code(&self) -> Option<u32> {
        self.extra
            .iter()
            .find(|d| d.name == "ErrorCode")
            .and_then(|d| d.reason.parse().ok())
    }

    /// The body as the client will see it, for a request to `instance`.
    pub(crate) fn render(&self, instance: &str) -> Stored {
        if self.apim {
            let body = serde_json::json!({"statusCode": self.status.as_u16(), "message": self.detail});
            return Stored {
                status: self.status.as_u16(),
                content_type: "application/json",
                body: body.to_string().into(),
            };
        }
        let mut problem = Problem::default();
        problem.type_ = Some(format!("https://httpstatuses.io/{}", self.status.as_u16()));
        problem.title = Some(self.title.clone());
        problem.detail = Some(self.detail.clone());
        problem.status = Some(self.status.as_u16());
        problem.instance = (!instance.is_empty()).then(|| instance.to_owned());
        problem.trace_id = Some(trace_id());
        problem.extra_details = self.extra.clone();
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        Stored {
            status: self.status.as_u16(),
            content_type: "application/problem+json",
            body: body.into(),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::validation(&e.field, &e.message, e.code)
    }
}

/// A W3C trace-context style id: `00-<32 hex>-<16 hex>-01`.
pub(crate) fn trace_id() -> String {
    let mut rng = rand::thread_rng();
    format!("00-{:032x}-{:016x}-01", rng.gen::<u128>(), rng.gen::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_problem_with_code() {
        let s = ApiError::code(6080, "not yet").render("/epayment/v1/payments/x/capture");
        assert_eq!(s.status, 400);
        let p: Problem = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(p.error_code(), Some(6080));
        assert_eq!(p.type_.as_deref(), Some("https://httpstatuses.io/400"));
        assert_eq!(p.instance.as_deref(), Some("/epayment/v1/payments/x/capture"));
        let t = p.trace_id.unwrap();
        assert_eq!(t.len(), 55);
        assert!(t.starts_with("00-") && t.ends_with("-01"));
    }

    #[test]
    fn mapping() {
        assert_eq!(catalogue(4010).0, StatusCode::CONFLICT);
        assert_eq!(catalogue(5040).0, StatusCode::FORBIDDEN);
        assert_eq!(catalogue(5090).0, StatusCode::NOT_FOUND);
        assert_eq!(catalogue(6090).0, StatusCode::BAD_REQUEST);
        assert_eq!(catalogue(10020).0, StatusCode::BAD_REQUEST);
        let v = ApiError::validation("amount.value", "too small", Some(6010));
        assert_eq!(v.status, StatusCode::BAD_REQUEST);
        assert_eq!(v.error_code(), Some(6010));
        assert_eq!(v.extra[1].name, "amount.value");
    }
}
