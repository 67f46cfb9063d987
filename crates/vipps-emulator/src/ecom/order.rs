//! One eCom order and its rules: INITIATE → RESERVE → CAPTURE → REFUND, CANCEL, VOID, timeout.

use super::errors::EcomErr;
use rand::Rng;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vipps_types::ecom::{
    Address, CallbackStatus, InitiatePaymentRequest, Operation, OrderStatus, PaymentShippingDetails, PaymentStatus,
    PaymentType, ShippingDetails, StatusTransactionInfo, TransactionDetails, TransactionInfo, TransactionLogEntry,
    TransactionStatus, TransactionSummary, TransactionUpdateCallback, UserDetails,
};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Phase {
    /// Waiting for the customer.
    Initiated,
    /// The customer approved an express payment; the emulator is asking the merchant for
    /// shipping options (no other action is allowed meanwhile).
    Approving,
    /// Reserved (maybe partly or fully captured, refunded, or the rest released).
    Reserved,
    /// Cancelled before reservation, by the customer or the merchant.
    Cancelled,
    /// Timed out (nobody acted).
    Rejected,
    /// Cancelled after reservation, before any capture.
    Voided,
    /// The reservation failed (magic test amount).
    Failed,
}

/// Amounts that make the simulated customer approval fail, with eCom's Payment code.
pub(crate) const MAGIC_DECLINES: &[(i64, u32, &str)] = &[
    (151, 45, "Reservation failed: insufficient funds"),
    (182, 42, "Refused by issuer"),
    (183, 42, "Refused by issuer: suspected fraud"),
    (184, 42, "Refused by issuer: withdrawal limit exceeded"),
    (186, 44, "Refused by issuer because of expired card"),
    (187, 41, "No valid card"),
    (197, 45, "Reservation failed: 3-D Secure denied"),
    (202, 45, "Reservation failed: strong customer authentication required"),
];

/// How long the customer's information stays readable in `/details` after the reservation
/// (eCom API guide, "Consent and GDPR").
pub(crate) const USER_DATA_SHARED_FOR: time::Duration = time::Duration::days(7);

/// What replaces the customer's information after [`USER_DATA_SHARED_FOR`].
pub(crate) const EXPIRED: &str = "[Expired]";

/// The test customer approving: the emulator's Norwegian test customer (Ola Nordmann, the
/// same person ePayment and the Userinfo API show), with `phone` when one was given.
pub(crate) fn test_user(phone: Option<&str>) -> UserDetails {
    let c = crate::core::customer::NORWAY;
    // eCom numbers have no country code.
    let phone = phone.unwrap_or(&c.mobile[2..]).to_owned();
    let mut u = UserDetails::default();
    u.email = c.email.into();
    u.first_name = c.first_name.into();
    u.last_name = c.last_name.into();
    u.user_id = user_id(&phone);
    u.mobile_number = phone;
    u
}

/// The customer's `userId`: one per phone number, in the spec's pattern `^[\d\w\/=+]+$` and
/// shaped like its example (`uiJskNQ6qNN1iwN891uuob==`, base64). The 9-byte prefix keeps the
/// digits on 3-byte boundaries, so a number's digits never encode to `+` or `/` (the id goes
/// into the consent-removal URL's path as it is).
fn user_id(phone: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("emulator:{phone}"))
}

/// The test customer's address.
pub(crate) fn test_address() -> Address {
    let c = crate::core::customer::NORWAY;
    let mut a = Address::default();
    a.address_line1 = Some(c.street.into());
    a.address_line2 = Some(format!("Att: {} {}", c.first_name, c.last_name));
    a.city = c.city.into();
    a.country = c.country.into();
    a.post_code = c.post_code.into();
    a
}

/// Picks the option marked `isDefault: "Y"`, else the one with the lowest priority, else the first.
pub(crate) fn pick_shipping(options: &[ShippingDetails]) -> Option<&ShippingDetails> {
    options
        .iter()
        .find(|o| o.is_default == "Y")
        .or_else(|| options.iter().min_by_key(|o| o.priority.unwrap_or(i64::MAX)))
}

/// ISO 8601 with milliseconds.
pub(crate) fn stamp(t: OffsetDateTime) -> String {
    let ms = t.millisecond();
    let t = t.replace_millisecond(ms).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// How long the initiate `url` (landing page or deeplink) works: "This link will timeout after
/// 5 minutes." (ecom-v2.yaml, `InitiatePaymentResponse.url`; knowledge-base--timeouts.md). The
/// order itself waits `payment_expiry_secs` (10 minutes: 5 to act on the link, 5 in the app).
pub(crate) const LINK_VALID_SECS: i64 = 300;

/// One order (a row of the data dir, see `persist.rs`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Order {
    /// Merchant serial number.
    pub(crate) msn: String,
    /// The order id.
    pub(crate) order_id: String,
    /// The initiate request.
    pub(crate) request: InitiatePaymentRequest,
    /// The landing-page token.
    pub(crate) token: String,
    /// The initiate `url`.
    pub(crate) url: String,
    /// Transaction id (one per order, like the API's examples).
    pub(crate) transaction_id: String,
    /// Phase.
    pub(crate) phase: Phase,
    /// When an untouched order times out.
    pub(crate) expires_at: OffsetDateTime,
    /// When the landing-page link (or deeplink) stops working: [`LINK_VALID_SECS`] after
    /// initiate.
    pub(crate) link_expires_at: OffsetDateTime,
    /// Reserved amount (the order amount plus express shipping).
    pub(crate) reserved: i64,
    /// Captured.
    pub(crate) captured: i64,
    /// Refunded.
    pub(crate) refunded: i64,
    /// The rest was released after a partial capture.
    pub(crate) released: bool,
    /// Whether the customer ever acted (the summary is absent until then).
    pub(crate) customer_acted: bool,
    /// Express: chosen shipping.
    pub(crate) shipping: Option<PaymentShippingDetails>,
    /// Express/profile: the customer.
    pub(crate) user: Option<UserDetails>,
    /// Profile flow `sub`.
    pub(crate) sub: Option<String>,
    /// History, oldest first.
    pub(crate) log: Vec<TransactionLogEntry>,
    /// The last callback status (for `/status` of failures and timeouts).
    pub(crate) last_status: Option<OrderStatus>,
    /// When the customer approved: captures are possible for 180 days.
    pub(crate) reserved_at: Option<OffsetDateTime>,
    /// The latest capture (or the direct-capture SALE): refunds are possible for 365 days
    /// after it.
    pub(crate) captured_at: Option<OffsetDateTime>,
    /// The sales unit uses direct capture: the approval captures everything (`SALE`).
    pub(crate) direct_capture: bool,
    /// Its creation number (from 1): its row's key, so not in the row.
    #[serde(skip)]
    pub(crate) seq: u32,
}

/// Random 10-digit transaction id.
pub(crate) fn transaction_id() -> String {
    rand::thread_rng()
        .gen_range(5_000_000_000u64..9_999_999_999)
        .to_string()
}

impl Order {
    /// A new order in INITIATE.
    pub(crate) fn new(
        msn: &str,
        request: InitiatePaymentRequest,
        token: String,
        url: String,
        request_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Order {
        let mut o = Order {
            msn: msn.to_owned(),
            order_id: request.transaction.order_id.clone(),
            token,
            url,
            transaction_id: transaction_id(),
            phase: Phase::Initiated,
            expires_at,
            link_expires_at: now.checked_add(time::Duration::seconds(LINK_VALID_SECS)).unwrap_or(now),
            reserved: 0,
            captured: 0,
            refunded: 0,
            released: false,
            customer_acted: false,
            shipping: None,
            user: None,
            sub: None,
            log: Vec::new(),
            last_status: None,
            reserved_at: None,
            captured_at: None,
            direct_capture: false,
            seq: 0,
            request,
        };
        let (amount, text) = (o.request.transaction.amount, o.text());
        o.push(Operation::Initiate, amount, text, request_id, now);
        o
    }

    /// Whether this is an express payment.
    pub(crate) fn express(&self) -> bool {
        self.request.merchant_info.payment_type == Some(PaymentType::Express)
    }

    /// Whether a profile scope was asked for.
    pub(crate) fn has_scope(&self) -> bool {
        self.request
            .transaction
            .scope
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
    }

    /// The order amount (without shipping).
    pub(crate) fn amount(&self) -> i64 {
        self.request.transaction.amount
    }

    fn text(&self) -> String {
        self.request.transaction.transaction_text.clone()
    }

    fn push(&mut self, operation: Operation, amount: i64, text: String, request_id: &str, at: OffsetDateTime) {
        let mut entry = TransactionLogEntry::new(amount, operation, true);
        entry.request_id = request_id.to_owned();
        entry.time_stamp = stamp(at);
        entry.transaction_id = self.transaction_id.clone();
        entry.transaction_text = text;
        self.log.push(entry);
    }

    /// Applies the timeout: an order nobody acted on becomes REJECTED at its deadline, with a
    /// CANCEL log entry (EMULATOR CHOICE) and a REJECTED callback (returned).
    pub(crate) fn settle(&mut self, now: OffsetDateTime) -> Option<TransactionUpdateCallback> {
        if self.phase != Phase::Initiated || now < self.expires_at {
            return None;
        }
        self.phase = Phase::Rejected;
        self.last_status = Some(OrderStatus::Rejected);
        let at = self.expires_at;
        let (amount, text) = (self.amount(), self.text());
        self.push(Operation::Cancel, amount, text, "", at);
        Some(self.callback(CallbackStatus::Rejected, self.amount(), at, None))
    }

    /// Still capturable.
    pub(crate) fn remaining_to_capture(&self) -> i64 {
        if self.phase == Phase::Reserved && !self.released {
            (self.reserved - self.captured).max(0)
        } else {
            0
        }
    }

    /// The running totals.
    pub(crate) fn summary(&self, with_bin: bool) -> TransactionSummary {
        let mut s = TransactionSummary::default();
        s.captured_amount = self.captured;
        s.refunded_amount = self.refunded;
        s.remaining_amount_to_capture = self.remaining_to_capture();
        s.remaining_amount_to_refund = self.captured - self.refunded;
        s.bank_identification_number = (with_bin && self.reserved > 0).then_some(123_456);
        s
    }

    fn info(&self, amount: i64, status: TransactionStatus, text: &str, now: OffsetDateTime) -> TransactionInfo {
        let mut info = TransactionInfo::new(amount, status, stamp(now));
        info.transaction_id = Some(self.transaction_id.clone());
        info.transaction_text = text.to_owned();
        info
    }

    /// The card the customer paid with, as eCom reports it (`paymentInstrument`).
    pub(crate) fn instrument(&self) -> Option<String> {
        (self.reserved > 0).then(|| "Mastercard".to_owned())
    }

    fn response(&self, amount: i64, status: TransactionStatus, text: &str, now: OffsetDateTime) -> serde_json::Value {
        let mut r = vipps_types::ecom::TransactionResponse::new(self.order_id.clone());
        r.payment_instrument = self.instrument();
        r.transaction_info = Some(self.info(amount, status, text, now));
        r.transaction_summary = Some(self.summary(false));
        serde_json::to_value(r).unwrap_or_default()
    }

    /// Capture: `amount` absent or 0 captures everything remaining.
    pub(crate) fn capture(
        &mut self,
        amount: Option<i64>,
        text: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<serde_json::Value, EcomErr> {
        match self.phase {
            Phase::Initiated | Phase::Approving => {
                return Err(EcomErr::payment(
                    62,
                    "The amount you tried to capture is not reserved: the customer has not approved the payment",
                ))
            }
            Phase::Cancelled | Phase::Rejected | Phase::Voided | Phase::Failed => {
                return Err(EcomErr::vipps(
                    91,
                    "Transaction is not allowed: the order is cancelled or failed",
                ))
            }
            Phase::Reserved => {}
        }
        if self.reserved_at.is_some_and(|t| now > t + time::Duration::days(180)) {
            return Err(EcomErr::payment(
                98,
                "Too late to capture: captures are possible for 180 days after the reservation",
            ));
        }
        if self.released {
            return Err(EcomErr::vipps(
                91,
                "Transaction is not allowed: the remaining funds were released by a cancel",
            ));
        }
        if self.direct_capture {
            return Err(EcomErr::payment(
                61,
                "Captured amount exceeds the reserved amount: the order was captured when the customer approved (direct capture, SALE)",
            ));
        }
        let remaining = self.remaining_to_capture();
        let value = match amount {
            None | Some(0) => remaining,
            Some(v) if v < 0 => return Err(EcomErr::invalid("amount", "must not be negative")),
            Some(v) => v,
        };
        if value == 0 || value > remaining {
            return Err(EcomErr::payment(
                61,
                format!("Captured amount exceeds the reserved amount: at most {remaining} can be captured"),
            ));
        }
        self.captured += value;
        self.captured_at = Some(now);
        self.push(Operation::Capture, value, text.to_owned(), request_id, now);
        Ok(self.response(value, TransactionStatus::Captured, text, now))
    }

    /// Refund up to what was captured and not yet refunded.
    pub(crate) fn refund(
        &mut self,
        amount: Option<i64>,
        text: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<serde_json::Value, EcomErr> {
        if self.captured == 0 {
            return Err(match self.phase {
                Phase::Cancelled | Phase::Rejected | Phase::Voided | Phase::Failed => {
                    EcomErr::payment(73, "Can't refund a cancelled order")
                }
                _ => EcomErr::payment(
                    72,
                    "Can't refund a reserved order (nothing is captured): cancel it instead",
                ),
            });
        }
        let refundable = self.captured - self.refunded;
        // Without an amount (absent, null or 0) everything still refundable is refunded, as
        // capture does; the official Postman collection refunds so.
        let value = match amount {
            // Validation refuses negative amounts before this; kept so the rule holds here too.
            Some(v) if v < 0 => return Err(EcomErr::invalid("amount", "must not be negative")),
            Some(v) if v > 0 => v,
            _ if refundable > 0 => refundable,
            _ => {
                return Err(EcomErr::payment(
                    71,
                    "Nothing left to refund: the captured amount is refunded",
                ))
            }
        };
        // Counted from the capture, as the 2026 lifecycle page ("up to 365 days after the
        // capture") and ecom-v2.yaml ("365 days from the date payment has been captured") say;
        // the older guide's "after reservation" gives way. With several captures, the latest.
        if self.captured_at.is_some_and(|t| now > t + time::Duration::days(365)) {
            return Err(EcomErr::payment(
                95,
                "Too late to refund: payments can only be refunded up to 365 days after the capture",
            ));
        }
        if value > refundable {
            return Err(EcomErr::payment(
                71,
                format!("Refunded amount is larger than the captured amount: at most {refundable} can be refunded"),
            ));
        }
        self.refunded += value;
        self.push(Operation::Refund, value, text.to_owned(), request_id, now);
        let mut r = vipps_types::ecom::RefundTransactionResponse::new(self.order_id.clone());
        r.transaction = Some(self.info(value, TransactionStatus::Refund, text, now));
        r.transaction_summary = Some(self.summary(false));
        Ok(serde_json::to_value(r).unwrap_or_default())
    }

    /// Merchant cancel: INITIATE ⇒ CANCEL; RESERVE ⇒ VOID; after a partial capture only with
    /// `shouldReleaseRemainingFunds` (releases the rest); never after a full capture (51).
    pub(crate) fn cancel(
        &mut self,
        release: bool,
        text: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<serde_json::Value, EcomErr> {
        match self.phase {
            Phase::Initiated => {
                self.phase = Phase::Cancelled;
                let amount = self.amount();
                self.push(Operation::Cancel, amount, text.to_owned(), request_id, now);
                Ok(self.response(amount, TransactionStatus::Cancelled, text, now))
            }
            Phase::Approving => Err(EcomErr::vipps(
                94,
                "The order is being processed (the customer is approving): retry with the same X-Request-Id",
            )),
            Phase::Reserved => {
                // The guide: a reservation can be cancelled for 180 days (then 400).
                if self.reserved_at.is_some_and(|t| now > t + time::Duration::days(180)) {
                    return Err(EcomErr::payment(
                        98,
                        "Too late to cancel: cancelling is possible for 180 days after the reservation",
                    ));
                }
                if self.captured > 0 && (self.released || self.captured >= self.reserved) {
                    return Err(EcomErr::payment(
                        51,
                        "Can't cancel an already captured order: refund instead",
                    ));
                }
                if self.captured > 0 && !release {
                    return Err(EcomErr::payment(
                        51,
                        "Can't cancel a partially captured order unless shouldReleaseRemainingFunds is true",
                    ));
                }
                let rest = self.reserved - self.captured;
                if self.captured == 0 {
                    self.phase = Phase::Voided;
                } else {
                    self.released = true;
                }
                self.push(Operation::Void, rest, text.to_owned(), request_id, now);
                Ok(self.response(rest, TransactionStatus::Cancelled, text, now))
            }
            Phase::Cancelled | Phase::Rejected | Phase::Voided | Phase::Failed => Err(EcomErr::vipps(
                91,
                "Transaction is not allowed: the order is already cancelled or failed",
            )),
        }
    }

    /// Checks that the customer can still act.
    pub(crate) fn require_initiated(&self) -> Result<(), EcomErr> {
        match self.phase {
            Phase::Initiated => Ok(()),
            Phase::Approving => Err(EcomErr::vipps(94, "The order is being processed")),
            Phase::Reserved => Err(EcomErr::vipps(92, "The order is already reserved")),
            _ => Err(EcomErr::vipps(
                91,
                "Transaction is not allowed: the order is no longer waiting for the customer",
            )),
        }
    }

    /// Reserves (the customer approved); returns the callback.
    pub(crate) fn reserve(
        &mut self,
        phone: Option<&str>,
        shipping: Option<PaymentShippingDetails>,
        request_id: &str,
        now: OffsetDateTime,
    ) -> TransactionUpdateCallback {
        self.phase = Phase::Reserved;
        self.reserved_at = Some(now);
        self.customer_acted = true;
        self.last_status = None;
        let extra = shipping.as_ref().map(|s| s.shipping_cost.ore()).unwrap_or(0);
        self.reserved = self.amount() + extra;
        let phone = phone.or(self.request.customer_info.mobile_number.as_deref());
        if self.express() || self.has_scope() {
            self.user = Some(test_user(phone));
        }
        if self.has_scope() {
            let mobile = self.user.as_ref().map_or("91234567", |u| u.mobile_number.as_str());
            self.sub = Some(crate::core::store::customer_sub(&self.msn, mobile));
        }
        self.shipping = shipping;
        let (reserved, text) = (self.reserved, self.text());
        if self.direct_capture {
            // Reservation and capture in one operation.
            self.captured = reserved;
            self.captured_at = Some(now);
            self.push(Operation::Sale, reserved, text, request_id, now);
            return self.callback(CallbackStatus::Sale, reserved, now, None);
        }
        self.push(Operation::Reserve, reserved, text, request_id, now);
        let status = if self.express() {
            CallbackStatus::Reserve
        } else {
            CallbackStatus::Reserved
        };
        self.callback(status, reserved, now, None)
    }

    /// The customer rejected: CANCEL, `CANCELLED` callback.
    pub(crate) fn customer_reject(&mut self, now: OffsetDateTime) -> TransactionUpdateCallback {
        self.phase = Phase::Cancelled;
        self.customer_acted = true;
        self.last_status = Some(OrderStatus::Cancel);
        let (amount, text) = (self.amount(), self.text());
        self.push(Operation::Cancel, amount, text, "", now);
        self.callback(CallbackStatus::Cancelled, amount, now, None)
    }

    /// The reservation failed (magic amount): a failed RESERVE entry, `RESERVE_FAILED` callback.
    pub(crate) fn fail(&mut self, code: u32, why: &str, now: OffsetDateTime) -> TransactionUpdateCallback {
        self.phase = Phase::Failed;
        self.customer_acted = true;
        self.last_status = Some(OrderStatus::Failed);
        let (amount, text) = (self.amount(), self.text());
        let (operation, status) = if self.direct_capture {
            (Operation::Sale, CallbackStatus::SaleFailed)
        } else {
            (Operation::Reserve, CallbackStatus::ReserveFailed)
        };
        self.push(operation, amount, text, "", now);
        if let Some(last) = self.log.last_mut() {
            last.operation_success = false;
        }
        let info = serde_json::json!({
            "errorGroup": "Payment",
            "errorCode": code.to_string(),
            "errorMessage": why,
            "contextId": uuid::Uuid::new_v4().to_string(),
        });
        self.callback(status, amount, now, Some(info))
    }

    /// A transaction update callback body.
    pub(crate) fn callback(
        &self,
        status: CallbackStatus,
        amount: i64,
        at: OffsetDateTime,
        error: Option<serde_json::Value>,
    ) -> TransactionUpdateCallback {
        let mut info = vipps_types::ecom::CallbackTransactionInfo::new(amount, status);
        info.time_stamp = stamp(at);
        info.transaction_id = Some(self.transaction_id.clone());
        let mut c = TransactionUpdateCallback::new(self.msn.clone(), self.order_id.clone(), info);
        c.shipping_details = self.shipping.clone().map(Into::into);
        c.user_details = self.user.clone();
        c.error_info = error;
        c
    }

    /// `GET …/details` at `now`. The customer's information is shared for
    /// [`USER_DATA_SHARED_FOR`] after the reservation; after that every field of it reads
    /// `"[Expired]"` (the shipping method and cost stay: they are the merchant's own).
    pub(crate) fn details(&self, now: OffsetDateTime) -> TransactionDetails {
        let expired = self.reserved_at.is_some_and(|t| now >= t + USER_DATA_SHARED_FOR);
        let mut user_details = self.user.clone();
        let mut shipping_details = self.shipping.clone();
        if expired {
            if let Some(u) = &mut user_details {
                for f in [
                    &mut u.email,
                    &mut u.first_name,
                    &mut u.last_name,
                    &mut u.mobile_number,
                    &mut u.user_id,
                ] {
                    *f = EXPIRED.to_owned();
                }
            }
            if let Some(a) = shipping_details.as_mut().and_then(|s| s.address.as_mut()) {
                for f in [&mut a.city, &mut a.country, &mut a.post_code] {
                    *f = EXPIRED.to_owned();
                }
                for f in [&mut a.address_line1, &mut a.address_line2] {
                    if f.is_some() {
                        *f = Some(EXPIRED.to_owned());
                    }
                }
            }
        }
        let mut d = TransactionDetails::new(self.order_id.clone());
        d.transaction_summary = self.customer_acted.then(|| self.summary(true));
        d.transaction_log_history = self.log.iter().rev().cloned().collect();
        d.shipping_details = shipping_details;
        d.user_details = user_details;
        d.sub = self.sub.clone();
        d
    }

    /// `GET …/status` (deprecated): the last operation.
    pub(crate) fn status(&self) -> PaymentStatus {
        let last = self.log.last();
        let status = match (&self.last_status, last.map(|l| &l.operation)) {
            (Some(s), _) => s.clone(),
            (None, Some(op)) => match op {
                Operation::Initiate => OrderStatus::Initiate,
                Operation::Reserve => OrderStatus::Reserve,
                Operation::Sale => OrderStatus::Sale,
                Operation::Capture => OrderStatus::Capture,
                Operation::Refund => OrderStatus::Refund,
                Operation::Cancel => OrderStatus::Cancel,
                Operation::Void => OrderStatus::Void,
                _ => OrderStatus::Initiate,
            },
            (None, None) => OrderStatus::Initiate,
        };
        let mut info = StatusTransactionInfo::new(last.map(|l| l.amount).unwrap_or(self.amount()), status);
        info.time_stamp = last.map(|l| l.time_stamp.clone()).unwrap_or_default();
        info.transaction_id = Some(self.transaction_id.clone());
        PaymentStatus::new(self.order_id.clone(), info)
    }

    /// A short state name for the landing page and the control plane.
    pub(crate) fn state_name(&self) -> &'static str {
        match self.phase {
            Phase::Initiated => "INITIATE",
            Phase::Approving => "PROCESSING",
            Phase::Reserved if self.refunded > 0 => "REFUND",
            Phase::Reserved if self.direct_capture => "SALE",
            Phase::Reserved if self.captured > 0 => "CAPTURE",
            Phase::Reserved => "RESERVE",
            Phase::Cancelled => "CANCEL",
            Phase::Rejected => "REJECTED",
            Phase::Voided => "VOID",
            Phase::Failed => "FAILED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipps_types::ecom::{InitiateTransaction, MerchantInfo};

    fn order(amount: i64) -> Order {
        let req = InitiatePaymentRequest {
            merchant_info: MerchantInfo {
                merchant_serial_number: "123456".into(),
                callback_prefix: "https://example.com/cb".into(),
                fall_back: "https://example.com/fb".into(),
                ..Default::default()
            },
            transaction: InitiateTransaction {
                amount,
                order_id: "o-1".into(),
                transaction_text: "Socks".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let now = OffsetDateTime::now_utc();
        Order::new(
            "123456",
            req,
            "t".into(),
            "u".into(),
            "",
            now,
            now + time::Duration::minutes(10),
        )
    }

    fn code(r: Result<serde_json::Value, EcomErr>) -> String {
        r.unwrap_err().code
    }

    #[test]
    fn state_machine() {
        let now = OffsetDateTime::now_utc();
        let mut o = order(1000);
        assert_eq!(code(o.capture(None, "x", "", now)), "62");
        assert_eq!(code(o.refund(Some(1), "x", "", now)), "72");
        o.reserve(None, None, "", now);
        assert_eq!(code(o.capture(Some(1001), "x", "", now)), "61");
        o.capture(Some(400), "x", "a", now).unwrap();
        assert_eq!(code(o.cancel(false, "x", "", now)), "51");
        assert_eq!(code(o.refund(Some(401), "x", "", now)), "71");
        o.refund(Some(100), "x", "", now).unwrap();
        o.cancel(true, "x", "", now).unwrap();
        assert_eq!(o.summary(false).remaining_amount_to_capture, 0);
        assert_eq!(code(o.capture(None, "x", "", now)), "91");
        assert_eq!(code(o.cancel(true, "x", "", now)), "51");
        let d = o.details(OffsetDateTime::now_utc());
        assert_eq!(d.transaction_log_history[0].operation, Operation::Void);
        assert_eq!(d.transaction_log_history[0].amount, 600);
        assert_eq!(d.transaction_log_history.last().unwrap().operation, Operation::Initiate);
    }

    #[test]
    fn the_shipping_address_expires_with_the_user_data_but_not_the_method() {
        let now = OffsetDateTime::now_utc();
        let mut o = order(1000);
        let mut shipping = vipps_types::ecom::PaymentShippingDetails::new(
            vipps_types::ecom::Kroner::from_ore(4900),
            "Posten",
            "posten-1",
        );
        shipping.address = Some(test_address());
        o.reserve(None, Some(shipping), "", now);
        let fresh = o.details(now + USER_DATA_SHARED_FOR - time::Duration::seconds(1));
        let a = fresh.shipping_details.unwrap().address.unwrap();
        assert_eq!(a.city, "Oslo");
        let old = o.details(now + USER_DATA_SHARED_FOR).shipping_details.unwrap();
        let a = old.address.unwrap();
        assert_eq!(
            (a.city.as_str(), a.post_code.as_str(), a.country.as_str()),
            (EXPIRED, EXPIRED, EXPIRED)
        );
        assert_eq!(a.address_line1.as_deref(), Some(EXPIRED));
        assert_eq!(
            (old.shipping_method_id.as_str(), old.shipping_cost.ore()),
            ("posten-1", 4900)
        );
    }

    #[test]
    fn void_cancel_timeout() {
        let now = OffsetDateTime::now_utc();
        let mut o = order(1000);
        o.reserve(None, None, "", now);
        o.cancel(false, "x", "", now).unwrap();
        assert_eq!(o.phase, Phase::Voided);
        assert_eq!(code(o.capture(None, "x", "", now)), "91");
        assert_eq!(code(o.refund(Some(1), "x", "", now)), "73");
        let mut t = order(1000);
        assert!(t.settle(now).is_none());
        let cb = t.settle(t.expires_at).unwrap();
        assert_eq!(cb.transaction_info.status, CallbackStatus::Rejected);
        assert_eq!(t.status().transaction_info.status, OrderStatus::Rejected);
        assert!(t.details(OffsetDateTime::now_utc()).transaction_summary.is_none());
    }
}
