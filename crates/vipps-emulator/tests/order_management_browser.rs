//! A real browser run: headless Chromium opens the landing page of a payment that carries a
//! receipt (sent with the ePayment create) and a category with an image (added through Order
//! Management), approves it, and finds the order lines, the total and the category link on
//! the page after approval, as the app shows them.
//!
//! Needs `chromium` (`apt-get install -y chromium`; `.ci/run` installs it). Without it the test
//! fails when `CI=true` and is skipped with a message otherwise.

mod browser;
mod common;

use base64::Engine as _;
use browser::{chromium_or_skip, launch, Cdp};
use common::{web, H};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Waits until `expression` (evaluated in the page) is `true`, or fails saying `what`.
async fn until(cdp: &mut Cdp, session: &str, expression: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if cdp.eval(session, expression).await == Value::Bool(true) {
            return;
        }
        let body = cdp.eval(session, "document.body ? document.body.innerText : ''").await;
        assert!(Instant::now() < deadline, "{what}; the page says: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(cdp: &mut Cdp, session: &str, selector: &str) -> String {
    let js =
        format!("(function () {{ var e = document.querySelector({selector:?}); return e ? e.textContent : null; }})()");
    cdp.eval(session, &js).await.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_shows_receipt_and_category_after_approval() {
    let Some(bin) = chromium_or_skip() else { return };
    let h = H::start().await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&300u32.to_be_bytes());
    png.extend_from_slice(&200u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0]);
    let upload =
        json!({"imageId": "logo-1", "src": base64::engine::general_purpose::STANDARD.encode(&png), "type": "base64"});
    let r = h
        .req(Method::POST, "/order-management/v1/images")
        .json(&upload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut body = web("om-browser-0001", 6000);
    body["receipt"] = json!({
        "orderLines": [
            {"name": "Socks <wool>", "id": "l1", "totalAmount": 5000, "totalAmountExcludingTax": 4000,
             "totalTaxAmount": 1000, "taxRate": 2500,
             "unitInfo": {"unitPrice": 2500, "quantity": "2", "quantityUnit": "PCS"}},
            {"name": "Home delivery", "id": "ship", "totalAmount": 1000, "totalAmountExcludingTax": 800,
             "totalTaxAmount": 200, "taxRate": 2500, "isShipping": true}
        ],
        "bottomLine": {"currency": "NOK"}
    });
    let r = h.create_body(&body, "om-browser-key").await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let category = json!({"category": "ORDER_CONFIRMATION", "orderDetailsUrl": "https://example.com/orders/1", "imageId": "logo-1"});
    let r = h
        .req(Method::PUT, "/order-management/v2/ecom/categories/om-browser-0001")
        .json(&category)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (_browser, ws_url) = launch(&bin);
    let (mut cdp, s) = Cdp::open(&ws_url, created["redirectUrl"].as_str().unwrap()).await;
    until(
        &mut cdp,
        &s,
        "document.querySelector('button.approve') !== null",
        "no Approve button",
    )
    .await;
    assert!(
        text(&mut cdp, &s, "#receipt").await.contains("Socks <wool>"),
        "before approval"
    );
    cdp.eval(&s, "document.querySelector('button.approve').click()").await;
    until(
        &mut cdp,
        &s,
        "(document.getElementById('result') || {}).textContent === 'The payment is approved.'",
        "the payment was not approved",
    )
    .await;

    let receipt = text(&mut cdp, &s, "#receipt").await;
    assert!(receipt.contains("Socks <wool>"), "the line's name as text: {receipt}");
    assert!(receipt.contains("2 pcs × 25.00 NOK"), "{receipt}");
    assert_eq!(
        text(&mut cdp, &s, "#receipt-shipping").await,
        "ShippingHome delivery10.00 NOK"
    );
    assert_eq!(text(&mut cdp, &s, "#receipt-total").await, "60.00 NOK");
    assert_eq!(text(&mut cdp, &s, "#receipt-vat").await, "12.00 NOK");
    assert_eq!(text(&mut cdp, &s, "#category a").await, "Order confirmation");
    let href = cdp.eval(&s, "document.querySelector('#category a').href").await;
    assert_eq!(href, "https://example.com/orders/1");
    // The image is served to the page by the emulator.
    let status = cdp
        .eval(
            &s,
            "fetch(document.getElementById('category-image').src).then(function (r) { return r.status + ' ' + r.headers.get('content-type'); })",
        )
        .await;
    assert_eq!(status, "200 image/png");
    assert_eq!(
        cdp.eval(&s, "document.getElementById('state').textContent").await,
        "AUTHORIZED"
    );

    // The dashboard's detail of the payment shows the same order.
    let detail = format!("{}/_emulator/#payment/om-browser-0001?msn=123456", h.emu.base_url());
    let (mut dash, d) = Cdp::open(&ws_url, &detail).await;
    until(
        &mut dash,
        &d,
        "document.getElementById('order') !== null && !document.getElementById('order').hidden",
        "the dashboard shows no order",
    )
    .await;
    let lines = text(&mut dash, &d, "#receipt tbody").await;
    assert!(
        lines.contains("Socks <wool>") && lines.contains("Shipping: Home delivery"),
        "{lines}"
    );
    assert_eq!(text(&mut dash, &d, "#receipt-total").await, "Total60.00 NOK (6000)");
    let category = text(&mut dash, &d, "#order-category").await;
    assert_eq!(category, "ORDER_CONFIRMATION: https://example.com/orders/1");
    let img = dash
        .eval(&d, "document.querySelector('#order-category img').getAttribute('src')")
        .await;
    assert_eq!(img, "/order-management/images/123456/logo-1");
}
