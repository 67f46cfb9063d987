//! A Checkout `SUBSCRIPTION` session's agreement is a Recurring agreement (checkout--api-guide.md,
//! "subscription"; recurring--agreements-2026.md, recurring--charges-2026.md): drafted with the
//! session, activated when the customer completes it, then read, charged and stopped through
//! `/recurring/v3`, with the Recurring webhooks; the session shows the agreement's real state.

mod common;

use common::H;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps_emulator::EmulatorConfig;

const A: &str = "/recurring/v3/agreements";
const DAY: i64 = 86_400;

async fn start() -> H {
    H::with(EmulatorConfig {
        token_ttl_secs: 400 * DAY,
        ..EmulatorConfig::default()
    })
    .await
}

fn key() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..30].to_owned()
}

async fn send(h: &H, method: Method, path: &str, body: Option<&Value>) -> Response {
    let mut r = h.req(method, path).header("Idempotency-Key", key());
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

async fn get(h: &H, path: &str) -> Value {
    let r = h.req(Method::GET, path).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

/// A `SUBSCRIPTION` session: 99 NOK every second week, with an initial payment if asked.
async fn session(h: &H, reference: &str, initial: Option<i64>) -> String {
    let mut body = json!({
        "type": "SUBSCRIPTION",
        "reference": reference,
        "merchantInfo": {
            "callbackUrl": "https://example.com/cb",
            "returnUrl": "https://example.com/return",
            "callbackAuthorizationToken": "cb-secret-123"
        },
        "subscription": {
            "productName": "Bi-Weekly Socks",
            "amount": {"value": 9900, "currency": "NOK"},
            "interval": {"unit": "WEEK", "count": 2},
            "merchantAgreementUrl": "https://example.com/vipps/subscription/socks",
            "productDescription": "One pair of socks every other week"
        },
        "prefillCustomer": {"phoneNumber": "4791234567"},
        "configuration": {"elements": "PaymentOnly"}
    });
    if let Some(value) = initial {
        body["transaction"] = json!({
            "amount": {"value": value, "currency": "NOK"},
            "paymentDescription": "First pair of socks"
        });
    }
    let r = h
        .checkout(Method::POST, "/checkout/v3/session")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = session_of(h, reference).await;
    assert_eq!(s["subscriptionDetails"]["state"], "PENDING", "{s}");
    s["subscriptionDetails"]["agreementId"].as_str().unwrap().to_owned()
}

async fn session_of(h: &H, reference: &str) -> Value {
    let r = h
        .checkout(Method::GET, &format!("/checkout/v3/session/{reference}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn customer(h: &H, reference: &str, action: &str) -> Value {
    h.control_with(&format!("/_emulator/checkout/{reference}/{action}"), &json!({}))
        .await
}

fn due_in(h: &H, days: i64) -> String {
    (h.emu.clock().now().date() + time::Duration::days(days)).to_string()
}

type Seen = Arc<parking_lot::Mutex<Vec<Value>>>;

/// A webhook receiver registered for every Recurring agreement and charge event.
async fn webhook(h: &H) -> Seen {
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: bytes::Bytes| {
            let s = Arc::clone(&s);
            async move {
                s.lock().push(serde_json::from_slice(&body).unwrap());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let events: Vec<String> = [
        "agreement-activated",
        "agreement-rejected",
        "agreement-stopped",
        "agreement-expired",
        "charge-captured",
    ]
    .iter()
    .map(|e| format!("recurring.{e}.v1"))
    .collect();
    let body = json!({"url": format!("http://{addr}/hook"), "events": events});
    let r = send(h, Method::POST, "/webhooks/v1/webhooks", Some(&body)).await;
    assert_eq!(r.status(), 201);
    seen
}

/// The event types delivered for `agreement`, once `want` of them arrived (or 10 s passed).
async fn events_of(seen: &Seen, agreement: &str, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got: Vec<String> = seen
            .lock()
            .iter()
            .filter(|b| b["agreementId"] == agreement)
            .map(|b| b["eventType"].as_str().unwrap().to_owned())
            .collect();
        if got.len() >= want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_completed_subscription_session_is_an_agreement_to_charge_and_stop() {
    let h = start().await;
    let seen = webhook(&h).await;
    let id = session(&h, "rc-ck-0001", None).await;

    // Drafted in the Recurring API with the session's subscription, PENDING.
    let a = get(&h, &format!("{A}/{id}")).await;
    assert_eq!(a["status"], "PENDING", "{a}");
    assert_eq!(a["productName"], "Bi-Weekly Socks");
    assert_eq!(a["productDescription"], "One pair of socks every other week");
    assert_eq!(a["pricing"]["type"], "LEGACY", "{a}");
    assert_eq!(a["pricing"]["amount"], 9900);
    assert_eq!(a["pricing"]["currency"], "NOK");
    assert_eq!(a["interval"]["unit"], "WEEK", "{a}");
    assert_eq!(a["interval"]["count"], 2);
    assert_eq!(
        a["merchantAgreementUrl"],
        "https://example.com/vipps/subscription/socks"
    );
    assert_eq!(a["merchantRedirectUrl"], "https://example.com/return");
    // The session, not the Recurring API, takes the customer's answer.
    let r = send(
        &h,
        Method::PATCH,
        &format!("{A}/{id}/accept"),
        Some(&json!({"phoneNumber": "4791234567"})),
    )
    .await;
    assert_eq!(r.status(), 400);
    // It waits for the session (one hour), not Recurring's 10 minutes.
    h.advance(11 * 60).await;
    assert_eq!(get(&h, &format!("{A}/{id}")).await["status"], "PENDING");

    let s = customer(&h, "rc-ck-0001", "complete").await;
    assert_eq!(s["sessionState"], "PaymentSuccessful", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "ACTIVE", "{s}");
    let a = get(&h, &format!("{A}/{id}")).await;
    assert_eq!(a["status"], "ACTIVE", "{a}");
    assert!(a["start"].is_string(), "{a}");

    // Charged by the clock like any agreement.
    let body = json!({"amount": 9900, "description": "Socks", "due": due_in(&h, 1), "retryDays": 0, "transactionType": "DIRECT_CAPTURE"});
    let r = send(&h, Method::POST, &format!("{A}/{id}/charges"), Some(&body)).await;
    assert_eq!(r.status(), 201);
    let charge = r.json::<Value>().await.unwrap()["chargeId"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = get(&h, &format!("{A}/{id}/charges/{charge}")).await;
    assert_eq!(c["status"], "DUE", "{c}");
    h.advance(2 * DAY).await;
    let c = get(&h, &format!("{A}/{id}/charges/{charge}")).await;
    assert_eq!(c["status"], "CHARGED", "{c}");

    // Stopped through Recurring: the session shows it.
    let r = send(
        &h,
        Method::PATCH,
        &format!("{A}/{id}"),
        Some(&json!({"status": "STOPPED"})),
    )
    .await;
    assert_eq!(r.status(), 204);
    let s = session_of(&h, "rc-ck-0001").await;
    assert_eq!(s["subscriptionDetails"]["state"], "STOPPED", "{s}");
    assert_eq!(s["subscriptionDetails"]["agreementId"], id.as_str());
    assert_eq!(s["sessionState"], "PaymentSuccessful");

    assert_eq!(
        events_of(&seen, &id, 3).await,
        [
            "recurring.agreement-activated.v1",
            "recurring.charge-captured.v1",
            "recurring.agreement-stopped.v1"
        ]
    );
}

#[tokio::test]
async fn a_session_that_ends_otherwise_ends_its_agreement() {
    let h = start().await;
    let seen = webhook(&h).await;

    // With an initial payment: the ePayment payment is authorized, the agreement ACTIVE.
    let paid = session(&h, "rc-ck-0101", Some(4900)).await;
    let s = customer(&h, "rc-ck-0101", "complete").await;
    assert_eq!(s["paymentDetails"]["state"], "AUTHORIZED", "{s}");
    assert_eq!(get(&h, &format!("{A}/{paid}")).await["status"], "ACTIVE");
    let r = h
        .req(Method::GET, "/epayment/v1/payments/rc-ck-0101")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Rejected: STOPPED, with agreement-rejected.
    let rejected = session(&h, "rc-ck-0102", Some(4900)).await;
    let s = customer(&h, "rc-ck-0102", "abort").await;
    assert_eq!(s["subscriptionDetails"]["state"], "STOPPED", "{s}");
    assert_eq!(get(&h, &format!("{A}/{rejected}")).await["status"], "STOPPED");

    // Nobody answered for an hour: EXPIRED with the session (the sweep does it unread).
    let expired = session(&h, "rc-ck-0103", None).await;
    h.advance(3601).await;
    assert_eq!(get(&h, &format!("{A}/{expired}")).await["status"], "EXPIRED");
    let s = session_of(&h, "rc-ck-0103").await;
    assert_eq!(s["sessionState"], "SessionExpired", "{s}");
    assert_eq!(s["subscriptionDetails"]["state"], "EXPIRED");
    // An expired agreement takes no charges.
    let body = json!({"amount": 9900, "description": "Socks", "due": due_in(&h, 2), "retryDays": 0, "transactionType": "DIRECT_CAPTURE"});
    let r = send(&h, Method::POST, &format!("{A}/{expired}/charges"), Some(&body)).await;
    assert_eq!(r.status(), 400);

    assert_eq!(events_of(&seen, &paid, 1).await, ["recurring.agreement-activated.v1"]);
    assert_eq!(
        events_of(&seen, &rejected, 1).await,
        ["recurring.agreement-rejected.v1"]
    );
    assert_eq!(events_of(&seen, &expired, 1).await, ["recurring.agreement-expired.v1"]);
}
