//! Hostile input: random JSON, wrong types, amounts near the i64 limits, unicode and control
//! characters in references and headers, oversized bodies, missing and duplicated headers, on
//! every API (ePayment with Express and profile bodies, Checkout, eCom, Webhooks, both token
//! endpoints, the control plane) and on the customer's pages (landing page forms, the Checkout
//! page and its JSON calls). The emulator must never answer 5xx or panic, and the APIs must
//! always answer in their own format.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;
use vipps_emulator::{router, AppState, EmulatorConfig};

fn state() -> (AppState, String) {
    let state = AppState::new(EmulatorConfig::default());
    let m = state.default_merchant().clone();
    let token = state.issue_token(&m).access_token;
    (state, token)
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(65_000_001), Just(-1), Just(0)]
            .prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("NOK"),
            Just("SEK"),
            Just("WALLET"),
            Just("WEB_REDIRECT"),
            Just("https://example.com"),
            Just("\u{0}\u{7}\n")
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("amount".to_owned()),
            Just("currency".to_owned()),
            Just("value".to_owned()),
            Just("reference".to_owned()),
            Just("paymentMethod".to_owned()),
            Just("type".to_owned()),
            Just("userFlow".to_owned()),
            Just("returnUrl".to_owned()),
            Just("customer".to_owned()),
            Just("phoneNumber".to_owned()),
            Just("modificationAmount".to_owned()),
            Just("metadata".to_owned()),
            Just("expiresAt".to_owned()),
            "\\PC{0,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys, inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A plausible create body with one part replaced by something hostile.
fn create_body() -> impl Strategy<Value = serde_json::Value> {
    (json_value(), 0usize..11, "\\PC{0,70}", any::<i64>()).prop_map(|(junk, slot, text, n)| {
        let mut v = serde_json::json!({
            "amount": {"currency": "NOK", "value": 1000},
            "paymentMethod": {"type": "WALLET"},
            "reference": "hostile-reference-1",
            "userFlow": "WEB_REDIRECT",
            "returnUrl": "https://example.com/r",
            "paymentDescription": "hostile"
        });
        match slot {
            0 => v["amount"]["value"] = n.into(),
            1 => v["reference"] = text.into(),
            2 => v["amount"] = junk,
            3 => v["userFlow"] = text.into(),
            4 => v["customer"] = junk,
            5 => v["metadata"] = junk,
            6 => v["paymentDescription"] = text.into(),
            7 => v["expiresAt"] = text.into(),
            // Express: junk shipping (with and without the scope Express needs) and profile.
            8 => {
                v["shipping"] = junk;
                v["profile"] = serde_json::json!({"scope": "name address email phoneNumber"});
            }
            9 => {
                v["shipping"] = serde_json::json!({"fixedOptions": [{"brand": "POSTEN", "type": "MAILBOX",
                "options": [{"id": text, "name": "x", "amount": {"currency": "NOK", "value": n}}]}]})
            }
            _ => v["profile"] = junk,
        }
        v
    })
}

fn paths() -> impl Strategy<Value = (http::Method, String)> {
    let reference = prop_oneof![
        Just("hostile-reference-1".to_owned()),
        "[a-zA-Z0-9-]{0,80}",
        "\\PC{1,20}".prop_map(|s| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>()),
        Just("%00%0A%FF".to_owned()),
        Just("..%2F..%2Faccesstoken%2Fget".to_owned()),
    ];
    (0usize..16, reference).prop_map(|(i, r)| match i {
        0 => (http::Method::POST, "/epayment/v1/payments".to_owned()),
        1 => (http::Method::GET, format!("/epayment/v1/payments/{r}")),
        2 => (http::Method::GET, format!("/epayment/v1/payments/{r}/events")),
        3 => (http::Method::POST, format!("/epayment/v1/payments/{r}/capture")),
        4 => (http::Method::POST, format!("/epayment/v1/payments/{r}/refund")),
        5 => (http::Method::POST, format!("/epayment/v1/payments/{r}/cancel")),
        6 => (http::Method::POST, format!("/epayment/v1/test/payments/{r}/approve")),
        7 => (http::Method::GET, format!("/vipps-userinfo-api/userinfo/{r}")),
        8 => (http::Method::POST, "/checkout/v3/session".to_owned()),
        9 => (http::Method::GET, format!("/checkout/v3/session/{r}")),
        10 => (http::Method::PATCH, format!("/checkout/v3/session/{r}")),
        11 => (http::Method::POST, "/miami/v1/token".to_owned()),
        12 => (http::Method::POST, format!("/_emulator/payments/{r}/approve")),
        13 => (http::Method::POST, "/ecomm/v2/payments".to_owned()),
        14 => (http::Method::POST, "/webhooks/v1/webhooks".to_owned()),
        _ => (http::Method::POST, "/accesstoken/get".to_owned()),
    })
}

async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

fn check(status: StatusCode, ct: &str, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        status.as_u16() < 500,
        "HTTP {status}: {}",
        String::from_utf8_lossy(body)
    );
    if !status.is_success() {
        prop_assert!(ct.contains("json"), "error without a JSON body: {ct}");
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(v.is_object() || v.is_array(), "{v}");
    }
    Ok(())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bodies_and_paths_never_5xx((method, path) in paths(), body in prop_oneof![json_value(), create_body()], raw in any::<bool>()) {
        let (state, token) = state();
        let m = state.default_merchant().clone();
        let bytes = if raw { serde_json::to_vec(&body).unwrap() } else { serde_json::to_string(&body).unwrap().replace('}', "").into_bytes() };
        let req = Request::builder()
            .method(method)
            .uri(&path)
            .header("authorization", format!("Bearer {token}"))
            .header("ocp-apim-subscription-key", &m.subscription_key)
            .header("merchant-serial-number", &m.msn)
            .header("client_id", &m.client_id)
            .header("client_secret", &m.client_secret)
            .header("idempotency-key", "hostile-key")
            .header("content-type", "application/json")
            .body(Body::from(bytes));
        let req = match req { Ok(r) => r, Err(_) => return Ok(()) };
        let (status, ct, body) = rt().block_on(send(&state, req));
        check(status, &ct, &body)?;
    }

    #[test]
    fn hostile_headers_never_5xx(
        key in prop_oneof!["\\PC{0,60}", "[ -~]{0,80}"],
        system in "[ -~]{0,40}",
        msn in prop_oneof![Just("123456".to_owned()), "[0-9]{0,9}", "\\PC{0,8}"],
        auth in prop_oneof![Just(None), "[ -~]{0,60}".prop_map(Some)],
        dup in any::<bool>(),
    ) {
        let (state, token) = state();
        let m = state.default_merchant().clone();
        let mut b = Request::builder()
            .method("POST")
            .uri("/epayment/v1/payments")
            .header("ocp-apim-subscription-key", &m.subscription_key)
            .header("content-type", "application/json")
            .header("vipps-system-name", system.as_str());
        if let Ok(v) = http::HeaderValue::from_str(&msn) { b = b.header("merchant-serial-number", v); }
        if let Ok(v) = http::HeaderValue::from_str(&key) { b = b.header("idempotency-key", v); }
        if dup { b = b.header("idempotency-key", "second").header("merchant-serial-number", "654321"); }
        b = b.header("authorization", auth.unwrap_or_else(|| format!("Bearer {token}")));
        let body = serde_json::json!({"amount": {"currency": "NOK", "value": 1000}, "paymentMethod": {"type": "WALLET"},
            "reference": "hostile-headers-1", "userFlow": "WEB_REDIRECT", "returnUrl": "https://example.com/r"});
        let req = match b.body(Body::from(serde_json::to_vec(&body).unwrap())) { Ok(r) => r, Err(_) => return Ok(()) };
        let (status, ct, body) = rt().block_on(send(&state, req));
        check(status, &ct, &body)?;
    }
}

#[tokio::test]
async fn oversized_and_wrong_content_type_bodies() {
    let (state, token) = state();
    let m = state.default_merchant().clone();
    let base = |len: usize, ct: &str| {
        Request::builder()
            .method("POST")
            .uri("/epayment/v1/payments")
            .header("authorization", format!("Bearer {token}"))
            .header("ocp-apim-subscription-key", &m.subscription_key)
            .header("merchant-serial-number", &m.msn)
            .header("idempotency-key", "big")
            .header("content-type", ct)
            .body(Body::from(vec![b'{'; len]))
            .unwrap()
    };
    let (status, ct, _) = send(&state, base(1024 * 1024 + 1, "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(ct.contains("problem+json"));
    let (status, ct, _) = send(&state, base(10, "text/plain")).await;
    assert!(
        status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status == StatusCode::BAD_REQUEST,
        "{status}"
    );
    assert!(ct.contains("json"));
    let (status, _, _) = send(&state, base(10 * 1024 * 1024, "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A state with an Express payment, a card payment and a Checkout session waiting for the
/// customer, and their page tokens: (state, landing tokens, Checkout token).
fn customer_state() -> (AppState, Vec<String>, String) {
    let (state, token) = state();
    let m = state.default_merchant().clone();
    let post = |path: &str, body: serde_json::Value, key: &str| {
        Request::builder()
            .method(http::Method::POST)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("ocp-apim-subscription-key", &m.subscription_key)
            .header("merchant-serial-number", &m.msn)
            .header("client_id", &m.client_id)
            .header("client_secret", &m.client_secret)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let base = serde_json::json!({"amount": {"currency": "NOK", "value": 1000}, "paymentMethod": {"type": "WALLET"},
        "userFlow": "WEB_REDIRECT", "returnUrl": "https://example.com/r"});
    let mut express = base.clone();
    express["reference"] = "hostile-express-1".into();
    express["profile"] = serde_json::json!({"scope": "name address email phoneNumber"});
    express["shipping"] = serde_json::json!({"fixedOptions": [{"brand": "POSTEN", "type": "MAILBOX",
        "options": [{"id": "mail", "name": "Mailbox", "amount": {"currency": "NOK", "value": 4900}}]}]});
    let mut card = base;
    card["reference"] = "hostile-card-1".into();
    card["paymentMethod"]["type"] = "CARD".into();
    let session = serde_json::json!({"merchantInfo": {"callbackUrl": "https://example.com/cb",
        "returnUrl": "https://example.com/r", "callbackAuthorizationToken": "t"},
        "transaction": {"amount": {"value": 1000, "currency": "NOK"}, "reference": "hostile-session-1",
        "paymentDescription": "Socks"}});
    rt().block_on(async {
        let mut landing = Vec::new();
        for (i, body) in [express, card].into_iter().enumerate() {
            let (status, _, b) = send(&state, post("/epayment/v1/payments", body, &format!("k{i}"))).await;
            assert_eq!(status, StatusCode::CREATED);
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            let url = v["redirectUrl"].as_str().unwrap();
            landing.push(url.split("token=").nth(1).unwrap().to_owned());
        }
        let (status, _, b) = send(&state, post("/checkout/v3/session", session, "k3")).await;
        assert_eq!(status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        (state, landing, v["token"].as_str().unwrap().to_owned())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    /// The customer's side (landing page, Checkout page and its JSON calls) with hostile forms,
    /// bodies, tokens and languages: never a 5xx.
    #[test]
    fn customer_pages_never_5xx(
        which in 0usize..8,
        good_token in any::<bool>(),
        junk in "\\PC{0,40}",
        option in prop_oneof![Just("mail".to_owned()), "\\PC{0,20}"],
        card in prop_oneof![Just("4925 0000 0000 0004".to_owned()), "[0-9 -]{0,30}", "\\PC{0,20}"],
        body in json_value(),
    ) {
        let (state, landing, ck) = customer_state();
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let lt = if good_token { landing[which % 2].clone() } else { junk.clone() };
        let ct = if good_token { ck.clone() } else { junk.clone() };
        let form = |action: &str| Request::builder()
            .method(http::Method::POST)
            .uri(format!("/landing/{action}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}&shippingOptionId={}&cardNumber={}", enc(&lt), enc(&option), enc(&card))));
        let json = |path: &str| Request::builder()
            .method(http::Method::POST)
            .uri(format!("/checkout/v3/frontend/api/{path}?token={}", enc(&ct)))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()));
        let req = match which {
            0 | 1 => form("approve"),
            2 => form("reject"),
            3 => Request::builder().uri(format!("/landing?token={}", enc(&lt))).body(Body::empty()),
            4 => json("pay"),
            5 => json("shipping"),
            6 => json("cancel"),
            _ => Request::builder()
                .uri(format!("/checkout/v3/frontend?token={}&lang={}", enc(&ct), enc(&junk)))
                .body(Body::empty()),
        };
        let req = match req { Ok(r) => r, Err(_) => return Ok(()) };
        let (status, _, b) = rt().block_on(send(&state, req));
        prop_assert!(status.as_u16() < 500, "HTTP {status}: {}", String::from_utf8_lossy(&b));
    }
}
