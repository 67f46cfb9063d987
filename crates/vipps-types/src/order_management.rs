//! Order Management API: receipts and categories (v2), reusable categories (v3) and images
//! (v1). `specs/order-management-latest.yaml`; the ePayment `receipt` field is the same
//! [`Receipt`] (the spec at tag 2.3.24, which the latest only extends with `taxRate`).
//!
//! Validation follows the spec's limits, plus the sums its field descriptions define:
//! an order line's `totalAmount` is `totalAmountExcludingTax + totalTaxAmount`, and the
//! deprecated bottom-line totals, when still sent, must be what the order lines add up to
//! (the spec: "sum will be calculated based on the sum of the orderLines").

use crate::common::Currency;
use crate::validate::{check_url, ValidationError};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt;

string_enum! {
    /// Which API paid the order: `ECOM` for ePayment and eCom payments, `RECURRING` for
    /// Recurring charges.
    pub enum PaymentType {
        /// An ePayment payment or an eCom order (its `reference` / `orderId`).
        Ecom = "ECOM",
        /// A Recurring charge (its `chargeId`, which is its `orderId` when one was given).
        Recurring = "RECURRING",
    }
}

impl PaymentType {
    /// The path segment of the v2 endpoints. Tag 2.3.24 (the version ePayment references)
    /// writes it in lowercase, the latest spec in uppercase; the SDK sends lowercase.
    pub fn path_segment(&self) -> &'static str {
        match self {
            PaymentType::Ecom => "ecom",
            PaymentType::Recurring => "recurring",
            PaymentType::Unknown(_) => "unknown",
        }
    }

    /// Reads a v2 path segment, in either case.
    pub fn from_path_segment(s: &str) -> Option<PaymentType> {
        if s.eq_ignore_ascii_case("ecom") {
            Some(PaymentType::Ecom)
        } else if s.eq_ignore_ascii_case("recurring") {
            Some(PaymentType::Recurring)
        } else {
            None
        }
    }
}

string_enum! {
    /// What a category's link leads to; the app labels the link with it.
    pub enum CategoryType {
        /// Anything else.
        General = "GENERAL",
        /// A receipt.
        Receipt = "RECEIPT",
        /// An order confirmation.
        OrderConfirmation = "ORDER_CONFIRMATION",
        /// Delivery or shipping status.
        Delivery = "DELIVERY",
        /// A ticket.
        Ticket = "TICKET",
        /// A booking.
        Booking = "BOOKING",
    }
}

string_enum! {
    /// The unit of an order line's quantity (`PCS` when none is given).
    pub enum QuantityUnit {
        /// Pieces.
        Pcs = "PCS",
        /// Kilograms.
        Kg = "KG",
        /// Kilometres.
        Km = "KM",
        /// Minutes.
        Minute = "MINUTE",
        /// Litres.
        Litre = "LITRE",
        /// Kilowatt hours.
        Kwh = "KWH",
    }
}

string_enum! {
    /// The format of a receipt's barcode.
    pub enum BarcodeFormat {
        /// EAN-13.
        Ean13 = "EAN-13",
        /// Code 39.
        Code39 = "CODE 39",
        /// Code 128.
        Code128 = "CODE 128",
    }
}

string_enum! {
    /// How an uploaded image is encoded (only `base64` exists).
    pub enum ImageEncoding {
        /// The image's bytes in standard base64.
        Base64 = "base64",
    }
}

/// Why an [`OrderId`] or [`ImageId`] is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidId {
    /// Which kind of id.
    pub what: &'static str,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// Checks the spec's id pattern `^[0-9A-Za-z-_\.]+$`, up to `max` characters.
fn check_id(what: &'static str, s: &str, max: usize) -> Result<(), InvalidId> {
    if s.is_empty() {
        return Err(InvalidId {
            what,
            reason: "is empty",
        });
    }
    if s.len() > max {
        return Err(InvalidId {
            what,
            reason: "is too long",
        });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(InvalidId {
            what,
            reason: "only a-z, A-Z, 0-9, '-', '_' and '.' are allowed",
        });
    }
    Ok(())
}

macro_rules! order_management_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$meta])*
        ///
        /// Deserialization does not validate (values from the server are taken as they are);
        /// `new` does.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The longest accepted id.
            pub const MAX_LEN: usize = $max;

            /// A validated id.
            pub fn new(s: impl Into<String>) -> Result<Self, InvalidId> {
                let s = s.into();
                Self::check(&s)?;
                Ok($name(s))
            }

            /// Checks a string against the id's rules.
            pub fn check(s: &str) -> Result<(), InvalidId> {
                check_id($what, s, $max)
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidId;
            fn try_from(s: &str) -> Result<Self, InvalidId> {
                $name::new(s)
            }
        }
    };
}

order_management_id!(
    /// The id of a paid order: an ePayment `reference`, an eCom `orderId` or a Recurring
    /// `chargeId` (`^[0-9A-Za-z-_\.]+$`; the spec gives no length, and no payment has an id
    /// over 64 characters, so neither does this).
    OrderId,
    "orderId",
    64
);

order_management_id!(
    /// The merchant's id of an uploaded image (`^[0-9A-Za-z-_\.]+$`, at most 128 characters).
    ImageId,
    "imageId",
    128
);

/// Quantity and unit price of an order line. Without it, the line is one piece.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitInfo {
    /// Price per unit in minor units, including tax and excluding discount.
    #[serde(default)]
    pub unit_price: Option<i64>,
    /// Quantity as a decimal string (`"2"`, `"0.822"`): at most 10 characters, up to 8
    /// decimals. Shown as written.
    #[serde(default)]
    pub quantity: String,
    /// The unit (`PCS` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_unit: Option<QuantityUnit>,
}

/// One line of a receipt. Amounts are minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The product's name.
    pub name: String,
    /// The product's id.
    pub id: String,
    /// The line's total, including tax and discount.
    pub total_amount: i64,
    /// The line's total with discount, excluding tax.
    pub total_amount_excluding_tax: i64,
    /// The line's tax.
    pub total_tax_amount: i64,
    /// Tax in whole percent, 0–100 (deprecated by the spec in favour of `taxRate`; one of
    /// the two must be set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_percentage: Option<i64>,
    /// Tax in hundredths of a percent, 0–10000 (`2500` is 25 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<i64>,
    /// Quantity and unit price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_info: Option<UnitInfo>,
    /// The line's discount (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<i64>,
    /// The product's page at the merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    /// A returned item: counts negative in every sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_return: Option<bool>,
    /// A shipping line, shown apart from the products.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_shipping: Option<bool>,
}

impl OrderLine {
    /// A line of one piece at `total_amount` (tax included) with `tax_rate` in hundredths of
    /// a percent: the tax is worked out from the total and rounded to the nearest minor unit.
    /// `tax_rate` outside 0–10000 is taken as its nearest bound.
    pub fn new(id: impl Into<String>, name: impl Into<String>, total_amount: i64, tax_rate: i64) -> Self {
        let tax_rate = tax_rate.clamp(0, 10_000);
        let divisor = i128::from(10_000 + tax_rate);
        let excluding = (i128::from(total_amount) * 10_000 + divisor / 2).div_euclid(divisor);
        // |excluding| ≤ |total_amount|, so it fits.
        let excluding = i64::try_from(excluding).unwrap_or(total_amount);
        OrderLine {
            name: name.into(),
            id: id.into(),
            total_amount,
            total_amount_excluding_tax: excluding,
            total_tax_amount: total_amount - excluding,
            tax_rate: Some(tax_rate),
            ..OrderLine::default()
        }
    }

    /// The line's tax in hundredths of a percent (`taxRate`, or `taxPercentage` × 100).
    pub fn tax_basis_points(&self) -> Option<i64> {
        self.tax_rate.or(self.tax_percentage.map(|p| p.saturating_mul(100)))
    }

    /// −1 for a returned item, 1 otherwise.
    pub fn sign(&self) -> i64 {
        if self.is_return == Some(true) {
            -1
        } else {
            1
        }
    }
}

/// Deprecated shipping totals of a bottom line (use an order line with `isShipping`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingInfo {
    /// Shipping including tax and discount.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Shipping excluding tax.
    #[serde(default)]
    pub amount_excluding_tax: Option<i64>,
    /// Shipping tax.
    #[serde(default)]
    pub tax_amount: Option<i64>,
    /// Shipping tax in percent.
    #[serde(default)]
    pub tax_percentage: Option<i64>,
}

/// How the customer paid, in minor units per source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSources {
    /// By gift card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card: Option<i64>,
    /// By card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<i64>,
    /// By voucher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<i64>,
    /// In cash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash: Option<i64>,
}

/// A barcode printed on the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Barcode {
    /// Its format.
    pub format: BarcodeFormat,
    /// What it encodes.
    #[serde(default)]
    pub data: Option<String>,
}

/// The bottom line of a receipt: currency, tip and where the receipt came from. Its totals
/// are the order lines' sums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BottomLine {
    /// The currency of every amount.
    pub currency: Currency,
    /// Tip in minor units (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_amount: Option<i64>,
    /// Deprecated: paid by gift card (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card_amount: Option<i64>,
    /// The point-of-sale terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_id: Option<String>,
    /// Deprecated: when sent, the order lines' total (or that plus the deprecated shipping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    /// Deprecated: when sent, the order lines' tax (or that plus the deprecated shipping's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tax: Option<i64>,
    /// Deprecated: must equal the order lines' discount when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_discount: Option<i64>,
    /// Deprecated: use an order line with `isShipping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_amount: Option<i64>,
    /// Deprecated: use an order line with `isShipping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_info: Option<ShippingInfo>,
    /// How the customer paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_sources: Option<PaymentSources>,
    /// A barcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<Barcode>,
    /// The merchant's receipt number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<String>,
    /// Deprecated: use `posId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
}

impl BottomLine {
    /// A bottom line in `currency` with nothing else.
    pub fn new(currency: Currency) -> Self {
        BottomLine {
            currency,
            tip_amount: None,
            gift_card_amount: None,
            pos_id: None,
            total_amount: None,
            total_tax: None,
            total_discount: None,
            shipping_amount: None,
            shipping_info: None,
            payment_sources: None,
            barcode: None,
            receipt_number: None,
            terminal_id: None,
        }
    }
}

/// Order lines and a bottom line: what the customer sees as the receipt in the app.
/// `POST /order-management/v2/{paymentType}/receipts/{orderId}`, and ePayment create's
/// `receipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// At least one line.
    pub order_lines: Vec<OrderLine>,
    /// The bottom line.
    pub bottom_line: BottomLine,
}

/// What a receipt's lines add up to, returned items counted negative (minor units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiptTotals {
    /// Including tax and discount.
    pub total: i64,
    /// Excluding tax.
    pub total_excluding_tax: i64,
    /// Tax.
    pub tax: i64,
    /// Discount.
    pub discount: i64,
}

impl Receipt {
    /// A receipt of `order_lines` in `currency`.
    pub fn new(order_lines: Vec<OrderLine>, currency: Currency) -> Self {
        Receipt {
            order_lines,
            bottom_line: BottomLine::new(currency),
        }
    }

    /// What the lines add up to (saturating: validation has refused absurd amounts).
    pub fn totals(&self) -> ReceiptTotals {
        self.order_lines.iter().fold(ReceiptTotals::default(), |t, l| {
            let s = l.sign();
            ReceiptTotals {
                total: t.total.saturating_add(s.saturating_mul(l.total_amount)),
                total_excluding_tax: t
                    .total_excluding_tax
                    .saturating_add(s.saturating_mul(l.total_amount_excluding_tax)),
                tax: t.tax.saturating_add(s.saturating_mul(l.total_tax_amount)),
                discount: t.discount.saturating_add(s.saturating_mul(l.discount.unwrap_or(0))),
            }
        })
    }

    /// Checks the receipt; field paths start with `prefix` (`""` for the Order Management
    /// body, `"receipt."` inside an ePayment create).
    pub fn check(&self, prefix: &str) -> Result<(), ValidationError> {
        let field = |f: &str| format!("{prefix}{f}");
        if self.order_lines.is_empty() {
            return Err(ValidationError::new(
                field("orderLines"),
                "must contain at least one order line",
            ));
        }
        for (i, line) in self.order_lines.iter().enumerate() {
            check_line(line, &field(&format!("orderLines[{i}]")))?;
        }
        check_bottom_line(&self.bottom_line, &field("bottomLine"))?;
        let totals = self.totals();
        let b = &self.bottom_line;
        // The deprecated shipping fields are outside the lines; a total that counts them agrees too.
        let shipping = b
            .shipping_amount
            .or(b.shipping_info.as_ref().and_then(|s| s.amount))
            .unwrap_or(0);
        let shipping_tax = b.shipping_info.as_ref().and_then(|s| s.tax_amount).unwrap_or(0);
        for (name, given, sum, extra) in [
            ("totalAmount", b.total_amount, totals.total, shipping),
            ("totalTax", b.total_tax, totals.tax, shipping_tax),
            ("totalDiscount", b.total_discount, totals.discount, 0),
        ] {
            if let Some(given) = given {
                if given != sum && given != sum.saturating_add(extra) {
                    return Err(ValidationError::new(
                        field(&format!("bottomLine.{name}")),
                        format!("is {given}, but the order lines add up to {sum}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl crate::validate::Validate for Receipt {
    fn validate(&self) -> Result<(), ValidationError> {
        self.check("")
    }
}

/// The largest amount on a receipt line: ePayment's largest amount, with room for the sums.
const MAX_LINE_AMOUNT: i64 = 1_000_000_000_000;

fn check_line(l: &OrderLine, at: &str) -> Result<(), ValidationError> {
    let field = |f: &str| format!("{at}.{f}");
    if l.name.trim().is_empty() {
        return Err(ValidationError::new(field("name"), "is required"));
    }
    if l.id.is_empty() {
        return Err(ValidationError::new(field("id"), "is required"));
    }
    for (name, v) in [
        ("totalAmount", l.total_amount),
        ("totalAmountExcludingTax", l.total_amount_excluding_tax),
        ("totalTaxAmount", l.total_tax_amount),
    ] {
        if !(-MAX_LINE_AMOUNT..=MAX_LINE_AMOUNT).contains(&v) {
            return Err(ValidationError::new(field(name), "is out of range"));
        }
    }
    if l.total_amount != l.total_amount_excluding_tax + l.total_tax_amount {
        return Err(ValidationError::new(
            field("totalAmount"),
            format!(
                "must be totalAmountExcludingTax + totalTaxAmount ({} + {} = {}), was {}",
                l.total_amount_excluding_tax,
                l.total_tax_amount,
                l.total_amount_excluding_tax + l.total_tax_amount,
                l.total_amount
            ),
        ));
    }
    match (l.tax_percentage, l.tax_rate) {
        (None, None) => {
            return Err(ValidationError::new(
                field("taxRate"),
                "either taxRate or taxPercentage must be set",
            ))
        }
        (Some(p), _) if !(0..=100).contains(&p) => {
            return Err(ValidationError::new(
                field("taxPercentage"),
                "must be between 0 and 100",
            ))
        }
        (_, Some(r)) if !(0..=10_000).contains(&r) => {
            return Err(ValidationError::new(field("taxRate"), "must be between 0 and 10000"))
        }
        (Some(p), Some(r)) if p.saturating_mul(100) != r => {
            return Err(ValidationError::new(
                field("taxRate"),
                format!("is {r}, but taxPercentage {p} means {}", p.saturating_mul(100)),
            ))
        }
        _ => {}
    }
    if let Some(d) = l.discount {
        if !(0..=MAX_LINE_AMOUNT).contains(&d) {
            return Err(ValidationError::new(field("discount"), "must be 0 or more"));
        }
    }
    if let Some(u) = &l.unit_info {
        if u.unit_price.is_some_and(|p| !(0..=MAX_LINE_AMOUNT).contains(&p)) {
            return Err(ValidationError::new(field("unitInfo.unitPrice"), "must be 0 or more"));
        }
        if !is_quantity(&u.quantity) {
            return Err(ValidationError::new(
                field("unitInfo.quantity"),
                "must be a number like \"2\" or \"0.822\" (at most 10 characters, up to 8 decimals)",
            ));
        }
        if u.quantity_unit.as_ref().is_some_and(|q| !q.is_known()) {
            return Err(ValidationError::new(
                field("unitInfo.quantityUnit"),
                "must be PCS, KG, KM, MINUTE, LITRE or KWH",
            ));
        }
    }
    if let Some(u) = &l.product_url {
        // Only a link for the app: any absolute http(s) URL (the spec gives no format).
        let ok = url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !ok {
            return Err(ValidationError::new(
                field("productUrl"),
                "must be an absolute http(s) URL",
            ));
        }
    }
    Ok(())
}

/// `^\d+([\.]\d{1,8})?$`, at most 10 characters.
fn is_quantity(q: &str) -> bool {
    let (whole, fraction) = match q.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (q, None),
    };
    q.len() <= 10
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| (1..=8).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
}

fn check_bottom_line(b: &BottomLine, at: &str) -> Result<(), ValidationError> {
    let field = |f: &str| format!("{at}.{f}");
    if !b.currency.is_known() {
        return Err(ValidationError::new(field("currency"), "must be NOK, DKK or EUR"));
    }
    let shipping = b.shipping_info.as_ref();
    for (name, v) in [
        ("tipAmount", b.tip_amount),
        ("giftCardAmount", b.gift_card_amount),
        ("totalTax", b.total_tax),
        ("totalDiscount", b.total_discount),
        ("shippingAmount", b.shipping_amount),
        ("shippingInfo.amount", shipping.and_then(|s| s.amount)),
        (
            "shippingInfo.amountExcludingTax",
            shipping.and_then(|s| s.amount_excluding_tax),
        ),
        ("shippingInfo.taxAmount", shipping.and_then(|s| s.tax_amount)),
    ] {
        if v.is_some_and(|v| !(0..=MAX_LINE_AMOUNT).contains(&v)) {
            return Err(ValidationError::new(field(name), "must be 0 or more"));
        }
    }
    if shipping
        .and_then(|s| s.tax_percentage)
        .is_some_and(|p| !(0..=100).contains(&p))
    {
        return Err(ValidationError::new(
            field("shippingInfo.taxPercentage"),
            "must be between 0 and 100",
        ));
    }
    if let Some(code) = &b.barcode {
        if !code.format.is_known() {
            return Err(ValidationError::new(
                field("barcode.format"),
                "must be EAN-13, CODE 39 or CODE 128",
            ));
        }
    }
    Ok(())
}

/// `PUT /order-management/v2/{paymentType}/categories/{orderId}` body, and the `category`
/// of an order read back: a link in the app's transaction page, labelled by its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCategory {
    /// What the link leads to.
    pub category: CategoryType,
    /// The link back to the merchant (`https://`).
    pub order_details_url: String,
    /// An uploaded image shown with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
}

impl OrderCategory {
    /// A category linking to `url`.
    pub fn new(category: CategoryType, url: impl Into<String>) -> Self {
        OrderCategory {
            category,
            order_details_url: url.into(),
            image_id: None,
        }
    }
}

fn check_category_fields(
    kind: &CategoryType,
    kind_field: &str,
    url: &str,
    url_field: &str,
    image: Option<&ImageId>,
) -> Result<(), ValidationError> {
    if !kind.is_known() {
        return Err(ValidationError::new(
            kind_field,
            "must be GENERAL, RECEIPT, ORDER_CONFIRMATION, DELIVERY, TICKET or BOOKING",
        ));
    }
    if url.is_empty() {
        return Err(ValidationError::new(url_field, "is required"));
    }
    check_url(url_field, url, false, None)?;
    if let Some(id) = image {
        ImageId::check(id.as_str()).map_err(|e| ValidationError::new("imageId", e.reason))?;
    }
    Ok(())
}

impl crate::validate::Validate for OrderCategory {
    fn validate(&self) -> Result<(), ValidationError> {
        check_category_fields(
            &self.category,
            "category",
            &self.order_details_url,
            "orderDetailsUrl",
            self.image_id.as_ref(),
        )
    }
}

/// `GET /order-management/v2/{paymentType}/{orderId}`: the order's category and receipt,
/// each when one was added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrderInfo {
    /// The latest category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<OrderCategory>,
    /// The receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

impl OrderInfo {
    /// An order's information.
    pub fn new(category: Option<OrderCategory>, receipt: Option<Receipt>) -> Self {
        OrderInfo { category, receipt }
    }
}

/// The answer to adding a receipt (201) or a category (200): the spec types it as a bare
/// JSON string (an id). Anything else the server sends is taken as no id, so a change that
/// was made never reads as a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Acknowledgement(pub Option<String>);

impl<'de> Deserialize<'de> for Acknowledgement {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Acknowledgement(Some(s)),
            _ => Acknowledgement(None),
        })
    }
}

/// `POST /order-management/v3/categories` body: a category of its own, with an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddCategoryRequest {
    /// The order it belongs to.
    pub order_id: OrderId,
    /// Which API paid the order.
    pub payment_type: PaymentType,
    /// What the link leads to.
    #[serde(rename = "type")]
    pub kind: CategoryType,
    /// The link back to the merchant.
    pub url: String,
    /// An uploaded image shown with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
}

impl crate::validate::Validate for AddCategoryRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        OrderId::check(self.order_id.as_str()).map_err(|e| ValidationError::new("orderId", e.reason))?;
        if !self.payment_type.is_known() {
            return Err(ValidationError::new("paymentType", "must be ECOM or RECURRING"));
        }
        check_category_fields(&self.kind, "type", &self.url, "url", self.image_id.as_ref())
    }
}

/// `POST /order-management/v3/categories` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AddCategoryResponse {
    /// The new category's id (a UUID).
    pub category_id: String,
}

impl AddCategoryResponse {
    /// The answer for a new category.
    pub fn new(category_id: impl Into<String>) -> Self {
        AddCategoryResponse {
            category_id: category_id.into(),
        }
    }
}

/// A v3 category, as `GET /order-management/v3/categories[/{categoryId}]` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Category {
    /// Its id.
    pub category_id: String,
    /// The order it belongs to.
    pub order_id: OrderId,
    /// Which API paid the order.
    pub payment_type: PaymentType,
    /// What the link leads to.
    #[serde(rename = "type")]
    pub kind: CategoryType,
    /// The link back to the merchant.
    pub url: String,
    /// The image shown with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
}

impl Category {
    /// The category `category_id` made from `request`.
    pub fn new(category_id: impl Into<String>, request: AddCategoryRequest) -> Self {
        Category {
            category_id: category_id.into(),
            order_id: request.order_id,
            payment_type: request.payment_type,
            kind: request.kind,
            url: request.url,
            image_id: request.image_id,
        }
    }
}

/// `GET /order-management/v3/categories?orderId=` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Categories {
    /// The order's categories, oldest first.
    #[serde(default)]
    pub categories: Vec<Category>,
}

impl Categories {
    /// A list of categories.
    pub fn new(categories: Vec<Category>) -> Self {
        Categories { categories }
    }
}

/// The largest image: 2 MB (the spec's "max file size is 2MB", read as 2 × 1024 × 1024
/// bytes of the decoded image).
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// The smallest image height in pixels.
pub const MIN_IMAGE_HEIGHT: u32 = 167;

/// `POST /order-management/v1/images` body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpload {
    /// The merchant's id for it.
    pub image_id: ImageId,
    /// The image's bytes in base64 (not a URL).
    pub src: String,
    /// Always `base64`.
    #[serde(rename = "type")]
    pub encoding: ImageEncoding,
}

impl fmt::Debug for ImageUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageUpload")
            .field("image_id", &self.image_id)
            .field("src", &format_args!("<{} base64 characters>", self.src.len()))
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl ImageUpload {
    /// An upload of `bytes` (a PNG or JPEG file's content) as `image_id`.
    pub fn new(image_id: ImageId, bytes: &[u8]) -> Self {
        ImageUpload {
            image_id,
            src: base64::engine::general_purpose::STANDARD.encode(bytes),
            encoding: ImageEncoding::Base64,
        }
    }

    /// The decoded image, checked against the spec's rules: PNG or JPEG, at most
    /// [`MAX_IMAGE_BYTES`], at least [`MIN_IMAGE_HEIGHT`] pixels high.
    pub fn decode(&self) -> Result<Image, ValidationError> {
        ImageId::check(self.image_id.as_str()).map_err(|e| ValidationError::new("imageId", e.reason))?;
        if !self.encoding.is_known() {
            return Err(ValidationError::new("type", "must be base64"));
        }
        if self.src.len() > MAX_IMAGE_BYTES.div_ceil(3) * 4 + 4 {
            return Err(ValidationError::new("src", "the image is larger than 2 MB"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.src.trim())
            .map_err(|_| ValidationError::new("src", "is not valid base64"))?;
        Image::inspect(bytes)
    }
}

impl crate::validate::Validate for ImageUpload {
    fn validate(&self) -> Result<(), ValidationError> {
        self.decode().map(drop)
    }
}

/// The format of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
}

impl ImageFormat {
    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
        }
    }
}

/// An image that passed the checks, with what its header says.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    /// PNG or JPEG.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Image {
    /// Reads a PNG or JPEG header and checks the size rules.
    pub fn inspect(bytes: Vec<u8>) -> Result<Image, ValidationError> {
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(ValidationError::new("src", "the image is larger than 2 MB"));
        }
        let (format, width, height) = png_size(&bytes)
            .map(|(w, h)| (ImageFormat::Png, w, h))
            .or_else(|| jpeg_size(&bytes).map(|(w, h)| (ImageFormat::Jpeg, w, h)))
            .ok_or_else(|| ValidationError::new("src", "must be a PNG or JPEG image"))?;
        if height < MIN_IMAGE_HEIGHT {
            return Err(ValidationError::new(
                "src",
                format!("the image is {height} pixels high; at least {MIN_IMAGE_HEIGHT} are required"),
            ));
        }
        Ok(Image {
            format,
            width,
            height,
            bytes,
        })
    }
}

/// A PNG's width and height, from its signature and `IHDR` chunk.
fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if b.len() < 24 || !b.starts_with(SIGNATURE) || &b[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(b[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(b[20..24].try_into().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// A JPEG's width and height, from its first start-of-frame segment.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let s = b.get(i + 4..i + 9)?;
            let h = u32::from(u16::from_be_bytes([s[1], s[2]]));
            let w = u32::from(u16::from_be_bytes([s[3], s[4]]));
            return (w > 0 && h > 0).then_some((w, h));
        }
        if len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// `POST /order-management/v1/images` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageResponse {
    /// The image's id.
    pub image_id: String,
}

impl ImageResponse {
    /// The answer for `image_id`.
    pub fn new(image_id: impl Into<String>) -> Self {
        ImageResponse {
            image_id: image_id.into(),
        }
    }
}

/// One invalid field of an Order Management error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InvalidParam {
    /// The field.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidParam {
    /// An invalid field.
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidParam {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// The Order Management API's error body (`ErrorResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ErrorResponse {
    /// A URI naming the kind of error.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
    /// A short summary.
    #[serde(default)]
    pub title: String,
    /// What went wrong.
    #[serde(default)]
    pub detail: String,
    /// The request's trace id.
    #[serde(default)]
    pub instance: String,
    /// The invalid fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_params: Vec<InvalidParam>,
}

impl ErrorResponse {
    /// An error with a title, a detail and a trace id.
    pub fn new(title: impl Into<String>, detail: impl Into<String>, instance: impl Into<String>) -> Self {
        ErrorResponse {
            kind: None,
            title: title.into(),
            detail: detail.into(),
            instance: instance.into(),
            invalid_params: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Validate;

    fn spec_example() -> Receipt {
        serde_json::from_str(
            r#"{"orderLines":[
              {"name":"socks","id":"line_item_1","totalAmount":1000,"totalAmountExcludingTax":800,
               "totalTaxAmount":200,"taxPercentage":25,
               "unitInfo":{"unitPrice":400,"quantity":"2.5","quantityUnit":"KG"},"discount":0,
               "productUrl":"https://example.com/store/socks","isReturn":false,"isShipping":false},
              {"name":"flip-flops","id":"line_item_2","totalAmount":5000,"totalAmountExcludingTax":4000,
               "totalTaxAmount":1000,"taxPercentage":25,
               "unitInfo":{"unitPrice":2500,"quantity":"3","quantityUnit":"PCS"},"discount":2500,
               "productUrl":"https://example.com/store/flipflops","isReturn":false,"isShipping":false},
              {"name":"Home Delivery","id":"delivery","totalAmount":1000,"totalAmountExcludingTax":800,
               "totalTaxAmount":200,"taxPercentage":25,"discount":0,"isReturn":false,"isShipping":true}],
             "bottomLine":{"currency":"NOK","tipAmount":0,"posId":"pos_122",
               "paymentSources":{"giftCard":0,"card":0,"voucher":0,"cash":0},
               "barcode":{"format":"CODE 39","data":"SC0527013501 "},"receiptNumber":"0527013501"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_spec_example_is_valid_and_round_trips() {
        let r = spec_example();
        r.validate().unwrap();
        assert_eq!(r.bottom_line.barcode.as_ref().unwrap().format, BarcodeFormat::Code39);
        let again: Receipt = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(again, r);
        assert_eq!(r.totals().total, 7000);
        assert_eq!(r.totals().tax, 1400);
        assert_eq!(r.totals().discount, 2500);
    }

    #[test]
    fn unknown_values_decode_and_are_refused_by_validation() {
        let mut v = serde_json::to_value(spec_example()).unwrap();
        v["orderLines"][0]["unitInfo"]["quantityUnit"] = "BARREL".into();
        v["bottomLine"]["currency"] = "SEK".into();
        let r: Receipt = serde_json::from_value(v).unwrap();
        assert_eq!(r.bottom_line.currency, Currency::Unknown("SEK".into()));
        assert_eq!(r.validate().unwrap_err().field, "orderLines[0].unitInfo.quantityUnit");
    }

    #[test]
    fn line_sums_tax_and_quantities_are_checked() {
        let mut r = spec_example();
        r.order_lines[1].total_tax_amount = 999;
        assert_eq!(r.validate().unwrap_err().field, "orderLines[1].totalAmount");

        let mut r = spec_example();
        r.order_lines[0].tax_percentage = None;
        assert_eq!(r.validate().unwrap_err().field, "orderLines[0].taxRate");
        r.order_lines[0].tax_rate = Some(2500);
        r.validate().unwrap();
        r.order_lines[0].tax_rate = Some(10_001);
        assert_eq!(r.validate().unwrap_err().field, "orderLines[0].taxRate");

        for bad in ["", "1.", ".5", "1.123456789", "12345678901", "-1", "1,5"] {
            let mut r = spec_example();
            r.order_lines[0].unit_info.as_mut().unwrap().quantity = bad.into();
            assert_eq!(
                r.validate().unwrap_err().field,
                "orderLines[0].unitInfo.quantity",
                "{bad:?}"
            );
        }
        for good in ["0", "3", "0.822", "1.12345678"] {
            let mut r = spec_example();
            r.order_lines[0].unit_info.as_mut().unwrap().quantity = good.into();
            r.validate().unwrap();
        }
    }

    #[test]
    fn deprecated_totals_must_agree_with_the_lines_returns_counting_negative() {
        let mut r = spec_example();
        r.bottom_line.total_amount = Some(7000);
        r.validate().unwrap();
        r.order_lines[1].is_return = Some(true);
        let e = r.validate().unwrap_err();
        assert_eq!(e.field, "bottomLine.totalAmount");
        r.bottom_line.total_amount = Some(-3000);
        r.validate().unwrap();
        assert!(Receipt::new(vec![], Currency::Nok)
            .check("receipt.")
            .is_err_and(|e| e.field == "receipt.orderLines"));
    }

    #[test]
    fn deprecated_shipping_may_be_counted_in_the_deprecated_total() {
        let mut r = spec_example();
        r.bottom_line.shipping_amount = Some(500);
        r.bottom_line.total_amount = Some(7500);
        r.validate().unwrap();
        r.bottom_line.total_amount = Some(7000);
        r.validate().unwrap();
        r.bottom_line.total_amount = Some(7400);
        assert_eq!(r.validate().unwrap_err().field, "bottomLine.totalAmount");
    }

    #[test]
    fn nullable_values_in_an_answer_decode() {
        let info: OrderInfo = serde_json::from_str(
            r#"{"category": {"category": null, "orderDetailsUrl": "https://example.com"},
                "receipt": {"orderLines": [], "bottomLine": {"currency": null, "barcode": {"format": null, "data": null}}}}"#,
        )
        .unwrap();
        assert_eq!(info.category.unwrap().category, CategoryType::Unknown(String::new()));
        let receipt = info.receipt.unwrap();
        assert_eq!(receipt.bottom_line.currency, Currency::Unknown(String::new()));
        // In a request, validation still refuses them.
        assert!(receipt.validate().is_err());
    }

    #[test]
    fn a_line_worked_out_from_its_total_adds_up() {
        let l = OrderLine::new("1", "Socks", 12_500, 2500);
        assert_eq!((l.total_amount_excluding_tax, l.total_tax_amount), (10_000, 2_500));
        let l = OrderLine::new("2", "Odd", 999, 1500);
        assert_eq!(l.total_amount_excluding_tax + l.total_tax_amount, 999);
        Receipt::new(vec![l], Currency::Nok).validate().unwrap();
        // Huge amounts and rates out of range neither overflow nor divide by zero.
        for (total, rate) in [(i64::MAX, 2500), (i64::MIN, 2500), (1000, -10_000), (1000, 99_999)] {
            let l = OrderLine::new("3", "Big", total, rate);
            assert_eq!(
                l.total_amount_excluding_tax.checked_add(l.total_tax_amount),
                Some(total)
            );
        }
    }

    #[test]
    fn ids_follow_the_pattern() {
        assert!(OrderId::new("PaymentReference123").is_ok());
        assert!(OrderId::new("a.b_c-d").is_ok());
        assert!(OrderId::new("").is_err());
        assert!(OrderId::new("a/b").is_err());
        assert!(ImageId::new("x".repeat(128)).is_ok());
        assert!(ImageId::new("x".repeat(129)).is_err());
        assert_eq!(PaymentType::from_path_segment("ECOM"), Some(PaymentType::Ecom));
        assert_eq!(
            PaymentType::from_path_segment("recurring"),
            Some(PaymentType::Recurring)
        );
        assert_eq!(PaymentType::from_path_segment("pos"), None);
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8];
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&[1, 1, 0x11, 0]);
        b
    }

    #[test]
    fn images_must_be_png_or_jpeg_high_enough_and_small_enough() {
        let id = ImageId::new("socks").unwrap();
        let ok = ImageUpload::new(id.clone(), &png(200, 167)).decode().unwrap();
        assert_eq!((ok.format, ok.width, ok.height), (ImageFormat::Png, 200, 167));
        let ok = ImageUpload::new(id.clone(), &jpeg(300, 400)).decode().unwrap();
        assert_eq!((ok.format, ok.width, ok.height), (ImageFormat::Jpeg, 300, 400));
        assert!(ImageUpload::new(id.clone(), &png(200, 166))
            .decode()
            .unwrap_err()
            .message
            .contains("166"));
        assert!(ImageUpload::new(id.clone(), b"GIF89a....").decode().is_err());
        let mut big = png(200, 200);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(ImageUpload::new(id.clone(), &big).decode().is_err());
        let mut bad = ImageUpload::new(id, &png(200, 200));
        bad.src.push('!');
        assert_eq!(bad.decode().unwrap_err().message, "is not valid base64");
        assert!(!format!("{bad:?}").contains(&bad.src[..20]));
    }
}
