//! eCom v2 where it used to differ from the 2026 documents: phone numbers the API corrects,
//! X-Request-Id on full captures and refunds, the shape of `userId`, `localhost` URLs, the
//! landing page's five minutes, short order ids through ePayment, the refund window.

mod common;

use common::{ecom, ecom_details, ecom_initiate_body as initiate_body, H};
use reqwest::Method;
use serde_json::{json, Value};

async fn initiate_with(h: &H, body: &Value) -> reqwest::Response {
    ecom(h, Method::POST, "/ecomm/v2/payments")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Initiates; it must be accepted. Returns the answer.
async fn initiated_with(h: &H, body: &Value) -> Value {
    let r = initiate_with(h, body).await;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Checks an eCom error array and returns its first entry.
async fn ecom_error(r: reqwest::Response, status: u16, group: &str, code: &str) -> Value {
    let got = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{v}");
    let e = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))[0].clone();
    assert_eq!(e["errorGroup"], group, "{e}");
    assert_eq!(e["errorCode"], code, "{e}");
    e
}

/// The test approval with no body: the customer is the one the order names.
async fn approve_as_named(h: &H, order_id: &str) {
    let r = ecom(
        h,
        Method::POST,
        &format!("/ecomm/v2/integration-test/payments/{order_id}/approve"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

// ecom-v2.yaml, `CustomerInfo.mobileNumber`: "Vipps attempts to correct incorrectly formatted
// phone numbers instead of responding with `HTTP 400 Bad Request`. In cases where the phone
// number still fails, the error will be `errorCode: 81`." (also knowledge-base--errors.md,
// "Why do I get error 81"; ecom--api-guide.md's error table puts 81 in the group `user`).
#[tokio::test]
async fn phone_numbers_are_corrected_or_refused_with_81() {
    let h = H::start().await;
    for (i, n) in ["+4798765432", "4798765432", "987 65 432"].iter().enumerate() {
        let id = format!("order-phone-{i}");
        let mut b = initiate_body(&h, &id, 1000);
        b["customerInfo"]["mobileNumber"] = json!(n);
        b["transaction"]["scope"] = json!("name phoneNumber");
        initiated_with(&h, &b).await;
        approve_as_named(&h, &id).await;
        let d = ecom_details(&h, &id).await;
        assert_eq!(d["userDetails"]["mobileNumber"], "98765432", "{n}: {d}");
    }
    for n in ["1234", "+4691234567", "9876543x"] {
        let mut b = initiate_body(&h, "order-phone-bad", 1000);
        b["customerInfo"]["mobileNumber"] = json!(n);
        ecom_error(initiate_with(&h, &b).await, 400, "User", "81").await;
    }
}

fn action_body(h: &H, amount: Option<i64>) -> Value {
    json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"amount": amount, "transactionText": "x"}})
}

/// A capture or refund, with a fresh access token (the clock may have moved months).
async fn action(h: &H, order_id: &str, op: &str, amount: Option<i64>, rid: Option<&str>) -> reqwest::Response {
    let token = common::fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
    let mut r = h
        .http
        .post(h.url(&format!("/ecomm/v2/payments/{order_id}/{op}")))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .json(&action_body(h, amount));
    if let Some(k) = rid {
        r = r.header("X-Request-Id", k);
    }
    r.send().await.unwrap()
}

// ecom-v2.yaml, capture's `X-Request-Id`: "Required for making partial captures."; refund's:
// "Required if the amount is partial."; ecom--api-guide.md, "Idempotency": "In a capture
// request, the merchant may also use the `X-Request-Id` header." A full capture or refund
// (amount absent or 0, ecom--api-guide.md "Capture": "`amount` can be omitted … or set to
// `0`") goes without one.
#[tokio::test]
async fn x_request_id_only_for_partial_amounts() {
    let h = H::start().await;
    initiated_with(&h, &initiate_body(&h, "order-full", 5000)).await;
    approve_as_named(&h, "order-full").await;
    // partial capture without the header: refused
    let r = action(&h, "order-full", "capture", Some(1000), None).await;
    ecom_error(r, 400, "InvalidRequest", "X-Request-Id").await;
    // full capture without it: done
    let r = action(&h, "order-full", "capture", None, None).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    // partial refund without it: refused; with it: done
    let r = action(&h, "order-full", "refund", Some(1000), None).await;
    ecom_error(r, 400, "InvalidRequest", "X-Request-Id").await;
    let r = action(&h, "order-full", "refund", Some(1000), Some("ref-1")).await;
    assert_eq!(r.status(), 200);
    // full refund (amount 0) without it: the rest is refunded
    let r = action(&h, "order-full", "refund", Some(0), None).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let d = ecom_details(&h, "order-full").await;
    assert_eq!(d["transactionSummary"]["capturedAmount"], 5000, "{d}");
    assert_eq!(d["transactionSummary"]["refundedAmount"], 5000, "{d}");
    let log = d["transactionLogHistory"].as_array().unwrap();
    assert_eq!(log[0]["operation"], "REFUND");
    assert_eq!(log[0]["requestId"], "");
    assert_eq!(log[1]["requestId"], "ref-1");
    assert_eq!(log[2]["operation"], "CAPTURE");
    assert_eq!(log[2]["requestId"], "");
}

// ecom-v2.yaml, `userDetails.userId`: "Identifies a user in Vipps. Merchant is required to
// store this field for future references.", `pattern: '^[\d\w\/=+]+$'`. One per customer.
#[tokio::test]
async fn user_id_matches_the_spec_pattern_and_is_stable() {
    let h = H::start().await;
    let mut ids = Vec::new();
    for (id, phone) in [
        ("order-uid-1", "91234567"),
        ("order-uid-2", "91234567"),
        ("order-uid-3", "98765432"),
    ] {
        let mut b = initiate_body(&h, id, 1000);
        b["customerInfo"]["mobileNumber"] = json!(phone);
        b["transaction"]["scope"] = json!("name");
        initiated_with(&h, &b).await;
        approve_as_named(&h, id).await;
        let d = ecom_details(&h, id).await;
        let uid = d["userDetails"]["userId"]
            .as_str()
            .unwrap_or_else(|| panic!("{d}"))
            .to_owned();
        assert!(
            !uid.is_empty() && uid.chars().all(|c| c.is_alphanumeric() || "_/=+".contains(c)),
            "{uid}"
        );
        ids.push(uid);
    }
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
}

// knowledge-base--url-validation.md (eCom and PSP APIs): "URLs that start with
// `http://localhost` will be rejected. If you want to use localhost as fallback, please use
// `http://127.0.0.1`." The emulator keeps other loopback addresses for local merchant servers.
#[tokio::test]
async fn http_localhost_is_refused_and_127_0_0_1_accepted() {
    let h = H::start().await;
    for field in [
        "fallBack",
        "callbackPrefix",
        "consentRemovalPrefix",
        "shippingDetailsPrefix",
    ] {
        for url in ["http://localhost", "http://localhost:3000/x", "http://LocalHost/x"] {
            let mut b = initiate_body(&h, "order-url", 1000);
            b["merchantInfo"][field] = json!(url);
            ecom_error(initiate_with(&h, &b).await, 400, "InvalidRequest", field).await;
        }
    }
    for (i, url) in ["http://127.0.0.1:3000/done", "http://127.1.2.3/x", "http://[::1]:8/x"]
        .iter()
        .enumerate()
    {
        let mut b = initiate_body(&h, &format!("order-loop-{i}"), 1000);
        b["merchantInfo"]["fallBack"] = json!(url);
        b["merchantInfo"]["callbackPrefix"] = json!(url);
        initiated_with(&h, &b).await;
    }
    // With isApp the fallBack is an app-switch URL and is not validated (same document).
    let mut b = initiate_body(&h, "order-app", 1000);
    b["merchantInfo"]["isApp"] = json!(true);
    b["merchantInfo"]["fallBack"] = json!("http://localhost/app");
    initiated_with(&h, &b).await;
}

async fn landing_post(h: &H, path: &str, token: &str) -> reqwest::Response {
    h.http.post(h.url(path)).form(&[("token", token)]).send().await.unwrap()
}

// ecom-v2.yaml, `InitiatePaymentResponse.url`: "This link will timeout after 5 minutes.";
// knowledge-base--timeouts.md: "Both the landing page and the deeplink URL … are valid for 5
// minutes." and "After the user has clicked "OK" on the landing page, the user has an
// additional 5 minutes to complete the payment … a total of 10 minutes"; knowledge-base--
// payments.md: "Orders through the eCom API have a max timeout of 10 minutes". The landing
// page stops at 5 minutes; the customer in the app (the control plane) may confirm until the
// order's own 10 minutes are up.
#[tokio::test]
async fn the_landing_page_link_times_out_after_five_minutes() {
    let h = H::start().await;
    let token_of = |v: &Value| v["url"].as_str().unwrap().rsplit("token=").next().unwrap().to_owned();
    let early = initiated_with(&h, &initiate_body(&h, "order-link-1", 1000)).await;
    let late = initiated_with(&h, &initiate_body(&h, "order-link-2", 1000)).await;
    initiated_with(&h, &initiate_body(&h, "order-link-3", 1000)).await;
    h.advance(299).await;
    // within the five minutes the landing page approves
    let r = landing_post(&h, "/landing/approve", &token_of(&early)).await;
    assert_eq!(r.status(), 200);
    h.advance(61).await; // six minutes after initiate
    let page = h
        .http
        .get(h.url(&format!("/landing?v=2&token={}", token_of(&late))))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    let text = page.text().await.unwrap();
    assert!(text.contains("expired") && !text.contains("/landing/approve"), "{text}");
    for path in ["/landing/approve", "/landing/reject"] {
        let r = landing_post(&h, path, &token_of(&late)).await;
        assert_eq!(r.status(), 410, "{path}");
        assert!(r.text().await.unwrap().contains("expired"));
    }
    let d = ecom_details(&h, "order-link-2").await;
    assert_eq!(d["transactionLogHistory"][0]["operation"], "INITIATE", "{d}");
    // the order still waits: the app (control plane) approves within the ten minutes
    let r = h
        .control_with("/_emulator/payments/order-link-3/approve", &json!({}))
        .await;
    assert_eq!(r["approved"], true, "{r}");
    // and the order's own timeout is unchanged: REJECTED at ten minutes
    h.advance(241).await;
    let s: Value = ecom(&h, Method::GET, "/ecomm/v2/payments/order-link-2/status")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["transactionInfo"]["status"], "REJECTED", "{s}");
}

// knowledge-base--payment-lifecycle-2026.md, "Refund": "Refund reverses a captured amount, up
// to 365 days after the capture"; ecom-v2.yaml, refund: "Time frame for issuing a refund for a
// payment is 365 days from the date payment has been captured." (The older ecom--api-guide.md
// counts from the reservation; the 2026 page wins.) Too late is Payment 95 (ecom--api-guide.md's
// error table).
#[tokio::test]
async fn the_refund_window_counts_from_the_latest_capture() {
    let h = H::start().await;
    initiated_with(&h, &initiate_body(&h, "order-refund-window", 5000)).await;
    approve_as_named(&h, "order-refund-window").await;
    let r = action(&h, "order-refund-window", "capture", Some(2000), Some("cap-1")).await;
    assert_eq!(r.status(), 200);
    h.advance(170 * 86_400).await;
    let r = action(&h, "order-refund-window", "capture", None, None).await;
    assert_eq!(r.status(), 200);
    // 470 days after the reservation, 300 after the latest capture: still refundable
    h.advance(300 * 86_400).await;
    let r = action(&h, "order-refund-window", "refund", Some(1000), Some("ref-1")).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    // 366 days after the latest capture: too late
    h.advance(66 * 86_400).await;
    let r = action(&h, "order-refund-window", "refund", Some(1000), Some("ref-2")).await;
    ecom_error(r, 400, "Payment", "95").await;
}
