//! Idempotency: replay, conflict, sticky errors, concurrency.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

#[tokio::test]
async fn replay_returns_the_same_answer_with_one_effect() {
    let h = H::start().await;
    h.authorized("idem-ref-0001", 1000).await;
    let a = h.modify("idem-ref-0001", "capture", 300, "cap-1").await;
    assert_eq!(a.status(), 200);
    let a = a.bytes().await.unwrap();
    let b = h.modify("idem-ref-0001", "capture", 300, "cap-1").await;
    assert_eq!(b.status(), 200);
    assert_eq!(a, b.bytes().await.unwrap());
    let captured: Vec<_> = h
        .events("idem-ref-0001")
        .await
        .into_iter()
        .filter(|e| e["name"] == "CAPTURED")
        .collect();
    assert_eq!(captured.len(), 1);
    assert_eq!(
        h.get("idem-ref-0001").await["aggregate"]["capturedAmount"]["value"],
        300
    );

    // same key, different body: 409 with the operation's code
    problem(
        h.modify("idem-ref-0001", "capture", 301, "cap-1").await,
        409,
        Some(4010),
    )
    .await;
    h.modify("idem-ref-0001", "refund", 100, "ref-1").await;
    problem(h.modify("idem-ref-0001", "refund", 101, "ref-1").await, 409, Some(4150)).await;
    // the key is scoped per path: the same key on refund is a different operation
    assert_eq!(h.modify("idem-ref-0001", "refund", 50, "cap-1").await.status(), 200);

    // create: replay and conflict
    let first = h.create("idem-create-01", 1000, "create-x").await;
    assert_eq!(first.status(), 201);
    let first = first.bytes().await.unwrap();
    let again = h.create("idem-create-01", 1000, "create-x").await;
    assert_eq!(again.status(), 201);
    assert_eq!(first, again.bytes().await.unwrap());
    assert_eq!(h.events("idem-create-01").await.len(), 1);
    problem(h.create("idem-create-01", 2000, "create-x").await, 409, Some(4020)).await;
    // JSON key order and whitespace do not matter: the parsed body is compared
    let raw = r#"{ "userFlow":"WEB_REDIRECT", "reference":"idem-create-01", "paymentMethod":{"type":"WALLET"},
        "returnUrl":"https://example.com/return?x=1&y=2", "paymentDescription":"Socks <b>&</b> shoes",
        "amount":{"value":1000,"currency":"NOK"} }"#;
    let r = h
        .req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "create-x")
        .header("Content-Type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn errors_are_sticky_for_the_same_key() {
    let h = H::start().await;
    h.created("sticky-ref-0001", 1000).await;
    let e1 = problem(
        h.modify("sticky-ref-0001", "capture", 100, "early").await,
        400,
        Some(6080),
    )
    .await;
    h.approve("sticky-ref-0001").await;
    let e2 = problem(
        h.modify("sticky-ref-0001", "capture", 100, "early").await,
        400,
        Some(6080),
    )
    .await;
    assert_eq!(e1, e2, "the stored body is replayed exactly");
    assert_eq!(
        h.get("sticky-ref-0001").await["aggregate"]["capturedAmount"]["value"],
        0
    );
    // a new key performs the capture
    assert_eq!(h.modify("sticky-ref-0001", "capture", 100, "later").await.status(), 200);

    // validation failures are not stored: fixing the body with the same key works
    let r = h
        .req(Method::POST, "/epayment/v1/payments/sticky-ref-0001/capture")
        .header("Idempotency-Key", "fix-me")
        .json(&json!({"modificationAmount": {"currency": "NOK"}}))
        .send()
        .await
        .unwrap();
    problem(r, 400, None).await;
    assert_eq!(
        h.modify("sticky-ref-0001", "capture", 100, "fix-me").await.status(),
        200
    );
}

#[tokio::test]
async fn cancel_honours_a_key() {
    let h = H::start().await;
    h.authorized("cancel-key-0001", 1000).await;
    // Optional on cancel since epayment--operations-2026.md ("Recommended"): see
    // fidelity_epayment.rs, a_cancel_without_a_key_works_once.
    let send = |body: Value| {
        h.req(Method::POST, "/epayment/v1/payments/cancel-key-0001/cancel")
            .header("Idempotency-Key", "c-1")
            .json(&body)
            .send()
    };
    let a = send(json!({})).await.unwrap().bytes().await.unwrap();
    let b = send(json!({})).await.unwrap().bytes().await.unwrap();
    assert_eq!(a, b);
    problem(
        send(json!({"cancelTransactionOnly": true})).await.unwrap(),
        409,
        Some(4020),
    )
    .await;
}

#[tokio::test]
async fn concurrent_duplicate_creates_have_one_effect() {
    let h = Arc::new(H::start().await);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let r = h.create("concurrent-0001", 1000, "same-key").await;
            (r.status().as_u16(), r.bytes().await.unwrap())
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201);
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every copy gets the same answer"
    );
    assert_eq!(h.events("concurrent-0001").await.len(), 1);
    assert_eq!(h.emu.state().payment_count(), 1);

    // concurrent captures with one key: one capture
    h.approve("concurrent-0001").await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.modify("concurrent-0001", "capture", 100, "cap-same")
                .await
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(
        h.get("concurrent-0001").await["aggregate"]["capturedAmount"]["value"],
        100
    );

    // concurrent creates with different keys for one reference: one wins, the rest get 409/4150
    let mut tasks = Vec::new();
    for i in 0..6 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.create("concurrent-0002", 1000, &format!("k-{i}"))
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
}
