//! The webhook payloads of the Recurring events (`vipps_types::recurring::AgreementWebhookEvent`
//! and `ChargeWebhookEvent`), rendered once per event for every webhook of its merchant.

use super::model::*;
use crate::core::store::ApiEvent;
use std::sync::Arc;
use vipps_types::recurring::{
    AgreementActor, AgreementWebhookEvent, ChargeType, ChargeWebhookEvent, FailureReason, RecurringEventType,
};

/// An event a step caused, rendered for webhooks after the step (see `process::flush`).
#[derive(Debug, Clone)]
pub(super) enum Ev {
    Activated(u32),
    Rejected(u32),
    Stopped(u32, Actor),
    Expired(u32),
    /// (charge, amount, when)
    Reserved(u32, u32, i64),
    Captured(u32, u32, i64),
    Canceled(u32, u32, i64),
    Failed(u32, i64),
    Refunded(u32, u32, i64),
    /// A batch charge for agreement `agreement` that was not created.
    CreationFailed {
        agreement: u32,
        amount: u32,
        order_id: Option<Box<str>>,
        why: Box<str>,
    },
}

/// The wire value of a failure.
pub(super) fn failure_reason(f: Failure) -> (FailureReason, &'static str) {
    match f {
        Failure::UserActionRequired => (FailureReason::UserActionRequired, "User action required"),
        Failure::AmountTooHigh => (
            FailureReason::ChargeAmountTooHigh,
            "Amount is higher than the user's specified max amount",
        ),
    }
}

/// The wire value of a charge kind.
pub(super) fn charge_type(k: ChargeKind) -> ChargeType {
    match k {
        ChargeKind::Initial => ChargeType::Initial,
        ChargeKind::Recurring => ChargeType::Recurring,
        ChargeKind::Unscheduled => ChargeType::Unscheduled,
    }
}

/// Renders one event; `now` is when agreement events happened.
pub(super) fn render_event(r: &Recurring, e: &Ev, now: i64) -> ApiEvent {
    let agreement_event = |ai: u32, ty: RecurringEventType, actor: Option<Actor>| {
        let a = &r.agreements[ai as usize];
        let msn = &r.msns[a.msn as usize];
        let mut w = AgreementWebhookEvent::new(msn.to_string(), agreement_id(a.code), ty.clone(), at(now));
        w.agreement_external_id = a.texts.external_id.as_deref().map(str::to_owned);
        w.actor = actor.map(|a| match a {
            Actor::Merchant => AgreementActor::Merchant,
            Actor::Customer => AgreementActor::User,
        });
        (Arc::clone(msn), a.code, ty, serde_json::to_vec(&w))
    };
    let charge_event = |ci: u32, ty: RecurringEventType, amount: u32, when: i64| {
        let c = &r.charges[ci as usize];
        let a = &r.agreements[c.agreement as usize];
        let msn = &r.msns[a.msn as usize];
        let mut w = ChargeWebhookEvent::new(
            msn.to_string(),
            agreement_id(a.code),
            Some(c.key.render()),
            i64::from(amount),
            a.currency.clone(),
            ty.clone(),
            at(when),
        );
        w.agreement_external_id = a.texts.external_id.as_deref().map(str::to_owned);
        w.charge_external_id = c.external_id.as_deref().map(str::to_owned);
        w.charge_type = Some(charge_type(c.kind));
        if ty == RecurringEventType::ChargeFailed {
            if let Some((reason, text)) = c.failure.map(failure_reason) {
                w.failure_reason = Some(reason);
                w.failure_description = Some(text.to_owned());
            }
        }
        (Arc::clone(msn), a.code, ty, serde_json::to_vec(&w))
    };
    let (msn, code, ty, body) = match *e {
        Ev::Activated(ai) => agreement_event(ai, RecurringEventType::AgreementActivated, None),
        Ev::Rejected(ai) => agreement_event(ai, RecurringEventType::AgreementRejected, None),
        Ev::Expired(ai) => agreement_event(ai, RecurringEventType::AgreementExpired, None),
        Ev::Stopped(ai, actor) => agreement_event(ai, RecurringEventType::AgreementStopped, Some(actor)),
        Ev::Reserved(ci, amount, when) => charge_event(ci, RecurringEventType::ChargeReserved, amount, when),
        Ev::Captured(ci, amount, when) => charge_event(ci, RecurringEventType::ChargeCaptured, amount, when),
        Ev::Canceled(ci, amount, when) => charge_event(ci, RecurringEventType::ChargeCanceled, amount, when),
        Ev::Refunded(ci, amount, when) => charge_event(ci, RecurringEventType::ChargeRefunded, amount, when),
        Ev::CreationFailed {
            agreement,
            amount,
            ref order_id,
            ref why,
        } => {
            let a = &r.agreements[agreement as usize];
            let msn = &r.msns[a.msn as usize];
            let ty = RecurringEventType::ChargeCreationFailed;
            let mut w = ChargeWebhookEvent::new(
                msn.to_string(),
                agreement_id(a.code),
                order_id.as_deref().map(str::to_owned),
                i64::from(amount),
                a.currency.clone(),
                ty.clone(),
                at(now),
            );
            w.agreement_external_id = a.texts.external_id.as_deref().map(str::to_owned);
            w.failure_description = Some(why.to_string());
            (Arc::clone(msn), a.code, ty, serde_json::to_vec(&w))
        }
        Ev::Failed(ci, when) => {
            let amount = r.charges[ci as usize].amount;
            charge_event(ci, RecurringEventType::ChargeFailed, amount, when)
        }
    };
    ApiEvent {
        msn,
        event_type: event_type_name(&ty),
        // Every event of an agreement (its charges' too) goes to a webhook in order.
        subject: agreement_id(code).into(),
        body: body.unwrap_or_default().into(),
    }
}

/// The event type's wire name, as a static string.
fn event_type_name(ty: &RecurringEventType) -> &'static str {
    match ty {
        RecurringEventType::AgreementActivated => "recurring.agreement-activated.v1",
        RecurringEventType::AgreementRejected => "recurring.agreement-rejected.v1",
        RecurringEventType::AgreementStopped => "recurring.agreement-stopped.v1",
        RecurringEventType::AgreementExpired => "recurring.agreement-expired.v1",
        RecurringEventType::ChargeReserved => "recurring.charge-reserved.v1",
        RecurringEventType::ChargeCaptured => "recurring.charge-captured.v1",
        RecurringEventType::ChargeCanceled => "recurring.charge-canceled.v1",
        RecurringEventType::ChargeRefunded => "recurring.charge-refunded.v1",
        RecurringEventType::ChargeFailed => "recurring.charge-failed.v1",
        RecurringEventType::ChargeCreationFailed => "recurring.charge-creation-failed.v1",
        RecurringEventType::Unknown(_) => "recurring.unknown.v1",
    }
}
