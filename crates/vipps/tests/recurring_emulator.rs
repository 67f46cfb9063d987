//! The SDK's Recurring API v3 against the in-process emulator: every operation, every state
//! transition of agreements and charges, the illegal ones with their typed errors,
//! idempotency replay and conflict, the clock (expiry, a year of monthly charges, retry days)
//! and every Recurring webhook, verified with the SDK's verifier.

mod common;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use common::client_for;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::{Date, Month};
use vipps::recurring::{ListAgreements, ListCharges};
use vipps::types::recurring::{
    AgreementActor, AgreementStatus, AgreementUpdate, BatchCharge, CaptureRequest, Charge, ChargeStatus, ChargeType,
    CreateCharge, CreateCharges, DraftAgreement, FailureReason, InitialCharge, Interval, IntervalUnit, PricingRequest,
    PricingUpdate, RecurringEventType, RecurringWebhookEvent, RefundRequest, TransactionType,
};
use vipps::types::webhooks::{RegisterWebhookRequest, WebhookEventType};
use vipps::types::Currency;
use vipps::webhooks::{WebhookRequest, WebhookVerifier};
use vipps::{Client, Error, ErrorKind};
use vipps_emulator::{Emulator, EmulatorConfig, RunningEmulator};

const PHONE: &str = "4791234567";
const DAY: u64 = 86_400;

/// An emulator whose access tokens outlive the clock advances of these tests, and a client.
async fn start() -> (RunningEmulator, Client) {
    let emu = Emulator::builder()
        .config(EmulatorConfig {
            token_ttl_secs: 20 * 366 * DAY as i64,
            ..EmulatorConfig::default()
        })
        .start()
        .await
        .unwrap();
    let c = client_for(&emu);
    (emu, c)
}

fn today(emu: &RunningEmulator) -> Date {
    emu.clock().now().to_offset(time::UtcOffset::UTC).date()
}

fn in_days(emu: &RunningEmulator, days: i64) -> Date {
    today(emu) + time::Duration::days(days)
}

fn advance_days(emu: &RunningEmulator, days: u64) {
    emu.advance(Duration::from_secs(days * DAY));
}

fn monthly(price: i64) -> DraftAgreement {
    DraftAgreement {
        phone_number: Some(PHONE.into()),
        ..DraftAgreement::new(
            PricingRequest::legacy(price, Currency::Nok),
            Some(Interval::every(1, IntervalUnit::Month)),
            "Premier League subscription",
            "https://example.com/confirmation",
            "https://example.com/account/subscriptions/1234",
        )
    }
}

fn with_initial(price: i64, initial: i64, tx: TransactionType) -> DraftAgreement {
    DraftAgreement {
        initial_charge: Some(InitialCharge::new(initial, "First month", tx)),
        ..monthly(price)
    }
}

fn direct(amount: i64, due: Date, retry_days: i32) -> CreateCharge {
    CreateCharge::recurring(amount, "Monthly fee", due, retry_days, TransactionType::DirectCapture)
}

fn reserve(amount: i64, due: Date) -> CreateCharge {
    CreateCharge::recurring(amount, "Monthly fee", due, 0, TransactionType::ReserveCapture)
}

/// POST to the control plane; its JSON answer (or null).
async fn control(emu: &RunningEmulator, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", emu.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Drafts `draft` and force-accepts it through the SDK: an ACTIVE agreement's id.
async fn active(c: &Client, draft: DraftAgreement) -> String {
    let rec = c.recurring();
    let id = rec.create_agreement(draft).await.unwrap().agreement_id.clone();
    rec.force_accept_agreement(&id, PHONE).await.unwrap();
    id
}

async fn charge(c: &Client, agreement: &str, body: CreateCharge) -> String {
    c.recurring()
        .create_charge(agreement, body)
        .await
        .unwrap()
        .into_inner()
        .charge_id
}

async fn status_of(c: &Client, agreement: &str, charge: &str) -> ChargeStatus {
    c.recurring()
        .get_charge(agreement, charge)
        .await
        .unwrap()
        .status
        .clone()
}

/// An API error with `status` and the Recurring problem type `kind`.
#[track_caller]
fn assert_problem(e: &Error, status: u16, kind: &str) {
    assert!(matches!(e.kind(), ErrorKind::Api { .. }), "not an API error: {e}");
    assert_eq!(e.status(), Some(status), "{e}");
    let t = e.problem().and_then(|p| p.type_.as_deref()).unwrap_or_default();
    assert!(
        t.ends_with(&format!("recurring-api-problems#{kind}")),
        "type {t:?}: {e}"
    );
    assert!(e.trace_id().is_some(), "contextId as trace id: {e}");
}

/// A validation error of the SDK on `field`, nothing sent.
#[track_caller]
fn assert_refused_before_sending(e: &Error, field: &str) {
    match e.kind() {
        ErrorKind::Validation(v) => assert_eq!(v.field, field, "{e}"),
        _ => panic!("expected a validation error on {field}, got {e}"),
    }
    assert!(!e.may_have_reached_server());
    assert_eq!(e.attempts(), 0, "{e}");
}

#[tokio::test]
async fn agreements_activate_by_force_accept_and_by_the_customer() {
    let (emu, c) = start().await;
    let rec = c.recurring();

    let created = rec
        .create_agreement(with_initial(49900, 19900, TransactionType::DirectCapture))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.agreement_id.clone();
    let initial = created.charge_id.clone().expect("the initial charge's id");
    assert!(created.vipps_confirmation_url.is_some());
    let a = rec.get_agreement(&id).await.unwrap();
    assert_eq!(a.status, AgreementStatus::Pending);
    assert_eq!(a.start, None);
    assert_eq!(a.pricing.amount, Some(49900));
    assert_eq!(status_of(&c, &id, &initial).await, ChargeStatus::Pending);

    // PENDING -> ACTIVE by force accept: the DIRECT_CAPTURE initial charge is CHARGED
    let accepted = rec.force_accept_agreement(&id, PHONE).await.unwrap();
    assert_eq!(accepted.status(), 204);
    let a = rec.get_agreement(&id).await.unwrap();
    assert_eq!(a.status, AgreementStatus::Active);
    assert!(a.start.is_some() && a.stop.is_none());
    let ch = rec.get_charge(&id, &initial).await.unwrap();
    assert_eq!(
        (ch.status.clone(), ch.type_.clone()),
        (ChargeStatus::Charged, ChargeType::Initial)
    );
    assert_eq!(ch.summary.captured, 19900);

    // PENDING -> ACTIVE by the customer (control plane), RESERVE_CAPTURE initial: RESERVED
    let other = rec
        .create_agreement(with_initial(9900, 5000, TransactionType::ReserveCapture))
        .await
        .unwrap();
    let v = control(
        &emu,
        &format!("/_emulator/agreements/{}/accept", other.agreement_id),
        json!({}),
    )
    .await;
    assert_eq!(v["status"], "ACTIVE", "{v}");
    let a = rec.get_agreement(&other.agreement_id).await.unwrap();
    assert_eq!(a.status, AgreementStatus::Active);
    let ch = rec
        .get_charge(&other.agreement_id, other.charge_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(ch.status, ChargeStatus::Reserved);

    // force accept once more: the agreement is no longer PENDING
    let e = rec.force_accept_agreement(&id, PHONE).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    // unknown agreement: 404 with the problem type
    let e = rec.get_agreement("agr_nothere1").await.unwrap_err();
    assert_problem(&e, 404, "resource-not-found");
    // ids that would leave their path segment never leave the SDK
    let e = rec.get_agreement("../charges").await.unwrap_err();
    assert_refused_before_sending(&e, "agreementId");
}

#[tokio::test]
async fn reject_stop_and_expiry_end_agreements() {
    let (emu, c) = start().await;
    let rec = c.recurring();

    // PENDING -> STOPPED by the customer's reject; the initial charge is CANCELLED
    let rejected = rec
        .create_agreement(with_initial(1000, 1000, TransactionType::DirectCapture))
        .await
        .unwrap();
    control(
        &emu,
        &format!("/_emulator/agreements/{}/reject", rejected.agreement_id),
        json!({}),
    )
    .await;
    let a = rec.get_agreement(&rejected.agreement_id).await.unwrap();
    assert_eq!(a.status, AgreementStatus::Stopped);
    let initial = rejected.charge_id.as_deref().unwrap();
    assert_eq!(
        status_of(&c, &rejected.agreement_id, initial).await,
        ChargeStatus::Cancelled
    );

    // ACTIVE -> STOPPED by the merchant: PENDING, DUE and RESERVED charges are CANCELLED,
    // CHARGED ones stay
    let id = active(&c, with_initial(1000, 700, TransactionType::ReserveCapture)).await;
    let reserved = rec.list_charges(&id, ListCharges::default()).await.unwrap()[0]
        .id
        .clone();
    let due = charge(&c, &id, direct(1000, in_days(&emu, 5), 0)).await;
    let pending = charge(&c, &id, direct(1000, in_days(&emu, 45), 0)).await;
    let paid = charge(
        &c,
        &id,
        CreateCharge::unscheduled(300, "Extra", TransactionType::DirectCapture),
    )
    .await;
    advance_days(&emu, 1);
    assert_eq!(status_of(&c, &id, &due).await, ChargeStatus::Due);
    assert_eq!(status_of(&c, &id, &pending).await, ChargeStatus::Pending);
    assert_eq!(status_of(&c, &id, &reserved).await, ChargeStatus::Reserved);
    assert_eq!(status_of(&c, &id, &paid).await, ChargeStatus::Charged);
    let stopped = rec.stop_agreement(&id).await.unwrap();
    assert_eq!(stopped.status(), 204);
    let a = rec.get_agreement(&id).await.unwrap();
    assert_eq!(a.status, AgreementStatus::Stopped);
    assert!(a.stop.is_some());
    let cancelled = rec
        .list_charges(
            &id,
            ListCharges {
                status: Some(ChargeStatus::Cancelled),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: BTreeSet<&str> = cancelled.iter().map(|ch| ch.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from([reserved.as_str(), due.as_str(), pending.as_str()]));
    assert!(cancelled
        .iter()
        .all(|ch| ch.summary.cancelled == ch.amount && ch.summary.captured == 0));
    assert_eq!(status_of(&c, &id, &paid).await, ChargeStatus::Charged);
    // the clock no longer charges anything on it
    advance_days(&emu, 60);
    assert_eq!(status_of(&c, &id, &due).await, ChargeStatus::Cancelled);

    // PENDING -> EXPIRED after ten minutes, moved by the control route; initial CANCELLED
    let expiring = rec
        .create_agreement(with_initial(1000, 1000, TransactionType::DirectCapture))
        .await
        .unwrap();
    control(&emu, "/_emulator/clock/advance", json!({"seconds": 9 * 60})).await;
    let a = rec.get_agreement(&expiring.agreement_id).await.unwrap();
    assert_eq!(a.status, AgreementStatus::Pending, "not yet after 9 minutes");
    control(&emu, "/_emulator/clock/advance", json!({"seconds": 61})).await;
    let a = rec.get_agreement(&expiring.agreement_id).await.unwrap();
    assert_eq!(a.status, AgreementStatus::Expired);
    assert_eq!(a.stop, None, "EXPIRED agreements have no stop time");
    let initial = expiring.charge_id.as_deref().unwrap();
    assert_eq!(
        status_of(&c, &expiring.agreement_id, initial).await,
        ChargeStatus::Cancelled
    );
    // an expired agreement cannot be accepted any more
    let e = rec
        .force_accept_agreement(&expiring.agreement_id, PHONE)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
}

#[tokio::test]
async fn list_agreements_filters_by_status_and_created_after_and_pages() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let mut actives = Vec::new();
    for _ in 0..5 {
        actives.push(active(&c, monthly(1000)).await);
        emu.advance(Duration::from_secs(1));
    }
    let pending = rec.create_agreement(monthly(1000)).await.unwrap().agreement_id.clone();
    let stopped = active(&c, monthly(1000)).await;
    rec.stop_agreement(&stopped).await.unwrap();

    let ids = |v: &[vipps::types::recurring::Agreement]| v.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    let by = |status| ListAgreements {
        status: Some(status),
        ..Default::default()
    };
    assert_eq!(
        ids(&rec.list_agreements(by(AgreementStatus::Active)).await.unwrap()),
        actives
    );
    assert_eq!(
        ids(&rec.list_agreements(by(AgreementStatus::Pending)).await.unwrap()),
        [pending]
    );
    assert_eq!(
        ids(&rec.list_agreements(by(AgreementStatus::Stopped)).await.unwrap()),
        [stopped]
    );
    assert!(rec
        .list_agreements(by(AgreementStatus::Expired))
        .await
        .unwrap()
        .is_empty());

    // pages of two, oldest first, then an empty page
    let mut paged = Vec::new();
    for n in 1..=4 {
        let page = rec
            .list_agreements(ListAgreements {
                page_number: Some(n),
                page_size: Some(2),
                ..by(AgreementStatus::Active)
            })
            .await
            .unwrap();
        assert_eq!(page.len(), [2, 2, 1, 0][n as usize - 1], "page {n}");
        paged.extend(ids(&page));
    }
    assert_eq!(paged, actives);

    // createdAfter (epoch milliseconds, strictly after)
    let third = rec.get_agreement(&actives[2]).await.unwrap();
    let ms = (third.created.unix_timestamp_nanos() / 1_000_000) as i64;
    let after = rec
        .list_agreements(ListAgreements {
            created_after: Some(ms),
            ..by(AgreementStatus::Active)
        })
        .await
        .unwrap();
    assert_eq!(ids(&after), actives[3..]);

    // page 0 never leaves the SDK
    let e = rec
        .list_agreements(ListAgreements {
            page_number: Some(0),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused_before_sending(&e, "pageNumber");
}

#[tokio::test]
async fn updates_change_the_agreement_and_stopped_agreements_refuse_them() {
    let (_emu, c) = start().await;
    let rec = c.recurring();
    let id = active(&c, monthly(1000)).await;
    let update = AgreementUpdate {
        product_name: Some("Premier League, family".into()),
        product_description: Some("Four screens".into()),
        pricing: Some(PricingUpdate {
            amount: Some(1500),
            suggested_max_amount: None,
        }),
        interval: Some(Interval::every(2, IntervalUnit::Week)),
        ..Default::default()
    };
    assert_eq!(rec.update_agreement(&id, update.clone()).await.unwrap().status(), 204);
    let a = rec.get_agreement(&id).await.unwrap();
    assert_eq!(a.product_name, "Premier League, family");
    assert_eq!(a.product_description.as_deref(), Some("Four screens"));
    assert_eq!(a.pricing.amount, Some(1500));
    assert_eq!(
        (a.interval.unit.clone(), a.interval.count),
        (Some(IntervalUnit::Week), Some(2))
    );
    assert_eq!(a.status, AgreementStatus::Active);

    // refused by the SDK before sending: STOPPED with other fields; nothing to update
    let e = rec
        .update_agreement(
            &id,
            AgreementUpdate {
                product_name: Some("x".into()),
                ..AgreementUpdate::stop()
            },
        )
        .await
        .unwrap_err();
    assert_refused_before_sending(&e, "status");
    let e = rec.update_agreement(&id, AgreementUpdate::default()).await.unwrap_err();
    assert_refused_before_sending(&e, "body");
    assert_eq!(rec.get_agreement(&id).await.unwrap().status, AgreementStatus::Active);

    // STOPPED is final: no update, no second stop
    rec.stop_agreement(&id).await.unwrap();
    let e = rec.update_agreement(&id, update).await.unwrap_err();
    assert_problem(&e, 400, "illegal-agreement-update");
    let e = rec.stop_agreement(&id).await.unwrap_err();
    assert_problem(&e, 400, "illegal-agreement-update");
    let a = rec.get_agreement(&id).await.unwrap();
    assert_eq!(a.product_name, "Premier League, family");
}

#[tokio::test]
async fn a_direct_capture_charge_goes_pending_due_charged_then_is_refunded_in_parts() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let id = active(&c, monthly(1000)).await;
    let ch = CreateCharge {
        order_id: Some("order-2026-10".into()),
        ..direct(1000, in_days(&emu, 40), 3)
    };
    let created = rec.create_charge(&id, ch).await.unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.charge_id, "order-2026-10", "the orderId is the charge's id");
    let cid = created.into_inner().charge_id;
    assert_eq!(status_of(&c, &id, &cid).await, ChargeStatus::Pending);
    advance_days(&emu, 11);
    assert_eq!(
        status_of(&c, &id, &cid).await,
        ChargeStatus::Due,
        "less than 30 days left"
    );
    advance_days(&emu, 28);
    assert_eq!(status_of(&c, &id, &cid).await, ChargeStatus::Due, "the day before");
    advance_days(&emu, 1);
    let got = rec.get_charge(&id, &cid).await.unwrap();
    assert_eq!(got.status, ChargeStatus::Charged);
    assert_eq!(got.summary.captured, 1000);
    assert_eq!(got.amount, 1000);
    assert_eq!(got.retry_days, 3);
    // the same charge without its agreement
    let by_id = rec.get_charge_by_id(&cid).await.unwrap();
    assert_eq!(by_id.agreement_id, id);
    assert_eq!(*by_id, *got);
    // listed under its status only
    let listed = |status| {
        rec.list_charges(
            &id,
            ListCharges {
                status: Some(status),
                ..Default::default()
            },
        )
    };
    assert_eq!(listed(ChargeStatus::Charged).await.unwrap().len(), 1);
    assert!(listed(ChargeStatus::Due).await.unwrap().is_empty());

    // CHARGED -> PARTIALLY_REFUNDED -> REFUNDED; above what is left: typed error
    rec.refund_charge(&id, &cid, RefundRequest::new(300, "Sorry"))
        .await
        .unwrap();
    let got = rec.get_charge(&id, &cid).await.unwrap();
    assert_eq!(
        (got.status.clone(), got.summary.refunded),
        (ChargeStatus::PartiallyRefunded, 300)
    );
    let e = rec
        .refund_charge(&id, &cid, RefundRequest::new(800, "Too much"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "refund-charge-failed");
    rec.refund_charge(&id, &cid, RefundRequest::new(700, "The rest"))
        .await
        .unwrap();
    let got = rec.get_charge(&id, &cid).await.unwrap();
    assert_eq!(
        (got.status.clone(), got.summary.refunded),
        (ChargeStatus::Refunded, 1000)
    );
    assert_eq!(listed(ChargeStatus::Refunded).await.unwrap().len(), 1);
    let e = rec
        .refund_charge(&id, &cid, RefundRequest::new(100, "Nothing left"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "refund-charge-failed");
}

#[tokio::test]
async fn reserved_charges_are_captured_in_parts_and_the_rest_cancelled() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let id = active(&c, monthly(5000)).await;
    let full = charge(&c, &id, reserve(1000, in_days(&emu, 2))).await;
    let part = charge(&c, &id, reserve(1000, in_days(&emu, 2))).await;
    let refunded = charge(&c, &id, reserve(1000, in_days(&emu, 2))).await;
    advance_days(&emu, 2);
    for ch in [&full, &part, &refunded] {
        assert_eq!(status_of(&c, &id, ch).await, ChargeStatus::Reserved);
    }

    // RESERVED -> PARTIALLY_CAPTURED -> CHARGED
    rec.capture_charge(&id, &full, CaptureRequest::new(300, "Part one"))
        .await
        .unwrap();
    assert_eq!(status_of(&c, &id, &full).await, ChargeStatus::PartiallyCaptured);
    let e = rec
        .capture_charge(&id, &full, CaptureRequest::new(701, "Too much"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-capture-failed");
    rec.capture_charge(&id, &full, CaptureRequest::new(700, "Part two"))
        .await
        .unwrap();
    let got = rec.get_charge(&id, &full).await.unwrap();
    assert_eq!(
        (got.status.clone(), got.summary.captured),
        (ChargeStatus::Charged, 1000)
    );
    let e = rec
        .capture_charge(&id, &full, CaptureRequest::new(100, "Nothing left"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-capture-failed");

    // RESERVED -> PARTIALLY_CAPTURED, the rest cancelled -> CHARGED with what was captured
    rec.capture_charge(&id, &part, CaptureRequest::new(400, "Delivered"))
        .await
        .unwrap();
    rec.cancel_charge(&id, &part).await.unwrap();
    let got = rec.get_charge(&id, &part).await.unwrap();
    assert_eq!(got.status, ChargeStatus::Charged);
    assert_eq!((got.summary.captured, got.summary.cancelled), (400, 600));
    let e = rec
        .capture_charge(&id, &part, CaptureRequest::new(100, "After cancel"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-capture-failed");
    // and what was captured can be refunded
    rec.refund_charge(&id, &part, RefundRequest::new(400, "Returned"))
        .await
        .unwrap();
    assert_eq!(status_of(&c, &id, &part).await, ChargeStatus::Refunded);

    // refunded while partly captured, then the rest cancelled: the status shows the refund
    rec.capture_charge(&id, &refunded, CaptureRequest::new(600, "Delivered"))
        .await
        .unwrap();
    rec.refund_charge(&id, &refunded, RefundRequest::new(200, "Damaged"))
        .await
        .unwrap();
    rec.cancel_charge(&id, &refunded).await.unwrap();
    let got = rec.get_charge(&id, &refunded).await.unwrap();
    assert_eq!(
        (got.summary.captured, got.summary.refunded, got.summary.cancelled),
        (600, 200, 400)
    );
    assert_eq!(got.status, ChargeStatus::PartiallyRefunded, "{got:?}");
    rec.refund_charge(&id, &refunded, RefundRequest::new(400, "All of it"))
        .await
        .unwrap();
    assert_eq!(status_of(&c, &id, &refunded).await, ChargeStatus::Refunded);
}

#[tokio::test]
async fn pending_and_due_charges_can_be_cancelled_once() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let id = active(&c, monthly(5000)).await;
    let pending = charge(&c, &id, direct(1000, in_days(&emu, 45), 0)).await;
    let due = charge(&c, &id, direct(1000, in_days(&emu, 3), 0)).await;
    assert_eq!(status_of(&c, &id, &pending).await, ChargeStatus::Pending);
    assert_eq!(status_of(&c, &id, &due).await, ChargeStatus::Due);
    for ch in [&pending, &due] {
        assert_eq!(rec.cancel_charge(&id, ch).await.unwrap().status(), 204);
        let got = rec.get_charge(&id, ch).await.unwrap();
        assert_eq!(got.status, ChargeStatus::Cancelled);
        assert_eq!(got.summary.cancelled, 1000);
        let e = rec.cancel_charge(&id, ch).await.unwrap_err();
        assert_problem(&e, 400, "cancel-charge-failed");
    }
    // the clock passes the due date: nothing is charged
    advance_days(&emu, 50);
    assert_eq!(status_of(&c, &id, &due).await, ChargeStatus::Cancelled);
    assert_eq!(status_of(&c, &id, &pending).await, ChargeStatus::Cancelled);
    // a CHARGED charge cannot be cancelled
    let paid = charge(&c, &id, direct(1000, in_days(&emu, 1), 0)).await;
    advance_days(&emu, 1);
    assert_eq!(status_of(&c, &id, &paid).await, ChargeStatus::Charged);
    let e = rec.cancel_charge(&id, &paid).await.unwrap_err();
    assert_problem(&e, 400, "cancel-charge-failed");
}

#[tokio::test]
async fn a_failing_card_is_retried_for_retry_days_then_the_charge_fails() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let id = active(&c, monthly(5000)).await;
    control(
        &emu,
        &format!("/_emulator/agreements/{id}/card"),
        json!({"fails": true}),
    )
    .await;
    let cid = charge(&c, &id, direct(1000, in_days(&emu, 1), 2)).await;
    // attempts at the due date and the two days after: DUE until the last one fails
    for day in 1..=2 {
        advance_days(&emu, 1);
        assert_eq!(status_of(&c, &id, &cid).await, ChargeStatus::Due, "day {day}");
    }
    advance_days(&emu, 1);
    let got = rec.get_charge(&id, &cid).await.unwrap();
    assert_eq!(got.status, ChargeStatus::Failed);
    assert_eq!(got.failure_reason, Some(FailureReason::UserActionRequired));
    assert_eq!(got.summary.captured, 0);
    let failed = rec
        .list_charges(
            &id,
            ListCharges {
                status: Some(ChargeStatus::Failed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    // a FAILED charge has nothing to capture, cancel or refund
    let e = rec
        .capture_charge(&id, &cid, CaptureRequest::new(1000, "x"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-capture-failed");
    let e = rec.cancel_charge(&id, &cid).await.unwrap_err();
    assert_problem(&e, 400, "cancel-charge-failed");
    let e = rec
        .refund_charge(&id, &cid, RefundRequest::new(1000, "x"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "refund-charge-failed");
}

#[tokio::test]
async fn illegal_transitions_are_typed_errors() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let id = active(&c, monthly(5000)).await;
    let due = charge(&c, &id, reserve(1000, in_days(&emu, 3))).await;
    // capture or refund of a DUE charge
    let e = rec
        .capture_charge(&id, &due, CaptureRequest::new(1000, "Early"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-capture-failed");
    let e = rec
        .refund_charge(&id, &due, RefundRequest::new(1000, "Early"))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "refund-charge-failed");
    // a charge of another agreement, or none
    let other = active(&c, monthly(5000)).await;
    let e = rec.get_charge(&other, &due).await.unwrap_err();
    assert_problem(&e, 404, "resource-not-found");
    let e = rec.get_charge_by_id("chr-nothing").await.unwrap_err();
    assert_problem(&e, 404, "resource-not-found");
    // a charge on a PENDING, STOPPED or EXPIRED agreement
    let pending = rec.create_agreement(monthly(1000)).await.unwrap().agreement_id.clone();
    let e = rec
        .create_charge(&pending, direct(1000, in_days(&emu, 3), 0))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-creation-failed");
    rec.stop_agreement(&other).await.unwrap();
    let e = rec
        .create_charge(&other, direct(1000, in_days(&emu, 3), 0))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-creation-failed");
    assert!(rec
        .list_charges(&other, ListCharges::default())
        .await
        .unwrap()
        .is_empty());
    // due today, and a reused orderId
    let e = rec.create_charge(&id, direct(1000, today(&emu), 0)).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    let with_order = CreateCharge {
        order_id: Some("dup-order".into()),
        ..direct(1000, in_days(&emu, 3), 0)
    };
    rec.create_charge(&id, with_order.clone()).await.unwrap();
    let e = rec.create_charge(&id, with_order).await.unwrap_err();
    assert_problem(&e, 409, "conflict");
    // above the LEGACY ceiling (5 x the price in one interval)
    let e = rec
        .create_charge(&id, direct(25_001, in_days(&emu, 4), 0))
        .await
        .unwrap_err();
    assert_problem(&e, 400, "charge-amount-too-high");
    // refused by the SDK: a negative amount
    let e = rec
        .create_charge(&id, direct(-1, in_days(&emu, 4), 0))
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Validation(_)), "{e}");
    assert_eq!(e.attempts(), 0);
}

#[tokio::test]
async fn the_same_key_replays_and_another_body_with_it_is_a_conflict() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    // create agreement: one agreement, the same answer twice
    let a1 = rec
        .create_agreement(monthly(1000))
        .idempotency_key("agr-key-1")
        .await
        .unwrap();
    let a2 = rec
        .create_agreement(monthly(1000))
        .idempotency_key("agr-key-1")
        .await
        .unwrap();
    assert_eq!(a1.agreement_id, a2.agreement_id);
    assert_eq!(a2.idempotency_key(), Some("agr-key-1"));
    let pending = rec
        .list_agreements(ListAgreements {
            status: Some(AgreementStatus::Pending),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let e = rec
        .create_agreement(monthly(2000))
        .idempotency_key("agr-key-1")
        .await
        .unwrap_err();
    assert_problem(&e, 409, "conflict");
    assert_eq!(e.idempotency_key(), Some("agr-key-1"));
    let id = a1.agreement_id.clone();
    rec.force_accept_agreement(&id, PHONE)
        .idempotency_key("accept-1")
        .await
        .unwrap();
    rec.force_accept_agreement(&id, PHONE)
        .idempotency_key("accept-1")
        .await
        .unwrap();

    // create charge
    let body = reserve(1000, in_days(&emu, 2));
    let c1 = rec
        .create_charge(&id, body.clone())
        .idempotency_key("chg-1")
        .await
        .unwrap();
    let c2 = rec
        .create_charge(&id, body.clone())
        .idempotency_key("chg-1")
        .await
        .unwrap();
    assert_eq!(c1.charge_id, c2.charge_id);
    assert_eq!(rec.list_charges(&id, ListCharges::default()).await.unwrap().len(), 1);
    let e = rec
        .create_charge(&id, CreateCharge { amount: 999, ..body })
        .idempotency_key("chg-1")
        .await
        .unwrap_err();
    assert_problem(&e, 409, "conflict");
    let cid = c1.into_inner().charge_id;
    advance_days(&emu, 2);

    // capture: twice the same key captures once; another amount with it is a conflict
    let capture = |amount, key: &'static str| {
        rec.capture_charge(&id, &cid, CaptureRequest::new(amount, "Part"))
            .idempotency_key(key)
    };
    capture(400, "cap-1").await.unwrap();
    capture(400, "cap-1").await.unwrap();
    assert_eq!(rec.get_charge(&id, &cid).await.unwrap().summary.captured, 400);
    assert_problem(&capture(500, "cap-1").await.unwrap_err(), 409, "conflict");
    capture(400, "cap-2").await.unwrap();
    assert_eq!(rec.get_charge(&id, &cid).await.unwrap().summary.captured, 800);

    // refund: the same
    let refund = |amount, key: &'static str| {
        rec.refund_charge(&id, &cid, RefundRequest::new(amount, "Back"))
            .idempotency_key(key)
    };
    refund(100, "ref-1").await.unwrap();
    refund(100, "ref-1").await.unwrap();
    assert_problem(&refund(200, "ref-1").await.unwrap_err(), 409, "conflict");
    let got = rec.get_charge(&id, &cid).await.unwrap();
    assert_eq!(got.summary.refunded, 100);
    let refunds: Vec<_> = got
        .history
        .iter()
        .filter(|h| h.event == vipps::types::recurring::ChargeEventName::Refund)
        .collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].idempotency_key, "ref-1");

    // cancel and stop replay their first answer (a second one would be an error)
    rec.cancel_charge(&id, &cid).idempotency_key("cancel-1").await.unwrap();
    rec.cancel_charge(&id, &cid).idempotency_key("cancel-1").await.unwrap();
    assert_problem(
        &rec.cancel_charge(&id, &cid).await.unwrap_err(),
        400,
        "cancel-charge-failed",
    );
    rec.stop_agreement(&id).idempotency_key("stop-1").await.unwrap();
    rec.stop_agreement(&id).idempotency_key("stop-1").await.unwrap();
    assert_problem(
        &rec.stop_agreement(&id).await.unwrap_err(),
        400,
        "illegal-agreement-update",
    );
    // the SDK's own key is sent unchanged on its retries (see chaos_recurring) and reported
    let r = rec.get_agreement(&id).await.unwrap();
    assert_eq!(r.status, AgreementStatus::Stopped);
}

#[tokio::test]
async fn batch_charges_create_the_valid_ones_and_report_the_rest() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let a = active(&c, monthly(5000)).await;
    let b = active(&c, monthly(5000)).await;
    let stopped = active(&c, monthly(5000)).await;
    rec.stop_agreement(&stopped).await.unwrap();
    let item = |agreement: &str, order: &str| BatchCharge {
        agreement_id: agreement.to_owned(),
        charge: CreateCharge {
            order_id: Some(order.to_owned()),
            ..direct(1000, in_days(&emu, 2), 0)
        },
    };
    let res = rec
        .create_charges(CreateCharges(vec![
            item(&a, "batch-a"),
            item(&b, "batch-b"),
            item(&stopped, "batch-stopped"),
        ]))
        .await
        .unwrap();
    assert_eq!(res.valid_charges, ["batch-a", "batch-b"]);
    assert_eq!(res.invalid_charges.len(), 1);
    assert_eq!(res.invalid_charges[0].charge_batch_item_dto.agreement_id, stopped);
    assert!(!res.invalid_charges[0].errors.is_empty());
    assert_eq!(status_of(&c, &a, "batch-a").await, ChargeStatus::Due);
    assert!(rec
        .list_charges(&stopped, ListCharges::default())
        .await
        .unwrap()
        .is_empty());
    advance_days(&emu, 2);
    assert_eq!(status_of(&c, &a, "batch-a").await, ChargeStatus::Charged);
    assert_eq!(status_of(&c, &b, "batch-b").await, ChargeStatus::Charged);
    // refused by the SDK: a batch item without orderId
    let mut no_order = item(&a, "x");
    no_order.charge.order_id = None;
    let e = rec.create_charges(CreateCharges(vec![no_order])).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Validation(_)), "{e}");
}

/// The first of each of the twelve months after `d`.
fn firsts_of_months_after(d: Date) -> Vec<Date> {
    let (mut y, mut m) = (d.year(), d.month());
    (0..12)
        .map(|_| {
            m = m.next();
            if m == Month::January {
                y += 1;
            }
            Date::from_calendar_date(y, m, 1).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_year_of_monthly_charges_is_charged_month_by_month_in_order() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let id = active(&c, monthly(49900)).await;
    let dues = firsts_of_months_after(today(&emu));
    let mut ids = Vec::new();
    for (m, due) in dues.iter().enumerate() {
        let ch = CreateCharge {
            order_id: Some(format!("sub-1234-m{m:02}")),
            ..direct(49900, *due, 2)
        };
        ids.push(charge(&c, &id, ch).await);
    }
    assert!(rec
        .list_charges(
            &id,
            ListCharges {
                status: Some(ChargeStatus::Charged),
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty());
    for (m, due) in dues.iter().enumerate() {
        let days = (*due - today(&emu)).whole_days();
        assert!(days >= 1);
        advance_days(&emu, days as u64);
        let all = rec.list_charges(&id, ListCharges::default()).await.unwrap();
        let charged: Vec<&Charge> = all.iter().filter(|ch| ch.status == ChargeStatus::Charged).collect();
        assert_eq!(charged.len(), m + 1, "after month {m}");
        for ch in all.iter() {
            let k = ids.iter().position(|x| *x == ch.id).unwrap();
            let expect = if k <= m {
                ChargeStatus::Charged
            } else if (dues[k] - today(&emu)).whole_days() < 30 {
                ChargeStatus::Due
            } else {
                ChargeStatus::Pending
            };
            assert_eq!(ch.status, expect, "charge {k} after month {m}");
        }
    }
    // each captured on its due date, in the order they were due
    let mut captured_at = Vec::new();
    for (cid, due) in ids.iter().zip(&dues) {
        let ch = rec.get_charge(&id, cid).await.unwrap();
        assert_eq!(ch.summary.captured, 49900);
        let cap = ch
            .history
            .iter()
            .find(|h| h.event == vipps::types::recurring::ChargeEventName::Capture)
            .unwrap();
        assert_eq!(cap.occurred.date(), *due, "{cid}");
        captured_at.push(cap.occurred);
    }
    assert!(captured_at.windows(2).all(|w| w[0] < w[1]), "{captured_at:?}");
}

/// Records every delivery; answers 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(Uri, HeaderMap, Bytes)>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let got = Arc::clone(&self.got);
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let got = Arc::clone(&got);
            async move {
                got.lock().push((uri, headers, body));
                axum::http::StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/hooks/recurring?shop=main")
    }

    /// Waits (with a deadline) for `n` deliveries.
    async fn wait(&self, n: usize) -> Vec<(Uri, HeaderMap, Bytes)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.got.lock().clone();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "only {} of {n} deliveries", got.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn every_recurring_webhook_is_signed_verified_and_decoded() {
    let (emu, c) = start().await;
    let rec = c.recurring();
    let rx = Receiver::default();
    let url = rx.start().await;
    let types = [
        WebhookEventType::RecurringAgreementActivated,
        WebhookEventType::RecurringAgreementRejected,
        WebhookEventType::RecurringAgreementStopped,
        WebhookEventType::RecurringAgreementExpired,
        WebhookEventType::RecurringChargeReserved,
        WebhookEventType::RecurringChargeCaptured,
        WebhookEventType::RecurringChargeCanceled,
        WebhookEventType::RecurringChargeFailed,
        WebhookEventType::RecurringChargeRefunded,
        WebhookEventType::RecurringChargeCreationFailed,
    ];
    let registered = c
        .webhooks()
        .register(RegisterWebhookRequest::new(&url, types.iter().cloned()))
        .await
        .unwrap();
    let verifier = WebhookVerifier::new(registered.secret.clone()).unwrap();

    // activated, reserved, captured, refunded, stopped (MERCHANT), canceled
    let main = rec
        .create_agreement(DraftAgreement {
            initial_charge: Some(InitialCharge {
                order_id: Some("hook-initial".into()),
                ..InitialCharge::new(5000, "Phone", TransactionType::ReserveCapture)
            }),
            ..monthly(1000)
        })
        .await
        .unwrap()
        .agreement_id
        .clone();
    rec.force_accept_agreement(&main, PHONE).await.unwrap();
    rec.capture_charge(&main, "hook-initial", CaptureRequest::new(5000, "Shipped"))
        .await
        .unwrap();
    rec.refund_charge(&main, "hook-initial", RefundRequest::new(1000, "Scratched"))
        .await
        .unwrap();
    let cancelled = charge(&c, &main, direct(1000, in_days(&emu, 5), 0)).await;
    rec.stop_agreement(&main).await.unwrap();
    // rejected (then a batch charge on it fails to be created); expired; failed
    let rejected = rec.create_agreement(monthly(1000)).await.unwrap().agreement_id.clone();
    control(&emu, &format!("/_emulator/agreements/{rejected}/reject"), json!({})).await;
    let res = rec
        .create_charges(CreateCharges(vec![BatchCharge {
            agreement_id: rejected.clone(),
            charge: CreateCharge {
                order_id: Some("hook-batch".into()),
                ..direct(1000, in_days(&emu, 3), 0)
            },
        }]))
        .await
        .unwrap();
    assert_eq!(res.invalid_charges.len(), 1);
    let expired = rec.create_agreement(monthly(1000)).await.unwrap().agreement_id.clone();
    let failing = active(&c, monthly(1000)).await;
    control(
        &emu,
        &format!("/_emulator/agreements/{failing}/card"),
        json!({"fails": true}),
    )
    .await;
    let failed = charge(&c, &failing, direct(1000, in_days(&emu, 1), 0)).await;
    control(&emu, "/_emulator/clock/advance", json!({"seconds": 2 * DAY})).await;

    let got = rx.wait(11).await;
    let mut events = Vec::new();
    for (uri, headers, body) in &got {
        assert_eq!(uri.to_string(), "/hooks/recurring?shop=main");
        let req = WebhookRequest::from_http(&Method::POST, uri, headers, body).unwrap();
        verifier.verify(&req).unwrap_or_else(|e| panic!("{e}: {body:?}"));
        // a tampered body fails verification
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        let bad = WebhookRequest::from_http(&Method::POST, uri, headers, &tampered).unwrap();
        assert!(verifier.verify(&bad).is_err());
        let ev: RecurringWebhookEvent = serde_json::from_slice(body).unwrap();
        events.push(ev);
    }
    let kind = |e: &RecurringWebhookEvent| match e {
        RecurringWebhookEvent::Agreement(a) => (a.agreement_id.clone(), a.event_type.clone()),
        RecurringWebhookEvent::Charge(ch) => (ch.agreement_id.clone(), ch.event_type.clone()),
    };
    for ev in &events {
        let (msn, is_charge) = match ev {
            RecurringWebhookEvent::Agreement(a) => (&a.msn, false),
            RecurringWebhookEvent::Charge(ch) => (&ch.msn, true),
        };
        assert_eq!(*msn, emu.merchant().msn);
        assert_eq!(kind(ev).1.is_charge_event(), is_charge, "{ev:?}");
    }
    let all: BTreeSet<String> = events.iter().map(|e| kind(e).1.to_string()).collect();
    let want: BTreeSet<String> = types.iter().map(|t| t.to_string()).collect();
    assert_eq!(all, want);
    let of = |agreement: &str| -> Vec<RecurringEventType> {
        events
            .iter()
            .map(kind)
            .filter(|(a, _)| a == agreement)
            .map(|(_, t)| t)
            .collect()
    };
    use RecurringEventType as T;
    assert_eq!(
        of(&main),
        [
            T::AgreementActivated,
            T::ChargeReserved,
            T::ChargeCaptured,
            T::ChargeRefunded,
            T::AgreementStopped,
            T::ChargeCanceled
        ]
    );
    assert_eq!(of(&rejected), [T::AgreementRejected, T::ChargeCreationFailed]);
    assert_eq!(of(&expired), [T::AgreementExpired]);
    assert_eq!(of(&failing), [T::AgreementActivated, T::ChargeFailed]);
    for ev in &events {
        match ev {
            RecurringWebhookEvent::Agreement(a) if a.event_type == T::AgreementStopped => {
                assert_eq!(a.actor, Some(AgreementActor::Merchant))
            }
            RecurringWebhookEvent::Charge(ch) => match ch.event_type {
                T::ChargeReserved | T::ChargeCaptured => {
                    assert_eq!((ch.charge_id.as_deref(), ch.amount), (Some("hook-initial"), 5000))
                }
                T::ChargeRefunded => assert_eq!((ch.charge_id.as_deref(), ch.amount), (Some("hook-initial"), 1000)),
                T::ChargeCanceled => assert_eq!(ch.charge_id.as_deref(), Some(cancelled.as_str())),
                T::ChargeFailed => {
                    assert_eq!(ch.charge_id.as_deref(), Some(failed.as_str()));
                    assert_eq!(ch.failure_reason, Some(FailureReason::UserActionRequired));
                }
                _ => {}
            },
            _ => {}
        }
    }
}
