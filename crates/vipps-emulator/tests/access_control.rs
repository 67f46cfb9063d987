//! Access control on every API route: no credentials, wrong credentials, an expired token,
//! and another merchant's credentials are all refused (401 or 403), in the API's format.

use reqwest::Method;
use std::time::Duration;
use vipps_emulator::{Emulator, EmulatorConfig, Merchant};

fn other() -> Merchant {
    Merchant {
        msn: "654321".into(),
        client_id: "other-client".into(),
        client_secret: "other-secret".into(),
        subscription_key: "other-key".into(),
        name: "Other".into(),
        currency: vipps_types::Currency::Nok,
        direct_capture: false,
        approved: Default::default(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Bearer,
    ClientCredentials,
}

const ROUTES: &[(&str, &str, Auth)] = &[
    ("POST", "/epayment/v1/payments", Auth::Bearer),
    ("GET", "/epayment/v1/payments/acl-reference-1", Auth::Bearer),
    ("GET", "/epayment/v1/payments/acl-reference-1/events", Auth::Bearer),
    ("POST", "/epayment/v1/payments/acl-reference-1/capture", Auth::Bearer),
    ("POST", "/epayment/v1/payments/acl-reference-1/refund", Auth::Bearer),
    ("POST", "/epayment/v1/payments/acl-reference-1/cancel", Auth::Bearer),
    (
        "POST",
        "/epayment/v1/test/payments/acl-reference-1/approve",
        Auth::Bearer,
    ),
    ("POST", "/webhooks/v1/webhooks", Auth::Bearer),
    ("GET", "/webhooks/v1/webhooks", Auth::Bearer),
    (
        "DELETE",
        "/webhooks/v1/webhooks/6f1f4f5e-0000-4000-8000-000000000000",
        Auth::Bearer,
    ),
    ("POST", "/ecomm/v2/payments", Auth::Bearer),
    ("POST", "/ecomm/v2/payments/acl-order-1/capture", Auth::Bearer),
    ("PUT", "/ecomm/v2/payments/acl-order-1/cancel", Auth::Bearer),
    ("POST", "/ecomm/v2/payments/acl-order-1/refund", Auth::Bearer),
    ("GET", "/ecomm/v2/payments/acl-order-1/details", Auth::Bearer),
    ("GET", "/ecomm/v2/payments/acl-order-1/status", Auth::Bearer),
    (
        "POST",
        "/ecomm/v2/integration-test/payments/acl-order-1/approve",
        Auth::Bearer,
    ),
    ("POST", "/checkout/v3/session", Auth::ClientCredentials),
    ("GET", "/checkout/v3/session/acl-reference-1", Auth::ClientCredentials),
    ("PATCH", "/checkout/v3/session/acl-reference-1", Auth::ClientCredentials),
    (
        "POST",
        "/checkout/v3/session/acl-reference-1/expire",
        Auth::ClientCredentials,
    ),
    ("POST", "/accesstoken/get", Auth::ClientCredentials),
];

async fn token(http: &reqwest::Client, base: &str, m: &Merchant) -> String {
    let r = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_route_refuses_bad_credentials() {
    let config = EmulatorConfig {
        merchants: vec![Merchant::default_test(), other()],
        ..EmulatorConfig::default()
    };
    let emu = Emulator::builder().config(config).start().await.unwrap();
    let base = emu.base_url();
    let http = reqwest::Client::new();
    let me = Merchant::default_test();
    let them = other();
    let my_token = token(&http, &base, &me).await;
    let their_token = token(&http, &base, &them).await;
    let expiring = token(&http, &base, &me).await;

    // (name, build headers) for each bad case
    let mut failures = Vec::new();
    for &(method, path, auth) in ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = serde_json::json!({});
        let cases: Vec<(&str, Vec<(&str, String)>)> = match auth {
            Auth::Bearer => vec![
                ("no credentials", vec![]),
                (
                    "no token",
                    vec![
                        ("Ocp-Apim-Subscription-Key", me.subscription_key.clone()),
                        ("Merchant-Serial-Number", me.msn.clone()),
                    ],
                ),
                (
                    "garbage token",
                    vec![
                        ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl".into()),
                        ("Ocp-Apim-Subscription-Key", me.subscription_key.clone()),
                        ("Merchant-Serial-Number", me.msn.clone()),
                    ],
                ),
                (
                    "wrong subscription key",
                    vec![
                        ("Authorization", format!("Bearer {my_token}")),
                        ("Ocp-Apim-Subscription-Key", "wrong".into()),
                        ("Merchant-Serial-Number", me.msn.clone()),
                    ],
                ),
                (
                    "another merchant's token",
                    vec![
                        ("Authorization", format!("Bearer {their_token}")),
                        ("Ocp-Apim-Subscription-Key", me.subscription_key.clone()),
                        ("Merchant-Serial-Number", me.msn.clone()),
                    ],
                ),
                (
                    "another merchant's MSN",
                    vec![
                        ("Authorization", format!("Bearer {my_token}")),
                        ("Ocp-Apim-Subscription-Key", me.subscription_key.clone()),
                        ("Merchant-Serial-Number", them.msn.clone()),
                    ],
                ),
            ],
            Auth::ClientCredentials => vec![
                ("no credentials", vec![]),
                (
                    "wrong secret",
                    vec![
                        ("client_id", me.client_id.clone()),
                        ("client_secret", "wrong".into()),
                        ("Ocp-Apim-Subscription-Key", me.subscription_key.clone()),
                        ("Merchant-Serial-Number", me.msn.clone()),
                    ],
                ),
                (
                    "another merchant's client with my key",
                    vec![
                        ("client_id", them.client_id.clone()),
                        ("client_secret", them.client_secret.clone()),
                        ("Ocp-Apim-Subscription-Key", me.subscription_key.clone()),
                        ("Merchant-Serial-Number", me.msn.clone()),
                    ],
                ),
                (
                    "a bearer token instead of client credentials",
                    vec![
                        ("Authorization", format!("Bearer {my_token}")),
                        ("Ocp-Apim-Subscription-Key", me.subscription_key.clone()),
                        ("Merchant-Serial-Number", me.msn.clone()),
                    ],
                ),
            ],
        };
        for (name, headers) in cases {
            let mut req = http
                .request(method.clone(), format!("{base}{path}"))
                .json(&body)
                .header("Idempotency-Key", "acl");
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if !(status == 401 || status == 403) || !ct.contains("json") {
                failures.push(format!("{method} {path} with {name}: HTTP {status} ({ct})"));
            }
        }
    }

    // An expired token, on every bearer route.
    emu.clock().advance(Duration::from_secs(3601));
    for &(method, path, auth) in ROUTES.iter().filter(|r| r.2 == Auth::Bearer) {
        let _ = auth;
        let resp = http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{base}{path}"))
            .header("Authorization", format!("Bearer {expiring}"))
            .header("Ocp-Apim-Subscription-Key", &me.subscription_key)
            .header("Merchant-Serial-Number", &me.msn)
            .header("Idempotency-Key", "acl")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        if resp.status().as_u16() != 401 {
            failures.push(format!("{method} {path} with an expired token: HTTP {}", resp.status()));
        }
    }
    assert!(failures.is_empty(), "not refused:\n{}", failures.join("\n"));
}
