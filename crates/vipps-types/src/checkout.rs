//! Checkout API v3 (`/checkout/v3`): sessions, callbacks and dynamic shipping.
//!
//! Sources, newest first: the rendered Checkout reference (seed 002: `type`
//! PAYMENT/SUBSCRIPTION, top-level `reference`, the experimental PATCH update and the
//! expire endpoint, `subscriptionDetails`), the 2024 generated types (GLS/DAO carriers,
//! `taxRate`, `externalPaymentMethods`), then the stored `checkout-v3.yaml`. Where they
//! disagree the newer source wins, and old payloads still parse:
//!
//! - The session `reference` is top-level in the newer API, `transaction.reference` in the
//!   older one (now deprecated). Both are accepted; [`InitiateSessionRequest::payment`]
//!   sends both (equal), which every API version accepts.
//! - Order lines take `taxRate` (0–10000 = 0.00–100.00 %) or the deprecated
//!   `taxPercentage` (0–100); one of them is required.
//!
//! The poll result (`GET /checkout/v3/session/{reference}`) and the body of the
//! "payment completed" callback are the same type, [`SessionResponse`].
//!
//! Problem bodies are [`crate::Problem`] (`errorCode`, `errors` map).

use crate::common::{Amount, Currency, Reference};
use crate::epayment::CustomerInteraction;
use crate::validate::{check_len, check_url, Validate, ValidationError};
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ------------------------------------------------------------------------------------------
// Enums
// ------------------------------------------------------------------------------------------

string_enum! {
    /// The kind of session (`type`). Absent means `PAYMENT`.
    pub enum SessionType {
        /// A one-time payment (the default).
        Payment = "PAYMENT",
        /// A recurring agreement, optionally with a one-time payment.
        Subscription = "SUBSCRIPTION",
    }
}

string_enum! {
    /// The state of a session (`sessionState`).
    ///
    /// The payment's own state is in [`PaymentDetails::state`].
    pub enum SessionState {
        /// Created; the customer has not started paying.
        SessionCreated = "SessionCreated",
        /// The customer started the payment; it is in progress.
        PaymentInitiated = "PaymentInitiated",
        /// The session expired (after 1 hour, or by the expire call) (final).
        SessionExpired = "SessionExpired",
        /// The payment was authorized (final): capture it through the ePayment API.
        PaymentSuccessful = "PaymentSuccessful",
        /// The payment was aborted, expired or failed (final).
        PaymentTerminated = "PaymentTerminated",
        /// Not in the API enum, but seen from the API by the official WooCommerce plugin (final).
        SessionTerminated = "SessionTerminated",
    }
}

impl SessionState {
    /// Whether nothing more will happen to the session: `PaymentSuccessful`,
    /// `PaymentTerminated`, `SessionExpired` and `SessionTerminated`. Unknown values are
    /// treated as not final.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            SessionState::PaymentSuccessful
                | SessionState::PaymentTerminated
                | SessionState::SessionExpired
                | SessionState::SessionTerminated
        )
    }
}

string_enum! {
    /// The state of the payment inside a session.
    pub enum PaymentState {
        /// Initiated and ongoing (never in a callback).
        Created = "CREATED",
        /// Reserved: capture, cancel and refund through the ePayment API.
        Authorized = "AUTHORIZED",
        /// Aborted, expired or failed.
        Terminated = "TERMINATED",
    }
}

string_enum! {
    /// How the customer paid (`paymentMethod`).
    pub enum PaymentMethod {
        /// The Vipps or MobilePay app.
        Wallet = "Wallet",
        /// A card entered in Checkout.
        Card = "Card",
        /// A bank transfer.
        BankTransfer = "BankTransfer",
        /// Klarna (an external payment method).
        Klarna = "Klarna",
    }
}

string_enum! {
    /// Which fields Checkout shows (`configuration.elements`).
    pub enum Elements {
        /// Payment, contact and address fields (the default).
        Full = "Full",
        /// No address fields.
        PaymentAndContactInfo = "PaymentAndContactInfo",
        /// Only the payment.
        PaymentOnly = "PaymentOnly",
    }
}

impl Elements {
    /// Whether address fields are shown (needed for dynamic shipping and integrations).
    pub fn has_address_fields(&self) -> bool {
        matches!(self, Elements::Full)
    }
}

string_enum! {
    /// The user flow (`configuration.userFlow`). Case-sensitive since v3.
    pub enum UserFlow {
        /// Browser flow (app switch on mobile, landing page elsewhere).
        WebRedirect = "WEB_REDIRECT",
        /// Always app-switch and return to an app URL (`myapp://…`): for native apps.
        NativeRedirect = "NATIVE_REDIRECT",
    }
}

string_enum! {
    /// An external payment method that can be enabled in Checkout.
    pub enum ExternalPaymentMethodType {
        /// Klarna.
        Klarna = "Klarna",
    }
}

string_enum! {
    /// The unit of an order line's quantity.
    pub enum QuantityUnit {
        /// Pieces (the default).
        Pcs = "PCS",
        /// Kilograms.
        Kg = "KG",
        /// Kilometres.
        Km = "KM",
        /// Minutes.
        Minute = "MINUTE",
        /// Litres.
        Litre = "LITRE",
    }
}

string_enum! {
    /// The unit of a subscription interval.
    pub enum IntervalUnit {
        /// Years.
        Year = "YEAR",
        /// Months.
        Month = "MONTH",
        /// Weeks.
        Week = "WEEK",
        /// Days.
        Day = "DAY",
    }
}

string_enum! {
    /// The state of the recurring agreement of a subscription session.
    pub enum SubscriptionState {
        /// Waiting for the customer.
        Pending = "PENDING",
        /// Accepted by the customer.
        Active = "ACTIVE",
        /// Stopped.
        Stopped = "STOPPED",
        /// Expired before it was accepted.
        Expired = "EXPIRED",
    }
}

string_enum! {
    /// The carrier of a logistics option (`brand`).
    pub enum LogisticsBrand {
        /// Bring / Posten.
        Posten = "POSTEN",
        /// PostNord.
        Postnord = "POSTNORD",
        /// Porterbuddy (home delivery; `amount` optional: priced by Porterbuddy).
        Porterbuddy = "PORTERBUDDY",
        /// Helthjem.
        Helthjem = "HELTHJEM",
        /// Posti (Finland).
        Posti = "POSTI",
        /// GLS.
        Gls = "GLS",
        /// DAO.
        Dao = "DAO",
        /// Instabox: supported from March 2023, gone from the current API (rejected by validation).
        Instabox = "INSTABOX",
        /// Any other delivery (e.g. pick-up in store): needs a `title`.
        Other = "OTHER",
    }
}

string_enum! {
    /// Posten option types.
    pub enum PostenLogisticsType {
        /// Delivered to the mailbox.
        Mailbox = "MAILBOX",
        /// The customer chooses a pickup point.
        PickupPoint = "PICKUP_POINT",
        /// Delivered to the door.
        HomeDelivery = "HOME_DELIVERY",
    }
}

string_enum! {
    /// PostNord option types.
    pub enum PostnordLogisticsType {
        /// The customer chooses a pickup point.
        PickupPoint = "PICKUP_POINT",
        /// Delivered to the door.
        HomeDelivery = "HOME_DELIVERY",
    }
}

string_enum! {
    /// Porterbuddy option types.
    pub enum PorterbuddyLogisticsType {
        /// Delivered to the door in a chosen window.
        HomeDelivery = "HOME_DELIVERY",
    }
}

string_enum! {
    /// Helthjem option types.
    pub enum HelthjemLogisticsType {
        /// Delivered to the door.
        HomeDelivery = "HOME_DELIVERY",
        /// The customer chooses a pickup point.
        PickupPoint = "PICKUP_POINT",
    }
}

string_enum! {
    /// Posti option types.
    pub enum PostiLogisticsType {
        /// Delivered to the mailbox.
        Mailbox = "MAILBOX",
        /// The customer chooses a pickup point.
        PickupPoint = "PICKUP_POINT",
    }
}

string_enum! {
    /// GLS option types.
    pub enum GlsLogisticsType {
        /// The customer chooses a pickup point.
        PickupPoint = "PICKUP_POINT",
    }
}

string_enum! {
    /// Instabox option types (historical).
    pub enum InstaboxLogisticsType {
        /// The customer chooses a pickup point.
        PickupPoint = "PICKUP_POINT",
        /// Delivered to the door.
        HomeDelivery = "HOME_DELIVERY",
    }
}

// ------------------------------------------------------------------------------------------
// Initiate session
// ------------------------------------------------------------------------------------------

/// Merchant URLs and the callback token (`merchantInfo`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantInfo {
    /// The complete URL the "payment completed" callback is posted to (https).
    pub callback_url: String,
    /// Where the customer is sent when the checkout is finished (https, or an app scheme
    /// such as `myapp://` with `userFlow` `NATIVE_REDIRECT`).
    pub return_url: String,
    /// Sent verbatim as the `Authorization` header of the callback: check it with
    /// `vipps::checkout::verify_callback_authorization`.
    pub callback_authorization_token: String,
    /// The merchant's terms and conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions_url: Option<String>,
}

redacted_debug!(MerchantInfo {
    plain: [callback_url, return_url, terms_and_conditions_url],
    secret: [callback_authorization_token]
});

impl MerchantInfo {
    /// The required fields.
    pub fn new(
        callback_url: impl Into<String>,
        return_url: impl Into<String>,
        callback_authorization_token: impl Into<String>,
    ) -> Self {
        MerchantInfo {
            callback_url: callback_url.into(),
            return_url: return_url.into(),
            callback_authorization_token: callback_authorization_token.into(),
            terms_and_conditions_url: None,
        }
    }
}

/// Quantity information of an order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderUnitInfo {
    /// Price per unit including tax, excluding discount, in minor units.
    pub unit_price: i64,
    /// Quantity as an integer or fraction string, e.g. `"2"` or `"0.5"` (cosmetic).
    pub quantity: String,
    /// The unit.
    pub quantity_unit: QuantityUnit,
}

/// One line of the order summary (amounts in minor units).
///
/// Checkout's own (`checkout-v3.yaml`), not the Order Management [`crate::epayment::OrderLine`]
/// that ePayment's receipt takes: Checkout bounds the name and id lengths and checks the
/// lines against its transaction instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// Product name (1–2048 characters).
    pub name: String,
    /// Product id (1–255 characters).
    pub id: String,
    /// Total including tax and discount.
    pub total_amount: i64,
    /// Total excluding tax, with discount.
    pub total_amount_excluding_tax: i64,
    /// Tax amount.
    pub total_tax_amount: i64,
    /// Tax rate in hundredths of a percent (0–10000; `2500` = 25 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<i32>,
    /// Deprecated: tax percentage 0–100. Use `taxRate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_percentage: Option<i32>,
    /// Quantity information (defaults to 1 PCS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_info: Option<OrderUnitInfo>,
    /// Discount in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<i64>,
    /// Product page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    /// A returned item (counts negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_return: Option<bool>,
    /// A shipping line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_shipping: Option<bool>,
}

/// Amounts paid from several sources (minor units): the Order Management type.
pub use crate::order_management::PaymentSources;

/// The bottom line of the order summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderBottomLine {
    /// Currency (must be the transaction's).
    pub currency: Currency,
    /// Tip in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_amount: Option<i64>,
    /// Paid by gift card or coupon, minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card_amount: Option<i64>,
    /// Terminal / point of sale id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// Payment sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_sources: Option<PaymentSources>,
    /// Receipt number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<String>,
}

impl OrderBottomLine {
    /// A bottom line with only the currency.
    pub fn new(currency: Currency) -> Self {
        OrderBottomLine {
            currency,
            tip_amount: None,
            gift_card_amount: None,
            terminal_id: None,
            payment_sources: None,
            receipt_number: None,
        }
    }
}

/// Order lines and bottom line: shown with `showOrderSummary` and sent as the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderSummary {
    /// At least one line.
    pub order_lines: Vec<OrderLine>,
    /// The bottom line.
    pub order_bottom_line: OrderBottomLine,
}

impl OrderSummary {
    /// The receipt Checkout adds to the payment in Order Management (checkout--api-guide,
    /// "Receipts"): the same lines, `orderBottomLine` as the bottom line.
    pub fn to_receipt(&self) -> crate::order_management::Receipt {
        use crate::order_management as om;
        let lines = self
            .order_lines
            .iter()
            .map(|l| om::OrderLine {
                name: l.name.clone(),
                id: l.id.clone(),
                total_amount: l.total_amount,
                total_amount_excluding_tax: l.total_amount_excluding_tax,
                total_tax_amount: l.total_tax_amount,
                tax_percentage: l.tax_percentage.map(i64::from),
                tax_rate: l.tax_rate.map(i64::from),
                unit_info: l.unit_info.as_ref().map(|u| om::UnitInfo {
                    unit_price: Some(u.unit_price),
                    quantity: u.quantity.clone(),
                    quantity_unit: Some(om::QuantityUnit::from(u.quantity_unit.as_str())),
                }),
                discount: l.discount,
                product_url: l.product_url.clone(),
                is_return: l.is_return,
                is_shipping: l.is_shipping,
            })
            .collect();
        let b = &self.order_bottom_line;
        let mut receipt = om::Receipt::new(lines, b.currency.clone());
        receipt.bottom_line.tip_amount = b.tip_amount;
        receipt.bottom_line.gift_card_amount = b.gift_card_amount;
        receipt.bottom_line.terminal_id = b.terminal_id.clone();
        receipt.bottom_line.payment_sources = b.payment_sources.clone();
        receipt.bottom_line.receipt_number = b.receipt_number.clone();
        receipt
    }
}

/// The payment of a session (`transaction`); also the body of the update call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentTransaction {
    /// The amount (minor units). Shipping chosen in Checkout is added on top.
    pub amount: Amount,
    /// Deprecated in favour of the top-level `reference`; still required by older API
    /// versions. 8–50 characters of `a-zA-Z0-9-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// Shown to the customer, 3–100 characters.
    pub payment_description: String,
    /// Order lines for the summary and the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_summary: Option<OrderSummary>,
}

impl PaymentTransaction {
    /// The required fields (the reference goes in `transaction.reference` too, for
    /// compatibility).
    pub fn new(amount: Amount, reference: Reference, payment_description: impl Into<String>) -> Self {
        PaymentTransaction {
            amount,
            reference: Some(reference),
            payment_description: payment_description.into(),
            order_summary: None,
        }
    }
}

/// The common fields of every logistics option.
///
/// `C` is the carrier's `type` enum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    bound(serialize = "C: Serialize", deserialize = "C: Deserialize<'de>")
)]
pub struct CarrierLogisticsOption<C> {
    /// The merchant's id of the option (1–200 characters); reported back as
    /// `shippingDetails.shippingMethodId`.
    pub id: String,
    /// Sort order, 0 or more (lowest first).
    pub priority: i32,
    /// Whether the option is preselected.
    pub is_default: bool,
    /// Shown under the option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The price (required, may be 0).
    pub amount: Amount,
    /// The carrier feature: pickup point, home delivery, mailbox.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<C>,
    /// A merchant-defined type label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_type: Option<String>,
    /// Tax rate in hundredths of a percent (0–10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<i32>,
}

impl<C> CarrierLogisticsOption<C> {
    /// An option with the required fields (priority 0, not default).
    pub fn new(id: impl Into<String>, amount: Amount) -> Self {
        CarrierLogisticsOption {
            id: id.into(),
            priority: 0,
            is_default: false,
            description: None,
            amount,
            type_: None,
            custom_type: None,
            tax_rate: None,
        }
    }
}

/// A Porterbuddy option: like the others, but `amount` is optional (Porterbuddy prices it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PorterbuddyLogisticsOption {
    /// The option id (1–200 characters).
    pub id: String,
    /// Sort order, 0 or more.
    pub priority: i32,
    /// Preselected.
    pub is_default: bool,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Price; absent means dynamic pricing by Porterbuddy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// The feature.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<PorterbuddyLogisticsType>,
    /// A merchant-defined type label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_type: Option<String>,
    /// Tax rate in hundredths of a percent (0–10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<i32>,
}

/// An `OTHER` option (in-store pickup, own delivery, …): needs a `title`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherLogisticsOption {
    /// The option id (1–200 characters).
    pub id: String,
    /// Sort order, 0 or more.
    pub priority: i32,
    /// Preselected.
    pub is_default: bool,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Title shown to the customer (1–200 characters).
    pub title: String,
    /// Price.
    pub amount: Amount,
    /// Tax rate in hundredths of a percent (0–10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<i32>,
}

/// One shipping option, in `logistics.fixedOptions` or in the answer to the dynamic
/// shipping callback. The variant is chosen by `brand` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum LogisticsOption {
    /// `POSTEN`.
    Posten(CarrierLogisticsOption<PostenLogisticsType>),
    /// `POSTNORD`.
    Postnord(CarrierLogisticsOption<PostnordLogisticsType>),
    /// `PORTERBUDDY`.
    Porterbuddy(PorterbuddyLogisticsOption),
    /// `HELTHJEM`.
    Helthjem(CarrierLogisticsOption<HelthjemLogisticsType>),
    /// `POSTI`.
    Posti(CarrierLogisticsOption<PostiLogisticsType>),
    /// `GLS`.
    Gls(CarrierLogisticsOption<GlsLogisticsType>),
    /// `DAO` (its `type` is documented as a number, so it is kept as raw JSON).
    Dao(CarrierLogisticsOption<serde_json::Value>),
    /// `INSTABOX` (historical; rejected by validation).
    Instabox(CarrierLogisticsOption<InstaboxLogisticsType>),
    /// `OTHER`.
    Other(OtherLogisticsOption),
    /// A brand this crate does not know (or no brand), kept verbatim.
    Unknown(serde_json::Value),
}

impl LogisticsOption {
    /// The brand.
    pub fn brand(&self) -> LogisticsBrand {
        match self {
            LogisticsOption::Posten(_) => LogisticsBrand::Posten,
            LogisticsOption::Postnord(_) => LogisticsBrand::Postnord,
            LogisticsOption::Porterbuddy(_) => LogisticsBrand::Porterbuddy,
            LogisticsOption::Helthjem(_) => LogisticsBrand::Helthjem,
            LogisticsOption::Posti(_) => LogisticsBrand::Posti,
            LogisticsOption::Gls(_) => LogisticsBrand::Gls,
            LogisticsOption::Dao(_) => LogisticsBrand::Dao,
            LogisticsOption::Instabox(_) => LogisticsBrand::Instabox,
            LogisticsOption::Other(_) => LogisticsBrand::Other,
            LogisticsOption::Unknown(v) => {
                LogisticsBrand::Unknown(v.get("brand").and_then(|b| b.as_str()).unwrap_or("").to_owned())
            }
        }
    }

    /// The option id (`None` for an unknown brand without a string `id`).
    pub fn id(&self) -> Option<&str> {
        Some(match self {
            LogisticsOption::Posten(o) => &o.id,
            LogisticsOption::Postnord(o) => &o.id,
            LogisticsOption::Porterbuddy(o) => &o.id,
            LogisticsOption::Helthjem(o) => &o.id,
            LogisticsOption::Posti(o) => &o.id,
            LogisticsOption::Gls(o) => &o.id,
            LogisticsOption::Dao(o) => &o.id,
            LogisticsOption::Instabox(o) => &o.id,
            LogisticsOption::Other(o) => &o.id,
            LogisticsOption::Unknown(v) => return v.get("id").and_then(|i| i.as_str()),
        })
    }

    /// The price (`None` for Porterbuddy without a price, or an unknown brand).
    pub fn amount(&self) -> Option<&Amount> {
        match self {
            LogisticsOption::Posten(o) => Some(&o.amount),
            LogisticsOption::Postnord(o) => Some(&o.amount),
            LogisticsOption::Porterbuddy(o) => o.amount.as_ref(),
            LogisticsOption::Helthjem(o) => Some(&o.amount),
            LogisticsOption::Posti(o) => Some(&o.amount),
            LogisticsOption::Gls(o) => Some(&o.amount),
            LogisticsOption::Dao(o) => Some(&o.amount),
            LogisticsOption::Instabox(o) => Some(&o.amount),
            LogisticsOption::Other(o) => Some(&o.amount),
            LogisticsOption::Unknown(_) => None,
        }
    }

    /// Checks the option against the documented rules; `field` is its JSON path.
    pub fn validate_at(&self, field: &str) -> Result<(), ValidationError> {
        fn base(
            field: &str,
            id: &str,
            priority: i32,
            _description: Option<&str>,
            tax_rate: Option<i32>,
        ) -> Result<(), ValidationError> {
            check_required_len(&format!("{field}.id"), id, 1, 200)?;
            if priority < 0 {
                return Err(ValidationError::new(format!("{field}.priority"), "must be 0 or more"));
            }
            check_tax_rate(&format!("{field}.taxRate"), tax_rate)
        }
        fn carrier<C: KnownEnum>(
            field: &str,
            brand: &str,
            o: &CarrierLogisticsOption<C>,
        ) -> Result<(), ValidationError> {
            base(field, &o.id, o.priority, o.description.as_deref(), o.tax_rate)?;
            check_amount(&format!("{field}.amount"), &o.amount)?;
            if let Some(t) = &o.type_ {
                if !t.known() {
                    return Err(ValidationError::new(
                        format!("{field}.type"),
                        format!("is not a valid type for {brand} (allowed: {})", C::allowed()),
                    ));
                }
            }
            Ok(())
        }
        match self {
            LogisticsOption::Posten(o) => carrier(field, "POSTEN", o),
            LogisticsOption::Postnord(o) => carrier(field, "POSTNORD", o),
            LogisticsOption::Helthjem(o) => carrier(field, "HELTHJEM", o),
            LogisticsOption::Posti(o) => carrier(field, "POSTI", o),
            LogisticsOption::Gls(o) => carrier(field, "GLS", o),
            LogisticsOption::Dao(o) => {
                base(field, &o.id, o.priority, o.description.as_deref(), o.tax_rate)?;
                check_amount(&format!("{field}.amount"), &o.amount)
            }
            LogisticsOption::Porterbuddy(o) => {
                base(field, &o.id, o.priority, o.description.as_deref(), o.tax_rate)?;
                if let Some(a) = &o.amount {
                    check_amount(&format!("{field}.amount"), a)?;
                }
                if let Some(t) = &o.type_ {
                    if !t.is_known() {
                        return Err(ValidationError::new(
                            format!("{field}.type"),
                            "is not a valid type for PORTERBUDDY (allowed: HOME_DELIVERY)",
                        ));
                    }
                }
                Ok(())
            }
            LogisticsOption::Other(o) => {
                base(field, &o.id, o.priority, o.description.as_deref(), o.tax_rate)?;
                check_required_len(&format!("{field}.title"), &o.title, 1, 200)?;
                check_amount(&format!("{field}.amount"), &o.amount)
            }
            LogisticsOption::Instabox(_) => Err(ValidationError::new(
                format!("{field}.brand"),
                "INSTABOX is no longer supported (use POSTEN, POSTNORD, PORTERBUDDY, HELTHJEM, POSTI, GLS, DAO or OTHER)",
            )),
            LogisticsOption::Unknown(v) => match v.get("brand") {
                None | Some(serde_json::Value::Null) => {
                    Err(ValidationError::new(format!("{field}.brand"), "is required"))
                }
                Some(b) => Err(ValidationError::new(
                    format!("{field}.brand"),
                    format!(
                        "{b} is not a supported brand (POSTEN, POSTNORD, PORTERBUDDY, HELTHJEM, POSTI, GLS, DAO or OTHER)"
                    ),
                )),
            },
        }
    }
}

/// The per-carrier `type` enums, for validation.
trait KnownEnum {
    fn known(&self) -> bool;
    fn allowed() -> String;
}

macro_rules! known_enum {
    ($($t:ty),*) => {$(
        impl KnownEnum for $t {
            fn known(&self) -> bool {
                self.is_known()
            }
            fn allowed() -> String {
                <$t>::KNOWN.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    )*};
}
known_enum!(
    PostenLogisticsType,
    PostnordLogisticsType,
    HelthjemLogisticsType,
    PostiLogisticsType,
    GlsLogisticsType
);

impl Serialize for LogisticsOption {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (brand, v) = match self {
            LogisticsOption::Posten(o) => ("POSTEN", serde_json::to_value(o)),
            LogisticsOption::Postnord(o) => ("POSTNORD", serde_json::to_value(o)),
            LogisticsOption::Porterbuddy(o) => ("PORTERBUDDY", serde_json::to_value(o)),
            LogisticsOption::Helthjem(o) => ("HELTHJEM", serde_json::to_value(o)),
            LogisticsOption::Posti(o) => ("POSTI", serde_json::to_value(o)),
            LogisticsOption::Gls(o) => ("GLS", serde_json::to_value(o)),
            LogisticsOption::Dao(o) => ("DAO", serde_json::to_value(o)),
            LogisticsOption::Instabox(o) => ("INSTABOX", serde_json::to_value(o)),
            LogisticsOption::Other(o) => ("OTHER", serde_json::to_value(o)),
            LogisticsOption::Unknown(v) => return v.serialize(s),
        };
        let mut v = v.map_err(S::Error::custom)?;
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("brand".to_owned(), serde_json::Value::String(brand.to_owned()));
        }
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for LogisticsOption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        if !v.is_object() {
            return Err(D::Error::custom("a logistics option must be a JSON object"));
        }
        fn from<T: serde::de::DeserializeOwned, E: serde::de::Error>(v: serde_json::Value) -> Result<T, E> {
            serde_json::from_value(v).map_err(E::custom)
        }
        let brand = v.get("brand").and_then(|b| b.as_str()).map(str::to_owned);
        Ok(match brand.as_deref() {
            Some("POSTEN") => LogisticsOption::Posten(from(v)?),
            Some("POSTNORD") => LogisticsOption::Postnord(from(v)?),
            Some("PORTERBUDDY") => LogisticsOption::Porterbuddy(from(v)?),
            Some("HELTHJEM") => LogisticsOption::Helthjem(from(v)?),
            Some("POSTI") => LogisticsOption::Posti(from(v)?),
            Some("GLS") => LogisticsOption::Gls(from(v)?),
            Some("DAO") => LogisticsOption::Dao(from(v)?),
            Some("INSTABOX") => LogisticsOption::Instabox(from(v)?),
            Some("OTHER") => LogisticsOption::Other(from(v)?),
            _ => LogisticsOption::Unknown(v),
        })
    }
}

/// Address of the Porterbuddy sender.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PorterbuddyOriginAddress {
    /// Street address.
    pub street_address: String,
    /// Post code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
}

/// The sender of Porterbuddy parcels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PorterbuddyOrigin {
    /// Store name.
    pub name: String,
    /// Where booking confirmations go.
    pub email: String,
    /// MSISDN with country code.
    pub phone_number: String,
    /// Pickup address.
    pub address: PorterbuddyOriginAddress,
}

/// Porterbuddy credentials.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PorterbuddyIntegration {
    /// Public token from Porterbuddy.
    pub public_token: String,
    /// API key from Porterbuddy (not empty).
    pub api_key: String,
    /// The sender.
    pub origin: PorterbuddyOrigin,
}

redacted_debug!(PorterbuddyIntegration {
    plain: [origin],
    secret: [public_token, api_key]
});

/// Helthjem credentials.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelthjemIntegration {
    /// User name (not empty).
    pub username: String,
    /// Password (not empty).
    pub password: String,
    /// Shop id.
    pub shop_id: i32,
}

redacted_debug!(HelthjemIntegration {
    plain: [username, shop_id],
    secret: [password]
});

/// Carrier credentials for enriched features (`logistics.integrations`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integrations {
    /// Porterbuddy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub porterbuddy: Option<PorterbuddyIntegration>,
    /// Helthjem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helthjem: Option<HelthjemIntegration>,
}

/// Shipping (`logistics`). With both dynamic and fixed options, the dynamic ones are shown
/// and the fixed ones are the fallback when the callback fails, times out (8 s) or answers
/// `null` / `[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Logistics {
    /// URL Checkout posts the customer's address to, answered with options
    /// ([`DynamicShippingRequest`] → [`DynamicShippingResponse`]). Needs address fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_options_callback: Option<String>,
    /// Fixed options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_options: Option<Vec<LogisticsOption>>,
    /// Carrier credentials. Needs address fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrations: Option<Integrations>,
}

/// Customer data to prefill. All optional; invalid values are not an API error (the
/// customer is asked instead), so this is not validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrefillCustomer {
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// MSISDN with country code, e.g. `4791234567`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Post code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Allowed countries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Countries {
    /// ISO 3166-1 alpha-2 codes, e.g. `["NO", "SE", "DK"]`.
    pub supported: Vec<String>,
}

/// A consent checkbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomConsent {
    /// The text; may hold at most one markdown link `[text](https://…)`.
    pub text: String,
    /// Whether the box must be checked to pay.
    pub required: bool,
}

/// An external payment method to offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalPaymentMethod {
    /// Which one.
    pub payment_method: ExternalPaymentMethodType,
    /// Where the customer finishes that payment (https).
    pub redirect_url: String,
}

/// Session configuration (`configuration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutConfig {
    /// Customer present or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_interaction: Option<CustomerInteraction>,
    /// Which fields are shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<Elements>,
    /// Allowed countries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Countries>,
    /// The user flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_flow: Option<UserFlow>,
    /// Require sharing email and openid `sub` (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_user_info: Option<bool>,
    /// A consent checkbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_consent: Option<CustomConsent>,
    /// Show the order lines (needs `transaction.orderSummary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_order_summary: Option<bool>,
    /// External payment methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_payment_methods: Option<Vec<ExternalPaymentMethod>>,
}

/// A subscription interval, e.g. every 2 weeks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    /// The unit.
    pub unit: IntervalUnit,
    /// How many units (1 or more).
    pub count: i32,
}

impl Interval {
    /// Every `count` `unit`s.
    pub fn new(unit: IntervalUnit, count: i32) -> Self {
        Interval { unit, count }
    }

    /// Every month.
    pub fn monthly() -> Self {
        Interval::new(IntervalUnit::Month, 1)
    }
}

/// A discount campaign of a subscription. The documented shapes are: an event campaign
/// (`eventDate`, `eventText`), a period campaign (`period`) and a price campaign (`end`),
/// each with a `price` and a `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionCampaign {
    /// The campaign type discriminator (values not documented).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The campaign price in minor units.
    pub price: i64,
    /// Event campaign: the date (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_date: Option<String>,
    /// Event campaign: the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_text: Option<String>,
    /// Period campaign: the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Interval>,
    /// Price campaign: the end (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// The recurring part of a `SUBSCRIPTION` session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Shown to the customer, e.g. "Bi-weekly socks".
    pub product_name: String,
    /// Charged every interval.
    pub amount: Amount,
    /// How often.
    pub interval: Interval,
    /// The merchant's page about the subscription (https).
    pub merchant_agreement_url: String,
    /// Shown to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_description: Option<String>,
    /// A discount campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<SubscriptionCampaign>,
}

impl Subscription {
    /// The required fields; set `product_description` and `campaign` with struct update syntax.
    pub fn new(
        product_name: impl Into<String>,
        amount: Amount,
        interval: Interval,
        merchant_agreement_url: impl Into<String>,
    ) -> Self {
        Subscription {
            product_name: product_name.into(),
            amount,
            interval,
            merchant_agreement_url: merchant_agreement_url.into(),
            product_description: None,
            campaign: None,
        }
    }
}

/// `POST /checkout/v3/session` body.
///
/// `PAYMENT` sessions need `transaction`; `SUBSCRIPTION` sessions need `subscription`, and
/// `reference` when there is no `transaction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateSessionRequest {
    /// `PAYMENT` (also when absent) or `SUBSCRIPTION`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<SessionType>,
    /// The merchant's unique reference of the session (and its payment), 8–50 characters
    /// of `a-zA-Z0-9-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// URLs and callback token.
    pub merchant_info: MerchantInfo,
    /// The payment (required for `PAYMENT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<PaymentTransaction>,
    /// The subscription (required for `SUBSCRIPTION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    /// Shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logistics: Option<Logistics>,
    /// Known customer data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_customer: Option<PrefillCustomer>,
    /// Configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<CheckoutConfig>,
}

impl InitiateSessionRequest {
    /// A `PAYMENT` session. The transaction's reference is also sent top-level.
    pub fn payment(merchant_info: MerchantInfo, transaction: PaymentTransaction) -> Self {
        InitiateSessionRequest {
            type_: Some(SessionType::Payment),
            reference: transaction.reference.clone(),
            merchant_info,
            transaction: Some(transaction),
            subscription: None,
            logistics: None,
            prefill_customer: None,
            configuration: None,
        }
    }

    /// A `SUBSCRIPTION` session (set `transaction` too for a one-time payment with it).
    pub fn subscription(reference: Reference, merchant_info: MerchantInfo, subscription: Subscription) -> Self {
        InitiateSessionRequest {
            type_: Some(SessionType::Subscription),
            reference: Some(reference),
            merchant_info,
            transaction: None,
            subscription: Some(subscription),
            logistics: None,
            prefill_customer: None,
            configuration: None,
        }
    }

    /// The session type (`PAYMENT` when absent).
    pub fn session_type(&self) -> SessionType {
        self.type_.clone().unwrap_or(SessionType::Payment)
    }

    /// The session reference: top-level, else `transaction.reference`.
    pub fn effective_reference(&self) -> Option<&Reference> {
        self.reference
            .as_ref()
            .or_else(|| self.transaction.as_ref().and_then(|t| t.reference.as_ref()))
    }
}

/// The response of create session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InitiateSessionResponse {
    /// The session token for the frontend SDK.
    pub token: String,
    /// Where the frontend loads from (`VippsCheckout({checkoutFrontendUrl, token})`).
    pub checkout_frontend_url: String,
    /// The complete URL of get session for this session.
    pub polling_url: String,
}

impl InitiateSessionResponse {
    /// The answer to create session: the frontend's token and URL, and where to poll.
    pub fn new(
        token: impl Into<String>,
        checkout_frontend_url: impl Into<String>,
        polling_url: impl Into<String>,
    ) -> Self {
        InitiateSessionResponse {
            token: token.into(),
            checkout_frontend_url: checkout_frontend_url.into(),
            polling_url: polling_url.into(),
        }
    }
}

/// `PATCH /checkout/v3/session/{reference}` body (experimental API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSessionRequest {
    /// The new amount, description and order summary. `transaction.reference` is
    /// deprecated; when given it must be the session's reference.
    pub transaction: PaymentTransaction,
}

// ------------------------------------------------------------------------------------------
// Session response (poll result and callback body)
// ------------------------------------------------------------------------------------------

/// Running totals of the payment. Amounts are absent rather than zero when nothing happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionAggregate {
    /// Released by cancel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_amount: Option<Amount>,
    /// Captured so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_amount: Option<Amount>,
    /// Refunded so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_amount: Option<Amount>,
    /// Reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_amount: Option<Amount>,
}

/// The payment of a session (`paymentDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentDetails {
    /// The variant discriminator of newer API versions (wallet, card, bank transfer); values
    /// not documented.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The amount, including shipping.
    pub amount: Amount,
    /// The payment state (absent for bank transfers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PaymentState>,
    /// Running totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<TransactionAggregate>,
}

impl PaymentDetails {
    /// The payment of `amount`; `type_`, `state` and `aggregate` start as `None`: set them by
    /// assignment.
    pub fn new(amount: Amount) -> Self {
        PaymentDetails {
            type_: None,
            amount,
            state: None,
            aggregate: None,
        }
    }
}

/// The recurring agreement of a subscription session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubscriptionDetails {
    /// The agreement state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SubscriptionState>,
    /// The agreement id, for charges through the Recurring API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
}

/// Login data (only with `requireUserInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserInfo {
    /// The openid `sub`.
    #[serde(default)]
    pub sub: String,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The pickup point the customer chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupPoint {
    /// The carrier's id.
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Post code.
    #[serde(default)]
    pub postal_code: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Country.
    #[serde(default)]
    pub country: String,
    /// Opening hours, e.g. `Man-Søn: 1000-2000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<Vec<String>>,
}

/// Where and how the goods go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShippingDetails {
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number (defaults to country code 47).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// Post code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The chosen option's `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method_id: Option<String>,
    /// The chosen option's price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// The chosen pickup point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_point: Option<PickupPoint>,
}

/// Billing details. The API marks name, email and phone as required; missing values parse
/// as empty strings so a callback is never lost to a parse error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BillingDetails {
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// Phone number.
    #[serde(default)]
    pub phone_number: String,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// Post code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A session: the result of get session **and** the body of the "payment completed"
/// callback (identical since v3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionResponse {
    /// The session id.
    pub session_id: String,
    /// The merchant serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_serial_number: Option<String>,
    /// The reference (= the ePayment reference of the payment).
    pub reference: Reference,
    /// The session state.
    pub session_state: SessionState,
    /// How the customer paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    /// The recurring agreement (subscription sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_details: Option<SubscriptionDetails>,
    /// The payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_details: Option<PaymentDetails>,
    /// Login data (with `requireUserInfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info: Option<UserInfo>,
    /// Shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_details: Option<ShippingDetails>,
    /// Billing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_details: Option<BillingDetails>,
    /// Whether the custom consent box was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_consent_provided: Option<bool>,
}

impl SessionResponse {
    /// A session's required fields; every other field starts as `None`: set them by
    /// assignment.
    pub fn new(session_id: impl Into<String>, reference: Reference, session_state: SessionState) -> Self {
        SessionResponse {
            session_id: session_id.into(),
            merchant_serial_number: None,
            reference,
            session_state,
            payment_method: None,
            subscription_details: None,
            payment_details: None,
            user_info: None,
            shipping_details: None,
            billing_details: None,
            custom_consent_provided: None,
        }
    }

    /// Whether the session reached a final state ([`SessionState::is_final`]).
    pub fn is_final(&self) -> bool {
        self.session_state.is_final()
    }

    /// The payment state, if a payment exists.
    pub fn payment_state(&self) -> Option<&PaymentState> {
        self.payment_details.as_ref().and_then(|p| p.state.as_ref())
    }

    /// Whether the payment is reserved (ready to capture through the ePayment API).
    pub fn is_authorized(&self) -> bool {
        self.payment_state() == Some(&PaymentState::Authorized)
    }
}

// ------------------------------------------------------------------------------------------
// Dynamic shipping callback
// ------------------------------------------------------------------------------------------

/// The body Checkout posts to `logistics.dynamicOptionsCallback` when the customer
/// submits or changes the address. `region` is the city.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DynamicShippingRequest {
    /// Street address.
    #[serde(default)]
    pub street_address: String,
    /// Post code.
    #[serde(default)]
    pub postal_code: String,
    /// City.
    #[serde(default)]
    pub region: String,
    /// ISO 3166-1 alpha-2 country.
    #[serde(default)]
    pub country: String,
}

/// The answer to the dynamic shipping callback: a JSON array of options, as in
/// `fixedOptions`. An empty list (or no answer within 8 s) falls back to the fixed options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DynamicShippingResponse(pub Vec<LogisticsOption>);

impl Validate for DynamicShippingResponse {
    fn validate(&self) -> Result<(), ValidationError> {
        for (i, o) in self.0.iter().enumerate() {
            o.validate_at(&format!("[{i}]"))?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Validation
// ------------------------------------------------------------------------------------------

/// Largest amount value the API takes (`int32`).
pub const MAX_AMOUNT_VALUE: i64 = i32::MAX as i64;
/// Shortest session reference.
pub const REFERENCE_MIN_LEN: usize = 8;
/// Longest session reference (Checkout: 50, unlike ePayment's newer 64).
pub const REFERENCE_MAX_LEN: usize = 50;

/// Checks a Checkout reference: 8–50 characters of `a-zA-Z0-9-`.
pub fn check_reference(field: &str, s: &str) -> Result<(), ValidationError> {
    let n = s.len();
    if !(REFERENCE_MIN_LEN..=REFERENCE_MAX_LEN).contains(&n) {
        return Err(ValidationError::new(
            field,
            format!("must be between {REFERENCE_MIN_LEN} and {REFERENCE_MAX_LEN} characters long (was {n})"),
        ));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ValidationError::new(
            field,
            "must match ^[-a-zA-Z0-9]*$ (letters, digits and '-')",
        ));
    }
    Ok(())
}

/// A required string: not blank (the API rejects empty required strings).
fn check_required(field: &str, s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    Ok(())
}

/// A required string: not blank, and `min..=max` characters.
fn check_required_len(field: &str, s: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    check_len(field, s, min, max)
}

/// An amount: known currency, `0..=int32::MAX` minor units.
fn check_amount(field: &str, a: &Amount) -> Result<(), ValidationError> {
    if !a.currency.is_known() {
        return Err(ValidationError::new(
            format!("{field}.currency"),
            format!("'{}' is not a supported currency (NOK, DKK or EUR)", a.currency),
        ));
    }
    if !(0..=MAX_AMOUNT_VALUE).contains(&a.value) {
        return Err(ValidationError::new(
            format!("{field}.value"),
            format!("must be between 0 and {MAX_AMOUNT_VALUE} minor units"),
        ));
    }
    Ok(())
}

fn check_tax_rate(field: &str, r: Option<i32>) -> Result<(), ValidationError> {
    match r {
        Some(r) if !(0..=10_000).contains(&r) => Err(ValidationError::new(
            field,
            "must be between 0 and 10000 (hundredths of a percent)",
        )),
        _ => Ok(()),
    }
}

fn check_non_negative(field: &str, v: Option<i64>) -> Result<(), ValidationError> {
    match v {
        Some(v) if v < 0 => Err(ValidationError::new(field, "must be 0 or more")),
        _ => Ok(()),
    }
}

fn check_country(field: &str, c: &str) -> Result<(), ValidationError> {
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ValidationError::new(
            field,
            format!("'{c}' is not an ISO 3166-1 alpha-2 country code (e.g. NO)"),
        ));
    }
    Ok(())
}

fn validate_order_summary(field: &str, s: &OrderSummary, currency: &Currency) -> Result<(), ValidationError> {
    if s.order_lines.is_empty() {
        return Err(ValidationError::new(
            format!("{field}.orderLines"),
            "must contain at least one order line",
        ));
    }
    for (i, l) in s.order_lines.iter().enumerate() {
        let f = format!("{field}.orderLines[{i}]");
        check_required_len(&format!("{f}.name"), &l.name, 1, 2048)?;
        check_required_len(&format!("{f}.id"), &l.id, 1, 255)?;
        check_non_negative(&format!("{f}.totalAmount"), Some(l.total_amount))?;
        check_non_negative(
            &format!("{f}.totalAmountExcludingTax"),
            Some(l.total_amount_excluding_tax),
        )?;
        check_non_negative(&format!("{f}.totalTaxAmount"), Some(l.total_tax_amount))?;
        match (l.tax_rate, l.tax_percentage) {
            (None, None) => {
                return Err(ValidationError::new(
                    format!("{f}.taxRate"),
                    "is required (or the deprecated taxPercentage)",
                ))
            }
            (r, p) => {
                check_tax_rate(&format!("{f}.taxRate"), r)?;
                if let Some(p) = p {
                    if !(0..=100).contains(&p) {
                        return Err(ValidationError::new(
                            format!("{f}.taxPercentage"),
                            "must be between 0 and 100",
                        ));
                    }
                }
            }
        }
        check_non_negative(&format!("{f}.discount"), l.discount)?;
        if let Some(u) = &l.unit_info {
            check_non_negative(&format!("{f}.unitInfo.unitPrice"), Some(u.unit_price))?;
            if !u.quantity_unit.is_known() {
                return Err(ValidationError::new(
                    format!("{f}.unitInfo.quantityUnit"),
                    "must be PCS, KG, KM, MINUTE or LITRE",
                ));
            }
            let q = u.quantity.trim();
            let ok = !q.is_empty()
                && q.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && q.bytes().filter(|b| *b == b'.').count() <= 1
                && q.bytes().any(|b| b.is_ascii_digit());
            if !ok {
                return Err(ValidationError::new(
                    format!("{f}.unitInfo.quantity"),
                    "must be a non-negative integer or decimal, e.g. \"2\" or \"0.5\"",
                ));
            }
        }
    }
    let b = &s.order_bottom_line;
    let bf = format!("{field}.orderBottomLine");
    if !b.currency.is_known() {
        return Err(ValidationError::new(
            format!("{bf}.currency"),
            format!("'{}' is not a supported currency (NOK, DKK or EUR)", b.currency),
        ));
    }
    if &b.currency != currency {
        return Err(ValidationError::new(
            format!("{bf}.currency"),
            format!("must be the transaction's currency ({currency})"),
        ));
    }
    check_non_negative(&format!("{bf}.tipAmount"), b.tip_amount)?;
    check_non_negative(&format!("{bf}.giftCardAmount"), b.gift_card_amount)?;
    if let Some(p) = &b.payment_sources {
        check_non_negative(&format!("{bf}.paymentSources.giftCard"), p.gift_card)?;
        check_non_negative(&format!("{bf}.paymentSources.card"), p.card)?;
        check_non_negative(&format!("{bf}.paymentSources.voucher"), p.voucher)?;
        check_non_negative(&format!("{bf}.paymentSources.cash"), p.cash)?;
    }
    Ok(())
}

/// Checks a transaction (create or update) at `field`.
fn validate_transaction(field: &str, t: &PaymentTransaction) -> Result<(), ValidationError> {
    check_amount(&format!("{field}.amount"), &t.amount)?;
    if let Some(r) = &t.reference {
        check_reference(&format!("{field}.reference"), r.as_str())?;
    }
    check_len(&format!("{field}.paymentDescription"), &t.payment_description, 3, 100)?;
    if let Some(s) = &t.order_summary {
        validate_order_summary(&format!("{field}.orderSummary"), s, &t.amount.currency)?;
    }
    Ok(())
}

fn validate_subscription(s: &Subscription) -> Result<(), ValidationError> {
    check_required("subscription.productName", &s.product_name)?;
    check_amount("subscription.amount", &s.amount)?;
    if !s.interval.unit.is_known() {
        return Err(ValidationError::new(
            "subscription.interval.unit",
            "must be YEAR, MONTH, WEEK or DAY",
        ));
    }
    if s.interval.count < 1 {
        return Err(ValidationError::new("subscription.interval.count", "must be 1 or more"));
    }
    check_url(
        "subscription.merchantAgreementUrl",
        &s.merchant_agreement_url,
        false,
        None,
    )?;
    if let Some(c) = &s.campaign {
        if c.price < 0 {
            return Err(ValidationError::new("subscription.campaign.price", "must be 0 or more"));
        }
        let event = c.event_date.is_some() || c.event_text.is_some();
        let shapes = [event, c.period.is_some(), c.end.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if shapes != 1 {
            return Err(ValidationError::new(
                "subscription.campaign",
                "must be exactly one of: an event campaign (eventDate, eventText), a period campaign (period) or a price campaign (end)",
            ));
        }
        if event && (c.event_date.is_none() || c.event_text.is_none()) {
            return Err(ValidationError::new(
                "subscription.campaign",
                "an event campaign needs both eventDate and eventText",
            ));
        }
        if let Some(p) = &c.period {
            if !p.unit.is_known() || p.count < 1 {
                return Err(ValidationError::new(
                    "subscription.campaign.period",
                    "needs a unit (YEAR, MONTH, WEEK, DAY) and a count of 1 or more",
                ));
            }
        }
    }
    Ok(())
}

impl Validate for InitiateSessionRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        let kind = self.session_type();
        if !kind.is_known() {
            return Err(ValidationError::new("type", "must be PAYMENT or SUBSCRIPTION"));
        }
        if let Some(r) = &self.reference {
            check_reference("reference", r.as_str())?;
        }

        // merchantInfo
        let m = &self.merchant_info;
        if m.callback_url.trim().is_empty() {
            return Err(ValidationError::new("merchantInfo.callbackUrl", "is required"));
        }
        check_url("merchantInfo.callbackUrl", &m.callback_url, false, None)?;
        if m.return_url.trim().is_empty() {
            return Err(ValidationError::new("merchantInfo.returnUrl", "is required"));
        }
        check_url("merchantInfo.returnUrl", &m.return_url, true, None)?;
        if m.callback_authorization_token.trim().is_empty() {
            return Err(ValidationError::new(
                "merchantInfo.callbackAuthorizationToken",
                "is required",
            ));
        }
        if let Some(u) = &m.terms_and_conditions_url {
            check_url("merchantInfo.termsAndConditionsUrl", u, false, None)?;
        }

        // transaction / subscription / reference
        match kind {
            SessionType::Payment if self.transaction.is_none() => {
                return Err(ValidationError::new("transaction", "is required for a PAYMENT session"));
            }
            SessionType::Subscription if self.subscription.is_none() => {
                return Err(ValidationError::new(
                    "subscription",
                    "is required for a SUBSCRIPTION session",
                ));
            }
            SessionType::Payment if self.subscription.is_some() => {
                return Err(ValidationError::new(
                    "subscription",
                    "is only allowed when type is SUBSCRIPTION",
                ));
            }
            _ => {}
        }
        if let Some(t) = &self.transaction {
            validate_transaction("transaction", t)?;
        }
        match (
            &self.reference,
            self.transaction.as_ref().and_then(|t| t.reference.as_ref()),
        ) {
            (None, None) => {
                let field = if self.transaction.is_some() {
                    "transaction.reference"
                } else {
                    "reference"
                };
                return Err(ValidationError::new(field, "is required"));
            }
            (Some(a), Some(b)) if a != b => {
                return Err(ValidationError::new(
                    "transaction.reference",
                    "differs from the top-level reference (transaction.reference is deprecated: leave it out or make it equal)",
                ));
            }
            _ => {}
        }
        if let Some(s) = &self.subscription {
            validate_subscription(s)?;
        }

        // configuration
        let mut address_fields = true;
        if let Some(c) = &self.configuration {
            if let Some(ci) = &c.customer_interaction {
                if !ci.is_known() {
                    return Err(ValidationError::new(
                        "configuration.customerInteraction",
                        "must be CUSTOMER_PRESENT or CUSTOMER_NOT_PRESENT",
                    ));
                }
            }
            if let Some(e) = &c.elements {
                if !e.is_known() {
                    return Err(ValidationError::new(
                        "configuration.elements",
                        "must be Full, PaymentAndContactInfo or PaymentOnly",
                    ));
                }
                address_fields = e.has_address_fields();
            }
            if let Some(u) = &c.user_flow {
                if !u.is_known() {
                    return Err(ValidationError::new(
                        "configuration.userFlow",
                        "must be WEB_REDIRECT or NATIVE_REDIRECT (case-sensitive)",
                    ));
                }
            }
            if let Some(cs) = &c.countries {
                for (i, country) in cs.supported.iter().enumerate() {
                    check_country(&format!("configuration.countries.supported[{i}]"), country)?;
                }
            }
            if let Some(cc) = &c.custom_consent {
                if cc.text.trim().is_empty() {
                    return Err(ValidationError::new("configuration.customConsent.text", "is required"));
                }
                if cc.text.matches("](").count() > 1 {
                    return Err(ValidationError::new(
                        "configuration.customConsent.text",
                        "may contain at most one markdown link",
                    ));
                }
            }
            if let Some(ms) = &c.external_payment_methods {
                for (i, e) in ms.iter().enumerate() {
                    let f = format!("configuration.externalPaymentMethods[{i}]");
                    if !e.payment_method.is_known() {
                        return Err(ValidationError::new(
                            format!("{f}.paymentMethod"),
                            "is not a supported external payment method (Klarna)",
                        ));
                    }
                    check_url(&format!("{f}.redirectUrl"), &e.redirect_url, false, None)?;
                }
            }
        }

        // logistics
        if let Some(l) = &self.logistics {
            if let Some(u) = &l.dynamic_options_callback {
                if !address_fields {
                    return Err(ValidationError::new(
                        "logistics.dynamicOptionsCallback",
                        "cannot be used without address fields (configuration.elements must be Full)",
                    ));
                }
                check_url("logistics.dynamicOptionsCallback", u, false, None)?;
            }
            if let Some(i) = &l.integrations {
                if !address_fields {
                    return Err(ValidationError::new(
                        "logistics.integrations",
                        "cannot be used without address fields (configuration.elements must be Full)",
                    ));
                }
                if let Some(p) = &i.porterbuddy {
                    let f = "logistics.integrations.porterbuddy";
                    check_required(&format!("{f}.apiKey"), &p.api_key)?;
                    check_required(&format!("{f}.origin.name"), &p.origin.name)?;
                    check_required(&format!("{f}.origin.email"), &p.origin.email)?;
                    check_required(&format!("{f}.origin.phoneNumber"), &p.origin.phone_number)?;
                    let a = &p.origin.address;
                    check_required(&format!("{f}.origin.address.streetAddress"), &a.street_address)?;
                    check_required(&format!("{f}.origin.address.postalCode"), &a.postal_code)?;
                    check_required(&format!("{f}.origin.address.city"), &a.city)?;
                    check_country(&format!("{f}.origin.address.country"), &a.country)?;
                }
                if let Some(h) = &i.helthjem {
                    let f = "logistics.integrations.helthjem";
                    check_required(&format!("{f}.username"), &h.username)?;
                    check_required(&format!("{f}.password"), &h.password)?;
                }
            }
            if let Some(opts) = &l.fixed_options {
                for (i, o) in opts.iter().enumerate() {
                    let f = format!("logistics.fixedOptions[{i}]");
                    o.validate_at(&f)?;
                    if let (Some(a), Some(t)) = (o.amount(), &self.transaction) {
                        if a.currency != t.amount.currency {
                            return Err(ValidationError::new(
                                format!("{f}.amount.currency"),
                                format!("must be the transaction's currency ({})", t.amount.currency),
                            ));
                        }
                    }
                }
            }
        }

        // Shipping is paid with the (initial) payment.
        if kind == SessionType::Subscription && self.transaction.is_none() && self.logistics.is_some() {
            return Err(ValidationError::new(
                "logistics",
                "a SUBSCRIPTION session without a transaction has no payment to charge shipping with",
            ));
        }

        // The total (transaction + shipping) can never be 0.
        if let Some(t) = &self.transaction {
            let fixed: &[LogisticsOption] = self
                .logistics
                .as_ref()
                .and_then(|l| l.fixed_options.as_deref())
                .unwrap_or(&[]);
            let dynamic = self
                .logistics
                .as_ref()
                .is_some_and(|l| l.dynamic_options_callback.is_some());
            if t.amount.value == 0 {
                if fixed.is_empty() && !dynamic {
                    return Err(ValidationError::new(
                        "transaction.amount.value",
                        "must be greater than 0 when there is no shipping (the total can never be 0)",
                    ));
                }
                for (i, o) in fixed.iter().enumerate() {
                    if let Some(a) = o.amount() {
                        if a.value < 100 {
                            return Err(ValidationError::new(
                                format!("logistics.fixedOptions[{i}].amount.value"),
                                "must be at least 100 (1.00) when the transaction amount is 0",
                            ));
                        }
                    }
                }
            } else if t.amount.value < 100 && fixed.iter().any(|o| o.amount().is_some_and(|a| a.value == 0)) {
                return Err(ValidationError::new(
                    "transaction.amount.value",
                    "must be at least 100 (1.00) when a shipping option is free",
                ));
            }
            // The minimum per payment is NOK 100 øre (knowledge-base--platform-best-practices-2026.md,
            // "Amounts"; checkout--quick-start.md: "minimum 100 in øre"); DKK and EUR are 1,
            // which the rule above already demands. Shipping counts towards it
            // (checkout--shipping.md, "Pricing"), so with fixed options each option plus the
            // transaction must reach it; dynamic options are not known yet.
            let minimum = if t.amount.currency == Currency::Nok { 100 } else { 1 };
            if t.amount.value < minimum {
                if fixed.is_empty() && !dynamic {
                    return Err(ValidationError::new(
                        "transaction.amount.value",
                        format!(
                            "must be at least {minimum} (the minimum per payment in {})",
                            t.amount.currency
                        ),
                    ));
                }
                for (i, o) in fixed.iter().enumerate() {
                    if o.amount().is_some_and(|a| t.amount.value + a.value < minimum) {
                        return Err(ValidationError::new(
                            format!("logistics.fixedOptions[{i}].amount.value"),
                            format!(
                                "with the transaction amount must reach {minimum} (the minimum per payment in {})",
                                t.amount.currency
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Validate for UpdateSessionRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        validate_transaction("transaction", &self.transaction)
    }
}
