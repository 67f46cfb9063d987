//! Checkout API v3: sessions, the merchant-side callbacks, and polling.
//!
//! Checkout authenticates differently from ePayment: every call carries `client_id`,
//! `client_secret`, `Ocp-Apim-Subscription-Key` and `Merchant-Serial-Number` headers
//! (plus `Vipps-System-*`), and no access token is fetched. Writes carry an
//! `Idempotency-Key`, identical on every retry.
//!
//! # The whole flow
//!
//! 1. **Create a session** on your backend ([`Checkout::create_session`]) and hand
//!    `token` and `checkoutFrontendUrl` to the frontend SDK (`VippsCheckout({…})` in an
//!    iframe, or `VippsCheckoutDirect`). Never call the API from the browser: the headers
//!    hold your secrets.
//! 2. **Dynamic shipping** (optional): Checkout posts the customer's address
//!    ([`DynamicShippingRequest`]) to `logistics.dynamicOptionsCallback`; answer `200` with a
//!    [`DynamicShippingResponse`] within 8 seconds, or the fixed options are used.
//! 3. **Learn the result** from *both* the callback (`POST merchantInfo.callbackUrl`, body
//!    [`SessionResponse`], `Authorization` = your `callbackAuthorizationToken`: check it with
//!    [`verify_callback_authorization`]; answer 2xx; delivery is not guaranteed) and polling
//!    ([`Checkout::wait_for_final_state`] or [`Checkout::get_session`]).
//! 4. **Capture, cancel, refund** through the ePayment API with the *same reference*:
//!    Checkout only reserves.
//!
//! ```no_run
//! # async fn run() -> Result<(), vipps::Error> {
//! use std::time::Duration;
//! use vipps::Client;
//! use vipps::types::{Amount, Reference};
//! use vipps::types::checkout::{
//!     CarrierLogisticsOption, InitiateSessionRequest, LogisticsOption, Logistics, MerchantInfo,
//!     PaymentTransaction, PostenLogisticsType,
//! };
//!
//! let client = Client::from_env()?;
//! let reference = Reference::new("acme-shop-123-order123abc").unwrap();
//! let callback_token = "a-long-random-secret-per-session";
//!
//! // 1. Create the session.
//! let mut req = InitiateSessionRequest::payment(
//!     MerchantInfo::new(
//!         "https://example.com/vipps/callback",
//!         "https://example.com/vipps/return?reference=acme-shop-123-order123abc",
//!         callback_token,
//!     ),
//!     PaymentTransaction::new(Amount::nok(49900), reference.clone(), "One pair of socks"),
//! );
//! req.logistics = Some(Logistics {
//!     fixed_options: Some(vec![LogisticsOption::Posten(CarrierLogisticsOption {
//!         type_: Some(PostenLogisticsType::PickupPoint),
//!         is_default: true,
//!         ..CarrierLogisticsOption::new("posten-pickup", Amount::nok(4900))
//!     })]),
//!     ..Default::default()
//! });
//! let session = client.checkout().create_session(req).await?;
//! println!("frontend: {} token: {}", session.checkout_frontend_url, session.token);
//!
//! // 3. Poll (start after 5 s, then every 2 s) until the session is final.
//! let done = client
//!     .checkout()
//!     .wait_for_final_state(&reference, Duration::from_secs(15 * 60))
//!     .await?;
//!
//! // 4. Capture, cancel and refund through ePayment, with the same reference.
//! if done.is_authorized() {
//!     let amount = done.payment_details.as_ref().map(|p| p.amount.clone()).unwrap();
//!     client.epayment().capture(&reference, amount).await?;
//!     // … later, if the customer returns the goods:
//!     client.epayment().refund(&reference, Amount::nok(49900)).await?;
//! } else {
//!     // Release anything still reserved (harmless when nothing is).
//!     let _ = client.epayment().cancel(&reference).await;
//! }
//! # Ok(()) }
//! ```
//!
//! Handling the callback in your web framework (shown framework-free):
//!
//! ```no_run
//! use vipps::checkout::{parse_callback, verify_callback_authorization};
//!
//! /// Returns the HTTP status to answer with.
//! fn on_checkout_callback(authorization: Option<&str>, body: &[u8], expected_token: &str) -> u16 {
//!     if !verify_callback_authorization(authorization, expected_token) {
//!         return 401;
//!     }
//!     match parse_callback(body) {
//!         Ok(session) => {
//!             // Store it; capture later with client.epayment().capture(&session.reference, …).
//!             println!("{} is {}", session.reference, session.session_state);
//!             200
//!         }
//!         Err(_) => 400,
//!     }
//! }
//! ```
//!
//! Answering the dynamic shipping callback:
//!
//! ```no_run
//! use vipps::checkout::{DynamicShippingRequest, DynamicShippingResponse};
//! use vipps::types::Amount;
//! use vipps::types::checkout::{LogisticsOption, OtherLogisticsOption};
//!
//! fn shipping_for(req: &DynamicShippingRequest) -> DynamicShippingResponse {
//!     let price = if req.country == "NO" { 4900 } else { 14900 };
//!     DynamicShippingResponse(vec![LogisticsOption::Other(OtherLogisticsOption {
//!         id: "store-pickup".into(),
//!         priority: 0,
//!         is_default: true,
//!         description: Some("Pick up in our Oslo store".into()),
//!         title: "Store pickup".into(),
//!         amount: Amount::nok(price),
//!         tax_rate: None,
//!     })])
//! }
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::transport::{Auth, Op, RequestBuilder};
use crate::Client;
use http::Method;
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::time::Instant;
use vipps_types::checkout::{check_reference, InitiateSessionRequest, InitiateSessionResponse, UpdateSessionRequest};
use vipps_types::{Validate, ValidationError};

pub use vipps_types::checkout::{DynamicShippingRequest, DynamicShippingResponse, SessionResponse, SessionState};

/// How often [`Checkout::wait_for_final_state`] polls.
///
/// The documented cadence ([`PollCadence::default`]) is: first poll after 5 seconds, then
/// every 2 seconds. Polling faster gets `429`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollCadence {
    /// Wait before the first poll.
    pub initial_delay: Duration,
    /// Wait between polls.
    pub interval: Duration,
}

impl PollCadence {
    /// The documented cadence: 5 s, then every 2 s.
    pub const DOCUMENTED: PollCadence = PollCadence {
        initial_delay: Duration::from_secs(5),
        interval: Duration::from_secs(2),
    };

    /// A custom cadence (tests use milliseconds).
    pub fn new(initial_delay: Duration, interval: Duration) -> Self {
        PollCadence {
            initial_delay,
            interval,
        }
    }
}

impl Default for PollCadence {
    fn default() -> Self {
        PollCadence::DOCUMENTED
    }
}

/// The Checkout API v3. Get one with [`Client::checkout`]. See the [module docs](self) for
/// the whole flow.
#[derive(Debug, Clone)]
pub struct Checkout {
    client: Client,
    cadence: PollCadence,
}

fn reference_path(reference: &str) -> Result<&str> {
    check_reference("reference", reference).map_err(Error::validation)?;
    Ok(reference)
}

impl Checkout {
    pub(crate) fn new(client: Client) -> Self {
        Checkout {
            client,
            cadence: PollCadence::default(),
        }
    }

    /// This handle with another polling cadence for [`Checkout::wait_for_final_state`].
    pub fn with_poll_cadence(mut self, cadence: PollCadence) -> Self {
        self.cadence = cadence;
        self
    }

    /// The polling cadence.
    pub fn poll_cadence(&self) -> PollCadence {
        self.cadence
    }

    /// `POST /checkout/v3/session`: create a session. The request is validated before
    /// sending; a duplicate reference is answered with `409`.
    pub fn create_session(&self, req: InitiateSessionRequest) -> RequestBuilder<InitiateSessionResponse> {
        let op = req.validate().map_err(Error::validation).and_then(|_| {
            Op::new("checkout.create_session", Method::POST, "/checkout/v3/session")
                .auth(Auth::ClientCredentials)
                .json(&req)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /checkout/v3/session/{reference}`: the session (the same shape as the callback).
    /// An unknown or long-expired session is a `404` with `errorCode` `Session-00100`.
    pub fn get_session(&self, reference: impl AsRef<str>) -> RequestBuilder<SessionResponse> {
        let op = reference_path(reference.as_ref()).map(|r| {
            Op::new("checkout.get_session", Method::GET, format!("/checkout/v3/session/{r}"))
                .auth(Auth::ClientCredentials)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `PATCH /checkout/v3/session/{reference}`: change the amount, description and order
    /// summary of a session the customer has not paid yet.
    ///
    /// **Experimental** in the API ("may change or be removed in future versions"); the
    /// response is not documented, so it is returned as raw JSON (`None` for an empty body).
    /// `transaction.reference` is deprecated; when given it must equal `reference`.
    pub fn update_session(
        &self,
        reference: impl AsRef<str>,
        req: UpdateSessionRequest,
    ) -> RequestBuilder<Option<serde_json::Value>> {
        let op = reference_path(reference.as_ref()).and_then(|r| {
            req.validate().map_err(Error::validation)?;
            if let Some(tr) = &req.transaction.reference {
                if tr.as_str() != r {
                    return Err(Error::validation(ValidationError::new(
                        "transaction.reference",
                        "must be the session's reference (or left out: it is deprecated)",
                    )));
                }
            }
            Op::new(
                "checkout.update_session",
                Method::PATCH,
                format!("/checkout/v3/session/{r}"),
            )
            .auth(Auth::ClientCredentials)
            .json(&req)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `POST /checkout/v3/session/{reference}/expire`: end a session now (e.g. when the cart
    /// changed and you create a new one). The response is not documented, so it is returned
    /// as raw JSON (`None` for an empty body).
    pub fn expire_session(&self, reference: impl AsRef<str>) -> RequestBuilder<Option<serde_json::Value>> {
        let op = reference_path(reference.as_ref()).map(|r| {
            Op::new(
                "checkout.expire_session",
                Method::POST,
                format!("/checkout/v3/session/{r}/expire"),
            )
            .auth(Auth::ClientCredentials)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// Polls get session at the configured [`PollCadence`] (documented: first after 5 s,
    /// then every 2 s) until the session reaches a final state ([`SessionState::is_final`]:
    /// `PaymentSuccessful`, `PaymentTerminated`, `SessionExpired`, `SessionTerminated`) and
    /// returns it.
    ///
    /// `deadline` is the longest time to wait, from now. When the next poll would come after
    /// it, the call fails with an error whose [`Error::is_timeout`] is true; call
    /// [`Checkout::get_session`] for the last state. Transient errors (timeouts, `429`,
    /// `5xx` after the client's own retries) do not stop the polling; any other error
    /// (e.g. `404` `Session-00100`: unknown or expired) is returned at once.
    pub async fn wait_for_final_state(
        &self,
        reference: impl AsRef<str>,
        deadline: Duration,
    ) -> Result<SessionResponse> {
        let reference = reference_path(reference.as_ref())?.to_owned();
        let end = Instant::now() + deadline;
        let mut wait = self.cadence.initial_delay;
        let mut polls = 0u32;
        let timed_out = |polls: u32| {
            Error::new(ErrorKind::Timeout).with_context(
                None,
                format!("checkout.wait_for_final_state {reference} (no final state before the deadline)"),
                polls,
            )
        };
        loop {
            if Instant::now() + wait > end {
                return Err(timed_out(polls));
            }
            tokio::time::sleep(wait).await;
            wait = self.cadence.interval;
            polls += 1;
            let remaining = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, self.get_session(&reference).send()).await {
                Err(_) => return Err(timed_out(polls)),
                Ok(Ok(s)) => {
                    let s = s.into_inner();
                    tracing::debug!(reference = %reference, state = %s.session_state, polls, "checkout poll");
                    if s.is_final() {
                        return Ok(s);
                    }
                }
                Ok(Err(e)) if e.is_retryable() => {
                    tracing::debug!(reference = %reference, error = %e, "checkout poll failed; polling on");
                }
                Ok(Err(e)) => return Err(e),
            }
        }
    }
}

/// Checks the `Authorization` header of a Checkout callback against the
/// `merchantInfo.callbackAuthorizationToken` the session was created with. Checkout sends
/// the token verbatim (no `Bearer`).
///
/// The comparison takes the same time wherever the values differ (and does not reveal the
/// token's length). A missing header or an empty expected token never verifies.
pub fn verify_callback_authorization(header_value: Option<&str>, expected_token: &str) -> bool {
    let Some(got) = header_value else {
        return false;
    };
    if expected_token.is_empty() {
        return false;
    }
    let a = Sha256::digest(got.as_bytes());
    let b = Sha256::digest(expected_token.as_bytes());
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// Parses the body of the "payment completed" callback (a [`SessionResponse`]). Unknown
/// fields and enum values are accepted.
pub fn parse_callback(body: &[u8]) -> std::result::Result<SessionResponse, serde_json::Error> {
    serde_json::from_slice(body)
}

/// Parses the body of the dynamic shipping callback.
pub fn parse_dynamic_shipping_request(body: &[u8]) -> std::result::Result<DynamicShippingRequest, serde_json::Error> {
    serde_json::from_slice(body)
}
