//! eCom v2 on the wire: the error array, authentication and headers, X-Request-Id rules,
//! the landing page and the control plane for eCom orders, failed approvals.

mod common;

use common::{ecom, ecom_approve, ecom_details, ecom_initiate_body as initiate_body, H};
use reqwest::Method;
use serde_json::{json, Value};

async fn initiate(h: &H, order_id: &str, amount: i64) -> Value {
    let r = ecom(h, Method::POST, "/ecomm/v2/payments")
        .json(&initiate_body(h, order_id, amount))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Initiates an order with this body; it must be accepted. Returns the answer.
async fn initiated_with(h: &H, body: &Value) -> Value {
    let r = ecom(h, Method::POST, "/ecomm/v2/payments")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Checks an eCom error array and returns its first entry.
async fn ecom_error(r: reqwest::Response, status: u16, group: &str, code: &str) -> Value {
    assert_eq!(r.status(), status);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: Value = r.json().await.unwrap();
    let e = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))[0].clone();
    assert_eq!(e["errorGroup"], group, "{e}");
    assert_eq!(e["errorCode"], code, "{e}");
    assert!(!e["errorMessage"].as_str().unwrap().is_empty());
    assert!(!e["contextId"].as_str().unwrap().is_empty());
    e
}

fn capture_body(h: &H, amount: Option<i64>) -> Value {
    json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"amount": amount, "transactionText": "x"}})
}

#[tokio::test]
async fn authentication_headers_and_validation() {
    let h = H::two_merchants().await;
    // no token
    let r = h
        .http
        .get(h.url("/ecomm/v2/payments/abc/details"))
        .send()
        .await
        .unwrap();
    ecom_error(r, 401, "Authentication", "401").await;
    // wrong MSN header for the token
    let r = ecom(&h, Method::GET, "/ecomm/v2/payments/abc/details")
        .header("Merchant-Serial-Number", "654321")
        .send()
        .await
        .unwrap();
    ecom_error(r, 403, "Authentication", "403").await;
    // body MSN of another merchant
    let mut b = initiate_body(&h, "order-msn", 1000);
    b["merchantInfo"]["merchantSerialNumber"] = json!("654321");
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&b)
        .send()
        .await
        .unwrap();
    ecom_error(r, 403, "InvalidRequest", "merchantSerialNumber").await;
    // InvalidRequest: the field name is the code
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&initiate_body(&h, "order-amount", 99))
        .send()
        .await
        .unwrap();
    ecom_error(r, 400, "InvalidRequest", "amount").await;
    let mut b = initiate_body(&h, "order-cb", 1000);
    b["merchantInfo"]["callbackPrefix"] = json!("http://example.com/cb");
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&b)
        .send()
        .await
        .unwrap();
    ecom_error(r, 400, "InvalidRequest", "callbackPrefix").await;
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&json!({"merchantInfo": {}, "transaction": {}}))
        .send()
        .await
        .unwrap();
    let e = ecom_error(r, 400, "InvalidRequest", "merchantInfo.merchantSerialNumber").await;
    assert!(e["errorMessage"].as_str().unwrap().contains("missing"));
    let r = ecom(&h, Method::GET, "/ecomm/v2/payments/bad%20id/details")
        .send()
        .await
        .unwrap();
    ecom_error(r, 400, "InvalidRequest", "orderId").await;
    // skipLandingPage needs a phone number
    let mut b = initiate_body(&h, "order-skip", 1000);
    b["transaction"]["skipLandingPage"] = json!(true);
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&b)
        .send()
        .await
        .unwrap();
    ecom_error(r, 403, "Merchant", "38").await;
    b["customerInfo"]["mobileNumber"] = json!("91234567");
    initiated_with(&h, &b).await;
    let r = ecom(
        &h,
        Method::POST,
        "/ecomm/v2/integration-test/payments/order-skip/approve",
    )
    .send()
    .await
    .unwrap();
    ecom_error(r, 400, "VippsError", "91").await;

    // initiate works without the MSN header and with it; the answer is {orderId, url}
    let v = initiate(&h, "order-ok", 1000).await;
    assert_eq!(v["orderId"], "order-ok");
    let r = h
        .req(Method::GET, "/ecomm/v2/payments/order-ok/details")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // the other merchant does not see it
    let r = ecom(&h, Method::GET, "/ecomm/v2/payments/nope/status")
        .send()
        .await
        .unwrap();
    ecom_error(r, 404, "Merchant", "35").await;
}

#[tokio::test]
async fn x_request_id_rules() {
    let h = H::start().await;
    initiate(&h, "order-rid", 5000).await;
    let r = ecom_approve(&h, "order-rid").await;
    assert!(r.bytes().await.unwrap().is_empty());
    // required on capture and refund
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments/order-rid/capture")
        .json(&capture_body(&h, Some(100)))
        .send()
        .await
        .unwrap();
    ecom_error(r, 400, "InvalidRequest", "X-Request-Id").await;
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments/order-rid/capture")
        .header("X-Request-Id", "x".repeat(41))
        .json(&capture_body(&h, Some(100)))
        .send()
        .await
        .unwrap();
    ecom_error(r, 400, "InvalidRequest", "X-Request-Id").await;
    let send = |amount: Option<i64>, text: &str| {
        let mut b = capture_body(&h, amount);
        b["transaction"]["transactionText"] = json!(text);
        ecom(&h, Method::POST, "/ecomm/v2/payments/order-rid/capture")
            .header("X-Request-Id", "rid-1")
            .json(&b)
            .send()
    };
    let a: Value = send(Some(1000), "x").await.unwrap().json().await.unwrap();
    let b: Value = send(Some(1000), "x").await.unwrap().json().await.unwrap();
    assert_eq!(a, b);
    ecom_error(send(Some(1500), "x").await.unwrap(), 400, "Payment", "93").await;
    ecom_error(send(Some(1000), "other text").await.unwrap(), 400, "VippsError", "93").await;
    let d: Value = ecom(&h, Method::GET, "/ecomm/v2/payments/order-rid/details")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["transactionSummary"]["capturedAmount"], 1000);
    // A JSON integer, as the reference shows it (`"bankIdentificationNumber": 123456`).
    assert!(d["transactionSummary"]["bankIdentificationNumber"].is_i64(), "{d}");
    assert_eq!(d["transactionLogHistory"][0]["operation"], "CAPTURE");
    assert_eq!(d["transactionLogHistory"][0]["requestId"], "rid-1");
    assert_eq!(d["transactionLogHistory"][1]["operation"], "RESERVE");
    assert_eq!(d["transactionLogHistory"].as_array().unwrap().len(), 3);
    // cancel takes no X-Request-Id: requestId is ""
    let r = ecom(&h, Method::PUT, "/ecomm/v2/payments/order-rid/cancel")
        .json(&json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"transactionText": "x"}, "shouldReleaseRemainingFunds": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["transactionInfo"]["status"], "Cancelled");
    assert_eq!(v["transactionInfo"]["amount"], 4000);
}

#[tokio::test]
async fn landing_page_approves_and_rejects_ecom_orders() {
    let h = H::start().await;
    let v = initiate(&h, "order-landing", 12345).await;
    let url = v["url"].as_str().unwrap();
    // Shaped like the real `…/vippsgateway?v=2&token=…`: the official Postman collection takes
    // the token as the third piece of `url.split('=', 3)`.
    assert!(url.starts_with(&format!("{}/landing?v=2&token=", h.emu.base_url())));
    let token = url.split('=').nth(2).unwrap();
    let page = h.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("order-landing") && page.contains("NOK 123.45"), "{page}");
    assert!(page.contains("/landing/approve") && page.contains("INITIATE"));
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Payment approved") && page.contains("RESERVE"), "{page}");
    let st: Value = ecom(&h, Method::GET, "/ecomm/v2/payments/order-landing/status")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["transactionInfo"]["status"], "RESERVE");
    // a second approval is refused; the page no longer offers buttons
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let page = h.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("/landing/approve") && page.contains("example.com/fallback"));

    let v = initiate(&h, "order-landing-2", 1000).await;
    let token = v["url"].as_str().unwrap().split("token=").nth(1).unwrap().to_owned();
    let r = h
        .http
        .post(h.url("/landing/reject"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Payment rejected"));
    let st: Value = ecom(&h, Method::GET, "/ecomm/v2/payments/order-landing-2/status")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["transactionInfo"]["status"], "CANCEL");
}

#[tokio::test]
async fn control_plane_magic_amounts_and_unknown_orders() {
    let h = H::start().await;
    initiate(&h, "order-magic", 151).await;
    let v: Value = h
        .http
        .post(h.url("/_emulator/payments/order-magic/approve"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["approved"], false);
    assert_eq!(v["state"], "FAILED");
    let d = ecom_details(&h, "order-magic").await;
    assert_eq!(d["transactionLogHistory"][0]["operation"], "RESERVE");
    assert_eq!(d["transactionLogHistory"][0]["operationSuccess"], false);
    let st: Value = ecom(&h, Method::GET, "/ecomm/v2/payments/order-magic/status")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["transactionInfo"]["status"], "FAILED");
    // an unknown id is still the ePayment 404 problem
    let r = h
        .http
        .post(h.url("/_emulator/payments/nothing-here/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // express whose shipping endpoint is unreachable: the approval fails, the order waits on
    let mut b = initiate_body(&h, "order-noship", 1000);
    b["merchantInfo"]["paymentType"] = json!("eComm Express Payment");
    b["merchantInfo"]["consentRemovalPrefix"] = json!("https://example.com/consent");
    b["merchantInfo"]["shippingDetailsPrefix"] = json!("http://127.0.0.1:9/ship");
    initiated_with(&h, &b).await;
    let r = h.approve("order-noship").await;
    assert_eq!(r.status(), 400);
    let st: Value = ecom(&h, Method::GET, "/ecomm/v2/payments/order-noship/status")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["transactionInfo"]["status"], "INITIATE");
}

#[tokio::test]
async fn consent_removal_is_sent_to_the_merchant() {
    use axum::routing::delete;
    use std::sync::Arc;
    type Seen = Arc<parking_lot::Mutex<Vec<(String, Option<String>)>>>;
    let h = H::start().await;
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/consent/v2/consents/{user_id}",
        delete(move |uri: http::Uri, headers: http::HeaderMap| {
            let s = Arc::clone(&s);
            async move {
                let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned());
                s.lock().push((uri.path().to_owned(), auth));
                http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // An order that asked for the customer's name and email, with a consent-removal prefix.
    let mut b = initiate_body(&h, "order-consent", 1000);
    b["merchantInfo"]["consentRemovalPrefix"] = json!(format!("http://{addr}/consent"));
    b["merchantInfo"]["authToken"] = json!("merchant-auth-token");
    b["transaction"]["scope"] = json!("name email");
    initiated_with(&h, &b).await;
    let remove = |order: &str| {
        h.http
            .post(h.url(&format!("/_emulator/ecom/{order}/remove-consent")))
            .send()
    };

    // Before the customer approved, nothing was shared: nothing to withdraw.
    let r = remove("order-consent").await.unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap_or_default().contains("no user data"), "{p}");

    assert_eq!(h.approve("order-consent").await.status(), 200);
    let r = remove("order-consent").await.unwrap();
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    let user_id = v["userId"].as_str().unwrap().to_owned();
    assert!(!user_id.is_empty());

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.lock().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no consent removal arrived");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (path, auth) = seen.lock()[0].clone();
    assert_eq!(path, format!("/consent/v2/consents/{user_id}"));
    assert_eq!(auth.as_deref(), Some("merchant-auth-token"));
    let d = h.deliveries("ecom-consent-removal").await;
    assert_eq!(d["deliveries"][0]["reference"], "order-consent", "{d}");

    // An unknown order is a 404.
    assert_eq!(remove("no-such-order").await.unwrap().status(), 404);
}

#[tokio::test]
async fn shared_user_data_reads_expired_seven_days_after_the_reservation() {
    let mut h = H::start().await;
    let mut b = initiate_body(&h, "order-expiring", 1000);
    b["transaction"]["scope"] = json!("name email phoneNumber");
    initiated_with(&h, &b).await;
    assert_eq!(h.approve("order-expiring").await.status(), 200);
    let details = |h: &H| ecom(h, Method::GET, "/ecomm/v2/payments/order-expiring/details").send();
    let d: Value = details(&h).await.unwrap().json().await.unwrap();
    assert_eq!(d["userDetails"]["firstName"], "Ola", "{d}");

    // Six days later: still there.
    h.advance(6 * 86_400).await;
    h.token = common::fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
    let d: Value = details(&h).await.unwrap().json().await.unwrap();
    assert_eq!(d["userDetails"]["email"], "ola.nordmann@example.com", "{d}");

    // Seven days after the reservation every field of it reads "[Expired]"; the rest stays.
    h.advance(86_400).await;
    h.token = common::fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
    let d: Value = details(&h).await.unwrap().json().await.unwrap();
    for f in ["firstName", "lastName", "email", "mobileNumber", "userId"] {
        assert_eq!(d["userDetails"][f], "[Expired]", "{f}: {d}");
    }
    assert_eq!(d["transactionSummary"]["remainingAmountToCapture"], 1000, "{d}");
    assert_eq!(d["orderId"], "order-expiring");
}

/// The first callback attempt for an order, once it has been made (the emulator sends it
/// after answering).
async fn callback_for(h: &H, order_id: &str) -> Value {
    for _ in 0..200 {
        let calls = h.deliveries("ecom-callback").await;
        let found = calls["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["reference"] == order_id)
            .cloned();
        if let Some(a) = found {
            return a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no callback for {order_id}");
}

/// A wrong method or an unknown path under `/ecomm/` gets the eCom error array too.
#[tokio::test]
async fn wrong_methods_and_paths_get_the_error_array() {
    let h = H::start().await;
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments/order-x-1/cancel")
        .json(&capture_body(&h, None))
        .send()
        .await
        .unwrap();
    ecom_error(r, 405, "InvalidRequest", "405").await;
    let r = ecom(&h, Method::GET, "/ecomm/v2/nothing-here").send().await.unwrap();
    ecom_error(r, 404, "InvalidRequest", "404").await;
}

/// `customerInfo` is required (it may be `{}`), and `isApp: true` answers with the app-switch
/// deeplink (`vippsMT://` in the test environment) instead of the landing page.
#[tokio::test]
async fn customer_info_is_required_and_is_app_gives_a_deeplink() {
    let h = H::start().await;
    let mut body = initiate_body(&h, "order-noci-1", 1000);
    body.as_object_mut().unwrap().remove("customerInfo");
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
        .json(&body)
        .send()
        .await
        .unwrap();
    let e = ecom_error(r, 400, "InvalidRequest", "customerInfo").await;
    assert!(e["errorMessage"].as_str().unwrap().contains("missing field"), "{e}");

    let mut body = initiate_body(&h, "order-app-1", 1000);
    body["merchantInfo"]["isApp"] = json!(true);
    let v = initiated_with(&h, &body).await;
    let url = v["url"].as_str().unwrap();
    assert!(url.starts_with("vippsMT://?token="), "{url}");
    let token = url.rsplit("token=").next().unwrap();
    let page = h
        .http
        .get(h.url(&format!("/landing?v=2&token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("order-app-1"));
}

/// An order nobody acts on gets its `REJECTED` callback when its time runs out, whether or
/// not anybody reads it (the API guide lists "Payment timed out" among the callbacks).
#[tokio::test]
async fn a_timed_out_order_is_called_back_without_a_read() {
    let h = H::start().await;
    initiate(&h, "order-timeout-1", 1000).await;
    h.advance(601).await;
    let cb = callback_for(&h, "order-timeout-1").await;
    assert_eq!(cb["body"]["transactionInfo"]["status"], "REJECTED", "{cb}");
    assert_eq!(cb["body"]["orderId"], "order-timeout-1", "{cb}");
}

#[tokio::test]
async fn a_direct_capture_sales_unit_captures_on_approval() {
    let merchant = vipps_emulator::Merchant {
        direct_capture: true,
        ..vipps_emulator::Merchant::default_test()
    };
    let h_owned = H::with(vipps_emulator::EmulatorConfig {
        merchants: vec![merchant],
        ..Default::default()
    })
    .await;
    let h = &h_owned;
    initiate(h, "order-sale-1", 10000).await;
    assert_eq!(h.approve("order-sale-1").await.status(), 200);
    let get = |path: &'static str| async move {
        ecom(h, Method::GET, &format!("/ecomm/v2/payments/order-sale-1/{path}"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let d = get("details").await;
    assert_eq!(d["transactionLogHistory"][0]["operation"], "SALE", "{d}");
    assert_eq!(d["transactionLogHistory"][0]["amount"], 10000);
    assert_eq!(d["transactionSummary"]["capturedAmount"], 10000, "{d}");
    assert_eq!(d["transactionSummary"]["remainingAmountToCapture"], 0);
    assert_eq!(get("status").await["transactionInfo"]["status"], "SALE");
    let first = callback_for(h, "order-sale-1").await;
    assert_eq!(first["body"]["transactionInfo"]["status"], "SALE", "{first}");

    // Nothing is left to capture, and a captured order cannot be cancelled; refunds work.
    let r = ecom(h, Method::POST, "/ecomm/v2/payments/order-sale-1/capture")
        .header("X-Request-Id", "cap-1")
        .json(&capture_body(h, Some(1000)))
        .send()
        .await
        .unwrap();
    ecom_error(r, 400, "Payment", "61").await;
    // The spec's cancel body: `transaction` has `transactionText` only (unknown fields are refused).
    let r = ecom(h, Method::PUT, "/ecomm/v2/payments/order-sale-1/cancel")
        .json(&json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"transactionText": "x"}}))
        .send()
        .await
        .unwrap();
    ecom_error(r, 400, "Payment", "51").await;
    let r = ecom(h, Method::POST, "/ecomm/v2/payments/order-sale-1/refund")
        .header("X-Request-Id", "ref-1")
        .json(&capture_body(h, Some(2500)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get("details").await["transactionSummary"]["refundedAmount"], 2500);

    // A failed approval is a failed SALE, with a SALE_FAILED callback.
    initiate(h, "order-sale-2", 151).await;
    h.approve("order-sale-2").await;
    let d = ecom_details(h, "order-sale-2").await;
    assert_eq!(d["transactionLogHistory"][0]["operation"], "SALE", "{d}");
    assert_eq!(d["transactionLogHistory"][0]["operationSuccess"], false);
    let failed = callback_for(h, "order-sale-2").await;
    assert_eq!(failed["body"]["transactionInfo"]["status"], "SALE_FAILED", "{failed}");

    // ePayment has reserve capture only: such a sales unit cannot create payments there.
    let p = common::problem(h.create("sale-unit-epay-1", 1000, "k-1").await, 403, Some(5070)).await;
    assert_eq!(p["title"], "Reserve capture not allowed", "{p}");
    // Checkout does not support direct capture either: the payment fails.
    let r = h
        .checkout(Method::POST, "/checkout/v3/session")
        .json(&json!({
            "merchantInfo": {"callbackUrl": "https://example.com/cb", "returnUrl": "https://example.com/r",
                "callbackAuthorizationToken": "t"},
            "transaction": {"amount": {"value": 1000, "currency": "NOK"}, "reference": "sale-unit-ck-1",
                "paymentDescription": "Socks"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = h.control("/_emulator/checkout/sale-unit-ck-1/complete").await;
    assert_eq!(s["sessionState"], "PaymentTerminated", "{s}");
    assert_eq!(s["paymentDetails"]["state"], "TERMINATED", "{s}");
}

/// A refund without an amount refunds everything captured and not yet refunded, as a capture
/// without one captures everything (the official Postman collection refunds so).
#[tokio::test]
async fn a_refund_without_an_amount_refunds_the_rest() {
    let h = H::start().await;
    initiate(&h, "order-refund-all", 5000).await;
    ecom_approve(&h, "order-refund-all").await;
    let action = |what: &str, rid: &str, amount: Option<i64>| {
        ecom(&h, Method::POST, &format!("/ecomm/v2/payments/order-refund-all/{what}"))
            .header("X-Request-Id", rid)
            .json(&capture_body(&h, amount))
            .send()
    };
    assert_eq!(action("capture", "c1", None).await.unwrap().status(), 200);
    assert_eq!(action("refund", "r1", Some(1000)).await.unwrap().status(), 200);
    let r = action("refund", "r2", None).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["transaction"]["amount"], 4000, "{v}");
    assert_eq!(v["transactionSummary"]["refundedAmount"], 5000);
    assert_eq!(v["transactionSummary"]["remainingAmountToRefund"], 0);
    ecom_error(action("refund", "r3", Some(0)).await.unwrap(), 400, "Payment", "71").await;
    ecom_error(
        action("refund", "r4", Some(-5)).await.unwrap(),
        400,
        "InvalidRequest",
        "amount",
    )
    .await;
}

/// A reservation can be cancelled for 180 days (eCom API guide, "Time limits").
#[tokio::test]
async fn a_reservation_cannot_be_cancelled_after_180_days() {
    let h = H::start().await;
    for id in ["order-late-cancel-1", "order-late-cancel-2"] {
        initiate(&h, id, 5000).await;
        ecom_approve(&h, id).await;
    }
    // (The emulator's clock also moves with real time: a minute of slack either side.)
    h.advance(180 * 86_400 - 60).await;
    let r = late_cancel(&h, "order-late-cancel-1").await;
    assert_eq!(r.status(), 200, "still in time: {}", r.text().await.unwrap());
    h.advance(120).await;
    ecom_error(late_cancel(&h, "order-late-cancel-2").await, 400, "Payment", "98").await;
}

/// A cancel months later, with a fresh access token.
async fn late_cancel(h: &H, id: &str) -> reqwest::Response {
    let token = common::fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
    h.http
        .put(h.url(&format!("/ecomm/v2/payments/{id}/cancel")))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .json(&json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"transactionText": "x"}}))
        .send()
        .await
        .unwrap()
}
