//! The dashboard in a real browser: headless Chromium shows `/_emulator/`; a payment created
//! through the SDK appears without a reload, its "Approve" button makes the SDK read
//! `AUTHORIZED`, its webhook deliveries (to a receiver here that verifies signatures with
//! `vipps::webhooks::WebhookVerifier`) are listed with the receiver's status, and "Resend"
//! sends one again, signed anew.
//!
//! Needs `chromium` (`apt-get install -y chromium`; `.ci/run` installs it). Without it the tests
//! fail when `CI=true` and are skipped with a message otherwise.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use parking_lot::Mutex;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps::types::epayment::{CreatePaymentRequest, PaymentState, UserFlow};
use vipps::types::webhooks::{RegisterWebhookRequest, WebhookEventType};
use vipps::types::{Amount, Reference};
use vipps::webhooks::WebhookVerifier;
use vipps::Client;
use vipps_emulator::{Emulator, RunningEmulator};

mod browser;
use browser::{chromium_or_skip, launch, Cdp};

/// What the receiver got: (the event's `name`, whether its signature verified).
type Received = Arc<Mutex<Vec<(String, bool)>>>;

/// A webhook receiver on 127.0.0.1:0 that verifies every delivery with the verifier it is
/// given once the webhook is registered; 200 when it verifies, else 401.
async fn receiver() -> (String, Arc<Mutex<Option<WebhookVerifier>>>, Received) {
    let verifier: Arc<Mutex<Option<WebhookVerifier>>> = Arc::default();
    let got: Received = Arc::default();
    let (v, g) = (Arc::clone(&verifier), Arc::clone(&got));
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let (v, g) = (Arc::clone(&v), Arc::clone(&g));
        async move {
            let ok = v
                .lock()
                .as_ref()
                .is_some_and(|v| v.verify_http(&Method::POST, &uri, &headers, &body).is_ok());
            let name = serde_json::from_slice::<Value>(&body)
                .map_or(String::new(), |b| b["name"].as_str().unwrap_or_default().to_owned());
            g.lock().push((name, ok));
            if ok {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/vipps", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, verifier, got)
}

fn client_for(emu: &RunningEmulator) -> Client {
    let m = emu.merchant();
    Client::builder()
        .client_id(m.client_id.clone())
        .client_secret(m.client_secret.clone())
        .subscription_key(m.subscription_key.clone())
        .merchant_serial_number(m.msn.clone())
        .base_url(emu.base_url())
        .build()
        .unwrap()
}

/// Waits until `expression` (evaluated in the page) is `true`, or fails saying `what`.
async fn until(cdp: &mut Cdp, session: &str, expression: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if cdp.eval(session, expression).await == Value::Bool(true) {
            return;
        }
        let notice = cdp.eval(session, "document.getElementById('notice').textContent").await;
        assert!(Instant::now() < deadline, "{what}; the page says: {notice}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the button whose text is `text` inside the element `scope` (a CSS selector).
async fn click(cdp: &mut Cdp, session: &str, scope: &str, text: &str) {
    let js = format!(
        "(function () {{ var b = Array.from(document.querySelectorAll({scope:?} + ' button')).find(function (b) {{ return b.textContent === {text:?}; }}); \
         if (!b) return false; b.click(); return true; }})()"
    );
    assert_eq!(
        cdp.eval(session, &js).await,
        Value::Bool(true),
        "no button {text:?} in {scope}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_a_payment_live_approves_it_and_resends_its_webhook() {
    let Some(bin) = chromium_or_skip() else { return };
    let emu = Emulator::start().await.unwrap();
    let client = client_for(&emu);
    let (url, verifier, got) = receiver().await;
    let registered = client
        .webhooks()
        .register(RegisterWebhookRequest::new(
            &url,
            WebhookEventType::EPAYMENT.iter().cloned(),
        ))
        .await
        .unwrap();
    *verifier.lock() = Some(WebhookVerifier::new(registered.secret.clone()).unwrap());

    let (_browser, ws_url) = launch(&bin);
    let (mut cdp, s) = Cdp::open(&ws_url, &format!("{}/_emulator/", emu.base_url())).await;
    until(
        &mut cdp,
        &s,
        "document.querySelector('#objects tbody tr') !== null",
        "the list never showed",
    )
    .await;
    // Lost on a reload: proves the page updates itself.
    cdp.eval(&s, "window.notReloaded = true").await;

    // A payment created through the SDK appears on its own.
    let reference = Reference::new("dash-browser-0001").unwrap();
    let mut req = CreatePaymentRequest::new(Amount::nok(49900), reference.clone(), UserFlow::WebRedirect);
    req.return_url = Some("https://example.com/return".into());
    client.epayment().create_payment(req).await.unwrap();
    let row = format!("#objects tr[data-id=\"{reference}\"]");
    until(
        &mut cdp,
        &s,
        &format!("(function () {{ var r = document.querySelector({row:?}); return !!r && r.textContent.indexOf('CREATED') >= 0 && r.textContent.indexOf('499.00 NOK') >= 0; }})()"),
        "the payment never appeared",
    )
    .await;
    assert_eq!(cdp.eval(&s, "window.notReloaded === true").await, Value::Bool(true));

    // Approve as the customer, from the dashboard.
    click(&mut cdp, &s, &row, "Approve").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.epayment().get_payment(&reference).await.unwrap().state != PaymentState::Authorized {
        assert!(Instant::now() < deadline, "the SDK never read AUTHORIZED");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until(
        &mut cdp,
        &s,
        &format!("(function () {{ var r = document.querySelector({row:?}); return !!r && r.textContent.indexOf('AUTHORIZED') >= 0; }})()"),
        "the list never showed AUTHORIZED",
    )
    .await;

    // The detail view lists the webhook deliveries with what the receiver answered.
    let link = format!("{row} th a");
    cdp.eval(&s, &format!("document.querySelector({link:?}).click()")).await;
    let authorized_row = "Array.from(document.querySelectorAll('#deliveries tbody tr')).filter(function (r) { \
        return r.textContent.indexOf('AUTHORIZED') >= 0 && r.textContent.indexOf('HTTP 200') >= 0; })";
    until(
        &mut cdp,
        &s,
        &format!("{authorized_row}.length === 1"),
        "the AUTHORIZED delivery was never listed with HTTP 200",
    )
    .await;
    let history = cdp.eval(&s, "document.getElementById('history').textContent").await;
    assert!(history.as_str().unwrap().contains("AUTHORIZED"), "{history}");
    assert_eq!(cdp.eval(&s, "window.notReloaded === true").await, Value::Bool(true));
    let verified = |name: &str| got.lock().iter().filter(|(n, ok)| *ok && n == name).count();
    assert_eq!(verified("AUTHORIZED"), 1, "{:?}", got.lock());
    assert_eq!(verified("CREATED"), 1, "{:?}", got.lock());

    // Resend it: the receiver verifies the new signature, and the page lists the new delivery.
    cdp.eval(&s, &format!("{authorized_row}[0].querySelector('button').click()"))
        .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while verified("AUTHORIZED") < 2 {
        assert!(
            Instant::now() < deadline,
            "the resent delivery never arrived: {:?}",
            got.lock()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    until(
        &mut cdp,
        &s,
        &format!("{authorized_row}.length === 2 && document.getElementById('deliveries').textContent.indexOf('resend of') >= 0"),
        "the resent delivery was never listed",
    )
    .await;
    drop(cdp);
    emu.shutdown().await;
}
