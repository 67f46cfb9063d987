//! Order Management through HTTP (order-management-latest.yaml, order-management-2.3.24.yaml):
//! receipts, categories (v2 and v3), images, the binding to ePayment payments, eCom orders and
//! Recurring charges, idempotency, persistence, and what the landing page shows.

mod common;

use base64::Engine as _;
use common::{ecom, ecom_initiate_body, fetch_token, second_merchant, web, H};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use vipps_emulator::EmulatorConfig;

const V2: &str = "/order-management/v2";
const V3: &str = "/order-management/v3/categories";
const IMAGES: &str = "/order-management/v1/images";

fn receipt(currency: &str) -> Value {
    json!({
        "orderLines": [
            {"name": "Socks <wool>", "id": "l1", "totalAmount": 5000, "totalAmountExcludingTax": 4000,
             "totalTaxAmount": 1000, "taxRate": 2500,
             "unitInfo": {"unitPrice": 2500, "quantity": "2", "quantityUnit": "PCS"}},
            {"name": "Hat", "id": "l2", "totalAmount": 1000, "totalAmountExcludingTax": 800,
             "totalTaxAmount": 200, "taxPercentage": 25, "isReturn": true},
            {"name": "Home delivery", "id": "ship", "totalAmount": 1000, "totalAmountExcludingTax": 800,
             "totalTaxAmount": 200, "taxRate": 2500, "isShipping": true}
        ],
        "bottomLine": {"currency": currency, "totalAmount": 5000, "receiptNumber": "R-1"}
    })
}

/// A PNG header of `height` pixels, padded with zeros to `len` bytes (the emulator reads only
/// the header, as the real API checks format and size).
fn png(height: u32, len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&300u32.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0]);
    b.resize(len.max(b.len()), 0);
    b
}

fn jpeg(height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&400u16.to_be_bytes());
    b.extend_from_slice(&[0; 12]);
    b
}

fn upload(id: &str, bytes: &[u8]) -> Value {
    json!({"imageId": id, "src": base64::engine::general_purpose::STANDARD.encode(bytes), "type": "base64"})
}

async fn send(h: &H, method: Method, path: &str, key: Option<&str>, body: Option<&Value>) -> Response {
    let mut r = h.req(method, path);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

async fn ok(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Asserts the spec's `ErrorResponse` with `status`, naming `param` first when given.
async fn om_error(r: Response, status: u16, param: Option<&str>) -> Value {
    let got = r.status().as_u16();
    let ct = r.headers().get("content-type").cloned();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    assert_eq!(ct.unwrap(), "application/problem+json", "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(
        v["type"].as_str().unwrap().starts_with("https://datatracker.ietf.org/"),
        "{v}"
    );
    assert!(v["title"].is_string() && v["detail"].is_string(), "{v}");
    assert!(v["instance"].as_str().unwrap().starts_with("00-"), "{v}");
    assert!(
        v.get("status").is_none() && v.get("traceId").is_none(),
        "not ePayment's shape: {v}"
    );
    if let Some(p) = param {
        assert_eq!(v["invalidParams"][0]["name"], p, "{v}");
        assert!(v["invalidParams"][0]["reason"].is_string(), "{v}");
    }
    v
}

async fn add_receipt(h: &H, kind: &str, id: &str, body: &Value) -> Response {
    send(h, Method::POST, &format!("{V2}/{kind}/receipts/{id}"), None, Some(body)).await
}

async fn put_category(h: &H, kind: &str, id: &str, body: &Value) -> Response {
    send(
        h,
        Method::PUT,
        &format!("{V2}/{kind}/categories/{id}"),
        None,
        Some(body),
    )
    .await
}

async fn order(h: &H, kind: &str, id: &str) -> Response {
    send(h, Method::GET, &format!("{V2}/{kind}/{id}"), None, None).await
}

/// A request as the second merchant (`token`: its access token).
fn as_second(h: &H, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    let m2 = second_merchant();
    h.http
        .request(method, h.url(path))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", &m2.subscription_key)
        .header("Merchant-Serial-Number", &m2.msn)
}

/// Starts a Checkout payment session of NOK 50.00, with `order_summary` when given.
async fn start_session(h: &H, reference: &str, order_summary: Option<Value>) {
    let mut session = json!({
        "type": "PAYMENT",
        "reference": reference,
        "merchantInfo": {
            "callbackUrl": "http://127.0.0.1:9/cb",
            "returnUrl": "https://example.com/return",
            "callbackAuthorizationToken": "cb-secret-123"
        },
        "transaction": {
            "amount": {"value": 5000, "currency": "NOK"},
            "reference": reference,
            "paymentDescription": "Socks"
        }
    });
    if let Some(summary) = order_summary {
        session["transaction"]["orderSummary"] = summary;
    }
    let r = h
        .checkout(Method::POST, "/checkout/v3/session")
        .json(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

#[tokio::test]
async fn receipt_and_categories_on_an_epayment_payment() {
    let h = H::start().await;
    h.created("om-pay-0001", 5000).await;
    om_error(order(&h, "ecom", "om-pay-0001").await, 404, None).await;

    let id = ok(add_receipt(&h, "ecom", "om-pay-0001", &receipt("NOK")).await, 201).await;
    assert!(is_uuid(&id), "201 is a JSON string holding a UUID: {id}");
    let got = ok(order(&h, "ecom", "om-pay-0001").await, 200).await;
    assert_eq!(got["receipt"], receipt("NOK"));
    assert!(got.get("category").is_none(), "{got}");

    // A receipt is immutable once added.
    om_error(add_receipt(&h, "ecom", "om-pay-0001", &receipt("NOK")).await, 409, None).await;

    let first = json!({"category": "TICKET", "orderDetailsUrl": "https://example.com/ticket"});
    assert!(is_uuid(
        &ok(put_category(&h, "ecom", "om-pay-0001", &first).await, 200).await
    ));
    let second = json!({"category": "ORDER_CONFIRMATION", "orderDetailsUrl": "https://example.com/order"});
    ok(put_category(&h, "ECOM", "om-pay-0001", &second).await, 200).await;
    // Upper and lower case name the same order (2.3.24 and latest).
    let got = ok(order(&h, "ECOM", "om-pay-0001").await, 200).await;
    assert_eq!(got["category"], second, "the latest category replaces the earlier one");
    assert_eq!(got["receipt"]["bottomLine"]["receiptNumber"], "R-1");
}

#[tokio::test]
async fn receipts_are_validated() {
    let h = H::start().await;
    h.created("om-val-0001", 5000).await;
    let at = |f: &dyn Fn(&mut Value)| {
        let mut b = receipt("NOK");
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            at(&|b| b["orderLines"][0]["totalTaxAmount"] = json!(999)),
            "orderLines[0].totalAmount",
        ),
        (
            at(&|b| {
                b["orderLines"][0].as_object_mut().unwrap().remove("taxRate");
            }),
            "orderLines[0].taxRate",
        ),
        (
            at(&|b| b["orderLines"][0]["unitInfo"]["quantity"] = json!("1,5")),
            "orderLines[0].unitInfo.quantity",
        ),
        (
            at(&|b| b["bottomLine"]["currency"] = json!("SEK")),
            "bottomLine.currency",
        ),
        (
            at(&|b| b["bottomLine"]["totalAmount"] = json!(4999)),
            "bottomLine.totalAmount",
        ),
        (
            json!({"orderLines": [], "bottomLine": {"currency": "NOK"}}),
            "orderLines",
        ),
        // Another currency than the payment's.
        (receipt("EUR"), "bottomLine.currency"),
    ];
    for (body, field) in cases {
        om_error(add_receipt(&h, "ecom", "om-val-0001", &body).await, 400, Some(field)).await;
    }
    om_error(
        add_receipt(&h, "card", "om-val-0001", &receipt("NOK")).await,
        400,
        Some("paymentType"),
    )
    .await;
    om_error(
        add_receipt(&h, "ecom", "bad%20id", &receipt("NOK")).await,
        400,
        Some("orderId"),
    )
    .await;
    om_error(order(&h, "ecom", &"x".repeat(65)).await, 400, Some("orderId")).await;
    // Malformed JSON and unknown fields, in this API's format.
    let r = h
        .req(Method::POST, &format!("{V2}/ecom/receipts/om-val-0001"))
        .header("content-type", "application/json")
        .body("{\"orderLines\": [")
        .send()
        .await
        .unwrap();
    om_error(r, 400, Some("body")).await;
    let mut extra = receipt("NOK");
    extra["colour"] = json!("red");
    om_error(
        add_receipt(&h, "ecom", "om-val-0001", &extra).await,
        400,
        Some("colour"),
    )
    .await;
    // Nothing was stored by any of these.
    om_error(order(&h, "ecom", "om-val-0001").await, 404, None).await;

    let bad_url = json!({"category": "GENERAL", "orderDetailsUrl": "not a url"});
    om_error(
        put_category(&h, "ecom", "om-val-0001", &bad_url).await,
        400,
        Some("orderDetailsUrl"),
    )
    .await;
    let bad_kind = json!({"category": "PARTY", "orderDetailsUrl": "https://example.com"});
    om_error(
        put_category(&h, "ecom", "om-val-0001", &bad_kind).await,
        400,
        Some("category"),
    )
    .await;
}

#[tokio::test]
async fn authentication_and_unknown_routes_answer_in_this_apis_format() {
    let h = H::start().await;
    let r = h
        .http
        .get(h.url(&format!("{V2}/ecom/om-auth-0001")))
        .send()
        .await
        .unwrap();
    om_error(r, 401, None).await;
    let r = h
        .http
        .get(h.url(&format!("{V2}/ecom/om-auth-0001")))
        .bearer_auth(&h.token)
        .header("Ocp-Apim-Subscription-Key", "wrong")
        .header("Merchant-Serial-Number", &h.m().msn)
        .send()
        .await
        .unwrap();
    om_error(r, 401, None).await;
    om_error(
        send(&h, Method::GET, "/order-management/v9/nothing", None, None).await,
        404,
        None,
    )
    .await;
    om_error(send(&h, Method::PATCH, V3, None, None).await, 405, None).await;
}

#[tokio::test]
async fn orders_are_bound_to_the_merchants_payments_orders_and_charges() {
    let h = H::two_merchants().await;
    om_error(
        add_receipt(&h, "ecom", "om-unknown-1", &receipt("NOK")).await,
        404,
        None,
    )
    .await;
    om_error(order(&h, "ecom", "om-unknown-1").await, 404, None).await;
    let cat = json!({"category": "RECEIPT", "orderDetailsUrl": "https://example.com/r"});
    om_error(put_category(&h, "ecom", "om-unknown-1", &cat).await, 404, None).await;

    // An eCom order id.
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&ecom_initiate_body(&h, "om-ecom-0001", 5000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    ok(add_receipt(&h, "ecom", "om-ecom-0001", &receipt("NOK")).await, 201).await;
    om_error(
        add_receipt(&h, "ecom", "om-ecom-0002", &receipt("NOK")).await,
        404,
        None,
    )
    .await;

    // A Recurring charge id (the initial charge of a drafted agreement).
    let draft = json!({
        "pricing": {"type": "LEGACY", "amount": 49900, "currency": "NOK"},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/redirect",
        "merchantAgreementUrl": "https://example.com/agreement",
        "productName": "Paper",
        "initialCharge": {"amount": 5000, "description": "First", "transactionType": "DIRECT_CAPTURE"}
    });
    let a = ok(
        send(
            &h,
            Method::POST,
            "/recurring/v3/agreements",
            Some("om-draft-1"),
            Some(&draft),
        )
        .await,
        201,
    )
    .await;
    let charge = a["chargeId"].as_str().unwrap();
    om_error(add_receipt(&h, "ecom", charge, &receipt("NOK")).await, 404, None).await;
    ok(add_receipt(&h, "recurring", charge, &receipt("NOK")).await, 201).await;
    ok(put_category(&h, "RECURRING", charge, &cat).await, 200).await;
    let got = ok(order(&h, "recurring", charge).await, 200).await;
    assert_eq!(got["category"], cat);
    // An ePayment payment is no Recurring order.
    h.created("om-bind-0001", 5000).await;
    om_error(
        add_receipt(&h, "recurring", "om-bind-0001", &receipt("NOK")).await,
        404,
        None,
    )
    .await;

    // Another merchant's payment is unknown.
    let t2 = fetch_token(&h.http, &h.emu.base_url(), &second_merchant()).await;
    let as_second = |method: Method, path: &str| as_second(&h, &t2, method, path);
    let r = as_second(Method::POST, &format!("{V2}/ecom/receipts/om-bind-0001"))
        .json(&receipt("NOK"))
        .send()
        .await
        .unwrap();
    om_error(r, 404, None).await;
    let r = as_second(Method::GET, &format!("{V2}/ecom/om-ecom-0001"))
        .send()
        .await
        .unwrap();
    om_error(r, 404, None).await;
}

#[tokio::test]
async fn a_receipt_sent_with_the_epayment_create_is_the_orders() {
    let h = H::start().await;
    let mut body = web("om-create-0001", 5000);
    body["receipt"] = receipt("NOK");
    assert_eq!(h.create_body(&body, "om-create-key").await.status(), 201);
    let got = ok(order(&h, "ecom", "om-create-0001").await, 200).await;
    assert_eq!(got["receipt"], receipt("NOK"));
    om_error(
        add_receipt(&h, "ecom", "om-create-0001", &receipt("NOK")).await,
        409,
        None,
    )
    .await;
    // The dashboard's detail shows it.
    let d = h.control_get("/_emulator/objects/payment/om-create-0001").await;
    assert_eq!(d["order"]["receipt"]["orderLines"][0]["name"], "Socks <wool>", "{d}");
}

#[tokio::test]
async fn images_are_checked_idempotent_and_served() {
    let h = H::start().await;
    let img = png(200, 64);
    let r = ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("logo-1", &img))).await,
        200,
    )
    .await;
    assert_eq!(r, json!({"imageId": "logo-1"}));
    ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("logo-1", &img))).await,
        200,
    )
    .await;
    om_error(
        send(&h, Method::POST, IMAGES, None, Some(&upload("logo-1", &png(300, 64)))).await,
        409,
        None,
    )
    .await;
    ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("photo.jpg", &jpeg(480)))).await,
        200,
    )
    .await;

    let gif = b"GIF89a\x2c\x01\xc8\x00".to_vec();
    for (body, why) in [
        (upload("gif", &gif), "a GIF"),
        (upload("small", &png(166, 64)), "166 pixels high"),
        (upload("big", &png(200, 2 * 1024 * 1024 + 1)), "over 2 MB"),
        (
            json!({"imageId": "b64", "src": "not base64!", "type": "base64"}),
            "bad base64",
        ),
    ] {
        let v = om_error(
            send(&h, Method::POST, IMAGES, None, Some(&body)).await,
            400,
            Some("src"),
        )
        .await;
        assert!(!v["invalidParams"][0]["reason"].as_str().unwrap().is_empty(), "{why}");
    }
    om_error(
        send(&h, Method::POST, IMAGES, None, Some(&upload("bad id", &img))).await,
        400,
        Some("imageId"),
    )
    .await;
    // Exactly 2 MB passes: the route takes more than the default 1 MiB body.
    ok(
        send(
            &h,
            Method::POST,
            IMAGES,
            None,
            Some(&upload("full", &png(200, 2 * 1024 * 1024))),
        )
        .await,
        200,
    )
    .await;
    let huge = json!({"imageId": "huge", "src": "A".repeat(3 * 1024 * 1024 + 10), "type": "base64"});
    om_error(send(&h, Method::POST, IMAGES, None, Some(&huge)).await, 413, None).await;

    let r = h
        .http
        .get(h.url("/order-management/images/123456/logo-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), img);
    let r = h
        .http
        .get(h.url("/order-management/images/123456/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let r = h
        .http
        .get(h.url("/order-management/images/123456/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A category names an image of this merchant only.
    h.created("om-img-0001", 5000).await;
    let with = |id: &str| json!({"category": "GENERAL", "orderDetailsUrl": "https://example.com", "imageId": id});
    om_error(
        put_category(&h, "ecom", "om-img-0001", &with("nope")).await,
        400,
        Some("imageId"),
    )
    .await;
    ok(put_category(&h, "ecom", "om-img-0001", &with("logo-1")).await, 200).await;
}

#[tokio::test]
async fn v3_categories() {
    let h = H::start().await;
    h.created("om-v3-0001", 5000).await;
    let body = |kind: &str, order: &str| json!({"orderId": order, "paymentType": "ECOM", "type": kind, "url": "https://example.com/c"});
    let v = om_error(
        send(&h, Method::POST, V3, None, Some(&body("TICKET", "om-v3-none"))).await,
        400,
        Some("orderId"),
    )
    .await;
    assert!(v["detail"].as_str().unwrap().contains("om-v3-none"));
    let first = ok(
        send(&h, Method::POST, V3, None, Some(&body("TICKET", "om-v3-0001"))).await,
        201,
    )
    .await;
    let first = first["categoryId"].as_str().unwrap().to_owned();
    let second = ok(
        send(&h, Method::POST, V3, None, Some(&body("BOOKING", "om-v3-0001"))).await,
        201,
    )
    .await;
    let second = second["categoryId"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    let list = ok(
        send(&h, Method::GET, &format!("{V3}?orderId=om-v3-0001"), None, None).await,
        200,
    )
    .await;
    let ids: Vec<&str> = list["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["categoryId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()], "oldest first");
    assert_eq!(list["categories"][1]["type"], "BOOKING");
    assert_eq!(list["categories"][1]["paymentType"], "ECOM");
    let empty = ok(
        send(&h, Method::GET, &format!("{V3}?orderId=other"), None, None).await,
        200,
    )
    .await;
    assert_eq!(empty, json!({"categories": []}));
    om_error(send(&h, Method::GET, V3, None, None).await, 400, Some("orderId")).await;

    let one = ok(send(&h, Method::GET, &format!("{V3}/{first}"), None, None).await, 200).await;
    assert_eq!(one["type"], "TICKET");
    om_error(
        send(&h, Method::GET, &format!("{V3}/not-a-uuid"), None, None).await,
        400,
        Some("categoryId"),
    )
    .await;
    let unknown = uuid::Uuid::new_v4();
    om_error(
        send(&h, Method::GET, &format!("{V3}/{unknown}"), None, None).await,
        404,
        None,
    )
    .await;

    // The order shows the latest category, v2 or v3.
    let got = ok(order(&h, "ecom", "om-v3-0001").await, 200).await;
    assert_eq!(got["category"]["category"], "BOOKING");
    ok(
        send(&h, Method::DELETE, &format!("{V3}/{second}"), None, None).await,
        200,
    )
    .await;
    om_error(
        send(&h, Method::DELETE, &format!("{V3}/{second}"), None, None).await,
        404,
        None,
    )
    .await;
    om_error(
        send(&h, Method::GET, &format!("{V3}/{second}"), None, None).await,
        404,
        None,
    )
    .await;
    let got = ok(order(&h, "ecom", "om-v3-0001").await, 200).await;
    assert_eq!(got["category"]["category"], "TICKET", "the one before shows again");
}

#[tokio::test]
async fn idempotency_keys_replay_and_conflict() {
    let h = H::start().await;
    h.created("om-idem-0001", 5000).await;
    let path = format!("{V2}/ecom/receipts/om-idem-0001");
    let a = ok(
        send(&h, Method::POST, &path, Some("k-1"), Some(&receipt("NOK"))).await,
        201,
    )
    .await;
    let b = ok(
        send(&h, Method::POST, &path, Some("k-1"), Some(&receipt("NOK"))).await,
        201,
    )
    .await;
    assert_eq!(a, b, "the same key and request replay the same answer, not a 409");
    let mut other = receipt("NOK");
    other["bottomLine"]["receiptNumber"] = json!("R-2");
    let conflict = om_error(
        send(&h, Method::POST, &path, Some("k-1"), Some(&other)).await,
        409,
        None,
    )
    .await;
    assert!(
        conflict["detail"].as_str().unwrap().contains("Idempotency-Key"),
        "the key's conflict, not the receipt's: {conflict}"
    );
    // Without a key, the second receipt is a 409 of its own.
    om_error(
        send(&h, Method::POST, &path, None, Some(&receipt("NOK"))).await,
        409,
        None,
    )
    .await;

    let cat = json!({"category": "GENERAL", "orderDetailsUrl": "https://example.com"});
    let path = format!("{V2}/ecom/categories/om-idem-0001");
    let a = ok(send(&h, Method::PUT, &path, Some("k-2"), Some(&cat)).await, 200).await;
    let b = ok(send(&h, Method::PUT, &path, Some("k-2"), Some(&cat)).await, 200).await;
    let c = ok(send(&h, Method::PUT, &path, None, Some(&cat)).await, 200).await;
    assert_eq!(a, b);
    assert_ne!(a, c, "without a key each PUT is a new one");
    // A category can be replaced, so this 409 can only be the key's.
    let other = json!({"category": "TICKET", "orderDetailsUrl": "https://example.com"});
    om_error(send(&h, Method::PUT, &path, Some("k-2"), Some(&other)).await, 409, None).await;
    let long = "k".repeat(51);
    om_error(
        send(&h, Method::PUT, &path, Some(&long), Some(&cat)).await,
        400,
        Some("Idempotency-Key"),
    )
    .await;
}

/// The landing page before and after approval shows the receipt and the category.
#[tokio::test]
async fn the_landing_page_shows_the_receipt_and_the_category() {
    let h = H::start().await;
    ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("logo-1", &png(200, 64)))).await,
        200,
    )
    .await;
    let mut body = web("om-page-0001", 5000);
    body["receipt"] = receipt("NOK");
    let r = h.create_body(&body, "om-page-key").await;
    let created: Value = ok(r, 201).await;
    let cat = json!({"category": "ORDER_CONFIRMATION", "orderDetailsUrl": "https://example.com/o?a=1&b=2", "imageId": "logo-1"});
    ok(put_category(&h, "ecom", "om-page-0001", &cat).await, 200).await;

    let url = created["redirectUrl"].as_str().unwrap();
    let page = h.http.get(url).send().await.unwrap().text().await.unwrap();
    let check = |page: &str| {
        assert!(page.contains("Socks &lt;wool&gt;"), "escaped line name: {page}");
        assert!(!page.contains("Socks <wool>"), "{page}");
        assert!(page.contains("2 pcs × 25.00 NOK"), "{page}");
        assert!(page.contains("-10.00 NOK"), "a returned line is negative: {page}");
        assert!(
            page.contains("id=\"receipt-shipping\"") && page.contains("Home delivery"),
            "{page}"
        );
        assert!(page.contains("id=\"receipt-vat\">10.00 NOK<"), "{page}");
        assert!(page.contains("id=\"receipt-total\">50.00 NOK<"), "{page}");
        assert!(
            page.contains(
                "<a href=\"https://example.com/o?a=1&amp;b=2\" rel=\"noopener noreferrer\">Order confirmation</a>"
            ),
            "{page}"
        );
        assert!(
            page.contains("<img id=\"category-image\" src=\"/order-management/images/123456/logo-1\""),
            "{page}"
        );
    };
    check(&page);

    let token = url.split("token=").nth(1).unwrap();
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("The payment is approved."), "{page}");
    check(&page);
    let page = h.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("no longer waiting"), "{page}");
    check(&page);
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        TempDir(std::env::temp_dir().join(format!("vipps-om-{}-{}", std::process::id(), rand::random::<u64>())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn everything_survives_a_restart_and_a_reset_clears_it() {
    let dir = TempDir::new();
    let h = H::on_dir(EmulatorConfig::default(), &dir.0).await;
    let img = png(200, 100);
    ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("logo-1", &img))).await,
        200,
    )
    .await;
    let mut body = web("om-keep-0001", 5000);
    body["receipt"] = receipt("NOK");
    ok(h.create_body(&body, "om-keep-key").await, 201).await;
    h.created("om-keep-0002", 5000).await;
    ok(add_receipt(&h, "ecom", "om-keep-0002", &receipt("NOK")).await, 201).await;
    let cat = json!({"category": "DELIVERY", "orderDetailsUrl": "https://example.com/d", "imageId": "logo-1"});
    ok(put_category(&h, "ecom", "om-keep-0002", &cat).await, 200).await;
    let v3 =
        json!({"orderId": "om-keep-0001", "paymentType": "ECOM", "type": "TICKET", "url": "https://example.com/t"});
    let c = ok(send(&h, Method::POST, V3, Some("v3-key"), Some(&v3)).await, 201).await;

    let h = h.restart(EmulatorConfig::default(), &dir.0).await;
    let got = ok(order(&h, "ecom", "om-keep-0001").await, 200).await;
    assert_eq!(
        got["receipt"],
        receipt("NOK"),
        "the create's receipt is kept with its payment"
    );
    assert_eq!(got["category"]["category"], "TICKET");
    let got = ok(order(&h, "ecom", "om-keep-0002").await, 200).await;
    assert_eq!(got["receipt"], receipt("NOK"));
    assert_eq!(got["category"], cat);
    let r = h
        .http
        .get(h.url("/order-management/images/123456/logo-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), img);
    // The idempotency record survived too, and new objects number on after the old ones.
    let again = ok(send(&h, Method::POST, V3, Some("v3-key"), Some(&v3)).await, 201).await;
    assert_eq!(again, c);
    let later =
        json!({"orderId": "om-keep-0001", "paymentType": "ECOM", "type": "BOOKING", "url": "https://example.com/b"});
    ok(send(&h, Method::POST, V3, None, Some(&later)).await, 201).await;
    let got = ok(order(&h, "ecom", "om-keep-0001").await, 200).await;
    assert_eq!(got["category"]["category"], "BOOKING");
    // In a snapshot.
    let snap = h.control_get("/_emulator/snapshot").await;
    let tables: Vec<&str> = snap["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["table"].as_str().unwrap())
        .collect();
    for t in ["om.order", "om.category", "om.image"] {
        assert!(tables.contains(&t), "{t} in {tables:?}");
    }

    h.control("/_emulator/reset").await;
    om_error(order(&h, "ecom", "om-keep-0002").await, 404, None).await;
    let r = h
        .http
        .get(h.url("/order-management/images/123456/logo-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let h = h.restart(EmulatorConfig::default(), &dir.0).await;
    let list = ok(
        send(&h, Method::GET, &format!("{V3}?orderId=om-keep-0001"), None, None).await,
        200,
    )
    .await;
    assert_eq!(list, json!({"categories": []}), "the reset reached the data dir");
}

/// A Checkout session's reference is an `ECOM` order before its payment exists, and after.
#[tokio::test]
async fn a_checkout_sessions_reference_is_an_order() {
    let h = H::start().await;
    start_session(&h, "om-session-0001", None).await;
    om_error(
        add_receipt(&h, "ecom", "om-session-0001", &receipt("EUR")).await,
        400,
        Some("bottomLine.currency"),
    )
    .await;
    ok(add_receipt(&h, "ecom", "om-session-0001", &receipt("NOK")).await, 201).await;
    let got = ok(order(&h, "ecom", "om-session-0001").await, 200).await;
    assert_eq!(got["receipt"], receipt("NOK"));
    om_error(order(&h, "recurring", "om-session-0001").await, 404, None).await;
}

/// An eCom order's landing page shows its receipt and category too, before and after approval.
#[tokio::test]
async fn an_ecom_orders_landing_page_shows_its_receipt() {
    let h = H::start().await;
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&ecom_initiate_body(&h, "om-ecom-page-1", 5000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let url = r.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    ok(add_receipt(&h, "ecom", "om-ecom-page-1", &receipt("NOK")).await, 201).await;
    let cat = json!({"category": "DELIVERY", "orderDetailsUrl": "https://example.com/track/1"});
    ok(put_category(&h, "ecom", "om-ecom-page-1", &cat).await, 200).await;
    let check = |page: &str| {
        assert!(page.contains("id=\"receipt-total\">50.00 NOK<"), "{page}");
        assert!(page.contains("Socks &lt;wool&gt;"), "{page}");
        assert!(page.contains("<a href=\"https://example.com/track/1\""), "{page}");
    };
    check(&h.http.get(&url).send().await.unwrap().text().await.unwrap());
    let token = url.split("token=").nth(1).unwrap();
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("The payment is approved."), "{page}");
    check(&page);
}

/// Images and v3 categories are the merchant's own: another merchant can neither name the
/// image in a category nor read, list or delete the category.
#[tokio::test]
async fn images_and_v3_categories_belong_to_their_merchant() {
    let h = H::two_merchants().await;
    h.created("om-mine-0001", 5000).await;
    ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("logo-1", &png(200, 200)))).await,
        200,
    )
    .await;
    let v3 =
        json!({"orderId": "om-mine-0001", "paymentType": "ECOM", "type": "TICKET", "url": "https://example.com/t"});
    let created = ok(send(&h, Method::POST, V3, None, Some(&v3)).await, 201).await;
    let id = created["categoryId"].as_str().unwrap().to_owned();

    let t2 = fetch_token(&h.http, &h.emu.base_url(), &second_merchant()).await;
    let as_second = |method: Method, path: &str| as_second(&h, &t2, method, path);
    let r = as_second(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "second-create-1")
        .json(&web("om-theirs-0001", 5000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let cat = json!({"category": "RECEIPT", "orderDetailsUrl": "https://example.com/r", "imageId": "logo-1"});
    let r = as_second(Method::PUT, &format!("{V2}/ecom/categories/om-theirs-0001"))
        .json(&cat)
        .send()
        .await
        .unwrap();
    om_error(r, 400, Some("imageId")).await;
    let r = as_second(Method::GET, &format!("{V3}/{id}")).send().await.unwrap();
    om_error(r, 404, None).await;
    let r = as_second(Method::DELETE, &format!("{V3}/{id}")).send().await.unwrap();
    om_error(r, 404, None).await;
    let r = as_second(Method::GET, &format!("{V3}?orderId=om-mine-0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok(r, 200).await, json!({"categories": []}));
    // Still there for its merchant.
    ok(send(&h, Method::GET, &format!("{V3}/{id}"), None, None).await, 200).await;
}

/// A Checkout session's `orderSummary` is its receipt in Order Management (the Checkout guide:
/// Checkout sends it there): read back with the spec's names, and not replaceable.
#[tokio::test]
async fn a_checkout_order_summary_is_the_sessions_receipt() {
    let h = H::start().await;
    let summary = json!({
        "orderLines": [{"name": "Socks", "id": "s-1", "totalAmount": 5000, "totalAmountExcludingTax": 4000,
                        "totalTaxAmount": 1000, "taxRate": 2500,
                        "unitInfo": {"unitPrice": 2500, "quantity": "2", "quantityUnit": "PCS"}}],
        "orderBottomLine": {"currency": "NOK", "receiptNumber": "r-77"}
    });
    start_session(&h, "om-summary-0001", Some(summary)).await;
    let got = ok(order(&h, "ecom", "om-summary-0001").await, 200).await;
    assert_eq!(
        got["receipt"],
        json!({"orderLines": [{"name": "Socks", "id": "s-1", "totalAmount": 5000, "totalAmountExcludingTax": 4000,
                               "totalTaxAmount": 1000, "taxRate": 2500,
                               "unitInfo": {"unitPrice": 2500, "quantity": "2", "quantityUnit": "PCS"}}],
               "bottomLine": {"currency": "NOK", "receiptNumber": "r-77"}})
    );
    om_error(
        add_receipt(&h, "ecom", "om-summary-0001", &receipt("NOK")).await,
        409,
        None,
    )
    .await;
}

/// With retention on, what Order Management keeps is forgotten with the rest.
#[tokio::test]
async fn retention_forgets_old_receipts_categories_and_images() {
    let h = H::with(EmulatorConfig {
        token_ttl_secs: 24 * 3600,
        retention_secs: Some(3600),
        ..EmulatorConfig::default()
    })
    .await;
    ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("old-logo", &png(200, 64)))).await,
        200,
    )
    .await;
    h.created("om-old-0001", 5000).await;
    ok(add_receipt(&h, "ecom", "om-old-0001", &receipt("NOK")).await, 201).await;
    let v3 = json!({"orderId": "om-old-0001", "paymentType": "ECOM", "type": "TICKET", "url": "https://example.com/t"});
    ok(send(&h, Method::POST, V3, None, Some(&v3)).await, 201).await;
    h.advance(2 * 3600).await;
    ok(
        send(&h, Method::POST, IMAGES, None, Some(&upload("new-logo", &png(200, 64)))).await,
        200,
    )
    .await;
    h.advance(1).await;

    let status = |id: &str| {
        h.http
            .get(h.url(&format!("/order-management/images/123456/{id}")))
            .send()
    };
    assert_eq!(status("old-logo").await.unwrap().status(), 404);
    assert_eq!(status("new-logo").await.unwrap().status(), 200);
    let list = ok(
        send(&h, Method::GET, &format!("{V3}?orderId=om-old-0001"), None, None).await,
        200,
    )
    .await;
    assert_eq!(list, json!({"categories": []}));
    om_error(order(&h, "ecom", "om-old-0001").await, 404, None).await;
}
