//! Chaos run for Recurring: 500 agreements drafted, accepted, their reserved initial charge
//! captured in parts, the rest cancelled and refunded in parts, three monthly charges created,
//! charged by the clock and refunded, while the emulator injects faults (a quarter of them
//! applying the operation and then failing the answer) into more than 20% of the requests.
//!
//! What counts as "reported failed": the SDK gave up after its own retries. A careful merchant
//! then re-sends with the same `Idempotency-Key` (the error carries it), so every operation
//! here ends up done; the checks are that it is done exactly once: no duplicate charge (one
//! per agreement and month), no duplicate capture, cancel or refund (sums and per-key history
//! exact), nothing lost. The second test pins down the states between: an operation the SDK
//! reported failed is absent when the fault kept it from running, present exactly once when
//! it ran (`may_have_reached_server`), and re-sending it with its key adds nothing.

use futures::stream::{self, StreamExt};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};
use time::{Date, Month};
use vipps::recurring::ListCharges;
use vipps::types::recurring::{
    AgreementStatus, CaptureRequest, ChargeEventName, ChargeStatus, ChargeType, CreateCharge, DraftAgreement,
    InitialCharge, Interval, IntervalUnit, PricingRequest, RefundRequest, TransactionType,
};
use vipps::types::Currency;
use vipps::{Client, Error, RequestBuilder, Response, RetryPolicy};
use vipps_emulator::{Emulator, EmulatorConfig, RunningEmulator};

const AGREEMENTS: usize = 500;
const MONTHS: usize = 3;
const PHONE: &str = "4791234567";
const PRICE: i64 = 1000;
const INITIAL: i64 = 3000;
const INITIAL_CAPTURES: [i64; 2] = [1000, 1500];
const INITIAL_REFUNDS: [i64; 2] = [300, 200];
/// Refunded of the monthly charges, by month.
const MONTHLY_REFUNDS: [i64; MONTHS] = [400, 1000, 0];

fn faults() -> serde_json::Value {
    let a = "/recurring/v3/agreements";
    let mut rules = Vec::new();
    for (method, path) in [
        ("POST", a.to_owned()),
        ("PATCH", format!("{a}/*/accept")),
        ("POST", format!("{a}/*/charges")),
        ("POST", format!("{a}/*/charges/*/capture")),
        ("POST", format!("{a}/*/charges/*/refund")),
        ("DELETE", format!("{a}/*/charges/*")),
    ] {
        rules.extend([
            serde_json::json!({"method": method, "path": path, "probability": 0.08, "fault": "apply_then_fail"}),
            serde_json::json!({"method": method, "path": path, "probability": 0.04, "fault": "apply_then_fail", "then": "drop"}),
            serde_json::json!({"method": method, "path": path, "probability": 0.06, "fault": "status", "status": 503}),
            serde_json::json!({"method": method, "path": path, "probability": 0.04, "fault": "drop"}),
            serde_json::json!({"method": method, "path": path, "probability": 0.03, "fault": "delay", "delayMs": 5}),
        ]);
    }
    rules.push(serde_json::json!({"method": "POST", "path": format!("{a}/*/charges/*/capture"), "probability": 0.01, "fault": "rate_limited", "retryAfter": 1}));
    rules.push(serde_json::json!({"method": "GET", "path": format!("{a}/*/charges"), "probability": 0.1, "fault": "status", "status": 500}));
    rules.push(serde_json::json!({"method": "POST", "path": "/accesstoken/get", "probability": 0.2, "fault": "status", "status": 500}));
    serde_json::json!({"seed": 11, "rules": rules})
}

async fn start() -> RunningEmulator {
    Emulator::builder()
        .config(EmulatorConfig {
            token_ttl_secs: 366 * 86_400,
            ..EmulatorConfig::default()
        })
        .start()
        .await
        .unwrap()
}

fn client(emu: &RunningEmulator, max_attempts: u32) -> Client {
    let m = emu.merchant();
    Client::builder()
        .client_id(m.client_id.clone())
        .client_secret(m.client_secret.clone())
        .subscription_key(m.subscription_key.clone())
        .merchant_serial_number(m.msn.clone())
        .base_url(emu.base_url())
        .retry_policy(RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(10),
            overall_deadline: Some(Duration::from_secs(20)),
            honour_retry_after: true,
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn set_faults(emu: &RunningEmulator, rules: Option<serde_json::Value>) {
    let http = reqwest::Client::new();
    let url = format!("{}/_emulator/faults", emu.base_url());
    let r = match rules {
        Some(r) => http.post(url).json(&r).send().await.unwrap(),
        None => http.delete(url).send().await.unwrap(),
    };
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// Sends `b`, with `key` when given.
async fn send<T>(b: RequestBuilder<T>, key: Option<String>) -> Result<Response<T>, Error>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    match key {
        Some(k) => b.idempotency_key(k).await,
        None => b.await,
    }
}

#[derive(Default)]
struct Tally {
    /// Operations the SDK reported failed after its own retries; re-sent with their key.
    reported_failed: AtomicUsize,
}

/// Runs a mutation; when the SDK gives up after its retries, re-sends it with the key the
/// error carries (the SDK's own key, sent unchanged on all its attempts). Returns the answer
/// and the key it was done with.
async fn exactly_once<T, F, Fut>(tally: &Tally, op: F) -> Result<(Response<T>, String), Error>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<Response<T>, Error>>,
{
    let mut key: Option<String> = None;
    for _ in 0..20 {
        match op(key.clone()).await {
            Ok(r) => {
                let k = r.idempotency_key().expect("a mutation carries its key").to_owned();
                if let Some(sent) = &key {
                    assert_eq!(&k, sent);
                }
                return Ok((r, k));
            }
            Err(e) if e.is_retryable() => {
                tally.reported_failed.fetch_add(1, Relaxed);
                key = Some(e.idempotency_key().expect("the error carries the key").to_owned());
            }
            Err(e) => return Err(e),
        }
    }
    let r = op(key.clone()).await?;
    let k = r.idempotency_key().unwrap_or_default().to_owned();
    Ok((r, k))
}

fn firsts_of_months_after(d: Date, n: usize) -> Vec<Date> {
    let (mut y, mut m) = (d.year(), d.month());
    (0..n)
        .map(|_| {
            m = m.next();
            if m == Month::January {
                y += 1;
            }
            Date::from_calendar_date(y, m, 1).unwrap()
        })
        .collect()
}

/// What one flow did: the agreement, its charges and the keys of every money movement.
struct Flow {
    agreement: String,
    initial: String,
    /// The keys of the initial charge's captures, cancel and refunds, in order.
    initial_keys: Vec<String>,
    /// Monthly charges: id and the key that created it.
    monthly: Vec<(String, String)>,
    /// Monthly refunds: key per month (None: no refund that month).
    monthly_refund_keys: Vec<Option<String>>,
}

async fn phase_one(c: &Client, tally: &Tally, i: usize, dues: &[Date]) -> Result<Flow, String> {
    let rec = c.recurring();
    let draft = DraftAgreement {
        phone_number: Some(PHONE.into()),
        initial_charge: Some(InitialCharge {
            order_id: Some(format!("chaos-{i:04}-initial")),
            ..InitialCharge::new(INITIAL, "Router", TransactionType::ReserveCapture)
        }),
        ..DraftAgreement::new(
            PricingRequest::legacy(PRICE, Currency::Nok),
            Some(Interval::every(1, IntervalUnit::Month)),
            format!("Broadband {i}"),
            "https://example.com/confirmation",
            "https://example.com/account",
        )
    };
    let (created, _) = exactly_once(tally, |k| send(rec.create_agreement(draft.clone()), k))
        .await
        .map_err(|e| format!("create {i}: {e}"))?;
    let agreement = created.agreement_id.clone();
    let initial = created.charge_id.clone().ok_or("no initial charge")?;
    exactly_once(tally, |k| send(rec.force_accept_agreement(&agreement, PHONE), k))
        .await
        .map_err(|e| format!("accept {agreement}: {e}"))?;
    let mut initial_keys = Vec::new();
    for part in INITIAL_CAPTURES {
        let (_, k) = exactly_once(tally, |k| {
            send(
                rec.capture_charge(&agreement, &initial, CaptureRequest::new(part, "Shipped")),
                k,
            )
        })
        .await
        .map_err(|e| format!("capture {agreement}: {e}"))?;
        initial_keys.push(k);
    }
    let (_, k) = exactly_once(tally, |k| send(rec.cancel_charge(&agreement, &initial), k))
        .await
        .map_err(|e| format!("cancel {agreement}: {e}"))?;
    initial_keys.push(k);
    for part in INITIAL_REFUNDS {
        let (_, k) = exactly_once(tally, |k| {
            send(
                rec.refund_charge(&agreement, &initial, RefundRequest::new(part, "Returned")),
                k,
            )
        })
        .await
        .map_err(|e| format!("refund {agreement}: {e}"))?;
        initial_keys.push(k);
    }
    // Even agreements name their charges (orderId, unique); odd ones let the server name them,
    // so only the key keeps a retried create from charging twice.
    let mut monthly = Vec::new();
    for (m, due) in dues.iter().enumerate() {
        let body = CreateCharge {
            order_id: i.is_multiple_of(2).then(|| format!("chaos-{i:04}-m{m}")),
            ..CreateCharge::recurring(PRICE, format!("Month {m}"), *due, 2, TransactionType::DirectCapture)
        };
        let (created, k) = exactly_once(tally, |k| send(rec.create_charge(&agreement, body.clone()), k))
            .await
            .map_err(|e| format!("charge {agreement} m{m}: {e}"))?;
        monthly.push((created.into_inner().charge_id, k));
    }
    Ok(Flow {
        agreement,
        initial,
        initial_keys,
        monthly,
        monthly_refund_keys: Vec::new(),
    })
}

async fn phase_two(c: &Client, tally: &Tally, mut flow: Flow) -> Result<Flow, String> {
    let rec = c.recurring();
    for ((charge, _), amount) in flow.monthly.iter().zip(MONTHLY_REFUNDS) {
        if amount == 0 {
            flow.monthly_refund_keys.push(None);
            continue;
        }
        let (_, k) = exactly_once(tally, |k| {
            send(
                rec.refund_charge(&flow.agreement, charge, RefundRequest::new(amount, "Goodwill")),
                k,
            )
        })
        .await
        .map_err(|e| format!("refund {charge}: {e}"))?;
        flow.monthly_refund_keys.push(Some(k));
    }
    Ok(flow)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_recurring_has_exactly_once_effects() {
    let t0 = Instant::now();
    let emu = start().await;
    let c = client(&emu, 3);
    let tally = Tally::default();
    let today = emu.clock().now().to_offset(time::UtcOffset::UTC).date();
    let dues = firsts_of_months_after(today, MONTHS);
    set_faults(&emu, Some(faults())).await;

    let flows: Vec<Result<Flow, String>> = stream::iter(0..AGREEMENTS)
        .map(|i| phase_one(&c, &tally, i, &dues))
        .buffer_unordered(16)
        .collect()
        .await;
    let flows: Vec<Flow> = flows.into_iter().collect::<Result<_, _>>().unwrap();

    // the clock charges every monthly charge on its due date (faults do not touch the clock)
    let days = (dues[MONTHS - 1] - today).whole_days() as u64 + 1;
    emu.advance(Duration::from_secs(days * 86_400));

    let flows: Vec<Result<Flow, String>> = stream::iter(flows)
        .map(|f| phase_two(&c, &tally, f))
        .buffer_unordered(16)
        .collect()
        .await;
    let flows: Vec<Flow> = flows.into_iter().collect::<Result<_, _>>().unwrap();

    let stats: serde_json::Value = reqwest::get(format!("{}/_emulator/faults", emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (requests, injected) = (
        stats["stats"]["requests"].as_u64().unwrap(),
        stats["stats"]["injected"].as_u64().unwrap(),
    );
    println!(
        "chaos_recurring: {AGREEMENTS} agreements, {requests} requests, {injected} faults ({:.1}%), {} operations reported failed by the SDK and re-sent with their key, in {:?}",
        injected as f64 * 100.0 / requests as f64,
        tally.reported_failed.load(Relaxed),
        t0.elapsed()
    );
    assert!(
        injected * 5 >= requests,
        "fewer than 20% of requests were faulted: {injected}/{requests}"
    );
    set_faults(&emu, None).await;

    // The emulator's record, read with faults off, is the truth.
    let rec = c.recurring();
    let mut order_ids = std::collections::BTreeSet::new();
    for f in &flows {
        let a = rec.get_agreement(&f.agreement).await.unwrap();
        assert_eq!(a.status, AgreementStatus::Active, "{}", f.agreement);
        let charges = rec.list_charges(&f.agreement, ListCharges::default()).await.unwrap();
        // one initial charge and one charge per month: no duplicates, nothing lost
        assert_eq!(charges.len(), 1 + MONTHS, "{}: {:?}", f.agreement, *charges);
        let mut by_due: Vec<Date> = charges
            .iter()
            .filter(|ch| ch.type_ == ChargeType::Recurring)
            .map(|ch| ch.due)
            .collect();
        by_due.sort();
        assert_eq!(by_due, dues, "{}: one charge per month", f.agreement);

        let init = charges.iter().find(|ch| ch.id == f.initial).unwrap();
        assert_eq!(init.type_, ChargeType::Initial);
        let s = &init.summary;
        let captured: i64 = INITIAL_CAPTURES.iter().sum();
        let refunded: i64 = INITIAL_REFUNDS.iter().sum();
        assert_eq!(
            (s.captured, s.cancelled, s.refunded),
            (captured, INITIAL - captured, refunded),
            "{}: duplicate or lost capture, cancel or refund",
            f.initial
        );
        assert_eq!(init.status, ChargeStatus::PartiallyRefunded, "{}", f.initial);
        let moves: Vec<(ChargeEventName, String)> = init
            .history
            .iter()
            .filter(|h| {
                matches!(
                    h.event,
                    ChargeEventName::Capture | ChargeEventName::Cancel | ChargeEventName::Refund
                )
            })
            .map(|h| (h.event.clone(), h.idempotency_key.clone()))
            .collect();
        let want: Vec<(ChargeEventName, String)> = [
            ChargeEventName::Capture,
            ChargeEventName::Capture,
            ChargeEventName::Cancel,
            ChargeEventName::Refund,
            ChargeEventName::Refund,
        ]
        .into_iter()
        .zip(f.initial_keys.iter().cloned())
        .collect();
        assert_eq!(
            moves, want,
            "{}: each operation once, with the key the SDK reported",
            f.initial
        );

        for (m, ((id, key), refund_key)) in f.monthly.iter().zip(&f.monthly_refund_keys).enumerate() {
            let ch = charges.iter().find(|ch| &ch.id == id).unwrap();
            assert_eq!(ch.due, dues[m]);
            if let Some(order) = ch.id.strip_prefix("chaos-") {
                assert!(order_ids.insert(ch.id.clone()), "orderId {order} twice");
            }
            let refunded = MONTHLY_REFUNDS[m];
            assert_eq!(
                (ch.summary.captured, ch.summary.refunded),
                (PRICE, refunded),
                "{id}: charged once, refunded exactly"
            );
            let status = match refunded {
                0 => ChargeStatus::Charged,
                PRICE => ChargeStatus::Refunded,
                _ => ChargeStatus::PartiallyRefunded,
            };
            assert_eq!(ch.status, status, "{id}");
            let created: Vec<&str> = ch
                .history
                .iter()
                .filter(|h| h.event == ChargeEventName::Create)
                .map(|h| h.idempotency_key.as_str())
                .collect();
            assert_eq!(created, [key.as_str()], "{id}: created once, by the reported key");
            let refunds: Vec<&str> = ch
                .history
                .iter()
                .filter(|h| h.event == ChargeEventName::Refund)
                .map(|h| h.idempotency_key.as_str())
                .collect();
            assert_eq!(refunds, refund_key.as_deref().into_iter().collect::<Vec<_>>(), "{id}");
        }
    }
    assert_eq!(flows.len(), AGREEMENTS);
    assert_eq!(order_ids.len(), AGREEMENTS.div_ceil(2) * MONTHS);
    // no agreement beyond the flows' own (a retried draft never drafted twice)
    let all = rec
        .list_agreements(vipps::recurring::ListAgreements {
            status: Some(AgreementStatus::Active),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), AGREEMENTS);
    for s in [
        AgreementStatus::Pending,
        AgreementStatus::Expired,
        AgreementStatus::Stopped,
    ] {
        let other = rec
            .list_agreements(vipps::recurring::ListAgreements {
                status: Some(s.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(other.is_empty(), "{s}: {}", other.len());
    }
}

#[tokio::test]
async fn reported_failures_are_absent_or_present_exactly_once() {
    let emu = start().await;
    let c = client(&emu, 3);
    let rec = c.recurring();
    let draft = DraftAgreement {
        phone_number: Some(PHONE.into()),
        initial_charge: Some(InitialCharge::new(INITIAL, "Router", TransactionType::ReserveCapture)),
        ..DraftAgreement::new(
            PricingRequest::legacy(PRICE, Currency::Nok),
            Some(Interval::every(1, IntervalUnit::Month)),
            "Broadband",
            "https://example.com/confirmation",
            "https://example.com/account",
        )
    };
    let created = rec.create_agreement(draft).await.unwrap();
    let (id, initial) = (created.agreement_id.clone(), created.charge_id.clone().unwrap());
    rec.force_accept_agreement(&id, PHONE).await.unwrap();
    let due = emu.clock().now().to_offset(time::UtcOffset::UTC).date() + time::Duration::days(3);
    let body = CreateCharge::recurring(PRICE, "Month", due, 0, TransactionType::DirectCapture);
    let only = |method: &str, path: String, fault: serde_json::Value| {
        let mut rule = serde_json::json!({"method": method, "path": path});
        for (k, v) in fault.as_object().unwrap() {
            rule[k] = v.clone();
        }
        Some(serde_json::json!({"rules": [rule]}))
    };
    let charges_path = format!("/recurring/v3/agreements/{id}/charges");
    let capture_path = format!("{charges_path}/{initial}/capture");
    let refund_path = format!("{charges_path}/{initial}/refund");

    // Never ran: every attempt answered 503 before the operation. Absent.
    set_faults(
        &emu,
        only(
            "POST",
            charges_path.clone(),
            serde_json::json!({"fault": "status", "status": 503}),
        ),
    )
    .await;
    let e = rec.create_charge(&id, body.clone()).await.unwrap_err();
    assert_eq!((e.status(), e.attempts()), (Some(503), 3), "{e}");
    set_faults(&emu, None).await;
    assert_eq!(rec.list_charges(&id, ListCharges::default()).await.unwrap().len(), 1);

    // Ran, then every answer failed: present exactly once; its key completes it, no second effect.
    set_faults(
        &emu,
        only(
            "POST",
            charges_path.clone(),
            serde_json::json!({"fault": "apply_then_fail"}),
        ),
    )
    .await;
    let e = rec.create_charge(&id, body.clone()).await.unwrap_err();
    assert!(e.may_have_reached_server() && e.is_retryable(), "{e}");
    assert_eq!(e.attempts(), 3);
    let key = e.idempotency_key().unwrap().to_owned();
    set_faults(&emu, None).await;
    let charges = rec.list_charges(&id, ListCharges::default()).await.unwrap();
    assert_eq!(charges.len(), 2, "three attempts, one charge");
    let again = rec
        .create_charge(&id, body.clone())
        .idempotency_key(&key)
        .await
        .unwrap();
    let made = charges.iter().find(|ch| ch.id != initial).unwrap();
    assert_eq!(again.charge_id, made.id);
    assert_eq!(rec.list_charges(&id, ListCharges::default()).await.unwrap().len(), 2);

    // Capture and refund, the connection dropped after running: once each.
    for (path, capture) in [(capture_path, true), (refund_path, false)] {
        set_faults(
            &emu,
            only(
                "POST",
                path,
                serde_json::json!({"fault": "apply_then_fail", "then": "drop"}),
            ),
        )
        .await;
        let e = if capture {
            rec.capture_charge(&id, &initial, CaptureRequest::new(1000, "Shipped"))
                .await
                .unwrap_err()
        } else {
            rec.refund_charge(&id, &initial, RefundRequest::new(400, "Returned"))
                .await
                .unwrap_err()
        };
        assert!(e.may_have_reached_server(), "{e}");
        let key = e.idempotency_key().unwrap().to_owned();
        set_faults(&emu, None).await;
        let s = rec.get_charge(&id, &initial).await.unwrap().summary.clone();
        assert_eq!((s.captured, s.refunded), (1000, if capture { 0 } else { 400 }));
        if capture {
            rec.capture_charge(&id, &initial, CaptureRequest::new(1000, "Shipped"))
                .idempotency_key(&key)
                .await
                .unwrap();
        } else {
            rec.refund_charge(&id, &initial, RefundRequest::new(400, "Returned"))
                .idempotency_key(&key)
                .await
                .unwrap();
        }
        let ch = rec.get_charge(&id, &initial).await.unwrap();
        assert_eq!(
            (ch.summary.captured, ch.summary.refunded),
            (1000, if capture { 0 } else { 400 })
        );
        let event = if capture {
            ChargeEventName::Capture
        } else {
            ChargeEventName::Refund
        };
        let keys: Vec<&str> = ch
            .history
            .iter()
            .filter(|h| h.event == event)
            .map(|h| h.idempotency_key.as_str())
            .collect();
        assert_eq!(keys, [key.as_str()]);
    }
}
