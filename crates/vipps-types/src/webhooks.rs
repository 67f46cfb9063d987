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
pub struct RegisterWebhookResponse {
    /// The registration's id (a UUID).
    pub id: String,
    /// The secret that signs every delivery to this registration.
    pub secret: String,
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
pub struct Webhook {
    /// The registration's id (a UUID).
    pub id: String,
    /// Where the events are sent.
    pub url: String,
    /// The event types sent.
    pub events: Vec<WebhookEventType>,
}

/// Answer to `GET /webhooks/v1/webhooks` (spec: `QueryResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryWebhooksResponse {
    /// Every registration.
    pub webhooks: Vec<Webhook>,
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
}
