//! Request validation, malformed bodies, headers, limits; the router without a socket.

mod common;

use axum::body::Body;
use common::*;
use http::Request;
use reqwest::Method;
use serde_json::{json, Value};
use tower::ServiceExt;
use vipps_emulator::{router, AppState, EmulatorConfig};

async fn create_raw(h: &H, body: Value) -> reqwest::Response {
    h.req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "v-1")
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn field_named(b: &Value, name: &str) -> bool {
    b["extraDetails"].as_array().unwrap().iter().any(|d| d["name"] == name)
}

#[tokio::test]
async fn validation_names_the_field() {
    let h = H::start().await;
    let cases: Vec<(Value, &str, Option<u32>)> = vec![
        (json!({"returnUrl": "http://example.com/x"}), "returnUrl", Some(4090)),
        (
            json!({"amount": {"currency": "NOK", "value": 99}}),
            "amount.value",
            Some(6010),
        ),
        (
            json!({"amount": {"currency": "SEK", "value": 1000}}),
            "amount.currency",
            Some(4040),
        ),
        (json!({"paymentDescription": "ab"}), "paymentDescription", None),
        (json!({"reference": "short"}), "reference", None),
        (
            json!({"customer": {"phoneNumber": "+4791234567"}}),
            "customer.phoneNumber",
            Some(4070),
        ),
        (
            json!({"profile": {"scope": "name shoeSize"}}),
            "profile.scope",
            Some(4080),
        ),
        (json!({"userFlow": "TELEPATHY"}), "userFlow", None),
    ];
    for (patch, field, code) in cases {
        let mut body = web("validation-ref-1", 1000);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let b = problem(create_raw(&h, body).await, 400, code).await;
        assert!(field_named(&b, field), "{field}: {b}");
        assert!(b["detail"].as_str().unwrap().contains(field), "{b}");
    }
    // merchant rules
    let mut body = web("validation-ref-2", 1000);
    body["amount"]["currency"] = json!("EUR");
    problem(create_raw(&h, body).await, 403, Some(5040)).await;
    let mut body = web("validation-ref-3", 1000);
    body["paymentMethod"]["type"] = json!("CARD");
    body["userFlow"] = json!("QR");
    problem(create_raw(&h, body).await, 400, Some(4160)).await;
    // expiresAt too soon
    let mut body = web("validation-ref-4", 1000);
    body["userFlow"] = json!("QR");
    body["expiresAt"] = json!("2020-01-01T00:00:00Z");
    body["receipt"] = json!({"orderLines": [{"name": "x", "id": "1", "totalAmount": 1000, "totalAmountExcludingTax": 800, "totalTaxAmount": 200, "taxPercentage": 25}], "bottomLine": {"currency": "NOK"}});
    problem(create_raw(&h, body).await, 400, Some(6120)).await;
    assert_eq!(h.emu.state().payment_count(), 0);
}

#[tokio::test]
async fn malformed_bodies_name_the_json_path() {
    let h = H::start().await;
    let send = |body: &'static str| {
        h.req(Method::POST, "/epayment/v1/payments")
            .header("Idempotency-Key", "m-1")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    // a body cut short is the whole body's problem, not the field where parsing stopped
    let b = problem(send("{\"amount\": ").await.unwrap(), 400, None).await;
    assert!(field_named(&b, "body"), "{b}");
    assert!(!field_named(&b, "amount"), "{b}");
    assert!(b["detail"].as_str().unwrap().contains("not valid JSON"), "{b}");
    let b = problem(send("{oops").await.unwrap(), 400, None).await;
    assert!(field_named(&b, "body"), "{b}");
    let b = problem(send("[1,2]").await.unwrap(), 400, None).await;
    assert!(field_named(&b, "body"), "{b}");
    let b = problem(
        send(r#"{"amount":{"currency":"NOK","value":"1000"},"paymentMethod":{"type":"WALLET"},"reference":"malformed-ref-1","userFlow":"QR"}"#)
            .await
            .unwrap(),
        400,
        None,
    )
    .await;
    assert!(field_named(&b, "amount.value"), "{b}");
    let b = problem(
        send(r#"{"amount":{"currency":"NOK","value":10.5},"paymentMethod":{"type":"WALLET"},"reference":"malformed-ref-1","userFlow":"QR"}"#)
            .await
            .unwrap(),
        400,
        None,
    )
    .await;
    assert!(field_named(&b, "amount.value"), "{b}");
    let b = problem(
        send(r#"{"amount":{"currency":"NOK","value":1000},"reference":"malformed-ref-1","userFlow":"QR"}"#)
            .await
            .unwrap(),
        400,
        None,
    )
    .await;
    assert!(field_named(&b, "paymentMethod"), "{b}");
    let b = problem(send(r#"{"amount":{"value":1000}}"#).await.unwrap(), 400, None).await;
    assert!(field_named(&b, "amount.currency"), "{b}");
    // trailing garbage
    let b = problem(
        send(r#"{"modificationAmount":{"currency":"NOK","value":1}} x"#)
            .await
            .unwrap(),
        400,
        None,
    )
    .await;
    assert!(field_named(&b, "body") || field_named(&b, "amount"), "{b}");
    // empty body on create
    let b = problem(send("").await.unwrap(), 400, Some(4140)).await;
    assert!(field_named(&b, "body"), "{b}");
    // not JSON at all
    let r = h
        .req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "m-2")
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    problem(r, 415, None).await;
}

#[tokio::test]
async fn headers_are_checked() {
    let h = H::start().await;
    let body = web("headers-ref-0001", 1000);
    // no Idempotency-Key
    let r = h
        .req(Method::POST, "/epayment/v1/payments")
        .json(&body)
        .send()
        .await
        .unwrap();
    let b = problem(r, 400, Some(4140)).await;
    assert!(field_named(&b, "Idempotency-Key"), "{b}");
    // too long
    let r = h
        .req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "k".repeat(51))
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(r, 400, None).await;
    // capture and refund need one too
    h.authorized("headers-ref-0002", 1000).await;
    let r = h
        .req(Method::POST, "/epayment/v1/payments/headers-ref-0002/capture")
        .json(&json!({"modificationAmount": {"currency": "NOK", "value": 1}}))
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(4140)).await;
    // Vipps-System-* at most 30 characters
    let r = h
        .req(Method::GET, "/epayment/v1/payments/headers-ref-0002")
        .header("Vipps-System-Name", "x".repeat(31))
        .send()
        .await
        .unwrap();
    let b = problem(r, 400, None).await;
    assert!(field_named(&b, "Vipps-System-Name"), "{b}");
    let r = h
        .req(Method::GET, "/epayment/v1/payments/headers-ref-0002")
        .header("Vipps-System-Name", "x".repeat(30))
        .header("Idempotency-Key", "ignored-on-get")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // an invalid reference in the path
    let r = h
        .req(Method::GET, "/epayment/v1/payments/bad!ref")
        .send()
        .await
        .unwrap();
    problem(r, 400, None).await;
    // unknown route and wrong method: problems too
    let r = h.req(Method::GET, "/epayment/v1/nothing-here").send().await.unwrap();
    problem(r, 404, None).await;
    let r = h.req(Method::DELETE, "/epayment/v1/payments").send().await.unwrap();
    problem(r, 405, None).await;
}

#[tokio::test]
async fn bodies_over_one_mib_get_413() {
    let h = H::start().await;
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let r = h
        .req(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", "big-1")
        .header("Content-Type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    problem(r, 413, None).await;

    // and through the router directly (with credentials: a stranger's body is never read)
    let state = AppState::new(EmulatorConfig::default());
    let m = state.default_merchant().clone();
    let token = state.issue_token(&m).access_token;
    let req = Request::post("/epayment/v1/payments")
        .header("authorization", format!("Bearer {token}"))
        .header("ocp-apim-subscription-key", &m.subscription_key)
        .header("merchant-serial-number", &m.msn)
        .header("content-type", "application/json")
        .body(Body::from(big.clone()))
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    // Without credentials the answer is 401, whatever the body.
    let req = Request::post("/epayment/v1/payments")
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let resp = router(state).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 401);
}

/// The security issue: "body read before authentication … `Expect: 100-continue` is answered
/// before authentication". A stranger announcing a large body gets 401 at once: no
/// `100 Continue`, and nothing of the body is waited for.
#[tokio::test]
async fn a_stranger_s_body_is_not_read_and_100_continue_not_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let emu = vipps_emulator::Emulator::start().await.unwrap();
    let mut conn = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    let head = format!(
        "POST /epayment/v1/payments HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n",
        emu.addr()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("an answer without the body being sent")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    emu.shutdown().await;
}

#[tokio::test]
async fn router_works_without_a_socket() {
    let state = AppState::new(EmulatorConfig::default());
    let app = router(state.clone());
    let m = state.default_merchant().clone();
    let token = state.issue_token(&m).access_token;
    let create = Request::post("/epayment/v1/payments")
        .header("authorization", format!("Bearer {token}"))
        .header("ocp-apim-subscription-key", &m.subscription_key)
        .header("merchant-serial-number", &m.msn)
        .header("idempotency-key", "oneshot-1")
        .header("content-type", "application/json")
        .body(Body::from(web("oneshot-ref-1", 1000).to_string()))
        .unwrap();
    let resp = app.clone().oneshot(create).await.unwrap();
    assert_eq!(resp.status(), 201);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["redirectUrl"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1/landing?v=2&token="));
    let health = app
        .oneshot(Request::get("/_emulator/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[test]
fn config_from_file() {
    let dir = std::env::temp_dir().join(format!("vipps-emulator-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.json");
    std::fs::write(
        &path,
        r#"{"merchants":[{"msn":"222222","client_id":"c","client_secret":"s","subscription_key":"k","name":"Two"}],
            "payment_expiry_secs":30,"public_url":"https://emu.example/"}"#,
    )
    .unwrap();
    let c = EmulatorConfig::from_file(&path).unwrap();
    assert_eq!(c.merchants[0].msn, "222222");
    assert_eq!(c.payment_expiry_secs, 30);
    assert_eq!(c.token_ttl_secs, 3600);
    let state = AppState::new(c);
    assert_eq!(state.public_url(), "https://emu.example");
    assert!(EmulatorConfig::from_file(dir.join("missing.json")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The official ePayment Postman collection: its token path is spelled `/accessToken/get`, and
/// its bodies carry `reference` and `customer.phoneNumber` as bare JSON numbers.
#[tokio::test]
async fn the_official_postman_collection_requests_are_accepted() {
    let h = H::start().await;
    let m = h.m().clone();
    let r = h
        .http
        .post(h.url("/accessToken/get"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = r#"{
        "amount": {"value": 1000, "currency": "NOK"},
        "paymentMethod": {"type": "WALLET"},
        "customer": {"phoneNumber": 4791234567},
        "reference": 1234561795468211846,
        "userFlow": "WEB_REDIRECT",
        "returnUrl": "https://example.com/redirect?reference=1234561795468211846",
        "paymentDescription": "Purchase of socks"
    }"#;
    let r = h
        .http
        .post(h.url("/epayment/v1/payments"))
        .bearer_auth(&token)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .header("Idempotency-Key", "postman-1")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let p = h.get("1234561795468211846").await;
    assert_eq!(p["reference"], "1234561795468211846", "stored and answered as a string");

    // Other non-strings are still type errors.
    let bad = [
        ("reference", "1.5"),
        ("reference", "true"),
        ("customer", r#"{"phoneNumber": [1]}"#),
    ];
    for (i, (field, value)) in bad.into_iter().enumerate() {
        let mut v: Value = serde_json::from_str(body).unwrap();
        v[field] = serde_json::from_str(value).unwrap();
        let r = h
            .req(Method::POST, "/epayment/v1/payments")
            .header("Idempotency-Key", format!("postman-bad-{i}"))
            .json(&v)
            .send()
            .await
            .unwrap();
        let p = problem(r, 400, None).await;
        assert!(
            p["detail"].as_str().unwrap().contains("expected a string"),
            "{field}: {p}"
        );
    }
}

/// A `metadata` key given twice is refused with 4110 (serde alone would keep the last value).
#[tokio::test]
async fn duplicate_metadata_keys_are_refused() {
    let h = H::start().await;
    let body = |metadata: &str| {
        format!(
            r#"{{"amount":{{"value":1000,"currency":"NOK"}},"paymentMethod":{{"type":"WALLET"}},
            "reference":"metadata-dup-1","userFlow":"WEB_REDIRECT","returnUrl":"https://example.com/r",
            "metadata":{metadata}}}"#
        )
    };
    let send = |b: String, key: &'static str| {
        h.req(Method::POST, "/epayment/v1/payments")
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .body(b)
            .send()
    };
    let r = send(body(r#"{"order":"1","order":"2"}"#), "dup-1").await.unwrap();
    let p = problem(r, 400, Some(4110)).await;
    assert!(p["detail"].as_str().unwrap().contains("duplicate key `order`"), "{p}");
    let r = send(body(r#"{"order":"1","shop":"2"}"#), "dup-2").await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        h.get("metadata-dup-1").await["metadata"],
        json!({"order": "1", "shop": "2"})
    );
}

/// A sales unit needs approval for Express, long-living and PUSH_MESSAGE payments (5020, 5050,
/// 5080); the emulator's merchants have all three unless the configuration turns one off.
#[tokio::test]
async fn unapproved_sales_units_are_refused_express_long_living_and_push_message() {
    let merchant = vipps_emulator::Merchant {
        approved: vipps_emulator::Approvals {
            express: false,
            long_living: false,
            push_message: false,
        },
        ..vipps_emulator::Merchant::default_test()
    };
    let h = H::with(EmulatorConfig {
        merchants: vec![merchant],
        ..EmulatorConfig::default()
    })
    .await;
    let express = json!({"fixedOptions": [{"brand": "POSTEN", "type": "HOME_DELIVERY", "options": [
        {"id": "home", "name": "Home", "amount": {"currency": "NOK", "value": 0}, "isDefault": true, "priority": 0}]}]});
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let cases = [
        (
            "unapproved-0001",
            json!({"shipping": express, "profile": {"scope": "name address email phoneNumber"}}),
            5020,
        ),
        (
            "unapproved-0002",
            json!({"expiresAt": later, "userFlow": "QR",
            "receipt": {"orderLines": [{"name": "x", "id": "1", "totalAmount": 1000, "totalAmountExcludingTax": 800,
                "totalTaxAmount": 200, "taxPercentage": 25}], "bottomLine": {"currency": "NOK"}}}),
            5050,
        ),
        (
            "unapproved-0003",
            json!({"userFlow": "PUSH_MESSAGE", "customer": {"phoneNumber": "4791234567"}}),
            5080,
        ),
    ];
    for (reference, extra, code) in cases {
        let mut body = web(reference, 1000);
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = h.create_body(&body, &format!("k-{reference}")).await;
        let (status, p) = (r.status(), r.json::<Value>().await.unwrap());
        assert_eq!(status, 403, "{p}");
        assert_eq!(p["extraDetails"][0]["reason"], code.to_string(), "{p}");
        assert!(p["detail"].as_str().unwrap().contains("not approved"), "{p}");
    }
    // A plain payment is fine.
    h.created("unapproved-0004", 1000).await;
}

/// A `null` where the API wants one of its values is refused with 400, as an unknown value is
/// (the shared types read a nullable enum's `null` as unknown, so that answers never fail).
#[tokio::test]
async fn null_enum_values_in_requests_are_refused() {
    let h = H::start().await;
    for (i, pointer) in ["/userFlow", "/paymentMethod/type", "/amount/currency"]
        .into_iter()
        .enumerate()
    {
        let mut body = web(&format!("null-enum-{i:04}"), 1000);
        *body.pointer_mut(pointer).unwrap() = Value::Null;
        let r = create_raw(&h, body).await;
        assert_eq!(r.status(), 400, "{pointer}: {}", r.text().await.unwrap());
    }
    let webhook = json!({"url": "https://example.com/hook", "events": [null]});
    let r = h
        .req(Method::POST, "/webhooks/v1/webhooks")
        .json(&webhook)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    let draft = json!({
        "pricing": {"type": "LEGACY", "amount": 1000, "currency": null},
        "interval": {"unit": null, "count": 1},
        "merchantRedirectUrl": "https://example.com/r", "merchantAgreementUrl": "https://example.com/a",
        "productName": "Nulls"
    });
    let r = h
        .req(Method::POST, "/recurring/v3/agreements")
        .header("Idempotency-Key", "null-draft-1")
        .json(&draft)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    assert_eq!(h.emu.state().payment_count(), 0);
}
