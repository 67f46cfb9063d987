//! Checkout API v3 emulation: sessions, their lifecycle, the Checkout page, the frontend SDK
//! script, the "payment completed" callback, dynamic shipping and a control plane.
//!
//! Routes:
//! - `POST /checkout/v3/session`, `GET|PATCH /checkout/v3/session/{reference}`,
//!   `POST /checkout/v3/session/{reference}/expire` (headers `client_id`, `client_secret`,
//!   `Ocp-Apim-Subscription-Key`, `Merchant-Serial-Number`; no access token; an
//!   `Authorization` header is ignored; optional `Idempotency-Key`)
//! - `GET /checkout/v3/frontend?token=…` (the Checkout page, `checkoutFrontendUrl`) and its
//!   JSON calls under `/checkout/v3/frontend/api/…?token=…`
//! - `GET /vippsCheckoutSDK.js` (also `/checkout/v3/vippsCheckoutSDK.js`): the frontend SDK
//! - control plane (no auth): `POST /_emulator/checkout/{reference}/complete|initiate|abort`,
//!   `GET /_emulator/checkout/{reference}` (the session with emulator internals)
//!
//! Emulator choices (BEHAVIOUR §5, §10.5–6):
//! - Lifecycle on the emulator clock: `SessionCreated` → `PaymentInitiated` (the customer
//!   presses Pay, or `initiate`) → `PaymentSuccessful` / `PaymentTerminated`. A session not
//!   paid within one hour becomes `SessionExpired` (evaluated lazily on every read, and by a
//!   background sweep every second so the callback goes out without a read). An expired
//!   session stays readable for 24 hours after it ended, then GET answers 404 `Session-00100`.
//! - The payment behind a session is a real ePayment payment (same reference and MSN),
//!   created when the session becomes `PaymentInitiated`, with the transaction amount plus the
//!   chosen shipping, expiring with the session. Capture/cancel/refund it through
//!   `/epayment/v1`; force approve and `/_emulator/payments/{reference}/approve|reject` also
//!   work on it and the session follows. Magic decline amounts end in `PaymentTerminated`.
//!   A session's reference must not be used by another session or ePayment payment (409).
//! - PATCH works only while `SessionCreated` (else 409 `Session-00300`); it answers 200 with
//!   the session. Expire ends a `SessionCreated`/`PaymentInitiated` session (an in-flight
//!   payment is cancelled: TERMINATED) and answers 200 with the session; on a session that
//!   already ended it is a no-op 200.
//! - The callback (`POST merchantInfo.callbackUrl`, `Authorization` =
//!   `callbackAuthorizationToken`, body = the session as GET returns it) is sent once, when
//!   the session reaches `PaymentSuccessful`, `PaymentTerminated` or `SessionExpired`, retried
//!   on non-2xx/timeouts (4 attempts in all, compressed backoff). See `GET /_emulator/deliveries`.
//! - Dynamic shipping: the Checkout page (server side) posts `{streetAddress, postalCode,
//!   region, country}` to `logistics.dynamicOptionsCallback` with the
//!   `callbackAuthorizationToken` as `Authorization`, and falls back to `fixedOptions` on a
//!   timeout (8 s, [`CheckoutSettings::dynamic_shipping_timeout`]), an error, an invalid or an
//!   empty/`null` answer.
//! - `SUBSCRIPTION` sessions (BEHAVIOUR §5.2–5.3; the documents say little about their
//!   lifecycle): the session carries a
//!   recurring agreement from the start (`subscriptionDetails {state, agreementId}`, id
//!   `agr_…`). Its state follows the session: `PENDING` until the session ends, then `ACTIVE`
//!   (`PaymentSuccessful`), `STOPPED` (`PaymentTerminated`) or `EXPIRED` (`SessionExpired`).
//!   With a `transaction` the initial payment is an ePayment payment as for `PAYMENT`
//!   sessions; without one there is no payment (`paymentDetails` is left out) and the
//!   customer's accept or reject ends the session; only the Checkout page and
//!   `/_emulator/checkout/{reference}/complete|abort` drive it (there is no payment for
//!   `/_emulator/payments/…` to act on). Shipping is charged with the initial payment, so
//!   `logistics` needs a `transaction`, and PATCH cannot add a transaction to a session that
//!   has none. The agreement's amount must be in the merchant's currency. The Recurring API
//!   itself is not emulated, so the agreement can be read only through the session.
//! - A sales unit set up for direct capture (the emulator merchant's `direct_capture`) cannot
//!   pay through Checkout: "transactions will fail" (Checkout API guide), so the customer's
//!   approval ends the session `PaymentTerminated` with the payment ABORTED.
//! - Error bodies are Checkout problems: `errorCode` (`Validation-00001`, `Session-00100`, …)
//!   and an `errors` map keyed by field (`Transaction.Reference`).

mod frontend;

use crate::config::Merchant;
use crate::customer::{living_in, Person, NORWAY};
use crate::deliveries::{Outbound, RetrySchedule};
use crate::error::{ApiError, Stored};
use crate::http::{
    call_merchant, check_system_headers, header_str, idempotency_key, parse_json, read_body, secure_eq, KeyRule,
};
use crate::state::AppState;
use crate::store::{Fingerprint, Ledger, NewPayment, Payment};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use time::OffsetDateTime;
use vipps_types::checkout::{
    check_reference, BillingDetails, DynamicShippingRequest, DynamicShippingResponse, Elements, InitiateSessionRequest,
    LogisticsOption, PaymentDetails, PaymentMethod, PaymentState as CkPaymentState, PickupPoint, SessionResponse,
    SessionState, SessionType, ShippingDetails, SubscriptionDetails, SubscriptionState, TransactionAggregate,
    UpdateSessionRequest, UserInfo,
};
use vipps_types::epayment::{CreatePaymentRequest, PaymentState as EpState, UserFlow};
use vipps_types::{Amount, Problem, Reference, Validate, ValidationError};

/// Tunables of the Checkout emulation (tests shorten them).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckoutSettings {
    /// How long a session waits for the customer (1 hour).
    pub session_ttl: Duration,
    /// How long an expired session is still answered with `SessionExpired` (24 hours).
    pub expired_retention: Duration,
    /// How long the dynamic shipping callback may take (8 seconds).
    pub dynamic_shipping_timeout: Duration,
    /// Retries of the "payment completed" callback (4 attempts: 1 + 3 retries).
    pub callback_schedule: RetrySchedule,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            session_ttl: Duration::from_secs(3600),
            expired_retention: Duration::from_secs(24 * 3600),
            dynamic_shipping_timeout: Duration::from_secs(8),
            callback_schedule: RetrySchedule {
                max_attempts: 4,
                ..RetrySchedule::default()
            },
        }
    }
}

/// One call of the dynamic shipping callback, as shown by `GET /_emulator/checkout/{reference}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingLookup {
    /// The callback URL.
    pub url: String,
    /// The address sent.
    pub request: DynamicShippingRequest,
    /// `dynamic` when the merchant's options were used, else `fixed`.
    pub used: &'static str,
    /// Why the fixed options were used (`timed out`, `HTTP 500`, `empty answer`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// One session.
#[derive(Debug, Clone)]
struct Session {
    msn: String,
    merchant_name: String,
    reference: String,
    session_id: String,
    token: String,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    request: InitiateSessionRequest,
    state: SessionState,
    ended_at: Option<OffsetDateTime>,
    payment_created: bool,
    shipping: Option<ShippingDetails>,
    billing: Option<BillingDetails>,
    user_info: Option<UserInfo>,
    /// With `requireUserInfo`: what the customer shares (profile, scope words), recorded for
    /// the Userinfo API once they approve.
    shared: Option<(Person, &'static str)>,
    consent: Option<bool>,
    /// The options last offered (address key, options, dynamic or not).
    offered: Option<(String, Vec<LogisticsOption>, bool)>,
    shipping_lookups: Vec<ShippingLookup>,
    callback_sent: bool,
    /// The recurring agreement of a `SUBSCRIPTION` session.
    agreement_id: Option<String>,
}

impl Session {
    fn elements(&self) -> Elements {
        self.request
            .configuration
            .as_ref()
            .and_then(|c| c.elements.clone())
            .unwrap_or(Elements::Full)
    }

    fn transaction_amount(&self) -> Amount {
        match (&self.request.transaction, &self.request.subscription) {
            (Some(t), _) => t.amount.clone(),
            (None, Some(sub)) => Amount::new(0, sub.amount.currency.clone()),
            (None, None) => Amount::nok(0),
        }
    }

    /// The agreement as the session shows it: its state follows the session's.
    fn subscription_details(&self) -> Option<SubscriptionDetails> {
        let id = self.agreement_id.clone()?;
        let state = match self.state {
            SessionState::PaymentSuccessful => SubscriptionState::Active,
            SessionState::PaymentTerminated => SubscriptionState::Stopped,
            SessionState::SessionExpired => SubscriptionState::Expired,
            _ => SubscriptionState::Pending,
        };
        Some(SubscriptionDetails {
            state: Some(state),
            agreement_id: Some(id),
        })
    }

    fn fixed_options(&self) -> Vec<LogisticsOption> {
        self.request
            .logistics
            .as_ref()
            .and_then(|l| l.fixed_options.clone())
            .unwrap_or_default()
    }

    fn dynamic_callback(&self) -> Option<String> {
        if !self.elements().has_address_fields() {
            return None;
        }
        self.request
            .logistics
            .as_ref()
            .and_then(|l| l.dynamic_options_callback.clone())
    }
}

#[derive(Debug, Default)]
struct Sessions {
    by_ref: HashMap<(String, String), Session>,
    tokens: HashMap<String, (String, String)>,
    idempotency: HashMap<(String, String, String, String), (Fingerprint, Stored)>,
}

/// State of the Checkout emulation, kept in [`AppState`] (lock order: the store first, then this).
#[derive(Debug)]
pub struct CheckoutState {
    sessions: Mutex<Sessions>,
    settings: Mutex<CheckoutSettings>,
}

impl Default for CheckoutState {
    fn default() -> Self {
        CheckoutState {
            sessions: Mutex::new(Sessions::default()),
            settings: Mutex::new(CheckoutSettings::default()),
        }
    }
}

impl CheckoutState {
    /// The current settings.
    pub fn settings(&self) -> CheckoutSettings {
        self.settings.lock().clone()
    }

    /// Changes the settings (affects later sessions and calls).
    pub fn update_settings(&self, f: impl FnOnce(&mut CheckoutSettings)) {
        f(&mut self.settings.lock());
    }

    /// Sets the dynamic shipping timeout (8 s by default).
    pub fn set_dynamic_shipping_timeout(&self, d: Duration) {
        self.update_settings(|s| s.dynamic_shipping_timeout = d);
    }

    /// Number of sessions kept.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().by_ref.len()
    }

    /// Whether a session of this merchant holds the reference (an ePayment payment may not
    /// take it). Called under the store lock (lock order: the store first, then this).
    pub(crate) fn holds_reference(&self, msn: &str, reference: &str) -> bool {
        let s = self.sessions.lock();
        !s.by_ref.is_empty() && s.by_ref.contains_key(&(msn.to_owned(), reference.to_owned()))
    }

    /// Forgets every session.
    pub fn clear(&self) {
        let mut s = self.sessions.lock();
        *s = Sessions::default();
    }
}

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

/// A Checkout problem (`CheckoutProblemDetails`).
#[derive(Debug, Clone)]
pub(crate) struct CkError {
    status: StatusCode,
    code: String,
    title: String,
    detail: String,
    errors: BTreeMap<String, Vec<String>>,
}

/// `transaction.amount.value` → `Transaction.Amount.Value`.
fn pascal_field(field: &str) -> String {
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
    fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        CkError {
            status,
            code: code.to_owned(),
            title: title.to_owned(),
            detail: detail.into(),
            errors: BTreeMap::new(),
        }
    }

    fn validation(field: &str, message: impl Into<String>) -> Self {
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

    fn not_found(reference: &str) -> Self {
        CkError::new(
            StatusCode::NOT_FOUND,
            "Session-00100",
            "Session not found",
            format!("Session expired or not known: no session with reference '{reference}' for this merchant"),
        )
    }

    fn wrong_state(s: &Session, what: &str) -> Self {
        CkError::new(
            StatusCode::CONFLICT,
            "Session-00300",
            "Session is in the wrong state",
            format!("The session cannot be {what}: it is {}", s.state),
        )
    }

    fn render(&self, instance: &str) -> Stored {
        let p = Problem {
            type_: Some(format!("https://httpstatuses.io/{}", self.status.as_u16())),
            title: Some(self.title.clone()),
            detail: Some(self.detail.clone()),
            status: Some(self.status.as_u16()),
            instance: (!instance.is_empty()).then(|| instance.to_owned()),
            trace_id: Some(crate::error::trace_id()),
            extra_details: Vec::new(),
            error_code: Some(self.code.clone()),
            errors: Some(self.errors.clone()),
        };
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

fn respond(instance: &str, r: Result<Stored, CkError>) -> Response {
    match r {
        Ok(s) => s.into_response(),
        Err(e) => e.render(instance).into_response(),
    }
}

// ------------------------------------------------------------------------------------------
// Authentication
// ------------------------------------------------------------------------------------------

/// `client_id`, `client_secret`, `Ocp-Apim-Subscription-Key`, `Merchant-Serial-Number`.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Merchant, CkError> {
    let unauthorized = |d: &str| CkError::new(StatusCode::UNAUTHORIZED, "Authentication-00001", "Unauthorized", d);
    let id = header_str(headers, "client_id").ok_or_else(|| unauthorized("Missing client_id header"))?;
    let secret = header_str(headers, "client_secret").ok_or_else(|| unauthorized("Missing client_secret header"))?;
    let m = state
        .merchant_by_client_id(id)
        .filter(|m| secure_eq(secret, &m.client_secret))
        .ok_or_else(|| unauthorized("Invalid client_id or client_secret"))?;
    let key = header_str(headers, "ocp-apim-subscription-key").ok_or_else(|| {
        unauthorized("Access denied due to missing subscription key. Send the Ocp-Apim-Subscription-Key header.")
    })?;
    if !secure_eq(key, &m.subscription_key) {
        return Err(CkError::new(
            StatusCode::FORBIDDEN,
            "Authorization-00001",
            "Forbidden",
            "Invalid subscription key for these credentials",
        ));
    }
    let msn = header_str(headers, "merchant-serial-number")
        .ok_or_else(|| CkError::validation("Merchant-Serial-Number", "the header is required"))?;
    if msn != m.msn {
        return Err(CkError::new(
            StatusCode::FORBIDDEN,
            "Authorization-00001",
            "Forbidden",
            format!("The credentials are not valid for Merchant-Serial-Number {msn}"),
        ));
    }
    Ok(m.clone())
}

struct Call {
    merchant: Merchant,
    body: bytes::Bytes,
    key: Option<String>,
}

async fn begin(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Call, CkError> {
    let body = read_body(body, headers, state.config().max_body_bytes).await?;
    check_system_headers(headers)?;
    let merchant = authenticate(state, headers)?;
    let key = idempotency_key(headers, KeyRule::Optional)?;
    Ok(Call { merchant, body, key })
}

/// The `{reference}` of a Checkout path. One the router cannot decode (invalid percent
/// encoding or UTF-8) is answered like any unknown session: 404 `Session-00100`, in the
/// Checkout problem format (axum's own rejection would be plain text).
struct SessionRef(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SessionRef {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(r)) => Ok(SessionRef(r)),
            Err(_) => {
                let path = parts.uri.path().to_owned();
                Err(respond(&path, Err(CkError::not_found("(not a valid reference)"))))
            }
        }
    }
}

/// A reference in the path that no session can have is simply not found (404): the reference
/// documents no pattern for the path parameter, only for the session's own reference.
fn path_reference(r: &str) -> Result<(), CkError> {
    check_reference("reference", r).map_err(|_| CkError::not_found(r))
}

// ------------------------------------------------------------------------------------------
// Lifecycle
// ------------------------------------------------------------------------------------------

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A Recurring-style agreement id (`agr_` and 7 letters or digits).
fn agreement_id() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!("agr_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 7))
}

fn ck_payment_state(s: &EpState) -> CkPaymentState {
    match s {
        EpState::Created => CkPaymentState::Created,
        EpState::Authorized => CkPaymentState::Authorized,
        _ => CkPaymentState::Terminated,
    }
}

/// Brings a session up to date with its payment and the clock. Returns whether it just ended.
fn settle(s: &mut Session, ledger: &mut Ledger, now: OffsetDateTime) -> bool {
    if s.state.is_final() {
        return false;
    }
    let pay = if s.payment_created {
        ledger.payment(&s.msn, &s.reference, now).ok().map(|p| p.state.clone())
    } else {
        None
    };
    let next = match pay {
        Some(EpState::Authorized) => Some(SessionState::PaymentSuccessful),
        Some(EpState::Expired) => Some(SessionState::SessionExpired),
        Some(EpState::Aborted) | Some(EpState::Terminated) => Some(SessionState::PaymentTerminated),
        Some(EpState::Created) => None,
        Some(_) => Some(SessionState::PaymentTerminated),
        None if now >= s.expires_at => Some(SessionState::SessionExpired),
        None => None,
    };
    match next {
        Some(n) => {
            s.ended_at = Some(if n == SessionState::SessionExpired {
                s.expires_at.min(now)
            } else {
                now
            });
            s.state = n;
            true
        }
        None => false,
    }
}

fn aggregate(p: &Payment) -> TransactionAggregate {
    let a = p.aggregate();
    let nz = |x: Amount| (x.value != 0).then_some(x);
    TransactionAggregate {
        cancelled_amount: nz(a.cancelled_amount),
        captured_amount: nz(a.captured_amount),
        refunded_amount: nz(a.refunded_amount),
        authorized_amount: nz(a.authorized_amount),
    }
}

/// The session as GET and the callback show it.
fn session_response(s: &Session, ledger: &mut Ledger, now: OffsetDateTime) -> SessionResponse {
    let payment = if s.payment_created {
        ledger.payment(&s.msn, &s.reference, now).ok().map(|p| p.clone())
    } else {
        None
    };
    let payment_details = match &payment {
        Some(p) => Some(PaymentDetails {
            type_: Some("WALLET".into()),
            amount: p.amount.clone(),
            state: Some(ck_payment_state(&p.state)),
            aggregate: Some(aggregate(p)),
        }),
        // A subscription without an initial payment has no payment to show.
        None if s.request.transaction.is_none() => None,
        None => Some(PaymentDetails {
            type_: Some("WALLET".into()),
            amount: s.transaction_amount(),
            // No payment started yet: CREATED, as the stored spec requires a state here.
            state: Some(if s.state.is_final() {
                CkPaymentState::Terminated
            } else {
                CkPaymentState::Created
            }),
            aggregate: None,
        }),
    };
    SessionResponse {
        session_id: s.session_id.clone(),
        merchant_serial_number: Some(s.msn.clone()),
        reference: Reference::new(s.reference.clone()).unwrap_or_else(|_| Reference::random()),
        session_state: s.state.clone(),
        payment_method: payment.as_ref().map(|_| PaymentMethod::Wallet),
        subscription_details: s.subscription_details(),
        payment_details,
        user_info: s.user_info.clone(),
        shipping_details: s.shipping.clone(),
        billing_details: s.billing.clone(),
        custom_consent_provided: s.consent,
    }
}

fn callback(state: &AppState, s: &Session, body: &SessionResponse) -> Outbound {
    let schedule = state.checkout().settings().callback_schedule;
    Outbound {
        kind: "checkout-callback",
        msn: s.msn.clone(),
        reference: s.reference.clone(),
        event: Some(s.state.to_string()),
        url: s.request.merchant_info.callback_url.clone(),
        method: http::Method::POST,
        headers: vec![(
            "Authorization".to_owned(),
            s.request.merchant_info.callback_authorization_token.clone(),
        )],
        body: serde_json::to_vec(body).unwrap_or_default().into(),
        schedule,
        sign: None,
        ordering_key: format!("checkout:{}:{}", s.msn, s.reference),
        on_attempt: None,
    }
}

/// Settles a session and, when it just ended, prepares its callback (sent once).
fn settle_and_notify(
    state: &AppState,
    s: &mut Session,
    ledger: &mut Ledger,
    now: OffsetDateTime,
    out: &mut Vec<Outbound>,
) {
    settle(s, ledger, now);
    if s.state.is_final() && !s.callback_sent {
        s.callback_sent = true;
        let body = session_response(s, ledger, now);
        out.push(callback(state, s, &body));
    }
}

fn send_all(state: &AppState, out: Vec<Outbound>) {
    for o in out {
        state.deliveries().send(o);
    }
}

/// Runs `f` on a session under the store lock, then the checkout lock; settles it first and
/// sends the callbacks it causes after the locks are released.
fn with_session<R>(
    state: &AppState,
    msn: &str,
    reference: &str,
    f: impl FnOnce(&mut Session, &mut Ledger, OffsetDateTime, &mut Vec<Outbound>) -> Result<R, CkError>,
) -> Result<R, CkError> {
    let mut out = Vec::new();
    let retention = state.checkout().settings().expired_retention;
    let r = state.store().transaction(|ledger| {
        let mut cs = state.checkout().sessions.lock();
        let now = state.clock().now();
        let s = cs
            .by_ref
            .get_mut(&(msn.to_owned(), reference.to_owned()))
            .ok_or_else(|| CkError::not_found(reference))?;
        if s.payment_created && ledger.payment(msn, reference, now).is_err() {
            // The store was reset: the session is gone too.
            let token = s.token.clone();
            cs.by_ref.remove(&(msn.to_owned(), reference.to_owned()));
            cs.tokens.remove(&token);
            return Err(CkError::not_found(reference));
        }
        settle_and_notify(state, s, ledger, now, &mut out);
        if s.state == SessionState::SessionExpired
            && s.ended_at
                .is_some_and(|e| now > e + time::Duration::seconds(retention.as_secs() as i64))
        {
            return Err(CkError::not_found(reference));
        }
        f(s, ledger, now, &mut out)
    });
    send_all(state, out);
    r
}

/// The (MSN, reference) a Checkout page token belongs to.
fn by_token(state: &AppState, token: &str) -> Option<(String, String)> {
    state.checkout().sessions.lock().tokens.get(token).cloned()
}

/// Settles every open session (sends the callbacks of those that ended).
pub fn sweep(state: &AppState) {
    let mut out = Vec::new();
    state.store().transaction(|ledger| {
        let mut cs = state.checkout().sessions.lock();
        let now = state.clock().now();
        for s in cs.by_ref.values_mut().filter(|s| !s.state.is_final()) {
            settle_and_notify(state, s, ledger, now, &mut out);
        }
    });
    send_all(state, out);
}

// ------------------------------------------------------------------------------------------
// API handlers
// ------------------------------------------------------------------------------------------

/// Idempotency: replays an identical retry, 409 for a reused key with another body.
fn replay(
    cs: &Sessions,
    scope: &Option<(String, String, String, String)>,
    fp: &Fingerprint,
) -> Option<Result<Stored, CkError>> {
    let scope = scope.as_ref()?;
    let (old, stored) = cs.idempotency.get(scope)?;
    if old == fp {
        return Some(Ok(stored.clone()));
    }
    Some(Err(CkError::new(
        StatusCode::CONFLICT,
        "Idempotency-00100",
        "Idempotency conflict",
        format!(
            "Idempotency-Key '{}' was already used with a different request",
            scope.3
        ),
    )))
}

fn scope(msn: &str, method: &str, path: &str, key: &Option<String>) -> Option<(String, String, String, String)> {
    key.as_ref()
        .map(|k| (msn.to_owned(), method.to_owned(), path.to_owned(), k.clone()))
}

async fn create(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let path = uri.path().to_owned();
    let r = create_inner(&state, &path, &headers, body).await;
    respond(&path, r)
}

async fn create_inner(state: &AppState, path: &str, headers: &HeaderMap, body: Body) -> Result<Stored, CkError> {
    let call = begin(state, headers, body).await?;
    let req: InitiateSessionRequest = parse_json(headers, &call.body)?
        .ok_or_else(|| CkError::validation("body", "a JSON request body is required"))?;
    req.validate()?;
    let m = call.merchant;
    let amounts = [
        (
            "transaction.amount.currency",
            req.transaction.as_ref().map(|t| &t.amount),
        ),
        (
            "subscription.amount.currency",
            req.subscription.as_ref().map(|s| &s.amount),
        ),
    ];
    for (field, amount) in amounts {
        if let Some(a) = amount {
            if a.currency != m.currency {
                return Err(CkError::validation(
                    field,
                    format!("must be {} for this merchant (was {})", m.currency, a.currency),
                ));
            }
        }
    }
    let subscription = req.session_type() == SessionType::Subscription;
    let reference = req
        .effective_reference()
        .map(|r| r.as_str().to_owned())
        .ok_or_else(|| CkError::validation("reference", "is required"))?;
    let settings = state.checkout().settings();
    let public = state.public_url();
    let fp = Fingerprint::of(&req);
    let sc = scope(&m.msn, "POST", path, &call.key);
    let r = state.store().transaction(|ledger| {
        let mut cs = state.checkout().sessions.lock();
        if let Some(r) = replay(&cs, &sc, &fp) {
            return r;
        }
        let now = state.clock().now();
        let id = (m.msn.clone(), reference.clone());
        if cs.by_ref.contains_key(&id) || ledger.payment(&m.msn, &reference, now).is_ok() {
            let e = CkError::new(
                StatusCode::CONFLICT,
                "Session-00200",
                "Reference already used",
                format!("A session or payment with reference '{reference}' already exists for this merchant"),
            );
            let stored = e.render(path);
            if let Some(sc) = sc.clone() {
                cs.idempotency.insert(sc, (fp, stored));
            }
            return Err(e);
        }
        let mut token = random_b64(32);
        while cs.tokens.contains_key(&token) {
            token = random_b64(32);
        }
        let session = Session {
            msn: m.msn.clone(),
            merchant_name: m.name.clone(),
            reference: reference.clone(),
            session_id: random_b64(16),
            token: token.clone(),
            created_at: now,
            expires_at: now + time::Duration::seconds(settings.session_ttl.as_secs() as i64),
            request: req.clone(),
            state: SessionState::SessionCreated,
            ended_at: None,
            payment_created: false,
            shipping: None,
            billing: None,
            user_info: None,
            shared: None,
            consent: None,
            offered: None,
            shipping_lookups: Vec::new(),
            callback_sent: false,
            agreement_id: subscription.then(agreement_id),
        };
        cs.tokens.insert(token.clone(), id.clone());
        cs.by_ref.insert(id, session);
        let resp = vipps_types::checkout::InitiateSessionResponse {
            token,
            checkout_frontend_url: format!("{public}/checkout/v3/frontend"),
            polling_url: format!("{public}/checkout/v3/session/{reference}"),
        };
        let stored = Stored::json(StatusCode::OK, &resp);
        if let Some(sc) = sc.clone() {
            cs.idempotency.insert(sc, (fp, stored.clone()));
        }
        Ok(stored)
    });
    state.ensure_sweeper();
    r
}

async fn get_session(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body).await?;
        path_reference(&reference)?;
        with_session(&state, &call.merchant.msn, &reference, |s, ledger, now, _| {
            Ok(Stored::json(StatusCode::OK, &session_response(s, ledger, now)))
        })
    }
    .await;
    respond(uri.path(), r)
}

async fn update_session(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    let r = async {
        let call = begin(&state, &headers, body).await?;
        path_reference(&reference)?;
        let req: UpdateSessionRequest = parse_json(&headers, &call.body)?
            .ok_or_else(|| CkError::validation("body", "a JSON request body is required"))?;
        req.validate()?;
        if let Some(r) = &req.transaction.reference {
            if r.as_str() != reference {
                return Err(CkError::validation(
                    "transaction.reference",
                    "must be the session's reference (or left out: it is deprecated)",
                ));
            }
        }
        let m = call.merchant;
        if req.transaction.amount.currency != m.currency {
            return Err(CkError::validation(
                "transaction.amount.currency",
                format!("must be {} for this merchant", m.currency),
            ));
        }
        let fp = Fingerprint::of(&req);
        let sc = scope(&m.msn, "PATCH", &path, &call.key);
        if let Some(r) = replay(&state.checkout().sessions.lock(), &sc, &fp) {
            return r;
        }
        let stored = with_session(&state, &m.msn, &reference, |s, ledger, now, _| {
            if s.state != SessionState::SessionCreated {
                return Err(CkError::wrong_state(s, "updated"));
            }
            if s.request.transaction.is_none() {
                return Err(CkError::validation(
                    "transaction",
                    "this SUBSCRIPTION session has no initial payment, and PATCH cannot add one",
                ));
            }
            let mut candidate = s.request.clone();
            let mut t = req.transaction.clone();
            t.reference = candidate.transaction.as_ref().and_then(|old| old.reference.clone());
            candidate.transaction = Some(t);
            candidate.validate()?;
            s.request = candidate;
            Ok(Stored::json(StatusCode::OK, &session_response(s, ledger, now)))
        })?;
        if let Some(sc) = sc {
            state
                .checkout()
                .sessions
                .lock()
                .idempotency
                .insert(sc, (fp, stored.clone()));
        }
        Ok(stored)
    }
    .await;
    respond(&path, r)
}

async fn expire_session(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body).await?;
        path_reference(&reference)?;
        with_session(&state, &call.merchant.msn, &reference, |s, ledger, now, out| {
            if !s.state.is_final() {
                if s.payment_created {
                    if let Ok(p) = ledger.payment(&s.msn, &s.reference, now) {
                        if p.state == EpState::Created {
                            let _ = p.cancel(false, None, now);
                        }
                    }
                }
                s.state = SessionState::SessionExpired;
                s.ended_at = Some(now);
                settle_and_notify(&state, s, ledger, now, out);
            }
            Ok(Stored::json(StatusCode::OK, &session_response(s, ledger, now)))
        })
    }
    .await;
    respond(uri.path(), r)
}

// ------------------------------------------------------------------------------------------
// Customer actions (Checkout page and control plane)
// ------------------------------------------------------------------------------------------

/// Contact data entered by the customer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CustomerData {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
}

/// An address entered by the customer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AddressData {
    street_address: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    country: Option<String>,
}

/// What the customer does: the body of the page's pay call and of the control plane.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CustomerInput {
    msn: Option<String>,
    customer: Option<CustomerData>,
    address: Option<AddressData>,
    shipping_option_id: Option<String>,
    /// The pickup point chosen for a `PICKUP_POINT` option (else the emulator makes one up).
    pickup_point: Option<PickupPoint>,
    consent: Option<bool>,
}

/// Whether an option delivers to a pickup point (`type: PICKUP_POINT`).
fn is_pickup_point(o: &LogisticsOption) -> bool {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(|t| t == "PICKUP_POINT"))
        .unwrap_or(false)
}

/// The pickup point of a `PICKUP_POINT` option: the customer's choice, else a made-up one in
/// the customer's postal code and city.
fn pickup_point_for(o: &LogisticsOption, chosen: Option<PickupPoint>, addr: &AddressData) -> Option<PickupPoint> {
    if !is_pickup_point(o) {
        return None;
    }
    chosen.or_else(|| {
        let brand = o.brand();
        Some(PickupPoint {
            id: format!("emulator-{}-1", brand.as_str().to_ascii_lowercase()),
            name: format!("{} pickup point (emulator)", brand.as_str()),
            address: "Emulatorveien 1".to_owned(),
            postal_code: addr.postal_code.clone().unwrap_or_else(|| "0154".to_owned()),
            city: addr.city.clone().unwrap_or_else(|| "Oslo".to_owned()),
            country: addr.country.clone().unwrap_or_else(|| "NO".to_owned()),
            opening_hours: Some(vec!["Man-Søn: 0800-2200".to_owned()]),
        })
    })
}

/// How far the customer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Pay (the app approves).
    Approve,
    /// Start paying and stop (`PaymentInitiated`).
    Initiate,
    /// Cancel.
    Reject,
}

fn pick(a: Option<String>, b: Option<String>, default: &str) -> String {
    a.filter(|s| !s.trim().is_empty())
        .or(b.filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| default.to_owned())
}

fn address_key(a: &AddressData) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

/// The complete address: entered, else prefilled, else that of the test customer who lives in
/// the address's country (Norway's, with that country, for a country without one).
fn full_address(s: &Session, a: Option<AddressData>) -> AddressData {
    let a = a.unwrap_or_default();
    let p = s.request.prefill_customer.clone().unwrap_or_default();
    let country = pick(a.country, p.country.clone(), default_country(s));
    let home = living_in(&country).unwrap_or(NORWAY);
    AddressData {
        street_address: Some(pick(a.street_address, p.street_address, home.street)),
        postal_code: Some(pick(a.postal_code, p.postal_code, home.post_code)),
        city: Some(pick(a.city, p.city, home.city)),
        country: Some(country),
    }
}

/// The test customer's country, or the first supported one when the session does not
/// support Norway.
fn default_country(s: &Session) -> &str {
    match s.request.configuration.as_ref().and_then(|c| c.countries.as_ref()) {
        Some(c) if !c.supported.is_empty() && !c.supported.iter().any(|x| x.eq_ignore_ascii_case(NORWAY.country)) => {
            c.supported.first().map_or(NORWAY.country, String::as_str)
        }
        _ => NORWAY.country,
    }
}

/// The complete customer: entered, else prefilled, else the test customer who lives in
/// `country` (the address's).
fn full_customer(s: &Session, c: Option<CustomerData>, country: &str) -> CustomerData {
    let c = c.unwrap_or_default();
    let p = s.request.prefill_customer.clone().unwrap_or_default();
    let home = living_in(country).unwrap_or(NORWAY);
    CustomerData {
        first_name: Some(pick(c.first_name, p.first_name, home.first_name)),
        last_name: Some(pick(c.last_name, p.last_name, home.last_name)),
        email: Some(pick(c.email, p.email, home.email)),
        phone_number: Some(pick(c.phone_number, p.phone_number, home.mobile)),
    }
}

/// Calls the dynamic shipping callback (no lock held).
async fn fetch_dynamic(
    state: &AppState,
    url: &str,
    auth: &str,
    req: &DynamicShippingRequest,
    currency: &vipps_types::Currency,
) -> Result<Vec<LogisticsOption>, String> {
    let timeout = state.checkout().settings().dynamic_shipping_timeout;
    let (status, body) = call_merchant(state.merchant_http(), url, Some(auth), req, timeout).await?;
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let text = String::from_utf8_lossy(&body);
    if text.trim().is_empty() || text.trim() == "null" {
        return Err("empty answer".into());
    }
    let opts: DynamicShippingResponse = serde_json::from_slice(&body).map_err(|e| format!("invalid answer: {e}"))?;
    opts.validate().map_err(|e| format!("invalid answer: {e}"))?;
    if opts.0.is_empty() {
        return Err("empty answer".into());
    }
    if opts
        .0
        .iter()
        .any(|o| o.amount().is_some_and(|a| &a.currency != currency))
    {
        return Err("invalid answer: an option's currency is not the transaction's".into());
    }
    Ok(opts.0)
}

/// The shipping options for an address: dynamic (when configured and answered), else fixed.
/// Remembers them on the session.
pub(crate) async fn shipping_options(
    state: &AppState,
    msn: &str,
    reference: &str,
    address: Option<AddressData>,
) -> Result<(Vec<LogisticsOption>, bool), CkError> {
    let (addr, dynamic, fixed, auth, currency, cached) = with_session(state, msn, reference, |s, _, _, _| {
        let addr = full_address(s, address.clone());
        let cached = s
            .offered
            .as_ref()
            .filter(|(k, _, _)| *k == address_key(&addr))
            .map(|(_, o, d)| (o.clone(), *d));
        Ok((
            addr,
            s.dynamic_callback(),
            s.fixed_options(),
            s.request.merchant_info.callback_authorization_token.clone(),
            s.transaction_amount().currency,
            cached,
        ))
    })?;
    if let Some(c) = cached {
        return Ok(c);
    }
    let (options, used_dynamic, lookup) = match dynamic {
        None => (fixed, false, None),
        Some(url) => {
            let req = DynamicShippingRequest {
                street_address: addr.street_address.clone().unwrap_or_default(),
                postal_code: addr.postal_code.clone().unwrap_or_default(),
                region: addr.city.clone().unwrap_or_default(),
                country: addr.country.clone().unwrap_or_default(),
            };
            match fetch_dynamic(state, &url, &auth, &req, &currency).await {
                Ok(o) => (
                    o,
                    true,
                    Some(ShippingLookup {
                        url,
                        request: req,
                        used: "dynamic",
                        fallback_reason: None,
                    }),
                ),
                Err(why) => (
                    fixed,
                    false,
                    Some(ShippingLookup {
                        url,
                        request: req,
                        used: "fixed",
                        fallback_reason: Some(why),
                    }),
                ),
            }
        }
    };
    let key = address_key(&addr);
    let opts = options.clone();
    with_session(state, msn, reference, move |s, _, _, _| {
        if let Some(l) = lookup {
            s.shipping_lookups.push(l);
        }
        s.offered = Some((key, opts, used_dynamic));
        Ok(())
    })?;
    Ok((options, used_dynamic))
}

/// Options sorted for display: by priority, then as given.
fn sorted(mut o: Vec<LogisticsOption>) -> Vec<LogisticsOption> {
    o.sort_by_key(priority);
    o
}

fn priority(o: &LogisticsOption) -> i32 {
    match o {
        LogisticsOption::Posten(x) => x.priority,
        LogisticsOption::Postnord(x) => x.priority,
        LogisticsOption::Porterbuddy(x) => x.priority,
        LogisticsOption::Helthjem(x) => x.priority,
        LogisticsOption::Posti(x) => x.priority,
        LogisticsOption::Gls(x) => x.priority,
        LogisticsOption::Dao(x) => x.priority,
        LogisticsOption::Instabox(x) => x.priority,
        LogisticsOption::Other(x) => x.priority,
        LogisticsOption::Unknown(_) => i32::MAX,
    }
}

fn is_default(o: &LogisticsOption) -> bool {
    match o {
        LogisticsOption::Posten(x) => x.is_default,
        LogisticsOption::Postnord(x) => x.is_default,
        LogisticsOption::Porterbuddy(x) => x.is_default,
        LogisticsOption::Helthjem(x) => x.is_default,
        LogisticsOption::Posti(x) => x.is_default,
        LogisticsOption::Gls(x) => x.is_default,
        LogisticsOption::Dao(x) => x.is_default,
        LogisticsOption::Instabox(x) => x.is_default,
        LogisticsOption::Other(x) => x.is_default,
        LogisticsOption::Unknown(_) => false,
    }
}

/// The default option: `isDefault`, else the first by priority.
fn default_option(o: &[LogisticsOption]) -> Option<LogisticsOption> {
    let s = sorted(o.to_vec());
    s.iter().find(|x| is_default(x)).or(s.first()).cloned()
}

/// The customer completes (or starts, or cancels) the checkout.
pub(crate) async fn customer_act(
    state: &AppState,
    msn: &str,
    reference: &str,
    input: CustomerInput,
    outcome: Outcome,
) -> Result<SessionResponse, CkError> {
    let (elements, has_logistics, consent_cfg, require_user_info, countries, prefilled_country) =
        with_session(state, msn, reference, |s, _, _, _| {
            if s.state.is_final() {
                return Err(CkError::wrong_state(s, "paid"));
            }
            let cfg = s.request.configuration.clone().unwrap_or_default();
            let has_logistics = s.dynamic_callback().is_some() || !s.fixed_options().is_empty();
            Ok((
                s.elements(),
                has_logistics,
                cfg.custom_consent,
                cfg.require_user_info.unwrap_or(false),
                // An empty list restricts nothing (the reference does not say what it means).
                cfg.countries.map(|c| c.supported).filter(|l| !l.is_empty()),
                s.request.prefill_customer.as_ref().and_then(|p| p.country.clone()),
            ))
        })?;
    let with_address = elements.has_address_fields();
    // `configuration.countries.supported`: "the customer will only be able to select these
    // countries". Checked on the address the payment would use: entered, else prefilled.
    if let (true, Some(list), false) = (with_address, &countries, outcome == Outcome::Reject) {
        let entered = input.address.as_ref().and_then(|a| a.country.clone());
        let country = entered.or(prefilled_country).filter(|c| !c.trim().is_empty());
        if let Some(c) = country.as_deref().map(str::trim) {
            if !list.iter().any(|s| s.eq_ignore_ascii_case(c)) {
                return Err(CkError::validation(
                    "address.country",
                    format!("'{c}' is not one of the supported countries ({})", list.join(", ")),
                ));
            }
        }
    }
    let chosen = if has_logistics && outcome != Outcome::Reject {
        let addr = if with_address { input.address.clone() } else { None };
        let (options, _) = shipping_options(state, msn, reference, addr).await?;
        if options.is_empty() {
            return Err(CkError::validation(
                "shippingOptionId",
                "no shipping options are available (the dynamic shipping callback failed and there are no fixed options)",
            ));
        }
        match &input.shipping_option_id {
            Some(id) => Some(
                options
                    .iter()
                    .find(|o| o.id() == Some(id.as_str()))
                    .cloned()
                    .ok_or_else(|| {
                        CkError::validation("shippingOptionId", format!("'{id}' is not an offered option"))
                    })?,
            ),
            None => default_option(&options),
        }
    } else {
        None
    };
    let consent = match &consent_cfg {
        None => None,
        Some(c) => {
            let given = input.consent.unwrap_or(true);
            if c.required && !given && outcome != Outcome::Reject {
                return Err(CkError::validation("consent", "the custom consent is required"));
            }
            Some(given)
        }
    };
    let public = state.public_url();
    let direct_capture = state.merchant_by_msn(msn).is_some_and(|m| m.direct_capture);
    let mut out_resp = None;
    with_session(state, msn, reference, |s, ledger, now, out| {
        if s.state.is_final() {
            return Err(CkError::wrong_state(s, "paid"));
        }
        if s.state == SessionState::SessionCreated {
            let addr = full_address(s, input.address.clone());
            let customer = full_customer(s, input.customer.clone(), addr.country.as_deref().unwrap_or_default());
            let ship_amount = chosen.as_ref().and_then(|o| o.amount().cloned());
            let tx = s.transaction_amount();
            let total = Amount::new(
                tx.value + ship_amount.as_ref().map_or(0, |a| a.value),
                tx.currency.clone(),
            );
            // A subscription without a transaction has no initial payment.
            if let Some(t) = &s.request.transaction {
                let reference =
                    Reference::new(s.reference.clone()).map_err(|e| CkError::validation("reference", e.to_string()))?;
                let req = CreatePaymentRequest {
                    return_url: Some(s.request.merchant_info.return_url.clone()),
                    payment_description: Some(t.payment_description.clone()),
                    ..CreatePaymentRequest::new(total, reference, UserFlow::WebRedirect)
                };
                ledger
                    .create_payment(NewPayment {
                        msn: &s.msn,
                        request: &req,
                        idempotency_key: None,
                        now,
                        expires_at: s.expires_at.max(now + time::Duration::seconds(1)),
                        public_url: &public,
                    })
                    .map_err(CkError::from)?;
                s.payment_created = true;
            }
            // A customer who cancels before entering anything gave no details: none are made up.
            let entered = outcome != Outcome::Reject || input.customer.is_some() || input.address.is_some();
            let contact = elements != Elements::PaymentOnly && entered;
            if contact {
                s.billing = Some(BillingDetails {
                    first_name: customer.first_name.clone().unwrap_or_default(),
                    last_name: customer.last_name.clone().unwrap_or_default(),
                    email: customer.email.clone().unwrap_or_default(),
                    phone_number: customer.phone_number.clone().unwrap_or_default(),
                    street_address: with_address.then(|| addr.street_address.clone()).flatten(),
                    postal_code: with_address.then(|| addr.postal_code.clone()).flatten(),
                    city: with_address.then(|| addr.city.clone()).flatten(),
                    country: with_address.then(|| addr.country.clone()).flatten(),
                });
            }
            if contact && (with_address || chosen.is_some()) {
                s.shipping = Some(ShippingDetails {
                    first_name: customer.first_name.clone(),
                    last_name: customer.last_name.clone(),
                    email: customer.email.clone(),
                    phone_number: customer.phone_number.clone(),
                    street_address: with_address.then(|| addr.street_address.clone()).flatten(),
                    postal_code: with_address.then(|| addr.postal_code.clone()).flatten(),
                    city: with_address.then(|| addr.city.clone()).flatten(),
                    country: with_address.then(|| addr.country.clone()).flatten(),
                    shipping_method_id: chosen.as_ref().and_then(|o| o.id().map(str::to_owned)),
                    amount: ship_amount,
                    pickup_point: chosen
                        .as_ref()
                        .and_then(|o| pickup_point_for(o, input.pickup_point.clone(), &addr)),
                });
            }
            if require_user_info {
                let mobile = crate::customer::msisdn(customer.phone_number.as_deref().unwrap_or_default());
                let sub = crate::store::customer_sub(&s.msn, &mobile);
                {
                    // What the Checkout page shares, readable from the Userinfo API once the
                    // customer approves.
                    let scope = if with_address {
                        "name email phoneNumber address"
                    } else {
                        "name email phoneNumber"
                    };
                    let person = Person {
                        first_name: customer.first_name.clone().unwrap_or_default(),
                        last_name: customer.last_name.clone().unwrap_or_default(),
                        email: customer.email.clone().unwrap_or_default(),
                        phone: mobile,
                        street: addr.street_address.clone().unwrap_or_default(),
                        post_code: addr.postal_code.clone().unwrap_or_default(),
                        city: addr.city.clone().unwrap_or_default(),
                        country: addr.country.clone().unwrap_or_default(),
                        birthdate: NORWAY.birthdate.to_owned(),
                    };
                    s.shared = Some((person, scope));
                }
                s.user_info = Some(UserInfo {
                    sub,
                    email: customer.email.clone(),
                });
            }
            s.consent = consent;
            s.state = SessionState::PaymentInitiated;
        }
        if s.payment_created {
            let p = ledger
                .payment(&s.msn, &s.reference, now)
                .map_err(|_| CkError::not_found(&s.reference))?;
            if p.state == EpState::Created {
                let r = match outcome {
                    // "Direct capture is not supported in Checkout, and transactions will fail."
                    Outcome::Approve if direct_capture => p
                        .decline(
                            now,
                            "the sales unit uses direct capture, which Checkout does not support",
                        )
                        .map(|_| ()),
                    Outcome::Approve => p.customer_approve(now).map(|_| ()),
                    Outcome::Reject => p.customer_reject(now).map(|_| ()),
                    Outcome::Initiate => Ok(()),
                };
                r.map_err(CkError::from)?;
                if p.state == EpState::Authorized {
                    record_shared(s, ledger, now);
                }
            }
        } else {
            // Only the agreement: the customer's answer ends the session.
            let ended = match outcome {
                Outcome::Approve => Some(SessionState::PaymentSuccessful),
                Outcome::Reject => Some(SessionState::PaymentTerminated),
                Outcome::Initiate => None,
            };
            if let Some(state) = ended {
                s.state = state;
                s.ended_at = Some(now);
                if s.state == SessionState::PaymentSuccessful {
                    record_shared(s, ledger, now);
                }
            }
        }
        settle_and_notify(state, s, ledger, now, out);
        out_resp = Some(session_response(s, ledger, now));
        Ok(())
    })?;
    out_resp.ok_or_else(|| CkError::not_found(reference))
}

/// Records what the customer shared (with `requireUserInfo`) for the Userinfo API: called when
/// they approve.
fn record_shared(s: &Session, ledger: &mut Ledger, now: OffsetDateTime) {
    if let (Some((person, scope)), Some(info)) = (&s.shared, &s.user_info) {
        ledger.record_consent(&info.sub, &s.msn, person.clone(), scope, now);
    }
}

// ------------------------------------------------------------------------------------------
// Control plane
// ------------------------------------------------------------------------------------------

async fn control_input(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(String, CustomerInput), CkError> {
    let body = read_body(body, headers, state.config().max_body_bytes).await?;
    let input: CustomerInput = if body.iter().all(|b| b.is_ascii_whitespace()) {
        CustomerInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| CkError::validation("body", format!("not valid JSON: {e}")))?
    };
    let msn = match &input.msn {
        Some(m) => state
            .merchant_by_msn(m)
            .ok_or_else(|| CkError::validation("msn", format!("no merchant with MSN {m} is configured")))?
            .msn
            .clone(),
        None => state.default_merchant().msn.clone(),
    };
    Ok((msn, input))
}

async fn control(state: AppState, reference: String, uri: Uri, headers: HeaderMap, body: Body, o: Outcome) -> Response {
    let r = async {
        let (msn, input) = control_input(&state, &headers, body).await?;
        let s = customer_act(&state, &msn, &reference, input, o).await?;
        Ok(Stored::json(StatusCode::OK, &s))
    }
    .await;
    respond(uri.path(), r)
}

async fn control_complete(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, reference, uri, headers, body, Outcome::Approve).await
}

async fn control_initiate(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, reference, uri, headers, body, Outcome::Initiate).await
}

async fn control_abort(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, reference, uri, headers, body, Outcome::Reject).await
}

#[derive(Debug, Default, Deserialize)]
struct MsnQuery {
    msn: Option<String>,
}

async fn control_view(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    axum::extract::Query(q): axum::extract::Query<MsnQuery>,
    uri: Uri,
) -> Response {
    let msn = q.msn.unwrap_or_else(|| state.default_merchant().msn.clone());
    let public = state.public_url();
    let r = with_session(&state, &msn, &reference, |s, ledger, now, _| {
        let fmt = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        Ok(Stored::json(
            StatusCode::OK,
            &serde_json::json!({
                "session": session_response(s, ledger, now),
                "token": s.token,
                "checkoutUrl": format!("{public}/checkout/v3/frontend?token={}", s.token),
                "createdAt": fmt(s.created_at),
                "expiresAt": fmt(s.expires_at),
                "endedAt": s.ended_at.map(fmt),
                "callbackSent": s.callback_sent,
                "offeredOptions": s.offered.as_ref().map(|(_, o, _)| o.clone()),
                "dynamicShippingUsed": s.offered.as_ref().map(|(_, _, d)| *d),
                "shippingLookups": s.shipping_lookups,
            }),
        ))
    });
    respond(uri.path(), r)
}

/// The routes of this API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkout/v3/session", post(create))
        .route(
            "/checkout/v3/session/{reference}",
            get(get_session).patch(update_session),
        )
        .route("/checkout/v3/session/{reference}/expire", post(expire_session))
        .route("/_emulator/checkout/{reference}", get(control_view))
        .route("/_emulator/checkout/{reference}/complete", post(control_complete))
        .route("/_emulator/checkout/{reference}/initiate", post(control_initiate))
        .route("/_emulator/checkout/{reference}/abort", post(control_abort))
        .merge(frontend::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_pascal_cased() {
        assert_eq!(pascal_field("transaction.reference"), "Transaction.Reference");
        assert_eq!(
            pascal_field("logistics.fixedOptions[0].id"),
            "Logistics.FixedOptions[0].Id"
        );
        let e = CkError::validation("transaction.amount.value", "too small").render("/x");
        let p: Problem = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(p.error_code.as_deref(), Some("Validation-00001"));
        assert_eq!(
            p.errors.unwrap()["Transaction.Amount.Value"],
            vec!["too small".to_owned()]
        );
    }
}
