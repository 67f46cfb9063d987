//! Webhooks API v1 (`/webhooks/v1`): registration of webhook URLs for events.
//!
//! Field names follow the stored spec (`webhooks-v1.yaml`): `RegisterRequest`,
//! `RegisterResponse`, `Webhook`, `QueryResponse`.

use crate::validate::{check_url, Validate, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;

string_enum! {
    /// A webhook event type, e.g. `epayments.payment.captured.v1`.
    ///
    /// Every type documented in the Webhooks events page and the 2026 overview is known;
    /// any other string parses into `Unknown` (and is rejected when registering).
    pub enum WebhookEventType {
        /// ePayment: payment created.
        EpaymentCreated = "epayments.payment.created.v1",
        /// ePayment: the customer aborted.
        EpaymentAborted = "epayments.payment.aborted.v1",
        /// ePayment: the payment expired.
        EpaymentExpired = "epayments.payment.expired.v1",
        /// ePayment: the reservation was cancelled.
        EpaymentCancelled = "epayments.payment.cancelled.v1",
        /// ePayment: an amount was captured.
        EpaymentCaptured = "epayments.payment.captured.v1",
        /// ePayment: an amount was refunded.
        EpaymentRefunded = "epayments.payment.refunded.v1",
        /// ePayment: the customer approved.
        EpaymentAuthorized = "epayments.payment.authorized.v1",
        /// ePayment: the merchant cancelled before approval.
        EpaymentTerminated = "epayments.payment.terminated.v1",
        /// Recurring: agreement accepted.
        RecurringAgreementActivated = "recurring.agreement-activated.v1",
        /// Recurring: agreement rejected.
        RecurringAgreementRejected = "recurring.agreement-rejected.v1",
        /// Recurring: agreement stopped.
        RecurringAgreementStopped = "recurring.agreement-stopped.v1",
        /// Recurring: agreement expired.
        RecurringAgreementExpired = "recurring.agreement-expired.v1",
        /// Recurring: charge reserved.
        RecurringChargeReserved = "recurring.charge-reserved.v1",
        /// Recurring: charge captured.
        RecurringChargeCaptured = "recurring.charge-captured.v1",
        /// Recurring: charge cancelled (the wire name has a single "l").
        RecurringChargeCanceled = "recurring.charge-canceled.v1",
        /// Recurring: charge failed.
        RecurringChargeFailed = "recurring.charge-failed.v1",
        /// Recurring: charge refunded (2026 docs).
        RecurringChargeRefunded = "recurring.charge-refunded.v1",
        /// Recurring: charge creation failed (2026 docs).
        RecurringChargeCreationFailed = "recurring.charge-creation-failed.v1",
        /// QR: a user checked in (one registration only).
        UserCheckedIn = "user.checked-in.v1",
        /// Login: merchant-initiated login ping (2026 docs).
        LoginMerchantInitiatedPing = "login.merchant-initiated.ping.v1",
    }
}

impl WebhookEventType {
    /// Every ePayment event type.
    pub const EPAYMENT: &'static [WebhookEventType] = &[
        WebhookEventType::EpaymentCreated,
        WebhookEventType::EpaymentAborted,
        WebhookEventType::EpaymentExpired,
        WebhookEventType::EpaymentCancelled,
        WebhookEventType::EpaymentCaptured,
        WebhookEventType::EpaymentRefunded,
        WebhookEventType::EpaymentAuthorized,
        WebhookEventType::EpaymentTerminated,
    ];

    /// Whether this is an ePayment event (`epayments.payment.*`), known or not.
    pub fn is_epayment(&self) -> bool {
        self.as_str().starts_with("epayments.payment.")
    }

    /// The ePayment event type for a payment event name (`CAPTURED` →
    /// `epayments.payment.captured.v1`).
    pub fn for_payment_event(name: &crate::epayment::PaymentEventName) -> WebhookEventType {
        WebhookEventType::from(name.webhook_event_type().as_str())
    }
}

/// Body of `POST /webhooks/v1/webhooks` (spec: `RegisterRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterWebhookRequest {
    /// Where the events are sent: an absolute `https://` URL (plain `http://` only to a
    /// loopback host, for local testing against the emulator).
    pub url: String,
    /// The event types to send.
    pub events: Vec<WebhookEventType>,
}

impl RegisterWebhookRequest {
    /// A registration of `url` for `events`.
    pub fn new(url: impl Into<String>, events: impl IntoIterator<Item = WebhookEventType>) -> Self {
        RegisterWebhookRequest {
            url: url.into(),
            events: events.into_iter().collect(),
        }
    }
}

impl Validate for RegisterWebhookRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        check_url("url", &self.url, false, None)?;
        if self.events.is_empty() {
            return Err(ValidationError::new("events", "at least one event type is required"));
        }
        for (i, e) in self.events.iter().enumerate() {
            if !e.is_known() {
                return Err(ValidationError::new(
                    format!("events[{i}]"),
                    format!("unknown event type `{}`", e.as_str()),
                ));
            }
        }
        Ok(())
    }
}

/// Answer to a registration (spec: `RegisterResponse`), HTTP 201.
///
/// The `secret` is shown only here: store it. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RegisterWebhookResponse {
    /// The registration's id (a UUID).
    pub id: String,
    /// The secret that signs every delivery to this registration.
    pub secret: String,
}

impl RegisterWebhookResponse {
    /// The answer to a registration: its id and the secret that signs its deliveries.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        RegisterWebhookResponse {
            id: id.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for RegisterWebhookResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterWebhookResponse")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A registered webhook (spec: `Webhook`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Webhook {
    /// The registration's id (a UUID).
    pub id: String,
    /// Where the events are sent.
    pub url: String,
    /// The event types sent.
    pub events: Vec<WebhookEventType>,
}

impl Webhook {
    /// A registration as listed: its id, where the events go and which events.
    pub fn new(
        id: impl Into<String>,
        url: impl Into<String>,
        events: impl IntoIterator<Item = WebhookEventType>,
    ) -> Self {
        Webhook {
            id: id.into(),
            url: url.into(),
            events: events.into_iter().collect(),
        }
    }
}

/// Answer to `GET /webhooks/v1/webhooks` (spec: `QueryResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct QueryWebhooksResponse {
    /// Every registration.
    pub webhooks: Vec<Webhook>,
}

impl QueryWebhooksResponse {
    /// The list of a merchant's registrations.
    pub fn new(webhooks: Vec<Webhook>) -> Self {
        QueryWebhooksResponse { webhooks }
    }
}

/// The signing scheme of webhook deliveries (HMAC-SHA256), as pure functions shared by the
/// SDK's verifier and the emulator's sender.
///
/// 1. `x-ms-content-sha256` = base64(SHA-256(raw body)).
/// 2. string to sign = `{METHOD}\n{pathAndQuery}\n{x-ms-date};{host};{x-ms-content-sha256}`.
/// 3. signature = base64(HMAC-SHA256(key = the secret string's UTF-8 bytes, as given at
///    registration — not base64-decoded, message = string to sign)).
/// 4. `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}`.
pub mod signature {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    use time::OffsetDateTime;

    /// The signed headers named in the `Authorization` header.
    pub const SIGNED_HEADERS: &str = "x-ms-date;host;x-ms-content-sha256";

    /// What every valid `Authorization` header starts with; the base64 signature follows.
    pub const AUTHORIZATION_PREFIX: &str = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=";

    /// base64(SHA-256(body)): the value of `x-ms-content-sha256`.
    pub fn content_hash(body: &[u8]) -> String {
        B64.encode(Sha256::digest(body))
    }

    /// The string the signature covers:
    /// `{method}\n{path_and_query}\n{x_ms_date};{host};{x_ms_content_sha256}`.
    pub fn string_to_sign(
        method: &str,
        path_and_query: &str,
        x_ms_date: &str,
        host: &str,
        content_hash: &str,
    ) -> String {
        format!("{method}\n{path_and_query}\n{x_ms_date};{host};{content_hash}")
    }

    /// base64(HMAC-SHA256(key = `secret`'s UTF-8 bytes, `message`)): the `Signature` part.
    pub fn signature(secret: &str, message: &str) -> String {
        // HMAC accepts keys of any length, so this never fails.
        let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts any key length"),
        };
        mac.update(message.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    const HTTP_DATE: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );

    /// Formats an HTTP date (RFC 1123, always GMT): `Thu, 30 Mar 2023 08:38:32 GMT`.
    pub fn format_http_date(t: OffsetDateTime) -> String {
        t.to_offset(time::UtcOffset::UTC)
            .format(HTTP_DATE)
            .unwrap_or_else(|_| unreachable!("an HTTP date can always be formatted"))
    }

    /// Parses an HTTP date (RFC 1123 `Thu, 30 Mar 2023 08:38:32 GMT`; RFC 2822 with a numeric
    /// offset is accepted too).
    pub fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
        let s = s.trim();
        time::PrimitiveDateTime::parse(s, HTTP_DATE)
            .map(|t| t.assume_utc())
            .or_else(|_| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc2822))
            .ok()
    }

    /// The headers of a signed delivery, from [`sign`].
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SignedHeaders {
        /// `x-ms-date`.
        pub x_ms_date: String,
        /// `x-ms-content-sha256`.
        pub x_ms_content_sha256: String,
        /// `Authorization`.
        pub authorization: String,
    }

    impl SignedHeaders {
        /// The headers as `(name, value)` pairs (lowercase names).
        pub fn pairs(&self) -> [(&'static str, &str); 3] {
            [
                ("x-ms-date", &self.x_ms_date),
                ("x-ms-content-sha256", &self.x_ms_content_sha256),
                ("authorization", &self.authorization),
            ]
        }
    }

    /// Signs a delivery as the Webhooks API does. `host` is the target URL's authority (host,
    /// plus `:port` when not the scheme's default) — what the receiver sees in `Host`;
    /// `date` is sent as an HTTP date.
    pub fn sign(
        secret: &str,
        method: &str,
        path_and_query: &str,
        host: &str,
        date: OffsetDateTime,
        body: &[u8],
    ) -> SignedHeaders {
        let x_ms_date = format_http_date(date);
        let x_ms_content_sha256 = content_hash(body);
        let message = string_to_sign(method, path_and_query, &x_ms_date, host, &x_ms_content_sha256);
        let authorization = format!("{AUTHORIZATION_PREFIX}{}", signature(secret, &message));
        SignedHeaders {
            x_ms_date,
            x_ms_content_sha256,
            authorization,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epayment::PaymentEventName;

    #[test]
    fn event_types_round_trip() {
        for e in WebhookEventType::KNOWN {
            let s = serde_json::to_string(e).unwrap();
            assert_eq!(&serde_json::from_str::<WebhookEventType>(&s).unwrap(), e);
        }
        let u: WebhookEventType = serde_json::from_str("\"service.payment.created.v2\"").unwrap();
        assert_eq!(u, WebhookEventType::Unknown("service.payment.created.v2".into()));
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"service.payment.created.v2\"");
        assert_eq!(
            WebhookEventType::RecurringChargeCanceled.as_str(),
            "recurring.charge-canceled.v1"
        );
        for n in PaymentEventName::KNOWN {
            let t = WebhookEventType::for_payment_event(n);
            assert!(t.is_known() && t.is_epayment(), "{t}");
        }
        assert_eq!(WebhookEventType::EPAYMENT.len(), 8);
    }

    #[test]
    fn register_validation() {
        let ok = RegisterWebhookRequest::new(
            "https://example.com/webhook-callback",
            [WebhookEventType::EpaymentCaptured, WebhookEventType::EpaymentCreated],
        );
        ok.validate().unwrap();
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            serde_json::json!({"url":"https://example.com/webhook-callback","events":["epayments.payment.captured.v1","epayments.payment.created.v1"]})
        );
        RegisterWebhookRequest::new("http://localhost:8080/hook", [WebhookEventType::UserCheckedIn])
            .validate()
            .unwrap();
        let e = RegisterWebhookRequest::new("http://example.com/hook", [WebhookEventType::UserCheckedIn])
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "url");
        let e = RegisterWebhookRequest::new("/relative", [WebhookEventType::UserCheckedIn])
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "url");
        let e = RegisterWebhookRequest::new("https://example.com/h", [])
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "events");
        let e = RegisterWebhookRequest::new(
            "https://example.com/h",
            [WebhookEventType::EpaymentCaptured, WebhookEventType::from("nope.v1")],
        )
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "events[1]");
    }

    #[test]
    fn spec_examples_parse() {
        let r: RegisterWebhookResponse = serde_json::from_str(
            r#"{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","secret":"090a478d-37ff-4e77-970e-d457aeb26a3a"}"#,
        )
        .unwrap();
        assert_eq!(r.id, "497f6eca-6276-4993-bfeb-53cbbbba6f08");
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("090a478d"), "{dbg}");
        assert!(dbg.contains("497f6eca"), "{dbg}");
        let q: QueryWebhooksResponse = serde_json::from_str(
            r#"{"webhooks":[{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","url":"https://example.com/callbacks","events":["service.payment.captured.v1","epayments.payment.created.v1"]}]}"#,
        )
        .unwrap();
        assert_eq!(q.webhooks[0].events[1], WebhookEventType::EpaymentCreated);
        assert!(!q.webhooks[0].events[0].is_known());
    }

    #[test]
    fn official_signature_vector() {
        use super::signature::*;
        let secret = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==";
        let body = br#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#;
        let date = parse_http_date("Thu, 30 Mar 2023 08:38:32 GMT").unwrap();
        assert_eq!(date.unix_timestamp(), 1680165512);
        let s = sign(
            secret,
            "POST",
            "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63",
            "webhook.site",
            date,
            body,
        );
        assert_eq!(s.x_ms_date, "Thu, 30 Mar 2023 08:38:32 GMT");
        assert_eq!(s.x_ms_content_sha256, "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=");
        assert_eq!(
            s.authorization,
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="
        );
        assert_eq!(s.pairs()[2].1, s.authorization);
        assert!(parse_http_date("2023-03-30T08:38:32Z").is_none());
    }
}
