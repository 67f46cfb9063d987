//! Recurring API v3 (`/recurring/v3`): agreements, charges and their webhooks.
//!
//! Money is a plain integer in minor units here (`"amount": 49900`), not the
//! `{currency, value}` object of ePayment. Dates of charges (`due`) are calendar dates.
//!
//! Rules that need the current date (a charge's `due` at least one day and at most two years
//! ahead) or server state (the agreement is `ACTIVE`, the LEGACY five-times ceiling) are not
//! checked by [`Validate`]: the server (or the emulator) checks those.

use crate::common::Currency;
use crate::validate::{check_len, check_url, Validate, ValidationError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

string_enum! {
    /// The status of an agreement.
    pub enum AgreementStatus {
        /// Drafted, waiting for the customer (expires after 10 minutes).
        Pending = "PENDING",
        /// Approved: charges may be created.
        Active = "ACTIVE",
        /// Stopped by the merchant or the customer. Permanent.
        Stopped = "STOPPED",
        /// Not approved in time, or a `DIRECT_CAPTURE` initial charge failed.
        Expired = "EXPIRED",
    }
}

string_enum! {
    /// The status of a charge.
    pub enum ChargeStatus {
        /// Created, not visible to the customer yet.
        Pending = "PENDING",
        /// Visible in the app; processed on the due date (and retried for `retryDays`).
        Due = "DUE",
        /// Being processed now.
        Processing = "PROCESSING",
        /// The API's own `UNKNOWN` status (listed by the API guide). Not to be confused with
        /// [`ChargeStatus::Unknown`], a value this crate does not know.
        StatusUnknown = "UNKNOWN",
        /// Processed and captured.
        Charged = "CHARGED",
        /// Failed: see `failureReason`.
        Failed = "FAILED",
        /// Fully refunded.
        Refunded = "REFUNDED",
        /// Partly refunded.
        PartiallyRefunded = "PARTIALLY_REFUNDED",
        /// Reserved, ready to capture.
        Reserved = "RESERVED",
        /// Partly captured; cancel the rest to release it.
        PartiallyCaptured = "PARTIALLY_CAPTURED",
        /// Cancelled.
        Cancelled = "CANCELLED",
    }
}

string_enum! {
    /// The type of a charge.
    pub enum ChargeType {
        /// A scheduled charge with a due date and retries (the default).
        Recurring = "RECURRING",
        /// A sporadic charge processed right away, never retried (allow-listed MSNs only).
        Unscheduled = "UNSCHEDULED",
        /// The agreement's initial charge (set by the server, never in a create request).
        Initial = "INITIAL",
    }
}

string_enum! {
    /// How the money of a charge moves.
    pub enum TransactionType {
        /// Captured on the due date.
        DirectCapture = "DIRECT_CAPTURE",
        /// Reserved on the due date; the merchant captures later.
        ReserveCapture = "RESERVE_CAPTURE",
    }
}

string_enum! {
    /// How many attempts a charge gets.
    pub enum ProcessingMode {
        /// Retried for `retryDays` (the default).
        MultipleAttempts = "MULTIPLE_ATTEMPTS",
        /// One attempt only; requires `retryDays: 0`.
        SingleAttempt = "SINGLE_ATTEMPT",
    }
}

string_enum! {
    /// The pricing model of an agreement. It can never change after the draft.
    pub enum PricingType {
        /// A fixed price per interval (the default).
        Legacy = "LEGACY",
        /// A suggested maximum; the customer confirms their own `maxAmount`.
        Variable = "VARIABLE",
        /// No amount and no ceiling (2026).
        Flexible = "FLEXIBLE",
    }
}

string_enum! {
    /// The unit of an interval or a campaign period.
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
    /// The kind of interval in the `{type, period}` shape.
    pub enum IntervalType {
        /// A fixed period (`period` required).
        Recurring = "RECURRING",
        /// No fixed period (no `period`).
        Flexible = "FLEXIBLE",
    }
}

string_enum! {
    /// The kind of campaign.
    pub enum CampaignType {
        /// A lower price per interval until `end`.
        PriceCampaign = "PRICE_CAMPAIGN",
        /// One price for a whole `period`.
        PeriodCampaign = "PERIOD_CAMPAIGN",
        /// A lower price until a named event (`eventDate`, `eventText`).
        EventCampaign = "EVENT_CAMPAIGN",
        /// A price per `interval` until `end`.
        FullFlexCampaign = "FULL_FLEX_CAMPAIGN",
        /// Campaigns of v2 agreements, as responses show them.
        LegacyCampaign = "LEGACY_CAMPAIGN",
    }
}

string_enum! {
    /// Why a charge failed (the wire values are lower case).
    pub enum FailureReason {
        /// No funds, wrong number, card blocked or expired: the customer fixes it in the app.
        UserActionRequired = "user_action_required",
        /// Above the customer's `maxAmount` on a `VARIABLE` agreement.
        ChargeAmountTooHigh = "charge_amount_too_high",
        /// For example the profile was deleted.
        NonTechnicalError = "non_technical_error",
        /// A failure in Recurring or downstream.
        TechnicalError = "technical_error",
    }
}

string_enum! {
    /// One entry's kind in a charge's `history`.
    pub enum ChargeEventName {
        /// The charge was created.
        Create = "CREATE",
        /// Money was reserved.
        Reserve = "RESERVE",
        /// Money was captured.
        Capture = "CAPTURE",
        /// Money was refunded.
        Refund = "REFUND",
        /// The charge (or its remainder) was cancelled.
        Cancel = "CANCEL",
        /// An attempt failed.
        Fail = "FAIL",
    }
}

string_enum! {
    /// Who stopped an agreement (`actor` of `recurring.agreement-stopped.v1`). The documents
    /// say the field tells "whether the merchant or the customer did it" without listing the
    /// values; these are our reading.
    pub enum AgreementActor {
        /// The merchant (`PATCH` with `status: STOPPED`).
        Merchant = "MERCHANT",
        /// The customer, in the app.
        User = "USER",
    }
}

string_enum! {
    /// The Recurring webhook event types.
    pub enum RecurringEventType {
        /// The customer approved the agreement.
        AgreementActivated = "recurring.agreement-activated.v1",
        /// The customer rejected the agreement.
        AgreementRejected = "recurring.agreement-rejected.v1",
        /// The agreement was stopped (see `actor`).
        AgreementStopped = "recurring.agreement-stopped.v1",
        /// The draft expired.
        AgreementExpired = "recurring.agreement-expired.v1",
        /// A charge was reserved.
        ChargeReserved = "recurring.charge-reserved.v1",
        /// A charge was captured.
        ChargeCaptured = "recurring.charge-captured.v1",
        /// A charge was cancelled (one "l" on the wire).
        ChargeCanceled = "recurring.charge-canceled.v1",
        /// A charge was refunded (2026).
        ChargeRefunded = "recurring.charge-refunded.v1",
        /// A charge failed.
        ChargeFailed = "recurring.charge-failed.v1",
        /// A charge of a batch could not be created (2026).
        ChargeCreationFailed = "recurring.charge-creation-failed.v1",
    }
}

impl RecurringEventType {
    /// Whether the event is about a charge (its payload is a [`ChargeWebhookEvent`]) rather
    /// than an agreement ([`AgreementWebhookEvent`]).
    pub fn is_charge_event(&self) -> bool {
        self.as_str().starts_with("recurring.charge-")
    }
}

// ---------------------------------------------------------------------------------------------
// Dates and shared checks
// ---------------------------------------------------------------------------------------------

const YMD: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Reads `YYYY-MM-DD`, or an RFC 3339 date-time (of which the date in its own offset counts).
fn parse_date(s: &str) -> Result<Date, String> {
    if let Ok(d) = Date::parse(s, YMD) {
        return Ok(d);
    }
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.date())
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

/// Serde for a charge's `due` in requests: written `YYYY-MM-DD`; read as `YYYY-MM-DD` or an
/// RFC 3339 date-time.
pub mod date_only {
    use super::*;

    /// Writes `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = d.format(YMD).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Reads `YYYY-MM-DD` or an RFC 3339 date-time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        parse_date(&s).map_err(serde::de::Error::custom)
    }

    /// The same for an `Option<Date>` (absent and `null` are `None`).
    pub mod option {
        use super::*;

        /// Writes `YYYY-MM-DD` (or `null`).
        pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        /// Reads `YYYY-MM-DD`, an RFC 3339 date-time, or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(s) => parse_date(&s).map(Some).map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}

/// Serde for a charge's `due` in responses: the spec types it `date-time`, so it is written as
/// midnight UTC (`2026-10-01T00:00:00Z`); read as that or as `YYYY-MM-DD`.
pub mod date_as_datetime {
    use super::*;

    /// Writes `YYYY-MM-DDT00:00:00Z`.
    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = d.format(YMD).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&format!("{text}T00:00:00Z"))
    }

    /// Reads `YYYY-MM-DD` or an RFC 3339 date-time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        super::date_only::deserialize(d)
    }
}

fn known(field: &str, is_known: bool, allowed: &str) -> Result<(), ValidationError> {
    if is_known {
        Ok(())
    } else {
        Err(ValidationError::new(field, format!("must be one of {allowed}")))
    }
}

/// An MSISDN: country code and number, digits only, 10 to 15 of them (as ePayment).
fn check_msisdn(field: &str, p: &str) -> Result<(), ValidationError> {
    if !(10..=15).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::new(
            field,
            "must be an MSISDN: 10-15 digits with country code, no '+' or spaces (e.g. 4712345678)",
        ));
    }
    Ok(())
}

/// `orderId` of a charge: 1-50 characters of `a-z`, `A-Z`, `0-9` and `-`.
fn check_order_id(field: &str, s: &str) -> Result<(), ValidationError> {
    if s.is_empty() || s.len() > 50 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ValidationError::new(
            field,
            "must be 1-50 characters of a-z, A-Z, 0-9 and '-'",
        ));
    }
    Ok(())
}

fn check_external_id(field: &str, s: &str) -> Result<(), ValidationError> {
    check_len(field, s, 1, 64)
}

/// The smallest amount the spec accepts for a charge, capture, refund or price (1.00).
pub const MIN_AMOUNT: i64 = 100;

/// The most a charge can be, per currency ("NOK 20 000, DKK 300 000, EUR 2 000", 2026),
/// in minor units. `None` for a currency this crate does not know.
pub fn max_amount(currency: &Currency) -> Option<i64> {
    match currency {
        Currency::Nok => Some(2_000_000),
        Currency::Dkk => Some(30_000_000),
        Currency::Eur => Some(200_000),
        Currency::Unknown(_) => None,
    }
}

fn check_amount(field: &str, amount: i64, min: i64) -> Result<(), ValidationError> {
    if amount < min {
        return Err(ValidationError::new(
            field,
            format!("must be at least {min} (minor units)"),
        ));
    }
    Ok(())
}

fn check_price(field: &str, amount: i64, currency: &Currency) -> Result<(), ValidationError> {
    check_amount(field, amount, MIN_AMOUNT)?;
    if let Some(max) = max_amount(currency) {
        if amount > max {
            return Err(ValidationError::new(
                field,
                format!("must be at most {max} minor units of {currency}"),
            ));
        }
    }
    Ok(())
}

fn prefixed(prefix: &str, e: ValidationError) -> ValidationError {
    ValidationError {
        field: format!("{prefix}.{}", e.field),
        ..e
    }
}

// ---------------------------------------------------------------------------------------------
// Intervals, pricing, campaigns
// ---------------------------------------------------------------------------------------------

/// A period: `count` times `unit` (`{"unit": "MONTH", "count": 1}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimePeriod {
    /// The unit.
    pub unit: IntervalUnit,
    /// How many units, 1 to 31 (read from a quoted number too).
    #[serde(deserialize_with = "crate::common::string_or_number::i32_or_digits")]
    pub count: i32,
}

impl TimePeriod {
    /// `count` times `unit`.
    pub fn new(unit: IntervalUnit, count: i32) -> Self {
        TimePeriod { unit, count }
    }
}

impl Validate for TimePeriod {
    fn validate(&self) -> Result<(), ValidationError> {
        known("unit", self.unit.is_known(), "YEAR, MONTH, WEEK, DAY")?;
        if !(1..=31).contains(&self.count) {
            return Err(ValidationError::new("count", "must be between 1 and 31"));
        }
        Ok(())
    }
}

/// An agreement's interval in a request, in either of the two shapes the documents show.
///
/// - [`Interval::Period`], `{"unit": "MONTH", "count": 1}`: the draft in the spec and the 2026
///   agreements page.
/// - [`Interval::Typed`], `{"type": "RECURRING", "period": {"unit": "MONTH", "count": 1}}` or
///   `{"type": "FLEXIBLE"}`: the update (`PATCH`) in the spec and the 2026 page.
///
/// Reading picks the shape by the presence of `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interval {
    /// `{unit, count}`.
    Period(TimePeriod),
    /// `{type, period?}`.
    Typed {
        /// `RECURRING` (with a period) or `FLEXIBLE` (without).
        type_: IntervalType,
        /// The period of a `RECURRING` interval.
        period: Option<TimePeriod>,
    },
}

impl Interval {
    /// `{unit, count}`: every `count` `unit`s.
    pub fn every(count: i32, unit: IntervalUnit) -> Self {
        Interval::Period(TimePeriod::new(unit, count))
    }
    /// `{type: RECURRING, period: {unit, count}}`.
    pub fn recurring(count: i32, unit: IntervalUnit) -> Self {
        Interval::Typed {
            type_: IntervalType::Recurring,
            period: Some(TimePeriod::new(unit, count)),
        }
    }
    /// `{type: FLEXIBLE}`.
    pub fn flexible() -> Self {
        Interval::Typed {
            type_: IntervalType::Flexible,
            period: None,
        }
    }
    /// The period, when there is one.
    pub fn period(&self) -> Option<&TimePeriod> {
        match self {
            Interval::Period(p) => Some(p),
            Interval::Typed { period, .. } => period.as_ref(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInterval {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    type_: Option<IntervalType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<TimePeriod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<IntervalUnit>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::common::string_or_number::opt_i32_or_digits"
    )]
    count: Option<i32>,
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Interval::Period(p) => p.serialize(s),
            Interval::Typed { type_, period } => RawInterval {
                type_: Some(type_.clone()),
                period: period.clone(),
                unit: None,
                count: None,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawInterval::deserialize(d)?;
        match (raw.type_, raw.unit, raw.count) {
            (Some(type_), None, None) => Ok(Interval::Typed {
                type_,
                period: raw.period,
            }),
            (Some(_), _, _) => Err(serde::de::Error::custom(
                "interval: `type` goes with `period`, not with `unit`/`count`",
            )),
            (None, Some(unit), Some(count)) if raw.period.is_none() => Ok(Interval::Period(TimePeriod { unit, count })),
            _ => Err(serde::de::Error::custom(
                "interval: needs `unit` and `count`, or `type` (with `period` for RECURRING)",
            )),
        }
    }
}

impl Validate for Interval {
    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Interval::Period(p) => p.validate(),
            Interval::Typed { type_, period } => {
                known("type", type_.is_known(), "RECURRING, FLEXIBLE")?;
                match (type_, period) {
                    (IntervalType::Recurring, Some(p)) => p.validate().map_err(|e| prefixed("period", e)),
                    (IntervalType::Recurring, None) => {
                        Err(ValidationError::new("period", "is required for a RECURRING interval"))
                    }
                    (_, Some(_)) => Err(ValidationError::new(
                        "period",
                        "is only allowed with a RECURRING interval",
                    )),
                    (_, None) => Ok(()),
                }
            }
        }
    }
}

/// An agreement's interval in a response: `{unit, count, text}` (spec and 2026 example), and
/// the `{type, period}` shape where the server answers with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IntervalResponse {
    /// The unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<IntervalUnit>,
    /// How many units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// The interval in words (`every 2 months`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `RECURRING` or `FLEXIBLE`, in the newer shape.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<IntervalType>,
    /// The period, in the newer shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<TimePeriod>,
}

impl IntervalResponse {
    /// `{unit, count, text}`.
    pub fn new(unit: IntervalUnit, count: i32, text: impl Into<String>) -> Self {
        IntervalResponse {
            unit: Some(unit),
            count: Some(count),
            text: Some(text.into()),
            type_: None,
            period: None,
        }
    }
}

/// `pricing` of a draft: `{type, amount | suggestedMaxAmount, currency}`.
///
/// `type` defaults to `LEGACY` on the server when absent; the constructors always set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingRequest {
    /// The pricing model (`LEGACY` when absent).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<PricingType>,
    /// The currency.
    pub currency: Currency,
    /// `LEGACY`: the price per interval, minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// `VARIABLE`: the suggested maximum, minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_max_amount: Option<i64>,
}

impl PricingRequest {
    /// A fixed price per interval.
    pub fn legacy(amount: i64, currency: Currency) -> Self {
        PricingRequest {
            type_: Some(PricingType::Legacy),
            currency,
            amount: Some(amount),
            suggested_max_amount: None,
        }
    }
    /// A suggested maximum the customer confirms.
    pub fn variable(suggested_max_amount: i64, currency: Currency) -> Self {
        PricingRequest {
            type_: Some(PricingType::Variable),
            currency,
            amount: None,
            suggested_max_amount: Some(suggested_max_amount),
        }
    }
    /// No amount, no ceiling.
    pub fn flexible(currency: Currency) -> Self {
        PricingRequest {
            type_: Some(PricingType::Flexible),
            currency,
            amount: None,
            suggested_max_amount: None,
        }
    }
    /// The pricing model in effect (`LEGACY` when `type` is absent).
    pub fn pricing_type(&self) -> PricingType {
        self.type_.clone().unwrap_or(PricingType::Legacy)
    }
}

impl Validate for PricingRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        let type_ = self.pricing_type();
        known("type", type_.is_known(), "LEGACY, VARIABLE, FLEXIBLE")?;
        known("currency", self.currency.is_known(), "NOK, DKK, EUR")?;
        match type_ {
            PricingType::Legacy => {
                let Some(amount) = self.amount else {
                    return Err(ValidationError::new("amount", "is required for LEGACY pricing"));
                };
                check_price("amount", amount, &self.currency)?;
                if self.suggested_max_amount.is_some() {
                    return Err(ValidationError::new(
                        "suggestedMaxAmount",
                        "is only allowed with VARIABLE pricing",
                    ));
                }
            }
            PricingType::Variable => {
                let Some(max) = self.suggested_max_amount else {
                    return Err(ValidationError::new(
                        "suggestedMaxAmount",
                        "is required for VARIABLE pricing",
                    ));
                };
                check_price("suggestedMaxAmount", max, &self.currency)?;
                if self.amount.is_some() {
                    return Err(ValidationError::new("amount", "is only allowed with LEGACY pricing"));
                }
            }
            _ => {
                if self.amount.is_some() {
                    return Err(ValidationError::new("amount", "is not allowed with FLEXIBLE pricing"));
                }
                if self.suggested_max_amount.is_some() {
                    return Err(ValidationError::new(
                        "suggestedMaxAmount",
                        "is not allowed with FLEXIBLE pricing",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `pricing` of an agreement in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PricingResponse {
    /// The pricing model.
    #[serde(rename = "type")]
    pub type_: PricingType,
    /// The currency.
    pub currency: Currency,
    /// `LEGACY`: the price per interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// `VARIABLE`: the merchant's suggested maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_max_amount: Option<i64>,
    /// `VARIABLE`: the maximum the customer confirmed (and may change at any time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<i64>,
}

impl PricingResponse {
    /// `LEGACY` pricing.
    pub fn legacy(amount: i64, currency: Currency) -> Self {
        PricingResponse {
            type_: PricingType::Legacy,
            currency,
            amount: Some(amount),
            suggested_max_amount: None,
            max_amount: None,
        }
    }
    /// `VARIABLE` pricing.
    pub fn variable(suggested_max_amount: i64, max_amount: i64, currency: Currency) -> Self {
        PricingResponse {
            type_: PricingType::Variable,
            currency,
            amount: None,
            suggested_max_amount: Some(suggested_max_amount),
            max_amount: Some(max_amount),
        }
    }
    /// `FLEXIBLE` pricing.
    pub fn flexible(currency: Currency) -> Self {
        PricingResponse {
            type_: PricingType::Flexible,
            currency,
            amount: None,
            suggested_max_amount: None,
            max_amount: None,
        }
    }
}

/// `campaign` of a draft. Which fields are required depends on `type`:
/// `PRICE_CAMPAIGN` {price, end}, `PERIOD_CAMPAIGN` {price, period},
/// `EVENT_CAMPAIGN` {price, eventDate, eventText}, `FULL_FLEX_CAMPAIGN` {price, interval, end}.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    /// The kind of campaign.
    #[serde(rename = "type")]
    pub type_: CampaignType,
    /// The campaign price, minor units (0 for a free period).
    pub price: i64,
    /// `PRICE_CAMPAIGN`, `FULL_FLEX_CAMPAIGN`: when it ends.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::common::rfc3339::option"
    )]
    pub end: Option<OffsetDateTime>,
    /// `PERIOD_CAMPAIGN`: the duration the price covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<TimePeriod>,
    /// `FULL_FLEX_CAMPAIGN`: the interval of the campaign price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<TimePeriod>,
    /// `EVENT_CAMPAIGN`: the date of the event.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::common::rfc3339::option"
    )]
    pub event_date: Option<OffsetDateTime>,
    /// `EVENT_CAMPAIGN`: the event, appended to a sentence (start it in lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_text: Option<String>,
}

impl Campaign {
    fn bare(type_: CampaignType, price: i64) -> Self {
        Campaign {
            type_,
            price,
            end: None,
            period: None,
            interval: None,
            event_date: None,
            event_text: None,
        }
    }
    /// `price` per interval until `end`.
    pub fn price(price: i64, end: OffsetDateTime) -> Self {
        Campaign {
            end: Some(end),
            ..Campaign::bare(CampaignType::PriceCampaign, price)
        }
    }
    /// `price` for the whole `period`.
    pub fn period(price: i64, period: TimePeriod) -> Self {
        Campaign {
            period: Some(period),
            ..Campaign::bare(CampaignType::PeriodCampaign, price)
        }
    }
    /// `price` until the event on `event_date`, described by `event_text`.
    pub fn event(price: i64, event_date: OffsetDateTime, event_text: impl Into<String>) -> Self {
        Campaign {
            event_date: Some(event_date),
            event_text: Some(event_text.into()),
            ..Campaign::bare(CampaignType::EventCampaign, price)
        }
    }
    /// `price` per `interval` until `end`.
    pub fn full_flex(price: i64, interval: TimePeriod, end: OffsetDateTime) -> Self {
        Campaign {
            interval: Some(interval),
            end: Some(end),
            ..Campaign::bare(CampaignType::FullFlexCampaign, price)
        }
    }
}

impl Validate for Campaign {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.price < 0 {
            return Err(ValidationError::new("price", "must not be negative"));
        }
        let need = |present: bool, field: &str| {
            if present {
                Ok(())
            } else {
                Err(ValidationError::new(field, format!("is required for a {}", self.type_)))
            }
        };
        match self.type_ {
            CampaignType::PriceCampaign => need(self.end.is_some(), "end"),
            CampaignType::PeriodCampaign => {
                need(self.period.is_some(), "period")?;
                self.period
                    .iter()
                    .try_for_each(|p| p.validate().map_err(|e| prefixed("period", e)))
            }
            CampaignType::EventCampaign => {
                need(self.event_date.is_some(), "eventDate")?;
                need(self.event_text.is_some(), "eventText")?;
                self.event_text
                    .iter()
                    .try_for_each(|t| check_len("eventText", t, 1, 100))
            }
            CampaignType::FullFlexCampaign => {
                need(self.interval.is_some(), "interval")?;
                need(self.end.is_some(), "end")?;
                self.interval
                    .iter()
                    .try_for_each(|p| p.validate().map_err(|e| prefixed("interval", e)))
            }
            _ => Err(ValidationError::new(
                "type",
                "must be one of PRICE_CAMPAIGN, PERIOD_CAMPAIGN, EVENT_CAMPAIGN, FULL_FLEX_CAMPAIGN",
            )),
        }
    }
}

/// `campaign` of an agreement in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CampaignResponse {
    /// The kind of campaign.
    #[serde(rename = "type")]
    pub type_: CampaignType,
    /// The campaign price, minor units.
    pub price: i64,
    /// When it ends (every type but `EVENT_CAMPAIGN`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::common::rfc3339::option"
    )]
    pub end: Option<OffsetDateTime>,
    /// `PERIOD_CAMPAIGN`: the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<TimePeriod>,
    /// `FULL_FLEX_CAMPAIGN`: the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<TimePeriod>,
    /// `EVENT_CAMPAIGN`: the date of the event.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::common::rfc3339::option"
    )]
    pub event_date: Option<OffsetDateTime>,
    /// `EVENT_CAMPAIGN`: the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_text: Option<String>,
    /// The campaign in words, as the app shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

impl CampaignResponse {
    /// A campaign of `type_` at `price`; the type's own fields start as `None`.
    pub fn new(type_: CampaignType, price: i64) -> Self {
        CampaignResponse {
            type_,
            price,
            end: None,
            period: None,
            interval: None,
            event_date: None,
            event_text: None,
            explanation: None,
        }
    }
}

impl From<Campaign> for CampaignResponse {
    fn from(c: Campaign) -> Self {
        CampaignResponse {
            type_: c.type_,
            price: c.price,
            end: c.end,
            period: c.period,
            interval: c.interval,
            event_date: c.event_date,
            event_text: c.event_text,
            explanation: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Agreements
// ---------------------------------------------------------------------------------------------

/// `initialCharge` of a draft: billed when the customer approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitialCharge {
    /// Minor units. No price ceiling applies.
    pub amount: i64,
    /// Shown in the app.
    pub description: String,
    /// `DIRECT_CAPTURE` (the agreement only activates if it succeeds) or `RESERVE_CAPTURE`.
    pub transaction_type: TransactionType,
    /// Replaces the generated charge id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// For settlement reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl InitialCharge {
    /// An initial charge without `orderId` and `externalId`.
    pub fn new(amount: i64, description: impl Into<String>, transaction_type: TransactionType) -> Self {
        InitialCharge {
            amount,
            description: description.into(),
            transaction_type,
            order_id: None,
            external_id: None,
        }
    }
}

impl Validate for InitialCharge {
    fn validate(&self) -> Result<(), ValidationError> {
        check_amount("amount", self.amount, 1)?;
        check_len("description", &self.description, 1, 45)?;
        known(
            "transactionType",
            self.transaction_type.is_known(),
            "DIRECT_CAPTURE, RESERVE_CAPTURE",
        )?;
        if let Some(o) = &self.order_id {
            check_order_id("orderId", o)?;
        }
        if let Some(x) = &self.external_id {
            check_external_id("externalId", x)?;
        }
        Ok(())
    }
}

/// Body of `POST /recurring/v3/agreements` (draft an agreement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftAgreement {
    /// The price model.
    pub pricing: PricingRequest,
    /// The interval; `None` for pay-per-use (2026: "Omit `interval` entirely").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// Where the customer lands after approving or rejecting.
    pub merchant_redirect_url: String,
    /// The merchant's page for managing this agreement (opened in the browser: https).
    pub merchant_agreement_url: String,
    /// The agreement's name in the app, at most 45 characters.
    pub product_name: String,
    /// A detail line, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_description: Option<String>,
    /// Prefills the landing page (MSISDN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Billed at activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_charge: Option<InitialCharge>,
    /// An introductory price (`LEGACY` pricing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Campaign>,
    /// Userinfo scopes, space-separated (`address name email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Forces a `vipps://` confirmation URL. Discouraged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_app: Option<bool>,
    /// Skip the landing page (special cases only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_landing_page: Option<bool>,
    /// The merchant's own id of the agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Two upper-case letters (`NO`, `DK`, `FI`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

impl DraftAgreement {
    /// A draft with the required fields; everything else `None` (set by assignment or with
    /// struct update syntax).
    pub fn new(
        pricing: PricingRequest,
        interval: Option<Interval>,
        product_name: impl Into<String>,
        merchant_redirect_url: impl Into<String>,
        merchant_agreement_url: impl Into<String>,
    ) -> Self {
        DraftAgreement {
            pricing,
            interval,
            merchant_redirect_url: merchant_redirect_url.into(),
            merchant_agreement_url: merchant_agreement_url.into(),
            product_name: product_name.into(),
            product_description: None,
            phone_number: None,
            initial_charge: None,
            campaign: None,
            scope: None,
            is_app: None,
            skip_landing_page: None,
            external_id: None,
            country_code: None,
        }
    }
}

fn check_product(name: Option<&str>, description: Option<&str>) -> Result<(), ValidationError> {
    if let Some(n) = name {
        check_len("productName", n, 1, 45)?;
    }
    if let Some(d) = description {
        check_len("productDescription", d, 1, 100)?;
    }
    Ok(())
}

fn check_agreement_url(u: &str) -> Result<(), ValidationError> {
    check_len("merchantAgreementUrl", u, 1, 1024)?;
    check_url("merchantAgreementUrl", u, false, None)
}

impl Validate for DraftAgreement {
    fn validate(&self) -> Result<(), ValidationError> {
        self.pricing.validate().map_err(|e| prefixed("pricing", e))?;
        if let Some(i) = &self.interval {
            i.validate().map_err(|e| prefixed("interval", e))?;
        }
        check_product(Some(&self.product_name), self.product_description.as_deref())?;
        check_len("merchantRedirectUrl", &self.merchant_redirect_url, 1, 1024)?;
        check_url("merchantRedirectUrl", &self.merchant_redirect_url, true, None)?;
        check_agreement_url(&self.merchant_agreement_url)?;
        if let Some(p) = &self.phone_number {
            check_msisdn("phoneNumber", p)?;
        }
        if let Some(c) = &self.initial_charge {
            c.validate().map_err(|e| prefixed("initialCharge", e))?;
        }
        if let Some(c) = &self.campaign {
            let type_ = self.pricing.pricing_type();
            if type_ != PricingType::Legacy {
                return Err(ValidationError::new(
                    "campaign",
                    format!("is not available with {type_} pricing"),
                ));
            }
            c.validate().map_err(|e| prefixed("campaign", e))?;
            if let Some(amount) = self.pricing.amount {
                if c.price >= amount {
                    return Err(ValidationError::new(
                        "campaign.price",
                        "must be lower than the agreement price (pricing.amount)",
                    ));
                }
            }
        }
        if let Some(s) = &self.scope {
            if s.trim().is_empty() {
                return Err(ValidationError::new("scope", "must name at least one scope"));
            }
        }
        if let Some(x) = &self.external_id {
            check_external_id("externalId", x)?;
        }
        if let Some(c) = &self.country_code {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(ValidationError::new("countryCode", "must be two upper-case letters"));
            }
        }
        Ok(())
    }
}

/// The response of drafting an agreement (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AgreementCreated {
    /// The agreement id (`agr_…`). Store it before redirecting.
    pub agreement_id: String,
    /// The agreement's UUID.
    pub uuid: Uuid,
    /// Where to send the customer, unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vipps_confirmation_url: Option<String>,
    /// The initial charge's id, when the draft had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
}

impl AgreementCreated {
    /// The required fields; the optional ones start as `None`.
    pub fn new(agreement_id: impl Into<String>, uuid: Uuid) -> Self {
        AgreementCreated {
            agreement_id: agreement_id.into(),
            uuid,
            vipps_confirmation_url: None,
            charge_id: None,
        }
    }
}

/// An agreement (`GET /recurring/v3/agreements/{agreementId}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Agreement {
    /// The agreement id.
    pub id: String,
    /// The status.
    pub status: AgreementStatus,
    /// The agreement's name in the app.
    pub product_name: String,
    /// The detail line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_description: Option<String>,
    /// The price model (with the customer's `maxAmount` for `VARIABLE`).
    pub pricing: PricingResponse,
    /// The interval (empty for pay-per-use).
    #[serde(default)]
    pub interval: IntervalResponse,
    /// The campaign, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignResponse>,
    /// When it was drafted.
    #[serde(with = "crate::common::rfc3339")]
    pub created: OffsetDateTime,
    /// When it became active.
    #[serde(default, with = "crate::common::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
    /// When it was stopped.
    #[serde(default, with = "crate::common::rfc3339::option")]
    pub stop: Option<OffsetDateTime>,
    /// The merchant's management page for it.
    pub merchant_agreement_url: String,
    /// Where the customer lands after the app.
    pub merchant_redirect_url: String,
    /// The customer's id for Userinfo, when `scope` was asked for and approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The full Userinfo URL for `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_url: Option<String>,
    /// The merchant's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The customer's country (`NO`, `DK`, `FI`).
    pub country_code: String,
    /// The agreement's UUID.
    pub uuid: Uuid,
    /// The confirmation URL (while `PENDING`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vipps_confirmation_url: Option<String>,
}

impl Agreement {
    /// An agreement's required fields; the optional ones start as `None` and the interval
    /// empty.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        status: AgreementStatus,
        product_name: impl Into<String>,
        pricing: PricingResponse,
        created: OffsetDateTime,
        merchant_agreement_url: impl Into<String>,
        merchant_redirect_url: impl Into<String>,
        country_code: impl Into<String>,
        uuid: Uuid,
    ) -> Self {
        Agreement {
            id: id.into(),
            status,
            product_name: product_name.into(),
            product_description: None,
            pricing,
            interval: IntervalResponse::default(),
            campaign: None,
            created,
            start: None,
            stop: None,
            merchant_agreement_url: merchant_agreement_url.into(),
            merchant_redirect_url: merchant_redirect_url.into(),
            sub: None,
            userinfo_url: None,
            external_id: None,
            country_code: country_code.into(),
            uuid,
            vipps_confirmation_url: None,
        }
    }
}

/// `pricing` of an update: the new price (`LEGACY`) or suggested maximum (`VARIABLE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingUpdate {
    /// `LEGACY` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// `VARIABLE` only. The customer is not notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_max_amount: Option<i64>,
}

/// Body of `PATCH /recurring/v3/agreements/{agreementId}`. All fields optional, but
/// `status: STOPPED` must be sent alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementUpdate {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_description: Option<String>,
    /// A new management page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_agreement_url: Option<String>,
    /// A new external id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// A new price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<PricingUpdate>,
    /// A new interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// `STOPPED` (the only value), alone: stops the agreement for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AgreementStatus>,
}

impl AgreementUpdate {
    /// `{"status": "STOPPED"}`.
    pub fn stop() -> Self {
        AgreementUpdate {
            status: Some(AgreementStatus::Stopped),
            ..Default::default()
        }
    }
    fn has_changes_besides_status(&self) -> bool {
        self.product_name.is_some()
            || self.product_description.is_some()
            || self.merchant_agreement_url.is_some()
            || self.external_id.is_some()
            || self.pricing.is_some()
            || self.interval.is_some()
    }
}

impl Validate for AgreementUpdate {
    fn validate(&self) -> Result<(), ValidationError> {
        if let Some(s) = &self.status {
            if *s != AgreementStatus::Stopped {
                return Err(ValidationError::new("status", "can only be STOPPED"));
            }
            if self.has_changes_besides_status() {
                return Err(ValidationError::new(
                    "status",
                    "STOPPED must be sent alone, without other fields",
                ));
            }
            return Ok(());
        }
        if !self.has_changes_besides_status() {
            return Err(ValidationError::new("body", "nothing to update"));
        }
        check_product(self.product_name.as_deref(), self.product_description.as_deref())?;
        if let Some(u) = &self.merchant_agreement_url {
            check_agreement_url(u)?;
        }
        if let Some(x) = &self.external_id {
            check_external_id("externalId", x)?;
        }
        if let Some(p) = &self.pricing {
            match (p.amount, p.suggested_max_amount) {
                (Some(a), None) => check_amount("pricing.amount", a, MIN_AMOUNT)?,
                (None, Some(m)) => {
                    check_amount("pricing.suggestedMaxAmount", m, MIN_AMOUNT)?;
                    if m > 2_000_000 {
                        return Err(ValidationError::new(
                            "pricing.suggestedMaxAmount",
                            "must be at most 2000000",
                        ));
                    }
                }
                _ => {
                    return Err(ValidationError::new(
                        "pricing",
                        "give exactly one of amount (LEGACY) and suggestedMaxAmount (VARIABLE)",
                    ))
                }
            }
        }
        if let Some(i) = &self.interval {
            i.validate().map_err(|e| prefixed("interval", e))?;
        }
        Ok(())
    }
}

/// Body of the test-only `PATCH /recurring/v3/agreements/{agreementId}/accept`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForceAcceptAgreement {
    /// The test user's MSISDN.
    pub phone_number: String,
}

impl ForceAcceptAgreement {
    /// Accept as the test user with this MSISDN.
    pub fn new(phone_number: impl Into<String>) -> Self {
        ForceAcceptAgreement {
            phone_number: phone_number.into(),
        }
    }
}

impl Validate for ForceAcceptAgreement {
    fn validate(&self) -> Result<(), ValidationError> {
        check_msisdn("phoneNumber", &self.phone_number)
    }
}

// ---------------------------------------------------------------------------------------------
// Charges
// ---------------------------------------------------------------------------------------------

/// Body of `POST /recurring/v3/agreements/{agreementId}/charges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCharge {
    /// Minor units, at least 100.
    pub amount: i64,
    /// Shown under the product name in the app, at most 45 characters.
    pub description: String,
    /// The due date (`YYYY-MM-DD`); required for `RECURRING`. At least 1 day and at most 2
    /// years ahead (checked by the server, not by [`Validate`]).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "date_only::option")]
    pub due: Option<Date>,
    /// Days of retrying after the due date, 0 to 14 (use at least 2).
    pub retry_days: i32,
    /// `DIRECT_CAPTURE` or `RESERVE_CAPTURE`.
    pub transaction_type: TransactionType,
    /// `RECURRING` (the default when absent) or `UNSCHEDULED`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<ChargeType>,
    /// Replaces the generated charge id; unique per MSN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// For settlement reports only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `MULTIPLE_ATTEMPTS` (the default) or `SINGLE_ATTEMPT` (requires `retryDays: 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_mode: Option<ProcessingMode>,
}

impl CreateCharge {
    /// A `RECURRING` charge due on `due`.
    pub fn recurring(
        amount: i64,
        description: impl Into<String>,
        due: Date,
        retry_days: i32,
        transaction_type: TransactionType,
    ) -> Self {
        CreateCharge {
            amount,
            description: description.into(),
            due: Some(due),
            retry_days,
            transaction_type,
            type_: Some(ChargeType::Recurring),
            order_id: None,
            external_id: None,
            processing_mode: None,
        }
    }
    /// An `UNSCHEDULED` charge: processed right away, never retried.
    pub fn unscheduled(amount: i64, description: impl Into<String>, transaction_type: TransactionType) -> Self {
        CreateCharge {
            amount,
            description: description.into(),
            due: None,
            retry_days: 0,
            transaction_type,
            type_: Some(ChargeType::Unscheduled),
            order_id: None,
            external_id: None,
            processing_mode: None,
        }
    }
    /// The charge type in effect (`RECURRING` when `type` is absent).
    pub fn charge_type(&self) -> ChargeType {
        self.type_.clone().unwrap_or(ChargeType::Recurring)
    }
}

impl Validate for CreateCharge {
    fn validate(&self) -> Result<(), ValidationError> {
        check_amount("amount", self.amount, MIN_AMOUNT)?;
        check_len("description", &self.description, 1, 45)?;
        if !(0..=14).contains(&self.retry_days) {
            return Err(ValidationError::new("retryDays", "must be between 0 and 14"));
        }
        known(
            "transactionType",
            self.transaction_type.is_known(),
            "DIRECT_CAPTURE, RESERVE_CAPTURE",
        )?;
        match self.charge_type() {
            ChargeType::Recurring => {
                if self.due.is_none() {
                    return Err(ValidationError::new("due", "is required for a RECURRING charge"));
                }
            }
            ChargeType::Unscheduled => {}
            _ => return Err(ValidationError::new("type", "must be RECURRING or UNSCHEDULED")),
        }
        match &self.processing_mode {
            None | Some(ProcessingMode::MultipleAttempts) => {}
            Some(ProcessingMode::SingleAttempt) => {
                if self.retry_days != 0 {
                    return Err(ValidationError::new(
                        "processingMode",
                        "SINGLE_ATTEMPT requires retryDays 0",
                    ));
                }
            }
            Some(_) => {
                return Err(ValidationError::new(
                    "processingMode",
                    "must be one of MULTIPLE_ATTEMPTS, SINGLE_ATTEMPT",
                ))
            }
        }
        if let Some(o) = &self.order_id {
            check_order_id("orderId", o)?;
        }
        if let Some(x) = &self.external_id {
            check_external_id("externalId", x)?;
        }
        Ok(())
    }
}

/// The response of creating a charge (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChargeCreated {
    /// The charge id (the `orderId` when one was given).
    pub charge_id: String,
}

impl ChargeCreated {
    /// The created charge's id.
    pub fn new(charge_id: impl Into<String>) -> Self {
        ChargeCreated {
            charge_id: charge_id.into(),
        }
    }
}

/// Largest number of charges in one [`CreateCharges`] request.
pub const MAX_BATCH_CHARGES: usize = 2000;

/// One charge of a batch: the agreement it belongs to and the [`CreateCharge`] fields,
/// flattened (`{"agreementId": "agr_…", "amount": 49900, …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCharge {
    /// The agreement to charge.
    pub agreement_id: String,
    /// The charge.
    #[serde(flatten)]
    pub charge: CreateCharge,
}

/// Body of `POST /recurring/v3/agreements/charges`: up to [`MAX_BATCH_CHARGES`] charges, a bare
/// JSON array.
///
/// The stored spec does not have this endpoint; the 2026 charges page says it "accepts up to
/// 2 000 charges", that API-level failures "come back in the response body" and later ones as
/// `recurring.charge-creation-failed.v1` webhooks. The shapes are those of the official
/// `@vippsmobilepay/sdk` (`CreateChargeAsyncV3`, answered 202 with `AsyncChargeResponse`), which
/// also makes `orderId` required here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CreateCharges(pub Vec<BatchCharge>);

impl Validate for CreateCharges {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.0.is_empty() || self.0.len() > MAX_BATCH_CHARGES {
            return Err(ValidationError::new(
                "charges",
                format!("must hold 1 to {MAX_BATCH_CHARGES} charges (had {})", self.0.len()),
            ));
        }
        for (i, c) in self.0.iter().enumerate() {
            c.validate().map_err(|e| ValidationError {
                field: format!("[{i}].{}", e.field),
                ..e
            })?;
        }
        Ok(())
    }
}

impl Validate for BatchCharge {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.agreement_id.is_empty() {
            return Err(ValidationError::new("agreementId", "is required"));
        }
        if self.charge.order_id.is_none() {
            return Err(ValidationError::new("orderId", "is required in a batch"));
        }
        self.charge.validate()
    }
}

/// The answer (202) to [`CreateCharges`]: the ids of the charges created, and the ones refused
/// with why. Charges created here can still fail later, asynchronously
/// (`recurring.charge-creation-failed.v1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateChargesResponse {
    /// The ids of the charges created, in request order.
    #[serde(default)]
    pub valid_charges: Vec<String>,
    /// The charges refused.
    #[serde(default)]
    pub invalid_charges: Vec<InvalidCharge>,
}

impl CreateChargesResponse {
    /// An answer.
    pub fn new(valid_charges: Vec<String>, invalid_charges: Vec<InvalidCharge>) -> Self {
        CreateChargesResponse {
            valid_charges,
            invalid_charges,
        }
    }
}

/// One refused charge of a batch: the charge as sent and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InvalidCharge {
    /// The charge as it was sent.
    pub charge_batch_item_dto: BatchCharge,
    /// What is wrong with it, one message each.
    #[serde(default)]
    pub errors: Vec<String>,
}

impl InvalidCharge {
    /// A refused charge.
    pub fn new(charge: BatchCharge, errors: Vec<String>) -> Self {
        InvalidCharge {
            charge_batch_item_dto: charge,
            errors,
        }
    }
}

/// Body of capture (`POST …/charges/{chargeId}/capture`) and the amount taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// Minor units: all of the reserved amount or part of it.
    pub amount: i64,
    /// Shown in the app.
    pub description: String,
}

/// Body of refund (`POST …/charges/{chargeId}/refund`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// Minor units: all of the captured amount or part of it.
    pub amount: i64,
    /// Shown in the app.
    pub description: String,
}

fn check_modification(amount: i64, description: &str) -> Result<(), ValidationError> {
    check_amount("amount", amount, MIN_AMOUNT)?;
    check_len("description", description, 1, 100)
}

impl CaptureRequest {
    /// Capture `amount` with `description`.
    pub fn new(amount: i64, description: impl Into<String>) -> Self {
        CaptureRequest {
            amount,
            description: description.into(),
        }
    }
}

impl RefundRequest {
    /// Refund `amount` with `description`.
    pub fn new(amount: i64, description: impl Into<String>) -> Self {
        RefundRequest {
            amount,
            description: description.into(),
        }
    }
}

impl Validate for CaptureRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        check_modification(self.amount, &self.description)
    }
}

impl Validate for RefundRequest {
    fn validate(&self) -> Result<(), ValidationError> {
        check_modification(self.amount, &self.description)
    }
}

/// Running totals of a charge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChargeSummary {
    /// Captured so far.
    pub captured: i64,
    /// Refunded so far.
    pub refunded: i64,
    /// Cancelled so far.
    pub cancelled: i64,
}

impl ChargeSummary {
    /// The three totals.
    pub fn new(captured: i64, refunded: i64, cancelled: i64) -> Self {
        ChargeSummary {
            captured,
            refunded,
            cancelled,
        }
    }
}

/// One entry of a charge's `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChargeEvent {
    /// When.
    #[serde(with = "crate::common::rfc3339")]
    pub occurred: OffsetDateTime,
    /// What.
    pub event: ChargeEventName,
    /// The amount affected.
    pub amount: i64,
    /// The idempotency key of the request that caused it (or a server-made one).
    pub idempotency_key: String,
    /// Whether it succeeded.
    pub success: bool,
}

impl ChargeEvent {
    /// A history entry.
    pub fn new(
        occurred: OffsetDateTime,
        event: ChargeEventName,
        amount: i64,
        idempotency_key: impl Into<String>,
        success: bool,
    ) -> Self {
        ChargeEvent {
            occurred,
            event,
            amount,
            idempotency_key: idempotency_key.into(),
            success,
        }
    }
}

/// A charge (`GET …/charges/{chargeId}`, and the items of the charge list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Charge {
    /// The charge id.
    pub id: String,
    /// The agreement.
    pub agreement_id: String,
    /// The amount, minor units.
    pub amount: i64,
    /// The currency.
    #[serde(default = "default_currency")]
    pub currency: Currency,
    /// Shown in the app.
    pub description: String,
    /// The due date. The spec types it `date-time`: written as midnight UTC, read from
    /// either form.
    #[serde(with = "date_as_datetime")]
    pub due: Date,
    /// The status.
    pub status: ChargeStatus,
    /// `RECURRING`, `UNSCHEDULED` or `INITIAL`.
    #[serde(rename = "type")]
    pub type_: ChargeType,
    /// `DIRECT_CAPTURE` or `RESERVE_CAPTURE`.
    pub transaction_type: TransactionType,
    /// Days of retrying.
    pub retry_days: i32,
    /// Why it failed (`FAILED`, or while retrying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<FailureReason>,
    /// The failure in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_description: Option<String>,
    /// Running totals.
    pub summary: ChargeSummary,
    /// What happened, oldest first.
    #[serde(default)]
    pub history: Vec<ChargeEvent>,
    /// The merchant's `externalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The agreement's `externalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_agreement_id: Option<String>,
    /// The payment's transaction id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The processing mode, where the server reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_mode: Option<ProcessingMode>,
}

fn default_currency() -> Currency {
    Currency::Nok
}

impl Charge {
    /// A charge's required fields: summary zero, history empty, the optional fields `None`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        agreement_id: impl Into<String>,
        amount: i64,
        currency: Currency,
        description: impl Into<String>,
        due: Date,
        status: ChargeStatus,
        type_: ChargeType,
        transaction_type: TransactionType,
        retry_days: i32,
    ) -> Self {
        Charge {
            id: id.into(),
            agreement_id: agreement_id.into(),
            amount,
            currency,
            description: description.into(),
            due,
            status,
            type_,
            transaction_type,
            retry_days,
            failure_reason: None,
            failure_description: None,
            summary: ChargeSummary::default(),
            history: Vec::new(),
            external_id: None,
            external_agreement_id: None,
            transaction_id: None,
            processing_mode: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------
//
// The stored webhooks page says "Recurring webhooks payload will be available soon"; the
// payloads below are our reading: the identifiers, the event type, when, and the merchant,
// plus `actor` on agreement events and the amount and failure on charge events.

/// The body of a `recurring.agreement-*.v1` webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AgreementWebhookEvent {
    /// The merchant serial number.
    pub msn: String,
    /// The agreement.
    pub agreement_id: String,
    /// The agreement's `externalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_external_id: Option<String>,
    /// What happened.
    pub event_type: RecurringEventType,
    /// When.
    #[serde(with = "crate::common::rfc3339")]
    pub occurred: OffsetDateTime,
    /// `recurring.agreement-stopped.v1`: who stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<AgreementActor>,
}

impl AgreementWebhookEvent {
    /// An agreement event; `agreement_external_id` and `actor` start as `None`.
    pub fn new(
        msn: impl Into<String>,
        agreement_id: impl Into<String>,
        event_type: RecurringEventType,
        occurred: OffsetDateTime,
    ) -> Self {
        AgreementWebhookEvent {
            msn: msn.into(),
            agreement_id: agreement_id.into(),
            agreement_external_id: None,
            event_type,
            occurred,
            actor: None,
        }
    }
}

/// The body of a `recurring.charge-*.v1` webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChargeWebhookEvent {
    /// The merchant serial number.
    pub msn: String,
    /// The agreement.
    pub agreement_id: String,
    /// The agreement's `externalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_external_id: Option<String>,
    /// The charge (absent when a batch charge could not be created at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    /// The charge's `externalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_external_id: Option<String>,
    /// The charge's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_type: Option<ChargeType>,
    /// The amount affected, minor units.
    pub amount: i64,
    /// The currency.
    #[serde(default = "default_currency")]
    pub currency: Currency,
    /// What happened.
    pub event_type: RecurringEventType,
    /// When.
    #[serde(with = "crate::common::rfc3339")]
    pub occurred: OffsetDateTime,
    /// `recurring.charge-failed.v1`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<FailureReason>,
    /// The failure in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_description: Option<String>,
}

impl ChargeWebhookEvent {
    /// A charge event; the optional fields start as `None`.
    pub fn new(
        msn: impl Into<String>,
        agreement_id: impl Into<String>,
        charge_id: Option<String>,
        amount: i64,
        currency: Currency,
        event_type: RecurringEventType,
        occurred: OffsetDateTime,
    ) -> Self {
        ChargeWebhookEvent {
            msn: msn.into(),
            agreement_id: agreement_id.into(),
            agreement_external_id: None,
            charge_id,
            charge_external_id: None,
            charge_type: None,
            amount,
            currency,
            event_type,
            occurred,
            failure_reason: None,
            failure_description: None,
        }
    }
}

/// Any Recurring webhook body, told apart by its `eventType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RecurringWebhookEvent {
    /// `recurring.agreement-*.v1`.
    Agreement(AgreementWebhookEvent),
    /// `recurring.charge-*.v1`.
    Charge(ChargeWebhookEvent),
}

impl<'de> Deserialize<'de> for RecurringWebhookEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let event_type = v
            .get("eventType")
            .and_then(|t| t.as_str())
            .map(RecurringEventType::from)
            .ok_or_else(|| serde::de::Error::missing_field("eventType"))?;
        if event_type.is_charge_event() {
            ChargeWebhookEvent::deserialize(v)
                .map(RecurringWebhookEvent::Charge)
                .map_err(serde::de::Error::custom)
        } else {
            AgreementWebhookEvent::deserialize(v)
                .map(RecurringWebhookEvent::Agreement)
                .map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    fn draft() -> DraftAgreement {
        DraftAgreement {
            phone_number: Some("4712345678".into()),
            product_description: Some("Access to all games".into()),
            ..DraftAgreement::new(
                PricingRequest::legacy(49900, Currency::Nok),
                Some(Interval::every(1, IntervalUnit::Month)),
                "Premier League subscription",
                "https://example.com/confirmation",
                "https://example.com/account/subscriptions/1234",
            )
        }
    }

    fn charge() -> CreateCharge {
        CreateCharge {
            order_id: Some("acme-sub-1234-2026-10".into()),
            external_id: Some("INV-2026-10-4471".into()),
            processing_mode: Some(ProcessingMode::MultipleAttempts),
            ..CreateCharge::recurring(
                49900,
                "October",
                date!(2026 - 10 - 01),
                2,
                TransactionType::DirectCapture,
            )
        }
    }

    fn field(r: Result<(), ValidationError>) -> String {
        r.expect_err("should be refused").field
    }

    #[test]
    fn the_quick_start_draft_round_trips_and_validates() {
        let body = json!({
            "phoneNumber": "4712345678",
            "interval": { "unit": "MONTH", "count": 1 },
            "pricing": { "type": "LEGACY", "amount": 49900, "currency": "NOK" },
            "productName": "Premier League subscription",
            "productDescription": "Access to all games",
            "merchantRedirectUrl": "https://example.com/confirmation",
            "merchantAgreementUrl": "https://example.com/account/subscriptions/1234"
        });
        let parsed: DraftAgreement = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed, draft());
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
        parsed.validate().unwrap();
    }

    #[test]
    fn both_interval_shapes_parse_and_write_back_unchanged() {
        for body in [
            json!({"unit": "WEEK", "count": 2}),
            json!({"type": "RECURRING", "period": {"unit": "MONTH", "count": 1}}),
            json!({"type": "FLEXIBLE"}),
        ] {
            let i: Interval = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(serde_json::to_value(&i).unwrap(), body);
            i.validate().unwrap();
        }
        assert_eq!(
            serde_json::from_value::<Interval>(json!({"type": "RECURRING", "period": {"unit": "MONTH", "count": 1}}))
                .unwrap(),
            Interval::recurring(1, IntervalUnit::Month)
        );
        assert!(serde_json::from_value::<Interval>(json!({"unit": "WEEK"})).is_err());
        assert!(serde_json::from_value::<Interval>(json!({"type": "RECURRING", "unit": "WEEK", "count": 1})).is_err());
        assert_eq!(field(Interval::every(0, IntervalUnit::Day).validate()), "count");
        assert_eq!(field(Interval::every(32, IntervalUnit::Day).validate()), "count");
        assert_eq!(field(Interval::every(1, "FORTNIGHT".into()).validate()), "unit");
        let no_period = Interval::Typed {
            type_: IntervalType::Recurring,
            period: None,
        };
        assert_eq!(field(no_period.validate()), "period");
        let flexible_with_period = Interval::Typed {
            type_: IntervalType::Flexible,
            period: Some(TimePeriod::new(IntervalUnit::Day, 1)),
        };
        assert_eq!(field(flexible_with_period.validate()), "period");
    }

    #[test]
    fn pricing_rules() {
        PricingRequest::variable(200000, Currency::Nok).validate().unwrap();
        PricingRequest::flexible(Currency::Dkk).validate().unwrap();
        assert_eq!(
            serde_json::to_value(PricingRequest::flexible(Currency::Dkk)).unwrap(),
            json!({"type": "FLEXIBLE", "currency": "DKK"})
        );
        // `type` absent means LEGACY.
        let p: PricingRequest = serde_json::from_value(json!({"amount": 1000, "currency": "NOK"})).unwrap();
        assert_eq!(p.pricing_type(), PricingType::Legacy);
        p.validate().unwrap();
        assert_eq!(field(PricingRequest::legacy(99, Currency::Nok).validate()), "amount");
        assert_eq!(
            field(PricingRequest::legacy(2_000_001, Currency::Nok).validate()),
            "amount"
        );
        assert_eq!(
            field(PricingRequest::variable(50, Currency::Nok).validate()),
            "suggestedMaxAmount"
        );
        let mut both = PricingRequest::legacy(1000, Currency::Nok);
        both.suggested_max_amount = Some(2000);
        assert_eq!(field(both.validate()), "suggestedMaxAmount");
        let mut flexible = PricingRequest::flexible(Currency::Nok);
        flexible.amount = Some(1000);
        assert_eq!(field(flexible.validate()), "amount");
        assert_eq!(field(PricingRequest::legacy(1000, "SEK".into()).validate()), "currency");
        let mut unknown = PricingRequest::legacy(1000, Currency::Nok);
        unknown.type_ = Some("PER_USE".into());
        assert_eq!(field(unknown.validate()), "type");
    }

    #[test]
    fn draft_rules() {
        let mut d = draft();
        d.product_name = "x".repeat(46);
        assert_eq!(field(d.validate()), "productName");
        let mut d = draft();
        d.product_description = Some("x".repeat(101));
        assert_eq!(field(d.validate()), "productDescription");
        let mut d = draft();
        d.merchant_agreement_url = "http://example.com/a".into();
        assert_eq!(field(d.validate()), "merchantAgreementUrl");
        let mut d = draft();
        d.merchant_redirect_url = "myapp://done".into();
        d.validate().unwrap();
        let mut d = draft();
        d.phone_number = Some("+47 12345678".into());
        assert_eq!(field(d.validate()), "phoneNumber");
        let mut d = draft();
        d.country_code = Some("no".into());
        assert_eq!(field(d.validate()), "countryCode");
        let mut d = draft();
        d.interval = None;
        d.validate().unwrap();
        let mut d = draft();
        d.initial_charge = Some(InitialCharge::new(49900, "First month", "SOMETIMES".into()));
        assert_eq!(field(d.validate()), "initialCharge.transactionType");
        let mut d = draft();
        d.initial_charge = Some(InitialCharge::new(0, "First month", TransactionType::DirectCapture));
        assert_eq!(field(d.validate()), "initialCharge.amount");
    }

    #[test]
    fn campaigns_only_with_legacy_pricing_and_with_their_fields() {
        let end = datetime!(2026-12-25 00:00 UTC);
        let mut d = draft();
        d.campaign = Some(Campaign::price(100, end));
        d.validate().unwrap();
        assert_eq!(
            serde_json::to_value(d.campaign.as_ref().unwrap()).unwrap(),
            json!({"type": "PRICE_CAMPAIGN", "price": 100, "end": "2026-12-25T00:00:00Z"})
        );
        d.pricing = PricingRequest::variable(100000, Currency::Nok);
        assert_eq!(field(d.validate()), "campaign");
        d.pricing = PricingRequest::flexible(Currency::Nok);
        assert_eq!(field(d.validate()), "campaign");

        let mut d = draft();
        d.campaign = Some(Campaign::price(49900, end));
        assert_eq!(field(d.validate()), "campaign.price");
        let mut period = Campaign::period(100, TimePeriod::new(IntervalUnit::Week, 10));
        period.period = None;
        assert_eq!(field(period.validate()), "period");
        Campaign::event(100, end, "until Christmas").validate().unwrap();
        Campaign::full_flex(100, TimePeriod::new(IntervalUnit::Month, 1), end)
            .validate()
            .unwrap();
        let parsed: Campaign = serde_json::from_value(json!({"type": "EVENT_CAMPAIGN", "price": 100,
            "eventDate": "2026-09-01T00:00:00Z", "eventText": "until Christmas"}))
        .unwrap();
        assert_eq!(
            parsed,
            Campaign::event(100, datetime!(2026-09-01 00:00 UTC), "until Christmas")
        );
        let unknown: Campaign = serde_json::from_value(json!({"type": "BOGO", "price": 1})).unwrap();
        assert_eq!(field(unknown.validate()), "type");
    }

    #[test]
    fn stop_must_be_alone_in_an_update() {
        assert_eq!(
            serde_json::to_value(AgreementUpdate::stop()).unwrap(),
            json!({"status": "STOPPED"})
        );
        AgreementUpdate::stop().validate().unwrap();
        let mixed = AgreementUpdate {
            product_name: Some("New".into()),
            ..AgreementUpdate::stop()
        };
        assert_eq!(field(mixed.validate()), "status");
        let active = AgreementUpdate {
            status: Some(AgreementStatus::Active),
            ..Default::default()
        };
        assert_eq!(field(active.validate()), "status");
        assert_eq!(field(AgreementUpdate::default().validate()), "body");

        let update: AgreementUpdate = serde_json::from_value(json!({
            "productName": "A new name",
            "pricing": { "amount": 25000 },
            "interval": { "type": "RECURRING", "period": { "count": 1, "unit": "MONTH" } }
        }))
        .unwrap();
        update.validate().unwrap();
        assert_eq!(update.interval, Some(Interval::recurring(1, IntervalUnit::Month)));
        let both = AgreementUpdate {
            pricing: Some(PricingUpdate {
                amount: Some(1000),
                suggested_max_amount: Some(2000),
            }),
            ..Default::default()
        };
        assert_eq!(field(both.validate()), "pricing");
    }

    #[test]
    fn interval_counts_are_read_quoted_as_the_postman_collection_sends_them() {
        let i: Interval = serde_json::from_value(json!({"unit": "MONTH", "count": "1"})).unwrap();
        assert_eq!(i, Interval::every(1, IntervalUnit::Month));
        let p: TimePeriod = serde_json::from_value(json!({"unit": "WEEK", "count": "10"})).unwrap();
        assert_eq!(p.count, 10);
        for bad in [
            json!("1.5"),
            json!("-1"),
            json!(""),
            json!("x"),
            json!(1.5),
            json!(true),
        ] {
            let r = serde_json::from_value::<TimePeriod>(json!({"unit": "WEEK", "count": bad}));
            assert!(r.is_err(), "{bad} was read");
        }
        // Written as a number.
        assert_eq!(serde_json::to_value(&i).unwrap()["count"], 1);
    }

    #[test]
    fn the_charges_page_example_round_trips_and_validates() {
        let body = json!({
            "amount": 49900,
            "description": "October",
            "due": "2026-10-01",
            "retryDays": 2,
            "transactionType": "DIRECT_CAPTURE",
            "type": "RECURRING",
            "orderId": "acme-sub-1234-2026-10",
            "externalId": "INV-2026-10-4471",
            "processingMode": "MULTIPLE_ATTEMPTS"
        });
        let parsed: CreateCharge = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed, charge());
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
        parsed.validate().unwrap();
        assert!(
            serde_json::from_value::<CreateCharge>(json!({"amount": 100, "description": "x",
            "due": "01.10.2026", "retryDays": 0, "transactionType": "DIRECT_CAPTURE"}))
            .is_err()
        );
    }

    #[test]
    fn charge_rules() {
        let mut c = charge();
        c.description = "x".repeat(46);
        assert_eq!(field(c.validate()), "description");
        let mut c = charge();
        c.amount = 99;
        assert_eq!(field(c.validate()), "amount");
        for days in [-1, 15] {
            let mut c = charge();
            c.retry_days = days;
            assert_eq!(field(c.validate()), "retryDays");
        }
        let mut c = charge();
        c.processing_mode = Some(ProcessingMode::SingleAttempt);
        assert_eq!(field(c.validate()), "processingMode");
        c.retry_days = 0;
        c.validate().unwrap();
        let mut c = charge();
        c.due = None;
        assert_eq!(field(c.validate()), "due");
        CreateCharge::unscheduled(1000, "Extra", TransactionType::ReserveCapture)
            .validate()
            .unwrap();
        let mut c = charge();
        c.type_ = Some(ChargeType::Initial);
        assert_eq!(field(c.validate()), "type");
        let mut c = charge();
        c.order_id = Some("has space".into());
        assert_eq!(field(c.validate()), "orderId");
        let mut c = charge();
        c.transaction_type = "LATER".into();
        assert_eq!(field(c.validate()), "transactionType");
        assert_eq!(field(CaptureRequest::new(50, "x").validate()), "amount");
        assert_eq!(field(RefundRequest::new(500, "").validate()), "description");
        RefundRequest::new(600, "Partial refund").validate().unwrap();
    }

    #[test]
    fn batch_charges_flatten_and_validate_each_item() {
        let batch = CreateCharges(vec![BatchCharge {
            agreement_id: "agr_1".into(),
            charge: charge(),
        }]);
        let v = serde_json::to_value(&batch).unwrap();
        assert_eq!(v[0]["agreementId"], "agr_1");
        assert_eq!(v[0]["due"], "2026-10-01");
        assert_eq!(serde_json::from_value::<CreateCharges>(v).unwrap(), batch);
        batch.validate().unwrap();
        assert_eq!(field(CreateCharges::default().validate()), "charges");
        let mut bad = batch.clone();
        bad.0.push(BatchCharge {
            agreement_id: "agr_2".into(),
            charge: CreateCharge {
                retry_days: 20,
                ..charge()
            },
        });
        assert_eq!(field(bad.validate()), "[1].retryDays");
        let too_many = CreateCharges(vec![batch.0[0].clone(); MAX_BATCH_CHARGES + 1]);
        assert_eq!(field(too_many.validate()), "charges");

        let mut no_order = batch.clone();
        no_order.0[0].charge.order_id = None;
        assert_eq!(field(no_order.validate()), "[0].orderId");

        // The official SDK's AsyncChargeResponse.
        let answer: CreateChargesResponse = serde_json::from_value(json!({
            "validCharges": ["chr-1"],
            "invalidCharges": [{
                "chargeBatchItemDto": {"agreementId": "agr_2", "amount": 100, "description": "x",
                    "due": "2026-10-01", "retryDays": 20, "transactionType": "DIRECT_CAPTURE", "orderId": "o-2"},
                "errors": ["retryDays must be between 0 and 14"]
            }]
        }))
        .unwrap();
        assert_eq!(answer.valid_charges, ["chr-1"]);
        assert_eq!(answer.invalid_charges[0].charge_batch_item_dto.agreement_id, "agr_2");
        assert_eq!(answer.invalid_charges[0].charge_batch_item_dto.charge.retry_days, 20);
        assert!(answer.invalid_charges[0].errors[0].contains("retryDays"));
    }

    #[test]
    fn the_agreement_example_parses_with_unknown_fields() {
        let a: Agreement = serde_json::from_value(json!({
            "id": "agr_ADbq4JK",
            "created": "2026-08-22T12:59:56Z",
            "start": "2026-08-22T13:00:00Z",
            "stop": null,
            "status": "ACTIVE",
            "productName": "Premier League subscription",
            "pricing": { "type": "LEGACY", "amount": 49900, "currency": "NOK" },
            "interval": { "unit": "MONTH", "count": 2, "text": "every 2 months" },
            "campaign": null,
            "merchantAgreementUrl": "https://example.com/subscriptions/1234/",
            "merchantRedirectUrl": "https://example.com/r",
            "uuid": "6080c099-d7f2-43ef-a82b-2991ccc3a239",
            "countryCode": "NO",
            "somethingNew": {"a": 1}
        }))
        .unwrap();
        let mut expected = Agreement::new(
            "agr_ADbq4JK",
            AgreementStatus::Active,
            "Premier League subscription",
            PricingResponse::legacy(49900, Currency::Nok),
            datetime!(2026-08-22 12:59:56 UTC),
            "https://example.com/subscriptions/1234/",
            "https://example.com/r",
            "NO",
            "6080c099-d7f2-43ef-a82b-2991ccc3a239".parse().unwrap(),
        );
        expected.start = Some(datetime!(2026-08-22 13:00 UTC));
        expected.interval = IntervalResponse::new(IntervalUnit::Month, 2, "every 2 months");
        assert_eq!(a, expected);
        let back: Agreement = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(back, a);

        let variable: PricingResponse = serde_json::from_value(
            json!({"type": "VARIABLE", "currency": "NOK", "suggestedMaxAmount": 300000, "maxAmount": 250000}),
        )
        .unwrap();
        assert_eq!(variable, PricingResponse::variable(300000, 250000, Currency::Nok));
    }

    #[test]
    fn a_charge_parses_unknown_values_and_both_due_forms() {
        let body = json!({
            "id": "chr_WCVbcA", "agreementId": "agr_1", "status": "REFUNDED", "amount": 1000,
            "currency": "NOK", "description": "October", "due": "2022-09-15T00:00:00Z",
            "type": "RECURRING", "transactionType": "RESERVE_CAPTURE", "retryDays": 2,
            "externalId": "x", "transactionId": "5001234567",
            "summary": {"captured": 1000, "refunded": 600, "cancelled": 0},
            "history": [
                {"occurred": "2022-09-14T10:31:15Z", "event": "CREATE", "amount": 1000,
                 "idempotencyKey": "e80b", "success": true},
                {"occurred": "2022-09-20T06:01:00Z", "event": "TELEPORT", "amount": 600,
                 "idempotencyKey": "0bc7", "success": true}
            ],
            "failureReason": "brand_new_reason"
        });
        let c: Charge = serde_json::from_value(body).unwrap();
        assert_eq!(c.due, date!(2022 - 09 - 15));
        assert_eq!(c.summary, ChargeSummary::new(1000, 600, 0));
        assert_eq!(c.history[1].event, ChargeEventName::Unknown("TELEPORT".into()));
        assert_eq!(
            c.failure_reason,
            Some(FailureReason::Unknown("brand_new_reason".into()))
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["due"], "2022-09-15T00:00:00Z");
        assert_eq!(v["history"][1]["event"], "TELEPORT");
        assert_eq!(serde_json::from_value::<Charge>(v).unwrap(), c);

        let mut c2 = c.clone();
        c2.due = date!(2026 - 01 - 01);
        let mut v = serde_json::to_value(&c2).unwrap();
        v["due"] = json!("2026-01-01");
        assert_eq!(serde_json::from_value::<Charge>(v).unwrap(), c2);
        assert_eq!(
            serde_json::from_value::<ChargeStatus>(json!("UNKNOWN")).unwrap(),
            ChargeStatus::StatusUnknown
        );
        assert_eq!(
            serde_json::from_value::<ChargeStatus>(json!("ON_HOLD")).unwrap(),
            ChargeStatus::Unknown("ON_HOLD".into())
        );
    }

    #[test]
    fn webhook_bodies_are_told_apart_by_event_type() {
        let stopped: RecurringWebhookEvent = serde_json::from_value(json!({
            "msn": "123456", "agreementId": "agr_1", "eventType": "recurring.agreement-stopped.v1",
            "occurred": "2026-05-11T07:57:38Z", "actor": "USER"
        }))
        .unwrap();
        let mut expected = AgreementWebhookEvent::new(
            "123456",
            "agr_1",
            RecurringEventType::AgreementStopped,
            datetime!(2026-05-11 07:57:38 UTC),
        );
        expected.actor = Some(AgreementActor::User);
        assert_eq!(stopped, RecurringWebhookEvent::Agreement(expected));

        let failed: RecurringWebhookEvent = serde_json::from_value(json!({
            "msn": "123456", "agreementId": "agr_1", "chargeId": "chr-1", "amount": 49900,
            "currency": "NOK", "chargeType": "RECURRING", "eventType": "recurring.charge-failed.v1",
            "occurred": "2026-05-11T07:57:38Z", "failureReason": "user_action_required"
        }))
        .unwrap();
        let RecurringWebhookEvent::Charge(c) = &failed else {
            panic!("a charge event: {failed:?}")
        };
        assert_eq!(c.failure_reason, Some(FailureReason::UserActionRequired));
        assert_eq!(c.charge_id.as_deref(), Some("chr-1"));
        let back: RecurringWebhookEvent = serde_json::from_value(serde_json::to_value(&failed).unwrap()).unwrap();
        assert_eq!(back, failed);
        assert!(RecurringEventType::ChargeCanceled.is_charge_event());
        assert!(!RecurringEventType::AgreementExpired.is_charge_event());
        assert!(serde_json::from_value::<RecurringWebhookEvent>(json!({"msn": "1"})).is_err());
    }

    #[test]
    fn force_accept_and_draft_response() {
        ForceAcceptAgreement::new("4791234567").validate().unwrap();
        assert_eq!(field(ForceAcceptAgreement::new("91234567x").validate()), "phoneNumber");
        let created: AgreementCreated = serde_json::from_value(json!({
            "agreementId": "agr_TGSuPyV", "uuid": "6080c099-d7f2-43ef-a82b-2991ccc3a239",
            "vippsConfirmationUrl": "https://api.vipps.no/dwo-api-application/x", "chargeId": null
        }))
        .unwrap();
        assert_eq!(created.agreement_id, "agr_TGSuPyV");
        assert_eq!(created.charge_id, None);
    }
}
