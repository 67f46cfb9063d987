//! Shared helpers: a running emulator with a token and header helpers.
#![allow(dead_code)]

use reqwest::{Client, RequestBuilder, Response};
use serde_json::{json, Value};
use vipps_emulator::{Emulator, EmulatorConfig, Merchant, RunningEmulator};

pub struct H {
    pub emu: RunningEmulator,
    pub http: Client,
    pub token: String,
}

pub fn second_merchant() -> Merchant {
    Merchant {
        msn: "654321".into(),
        client_id: "second-client".into(),
        client_secret: "second-secret".into(),
        subscription_key: "second-key".into(),
        name: "Second <Shop>".into(),
        currency: vipps_types::Currency::Nok,
        direct_capture: false,
        approved: Default::default(),
    }
}

impl H {
    pub async fn start() -> H {
        Self::with(EmulatorConfig::default()).await
    }

    pub async fn two_merchants() -> H {
        let config = EmulatorConfig {
            merchants: vec![Merchant::default_test(), second_merchant()],
            ..EmulatorConfig::default()
        };
        Self::with(config).await
    }

    /// An emulator keeping its state in `dir`.
    pub async fn on_dir(config: EmulatorConfig, dir: &std::path::Path) -> H {
        let emu = Emulator::builder().config(config).data_dir(dir).start().await.unwrap();
        let http = Client::new();
        let m = emu.merchant().clone();
        let token = fetch_token(&http, &emu.base_url(), &m).await;
        H { emu, http, token }
    }

    /// Stops this emulator and starts another on the same data dir, keeping the access token
    /// (the new one must accept it).
    pub async fn restart(self, config: EmulatorConfig, dir: &std::path::Path) -> H {
        let H { emu, http, token } = self;
        emu.shutdown().await;
        let emu = Emulator::builder().config(config).data_dir(dir).start().await.unwrap();
        H { emu, http, token }
    }

    pub async fn with(config: EmulatorConfig) -> H {
        let emu = Emulator::builder().config(config).start().await.unwrap();
        let http = Client::new();
        let m = emu.merchant().clone();
        let token = fetch_token(&http, &emu.base_url(), &m).await;
        H { emu, http, token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emu.base_url(), path)
    }

    pub fn m(&self) -> &Merchant {
        self.emu.merchant()
    }

    /// A request with the default merchant's token, subscription key and MSN.
    pub fn req(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("Ocp-Apim-Subscription-Key", &self.m().subscription_key)
            .header("Merchant-Serial-Number", &self.m().msn)
    }

    /// A Checkout request with the default merchant's client credentials (no token).
    pub fn checkout(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let m = self.m();
        self.http
            .request(method, self.url(path))
            .header("client_id", &m.client_id)
            .header("client_secret", &m.client_secret)
            .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
            .header("Merchant-Serial-Number", &m.msn)
            .header("Vipps-System-Name", "tests")
    }

    /// `POST` to the control plane with a JSON body; the answer as JSON.
    pub async fn control_with(&self, path: &str, body: &Value) -> Value {
        json_of(self.http.post(self.url(path)).json(body)).await
    }

    /// `POST` to the control plane (no body), as JSON.
    pub async fn control(&self, path: &str) -> Value {
        json_of(self.http.post(self.url(path))).await
    }

    pub async fn create(&self, reference: &str, value: i64, key: &str) -> Response {
        self.req(reqwest::Method::POST, "/epayment/v1/payments")
            .header("Idempotency-Key", key)
            .json(&web(reference, value))
            .send()
            .await
            .unwrap()
    }

    /// `POST /epayment/v1/payments` with this body and idempotency key.
    pub async fn create_body(&self, body: &Value, key: &str) -> Response {
        self.req(reqwest::Method::POST, "/epayment/v1/payments")
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn created(&self, reference: &str, value: i64) -> Value {
        let r = self.create(reference, value, &format!("create-{reference}")).await;
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    }

    pub async fn approve(&self, reference: &str) -> Response {
        self.http
            .post(self.url(&format!("/_emulator/payments/{reference}/approve")))
            .send()
            .await
            .unwrap()
    }

    pub async fn authorized(&self, reference: &str, value: i64) {
        self.created(reference, value).await;
        let r = self.approve(reference).await;
        assert_eq!(r.status(), 200);
    }

    pub async fn modify(&self, reference: &str, op: &str, value: i64, key: &str) -> Response {
        self.req(
            reqwest::Method::POST,
            &format!("/epayment/v1/payments/{reference}/{op}"),
        )
        .header("Idempotency-Key", key)
        .json(&json!({"modificationAmount": {"currency": "NOK", "value": value}}))
        .send()
        .await
        .unwrap()
    }

    /// A request as the default merchant with a fresh idempotency key (so sending it twice is
    /// two requests, not a replay) and an optional JSON body.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut r = self
            .req(method, path)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    /// `GET path` as the default merchant: asserts a 200 and returns the JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }

    pub async fn cancel(&self, reference: &str, body: Option<Value>) -> Response {
        let path = format!("/epayment/v1/payments/{reference}/cancel");
        self.send(reqwest::Method::POST, &path, body).await
    }

    pub async fn get(&self, reference: &str) -> Value {
        let r = self
            .req(reqwest::Method::GET, &format!("/epayment/v1/payments/{reference}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn events(&self, reference: &str) -> Vec<Value> {
        let r = self
            .req(
                reqwest::Method::GET,
                &format!("/epayment/v1/payments/{reference}/events"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// `GET` from the control plane (no credentials): asserts a 200 and returns the JSON.
    pub async fn control_get(&self, path: &str) -> Value {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }

    /// `GET /_emulator/deliveries?kind=…`, as JSON.
    pub async fn deliveries(&self, kind: &str) -> Value {
        self.control_get(&format!("/_emulator/deliveries?kind={kind}")).await
    }

    /// `GET /_emulator/clock`, as JSON.
    pub async fn clock(&self) -> Value {
        self.control_get("/_emulator/clock").await
    }

    pub async fn advance(&self, seconds: i64) -> Value {
        let r = self
            .http
            .post(self.url("/_emulator/clock/advance"))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

/// An eCom request: token and subscription key, no `Merchant-Serial-Number` (optional in eCom).
pub fn ecom(h: &H, method: reqwest::Method, path: &str) -> RequestBuilder {
    h.http
        .request(method, h.url(path))
        .bearer_auth(&h.token)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
}

/// eCom's test approval of `order_id` by the test customer (91234567): asserts a 200 and
/// returns the answer.
pub async fn ecom_approve(h: &H, order_id: &str) -> Response {
    let r = ecom(
        h,
        reqwest::Method::POST,
        &format!("/ecomm/v2/integration-test/payments/{order_id}/approve"),
    )
    .json(&serde_json::json!({"customerPhoneNumber": "91234567"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "approving eCom order {order_id}");
    r
}

/// eCom's `GET …/{orderId}/details`, as JSON.
pub async fn ecom_details(h: &H, order_id: &str) -> Value {
    json_of(ecom(
        h,
        reqwest::Method::GET,
        &format!("/ecomm/v2/payments/{order_id}/details"),
    ))
    .await
}

pub async fn fetch_token(http: &Client, base: &str, m: &Merchant) -> String {
    let r = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

pub fn web(reference: &str, value: i64) -> Value {
    json!({
        "amount": {"currency": "NOK", "value": value},
        "paymentMethod": {"type": "WALLET"},
        "reference": reference,
        "userFlow": "WEB_REDIRECT",
        "returnUrl": "https://example.com/return?x=1&y=2",
        "paymentDescription": "Socks <b>&</b> shoes"
    })
}

/// Asserts a problem body with status and (optionally) an error code; returns it.
pub async fn problem(r: Response, status: u16, code: Option<u32>) -> Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = r.json().await.unwrap();
    assert_eq!(ct, "application/problem+json", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], format!("https://httpstatuses.io/{status}"), "{body}");
    assert!(body["traceId"].as_str().unwrap().starts_with("00-"), "{body}");
    let p: vipps_types::Problem = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(p.error_code(), code, "{body}");
    body
}

/// Sends `r` and reads its answer as JSON.
async fn json_of(r: reqwest::RequestBuilder) -> Value {
    r.send().await.unwrap().json().await.unwrap()
}

/// A minimal eCom initiate body for the default merchant: `order_id` for `amount` øre.
pub fn ecom_initiate_body(h: &H, order_id: &str, amount: i64) -> Value {
    json!({
        "customerInfo": {},
        "merchantInfo": {
            "merchantSerialNumber": h.m().msn,
            "callbackPrefix": "https://example.com/vipps",
            "fallBack": "https://example.com/fallback",
        },
        "transaction": {"amount": amount, "orderId": order_id, "transactionText": "Socks"},
    })
}
