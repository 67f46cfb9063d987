//! The landing page and the control plane.

mod common;

use common::*;
use serde_json::{json, Value};
use vipps_emulator::{Emulator, EmulatorConfig};

fn token_of(created: &Value) -> String {
    let url = created["redirectUrl"].as_str().unwrap();
    url.split("token=").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn landing_page_approve_flow() {
    let h = H::start().await;
    let created = h.created("landing-ref-0001", 4990).await;
    let url = created["redirectUrl"].as_str().unwrap().to_owned();
    let page = h.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Emulator Test Shop"));
    assert!(html.contains("49.90 NOK"));
    assert!(html.contains("landing-ref-0001"));
    assert!(
        html.contains("Socks &lt;b&gt;&amp;&lt;/b&gt; shoes"),
        "user text is escaped"
    );
    assert!(!html.contains("<b>&</b>"));
    assert!(html.contains("action=\"/landing/approve\"") && html.contains("action=\"/landing/reject\""));
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "no scripts or external resources"
    );

    let token = token_of(&created);
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("approved"), "{html}");
    assert!(
        html.contains("href=\"https://example.com/return?x=1&amp;y=2\""),
        "{html}"
    );
    assert_eq!(h.get("landing-ref-0001").await["state"], "AUTHORIZED");

    // the page now shows the final state without buttons; a second approve is refused
    let html = h.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("AUTHORIZED") && !html.contains("/landing/approve"));
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(h.events("landing-ref-0001").await.len(), 2);
}

#[tokio::test]
async fn landing_page_reject_magic_amount_and_unknown_token() {
    let h = H::start().await;
    let created = h.created("landing-ref-0002", 1000).await;
    let r = h
        .http
        .post(h.url("/landing/reject"))
        .form(&[("token", token_of(&created).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.get("landing-ref-0002").await["state"], "ABORTED");
    let ev = h.events("landing-ref-0002").await;
    assert_eq!(ev[1]["name"], "ABORTED");

    // 1.86 NOK: expired card -> the approval fails and the payment is ABORTED
    let created = h.created("landing-ref-0003", 186).await;
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", token_of(&created).as_str())])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("expired card"), "{html}");
    assert_eq!(h.get("landing-ref-0003").await["state"], "ABORTED");

    for url in ["/landing?v=2&token=nope", "/landing", "/qr?v=2&token=nope"] {
        let r = h.http.get(h.url(url)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{url}");
    }
    let r = h
        .http
        .post(h.url("/landing/approve"))
        .form(&[("token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn control_plane() {
    let h = H::two_merchants().await;
    let r = h.http.get(h.url("/_emulator/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let before = h.clock().await;
    assert!(before["now"].is_string());
    let after = h.advance(120).await;
    assert!(after["now"].as_str().unwrap() > before["now"].as_str().unwrap());
    assert!(after["offsetSeconds"].as_u64().unwrap() >= 120);
    let r = h
        .http
        .post(h.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": -1}))
        .send()
        .await
        .unwrap();
    problem(r, 400, None).await;
    let r = h
        .http
        .post(h.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": "ten"}))
        .send()
        .await
        .unwrap();
    problem(r, 400, None).await;

    // customer actions: magic amount, reject, unknown payment, other merchant
    h.created("control-ref-0001", 151).await;
    let v: Value = h.approve("control-ref-0001").await.json().await.unwrap();
    assert_eq!(v["state"], "ABORTED");
    assert_eq!(v["approved"], false);
    assert!(v["reason"].as_str().unwrap().contains("insufficient funds"));
    problem(h.approve("control-ref-0404").await, 404, Some(5090)).await;
    h.created("control-ref-0002", 1000).await;
    let v: Value = h
        .http
        .post(h.url("/_emulator/payments/control-ref-0002/reject"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], "ABORTED");
    // the payment lives under MSN 123456, not 654321
    let r = h
        .http
        .post(h.url("/_emulator/payments/control-ref-0002/approve?msn=654321"))
        .send()
        .await
        .unwrap();
    problem(r, 404, Some(5090)).await;
    let r = h
        .http
        .post(h.url("/_emulator/payments/control-ref-0002/approve"))
        .json(&json!({"msn": "111111"}))
        .send()
        .await
        .unwrap();
    problem(r, 404, None).await;
    h.created("control-ref-0003", 1000).await;
    let r = h
        .http
        .post(h.url("/_emulator/payments/control-ref-0003/approve"))
        .json(&json!({"msn": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // reset forgets payments; tokens stay valid
    let r = h.http.post(h.url("/_emulator/reset")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.emu.state().payment_count(), 0);
    let r = h
        .req(reqwest::Method::GET, "/epayment/v1/payments/control-ref-0003")
        .send()
        .await
        .unwrap();
    problem(r, 404, Some(5090)).await;
    h.created("control-ref-0003", 1000).await;
}

#[tokio::test]
async fn builder_public_url_and_shutdown() {
    let config = EmulatorConfig {
        public_url: Some("https://emulator.example/".into()),
        ..EmulatorConfig::default()
    };
    let h = H::with(config).await;
    let created = h.created("public-url-0001", 1000).await;
    assert!(created["redirectUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://emulator.example/landing?v=2&token="));
    let base = h.emu.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with('/'));
    assert_eq!(
        h.emu.addr().port(),
        base.rsplit(':').next().unwrap().parse::<u16>().unwrap()
    );
    assert_eq!(h.emu.merchant().msn, "123456");
    let debug = format!("{:?}", h.emu);
    assert!(!debug.contains(&h.emu.merchant().client_secret));
    assert!(!debug.contains(&h.emu.merchant().subscription_key));
    h.emu.shutdown().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(format!("{base}/_emulator/health")).send().await.is_err());

    // Drop stops the server too
    let emu = Emulator::start().await.unwrap();
    let base = emu.base_url();
    drop(emu);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(fresh.get(format!("{base}/_emulator/health")).send().await.is_err());
}
