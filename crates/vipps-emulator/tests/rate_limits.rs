//! The documented rate limits, when switched on: 429 with Retry-After in the API's format,
//! counted per reference on the emulator clock; the SDK honours Retry-After.

use std::time::Duration;
use vipps_emulator::{Emulator, EmulatorConfig};

#[tokio::test]
async fn epayment_write_limit_is_five_per_minute_per_reference() {
    let config = EmulatorConfig {
        faults: Some(vipps_emulator::FaultConfig {
            rate_limits: true,
            ..Default::default()
        }),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::builder().config(config).start().await.unwrap();
    let base = emu.base_url();
    let m = emu.merchant().clone();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let seeded: serde_json::Value = http
        .post(format!("{base}/_emulator/seed"))
        .json(&serde_json::json!({"payments": 2, "prefix": "ratelimit", "authorized": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seeded["created"], 2);
    let capture = |reference: &str, key: String| {
        http.post(format!("{base}/epayment/v1/payments/{reference}/capture"))
            .bearer_auth(&token)
            .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
            .header("Merchant-Serial-Number", &m.msn)
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({"modificationAmount": {"currency": "NOK", "value": 1}}))
            .send()
    };
    for i in 0..5 {
        let r = capture("ratelimit-00000000", format!("k{i}")).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = capture("ratelimit-00000000", "k5".into()).await.unwrap();
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert!(r.headers()["content-type"].to_str().unwrap().contains("problem+json"));
    // another reference has its own budget
    assert_eq!(
        capture("ratelimit-00000001", "other".into()).await.unwrap().status(),
        200
    );
    // a minute later on the emulator clock the budget is back
    emu.clock().advance(Duration::from_secs(61));
    assert_eq!(capture("ratelimit-00000000", "k6".into()).await.unwrap().status(), 200);
}

/// recurring--api-guide.md, "Rate limiting": ListAgreements 5 per minute per merchant,
/// UpdateAgreement 5 per minute per agreement; 429 with Retry-After.
#[tokio::test]
async fn recurring_limits_count_per_merchant_and_per_agreement() {
    let config = EmulatorConfig {
        faults: Some(vipps_emulator::FaultConfig {
            rate_limits: true,
            ..Default::default()
        }),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::builder().config(config).start().await.unwrap();
    let base = emu.base_url();
    let base = base.trim_end_matches('/');
    let m = emu.merchant().clone();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let call = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(&token)
            .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string()[..30].to_owned())
    };
    for _ in 0..5 {
        let r = call(reqwest::Method::GET, "/recurring/v3/agreements")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = call(reqwest::Method::GET, "/recurring/v3/agreements")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));

    let draft = serde_json::json!({
        "pricing": {"type": "LEGACY", "amount": 49900, "currency": "NOK"},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/r", "merchantAgreementUrl": "https://example.com/a",
        "productName": "Limits"
    });
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created: serde_json::Value = call(reqwest::Method::POST, "/recurring/v3/agreements")
            .json(&draft)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["agreementId"].as_str().unwrap().to_owned());
    }
    let rename = |id: &str, n: usize| {
        call(reqwest::Method::PATCH, &format!("/recurring/v3/agreements/{id}"))
            .json(&serde_json::json!({"productName": format!("Name {n}")}))
            .send()
    };
    for n in 0..5 {
        assert_eq!(rename(&ids[0], n).await.unwrap().status(), 204);
    }
    assert_eq!(rename(&ids[0], 5).await.unwrap().status(), 429);
    // The other agreement has its own budget, and a minute on the clock renews the first's.
    assert_eq!(rename(&ids[1], 0).await.unwrap().status(), 204);
    emu.advance(Duration::from_secs(61));
    assert_eq!(rename(&ids[0], 6).await.unwrap().status(), 204);
}
