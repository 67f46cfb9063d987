//! Checkout API v3 against the emulator over HTTP: errors, idempotency, callbacks (retries),
//! dynamic shipping (used, timeout and empty-answer fallbacks), TTL expiry, the page and SDK.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use vipps_emulator::{Emulator, RunningEmulator};

mod common;

fn ck(emu: &RunningEmulator, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    let m = emu.merchant();
    reqwest::Client::new()
        .request(method, format!("{}{path}", emu.base_url()))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .header("Vipps-System-Name", "checkout-tests")
}

fn session(reference: &str, callback: &str) -> Value {
    json!({
        "type": "PAYMENT",
        "reference": reference,
        "merchantInfo": {
            "callbackUrl": callback,
            "returnUrl": "https://example.com/return",
            "callbackAuthorizationToken": "cb-secret-123"
        },
        "transaction": {
            "amount": {"value": 10000, "currency": "NOK"},
            "reference": reference,
            "paymentDescription": "Socks"
        },
        "logistics": {"fixedOptions": [
            {"brand": "POSTEN", "id": "posten-1", "priority": 1, "isDefault": false, "amount": {"value": 4900, "currency": "NOK"}, "type": "PICKUP_POINT"},
            {"brand": "OTHER", "id": "store", "priority": 0, "isDefault": true, "title": "Store pickup", "amount": {"value": 0, "currency": "NOK"}}
        ]}
    })
}

async fn create(emu: &RunningEmulator, body: &Value) -> Value {
    let r = ck(emu, reqwest::Method::POST, "/checkout/v3/session")
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn get(emu: &RunningEmulator, reference: &str) -> reqwest::Response {
    ck(emu, reqwest::Method::GET, &format!("/checkout/v3/session/{reference}"))
        .send()
        .await
        .unwrap()
}

async fn control(emu: &RunningEmulator, reference: &str, action: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/_emulator/checkout/{reference}/{action}", emu.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// What a receiver got: (Authorization, body).
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone)]
struct Rx {
    seen: Seen,
    fail_first: usize,
}

async fn receive(State(rx): State<Rx>, headers: HeaderMap, Json(v): Json<Value>) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut seen = rx.seen.lock();
    seen.push((auth, v));
    if seen.len() <= rx.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn shipping(State(seen): State<Seen>, headers: HeaderMap, Json(v): Json<Value>) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    seen.lock().push((auth, v));
    Json(json!([
        {"brand": "POSTNORD", "id": "dyn-home", "priority": 0, "isDefault": true, "type": "HOME_DELIVERY", "amount": {"value": 9900, "currency": "NOK"}}
    ]))
}

async fn slow() -> Json<Value> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    Json(
        json!([{"brand": "OTHER", "id": "too-late", "priority": 0, "isDefault": true, "title": "Late", "amount": {"value": 1, "currency": "NOK"}}]),
    )
}

async fn empty() -> Json<Value> {
    Json(json!([]))
}

/// A receiver on 127.0.0.1:0 (callback at `/cb`, dynamic shipping at `/ship`, `/slow`, `/empty`).
async fn receiver(fail_first: usize) -> (String, Seen, Seen) {
    let seen: Seen = Default::default();
    let ship: Seen = Default::default();
    let app = Router::new()
        .route("/cb", post(receive))
        .with_state(Rx {
            seen: seen.clone(),
            fail_first,
        })
        .merge(Router::new().route("/ship", post(shipping)).with_state(ship.clone()))
        .route("/slow", post(slow))
        .route("/empty", post(empty));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen, ship)
}

async fn deliveries(emu: &RunningEmulator, reference: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!(
        "{}/_emulator/deliveries?kind=checkout-callback&reference={reference}",
        emu.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    v["deliveries"].as_array().unwrap().clone()
}

async fn wait_for<F: Fn(&[Value]) -> bool>(emu: &RunningEmulator, reference: &str, f: F) -> Vec<Value> {
    for _ in 0..100 {
        let d = deliveries(emu, reference).await;
        if f(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries never matched: {:?}", deliveries(emu, reference).await);
}

#[tokio::test]
async fn create_get_errors_conflicts_and_idempotency() {
    let emu = Emulator::start().await.unwrap();
    let base = emu.base_url();
    let body = session("ck-api-0001", "https://example.com/cb");
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
        .header("Authorization", "Bearer not-a-token-and-ignored")
        .header("Idempotency-Key", "key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["checkoutFrontendUrl"], format!("{base}/checkout/v3/frontend"));
    assert_eq!(created["pollingUrl"], format!("{base}/checkout/v3/session/ck-api-0001"));
    assert!(created["token"].as_str().unwrap().len() > 20);

    // identical retry: the same answer; another body with the key: 409
    let again: Value = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
        .header("Idempotency-Key", "key-1")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, created);
    let mut other = body.clone();
    other["transaction"]["paymentDescription"] = json!("Other socks");
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
        .header("Idempotency-Key", "key-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // duplicate reference
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.headers()["content-type"],
        "application/json",
        "as the Checkout reference documents it"
    );
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errorCode"], "Session-00200");

    // validation: the errors map
    let mut bad = session("short", "https://example.com/cb");
    bad.as_object_mut().unwrap().remove("reference");
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errorCode"], "Validation-00001");
    assert!(
        p["errors"]["Transaction.Reference"][0].as_str().unwrap().contains("8"),
        "{p}"
    );

    // long Vipps-System-* header
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
        .header("Vipps-System-Plugin-Name", "x".repeat(31))
        .json(&session("ck-api-0002", "https://example.com/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // GET
    let s: Value = get(&emu, "ck-api-0001").await.json().await.unwrap();
    assert_eq!(s["sessionState"], "SessionCreated");
    assert_eq!(s["merchantSerialNumber"], emu.merchant().msn);
    assert_eq!(s["paymentDetails"]["amount"]["value"], 10000);
    // The stored spec requires a state in paymentDetails; before any payment it is CREATED.
    assert_eq!(s["paymentDetails"]["state"], "CREATED", "{s}");
    let r = get(&emu, "ck-api-unknown").await;
    assert_eq!(r.status(), 404);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errorCode"], "Session-00100");

    // authentication
    let m = emu.merchant();
    let r = reqwest::Client::new()
        .get(format!("{base}/checkout/v3/session/ck-api-0001"))
        .header("client_id", &m.client_id)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = ck(&emu, reqwest::Method::GET, "/checkout/v3/session/ck-api-0001")
        .header("client_secret", "wrong")
        .send()
        .await
        .unwrap();
    assert!(r.status() == 401 || r.status() == 200, "{}", r.status());

    // PATCH before payment, then not after
    let r = ck(&emu, reqwest::Method::PATCH, "/checkout/v3/session/ck-api-0001")
        .json(&json!({"transaction": {"amount": {"value": 20000, "currency": "NOK"}, "paymentDescription": "More socks"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["paymentDetails"]["amount"]["value"], 20000);
    let r = control(&emu, "ck-api-0001", "initiate", json!({})).await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["sessionState"], "PaymentInitiated");
    assert_eq!(s["paymentDetails"]["state"], "CREATED");
    assert_eq!(s["paymentDetails"]["amount"]["value"], 20000); // store pickup is free
    let r = ck(&emu, reqwest::Method::PATCH, "/checkout/v3/session/ck-api-0001")
        .json(&json!({"transaction": {"amount": {"value": 30000, "currency": "NOK"}, "paymentDescription": "More socks"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errorCode"], "Session-00300");

    // expire ends the in-flight payment (TERMINATED); a second expire is a no-op
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session/ck-api-0001/expire")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s: Value = get(&emu, "ck-api-0001").await.json().await.unwrap();
    assert_eq!(s["sessionState"], "SessionExpired");
    assert_eq!(s["paymentDetails"]["state"], "TERMINATED");
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session/ck-api-0001/expire")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A path reference no session can have is not found, like any unknown one.
    let r = get(&emu, "%7B%7BorderId%7D%7D").await;
    assert_eq!(r.status(), 404);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errorCode"], "Session-00100", "{p}");

    // The reference lists text/json next to application/json for the request body.
    let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
        .header("Content-Type", "text/json")
        .body(session("ck-api-0002", "https://example.com/cb").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn callback_is_retried_until_2xx_and_not_after() {
    let emu = Emulator::start().await.unwrap();
    let (url, seen, _) = receiver(2).await;
    create(&emu, &session("ck-cb-0001", &format!("{url}/cb"))).await;
    let r = control(&emu, "ck-cb-0001", "complete", json!({"shippingOptionId": "posten-1"})).await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["sessionState"], "PaymentSuccessful");
    assert_eq!(s["paymentDetails"]["amount"]["value"], 14900);
    assert_eq!(s["shippingDetails"]["shippingMethodId"], "posten-1");
    assert_eq!(s["billingDetails"]["firstName"], "Ola");

    let d = wait_for(&emu, "ck-cb-0001", |d| d.iter().any(|a| a["success"] == true)).await;
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(d[0]["status"], 500);
    assert_eq!(d[2]["status"], 200);
    assert_eq!(d[2]["event"], "PaymentSuccessful");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(deliveries(&emu, "ck-cb-0001").await.len(), 3, "retried after a 2xx");
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 3);
    for (auth, body) in &seen {
        assert_eq!(auth.as_deref(), Some("cb-secret-123"));
        assert_eq!(body["reference"], "ck-cb-0001");
        assert_eq!(body["sessionState"], "PaymentSuccessful");
        assert_eq!(body["paymentDetails"]["state"], "AUTHORIZED");
    }
    // the callback body is the session as GET shows it
    let got: Value = get(&emu, "ck-cb-0001").await.json().await.unwrap();
    assert_eq!(got, seen[2].1);
    emu.shutdown().await;
}

#[tokio::test]
async fn callback_gives_up_after_four_attempts() {
    let emu = Emulator::start().await.unwrap();
    let (url, seen, _) = receiver(100).await;
    create(&emu, &session("ck-cb-0002", &format!("{url}/cb"))).await;
    let s: Value = control(&emu, "ck-cb-0002", "abort", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["sessionState"], "PaymentTerminated");
    assert_eq!(s["paymentDetails"]["state"], "TERMINATED");
    // Cancelled before entering anything: no customer details are made up.
    assert!(
        s.get("shippingDetails").is_none() && s.get("billingDetails").is_none(),
        "{s}"
    );
    let d = wait_for(&emu, "ck-cb-0002", |d| d.iter().any(|a| a["finished"] == true)).await;
    assert_eq!(d.len(), 4);
    assert!(d.iter().all(|a| a["success"] == false));
    assert_eq!(seen.lock().len(), 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn dynamic_shipping_is_used_and_falls_back() {
    let emu = Emulator::start().await.unwrap();
    emu.state()
        .set_checkout_dynamic_shipping_timeout(Duration::from_millis(300));
    let (url, _, ship) = receiver(0).await;
    for (reference, path) in [
        ("ck-dyn-0001", "ship"),
        ("ck-dyn-0002", "slow"),
        ("ck-dyn-0003", "empty"),
    ] {
        let mut body = session(reference, "https://example.com/cb");
        body["logistics"]["dynamicOptionsCallback"] = json!(format!("{url}/{path}"));
        create(&emu, &body).await;
    }
    let addr =
        json!({"address": {"streetAddress": "Storgata 1", "postalCode": "0155", "city": "Oslo", "country": "NO"}});

    let s: Value = control(&emu, "ck-dyn-0001", "complete", addr.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["shippingDetails"]["shippingMethodId"], "dyn-home");
    assert_eq!(s["shippingDetails"]["amount"]["value"], 9900);
    assert_eq!(s["shippingDetails"]["streetAddress"], "Storgata 1");
    assert_eq!(s["paymentDetails"]["amount"]["value"], 19900);
    let calls = ship.lock().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0.as_deref(), Some("cb-secret-123"));
    assert_eq!(
        calls[0].1,
        json!({"streetAddress": "Storgata 1", "postalCode": "0155", "region": "Oslo", "country": "NO"})
    );

    let t0 = std::time::Instant::now();
    let s: Value = control(&emu, "ck-dyn-0002", "complete", addr.clone())
        .await
        .json()
        .await
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2), "the timeout was not applied");
    assert_eq!(s["shippingDetails"]["shippingMethodId"], "store", "{s}");
    let v: Value = reqwest::get(format!("{}/_emulator/checkout/ck-dyn-0002", emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["shippingLookups"][0]["used"], "fixed");
    assert_eq!(v["shippingLookups"][0]["fallbackReason"], "timed out");

    let s: Value = control(&emu, "ck-dyn-0003", "complete", addr)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["shippingDetails"]["shippingMethodId"], "store");
    let v: Value = reqwest::get(format!("{}/_emulator/checkout/ck-dyn-0003", emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["shippingLookups"][0]["fallbackReason"], "empty answer");
    emu.shutdown().await;
}

#[tokio::test]
async fn ttl_expiry_on_the_emulator_clock_sends_a_callback() {
    let emu = Emulator::start().await.unwrap();
    let (url, seen, _) = receiver(0).await;
    create(&emu, &session("ck-ttl-0001", &format!("{url}/cb"))).await;
    emu.clock().advance(Duration::from_secs(59 * 60));
    let s: Value = get(&emu, "ck-ttl-0001").await.json().await.unwrap();
    assert_eq!(s["sessionState"], "SessionCreated");
    emu.clock().advance(Duration::from_secs(2 * 60));
    let s: Value = get(&emu, "ck-ttl-0001").await.json().await.unwrap();
    assert_eq!(s["sessionState"], "SessionExpired");
    let d = wait_for(&emu, "ck-ttl-0001", |d| d.iter().any(|a| a["success"] == true)).await;
    assert_eq!(d[0]["event"], "SessionExpired");
    assert_eq!(seen.lock()[0].1["sessionState"], "SessionExpired");
    // the customer can no longer pay
    let r = control(&emu, "ck-ttl-0001", "complete", json!({})).await;
    assert_eq!(r.status(), 409);
    // after the retention window: 404
    emu.clock().advance(Duration::from_secs(25 * 3600));
    assert_eq!(get(&emu, "ck-ttl-0001").await.status(), 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn sweep_ends_expired_sessions_without_a_read() {
    let emu = Emulator::start().await.unwrap();
    let (url, _, _) = receiver(0).await;
    create(&emu, &session("ck-ttl-0002", &format!("{url}/cb"))).await;
    emu.clock().advance(Duration::from_secs(3601));
    let d = wait_for(&emu, "ck-ttl-0002", |d| d.iter().any(|a| a["success"] == true)).await;
    assert_eq!(d[0]["event"], "SessionExpired");
    emu.shutdown().await;
}

#[tokio::test]
async fn page_and_sdk_are_served_and_escaped() {
    let emu = Emulator::start().await.unwrap();
    let mut body = session("ck-page-0001", "https://example.com/cb");
    body["transaction"]["paymentDescription"] = json!("<script>alert('x')</script>");
    body["configuration"] = json!({"customConsent": {"text": "Send me news", "required": true}, "elements": "Full"});
    let created = create(&emu, &body).await;
    let token = created["token"].as_str().unwrap();
    let front = created["checkoutFrontendUrl"].as_str().unwrap();
    let http = reqwest::Client::new();

    let html = http
        .get(format!("{front}?token={token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") || html.contains("&lt;script&gt;"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("postMessage") && html.contains("id=\"pay\""));
    assert!(!html.contains("src=\"http"), "no external resources");

    let js = http
        .get(format!("{}/vippsCheckoutSDK.js", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert!(js.headers()["content-type"].to_str().unwrap().contains("javascript"));
    let js = js.text().await.unwrap();
    for needle in [
        "VippsCheckoutDirect",
        "redirectToCurrentPageWithToken",
        "session_status_changed",
        "iFrameContainerId",
    ] {
        assert!(js.contains(needle), "{needle}");
    }

    let view: Value = http
        .get(format!("{front}/api/session?token={token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["fixedOptions"][0]["id"], "store", "sorted by priority");
    assert_eq!(view["customConsent"]["required"], true);

    // consent required
    let r = http
        .post(format!("{front}/api/pay?token={token}"))
        .json(&json!({"consent": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r: Value = http
        .post(format!("{front}/api/pay?token={token}"))
        .json(&json!({"consent": true, "shippingOptionId": "posten-1", "customer": {"firstName": "Kari"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["event"], "PaymentSuccessful");
    assert_eq!(r["returnUrl"], "https://example.com/return");
    assert_eq!(r["session"]["customConsentProvided"], true);
    assert_eq!(r["session"]["billingDetails"]["firstName"], "Kari");
    let r = http
        .get(format!("{front}/api/session?token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    emu.shutdown().await;
}

/// Completes a session through the control plane and returns the session it answers.
async fn completed(emu: &RunningEmulator, reference: &str, body: Value) -> Value {
    let r = control(emu, reference, "complete", body).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_pickup_point_option_fills_in_the_pickup_point() {
    let emu = Emulator::start().await.unwrap();
    for reference in ["ck-pickup-0001", "ck-pickup-0002", "ck-pickup-0003"] {
        create(&emu, &session(reference, "https://example.com/cb")).await;
    }
    let addr = json!({"streetAddress": "Storgata 1", "postalCode": "0155", "city": "Oslo", "country": "NO"});

    // The POSTEN PICKUP_POINT option without a choice: the emulator picks one near the customer.
    let s = completed(
        &emu,
        "ck-pickup-0001",
        json!({"address": addr, "shippingOptionId": "posten-1"}),
    )
    .await;
    let pp = &s["shippingDetails"]["pickupPoint"];
    assert_eq!(s["shippingDetails"]["shippingMethodId"], "posten-1", "{s}");
    assert_eq!(pp["id"], "emulator-posten-1", "{s}");
    assert_eq!(pp["postalCode"], "0155");
    assert_eq!(pp["city"], "Oslo");
    assert_eq!(pp["country"], "NO");
    assert!(pp["name"].as_str().unwrap().contains("POSTEN"), "{pp}");

    // The customer's own choice is kept as given.
    let chosen = json!({"id": "123456", "name": "Kiwi Storgata", "address": "Storgata 2", "postalCode": "0155",
        "city": "Oslo", "country": "NO", "openingHours": ["Man-Fre: 0700-2300"]});
    let s = completed(
        &emu,
        "ck-pickup-0002",
        json!({"address": addr, "shippingOptionId": "posten-1", "pickupPoint": chosen}),
    )
    .await;
    assert_eq!(s["shippingDetails"]["pickupPoint"], chosen, "{s}");

    // Another kind of option has no pickup point.
    let s = completed(
        &emu,
        "ck-pickup-0003",
        json!({"address": addr, "shippingOptionId": "store"}),
    )
    .await;
    assert_eq!(s["shippingDetails"]["shippingMethodId"], "store", "{s}");
    assert!(s["shippingDetails"].get("pickupPoint").is_none(), "{s}");
}

/// A `SUBSCRIPTION` session (seed 002's shape), with or without an initial payment.
fn subscription_session(reference: &str, callback: &str, initial: Option<i64>) -> Value {
    let mut body = json!({
        "type": "SUBSCRIPTION",
        "reference": reference,
        "merchantInfo": {
            "callbackUrl": callback,
            "returnUrl": "https://example.com/return",
            "callbackAuthorizationToken": "cb-secret-123"
        },
        "subscription": {
            "productName": "Bi-Weekly Socks",
            "amount": {"value": 9900, "currency": "NOK"},
            "interval": {"unit": "WEEK", "count": 2},
            "merchantAgreementUrl": "https://example.com/vipps/subscription/socks",
            "productDescription": "One pair of socks every other week",
            "campaign": {"type": "PERIOD_CAMPAIGN", "price": 100, "period": {"unit": "MONTH", "count": 1}}
        },
        "configuration": {"elements": "PaymentOnly"}
    });
    if let Some(value) = initial {
        body["transaction"] = json!({
            "amount": {"value": value, "currency": "NOK"},
            "paymentDescription": "First pair of socks"
        });
    }
    body
}

/// An ePayment API request with the default merchant's access token.
async fn epayment(emu: &RunningEmulator, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    let m = emu.merchant();
    let http = reqwest::Client::new();
    let token = common::fetch_token(&http, &emu.base_url(), m).await;
    http.request(method, format!("{}{path}", emu.base_url()))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
}

/// Whether the ePayment API knows a payment with this reference.
async fn has_payment(emu: &RunningEmulator, reference: &str) -> bool {
    let r = epayment(emu, reqwest::Method::GET, &format!("/epayment/v1/payments/{reference}"))
        .await
        .send()
        .await
        .unwrap();
    match r.status().as_u16() {
        200 => true,
        404 => false,
        other => panic!("GET payment answered {other}"),
    }
}

#[tokio::test]
async fn subscription_sessions_carry_an_agreement_that_follows_the_session() {
    let emu = Emulator::start().await.unwrap();
    let (url, seen, _) = receiver(0).await;
    let cb = format!("{url}/cb");

    // Without a transaction: an agreement and no payment.
    create(&emu, &subscription_session("ck-sub-0001", &cb, None)).await;
    let s: Value = get(&emu, "ck-sub-0001").await.json().await.unwrap();
    assert_eq!(s["sessionState"], "SessionCreated", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "PENDING", "{s}");
    let agreement = s["subscriptionDetails"]["agreementId"].as_str().unwrap().to_owned();
    assert!(agreement.starts_with("agr_") && agreement.len() == 11, "{agreement}");
    assert!(s.get("paymentDetails").is_none(), "{s}");

    let s = completed(&emu, "ck-sub-0001", json!({})).await;
    assert_eq!(s["sessionState"], "PaymentSuccessful", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "ACTIVE");
    assert_eq!(s["subscriptionDetails"]["agreementId"], agreement.as_str());
    assert!(s.get("paymentDetails").is_none(), "{s}");
    assert!(
        !has_payment(&emu, "ck-sub-0001").await,
        "no initial payment was asked for"
    );
    wait_for(&emu, "ck-sub-0001", |d| d.iter().any(|a| a["success"] == true)).await;
    let body = seen.lock()[0].1.clone();
    assert_eq!(body["subscriptionDetails"]["state"], "ACTIVE", "{body}");
    assert_eq!(body["subscriptionDetails"]["agreementId"], agreement.as_str());

    // With a transaction: the initial payment is an ePayment payment, authorized on accept.
    create(&emu, &subscription_session("ck-sub-0002", &cb, Some(4900))).await;
    let s = completed(&emu, "ck-sub-0002", json!({})).await;
    assert_eq!(s["sessionState"], "PaymentSuccessful", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "ACTIVE");
    assert_eq!(s["paymentDetails"]["state"], "AUTHORIZED");
    assert_eq!(s["paymentDetails"]["amount"], json!({"value": 4900, "currency": "NOK"}));
    assert!(has_payment(&emu, "ck-sub-0002").await);

    // Rejected: STOPPED, and the initial payment is terminated.
    create(&emu, &subscription_session("ck-sub-0003", &cb, Some(4900))).await;
    let r = control(&emu, "ck-sub-0003", "abort", json!({})).await;
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["sessionState"], "PaymentTerminated", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "STOPPED");
    assert_eq!(s["paymentDetails"]["state"], "TERMINATED");
    create(&emu, &subscription_session("ck-sub-0004", &cb, None)).await;
    let s: Value = control(&emu, "ck-sub-0004", "abort", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["sessionState"], "PaymentTerminated", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "STOPPED");

    // Started but never answered: EXPIRED with the session, on the emulator clock.
    create(&emu, &subscription_session("ck-sub-0005", &cb, None)).await;
    let s: Value = control(&emu, "ck-sub-0005", "initiate", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["sessionState"], "PaymentInitiated", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "PENDING");
    emu.clock().advance(Duration::from_secs(3601));
    let s: Value = get(&emu, "ck-sub-0005").await.json().await.unwrap();
    assert_eq!(s["sessionState"], "SessionExpired", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "EXPIRED");
    emu.shutdown().await;
}

#[tokio::test]
async fn subscription_sessions_are_validated_and_shown_on_the_page() {
    let emu = Emulator::start().await.unwrap();
    let post = |body: Value| {
        ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
            .json(&body)
            .send()
    };

    // The agreement's amount in another currency than the merchant's.
    let mut body = subscription_session("ck-sub-0101", "https://example.com/cb", None);
    body["subscription"]["amount"]["currency"] = json!("EUR");
    let r = post(body).await.unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(e["errors"].get("Subscription.Amount.Currency").is_some(), "{e}");

    // No subscription, a zero interval, a subscription on a PAYMENT session, no reference.
    type Change = fn(&mut Value);
    let cases: [(&str, Change); 6] = [
        ("Subscription", |b| {
            b.as_object_mut().unwrap().remove("subscription");
        }),
        // Shipping is charged with the initial payment: without one, no logistics.
        ("Logistics", |b| {
            b["logistics"] = json!({"fixedOptions": [{"brand": "POSTEN", "id": "p", "priority": 0, "isDefault": true,
                "amount": {"value": 4900, "currency": "NOK"}, "type": "MAILBOX"}]});
        }),
        // An initial payment of 0 without shipping: the total can never be 0.
        ("Transaction.Amount.Value", |b| {
            b["transaction"] = json!({"amount": {"value": 0, "currency": "NOK"}, "paymentDescription": "First"});
        }),
        ("Subscription.Interval.Count", |b| {
            b["subscription"]["interval"]["count"] = json!(0)
        }),
        ("Subscription", |b| {
            b["type"] = json!("PAYMENT");
            b["transaction"] = json!({"amount": {"value": 100, "currency": "NOK"}, "paymentDescription": "x"});
        }),
        ("Reference", |b| {
            b.as_object_mut().unwrap().remove("reference");
        }),
    ];
    for (field, change) in cases {
        let mut body = subscription_session("ck-sub-0102", "https://example.com/cb", None);
        change(&mut body);
        let r = post(body).await.unwrap();
        assert_eq!(r.status(), 400, "{field}");
        let e: Value = r.json().await.unwrap();
        assert!(e["errors"].get(field).is_some(), "{field}: {e}");
    }

    // PATCH cannot add an initial payment to a session without one.
    create(
        &emu,
        &subscription_session("ck-sub-0104", "https://example.com/cb", None),
    )
    .await;
    let r = ck(&emu, reqwest::Method::PATCH, "/checkout/v3/session/ck-sub-0104")
        .json(&json!({"transaction": {"amount": {"value": 4900, "currency": "NOK"}, "paymentDescription": "First"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let s: Value = get(&emu, "ck-sub-0104").await.json().await.unwrap();
    assert!(s.get("paymentDetails").is_none(), "{s}");

    // A session's reference is taken, even before its payment exists.
    let r = epayment(&emu, reqwest::Method::POST, "/epayment/v1/payments")
        .await
        .header("Idempotency-Key", "reuse-1")
        .json(
            &json!({"amount": {"value": 1000, "currency": "NOK"}, "paymentMethod": {"type": "WALLET"},
            "reference": "ck-sub-0104", "userFlow": "WEB_REDIRECT", "returnUrl": "https://example.com/r"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["extraDetails"][0]["reason"], "4150", "{e}");

    // The Checkout page says what the customer agrees to.
    let mut body = subscription_session("ck-sub-0103", "https://example.com/cb", None);
    body["subscription"]["campaign"]["period"]["count"] = json!(3);
    let created = create(&emu, &body).await;
    let page = reqwest::get(format!(
        "{}?token={}",
        created["checkoutFrontendUrl"].as_str().unwrap(),
        created["token"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(page.contains("<h1 id=\"description\">Bi-Weekly Socks</h1>"), "{page}");
    assert!(
        page.contains("1.00 NOK for the first 3 months, then 99.00 NOK every 2 weeks"),
        "{page}"
    );
    assert!(
        page.contains("<html lang=\"en\">") && page.contains(">Pay</button>"),
        "{page}"
    );

    // The frontend SDK's `language: "no"` arrives as `lang=no`: the page is in Norwegian.
    let url = format!(
        "{}?token={}&lang=no",
        created["checkoutFrontendUrl"].as_str().unwrap(),
        created["token"].as_str().unwrap()
    );
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    for text in [
        "<html lang=\"no\">",
        ">Betal</button>",
        ">Avbryt</button>",
        "Abonnement: <strong>1.00 NOK i 3 måneder, deretter 99.00 NOK hver 2. uke</strong>",
        "Å betale nå",
        "Referanse ck-sub-0103",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
    // Unknown languages fall back to English.
    let page = reqwest::get(url.replace("lang=no", "lang=xx"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    emu.shutdown().await;
}

/// `configuration.countries.supported`: the customer can only pay with an address in one of
/// them, and the test customer made up for a session that does not ship to Norway lives in
/// the first of them.
#[tokio::test]
async fn only_supported_countries_can_be_chosen() {
    let emu = Emulator::start().await.unwrap();
    // A session limited to `supported`, completed in the control plane with `customer`: the
    // session as it then reads (it must be paid).
    let paid = |reference: &'static str, supported: Value, prefill: Option<Value>, customer: Value| {
        let emu = &emu;
        async move {
            let mut body = session(reference, "https://example.com/cb");
            body["configuration"] = json!({"countries": {"supported": supported}});
            if let Some(p) = prefill {
                body["prefillCustomer"] = p;
            }
            create(emu, &body).await;
            let r = control(emu, reference, "complete", customer).await;
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let se = json!({"streetAddress": "Drottninggatan 1", "postalCode": "11151", "city": "Stockholm", "country": "SE"});
    let no = json!({"address": {"streetAddress": "Storgata 1", "postalCode": "0155", "city": "Oslo", "country": "NO"}});
    let (status, p) = paid("ck-country-01", json!(["NO"]), None, json!({"address": se})).await;
    assert_eq!(status, 400);
    assert_eq!(p["errorCode"], "Validation-00001", "{p}");
    assert!(p["errors"]["Address.Country"].is_array(), "{p}");
    let s: Value = control(&emu, "ck-country-01", "complete", no.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["sessionState"], "PaymentSuccessful", "{s}");
    assert_eq!(s["shippingDetails"]["country"], "NO", "{s}");

    // A prefilled address outside the list is refused too, unless the customer enters another.
    let (status, _) = paid("ck-country-03", json!(["NO"]), Some(se.clone()), json!({})).await;
    assert_eq!(status, 400);
    let s: Value = control(&emu, "ck-country-03", "complete", no)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["sessionState"], "PaymentSuccessful", "{s}");

    // Made up, the test customer lives in the first supported country.
    let (status, s) = paid("ck-country-02", json!(["SE", "DK"]), None, json!({})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["sessionState"], "PaymentSuccessful", "{s}");
    assert_eq!(s["shippingDetails"]["country"], "SE", "{s}");
    // ... with an address and a phone number of that country.
    assert_eq!(s["shippingDetails"]["city"], "Stockholm", "{s}");
    assert_eq!(s["shippingDetails"]["postalCode"], "11151", "{s}");
    let phone = |s: &Value| s["shippingDetails"]["phoneNumber"].as_str().unwrap_or("").to_owned();
    assert!(phone(&s).starts_with("46"), "{s}");
    // A prefilled country alone picks the test customer who lives there, Norway supported or not.
    let (status, s) = paid(
        "ck-country-04",
        json!(["NO", "DK"]),
        Some(json!({"country": "DK"})),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["shippingDetails"]["country"], "DK", "{s}");
    assert_eq!(s["shippingDetails"]["city"], "København V", "{s}");
    assert!(phone(&s).starts_with("45"), "{s}");
    emu.shutdown().await;
}

/// Security issue, item 1: a Checkout session whose callback or dynamic-shipping URL only
/// looks like loopback is refused (the callback token would travel to that host).
#[tokio::test]
async fn loopback_lookalike_callback_urls_are_refused() {
    let emu = Emulator::start().await.unwrap();
    for (i, url) in ["http://127.attacker.example/cb", "http://user:pw@127.0.0.1:9/cb"]
        .iter()
        .enumerate()
    {
        let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
            .json(&session(&format!("lookalike-{i}"), url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{url}");
        let mut body = session(&format!("lookalike-d{i}"), "https://example.com/cb");
        body["logistics"]["dynamicOptionsCallback"] = json!(url);
        let r = ck(&emu, reqwest::Method::POST, "/checkout/v3/session")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "dynamic {url}");
        let text = r.text().await.unwrap();
        assert!(text.contains("dynamicOptionsCallback"), "{text}");
    }
    let r = get(&emu, "lookalike-0").await;
    assert_eq!(r.status(), 404, "nothing was stored");
}
