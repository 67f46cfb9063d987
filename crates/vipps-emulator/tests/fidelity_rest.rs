//! The last points of the issue "Fidelity: where the emulator still differs from the 2026
//! documents", one test per point, each citing the document it rests on.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn ecom_order(h: &H, order_id: &str) {
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
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(ecom_approve(h, order_id).await.status(), 200);
}

/// epayment--migration-from-ecom.md: eCom payments "can be captured, refunded, cancelled, and
/// retrieved using the ePayment API", `orderId` becoming `reference`. eCom order ids may be
/// 1 to 50 characters (ecom-v2.yaml `^[a-zA-Z0-9-]{1,50}$`), shorter than a reference's 8.
#[tokio::test]
async fn a_short_ecom_order_id_reaches_the_order_through_epayment() {
    let h = H::start().await;
    ecom_order(&h, "abc123").await;
    let p = h.get("abc123").await;
    assert_eq!(p["state"], "AUTHORIZED", "{p}");
    assert_eq!(p["reference"], "abc123");
    assert!(!h.events("abc123").await.is_empty());
    let r = h.modify("abc123", "capture", 1000, "short-cap-1").await;
    assert_eq!(r.status(), 200);
    let r = h.modify("abc123", "refund", 500, "short-ref-1").await;
    assert_eq!(r.status(), 200);
    let r = h.cancel("abc123", None).await;
    assert_eq!(r.status(), 200);

    // A short reference that is no eCom order: the 400 of the length rule, as before.
    let r = h.req(Method::GET, "/epayment/v1/payments/abc124").send().await.unwrap();
    let p = problem(r, 400, None).await;
    assert!(p.to_string().contains("shorter than 8 characters"), "{p}");
    let p = problem(h.modify("abc124", "capture", 1000, "short-cap-2").await, 400, None).await;
    assert!(p.to_string().contains("shorter than 8 characters"), "{p}");
    // Characters outside the rules stay refused whatever the length.
    let r = h.req(Method::GET, "/epayment/v1/payments/ab_c").send().await.unwrap();
    problem(r, 400, None).await;
}

fn at(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
}

/// knowledge-base--payment-lifecycle-2026.md, "Capture attempt deadlines": the card network's
/// guarantee is "usually shorter" than the market's deadline ("Mastercard: reservations are
/// valid for 30 days"); epayment--operations-2026.md: `captureGuaranteedUntil` "can be earlier
/// than the market's capture deadline". An eCom order read through ePayment
/// (epayment--migration-from-ecom.md) follows the same rule as an ePayment payment; its card is
/// the one eCom reports as `paymentInstrument` (Mastercard), so 30 days, not 180.
#[tokio::test]
async fn an_ecom_order_read_through_epayment_has_the_card_networks_guarantee() {
    let h = H::start().await;
    ecom_order(&h, "guarantee-ecom-1").await;
    let p = h.get("guarantee-ecom-1").await;
    // The card, as eCom's capture answer reports it.
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments/guarantee-ecom-1/capture")
        .json(&json!({"merchantInfo": {"merchantSerialNumber": h.m().msn},
            "transaction": {"transactionText": "Socks"}}))
        .send()
        .await
        .unwrap();
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["paymentInstrument"], "Mastercard", "{c}");
    let authorized = h
        .events("guarantee-ecom-1")
        .await
        .into_iter()
        .find(|e| e["name"] == "AUTHORIZED")
        .unwrap();
    let days = (at(&p["captureGuaranteedUntil"]) - at(&authorized["timestamp"])).whole_days();
    assert_eq!(days, 30, "{p}");
}

/// access-token--overview-2026.md: "There are **two token endpoints**, and they are not
/// interchangeable. Picking the wrong one is the usual reason a first integration returns HTTP
/// 401." Userinfo is read with the standard flow's token (the one the payment that shared the
/// data used); a `/miami/v1/token` token gets Userinfo's own 401 (RFC 6750 body and
/// `WWW-Authenticate`), and the standard token still works.
#[tokio::test]
async fn userinfo_refuses_a_specialized_token() {
    let h = H::start().await;
    let mut body = web("userinfo-special-1", 1000);
    body["profile"] = json!({"scope": "name"});
    body["customer"] = json!({"phoneNumber": "4791234567"});
    assert_eq!(h.create_body(&body, "userinfo-special-1").await.status(), 201);
    let r = h
        .req(Method::POST, "/epayment/v1/test/payments/userinfo-special-1/approve")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sub = h.get("userinfo-special-1").await["profile"]["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = h.m().clone();
    let v: Value = h
        .http
        .post(h.url("/miami/v1/token"))
        .basic_auth(&m.client_id, Some(&m.client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let special = v["access_token"].as_str().unwrap();
    let ask = |token: String| {
        h.http
            .get(h.url(&format!("/vipps-userinfo-api/userinfo/{sub}")))
            .bearer_auth(token)
            .header("Merchant-Serial-Number", &m.msn)
            .send()
    };
    let r = ask(special.to_owned()).await.unwrap();
    assert_eq!(r.status(), 401);
    let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert_eq!(www, "Bearer error=\"invalid_token\"");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_token", "{e}");
    assert!(
        e["error_description"].as_str().unwrap().contains("/accesstoken/get"),
        "{e}"
    );
    let standard = fetch_token(&h.http, &h.url(""), &m).await;
    let r = ask(standard).await.unwrap();
    assert_eq!(r.status(), 200);
}

/// epayment--error-codes-2026.md: "A malformed body gives HTTP 400 with `extraDetails` naming the
/// field and the pattern it failed". A syntax error or an unexpected end of input is no field's
/// failure: the body is no JSON document. The emulator reports it under `body` ("not valid
/// JSON: …"), in each API's format, not under the field where the parser stopped
/// (`amount.value` here).
#[tokio::test]
async fn a_truncated_body_is_reported_under_body_in_every_api() {
    let h = H::start().await;
    let cut = r#"{"reference": "truncated-0001", "amount": {"value": 10"#;
    let cases = [
        (
            "ePayment",
            h.req(Method::POST, "/epayment/v1/payments")
                .header("Idempotency-Key", "cut-1"),
        ),
        ("eCom", ecom(&h, Method::POST, "/ecomm/v2/payments")),
        ("Checkout", h.checkout(Method::POST, "/checkout/v3/session")),
        ("Webhooks", h.req(Method::POST, "/webhooks/v1/webhooks")),
    ];
    for (api, rb) in cases {
        let r = rb
            .header("Content-Type", "application/json")
            .body(cut)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{api}");
        let text = r.text().await.unwrap();
        assert!(text.contains("not valid JSON"), "{api}: {text}");
        assert!(text.contains("body"), "{api}: {text}");
        assert!(
            !text.contains("amount.value") && !text.contains("amount"),
            "{api}: {text}"
        );
    }
}

/// webhooks--api-guide.md, "Retries": "your server needs to accept all preceding requests for a
/// given payment, before any new notifications can be received for the same payment. For
/// example, if you reply with an HTTP status code 500 to an authorization notification, a new
/// notification about the same payment being captured will not be sent unless you reply with a
/// successful HTTP status code to one of the retry attempts", and "After all retries are
/// exhausted, the notification is never sent again". So CAPTURED waits while AUTHORIZED is
/// retried, and is never sent once AUTHORIZED has used its last attempt undelivered (logged as
/// not sent, attempt 0); another payment's events are not held.
#[tokio::test]
async fn a_webhook_event_never_delivered_blocks_the_payments_later_events() {
    use std::sync::Arc;
    let h = H::start().await;
    h.emu.state().set_webhook_retry_schedule(vipps_emulator::RetrySchedule {
        max_attempts: 3,
        initial_backoff_ms: 50,
        max_backoff_ms: 50,
        timeout_ms: 5_000,
    });
    // A receiver that refuses every AUTHORIZED event and takes everything else.
    let seen: Arc<parking_lot::Mutex<Vec<(String, String)>>> = Arc::default();
    let s = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let s = Arc::clone(&s);
            async move {
                let v: Value = serde_json::from_str(&body).unwrap();
                let (reference, name) = (v["reference"].to_string(), v["name"].to_string());
                s.lock().push((reference, name.clone()));
                if name == "\"AUTHORIZED\"" {
                    http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let events = ["epayments.payment.authorized.v1", "epayments.payment.captured.v1"];
    let r = h
        .req(Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({"url": url, "events": events}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    h.authorized("webhook-block-0001", 1000).await;
    assert_eq!(
        h.modify("webhook-block-0001", "capture", 1000, "block-cap")
            .await
            .status(),
        200
    );
    // Wait for the three AUTHORIZED attempts and CAPTURED's "not sent" entry.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let log = loop {
        let v = h.deliveries("webhook").await;
        let all = v["deliveries"].as_array().unwrap().clone();
        if all
            .iter()
            .any(|d| d["event"] == "epayments.payment.captured.v1" && d["finished"] == true)
        {
            break all;
        }
        assert!(std::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let received: Vec<String> = seen.lock().iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(received, ["\"AUTHORIZED\""; 3], "CAPTURED was never sent");
    let attempts: Vec<(Value, Value)> = log.iter().map(|d| (d["event"].clone(), d["attempt"].clone())).collect();
    assert_eq!(attempts.len(), 4, "{log:?}");
    assert_eq!(
        attempts[3],
        (json!("epayments.payment.captured.v1"), json!(0)),
        "{log:?}"
    );
    assert!(log[3]["error"].as_str().unwrap().contains("never delivered"), "{log:?}");
    assert_eq!(log[3]["success"], false);

    // The block is per payment: another payment's AUTHORIZED is still tried (all its attempts).
    h.authorized("webhook-block-0002", 1000).await;
    assert_eq!(
        h.modify("webhook-block-0002", "capture", 1000, "block-cap2")
            .await
            .status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let second: Vec<String> = seen
        .lock()
        .iter()
        .filter(|(r, _)| r.contains("0002"))
        .map(|(_, n)| n.clone())
        .collect();
    assert_eq!(second, ["\"AUTHORIZED\""; 3]);
}

/// epayment-v1.yaml, `qrFormat.size`: "if the value is 200, then 200x200 px is set as the
/// dimension for the QR code", `minimum: 100`, `maximum: 2000`. 100 is a valid size, so it is
/// not refused; but a long public URL makes a code of more modules than fit readably in 100 px.
/// The PNG has whole pixels per module and its quiet zone, at least two pixels per module: it
/// is `size` pixels when that is enough, else the smallest readable size (README, "Choices…").
#[tokio::test]
async fn a_small_png_qr_code_of_a_long_url_can_be_read() {
    let base = format!("https://emulator.example.com/{}", "long-path-".repeat(60));
    let h = H::with(vipps_emulator::EmulatorConfig {
        public_url: Some(base.clone()),
        ..vipps_emulator::EmulatorConfig::default()
    })
    .await;
    for (reference, size) in [("qr-tiny-0100", 100), ("qr-tiny-0150", 150), ("qr-tiny-0333", 333)] {
        let body = json!({
            "amount": {"currency": "NOK", "value": 1000},
            "paymentMethod": {"type": "WALLET"},
            "reference": reference,
            "userFlow": "QR",
            "qrFormat": {"format": "IMAGE/PNG", "size": size},
        });
        let r = h.create_body(&body, reference).await;
        assert_eq!(r.status(), 201);
        let redirect = r.json::<Value>().await.unwrap()["redirectUrl"]
            .as_str()
            .unwrap()
            .to_owned();
        let query = redirect.split_once("/qr?").unwrap().1;
        let png = h.http.get(h.url(&format!("/qr?{query}"))).send().await.unwrap();
        assert_eq!(png.status(), 200);
        let bytes = png.bytes().await.unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes[..]));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let (w, hh) = (info.width as usize, info.height as usize);
        assert_eq!(w, hh);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, hh, |x, y| buf[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "size {size}: one QR code in a {w} px image");
        let (_, content) = grids[0]
            .decode()
            .unwrap_or_else(|e| panic!("size {size}: a {w} px image: {e:?}"));
        assert_eq!(content, redirect.replace("/qr?", "/landing?"), "size {size}");
        assert!(w >= size as usize, "never smaller than asked");
        if size < 200 {
            assert!(
                w > size as usize,
                "this code needs over 200 px: two pixels a module ({w})"
            );
        } else {
            assert_eq!(w, size as usize, "qrFormat.size, when it is enough");
        }
    }
}
