//! Checkout sessions, eCom orders and webhook registrations survive a restart on the same
//! data dir, and so does the key that signs access tokens.

mod common;

use common::{ecom, ecom_approve, ecom_details, ecom_initiate_body, fetch_token, H};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use vipps_emulator::Emulator;

/// A fresh data dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "vipps-persist-apis-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An emulator on `dir`, using `token` when given (else fetching one).
async fn start(dir: &Path, token: Option<String>) -> H {
    let emu = Emulator::builder().data_dir(dir).start().await.unwrap();
    let http = Client::new();
    let token = match token {
        Some(t) => t,
        None => fetch_token(&http, &emu.base_url(), emu.merchant()).await,
    };
    H { emu, http, token }
}

fn session(reference: &str) -> Value {
    json!({
        "type": "PAYMENT",
        "reference": reference,
        "merchantInfo": {
            "callbackUrl": "http://127.0.0.1:9/cb",
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

async fn ok_json(r: reqwest::RequestBuilder) -> Value {
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// What the test reads back after the restart.
async fn snapshot(h: &H) -> Vec<Value> {
    let mut out = Vec::new();
    for reference in ["persist-ck-1", "persist-ck-2"] {
        let path = format!("/checkout/v3/session/{reference}");
        out.push(ok_json(h.checkout(Method::GET, &path)).await);
        out.push(ok_json(h.http.get(h.url(&format!("/_emulator/checkout/{reference}")))).await);
    }
    out.push(ecom_details(h, "persist-order-1").await);
    out.push(ok_json(ecom(h, Method::GET, "/ecomm/v2/payments/persist-order-1/status")).await);
    out.push(ok_json(h.req(Method::GET, "/webhooks/v1/webhooks")).await);
    // Links carry the emulator's address, which the restart changes (a new port).
    let base = h.emu.base_url();
    out.into_iter()
        .map(|v| serde_json::from_str(&v.to_string().replace(&base, "BASE")).unwrap())
        .collect()
}

#[tokio::test]
async fn sessions_orders_and_webhooks_survive_a_restart() {
    let dir = TempDir::new();
    let h = start(&dir.0, None).await;

    // A webhook (nothing listens at the URL: its failures are recorded too).
    let reg = ok_json(h.req(Method::POST, "/webhooks/v1/webhooks").json(&json!({
        "url": "http://127.0.0.1:9/hook",
        "events": ["epayments.payment.authorized.v1", "epayments.payment.captured.v1"]
    })))
    .await;
    let hook_id = reg["id"].as_str().unwrap().to_owned();

    // A Checkout session paid to the end, and one still open.
    for reference in ["persist-ck-1", "persist-ck-2"] {
        ok_json(
            h.checkout(Method::POST, "/checkout/v3/session")
                .json(&session(reference)),
        )
        .await;
    }
    let done = ok_json(
        h.http
            .post(h.url("/_emulator/checkout/persist-ck-1/complete"))
            .json(&json!({"shippingOptionId": "posten-1"})),
    )
    .await;
    assert_eq!(done["sessionState"], "PaymentSuccessful", "{done}");

    // An eCom order initiated, approved and partly captured.
    ok_json(ecom(&h, Method::POST, "/ecomm/v2/payments").json(&ecom_initiate_body(&h, "persist-order-1", 5000))).await;
    ecom_approve(&h, "persist-order-1").await;
    let capture = json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"amount": 2000, "transactionText": "part"}});
    ok_json(
        ecom(&h, Method::POST, "/ecomm/v2/payments/persist-order-1/capture")
            .header("X-Request-Id", "persist-cap-1")
            .json(&capture),
    )
    .await;

    let before = snapshot(&h).await;
    let details = &before[4];
    assert_eq!(details["transactionSummary"]["capturedAmount"], 2000, "{details}");
    assert_eq!(
        details["transactionLogHistory"].as_array().unwrap().len(),
        3,
        "{details}"
    );
    let token = h.token.clone();
    h.emu.shutdown().await;

    // The old token works on the new emulator: the signing key persisted.
    let h = start(&dir.0, Some(token)).await;
    let after = snapshot(&h).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a);
    }
    let hooks = &after[6]["webhooks"];
    assert_eq!(hooks[0]["id"], hook_id.as_str(), "{hooks}");
    assert_eq!(hooks[0]["url"], "http://127.0.0.1:9/hook");

    // The restored objects still work: the rest of the order is captured, the open session
    // can be completed, and numbering goes on.
    ok_json(
        ecom(&h, Method::POST, "/ecomm/v2/payments/persist-order-1/capture")
            .header("X-Request-Id", "persist-cap-2")
            .json(&json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"amount": 3000, "transactionText": "rest"}})),
    )
    .await;
    assert_eq!(
        ecom_details(&h, "persist-order-1").await["transactionSummary"]["capturedAmount"],
        5000
    );
    let done = ok_json(
        h.http
            .post(h.url("/_emulator/checkout/persist-ck-2/complete"))
            .json(&json!({"shippingOptionId": "store"})),
    )
    .await;
    assert_eq!(done["sessionState"], "PaymentSuccessful", "{done}");
    h.emu.shutdown().await;
}
