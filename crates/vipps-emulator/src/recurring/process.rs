//! What happens to agreements and charges: the customer's accept and reject, expiry, stops,
//! the clock's charge attempts with their retries, and the merchant's capture, cancel and
//! refund. Each step records the events it causes ([`Ev`]); [`flush`] renders them for webhooks.

use super::errors::RecError;
use super::events::{render_event, Ev};
use super::model::*;
use crate::core::state::AppState;
use crate::core::store::{Ledger, Tables};
use time::{Date, Duration};

/// A `PENDING` agreement nobody accepts expires after this long (2026 agreements page:
/// "`PENDING` for 10 minutes").
pub(super) const PENDING_FOR: Duration = Duration::minutes(10);
/// A scheduled charge is shown `DUE` when its due date is less than this many days away.
pub(super) const DUE_WITHIN_DAYS: i64 = 30;
/// A reservation can be captured for this long ("up to 180 days after reservation").
const CAPTURE_FOR: Duration = Duration::days(180);
/// A capture can be refunded for this long ("up to 365 days after capture").
const REFUND_FOR: Duration = Duration::days(365);
/// Charges settled per transaction (requests get the store between two chunks, and the
/// sweep pauses between them).
const CHUNK: usize = 500;

/// Hands the events on to webhooks (rendered only when somebody listens).
pub(super) fn flush(t: &mut Tables, events: &[Ev], now: i64) {
    if events.is_empty() || !t.publishing() {
        return;
    }
    let rendered: Vec<_> = {
        let r = t.get::<Recurring>();
        events.iter().map(|e| render_event(r, e, now)).collect()
    };
    for e in rendered {
        t.publish(e);
    }
}

/// The status a charge shows on `today`.
pub(super) fn shown_status(c: &Charge, a: &Agreement, today: Date) -> &'static str {
    match c.status {
        ChargeStatus::Scheduled => {
            let pending = match c.due {
                _ if a.status == AgreementStatus::Pending => true,
                Some(due) => (due - today).whole_days() >= DUE_WITHIN_DAYS,
                None => true,
            };
            if pending {
                "PENDING"
            } else {
                "DUE"
            }
        }
        ChargeStatus::Charged => "CHARGED",
        ChargeStatus::Reserved => "RESERVED",
        ChargeStatus::PartiallyCaptured => "PARTIALLY_CAPTURED",
        ChargeStatus::Failed => "FAILED",
        ChargeStatus::Refunded => "REFUNDED",
        ChargeStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
        ChargeStatus::Cancelled => "CANCELLED",
    }
}

fn entry(at: i64, amount: u32, event: HistoryEvent, success: bool, key: Option<&str>) -> History {
    History {
        at,
        amount,
        event,
        success,
        key: key.map(Into::into),
    }
}

/// Whether the customer of agreement `a` cannot pay right now, and why.
fn payment_fails(r: &Recurring, a: &Agreement, amount: u32) -> Option<Failure> {
    if a.pricing == PricingKind::Variable && a.max_amount.is_some_and(|m| amount > m) {
        return Some(Failure::AmountTooHigh);
    }
    let phone_fails = !r.failing_phones.is_empty()
        && a.customer
            .as_deref()
            .is_some_and(|p| r.failing_phones.contains(crate::core::customer::msisdn(p).as_str()));
    (a.card_fails || phone_fails).then_some(Failure::UserActionRequired)
}

/// Moves the money of charge `ci` at `at`: reserved or captured, by its transaction type.
fn pay(r: &mut Recurring, ci: u32, at: i64, ev: &mut Vec<Ev>) {
    let c = &mut r.charges[ci as usize];
    c.failure = None;
    c.history.push(entry(at, c.amount, HistoryEvent::Reserve, true, None));
    if c.reserve {
        c.status = ChargeStatus::Reserved;
        ev.push(Ev::Reserved(ci, c.amount, at));
    } else {
        c.captured = c.amount;
        c.status = ChargeStatus::Charged;
        c.history.push(entry(at, c.amount, HistoryEvent::Capture, true, None));
        ev.push(Ev::Captured(ci, c.amount, at));
    }
}

/// Ends charge `ci` as `FAILED` at `at`.
fn fail(r: &mut Recurring, ci: u32, why: Failure, at: i64, ev: &mut Vec<Ev>) {
    let c = &mut r.charges[ci as usize];
    c.status = ChargeStatus::Failed;
    c.failure = Some(why);
    c.history.push(entry(at, c.amount, HistoryEvent::Fail, false, None));
    ev.push(Ev::Failed(ci, at));
}

/// Cancels what is left of charge `ci` (the merchant's cancel, a stop, an expiry).
fn cancel_rest(r: &mut Recurring, ci: u32, at: i64, key: Option<&str>, ev: Option<&mut Vec<Ev>>) {
    let c = &mut r.charges[ci as usize];
    let rest = c.amount - c.captured - c.cancelled;
    c.cancelled += rest;
    // What was captured stays, and so do refunds made while it was partly captured.
    c.status = match (c.captured, c.refunded) {
        (0, _) => ChargeStatus::Cancelled,
        (_, 0) => ChargeStatus::Charged,
        (captured, refunded) if refunded == captured => ChargeStatus::Refunded,
        _ => ChargeStatus::PartiallyRefunded,
    };
    c.history.push(entry(at, rest, HistoryEvent::Cancel, true, key));
    if let Some(ev) = ev {
        ev.push(Ev::Canceled(ci, rest, at));
    }
}

/// The customer accepts agreement `ai` with `phone` (and, for `VARIABLE` pricing, a
/// `maxAmount`): the initial charge is paid, then the agreement is `ACTIVE` (or `EXPIRED`
/// when the initial charge fails). Profile sharing is recorded for the agreement's `scope`.
pub(super) fn accept(
    ledger: &mut Ledger,
    r: &mut Recurring,
    ai: u32,
    phone: &str,
    max_amount: Option<u32>,
    now: i64,
    ev: &mut Vec<Ev>,
) -> Result<(), RecError> {
    let a = &r.agreements[ai as usize];
    if a.status != AgreementStatus::Pending {
        return Err(RecError::not_pending(a));
    }
    if let Some(m) = max_amount {
        if a.pricing != PricingKind::Variable {
            return Err(RecError::validation(
                "maxAmount",
                "only a VARIABLE agreement has a maxAmount",
            ));
        }
        if m == 0 {
            return Err(RecError::validation("maxAmount", "must be greater than 0"));
        }
    }
    let a = &mut r.agreements[ai as usize];
    a.customer = Some(phone.into());
    if a.pricing == PricingKind::Variable {
        a.max_amount = max_amount.or(a.suggested_max);
    }
    let initial = a
        .initial
        .filter(|&ci| r.charges[ci as usize].status == ChargeStatus::Scheduled);
    if let Some(ci) = initial {
        let a = &r.agreements[ai as usize];
        // No price ceiling applies to an initial charge, nor the customer's maxAmount.
        let fails = a.card_fails || payment_fails(r, a, 0).is_some();
        if fails {
            fail(r, ci, Failure::UserActionRequired, now, ev);
            r.agreements[ai as usize].status = AgreementStatus::Expired;
            left_pending(r, ai);
            ev.push(Ev::Expired(ai));
            return Ok(());
        }
    }
    let a = &mut r.agreements[ai as usize];
    a.status = AgreementStatus::Active;
    a.start = Some(now);
    left_pending(r, ai);
    ev.push(Ev::Activated(ai));
    if let Some(ci) = initial {
        pay(r, ci, now, ev);
    }
    let a = &r.agreements[ai as usize];
    if let Some(scope) = a.texts.scope.as_deref() {
        let msn = &r.msns[a.msn as usize];
        let sub = crate::core::store::customer_sub(msn, phone);
        let person = crate::core::customer::Person::test(&a.currency, Some(phone));
        ledger.record_consent(&sub, msn, person, scope, at(now));
    }
    Ok(())
}

/// The customer rejects agreement `ai`: `STOPPED`, its initial charge cancelled.
pub(super) fn reject(r: &mut Recurring, ai: u32, now: i64, ev: &mut Vec<Ev>) -> Result<(), RecError> {
    let a = &mut r.agreements[ai as usize];
    if a.status != AgreementStatus::Pending {
        return Err(RecError::not_pending(a));
    }
    a.status = AgreementStatus::Stopped;
    a.stopped_by = Some(Actor::Customer);
    a.stop = Some(now);
    left_pending(r, ai);
    ev.push(Ev::Rejected(ai));
    end_initial(r, ai, now);
    Ok(())
}

/// Cancels the initial charge of an agreement that never became active.
fn end_initial(r: &mut Recurring, ai: u32, now: i64) {
    if let Some(ci) = r.agreements[ai as usize].initial {
        if r.charges[ci as usize].status == ChargeStatus::Scheduled {
            cancel_rest(r, ci, now, None, None);
        }
    }
}

/// Agreement `ai` left `PENDING`: its queued expiry is no longer needed.
fn left_pending(r: &mut Recurring, ai: u32) {
    let at = r.agreements[ai as usize].created + PENDING_FOR.whole_seconds();
    r.unschedule_expiry(at, ai);
}

/// Agreement `ai` expires if nobody accepted it.
pub(super) fn expire(r: &mut Recurring, ai: u32, at: i64, ev: &mut Vec<Ev>) {
    let a = &mut r.agreements[ai as usize];
    if a.status != AgreementStatus::Pending {
        return;
    }
    a.status = AgreementStatus::Expired;
    left_pending(r, ai);
    ev.push(Ev::Expired(ai));
    end_initial(r, ai, at);
}

/// Expires agreement `ai` now if its time ran out (reads do this before the sweep does).
pub(super) fn expire_if_due(r: &mut Recurring, ai: u32, now: i64, ev: &mut Vec<Ev>) {
    let a = &r.agreements[ai as usize];
    let due = now >= a.created + PENDING_FOR.whole_seconds();
    if a.status == AgreementStatus::Pending && due && !r.carried.contains(&ai) {
        let at = a.created + PENDING_FOR.whole_seconds();
        expire(r, ai, at, ev);
    }
}

/// Stops agreement `ai`: its `PENDING` and `DUE` charges are cancelled, and its `RESERVED`
/// ones too when the merchant stops it (a customer's stop leaves them to the merchant).
pub(super) fn stop(r: &mut Recurring, ai: u32, actor: Actor, now: i64, ev: &mut Vec<Ev>) -> Result<(), RecError> {
    let a = &mut r.agreements[ai as usize];
    if !matches!(a.status, AgreementStatus::Pending | AgreementStatus::Active) {
        return Err(RecError::illegal_update(a));
    }
    let was_pending = a.status == AgreementStatus::Pending;
    a.status = AgreementStatus::Stopped;
    a.stopped_by = Some(actor);
    a.stop = Some(now);
    ev.push(Ev::Stopped(ai, actor));
    if was_pending {
        left_pending(r, ai);
        end_initial(r, ai, now);
        return Ok(());
    }
    let charges = r.agreements[ai as usize].charges.clone();
    for ci in charges {
        let s = r.charges[ci as usize].status;
        let cancel = s == ChargeStatus::Scheduled || (s == ChargeStatus::Reserved && actor == Actor::Merchant);
        if cancel {
            cancel_rest(r, ci, now, None, Some(ev));
        }
    }
    Ok(())
}

/// The attempt of charge `ci` scheduled for `at`: paid, retried the next day while retry days
/// are left, or `FAILED`.
fn attempt(r: &mut Recurring, ci: u32, at: i64, ev: &mut Vec<Ev>) {
    let c = &r.charges[ci as usize];
    let a = &r.agreements[c.agreement as usize];
    if c.status != ChargeStatus::Scheduled || a.status != AgreementStatus::Active {
        return; // cancelled or stopped meanwhile
    }
    let Some(why) = payment_fails(r, a, c.amount) else {
        pay(r, ci, at, ev);
        return;
    };
    let last = match (c.kind, c.due) {
        (ChargeKind::Recurring, Some(due)) => midnight(due) + i64::from(c.retry_days) * 86_400,
        _ => at,
    };
    if at < last {
        r.charges[ci as usize].failure = Some(why);
        r.schedule(at + 86_400, Work::Attempt(ci));
    } else {
        fail(r, ci, why, at, ev);
    }
}

/// Does everything due by the clock's now, oldest first, in chunks.
pub(super) fn settle(state: &AppState) {
    let now = secs(state.clock().now());
    loop {
        let started = std::time::Instant::now();
        let more = state.store().transact_in_background(|t| {
            let mut ev = Vec::new();
            let r = t.get_mut::<Recurring>();
            // Only real work counts towards a chunk: the expiry of an agreement accepted in the
            // meantime changes nothing and costs next to nothing (a month of 100,000 accepted
            // agreements has 100,000 of them), but is still bounded per transaction.
            let (mut work_done, mut seen) = (0, 0);
            let more = loop {
                if work_done == CHUNK || seen == CHUNK * 50 {
                    break true;
                }
                let Some((at, work)) = r.next_due(now) else { break false };
                seen += 1;
                match work {
                    Work::Expire(ai) => {
                        if r.agreements[ai as usize].status == AgreementStatus::Pending {
                            work_done += 1;
                        }
                        expire(r, ai, at, &mut ev);
                    }
                    Work::Attempt(ci) => {
                        work_done += 1;
                        attempt(r, ci, at, &mut ev);
                    }
                }
            };
            flush(t, &ev, now);
            more
        });
        if !more {
            break;
        }
        // A big sweep (a month of a hundred thousand agreements) is background work: it
        // takes at most a fifth of a core, so requests keep their throughput meanwhile.
        std::thread::sleep(started.elapsed() * 4);
    }
}

/// Captures `amount` of reserved charge `ci`.
pub(super) fn capture(
    r: &mut Recurring,
    ci: u32,
    amount: u32,
    key: &str,
    now: i64,
    ev: &mut Vec<Ev>,
) -> Result<(), RecError> {
    let c = &mut r.charges[ci as usize];
    if !matches!(c.status, ChargeStatus::Reserved | ChargeStatus::PartiallyCaptured) {
        return Err(RecError::capture(format!(
            "The charge is {}: only a reserved charge can be captured",
            status_word(c.status)
        )));
    }
    let reserved = c.last(HistoryEvent::Reserve).unwrap_or(now);
    if now > reserved + CAPTURE_FOR.whole_seconds() {
        return Err(RecError::capture(
            "The reservation is more than 180 days old and can no longer be captured".into(),
        ));
    }
    let left = c.amount - c.captured - c.cancelled;
    if amount == 0 || amount > left {
        return Err(
            RecError::capture(format!("amount must be between 1 and the {left} still reserved"))
                .field("amount", format!("must be at most {left}")),
        );
    }
    c.captured += amount;
    c.status = if c.captured + c.cancelled == c.amount {
        ChargeStatus::Charged
    } else {
        ChargeStatus::PartiallyCaptured
    };
    c.history
        .push(entry(now, amount, HistoryEvent::Capture, true, Some(key)));
    ev.push(Ev::Captured(ci, amount, now));
    Ok(())
}

/// Cancels charge `ci` (`PENDING`, `DUE` or `RESERVED`; a `PARTIALLY_CAPTURED` charge
/// releases the rest and becomes `CHARGED`).
pub(super) fn cancel(r: &mut Recurring, ci: u32, key: &str, now: i64, ev: &mut Vec<Ev>) -> Result<(), RecError> {
    let c = &r.charges[ci as usize];
    if !matches!(
        c.status,
        ChargeStatus::Scheduled | ChargeStatus::Reserved | ChargeStatus::PartiallyCaptured
    ) {
        return Err(RecError::cancel(format!(
            "The charge is {}: only a PENDING, DUE, RESERVED or PARTIALLY_CAPTURED charge can be cancelled",
            status_word(c.status)
        )));
    }
    cancel_rest(r, ci, now, Some(key), Some(ev));
    Ok(())
}

/// Refunds `amount` of what charge `ci` captured.
pub(super) fn refund(
    r: &mut Recurring,
    ci: u32,
    amount: u32,
    key: &str,
    now: i64,
    ev: &mut Vec<Ev>,
) -> Result<(), RecError> {
    let c = &mut r.charges[ci as usize];
    if !matches!(
        c.status,
        ChargeStatus::Charged | ChargeStatus::PartiallyRefunded | ChargeStatus::PartiallyCaptured
    ) {
        return Err(RecError::refund(format!(
            "The charge is {}: only a captured charge can be refunded",
            status_word(c.status)
        )));
    }
    let captured_at = c.last(HistoryEvent::Capture).unwrap_or(now);
    if now > captured_at + REFUND_FOR.whole_seconds() {
        return Err(RecError::refund(
            "The capture is more than 365 days old and can no longer be refunded".into(),
        ));
    }
    let left = c.captured - c.refunded;
    if amount == 0 || amount > left {
        return Err(
            RecError::refund(format!("amount must be between 1 and the {left} still refundable"))
                .field("amount", format!("must be at most {left}")),
        );
    }
    c.refunded += amount;
    if c.status != ChargeStatus::PartiallyCaptured {
        c.status = if c.refunded == c.captured {
            ChargeStatus::Refunded
        } else {
            ChargeStatus::PartiallyRefunded
        };
    }
    c.history
        .push(entry(now, amount, HistoryEvent::Refund, true, Some(key)));
    ev.push(Ev::Refunded(ci, amount, now));
    Ok(())
}

/// A status in words, for error details.
pub(super) fn status_word(s: ChargeStatus) -> &'static str {
    match s {
        ChargeStatus::Scheduled => "PENDING or DUE",
        ChargeStatus::Charged => "CHARGED",
        ChargeStatus::Reserved => "RESERVED",
        ChargeStatus::PartiallyCaptured => "PARTIALLY_CAPTURED",
        ChargeStatus::Failed => "FAILED",
        ChargeStatus::Refunded => "REFUNDED",
        ChargeStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
        ChargeStatus::Cancelled => "CANCELLED",
    }
}

/// Which interval of agreement `a` the date `d` falls in (counted from the agreement's start).
pub(super) fn interval_index(a: &Agreement, d: Date) -> Option<i64> {
    let (unit, count) = a.interval?;
    let start = at(a.start?).date();
    let count = i64::from(count.max(1));
    let months = |d: Date| i64::from(d.year()) * 12 + i64::from(d.month() as u8);
    let idx = match unit {
        Unit::Day => (d - start).whole_days() / count,
        Unit::Week => (d - start).whole_days() / (7 * count),
        Unit::Month | Unit::Year => {
            let mut m = months(d) - months(start);
            if d.day() < start.day() {
                m -= 1;
            }
            let per = if unit == Unit::Year { 12 * count } else { count };
            m.div_euclid(per)
        }
    };
    Some(idx)
}

/// What the charges of agreement `ai` in the interval of `d` already total (initial charges,
/// failed and cancelled amounts do not count).
pub(super) fn interval_total(r: &Recurring, ai: u32, d: Date) -> u64 {
    let a = &r.agreements[ai as usize];
    let Some(idx) = interval_index(a, d) else { return 0 };
    a.charges
        .iter()
        .map(|&ci| &r.charges[ci as usize])
        .filter(|c| c.kind != ChargeKind::Initial && c.status != ChargeStatus::Failed)
        .filter(|c| {
            let day = c
                .due
                .unwrap_or_else(|| at(c.history.first().map_or(0, |h| h.at)).date());
            interval_index(a, day) == Some(idx)
        })
        .map(|c| u64::from(c.amount - c.cancelled))
        .sum()
}
