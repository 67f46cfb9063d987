//! The ePayment API on eCom orders: "payments initiated via the eCom API can be captured,
//! refunded, cancelled, and retrieved using the ePayment API" (migration guide), not the
//! other way round.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn order(h: &H, order_id: &str, approve: bool) {
    let body = json!({
        "customerInfo": {},
        "merchantInfo": {"merchantSerialNumber": h.m().msn, "callbackPrefix": "https://example.com/vipps",
            "fallBack": "https://example.com/fallback"},
        "transaction": {"amount": 5000, "orderId": order_id, "transactionText": "Socks"},
    });
    let r = ecom(h, Method::POST, "/ecomm/v2/payments")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    if approve {
        ecom_approve(h, order_id).await;
    }
}

#[tokio::test]
async fn an_ecom_order_is_read_captured_refunded_and_cancelled_through_epayment() {
    let h = H::start().await;
    order(&h, "migrate-order-0001", true).await;
    let p = h.get("migrate-order-0001").await;
    assert_eq!(p["state"], "AUTHORIZED", "{p}");
    assert_eq!(p["amount"], json!({"currency": "NOK", "value": 5000}));
    assert_eq!(p["aggregate"]["authorizedAmount"]["value"], 5000);
    let d = ecom_details(&h, "migrate-order-0001").await;
    let transaction_id = d["transactionLogHistory"][0]["transactionId"].clone();
    assert_eq!(p["pspReference"], transaction_id);

    // Capture with ePayment's idempotency: a retry replays, a changed body is a conflict.
    let r = h.modify("migrate-order-0001", "capture", 2000, "cap-1").await;
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["aggregate"]["capturedAmount"]["value"], 2000, "{first}");
    let again: Value = h
        .modify("migrate-order-0001", "capture", 2000, "cap-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, first);
    problem(
        h.modify("migrate-order-0001", "capture", 2100, "cap-1").await,
        409,
        Some(4010),
    )
    .await;
    // eCom's rules answer in ePayment's format.
    let p = problem(
        h.modify("migrate-order-0001", "capture", 9000, "cap-2").await,
        400,
        Some(6090),
    )
    .await;
    assert!(p["extraDetails"].to_string().contains("ecomError"), "{p}");

    let m: Value = h
        .modify("migrate-order-0001", "refund", 500, "ref-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["aggregate"]["refundedAmount"]["value"], 500);
    let m: Value = h.cancel("migrate-order-0001", None).await.json().await.unwrap();
    assert_eq!(
        m["aggregate"]["cancelledAmount"]["value"], 3000,
        "the rest is released: {m}"
    );
    assert_eq!(m["state"], "AUTHORIZED");
    // Cancelling again (another key) changes nothing, as for an ePayment payment.
    let again: Value = h.cancel("migrate-order-0001", None).await.json().await.unwrap();
    assert_eq!(again["aggregate"], m["aggregate"]);

    let names: Vec<Value> = h
        .events("migrate-order-0001")
        .await
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["CREATED", "AUTHORIZED", "CAPTURED", "REFUNDED", "CANCELLED"]);
    let events = h.events("migrate-order-0001").await;
    assert_eq!(events[2]["idempotencyKey"], "cap-1");
    assert_eq!(events[2]["amount"]["value"], 2000);

    // eCom sees what ePayment did, with the keys as request ids.
    let d = ecom_details(&h, "migrate-order-0001").await;
    assert_eq!(d["transactionSummary"]["capturedAmount"], 2000);
    assert_eq!(d["transactionSummary"]["refundedAmount"], 500);
    let rids: Vec<&str> = d["transactionLogHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["requestId"].as_str().unwrap())
        .collect();
    assert!(rids.contains(&"cap-1") && rids.contains(&"ref-1"), "{d}");
}

#[tokio::test]
async fn a_waiting_ecom_order_reads_as_created_and_cancels_as_terminated() {
    let h = H::start().await;
    order(&h, "migrate-order-0002", false).await;
    let p = h.get("migrate-order-0002").await;
    assert_eq!(p["state"], "CREATED");
    assert!(
        p["redirectUrl"].as_str().unwrap().contains("/landing?v=2&token="),
        "{p}"
    );
    let m: Value = h.cancel("migrate-order-0002", None).await.json().await.unwrap();
    assert_eq!(m["state"], "TERMINATED", "{m}");
    let names: Vec<Value> = h
        .events("migrate-order-0002")
        .await
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["CREATED", "TERMINATED"]);
}

#[tokio::test]
async fn a_declined_ecom_order_reads_as_aborted_and_its_id_cannot_be_reused() {
    let h = H::start().await;
    let body = json!({
        "customerInfo": {},
        "merchantInfo": {"merchantSerialNumber": h.m().msn, "callbackPrefix": "https://example.com/vipps",
            "fallBack": "https://example.com/fallback"},
        "transaction": {"amount": 151, "orderId": "migrate-order-0003", "transactionText": "Socks"},
    });
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The customer's card is declined (magic amount 151).
    let a: Value = h.approve("migrate-order-0003").await.json().await.unwrap();
    assert_eq!(a["approved"], false, "{a}");
    let p = h.get("migrate-order-0003").await;
    assert_eq!(p["state"], "ABORTED", "{p}");
    let events = h.events("migrate-order-0003").await;
    let names: Vec<Value> = events.iter().map(|e| e["name"].clone()).collect();
    assert_eq!(names, ["CREATED", "ABORTED"]);
    assert!(events.iter().all(|e| e["success"] == true));
    // An ePayment payment cannot take an eCom order's id: ePayment reads that order.
    problem(h.create("migrate-order-0003", 1000, "k-reuse").await, 409, Some(4150)).await;
}

#[tokio::test]
async fn epayment_payments_stay_out_of_ecom_and_unknown_ids_stay_404() {
    let h = H::start().await;
    h.authorized("epayment-only-01", 1000).await;
    let r = ecom(&h, Method::GET, "/ecomm/v2/payments/epayment-only-01/details")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the eCom API cannot see ePayment payments");
    let r = h
        .req(Method::GET, "/epayment/v1/payments/no-such-order-1")
        .send()
        .await
        .unwrap();
    problem(r, 404, Some(5090)).await;
    problem(h.modify("no-such-order-1", "capture", 100, "k").await, 404, Some(5090)).await;
}
