//! eCom API v2 (legacy, `/ecomm/v2`).
//!
//! Amounts are integers in øre, except `shippingCost`, which the API defines as a decimal
//! number of kroner; [`Kroner`] carries it as øre so no float is ever used.

use crate::validate::{check_len, check_url, Validate, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;

string_enum! {
    /// `merchantInfo.paymentType`.
    pub enum PaymentType {
        /// A regular payment.
        Regular = "eComm Regular Payment",
        /// An express payment (the customer picks shipping in the app).
        Express = "eComm Express Payment",
    }
}

string_enum! {
    /// `transactionLogHistory[].operation`.
    pub enum Operation {
        /// Initiated.
        Initiate = "INITIATE",
        /// Reserved (approved).
        Reserve = "RESERVE",
        /// Direct capture.
        Sale = "SALE",
        /// Captured.
        Capture = "CAPTURE",
        /// Refunded.
        Refund = "REFUND",
        /// Cancelled before reservation (by the customer, a timeout or the merchant).
        Cancel = "CANCEL",
        /// Cancelled after reservation.
        Void = "VOID",
    }
}

string_enum! {
    /// Status in a transaction update callback (regular `RESERVED`, express `RESERVE`).
    pub enum CallbackStatus {
        /// Reserved (regular payments).
        Reserved = "RESERVED",
        /// Reserved (express payments).
        Reserve = "RESERVE",
        /// Direct capture.
        Sale = "SALE",
        /// Cancelled by the customer.
        Cancelled = "CANCELLED",
        /// Timed out.
        Rejected = "REJECTED",
        /// Reservation failed.
        ReserveFailed = "RESERVE_FAILED",
        /// Sale failed.
        SaleFailed = "SALE_FAILED",
    }
}

string_enum! {
    /// Status of the deprecated `/status` endpoint.
    pub enum OrderStatus {
        /// Initiated.
        Initiate = "INITIATE",
        /// Registered.
        Register = "REGISTER",
        /// Reserved.
        Reserve = "RESERVE",
        /// Direct capture.
        Sale = "SALE",
        /// Captured.
        Capture = "CAPTURE",
        /// Refunded.
        Refund = "REFUND",
        /// Cancelled before reservation.
        Cancel = "CANCEL",
        /// Cancelled after reservation.
        Void = "VOID",
        /// Failed.
        Failed = "FAILED",
        /// Rejected (timed out).
        Rejected = "REJECTED",
    }
}

string_enum! {
    /// `transactionInfo.status` in capture/cancel/refund responses (mixed case on the wire).
    pub enum TransactionStatus {
        /// Cancelled.
        Cancelled = "Cancelled",
        /// Captured.
        Captured = "Captured",
        /// Refunded.
        Refund = "Refund",
    }
}

/// A decimal amount of kroner on the wire (`shippingCost: 39.9`), held as øre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Kroner(pub i64);

impl Kroner {
    /// From øre.
    pub fn from_ore(ore: i64) -> Self {
        Kroner(ore)
    }
    /// In øre.
    pub fn ore(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Kroner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Serialize for Kroner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n: serde_json::Number = self.to_string().parse().map_err(serde::ser::Error::custom)?;
        n.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Kroner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        parse_kroner(&n.to_string()).ok_or_else(|| serde::de::Error::custom("expected kroner with at most 2 decimals"))
    }
}

fn parse_kroner(s: &str) -> Option<Kroner> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if s.contains(['e', 'E']) {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 || int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = int.parse().ok()?;
    let cents: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    let v = whole.checked_mul(100)?.checked_add(cents)?;
    Some(Kroner(if neg { -v } else { v }))
}

/// A static shipping option of an express payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingDetails {
    /// `"Y"` or `"N"`.
    pub is_default: String,
    /// Sort order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Cost in kroner (decimal on the wire).
    pub shipping_cost: Kroner,
    /// Name (≤ 256).
    pub shipping_method: String,
    /// Id (≤ 100).
    pub shipping_method_id: String,
}

/// `merchantInfo` of initiate.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantInfo {
    /// Merchant serial number (string of 5–6 digits).
    pub merchant_serial_number: String,
    /// Callbacks go to `{callbackPrefix}/v2/payments/{orderId}` (HTTPS).
    pub callback_prefix: String,
    /// Where the customer returns (HTTPS or an app scheme).
    pub fall_back: String,
    /// Sent back as `Authorization` on callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// Express: consent removal goes to `{consentRemovalPrefix}/v2/consents/{userId}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_removal_prefix: Option<String>,
    /// Whether the payment is initiated from an app (fallBack not validated then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_app: Option<bool>,
    /// Regular (default) or express.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<PaymentType>,
    /// Express: shipping options are fetched from `{shippingDetailsPrefix}/v2/payments/{orderId}/shippingDetails`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_details_prefix: Option<String>,
    /// Express: fixed shipping options (no callback then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_shipping_details: Option<Vec<ShippingDetails>>,
}

redacted_debug!(MerchantInfo {
    plain: [
        merchant_serial_number,
        callback_prefix,
        fall_back,
        consent_removal_prefix,
        is_app,
        payment_type,
        shipping_details_prefix,
        static_shipping_details
    ],
    secret: [auth_token]
});

/// Corrects a Norwegian mobile number the way the eCom API does before using it: spaces go,
/// and a `+47`, `0047` or `47` country code in front of 8 digits goes. `None` when what is
/// left is not 8 digits (the API answers `errorCode: 81`, ecom-v2.yaml,
/// `CustomerInfo.mobileNumber`: "Vipps attempts to correct incorrectly formatted phone
/// numbers instead of responding with `HTTP 400 Bad Request`").
pub fn correct_mobile_number(n: &str) -> Option<String> {
    let digits: String = n.chars().filter(|c| !c.is_whitespace()).collect();
    let rest = ["+47", "0047", "47"]
        .iter()
        .find_map(|p| digits.strip_prefix(p).filter(|r| r.len() == 8))
        .unwrap_or(&digits);
    (rest.len() == 8 && rest.bytes().all(|b| b.is_ascii_digit())).then(|| rest.to_owned())
}

/// `customerInfo` of initiate (may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerInfo {
    /// Norwegian mobile number, 8 digits (the API corrects other formats, see
    /// [`correct_mobile_number`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
}

/// Airline data of initiate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalTransactionData {
    /// Passenger name (≤ 49).
    pub passenger_name: String,
    /// IATA code (≤ 3).
    pub airline_code: String,
    /// IATA designator (≤ 2).
    pub airline_designator_code: String,
    /// Ticket number (≤ 150).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_number: Option<String>,
    /// Invoice number (≤ 6).
    pub agency_invoice_number: String,
}

/// `transaction` of initiate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateTransaction {
    /// Øre, at least 100.
    pub amount: i64,
    /// The order id, `^[a-zA-Z0-9-]{1,50}$`.
    pub order_id: String,
    /// Shown to the customer (≤ 100).
    pub transaction_text: String,
    /// Push message instead of the landing page (needs approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_landing_page: Option<bool>,
    /// Profile scope (`name address email phoneNumber birthDate nin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Airline data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_data: Option<AdditionalTransactionData>,
    /// Explicit checkout flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_explicit_checkout_flow: Option<bool>,
}

/// `POST /ecomm/v2/payments` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiatePaymentRequest {
    /// The customer (may be empty, `{}`, but not left out: the reference marks it required).
    pub customer_info: CustomerInfo,
    /// The merchant.
    pub merchant_info: MerchantInfo,
    /// The transaction.
    pub transaction: InitiateTransaction,
}

/// Checks an eCom order id.
pub fn check_order_id(field: &str, s: &str) -> Result<(), ValidationError> {
    if s.is_empty() || s.len() > 50 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ValidationError::new(
            field,
            "must be 1-50 characters of a-z, A-Z, 0-9 and '-'",
        ));
    }
    Ok(())
}

fn check_msn(field: &str, s: &str) -> Result<(), ValidationError> {
    if !(5..=6).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::new(field, "must be a string of 5 or 6 digits"));
    }
    Ok(())
}

fn check_text(field: &str, s: &str) -> Result<(), ValidationError> {
    check_len(field, s, 1, 100)
}

/// An eCom merchant URL: as [`check_url`], and not `http://localhost`, which the eCom API
/// rejects (knowledge-base--url-validation.md: "URLs that start with `http://localhost` will be
/// rejected. If you want to use localhost as fallback, please use `http://127.0.0.1`."). Other
/// loopback addresses stay accepted so local merchant servers work with the emulator.
fn check_ecom_url(field: &str, s: &str, allow_custom_scheme: bool) -> Result<(), ValidationError> {
    check_url(field, s, allow_custom_scheme, None)?;
    // Decided on the parsed host, as check_url does: `http://localhost\@…` is localhost too.
    let localhost = url::Url::parse(s).is_ok_and(|u| {
        u.scheme() == "http" && matches!(u.host(), Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost"))
    });
    if localhost {
        return Err(ValidationError::new(
            field,
            "URLs that start with http://localhost are rejected: use http://127.0.0.1",
        ));
    }
    Ok(())
}

impl Validate for InitiatePaymentRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        let m = &self.merchant_info;
        check_msn("merchantSerialNumber", &m.merchant_serial_number)?;
        check_len("callbackPrefix", &m.callback_prefix, 1, 255)?;
        check_ecom_url("callbackPrefix", &m.callback_prefix, false)?;
        check_len("fallBack", &m.fall_back, 1, 255)?;
        if m.is_app != Some(true) {
            check_ecom_url("fallBack", &m.fall_back, true)?;
        }
        if let Some(t) = &m.auth_token {
            check_len("authToken", t, 1, 255)?;
        }
        if let Some(pt) = &m.payment_type {
            if !pt.is_known() {
                return Err(ValidationError::new(
                    "paymentType",
                    "must be 'eComm Regular Payment' or 'eComm Express Payment'",
                ));
            }
        }
        for (name, v) in [
            ("consentRemovalPrefix", &m.consent_removal_prefix),
            ("shippingDetailsPrefix", &m.shipping_details_prefix),
        ] {
            if let Some(u) = v {
                check_len(name, u, 1, 255)?;
                check_ecom_url(name, u, false)?;
            }
        }
        let express = m.payment_type == Some(PaymentType::Express);
        if express && m.consent_removal_prefix.is_none() {
            return Err(ValidationError::new(
                "consentRemovalPrefix",
                "is required for express payments",
            ));
        }
        if express && m.static_shipping_details.is_none() && m.shipping_details_prefix.is_none() {
            return Err(ValidationError::new(
                "shippingDetailsPrefix",
                "express payments need shippingDetailsPrefix or staticShippingDetails",
            ));
        }
        for (i, s) in m.static_shipping_details.iter().flatten().enumerate() {
            if s.is_default != "Y" && s.is_default != "N" {
                return Err(ValidationError::new(
                    format!("staticShippingDetails[{i}].isDefault"),
                    "must be 'Y' or 'N'",
                ));
            }
            if s.shipping_cost.0 < 0 {
                return Err(ValidationError::new(
                    format!("staticShippingDetails[{i}].shippingCost"),
                    "must not be negative",
                ));
            }
            check_len(
                &format!("staticShippingDetails[{i}].shippingMethod"),
                &s.shipping_method,
                1,
                256,
            )?;
            check_len(
                &format!("staticShippingDetails[{i}].shippingMethodId"),
                &s.shipping_method_id,
                1,
                100,
            )?;
        }
        // `customerInfo.mobileNumber` is not checked here: Vipps corrects badly formatted
        // numbers instead of answering 400, and one it cannot correct is `errorCode: 81`
        // from the API (ecom-v2.yaml, `CustomerInfo.mobileNumber`); see
        // [`correct_mobile_number`].
        let t = &self.transaction;
        if t.amount < 100 {
            return Err(ValidationError::new("amount", "must be at least 100 øre"));
        }
        check_order_id("orderId", &t.order_id)?;
        check_text("transactionText", &t.transaction_text)?;
        if let Some(scope) = &t.scope {
            for s in scope.split(' ').filter(|s| !s.is_empty()) {
                if !crate::epayment::PROFILE_SCOPES.contains(&s) {
                    return Err(ValidationError::new("scope", format!("unknown scope '{s}'")));
                }
            }
        }
        if let Some(a) = &t.additional_data {
            check_len("additionalData.passengerName", &a.passenger_name, 1, 49)?;
            check_len("additionalData.airlineCode", &a.airline_code, 1, 3)?;
            check_len("additionalData.airlineDesignatorCode", &a.airline_designator_code, 1, 2)?;
            check_len("additionalData.agencyInvoiceNumber", &a.agency_invoice_number, 1, 6)?;
        }
        Ok(())
    }
}

/// Response of initiate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InitiatePaymentResponse {
    /// The order id.
    pub order_id: String,
    /// The landing page or deeplink (valid 5 minutes).
    pub url: String,
}

impl InitiatePaymentResponse {
    /// The answer to initiate: the order id and where the customer goes.
    pub fn new(order_id: impl Into<String>, url: impl Into<String>) -> Self {
        InitiatePaymentResponse {
            order_id: order_id.into(),
            url: url.into(),
        }
    }
}

/// `merchantInfo` of capture, cancel and refund.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantInfoPayment {
    /// Merchant serial number.
    pub merchant_serial_number: String,
}

/// `transaction` of capture and refund.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationTransaction {
    /// Øre; for capture, absent or 0 captures everything remaining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Text (≤ 100).
    pub transaction_text: String,
}

/// Body of capture and refund.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentActionsRequest {
    /// The merchant.
    pub merchant_info: MerchantInfoPayment,
    /// Amount and text.
    pub transaction: ModificationTransaction,
}

impl Validate for PaymentActionsRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        check_msn("merchantSerialNumber", &self.merchant_info.merchant_serial_number)?;
        check_text("transactionText", &self.transaction.transaction_text)?;
        if let Some(a) = self.transaction.amount {
            if a < 0 {
                return Err(ValidationError::new("amount", "must not be negative"));
            }
        }
        Ok(())
    }
}

/// `transaction` of cancel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelTransaction {
    /// Text (≤ 100).
    pub transaction_text: String,
}

/// Body of cancel (`PUT`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelPaymentRequest {
    /// The merchant.
    pub merchant_info: MerchantInfoPayment,
    /// The text.
    pub transaction: CancelTransaction,
    /// After a partial capture: release the rest (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub should_release_remaining_funds: Option<bool>,
}

impl Validate for CancelPaymentRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        check_msn("merchantSerialNumber", &self.merchant_info.merchant_serial_number)?;
        check_text("transactionText", &self.transaction.transaction_text)
    }
}

/// `transactionSummary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionSummary {
    /// Captured so far (øre).
    #[serde(default)]
    pub captured_amount: i64,
    /// Refunded so far.
    #[serde(default)]
    pub refunded_amount: i64,
    /// Still capturable.
    #[serde(default)]
    pub remaining_amount_to_capture: i64,
    /// Still refundable.
    #[serde(default)]
    pub remaining_amount_to_refund: i64,
    /// Card BIN: the first six digits of the card number, a JSON integer as the reference shows
    /// it (a string of digits is read too).
    #[serde(
        default,
        deserialize_with = "crate::common::string_or_number::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub bank_identification_number: Option<i64>,
}

/// `transactionInfo` of capture/cancel/refund responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionInfo {
    /// Amount of this operation (øre).
    pub amount: i64,
    /// `Captured`, `Cancelled` or `Refund`.
    pub status: TransactionStatus,
    /// When (ISO 8601).
    pub time_stamp: String,
    /// Transaction id (≥ 10 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Text.
    #[serde(default)]
    pub transaction_text: String,
}

impl TransactionInfo {
    /// One operation: its amount, status and time (ISO 8601). `transaction_id` and
    /// `transaction_text` start empty: set them by assignment.
    pub fn new(amount: i64, status: TransactionStatus, time_stamp: impl Into<String>) -> Self {
        TransactionInfo {
            amount,
            status,
            time_stamp: time_stamp.into(),
            transaction_id: None,
            transaction_text: String::new(),
        }
    }
}

/// Response of capture and cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionResponse {
    /// The order id.
    pub order_id: String,
    /// Payment instrument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_instrument: Option<String>,
    /// This operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_info: Option<TransactionInfo>,
    /// Totals after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_summary: Option<TransactionSummary>,
}

impl TransactionResponse {
    /// The answer for `order_id`; the optional parts start as `None`: set them by assignment.
    pub fn new(order_id: impl Into<String>) -> Self {
        TransactionResponse {
            order_id: order_id.into(),
            payment_instrument: None,
            transaction_info: None,
            transaction_summary: None,
        }
    }
}

/// Response of refund (`transaction`, not `transactionInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RefundTransactionResponse {
    /// The order id.
    pub order_id: String,
    /// This operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<TransactionInfo>,
    /// Totals after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_summary: Option<TransactionSummary>,
}

impl RefundTransactionResponse {
    /// The answer for `order_id`; the optional parts start as `None`: set them by assignment.
    pub fn new(order_id: impl Into<String>) -> Self {
        RefundTransactionResponse {
            order_id: order_id.into(),
            transaction: None,
            transaction_summary: None,
        }
    }
}

/// One entry of `transactionLogHistory` (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionLogEntry {
    /// Amount (øre).
    pub amount: i64,
    /// Operation.
    pub operation: Operation,
    /// Whether it succeeded.
    pub operation_success: bool,
    /// The `X-Request-Id` of the call, or empty.
    #[serde(default)]
    pub request_id: String,
    /// When.
    #[serde(default)]
    pub time_stamp: String,
    /// Transaction id.
    #[serde(default)]
    pub transaction_id: String,
    /// Text.
    #[serde(default)]
    pub transaction_text: String,
}

impl TransactionLogEntry {
    /// An entry for `operation` of `amount`. The request id, time stamp, transaction id and
    /// text start empty: set them by assignment.
    pub fn new(amount: i64, operation: Operation, operation_success: bool) -> Self {
        TransactionLogEntry {
            amount,
            operation,
            operation_success,
            request_id: String::new(),
            time_stamp: String::new(),
            transaction_id: String::new(),
            transaction_text: String::new(),
        }
    }
}

/// A postal address (express).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Address {
    /// Line 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    /// Line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Country.
    #[serde(default)]
    pub country: String,
    /// Post code (`postCode`; express callbacks send `zipCode`, accepted too).
    #[serde(default, alias = "zipCode")]
    pub post_code: String,
}

/// `shippingDetails` of details (express).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentShippingDetails {
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Cost (kroner decimal).
    pub shipping_cost: Kroner,
    /// Method name.
    pub shipping_method: String,
    /// Method id.
    pub shipping_method_id: String,
}

impl PaymentShippingDetails {
    /// The chosen shipping method and its cost, without an address (set `address`).
    pub fn new(
        shipping_cost: Kroner,
        shipping_method: impl Into<String>,
        shipping_method_id: impl Into<String>,
    ) -> Self {
        PaymentShippingDetails {
            address: None,
            shipping_cost,
            shipping_method: shipping_method.into(),
            shipping_method_id: shipping_method_id.into(),
        }
    }
}

/// `shippingDetails` of an Express callback: as in `/details`, except that the callback's
/// address names its post code `zipCode` (the reference's callback sample and `AddressExpress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallbackShippingDetails {
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<CallbackAddress>,
    /// Cost (kroner decimal).
    pub shipping_cost: Kroner,
    /// Method name.
    pub shipping_method: String,
    /// Method id.
    pub shipping_method_id: String,
}

impl CallbackShippingDetails {
    /// The chosen shipping method and its cost, without an address (set `address`).
    pub fn new(
        shipping_cost: Kroner,
        shipping_method: impl Into<String>,
        shipping_method_id: impl Into<String>,
    ) -> Self {
        CallbackShippingDetails {
            address: None,
            shipping_cost,
            shipping_method: shipping_method.into(),
            shipping_method_id: shipping_method_id.into(),
        }
    }
}

/// The address of an Express callback (`zipCode`; `postCode` is read too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallbackAddress {
    /// Line 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    /// Line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Country.
    #[serde(default)]
    pub country: String,
    /// Post code.
    #[serde(default, rename = "zipCode", alias = "postCode")]
    pub zip_code: String,
}

impl From<Address> for CallbackAddress {
    fn from(a: Address) -> Self {
        CallbackAddress {
            address_line1: a.address_line1,
            address_line2: a.address_line2,
            city: a.city,
            country: a.country,
            zip_code: a.post_code,
        }
    }
}

impl From<PaymentShippingDetails> for CallbackShippingDetails {
    fn from(d: PaymentShippingDetails) -> Self {
        CallbackShippingDetails {
            address: d.address.map(CallbackAddress::from),
            shipping_cost: d.shipping_cost,
            shipping_method: d.shipping_method,
            shipping_method_id: d.shipping_method_id,
        }
    }
}

/// `userDetails` (express, profile).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserDetails {
    /// Email.
    #[serde(default)]
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// 8-digit mobile number.
    #[serde(default)]
    pub mobile_number: String,
    /// User id (for consent removal).
    #[serde(default)]
    pub user_id: String,
}

/// Response of `GET …/details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionDetails {
    /// The order id.
    pub order_id: String,
    /// Totals (absent until the customer acted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_summary: Option<TransactionSummary>,
    /// History, newest first.
    #[serde(default)]
    pub transaction_log_history: Vec<TransactionLogEntry>,
    /// Express shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_details: Option<PaymentShippingDetails>,
    /// Express/profile user details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_details: Option<UserDetails>,
    /// Userinfo `sub` (profile flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

impl TransactionDetails {
    /// The details of `order_id` with an empty history; the optional parts start as `None`:
    /// set them (and `transaction_log_history`) by assignment.
    pub fn new(order_id: impl Into<String>) -> Self {
        TransactionDetails {
            order_id: order_id.into(),
            transaction_summary: None,
            transaction_log_history: Vec::new(),
            shipping_details: None,
            user_details: None,
            sub: None,
        }
    }
}

/// `transactionInfo` of the deprecated `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusTransactionInfo {
    /// Amount.
    pub amount: i64,
    /// Status.
    pub status: OrderStatus,
    /// When.
    #[serde(default)]
    pub time_stamp: String,
    /// Transaction id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

impl StatusTransactionInfo {
    /// The last operation's amount and status; `time_stamp` starts empty and `transaction_id`
    /// as `None`: set them by assignment.
    pub fn new(amount: i64, status: OrderStatus) -> Self {
        StatusTransactionInfo {
            amount,
            status,
            time_stamp: String::new(),
            transaction_id: None,
        }
    }
}

/// Response of the deprecated `GET …/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentStatus {
    /// The order id.
    pub order_id: String,
    /// Status.
    pub transaction_info: StatusTransactionInfo,
}

impl PaymentStatus {
    /// The status of `order_id`.
    pub fn new(order_id: impl Into<String>, transaction_info: StatusTransactionInfo) -> Self {
        PaymentStatus {
            order_id: order_id.into(),
            transaction_info,
        }
    }
}

/// Body of the test-only force approve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForceApproveRequest {
    /// 8-digit test user number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone_number: Option<String>,
    /// The token from the initiate `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// One entry of eCom's error array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EcomError {
    /// `Authentication`, `Payment`, `InvalidRequest`, `VippsError`, `User`, `Merchant`.
    pub error_group: String,
    /// The code (a number as a string, or the field name for InvalidRequest).
    pub error_code: String,
    /// Message.
    pub error_message: String,
    /// Trace id.
    #[serde(default)]
    pub context_id: String,
}

impl EcomError {
    /// An error of `error_group` with its code and message; `context_id` starts empty (set it
    /// to a trace id).
    pub fn new(
        error_group: impl Into<String>,
        error_code: impl Into<String>,
        error_message: impl Into<String>,
    ) -> Self {
        EcomError {
            error_group: error_group.into(),
            error_code: error_code.into(),
            error_message: error_message.into(),
            context_id: String::new(),
        }
    }
}

/// `transactionInfo` of a transaction update callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallbackTransactionInfo {
    /// Amount.
    pub amount: i64,
    /// Status.
    pub status: CallbackStatus,
    /// When.
    #[serde(default)]
    pub time_stamp: String,
    /// Transaction id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

impl CallbackTransactionInfo {
    /// The update's amount and status; `time_stamp` starts empty and `transaction_id` as
    /// `None`: set them by assignment.
    pub fn new(amount: i64, status: CallbackStatus) -> Self {
        CallbackTransactionInfo {
            amount,
            status,
            time_stamp: String::new(),
            transaction_id: None,
        }
    }
}

/// Body of `POST {callbackPrefix}/v2/payments/{orderId}` (regular and express).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionUpdateCallback {
    /// Merchant serial number.
    pub merchant_serial_number: String,
    /// Order id.
    pub order_id: String,
    /// The update.
    pub transaction_info: CallbackTransactionInfo,
    /// Express: the chosen shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_details: Option<CallbackShippingDetails>,
    /// Express: the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_details: Option<UserDetails>,
    /// Error info, on failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_info: Option<serde_json::Value>,
}

impl TransactionUpdateCallback {
    /// The callback for `order_id` of merchant `merchant_serial_number`; the Express parts and
    /// `error_info` start as `None`: set them by assignment.
    pub fn new(
        merchant_serial_number: impl Into<String>,
        order_id: impl Into<String>,
        transaction_info: CallbackTransactionInfo,
    ) -> Self {
        TransactionUpdateCallback {
            merchant_serial_number: merchant_serial_number.into(),
            order_id: order_id.into(),
            transaction_info,
            shipping_details: None,
            user_details: None,
            error_info: None,
        }
    }
}

/// Body of `POST {shippingDetailsPrefix}/v2/payments/{orderId}/shippingDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShippingCostRequest {
    /// Address id (≥ 100).
    pub address_id: i64,
    /// Line 1.
    #[serde(default)]
    pub address_line1: String,
    /// Line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// City.
    pub city: String,
    /// Country (`NO`).
    pub country: String,
    /// Post code (4 digits).
    pub post_code: String,
    /// `H`, `W` or `O`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
}

impl ShippingCostRequest {
    /// The call for address `address_id` (city, country, post code); the address lines and
    /// type start empty: set them by assignment.
    pub fn new(
        address_id: i64,
        city: impl Into<String>,
        country: impl Into<String>,
        post_code: impl Into<String>,
    ) -> Self {
        ShippingCostRequest {
            address_id,
            address_line1: String::new(),
            address_line2: None,
            city: city.into(),
            country: country.into(),
            post_code: post_code.into(),
            address_type: None,
        }
    }
}

/// The merchant's answer to the shipping details callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingCostResponse {
    /// Echo of the address id.
    #[serde(default)]
    pub address_id: i64,
    /// Echo of the order id.
    #[serde(default)]
    pub order_id: String,
    /// The options.
    #[serde(default)]
    pub shipping_details: Vec<ShippingDetails>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kroner_are_exact() {
        let k: Kroner = serde_json::from_str("39.9").unwrap();
        assert_eq!(k.ore(), 3990);
        assert_eq!(serde_json::from_str::<Kroner>("100").unwrap().ore(), 10000);
        assert_eq!(serde_json::from_str::<Kroner>("0.05").unwrap().ore(), 5);
        assert!(serde_json::from_str::<Kroner>("1.005").is_err());
        assert_eq!(serde_json::to_string(&Kroner(3990)).unwrap(), "39.9");
        assert_eq!(serde_json::to_string(&Kroner(12345678)).unwrap(), "123456.78");
        assert_eq!(serde_json::to_string(&Kroner(5)).unwrap(), "0.05");
    }

    #[test]
    fn spec_examples_parse() {
        let details = r#"{"orderId":"acme-shop-123-order123abc","transactionSummary":{"capturedAmount":20000,"refundedAmount":0,"remainingAmountToCapture":0,"remainingAmountToRefund":20000,"bankIdentificationNumber":"123456"},"transactionLogHistory":[{"amount":20000,"transactionText":"One pair of socks","transactionId":"5001420062","timeStamp":"2018-11-14T15:22:26.000Z","operation":"CAPTURE","requestId":"","operationSuccess":true},{"amount":20000,"transactionText":"x","transactionId":"5001420062","timeStamp":"2018-11-14T15:21:22.000Z","operation":"RESERVE","requestId":"","operationSuccess":true}]}"#;
        let d: TransactionDetails = serde_json::from_str(details).unwrap();
        assert_eq!(d.transaction_log_history[0].operation, Operation::Capture);
        let cb = r#"{"merchantSerialNumber":"123456","orderId":"order-1","transactionInfo":{"amount":20000,"status":"RESERVED","timeStamp":"2018-12-12T11:18:38.246Z","transactionId":"5001420062"}}"#;
        let c: TransactionUpdateCallback = serde_json::from_str(cb).unwrap();
        assert_eq!(c.transaction_info.status, CallbackStatus::Reserved);
        let express = r#"{"merchantSerialNumber":"123456","orderId":"order-1","shippingDetails":{"address":{"addressLine1":"Dronning Eufemias gate 42","addressLine2":"","city":"Oslo","country":"Norway","zipCode":"0191"},"shippingCost":109.0,"shippingMethod":"Posten Servicepakke","shippingMethodId":"posten-1"},"transactionInfo":{"amount":20000,"status":"RESERVE","timeStamp":"2018-12-12T11:18:38.246Z","transactionId":"5001420062"},"userDetails":{"email":"user@example.com","firstName":"Ada","lastName":"Lovelace","mobileNumber":"12345678","userId":"12345678"}}"#;
        let e: TransactionUpdateCallback = serde_json::from_str(express).unwrap();
        assert_eq!(e.shipping_details.unwrap().shipping_cost.ore(), 10900);
    }

    #[test]
    fn initiate_validation() {
        let mut r = InitiatePaymentRequest {
            merchant_info: MerchantInfo {
                merchant_serial_number: "123456".into(),
                callback_prefix: "https://example.com/vipps".into(),
                fall_back: "https://example.com/fallback".into(),
                ..Default::default()
            },
            transaction: InitiateTransaction {
                amount: 20000,
                order_id: "order-1".into(),
                transaction_text: "Socks".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        r.validate().unwrap();
        r.transaction.amount = 99;
        assert_eq!(r.validate().unwrap_err().field, "amount");
        r.transaction.amount = 100;
        r.merchant_info.callback_prefix = "http://example.com".into();
        assert_eq!(r.validate().unwrap_err().field, "callbackPrefix");
        r.merchant_info.callback_prefix = "https://example.com".into();
        r.merchant_info.payment_type = Some(PaymentType::Express);
        assert_eq!(r.validate().unwrap_err().field, "consentRemovalPrefix");
        r.merchant_info.payment_type = None;
        // The API corrects phone numbers rather than refusing them (ecom-v2.yaml).
        r.customer_info.mobile_number = Some("+47 912 34 567".into());
        r.validate().unwrap();
        // knowledge-base--url-validation.md: http://localhost is rejected, http://127.0.0.1 is not.
        r.merchant_info.fall_back = "http://localhost:3000/done".into();
        assert_eq!(r.validate().unwrap_err().field, "fallBack");
        r.merchant_info.fall_back = "http://localhost\\@127.0.0.1:3000/done".into();
        assert_eq!(
            r.validate().unwrap_err().field,
            "fallBack",
            "the parsed host is localhost"
        );
        r.merchant_info.fall_back = "http://127.0.0.1:3000/done".into();
        r.validate().unwrap();
    }

    #[test]
    fn mobile_numbers_are_corrected() {
        for n in ["91234567", "+4791234567", "4791234567", "004791234567", "912 34 567"] {
            assert_eq!(correct_mobile_number(n).as_deref(), Some("91234567"), "{n}");
        }
        assert_eq!(correct_mobile_number("47123456").as_deref(), Some("47123456"));
        for n in ["", "1234567", "+4691234567", "9123456a", "912345678"] {
            assert_eq!(correct_mobile_number(n), None, "{n}");
        }
    }
}
