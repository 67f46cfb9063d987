//! Chaos run: thousands of payments through create → approve → capture in parts → refund
//! in parts while the emulator injects faults of every kind into a quarter of the requests.
//! Asserts exactly-once effects: each payment's aggregate and event log are exactly what the
//! flow intended, every operation the SDK reports as done is in the emulator, and every
//! operation reported as failed without having reached the server had no effect.

use futures::stream::{self, StreamExt};
use std::time::Duration;
use vipps::types::epayment::{CreatePaymentRequest, PaymentEventName, UserFlow};
use vipps::types::{Amount, Reference};
use vipps::{Client, Error, RetryPolicy};
use vipps_emulator::Emulator;

const PAYMENTS: usize = 2000;

fn faults() -> serde_json::Value {
    let w = "/epayment/v1/payments/*/";
    serde_json::json!({
        "seed": 7,
        "rules": [
            {"method": "POST", "path": "/epayment/v1/payments", "probability": 0.05, "fault": "apply_then_fail"},
            {"method": "POST", "path": "/epayment/v1/payments", "probability": 0.05, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": "/epayment/v1/payments", "probability": 0.05, "fault": "status", "status": 503},
            {"method": "POST", "path": "/epayment/v1/payments", "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": "/epayment/v1/payments", "probability": 0.04, "fault": "rate_limited", "retryAfter": 1},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.06, "fault": "apply_then_fail"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.05, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.05, "fault": "status", "status": 500},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.04, "fault": "status", "status": 423},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.04, "fault": "delay", "delayMs": 5},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.06, "fault": "apply_then_fail"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.05, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.05, "fault": "status", "status": 502},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.03, "fault": "rate_limited", "retryAfter": 1},
            {"method": "GET", "path": "/epayment/v1/payments/*", "probability": 0.1, "fault": "status", "status": 503},
            {"method": "GET", "path": "/epayment/v1/payments/*/events", "probability": 0.1, "fault": "drop"},
            {"method": "POST", "path": "/accesstoken/get", "probability": 0.2, "fault": "status", "status": 500}
        ]
    })
}

/// Runs an operation; if the SDK gives up after its own retries and the request may have
/// reached the server, re-sends it with the same idempotency key, as a careful merchant would.
async fn exactly_once<T, F, Fut>(op: F) -> Result<T, Error>
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let mut key: Option<String> = None;
    for _ in 0..20 {
        match op(key.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) if e.may_have_reached_server() && e.is_retryable() => key = e.idempotency_key().map(str::to_owned),
            Err(e) => return Err(e),
        }
    }
    op(key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_run_has_exactly_once_effects() {
    let emu = Emulator::start().await.unwrap();
    let base = emu.base_url();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/_emulator/faults"))
        .json(&faults())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let m = emu.merchant().clone();
    let client = Client::builder()
        .client_id(m.client_id.clone())
        .client_secret(m.client_secret.clone())
        .subscription_key(m.subscription_key.clone())
        .merchant_serial_number(m.msn.clone())
        .base_url(&base)
        .retry_policy(RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
            overall_deadline: Some(Duration::from_secs(30)),
            honour_retry_after: true,
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    type Flow = (Reference, [i64; 3], Vec<String>);
    let results: Vec<Result<Flow, String>> = stream::iter(0..PAYMENTS)
        .map(|i| {
            let client = client.clone();
            let http = http.clone();
            let base = base.clone();
            async move {
                let ep = client.epayment();
                let reference = Reference::new(format!("chaos-{i:05}-{}", uuid::Uuid::new_v4().simple())).unwrap();
                let amount = 10_000 + (i as i64 % 50) * 100;
                let req = CreatePaymentRequest {
                    return_url: Some("https://example.com/r".into()),
                    ..CreatePaymentRequest::new(Amount::nok(amount), reference.clone(), UserFlow::WebRedirect)
                };
                exactly_once(|k| {
                    let b = ep.create_payment(req.clone());
                    async move {
                        if let Some(k) = k {
                            b.idempotency_key(k).await
                        } else {
                            b.await
                        }
                    }
                })
                .await
                .map_err(|e| format!("create {reference}: {e}"))?;
                let a = http
                    .post(format!("{base}/_emulator/payments/{reference}/approve"))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !a.status().is_success() {
                    return Err(format!("approve {reference}: {}", a.status()));
                }
                let (c1, c2) = (amount / 4, amount / 2);
                let mut captured = 0;
                let mut keys = Vec::new();
                for part in [c1, c2, amount - c1 - c2] {
                    let done = exactly_once(|k| {
                        let b = ep.capture(&reference, Amount::nok(part));
                        async move {
                            if let Some(k) = k {
                                b.idempotency_key(k).await
                            } else {
                                b.await
                            }
                        }
                    })
                    .await
                    .map_err(|e| format!("capture {reference}: {e}"))?;
                    keys.push(done.idempotency_key().unwrap_or_default().to_owned());
                    captured += part;
                }
                let mut refunded = 0;
                for part in [amount / 10, amount / 5] {
                    let done = exactly_once(|k| {
                        let b = ep.refund(&reference, Amount::nok(part));
                        async move {
                            if let Some(k) = k {
                                b.idempotency_key(k).await
                            } else {
                                b.await
                            }
                        }
                    })
                    .await
                    .map_err(|e| format!("refund {reference}: {e}"))?;
                    keys.push(done.idempotency_key().unwrap_or_default().to_owned());
                    refunded += part;
                }
                Ok((reference, [amount, captured, refunded], keys))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;

    // Read back with faults off: the emulator's own record is the truth.
    let stats: serde_json::Value = http
        .get(format!("{base}/_emulator/faults"))
        .send()
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
        "chaos: {PAYMENTS} payments, {requests} API requests, {injected} faults injected ({:.1}%)",
        injected as f64 * 100.0 / requests as f64
    );
    assert!(
        injected * 5 >= requests,
        "fewer than 20% of requests were faulted: {injected}/{requests}"
    );
    http.delete(format!("{base}/_emulator/faults")).send().await.unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in results {
        let (reference, [amount, captured, refunded], keys) = match r {
            Ok(v) => v,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let p = client.epayment().get_payment(&reference).await.unwrap();
        assert_eq!(p.aggregate.authorized_amount.value, amount, "{reference}");
        assert_eq!(
            p.aggregate.captured_amount.value, captured,
            "{reference}: duplicate or lost capture"
        );
        assert_eq!(
            p.aggregate.refunded_amount.value, refunded,
            "{reference}: duplicate or lost refund"
        );
        let events = client.epayment().get_event_log(&reference).await.unwrap();
        let count = |n: PaymentEventName| events.iter().filter(|e| e.name == n).count();
        assert_eq!(count(PaymentEventName::Created), 1, "{reference}");
        assert_eq!(count(PaymentEventName::Authorized), 1, "{reference}");
        assert_eq!(count(PaymentEventName::Captured), 3, "{reference}: {events:?}");
        assert_eq!(count(PaymentEventName::Refunded), 2, "{reference}: {events:?}");
        // What the emulator received: each capture and refund carried the key the SDK reported
        // for it, the same on every attempt.
        let received: Vec<String> = events
            .iter()
            .filter(|e| matches!(e.name, PaymentEventName::Captured | PaymentEventName::Refunded))
            .map(|e| e.idempotency_key.clone().unwrap_or_default())
            .collect();
        assert_eq!(received, keys, "{reference}");
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} flows failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(checked, PAYMENTS);
}

#[tokio::test]
async fn failed_operations_that_never_reached_the_server_have_no_effect() {
    let emu = Emulator::start().await.unwrap();
    let base = emu.base_url();
    let http = reqwest::Client::new();
    let m = emu.merchant().clone();
    let client = Client::builder()
        .client_id(m.client_id.clone())
        .client_secret(m.client_secret.clone())
        .subscription_key(m.subscription_key.clone())
        .merchant_serial_number(m.msn.clone())
        .base_url(&base)
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let reference = Reference::random();
    client
        .epayment()
        .create_payment(CreatePaymentRequest {
            return_url: Some("https://example.com/r".into()),
            ..CreatePaymentRequest::new(Amount::nok(1000), reference.clone(), UserFlow::WebRedirect)
        })
        .await
        .unwrap();
    http.post(format!("{base}/_emulator/payments/{reference}/approve"))
        .send()
        .await
        .unwrap();
    // every capture answers 503 without running: the SDK retries, then reports the failure
    let rules = serde_json::json!({"rules": [{"method": "POST", "path": "/epayment/v1/payments/*/capture", "fault": "status", "status": 503}]});
    http.post(format!("{base}/_emulator/faults"))
        .json(&rules)
        .send()
        .await
        .unwrap();
    let err = client
        .epayment()
        .capture(&reference, Amount::nok(500))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.attempts(), 3);
    http.delete(format!("{base}/_emulator/faults")).send().await.unwrap();
    let p = client.epayment().get_payment(&reference).await.unwrap();
    assert_eq!(p.aggregate.captured_amount.value, 0);

    // apply_then_fail on every attempt: the first attempt captured; the retries with the same
    // key replayed it; the SDK reports failure, but the error says it may have reached the
    // server and carries the key that completes it without a second effect.
    let rules = serde_json::json!({"rules": [{"method": "POST", "path": "/epayment/v1/payments/*/capture", "fault": "apply_then_fail"}]});
    http.post(format!("{base}/_emulator/faults"))
        .json(&rules)
        .send()
        .await
        .unwrap();
    let err = client
        .epayment()
        .capture(&reference, Amount::nok(500))
        .await
        .unwrap_err();
    assert!(err.may_have_reached_server());
    let key = err.idempotency_key().unwrap().to_owned();
    http.delete(format!("{base}/_emulator/faults")).send().await.unwrap();
    let ok = client
        .epayment()
        .capture(&reference, Amount::nok(500))
        .idempotency_key(&key)
        .await
        .unwrap();
    assert_eq!(ok.aggregate.captured_amount.value, 500);
    let events = client.epayment().get_event_log(&reference).await.unwrap();
    assert_eq!(
        events.iter().filter(|e| e.name == PaymentEventName::Captured).count(),
        1
    );
}
