//! Chaos runs for Checkout and eCom, modelled on `chaos.rs`: a few hundred flows while the
//! emulator injects faults of every kind into more than a fifth of the API requests, then
//! exactly-once checks against the emulator's own record with the faults cleared.
//!
//! - Checkout: create session → the customer completes (control plane) → poll until
//!   `PaymentSuccessful` → capture in two parts and refund one part through ePayment.
//! - eCom: initiate (not idempotent: after a failed answer, `details` tells whether the order
//!   exists) → approve (control plane) → capture in two parts → refund one part, with
//!   `X-Request-Id` as the idempotency key.

mod common;
use futures::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use vipps::types::checkout::{InitiateSessionRequest, MerchantInfo, PaymentTransaction, SessionState};
use vipps::types::ecom::{self, InitiatePaymentRequest, InitiateTransaction, Operation};
use vipps::types::epayment::PaymentEventName;
use vipps::types::{Amount, Reference};
use vipps::{Client, Error, RequestBuilder, Response, RetryPolicy};
use vipps_emulator::{Emulator, RunningEmulator};

const FLOWS: usize = 200;
const CONCURRENCY: usize = 16;

fn client_for(emu: &RunningEmulator) -> Client {
    common::builder_for(emu)
        .retry_policy(RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
            overall_deadline: Some(Duration::from_secs(30)),
            honour_retry_after: true,
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A merchant endpoint that accepts every callback, so the emulator's deliveries end at once.
async fn callback_sink() -> String {
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn set_faults(http: &reqwest::Client, base: &str, rules: serde_json::Value) {
    let r = http
        .post(format!("{base}/_emulator/faults"))
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// Requests seen and faults injected since the rules were set; then clears the rules.
async fn stats_then_clear(http: &reqwest::Client, base: &str) -> (u64, u64) {
    let v: serde_json::Value = http
        .get(format!("{base}/_emulator/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http.delete(format!("{base}/_emulator/faults")).send().await.unwrap();
    assert!(r.status().is_success(), "clearing the faults: {}", r.status());
    (
        v["stats"]["requests"].as_u64().unwrap(),
        v["stats"]["injected"].as_u64().unwrap(),
    )
}

fn report(name: &str, requests: u64, injected: u64, extra: &str) {
    println!(
        "{name}: {FLOWS} flows, {requests} API requests, {injected} faults injected ({:.1}%){extra}",
        injected as f64 * 100.0 / requests as f64
    );
    assert!(
        injected * 5 >= requests,
        "{name}: fewer than 20% of requests were faulted: {injected}/{requests}"
    );
}

fn check_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} flows failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

/// Sends with the given idempotency key (ePayment/Checkout `Idempotency-Key`, eCom
/// `X-Request-Id`), or lets the SDK choose one.
async fn keyed<T: DeserializeOwned + Send + 'static>(
    b: RequestBuilder<T>,
    key: Option<String>,
) -> Result<Response<T>, Error> {
    match key {
        Some(k) => b.idempotency_key(k).await,
        None => b.await,
    }
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

async fn control(http: &reqwest::Client, url: String) -> Result<serde_json::Value, String> {
    let r = http.post(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{url}: {status} {body}"));
    }
    Ok(body)
}

// ------------------------------------------------------------------------------------------
// Checkout
// ------------------------------------------------------------------------------------------

fn checkout_faults() -> serde_json::Value {
    let create = "/checkout/v3/session";
    let get = "/checkout/v3/session/*";
    let w = "/epayment/v1/payments/*/";
    serde_json::json!({
        "seed": 11,
        "rules": [
            {"method": "POST", "path": create, "probability": 0.07, "fault": "apply_then_fail"},
            {"method": "POST", "path": create, "probability": 0.06, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": create, "probability": 0.06, "fault": "status", "status": 503},
            {"method": "POST", "path": create, "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": create, "probability": 0.04, "fault": "rate_limited", "retryAfter": 1},
            {"method": "POST", "path": create, "probability": 0.04, "fault": "delay", "delayMs": 5},
            {"method": "GET", "path": get, "probability": 0.1, "fault": "status", "status": 502},
            {"method": "GET", "path": get, "probability": 0.08, "fault": "drop"},
            {"method": "GET", "path": get, "probability": 0.05, "fault": "rate_limited", "retryAfter": 1},
            {"method": "GET", "path": get, "probability": 0.05, "fault": "delay", "delayMs": 5},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.07, "fault": "apply_then_fail"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.06, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.05, "fault": "status", "status": 500},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.04, "fault": "status", "status": 423},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.04, "fault": "delay", "delayMs": 5},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.07, "fault": "apply_then_fail"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.06, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.05, "fault": "status", "status": 502},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.04, "fault": "rate_limited", "retryAfter": 1},
            {"method": "POST", "path": "/accesstoken/get", "probability": 0.3, "fault": "status", "status": 500}
        ]
    })
}

/// What one Checkout flow did: reference, amount, captured, refunded, polls.
type CheckoutOutcome = (Reference, i64, i64, i64, u32);

async fn checkout_flow(
    i: usize,
    client: Client,
    http: reqwest::Client,
    base: String,
    sink: String,
) -> Result<CheckoutOutcome, String> {
    let co = client.checkout();
    let ep = client.epayment();
    let reference = Reference::new(format!("ckchaos-{i:04}-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let amount = 10_000 + (i as i64 % 50) * 100;
    let req = InitiateSessionRequest::payment(
        MerchantInfo::new(
            format!("{sink}/checkout/callback"),
            "https://example.com/return",
            "cb-token-chaos",
        ),
        PaymentTransaction::new(Amount::nok(amount), reference.clone(), "Chaos socks"),
    );
    exactly_once(|k| keyed(co.create_session(req.clone()), k))
        .await
        .map_err(|e| format!("create session {reference}: {e}"))?;

    // The customer pays (control plane: no faults).
    control(&http, format!("{base}/_emulator/checkout/{reference}/complete")).await?;

    // Poll as the merchant until the session is paid.
    let mut polls = 0u32;
    loop {
        polls += 1;
        if polls > 100 {
            return Err(format!("{reference}: not PaymentSuccessful after {polls} polls"));
        }
        match co.get_session(&reference).await {
            Ok(s) if s.session_state == SessionState::PaymentSuccessful => break,
            Ok(s) if s.is_final() => return Err(format!("{reference}: session ended as {}", s.session_state)),
            Ok(_) => {}
            Err(e) if e.is_retryable() => {}
            Err(e) => return Err(format!("get session {reference}: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let c1 = amount / 3;
    let mut captured = 0;
    for part in [c1, amount - c1] {
        exactly_once(|k| keyed(ep.capture(&reference, Amount::nok(part)), k))
            .await
            .map_err(|e| format!("capture {reference}: {e}"))?;
        captured += part;
    }
    let refund = amount / 4;
    exactly_once(|k| keyed(ep.refund(&reference, Amount::nok(refund)), k))
        .await
        .map_err(|e| format!("refund {reference}: {e}"))?;
    Ok((reference, amount, captured, refund, polls))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_chaos_run_has_exactly_once_effects() {
    let emu = Emulator::start().await.unwrap();
    let base = emu.base_url();
    let http = reqwest::Client::new();
    let sink = callback_sink().await;
    let client = client_for(&emu);
    set_faults(&http, &base, checkout_faults()).await;

    let results: Vec<Result<CheckoutOutcome, String>> = stream::iter(0..FLOWS)
        .map(|i| checkout_flow(i, client.clone(), http.clone(), base.clone(), sink.clone()))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let (requests, injected) = stats_then_clear(&http, &base).await;
    let polls: u32 = results.iter().flatten().map(|r| r.4).sum();
    report(
        "chaos checkout",
        requests,
        injected,
        &format!(", {polls} get-session polls"),
    );

    // Read back with faults off: the emulator's own record is the truth.
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in results {
        let (reference, amount, captured, refunded, _) = match r {
            Ok(v) => v,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let s = client.checkout().get_session(&reference).await.unwrap();
        assert_eq!(s.session_state, SessionState::PaymentSuccessful, "{reference}");
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
        assert_eq!(count(PaymentEventName::Created), 1, "{reference}: {events:?}");
        assert_eq!(count(PaymentEventName::Authorized), 1, "{reference}: {events:?}");
        assert_eq!(count(PaymentEventName::Captured), 2, "{reference}: {events:?}");
        assert_eq!(count(PaymentEventName::Refunded), 1, "{reference}: {events:?}");
        checked += 1;
    }
    check_failures(&failures);
    assert_eq!(checked, FLOWS);
}

// ------------------------------------------------------------------------------------------
// eCom
// ------------------------------------------------------------------------------------------

fn ecom_faults() -> serde_json::Value {
    let init = "/ecomm/v2/payments";
    let w = "/ecomm/v2/payments/*/";
    serde_json::json!({
        "seed": 23,
        "rules": [
            {"method": "POST", "path": init, "probability": 0.08, "fault": "apply_then_fail"},
            {"method": "POST", "path": init, "probability": 0.06, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": init, "probability": 0.06, "fault": "status", "status": 503},
            {"method": "POST", "path": init, "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": init, "probability": 0.04, "fault": "rate_limited", "retryAfter": 1},
            {"method": "POST", "path": init, "probability": 0.04, "fault": "delay", "delayMs": 5},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.07, "fault": "apply_then_fail"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.06, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.05, "fault": "status", "status": 500},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.04, "fault": "rate_limited", "retryAfter": 1},
            {"method": "POST", "path": format!("{w}capture"), "probability": 0.04, "fault": "delay", "delayMs": 5},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.07, "fault": "apply_then_fail"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.06, "fault": "apply_then_fail", "then": "drop"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.05, "fault": "status", "status": 502},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.05, "fault": "drop"},
            {"method": "POST", "path": format!("{w}refund"), "probability": 0.04, "fault": "status", "status": 423},
            {"method": "GET", "path": format!("{w}details"), "probability": 0.1, "fault": "status", "status": 503},
            {"method": "GET", "path": format!("{w}details"), "probability": 0.08, "fault": "drop"},
            {"method": "POST", "path": "/accesstoken/get", "probability": 0.3, "fault": "status", "status": 500}
        ]
    })
}

/// How initiate failures were resolved, over all flows.
#[derive(Default)]
struct InitiateStats {
    /// A failed initiate whose order `details` then found: it had run.
    found: AtomicU64,
    /// A failed initiate whose order `details` answered 404 for: sent again, same order id.
    resent: AtomicU64,
}

/// Whether the order exists: `details` (retried by the SDK; transient failures retried here).
async fn order_exists(ec: &vipps::ecom::Ecom, order_id: &str) -> Result<bool, String> {
    for _ in 0..20 {
        match ec.details(order_id).await {
            Ok(_) => return Ok(true),
            Err(e) if e.status() == Some(404) => return Ok(false),
            Err(e) if e.is_retryable() => {}
            Err(e) => return Err(format!("details {order_id}: {e}")),
        }
    }
    Err(format!("details {order_id}: still failing after 20 calls"))
}

/// Initiate is not idempotent in eCom: after a failed answer, ask `details` whether the order
/// exists; 404 ⇒ initiate again with the same order id; found ⇒ it ran, continue.
async fn initiate_once(
    ec: &vipps::ecom::Ecom,
    req: &InitiatePaymentRequest,
    stats: &InitiateStats,
) -> Result<(), String> {
    let order_id = &req.transaction.order_id;
    for _ in 0..20 {
        match ec.initiate(req.clone()).await {
            Ok(r) if &r.order_id == order_id => return Ok(()),
            Ok(r) => return Err(format!("initiate {order_id}: answered for order {}", r.order_id)),
            Err(e) if e.is_retryable() => {
                if order_exists(ec, order_id).await? {
                    stats.found.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                stats.resent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => return Err(format!("initiate {order_id}: {e}")),
        }
    }
    Err(format!("initiate {order_id}: still failing after 20 calls"))
}

/// What one eCom flow did: order id, amount, captured, refunded.
type EcomOutcome = (String, i64, i64, i64);

async fn ecom_flow(
    i: usize,
    client: Client,
    http: reqwest::Client,
    base: String,
    sink: String,
    msn: String,
    stats: &InitiateStats,
) -> Result<EcomOutcome, String> {
    let ec = client.ecom();
    let order_id = format!("ecchaos-{i:04}-{}", uuid::Uuid::new_v4().simple());
    let amount = 10_000 + (i as i64 % 50) * 100;
    let req = InitiatePaymentRequest {
        merchant_info: ecom::MerchantInfo {
            merchant_serial_number: msn,
            callback_prefix: format!("{sink}/ecom"),
            fall_back: "https://example.com/fallback".into(),
            auth_token: Some("chaos-cb-token".into()),
            ..Default::default()
        },
        transaction: InitiateTransaction {
            amount,
            order_id: order_id.clone(),
            transaction_text: "Chaos socks".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    initiate_once(&ec, &req, stats).await?;

    // The customer approves in the app (control plane: no faults).
    let a = control(&http, format!("{base}/_emulator/payments/{order_id}/approve")).await?;
    if a["approved"] != serde_json::json!(true) {
        return Err(format!("approve {order_id}: {a}"));
    }

    let c1 = amount * 2 / 5;
    let mut captured = 0;
    for (n, part) in [c1, amount - c1].into_iter().enumerate() {
        let text = format!("capture part {}", n + 1);
        exactly_once(|k| keyed(ec.capture(&order_id, Some(part), text.clone()), k))
            .await
            .map_err(|e| format!("capture {order_id}: {e}"))?;
        captured += part;
    }
    let refund = amount / 5;
    exactly_once(|k| keyed(ec.refund(&order_id, refund, "refund one part"), k))
        .await
        .map_err(|e| format!("refund {order_id}: {e}"))?;
    Ok((order_id, amount, captured, refund))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecom_chaos_run_has_exactly_once_effects() {
    let emu = Emulator::start().await.unwrap();
    let base = emu.base_url();
    let http = reqwest::Client::new();
    let sink = callback_sink().await;
    let client = client_for(&emu);
    let msn = emu.merchant().msn.clone();
    let stats = InitiateStats::default();
    set_faults(&http, &base, ecom_faults()).await;

    let results: Vec<Result<EcomOutcome, String>> = stream::iter(0..FLOWS)
        .map(|i| {
            ecom_flow(
                i,
                client.clone(),
                http.clone(),
                base.clone(),
                sink.clone(),
                msn.clone(),
                &stats,
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let (requests, injected) = stats_then_clear(&http, &base).await;
    report(
        "chaos ecom",
        requests,
        injected,
        &format!(
            "; failed initiates: {} had run (found by details), {} re-sent after 404",
            stats.found.load(Ordering::Relaxed),
            stats.resent.load(Ordering::Relaxed)
        ),
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for r in results {
        let (order_id, amount, captured, refunded) = match r {
            Ok(v) => v,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let d = client.ecom().details(&order_id).await.unwrap();
        let summary = d
            .transaction_summary
            .as_ref()
            .unwrap_or_else(|| panic!("{order_id}: no transactionSummary"));
        assert_eq!(
            summary.captured_amount, captured,
            "{order_id}: duplicate or lost capture"
        );
        assert_eq!(
            summary.refunded_amount, refunded,
            "{order_id}: duplicate or lost refund"
        );
        assert_eq!(summary.remaining_amount_to_capture, amount - captured, "{order_id}");
        let log = &d.transaction_log_history;
        let count = |op: Operation| log.iter().filter(|e| e.operation == op && e.operation_success).count();
        assert_eq!(count(Operation::Initiate), 1, "{order_id}: {log:?}");
        assert_eq!(count(Operation::Reserve), 1, "{order_id}: {log:?}");
        assert_eq!(count(Operation::Capture), 2, "{order_id}: {log:?}");
        assert_eq!(count(Operation::Refund), 1, "{order_id}: {log:?}");
        assert!(log.iter().all(|e| e.operation_success), "{order_id}: {log:?}");
        checked += 1;
    }
    check_failures(&failures);
    assert_eq!(checked, FLOWS);
}
