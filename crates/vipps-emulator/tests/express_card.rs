//! ePayment Express (fixed and dynamic shipping), profile sharing (`userDetails`) and card
//! payments, over HTTP: validation, the landing page's choices, the control plane's approve
//! with a choice, what get payment then shows, and capture of the amount with shipping.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use common::{problem, web, H};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;

const EXPRESS_SCOPE: &str = "name address email phoneNumber";

fn fixed_groups() -> Value {
    json!([
        {"brand": "POSTNORD", "type": "HOME_DELIVERY", "priority": 1, "options": [
            {"id": "pn-home", "amount": {"currency": "NOK", "value": 9900}, "name": "Home delivery",
             "estimatedDelivery": "3-5 business days"}
        ]},
        {"brand": "POSTEN", "type": "PICKUP_POINT", "isDefault": true, "priority": 0, "options": [
            {"id": "posten-kiwi", "amount": {"currency": "NOK", "value": 4900}, "name": "Kiwi Storgata",
             "meta": "Storgata 2, 0155 Oslo", "priority": 1},
            {"id": "posten-extra", "amount": {"currency": "NOK", "value": 3900}, "name": "Extra Eiganes",
             "isDefault": true, "priority": 0}
        ]}
    ])
}

fn express(reference: &str, shipping: Value) -> Value {
    let mut body = web(reference, 10000);
    body["profile"] = json!({"scope": EXPRESS_SCOPE});
    body["shipping"] = shipping;
    body
}

async fn create(h: &H, body: &Value) -> reqwest::Response {
    let key = format!("k-{}", body["reference"].as_str().unwrap());
    h.req(reqwest::Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn approve_with(h: &H, reference: &str, body: Value) -> reqwest::Response {
    h.http
        .post(h.url(&format!("/_emulator/payments/{reference}/approve")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn express_requests_are_validated() {
    let h = H::start().await;
    let ok = express("express-val-0", json!({"fixedOptions": fixed_groups()}));
    type Change = fn(&mut Value);
    let cases: [(Change, &str, Option<u32>); 7] = [
        (
            |b| b["profile"]["scope"] = json!("name email"),
            "profile.scope",
            Some(4080),
        ),
        (
            |b| b["paymentMethod"]["type"] = json!("CARD"),
            "paymentMethod.type",
            Some(4160),
        ),
        (
            |b| {
                b["shipping"]["dynamicOptions"] =
                    json!({"callbackUrl": "https://example.com/s", "callbackAuthorizationToken": "t"})
            },
            "shipping",
            None,
        ),
        (|b| b["shipping"] = json!({}), "shipping", None),
        (
            |b| b["shipping"]["fixedOptions"][0]["options"] = json!([]),
            "shipping.fixedOptions[0].options",
            None,
        ),
        (
            |b| b["shipping"]["fixedOptions"][1]["options"][0]["id"] = json!("pn-home"),
            "shipping.fixedOptions[1].options[0].id",
            None,
        ),
        (
            |b| b["shipping"]["fixedOptions"][0]["options"][0]["amount"]["currency"] = json!("EUR"),
            "shipping.fixedOptions[0].options[0].amount.currency",
            None,
        ),
    ];
    for (i, (change, field, code)) in cases.into_iter().enumerate() {
        let mut body = ok.clone();
        body["reference"] = json!(format!("express-val-{}", i + 1));
        change(&mut body);
        let b = problem(create(&h, &body).await, 400, code).await;
        assert!(b["detail"].as_str().unwrap().contains(field), "{field}: {b}");
    }
    // The same scope in another order is fine.
    let mut body = ok.clone();
    body["profile"]["scope"] = json!("phoneNumber email address name");
    assert_eq!(create(&h, &body).await.status(), 201);
}

#[tokio::test]
async fn express_with_fixed_options_adds_the_chosen_shipping() {
    let h = H::start().await;
    assert_eq!(
        create(&h, &express("express-fix-1", json!({"fixedOptions": fixed_groups()})))
            .await
            .status(),
        201
    );
    // The test-only force approve is not for Express.
    let r = h
        .req(
            reqwest::Method::POST,
            "/epayment/v1/test/payments/express-fix-1/approve",
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(10060)).await;

    // The landing page offers every option, the default one checked.
    let redirect = h.get("express-fix-1").await["redirectUrl"].as_str().unwrap().to_owned();
    let page = reqwest::get(&redirect).await.unwrap().text().await.unwrap();
    assert!(page.contains("value=\"posten-extra\" checked"), "{page}");
    for id in ["pn-home", "posten-kiwi"] {
        assert!(page.contains(&format!("value=\"{id}\">")), "{id}: {page}");
    }

    // Approved without a choice: the default option (the default group's default option).
    let r = approve_with(&h, "express-fix-1", json!({})).await;
    assert_eq!(r.status(), 200);
    let p = h.get("express-fix-1").await;
    assert_eq!(p["state"], "AUTHORIZED", "{p}");
    assert_eq!(p["amount"]["value"], 13900, "the shipping is added: {p}");
    assert_eq!(p["aggregate"]["authorizedAmount"]["value"], 13900);
    let s = &p["shippingDetails"];
    assert_eq!(s["shippingOptionId"], "posten-extra", "{p}");
    assert_eq!(s["shippingOptionName"], "Extra Eiganes");
    assert_eq!(s["shippingCost"], 3900);
    assert_eq!(s["address"]["addressLine1"], "Robert Levins gate 5");
    assert_eq!(s["address"]["country"], "NO");
    let u = &p["userDetails"];
    assert_eq!(u["firstName"], "Ola", "{p}");
    assert_eq!(u["email"], "ola.nordmann@example.com");
    assert_eq!(u["mobileNumber"], "4791234567");
    assert!(p["profile"]["sub"].is_string(), "{p}");
    let authorized = h.events("express-fix-1").await;
    assert_eq!(authorized[1]["name"], "AUTHORIZED");
    assert_eq!(authorized[1]["amount"]["value"], 13900);
    // The whole amount, shipping included, can be captured, and no more.
    assert_eq!(h.modify("express-fix-1", "capture", 13900, "cap-1").await.status(), 200);
    assert_eq!(h.modify("express-fix-1", "capture", 1, "cap-2").await.status(), 400);

    // The customer's own choice, on the landing page form.
    create(&h, &express("express-fix-2", json!({"fixedOptions": fixed_groups()}))).await;
    let redirect = h.get("express-fix-2").await["redirectUrl"].as_str().unwrap().to_owned();
    let token = redirect.split("token=").nth(1).unwrap().to_owned();
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token.as_str()), ("shippingOptionId", "pn-home")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Home delivery"), "{page}");
    let p = h.get("express-fix-2").await;
    assert_eq!(p["shippingDetails"]["shippingOptionId"], "pn-home");
    assert_eq!(p["amount"]["value"], 19900);

    // An option that was not offered: 400, and the payment still waits.
    create(&h, &express("express-fix-3", json!({"fixedOptions": fixed_groups()}))).await;
    let r = approve_with(&h, "express-fix-3", json!({"shippingOptionId": "nope"})).await;
    problem(r, 400, None).await;
    assert_eq!(h.get("express-fix-3").await["state"], "CREATED");
}

type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone)]
struct Merchant {
    seen: Seen,
    answer: Arc<Mutex<(StatusCode, Value)>>,
}

async fn shipping_callback(
    State(m): State<Merchant>,
    headers: HeaderMap,
    Json(v): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned());
    m.seen.lock().push((auth, v));
    let (status, body) = m.answer.lock().clone();
    (status, Json(body))
}

#[tokio::test]
async fn express_with_dynamic_options_asks_the_merchant() {
    let h = H::start().await;
    let m = Merchant {
        seen: Arc::default(),
        answer: Arc::new(Mutex::new((StatusCode::OK, json!({"groups": fixed_groups()})))),
    };
    let app = Router::new()
        .route("/shipping", post(shipping_callback))
        .with_state(m.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/shipping", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dynamic =
        json!({"dynamicOptions": {"callbackUrl": url, "callbackAuthorizationToken": "Bearer merchant-secret"}});

    create(&h, &express("express-dyn-1", dynamic.clone())).await;
    let r = approve_with(&h, "express-dyn-1", json!({"shippingOptionId": "posten-kiwi"})).await;
    assert_eq!(r.status(), 200);
    let p = h.get("express-dyn-1").await;
    assert_eq!(p["shippingDetails"]["shippingOptionId"], "posten-kiwi", "{p}");
    assert_eq!(p["amount"]["value"], 14900);
    let (auth, body) = m.seen.lock()[0].clone();
    assert_eq!(auth.as_deref(), Some("Bearer merchant-secret"));
    assert_eq!(
        body,
        json!({"Reference": "express-dyn-1", "AddressLine1": "Robert Levins gate 5", "City": "Oslo",
               "PostCode": "0154", "Country": "NO"})
    );

    // The merchant cannot ship there: the approval fails and the payment waits.
    *m.answer.lock() = (StatusCode::BAD_REQUEST, json!({}));
    create(&h, &express("express-dyn-2", dynamic.clone())).await;
    let b = problem(approve_with(&h, "express-dyn-2", json!({})).await, 400, Some(10010)).await;
    assert!(b["detail"].as_str().unwrap().contains("cannot ship"), "{b}");
    assert_eq!(h.get("express-dyn-2").await["state"], "CREATED");
    // An answer that is not valid shipping groups is not offered either.
    *m.answer.lock() = (
        StatusCode::OK,
        json!({"groups": [{"brand": "POSTEN", "type": "MAILBOX", "options": []}]}),
    );
    let b = problem(approve_with(&h, "express-dyn-2", json!({})).await, 400, Some(10010)).await;
    assert!(b["detail"].as_str().unwrap().contains("invalid answer"), "{b}");
    // The landing page says why there is nothing to choose.
    let redirect = h.get("express-dyn-2").await["redirectUrl"].as_str().unwrap().to_owned();
    let page = reqwest::get(&redirect).await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"shipping-error\""), "{page}");
}

#[tokio::test]
async fn profile_sharing_fills_user_details_by_scope() {
    let h = H::start().await;
    let mut body = web("profile-0001", 10000);
    body["profile"] = json!({"scope": "name phoneNumber"});
    create(&h, &body).await;
    let p = h.get("profile-0001").await;
    assert!(
        p.get("userDetails").is_none(),
        "nothing is shared before the approval: {p}"
    );
    assert_eq!(h.approve("profile-0001").await.status(), 200);
    let p = h.get("profile-0001").await;
    assert_eq!(
        p["userDetails"],
        json!({"firstName": "Ola", "lastName": "Nordmann", "mobileNumber": "4791234567"}),
        "{p}"
    );
    assert!(p.get("shippingDetails").is_none());

    // Without a scope, nothing is shared.
    h.authorized("profile-0002", 10000).await;
    let p = h.get("profile-0002").await;
    assert!(
        p.get("userDetails").is_none() && p["profile"].get("sub").is_none(),
        "{p}"
    );
}

#[tokio::test]
async fn card_payments_take_a_card_on_the_landing_page() {
    let h = H::start().await;
    let mut body = web("card-0001", 10000);
    body["paymentMethod"]["type"] = json!("CARD");
    assert_eq!(create(&h, &body).await.status(), 201);
    let p = h.get("card-0001").await;
    assert_eq!(p["paymentMethod"], json!({"type": "CARD"}), "{p}");

    let redirect = p["redirectUrl"].as_str().unwrap().to_owned();
    let page = reqwest::get(&redirect).await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"cardNumber\""), "{page}");
    let token = redirect.split("token=").nth(1).unwrap().to_owned();
    let form = |card: &'static str| {
        let token = token.clone();
        h.http
            .post(h.url("/landing/approve"))
            .form(&[("token", token), ("cardNumber", card.to_owned())])
            .send()
    };
    let r = form("5555-4444").await.unwrap();
    assert_eq!(r.status(), 400, "a bad card number is refused");
    let page = r.text().await.unwrap();
    assert!(page.contains("cardNumber: must be 12 to 19 digits"), "{page}");
    assert!(
        page.contains("name=\"cardNumber\""),
        "the customer can try again: {page}"
    );
    assert_eq!(h.get("card-0001").await["state"], "CREATED");
    let r = form("5555 3412 4444 1115").await.unwrap();
    assert_eq!(r.status(), 200);
    let p = h.get("card-0001").await;
    assert_eq!(p["state"], "AUTHORIZED");
    assert_eq!(p["paymentMethod"], json!({"type": "CARD", "cardBin": "555534"}), "{p}");

    // Through the control plane, without a number: a test card.
    let mut body = web("card-0002", 10000);
    body["paymentMethod"]["type"] = json!("CARD");
    create(&h, &body).await;
    assert_eq!(approve_with(&h, "card-0002", json!({})).await.status(), 200);
    assert_eq!(h.get("card-0002").await["paymentMethod"]["cardBin"], "492500");
    // A wallet payment has no card BIN.
    h.authorized("card-0003", 10000).await;
    assert_eq!(h.get("card-0003").await["paymentMethod"], json!({"type": "WALLET"}));
}

#[tokio::test]
async fn express_amounts_follow_through_capture_refund_cancel_and_limits() {
    let h = H::start().await;
    let fixed = json!({"fixedOptions": fixed_groups()});
    create(&h, &express("express-amt-1", fixed.clone())).await;
    assert_eq!(
        approve_with(&h, "express-amt-1", json!({"shippingOptionId": "pn-home"}))
            .await
            .status(),
        200
    );
    // 10000 + 9900 shipping: capture part, refund part, cancel the rest.
    assert_eq!(h.modify("express-amt-1", "capture", 15000, "c1").await.status(), 200);
    assert_eq!(h.modify("express-amt-1", "refund", 5000, "r1").await.status(), 200);
    assert_eq!(h.cancel("express-amt-1", None).await.status(), 200);
    let a = &h.get("express-amt-1").await["aggregate"];
    assert_eq!(a["authorizedAmount"]["value"], 19900, "{a}");
    assert_eq!(a["capturedAmount"]["value"], 15000);
    assert_eq!(a["refundedAmount"]["value"], 5000);
    assert_eq!(a["cancelledAmount"]["value"], 4900);

    // A magic test amount still fails the approval, and the amount stays as created.
    let mut body = express("express-amt-2", fixed.clone());
    body["amount"]["value"] = json!(151);
    create(&h, &body).await;
    let r: Value = approve_with(&h, "express-amt-2", json!({})).await.json().await.unwrap();
    assert_eq!(r["approved"], false, "{r}");
    let p = h.get("express-amt-2").await;
    assert_eq!(p["state"], "ABORTED");
    assert_eq!(p["amount"]["value"], 151);
    assert!(p.get("shippingDetails").is_none(), "{p}");

    // Shipping that would take the amount over the API's limit is refused; the payment waits.
    let mut body = express("express-amt-3", fixed);
    body["amount"]["value"] = json!(64_999_000);
    create(&h, &body).await;
    let b = problem(approve_with(&h, "express-amt-3", json!({})).await, 400, Some(10010)).await;
    assert!(b["detail"].as_str().unwrap().contains("limit"), "{b}");
    assert_eq!(h.get("express-amt-3").await["state"], "CREATED");

    // An option whose amount is over the limit is refused at creation.
    let mut groups = fixed_groups();
    groups[0]["options"][0]["amount"]["value"] = json!(i64::MAX);
    let b = problem(
        create(&h, &express("express-amt-4", json!({"fixedOptions": groups}))).await,
        400,
        Some(4040),
    )
    .await;
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("shipping.fixedOptions[0].options[0].amount"),
        "{b}"
    );
}

#[tokio::test]
async fn the_dynamic_callback_token_stays_out_of_errors_and_bad_input_is_refused() {
    let h = H::start().await;
    // Nobody listens on this port: the call fails, and the error does not carry the token.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/shipping", listener.local_addr().unwrap());
    drop(listener);
    let dynamic =
        json!({"dynamicOptions": {"callbackUrl": dead, "callbackAuthorizationToken": "Bearer never-shown-42"}});
    create(&h, &express("express-tok-1", dynamic)).await;
    let b = problem(approve_with(&h, "express-tok-1", json!({})).await, 400, Some(10010)).await;
    assert!(b["detail"].as_str().unwrap().contains("connection failed"), "{b}");
    assert!(!b.to_string().contains("never-shown-42"), "{b}");

    // A token that cannot be sent as a header is refused when the payment is created.
    let dynamic =
        json!({"dynamicOptions": {"callbackUrl": "https://example.com/s", "callbackAuthorizationToken": "a\nb"}});
    let b = problem(create(&h, &express("express-tok-2", dynamic)).await, 400, Some(4140)).await;
    assert!(
        b["detail"].as_str().unwrap().contains("callbackAuthorizationToken"),
        "{b}"
    );

    // A landing-page choice that was not offered: the form again, with a 400.
    create(&h, &express("express-tok-3", json!({"fixedOptions": fixed_groups()}))).await;
    let redirect = h.get("express-tok-3").await["redirectUrl"].as_str().unwrap().to_owned();
    let token = redirect.split("token=").nth(1).unwrap().to_owned();
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token.as_str()), ("shippingOptionId", "<nope>")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("&#39;&lt;nope&gt;&#39; is not an offered option"),
        "{page}"
    );
    assert!(page.contains("value=\"posten-extra\" checked"), "{page}");
}
