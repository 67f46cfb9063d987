//! Checkout v3 where it used to differ from the 2026 documents (or where they are silent):
//! the minimum amount per payment, the `Idempotency-Key`'s length.

mod common;

use common::H;
use reqwest::Method;
use serde_json::{json, Value};

fn session(reference: &str, value: i64, fixed: Option<Value>) -> Value {
    let mut b = json!({
        "type": "PAYMENT",
        "reference": reference,
        "merchantInfo": {
            "callbackUrl": "https://example.com/cb",
            "returnUrl": "https://example.com/return",
            "callbackAuthorizationToken": "cb-secret-123"
        },
        "transaction": {"amount": {"value": value, "currency": "NOK"}, "paymentDescription": "Socks"},
    });
    if let Some(f) = fixed {
        b["logistics"] = json!({"fixedOptions": f});
    }
    b
}

fn option(id: &str, value: i64) -> Value {
    json!({"brand": "POSTEN", "id": id, "priority": 0, "isDefault": true, "type": "MAILBOX",
        "amount": {"value": value, "currency": "NOK"}})
}

async fn create(h: &H, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut r = h.checkout(Method::POST, "/checkout/v3/session").json(body);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    r.send().await.unwrap()
}

/// A Checkout validation problem naming `field`.
async fn validation_problem(r: reqwest::Response, field: &str) -> Value {
    let status = r.status();
    let p: Value = r.json().await.unwrap();
    assert_eq!(status, 400, "{p}");
    assert_eq!(p["errorCode"], "Validation-00001", "{p}");
    assert!(p["errors"][field].is_array(), "{field}: {p}");
    p
}

// knowledge-base--platform-best-practices-2026.md, "Amounts": "Minimum per payment is NOK 100
// øre, DKK 1 øre, EUR 1 cent." (ePayment's 6010, epayment--error-codes-2026.md);
// checkout--quick-start.md: "any currency amount must be an Integer value minimum 100 in øre".
// Shipping counts (checkout--shipping.md, "Pricing": "If the transaction amount is free (e.g.
// 0), shipping options must be 1 NOK or more"), so 50 øre plus 60 øre shipping is a payment
// of 110 øre. Refused in Checkout's validation format (checkout--faq-errors.md, "Errors":
// `Validation-00001` with `errors`), the only code its documents give for bad input.
#[tokio::test]
async fn a_session_below_one_krone_is_refused_unless_shipping_reaches_it() {
    let h = H::start().await;
    let r = create(&h, &session("ck-min-00001", 50, None), None).await;
    validation_problem(r, "Transaction.Amount.Value").await;
    let r = create(&h, &session("ck-min-00002", 99, None), None).await;
    validation_problem(r, "Transaction.Amount.Value").await;
    // 50 + 30 øre shipping is still below the minimum: the option is named
    let r = create(
        &h,
        &session("ck-min-00003", 50, Some(json!([option("cheap", 30)]))),
        None,
    )
    .await;
    validation_problem(r, "Logistics.FixedOptions[0].Amount.Value").await;
    // accepted: 100 øre without shipping; 50 øre with every option bringing it to 100 or more
    for (reference, body) in [
        ("ck-min-00004", session("ck-min-00004", 100, None)),
        (
            "ck-min-00005",
            session("ck-min-00005", 50, Some(json!([option("p", 60), option("q", 50)]))),
        ),
    ] {
        let r = create(&h, &body, None).await;
        assert_eq!(r.status(), 200, "{reference}: {}", r.text().await.unwrap_or_default());
    }
}

// The Checkout spec (checkout-v3.yaml) and guides document no `Idempotency-Key` at all, so no
// length either; the emulator applies ePayment's limit (epayment-v1.yaml: at most 50
// characters) to every API's key, in Checkout's validation format.
#[tokio::test]
async fn a_checkout_idempotency_key_over_50_characters_is_refused() {
    let h = H::start().await;
    let r = create(&h, &session("ck-key-00001", 1000, None), Some(&"k".repeat(51))).await;
    let p = validation_problem(r, "Idempotency-Key").await;
    assert!(p["detail"].as_str().unwrap_or_default().contains("50"), "{p}");
    let r = create(&h, &session("ck-key-00001", 1000, None), Some(&"k".repeat(50))).await;
    assert_eq!(r.status(), 200);
}
