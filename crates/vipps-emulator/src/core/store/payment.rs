//! One ePayment payment: its state machine, amounts, event log and the magic test amounts.

use super::consents::*;
use crate::core::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::epayment::{
    Aggregate, GetPaymentResponse, ModificationResponse, PaymentEvent, PaymentEventName, PaymentMethodResponse,
    PaymentMethodType, PaymentState, QrFormat, QrFormatKind, Shipping, ShippingDetails, UserDetails, UserFlow,
};
use vipps_types::{Amount, Currency, Reference};

/// Amounts (minor units) that make the simulated customer approval fail (BEHAVIOUR §1.8), and
/// whether only Norwegian (NOK) sales units have them: knowledge-base--test-and-go-live-2026.md
/// marks 197 and 202 "Norway only". Force approve ignores them.
pub(crate) const MAGIC_DECLINES: &[(i64, bool, &str)] = &[
    (151, false, "insufficient funds (magic test amount)"),
    (182, false, "refused by issuer (magic test amount)"),
    (183, false, "suspected fraud (magic test amount)"),
    (184, false, "withdrawal limit exceeded (magic test amount)"),
    (186, false, "expired card (magic test amount)"),
    (187, false, "invalid card (magic test amount)"),
    (197, true, "3-D Secure denied (magic test amount)"),
    (202, true, "strong customer authentication required (magic test amount)"),
];

/// Why an approval of `amount` fails, if it is a magic amount in its market.
fn magic_decline(amount: &Amount) -> Option<&'static str> {
    MAGIC_DECLINES
        .iter()
        .find(|(v, norway_only, _)| *v == amount.value && (!norway_only || amount.currency == Currency::Nok))
        .map(|(.., why)| *why)
}

/// The amount whose approval has an unknown result for an hour: the payment stays CREATED
/// until then, and expires at the end of it.
pub(crate) const MAGIC_UNKNOWN_RESULT: i64 = 201;

/// Refund amounts that fail at the bank: the refund is refused and logged as a REFUNDED event
/// with `success: false`.
pub(crate) const MAGIC_REFUND_FAILURES: &[(i64, u32, &str)] = &[
    (
        123,
        5100,
        "the customer is deleted or has no account to receive the money",
    ),
    (124, 6220, "the refund period has expired"),
];

/// How a simulated customer action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CustomerOutcome {
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Payment {
    /// Merchant serial number.
    pub(crate) msn: String,
    /// The merchant's reference.
    pub(crate) reference: Reference,
    /// The payment amount.
    pub(crate) amount: Amount,
    /// The state.
    pub(crate) state: PaymentState,
    /// The payment method.
    pub(crate) payment_method: PaymentMethodType,
    /// The user flow.
    pub(crate) user_flow: UserFlow,
    /// The CREATED event's PSP reference.
    pub(crate) psp_reference: String,
    /// The landing-page/QR token's bytes (see [`Payment::token_is`], [`Payment::redirect_url`]).
    #[serde(with = "crate::core::persist::serde_bytes24")]
    pub(super) token: TokenBytes,
    /// The emulator's public URL when the payment was created, shared by every payment made
    /// under it (see [`Payment::redirect_url`]). Stored like this, a payment keeps 16 bytes
    /// instead of its whole `redirectUrl`.
    #[serde(with = "crate::core::persist::serde_arc_str")]
    pub(super) link_base: Arc<str>,
    /// Where the customer returns.
    pub(crate) return_url: Option<String>,
    /// Shown to the customer.
    pub(crate) description: Option<String>,
    /// Echoed metadata.
    pub(crate) metadata: Option<BTreeMap<String, String>>,
    /// Requested profile scope.
    pub(crate) scope: Option<String>,
    /// The customer's phone number, if given at creation.
    pub(crate) customer_phone: Option<String>,
    /// The create request's idempotency key.
    pub(crate) create_key: Option<String>,
    /// When the payment expires if nobody acts.
    pub(crate) expires_at: OffsetDateTime,
    /// Reserved amount (A).
    pub(crate) authorized: i64,
    /// Released amount (X).
    pub(crate) cancelled: i64,
    /// Captured amount (C).
    pub(crate) captured: i64,
    /// Refunded amount (R).
    pub(crate) refunded: i64,
    /// `profile.sub`, once authorized with a scope.
    pub(crate) sub: Option<String>,
    /// When the customer approved (the capture, cancel and refund deadlines count from here).
    pub(crate) authorized_at: Option<OffsetDateTime>,
    /// The event log, oldest first, as the store keeps it ([`Payment::event`] gives the wire
    /// form).
    pub(crate) events: Vec<StoredEvent>,
    /// What only Express and card payments have (boxed: most payments have none of it).
    pub(crate) extras: Option<Box<PaymentExtras>>,
    /// Its place in creation order, from 0 (its row number in a data dir).
    #[serde(skip)]
    pub(super) seq: u32,
    /// A digest of the payment as a data dir last saved it: a commit that only read it
    /// writes nothing (see `ledger_rows.rs`).
    #[serde(skip)]
    pub(super) saved: u64,
    /// How many of its events were handed on to webhooks (all, from before anybody listened
    /// or before a restart).
    #[serde(skip)]
    pub(super) published: u32,
}

/// The parts of a payment only Express and card payments have.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct PaymentExtras {
    /// Express: the shipping of the create request.
    pub(crate) shipping: Option<Shipping>,
    /// Express: what the customer chose, once approved.
    pub(crate) shipping_details: Option<ShippingDetails>,
    /// Card payments: the first six digits of the card, once approved.
    pub(crate) card_bin: Option<String>,
    /// `QR` payments asking for a PNG or a target URL instead of the default SVG.
    pub(crate) qr_format: Option<QrFormat>,
    /// `minimumUserAge`: a younger customer cannot approve.
    pub(crate) minimum_user_age: Option<i64>,
    /// Magic amount 201: an approval's result is unknown (until the payment expires).
    pub(crate) result_pending: bool,
    /// The create request's `receipt` (Order Management reads it as the order's receipt).
    /// Boxed again: a receipt is large and most payments with extras have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) receipt: Option<Box<vipps_types::order_management::Receipt>>,
}

/// The largest amount of a payment, in minor units (the API's limit).
pub(crate) const MAX_AMOUNT: i64 = 65_000_000;

/// A test card number the emulator uses when none is given (Visa test range).
pub(crate) const TEST_CARD_NUMBER: &str = "4925000000000004";

/// Whether a card number (or its BIN) is a Mastercard one: 51–55 or 2221–2720.
fn is_mastercard(bin: &str) -> bool {
    let prefix = |n: usize| bin.get(..n).and_then(|p| p.parse::<u32>().ok());
    prefix(2).is_some_and(|p| (51..=55).contains(&p)) || prefix(4).is_some_and(|p| (2221..=2720).contains(&p))
}

/// `captureGuaranteedUntil` of a payment authorized at `authorized_at`: the card network's
/// guarantee (30 days for Mastercard, 7 for other cards and wallets) within the market's capture
/// deadline (180 days in Norway, 14 in Denmark and Finland), knowledge-base--payment-lifecycle-2026.md.
/// eCom orders read through ePayment use it too.
pub(crate) fn capture_guarantee(
    authorized_at: OffsetDateTime,
    mastercard: bool,
    currency: &Currency,
) -> OffsetDateTime {
    let network_days = if mastercard { 30 } else { 7 };
    let market_days = if *currency == Currency::Nok { 180 } else { 14 };
    authorized_at + time::Duration::days(network_days.min(market_days))
}

pub(super) fn psp() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One entry of a payment's event log as the store keeps it: what the wire's `PaymentEvent`
/// has beyond the payment's own reference, currency and create key, in about 100 bytes and no
/// allocation (the wire form takes about 290 with its strings).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredEvent {
    /// Its own pspReference; `None` for the payment's (the CREATED event's).
    pub(super) psp: Option<uuid::Uuid>,
    /// What happened.
    pub(crate) name: PaymentEventName,
    /// The amount affected, in the payment's currency.
    pub(crate) value: i64,
    /// When.
    pub(crate) timestamp: OffsetDateTime,
    /// The idempotency key of the request that caused it.
    pub(super) key: EventKey,
    /// Whether the operation succeeded.
    pub(crate) success: bool,
}

/// The idempotency key of an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum EventKey {
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
    pub(super) fn currency(&self) -> Currency {
        self.amount.currency.clone()
    }

    pub(super) fn push(&mut self, name: PaymentEventName, value: i64, key: impl Into<EventKey>, at: OffsetDateTime) {
        self.push_outcome(name, value, key, at, true);
    }

    /// Records an event; `success: false` for an operation that failed at the bank.
    pub(super) fn push_outcome(
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
    pub(crate) fn event(&self, e: &StoredEvent) -> PaymentEvent {
        let mut event = PaymentEvent::new(
            self.reference.clone(),
            e.psp.map_or_else(|| self.psp_reference.clone(), |u| u.to_string()),
            e.name.clone(),
            Amount::new(e.value, self.currency()),
            e.timestamp,
            e.success,
        );
        event.idempotency_key = match &e.key {
            EventKey::None => None,
            EventKey::Create => self.create_key.clone(),
            EventKey::Own(k) => Some(k.to_string()),
        };
        event
    }

    /// The event log in its wire form, oldest first.
    pub(crate) fn event_log(&self) -> Vec<PaymentEvent> {
        self.events.iter().map(|e| self.event(e)).collect()
    }

    /// Applies expiry: a CREATED payment past its deadline becomes EXPIRED, with an EXPIRED event
    /// at the deadline.
    pub(crate) fn settle(&mut self, now: OffsetDateTime) {
        if self.state == PaymentState::Created && now >= self.expires_at {
            self.state = PaymentState::Expired;
            // The last event this payment gets: room for it alone, not the usual doubling.
            self.events.reserve_exact(1);
            let at = self.expires_at;
            self.push(PaymentEventName::Expired, self.amount.value, EventKey::Create, at);
        }
    }

    /// The running totals.
    pub(crate) fn aggregate(&self) -> Aggregate {
        let c = self.currency();
        Aggregate::new(
            Amount::new(self.authorized, c.clone()),
            Amount::new(self.cancelled, c.clone()),
            Amount::new(self.captured, c.clone()),
            Amount::new(self.refunded, c),
        )
    }

    /// The get-payment body.
    pub(crate) fn get_response(&self) -> GetPaymentResponse {
        let mut method = PaymentMethodResponse::new(self.payment_method.clone());
        method.card_bin = self.extras.as_ref().and_then(|x| x.card_bin.clone());
        let mut r = GetPaymentResponse::new(
            self.aggregate(),
            self.amount.clone(),
            self.state.clone(),
            method,
            self.psp_reference.clone(),
            self.reference.clone(),
        );
        r.profile.sub = self.sub.clone();
        r.redirect_url = self.redirect_url();
        r.metadata = self.metadata.clone();
        r.capture_guaranteed_until = self.capture_guaranteed_until();
        r.user_details = self.user_details();
        r.shipping_details = self.extras.as_ref().and_then(|x| x.shipping_details.clone());
        r
    }

    /// The capture/refund/cancel body.
    pub(crate) fn modification_response(&self) -> ModificationResponse {
        ModificationResponse::new(
            self.amount.clone(),
            self.state.clone(),
            self.aggregate(),
            self.psp_reference.clone(),
            self.reference.clone(),
        )
    }

    /// Until when a capture (or a cancel) is possible: 180 days after the reservation in
    /// Norway (NOK), 14 days in Denmark and Finland (DKK, EUR) without "late capture".
    pub(crate) fn capture_deadline(&self) -> Option<OffsetDateTime> {
        let days = if self.amount.currency == Currency::Nok { 180 } else { 14 };
        self.authorized_at.map(|t| t + time::Duration::days(days))
    }

    /// `captureGuaranteedUntil`: the card network's guarantee, within the market's capture
    /// deadline (knowledge-base--payment-lifecycle-2026.md): 30 days for a Mastercard BIN (51–55,
    /// 2221–2720), 7 for any other card (Visa; BankAxept has 7 too). A wallet payment pays with
    /// the test customer's card, the Visa test card, so 7 days.
    pub(crate) fn capture_guaranteed_until(&self) -> Option<OffsetDateTime> {
        let bin = self
            .extras
            .as_ref()
            .and_then(|x| x.card_bin.as_deref())
            .unwrap_or(TEST_CARD_NUMBER);
        Some(capture_guarantee(
            self.authorized_at?,
            is_mastercard(bin),
            &self.amount.currency,
        ))
    }

    /// Until when a refund is possible: 365 days after the reservation.
    pub(crate) fn refund_deadline(&self) -> Option<OffsetDateTime> {
        self.authorized_at.map(|t| t + time::Duration::days(365))
    }

    pub(super) fn check_currency(&self, m: &Amount) -> Result<(), ApiError> {
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
    pub(crate) fn capture(&mut self, m: &Amount, key: Option<String>, now: OffsetDateTime) -> Result<(), ApiError> {
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
    pub(crate) fn refund(&mut self, m: &Amount, key: Option<String>, now: OffsetDateTime) -> Result<(), ApiError> {
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
    pub(crate) fn cancel(
        &mut self,
        transaction_only: bool,
        key: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
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

    pub(super) fn authorize(&mut self, now: OffsetDateTime) {
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

    pub(super) fn abort(&mut self, now: OffsetDateTime) {
        self.state = PaymentState::Aborted;
        self.push(PaymentEventName::Aborted, self.amount.value, EventKey::Create, now);
    }

    pub(super) fn require_created(&self) -> Result<(), ApiError> {
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
    pub(crate) fn token_is(&self, token: &str) -> bool {
        token_bytes(token).is_some_and(|b| subtle::ConstantTimeEq::ct_eq(&b[..], &self.token[..]).into())
    }

    /// `redirectUrl` as create returned it: the landing page for `WEB_REDIRECT`, the app-switch
    /// deeplink for `NATIVE_REDIRECT`, the QR stand-in for `QR`, none for `PUSH_MESSAGE`.
    pub(crate) fn redirect_url(&self) -> Option<String> {
        match self.user_flow {
            UserFlow::WebRedirect => Some(self.page_url("landing")),
            // "automatic app-switch … to the Vipps or MobilePay app" (epayment-v1.yaml,
            // `userFlow`): a deeplink in the test environment's scheme `vippsMT://`
            // (knowledge-base--isapp.md), as eCom's `isApp`. Its token opens `/landing` too, and
            // it keeps the `?v=2&token=` shape clients split on.
            UserFlow::NativeRedirect => {
                let web = self.page_url("landing");
                let query = web.find('?').map_or("", |i| &web[i..]);
                Some(format!("vippsMT://{query}"))
            }
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
    pub(crate) fn qr_format(&self) -> Option<&QrFormat> {
        self.extras.as_ref().and_then(|x| x.qr_format.as_ref())
    }

    /// The landing page of this payment (where a QR code leads too).
    pub(crate) fn landing_url(&self) -> String {
        self.page_url("landing")
    }

    pub(super) fn page_url(&self, page: &str) -> String {
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
    pub(crate) fn user_details(&self) -> Option<UserDetails> {
        self.sub.as_ref()?;
        crate::core::customer::user_details(
            self.scope.as_deref().unwrap_or(""),
            self.customer_phone.as_deref(),
            &self.amount.currency,
        )
    }

    /// The receipt the create request carried.
    pub(crate) fn receipt(&self) -> Option<&vipps_types::order_management::Receipt> {
        self.extras.as_ref()?.receipt.as_deref()
    }

    /// Whether this is an Express payment (the customer chooses shipping when approving).
    pub(crate) fn is_express(&self) -> bool {
        self.extras.as_ref().is_some_and(|x| x.shipping.is_some())
    }

    /// The Express shipping of the create request.
    pub(crate) fn shipping(&self) -> Option<&Shipping> {
        self.extras.as_ref().and_then(|x| x.shipping.as_ref())
    }

    /// 7010 when the payment has a `minimumUserAge` and its customer (the test customer of its
    /// market, with its phone number) is younger.
    pub(crate) fn check_age(&self, now: OffsetDateTime) -> Result<(), ApiError> {
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
    pub(crate) fn force_approve(&mut self, now: OffsetDateTime) -> Result<(), ApiError> {
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
    pub(crate) fn customer_approve(&mut self, now: OffsetDateTime) -> Result<CustomerOutcome, ApiError> {
        self.customer_approve_with(now, None, None)
    }

    /// [`Payment::customer_approve`] with the customer's shipping choice and card number.
    pub(crate) fn customer_approve_with(
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
        if let Some(why) = magic_decline(&self.amount) {
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
    pub(super) fn record_card(&mut self, number: Option<&str>) {
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
    pub(crate) fn decline(&mut self, now: OffsetDateTime, why: &'static str) -> Result<CustomerOutcome, ApiError> {
        self.require_created()?;
        self.abort(now);
        Ok(CustomerOutcome::Declined(why))
    }

    /// The customer rejects in the app or on the landing page.
    pub(crate) fn customer_reject(&mut self, now: OffsetDateTime) -> Result<CustomerOutcome, ApiError> {
        self.require_created()?;
        self.abort(now);
        Ok(CustomerOutcome::Rejected)
    }
}

/// A landing-page token: 24 random bytes, as URL-safe base64 (32 characters).
pub(super) type TokenBytes = [u8; 24];

pub(super) fn random_token() -> TokenBytes {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// The bytes behind a token string, if it is one of ours.
pub(super) fn token_bytes(token: &str) -> Option<TokenBytes> {
    let v = URL_SAFE_NO_PAD.decode(token).ok()?;
    v.try_into().ok()
}
