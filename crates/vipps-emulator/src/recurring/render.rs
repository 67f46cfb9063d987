//! Agreements and charges as the API shows them (`vipps_types::recurring::Agreement` and
//! `Charge`).

use super::events::{charge_type, failure_reason};
use super::model::*;
use super::process::shown_status;
use time::Date;
use vipps_types::recurring as wire;

/// The interval's words (`every 2 months`).
fn interval_text(unit: Unit, count: u8) -> String {
    let word = match unit {
        Unit::Day => "day",
        Unit::Week => "week",
        Unit::Month => "month",
        Unit::Year => "year",
    };
    if count == 1 {
        format!("every {word}")
    } else {
        format!("every {count} {word}s")
    }
}

pub(super) fn unit_wire(u: Unit) -> wire::IntervalUnit {
    match u {
        Unit::Day => wire::IntervalUnit::Day,
        Unit::Week => wire::IntervalUnit::Week,
        Unit::Month => wire::IntervalUnit::Month,
        Unit::Year => wire::IntervalUnit::Year,
    }
}

fn country(c: &vipps_types::Currency) -> &'static str {
    match c {
        vipps_types::Currency::Dkk => "DK",
        vipps_types::Currency::Eur => "FI",
        _ => "NO",
    }
}

/// Agreement `ai` as `GET /agreements/{agreementId}` shows it.
pub(super) fn agreement_view(r: &Recurring, ai: u32, public: &str) -> wire::Agreement {
    let a = &r.agreements[ai as usize];
    let pricing = match a.pricing {
        PricingKind::Legacy => wire::PricingResponse::legacy(i64::from(a.amount.unwrap_or(0)), a.currency.clone()),
        PricingKind::Variable => {
            let suggested = i64::from(a.suggested_max.unwrap_or(0));
            let mut p = wire::PricingResponse::variable(suggested, suggested, a.currency.clone());
            p.max_amount = a.max_amount.map(i64::from);
            p
        }
        PricingKind::Flexible => wire::PricingResponse::flexible(a.currency.clone()),
    };
    let status = match a.status {
        AgreementStatus::Pending => wire::AgreementStatus::Pending,
        AgreementStatus::Active => wire::AgreementStatus::Active,
        AgreementStatus::Stopped => wire::AgreementStatus::Stopped,
        AgreementStatus::Expired => wire::AgreementStatus::Expired,
    };
    let mut v = wire::Agreement::new(
        agreement_id(a.code),
        status,
        a.texts.product_name.to_string(),
        pricing,
        at(a.created),
        a.texts.merchant_agreement_url.to_string(),
        a.texts.merchant_redirect_url.to_string(),
        country(&a.currency),
        uuid::Uuid::from_u128(a.uuid),
    );
    v.product_description = a.texts.product_description.as_deref().map(str::to_owned);
    v.interval = match a.interval {
        Some((unit, count)) => {
            wire::IntervalResponse::new(unit_wire(unit), i32::from(count), interval_text(unit, count))
        }
        None => {
            let mut i = wire::IntervalResponse::default();
            i.type_ = Some(wire::IntervalType::Flexible);
            i
        }
    };
    v.campaign = a
        .texts
        .campaign
        .as_deref()
        .and_then(|c| serde_json::from_str::<wire::Campaign>(c).ok())
        .map(wire::CampaignResponse::from);
    v.start = a.start.map(at);
    v.stop = a.stop.map(at);
    v.external_id = a.texts.external_id.as_deref().map(str::to_owned);
    if a.status == AgreementStatus::Pending {
        v.vipps_confirmation_url = Some(super::frontend::confirmation_url(public, a));
    }
    if let (Some(_), Some(phone), Some(_)) = (a.start, a.customer.as_deref(), a.texts.scope.as_deref()) {
        let sub = crate::core::store::customer_sub(&r.msns[a.msn as usize], phone);
        v.userinfo_url = Some(format!("{public}/vipps-userinfo-api/userinfo/{sub}"));
        v.sub = Some(sub);
    }
    v
}

/// Charge `ci` as `GET …/charges/{chargeId}` shows it on `today`.
pub(super) fn charge_view(r: &Recurring, ci: u32, today: Date) -> wire::Charge {
    let c = &r.charges[ci as usize];
    let a = &r.agreements[c.agreement as usize];
    let status = wire::ChargeStatus::from(shown_status(c, a, today));
    let id = c.key.render();
    let created = at(c.history.first().map_or(a.created, |h| h.at));
    let mut v = wire::Charge::new(
        id.clone(),
        agreement_id(a.code),
        i64::from(c.amount),
        a.currency.clone(),
        c.description.to_string(),
        c.due.unwrap_or_else(|| created.date()),
        status,
        charge_type(c.kind),
        if c.reserve {
            wire::TransactionType::ReserveCapture
        } else {
            wire::TransactionType::DirectCapture
        },
        i32::from(c.retry_days),
    );
    if let Some((reason, text)) = c.failure.map(failure_reason) {
        v.failure_reason = Some(reason);
        v.failure_description = Some(text.to_owned());
    }
    v.summary = wire::ChargeSummary::new(i64::from(c.captured), i64::from(c.refunded), i64::from(c.cancelled));
    v.history = c
        .history
        .iter()
        .map(|h| {
            let (event, op) = match h.event {
                HistoryEvent::Create => (wire::ChargeEventName::Create, "Create"),
                HistoryEvent::Reserve => (wire::ChargeEventName::Reserve, "ProcessPayment"),
                HistoryEvent::Capture => (wire::ChargeEventName::Capture, "Capture"),
                HistoryEvent::Refund => (wire::ChargeEventName::Refund, "Refund"),
                HistoryEvent::Cancel => (wire::ChargeEventName::Cancel, "Cancel"),
                HistoryEvent::Fail => (wire::ChargeEventName::Fail, "ProcessPayment"),
            };
            let key = match &h.key {
                Some(k) => k.to_string(),
                // The emulator's own operations: `chr-…-agr_…-ProcessPayment`, as in the guide.
                None => format!("{id}-{}-{op}", agreement_id(a.code)),
            };
            wire::ChargeEvent::new(at(h.at), event, i64::from(h.amount), key, h.success)
        })
        .collect();
    v.external_id = c.external_id.as_deref().map(str::to_owned);
    v.external_agreement_id = a.texts.external_id.as_deref().map(str::to_owned);
    v
}
