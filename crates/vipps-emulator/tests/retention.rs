//! Retention (`retention_secs`, off by default): payments, Checkout sessions, eCom orders and
//! idempotency records created longer ago than that on the emulator's clock are forgotten,
//! in memory and in a data dir; younger ones are kept; without it nothing is forgotten.

mod common;

use common::{ecom, ecom_initiate_body, H};
use reqwest::Method;
use serde_json::{json, Value};
use vipps_emulator::EmulatorConfig;

const HOUR: i64 = 3600;

fn config(retention_secs: Option<u64>) -> EmulatorConfig {
    EmulatorConfig {
        token_ttl_secs: 30 * 24 * HOUR,
        retention_secs,
        ..EmulatorConfig::default()
    }
}

async fn status(h: &H, path: &str) -> u16 {
    h.req(Method::GET, path).send().await.unwrap().status().as_u16()
}

async fn session(h: &H, reference: &str) {
    let body = json!({
        "type": "PAYMENT",
        "reference": reference,
        "merchantInfo": {"callbackUrl": "https://example.com/cb", "returnUrl": "https://example.com/return",
                         "callbackAuthorizationToken": "cb-secret-123"},
        "transaction": {"amount": {"value": 10000, "currency": "NOK"}, "reference": reference,
                        "paymentDescription": "Socks"}
    });
    let r = h
        .checkout(Method::POST, "/checkout/v3/session")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn session_status(h: &H, reference: &str) -> u16 {
    let path = format!("/checkout/v3/session/{reference}");
    h.checkout(Method::GET, &path).send().await.unwrap().status().as_u16()
}

async fn order(h: &H, order_id: &str) {
    let r = ecom(h, Method::POST, "/ecomm/v2/payments")
        .json(&ecom_initiate_body(h, order_id, 1000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn order_status(h: &H, order_id: &str) -> u16 {
    let path = format!("/ecomm/v2/payments/{order_id}/details");
    ecom(h, Method::GET, &path).send().await.unwrap().status().as_u16()
}

/// Everything made two hours ago, then the clock moved on.
async fn old_and_young(h: &H) -> Value {
    h.authorized("retention-old-1", 1000).await;
    let created = h.create("retention-old-2", 500, "retention-key").await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    session(h, "retention-session-1").await;
    order(h, "retention-order-1").await;
    h.advance(2 * HOUR).await;
    h.created("retention-young", 700).await;
    created
}

#[tokio::test]
async fn without_retention_nothing_is_forgotten() {
    let h = H::with(config(None)).await;
    old_and_young(&h).await;
    assert_eq!(session_status(&h, "retention-session-1").await, 200);
    h.advance(20 * 24 * HOUR).await;
    assert_eq!(h.get("retention-old-1").await["state"], "AUTHORIZED");
    assert_eq!(h.get("retention-old-2").await["state"], "EXPIRED");
    assert_eq!(order_status(&h, "retention-order-1").await, 200);
    // The same key and body replay the answer of two hours and twenty days ago.
    assert_eq!(h.create("retention-old-2", 500, "retention-key").await.status(), 201);
    assert_eq!(h.get("retention-old-2").await["state"], "EXPIRED");
}

#[tokio::test]
async fn objects_older_than_the_retention_are_forgotten_and_younger_ones_kept() {
    let h = H::with(config(Some(HOUR as u64))).await;
    let first = old_and_young(&h).await;
    assert_eq!(status(&h, "/epayment/v1/payments/retention-old-1").await, 404);
    assert_eq!(status(&h, "/epayment/v1/payments/retention-old-2").await, 404);
    assert_eq!(session_status(&h, "retention-session-1").await, 404);
    assert_eq!(order_status(&h, "retention-order-1").await, 404);
    assert_eq!(h.get("retention-young").await["state"], "CREATED");
    // The idempotency record went too: the same key and body create the payment anew
    // instead of replaying the old answer.
    let again = h.create("retention-old-2", 500, "retention-key").await;
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_ne!(again["redirectUrl"], first["redirectUrl"]);
    // The dashboard's list no longer shows them.
    let list = h.control_get("/_emulator/objects?kind=payment").await;
    let ids: Vec<&str> = list["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"retention-old-1"), "{ids:?}");
    assert!(ids.contains(&"retention-young"), "{ids:?}");
}

#[tokio::test]
async fn a_data_dir_forgets_them_too() {
    let dir = std::env::temp_dir().join(format!(
        "vipps-retention-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let h = H::on_dir(config(Some(HOUR as u64)), &dir).await;
    old_and_young(&h).await;
    let h = h.restart(config(Some(HOUR as u64)), &dir).await;
    assert_eq!(status(&h, "/epayment/v1/payments/retention-old-1").await, 404);
    assert_eq!(order_status(&h, "retention-order-1").await, 404);
    assert_eq!(session_status(&h, "retention-session-1").await, 404);
    assert_eq!(h.get("retention-young").await["state"], "CREATED");
    // Numbers are not reused after the gap: a new payment is kept across another restart.
    h.created("retention-after", 300).await;
    let h = h.restart(config(Some(HOUR as u64)), &dir).await;
    assert_eq!(h.get("retention-after").await["state"], "CREATED");
    assert_eq!(h.get("retention-young").await["state"], "CREATED");
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_retention_shorter_than_an_hour_is_refused_in_the_file() {
    let file = std::env::temp_dir().join(format!("vipps-retention-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, r#"{"retention_secs": 60}"#).unwrap();
    let err = EmulatorConfig::from_file(&file).unwrap_err();
    let _ = std::fs::remove_file(&file);
    assert!(
        err.to_string().contains("retention_secs must be at least 3600"),
        "{err}"
    );
}
