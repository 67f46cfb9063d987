//! Where the emulator follows the 2026 documents (the issue "Fidelity: where the emulator still
//! differs from the 2026 documents"), one test per point.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// A token from `POST /miami/v1/token` (the specialized flow) for the default merchant.
async fn specialized_token(h: &H) -> String {
    let m = h.m().clone();
    let r = h
        .http
        .post(h.url("/miami/v1/token"))
        .basic_auth(&m.client_id, Some(&m.client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// access-token--overview-2026.md: "There are **two token endpoints**, and they are not
/// interchangeable. Picking the wrong one is the usual reason a first integration returns HTTP
/// 401." Its table gives ePayment and Webhooks to the standard flow (sales unit keys); the
/// specialized flow gets "Report API, Sales API" and the Donations APIs, none emulated.
#[tokio::test]
async fn a_specialized_token_is_refused_by_the_standard_flow_apis() {
    let h = H::start().await;
    let special = specialized_token(&h).await;
    let with = |method: Method, path: &str| {
        h.http
            .request(method, h.url(path))
            .bearer_auth(&special)
            .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
            .header("Merchant-Serial-Number", &h.m().msn)
    };
    // ePayment: create and read.
    let r = with(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "special-1")
        .json(&web("special-1", 1000))
        .send()
        .await
        .unwrap();
    let body = problem(r, 401, None).await;
    assert!(body["detail"].as_str().unwrap().contains("/accesstoken/get"), "{body}");
    let r = with(Method::GET, "/epayment/v1/payments/special-1")
        .send()
        .await
        .unwrap();
    problem(r, 401, None).await;
    // Webhooks.
    let r = with(Method::GET, "/webhooks/v1/webhooks").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = with(Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({"url": "https://example.com/hook", "events": ["epayments.payment.created.v1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // eCom (legacy, same shared authentication).
    let r = h
        .http
        .get(h.url("/ecomm/v2/payments/special-1/details"))
        .bearer_auth(&special)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Nothing was created, and the standard token still works.
    let r = h.create("special-1", 1000, "special-1").await;
    assert_eq!(r.status(), 201);
}

/// epayment-v1.yaml, `userFlow`: "`NATIVE_REDIRECT` is for automatic app-switch between the
/// merchant's native app and the Vipps or MobilePay app." knowledge-base--isapp.md: the app-switch
/// URL is a deeplink, and "In our test environment (MT), the scheme is `vippsMT://`". Its token
/// still opens the landing page, as eCom's `isApp` deeplink does.
#[tokio::test]
async fn native_redirect_answers_an_app_switch_deeplink() {
    let h = H::start().await;
    let mut body = web("native-1", 1000);
    body["userFlow"] = json!("NATIVE_REDIRECT");
    let r = h.create_body(&body, "native-1").await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let url = created["redirectUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with("vippsMT://?v=2&token="), "{url}");
    assert_eq!(h.get("native-1").await["redirectUrl"], url.as_str());
    // The official Postman collection takes the token as `url.split('=', 3)[2]`.
    let token = url.splitn(3, '=').nth(2).unwrap().to_owned();
    let page = h
        .http
        .get(h.url(&format!("/landing?v=2&token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("native-1"));
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.get("native-1").await["state"], "AUTHORIZED");
    // WEB_REDIRECT keeps the http landing page.
    let web_created = h.created("web-redirect-1", 1000).await;
    assert!(web_created["redirectUrl"].as_str().unwrap().starts_with("http"));
}

/// A running emulator whose one sales unit is in the market of `currency`.
async fn market(currency: vipps_types::Currency) -> H {
    H::with(vipps_emulator::EmulatorConfig {
        merchants: vec![vipps_emulator::Merchant {
            currency,
            ..vipps_emulator::Merchant::default_test()
        }],
        ..Default::default()
    })
    .await
}

/// A `web(…)` body in another currency.
fn web_in(reference: &str, value: i64, currency: &str) -> Value {
    let mut body = web(reference, value);
    body["amount"]["currency"] = json!(currency);
    body
}

/// epayment--features-2026.md, "Block payment sources": "`blockedSources` restricts which
/// sources may pay, for `WALLET` payments on Danish and Finnish sales units only. Norwegian sales
/// units get error 5010." epayment--error-codes-2026.md: "5010 | Blocking sources not applicable".
#[tokio::test]
async fn blocked_sources_on_a_norwegian_sales_unit_is_5010() {
    let h = H::start().await;
    let mut body = web("blocked-nok-1", 1000);
    body["blockedSources"] = json!(["CREDIT_CARD"]);
    let p = problem(h.create_body(&body, "blocked-nok-1").await, 403, Some(5010)).await;
    assert!(
        p["extraDetails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "blockedSources"),
        "{p}"
    );
    // Nothing was created.
    let r = h
        .req(Method::GET, "/epayment/v1/payments/blocked-nok-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    for (currency, code) in [(vipps_types::Currency::Dkk, "DKK"), (vipps_types::Currency::Eur, "EUR")] {
        let h = market(currency).await;
        let mut body = web_in("blocked-ok-1", 1000, code);
        body["blockedSources"] = json!(["CREDIT_CARD"]);
        assert_eq!(h.create_body(&body, "blocked-ok-1").await.status(), 201, "{code}");
    }
}

/// epayment--operations-2026.md, the operations table: "Cancel | `POST
/// /payments/{reference}/cancel` | Recommended", where create, capture and refund say "Yes". A
/// cancel without `Idempotency-Key` is carried out; nothing is kept, so sending it again is a new
/// request (here refused: the payment is already terminated), not a replay.
#[tokio::test]
async fn a_cancel_without_a_key_works_once() {
    let h = H::start().await;
    h.created("cancel-nokey-1", 1000).await;
    let cancel = || {
        h.req(Method::POST, "/epayment/v1/payments/cancel-nokey-1/cancel")
            .send()
    };
    let r = cancel().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["state"], "TERMINATED", "{v}");
    assert_eq!(h.get("cancel-nokey-1").await["state"], "TERMINATED");
    let r = cancel().await.unwrap();
    let status = r.status().as_u16();
    assert_ne!(status, 200, "not a replay of the first answer");
    problem(r, status, Some(6190)).await;
    let terminated = h
        .events("cancel-nokey-1")
        .await
        .into_iter()
        .filter(|e| e["name"] == "TERMINATED")
        .count();
    assert_eq!(terminated, 1);
    // Capture and refund still need one (the table's "Yes").
    h.authorized("cancel-nokey-2", 1000).await;
    let r = h
        .req(Method::POST, "/epayment/v1/payments/cancel-nokey-2/capture")
        .json(&json!({"modificationAmount": {"currency": "NOK", "value": 100}}))
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(4140)).await;
    // An authorized payment cancels without a key too.
    let r = h
        .req(Method::POST, "/epayment/v1/payments/cancel-nokey-2/cancel")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        h.get("cancel-nokey-2").await["aggregate"]["cancelledAmount"]["value"],
        1000
    );
}

/// knowledge-base--test-and-go-live-2026.md, the magic amounts: "197 | 3-D Secure denied, Norway
/// only" and "202 | Strong customer authentication required, Norway only". Danish and Finnish
/// sales units approve those amounts; the other magic amounts (151 here) apply everywhere.
#[tokio::test]
async fn magic_amounts_197_and_202_are_norway_only() {
    let h = H::start().await;
    for value in [197, 202] {
        let reference = format!("magic-nok-{value}");
        h.created(&reference, value).await;
        let a: Value = h.approve(&reference).await.json().await.unwrap();
        assert_eq!(a["approved"], false, "{a}");
        assert_eq!(h.get(&reference).await["state"], "ABORTED");
    }
    for (currency, code) in [(vipps_types::Currency::Dkk, "DKK"), (vipps_types::Currency::Eur, "EUR")] {
        let h = market(currency).await;
        for value in [197, 202] {
            let reference = format!("magic-{code}-{value}");
            let r = h.create_body(&web_in(&reference, value, code), &reference).await;
            assert_eq!(r.status(), 201);
            let a: Value = h.approve(&reference).await.json().await.unwrap();
            assert_eq!(a["approved"], true, "{code} {value}: {a}");
            assert_eq!(h.get(&reference).await["state"], "AUTHORIZED");
        }
        let reference = format!("magic-{code}-151");
        h.create_body(&web_in(&reference, 151, code), &reference).await;
        let a: Value = h.approve(&reference).await.json().await.unwrap();
        assert_eq!(a["approved"], false, "{code} 151: {a}");
    }
}

/// Parses an RFC 3339 timestamp from a JSON answer.
fn at(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
}

/// Days from the AUTHORIZED event to `captureGuaranteedUntil`.
async fn guaranteed_days(h: &H, reference: &str) -> i64 {
    let p = h.get(reference).await;
    let authorized = h
        .events(reference)
        .await
        .into_iter()
        .find(|e| e["name"] == "AUTHORIZED")
        .unwrap();
    (at(&p["captureGuaranteedUntil"]) - at(&authorized["timestamp"])).whole_days()
}

/// knowledge-base--payment-lifecycle-2026.md, "Capture attempt deadlines": "Within that deadline,
/// the card network's or payment method's own guarantee is usually shorter: Visa … Capture within
/// 7 days and Visa guarantees the capture succeeds. Mastercard: reservations are valid for 30
/// days … BankAxept (Norway): 7 days". epayment--operations-2026.md: "`captureGuaranteedUntil`
/// is the date a successful capture is guaranteed for this payment. It can be earlier than the
/// market's capture deadline". The network comes from the card's BIN; a wallet payment pays with
/// the Visa test card (README, "Choices where the documentation is silent or disagrees").
#[tokio::test]
async fn capture_guaranteed_until_is_the_card_networks_guarantee() {
    let h = H::start().await;
    // Wallet: 7 days, not the 180-day Norwegian deadline.
    h.authorized("guarantee-wallet-1", 1000).await;
    assert_eq!(guaranteed_days(&h, "guarantee-wallet-1").await, 7);
    // Card payments: Visa 7, Mastercard 30 (both BIN ranges).
    for (reference, card, days) in [
        ("guarantee-visa-1", "4925000000000004", 7),
        ("guarantee-mc-51", "5555341244441115", 30),
        ("guarantee-mc-2221", "2221000000000009", 30),
    ] {
        let mut body = web(reference, 1000);
        body["paymentMethod"]["type"] = json!("CARD");
        let created: Value = h.create_body(&body, reference).await.json().await.unwrap();
        let redirect = created["redirectUrl"].as_str().unwrap();
        let token = redirect.split("token=").nth(1).unwrap();
        let r = h
            .http
            .post(h.url("/landing/approve"))
            .form(&[("token", token), ("cardNumber", card)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(guaranteed_days(&h, reference).await, days, "{card}");
    }
    // Within the market's deadline: Denmark's is 14 days, so a Mastercard gets 14, not 30.
    let h = market(vipps_types::Currency::Dkk).await;
    let mut body = web_in("guarantee-dkk-mc", 1000, "DKK");
    body["paymentMethod"]["type"] = json!("CARD");
    let created: Value = h.create_body(&body, "guarantee-dkk-mc").await.json().await.unwrap();
    let token = created["redirectUrl"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token.as_str()), ("cardNumber", "5555341244441115")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(guaranteed_days(&h, "guarantee-dkk-mc").await, 14);
}

/// An emulator with the documented rate limits switched on.
async fn rate_limited() -> H {
    H::with(vipps_emulator::EmulatorConfig {
        faults: Some(vipps_emulator::FaultConfig {
            rate_limits: true,
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
}

/// epayment--operations-and-rate-limits.md, "Rate limiting": one row per operation — "Create |
/// 5 per minute | `reference` + MSN", likewise Capture, Cancel and Refund, and "Get a payment" and
/// "Get payment event log" 120 per minute each — so each operation has its own budget per
/// reference.
#[tokio::test]
async fn each_epayment_operation_has_its_own_rate_limit_budget() {
    let h = rate_limited().await;
    h.authorized("budget-ref-0001", 1000).await;
    for i in 0..5 {
        assert_eq!(
            h.modify("budget-ref-0001", "capture", 10, &format!("c{i}"))
                .await
                .status(),
            200
        );
    }
    let r = h.modify("budget-ref-0001", "capture", 10, "c5").await;
    problem(r, 429, None).await;
    // Refund and cancel of the same reference are counted apart from capture.
    assert_eq!(h.modify("budget-ref-0001", "refund", 10, "r0").await.status(), 200);
    assert_eq!(h.cancel("budget-ref-0001", None).await.status(), 200);
    // GET payment and GET events: 120 each, apart.
    for _ in 0..120 {
        h.get("budget-ref-0001").await;
    }
    let r = h
        .req(Method::GET, "/epayment/v1/payments/budget-ref-0001")
        .send()
        .await
        .unwrap();
    problem(r, 429, None).await;
    assert!(!h.events("budget-ref-0001").await.is_empty());
}

/// epayment--error-codes-2026.md, "Rate limits": "If `reference` is missing or misspelled, every
/// payment counts as the same one and you will hit HTTP 429 immediately." A create whose body has
/// no `reference` (or a mis-cased `Reference`) shares one budget of 5 per minute.
#[tokio::test]
async fn creates_without_a_reference_share_one_rate_limit_budget() {
    let h = rate_limited().await;
    for i in 0..5 {
        let mut body = web("unused-ref-1", 1000);
        let v = body.as_object_mut().unwrap().remove("reference").unwrap();
        if i % 2 == 1 {
            body["Reference"] = v;
        }
        let r = h.create_body(&body, &format!("noref-{i}")).await;
        problem(r, 400, None).await;
    }
    let mut body = web("unused-ref-1", 1000);
    body["Reference"] = body.as_object_mut().unwrap().remove("reference").unwrap();
    problem(h.create_body(&body, "noref-5").await, 429, None).await;
    // A payment with its reference has its own budget.
    assert_eq!(h.create("proper-ref-0001", 1000, "proper").await.status(), 201);
}

/// ecom--api-guide.md, "Rate limiting": "Initiate | 2 per minute | orderId + MSN". eCom routes
/// initiate with a trailing slash too (`POST /ecomm/v2/payments/`), and it is counted the same.
#[tokio::test]
async fn ecom_initiate_on_the_trailing_slash_path_is_rate_limited() {
    let h = rate_limited().await;
    let body = json!({
        "customerInfo": {},
        "merchantInfo": {
            "merchantSerialNumber": h.m().msn,
            "callbackPrefix": "https://example.com/vipps",
            "fallBack": "https://example.com/fallback",
        },
        "transaction": {"amount": 1000, "orderId": "slash-order-1", "transactionText": "Socks"},
    });
    let initiate = |path: &'static str| ecom(&h, Method::POST, path).json(&body).send();
    assert_eq!(initiate("/ecomm/v2/payments/").await.unwrap().status(), 200);
    // The second is refused as a duplicate order id, but still counted.
    assert_ne!(initiate("/ecomm/v2/payments").await.unwrap().status(), 429);
    assert_eq!(initiate("/ecomm/v2/payments/").await.unwrap().status(), 429);
}

/// Whether a problem's `extraDetails` name `field`.
fn names(p: &Value, field: &str) -> bool {
    p["extraDetails"]
        .as_array()
        .is_some_and(|d| d.iter().any(|e| e["name"] == field))
}

/// knowledge-base--platform-best-practices-2026.md: "The API rejects unknown fields"; the
/// Webhooks spec (webhooks-v1.yaml) sets `additionalProperties: false` on its request bodies. A
/// typo such as `paymentDescripton` is a 400 in the API's own error format naming the field's
/// path, not a 201 that silently drops the description.
#[tokio::test]
async fn unknown_request_fields_are_refused_with_their_path() {
    let h = H::start().await;
    // ePayment: a top-level typo, a nested one and one inside an array.
    let mut body = web("unknown-ref-1", 1000);
    body["paymentDescripton"] = body.as_object_mut().unwrap().remove("paymentDescription").unwrap();
    let p = problem(h.create_body(&body, "unknown-1").await, 400, None).await;
    assert!(names(&p, "paymentDescripton"), "{p}");
    let mut body = web("unknown-ref-1", 1000);
    body["amount"]["valeu"] = json!(1);
    let p = problem(h.create_body(&body, "unknown-2").await, 400, None).await;
    assert!(names(&p, "amount.valeu"), "{p}");
    let mut body = web("unknown-ref-1", 1000);
    body["receipt"] = json!({
        "orderLines": [{"name": "socks", "id": "1", "totalAmount": 1000, "totalAmountExcludingTax": 800,
                        "totalTaxAmount": 200, "taxPercentage": 25, "colour": "red"}],
        "bottomLine": {"currency": "NOK"}
    });
    let p = problem(h.create_body(&body, "unknown-3").await, 400, None).await;
    assert!(names(&p, "receipt.orderLines[0].colour"), "{p}");
    // Nothing was created; capture bodies are checked too.
    h.authorized("unknown-ref-2", 1000).await;
    let r = h
        .req(Method::POST, "/epayment/v1/payments/unknown-ref-2/capture")
        .header("Idempotency-Key", "unknown-4")
        .json(&json!({"modificationAmount": {"currency": "NOK", "value": 100}, "amount": 100}))
        .send()
        .await
        .unwrap();
    let p = problem(r, 400, None).await;
    assert!(names(&p, "amount"), "{p}");
    assert_eq!(h.get("unknown-ref-2").await["aggregate"]["capturedAmount"]["value"], 0);
    // Every field a documented request has is still taken (epayment-v1.yaml, `receipt`).
    let mut body = web("unknown-ref-3", 1000);
    body["receipt"] = json!({
        "orderLines": [{"name": "socks", "id": "1", "totalAmount": 1000, "totalAmountExcludingTax": 800,
                        "totalTaxAmount": 200, "taxPercentage": 25}],
        "bottomLine": {"currency": "NOK", "posId": "till-1"}
    });
    assert_eq!(h.create_body(&body, "unknown-5").await.status(), 201);

    // Webhooks: problem format.
    let r = h
        .req(Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({"url": "https://example.com/hook", "events": ["epayments.payment.created.v1"], "secret": "x"}))
        .send()
        .await
        .unwrap();
    let p = problem(r, 400, None).await;
    assert!(names(&p, "secret"), "{p}");

    // eCom: its array of errors, the field path as the error code.
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&json!({
            "customerInfo": {},
            "merchantInfo": {"merchantSerialNumber": h.m().msn, "callbackPrefix": "https://example.com/vipps",
                             "fallBack": "https://example.com/fallback", "fallback": "https://example.com/x"},
            "transaction": {"amount": 1000, "orderId": "unknown-order-1", "transactionText": "Socks"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v[0]["errorGroup"], "InvalidRequest", "{v}");
    assert_eq!(v[0]["errorCode"], "merchantInfo.fallback", "{v}");

    // Checkout: its own problem shape, 400.
    let m = h.m();
    let r = h
        .http
        .post(h.url("/checkout/v3/session"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .json(&json!({
            "type": "PAYMENT",
            "merchantInfo": {"callbackUrl": "https://example.com/cb", "returnUrl": "https://example.com/return",
                             "callbackAuthorizationToken": "cb-secret-123"},
            "transaction": {"amount": {"value": 10000, "currency": "NOK"}, "reference": "unknown-session-1",
                            "paymentDescription": "Socks", "paymentDescripton": "typo"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.to_lowercase().contains("paymentdescripton"), "{text}");
}

/// The lenient switch (README, "lenient_fields"): for clients that send fields newer than the
/// emulator knows, unknown fields are ignored, as before.
#[tokio::test]
async fn lenient_fields_ignores_unknown_fields() {
    let config = vipps_emulator::EmulatorConfig::from_json(r#"{"lenient_fields": true}"#).unwrap();
    assert!(config.lenient_fields);
    let h = H::with(config).await;
    let mut body = web("lenient-ref-1", 1000);
    body["paymentDescripton"] = json!("typo");
    body["amount"]["valeu"] = json!(1);
    assert_eq!(h.create_body(&body, "lenient-1").await.status(), 201);
    // Everything else is still checked.
    let mut body = web("lenient-ref-2", 1000);
    body.as_object_mut().unwrap().remove("amount");
    let p = problem(h.create_body(&body, "lenient-2").await, 400, None).await;
    assert!(names(&p, "amount"), "{p}");
}
