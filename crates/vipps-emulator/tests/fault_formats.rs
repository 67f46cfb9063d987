//! An injected fault answers in the format of the API it hits, as that API's own errors do:
//! a problem for ePayment, Recurring's problem with `contextId`, Order Management's
//! `ErrorResponse`, Checkout's problem, eCom's error array.

use serde_json::Value;
use vipps_emulator::{Emulator, EmulatorConfig, FaultConfig};

#[tokio::test]
async fn each_api_gets_its_own_error_format_for_an_injected_fault() {
    let rule = |path: &str| {
        serde_json::from_value(serde_json::json!({"path": path, "fault": "status", "status": 503})).unwrap()
    };
    let config = EmulatorConfig {
        faults: Some(FaultConfig {
            rules: [
                "/epayment/**",
                "/recurring/**",
                "/order-management/**",
                "/checkout/**",
                "/ecomm/**",
            ]
            .into_iter()
            .map(rule)
            .collect(),
            ..FaultConfig::default()
        }),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::builder().config(config).start().await.unwrap();
    let base = emu.base_url();
    let base = base.trim_end_matches('/');
    let http = reqwest::Client::new();
    let fault = |path: &'static str| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move {
            let r = http.get(url).send().await.unwrap();
            assert_eq!(r.status(), 503, "{path}");
            let body: Value = r.json().await.unwrap();
            body
        }
    };

    let ep = fault("/epayment/v1/payments/some-reference-1").await;
    assert_eq!(ep["status"], 503);
    assert!(ep["traceId"].is_string(), "{ep}");

    let rec = fault("/recurring/v3/agreements/agr_1").await;
    assert!(
        rec["contextId"].is_string(),
        "Recurring names its trace id contextId: {rec}"
    );
    assert_eq!(rec["status"], 503);

    let om = fault("/order-management/v2/ecom/some-order").await;
    assert!(om["instance"].is_string() && om["detail"].is_string(), "{om}");
    assert!(om.get("traceId").is_none(), "Order Management's ErrorResponse: {om}");

    let ck = fault("/checkout/v3/session/some-session").await;
    assert!(ck["errorCode"].is_string(), "Checkout's problem has an errorCode: {ck}");

    let ec = fault("/ecomm/v2/payments/order-1/details").await;
    let first = &ec
        .as_array()
        .unwrap_or_else(|| panic!("eCom errors are an array: {ec}"))[0];
    assert_eq!(first["errorCode"], "503", "{ec}");
    assert!(
        first["errorMessage"].as_str().unwrap().contains("Injected fault"),
        "{ec}"
    );
}
