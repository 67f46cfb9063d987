//! The whole webhook chain: register through the SDK, drive payments on the in-process
//! emulator, receive the signed deliveries on a local axum server and verify them with the
//! SDK's `WebhookVerifier`.

mod common;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use common::client_for;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps::types::epayment::{CreatePaymentRequest, PaymentEventName, UserFlow, WebhookEvent};
use vipps::types::webhooks::{RegisterWebhookRequest, WebhookEventType};
use vipps::types::{Amount, Reference};
use vipps::webhooks::{WebhookError, WebhookRequest, WebhookVerifier};
use vipps::Client;
use vipps_emulator::RetrySchedule;
use vipps_emulator::{Emulator, RunningEmulator};

fn web(reference: &Reference, value: i64) -> CreatePaymentRequest {
    CreatePaymentRequest {
        return_url: Some("https://example.com/return".into()),
        payment_description: Some("Socks".into()),
        ..CreatePaymentRequest::new(Amount::nok(value), reference.clone(), UserFlow::WebRedirect)
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// What the receiver answered.
    status: u16,
}

impl Got {
    fn request(&self) -> WebhookRequest<'_> {
        WebhookRequest::from_http(&Method::POST, &self.uri, &self.headers, &self.body).unwrap()
    }

    fn event(&self) -> WebhookEvent {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Decides the answer from the body and how many times this very body came before.
type Policy = Arc<dyn Fn(&WebhookEvent, usize) -> u16 + Send + Sync>;

#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    async fn start(path_and_query: &str, policy: Policy) -> Receiver {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let g = Arc::clone(&got);
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let g = Arc::clone(&g);
            let policy = Arc::clone(&policy);
            async move {
                let before = g.lock().iter().filter(|x| x.body == body).count();
                let status = match serde_json::from_slice::<WebhookEvent>(&body) {
                    Ok(ev) => policy(&ev, before),
                    Err(_) => 400,
                };
                g.lock().push(Got {
                    uri,
                    headers,
                    body,
                    status,
                });
                StatusCode::from_u16(status).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url: format!("http://{addr}{path_and_query}"),
            got,
        }
    }

    async fn ok(path_and_query: &str) -> Receiver {
        Self::start(path_and_query, Arc::new(|_, _| 200)).await
    }

    /// The successful deliveries so far, in arrival order.
    fn delivered(&self) -> Vec<Got> {
        self.got.lock().iter().filter(|g| g.status == 200).cloned().collect()
    }

    /// Waits (with a deadline) until `n` deliveries succeeded.
    async fn wait_delivered(&self, n: usize) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let d = self.delivered();
            if d.len() >= n {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} deliveries arrived: {:?}",
                d.len(),
                d.iter().map(|g| g.event().name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn register(c: &Client, url: &str, events: &[WebhookEventType]) -> (String, WebhookVerifier) {
    let r = c
        .webhooks()
        .register(RegisterWebhookRequest::new(url, events.iter().cloned()))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    (r.id.clone(), WebhookVerifier::new(r.secret.clone()).unwrap())
}

async fn control(emu: &RunningEmulator, path: &str, body: Option<Value>) {
    let mut r = reqwest::Client::new().post(format!("{}{path}", emu.base_url()));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

async fn deliveries(emu: &RunningEmulator, reference: &Reference) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!(
            "{}/_emulator/deliveries?kind=webhook&reference={reference}",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_event_type_verifies_and_parses() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    let rx = Receiver::ok("/hooks/vipps?shop=main").await;
    let (_, verifier) = register(&c, &rx.url, WebhookEventType::EPAYMENT).await;

    // CREATED, AUTHORIZED, CAPTURED, REFUNDED, CANCELLED
    let full = Reference::random();
    ep.create_payment(web(&full, 1000)).await.unwrap();
    control(&emu, &format!("/_emulator/payments/{full}/approve"), None).await;
    ep.capture(&full, Amount::nok(400)).await.unwrap();
    ep.refund(&full, Amount::nok(100)).await.unwrap();
    ep.cancel(&full).await.unwrap();
    // CREATED, TERMINATED
    let terminated = Reference::random();
    ep.create_payment(web(&terminated, 1000)).await.unwrap();
    ep.cancel(&terminated).await.unwrap();
    // CREATED, ABORTED
    let aborted = Reference::random();
    ep.create_payment(web(&aborted, 1000)).await.unwrap();
    control(&emu, &format!("/_emulator/payments/{aborted}/reject"), None).await;
    // CREATED, EXPIRED (when the clock is advanced)
    let expired = Reference::random();
    ep.create_payment(web(&expired, 1000)).await.unwrap();
    control(
        &emu,
        "/_emulator/clock/advance",
        Some(serde_json::json!({"seconds": 700})),
    )
    .await;
    ep.get_payment(&expired).await.unwrap();

    let got = rx.wait_delivered(11).await;
    let mut names = BTreeSet::new();
    for g in &got {
        let ev = verifier
            .verify_epayment_event(&g.request())
            .unwrap_or_else(|e| panic!("{e}: {g:?}"))
            .unwrap();
        assert_eq!(g.uri, "/hooks/vipps?shop=main");
        assert_eq!(ev.msn, emu.merchant().msn);
        assert!(ev.success);
        names.insert(ev.name.to_string());
    }
    let all: BTreeSet<String> = [
        "CREATED",
        "AUTHORIZED",
        "CAPTURED",
        "REFUNDED",
        "CANCELLED",
        "TERMINATED",
        "ABORTED",
        "EXPIRED",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(names, all);

    // each payment's deliveries are exactly its event log, in order
    for r in [&full, &terminated, &aborted, &expired] {
        let log = ep.get_event_log(r).await.unwrap();
        let delivered: Vec<WebhookEvent> = got.iter().map(Got::event).filter(|e| &e.reference == r).collect();
        assert_eq!(delivered.len(), log.len(), "{r}");
        for (d, l) in delivered.iter().zip(log.iter()) {
            assert_eq!(d.name, l.name);
            assert_eq!(d.amount, l.amount);
            assert_eq!(d.psp_reference, l.psp_reference);
            assert_eq!(d.idempotency_key, l.idempotency_key);
            assert_eq!(d.timestamp, l.timestamp);
        }
    }
    // nothing else arrived (no duplicates, no failures)
    assert_eq!(rx.got.lock().len(), 11);
}

#[tokio::test]
async fn a_receiver_failing_the_first_attempts_still_gets_the_event() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let rx = Receiver::start("/hook", Arc::new(|_, before| if before < 2 { 500 } else { 200 })).await;
    let (_, verifier) = register(&c, &rx.url, &[WebhookEventType::EpaymentCreated]).await;
    let r = Reference::random();
    c.epayment().create_payment(web(&r, 1000)).await.unwrap();
    let got = rx.wait_delivered(1).await;
    assert_eq!(got[0].event().reference, r);
    // every attempt was signed (each with its own send time)
    let all = rx.got.lock().clone();
    assert_eq!(all.iter().map(|g| g.status).collect::<Vec<_>>(), vec![500, 500, 200]);
    for g in &all {
        verifier.verify(&g.request()).unwrap();
    }
    // the log shows the failed attempts, then the success
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = deliveries(&emu, &r).await;
        if log.len() >= 3 || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let summary: Vec<(u64, u64, bool, bool)> = log
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["status"].as_u64().unwrap(),
                a["success"].as_bool().unwrap(),
                a["finished"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![(1, 500, false, false), (2, 500, false, false), (3, 200, true, true)]
    );
    assert!(log.iter().all(|a| a["event"] == "epayments.payment.created.v1"));
    assert_eq!(log[0]["deliveryId"], log[2]["deliveryId"]);
}

#[tokio::test]
async fn order_is_preserved_per_payment_even_with_retries() {
    let emu = Emulator::start().await.unwrap();
    emu.state().set_webhook_retry_schedule(RetrySchedule {
        max_attempts: 5,
        initial_backoff_ms: 20,
        max_backoff_ms: 100,
        timeout_ms: 2_000,
    });
    assert_eq!(emu.state().webhook_retry_schedule().initial_backoff_ms, 20);
    let c = client_for(&emu);
    let ep = c.epayment();
    // the first attempt of every event fails: a later event must still wait for it
    let rx = Receiver::start("/hook", Arc::new(|_, before| if before == 0 { 503 } else { 200 })).await;
    let (_, verifier) = register(&c, &rx.url, WebhookEventType::EPAYMENT).await;
    let r = Reference::random();
    ep.create_payment(web(&r, 10000)).await.unwrap();
    control(&emu, &format!("/_emulator/payments/{r}/approve"), None).await;
    ep.capture(&r, Amount::nok(2500)).await.unwrap();
    ep.capture(&r, Amount::nok(7500)).await.unwrap();
    ep.refund(&r, Amount::nok(3000)).await.unwrap();
    let got = rx.wait_delivered(5).await;
    let seq: Vec<(PaymentEventName, i64)> = got
        .iter()
        .map(|g| {
            let ev = verifier.verify_epayment_event(&g.request()).unwrap().unwrap();
            (ev.name, ev.amount.value)
        })
        .collect();
    assert_eq!(
        seq,
        vec![
            (PaymentEventName::Created, 10000),
            (PaymentEventName::Authorized, 10000),
            (PaymentEventName::Captured, 2500),
            (PaymentEventName::Captured, 7500),
            (PaymentEventName::Refunded, 3000),
        ]
    );
    // and on the wire too: each event's failed attempt came right before its success
    let wire: Vec<(u16, PaymentEventName)> = rx.got.lock().iter().map(|g| (g.status, g.event().name)).collect();
    assert_eq!(wire.len(), 10);
    for (i, pair) in wire.chunks(2).enumerate() {
        assert_eq!(pair[0].0, 503);
        assert_eq!(pair[1].0, 200);
        assert_eq!(pair[0].1, pair[1].1);
        assert_eq!(pair[1].1, seq[i].0);
    }
}

#[tokio::test]
async fn a_deleted_webhook_receives_nothing_more() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    let gone = Receiver::ok("/gone").await;
    let kept = Receiver::ok("/kept").await;
    let (gone_id, _) = register(&c, &gone.url, &[WebhookEventType::EpaymentCreated]).await;
    let (kept_id, _) = register(&c, &kept.url, &[WebhookEventType::EpaymentCreated]).await;

    let first = Reference::random();
    ep.create_payment(web(&first, 1000)).await.unwrap();
    gone.wait_delivered(1).await;
    kept.wait_delivered(1).await;

    let r = c.webhooks().delete(&gone_id).await.unwrap();
    assert_eq!(r.status(), 204);
    let listed = c.webhooks().list().await.unwrap();
    assert_eq!(listed.webhooks.len(), 1);
    assert_eq!(listed.webhooks[0].id, kept_id);
    assert!(c.webhooks().delete(&gone_id).await.is_err(), "already deleted");

    let second = Reference::random();
    ep.create_payment(web(&second, 1000)).await.unwrap();
    let got = kept.wait_delivered(2).await;
    assert_eq!(got[1].event().reference, second);
    // the kept webhook got the second event; give the deleted one the same time and more
    tokio::time::sleep(Duration::from_millis(300)).await;
    let g = gone.got.lock().clone();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].event().reference, first);
}

#[tokio::test]
async fn a_tampered_delivery_is_rejected() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let rx = Receiver::ok("/hooks/vipps?x=1").await;
    let (_, verifier) = register(&c, &rx.url, &[WebhookEventType::EpaymentCreated]).await;
    let r = Reference::random();
    c.epayment().create_payment(web(&r, 1000)).await.unwrap();
    let g = rx.wait_delivered(1).await.remove(0);
    let genuine = g.request();
    verifier.verify(&genuine).unwrap();

    // one byte of the body
    let mut body = g.body.to_vec();
    let i = body.iter().position(|b| *b == b'0').unwrap();
    body[i] = b'1';
    let req = WebhookRequest { body: &body, ..genuine };
    assert_eq!(verifier.verify(&req), Err(WebhookError::BadContentHash));
    // the body and a matching hash, but the signature over the old hash
    let hash = vipps::webhooks::content_hash(&body);
    let req = WebhookRequest {
        body: &body,
        x_ms_content_sha256: &hash,
        ..genuine
    };
    assert_eq!(verifier.verify(&req), Err(WebhookError::BadSignature));
    // the date, one second later
    let date = vipps::webhooks::parse_http_date(genuine.x_ms_date).unwrap() + time::Duration::seconds(1);
    let date = vipps::webhooks::format_http_date(date);
    let req = WebhookRequest {
        x_ms_date: &date,
        ..genuine
    };
    assert_eq!(verifier.verify(&req), Err(WebhookError::BadSignature));
    // the path, the query, the host
    for (path, host) in [
        ("/hooks/vipps?x=2", genuine.host),
        ("/hooks/other?x=1", genuine.host),
        (genuine.path_and_query, "example.com"),
    ] {
        let req = WebhookRequest {
            path_and_query: path,
            host,
            ..genuine
        };
        assert_eq!(verifier.verify(&req), Err(WebhookError::BadSignature), "{path} {host}");
    }
    // one character of the signature
    let mut auth = genuine.authorization.to_owned();
    let last = auth.pop().unwrap();
    let c2 = auth.pop().unwrap();
    auth.push(if c2 == 'A' { 'B' } else { 'A' });
    auth.push(last);
    let req = WebhookRequest {
        authorization: &auth,
        ..genuine
    };
    assert_eq!(verifier.verify(&req), Err(WebhookError::BadSignature));
    // another registration's secret
    assert_eq!(
        WebhookVerifier::new("some-other-secret").unwrap().verify(&genuine),
        Err(WebhookError::BadSignature)
    );
    // the genuine one still passes
    verifier.verify(&genuine).unwrap();
}
