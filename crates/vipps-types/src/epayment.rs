//! ePayment API v1 (`/epayment/v1`).

use crate::common::{Amount, Currency, Reference};
use crate::validate::{check_len, check_url, Validate, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

string_enum! {
    /// How the customer is brought to the app.
    pub enum UserFlow {
        /// A push message to the customer's phone (needs `customer`).
        PushMessage = "PUSH_MESSAGE",
        /// App switch from the merchant's own app.
        NativeRedirect = "NATIVE_REDIRECT",
        /// The browser flow: app on mobile, landing page elsewhere (needs `returnUrl`).
        WebRedirect = "WEB_REDIRECT",
        /// A QR code the customer scans.
        Qr = "QR",
    }
}

string_enum! {
    /// The payment method.
    pub enum PaymentMethodType {
        /// A card in the Vipps or MobilePay app.
        Wallet = "WALLET",
        /// A freestanding card payment (`WEB_REDIRECT` only; not in the test environment).
        Card = "CARD",
        /// Card passthrough, for payment service providers.
        CardPassthrough = "CARD_PASSTHROUGH",
    }
}

string_enum! {
    /// Whether the customer is physically present.
    pub enum CustomerInteraction {
        /// At the point of sale.
        CustomerPresent = "CUSTOMER_PRESENT",
        /// Online (the default).
        CustomerNotPresent = "CUSTOMER_NOT_PRESENT",
    }
}

string_enum! {
    /// The state of a payment. `AUTHORIZED` stays `AUTHORIZED` through captures, refunds and
    /// cancels: read the [`Aggregate`] for those.
    pub enum PaymentState {
        /// Waiting for the customer.
        Created = "CREATED",
        /// The customer aborted (final).
        Aborted = "ABORTED",
        /// Nobody acted in time (final).
        Expired = "EXPIRED",
        /// The customer approved; the amount is reserved (final).
        Authorized = "AUTHORIZED",
        /// The merchant cancelled before approval (final).
        Terminated = "TERMINATED",
    }
}

impl PaymentState {
    /// Whether nothing more will happen to the state (every state but `CREATED`).
    pub fn is_final(&self) -> bool {
        !matches!(self, PaymentState::Created)
    }
}

string_enum! {
    /// The name of an event in a payment's event log (and of its webhook).
    pub enum PaymentEventName {
        /// Payment created.
        Created = "CREATED",
        /// Customer aborted.
        Aborted = "ABORTED",
        /// Payment expired.
        Expired = "EXPIRED",
        /// Remaining reservation cancelled.
        Cancelled = "CANCELLED",
        /// An amount was captured.
        Captured = "CAPTURED",
        /// An amount was refunded.
        Refunded = "REFUNDED",
        /// Customer approved.
        Authorized = "AUTHORIZED",
        /// Merchant cancelled before approval.
        Terminated = "TERMINATED",
    }
}

impl PaymentEventName {
    /// The webhook event type for this event, e.g. `epayments.payment.captured.v1`.
    pub fn webhook_event_type(&self) -> String {
        format!("epayments.payment.{}.v1", self.as_str().to_ascii_lowercase())
    }
}

string_enum! {
    /// The format of the QR code for `userFlow=QR`.
    pub enum QrFormatKind {
        /// A target URL instead of an image.
        TextTargetUrl = "TEXT/TARGETURL",
        /// An SVG image (default).
        ImageSvg = "IMAGE/SVG+XML",
        /// A PNG image.
        ImagePng = "IMAGE/PNG",
    }
}

/// The customer, when known. Exactly one field must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// MSISDN: country code and number, digits only, e.g. `4791234567`. Read from a bare JSON
    /// integer too, as the official Postman collection sends it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::common::string_or_number::opt_string_or_integer"
    )]
    pub phone_number: Option<String>,
    /// The full content of the customer's personal QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_qr: Option<String>,
    /// A customer token from a `user.checked-in.v1` webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_token: Option<String>,
}

impl Customer {
    /// A customer identified by phone number (MSISDN).
    pub fn phone(number: impl Into<String>) -> Self {
        Customer {
            phone_number: Some(number.into()),
            ..Default::default()
        }
    }

    fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        let set = [
            self.phone_number.is_some(),
            self.personal_qr.is_some(),
            self.customer_token.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            return Err(ValidationError::with_code(
                prefix,
                "exactly one of phoneNumber, personalQr and customerToken must be given",
                4140,
            ));
        }
        if let Some(p) = &self.phone_number {
            if !(10..=15).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ValidationError::with_code(
                    format!("{prefix}.phoneNumber"),
                    "must be an MSISDN: 10-15 digits with country code, no '+' or spaces (e.g. 4791234567)",
                    4070,
                ));
            }
        }
        if let Some(q) = &self.personal_qr {
            check_len(&format!("{prefix}.personalQr"), q, 5, 255)
                .map_err(|e| ValidationError { code: Some(4060), ..e })?;
        }
        if let Some(t) = &self.customer_token {
            if t.is_empty() || t.len() > 255 {
                return Err(ValidationError::with_code(
                    format!("{prefix}.customerToken"),
                    "is not a valid customer token",
                    4050,
                ));
            }
        }
        Ok(())
    }
}

/// `{ "type": "WALLET" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// The payment method type.
    #[serde(rename = "type")]
    pub type_: PaymentMethodType,
}

impl PaymentMethod {
    /// The app wallet.
    pub fn wallet() -> Self {
        PaymentMethod {
            type_: PaymentMethodType::Wallet,
        }
    }
}

/// The payment method as reported by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentMethodResponse {
    /// The payment method type.
    #[serde(rename = "type")]
    pub type_: PaymentMethodType,
    /// The card's BIN, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_bin: Option<String>,
}

impl PaymentMethodResponse {
    /// The method of a payment, without a card BIN (set `card_bin` when there is one).
    pub fn new(type_: PaymentMethodType) -> Self {
        PaymentMethodResponse { type_, card_bin: None }
    }
}

/// Which profile data the customer is asked to share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRequest {
    /// Space-separated: `name address email phoneNumber birthDate nin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The profile in a payment: `sub` is set once authorized, when a scope was requested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProfileResponse {
    /// The user id for the Userinfo API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

impl ProfileResponse {
    /// The profile of a payment whose customer shared data: `sub` is their user id for the
    /// Userinfo API. (Without one, the profile is `ProfileResponse::default()`.)
    pub fn with_sub(sub: impl Into<String>) -> Self {
        ProfileResponse { sub: Some(sub.into()) }
    }
}

/// The profile scopes the API knows.
pub const PROFILE_SCOPES: &[&str] = &["name", "address", "email", "phoneNumber", "birthDate", "nin"];

/// `qrFormat` for `userFlow=QR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrFormat {
    /// The format.
    pub format: QrFormatKind,
    /// Pixel size for PNG, 100–2000 (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// Airline data for compliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AirlineData {
    /// Agency invoice number (1–6).
    pub agency_invoice_number: String,
    /// IATA 3-digit accounting code.
    pub airline_code: String,
    /// IATA 2-letter designator.
    pub airline_designator_code: String,
    /// Passenger name (1–49).
    pub passenger_name: String,
    /// Ticket number (1–150).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_number: Option<String>,
}

/// Additional compliance data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndustryData {
    /// Airline data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub airline_data: Option<AirlineData>,
}

/// The receipt types are Order Management's (ePayment's `receipt` references its `Receipt`).
pub use crate::order_management::{BottomLine, OrderLine, Receipt, UnitInfo};

/// `POST /epayment/v1/payments` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentRequest {
    /// The amount to reserve.
    pub amount: Amount,
    /// The customer, when known (required for `PUSH_MESSAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// Customer present or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_interaction: Option<CustomerInteraction>,
    /// Compliance data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry_data: Option<IndustryData>,
    /// The payment method.
    pub payment_method: PaymentMethod,
    /// Profile sharing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRequest>,
    /// The merchant's unique reference.
    pub reference: Reference,
    /// Where the customer returns (required for `WEB_REDIRECT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The user flow.
    pub user_flow: UserFlow,
    /// Long-living payments: when the payment expires (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::common::rfc3339::option"
    )]
    pub expires_at: Option<OffsetDateTime>,
    /// QR format for `userFlow=QR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_format: Option<QrFormat>,
    /// Shown to the customer (3–100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_description: Option<String>,
    /// A receipt for the app (required with `expiresAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// Up to 5 key/value pairs, echoed by get payment. A key given twice is refused (4110).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::common::unique_keys::opt_map"
    )]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Where a receipt can be viewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    /// The customer must be at least this old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_user_age: Option<i64>,
    /// Express shipping: fixed option groups or a dynamic options callback (with `WALLET` and
    /// `profile.scope` exactly `name address email phoneNumber`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
    /// Payment sources to block (Danish and Finnish sales units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_sources: Option<Vec<String>>,
}

impl CreatePaymentRequest {
    /// A wallet payment with the required fields; set the rest with struct update syntax.
    pub fn new(amount: Amount, reference: Reference, user_flow: UserFlow) -> Self {
        CreatePaymentRequest {
            amount,
            customer: None,
            customer_interaction: None,
            industry_data: None,
            payment_method: PaymentMethod::wallet(),
            profile: None,
            reference,
            return_url: None,
            user_flow,
            expires_at: None,
            qr_format: None,
            payment_description: None,
            receipt: None,
            metadata: None,
            receipt_url: None,
            minimum_user_age: None,
            shipping: None,
            blocked_sources: None,
        }
    }

    /// An Express payment: `WALLET`, `WEB_REDIRECT`, the profile scope Express needs, and the
    /// shipping the customer chooses from in the app (its cost is added to the amount).
    pub fn express(amount: Amount, reference: Reference, return_url: impl Into<String>, shipping: Shipping) -> Self {
        CreatePaymentRequest {
            return_url: Some(return_url.into()),
            profile: Some(ProfileRequest {
                scope: Some(EXPRESS_SCOPE.join(" ")),
            }),
            shipping: Some(shipping),
            ..CreatePaymentRequest::new(amount, reference, UserFlow::WebRedirect)
        }
    }

    /// Whether this is an Express payment (it has `shipping`).
    pub fn is_express(&self) -> bool {
        self.shipping.is_some()
    }

    /// The three rules of Express: `WALLET`, the exact profile scope, and valid shipping.
    fn validate_express(&self, shipping: &Shipping) -> Result<(), ValidationError> {
        if self.payment_method.type_ != PaymentMethodType::Wallet {
            return Err(ValidationError::with_code(
                "paymentMethod.type",
                "Express payments (with shipping) must use WALLET",
                4160,
            ));
        }
        let scope = self.profile.as_ref().and_then(|p| p.scope.as_deref()).unwrap_or("");
        let mut asked: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
        asked.sort_unstable();
        let mut needed = EXPRESS_SCOPE.to_vec();
        needed.sort_unstable();
        if asked != needed {
            return Err(ValidationError::with_code(
                "profile.scope",
                "Express payments (with shipping) need profile.scope exactly \"name address email phoneNumber\"",
                4080,
            ));
        }
        shipping.validate_for(&self.amount.currency)
    }

    /// Checks `expiresAt` against the clock: more than 10 minutes and at most 60 days ahead.
    pub fn validate_expiry(&self, now: OffsetDateTime) -> Result<(), ValidationError> {
        if let Some(at) = self.expires_at {
            if at < now + time::Duration::minutes(10) {
                return Err(ValidationError::with_code(
                    "expiresAt",
                    "must be more than 10 minutes in the future",
                    6120,
                ));
            }
            if at > now + time::Duration::days(60) {
                return Err(ValidationError::with_code(
                    "expiresAt",
                    "must be at most 60 days in the future",
                    6110,
                ));
            }
        }
        Ok(())
    }
}

/// Checks an amount for a payment or modification.
pub fn validate_amount(field: &str, a: &Amount, positive: bool) -> Result<(), ValidationError> {
    if !a.currency.is_known() {
        return Err(ValidationError::with_code(
            format!("{field}.currency"),
            format!("'{}' is not a supported currency (NOK, DKK or EUR)", a.currency),
            4040,
        ));
    }
    if a.value < 0 || a.value > 65_000_000 {
        return Err(ValidationError::with_code(
            format!("{field}.value"),
            "must be between 0 and 65000000 minor units",
            4040,
        ));
    }
    if positive && a.value == 0 {
        return Err(ValidationError::with_code(
            format!("{field}.value"),
            "must be greater than 0",
            4040,
        ));
    }
    Ok(())
}

impl Validate for CreatePaymentRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        Reference::check(self.reference.as_str()).map_err(|e| ValidationError::new("reference", e.reason))?;
        validate_amount("amount", &self.amount, false)?;
        let min = match self.amount.currency {
            Currency::Nok => 100,
            _ => 1,
        };
        if self.amount.value < min {
            return Err(ValidationError::with_code(
                "amount.value",
                format!(
                    "amount too small: the minimum is {min} minor units of {}",
                    self.amount.currency
                ),
                6010,
            ));
        }
        if !self.payment_method.type_.is_known() {
            return Err(ValidationError::with_code(
                "paymentMethod.type",
                "must be WALLET, CARD or CARD_PASSTHROUGH",
                4160,
            ));
        }
        if !self.user_flow.is_known() {
            return Err(ValidationError::new(
                "userFlow",
                "must be PUSH_MESSAGE, NATIVE_REDIRECT, WEB_REDIRECT or QR",
            ));
        }
        if self.payment_method.type_ == PaymentMethodType::Card && self.user_flow != UserFlow::WebRedirect {
            return Err(ValidationError::with_code(
                "paymentMethod.type",
                "CARD requires userFlow WEB_REDIRECT",
                4160,
            ));
        }
        if let Some(c) = &self.customer {
            c.validate_at("customer")?;
        }
        if let Some(ci) = &self.customer_interaction {
            if !ci.is_known() {
                return Err(ValidationError::new(
                    "customerInteraction",
                    "must be CUSTOMER_PRESENT or CUSTOMER_NOT_PRESENT",
                ));
            }
        }
        match self.user_flow {
            UserFlow::WebRedirect if self.return_url.is_none() => {
                return Err(ValidationError::with_code(
                    "returnUrl",
                    "is required when userFlow is WEB_REDIRECT",
                    4140,
                ));
            }
            UserFlow::PushMessage if self.customer.is_none() => {
                return Err(ValidationError::with_code(
                    "customer",
                    "is required when userFlow is PUSH_MESSAGE",
                    4140,
                ));
            }
            _ => {}
        }
        if let Some(u) = &self.return_url {
            check_url("returnUrl", u, true, Some(4090))?;
        }
        if let Some(u) = &self.receipt_url {
            check_url("receiptUrl", u, true, Some(4090))?;
        }
        if let Some(d) = &self.payment_description {
            check_len("paymentDescription", d, 3, 100)?;
        }
        if let Some(p) = &self.profile {
            if let Some(scope) = &p.scope {
                for s in scope.split(' ').filter(|s| !s.is_empty()) {
                    if !PROFILE_SCOPES.contains(&s) {
                        return Err(ValidationError::with_code(
                            "profile.scope",
                            format!("unknown scope '{s}'"),
                            4080,
                        ));
                    }
                }
            }
        }
        if let Some(shipping) = &self.shipping {
            self.validate_express(shipping)?;
        }
        if self.expires_at.is_some() {
            if !matches!(self.user_flow, UserFlow::PushMessage | UserFlow::Qr) {
                return Err(ValidationError::new(
                    "expiresAt",
                    "can only be used with userFlow PUSH_MESSAGE or QR",
                ));
            }
            if self.receipt.is_none() {
                return Err(ValidationError::with_code(
                    "receipt",
                    "long-living payments (expiresAt) require a receipt",
                    6130,
                ));
            }
        }
        if let Some(q) = &self.qr_format {
            if !q.format.is_known() {
                return Err(ValidationError::new(
                    "qrFormat.format",
                    "must be TEXT/TARGETURL, IMAGE/SVG+XML or IMAGE/PNG",
                ));
            }
            if let Some(size) = q.size {
                if !(100..=2000).contains(&size) {
                    return Err(ValidationError::new("qrFormat.size", "must be between 100 and 2000"));
                }
            }
        }
        if let Some(r) = &self.receipt {
            r.check("receipt.")?;
            // Silent in the documents: a receipt in another currency than the payment's
            // cannot describe it, so it is refused.
            if r.bottom_line.currency != self.amount.currency {
                return Err(ValidationError::new(
                    "receipt.bottomLine.currency",
                    "must be the payment's currency",
                ));
            }
        }
        if let Some(m) = &self.metadata {
            if m.len() > 5 {
                return Err(ValidationError::with_code(
                    "metadata",
                    "at most 5 key/value pairs are allowed",
                    4100,
                ));
            }
            for (k, v) in m {
                if k.chars().count() > 100 {
                    return Err(ValidationError::with_code(
                        "metadata",
                        "keys may be at most 100 characters",
                        4120,
                    ));
                }
                if v.chars().count() > 500 {
                    return Err(ValidationError::with_code(
                        format!("metadata.{k}"),
                        "values may be at most 500 characters",
                        4130,
                    ));
                }
            }
        }
        if let Some(a) = self.industry_data.as_ref().and_then(|i| i.airline_data.as_ref()) {
            check_len(
                "industryData.airlineData.agencyInvoiceNumber",
                &a.agency_invoice_number,
                1,
                6,
            )?;
            check_len("industryData.airlineData.airlineCode", &a.airline_code, 3, 3)?;
            check_len(
                "industryData.airlineData.airlineDesignatorCode",
                &a.airline_designator_code,
                2,
                2,
            )?;
            check_len("industryData.airlineData.passengerName", &a.passenger_name, 1, 49)?;
            if let Some(t) = &a.ticket_number {
                check_len("industryData.airlineData.ticketNumber", t, 1, 150)?;
            }
        }
        if let Some(age) = self.minimum_user_age {
            if !(0..=130).contains(&age) {
                return Err(ValidationError::new("minimumUserAge", "must be between 0 and 130"));
            }
        }
        Ok(())
    }
}

/// The response of create payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreatePaymentResponse {
    /// Landing page, app deeplink or QR link; absent for `PUSH_MESSAGE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The reference.
    pub reference: Reference,
}

impl CreatePaymentResponse {
    /// The answer for the payment `reference`, without a `redirect_url` (set it, except for
    /// `PUSH_MESSAGE`).
    pub fn new(reference: Reference) -> Self {
        CreatePaymentResponse {
            redirect_url: None,
            reference,
        }
    }
}

/// Running totals of a payment. Every amount is present, zero when nothing happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Aggregate {
    /// Reserved by the customer.
    pub authorized_amount: Amount,
    /// Released by cancel.
    pub cancelled_amount: Amount,
    /// Captured so far.
    pub captured_amount: Amount,
    /// Refunded so far.
    pub refunded_amount: Amount,
}

impl Aggregate {
    /// The four running totals, in the payment's currency.
    pub fn new(authorized: Amount, cancelled: Amount, captured: Amount, refunded: Amount) -> Self {
        Aggregate {
            authorized_amount: authorized,
            cancelled_amount: cancelled,
            captured_amount: captured,
            refunded_amount: refunded,
        }
    }

    /// All zero in a currency.
    pub fn zero(currency: Currency) -> Self {
        Aggregate {
            authorized_amount: Amount::zero(currency.clone()),
            cancelled_amount: Amount::zero(currency.clone()),
            captured_amount: Amount::zero(currency.clone()),
            refunded_amount: Amount::zero(currency),
        }
    }
}

string_enum! {
    /// The carrier of an Express shipping group (the app draws its logo from it).
    pub enum ShippingBrand {
        /// Bring.
        Bring = "BRING",
        /// DHL.
        Dhl = "DHL",
        /// FedEx.
        Fedex = "FEDEX",
        /// GLS.
        Gls = "GLS",
        /// Helthjem.
        Helthjem = "HELTHJEM",
        /// Instabox.
        Instabox = "INSTABOX",
        /// Matkahuolto.
        Matkahuolto = "MATKAHUOLTO",
        /// Porterbuddy.
        Porterbuddy = "PORTERBUDDY",
        /// Posten.
        Posten = "POSTEN",
        /// Posti.
        Posti = "POSTI",
        /// PostNord.
        Postnord = "POSTNORD",
        /// Any other carrier.
        Other = "OTHER",
    }
}

string_enum! {
    /// How an Express shipping group delivers.
    pub enum ShippingType {
        /// To the door.
        HomeDelivery = "HOME_DELIVERY",
        /// To a pickup point.
        PickupPoint = "PICKUP_POINT",
        /// To the mailbox.
        Mailbox = "MAILBOX",
        /// Picked up in the shop.
        InStore = "IN_STORE",
        /// Anything else.
        Other = "OTHER",
    }
}

/// One delivery choice inside a shipping group (a pickup point, a time slot, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOption {
    /// Unique among all options of the payment.
    pub id: String,
    /// The shipping cost, added to the payment amount when chosen.
    pub amount: Amount,
    /// Shown to the customer (a date for time slots).
    pub name: String,
    /// Extra text, e.g. the pickup point's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    /// E.g. "3-5 business days", or a time window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<String>,
    /// The option chosen unless the customer picks another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    /// Order within the group, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

/// One carrier and delivery type with its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingGroup {
    /// The carrier.
    pub brand: ShippingBrand,
    /// How it delivers.
    #[serde(rename = "type")]
    pub type_: ShippingType,
    /// The group chosen unless the customer picks another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    /// Order among the groups, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// The choices (at least one).
    pub options: Vec<ShippingOption>,
}

/// Options fetched from the merchant once the customer's address is known.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicShippingOptions {
    /// The merchant's endpoint (https).
    pub callback_url: String,
    /// Sent as the `Authorization` header of each call; verify it.
    pub callback_authorization_token: String,
}

redacted_debug!(DynamicShippingOptions {
    plain: [callback_url],
    secret: [callback_authorization_token]
});

/// Express shipping in a create payment request: `fixedOptions` or `dynamicOptions`, never both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipping {
    /// Options known up front.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_options: Option<Vec<ShippingGroup>>,
    /// Options the merchant computes from the customer's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_options: Option<DynamicShippingOptions>,
}

/// What the emulator (Vipps MobilePay) posts to `dynamicOptions.callbackUrl` (field names as
/// the documentation gives them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DynamicShippingRequest {
    /// The payment's reference.
    #[serde(rename = "Reference")]
    pub reference: String,
    /// The first address line.
    #[serde(rename = "AddressLine1")]
    pub address_line1: String,
    /// The second address line.
    #[serde(rename = "AddressLine2", default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// City.
    #[serde(rename = "City")]
    pub city: String,
    /// Post code.
    #[serde(rename = "PostCode")]
    pub post_code: String,
    /// ISO 3166 two-letter country code.
    #[serde(rename = "Country")]
    pub country: String,
}

impl DynamicShippingRequest {
    /// The call for payment `reference` and the customer's address (set `address_line2` when
    /// there is one).
    pub fn new(
        reference: impl Into<String>,
        address_line1: impl Into<String>,
        city: impl Into<String>,
        post_code: impl Into<String>,
        country: impl Into<String>,
    ) -> Self {
        DynamicShippingRequest {
            reference: reference.into(),
            address_line1: address_line1.into(),
            address_line2: None,
            city: city.into(),
            post_code: post_code.into(),
            country: country.into(),
        }
    }
}

/// The merchant's answer to a dynamic shipping call (HTTP 400 when it cannot ship there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicShippingResponse {
    /// The groups to offer.
    #[serde(default)]
    pub groups: Vec<ShippingGroup>,
}

/// The profile scope Express requires, word for word (in any order).
pub const EXPRESS_SCOPE: &[&str] = &["name", "address", "email", "phoneNumber"];

fn validate_groups(field: &str, groups: &[ShippingGroup], currency: &Currency) -> Result<(), ValidationError> {
    if groups.is_empty() {
        return Err(ValidationError::new(field, "must contain at least one shipping group"));
    }
    let mut ids = std::collections::BTreeSet::new();
    for (i, g) in groups.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if !g.brand.is_known() {
            return Err(ValidationError::new(
                format!("{at}.brand"),
                "must be BRING, DHL, FEDEX, GLS, HELTHJEM, INSTABOX, MATKAHUOLTO, PORTERBUDDY, POSTEN, POSTI, POSTNORD or OTHER",
            ));
        }
        if !g.type_.is_known() {
            return Err(ValidationError::new(
                format!("{at}.type"),
                "must be HOME_DELIVERY, PICKUP_POINT, MAILBOX, IN_STORE or OTHER",
            ));
        }
        if g.options.is_empty() {
            return Err(ValidationError::new(
                format!("{at}.options"),
                "must contain at least one option",
            ));
        }
        for (j, o) in g.options.iter().enumerate() {
            let at = format!("{at}.options[{j}]");
            check_len(&format!("{at}.id"), &o.id, 1, 100)?;
            if !ids.insert(o.id.as_str()) {
                return Err(ValidationError::new(
                    format!("{at}.id"),
                    "must be unique among all options",
                ));
            }
            check_len(&format!("{at}.name"), &o.name, 1, 100)?;
            validate_amount(&format!("{at}.amount"), &o.amount, false)?;
            if &o.amount.currency != currency {
                return Err(ValidationError::new(
                    format!("{at}.amount.currency"),
                    "must be the currency of the payment",
                ));
            }
        }
    }
    Ok(())
}

impl Shipping {
    /// Checks the shipping part of an Express payment in `currency`.
    pub fn validate_for(&self, currency: &Currency) -> Result<(), ValidationError> {
        match (&self.fixed_options, &self.dynamic_options) {
            (Some(_), Some(_)) => Err(ValidationError::new(
                "shipping",
                "must have either fixedOptions or dynamicOptions, not both",
            )),
            (None, None) => Err(ValidationError::new(
                "shipping",
                "must have fixedOptions or dynamicOptions",
            )),
            (Some(groups), None) => validate_groups("shipping.fixedOptions", groups, currency),
            (None, Some(d)) => {
                check_url(
                    "shipping.dynamicOptions.callbackUrl",
                    &d.callback_url,
                    false,
                    Some(4090),
                )?;
                // Sent as a header: visible ASCII and spaces only.
                let header_safe = d
                    .callback_authorization_token
                    .bytes()
                    .all(|b| b == b' ' || b.is_ascii_graphic());
                if !header_safe {
                    return Err(ValidationError::with_code(
                        "shipping.dynamicOptions.callbackAuthorizationToken",
                        "must be printable ASCII (it is sent as the Authorization header)",
                        4140,
                    ));
                }
                if d.callback_authorization_token.trim().is_empty() {
                    return Err(ValidationError::with_code(
                        "shipping.dynamicOptions.callbackAuthorizationToken",
                        "is required",
                        4140,
                    ));
                }
                Ok(())
            }
        }
    }
}

impl DynamicShippingResponse {
    /// Checks a merchant's answer (the groups must be as valid as fixed options).
    pub fn validate_for(&self, currency: &Currency) -> Result<(), ValidationError> {
        validate_groups("groups", &self.groups, currency)
    }
}

/// A postal address (Express shipping details, user details).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Address {
    /// The first address line.
    #[serde(default)]
    pub address_line1: String,
    /// The second address line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// Post code.
    #[serde(default)]
    pub post_code: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// ISO 3166 two-letter country code.
    #[serde(default)]
    pub country: String,
}

/// Customer details shared with consent (Express, profile sharing). Build one with
/// `UserDetails::default()` and assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserDetails {
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// MSISDN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
    /// The customer's addresses (scope `address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Address>>,
}

/// Shipping details chosen in an Express payment. Build one with `ShippingDetails::default()`
/// and assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShippingDetails {
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The chosen option's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_option_id: Option<String>,
    /// The chosen option's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_option_name: Option<String>,
    /// The shipping cost in minor units (included in the payment's amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_cost: Option<i64>,
}

/// The response of get payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GetPaymentResponse {
    /// Running totals: the only reliable source for what was captured, refunded, cancelled.
    pub aggregate: Aggregate,
    /// The payment amount.
    pub amount: Amount,
    /// The state.
    pub state: PaymentState,
    /// The payment method.
    pub payment_method: PaymentMethodResponse,
    /// The profile (`sub` once authorized, when a scope was requested).
    #[serde(default)]
    pub profile: ProfileResponse,
    /// The PSP reference of the CREATED event.
    pub psp_reference: String,
    /// Where the customer continues the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The reference.
    pub reference: Reference,
    /// Echo of the create request's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Until when a capture is guaranteed to succeed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::common::rfc3339::option"
    )]
    pub capture_guaranteed_until: Option<OffsetDateTime>,
    /// Customer details, with consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_details: Option<UserDetails>,
    /// Shipping details (Express).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_details: Option<ShippingDetails>,
}

impl GetPaymentResponse {
    /// A payment's required fields. The profile starts empty and the optional fields
    /// (`redirect_url`, `metadata`, `capture_guaranteed_until`, `user_details`,
    /// `shipping_details`) as `None`: set them by assignment.
    pub fn new(
        aggregate: Aggregate,
        amount: Amount,
        state: PaymentState,
        payment_method: PaymentMethodResponse,
        psp_reference: impl Into<String>,
        reference: Reference,
    ) -> Self {
        GetPaymentResponse {
            aggregate,
            amount,
            state,
            payment_method,
            profile: ProfileResponse::default(),
            psp_reference: psp_reference.into(),
            redirect_url: None,
            reference,
            metadata: None,
            capture_guaranteed_until: None,
            user_details: None,
            shipping_details: None,
        }
    }
}

/// Body of capture and refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationRequest {
    /// The amount to capture or refund.
    pub modification_amount: Amount,
}

impl Validate for ModificationRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        validate_amount("modificationAmount", &self.modification_amount, true)
    }
}

/// Optional body of cancel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelModificationRequest {
    /// Only cancel if the customer has not approved yet (else error 6060).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_transaction_only: Option<bool>,
}

/// The response of capture, refund and cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModificationResponse {
    /// The payment amount.
    pub amount: Amount,
    /// The state.
    pub state: PaymentState,
    /// Running totals after the operation.
    pub aggregate: Aggregate,
    /// The PSP reference of the payment.
    pub psp_reference: String,
    /// The reference.
    pub reference: Reference,
}

impl ModificationResponse {
    /// The payment after a capture, refund or cancel.
    pub fn new(
        amount: Amount,
        state: PaymentState,
        aggregate: Aggregate,
        psp_reference: impl Into<String>,
        reference: Reference,
    ) -> Self {
        ModificationResponse {
            amount,
            state,
            aggregate,
            psp_reference: psp_reference.into(),
            reference,
        }
    }
}

/// One event of a payment's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentEvent {
    /// The reference.
    pub reference: Reference,
    /// This event's own PSP reference.
    pub psp_reference: String,
    /// What happened.
    pub name: PaymentEventName,
    /// The amount affected.
    pub amount: Amount,
    /// When.
    #[serde(with = "crate::common::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The idempotency key of the request that caused it, if any.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Whether the operation succeeded.
    pub success: bool,
}

impl PaymentEvent {
    /// An event without an idempotency key (set `idempotency_key` when a request caused it).
    pub fn new(
        reference: Reference,
        psp_reference: impl Into<String>,
        name: PaymentEventName,
        amount: Amount,
        timestamp: OffsetDateTime,
        success: bool,
    ) -> Self {
        PaymentEvent {
            reference,
            psp_reference: psp_reference.into(),
            name,
            amount,
            timestamp,
            idempotency_key: None,
            success,
        }
    }
}

/// Body of the test-only force approve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForceApproveRequest {
    /// The approving customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The token from the create response's `redirectUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Validate for ForceApproveRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        if let Some(c) = &self.customer {
            c.validate_at("customer")?;
        }
        Ok(())
    }
}

/// The body of an ePayment webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The merchant serial number.
    pub msn: String,
    /// The reference.
    pub reference: Reference,
    /// The PSP reference of this event.
    pub psp_reference: String,
    /// What happened.
    pub name: PaymentEventName,
    /// The amount affected.
    pub amount: Amount,
    /// When.
    #[serde(with = "crate::common::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The idempotency key of the request that caused it.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Whether it succeeded.
    pub success: bool,
    /// `AUTHORIZED` events of payments that asked for profile data: the shared data (2026).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_details: Option<UserDetails>,
    /// `AUTHORIZED` events of payments that asked for profile data: `profile.sub`, the user id
    /// (2026: "the data comes back as `userDetails` and `profile.sub` … in the
    /// `epayments.payment.authorized.v1` webhook payload").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileResponse>,
    /// `AUTHORIZED` events: until when a capture is guaranteed (2026).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::common::rfc3339::option"
    )]
    pub capture_guaranteed_until: Option<OffsetDateTime>,
}

impl WebhookEvent {
    /// The webhook of `event` (as the payment's event log shows it) for merchant `msn`. The
    /// `AUTHORIZED` extras (`user_details`, `profile`, `capture_guaranteed_until`) start as
    /// `None`: set them by assignment.
    pub fn new(msn: impl Into<String>, event: PaymentEvent) -> Self {
        let PaymentEvent {
            reference,
            psp_reference,
            name,
            amount,
            timestamp,
            idempotency_key,
            success,
        } = event;
        WebhookEvent {
            msn: msn.into(),
            reference,
            psp_reference,
            name,
            amount,
            timestamp,
            idempotency_key,
            success,
            user_details: None,
            profile: None,
            capture_guaranteed_until: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> CreatePaymentRequest {
        CreatePaymentRequest {
            return_url: Some("https://example.com/r".into()),
            payment_description: Some("Socks".into()),
            ..CreatePaymentRequest::new(
                Amount::nok(49900),
                Reference::new("acme-shop-123-order123abc").unwrap(),
                UserFlow::WebRedirect,
            )
        }
    }

    #[test]
    fn the_official_postman_body_with_bare_numbers_parses_and_validates() {
        // As the official ePayment Postman collection sends it: reference and phone number unquoted.
        let body = r#"{"amount":{"value":1000,"currency":"NOK"},"paymentMethod":{"type":"WALLET"},
            "customer":{"phoneNumber":4791234567},"reference":1234561795468211846,
            "userFlow":"WEB_REDIRECT","returnUrl":"https://example.com/redirect?reference=1",
            "paymentDescription":"Purchase of socks"}"#;
        let r: CreatePaymentRequest = serde_json::from_str(body).unwrap();
        assert_eq!(r.reference.as_str(), "1234561795468211846");
        assert_eq!(r.customer.as_ref().unwrap().phone_number.as_deref(), Some("4791234567"));
        r.validate().unwrap();
        // Written back as strings.
        let out = serde_json::to_value(&r).unwrap();
        assert_eq!(out["customer"]["phoneNumber"], "4791234567");
        assert_eq!(out["reference"], "1234561795468211846");
        // A phone number that is no integer is still a type error; null is absence.
        assert!(serde_json::from_str::<Customer>(r#"{"phoneNumber":47.5}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Customer>(r#"{"phoneNumber":null}"#).unwrap(),
            Customer::default()
        );
    }

    #[test]
    fn valid_request_passes() {
        req().validate().unwrap();
    }

    #[test]
    fn validation_names_the_field() {
        let mut r = req();
        r.amount.value = 99;
        assert_eq!(r.validate().unwrap_err().code, Some(6010));
        let mut r = req();
        r.amount.currency = Currency::Unknown("SEK".into());
        assert_eq!(r.validate().unwrap_err().field, "amount.currency");
        let mut r = req();
        r.return_url = None;
        assert_eq!(r.validate().unwrap_err().field, "returnUrl");
        let mut r = req();
        r.customer = Some(Customer::phone("+4791234567"));
        assert_eq!(r.validate().unwrap_err().field, "customer.phoneNumber");
        let mut r = req();
        r.payment_description = Some("ab".into());
        assert_eq!(r.validate().unwrap_err().field, "paymentDescription");
        let mut r = req();
        r.return_url = Some("http://example.com".into());
        assert_eq!(r.validate().unwrap_err().code, Some(4090));
        let mut r = req();
        r.user_flow = UserFlow::PushMessage;
        assert_eq!(r.validate().unwrap_err().field, "customer");
        let mut r = req();
        r.metadata = Some((0..6).map(|i| (format!("k{i}"), "v".to_string())).collect());
        assert_eq!(r.validate().unwrap_err().code, Some(4100));
        let mut r = req();
        r.profile = Some(ProfileRequest {
            scope: Some("name shoeSize".into()),
        });
        assert_eq!(r.validate().unwrap_err().code, Some(4080));
    }

    /// The Express example of the 2026 ePayment guide ("Features", fixed options).
    #[test]
    fn the_documented_express_request_parses_and_validates() {
        let shipping: Shipping = serde_json::from_str(
            r#"{"fixedOptions": [{"brand": "POSTNORD", "type": "HOME_DELIVERY", "isDefault": true, "priority": 0,
              "options": [{"id": "postnord-home-1", "amount": {"currency": "NOK", "value": 9900},
                "name": "Posten home standard", "meta": "Henrik Ibsens Gate 1, 0000 Oslo",
                "estimatedDelivery": "3-5 business days", "isDefault": true, "priority": 0}]}]}"#,
        )
        .unwrap();
        let mut r = req();
        r.shipping = Some(shipping.clone());
        assert_eq!(
            r.validate().unwrap_err().field,
            "profile.scope",
            "Express needs the scope"
        );
        r.profile = Some(ProfileRequest {
            scope: Some("name address email phoneNumber".into()),
        });
        r.validate().unwrap();
        assert!(r.is_express());
        let back: Shipping = serde_json::from_value(serde_json::to_value(&shipping).unwrap()).unwrap();
        assert_eq!(back, shipping);
        // A brand this crate does not know parses, and is refused by validation.
        let mut odd = shipping;
        odd.fixed_options.as_mut().unwrap()[0].brand = ShippingBrand::from("PIGEON");
        r.shipping = Some(odd);
        assert_eq!(r.validate().unwrap_err().field, "shipping.fixedOptions[0].brand");
    }

    #[test]
    fn spec_examples_round_trip() {
        let get = r#"{
          "aggregate": {
            "authorizedAmount": {"currency": "NOK","value": 6000},
            "cancelledAmount": {"currency": "NOK","value": 0},
            "capturedAmount": {"currency": "NOK","value": 0},
            "refundedAmount": {"currency": "NOK","value": 0}
          },
          "amount": {"currency": "NOK","value": 6000},
          "state": "AUTHORIZED",
          "paymentMethod": {"type": "WALLET"},
          "profile": {},
          "pspReference": "37c34d8c-2649-448e-864b-060d5d93e4c4",
          "reference": "acme-shop-123-1234589",
          "captureGuaranteedUntil": "2026-09-01T07:53:44.812+00:00",
          "someFutureField": {"x": 1}
        }"#;
        let p: GetPaymentResponse = serde_json::from_str(get).unwrap();
        assert_eq!(p.state, PaymentState::Authorized);
        assert!(p.capture_guaranteed_until.is_some());
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["aggregate"]["cancelledAmount"]["value"], 0);
        assert_eq!(v["paymentMethod"]["type"], "WALLET");

        let events = r#"[
          {"reference":"acme-shop-123-order123abc","pspReference":"7686f7788898767977","name":"CREATED","amount":{"currency":"NOK","value":49900},"timestamp":"2022-12-31T00:00:00Z","idempotencyKey":"fb492b5e-7907-4d83-ba20-c7fb60ca35de","success":true},
          {"reference":"acme-shop-123-order123abc","pspReference":"7686f7788898767977","name":"SOMETHING_NEW","amount":{"currency":"SEK","value":49900},"timestamp":"2022-12-31T00:00:00Z","idempotencyKey":null,"success":true}
        ]"#;
        let e: Vec<PaymentEvent> = serde_json::from_str(events).unwrap();
        assert_eq!(e[1].name, PaymentEventName::Unknown("SOMETHING_NEW".into()));
        assert_eq!(serde_json::to_value(&e[1]).unwrap()["name"], "SOMETHING_NEW");

        let create = r#"{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},"customer":{"phoneNumber":"4712345678"},"reference":"acme-shop-123-order123abc","returnUrl":"https://example.com/redirect?reference=acme-shop-123-order123abc","userFlow":"WEB_REDIRECT","paymentDescription":"One pair of socks"}"#;
        let c: CreatePaymentRequest = serde_json::from_str(create).unwrap();
        c.validate().unwrap();
        let back: serde_json::Value = serde_json::to_value(&c).unwrap();
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(create).unwrap());
    }

    #[test]
    fn webhook_type_names() {
        assert_eq!(
            PaymentEventName::Captured.webhook_event_type(),
            "epayments.payment.captured.v1"
        );
    }
}
