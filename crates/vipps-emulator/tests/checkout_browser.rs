//! A real browser run: headless Chromium loads a merchant page (served here on 127.0.0.1:0)
//! that loads `{emulator}/vippsCheckoutSDK.js` and embeds the Checkout page in an iframe; the
//! test clicks Pay inside the iframe over the DevTools protocol and observes the SDK's
//! `session_status_changed` events, the session state and the callback.
//!
//! Needs `chromium` (`apt-get install -y chromium`; `.ci/run` installs it). Without it the test
//! fails when `CI=true` and is skipped with a message otherwise.

use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps_emulator::{Emulator, Merchant};

mod browser;
use browser::{chromium_or_skip, launch, Cdp};

// ------------------------------------------------------------------------------------------
// The merchant site
// ------------------------------------------------------------------------------------------

/// (Authorization, body) of each callback received.
type Callbacks = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone)]
struct Shop {
    emulator: String,
    me: String,
    merchant: Merchant,
    events: Arc<Mutex<Vec<Value>>>,
    callbacks: Callbacks,
    reference: String,
}

async fn index(State(s): State<Shop>) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html><head><title>Merchant</title>
<script src="{emu}/vippsCheckoutSDK.js"></script></head>
<body><h1>Sock shop</h1><section id="vipps-checkout-frame-container"></section><ul id="events"></ul>
<script>
function record(name, data) {{
  var li = document.createElement("li");
  li.textContent = name + " " + JSON.stringify(data);
  document.getElementById("events").appendChild(li);
  fetch("/event", {{method: "POST", keepalive: true, headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{name: name, data: data === undefined ? null : data}})}});
}}
fetch("/create", {{method: "POST"}}).then(function (r) {{ return r.json(); }}).then(function (d) {{
  window.vippsCheckout = VippsCheckout({{
    checkoutFrontendUrl: d.checkoutFrontendUrl,
    iFrameContainerId: "vipps-checkout-frame-container",
    language: "no",
    token: d.token,
    on: {{
      shipping_option_selected: function (x) {{ record("shipping_option_selected", x); }},
      total_amount_changed: function (x) {{ record("total_amount_changed", x); }},
      session_status_changed: function (x) {{ record("session_status_changed", x); }},
      shipping_address_changed: function (x) {{ record("shipping_address_changed", x); }},
      customer_information_changed: function (x) {{ record("customer_information_changed", x); }}
    }}
  }});
}}).catch(function (e) {{ record("error", String(e)); }});
</script></body></html>"#,
        emu = s.emulator
    ))
}

async fn create(State(s): State<Shop>) -> Json<Value> {
    let m = &s.merchant;
    let body = json!({
        "reference": s.reference,
        "merchantInfo": {
            "callbackUrl": format!("{}/callback", s.me),
            "returnUrl": format!("{}/thanks", s.me),
            "callbackAuthorizationToken": "browser-cb-token"
        },
        "transaction": {"amount": {"value": 29900, "currency": "NOK"}, "reference": s.reference, "paymentDescription": "Socks <b>&</b> more"},
        "logistics": {"fixedOptions": [
            {"brand": "POSTEN", "id": "posten", "priority": 0, "isDefault": true, "type": "MAILBOX", "amount": {"value": 3900, "currency": "NOK"}},
            {"brand": "OTHER", "id": "store", "priority": 1, "isDefault": false, "title": "Store pickup", "amount": {"value": 0, "currency": "NOK"}}
        ]},
        "prefillCustomer": {"firstName": "Kari", "lastName": "Nordmann", "email": "kari@example.com", "phoneNumber": "4798765432"},
        "configuration": {"elements": "Full", "customConsent": {"text": "Yes, send me offers", "required": false}, "showOrderSummary": false}
    });
    let r = reqwest::Client::new()
        .post(format!("{}/checkout/v3/session", s.emulator))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    Json(r.json().await.unwrap())
}

async fn event(State(s): State<Shop>, Json(v): Json<Value>) {
    s.events.lock().push(v);
}

async fn callback(State(s): State<Shop>, headers: axum::http::HeaderMap, Json(v): Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    s.callbacks.lock().push((auth, v));
}

async fn thanks() -> Html<&'static str> {
    Html("<html><body><h1 id=\"thanks\">Thank you</h1></body></html>")
}

fn statuses(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["name"] == "session_status_changed")
        .map(|e| e["data"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_completes_a_purchase_in_the_checkout_iframe() {
    let Some(bin) = chromium_or_skip() else { return };
    let emu = Emulator::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let me = format!("http://{}", listener.local_addr().unwrap());
    let shop = Shop {
        emulator: emu.base_url(),
        me: me.clone(),
        merchant: emu.merchant().clone(),
        events: Default::default(),
        callbacks: Default::default(),
        reference: "browser-order-0001".into(),
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/create", post(create))
        .route("/event", post(event))
        .route("/callback", post(callback))
        .route("/thanks", get(thanks))
        .with_state(shop.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (_browser, ws_url) = launch(&bin);
    let (mut cdp, session) = Cdp::open(&ws_url, &format!("{me}/")).await;
    let sid = Some(session.as_str());

    // Wait for the Checkout iframe to be ready, then click Pay inside it.
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut clicked = false;
    while !clicked {
        assert!(
            Instant::now() < deadline,
            "the Checkout iframe never became ready; events: {:?}",
            shop.events.lock()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let tree = cdp.call(sid, "Page.getFrameTree", json!({})).await;
        let frames = tree["frameTree"]["childFrames"].as_array().cloned().unwrap_or_default();
        let Some(frame) = frames.iter().find(|f| {
            f["frame"]["url"]
                .as_str()
                .is_some_and(|u| u.contains("/checkout/v3/frontend"))
        }) else {
            continue;
        };
        let frame_id = frame["frame"]["id"].as_str().unwrap().to_owned();
        let world = cdp
            .call(
                sid,
                "Page.createIsolatedWorld",
                json!({"frameId": frame_id, "worldName": "checkout-test"}),
            )
            .await;
        let ctx = world["executionContextId"].clone();
        let r = cdp
            .call(
                sid,
                "Runtime.evaluate",
                json!({
                    "contextId": ctx,
                    "returnByValue": true,
                    "expression": "(function(){ if (document.body.dataset.ready !== 'true') return 'waiting'; \
                        var t = document.getElementById('description').textContent; \
                        document.getElementById('customConsent').click(); \
                        document.getElementById('option-1').click(); \
                        var label = document.getElementById('pay').textContent; \
                        document.getElementById('pay').click(); return 'clicked:' + label + '|' + t; })()"
                }),
            )
            .await;
        let v = r["result"]["value"].as_str().unwrap_or("").to_owned();
        if let Some(clicked_on) = v.strip_prefix("clicked:") {
            let (label, desc) = clicked_on.split_once('|').unwrap();
            assert_eq!(label, "Betal", "the merchant page asked for language \"no\"");
            assert_eq!(desc, "Socks <b>&</b> more", "the description is shown as text");
            clicked = true;
        }
    }

    // The SDK raises session_status_changed for the merchant page.
    loop {
        let st = statuses(&shop.events.lock());
        if st.iter().any(|s| s == "PaymentSuccessful") {
            assert_eq!(st.first().map(String::as_str), Some("SessionStarted"), "{st:?}");
            assert!(st.iter().any(|s| s == "PaymentInitiated"), "{st:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no session_status_changed PaymentSuccessful; events: {:?}",
            shop.events.lock()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    {
        let events = shop.events.lock();
        let selected: Vec<_> = events
            .iter()
            .filter(|e| e["name"] == "shipping_option_selected")
            .collect();
        assert_eq!(selected.first().unwrap()["data"]["id"], "posten");
        assert_eq!(selected.last().unwrap()["data"]["id"], "store");
        assert_eq!(selected.last().unwrap()["data"]["price"]["fractionalDenomination"], 0);
        assert!(events.iter().any(|e| e["name"] == "total_amount_changed"
            && e["data"] == json!({"fractionalDenomination": 33800, "currency": "NOK"})));
    }

    // The session is paid with the chosen option, and the callback arrives.
    let m = emu.merchant();
    let s: Value = reqwest::Client::new()
        .get(format!("{}/checkout/v3/session/browser-order-0001", emu.base_url()))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["sessionState"], "PaymentSuccessful", "{s}");
    assert_eq!(s["paymentDetails"]["amount"]["value"], 29900);
    assert_eq!(s["shippingDetails"]["shippingMethodId"], "store");
    assert_eq!(s["billingDetails"]["firstName"], "Kari");
    assert_eq!(s["customConsentProvided"], true);
    loop {
        if let Some((auth, body)) = shop.callbacks.lock().first() {
            assert_eq!(auth.as_deref(), Some("browser-cb-token"));
            assert_eq!(body["sessionState"], "PaymentSuccessful");
            break;
        }
        assert!(Instant::now() < deadline, "no callback");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Finally the SDK sends the customer to the returnUrl.
    loop {
        let r = cdp
            .call(
                sid,
                "Runtime.evaluate",
                json!({"expression": "location.pathname", "returnByValue": true}),
            )
            .await;
        if r["result"]["value"] == "/thanks" {
            break;
        }
        assert!(Instant::now() < deadline, "not redirected to the returnUrl");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(cdp);
    emu.shutdown().await;
}
