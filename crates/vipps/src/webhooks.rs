//! Webhooks API v1: register, list and delete webhooks, and verify the deliveries.
//!
//! - [`Webhooks`] (from [`Client::webhooks`]) calls `/webhooks/v1/webhooks`.
//! - [`WebhookVerifier`] checks the HMAC-SHA256 signature of a delivery (pure functions,
//!   no HTTP server needed); [`sign`] produces valid signed headers (for tests and emulators).
//! - With the `axum` feature, `VerifiedWebhook` is an extractor that verifies and parses
//!   a delivery in a handler.
//!
//! # Deduplicate deliveries
//!
//! The signature covers the method, path, host, date and body, but carries no nonce: within the
//! verifier's date tolerance (5 minutes by default) a captured delivery can be sent again and
//! still verify, and Vipps MobilePay itself redelivers an event whose delivery failed. Handle each
//! event once: keep the events already handled (keyed by the payment's `reference`, the event's
//! `name` and its `pspReference` or `idempotencyKey`) for at least the tolerance, and make the
//! handling idempotent.
//!
//! ```no_run
//! # async fn run(client: vipps::Client) -> Result<(), vipps::Error> {
//! use vipps::types::webhooks::{RegisterWebhookRequest, WebhookEventType};
//! use vipps::webhooks::WebhookVerifier;
//! let registered = client
//!     .webhooks()
//!     .register(RegisterWebhookRequest::new(
//!         "https://example.com/hooks/vipps",
//!         [WebhookEventType::EpaymentAuthorized, WebhookEventType::EpaymentCaptured],
//!     ))
//!     .await?;
//! // Store `registered.secret` now: it is shown only once.
//! let verifier = WebhookVerifier::new(registered.secret.clone()).expect("the registration gave a secret");
//! # let _ = verifier; Ok(()) }
//! ```

use crate::error::Error;
use crate::transport::{id_segment, Op, RequestBuilder};
use crate::Client;
use http::Method;
use vipps_types::webhooks::{QueryWebhooksResponse, RegisterWebhookRequest, RegisterWebhookResponse};
use vipps_types::Validate;

#[cfg(feature = "axum")]
mod extract;
mod verify;

#[cfg(feature = "axum")]
pub use extract::{VerifiedWebhook, WebhookRejection};
pub use verify::{
    content_hash, format_http_date, parse_epayment_event, parse_http_date, sign, string_to_sign, SignedHeaders,
    WebhookError, WebhookRequest, WebhookVerifier, AUTHORIZATION_PREFIX, DEFAULT_TOLERANCE, SIGNED_HEADERS,
};

/// The Webhooks API. Get one with [`Client::webhooks`].
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: Client,
}

impl Webhooks {
    pub(crate) fn new(client: Client) -> Self {
        Webhooks { client }
    }

    /// `POST /webhooks/v1/webhooks` (201): register `url` for `events`. The request is
    /// validated before sending. Store the returned `secret`: it is shown only once.
    pub fn register(&self, req: RegisterWebhookRequest) -> RequestBuilder<RegisterWebhookResponse> {
        let op = match req.validate() {
            Ok(()) => Op::new("webhooks.register", Method::POST, "/webhooks/v1/webhooks").json(&req),
            Err(e) => Err(Error::validation(e)),
        };
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /webhooks/v1/webhooks`: every registration.
    pub fn list(&self) -> RequestBuilder<QueryWebhooksResponse> {
        RequestBuilder::new(
            &self.client,
            Ok(Op::new("webhooks.list", Method::GET, "/webhooks/v1/webhooks")),
        )
    }

    /// `DELETE /webhooks/v1/webhooks/{id}` (204).
    pub fn delete(&self, id: impl AsRef<str>) -> RequestBuilder<()> {
        let op = match id_segment("id", "a webhook id", id.as_ref()) {
            Ok(id) => Ok(Op::new(
                "webhooks.delete",
                Method::DELETE,
                format!("/webhooks/v1/webhooks/{id}"),
            )),
            Err(e) => Err(Error::validation(e)),
        };
        RequestBuilder::new(&self.client, op)
    }
}
