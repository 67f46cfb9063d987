//! All emulator state behind one [`Store`]: payments with their event logs, landing-page tokens
//! and idempotency records. The domain rules (state machine, amounts) live on [`Payment`].

use crate::core::error::{ApiError, Stored};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parking_lot::Mutex;
use rand::RngCore;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::epayment::{
    Aggregate, CreatePaymentRequest, CreatePaymentResponse, GetPaymentResponse, ModificationResponse, PaymentEvent,
    PaymentEventName, PaymentMethodResponse, PaymentMethodType, PaymentState, ProfileResponse, QrFormat, QrFormatKind,
    Shipping, ShippingDetails, UserDetails, UserFlow,
};
use vipps_types::{Amount, Currency, Reference};

/// Amounts (minor units) that make the simulated customer approval fail (BEHAVIOUR §1.8).
/// Force approve ignores them.
pub const MAGIC_DECLINES: &[(i64, &str)] = &[
    (151, "insufficient funds (magic test amount)"),
    (182, "refused by issuer (magic test amount)"),
    (183, "suspected fraud (magic test amount)"),
    (184, "withdrawal limit exceeded (magic test amount)"),
    (186, "expired card (magic test amount)"),
    (187, "invalid card (magic test amount)"),
    (197, "3-D Secure denied (magic test amount)"),
    (202, "strong customer authentication required (magic test amount)"),
];

/// The amount whose approval has an unknown result for an hour: the payment stays CREATED
/// until then, and expires at the end of it.
pub const MAGIC_UNKNOWN_RESULT: i64 = 201;

/// Refund amounts that fail at the bank: the refund is refused and logged as a REFUNDED event
/// with `success: false`.
pub const MAGIC_REFUND_FAILURES: &[(i64, u32, &str)] = &[
    (
        123,
        5100,
        "the customer is deleted or has no account to receive the money",
    ),
    (124, 6220, "the refund period has expired"),
];

/// Where an idempotency key applies: (MSN, HTTP method, path) plus the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdempotencyScope<'a> {
    /// Merchant serial number.
    pub msn: &'a str,
    /// HTTP method.
    pub method: &'static str,
    /// Request path.
    pub path: &'a str,
    /// The `Idempotency-Key`.
    pub key: &'a str,
}

impl IdempotencyScope<'_> {
    /// How the scope is stored: the SHA-256 of its length-prefixed fields. 32 bytes in the
    /// map instead of three strings (about 200 bytes with their allocations) per remembered key.
    pub fn digest(&self) -> ScopeDigest {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [self.msn, self.method, self.path, self.key] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        ScopeDigest(h.finalize().into())
    }
}

/// A stored [`IdempotencyScope`] (see [`IdempotencyScope::digest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeDigest([u8; 32]);

/// What identifies a request body for idempotency: the SHA-256 of the parsed request
/// serialized again as JSON (so formatting and field order do not matter, and maps are
/// sorted). 32 bytes per remembered key, instead of a copy of the whole body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a parsed request.
    pub fn of<T: serde::Serialize>(request: &T) -> Fingerprint {
        use sha2::Digest;
        let json = serde_json::to_vec(request).unwrap_or_default();
        Fingerprint(sha2::Sha256::digest(&json).into())
    }
}

/// What was answered the first time a key was used.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    /// The request body's fingerprint.
    pub fingerprint: Fingerprint,
    /// The stored answer (status and body), replayed for identical retries.
    pub response: Stored,
}

/// How a simulated customer action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerOutcome {
    /// The payment is AUTHORIZED.
    Approved,
    /// The approval failed (magic test amount): the payment is ABORTED.
    Declined(&'static str),
    /// The customer rejected: the payment is ABORTED.
    Rejected,
    /// The result is unknown for an hour (magic test amount 201): the payment stays CREATED
    /// and then expires.
    Unknown,
}

/// One payment and its history.
#[derive(Debug, Clone)]
pub struct Payment {
    /// Merchant serial number.
    pub msn: String,
    /// The merchant's reference.
    pub reference: Reference,
    /// The payment amount.
    pub amount: Amount,
    /// The state.
    pub state: PaymentState,
    /// The payment method.
    pub payment_method: PaymentMethodType,
    /// The user flow.
    pub user_flow: UserFlow,
    /// The CREATED event's PSP reference.
    pub psp_reference: String,
    /// The landing-page/QR token's bytes (see [`Payment::token_is`], [`Payment::redirect_url`]).
    token: TokenBytes,
    /// The emulator's public URL when the payment was created, shared by every payment made
    /// under it (see [`Payment::redirect_url`]). Stored like this, a payment keeps 16 bytes
    /// instead of its whole `redirectUrl`.
    link_base: Arc<str>,
    /// Where the customer returns.
    pub return_url: Option<String>,
    /// Shown to the customer.
    pub description: Option<String>,
    /// Echoed metadata.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Requested profile scope.
    pub scope: Option<String>,
    /// The customer's phone number, if given at creation.
    pub customer_phone: Option<String>,
    /// The create request's idempotency key.
    pub create_key: Option<String>,
    /// When the payment expires if nobody acts.
    pub expires_at: OffsetDateTime,
    /// Reserved amount (A).
    pub authorized: i64,
    /// Released amount (X).
    pub cancelled: i64,
    /// Captured amount (C).
    pub captured: i64,
    /// Refunded amount (R).
    pub refunded: i64,
    /// `profile.sub`, once authorized with a scope.
    pub sub: Option<String>,
    /// When the customer approved (the capture, cancel and refund deadlines count from here).
    pub authorized_at: Option<OffsetDateTime>,
    /// The event log, oldest first, as the store keeps it ([`Payment::event`] gives the wire
    /// form).
    pub events: Vec<StoredEvent>,
    /// What only Express and card payments have (boxed: most payments have none of it).
    pub extras: Option<Box<PaymentExtras>>,
}

/// The parts of a payment only Express and card payments have.
#[derive(Debug, Clone, Default)]
pub struct PaymentExtras {
    /// Express: the shipping of the create request.
    pub shipping: Option<Shipping>,
    /// Express: what the customer chose, once approved.
    pub shipping_details: Option<ShippingDetails>,
    /// Card payments: the first six digits of the card, once approved.
    pub card_bin: Option<String>,
    /// `QR` payments asking for a PNG or a target URL instead of the default SVG.
    pub qr_format: Option<QrFormat>,
    /// `minimumUserAge`: a younger customer cannot approve.
    pub minimum_user_age: Option<i64>,
    /// Magic amount 201: an approval's result is unknown (until the payment expires).
    pub result_pending: bool,
}

/// The largest amount of a payment, in minor units (the API's limit).
pub const MAX_AMOUNT: i64 = 65_000_000;

/// A test card number the emulator uses when none is given (Visa test range).
pub const TEST_CARD_NUMBER: &str = "4925000000000004";

fn psp() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One entry of a payment's event log as the store keeps it: what the wire's `PaymentEvent`
/// has beyond the payment's own reference, currency and create key, in about 100 bytes and no
/// allocation (the wire form takes about 290 with its strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its own pspReference; `None` for the payment's (the CREATED event's).
    psp: Option<uuid::Uuid>,
    /// What happened.
    pub name: PaymentEventName,
    /// The amount affected, in the payment's currency.
    pub value: i64,
    /// When.
    pub timestamp: OffsetDateTime,
    /// The idempotency key of the request that caused it.
    key: EventKey,
    /// Whether the operation succeeded.
    pub success: bool,
}

/// The idempotency key of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EventKey {
    None,
    /// The create request's (CREATED, and AUTHORIZED, ABORTED or EXPIRED, which it causes).
    Create,
    Own(Box<str>),
}

impl From<Option<String>> for EventKey {
    fn from(k: Option<String>) -> Self {
        k.map_or(EventKey::None, |k| EventKey::Own(k.into_boxed_str()))
    }
}

impl Payment {
    fn currency(&self) -> Currency {
        self.amount.currency.clone()
    }

    fn push(&mut self, name: PaymentEventName, value: i64, key: impl Into<EventKey>, at: OffsetDateTime) {
        self.push_outcome(name, value, key, at, true);
    }

    /// Records an event; `success: false` for an operation that failed at the bank.
    fn push_outcome(
        &mut self,
        name: PaymentEventName,
        value: i64,
        key: impl Into<EventKey>,
        at: OffsetDateTime,
        success: bool,
    ) {
        let psp = (name != PaymentEventName::Created).then(uuid::Uuid::new_v4);
        self.events.push(StoredEvent {
            psp,
            name,
            value,
            timestamp: at,
            key: key.into(),
            success,
        });
    }

    /// An event of this payment's log in its wire form.
    pub fn event(&self, e: &StoredEvent) -> PaymentEvent {
        PaymentEvent {
            reference: self.reference.clone(),
            psp_reference: e.psp.map_or_else(|| self.psp_reference.clone(), |u| u.to_string()),
            name: e.name.clone(),
            amount: Amount::new(e.value, self.currency()),
            timestamp: e.timestamp,
            idempotency_key: match &e.key {
                EventKey::None => None,
                EventKey::Create => self.create_key.clone(),
                EventKey::Own(k) => Some(k.to_string()),
            },
            success: e.success,
        }
    }

    /// The event log in its wire form, oldest first.
    pub fn event_log(&self) -> Vec<PaymentEvent> {
        self.events.iter().map(|e| self.event(e)).collect()
    }

    /// Applies expiry: a CREATED payment past its deadline becomes EXPIRED, with an EXPIRED event
    /// at the deadline.
    pub fn settle(&mut self, now: OffsetDateTime) {
        if self.state == PaymentState::Created && now >= self.expires_at {
            self.state = PaymentState::Expired;
            // The last event this payment gets: room for it alone, not the usual doubling.
            self.events.reserve_exact(1);
            let at = self.expires_at;
            self.push(PaymentEventName::Expired, self.amount.value, EventKey::Create, at);
        }
    }

    /// The running totals.
    pub fn aggregate(&self) -> Aggregate {
        let c = self.currency();
        Aggregate {
            authorized_amount: Amount::new(self.authorized, c.clone()),
            cancelled_amount: Amount::new(self.cancelled, c.clone()),
            captured_amount: Amount::new(self.captured, c.clone()),
            refunded_amount: Amount::new(self.refunded, c),
        }
    }

    /// The get-payment body.
    pub fn get_response(&self) -> GetPaymentResponse {
        GetPaymentResponse {
            aggregate: self.aggregate(),
            amount: self.amount.clone(),
            state: self.state.clone(),
            payment_method: PaymentMethodResponse {
                type_: self.payment_method.clone(),
                card_bin: self.extras.as_ref().and_then(|x| x.card_bin.clone()),
            },
            profile: ProfileResponse { sub: self.sub.clone() },
            psp_reference: self.psp_reference.clone(),
            redirect_url: self.redirect_url(),
            reference: self.reference.clone(),
            metadata: self.metadata.clone(),
            capture_guaranteed_until: self.capture_deadline(),
            user_details: self.user_details(),
            shipping_details: self.extras.as_ref().and_then(|x| x.shipping_details.clone()),
        }
    }

    /// The capture/refund/cancel body.
    pub fn modification_response(&self) -> ModificationResponse {
        ModificationResponse {
            amount: self.amount.clone(),
            state: self.state.clone(),
            aggregate: self.aggregate(),
            psp_reference: self.psp_reference.clone(),
            reference: self.reference.clone(),
        }
    }

    /// Until when a capture (or a cancel) is possible: 180 days after the reservation in
    /// Norway (NOK), 14 days in Denmark and Finland (DKK, EUR) without "late capture".
    pub fn capture_deadline(&self) -> Option<OffsetDateTime> {
        let days = if self.amount.currency == Currency::Nok { 180 } else { 14 };
        self.authorized_at.map(|t| t + time::Duration::days(days))
    }

    /// Until when a refund is possible: 365 days after the reservation.
    pub fn refund_deadline(&self) -> Option<OffsetDateTime> {
        self.authorized_at.map(|t| t + time::Duration::days(365))
    }

    fn check_currency(&self, m: &Amount) -> Result<(), ApiError> {
        if m.currency != self.amount.currency {
            return Err(ApiError::validation(
                "modificationAmount.currency",
                &format!(
                    "must be the payment's currency {} (was {})",
                    self.amount.currency, m.currency
                ),
                Some(4040),
            ));
        }
        if m.value <= 0 {
            return Err(ApiError::validation(
                "modificationAmount.value",
                "must be greater than 0",
                Some(4040),
            ));
        }
        Ok(())
    }

    /// Captures `m` (BEHAVIOUR §3.4).
    pub fn capture(&mut self, m: &Amount, key: Option<String>, now: OffsetDateTime) -> Result<(), ApiError> {
        match self.state {
            PaymentState::Authorized => {}
            PaymentState::Created => {
                return Err(ApiError::code(
                    6080,
                    "The amount you tried to capture is not reserved. The customer must approve the payment first.",
                ))
            }
            _ => {
                return Err(ApiError::code(
                    6200,
                    format!("Payment cannot be captured: invalid state {}", self.state),
                ))
            }
        }
        self.check_currency(m)?;
        if self.capture_deadline().is_some_and(|d| now > d) {
            return Err(ApiError::code(
                6100,
                "Capture period expired: the reservation is no longer valid",
            ));
        }
        if self.cancelled > 0 {
            return Err(ApiError::code(
                6070,
                "The payment has been cancelled; nothing can be captured",
            ));
        }
        let remaining = self.authorized - self.cancelled - self.captured;
        if remaining <= 0 {
            return Err(ApiError::code(6170, "The whole authorized amount is already captured"));
        }
        if m.value > remaining {
            return Err(ApiError::code(
                6090,
                format!("Capture amount too high: at most {remaining} can still be captured"),
            ));
        }
        self.captured += m.value;
        self.push(PaymentEventName::Captured, m.value, key, now);
        Ok(())
    }

    /// Refunds `m` (BEHAVIOUR §3.4).
    pub fn refund(&mut self, m: &Amount, key: Option<String>, now: OffsetDateTime) -> Result<(), ApiError> {
        match self.state {
            PaymentState::Authorized => {}
            PaymentState::Created => {
                return Err(ApiError::code(
                    6020,
                    "The payment is not reserved yet, so nothing can be refunded",
                ))
            }
            _ => {
                return Err(ApiError::code(
                    6210,
                    format!("Payment cannot be refunded: invalid state {}", self.state),
                ))
            }
        }
        self.check_currency(m)?;
        if self.refund_deadline().is_some_and(|d| now > d) {
            return Err(ApiError::code(
                6220,
                "Refund period expired: refunds are possible for 365 days",
            ));
        }
        if self.captured > 0 && self.refunded >= self.captured {
            return Err(ApiError::code(6180, "Everything captured is already refunded"));
        }
        let refundable = self.captured - self.refunded;
        if m.value > refundable {
            return Err(ApiError::code(
                6150,
                format!("Not enough refundable: at most {refundable} can be refunded (captured minus refunded)"),
            ));
        }
        if let Some((_, code, why)) = MAGIC_REFUND_FAILURES.iter().find(|(v, ..)| *v == m.value) {
            self.push_outcome(PaymentEventName::Refunded, m.value, key, now, false);
            return Err(ApiError::code(
                *code,
                format!("The refund failed: {why} (test amount {})", m.value),
            ));
        }
        self.refunded += m.value;
        self.push(PaymentEventName::Refunded, m.value, key, now);
        Ok(())
    }

    /// Cancels (BEHAVIOUR §3.4): CREATED → TERMINATED; AUTHORIZED releases the remainder.
    pub fn cancel(&mut self, transaction_only: bool, key: Option<String>, now: OffsetDateTime) -> Result<(), ApiError> {
        match self.state {
            PaymentState::Created => {
                self.state = PaymentState::Terminated;
                self.cancelled = self.amount.value;
                self.push(PaymentEventName::Terminated, self.amount.value, key, now);
                Ok(())
            }
            PaymentState::Authorized => {
                if transaction_only {
                    return Err(ApiError::code(
                        6060,
                        "cancelTransactionOnly is set and the customer has already authorized the payment",
                    ));
                }
                if self.capture_deadline().is_some_and(|d| now > d) {
                    return Err(ApiError::code(
                        6030,
                        "Cancel period expired: the reservation is no longer valid",
                    ));
                }
                if self.captured >= self.authorized {
                    return Err(ApiError::code(
                        6040,
                        "The payment is fully captured and cannot be cancelled; refund instead",
                    ));
                }
                let remainder = self.authorized - self.cancelled - self.captured;
                if remainder > 0 {
                    self.cancelled += remainder;
                    self.push(PaymentEventName::Cancelled, remainder, key, now);
                }
                Ok(())
            }
            _ => Err(ApiError::code(
                6190,
                format!("Payment cannot be cancelled: invalid state {}", self.state),
            )),
        }
    }

    fn authorize(&mut self, now: OffsetDateTime) {
        self.state = PaymentState::Authorized;
        self.authorized_at = Some(now);
        self.authorized = self.amount.value;
        if self.scope.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            let phone = self.customer_phone.as_deref();
            let mobile = phone.unwrap_or(crate::core::customer::test_customer(&self.amount.currency).mobile);
            self.sub = Some(customer_sub(&self.msn, mobile));
        }
        self.push(PaymentEventName::Authorized, self.amount.value, EventKey::Create, now);
    }

    fn abort(&mut self, now: OffsetDateTime) {
        self.state = PaymentState::Aborted;
        self.push(PaymentEventName::Aborted, self.amount.value, EventKey::Create, now);
    }

    fn require_created(&self) -> Result<(), ApiError> {
        match self.state {
            PaymentState::Created => Ok(()),
            PaymentState::Authorized => Err(ApiError::code(6230, "The payment is already authorized")),
            _ => Err(ApiError::code(
                10020,
                format!("The payment cannot be approved: it is {}", self.state),
            )),
        }
    }

    /// Whether `token` is this payment's landing-page token (compared in constant time).
    pub fn token_is(&self, token: &str) -> bool {
        token_bytes(token).is_some_and(|b| subtle::ConstantTimeEq::ct_eq(&b[..], &self.token[..]).into())
    }

    /// `redirectUrl` as create returned it: the landing page for the redirect flows, the QR
    /// stand-in for `QR`, none for `PUSH_MESSAGE`.
    pub fn redirect_url(&self) -> Option<String> {
        match self.user_flow {
            UserFlow::WebRedirect | UserFlow::NativeRedirect => Some(self.page_url("landing")),
            // `TEXT/TARGETURL`: the link itself, for the merchant to draw its own QR code.
            UserFlow::Qr
                if self
                    .qr_format()
                    .is_some_and(|q| q.format == QrFormatKind::TextTargetUrl) =>
            {
                Some(self.page_url("landing"))
            }
            UserFlow::Qr => Some(self.page_url("qr")),
            _ => None,
        }
    }

    /// The `qrFormat` of a `QR` payment, unless it is the default SVG.
    pub fn qr_format(&self) -> Option<&QrFormat> {
        self.extras.as_ref().and_then(|x| x.qr_format.as_ref())
    }

    /// The landing page of this payment (where a QR code leads too).
    pub fn landing_url(&self) -> String {
        self.page_url("landing")
    }

    fn page_url(&self, page: &str) -> String {
        let mut url = String::with_capacity(self.link_base.len() + page.len() + 40);
        url.push_str(&self.link_base);
        url.push('/');
        url.push_str(page);
        // Shaped like the real `…?v=2&token=…` links: the official Postman collections take
        // the token as the third piece of `url.split('=', 3)`.
        url.push_str("?v=2&token=");
        URL_SAFE_NO_PAD.encode_string(self.token, &mut url);
        url
    }

    /// The customer data shared with the merchant: once authorized, what the scope asked for.
    pub fn user_details(&self) -> Option<UserDetails> {
        self.sub.as_ref()?;
        crate::core::customer::user_details(
            self.scope.as_deref().unwrap_or(""),
            self.customer_phone.as_deref(),
            &self.amount.currency,
        )
    }

    /// Whether this is an Express payment (the customer chooses shipping when approving).
    pub fn is_express(&self) -> bool {
        self.extras.as_ref().is_some_and(|x| x.shipping.is_some())
    }

    /// The Express shipping of the create request.
    pub fn shipping(&self) -> Option<&Shipping> {
        self.extras.as_ref().and_then(|x| x.shipping.as_ref())
    }

    /// 7010 when the payment has a `minimumUserAge` and its customer (the test customer of its
    /// market, with its phone number) is younger.
    pub fn check_age(&self, now: OffsetDateTime) -> Result<(), ApiError> {
        let Some(min) = self.extras.as_ref().and_then(|x| x.minimum_user_age) else {
            return Ok(());
        };
        let person = crate::core::customer::Person::test(&self.amount.currency, self.customer_phone.as_deref());
        if person.age_on(now.date()) < min {
            return Err(ApiError::code(7010, "Customer not found").field("customer", "no eligible user"));
        }
        Ok(())
    }

    /// The test-only force approve: ignores magic amounts. Express payments cannot use it.
    pub fn force_approve(&mut self, now: OffsetDateTime) -> Result<(), ApiError> {
        self.require_created()?;
        if self.is_express() {
            return Err(ApiError::code(
                10060,
                "Express payments cannot be approved with the test force-approve endpoint: approve on the landing page or with POST /_emulator/payments/{reference}/approve",
            ));
        }
        self.record_card(None);
        self.authorize(now);
        Ok(())
    }

    /// The customer approves in the app or on the landing page; magic amounts make it fail.
    /// An Express payment needs the customer's shipping choice (its cost is added to the
    /// amount); a card payment takes the card number the customer typed (a test card if none).
    pub fn customer_approve(&mut self, now: OffsetDateTime) -> Result<CustomerOutcome, ApiError> {
        self.customer_approve_with(now, None, None)
    }

    /// [`Payment::customer_approve`] with the customer's shipping choice and card number.
    pub fn customer_approve_with(
        &mut self,
        now: OffsetDateTime,
        shipping: Option<ShippingDetails>,
        card_number: Option<&str>,
    ) -> Result<CustomerOutcome, ApiError> {
        self.require_created()?;
        if self.is_express() && shipping.is_none() {
            return Err(ApiError::code(
                10010,
                "An Express payment needs the customer's shipping choice",
            ));
        }
        if let Some((_, why)) = MAGIC_DECLINES.iter().find(|(v, _)| *v == self.amount.value) {
            self.abort(now);
            return Ok(CustomerOutcome::Declined(why));
        }
        if self.check_age(now).is_err() {
            self.abort(now);
            return Ok(CustomerOutcome::Declined("the customer is younger than minimumUserAge"));
        }
        if self.amount.value == MAGIC_UNKNOWN_RESULT {
            let x = self.extras.get_or_insert_with(Box::default);
            if x.result_pending {
                return Err(ApiError::code(
                    10020,
                    "The result of the earlier approval is still unknown (magic test amount 201)",
                ));
            }
            // The customer approved, but nobody learns the outcome: it stays CREATED for an
            // hour and then expires.
            x.result_pending = true;
            self.expires_at = now + time::Duration::hours(1);
            return Ok(CustomerOutcome::Unknown);
        }
        if let Some(d) = shipping.filter(|_| self.is_express()) {
            let total = self
                .amount
                .value
                .checked_add(d.shipping_cost.unwrap_or(0))
                .filter(|t| (0..=MAX_AMOUNT).contains(t))
                .ok_or_else(|| {
                    ApiError::code(
                        10010,
                        format!("The amount with shipping would be over the limit of {MAX_AMOUNT} minor units"),
                    )
                })?;
            self.amount.value = total;
            if let Some(x) = self.extras.as_mut() {
                x.shipping_details = Some(d);
            }
        }
        self.record_card(card_number);
        self.authorize(now);
        Ok(CustomerOutcome::Approved)
    }

    /// Card payments: keeps the card's BIN (digits 1–6).
    fn record_card(&mut self, number: Option<&str>) {
        if self.payment_method != PaymentMethodType::Card {
            return;
        }
        let digits: String = number
            .unwrap_or(TEST_CARD_NUMBER)
            .chars()
            .filter(|c| c.is_ascii_digit())
            .take(6)
            .collect();
        self.extras.get_or_insert_with(Box::default).card_bin = Some(digits);
    }

    /// The approval fails for a reason outside the customer's hands (a sales unit set up for
    /// direct capture paying through Checkout): ABORTED, like a declined card.
    pub fn decline(&mut self, now: OffsetDateTime, why: &'static str) -> Result<CustomerOutcome, ApiError> {
        self.require_created()?;
        self.abort(now);
        Ok(CustomerOutcome::Declined(why))
    }

    /// The customer rejects in the app or on the landing page.
    pub fn customer_reject(&mut self, now: OffsetDateTime) -> Result<CustomerOutcome, ApiError> {
        self.require_created()?;
        self.abort(now);
        Ok(CustomerOutcome::Rejected)
    }
}

/// A payment event handed to the event sink (webhooks) after the transaction that recorded it.
#[derive(Debug, Clone)]
pub struct PublishedEvent {
    /// The merchant.
    pub msn: String,
    /// The event, as in the payment's event log.
    pub event: PaymentEvent,
    /// For `AUTHORIZED`: what the 2026 webhook payload adds (shared data, `sub`, capture
    /// guarantee).
    pub authorized: Option<Box<AuthorizedDetails>>,
}

/// What an `AUTHORIZED` webhook carries besides the event.
#[derive(Debug, Clone, Default)]
pub struct AuthorizedDetails {
    /// The customer data the scope asked for.
    pub user_details: Option<UserDetails>,
    /// The user id, when a scope was asked for.
    pub sub: Option<String>,
    /// Until when a capture is guaranteed.
    pub capture_guaranteed_until: Option<OffsetDateTime>,
}

/// Receives, after every store transaction and still under the store lock, the payment events
/// that transaction recorded, oldest first. Must be quick and must not block (queue, don't
/// send), and must not use the store.
pub type EventSink = Arc<dyn Fn(&[PublishedEvent]) + Send + Sync>;

/// The named event sinks of a store.
#[derive(Default)]
struct Sinks(parking_lot::RwLock<Vec<(&'static str, EventSink)>>);

impl std::fmt::Debug for Sinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.read().iter().map(|(n, _)| *n).collect();
        f.debug_tuple("Sinks").field(&names).finish()
    }
}

/// How long after consenting the customer's profile can be fetched from the Userinfo API.
pub const CONSENT_WINDOW: time::Duration = time::Duration::hours(168);

/// The customer's `sub` for one sales unit: the same for every payment of that customer
/// (known by phone number; eCom's 8 digits count as `47…`) in every API at that sales unit,
/// different at another.
pub fn customer_sub(msn: &str, phone: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1d_0c7e_8a1b_4e0f_9c3d_7b2a_6e4f_1a90);
    let phone = crate::core::customer::msisdn(phone);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{msn}:{phone}").as_bytes()).to_string()
}

/// What a customer agreed to share with one sales unit (the Userinfo API's data).
#[derive(Debug, Clone)]
pub struct Consent {
    /// The sales unit that may read it.
    pub msn: String,
    /// The profile as the customer last shared it.
    pub person: crate::core::customer::Person,
    /// Per scope word, when it was last consented to.
    pub given: Vec<(String, OffsetDateTime)>,
}

impl Consent {
    /// Whether every word of `scope` was consented to at `at` or later.
    fn covers(&self, scope: &str, at: OffsetDateTime) -> bool {
        scope
            .split(' ')
            .filter(|w| !w.is_empty())
            .all(|w| self.given.iter().any(|(g, t)| g == w && *t >= at))
    }

    /// The scope words consented to within [`CONSENT_WINDOW`] before `now`.
    pub fn live_scopes(&self, now: OffsetDateTime) -> Vec<&str> {
        self.given
            .iter()
            .filter(|(_, at)| *at + CONSENT_WINDOW > now)
            .map(|(w, _)| w.as_str())
            .collect()
    }
}

/// The data: payments per (MSN, reference), tokens, idempotency records, profile consents.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Boxed, so that growing the map moves pointers, not whole payments, while it holds the lock.
    payments: Sharded<(String, String), Box<Payment>>,
    tokens: Sharded<TokenBytes, (String, String)>,
    idempotency: Sharded<ScopeDigest, IdempotencyRecord>,
    /// Payments handed out during the current transaction (their new events get published).
    touched: Vec<(String, String)>,
    /// Every payment created, by the deadline it had then, earliest first: what
    /// [`Ledger::expire_due`] looks at instead of scanning all payments. By landing token, which
    /// is 24 bytes in place where the (MSN, reference) key would be two more allocations.
    deadlines: BinaryHeap<Reverse<(OffsetDateTime, TokenBytes)>>,
    /// Per payment, how many of its events have been published.
    published: Sharded<(String, String), usize>,
    /// The public URL the last payment was created under, shared by the payments made under it.
    link_base: Option<Arc<str>>,
    /// Profile consents per `sub` (ePayment, eCom and Checkout record theirs here).
    consents: HashMap<String, Consent>,
    /// How many stored payments asked for a profile scope: while none has, no transaction
    /// looks for consents to record.
    scoped: usize,
}

/// Everything create needs besides the request.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    /// Merchant serial number.
    pub msn: &'a str,
    /// The validated request.
    pub request: &'a CreatePaymentRequest,
    /// The request's idempotency key.
    pub idempotency_key: Option<String>,
    /// Creation time.
    pub now: OffsetDateTime,
    /// When it expires if nobody acts.
    pub expires_at: OffsetDateTime,
    /// Base URL for `redirectUrl`, without trailing slash.
    pub public_url: &'a str,
}

/// How many parts a [`Sharded`] map has.
const SHARDS: usize = 64;

/// A hash map in [`SHARDS`] parts, chosen by the key's hash. Growing a map rehashes all of it
/// under the store's lock; in parts, each growth moves a 64th of the entries, so a long run of
/// creates sees short pauses (about a millisecond at a million payments) instead of one long
/// one per doubling.
///
/// The hasher is foldhash's randomly seeded fast hash, not std's SipHash: every request
/// hashes its key twice (the part, then the entry), and SipHash was 4 % of the CPU time of a
/// GET. Its seeds are random per process and map; it claims only a minimal resistance to keys
/// crafted to collide, which is enough for a test server.
#[derive(Debug)]
struct Sharded<K, V> {
    parts: Box<[HashMap<K, V, Hasher>]>,
    pick: Hasher,
}

/// The hasher of the store's maps (see [`Sharded`]).
type Hasher = foldhash::fast::RandomState;

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            parts: (0..SHARDS).map(|_| HashMap::with_hasher(Hasher::default())).collect(),
            pick: Hasher::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Sharded<K, V> {
    fn part(&self, k: &K) -> usize {
        use std::hash::BuildHasher;
        (self.pick.hash_one(k) as usize) % SHARDS
    }

    fn get(&self, k: &K) -> Option<&V> {
        self.parts[self.part(k)].get(k)
    }

    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.part(k);
        self.parts[i].get_mut(k)
    }

    fn contains_key(&self, k: &K) -> bool {
        self.parts[self.part(k)].contains_key(k)
    }

    fn insert(&mut self, k: K, v: V) -> Option<V> {
        let i = self.part(&k);
        self.parts[i].insert(k, v)
    }

    fn entry(&mut self, k: K) -> std::collections::hash_map::Entry<'_, K, V> {
        let i = self.part(&k);
        self.parts[i].entry(k)
    }

    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    fn clear(&mut self) {
        for p in self.parts.iter_mut() {
            // Give the memory back: a reset emulator should not keep a million payments' worth.
            *p = HashMap::with_hasher(Hasher::default());
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.parts.iter().flat_map(|p| p.iter())
    }
}

/// A landing-page token: 24 random bytes, as URL-safe base64 (32 characters).
type TokenBytes = [u8; 24];

fn random_token() -> TokenBytes {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// The bytes behind a token string, if it is one of ours.
fn token_bytes(token: &str) -> Option<TokenBytes> {
    let v = URL_SAFE_NO_PAD.decode(token).ok()?;
    v.try_into().ok()
}

impl Ledger {
    /// Creates a payment; 409/4150 when the reference is taken for this MSN.
    pub fn create_payment(&mut self, n: NewPayment<'_>) -> Result<CreatePaymentResponse, ApiError> {
        let req = n.request;
        let id = (n.msn.to_owned(), req.reference.as_str().to_owned());
        if self.payments.contains_key(&id) {
            return Err(ApiError::code(
                4150,
                format!("Reference '{}' already exists for this merchant", req.reference),
            ));
        }
        let mut token_raw = random_token();
        while self.tokens.contains_key(&token_raw) {
            token_raw = random_token();
        }
        let link_base = match &self.link_base {
            Some(b) if &**b == n.public_url => Arc::clone(b),
            _ => {
                let b: Arc<str> = Arc::from(n.public_url);
                self.link_base = Some(Arc::clone(&b));
                b
            }
        };
        let mut p = Payment {
            msn: n.msn.to_owned(),
            reference: req.reference.clone(),
            amount: req.amount.clone(),
            state: PaymentState::Created,
            payment_method: req.payment_method.type_.clone(),
            user_flow: req.user_flow.clone(),
            psp_reference: psp(),
            token: token_raw,
            link_base,
            return_url: req.return_url.clone(),
            description: req.payment_description.clone(),
            metadata: req.metadata.clone(),
            scope: req.profile.as_ref().and_then(|p| p.scope.clone()),
            customer_phone: req.customer.as_ref().and_then(|c| c.phone_number.clone()),
            create_key: n.idempotency_key,
            expires_at: n.expires_at,
            authorized: 0,
            cancelled: 0,
            captured: 0,
            refunded: 0,
            sub: None,
            authorized_at: None,
            // Room for exactly the CREATED event: a first push into an empty Vec reserves four
            // (about 600 bytes), and many payments in a test run never get past CREATED.
            events: Vec::with_capacity(1),
            extras: {
                let qr_format = req
                    .qr_format
                    .clone()
                    .filter(|q| req.user_flow == UserFlow::Qr && q.format != QrFormatKind::ImageSvg);
                (req.shipping.is_some() || qr_format.is_some() || req.minimum_user_age.is_some()).then(|| {
                    Box::new(PaymentExtras {
                        shipping: req.shipping.clone(),
                        qr_format,
                        minimum_user_age: req.minimum_user_age,
                        ..PaymentExtras::default()
                    })
                })
            },
        };
        p.push(PaymentEventName::Created, req.amount.value, EventKey::Create, n.now);
        // Keyed by the raw bytes: 24 bytes in the map instead of a 32-character string.
        let redirect_url = p.redirect_url();
        self.tokens.insert(token_raw, id.clone());
        self.touched.push(id.clone());
        self.deadlines.push(Reverse((p.expires_at, token_raw)));
        self.scoped += usize::from(p.scope.is_some());
        self.payments.insert(id, Box::new(p));
        Ok(CreatePaymentResponse {
            redirect_url,
            reference: req.reference.clone(),
        })
    }

    /// The payment, with expiry applied; 404/5090 when unknown.
    pub fn payment(&mut self, msn: &str, reference: &str, now: OffsetDateTime) -> Result<&mut Payment, ApiError> {
        let id = (msn.to_owned(), reference.to_owned());
        match self.payments.get_mut(&id) {
            Some(p) => {
                p.settle(now);
                self.touched.push(id);
                Ok(p)
            }
            None => Err(ApiError::reference_not_found(reference)),
        }
    }

    /// Expires CREATED payments whose deadline has passed at `now` (the EXPIRED event,
    /// published to the event sinks like any other), without waiting for a read to do it:
    /// at most `limit` deadlines per call, so one transaction never holds the store for long.
    /// Returns how many deadlines it looked at (`limit` means there may be more). A payment
    /// whose deadline moved later is looked at again then.
    pub fn expire_due(&mut self, now: OffsetDateTime, limit: usize) -> usize {
        let mut seen = 0;
        while seen < limit && self.deadlines.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            seen += 1;
            let Some(Reverse((_, token))) = self.deadlines.pop() else {
                break;
            };
            let Some(id) = self.tokens.get(&token) else { continue };
            let Some(p) = self.payments.get_mut(id) else { continue };
            if p.state != PaymentState::Created {
                continue;
            }
            p.settle(now);
            if p.state == PaymentState::Expired {
                self.touched.push(id.clone());
            } else {
                let at = p.expires_at;
                self.deadlines.push(Reverse((at, token)));
            }
        }
        seen
    }

    /// Whether `msn` has a payment `reference` (nothing else happens: no expiry, no events).
    pub fn has_payment(&self, msn: &str, reference: &str) -> bool {
        self.payments.contains_key(&(msn.to_owned(), reference.to_owned()))
    }

    /// Whether `token` is some payment's landing-page token.
    pub fn knows_token(&self, token: &str) -> bool {
        token_bytes(token).is_some_and(|b| self.tokens.contains_key(&b))
    }

    /// The payment a landing-page token belongs to, with expiry applied.
    pub fn payment_by_token(&mut self, token: &str, now: OffsetDateTime) -> Option<&mut Payment> {
        let id = self.tokens.get(&token_bytes(token)?)?.clone();
        let p = self.payments.get_mut(&id)?;
        p.settle(now);
        self.touched.push(id);
        Some(p)
    }

    /// The idempotency record for a scope (see [`IdempotencyScope::digest`]).
    pub fn idempotency_record(&self, scope: &ScopeDigest) -> Option<&IdempotencyRecord> {
        self.idempotency.get(scope)
    }

    /// Remembers the answer for a key.
    pub fn remember(&mut self, scope: ScopeDigest, record: IdempotencyRecord) {
        self.idempotency.insert(scope, record);
    }

    /// Number of payments.
    pub fn payment_count(&self) -> usize {
        self.payments.len()
    }

    /// Records that the customer `sub` consented at `at` to share `scope` (space-separated
    /// words) of `person` with sales unit `msn`. Repeating a consent only moves its time
    /// forward; the profile is the one shared last.
    pub fn record_consent(
        &mut self,
        sub: &str,
        msn: &str,
        person: crate::core::customer::Person,
        scope: &str,
        at: OffsetDateTime,
    ) {
        let c = self.consents.entry(sub.to_owned()).or_insert_with(|| Consent {
            msn: msn.to_owned(),
            person: person.clone(),
            given: Vec::new(),
        });
        if c.given.iter().all(|(_, t)| *t <= at) {
            c.person = person;
        }
        for word in scope.split(' ').filter(|w| !w.is_empty()) {
            match c.given.iter_mut().find(|(w, _)| w == word) {
                Some((_, t)) => *t = (*t).max(at),
                None => c.given.push((word.to_owned(), at)),
            }
        }
    }

    /// The consents of customer `sub`, if any were recorded.
    pub fn consent(&self, sub: &str) -> Option<&Consent> {
        self.consents.get(sub)
    }

    /// Records the consents of the payments handed out in this transaction that were
    /// authorized with a scope.
    fn note_consents(&mut self) {
        if self.scoped == 0 {
            return;
        }
        for i in 0..self.touched.len() {
            let Some(p) = self.payments.get(&self.touched[i]) else {
                continue;
            };
            let (Some(sub), Some(scope), Some(at)) = (&p.sub, &p.scope, p.authorized_at) else {
                continue;
            };
            if self.consents.get(sub).is_some_and(|c| c.covers(scope, at)) {
                continue;
            }
            let person = crate::core::customer::Person::test(&p.amount.currency, p.customer_phone.as_deref());
            let (sub, msn, scope) = (sub.clone(), p.msn.clone(), scope.clone());
            self.record_consent(&sub, &msn, person, &scope, at);
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.payments.clear();
        self.tokens.clear();
        self.idempotency.clear();
        self.touched.clear();
        self.deadlines.clear();
        self.published.clear();
        self.consents.clear();
        self.scoped = 0;
    }

    /// Counts every event recorded so far as published.
    fn mark_all_published(&mut self) {
        self.touched.clear();
        for (id, p) in self.payments.iter() {
            self.published.insert(id.clone(), p.events.len());
        }
    }

    /// The events recorded since the last call on the payments handed out meanwhile, in order
    /// per payment.
    pub fn take_new_events(&mut self) -> Vec<PublishedEvent> {
        let mut out = Vec::new();
        for id in std::mem::take(&mut self.touched) {
            let Some(p) = self.payments.get(&id) else { continue };
            let done = self.published.entry(id).or_insert(0);
            if p.events.len() > *done {
                out.extend(p.events[*done..].iter().map(|e| PublishedEvent {
                    msn: p.msn.clone(),
                    event: p.event(e),
                    authorized: (e.name == PaymentEventName::Authorized).then(|| {
                        Box::new(AuthorizedDetails {
                            user_details: p.user_details(),
                            sub: p.sub.clone(),
                            capture_guaranteed_until: p.capture_deadline(),
                        })
                    }),
                }));
                *done = p.events.len();
            }
        }
        out
    }
}

/// The emulator's state store. Every operation runs as one transaction under a single lock,
/// which makes idempotency checks and state changes atomic (two identical concurrent requests
/// have exactly one effect).
///
/// The payment events a transaction records are handed to the [`EventSink`]s at its end, in
/// order, which is how webhooks see every event whatever produced it (API call, landing page,
/// control plane, lazy expiry).
#[derive(Debug, Default)]
pub struct Store {
    data: Mutex<Ledger>,
    sinks: Sinks,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    /// Runs `f` with exclusive access to the data. `f` must not block or await. The payment
    /// events `f` recorded then go to the event sink, still under the lock (so in order).
    pub fn transaction<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        let mut guard = self.data.lock();
        let r = f(&mut guard);
        if !guard.touched.is_empty() {
            guard.note_consents();
            let sinks = self.sinks.0.read();
            if sinks.is_empty() {
                // Nobody listens (no sink yet): no bookkeeping; `add_event_sink` takes a baseline.
                guard.touched.clear();
            } else {
                let events = guard.take_new_events();
                if !events.is_empty() {
                    for (_, sink) in sinks.iter() {
                        sink(&events);
                    }
                }
            }
        }
        r
    }

    /// Adds a receiver of payment events under `name`; false (and nothing changes) when one
    /// with that name exists already. Events recorded before are not replayed.
    pub fn add_event_sink(&self, name: &'static str, sink: EventSink) -> bool {
        let mut data = self.data.lock();
        let mut sinks = self.sinks.0.write();
        if sinks.iter().any(|(n, _)| *n == name) {
            return false;
        }
        if sinks.is_empty() {
            // Events recorded while nobody listened are never published.
            data.mark_all_published();
        }
        sinks.push((name, sink));
        true
    }

    /// Whether an event sink named `name` is set.
    pub fn has_event_sink(&self, name: &str) -> bool {
        self.sinks.0.read().iter().any(|(n, _)| *n == name)
    }

    /// Forgets all payments, tokens and idempotency keys.
    pub fn reset(&self) {
        self.data.lock().clear();
    }

    /// Number of payments stored.
    pub fn payment_count(&self) -> usize {
        self.data.lock().payment_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(value: i64) -> Payment {
        let req = CreatePaymentRequest::new(
            Amount::nok(value),
            Reference::new("unit-test-ref-1").unwrap(),
            UserFlow::WebRedirect,
        );
        let mut l = Ledger::default();
        let now = OffsetDateTime::now_utc();
        l.create_payment(NewPayment {
            msn: "123456",
            request: &req,
            idempotency_key: Some("k".into()),
            now,
            expires_at: now + time::Duration::minutes(10),
            public_url: "http://x",
        })
        .unwrap();
        l.payment("123456", "unit-test-ref-1", now).unwrap().clone()
    }

    #[test]
    fn fingerprints_ignore_key_order_and_formatting_but_not_values() {
        let a: CreatePaymentRequest = serde_json::from_str(
            r#"{"amount":{"currency":"NOK","value":1000},"paymentMethod":{"type":"WALLET"},
                "reference":"fp-test-ref-1","userFlow":"WEB_REDIRECT","returnUrl":"https://example.com/r",
                "metadata":{"b":"2","a":"1"}}"#,
        )
        .unwrap();
        let b: CreatePaymentRequest = serde_json::from_str(
            r#"{"metadata":{"a":"1","b":"2"},"userFlow":"WEB_REDIRECT","reference":"fp-test-ref-1",
                "returnUrl":"https://example.com/r","paymentMethod":{"type":"WALLET"},
                "amount":{"value":1000,"currency":"NOK"}}"#,
        )
        .unwrap();
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
        let mut c = a.clone();
        c.amount.value = 1001;
        assert_ne!(Fingerprint::of(&a), Fingerprint::of(&c));
        // Free-form JSON inside a request is compared by content, whatever the key order.
        let x = serde_json::json!({"free": {"k1": 1, "k2": [1, 2]}});
        let y: serde_json::Value = serde_json::from_str(r#"{"free":{"k2":[1,2],"k1":1}}"#).unwrap();
        assert_eq!(Fingerprint::of(&x), Fingerprint::of(&y));
    }

    #[test]
    fn amounts_and_states() {
        let now = OffsetDateTime::now_utc();
        let mut p = payment(1000);
        assert_eq!(
            p.capture(&Amount::nok(1), None, now).unwrap_err().error_code(),
            Some(6080)
        );
        p.force_approve(now).unwrap();
        assert_eq!(p.force_approve(now).unwrap_err().error_code(), Some(6230));
        p.capture(&Amount::nok(250), None, now).unwrap();
        assert_eq!(
            p.refund(&Amount::nok(251), None, now).unwrap_err().error_code(),
            Some(6150)
        );
        assert_eq!(
            p.capture(&Amount::nok(751), None, now).unwrap_err().error_code(),
            Some(6090)
        );
        assert_eq!(
            p.capture(&Amount::nok(0), None, now).unwrap_err().error_code(),
            Some(4040)
        );
        assert_eq!(p.capture(&Amount::eur(5), None, now).unwrap_err().status.as_u16(), 400);
        p.cancel(false, None, now).unwrap();
        assert_eq!(p.cancelled, 750);
        assert_eq!(
            p.capture(&Amount::nok(1), None, now).unwrap_err().error_code(),
            Some(6070)
        );
        p.cancel(false, None, now).unwrap(); // no-op
        assert_eq!(p.events.len(), 4);
        p.refund(&Amount::nok(250), None, now).unwrap();
        assert_eq!(
            p.refund(&Amount::nok(1), None, now).unwrap_err().error_code(),
            Some(6180)
        );
    }

    #[test]
    fn transactions_publish_new_events_in_order() {
        let store = Store::new();
        let now = OffsetDateTime::now_utc();
        // a payment created before anybody listens: its CREATED is never published
        let early = CreatePaymentRequest::new(
            Amount::nok(1000),
            Reference::new("sink-test-ref-0").unwrap(),
            UserFlow::WebRedirect,
        );
        store.transaction(|l| {
            l.create_payment(NewPayment {
                msn: "123456",
                request: &early,
                idempotency_key: None,
                now,
                expires_at: now + time::Duration::minutes(10),
                public_url: "http://x",
            })
            .unwrap();
        });
        let seen: Arc<Mutex<Vec<(String, PaymentEventName)>>> = Arc::default();
        let s2 = Arc::clone(&seen);
        assert!(store.add_event_sink(
            "test",
            Arc::new(move |evs: &[PublishedEvent]| {
                s2.lock()
                    .extend(evs.iter().map(|e| (e.msn.clone(), e.event.name.clone())));
            })
        ));
        assert!(!store.add_event_sink("test", Arc::new(|_| {})));
        assert!(store.has_event_sink("test") && !store.has_event_sink("other"));
        let req = CreatePaymentRequest::new(
            Amount::nok(1000),
            Reference::new("sink-test-ref-1").unwrap(),
            UserFlow::WebRedirect,
        );
        store.transaction(|l| {
            l.create_payment(NewPayment {
                msn: "123456",
                request: &req,
                idempotency_key: None,
                now,
                expires_at: now + time::Duration::minutes(10),
                public_url: "http://x",
            })
            .unwrap();
        });
        store.transaction(|l| {
            let p = l.payment("123456", "sink-test-ref-1", now).unwrap();
            p.force_approve(now).unwrap();
            p.capture(&Amount::nok(100), None, now).unwrap();
        });
        // a read publishes nothing new
        store.transaction(|l| l.payment("123456", "sink-test-ref-1", now).map(|_| ()).unwrap());
        // the early payment's later events are published, not its old CREATED
        store.transaction(|l| {
            l.payment("123456", "sink-test-ref-0", now)
                .unwrap()
                .force_approve(now)
                .unwrap()
        });
        let names: Vec<_> = seen.lock().iter().map(|(_, n)| n.clone()).collect();
        assert_eq!(
            names,
            vec![
                PaymentEventName::Created,
                PaymentEventName::Authorized,
                PaymentEventName::Captured,
                PaymentEventName::Authorized
            ]
        );
        assert!(seen.lock().iter().all(|(m, _)| m == "123456"));
        // lazy expiry on a read is published too
        let req = CreatePaymentRequest::new(
            Amount::nok(1000),
            Reference::new("sink-test-ref-2").unwrap(),
            UserFlow::WebRedirect,
        );
        store.transaction(|l| {
            l.create_payment(NewPayment {
                msn: "123456",
                request: &req,
                idempotency_key: None,
                now,
                expires_at: now + time::Duration::minutes(10),
                public_url: "http://x",
            })
            .unwrap();
        });
        store.transaction(|l| {
            l.payment("123456", "sink-test-ref-2", now + time::Duration::minutes(11))
                .map(|_| ())
                .unwrap()
        });
        assert_eq!(seen.lock().last().unwrap().1, PaymentEventName::Expired);
        assert_eq!(seen.lock().len(), 6);
    }

    #[test]
    fn expiry_and_magic() {
        let mut p = payment(151);
        let later = p.expires_at + time::Duration::seconds(1);
        let mut q = p.clone();
        assert_eq!(
            p.customer_approve(OffsetDateTime::now_utc()).unwrap(),
            CustomerOutcome::Declined("insufficient funds (magic test amount)")
        );
        assert_eq!(p.state, PaymentState::Aborted);
        q.settle(later);
        assert_eq!(q.state, PaymentState::Expired);
        assert_eq!(q.events.last().unwrap().timestamp, q.expires_at);
        assert_eq!(q.event(q.events.last().unwrap()).idempotency_key.as_deref(), Some("k"));
        assert_eq!(q.cancel(false, None, later).unwrap_err().error_code(), Some(6190));
    }

    #[test]
    fn expire_due_ends_waiting_payments_in_chunks_without_a_read() {
        let store = Store::new();
        let now = OffsetDateTime::now_utc();
        let seen: Arc<Mutex<Vec<PaymentEventName>>> = Arc::default();
        let s2 = Arc::clone(&seen);
        store.add_event_sink(
            "test",
            Arc::new(move |evs: &[PublishedEvent]| s2.lock().extend(evs.iter().map(|e| e.event.name.clone()))),
        );
        store.transaction(|l| {
            for i in 0..5 {
                let req = CreatePaymentRequest::new(
                    Amount::nok(1000),
                    Reference::new(format!("sweep-test-ref-{i}")).unwrap(),
                    UserFlow::WebRedirect,
                );
                l.create_payment(NewPayment {
                    msn: "123456",
                    request: &req,
                    idempotency_key: None,
                    now,
                    // one deadline later than the others
                    expires_at: now + time::Duration::minutes(if i == 4 { 20 } else { 10 }),
                    public_url: "http://x",
                })
                .unwrap();
            }
            // one is approved in time and never expires
            l.payment("123456", "sweep-test-ref-0", now)
                .unwrap()
                .force_approve(now)
                .unwrap();
        });
        seen.lock().clear();
        let later = now + time::Duration::minutes(11);
        // Nothing is due before the deadline.
        assert_eq!(store.transaction(|l| l.expire_due(now, 10)), 0);
        // Four deadlines are due; two per call.
        assert_eq!(store.transaction(|l| l.expire_due(later, 2)), 2);
        assert_eq!(store.transaction(|l| l.expire_due(later, 2)), 2);
        assert_eq!(store.transaction(|l| l.expire_due(later, 2)), 0);
        // Three EXPIRED events were published without anybody reading a payment.
        assert_eq!(*seen.lock(), vec![PaymentEventName::Expired; 3]);
        store.transaction(|l| {
            assert_eq!(
                l.payments
                    .get(&("123456".to_owned(), "sweep-test-ref-0".to_owned()))
                    .unwrap()
                    .state,
                PaymentState::Authorized
            );
            let p = l
                .payments
                .get(&("123456".to_owned(), "sweep-test-ref-1".to_owned()))
                .unwrap();
            assert_eq!(p.state, PaymentState::Expired);
            assert_eq!(
                p.events.last().unwrap().timestamp,
                p.expires_at,
                "stamped with the deadline"
            );
            assert_eq!(p.events.capacity(), 2, "room for the last event only");
            // The wire form: the payment's reference, its own pspReference, the create key.
            let created = p.event(&p.events[0]);
            let expired = p.event(&p.events[1]);
            assert_eq!(created.psp_reference, p.psp_reference);
            assert_ne!(expired.psp_reference, p.psp_reference);
            assert_eq!(expired.reference.as_str(), "sweep-test-ref-1");
            assert_eq!(expired.amount, Amount::nok(1000));
            let late = l
                .payments
                .get(&("123456".to_owned(), "sweep-test-ref-4".to_owned()))
                .unwrap();
            assert_eq!(late.state, PaymentState::Created);
        });
        assert_eq!(
            store.transaction(|l| l.expire_due(now + time::Duration::minutes(21), 10)),
            1
        );
        assert_eq!(seen.lock().len(), 4);
    }
}
