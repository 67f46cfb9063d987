//! The payment state machine, amounts, event log, expiry.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn ts(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap()
}

#[tokio::test]
async fn create_approve_capture_twice_refund_and_event_log() {
    let h = H::start().await;
    let r = "lifecycle-ref-0001";
    let resp = h.create(r, 10000, "create-key-1").await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["reference"], r);
    let url = created["redirectUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/landing?v=2&token=", h.emu.base_url())),
        "{url}"
    );

    let p = h.get(r).await;
    assert_eq!(p["state"], "CREATED");
    assert_eq!(p["profile"], json!({}));
    for a in [
        "authorizedAmount",
        "cancelledAmount",
        "capturedAmount",
        "refundedAmount",
    ] {
        assert_eq!(p["aggregate"][a], json!({"currency": "NOK", "value": 0}), "{a}");
    }
    let psp = p["pspReference"].as_str().unwrap().to_owned();

    let a = h.approve(r).await;
    assert_eq!(a.status(), 200);
    let a: Value = a.json().await.unwrap();
    assert_eq!(a["state"], "AUTHORIZED");
    assert_eq!(a["approved"], true);

    let m: Value = h.modify(r, "capture", 2500, "cap-1").await.json().await.unwrap();
    assert_eq!(m["aggregate"]["capturedAmount"]["value"], 2500);
    assert_eq!(m["pspReference"], psp.as_str());
    let resp = h.modify(r, "capture", 7500, "cap-2").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let m: Value = resp.json().await.unwrap();
    assert_eq!(m["aggregate"]["capturedAmount"]["value"], 10000);
    assert_eq!(m["state"], "AUTHORIZED");
    let m: Value = h.modify(r, "refund", 3000, "ref-1").await.json().await.unwrap();
    assert_eq!(m["aggregate"]["refundedAmount"]["value"], 3000);
    assert_eq!(m["aggregate"]["authorizedAmount"]["value"], 10000);
    assert_eq!(m["amount"], json!({"currency": "NOK", "value": 10000}));

    let events = h.events(r).await;
    let names: Vec<_> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["CREATED", "AUTHORIZED", "CAPTURED", "CAPTURED", "REFUNDED"]);
    let amounts: Vec<_> = events.iter().map(|e| e["amount"]["value"].as_i64().unwrap()).collect();
    assert_eq!(amounts, [10000, 10000, 2500, 7500, 3000]);
    let keys: Vec<_> = events.iter().map(|e| e["idempotencyKey"].as_str().unwrap()).collect();
    assert_eq!(keys, ["create-key-1", "create-key-1", "cap-1", "cap-2", "ref-1"]);
    assert_eq!(events[0]["pspReference"], psp.as_str());
    let mut psps: Vec<_> = events.iter().map(|e| e["pspReference"].as_str().unwrap()).collect();
    psps.sort();
    psps.dedup();
    assert_eq!(psps.len(), 5, "every event has its own pspReference");
    assert!(events.iter().all(|e| e["success"] == true && e["reference"] == r));
    assert!(events
        .windows(2)
        .all(|w| ts(&w[0]["timestamp"]) <= ts(&w[1]["timestamp"])));
}

#[tokio::test]
async fn cancel_rules() {
    let h = H::start().await;
    // CREATED -> TERMINATED
    h.created("cancel-created-1", 5000).await;
    let m: Value = h.cancel("cancel-created-1", None).await.json().await.unwrap();
    assert_eq!(m["state"], "TERMINATED");
    assert_eq!(m["aggregate"]["cancelledAmount"]["value"], 5000);
    assert_eq!(m["aggregate"]["authorizedAmount"]["value"], 0);
    let names: Vec<_> = h
        .events("cancel-created-1")
        .await
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["CREATED", "TERMINATED"]);
    problem(h.cancel("cancel-created-1", None).await, 400, Some(6190)).await;

    // AUTHORIZED with a partial capture: the remainder is released
    h.authorized("cancel-partial-1", 1000).await;
    h.modify("cancel-partial-1", "capture", 250, "c1").await;
    let resp = h
        .req(Method::POST, "/epayment/v1/payments/cancel-partial-1/cancel")
        .header("Idempotency-Key", "cancel-1")
        .send()
        .await
        .unwrap();
    let m: Value = resp.json().await.unwrap();
    assert_eq!(m["state"], "AUTHORIZED");
    assert_eq!(m["aggregate"]["cancelledAmount"]["value"], 750);
    assert_eq!(m["aggregate"]["capturedAmount"]["value"], 250);
    let ev = h.events("cancel-partial-1").await;
    let last = ev.last().unwrap();
    assert_eq!(
        (last["name"].as_str(), last["amount"]["value"].as_i64()),
        (Some("CANCELLED"), Some(750))
    );
    assert_eq!(last["idempotencyKey"], "cancel-1");
    // a repeated cancel (new key) is a no-op echoing the aggregate
    let m: Value = h.cancel("cancel-partial-1", None).await.json().await.unwrap();
    assert_eq!(m["aggregate"]["cancelledAmount"]["value"], 750);
    assert_eq!(h.events("cancel-partial-1").await.len(), ev.len());
    // capture after cancel
    problem(h.modify("cancel-partial-1", "capture", 1, "c2").await, 400, Some(6070)).await;
    // refund still possible
    assert_eq!(h.modify("cancel-partial-1", "refund", 250, "r1").await.status(), 200);

    // cancelTransactionOnly on AUTHORIZED
    h.authorized("cancel-txonly-1", 1000).await;
    let body = Some(json!({"cancelTransactionOnly": true}));
    problem(h.cancel("cancel-txonly-1", body.clone()).await, 400, Some(6060)).await;
    // ... and on CREATED it terminates
    h.created("cancel-txonly-2", 1000).await;
    let m: Value = h.cancel("cancel-txonly-2", body).await.json().await.unwrap();
    assert_eq!(m["state"], "TERMINATED");

    // fully captured
    h.authorized("cancel-full-1", 1000).await;
    h.modify("cancel-full-1", "capture", 1000, "c1").await;
    problem(h.cancel("cancel-full-1", None).await, 400, Some(6040)).await;
}

#[tokio::test]
async fn every_illegal_transition_has_its_code() {
    let h = H::start().await;
    // before approval
    h.created("illegal-created-1", 1000).await;
    let b = problem(
        h.modify("illegal-created-1", "capture", 100, "k1").await,
        400,
        Some(6080),
    )
    .await;
    assert_eq!(b["instance"], "/epayment/v1/payments/illegal-created-1/capture");
    assert_eq!(b["title"], "Cannot capture before reservation");
    problem(
        h.modify("illegal-created-1", "refund", 100, "k2").await,
        400,
        Some(6020),
    )
    .await;

    // amounts on an authorized payment
    h.authorized("illegal-auth-1", 1000).await;
    problem(h.modify("illegal-auth-1", "capture", 1001, "k1").await, 400, Some(6090)).await;
    problem(h.modify("illegal-auth-1", "refund", 1, "k2").await, 400, Some(6150)).await;
    problem(h.modify("illegal-auth-1", "capture", 0, "k3").await, 400, Some(4040)).await;
    problem(h.modify("illegal-auth-1", "capture", -5, "k4").await, 400, Some(4040)).await;
    let r = h
        .req(Method::POST, "/epayment/v1/payments/illegal-auth-1/capture")
        .header("Idempotency-Key", "k5")
        .json(&json!({"modificationAmount": {"currency": "EUR", "value": 100}}))
        .send()
        .await
        .unwrap();
    let b = problem(r, 400, Some(4040)).await;
    assert!(b.to_string().contains("modificationAmount.currency"), "{b}");
    h.modify("illegal-auth-1", "capture", 400, "k6").await;
    problem(h.modify("illegal-auth-1", "refund", 401, "k7").await, 400, Some(6150)).await;
    h.modify("illegal-auth-1", "capture", 600, "k8").await;
    problem(h.modify("illegal-auth-1", "capture", 1, "k9").await, 400, Some(6170)).await;
    h.modify("illegal-auth-1", "refund", 1000, "k10").await;
    problem(h.modify("illegal-auth-1", "refund", 1, "k11").await, 400, Some(6180)).await;

    // final states
    h.created("illegal-term-1", 1000).await;
    h.cancel("illegal-term-1", None).await;
    problem(h.modify("illegal-term-1", "capture", 100, "k1").await, 400, Some(6200)).await;
    problem(h.modify("illegal-term-1", "refund", 100, "k2").await, 400, Some(6210)).await;
    let r = h
        .req(Method::POST, "/epayment/v1/test/payments/illegal-term-1/approve")
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(10020)).await;
    let r = h
        .http
        .post(h.url("/_emulator/payments/illegal-term-1/approve"))
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(10020)).await;
    // force approve twice
    h.authorized("illegal-twice-1", 1000).await;
    let r = h
        .req(Method::POST, "/epayment/v1/test/payments/illegal-twice-1/approve")
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(6230)).await;

    // unknown reference and reference already used
    problem(
        h.modify("no-such-payment-1", "capture", 100, "k1").await,
        404,
        Some(5090),
    )
    .await;
    problem(h.cancel("no-such-payment-1", None).await, 404, Some(5090)).await;
    let r = h
        .req(Method::GET, "/epayment/v1/payments/no-such-payment-1/events")
        .send()
        .await
        .unwrap();
    problem(r, 404, Some(5090)).await;
    problem(h.create("illegal-auth-1", 1000, "a-new-key").await, 409, Some(4150)).await;
}

#[tokio::test]
async fn force_approve_flows_and_profile_sub() {
    let h = H::start().await;
    let body = json!({
        "amount": {"currency": "NOK", "value": 151},
        "paymentMethod": {"type": "WALLET"},
        "reference": "push-ref-0001",
        "userFlow": "PUSH_MESSAGE",
        "customer": {"phoneNumber": "4791234567"},
        "profile": {"scope": "name phoneNumber"}
    });
    let r = h
        .req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "push-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert!(v.get("redirectUrl").is_none(), "{v}");
    let p = h.get("push-ref-0001").await;
    assert!(p["profile"].get("sub").is_none());
    // force approve ignores the magic amount 151
    let r = h
        .req(Method::POST, "/epayment/v1/test/payments/push-ref-0001/approve")
        .json(&json!({"customer": {"phoneNumber": "4791234567"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
    let p = h.get("push-ref-0001").await;
    assert_eq!(p["state"], "AUTHORIZED");
    assert!(p["profile"]["sub"].is_string());
    let ev = h.events("push-ref-0001").await;
    assert_eq!(ev[1]["idempotencyKey"], "push-1");

    // alias path, token check, QR redirect
    let body = json!({
        "amount": {"currency": "NOK", "value": 1000},
        "paymentMethod": {"type": "WALLET"},
        "reference": "qr-ref-00001",
        "userFlow": "QR"
    });
    let v: Value = h
        .req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "qr-1")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = v["redirectUrl"].as_str().unwrap();
    assert!(url.contains("/qr?v=2&token="), "{url}");
    let svg = h.http.get(url).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let token = url.split("token=").nth(1).unwrap();
    // Another payment's token is refused.
    let other = h.created("qr-ref-00002", 1000).await;
    let other_token = other["redirectUrl"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let approve = |reference: &str, token: &str| {
        h.req(Method::POST, &format!("/epayment/v1/payments/{reference}/approve"))
            .json(&json!({ "token": token }))
            .send()
    };
    problem(approve("qr-ref-00001", &other_token).await.unwrap(), 400, Some(10020)).await;
    assert_eq!(approve("qr-ref-00001", token).await.unwrap().status(), 200);
    assert!(h.get("qr-ref-00001").await["profile"].get("sub").is_none());
    // A token that is no payment's is ignored, as the official Postman collection sends an
    // unfilled variable.
    assert_eq!(
        approve("qr-ref-00002", "{{payment_token}}").await.unwrap().status(),
        200
    );
    assert_eq!(h.get("qr-ref-00002").await["state"], "AUTHORIZED");
}

#[tokio::test]
async fn payments_expire_when_the_clock_advances() {
    let h = H::start().await;
    h.created("expire-ref-0001", 1000).await;
    let created_at = ts(&h.events("expire-ref-0001").await[0]["timestamp"]);
    h.advance(9 * 60).await;
    assert_eq!(h.get("expire-ref-0001").await["state"], "CREATED");
    let now = h.advance(2 * 60).await;
    assert!(ts(&now["now"]) > created_at + time::Duration::minutes(10));
    let p = h.get("expire-ref-0001").await;
    assert_eq!(p["state"], "EXPIRED");
    let ev = h.events("expire-ref-0001").await;
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[1]["name"], "EXPIRED");
    assert_eq!(ev[1]["idempotencyKey"], "create-expire-ref-0001");
    let expired_at = ts(&ev[1]["timestamp"]);
    assert_eq!(expired_at, ts(&ev[0]["timestamp"]) + time::Duration::seconds(600));
    problem(h.modify("expire-ref-0001", "capture", 100, "k").await, 400, Some(6200)).await;
    problem(h.cancel("expire-ref-0001", None).await, 400, Some(6190)).await;
    let r = h.approve("expire-ref-0001").await;
    problem(r, 400, Some(10020)).await;
    assert_eq!(h.events("expire-ref-0001").await.len(), 2, "EXPIRED is recorded once");

    // long-living payment: expiresAt wins over the default 10 minutes
    let at = h.emu.clock().now() + time::Duration::minutes(20);
    let body = json!({
        "amount": {"currency": "NOK", "value": 1000},
        "paymentMethod": {"type": "WALLET"},
        "reference": "long-living-0001",
        "userFlow": "PUSH_MESSAGE",
        "customer": {"phoneNumber": "4791234567"},
        "expiresAt": at.format(&Rfc3339).unwrap(),
        "receipt": {
            "orderLines": [{"name": "x", "id": "1", "totalAmount": 1000, "totalAmountExcludingTax": 800, "totalTaxAmount": 200, "taxPercentage": 25}],
            "bottomLine": {"currency": "NOK"}
        }
    });
    let r = h
        .req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "ll-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    h.advance(15 * 60).await;
    assert_eq!(h.get("long-living-0001").await["state"], "CREATED");
    h.advance(6 * 60).await;
    assert_eq!(h.get("long-living-0001").await["state"], "EXPIRED");
}

/// The test environment's other magic amounts: 202 declines (SCA required), 201 leaves the
/// result unknown for an hour, and refunds of 123 and 124 fail at the bank and are logged as
/// unsuccessful REFUNDED events.
#[tokio::test]
async fn magic_amounts_for_sca_unknown_results_and_failing_refunds() {
    let mut h = H::start().await;
    h.authorized("magic-refund-01", 10_000).await;
    h.modify("magic-refund-01", "capture", 10_000, "cap").await;
    problem(
        h.modify("magic-refund-01", "refund", 123, "r-123").await,
        403,
        Some(5100),
    )
    .await;
    problem(
        h.modify("magic-refund-01", "refund", 124, "r-124").await,
        400,
        Some(6220),
    )
    .await;
    let m: Value = h
        .modify("magic-refund-01", "refund", 500, "r-500")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        m["aggregate"]["refundedAmount"]["value"], 500,
        "the failed refunds moved no money"
    );
    let events = h.events("magic-refund-01").await;
    let refunds: Vec<_> = events
        .iter()
        .filter(|e| e["name"] == "REFUNDED")
        .map(|e| (e["amount"]["value"].as_i64().unwrap(), e["success"].as_bool().unwrap()))
        .collect();
    assert_eq!(refunds, [(123, false), (124, false), (500, true)]);

    h.created("magic-sca-0001", 202).await;
    let a: Value = h.approve("magic-sca-0001").await.json().await.unwrap();
    assert_eq!(a["approved"], false);
    assert!(
        a["reason"].as_str().unwrap().contains("strong customer authentication"),
        "{a}"
    );
    assert_eq!(h.get("magic-sca-0001").await["state"], "ABORTED");

    h.created("magic-unknown-1", 201).await;
    let a: Value = h.approve("magic-unknown-1").await.json().await.unwrap();
    assert_eq!(a["approved"], false);
    assert!(a["reason"].as_str().unwrap().contains("unknown result"), "{a}");
    // Approving again does not restart the hour.
    assert_eq!(h.approve("magic-unknown-1").await.status(), 400);
    // Past the usual ten minutes it still waits; after the hour it expires.
    h.advance(30 * 60).await;
    assert_eq!(h.get("magic-unknown-1").await["state"], "CREATED");
    h.advance(31 * 60).await;
    h.token = fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
    assert_eq!(h.get("magic-unknown-1").await["state"], "EXPIRED");
}

/// `minimumUserAge`: a named customer below it is "Customer not found" (7010) at create; a
/// customer who turns up on the landing page below it cannot approve. The test customers are
/// born in 1990 (Norway), 1988 (Denmark) and 1985 (Finland).
#[tokio::test]
async fn minimum_user_age_refuses_younger_customers() {
    let h = H::start().await;
    let create = |reference: &str, min: i64, phone: Option<&str>| {
        let mut body = web(reference, 1000);
        body["minimumUserAge"] = json!(min);
        if let Some(p) = phone {
            body["customer"] = json!({"phoneNumber": p});
        }
        h.req(Method::POST, "/epayment/v1/payments")
            .header("Idempotency-Key", format!("k-{reference}"))
            .json(&body)
            .send()
    };
    problem(
        create("age-limit-0001", 60, Some("4791234567")).await.unwrap(),
        400,
        Some(7010),
    )
    .await;
    assert_eq!(
        create("age-limit-0002", 18, Some("4791234567")).await.unwrap().status(),
        201
    );
    assert_eq!(h.approve("age-limit-0002").await.status(), 200);
    assert_eq!(h.get("age-limit-0002").await["state"], "AUTHORIZED");

    // Named by the force approve: 7010, and the payment still waits.
    assert_eq!(create("age-limit-0004", 60, None).await.unwrap().status(), 201);
    let r = h
        .req(Method::POST, "/epayment/v1/test/payments/age-limit-0004/approve")
        .json(&json!({"customer": {"phoneNumber": "4791234567"}}))
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(7010)).await;
    assert_eq!(h.get("age-limit-0004").await["state"], "CREATED");

    // Not named at create: the approval fails.
    assert_eq!(create("age-limit-0003", 60, None).await.unwrap().status(), 201);
    let a: Value = h.approve("age-limit-0003").await.json().await.unwrap();
    assert_eq!(a["approved"], false);
    assert!(a["reason"].as_str().unwrap().contains("minimumUserAge"), "{a}");
    assert_eq!(h.get("age-limit-0003").await["state"], "ABORTED");
}
