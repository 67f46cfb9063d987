//! `POST /_emulator/deliveries/{id}/resend` (README, "Control plane"): a delivery goes out
//! once more as a new delivery, signed anew, and a merchant's verifier (the SDK's) accepts
//! both; the log shows both ids and which one was resent; unknown ids are 404, a deleted
//! webhook's deliveries 409; a resend is not held back by an undelivered earlier event.

mod common;

use common::{problem, H};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps::webhooks::WebhookVerifier;
use vipps_emulator::{EmulatorConfig, RetrySchedule};

type Seen = Arc<parking_lot::Mutex<Vec<(http::HeaderMap, bytes::Bytes, bool)>>>;

/// A merchant's receiver on 127.0.0.1: verifies each delivery with the SDK against the secret
/// (set once registered), records it, and answers 500 to the first `fail_first` requests.
async fn receiver(fail_first: usize) -> (String, Seen, Arc<parking_lot::Mutex<String>>) {
    use axum::routing::post;
    let seen: Seen = Arc::default();
    let secret = Arc::new(parking_lot::Mutex::new(String::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let (s, k) = (Arc::clone(&seen), Arc::clone(&secret));
    let app = axum::Router::new().route(
        "/hook",
        post(
            move |method: http::Method, uri: http::Uri, headers: http::HeaderMap, body: bytes::Bytes| {
                let (s, k, count) = (Arc::clone(&s), Arc::clone(&k), Arc::clone(&count));
                async move {
                    let verifier = WebhookVerifier::new(k.lock().clone()).unwrap();
                    let ok = verifier.verify_http(&method, &uri, &headers, &body).is_ok();
                    s.lock().push((headers, body, ok));
                    if count.fetch_add(1, Ordering::SeqCst) < fail_first {
                        http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen, secret)
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

/// Registers `url` for `events`; returns (webhook id, secret).
async fn register(h: &H, url: &str, events: &[&str]) -> (String, String) {
    let r = h
        .req(Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({ "url": url, "events": events }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    (v["id"].as_str().unwrap().into(), v["secret"].as_str().unwrap().into())
}

async fn webhook_attempts(h: &H) -> Vec<Value> {
    h.deliveries("webhook").await["deliveries"].as_array().unwrap().clone()
}

/// Waits until the log holds a finished attempt of delivery `id`; returns it.
async fn finished(h: &H, id: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(a) = webhook_attempts(h)
            .await
            .into_iter()
            .find(|a| a["id"] == id && a["finished"] == true)
        {
            return a;
        }
        assert!(Instant::now() < deadline, "delivery {id} never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn resend(h: &H, id: &str) -> reqwest::Response {
    h.http
        .post(h.url(&format!("/_emulator/deliveries/{id}/resend")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_resent_webhook_is_a_new_delivery_signed_anew() {
    let h = H::start().await;
    let (url, seen, secret) = receiver(0).await;
    let (_, s) = register(&h, &url, &["epayments.payment.created.v1"]).await;
    *secret.lock() = s;
    h.created("resend-ref-1", 1000).await;
    wait_for(&seen, 1).await;
    let first = webhook_attempts(&h).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let id = first[0]["id"].as_u64().expect("every attempt shows its delivery's id");
    assert_eq!(first[0]["deliveryId"], id, "deliveryId stays");
    assert!(first[0].get("resendOf").is_none());

    // x-ms-date has whole seconds: wait for the next one, so a fresh signature must differ.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = resend(&h, &id.to_string()).await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    let new = v["id"].as_u64().unwrap();
    assert_ne!(new, id);
    assert_eq!(v, json!({"id": new, "resendOf": id}));
    wait_for(&seen, 2).await;

    let got = seen.lock().clone();
    assert!(got[0].2 && got[1].2, "both verify with the SDK");
    assert_eq!(got[0].1, got[1].1, "the same body");
    for header in ["x-ms-date", "authorization"] {
        assert_ne!(got[0].0[header], got[1].0[header], "{header} is made anew");
    }
    let again = finished(&h, new).await;
    assert_eq!(again["resendOf"], id);
    assert_eq!(again["deliveryId"], new);
    assert_eq!(again["success"], true);
    assert_eq!(again["url"], first[0]["url"]);
    assert_eq!(again["body"], first[0]["body"]);
}

#[tokio::test]
async fn unknown_ids_are_404_and_a_deleted_webhooks_deliveries_409() {
    let h = H::start().await;
    for id in ["999999", "abc", "-1"] {
        problem(resend(&h, id).await, 404, None).await;
    }
    let (url, seen, secret) = receiver(0).await;
    let (hook, s) = register(&h, &url, &["epayments.payment.created.v1"]).await;
    *secret.lock() = s;
    h.created("resend-ref-2", 1000).await;
    wait_for(&seen, 1).await;
    let id = webhook_attempts(&h).await[0]["id"].as_u64().unwrap();
    let r = h
        .req(Method::DELETE, &format!("/webhooks/v1/webhooks/{hook}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let p = problem(resend(&h, &id.to_string()).await, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains("deleted"), "{p}");
    // A reset forgets the deliveries.
    h.control("/_emulator/reset").await;
    problem(resend(&h, &id.to_string()).await, 404, None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(seen.lock().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn a_resend_is_not_held_back_by_an_undelivered_earlier_event() {
    let config = EmulatorConfig {
        webhook_retry: Some(RetrySchedule::once(2_000)),
        ..EmulatorConfig::default()
    };
    let h = H::with(config).await;
    let (url, seen, secret) = receiver(1).await;
    let (_, s) = register(
        &h,
        &url,
        &["epayments.payment.created.v1", "epayments.payment.authorized.v1"],
    )
    .await;
    *secret.lock() = s;
    h.created("resend-ref-3", 1000).await;
    wait_for(&seen, 1).await; // answered 500: never delivered
    let created = webhook_attempts(&h).await[0]["id"].as_u64().unwrap();
    assert_eq!(finished(&h, created).await["success"], false);
    assert_eq!(h.approve("resend-ref-3").await.status(), 200);
    // The authorized event is held back for good (logged as not sent, attempt 0).
    let deadline = Instant::now() + Duration::from_secs(10);
    let blocked = loop {
        let all = webhook_attempts(&h).await;
        if let Some(a) = all.iter().find(|a| a["attempt"] == 0) {
            break a["id"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "{all:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(seen.lock().len(), 1);
    // Both go out when resent: a manual action.
    for id in [created, blocked] {
        let r = resend(&h, &id.to_string()).await;
        assert_eq!(r.status(), 202);
        let new = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
        let a = finished(&h, new).await;
        assert_eq!(a["success"], true, "{a}");
        assert_eq!(a["resendOf"], id);
    }
    let got = seen.lock().clone();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|(_, _, ok)| *ok), "every delivery verifies");
    let event = |i: usize| serde_json::from_slice::<Value>(&got[i].1).unwrap()["name"].clone();
    assert_eq!((event(1), event(2)), (json!("CREATED"), json!("AUTHORIZED")));
}
