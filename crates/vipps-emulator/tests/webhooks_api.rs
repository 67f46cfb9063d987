//! Webhooks API v1 on the emulator: register/list/delete statuses and bodies, validation,
//! limits, idempotency, merchant isolation, and a first signed delivery.

mod common;

use common::{fetch_token, problem, second_merchant, H};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps_types::webhooks::signature;

const PATH: &str = "/webhooks/v1/webhooks";

fn hook(url: &str, events: &[&str]) -> Value {
    json!({ "url": url, "events": events })
}

async fn register(h: &H, body: &Value) -> reqwest::Response {
    h.req(Method::POST, PATH).json(body).send().await.unwrap()
}

async fn registered(h: &H, body: &Value) -> (String, String) {
    let r = register(h, body).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["content-type"], "application/json");
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_owned();
    let secret = v["secret"].as_str().unwrap().to_owned();
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    (id, secret)
}

async fn list(h: &H) -> (Value, String) {
    let r = h.req(Method::GET, PATH).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

#[tokio::test]
async fn register_list_delete() {
    let h = H::start().await;
    let (v, _) = list(&h).await;
    assert_eq!(v, json!({"webhooks": []}));

    let body = hook(
        "https://example.com/hooks/vipps?shop=1",
        &["epayments.payment.captured.v1", "epayments.payment.created.v1"],
    );
    let (id, secret) = registered(&h, &body).await;
    uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(secret.len(), 88, "base64 of 64 random bytes");
    let (id2, secret2) = registered(
        &h,
        &hook("https://example.com/other", &["epayments.payment.refunded.v1"]),
    )
    .await;
    assert_ne!(id, id2);
    assert_ne!(secret, secret2);

    let (v, text) = list(&h).await;
    assert_eq!(
        v,
        json!({"webhooks": [
            {"id": id, "url": "https://example.com/hooks/vipps?shop=1",
             "events": ["epayments.payment.captured.v1", "epayments.payment.created.v1"]},
            {"id": id2, "url": "https://example.com/other", "events": ["epayments.payment.refunded.v1"]},
        ]})
    );
    assert!(!text.contains(&secret) && !text.contains(&secret2) && !text.contains("secret"));

    let r = h.req(Method::DELETE, &format!("{PATH}/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let (v, _) = list(&h).await;
    assert_eq!(v["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(v["webhooks"][0]["id"], id2.as_str());

    // deleting again, or an id never registered: 404
    let r = h.req(Method::DELETE, &format!("{PATH}/{id}")).send().await.unwrap();
    let p = problem(r, 404, None).await;
    assert!(p["detail"].as_str().unwrap().contains(&id), "{p}");
    let r = h
        .req(Method::DELETE, &format!("{PATH}/{}", uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    problem(r, 404, None).await;
    // not a UUID: 400 naming the id
    let r = h
        .req(Method::DELETE, &format!("{PATH}/not-a-uuid"))
        .send()
        .await
        .unwrap();
    let p = problem(r, 400, None).await;
    assert_eq!(p["extraDetails"][0]["name"], "id");
}

#[tokio::test]
async fn merchant_serial_number_is_optional() {
    let h = H::start().await;
    let r = h
        .http
        .post(h.url(PATH))
        .bearer_auth(&h.token)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .json(&hook("https://example.com/h", &["epayments.payment.created.v1"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (v, _) = list(&h).await;
    assert_eq!(v["webhooks"].as_array().unwrap().len(), 1);
    let r = h
        .http
        .get(h.url(PATH))
        .bearer_auth(&h.token)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn authentication_is_required() {
    let h = H::start().await;
    let r = h.http.get(h.url(PATH)).send().await.unwrap();
    problem(r, 401, None).await;
    let r = h
        .http
        .post(h.url(PATH))
        .bearer_auth("not-a-token")
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .json(&hook("https://example.com/h", &["epayments.payment.created.v1"]))
        .send()
        .await
        .unwrap();
    problem(r, 401, None).await;
    let r = h
        .http
        .get(h.url(PATH))
        .bearer_auth(&h.token)
        .header("Ocp-Apim-Subscription-Key", "wrong-key")
        .send()
        .await
        .unwrap();
    problem(r, 401, None).await;
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let h = H::start().await;
    let cases = [
        (json!({"events": ["epayments.payment.created.v1"]}), "url"),
        (json!({"url": "https://example.com/h"}), "events"),
        (hook("http://example.com/h", &["epayments.payment.created.v1"]), "url"),
        (hook("/relative/path", &["epayments.payment.created.v1"]), "url"),
        (hook("ftp://example.com/h", &["epayments.payment.created.v1"]), "url"),
        (hook("https://example.com/h", &[]), "events"),
        (
            hook(
                "https://example.com/h",
                &["epayments.payment.created.v1", "epayments.payment.exploded.v1"],
            ),
            "events[1]",
        ),
        (json!({"url": 5, "events": ["epayments.payment.created.v1"]}), "url"),
        (
            json!({"url": "https://example.com/h", "events": "epayments.payment.created.v1"}),
            "events",
        ),
    ];
    for (body, field) in cases {
        let r = register(&h, &body).await;
        let p = problem(r, 400, None).await;
        let names: Vec<&str> = p["extraDetails"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&field), "{body} → {p}");
    }
    // no body at all
    let r = h.req(Method::POST, PATH).send().await.unwrap();
    problem(r, 400, Some(4140)).await;
    // http to a loopback host is fine (local receivers)
    registered(&h, &hook("http://127.0.0.1:9/h", &["epayments.payment.created.v1"])).await;
    registered(&h, &hook("http://localhost:9/h", &["epayments.payment.created.v1"])).await;
    let (v, _) = list(&h).await;
    assert_eq!(
        v["webhooks"].as_array().unwrap().len(),
        2,
        "failed registrations are not stored"
    );
}

#[tokio::test]
async fn duplicate_event_types_are_merged() {
    let h = H::start().await;
    registered(
        &h,
        &hook(
            "https://example.com/h",
            &["epayments.payment.created.v1", "epayments.payment.created.v1"],
        ),
    )
    .await;
    let (v, _) = list(&h).await;
    assert_eq!(v["webhooks"][0]["events"], json!(["epayments.payment.created.v1"]));
}

#[tokio::test]
async fn at_most_25_per_event_type_and_1_for_qr() {
    let h = H::start().await;
    for i in 0..25 {
        registered(
            &h,
            &hook(&format!("https://example.com/{i}"), &["epayments.payment.created.v1"]),
        )
        .await;
    }
    let r = register(
        &h,
        &hook(
            "https://example.com/26",
            &["epayments.payment.captured.v1", "epayments.payment.created.v1"],
        ),
    )
    .await;
    let p = problem(r, 400, None).await;
    assert_eq!(p["extraDetails"][0]["name"], "events[1]", "{p}");
    // another event type still has room
    registered(&h, &hook("https://example.com/26", &["epayments.payment.captured.v1"])).await;

    registered(&h, &hook("https://example.com/qr", &["user.checked-in.v1"])).await;
    let r = register(&h, &hook("https://example.com/qr2", &["user.checked-in.v1"])).await;
    problem(r, 400, None).await;

    // deleting one frees a slot
    let (v, _) = list(&h).await;
    let first = v["webhooks"][0]["id"].as_str().unwrap().to_owned();
    let r = h.req(Method::DELETE, &format!("{PATH}/{first}")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    registered(
        &h,
        &hook("https://example.com/again", &["epayments.payment.created.v1"]),
    )
    .await;
}

#[tokio::test]
async fn idempotency_key_replays_the_same_answer() {
    let h = H::start().await;
    let body = hook("https://example.com/h", &["epayments.payment.created.v1"]);
    let send = |b: Value, key: &'static str| h.req(Method::POST, PATH).header("Idempotency-Key", key).json(&b).send();
    let r1 = send(body.clone(), "reg-1").await.unwrap();
    assert_eq!(r1.status(), 201);
    let v1: Value = r1.json().await.unwrap();
    let r2 = send(body.clone(), "reg-1").await.unwrap();
    assert_eq!(r2.status(), 201);
    let v2: Value = r2.json().await.unwrap();
    assert_eq!(v1, v2, "same key and body: same id and secret");
    let (v, _) = list(&h).await;
    assert_eq!(v["webhooks"].as_array().unwrap().len(), 1);

    let r3 = send(
        hook("https://example.com/other", &["epayments.payment.created.v1"]),
        "reg-1",
    )
    .await
    .unwrap();
    problem(r3, 409, None).await;
    // without a key, every call registers anew
    registered(&h, &body).await;
    registered(&h, &body).await;
    let (v, _) = list(&h).await;
    assert_eq!(v["webhooks"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn another_merchant_cannot_see_or_delete() {
    let h = H::two_merchants().await;
    let (id, _) = registered(
        &h,
        &hook("https://example.com/first", &["epayments.payment.created.v1"]),
    )
    .await;
    let second = second_merchant();
    let token2 = fetch_token(&h.http, &h.emu.base_url(), &second).await;
    let as_second = |m: Method, path: String| {
        h.http
            .request(m, h.url(&path))
            .bearer_auth(&token2)
            .header("Ocp-Apim-Subscription-Key", &second.subscription_key)
            .header("Merchant-Serial-Number", &second.msn)
    };
    let r = as_second(Method::GET, PATH.into()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!({"webhooks": []}));
    let r = as_second(Method::DELETE, format!("{PATH}/{id}")).send().await.unwrap();
    problem(r, 404, None).await;
    // the first merchant's token with the second merchant's MSN: refused
    let r = h
        .http
        .get(h.url(PATH))
        .bearer_auth(&h.token)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .header("Merchant-Serial-Number", &second.msn)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // still there for its owner
    let (v, _) = list(&h).await;
    assert_eq!(v["webhooks"][0]["id"], id.as_str());
}

type Seen = Arc<parking_lot::Mutex<Vec<(http::HeaderMap, String, bytes::Bytes)>>>;

/// A receiver on 127.0.0.1 that records every request and answers after `delay`.
async fn receiver(delay: Duration) -> (String, Seen) {
    use axum::routing::post;
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        post(move |uri: http::Uri, headers: http::HeaderMap, body: bytes::Bytes| {
            let s = Arc::clone(&s);
            async move {
                s.lock().push((headers, uri.to_string(), body));
                tokio::time::sleep(delay).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook?shop=1"), seen)
}

async fn wait_for(seen: &Seen, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} deliveries",
            seen.lock().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn events_are_delivered_signed() {
    let h = H::start().await;
    let (url, seen) = receiver(Duration::ZERO).await;
    let (_, secret) = registered(&h, &hook(&url, &["epayments.payment.created.v1"])).await;
    h.created("webhook-emu-ref-1", 1000).await;
    wait_for(&seen, 1).await;
    let (headers, uri, body) = seen.lock()[0].clone();
    assert_eq!(uri, "/hook?shop=1");
    let host = headers["host"].to_str().unwrap();
    assert_eq!(host, url.trim_start_matches("http://").split('/').next().unwrap());
    let date = headers["x-ms-date"].to_str().unwrap();
    let sent = signature::parse_http_date(date).unwrap();
    assert!((time::OffsetDateTime::now_utc() - sent).whole_seconds().abs() < 30);
    let hash = headers["x-ms-content-sha256"].to_str().unwrap();
    assert_eq!(hash, signature::content_hash(&body));
    let expected = signature::sign(&secret, "POST", "/hook?shop=1", host, sent, &body);
    assert_eq!(headers["authorization"].to_str().unwrap(), expected.authorization);
    assert_eq!(headers["content-type"], "application/json");
    let ev: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(ev["msn"], h.m().msn.as_str());
    assert_eq!(ev["reference"], "webhook-emu-ref-1");
    assert_eq!(ev["name"], "CREATED");
    assert_eq!(ev["amount"], json!({"currency": "NOK", "value": 1000}));
    assert_eq!(ev["success"], true);
    assert_eq!(ev["idempotencyKey"], "create-webhook-emu-ref-1");

    // the delivery is logged
    let v: Value = h
        .http
        .get(h.url("/_emulator/deliveries?kind=webhook"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = &v["deliveries"][0];
    assert_eq!(d["event"], "epayments.payment.created.v1");
    assert_eq!(d["reference"], "webhook-emu-ref-1");
    assert_eq!(d["status"], 200);
    assert_eq!(d["success"], true);
}

#[tokio::test]
async fn authorized_events_carry_the_shared_data() {
    let h = H::start().await;
    let (url, seen) = receiver(Duration::ZERO).await;
    registered(
        &h,
        &hook(
            &url,
            &["epayments.payment.created.v1", "epayments.payment.authorized.v1"],
        ),
    )
    .await;
    let mut body = common::web("webhook-profile-1", 1000);
    body["profile"] = json!({"scope": "name email"});
    let r = h
        .req(reqwest::Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "profile-key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(h.approve("webhook-profile-1").await.status(), 200);
    wait_for(&seen, 2).await;
    let events: Vec<Value> = seen
        .lock()
        .iter()
        .map(|(_, _, b)| serde_json::from_slice(b).unwrap())
        .collect();
    let created = events.iter().find(|e| e["name"] == "CREATED").unwrap();
    assert!(
        created.get("userDetails").is_none() && created.get("profile").is_none(),
        "{created}"
    );
    let authorized = events.iter().find(|e| e["name"] == "AUTHORIZED").unwrap();
    assert_eq!(
        authorized["userDetails"],
        json!({"firstName": "Ola", "lastName": "Nordmann", "email": "ola.nordmann@example.com"}),
        "{authorized}"
    );
    let p = h.get("webhook-profile-1").await;
    assert!(p["profile"]["sub"].is_string(), "{p}");
    assert_eq!(
        authorized["profile"]["sub"], p["profile"]["sub"],
        "the same sub as get payment"
    );
    assert_eq!(authorized["captureGuaranteedUntil"], p["captureGuaranteedUntil"]);
    assert!(authorized["captureGuaranteedUntil"].is_string(), "{authorized}");
}

#[tokio::test]
async fn only_subscribed_types_of_the_same_merchant_are_delivered() {
    let h = H::start().await;
    let (url, seen) = receiver(Duration::ZERO).await;
    registered(&h, &hook(&url, &["epayments.payment.authorized.v1"])).await;
    h.created("webhook-emu-ref-2", 1000).await; // CREATED: not subscribed
    h.approve("webhook-emu-ref-2").await; // AUTHORIZED
    wait_for(&seen, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(seen.lock().len(), 1);
    let ev: Value = serde_json::from_slice(&seen.lock()[0].2).unwrap();
    assert_eq!(ev["name"], "AUTHORIZED");
}

#[tokio::test]
async fn a_slow_receiver_does_not_slow_the_api() {
    let h = H::start().await;
    let (url, seen) = receiver(Duration::from_secs(3)).await;
    registered(&h, &hook(&url, &["epayments.payment.created.v1"])).await;
    let start = Instant::now();
    for i in 0..3 {
        h.created(&format!("webhook-slow-ref-{i}"), 1000).await;
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "API calls took {:?}",
        start.elapsed()
    );
    // the three payments have separate queues: all three are being delivered at once
    wait_for(&seen, 3).await;
}

/// A receiver on 127.0.0.1 that answers the `n`-th delivery (0-based) with `answer(n)`, and
/// counts them.
async fn scripted_receiver(answer: fn(usize) -> http::StatusCode) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::post;
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let app = axum::Router::new().route(
        "/scripted",
        post(move || {
            let c = Arc::clone(&c);
            async move { answer(c.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/scripted"), count)
}

/// An emulator whose webhook deliveries are tried once each.
async fn one_attempt_each() -> H {
    let h = H::start().await;
    h.emu.state().set_webhook_retry_schedule(vipps_emulator::RetrySchedule {
        max_attempts: 1,
        initial_backoff_ms: 1,
        max_backoff_ms: 1,
        timeout_ms: 5_000,
    });
    h
}

/// Waits until at least `attempts` webhook delivery attempts are logged, all finished.
async fn deliveries_settled(h: &H, attempts: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = h.deliveries("webhook").await;
        let all = v["deliveries"].as_array().unwrap();
        if all.len() >= attempts && all.iter().all(|d| d["finished"] == true) {
            return;
        }
        assert!(Instant::now() < deadline, "deliveries did not settle: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Advances the emulator's clock by `days` and fetches a token valid at the new time.
async fn days_later(h: &mut H, days: i64) {
    h.advance(days * 86_400).await;
    h.token = fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
}

fn ids(list: &Value) -> Vec<String> {
    list["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_webhook_whose_deliveries_fail_for_two_weeks_is_deleted() {
    let mut h = one_attempt_each().await;
    let (down_url, failures) = scripted_receiver(|_| http::StatusCode::INTERNAL_SERVER_ERROR).await;
    let (down_id, _) = registered(&h, &hook(&down_url, &["epayments.payment.created.v1"])).await;
    let (up_url, seen) = receiver(Duration::ZERO).await;
    let (up_id, _) = registered(&h, &hook(&up_url, &["epayments.payment.created.v1"])).await;
    let failed = || failures.load(std::sync::atomic::Ordering::SeqCst);

    // Day 0: the first failure starts the count.
    h.created("webhook-dead-ref-1", 1000).await;
    deliveries_settled(&h, 2).await;
    assert_eq!(failed(), 1);

    // Day 13: still failing, not yet two weeks: kept.
    days_later(&mut h, 13).await;
    h.created("webhook-dead-ref-2", 1000).await;
    deliveries_settled(&h, 4).await;
    assert_eq!(failed(), 2);
    assert!(ids(&list(&h).await.0).contains(&down_id));

    // Day 15: failing for more than two weeks: deleted; the healthy webhook stays.
    days_later(&mut h, 2).await;
    h.created("webhook-dead-ref-3", 1000).await;
    deliveries_settled(&h, 6).await;
    assert_eq!(ids(&list(&h).await.0), vec![up_id.clone()]);
    assert_eq!(seen.lock().len(), 3, "the healthy webhook got every event");

    // Nothing is sent to the deleted webhook any more.
    h.created("webhook-dead-ref-4", 1000).await;
    wait_for(&seen, 4).await;
    deliveries_settled(&h, 7).await;
    assert_eq!(failed(), 3);
}

#[tokio::test]
async fn a_delivered_event_restarts_the_two_week_count() {
    let mut h = one_attempt_each().await;
    // Down for the first event, up for the second, down again after.
    let (url, calls) = scripted_receiver(|n| {
        if n == 1 {
            http::StatusCode::OK
        } else {
            http::StatusCode::SERVICE_UNAVAILABLE
        }
    })
    .await;
    let (id, _) = registered(&h, &hook(&url, &["epayments.payment.created.v1"])).await;

    h.created("webhook-flaky-ref-1", 1000).await; // day 0: fails
    deliveries_settled(&h, 1).await;
    days_later(&mut h, 10).await;
    h.created("webhook-flaky-ref-2", 1000).await; // day 10: delivered, the count restarts
    deliveries_settled(&h, 2).await;
    days_later(&mut h, 10).await;
    h.created("webhook-flaky-ref-3", 1000).await; // day 20: fails, the first failure since day 10
    deliveries_settled(&h, 3).await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(ids(&list(&h).await.0), vec![id]);
}

/// A merchant who waits for the webhook instead of polling hears of an expiry: the emulator
/// ends a payment nobody acted on when its time runs out, not only when somebody reads it.
#[tokio::test]
async fn an_expiry_is_delivered_without_anybody_reading_the_payment() {
    let h = H::start().await;
    let (url, seen) = receiver(Duration::ZERO).await;
    registered(&h, &hook(&url, &["epayments.payment.expired.v1"])).await;
    h.created("webhook-expiry-01", 1000).await;
    // Advancing the clock ends what ran out at once.
    h.advance(601).await;
    wait_for(&seen, 1).await;
    let ev: Value = serde_json::from_slice(&seen.lock()[0].2).unwrap();
    assert_eq!(ev["name"], "EXPIRED", "{ev}");
    assert_eq!(ev["reference"], "webhook-expiry-01");
    assert_eq!(ev["idempotencyKey"], "create-webhook-expiry-01");
    // Once, however often it is read afterwards.
    assert_eq!(h.get("webhook-expiry-01").await["state"], "EXPIRED");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(seen.lock().len(), 1);
}

/// The same on the emulator's real-time clock: the background sweep (every second) ends a
/// payment when its deadline passes.
#[tokio::test]
async fn an_expiry_on_the_real_clock_is_delivered_by_the_sweep() {
    let h = H::with(vipps_emulator::EmulatorConfig {
        payment_expiry_secs: 1,
        ..vipps_emulator::EmulatorConfig::default()
    })
    .await;
    let (url, seen) = receiver(Duration::ZERO).await;
    registered(&h, &hook(&url, &["epayments.payment.expired.v1"])).await;
    h.created("webhook-expiry-02", 1000).await;
    wait_for(&seen, 1).await;
    let ev: Value = serde_json::from_slice(&seen.lock()[0].2).unwrap();
    assert_eq!(ev["name"], "EXPIRED", "{ev}");
    assert_eq!(ev["reference"], "webhook-expiry-02");
}

/// Security issue, item 1: loopback-looking URLs whose parsed host is elsewhere, or that carry
/// credentials over plain http, are refused; the check decides on the host the client uses.
#[tokio::test]
async fn loopback_lookalike_urls_are_refused() {
    let h = H::start().await;
    for url in [
        "http://127.attacker.example/h",
        "http://localhost.attacker.example/h",
        "http://evil.example\\@127.0.0.1:9/h",
        "http://127.0.0.1@evil.example/h",
        "http://user:pw@127.0.0.1:9/h",
    ] {
        let r = register(&h, &hook(url, &["epayments.payment.created.v1"])).await;
        let p = problem(r, 400, None).await;
        assert_eq!(p["extraDetails"][0]["name"], "url", "{url} → {p}");
    }
    let (v, _) = list(&h).await;
    assert_eq!(v, json!({"webhooks": []}));
}

/// Security issue, item 5: the delivery log is read a page at a time (`?limit=&after=`),
/// pages join up to the whole log, and a bad `limit` is a 400 in problem form.
#[tokio::test]
async fn the_delivery_log_is_paginated() {
    let h = one_attempt_each().await;
    registered(
        &h,
        &hook("http://127.0.0.1:1/closed", &["epayments.payment.created.v1"]),
    )
    .await;
    for i in 0..5 {
        h.created(&format!("page-ref-{i:03}"), 1000).await;
    }
    deliveries_settled(&h, 5).await;
    let whole = h.deliveries("webhook").await;
    assert!(whole.get("next").is_none(), "{whole}");
    let whole = whole["deliveries"].as_array().unwrap().clone();
    assert_eq!(whole.len(), 5);
    assert_eq!(whole[0]["body"]["reference"], "page-ref-000", "bodies are JSON");

    let mut joined = Vec::new();
    let mut after: Option<u64> = None;
    for _ in 0..5 {
        let q = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let v: Value = h
            .http
            .get(h.url(&format!("/_emulator/deliveries?kind=webhook&limit=2{q}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = v["deliveries"].as_array().unwrap();
        assert!(page.len() <= 2, "{v}");
        joined.extend(page.iter().cloned());
        match v.get("next") {
            Some(n) => after = Some(n.as_u64().unwrap()),
            None => break,
        }
    }
    assert_eq!(joined, whole);

    for bad in ["limit=0", "limit=x", "limit=10001", "after=-1"] {
        let r = h
            .http
            .get(h.url(&format!("/_emulator/deliveries?{bad}")))
            .send()
            .await
            .unwrap();
        let p = problem(r, 400, None).await;
        assert_eq!(p["extraDetails"][0]["name"], bad.split('=').next().unwrap(), "{p}");
    }
}
